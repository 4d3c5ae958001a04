// Screenshots of the main views, light and dark: node end2end/screenshots.mjs [baseURL] [outDir]
import { chromium } from 'playwright-core';

const base = process.argv[2] ?? 'http://127.0.0.1:3000';
const out = process.argv[3] ?? 'screenshots';
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const views = [
  ['default', '/'],
  ['filtered', '/?range=7d&action=deployment.*&outcome=failure'],
  ['empty', '/?range=15m&actor.name=nobody-at-all'],
  ['bad-link', '/?range=24h&limit=9999&colour=red'],
];
for (const scheme of ['light', 'dark']) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: scheme });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  page.on('console', (m) => { if (m.type() === 'error') console.error('console:', m.text()); });
  for (const [name, path] of views) {
    await page.goto(base + path);
    await page.waitForSelector('body[data-hydrated="true"]', { timeout: 15000 });
    await page.waitForTimeout(400);
    await page.screenshot({ path: `${out}/${name}-${scheme}.png` });
  }
  // Details panel of the first update with changes.
  await page.goto(base + '/?range=30d&action=application.updated&outcome=success');
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.locator('table.events tbody tr').first().click();
  await page.waitForSelector('.details table.changes', { timeout: 10000 }).catch(() => {});
  await page.waitForTimeout(300);
  await page.screenshot({ path: `${out}/details-${scheme}.png` });
  await page.locator('.details').evaluate((el) => { el.scrollTop = el.scrollHeight; });
  await page.screenshot({ path: `${out}/details-changes-${scheme}.png` });
  // The filter editor with suggestions.
  await page.goto(base + '/');
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.getByRole('button', { name: 'Add filter' }).click();
  await page.getByLabel('Field', { exact: true }).fill('act');
  await page.getByRole('button', { name: /^Action$/ }).click();
  await page.waitForSelector('.suggestion', { timeout: 10000 }).catch(() => {});
  await page.screenshot({ path: `${out}/filter-editor-${scheme}.png` });
  // The chart: hovering a bar, then dragging a selection.
  await page.goto(base + '/?range=24h');
  await page.waitForSelector('body[data-hydrated="true"]');
  const box = await page.locator('.plot').boundingBox();
  await page.mouse.move(box.x + box.width * 0.55, box.y + box.height * 0.7);
  await page.waitForTimeout(150);
  await page.locator('.chart').screenshot({ path: `${out}/chart-hover-${scheme}.png` });
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.62, box.y + box.height * 0.5, { steps: 8 });
  await page.locator('.chart').screenshot({ path: `${out}/chart-drag-${scheme}.png` });
  await page.keyboard.press('Escape');
  await page.mouse.up();
  await context.close();
}
await browser.close();
console.log('screenshots written to', out);
