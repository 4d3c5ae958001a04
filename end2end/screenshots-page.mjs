// Screenshots of the investigation page — sidebar, columns menu, extra columns, details beside
// the table — light and dark, desktop (1280 and 1600 wide) and phone:
//   node end2end/screenshots-page.mjs baseURL outDir email password
import { launch, signedInPage } from './screenshot-kit.mjs';

const [base = 'http://127.0.0.1:3000', out = 'screenshots', email, password] = process.argv.slice(2);
const browser = await launch();
const sizes = { desktop: { width: 1280, height: 800 }, wide: { width: 1600, height: 900 }, phone: { width: 390, height: 844 } };
for (const scheme of ['light', 'dark']) {
  for (const [size, viewport] of Object.entries(sizes)) {
    const { context, page } = await signedInPage(browser, base, email, password, { viewport, colorScheme: scheme, hasTouch: size === 'phone' });
    await page.goto(base + '/?range=7d');
    await page.waitForSelector('body[data-hydrated="true"]', { timeout: 15000 });
    if (size === 'phone') await page.getByRole('button', { name: 'Fields', exact: true }).click();
    await page.locator('.facet-value').first().waitFor();
    await page.screenshot({ path: `${out}/sidebar-${size}-${scheme}.png`, fullPage: size === 'phone' });
    await page.locator('.columns-menu > summary').click();
    await page.locator('.columns-popover').waitFor();
    await page.screenshot({ path: `${out}/columns-menu-${size}-${scheme}.png` });
    await page.getByRole('checkbox', { name: 'IP address', exact: true }).click();
    await page.locator('table.events thead th.col-ip').waitFor();
    await page.getByRole('checkbox', { name: 'Path', exact: true }).click();
    await page.locator('table.events thead th.col-path').waitFor();
    await page.keyboard.press('Escape');
    await page.locator('.columns-menu > summary').click();
    await page.locator('table.events tbody tr td.col-time').first().click();
    await page.locator('.details').waitFor();
    await page.waitForFunction(() => document.activeElement?.id === 'details-title');
    await page.screenshot({ path: `${out}/columns-details-${size}-${scheme}.png` });
    await context.close();
  }
}
await browser.close();
