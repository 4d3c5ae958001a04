// The page benchmark (run by `make bench-page`): node bench-page.mjs BASE FROM TO
// - navigation → server-rendered rows visible, p50/p95 (browser paint timing, and end to end);
// - new data arriving → table re-rendered (resource timing → DOM change → next frame).
import { chromium } from 'playwright-core';

const [base, from, to] = process.argv.slice(2);
const runs = Number(process.env.RUNS ?? 30);
const range = `from=${from}&to=${to}`;
const lastHour = `from=${new Date(Date.parse(to) - 3_600_000).toISOString()}&to=${to}`;
const views = [
  ['default view (method!=GET), 30 days', `/?${range}&method!=GET`],
  ['one action, 30 days', `/?${range}&action=secret.deleted`],
  ['context label, 30 days', `/?${range}&context.cluster=cluster-7`],
  ['last hour', `/?${lastHour}`],
];

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.round((p / 100) * (s.length - 1)))];
};
const ms = (x) => `${x.toFixed(0)} ms`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
async function signedIn(options) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const page = await context.newPage();
  const form = await context.request.post(base + '/sign-in', {
    form: { email: process.env.BENCH_EMAIL, password: process.env.BENCH_PASSWORD, next: '/' },
    headers: { Origin: base }, maxRedirects: 0,
  });
  if (form.status() !== 303) throw new Error(`signing in failed: ${form.status()}`);
  return { context, page };
}
const { context, page } = await signedIn({});

console.log('\n## Navigation to rows visible (server-rendered), warm server\n');
console.log('| view | paint p50 | paint p95 | end-to-end p50 | end-to-end p95 |');
console.log('|---|---|---|---|---|');
for (const [label, path] of views) {
  const paint = [];
  const wall = [];
  for (let i = 0; i < runs + 3; i++) {
    const started = performance.now();
    await page.goto(base + path, { waitUntil: 'commit' });
    await page.locator('table.events tbody tr').first().waitFor({ state: 'visible' });
    const elapsed = performance.now() - started;
    const fcp = await page.evaluate(() => new Promise((resolve) => {
      const find = () => performance.getEntriesByName('first-contentful-paint')[0]?.startTime;
      const now = find();
      if (now !== undefined) return resolve(now);
      new PerformanceObserver(() => resolve(find())).observe({ type: 'paint', buffered: true });
    }));
    if (i >= 3) {
      wall.push(elapsed);
      // (A navigation now and then reports no paint entry: it is left out of the paint column.)
      if (typeof fcp === 'number') paint.push(fcp);
    }
  }
  console.log(`| ${label} | ${ms(pct(paint, 50))} | ${ms(pct(paint, 95))} | ${ms(pct(wall, 50))} | ${ms(pct(wall, 95))} |`);
}

console.log('\n## Without JavaScript: navigation to rows visible, and the HTML\n');
console.log('| view | end-to-end p50 | end-to-end p95 | HTML (raw) |');
console.log('|---|---|---|---|');
{
  const { context: plain, page: text } = await signedIn({ javaScriptEnabled: false });
  for (const [label, path] of views) {
    const wall = [];
    let bytes = 0;
    for (let i = 0; i < runs + 3; i++) {
      const started = performance.now();
      const response = await text.goto(base + path, { waitUntil: 'commit' });
      await text.locator('table.events tbody tr').first().waitFor({ state: 'visible' });
      if (i >= 3) wall.push(performance.now() - started);
      bytes = (await response.body()).length;
    }
    console.log(`| ${label} | ${ms(pct(wall, 50))} | ${ms(pct(wall, 95))} | ${(bytes / 1024).toFixed(1)} KB |`);
  }
  const home = await plain.request.get(base + '/');
  console.log(`\nThe default view at \`/\` (last 24 hours, 50 rows): ${((await home.body()).length / 1024).toFixed(1)} KB of HTML (budget 60 KB).`);
  await plain.close();
}

console.log('\n## Re-render after the data arrives (paging Older/Newer, default view)\n');
await page.goto(base + views[0][1]);
await page.waitForSelector('body[data-hydrated="true"]');
await page.evaluate(() => {
  window.__samples = [];
  let seen = 0;
  new MutationObserver(() => {
    const entries = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/v1/events?'));
    const last = entries[entries.length - 1];
    if (last && last.responseEnd > seen) {
      seen = last.responseEnd;
      requestAnimationFrame(() => window.__samples.push(performance.now() - last.responseEnd));
    }
  }).observe(document.querySelector('.results'), { childList: true, subtree: true, characterData: true });
});
for (let i = 0; i < runs; i++) {
  const name = i % 2 === 0 ? 'Older' : 'Newer';
  await page.getByRole('button', { name, exact: true }).click();
  await page.waitForFunction((n) => window.__samples.length >= n, i + 1);
}
const renders = await page.evaluate(() => window.__samples);
console.log('| measurement | p50 | p95 | max | target |');
console.log('|---|---|---|---|---|');
console.log(`| data arrived → table re-rendered and painted | ${ms(pct(renders, 50))} | ${ms(pct(renders, 95))} | ${ms(Math.max(...renders))} | 100 ms |`);
await browser.close();
