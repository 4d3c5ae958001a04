import { test, expect } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { hydrated, ingest, marker } from './helpers';

// The overview, a resource's version history and "Alert me when this happens" (issue 16).

test('overview → a top actor → the investigation page with that filter', async ({ page, request }) => {
  const name = marker('top');
  // Enough events today to put this actor among the top ten of the last 30 days.
  const events = Array.from({ length: 2500 }, (_, i) => ({
    action: 'deploy.started',
    actor: { id: `usr_${name}`, name: `Top ${name}`, type: 'user' },
    occurred_at: new Date(Date.now() - (i % 600) * 1000).toISOString(),
  }));
  for (let i = 0; i < events.length; i += 500) await ingest(request, events.slice(i, i + 500));
  await page.goto('/overview');
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'Overview', level: 1 })).toBeVisible();
  // The last 24 hours count at least this test's events, and links to them.
  const shown = Number((await page.locator('.period-card .period-count').first().innerText()).replace(/\D/g, ''));
  expect(shown).toBeGreaterThanOrEqual(2500);
  const top = page.locator('.ranked').filter({ hasText: 'Top actors' }).getByRole('link', { name: new RegExp(`Top ${name}`) });
  await expect(top).toBeVisible();
  await top.click();
  await expect(page).toHaveURL(new RegExp(`/actors/usr_${name}$`));
  await expect(page.getByRole('heading', { name: `Top ${name}`, level: 1 })).toBeVisible();
  await page.locator('.facts a').first().click();
  await expect(page).toHaveURL(new RegExp(`actor\\.id=usr_${name}`));
  await hydrated(page);
  await expect(page.locator('table.events tbody tr').first()).toContainText(`Top ${name}`);
  const axe = await new AxeBuilder({ page: page }).analyze();
  expect(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);
});

test('a resource page shows its version history', async ({ page, request }) => {
  const name = marker('res');
  const base = Date.now() - 60 * 60_000;
  const change = (i: number, before: string, after: string) => ({
    action: 'project.updated',
    occurred_at: new Date(base + i * 60_000).toISOString(),
    actor: { id: `usr_${name}_${i % 2}`, name: `Editor ${i % 2}`, type: 'user' },
    resource: { type: 'project', id: `prj_${name}`, name: after },
    changes: [{ field: 'name', before, after }],
  });
  await ingest(request, [change(1, 'Apollo', 'Artemis'), change(2, 'Artemis', 'Gemini'), change(3, 'Gemini', 'Mercury')]);
  await page.goto(`/resources/project/prj_${name}`);
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'Mercury', level: 1 })).toBeVisible();
  const versions = page.locator('.version');
  await expect(versions).toHaveCount(3);
  await expect(versions.nth(0).locator('td.before')).toHaveText('Apollo');
  await expect(versions.nth(0).locator('td.after')).toHaveText('Artemis');
  await expect(versions.nth(2).locator('td.after')).toHaveText('Mercury');
  await expect(page.locator('.ranked').filter({ hasText: 'Who acted on it' }).getByRole('link')).toHaveCount(2);
  // Without JavaScript the history is there too (server-rendered).
  const html = await (await request.get(`/resources/project/prj_${name}`)).text();
  expect(html).toContain('Gemini');
  const axe = await new AxeBuilder({ page }).analyze();
  expect(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);
});

test('"Alert me when this happens" creates a rule that fires into the notification list', async ({ page, request }) => {
  const name = marker('alert');
  await page.goto(`/?range=1h&action=alert.${name}`);
  await hydrated(page);
  await page.getByRole('link', { name: 'Alert me' }).click();
  await expect(page).toHaveURL(/\/alerts\?view=/);
  await hydrated(page);
  // The page's view (its range is ignored by rules).
  await expect(page.locator('#rule-view')).toHaveValue(new RegExp(`action=alert\\.${name}`));
  await page.fill('#rule-name', `Burst ${name}`);
  await page.fill('#rule-count', '3');
  await page.fill('#rule-window', '10m');
  await page.getByRole('button', { name: 'Create rule' }).click();
  const rule = page.locator('.rule').filter({ hasText: `Burst ${name}` });
  await expect(rule).toBeVisible();
  await expect(rule.locator('.state-chip')).toHaveText('on');
  // Give the evaluator a moment to load the rule, then cross it.
  await page.waitForTimeout(2500);
  await ingest(request, [1, 2, 3].map(() => ({ action: `alert.${name}`, actor: { id: 'usr_x', name: 'X', type: 'user' } })));
  const note = page.locator('.notification').filter({ hasText: `Burst ${name}` });
  await expect(note).toBeVisible({ timeout: 15_000 });
  await expect(note).toContainText('3 events');
  await note.getByRole('link').click();
  await expect(page).toHaveURL(new RegExp(`action=alert\\.${name}`));
  await hydrated(page);
  await expect(page.locator('table.events tbody tr')).toHaveCount(3);
});
