// Screenshots of the sign-in page, the user menu, a member's view and the admin pages, light
// and dark, desktop and phone: node end2end/screenshots-accounts.mjs baseURL outDir email password
import { chromium } from 'playwright-core';

const [base = 'http://127.0.0.1:3000', out = 'screenshots', email, password] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
async function signIn(page, who, secret) {
  await page.goto(base + '/sign-in');
  await page.fill('#email', who);
  await page.fill('#password', secret);
  await page.click('form.account-form button[type=submit]');
  await page.waitForURL(/\/$/);
}
const sizes = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
for (const scheme of ['light', 'dark']) {
  for (const [size, viewport] of Object.entries(sizes)) {
    const context = await browser.newContext({ viewport, colorScheme: scheme });
    const page = await context.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    page.on('console', (m) => { if (m.type() === 'error') console.error('console:', m.text()); });
    await page.goto(base + '/sign-in?error=invalid&email=ada%40example.com');
    await page.waitForSelector('body[data-hydrated="true"]', { timeout: 15000 });
    await page.screenshot({ path: `${out}/signin-${size}-${scheme}.png` });
    await signIn(page, email, password);
    await page.waitForSelector('body[data-hydrated="true"]', { timeout: 15000 });
    await page.locator('.user-menu summary').click();
    await page.waitForTimeout(200);
    await page.screenshot({ path: `${out}/usermenu-${size}-${scheme}.png` });
    for (const name of ['users', 'tokens', 'sessions']) {
      await page.goto(`${base}/admin/${name}`);
      await page.waitForSelector('body[data-hydrated="true"]', { timeout: 15000 });
      await page.waitForTimeout(300);
      await page.screenshot({ path: `${out}/admin-${name}-${size}-${scheme}.png`, fullPage: true });
    }
    await context.close();
  }
}
await browser.close();
