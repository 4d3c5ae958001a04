// What the screenshot scripts share: Debian's Chromium, headless, and a signed-in page that
// reports its errors on the console.
import { chromium } from 'playwright-core';

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A new context with `options`, signed in as email/password through the sign-in form. */
export async function signedInPage(browser, base, email, password, options) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  page.on('console', (m) => { if (m.type() === 'error') console.error('console:', m.text()); });
  await page.goto(base + '/sign-in');
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('form.account-form button[type=submit]');
  await page.waitForURL(/\/(overview)?$/);
  return { context, page };
}
