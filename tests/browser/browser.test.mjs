// The device browser end to end: Debian's chromium, headless, driven by
// playwright-core, against a gateway and a simulator that
// tests/integration/test_browser.sh started.
//   COAPGW_URL          the gateway, e.g. http://127.0.0.1:8080
//   COAPGW_SCREENSHOT   where to save a screenshot (optional)
//   COAPGW_SILENT       the name of a configured device that never answers (optional)
//   COAPGW_TOKEN        a token that may write, when the gateway wants tokens (optional)
//   COAPGW_RO_TOKEN     a read-only token (optional)
//   COAPGW_BASE_PATH_DEVICE  a configured device whose URI is COAPGW_SIM + /sensors (optional)
//   COAPGW_RD, COAPGW_SIM, COAPGW_CLIENT  the gateway's CoAP address, the
//                       simulator's, and coapgw-client: registers a device
//                       with hostile links (optional)
//   COAPGW_SPKI         with an https:// COAPGW_URL: the base64 SHA-256 of the
//                       gateway certificate's public key, the one Chromium
//                       accepts without a CA (--ignore-certificate-errors-spki-list)
//   CHROMIUM            the browser (default /usr/bin/chromium)
// Prints one "ok"/"FAIL" line per check; exits 1 when any failed.
import { chromium } from 'playwright-core';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base = process.env.COAPGW_URL;
if (!base) {
  console.error('usage: COAPGW_URL=http://127.0.0.1:PORT node browser.test.mjs');
  process.exit(2);
}
const screenshot = process.env.COAPGW_SCREENSHOT;
const silent = process.env.COAPGW_SILENT;
const token = process.env.COAPGW_TOKEN;
const roToken = process.env.COAPGW_RO_TOKEN;
const basePathDevice = process.env.COAPGW_BASE_PATH_DEVICE;
const { COAPGW_RD: rd, COAPGW_SIM: sim, COAPGW_CLIENT: client } = process.env;

// No outside network here: nothing of Chromium's own may try to call home.
const flags = [
  '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic',
];
// The test's own certificate and no other: the page is then a secure
// context, as with a certificate from a CA the browser trusts.
if (process.env.COAPGW_SPKI) flags.push('--ignore-certificate-errors-spki-list=' + process.env.COAPGW_SPKI);

// Each step needs the ones before it: after a failure the rest are skipped
// rather than each waiting for its own timeout.
let failed = 0;
async function check(name, fn) {
  if (failed) {
    console.log('skip - ' + name);
    return;
  }
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
  viewport: { width: 1100, height: 820 },
  timeout: 60000,
});
const page = context.pages()[0] || (await context.newPage());
page.setDefaultTimeout(15000);

// Script errors and CSP violations (the page must need no inline code).
const problems = [];
page.on('pageerror', (e) => problems.push('page error: ' + e.message));
page.on('console', (m) => {
  if (m.type() === 'error' && !/status of (4|5)\d\d/.test(m.text())) problems.push('console: ' + m.text());
});

const demo = page.locator('[data-device="demo"]');
const temp = demo.locator('[data-href="/sensors/temperature"]');
const hum = demo.locator('[data-href="/sensors/humidity"]');
const number = /^-?\d+(\.\d+)?$/;
// The paths (and queries) the page sent to the gateway, to check where
// each action went.
const sent = [];
page.on('request', (r) => {
  const u = new URL(r.url());
  if (u.origin === new URL(base).origin) sent.push(r.method() + ' ' + u.pathname + u.search);
});

