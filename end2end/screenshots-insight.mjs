// Screenshots of the overview, a resource's and an actor's history, and the alerts page —
// light and dark, desktop and phone:
//   node end2end/screenshots-insight.mjs baseURL outDir email password
import { launch, signedInPage } from './screenshot-kit.mjs';

const [base = 'http://127.0.0.1:3000', out = 'screenshots', email, password] = process.argv.slice(2);
const browser = await launch();
const sizes = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
for (const scheme of ['light', 'dark']) {
  for (const [size, viewport] of Object.entries(sizes)) {
    const { context, page } = await signedInPage(browser, base, email, password, { viewport, colorScheme: scheme, hasTouch: size === 'phone' });
    const shoot = async (path, name) => {
      await page.goto(base + path);
      await page.waitForSelector('body[data-hydrated="true"]', { timeout: 15000 });
      await page.screenshot({ path: `${out}/${name}-${size}-${scheme}.png`, fullPage: true });
    };
    await shoot('/overview', 'overview');
    const overview = await (await page.request.get(base + '/api/v1/overview')).json();
    const resource = overview.top_resources.find((r) => r.kind === 'project') ?? overview.top_resources[0];
    await shoot(`/resources/${encodeURIComponent(resource.kind)}/${encodeURIComponent(resource.value)}`, 'resource');
    const person = overview.top_actors.find((a) => a.value.startsWith('usr_')) ?? overview.top_actors[0];
    await shoot(`/actors/${encodeURIComponent(person.value)}`, 'actor');
    await shoot('/alerts?view=' + encodeURIComponent('action=user.login&outcome=failure'), 'alerts');
    await context.close();
  }
}
await browser.close();
