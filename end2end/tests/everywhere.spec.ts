import { test, expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { hydrated, ingest, marker, open } from './helpers';

// The investigation page on a phone, with hostile text, with the keyboard and with assistive
// technology (issue 15).

async function seed(request: Parameters<typeof ingest>[0], name: string) {
  const now = Date.now();
  const at = (minutes: number) => new Date(now - minutes * 60_000).toISOString();
  const actor = { id: `usr_${name}`, name, email: `${name}@e2e.test`, type: 'user' };
  return ingest(request, [
    { occurred_at: at(2), action: 'project.updated', actor, method: 'PATCH', status: 200, path: `/api/projects/${name}`,
      resource: { type: 'project', id: `prj_${name}`, name: `Project ${name}` }, context: { cluster: 'e2e-cluster' } },
    { occurred_at: at(3), action: 'member.removed', actor, source: 'cli', method: 'DELETE', status: 403, error: 'permission denied',
      resource: { type: 'team', id: `team_${name}`, name: `Team ${name}` } },
  ]);
}

function rows(page: Page) {
  return page.locator('table.events tbody tr');
}

/** The page does not scroll sideways, and `selector` lies inside the viewport with a size. */
async function fitsTheScreen(page: Page) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, 'no horizontal page scroll').toBeLessThanOrEqual(0);
}

async function onScreen(page: Page, selector: string) {
  const el = page.locator(selector).first();
  await expect(el, selector).toBeVisible();
  const box = await el.boundingBox();
  const width = page.viewportSize()!.width;
  expect(box, selector).not.toBeNull();
  expect(box!.width, `${selector} has a width`).toBeGreaterThan(8);
  expect(box!.x, `${selector} starts on screen`).toBeGreaterThanOrEqual(0);
  expect(box!.x + box!.width, `${selector} ends on screen`).toBeLessThanOrEqual(width + 0.5);
}

for (const theme of ['light', 'dark'] as const) {
  test(`on a phone (${theme}) every control is on screen, rows are readable and details take the screen`, async ({ page, request }) => {
    const name = marker('phone');
    await seed(request, name);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.emulateMedia({ colorScheme: theme });
    await page.goto(`/?range=1h&actor.name=${name}`);
    await hydrated(page);
    await expect(rows(page)).toHaveCount(2);
    await fitsTheScreen(page);
    for (const selector of ['.brand', '.live-toggle', '.range-button', 'button[aria-haspopup="menu"]', '.export-menu > summary',
      '.zone-toggle', '.theme-toggle', '.user-menu > summary', '.add-filter', '.search', '.pager', '.total']) {
      await onScreen(page, selector);
    }
    const first = rows(page).first();
    for (const cell of ['.col-time', '.col-actor-name', '.col-action', '.col-resource-name', '.col-outcome']) {
      await onScreen(page, `table.events tbody tr:first-child ${cell}`);
    }
    await expect(first.locator('.col-resource-name')).toContainText(`Project ${name}`);
    // The rows, badges included (the second was made with the CLI), are readable in this theme.
    await expect(rows(page).nth(1).locator('.badge-cli')).toHaveText('CLI');
    const table = await new AxeBuilder({ page }).include('table.events').analyze();
    expect(table.violations.map((v) => `${theme} phone rows: ${v.id}: ${v.nodes.map((n) => n.target).join(' ')}`)).toEqual([]);

    // The range picker opens as a sheet that fits the screen.
    await page.locator('.range-button').click();
    await onScreen(page, '.range-popover');
    await page.mouse.click(195, 40); // a tap above the sheet closes it
    await expect(page.locator('.range-popover')).toHaveCount(0);

    // Details fill the screen, and their filter buttons work by touch (no hover).
    await first.click();
    const details = page.getByRole('dialog');
    await expect(details).toBeVisible();
    const box = (await details.boundingBox())!;
    expect(box.x).toBe(0);
    expect(box.width).toBeGreaterThanOrEqual(389);
    await fitsTheScreen(page);
    const axe = await new AxeBuilder({ page }).analyze();
    const bad = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(bad.map((v) => `${theme} phone details: ${v.id}: ${v.nodes.map((n) => n.target).join(' ')}`)).toEqual([]);
    await details.getByRole('button', { name: 'Close details' }).click();
    await expect(details).toHaveCount(0);
  });
}

