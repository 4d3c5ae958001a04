import { test, expect } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { createServer, IncomingHttpHeaders } from 'http';
import { createHmac } from 'crypto';
import { hydrated, ingest, marker } from './helpers';

/** A webhook receiver on a loopback port: keeps each request's headers and NDJSON lines. */
async function receiver() {
  const got: { headers: IncomingHttpHeaders; body: string; events: any[] }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ headers: req.headers, body, events: body.split('\n').filter(Boolean).map((l) => JSON.parse(l)) });
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as any).port;
  return { url: `http://127.0.0.1:${port}/hook`, got, close: () => server.close() };
}

test('an admin adds a webhook in the form, sees it deliver, tests it and pauses it', async ({ page, request }) => {
  const hook = await receiver();
  const mark = marker('siem');
  await page.goto('/admin/destinations');
  await hydrated(page);
  await page.locator('#dest-add').click();
  await page.getByText('Webhook', { exact: true }).click();
  await page.fill('#dest-name', `Hook ${mark}`);
  await page.fill('#dest-filter', `range=24h&action=${mark}.*`);
  await page.fill('#dest-url', hook.url);
  await page.getByRole('button', { name: 'Add destination' }).click();
  // The signing secret the server made is shown once.
  const secret = page.getByLabel('Webhook signing secret');
  await expect(secret).toHaveValue(/^whsec_/);
  const whsec = await secret.inputValue();
  await page.getByRole('button', { name: 'Done' }).click();
  await expect(secret).toHaveCount(0);

  const row = page.locator('tr', { hasText: `Hook ${mark}` }).first();
  await expect(row).toContainText(`action=${mark}.*`);
  await ingest(request, [1, 2, 3].map((i) => ({ action: `${mark}.done`, actor: { id: `u${i}`, name: 'U', type: 'user' } })));
  await ingest(request, [{ action: 'other.thing', actor: { id: 'u', name: 'U', type: 'user' } }]);
  await expect.poll(() => hook.got.flatMap((r) => r.events).length, { timeout: 15000 }).toBe(3);
  expect(hook.got.flatMap((r) => r.events).map((e) => e.action)).toEqual([`${mark}.done`, `${mark}.done`, `${mark}.done`]);
  // Signed with the secret shown once (Standard Webhooks, checked here independently).
  const first = hook.got[0];
  const key = Buffer.from(whsec.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${first.headers['webhook-id']}.${first.headers['webhook-timestamp']}.${first.body}`).digest('base64');
  expect(first.headers['webhook-signature']).toBe(`v1,${expected}`);
  await expect(row).toContainText('Delivering', { timeout: 15000 });
  await expect(row.locator('td').nth(3)).toContainText(/^\s*3(?!\d)/, { timeout: 15000 });

  await page.getByRole('button', { name: new RegExp(`^Test Hook ${mark}`) }).click();
  await expect(page.getByText('Test event delivered')).toBeVisible();
  await expect(page.getByText('HTTP 204')).toBeVisible();
  expect(hook.got.at(-1)!.events[0].action).toBe('auditorium.destination.test');

  await row.getByRole('button', { name: /^Pause/ }).click();
  await expect(row).toContainText('Paused');
  const results = await new AxeBuilder({ page }).analyze();
  expect(results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(', ')}`)).toEqual([]);
  hook.close();
});
