// Screenshots of single sign-on, light and dark, desktop and phone: the sign-in page with the
// provider's button (password for everyone, then admins only), a refusal, and the admin page
// after a test sign-in. Needs the provider of end2end/oidc running on OIDC_URL, registered for
// this server (see the browser test sso.spec.ts):
//   node end2end/screenshots-sso.mjs baseURL outDir email password
import { launch, signedInPage } from './screenshot-kit.mjs';

const [base = 'http://127.0.0.1:3000', out = 'screenshots', email, password] = process.argv.slice(2);
const issuer = process.env.OIDC_URL ?? 'http://127.0.0.1:3190';
const browser = await launch();
const sizes = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
const settings = (page, changes) => page.request.put(base + '/api/v1/sso/settings', {
  data: {
    enabled: true, display_name: 'Acme Okta', issuer, client_id: 'auditorium', client_secret: process.env.OIDC_CLIENT_SECRET ?? 'a test client secret of some length',
    scopes: ['openid email profile groups'], groups_claim: 'groups',
    mappings: [{ group: 'sec-team', role: 'auditor', scopes: [] }, { group: 'team-machinery', role: 'member', scopes: ['context.team=machinery'] }],
    allowed_domains: ['example.com'], create_accounts: true, password_sign_in: true, ...changes,
  },
});
for (const scheme of ['light', 'dark']) {
  for (const [size, viewport] of Object.entries(sizes)) {
    const options = { viewport, colorScheme: scheme, hasTouch: size === 'phone' };
    const { context, page } = await signedInPage(browser, base, email, password, options);
    const shot = async (name) => page.screenshot({ path: `${out}/sso-${name}-${size}-${scheme}.png`, fullPage: name === 'admin' });
    await settings(page, {});
    await page.goto(base + '/sso/start?test=1');
    await page.fill('input[name=login]', 'ada');
    await page.fill('input[name=password]', 'x');
    await page.click('button[type=submit]');
    await page.waitForURL(/tested=1/);
    await page.waitForSelector('body[data-hydrated="true"]', { timeout: 15000 });
    await shot('admin');
    const anon = await browser.newContext(options);
    const visitor = await anon.newPage();
    await visitor.goto(base + '/sign-in');
    await visitor.screenshot({ path: `${out}/sso-sign-in-${size}-${scheme}.png` });
    await settings(page, { password_sign_in: false });
    await visitor.goto(base + '/sign-in');
    await visitor.locator('.break-glass summary').click();
    await visitor.screenshot({ path: `${out}/sso-break-glass-${size}-${scheme}.png` });
    await visitor.goto(base + '/sign-in?sso_error=no_access');
    await visitor.screenshot({ path: `${out}/sso-refused-${size}-${scheme}.png` });
    await settings(page, { enabled: false, password_sign_in: true });
    await anon.close();
    await context.close();
  }
}
await browser.close();