test('hostile values never widen the page or reorder text; hidden characters are shown', async ({ page, request }) => {
  const name = marker('hostile');
  const longError = 'x'.repeat(4096);
  const key = 'k'.repeat(64);
  const [id] = await ingest(request, [{
    action: 'file.uploaded',
    actor: { id: `usr_${name}`, name: `${name} admin\u202Etxt.exe`, type: 'user' },
    resource: { type: 'file', id: 'f1', name: '<img src=x onerror="window.pwned=1">🚀 ملف' },
    error: longError,
    context: { [key]: 'v'.repeat(200) },
    status: 500,
  }]);
  await page.goto(`/?range=1h&actor.id=usr_${name}`);
  await hydrated(page);
  const row = rows(page).first();
  await expect(row.locator('.actor-name')).toHaveText(`${name} admin⟦U+202E⟧txt.exe`);
  await expect(row.locator('.resource-name')).toHaveText('<img src=x onerror="window.pwned=1">🚀 ملف');
  await open(row);
  const details = page.getByRole('dialog');
  await expect(details).toBeVisible();
  await expect(details.locator('.hidden-warning')).toHaveCount(1);
  await expect(details.locator('.error-box p')).toHaveText(longError);
  expect(await details.locator('img').count()).toBe(0);
  expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
  const widths = await details.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
  expect(widths.scroll, 'the details do not scroll sideways').toBeLessThanOrEqual(widths.client);
  const keyBox = (await details.locator('dt', { hasText: key }).boundingBox())!;
  const valueBox = (await details.locator('dd', { hasText: 'vvvv' }).boundingBox())!;
  expect(keyBox.x + keyBox.width, 'a long context key stays in its column').toBeLessThanOrEqual(valueBox.x + 1);
  await fitsTheScreen(page);
  expect(page.url()).toContain(`event=${id}`);
});

test('the keyboard moves into the details and back to the row', async ({ page, request }) => {
  const name = marker('focus');
  await seed(request, name);
  await page.goto(`/?range=1h&actor.name=${name}`);
  await hydrated(page);
  const second = rows(page).nth(1);
  await second.focus();
  await page.keyboard.press('Enter');
  await expect(page.locator('#details-title')).toBeFocused();
  await expect(page.locator('#details-title')).toHaveText('member.removed');
  // Stepping: k to the newer event, the button back to the older one.
  await page.keyboard.press('k');
  await expect(page.locator('#details-title')).toHaveText('project.updated');
  await expect(page.getByRole('button', { name: 'Newer event' })).toBeDisabled();
  await page.getByRole('button', { name: 'Older event' }).click();
  await expect(page.locator('#details-title')).toHaveText('member.removed');
  await expect(page.getByRole('button', { name: 'Older event' })).toBeDisabled();
  await page.keyboard.press('Escape');
  await expect(page).not.toHaveURL(/event=/);
  await expect(second).toBeFocused();
});

test('the filter picker and editor pass axe in light and dark', async ({ page, request }) => {
  const name = marker('axe2');
  await seed(request, name);
  for (const theme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: theme });
    await page.goto(`/?range=1h&actor.name=${name}`);
    await hydrated(page);
    await page.locator('.add-filter').click();
    await expect(page.getByRole('list', { name: 'Fields' })).toBeVisible();
    const check = async (state: string) => {
      const results = await new AxeBuilder({ page }).analyze();
      const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      expect(bad.map((v) => `${theme} ${state}: ${v.id}: ${v.nodes.map((n) => n.target).join(' ')}`)).toEqual([]);
    };
    await check('field picker');
    await page.getByRole('dialog', { name: 'Filter' }).getByRole('button', { name: /^Action/ }).first().click();
    await expect(page.locator('.suggestion').first()).toBeVisible();
    await check('value editor');
    await page.keyboard.press('Escape');
  }
});

