// Screenshots of the Export menu, the export-job dialog and the jobs panel, light and dark,
// desktop and phone: node end2end/screenshots-exports.mjs baseURL outDir email password
// (start a job or two first, e.g. through the dialog, so the panel has something to show).
import { launch, signedInPage } from './screenshot-kit.mjs';

const [base = 'http://127.0.0.1:3000', out = 'screenshots', email, password] = process.argv.slice(2);
const browser = await launch();
const sizes = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
const view = '/?range=7d&action=user.login,user.logout&outcome=failure';
for (const scheme of ['light', 'dark']) {
  for (const [size, viewport] of Object.entries(sizes)) {
    const { context, page } = await signedInPage(browser, base, email, password, { viewport, colorScheme: scheme, acceptDownloads: true });
    await page.goto(base + view);
    await page.waitForSelector('body[data-hydrated="true"]', { timeout: 15000 });
    await page.waitForSelector('.exports-panel .export-item');
    await page.screenshot({ path: `${out}/exports-panel-${size}-${scheme}.png` });
    await page.locator('.export-menu > summary').click();
    await page.locator('.export-menu .popover').waitFor();
    await page.screenshot({ path: `${out}/exports-menu-${size}-${scheme}.png` });
    await page.getByRole('button', { name: /Export job/ }).click();
    await page.getByRole('checkbox', { name: /^XLSX/ }).check();
    await page.locator('.format-choice.checked', { hasText: 'XLSX' }).waitFor();
    await page.screenshot({ path: `${out}/exports-dialog-${size}-${scheme}.png` });
    await page.keyboard.press('Escape');
    await page.goto(base + '/?range=7d');
    await page.waitForSelector('body[data-hydrated="true"]', { timeout: 15000 });
    await page.screenshot({ path: `${out}/page-${size}-${scheme}.png`, fullPage: size === 'phone' });
    await page.locator('table.events tbody tr').first().click();
    await page.locator('#details-title').waitFor();
    await page.screenshot({ path: `${out}/details-${size}-${scheme}.png` });
    await context.close();
  }
}
await browser.close();