try {
  await check('the page loads with its title', async () => {
    const res = await page.goto(base + '/');
    expect(res.status() === 200, 'status ' + res.status());
    expect((await page.title()).includes('coapgw'), 'title ' + (await page.title()));
  });

  if (base.startsWith('https:')) {
    await check('over HTTPS: the page is a secure context', async () => {
      expect(await page.evaluate(() => location.protocol === 'https:' && window.isSecureContext),
        'not a secure https: page');
    });
  }

  if (token) {
    await check('without a token: 401 shown, and a token field that opens the page with it', async () => {
      await page.locator('#banner', { hasText: '401' }).waitFor();
      await page.locator('#token-input').fill(token);
      await page.locator('#token-form button[type="submit"]').click();
      await page.waitForURL((u) => u.searchParams.get('access_token') === token);
      expect(await page.locator('#banner').isHidden(), 'the banner stays');
    });
  }

  await check('the device list shows demo, a configured device', async () => {
    await demo.waitFor();
    await demo.locator('.badge.source', { hasText: 'configured' }).waitFor();
  });

  await check('expanding demo lists its resources from discovery', async () => {
    await demo.locator('.device-toggle').click();
    await temp.waitFor();
    await hum.waitFor();
    await temp.locator('.chip.obs').waitFor();
    await demo.locator('[data-href="/actuators/led"]').waitFor();
  });

  await check('clicking a resource reads it: 200, text/plain, a number', async () => {
    await temp.locator('.read').click();
    await temp.locator('.result .status', { hasText: '200' }).waitFor();
    const type = await temp.locator('.result .chip').textContent();
    expect(type.startsWith('text/plain'), 'content type ' + type);
    const body = (await temp.locator('.result .body').textContent()).trim();
    expect(number.test(body), 'body ' + JSON.stringify(body));
  });

  await check('writing: PUT on to /actuators/led succeeds', async () => {
    const led = demo.locator('[data-href="/actuators/led"]');
    await led.locator('.write-toggle').click();
    await led.locator('select[name="method"]').selectOption('PUT');
    await led.locator('select[name="type"]').selectOption({ label: 'text/plain' });
    await led.locator('input[name="value"]').fill('on');
    await led.locator('.write button[type="submit"]').click();
    await led.locator('.result .status', { hasText: /PUT → 20[04]/ }).waitFor();
    expect(!(await led.locator('.result.error').count()), 'shown as an error');
    await led.locator('.write-toggle').click(); // folded again for the screenshot
  });

  await check('a live temperature changes on screen within 20 s', async () => {
    await temp.locator('.live-toggle').click();
    await hum.locator('.live-toggle').click(); // two targets, one stream
    const value = temp.locator('.live-value');
    await page.waitForFunction((el) => /^-?\d+(\.\d+)?$/.test(el.textContent.trim()),
      await value.elementHandle(), { timeout: 20000 });
    const first = (await value.textContent()).trim();
    await page.waitForFunction(([el, v]) => el.textContent.trim() !== v && /^-?\d/.test(el.textContent),
      [await value.elementHandle(), first], { timeout: 20000 });
    const second = (await value.textContent()).trim();
    expect(number.test(second), 'value ' + second);
    expect((await temp.locator('.live-time').textContent()).startsWith('at '), 'no timestamp');
  });

  await check('the humidity shows live on the same stream', async () => {
    await page.waitForFunction((el) => /^\d+(\.\d+)? %RH$/.test(el.textContent.trim()),
      await hum.locator('.live-value').elementHandle(), { timeout: 20000 });
    await page.locator('#stream-state[data-state="open"]').waitFor();
  });

  // The chart's points: "x,y" pairs of its polyline.
  const chartPoints = (loc) => loc.locator('.live-chart .live-line')
    .evaluate((el) => el.getAttribute('points').trim().split(/\s+/).filter(Boolean).length);
  await check('a live value gets a chart of its history: > 2 points after a few seconds', async () => {
    for (const r of [temp, hum]) { // text "21.5" and JSON {"value": 48.9, "unit": "%RH"}
      await page.waitForFunction((el) => el.getAttribute('points').trim().split(/\s+/).length > 2,
        await r.locator('.live-chart .live-line').elementHandle(), { timeout: 20000 });
      expect(await r.locator('.live-chart').isVisible(), 'chart hidden');
    }
    const label = await temp.locator('.live-chart').getAttribute('aria-label');
    expect(/^\d+ values in \d+ (s|min), from -?[\d.]+ to -?[\d.]+$/.test(label), 'label ' + label);
  });

  if (screenshot) {
    await check('screenshot', async () => {
      // a chart with a line worth looking at: ten values (7 s at the test's period)
      await page.waitForFunction((el) => el.getAttribute('points').split(' ').length >= 10,
        await temp.locator('.live-chart .live-line').elementHandle(), { timeout: 20000 });
      await page.mouse.move(0, 0);
      await page.emulateMedia({ reducedMotion: 'reduce' }); // no highlight caught mid-fade
      await page.screenshot({ path: screenshot, fullPage: true });
    });
  }

  await check('the chart stays bounded: CHART_POINTS more values keep it at CHART_POINTS', async () => {
    // More values than it keeps, through the page's own handler (as many
    // real ones would take minutes); the target is the resource's own.
    const n = await page.evaluate(() => {
      const l = live.get('/devices/demo/sensors/temperature');
      const t0 = Date.now() + 1000;
      for (let i = 0; i < CHART_POINTS + 50; i++) {
        const data = JSON.stringify({ target: l.coap, code: '2.05', payload: String(20 + (i % 7)),
          received_at: new Date(t0 + i * 10).toISOString() });
        onNotification({ data });
      }
      return CHART_POINTS;
    });
    expect(n > 2, 'CHART_POINTS ' + n);
    expect(await chartPoints(temp) === n, 'points ' + (await chartPoints(temp)) + ', not ' + n);
  });

  await check('a 404 from the device is shown plainly, in red', async () => {
    await demo.locator('.custom-path').fill('/no/such/resource');
    await demo.locator('.custom-read button[type="submit"]').click();
    const box = demo.locator('.custom-result.error');
    await box.locator('.status', { hasText: '404' }).waitFor();
    const color = await box.locator('.body').evaluate((el) => getComputedStyle(el).color);
    expect(color === 'rgb(180, 35, 24)', 'colour ' + color);
  });

  await check('Discover with multicast discovery off: POST /api/discovery, its 404 shown in the banner', async () => {
    await page.locator('#discover').click();
    await page.locator('#banner', { hasText: 'discovery.multicast' }).waitFor();
    await page.locator('#refresh').click(); // a listing that works clears the banner
    await page.locator('#banner').waitFor({ state: 'hidden' });
  });

  if (silent) {
    await check('a silent device: discovery fails with 504, shown plainly', async () => {
      const dev = page.locator(`[data-device="${silent}"]`);
      await dev.locator('.badge.online', { hasText: 'offline' }).waitFor();
      await dev.locator('.device-toggle').click();
      await dev.locator('.device-error', { hasText: '504' }).waitFor({ timeout: 30000 });
    });
  }

  await check('turning live off closes the stream', async () => {
    await temp.locator('.live-toggle').click();
    await hum.locator('.live-toggle').click();
    await page.locator('#stream-state[data-state="idle"]').waitFor();
    expect(await temp.locator('.live').isHidden(), 'live value still shown');
  });

  await check('a live target the device refuses: its error shown, dropped from the stream', async () => {
    // /echo does no Observe (4.05) and so has no Live button: subscribe it
    // through the page's own state, as a toggle would.
    await page.evaluate(() => {
      const el = document.querySelector('[data-device="demo"] [data-href="/echo"]');
      const where = resourceFor(devices.get('demo').data, '/echo'); // eslint-disable-line no-undef
      live.set(where.url, { device: 'demo', ...where, el }); // eslint-disable-line no-undef
      syncStream(); // eslint-disable-line no-undef
    });
    const echo = demo.locator('[data-href="/echo"]');
    await echo.locator('.live.error .live-value', { hasText: '4.05' }).waitFor();
    await page.locator('#stream-state[data-state="idle"]').waitFor();
  });

  if (basePathDevice) {
    const dev = page.locator(`[data-device="${basePathDevice}"]`);
    const name = encodeURIComponent(basePathDevice);
    await check('a device URI with a path: hrefs under it lose it, others go by /hc/', async () => {
      await dev.locator('.device-toggle').click();
      const t = dev.locator('[data-href="/sensors/temperature"]');
      await t.locator('.read').click();
      await t.locator('.result .status', { hasText: '200' }).waitFor();
      expect(sent.includes(`GET /devices/${name}/temperature`), 'sent ' + sent.slice(-3));
      const led = dev.locator('[data-href="/actuators/led"]');
      await led.locator('.read').click();
      await led.locator('.result .status', { hasText: '200' }).waitFor();
      expect(sent.includes('GET /hc/' + sim + '/actuators/led'), 'sent ' + sent.slice(-3));
    });
    await check('live on that device: the same rule, its value shown', async () => {
      const t = dev.locator('[data-href="/sensors/temperature"]');
      await t.locator('.live-toggle').click();
      await page.waitForFunction((el) => /^-?\d+(\.\d+)?$/.test(el.textContent.trim()),
        await t.locator('.live-value').elementHandle(), { timeout: 20000 });
      const stream = sent.filter((l) => l.startsWith('GET /events?')).pop() || '';
      expect(stream.includes('target=' + encodeURIComponent(`/devices/${name}/temperature`)), stream);
      await t.locator('.live-toggle').click();
      await page.locator('#stream-state[data-state="idle"]').waitFor();
    });
  }

  if (rd && sim && client) {
    const evil = page.locator('[data-device="evil"]');
    const links = ['</../demo/actuators/led>;title="evil LED"', '</%2e%2e/demo/actuators/led>',
      '<coap://127.0.0.2:5683/x>', `<${sim}/sensors/humidity>`, '</sensors/temperature?unit=c>'].join(',');
    await check('a registered device\'s "..", other-host hrefs: listed, flagged, no actions', async () => {
      const before = sent.length;
      await promisify(execFile)(client, ['-T', '5', '-m', 'post', '-t', '40', '-e', links,
        `${rd}/rd?ep=evil&base=${sim}`]);
      await page.locator('#refresh').click();
      await evil.locator('.device-toggle').click();
      const refused = ['/../demo/actuators/led', '/%2e%2e/demo/actuators/led', 'coap://127.0.0.2:5683/x'];
      for (const href of refused) {
        const r = evil.locator(`[data-href="${href}"]`);
        await r.locator('.chip.unusable').waitFor();
        expect(await r.locator('.read').isDisabled(), href + ': read enabled');
        expect(await r.locator('.write-toggle').isHidden(), href + ': write shown');
      }
      await evil.locator('.custom-path').fill('/a/../../demo/actuators/led');
      await evil.locator('.custom-read button[type="submit"]').click();
      await evil.locator('.custom-result .status', { hasText: 'not sent' }).waitFor();
      const left = sent.slice(before).filter((l) => /^\S+ \/(devices|hc)\/(?!evil\/)/.test(l));
      expect(!left.length, 'left evil: ' + left);
    });
    await check('its same-origin absolute href and its query: under /devices/evil/', async () => {
      const hum = evil.locator(`[data-href="${sim}/sensors/humidity"]`);
      await hum.locator('.read').click();
      await hum.locator('.result .status', { hasText: '200' }).waitFor();
      expect(sent.includes('GET /devices/evil/sensors/humidity'), 'sent ' + sent.slice(-3));
      const q = evil.locator('[data-href="/sensors/temperature?unit=c"]');
      await q.locator('.read').click();
      await q.locator('.result .status', { hasText: '200' }).waitFor();
      expect(sent.includes('GET /devices/evil/sensors/temperature?unit=c'), 'sent ' + sent.slice(-3));
    });
  }

  if (roToken) {
    await check('a read-only token: a write is 403, shown plainly', async () => {
      await page.goto(base + '/?access_token=' + encodeURIComponent(roToken));
      await demo.locator('.device-toggle').click();
      const led = demo.locator('[data-href="/actuators/led"]');
      await led.locator('.write-toggle').click();
      await led.locator('input[name="value"]').fill('off');
      await led.locator('.write button[type="submit"]').click();
      await led.locator('.result.error .status', { hasText: '403' }).waitFor();
      const body = await led.locator('.result .body').textContent();
      expect(body.trim() && body !== '(empty)', 'no message from the gateway');
    });
  }

  // The gateway runs on sockets sd_launch.py holds: SIGUSR1 restarts it.
  const restartPid = Number(process.env.COAPGW_RESTART_PID || 0);
  if (restartPid) {
    await check('a gateway restart: the EventSource reconnects by itself, "resumed" shown, values and the chart go on', async () => {
      await page.goto(base + '/?access_token=' + encodeURIComponent(token));
      await demo.locator('.device-toggle').click();
      await temp.locator('.live-toggle').click();
      const value = temp.locator('.live-value');
      await page.waitForFunction((el) => /^-?\d/.test(el.textContent.trim()),
        await value.elementHandle(), { timeout: 20000 });
      await page.locator('#stream-state[data-state="open"]').waitFor();
      process.kill(restartPid, 'SIGUSR1');
      await page.locator('#stream-state', { hasText: 'resumed after a gateway restart' })
        .waitFor({ timeout: 20000 });
      const before = (await value.textContent()).trim();
      const points = await chartPoints(temp);
      await page.waitForFunction(([el, v]) => el.textContent.trim() !== v && /^-?\d/.test(el.textContent),
        [await value.elementHandle(), before], { timeout: 20000 });
      await page.waitForFunction(([el, n]) => el.getAttribute('points').split(' ').filter(Boolean).length > n,
        [await temp.locator('.live-chart .live-line').elementHandle(), Math.max(points, 2)], { timeout: 20000 });
    });
  }

  if (problems.length) {
    failed++;
    console.log('FAIL - no script error and no CSP violation: ' + problems.join('; '));
  } else {
    console.log('ok   - no script error and no CSP violation');
  }
} finally {
  await context.close();
  await rm(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