test.describe('in a time zone written with a plus sign', () => {
  test.use({ timezoneId: 'Etc/GMT+5' });
  test('the chart loads', async ({ page, request }) => {
    const name = marker('tzplus');
    await seed(request, name);
    // After hydration the page learns the browser's zone and asks for the chart in it.
    const asked = page.waitForResponse((r) => r.url().includes('/api/v1/histogram') && r.url().includes('GMT'));
    await page.goto(`/?range=1h&actor.name=${name}`);
    await hydrated(page);
    const answer = await asked;
    expect(new URL(answer.url()).searchParams.get('tz')).toBe('Etc/GMT+5');
    expect(answer.status()).toBe(200);
    await expect(page.locator('.zone-toggle')).toHaveText('Local time');
    await expect(page.locator('.chart .bar').first()).toBeAttached();
    await expect(page.locator('.chart-error')).toHaveCount(0);
    // The server renders the next visit in that zone (from the cookie) without an error too.
    await page.reload();
    await hydrated(page);
    await expect(page.locator('.chart .bar').first()).toBeAttached();
    await expect(page.locator('.chart-error')).toHaveCount(0);
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });
  test('a shared link shows exactly the rows of the API, in place', async ({ page, request }) => {
    const name = marker('nojs');
    await seed(request, name);
    const api = await (await request.get(`/api/v1/events?range=1h&actor.name=${name}`)).json();
    await page.goto(`/?range=1h&actor.name=${name}`);
    await expect(page.locator('.total')).toHaveText('2 events');
    const ids = await rows(page).evaluateAll((trs) => trs.map((tr) => tr.id.replace(/^row-/, '')));
    expect(ids).toEqual(api.events.map((e: { id: string }) => e.id));
    await expect(rows(page).first().locator('.action')).toHaveText('project.updated');
    await expect(page.getByText('Loading events')).toHaveCount(0);
    await expect(page.locator('.chart .bar').first()).toBeAttached();
  });
});

test('pills tell one value with a comma from two values, and a prefix from a literal star', async ({ page }) => {
  await page.goto('/?range=1h&resource.name=a%5C,%20b&actor.name=x,y&action=deploy*&resource.id=v1%5C*');
  await hydrated(page);
  const pill = (field: string) => page.locator('.pill', { hasText: field });
  await expect(pill('Resource ID').locator('.pill-value')).toHaveText(['“v1*”']);
  await expect(pill('Resource ID').locator('.wildcard')).toHaveCount(0);
  await expect(pill('Action').locator('.pill-value')).toHaveText(['“deploy”']);
  await expect(pill('Action').locator('.wildcard')).toHaveCount(1);
  await expect(pill('Actor').locator('.pill-value')).toHaveText(['“x”', '“y”']);
  await expect(page.locator('.pill-main', { hasText: 'a, b' }).locator('.pill-value')).toHaveText(['“a, b”']);
  await expect(page.getByRole('button', { name: /^Resource\s*is\s*“\s*a, b\s*”$/ })).toBeVisible();
});

test('changing the operator keeps what is half typed, and the focus', async ({ page }) => {
  await page.goto('/?range=1h');
  await hydrated(page);
  await page.locator('.add-filter').click();
  await page.getByRole('dialog', { name: 'Filter' }).getByRole('button', { name: /^Action/ }).first().click();
  const value = page.locator('#filter-value');
  await value.fill('depl');
  await page.locator('#filter-operator').selectOption('not');
  await expect(value).toHaveValue('depl');
  await value.focus();
  await page.keyboard.type('oy');
  await expect(value).toHaveValue('deploy');
});
