import { test, expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { hydrated, ingest, marker, open } from './helpers';

/** Events of one made-up actor, so assertions do not depend on the demo data. */
async function seedActor(request: Parameters<typeof ingest>[0], name: string) {
  const now = Date.now();
  const at = (minutes: number) => new Date(now - minutes * 60_000).toISOString();
  const requestId = `req_${name}`;
  const actor = { id: `usr_${name}`, name, email: `${name}@e2e.test`, type: 'user' };
  return ingest(request, [
    { occurred_at: at(3), action: 'project.updated', actor, method: 'PATCH', status: 200, path: `/api/projects/${name}`,
      resource: { type: 'project', id: `prj_${name}`, name: `Project ${name}` }, request_id: requestId,
      context: { cluster: 'e2e-cluster' }, ip: '198.51.100.77', user_agent: 'e2e-browser/1.0',
      changes: [{ field: 'replicas', before: 2, after: 5 }, { field: 'visibility', before: 'private', after: 'internal' }],
      metadata: { ticket: 'OPS-4242' } },
    { occurred_at: at(4), action: 'deployment.started', actor, method: 'POST', status: 201, request_id: requestId,
      resource: { type: 'deployment', id: `dep_${name}`, name: `deploy ${name}` } },
    { occurred_at: at(5), action: 'project.viewed', actor, method: 'GET', status: 200, resource: { type: 'project', id: `prj_${name}` } },
    { occurred_at: at(6), action: 'project.deleted', actor, method: 'DELETE', status: 403, error: 'permission denied',
      resource: { type: 'project', id: `prj_${name}_2`, name: `Old ${name}` } },
  ]);
}

function rows(page: Page) {
  return page.locator('table.events tbody tr');
}

async function actorCells(page: Page): Promise<string[]> {
  return rows(page).locator('.actor-name').allInnerTexts();
}

test('the default view excludes reads with a removable filter', async ({ page, request }) => {
  const html = await (await request.get('/')).text();
  expect(html).toContain('<table class="events"'); // rows are rendered on the server
  expect(html).toContain('Method');

  await page.goto('/');
  await hydrated(page);
  const pill = page.locator('.pill', { hasText: 'Method' });
  await expect(pill).toContainText('is not');
  await expect(pill).toContainText('GET');
  await expect(rows(page).first()).toBeVisible();
  expect(await rows(page).locator('.method').allInnerTexts()).not.toContain('GET');

  await pill.getByRole('button', { name: /Remove filter/ }).click();
  await expect(page).toHaveURL(/\?range=24h$/);
  await expect(page.locator('.pill')).toHaveCount(0);
});

test('building a filter through the UI changes the URL and the rows', async ({ page, request }) => {
  const name = marker('builder');
  await seedActor(request, name);
  await page.goto('/?range=1h');
  await hydrated(page);

  await page.getByRole('button', { name: 'Add filter' }).click();
  await page.getByLabel('Field', { exact: true }).fill('actor');
  await page.getByRole('dialog', { name: 'Filter' }).getByRole('button', { name: /^Actor$/ }).click();
  await page.getByLabel('Operator').selectOption({ label: 'is' });
  await page.getByLabel('Actor value').fill(name);
  await page.getByLabel('Actor value').press('Enter');
  await page.getByRole('button', { name: 'Apply filter' }).click();

  await expect(page).toHaveURL(new RegExp(`actor\\.name=${name}`));
  await expect(rows(page)).toHaveCount(4);
  expect(new Set(await actorCells(page))).toEqual(new Set([name]));

  // Exclude instead: none of that actor's events remain.
  await page.locator('.pill', { hasText: name }).getByRole('button', { name: /^Exclude instead/ }).click();
  await expect(page).toHaveURL(new RegExp(`actor\\.name!=${name}`));
  await expect(rows(page).first()).toBeVisible();
  expect(await actorCells(page)).not.toContain(name);

  // Include again, then search and pick a preset.
  await page.locator('.pill', { hasText: name }).getByRole('button', { name: /^Include instead/ }).click();
  await expect(rows(page)).toHaveCount(4);
  await page.getByLabel('Search events').fill('deploy');
  await expect(page).toHaveURL(/q=deploy/);
  await expect(rows(page)).toHaveCount(1);
  await expect(rows(page).first()).toContainText('deployment.started');
  await page.getByRole('button', { name: /Last hour/ }).click();
  await page.getByRole('button', { name: 'Last 7 days' }).click();
  await expect(page).toHaveURL(/range=7d/);
  await expect(rows(page)).toHaveCount(1);
});

test('a copied URL reopens the same view, and Back/Forward step through it', async ({ page, browser, request }) => {
  const name = marker('share');
  await seedActor(request, name);
  await page.goto(`/?range=1h&actor.name=${name}`);
  await hydrated(page);
  await expect(rows(page)).toHaveCount(4);
  await page.getByLabel('Search events').fill('project');
  await page.getByLabel('Search events').press('Enter');
  await expect(rows(page)).toHaveCount(3);
  const url = page.url();
  const total = await page.locator('.total').innerText();
  const shown = await rows(page).allInnerTexts();

  const other = await browser.newContext();
  const fresh = await other.newPage();
  await fresh.goto(url);
  await expect(fresh.locator('.total')).toHaveText(total);
  expect(await fresh.locator('table.events tbody tr').allInnerTexts()).toEqual(shown);
  await expect(fresh.locator('.pill', { hasText: name })).toBeVisible();
  await expect(fresh.getByLabel('Search events')).toHaveValue('project');
  await other.close();

  await page.goBack();
  await expect(page).not.toHaveURL(/q=project/);
  await expect(rows(page)).toHaveCount(4);
  await page.goForward();
  await expect(page).toHaveURL(/q=project/);
  await expect(rows(page)).toHaveCount(3);
});

test('Older and Newer page through the events; the chart stays as it is', async ({ page, request }) => {
  const name = marker('pages');
  const now = Date.now();
  const actor = { id: `usr_${name}`, name, type: 'user' };
  await ingest(request, Array.from({ length: 30 }, (_, i) => ({
    occurred_at: new Date(now - (i + 1) * 60_000).toISOString(), action: `project.step${String(i).padStart(2, '0')}`,
    actor, method: 'POST', status: 200,
  })));
  await page.goto(`/?range=1h&actor.name=${name}&limit=25`);
  await hydrated(page);
  await expect(rows(page)).toHaveCount(25);
  await expect(page.locator('.total')).toHaveText('1–25 of 30 events');
  const firstPage = await rows(page).locator('.action').allInnerTexts();
  expect(firstPage[0]).toBe('project.step00');

  const chartRequests: string[] = [];
  page.on('request', (r) => { if (r.url().includes('/api/v1/histogram')) chartRequests.push(r.url()); });
  await page.getByRole('button', { name: 'Older', exact: true }).click();
  await expect(page).toHaveURL(/cursor=/);
  await expect(rows(page)).toHaveCount(5);
  expect(await rows(page).locator('.action').allInnerTexts()).toEqual(
    ['project.step25', 'project.step26', 'project.step27', 'project.step28', 'project.step29']);
  await expect(page.locator('.total')).toHaveText('26–30 of 30 events');
  await expect(page.getByRole('button', { name: 'Older', exact: true })).toBeDisabled();

  await page.getByRole('button', { name: 'Newer', exact: true }).click();
  await expect(rows(page)).toHaveCount(25);
  expect(await rows(page).locator('.action').allInnerTexts()).toEqual(firstPage);
  await expect(page.locator('.total')).toHaveText('1–25 of 30 events');
  expect(chartRequests, 'paging must not reload the chart').toEqual([]);
});

test('event details show changes, filter by request, and filter by a value', async ({ page, request }) => {
  const name = marker('details');
  await seedActor(request, name);
  await page.goto(`/?range=1h&actor.name=${name}`);
  await hydrated(page);
  await open(rows(page).filter({ hasText: 'project.updated' }));
  await expect(page).toHaveURL(/event=/);
  const panel = page.getByRole('dialog', { name: 'project.updated' });
  await expect(panel).toBeVisible();
  const changes = panel.locator('table.changes');
  await expect(changes).toContainText('replicas');
  await expect(changes.locator('tr', { hasText: 'replicas' }).locator('.before')).toHaveText('2');
  await expect(changes.locator('tr', { hasText: 'replicas' }).locator('.after')).toContainText('5');
  await expect(changes.locator('tr', { hasText: 'visibility' }).locator('.after')).toContainText('internal');
  await expect(panel).toContainText('198.51.100.77');
  await expect(panel).toContainText('e2e-browser/1.0');
  await expect(panel).toContainText('OPS-4242');

  await panel.getByRole('button', { name: 'All events of this request' }).click();
  await expect(page).toHaveURL(new RegExp(`request_id=req_${name}`));
  await expect(rows(page)).toHaveCount(2);

  // Click-to-filter from a table cell: "is not this value".
  await page.goto(`/?range=1h&actor.name=${name}`);
  await hydrated(page);
  const deleted = rows(page).filter({ hasText: 'project.deleted' });
  await deleted.hover();
  await deleted.getByRole('button', { name: 'Exclude: Action is project.deleted' }).click();
  await expect(page).toHaveURL(/action!=project\.deleted/);
  await expect(rows(page)).toHaveCount(3);
  expect(await rows(page).locator('.action').allInnerTexts()).not.toContain('project.deleted');
});

test('a malformed link shows a notice and keeps the rest of the view', async ({ page }) => {
  await page.goto('/?range=24h&limit=9999&colour=red&method=POST');
  await hydrated(page);
  const notice = page.getByRole('alert').filter({ hasText: 'could not be used' });
  await expect(notice).toContainText('limit');
  await expect(notice).toContainText('colour');
  await expect(page.locator('.pill', { hasText: 'POST' })).toBeVisible();
  await expect(rows(page).first()).toBeVisible();
  expect(new Set(await rows(page).locator('.method').allInnerTexts())).toEqual(new Set(['POST']));
});

test('the page has no serious accessibility violations', async ({ page, request }) => {
  const name = marker('axe');
  await seedActor(request, name);
  for (const theme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: theme as 'light' | 'dark' });
    await page.goto(`/?range=1h&actor.name=${name}`);
    await hydrated(page);
    await open(rows(page).first());
    await expect(page.getByRole('dialog')).toBeVisible();
    const results = await new AxeBuilder({ page }).analyze();
    const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(bad.map((v) => `${theme}: ${v.id}: ${v.nodes.map((n) => n.target).join(' ')}`)).toEqual([]);
  }
});

test('the keyboard alone can search, open details and close them', async ({ page, request }) => {
  const name = marker('keys');
  await seedActor(request, name);
  await page.goto(`/?range=1h&actor.name=${name}`);
  await hydrated(page);
  await page.keyboard.press('/');
  await expect(page.getByLabel('Search events')).toBeFocused();
  await page.keyboard.type('deleted');
  await page.keyboard.press('Enter');
  await expect(rows(page)).toHaveCount(1);
  await rows(page).first().focus();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/event=/);
  await expect(page.getByRole('dialog')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page).not.toHaveURL(/event=/);
});
