import { test, expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { hydrated, ingest, marker } from './helpers';

// The field sidebar, choosable columns, rows sent once, and the page's remaining states under
// axe and the keyboard (issue 15).

async function seed(request: Parameters<typeof ingest>[0], name: string) {
  const now = Date.now();
  const at = (minutes: number) => new Date(now - minutes * 60_000).toISOString();
  const actor = (who: string) => ({ id: `usr_${name}_${who}`, name: `${name} ${who}`, type: 'user' });
  const events = [];
  // ada: 3 deploys and 1 failed login; bob: 2 deploys.
  for (let i = 0; i < 3; i++) events.push({ occurred_at: at(2 + i), action: 'deploy.started', actor: actor('ada'), ip: '198.51.100.7', context: { team: `${name}-core` } });
  events.push({ occurred_at: at(6), action: 'user.login', actor: actor('ada'), status: 401, ip: '203.0.113.9' });
  for (let i = 0; i < 2; i++) events.push({ occurred_at: at(7 + i), action: 'deploy.started', actor: actor('bob'), ip: '198.51.100.8', context: { team: `${name}-web` } });
  return ingest(request, events);
}

function rows(page: Page) {
  return page.locator('table.events tbody tr');
}

async function axeClean(page: Page, state: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${state}: ${v.id}: ${v.nodes.map((n) => n.target).join(' ')}`)).toEqual([]);
}

function field(page: Page, label: string) {
  return page.locator('.sidebar .field-entry').filter({ has: page.getByRole('button', { name: label, exact: true }) });
}

test('the sidebar counts the values of the view exactly, and filters in and out with one click', async ({ page, request }) => {
  const name = marker('side');
  await seed(request, name);
  const view = `range=1h&q=${name}`;
  await page.goto(`/?${view}`);
  await hydrated(page);
  await expect(rows(page)).toHaveCount(6);

  const actors = field(page, 'Actor');
  await expect(actors.locator('.facet-value')).toHaveCount(2);
  // The same numbers as the API's, for the same view.
  const api = await (await request.get(`/api/v1/fields/actor.name/values?${view}`)).json();
  const shown = await actors.locator('.facet-value').evaluateAll((lis) =>
    lis.map((li) => [li.querySelector('.facet-text')!.textContent, li.querySelector('.facet-count')!.textContent]));
  expect(shown).toEqual(api.values.map((v: { value: string; count: number }) => [v.value, String(v.count)]));
  expect(shown[0]).toEqual([`${name} ada`, '4']);

  // A field opened by hand: IP addresses.
  await page.getByRole('button', { name: 'IP address', exact: true }).click();
  await expect(field(page, 'IP address').locator('.facet-value')).toHaveCount(3);

  // Filter in: only ada's events; the sidebar follows the view.
  await actors.getByRole('button', { name: `Filter: Actor is ${name} ada` }).click();
  await expect(page).toHaveURL(new RegExp(`actor\\.name=${name}%20ada|actor\\.name=${name}\\+ada|actor.name=${name} ada`));
  await expect(rows(page)).toHaveCount(4);
  await expect(field(page, 'Action').locator('.facet-value')).toHaveCount(2);

  // Filter out: no failed logins.
  await field(page, 'Action').getByRole('button', { name: 'Exclude: Action is user.login' }).click();
  await expect(rows(page)).toHaveCount(3);
  await expect(page.locator('.pill', { hasText: 'user.login' })).toBeVisible();
  await axeClean(page, 'sidebar');
});

test('on a phone the sidebar folds under its heading and works by touch', async ({ browser, request }) => {
  const name = marker('touch');
  await seed(request, name);
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
  const page = await context.newPage();
  await page.goto(`/?range=1h&q=${name}`);
  await hydrated(page);
  const toggle = page.getByRole('button', { name: 'Fields', exact: true });
  await expect(toggle).toHaveAttribute('aria-expanded', 'false');
  await expect(page.locator('.sidebar-fields')).toBeHidden();
  await toggle.tap();
  await expect(toggle).toHaveAttribute('aria-expanded', 'true');
  const actors = field(page, 'Actor');
  await actors.getByRole('button', { name: `Exclude: Actor is ${name} bob` }).tap();
  await expect(rows(page)).toHaveCount(4);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await context.close();
});

async function columnHeaders(page: Page) {
  return page.locator('table.events thead th').allInnerTexts();
}

test('chosen columns are remembered by the browser and travel with a copied link', async ({ browser, request }) => {
  const name = marker('cols');
  await seed(request, name);
  const context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await context.newPage();
  await page.goto(`/?range=1h&q=${name}`);
  await hydrated(page);
  expect(await columnHeaders(page)).toEqual(['Time', 'Actor', 'Action', 'Method', 'Status', 'Resource', 'Outcome']);

  await page.locator('.columns-menu > summary').click();
  const menu = page.getByRole('group', { name: 'Columns of the table' });
  await menu.getByRole('checkbox', { name: 'IP address', exact: true }).click();
  await menu.getByRole('checkbox', { name: 'Method', exact: true }).click();
  await menu.getByRole('checkbox', { name: 'team', exact: true }).click();
  await expect.poll(() => columnHeaders(page)).toContain('team');
  await menu.getByRole('button', { name: 'Move IP address left' }).click();
  const chosen = ['Time', 'Actor', 'Action', 'Status', 'Resource', 'IP address', 'Outcome', 'team'];
  await expect.poll(() => columnHeaders(page)).toEqual(chosen);
  // Values in the new columns, straight from the events.
  const first = rows(page).filter({ hasText: 'user.login' });
  await expect(first.locator('td.col-ip')).toHaveText('203.0.113.9');
  await expect(rows(page).filter({ hasText: `${name} bob` }).first().locator('td.col-context-team')).toHaveText(`${name}-web`);
  // Not in the URL: the browser remembers them (the server renders them on the next visit).
  expect(page.url()).not.toContain('cols=');
  await page.reload();
  expect(await columnHeaders(page)).toEqual(chosen);

  // Copy link carries them to a colleague, who has other columns of their own.
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: 'Copy link' }).click();
  await page.getByRole('menuitem', { name: /Relative time range|Fixed time range/ }).first().click();
  const link = await page.evaluate(() => navigator.clipboard.readText());
  expect(link).toContain('cols=actor.name,action,status,resource.name,ip,outcome,context.team');
  // A colleague (signed in, with the default columns of their own browser).
  const colleague = await browser.newContext();
  const other = await colleague.newPage();
  await other.goto(link);
  expect(await columnHeaders(other)).toEqual(chosen);
  await colleague.close();
  await context.close();
});

test('rows are sent once: in the HTML, not again as data', async ({ request }) => {
  const name = marker('once');
  await seed(request, name);
  const html = await (await request.get(`/?range=1h&q=${name}`)).text();
  // Each of ada's 4 events shows her name once, in its row; values the table does not show
  // (addresses, context) are not in the page at all: the events are not repeated as data.
  expect(html.split(`${name} ada`).length - 1).toBe(4);
  expect(html).not.toContain('198.51.100.7');
  expect(html).not.toContain(`${name}-core`);
  // The default view (50 rows of demo data) stays small.
  const page = await request.get('/');
  expect((await page.body()).length).toBeLessThanOrEqual(60 * 1024);
});

test('the empty, error and live states pass axe, and the keyboard alone builds a filter and pages', async ({ page, request }) => {
  const name = marker('states');
  await seed(request, name);
  await page.goto(`/?range=1h&q=${name}-nothing`);
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'No events match' })).toBeVisible();
  await axeClean(page, 'empty');

  await page.goto(`/?range=1h&q=${name}&live=1`);
  await hydrated(page);
  await expect(page.locator('.live-label')).toHaveText('Live', { timeout: 10_000 });
  await axeClean(page, 'live');

  // Keyboard only: add a filter "Actor is <name> ada", then page with a page size of 2.
  await page.goto(`/?range=1h&q=${name}&limit=2`);
  await hydrated(page);
  await page.getByRole('button', { name: 'Add filter' }).focus();
  await page.keyboard.press('Enter');
  await page.keyboard.type('actor.name');
  await page.keyboard.press('Enter');
  await expect(page.getByLabel('Actor value')).toBeFocused();
  await page.keyboard.type(`${name} ada`);
  await page.keyboard.press('Enter');
  await page.keyboard.press('Enter');
  await expect(page.locator('.pill', { hasText: `${name} ada` })).toBeVisible({ timeout: 5_000 });
  await expect(page.locator('.total')).toHaveText('1–2 of 4 events');
  const older = page.getByRole('button', { name: 'Older', exact: true });
  await older.focus();
  await page.keyboard.press('Enter');
  await expect(page.locator('.total')).toHaveText('3–4 of 4 events');
});

test('a failing API shows the error state, which passes axe', async ({ page }) => {
  await page.route('**/api/v1/events?**', (route) => route.fulfill({ status: 503, contentType: 'application/json',
    body: JSON.stringify({ error: { code: 'unavailable', message: 'The database is not available.' } }) }));
  await page.goto('/?range=1h');
  await hydrated(page);
  // The server rendered the rows; a new view is read by the browser, which gets the 503.
  await page.getByRole('combobox', { name: 'Rows' }).selectOption('25');
  await expect(page.getByRole('alert').filter({ hasText: 'Events could not be loaded' })).toBeVisible();
  await axeClean(page, 'error');
});

test('a column is resized by dragging its edge or with the arrow keys, and keeps its width', async ({ browser, request }) => {
  const name = marker('widths');
  await seed(request, name);
  const context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await context.newPage();
  await page.goto(`/?range=1h&q=${name}`);
  await hydrated(page);
  const th = page.locator('table.events thead th.col-action');
  const width = async () => Math.round((await th.boundingBox())!.width);
  const before = await width();
  const handle = page.getByRole('separator', { name: 'Width of Action' });
  const box = (await handle.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + 120, box.y + box.height / 2, { steps: 6 });
  await page.mouse.up();
  await expect.poll(width).toBeGreaterThanOrEqual(before + 110);
  const dragged = await width();
  // The rows follow their header.
  const cell = rows(page).first().locator('td.col-action');
  expect(Math.round((await cell.boundingBox())!.width)).toBe(dragged);

  await handle.focus();
  await page.keyboard.press('ArrowRight');
  await expect.poll(width).toBe(dragged + 16);
  await expect(handle).toHaveAttribute('aria-valuenow', String(dragged + 16));

  // Remembered by this browser, not put into the URL…
  expect(page.url()).not.toContain('colw=');
  await page.reload();
  await hydrated(page);
  expect(await width()).toBe(dragged + 16);
  // …and carried by a copied link.
  await page.getByRole('button', { name: 'Copy link' }).click();
  await page.getByRole('menuitem').first().click();
  const link = await page.evaluate(() => navigator.clipboard.readText());
  expect(link).toContain(`colw=action:${dragged + 16}`);
  await context.close();
});
