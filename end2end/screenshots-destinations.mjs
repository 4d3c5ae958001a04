// Screenshots of the SIEM destinations page, light and dark, desktop and phone: a webhook that
// delivers (to a receiver started here), a Splunk HEC whose collector is down (red), a paused
// syslog destination, a Test answer, and the form.
//   node end2end/screenshots-destinations.mjs baseURL outDir email password
import http from 'node:http';
import { launch, signedInPage } from './screenshot-kit.mjs';

const [base = 'http://127.0.0.1:3000', out = 'screenshots', email, password] = process.argv.slice(2);
const receiver = http.createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(204); res.end(); }); });
await new Promise((ok) => receiver.listen(0, '127.0.0.1', ok));
const hook = `http://127.0.0.1:${receiver.address().port}/hook`;
const browser = await launch();
const sizes = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
let made = false;
for (const scheme of ['light', 'dark']) {
  for (const [size, viewport] of Object.entries(sizes)) {
    const options = { viewport, colorScheme: scheme, hasTouch: size === 'phone' };
    const { context, page } = await signedInPage(browser, base, email, password, options);
    if (!made) {
      for (const data of [
        { name: 'Security webhook', kind: 'webhook', enabled: true, url: hook, filter: 'outcome=failure', start: 'beginning' },
        { name: 'Splunk (prod)', kind: 'splunk_hec', enabled: true, url: 'http://127.0.0.1:9', secret: 'hec-token', index: 'audit', start: 'beginning' },
        { name: 'QRadar syslog', kind: 'syslog', enabled: false, host: 'siem.example.com', port: 6514, transport: 'tls', format: 'cef', filter: 'action=user.*' },
      ]) {
        const answer = await page.request.post(base + '/api/v1/destinations', { data });
        if (answer.status() !== 201) throw new Error(`${answer.status()} ${await answer.text()}`);
      }
      made = true;
      // Until the collector that is down shows red (the server's alarm delay has passed).
      for (let i = 0; i < 120; i++) {
        const list = await (await page.request.get(base + '/api/v1/destinations')).json();
        if (list.some((d) => d.status.state === 'failing')) break;
        await new Promise((ok) => setTimeout(ok, 250));
      }
    }
    await page.goto(base + '/admin/destinations');
    await page.waitForSelector('body[data-hydrated="true"]', { timeout: 15000 });
    await page.screenshot({ path: `${out}/destinations-list-${size}-${scheme}.png`, fullPage: true });
    await page.getByRole('button', { name: /^Test Security webhook/ }).click();
    await page.waitForSelector('.dest-test', { timeout: 15000 }).catch(() => {});
    await page.screenshot({ path: `${out}/destinations-test-${size}-${scheme}.png`, fullPage: true });
    await page.locator('#dest-add').click();
    await page.screenshot({ path: `${out}/destinations-form-${size}-${scheme}.png`, fullPage: true });
    await context.close();
  }
}
await browser.close();
receiver.close();
