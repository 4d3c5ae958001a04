import { test, expect, Browser, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { createServer, Server } from 'http';
import { hydrated, ingest, marker } from './helpers';

const nobody = { cookies: [], origins: [] };

/** A browser context that nobody has signed in to. */
async function freshPage(browser: Browser, javaScriptEnabled = true): Promise<Page> {
  const context = await browser.newContext({ storageState: nobody, javaScriptEnabled });
  return context.newPage();
}

async function signIn(page: Page, email: string, password: string) {
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('form.account-form button[type=submit]');
}

test('signing in with a password works without JavaScript and brings you back', async ({ browser }) => {
  const page = await freshPage(browser, false);
  await page.goto('/?range=1h&method=POST');
  await expect(page).toHaveURL(/\/sign-in\?next=/);
  await expect(page.locator('h1')).toHaveText('Sign in to Auditorium');
  await signIn(page, process.env.E2E_EMAIL!, 'not the password');
  await expect(page.locator('.account-error')).toHaveText('The email or password is not right.');
  await expect(page.locator('#email')).toHaveValue(process.env.E2E_EMAIL!);
  await signIn(page, process.env.E2E_EMAIL!, process.env.E2E_PASSWORD!);
  await expect(page).toHaveURL(/\/\?range=1h&method=POST$/);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'auditorium_session');
  expect(session?.httpOnly).toBe(true);
  expect(session?.sameSite).toBe('Lax');
});

test('a member invited by an admin sees only their scope — rows, totals, chart, shared links', async ({ browser, request }) => {
  const mine = marker('team-mine');
  const theirs = marker('team-theirs');
  const shared = marker('scopecase');
  const actor = (team: string) => ({ id: `usr_${team}`, name: `${shared} ${team}`, type: 'user' });
  await ingest(request, [
    ...[1, 2, 3].map((i) => ({ action: 'project.updated', actor: actor(mine), context: { team: mine }, status: 200, resource: { type: 'project', id: `p${i}` } })),
    ...[1, 2, 3, 4, 5].map((i) => ({ action: 'project.deleted', actor: actor(theirs), context: { team: theirs }, status: 200, resource: { type: 'project', id: `q${i}` } })),
  ]);
  const email = `${mine}@e2e.test`;
  const invited = await request.post('/api/v1/users', { data: { email, name: 'Mina Member', role: 'member', scopes: [`context.team=${mine}`] } });
  expect(invited.status(), await invited.text()).toBe(201);
  const link: string = (await invited.json()).link;

  const page = await freshPage(browser);
  await page.goto(link.replace(/^https?:\/\/[^/]+/, ''));
  await expect(page.locator('h1')).toHaveText('Choose your password');
  await page.fill('#password', 'a member password, long enough');
  await page.fill('#confirm', 'a member password, long enough');
  await page.click('form.account-form button[type=submit]');
  await expect(page).toHaveURL(/\/$/);

  await page.goto(`/?range=1h&q=${shared}`);
  await hydrated(page);
  await expect(page.locator('.scope-notice')).toContainText(`context.team=${mine}`);
  const rows = page.locator('table.events tbody tr');
  await expect(rows).toHaveCount(3);
  await expect(rows.locator('.actor-name')).toHaveText(Array(3).fill(`${shared} ${mine}`));
  await expect(page.locator('.results-head .total')).toContainText('3');
  const histogram = await page.request.get(`/api/v1/histogram?range=1h&q=${shared}`);
  expect((await histogram.json()).total.count).toBe(3);
  const values = await (await page.request.get(`/api/v1/fields/context.team/values?range=1h&q=${shared}`)).json();
  expect(values.values.map((v: { value: string }) => v.value)).toEqual([mine]);

  // A colleague's link to events the member may not see: an empty view, not an error page.
  await page.goto(`/?range=1h&context.team=${theirs}`);
  await hydrated(page);
  await expect(rows.filter({ hasText: theirs })).toHaveCount(0);
  await expect(page.locator('.empty-state')).toBeVisible();
  await expect(page.locator('body')).not.toContainText(`${shared} ${theirs}`);
  await page.context().close();
});

