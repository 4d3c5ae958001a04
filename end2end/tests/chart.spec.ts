import { test, expect, Page } from '@playwright/test';
import { hydrated } from './helpers';

test.use({ timezoneId: 'UTC' });

type Bucket = { start: string; end: string; success: number; failure: number };

/** The time at a horizontal position of equal-width bars (as the chart maps it). */
function timeAt(buckets: Bucket[], fraction: number): number {
  const position = Math.min(Math.max(fraction, 0), 1) * buckets.length;
  const i = Math.min(Math.floor(position), buckets.length - 1);
  const start = Date.parse(buckets[i].start);
  const end = Date.parse(buckets[i].end);
  return start + (end - start) * (position - i);
}

function rangeOf(page: Page): { from: number; to: number } {
  const url = new URL(page.url());
  return { from: Date.parse(url.searchParams.get('from') ?? ''), to: Date.parse(url.searchParams.get('to') ?? '') };
}

async function rowTimes(page: Page): Promise<number[]> {
  const values = await page.locator('table.events tbody time').evaluateAll((els) => els.map((e) => e.getAttribute('datetime') ?? ''));
  return values.map((v) => Date.parse(v));
}

/** Whether every time lies in [from, to) (and there is one), or the first that does not. */
function inside(times: number[], from: number, to: number): string {
  if (times.length === 0) return 'no rows';
  const outside = times.find((t) => t < from || t >= to);
  return outside === undefined ? 'all inside' : `${new Date(outside).toISOString()} is outside`;
}

test('dragging across the chart zooms to the dragged window; a bar click zooms to the bar; Back returns', async ({ page, request }) => {
  const to = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
  const from = new Date(to.getTime() - 12 * 3_600_000);
  const query = `from=${from.toISOString()}&to=${to.toISOString()}`;
  const histogram = await (await request.get(`/api/v1/histogram?${query}&tz=UTC`)).json();
  const buckets: Bucket[] = histogram.buckets;
  const width = histogram.bucket_seconds * 1000;
  expect(buckets.length).toBeGreaterThanOrEqual(40);

  await page.goto(`/?${query}`);
  await hydrated(page);
  const plot = page.locator('.plot');
  const box = (await plot.boundingBox())!;
  const y = box.y + box.height / 2;
  const [a, b] = [0.25, 0.6];
  await page.mouse.move(box.x + box.width * a, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * b, y, { steps: 12 });
  await expect(page.locator('.selection-label')).toBeVisible(); // live label while dragging
  await page.mouse.up();

  await expect(page).toHaveURL(/from=.*&to=/);
  await expect.poll(() => rangeOf(page).from).not.toBe(from.getTime());
  const zoomed = rangeOf(page);
  expect(Math.abs(zoomed.from - timeAt(buckets, a))).toBeLessThanOrEqual(width);
  expect(Math.abs(zoomed.to - timeAt(buckets, b))).toBeLessThanOrEqual(width);
  // The chart re-renders for the narrower window: finer bars.
  await expect(page.locator('.chart-meta')).not.toContainText('10-minute bars');
  // The table follows (it may still show the 12-hour rows for a moment).
  await expect.poll(async () => inside(await rowTimes(page), zoomed.from, zoomed.to)).toBe('all inside');

  // Back returns to the 12-hour range.
  await page.goBack();
  await expect.poll(() => rangeOf(page).from).toBe(from.getTime());
  await expect(page.locator('.chart-meta')).toContainText('10-minute bars');

  // Clicking one bar zooms to exactly that bar.
  const i = Math.floor(buckets.length * 0.75);
  const box2 = (await plot.boundingBox())!;
  await page.mouse.click(box2.x + box2.width * ((i + 0.5) / buckets.length), box2.y + box2.height / 2);
  await expect.poll(() => rangeOf(page).from).toBe(Date.parse(buckets[i].start));
  expect(rangeOf(page).to).toBe(Date.parse(buckets[i].end));
  await expect.poll(async () => inside(await rowTimes(page), Date.parse(buckets[i].start), Date.parse(buckets[i].end)))
    .toBe(buckets[i].success + buckets[i].failure > 0 ? 'all inside' : 'no rows');
});

test('Escape cancels a drag, and the keyboard zooms out and pans', async ({ page }) => {
  // Well in the past, so zooming out is not cut short at "now".
  const to = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 5 * 3_600_000);
  const from = new Date(to.getTime() - 2 * 3_600_000);
  await page.goto(`/?from=${from.toISOString()}&to=${to.toISOString()}`);
  await hydrated(page);
  const plot = page.locator('.plot');
  const box = (await plot.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.2, box.y + 40);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, box.y + 40, { steps: 5 });
  await page.keyboard.press('Escape');
  await expect(page.locator('.selection')).toHaveCount(0);
  await page.mouse.up();
  expect(rangeOf(page).from).toBe(from.getTime());

  await plot.focus();
  await page.keyboard.press('-');
  await expect.poll(() => rangeOf(page).from).toBe(from.getTime() - 3_600_000);
  expect(rangeOf(page).to).toBe(to.getTime() + 3_600_000);
  await page.locator('.plot').focus();
  await page.keyboard.press('['); // half the (now 4-hour) window earlier
  await expect.poll(() => rangeOf(page).to).toBe(to.getTime() - 3_600_000);
  await page.goBack();
  await expect.poll(() => rangeOf(page).to).toBe(to.getTime() + 3_600_000);
});
