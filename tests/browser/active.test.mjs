// Active content from a device must not run in the gateway's origin (issue
// #13): a device answers an XHTML page (Content-Format 41, application/xml)
// whose script sets the title to PWNED and logs "PWNED". Debian's chromium,
// headless, driven by playwright-core, against two gateways that
// tests/integration/test_browser.sh started:
//   COAPGW_ATTACH_URL   a gateway with the defaults: the page is a download
//   COAPGW_INLINE_URL   one with http.inline_active_content: the page is
//                       shown, and its sandboxing policy stops the script
//   COAPGW_ACTIVE_PATH  the device resource on both, e.g. /devices/evil/page
//   CHROMIUM            the browser (default /usr/bin/chromium)
// Prints one "ok"/"FAIL" line per check; exits 1 when any failed.
import { chromium } from 'playwright-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { COAPGW_ATTACH_URL: attach, COAPGW_INLINE_URL: inline, COAPGW_ACTIVE_PATH: path } = process.env;
if (!attach || !inline || !path) {
  console.error('usage: COAPGW_ATTACH_URL=... COAPGW_INLINE_URL=... COAPGW_ACTIVE_PATH=... node active.test.mjs');
  process.exit(2);
}
const flags = [
  '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic',
];

let failed = 0;
const ran = []; // what the device's script would leave behind: its console line
async function check(name, fn) {
  ran.length = 0;
  try {
    await fn();
    console.log('ok   - ' + name);
  } catch (e) {
    failed++;
    console.log('FAIL - ' + name + ': ' + (e && e.message ? e.message.split('\n')[0] : e));
  }
}
function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}

const profile = await mkdtemp(join(tmpdir(), 'coapgw-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: flags,
  acceptDownloads: true,
  timeout: 60000,
});
const page = context.pages()[0] || (await context.newPage());
page.setDefaultTimeout(10000);
context.on('console', (m) => {
  if (m.text().includes('PWNED')) ran.push('console: ' + m.text());
});
const settle = () => new Promise((r) => setTimeout(r, 700));

try {
  await check('default: the XHTML page is a download, and its script does not run', async () => {
    const res = await page.goto(attach + '/');
    expect(res.status() === 200, 'the gateway page: ' + res.status());
    const downloaded = page.waitForEvent('download', { timeout: 8000 }).catch(() => null);
    await page.goto(attach + path).catch(() => null); // a download aborts the navigation
    const download = await downloaded;
    await settle();
    expect(!ran.length, 'the script ran: ' + ran.join('; '));
    expect((await page.title()) !== 'PWNED', 'the script ran: the title is PWNED');
    expect(download, 'no download');
    expect((await download.failure()) === null, 'download failed: ' + (await download.failure()));
    expect(new URL(page.url()).pathname === '/', 'navigated to ' + page.url());
  });

  await check('inline_active_content: the page is shown, its script does not run (sandbox CSP)', async () => {
    const res = await page.goto(inline + path);
    await settle();
    expect(!ran.length, 'the script ran: ' + ran.join('; '));
    const title = await page.title();
    expect(title === 'device page', 'title ' + title);
    const text = await page.evaluate(() => document.documentElement.textContent);
    expect(text.includes('device content'), 'not rendered: ' + text);
    expect(res.status() === 200, 'status ' + res.status());
    const h = res.headers();
    expect(h['content-type'] === 'application/xml', 'content-type ' + h['content-type']);
    expect(!h['content-disposition'], 'content-disposition ' + h['content-disposition']);
    expect(h['content-security-policy'] === "default-src 'none'; sandbox", 'csp ' + h['content-security-policy']);
    // The document is in an opaque origin: no access to the gateway's storage.
    const origin = await page.evaluate(() => window.origin);
    expect(origin === 'null', 'origin ' + origin);
  });
} finally {
  await context.close();
  await rm(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