test('the admin pages create a token and change a role, and Auditorium audits both', async ({ page, request }) => {
  const email = `${marker('auditee')}@e2e.test`;
  expect((await request.post('/api/v1/users', { data: { email, role: 'member', scopes: ['action=x.*'] } })).status()).toBe(201);
  await page.goto('/admin/tokens');
  await hydrated(page);
  const name = marker('billing');
  await page.fill('#token-name', name);
  await page.click('form.admin-card button[type=submit]');
  await expect(page.locator('.link-notice input')).toHaveValue(/^aud_/);
  await expect(page.locator('table.admin-table')).toContainText(name);

  await page.goto('/admin/users');
  await hydrated(page);
  const row = page.locator('table.admin-table tr', { hasText: email });
  await row.locator('select').selectOption('auditor');
  await expect(row.locator('td.scope-cell')).toHaveText('Everything');
  expect(await new AxeBuilder({ page }).analyze().then((r) => r.violations.map((v) => v.id))).toEqual([]);

  await expect(async () => {
    await page.goto('/?range=1h&source=auditorium');
    await hydrated(page);
    const actions = await page.locator('table.events tbody tr td.col-action').allInnerTexts();
    for (const wanted of ['auditorium.session.created', 'auditorium.token.created', 'auditorium.user.role_changed']) {
      expect(actions.join(' ')).toContain(wanted);
    }
  }).toPass({ timeout: 15_000 });
});

test('signing out ends the live tail of every tab', async ({ browser }) => {
  const page = await freshPage(browser);
  await page.goto('/sign-in');
  await signIn(page, process.env.E2E_EMAIL!, process.env.E2E_PASSWORD!);
  await page.goto('/?range=15m&live=1');
  await hydrated(page);
  await expect(page.locator('.live-dot.streaming')).toHaveCount(1, { timeout: 10_000 });
  const other = await page.context().newPage();
  await other.goto('/');
  await other.locator('.user-menu summary').click();
  await other.locator('.user-menu form:first-of-type button').click();
  await expect(other).toHaveURL(/\/sign-in\?signed_out=1/);
  await expect(page.locator('.live-label')).toContainText('sign in again', { timeout: 10_000 });
  await page.context().close();
});

test('another site can neither post a form with your session nor open your live tail', async ({ page, request }) => {
  // Same site (127.0.0.1), another origin (port): the Lax cookie goes along; the server refuses.
  const port = Number(process.env.E2E_PORT ?? 3100);
  const email = `${marker('forged')}@evil.test`;
  const attack = `<!doctype html><title>attack</title>
    <form id="f" method="post" action="http://127.0.0.1:${port}/api/v1/users" enctype="text/plain">
      <input name='{"email":"${email}","role":"admin","x":"' value='"}'></form>
    <script>
      const ws = new WebSocket('ws://127.0.0.1:${port}/api/v1/live?range=1h');
      ws.onopen = () => document.body.dataset.ws = 'open';
      ws.onmessage = () => document.body.dataset.ws = 'message';
      ws.onclose = (e) => { if (!document.body.dataset.ws) document.body.dataset.ws = 'refused-' + e.code; };
    </script>`;
  const server: Server = createServer((_, res) => { res.setHeader('content-type', 'text/html'); res.end(attack); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const attackPort = typeof address === 'object' && address ? address.port : 0;
  try {
    await page.goto(`http://127.0.0.1:${attackPort}/`);
    await expect(page.locator('body')).toHaveAttribute('data-ws', /^refused-/, { timeout: 10_000 });
    await page.locator('#f').evaluate((form: HTMLFormElement) => form.submit());
    await expect(page.locator('body')).toContainText('another site');
  } finally {
    server.close();
  }
  const users = await (await request.get('/api/v1/users')).json();
  expect(users.users.map((u: { email: string }) => u.email)).not.toContain(email);
});

test('the sign-in page passes axe in light and dark', async ({ browser }) => {
  for (const colorScheme of ['light', 'dark'] as const) {
    const context = await browser.newContext({ storageState: nobody, colorScheme });
    const page = await context.newPage();
    await page.goto('/sign-in?error=invalid');
    await hydrated(page);
    const results = await new AxeBuilder({ page }).analyze();
    expect(results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(', ')}`)).toEqual([]);
    await context.close();
  }
});
