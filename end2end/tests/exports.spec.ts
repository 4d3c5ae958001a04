import { test, expect, Download } from '@playwright/test';
import { readFileSync } from 'fs';
import { inflateRawSync } from 'zlib';
import { hydrated, ingest, marker } from './helpers';

function event(actor: string, n: number) {
  return {
    action: n % 2 ? 'document.shared' : 'document.viewed',
    actor: { id: `usr_${actor}`, name: actor, type: 'user' },
    resource: { type: 'document', id: `doc-${n}`, name: n === 0 ? '=HYPERLINK("http://evil.example")' : `Doc ${n}` },
    status: 200,
  };
}

/** The one file in a ZIP written by Auditorium (sizes in the local header; stored or deflated). */
function unzipOnly(bytes: Buffer): { name: string; text: string } {
  expect(bytes.readUInt32LE(0)).toBe(0x04034b50);
  const method = bytes.readUInt16LE(8);
  const compressed = bytes.readUInt32LE(18);
  const nameLength = bytes.readUInt16LE(26);
  const extraLength = bytes.readUInt16LE(28);
  const name = bytes.subarray(30, 30 + nameLength).toString('utf8');
  const start = 30 + nameLength + extraLength;
  const data = bytes.subarray(start, start + compressed);
  const raw = method === 8 ? inflateRawSync(data) : data;
  return { name, text: raw.toString('utf8') };
}

async function saved(download: Download): Promise<Buffer> {
  return readFileSync((await download.path()) as string);
}

test('the Export menu downloads the whole view as CSV at once, formulas neutralised', async ({ page, request }) => {
  const name = marker('csvnow');
  await ingest(request, Array.from({ length: 12 }, (_, n) => event(name, n)));
  await page.goto(`/?range=1h&actor.name=${name}`);
  await hydrated(page);
  await page.locator('.export-menu > summary').click();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: /^CSV UTF-8/ }).click()]);
  expect(download.suggestedFilename()).toMatch(/^auditorium-\d{8}-\d{6}\.csv$/);
  const lines = (await saved(download)).toString('utf8').trim().split('\r\n');
  expect(lines[0]).toMatch(/^id,occurred_at,action,actor\.id,actor\.name,/);
  expect(lines).toHaveLength(13);
  expect(lines.slice(1).every((l) => l.includes(name))).toBe(true);
  expect(lines.some((l) => l.includes(`"'=HYPERLINK(""http://evil.example"")"`))).toBe(true);
  await expect(page.locator('.export-menu')).not.toHaveAttribute('open', '');
});

test('an export job makes a ZIP per chosen format with every event of the view, then is deleted', async ({ page, request }) => {
  const name = marker('job');
  await ingest(request, Array.from({ length: 30 }, (_, n) => event(name, n)));
  await page.goto(`/?range=1h&actor.name=${name}`);
  await hydrated(page);
  await expect(page.locator('.total')).toHaveText('30 events');

  await page.locator('.export-menu > summary').click();
  await page.getByRole('button', { name: /Export job/ }).click();
  const dialog = page.getByRole('dialog', { name: 'Export job' });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByLabel('Name')).toBeFocused();
  await expect(dialog).toContainText('30 events');
  await expect(dialog).toContainText(name);
  await expect(dialog).toContainText('live for 7 days');
  await dialog.getByLabel('Name').fill(`Incident ${name}`);
  await expect(dialog.getByRole('checkbox', { name: /^CSV/ })).toBeChecked();
  await dialog.getByRole('checkbox', { name: /^NDJSON/ }).check();
  await dialog.getByRole('button', { name: 'Start export' }).click();
  await expect(dialog).toBeHidden();

  const item = page.locator('.export-item', { hasText: `Incident ${name}` });
  await expect(item).toBeVisible();
  await expect(item.locator('.state-chip')).toHaveText('done', { timeout: 30_000 });
  await expect(item.getByRole('progressbar')).toHaveAttribute('aria-valuenow', '100');
  await expect(item).toContainText('30 events');
  await expect(item).toContainText('Expires in 7 days');

  const [csv] = await Promise.all([page.waitForEvent('download'), item.getByRole('link', { name: /^CSV/ }).click()]);
  expect(csv.suggestedFilename()).toMatch(/\.zip$/);
  const csvFile = unzipOnly(await saved(csv));
  expect(csvFile.name).toMatch(/\.csv$/);
  expect(csvFile.text.trim().split('\r\n')).toHaveLength(31);

  const [ndjson] = await Promise.all([page.waitForEvent('download'), item.getByRole('link', { name: /^NDJSON/ }).click()]);
  const lines = unzipOnly(await saved(ndjson)).text.trim().split('\n').map((l) => JSON.parse(l));
  expect(lines).toHaveLength(30);
  expect(lines.every((e) => e.actor.name === name)).toBe(true);
  expect(lines.find((e) => e.resource.id === 'doc-0').resource.name).toBe('=HYPERLINK("http://evil.example")');

  await item.getByRole('button', { name: `Delete export Incident ${name}` }).click();
  await expect(item).toHaveCount(0);
  const gone = await page.request.get(`/api/v1/exports`);
  expect(((await gone.json()).exports as { name: string }[]).some((e) => e.name === `Incident ${name}`)).toBe(false);
});
