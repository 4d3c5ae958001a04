import { expect, Locator, Page, APIRequestContext } from '@playwright/test';

/** Waits until the WebAssembly has hydrated the page (the frontend marks <body>). */
export async function hydrated(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1, { timeout: 15_000 });
}

/** The token scripts/test.sh created for these tests. */
export function token(): string {
  const t = process.env.E2E_TOKEN;
  if (!t) throw new Error('E2E_TOKEN is not set: run the browser tests through `make test`');
  return t;
}

/** Stores events through the real ingest API and returns their ids. */
export async function ingest(request: APIRequestContext, events: object[]): Promise<string[]> {
  const response = await request.post('/api/v1/events', {
    headers: { Authorization: `Bearer ${token()}` },
    data: events,
  });
  expect(response.status(), await response.text()).toBe(201);
  const body = await response.json();
  return body.events.map((e: { id: string }) => e.id);
}

/** A short random marker to find this test's events among the demo data. */
export function marker(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Opens a row's details as a person does: a click on the row (its time, away from the
 *  click-to-filter buttons that appear at the end of each value). */
export async function open(row: Locator) {
  await row.locator('td.col-time').click();
}
