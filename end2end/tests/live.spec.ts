import { test, expect, Page } from '@playwright/test';
import { hydrated, ingest, marker } from './helpers';

function event(actor: string, action: string) {
  return { action, actor: { id: `usr_${actor}`, name: actor, type: 'user' }, method: 'POST', status: 201 };
}

async function liveStatus(page: Page) {
  await expect(page.locator('.live-label')).toHaveText('Live', { timeout: 10_000 });
  await expect(page.locator('.live-dot.streaming')).toHaveCount(1);
}

test('with Live on, a new matching event appears within 2 seconds, others never', async ({ page, request }) => {
  const name = marker('live');
  await page.goto(`/?range=15m&actor.name=${name}`);
  await hydrated(page);
  await page.getByRole('button', { name: /^Live/ }).click();
  await expect(page).toHaveURL(/live=1/);
  await liveStatus(page);
  await expect(page.locator('table.events tbody tr')).toHaveCount(0);

  await ingest(request, [event(name, 'deployment.started')]);
  const row = page.locator('table.events tbody tr', { hasText: 'deployment.started' });
  await expect(row).toBeVisible({ timeout: 2_000 });
  await expect(page.locator('.total')).toHaveText('1 event');

  await ingest(request, [event(`${name}-other`, 'project.deleted')]);
  await ingest(request, [event(name, 'deployment.finished')]);
  await expect(page.locator('table.events tbody tr', { hasText: 'deployment.finished' })).toBeVisible({ timeout: 2_000 });
  await expect(page.locator('table.events tbody tr', { hasText: 'project.deleted' })).toHaveCount(0);
  await expect(page.locator('table.events tbody tr')).toHaveCount(2);
  // Newest first.
  await expect(page.locator('table.events tbody tr').first()).toContainText('deployment.finished');
  // The chart counts each live event once, like the header.
  await expect(page.locator('.total')).toHaveText('2 events');
  await expect(page.locator('.chart-meta')).toContainText('2 events');
});

test('pausing holds new rows behind the "new events" button', async ({ page, request }) => {
  const name = marker('held');
  await page.goto(`/?range=15m&live=1&actor.name=${name}`);
  await hydrated(page);
  await liveStatus(page);
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await expect(page.locator('.live-label')).toHaveText('Paused');
  await ingest(request, [event(name, 'user.login'), event(name, 'user.logout')]);
  const button = page.getByRole('button', { name: /2 new events/ });
  await expect(button).toBeVisible({ timeout: 2_000 });
  await expect(page.locator('table.events tbody tr')).toHaveCount(0);
  await button.click();
  await expect(page.locator('table.events tbody tr')).toHaveCount(2);
  await expect(page.locator('.live-label')).toHaveText('Live');
});

test('changing the filters while live subscribes to the new ones', async ({ page, request }) => {
  const first = marker('first');
  const second = marker('second');
  await page.goto(`/?range=15m&live=1&actor.name=${first}`);
  await hydrated(page);
  await liveStatus(page);
  await page.goto(`/?range=15m&live=1&actor.name=${second}`);
  await hydrated(page);
  await liveStatus(page);
  await ingest(request, [event(first, 'a.first'), event(second, 'a.second')]);
  await expect(page.locator('table.events tbody tr', { hasText: 'a.second' })).toBeVisible({ timeout: 2_000 });
  await expect(page.locator('table.events tbody tr', { hasText: 'a.first' })).toHaveCount(0);
});
