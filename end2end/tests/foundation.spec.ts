import { test, expect } from '@playwright/test';
import { hydrated } from './helpers';

test('the page is rendered on the server, then hydrated and interactive', async ({ page, request }) => {
  // Server-rendered: the raw HTML already holds the header.
  const html = await (await request.get('/')).text();
  expect(html).toContain('Auditorium');
  expect(html).toContain('<header');

  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  await page.goto('/');
  await hydrated(page);
  const toggle = page.getByRole('button', { name: /theme/i });
  const before = await page.locator('html').getAttribute('data-theme');
  await toggle.click();
  await expect(page.locator('html')).not.toHaveAttribute('data-theme', before ?? '');
  expect(errors).toEqual([]);
});

test('health and readiness answer JSON', async ({ request }) => {
  const health = await request.get('/healthz');
  expect(health.status()).toBe(200);
  expect(await health.json()).toEqual({ status: 'ok' });
  const ready = await request.get('/readyz');
  expect(ready.status()).toBe(200);
  expect((await ready.json()).status).toBe('ready');
});
