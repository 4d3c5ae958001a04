// Screenshots of what retention and the integrity verifier say on the investigation page
// (a 30-day view on a server run with a shorter --retention), light and dark, desktop and phone:
//   node end2end/screenshots-integrity.mjs baseURL outDir email password
import { launch, signedInPage } from './screenshot-kit.mjs';

const [base = 'http://127.0.0.1:3000', out = 'screenshots', email, password] = process.argv.slice(2);
const browser = await launch();
const sizes = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
for (const scheme of ['light', 'dark']) {
  for (const [size, viewport] of Object.entries(sizes)) {
    const { context, page } = await signedInPage(browser, base, email, password, { viewport, colorScheme: scheme, hasTouch: size === 'phone' });
    await page.goto(base + '/?range=30d');
    await page.waitForSelector('body[data-hydrated="true"]', { timeout: 15000 });
    await page.locator('.retention-notice').waitFor();
    await page.screenshot({ path: `${out}/retention-${size}-${scheme}.png` });
    await context.close();
  }
}
await browser.close();
