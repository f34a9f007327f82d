// coapgw device browser: lists devices (/api/devices), expands one to its
// discovered resources (/api/devices/NAME), reads and writes them through
// /devices/NAME/PATH, and shows live values of observable ones through ONE
// Server-Sent Events stream (/events?target=...&target=...). Where a
// resource is reached is in resource.js, the charts in chart.js (both
// loaded first).
'use strict';

const token = new URLSearchParams(location.search).get('access_token');
const devices = new Map(); // name -> {data, el, expanded}
const live = new Map(); // "/devices/NAME/PATH" -> {device, href, el}
let stream = null; // the EventSource, or null when nothing is live
let streamKey = '';

const $ = (sel, root = document) => root.querySelector(sel);

// --- HTTP -------------------------------------------------------------

function withToken(url) {
  if (!token) return url;
  return url + (url.includes('?') ? '&' : '?') + 'access_token=' + encodeURIComponent(token);
}

function request(url, opts = {}) {
  const headers = new Headers(opts.headers || {});
  if (token) headers.set('Authorization', 'Bearer ' + token);
  return fetch(url, { ...opts, headers, cache: 'no-store' });
}

// The gateway's errors are {"status","error"} on /api and text on the rest.
async function errorText(res) {
  const text = (await res.text()).trim();
  try {
    const j = JSON.parse(text);
    if (j && (j.error || j.message)) return j.error || j.message;
  } catch (_) { /* not JSON */ }
  return text || res.statusText;
}

function statusLine(res) {
  return (res.status + ' ' + (res.statusText || '')).trim();
}

async function getJson(url) {
  let res;
  try {
    res = await request(url, { headers: { Accept: 'application/json' } });
  } catch (e) {
    throw new Error('the gateway cannot be reached (' + e.message + ')');
  }
  if (!res.ok) {
    const e = new Error(statusLine(res) + ': ' + (await errorText(res)));
    e.status = res.status;
    throw e;
  }
  return res.json();
}

// --- small DOM helpers -------------------------------------------------

function clone(id) {
  return document.getElementById(id).content.firstElementChild.cloneNode(true);
}

function chip(text, cls) {
  const s = document.createElement('span');
  s.className = 'chip' + (cls ? ' ' + cls : '');
  s.textContent = text;
  return s;
}

function showBanner(msg) {
  const b = $('#banner');
  b.textContent = msg || '';
  b.hidden = !msg;
}

function ago(iso) {
  if (!iso) return 'never seen';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (Number.isNaN(s)) return '';
  if (s < 5) return 'seen just now';
  if (s < 60) return 'seen ' + s + ' s ago';
  if (s < 3600) return 'seen ' + Math.round(s / 60) + ' min ago';
  return 'seen ' + new Date(iso).toLocaleString();
}

// A result box: "STATUS text · content type · time", then the body.
function showResult(box, r) {
  box.replaceChildren();
  box.hidden = false;
  box.classList.toggle('error', !r.ok);
  const line = document.createElement('div');
  line.className = 'status-line';
  const status = document.createElement('span');
  status.className = 'status';
  status.textContent = r.label;
  line.append(status);
  if (r.type) line.append(chip(r.type));
  const when = document.createElement('span');
  when.className = 'muted';
  when.textContent = new Date().toLocaleTimeString();
  line.append(when);
  const body = document.createElement('pre');
  body.className = 'body';
  body.textContent = r.body === '' ? '(empty)' : r.body;
  box.append(line, body);
}

// Text is shown as text (JSON pretty-printed); anything else by its size.
async function describeBody(res) {
  const type = res.headers.get('Content-Type') || '';
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (/json/.test(type)) {
    const text = new TextDecoder().decode(bytes);
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (_) { return text; }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (_) {
    return bytes.length + ' bytes of binary data (not shown)';
  }
}

async function call(box, method, url, body, type) {
  box.hidden = false;
  box.classList.remove('error');
  box.textContent = method + ' ' + url + ' …';
  const opts = { method, headers: {} };
  if (body !== undefined) {
    opts.body = body;
    opts.headers['Content-Type'] = type;
  }
  let res;
  try {
    res = await request(url, opts);
  } catch (e) {
    showResult(box, { ok: false, label: 'network error', body: e.message });
    return;
  }
  const label = method + ' → ' + statusLine(res);
  if (!res.ok) {
    showResult(box, { ok: false, label, type: res.headers.get('Content-Type'), body: await errorText(res) });
    return;
  }
  showResult(box, { ok: true, label, type: res.headers.get('Content-Type'), body: await describeBody(res) });
}

// --- devices ----------------------------------------------------------

function renderDeviceHead(d) {
  const el = d.el;
  const data = d.data;
  $('.device-name', el).textContent = data.name;
  $('.device-uri', el).textContent = data.uri || '';
  const source = $('.badge.source', el);
  source.textContent = { rd: 'registered', discovered: 'discovered' }[data.source] || 'configured';
  source.dataset.source = data.source || '';
  const online = $('.badge.online', el);
  online.textContent = data.online ? 'online' : 'offline';
  online.dataset.online = String(!!data.online);
  $('.last-seen', el).textContent = ago(data.last_seen);
}

function addDevice(data) {
  const el = clone('device-template');
  el.dataset.device = data.name;
  const d = { data, el, expanded: false };
  $('.device-toggle', el).addEventListener('click', () => toggleDevice(d));
  $('.rediscover', el).addEventListener('click', () => loadResources(d));
  $('.custom-read', el).addEventListener('submit', (ev) => {
    ev.preventDefault();
    const path = $('.custom-path', el).value.trim();
    if (!path) return;
    const box = $('.custom-result', el);
    const r = resourceFor(d.data, path);
    if (r.problem) showResult(box, { ok: false, label: 'not sent', body: path + ': ' + r.problem });
    else call(box, 'GET', r.url);
  });
  renderDeviceHead(d);
  return d;
}

async function loadDevices() {
  let list;
  try {
    list = await getJson('/api/devices');
  } catch (e) {
    showBanner('Cannot list the devices: ' + e.message);
    $('#token-form').hidden = e.status !== 401; // RFC 6750 §3: a token is needed
    return;
  }
  showBanner('');
  $('#token-form').hidden = true;
  const ul = $('#device-list');
  const seen = new Set();
  list.forEach((data, i) => {
    seen.add(data.name);
    let d = devices.get(data.name);
    if (d) {
      d.data = { ...d.data, ...data };
      renderDeviceHead(d);
    } else {
      d = addDevice(data);
      devices.set(data.name, d);
    }
    // The gateway's order; an element is moved only when it must be, since
    // a move takes the focus away from a field being typed in.
    if (ul.children[i] !== d.el) ul.insertBefore(d.el, ul.children[i] || null);
  });
  for (const [name, d] of devices) {
    if (seen.has(name)) continue;
    d.el.remove();
    devices.delete(name);
    for (const [key, l] of live) if (l.device === name) live.delete(key);
  }
  $('#devices-empty').hidden = list.length > 0;
  $('#device-count').textContent = list.length === 1 ? '1 device' : list.length + ' devices';
  syncStream();
}

function toggleDevice(d) {
  d.expanded = !d.expanded;
  $('.device-toggle', d.el).setAttribute('aria-expanded', String(d.expanded));
  $('.device-body', d.el).hidden = !d.expanded;
  if (d.expanded && !d.loaded) loadResources(d);
}

async function loadResources(d) {
  const el = d.el;
  const err = $('.device-error', el);
  err.hidden = true;
  $('.loading', el).hidden = false;
  let info;
  try {
    info = await getJson('/api/devices/' + encodeURIComponent(d.data.name));
  } catch (e) {
    err.textContent = 'Discovery failed: ' + e.message;
    err.hidden = false;
    return;
  } finally {
    $('.loading', el).hidden = true;
  }
  d.loaded = true;
  d.data = { ...d.data, ...info };
  renderDeviceHead(d);
  const ul = $('.resource-list', el);
  ul.replaceChildren();
  const resources = info.resources || [];
  if (!resources.length) {
    err.textContent = 'The device lists no resources in /.well-known/core.';
    err.hidden = false;
  }
  for (const r of resources) ul.append(renderResource(d, r));
}

// --- resources --------------------------------------------------------

function formatsOf(r) {
  return (r.ct || []).map((c) => (c && typeof c === 'object' ? c.type || 'ct=' + c.format : 'ct=' + c));
}

function renderResource(d, r) {
  const el = clone('resource-template');
  const name = d.data.name;
  const where = resourceFor(d.data, r.href);
  const url = where.url;
  el.dataset.href = r.href;
  $('.href', el).textContent = r.href;
  const meta = $('.meta', el);
  for (const rt of r.rt || []) meta.append(chip('rt=' + rt));
  for (const i of r.if || []) meta.append(chip('if=' + i));
  for (const t of formatsOf(r)) meta.append(chip(t));
  if (r.obs) meta.append(chip('observable', 'obs'));
  if (r.title) {
    $('.title', el).textContent = r.title;
    $('.title', el).hidden = false;
  }
  if (where.problem) return renderUnusable(el, where.problem);
  if (url.startsWith('/hc/')) // outside the device's base URI
    $('.read', el).title = 'Read (GET) ' + where.coap + ' through /hc/';
  const result = $('.result', el);
  $('.read', el).addEventListener('click', () => call(result, 'GET', url));

  const writeToggle = $('.write-toggle', el);
  const form = $('.write', el);
  writeToggle.addEventListener('click', () => {
    form.hidden = !form.hidden;
    writeToggle.setAttribute('aria-expanded', String(!form.hidden));
    if (!form.hidden) form.elements.value.focus();
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = form.elements;
    call(result, f.method.value, url, f.value.value, f.type.value);
  });

  if (r.obs) {
    const btn = $('.live-toggle', el);
    btn.hidden = false;
    const on = live.has(url);
    if (on) live.get(url).el = el;
    setLiveUi(el, on);
    if (on) drawChart(live.get(url)); // rediscovered: the history goes on
    btn.addEventListener('click', () => {
      const now = !live.has(url);
      if (now) live.set(url, { device: name, ...where, el });
      else live.delete(url);
      setLiveUi(el, now);
      syncStream();
    });
  }
  return el;
}

// A link the page will not follow: listed, flagged, and without actions.
function renderUnusable(el, problem) {
  el.classList.add('unusable');
  const read = $('.read', el);
  read.disabled = true;
  read.title = 'Not usable: ' + problem;
  $('.write-toggle', el).hidden = true;
  $('.meta', el).append(chip('not usable', 'unusable'));
  const why = $('.title', el);
  why.textContent = (why.textContent ? why.textContent + ' · ' : '') + 'Not usable: ' + problem;
  why.hidden = false;
  return el;
}

function setLiveUi(el, on) {
  const btn = $('.live-toggle', el);
  btn.setAttribute('aria-pressed', String(on));
  btn.textContent = on ? 'Live: on' : 'Live';
  const box = $('.live', el);
  box.hidden = !on;
  if (on) {
    box.classList.remove('error');
    $('.live-chart', el).setAttribute('hidden', ''); // until it has two values
    $('.live-state', el).textContent = 'connecting…';
  }
}

// --- the one event stream -----------------------------------------------

// The gateway names targets by their canonical coap:// URI (the CoAP
// options composed again, RFC 7252 §6.5), the page knows each live
// resource's CoAP URI: compare them without the default port, without case
// in scheme and host (RFC 7252 §6.3), and with each segment encoded alike.
function canonical(uri) {
  const p = splitUri(uri);
  if (!p) return uri || '';
  let path = p.path || '/';
  try {
    path = encodeSegments(pathSegments(path)) || '/';
  } catch (_) { /* compared as it is */ }
  return originKey(p) + path + (p.query ? '?' + p.query : '');
}

// Every live entry the target belongs to (two configured names may share
// one device). A device whose base URI is unknown is matched by its path.
function liveFor(target) {
  const want = canonical(target);
  const exact = [];
  const byPath = [];
  for (const [key, l] of live) {
    if (l.coap && canonical(l.coap) === want) exact.push([key, l]);
    else if (!l.coap && want.endsWith(key.replace(/^\/devices\/[^/]*/, ''))) byPath.push([key, l]);
  }
  return exact.length ? exact : byPath;
}

function showStreamState(state, text) {
  const s = $('#stream-state');
  s.dataset.state = state;
  s.textContent = text;
}

// A JSON reading like {"value": 48.9, "unit": "%RH"} reads better as
// "48.9 %RH"; any other JSON is shown as it is.
function payloadText(n) {
  if (n.payload_base64 !== undefined) return atob(n.payload_base64).length + ' bytes (binary)';
  const p = n.payload;
  if (typeof p === 'string') return p;
  if (p && typeof p === 'object' && ['number', 'string'].includes(typeof p.value)) {
    const rest = Object.keys(p).filter((k) => k !== 'value' && k !== 'unit');
    if (!rest.length) return p.unit ? p.value + ' ' + p.unit : String(p.value);
  }
  return JSON.stringify(p);
}

function onNotification(ev) {
  const n = JSON.parse(ev.data);
  const v = numericValue(n);
  for (const [, l] of liveFor(n.target)) {
    const value = $('.live-value', l.el);
    value.textContent = payloadText(n);
    value.title = typeof n.payload === 'object' ? JSON.stringify(n.payload) : '';
    value.classList.remove('flash');
    void value.offsetWidth; // restart the animation
    value.classList.add('flash');
    const at = n.received_at ? new Date(n.received_at) : new Date();
    $('.live-time', l.el).textContent = 'at ' + at.toLocaleTimeString();
    if (v !== null && (!n.code || n.code.startsWith('2.'))) remember(l, at.getTime(), v);
    drawChart(l);
    $('.live-state', l.el).textContent = n.code && n.code !== '2.05' ? n.code : '';
    $('.live', l.el).classList.remove('error');
  }
}

function onStatus(ev) {
  const s = JSON.parse(ev.data);
  for (const [, l] of liveFor(s.target)) {
    const state = $('.live-state', l.el);
    if (s.state === 'reconnecting') state.textContent = 'device silent, re-registering…';
    else if (state.textContent.endsWith('…')) state.textContent = '';
  }
  // EventSource came back by itself with Last-Event-ID (docs/api.md)
  if (s.state === 'resumed') {
    showStreamState('open', 'live: ' + live.size + ' on, resumed' + (s.restarted ? ' after a gateway restart' : ''));
  }
}

// "event: error" with data ends one target: the gateway stops observing
// it, so the page drops it from the stream (or EventSource would reconnect
// to the same error) and leaves the message on screen.
function onTargetError(ev) {
  const e = JSON.parse(ev.data);
  if (!e.target) { // the whole stream ends (a restart, a revoked token): EventSource tries again
    showStreamState('connecting', 'live: ' + e.status + ' ' + e.message + ', reconnecting…');
    return;
  }
  const ended = liveFor(e.target);
  for (const [key, l] of ended) {
    live.delete(key);
    setLiveUi(l.el, false);
    const box = $('.live', l.el);
    box.hidden = false;
    box.classList.add('error');
    $('.live-value', l.el).textContent = e.status + ' ' + e.message;
    $('.live-time', l.el).textContent = '';
    $('.live-state', l.el).textContent = 'live stopped';
  }
  if (ended.length) setTimeout(syncStream, 0);
}

// EventSource hides the status of a refused stream: ask once with fetch.
async function explainRefusal(url) {
  const ctl = new AbortController();
  try {
    const res = await request(url, { signal: ctl.signal, headers: { Accept: 'text/event-stream' } });
    if (!res.ok) showStreamState('error', 'live: ' + res.status + ' ' + (await errorText(res)));
  } catch (_) { /* the gateway is gone: the state already says so */ }
  ctl.abort();
}

function openStream(url) {
  const es = new EventSource(withToken(url));
  showStreamState('connecting', 'live: connecting…');
  es.addEventListener('open', () => showStreamState('open', 'live: ' + live.size + ' on'));
  es.addEventListener('notification', onNotification);
  es.addEventListener('status', onStatus);
  es.addEventListener('error', (ev) => {
    if (ev.data) { onTargetError(ev); return; }
    if (es.readyState === EventSource.CLOSED) {
      showStreamState('error', 'live: stream closed');
      explainRefusal(url);
    } else {
      showStreamState('connecting', 'live: reconnecting…');
    }
  });
  return es;
}

// One stream carries every live target; it is recreated when the set changes.
function syncStream() {
  const targets = [...live.keys()].sort();
  const key = targets.join('\n');
  if (key === streamKey && (stream || !targets.length)) return;
  streamKey = key;
  if (stream) stream.close();
  stream = null;
  if (!targets.length) {
    showStreamState('idle', 'live: off');
    return;
  }
  // /events takes /devices/NAME/PATH or a coap:// URI (not /hc/).
  const spec = (url) => (url.startsWith('/hc/') ? url.slice(4) : url);
  stream = openStream('/events?' + targets.map((t) => 'target=' + encodeURIComponent(spec(t))).join('&'));
}

// --- start --------------------------------------------------------------

$('#refresh').addEventListener('click', loadDevices);

// Discover: a multicast discovery round now (POST /api/discovery, a write
// with the page's token); the list is read again when its window is over.
$('#discover').addEventListener('click', async () => {
  const button = $('#discover');
  let res;
  try {
    res = await request('/api/discovery', { method: 'POST', headers: { Accept: 'application/json' } });
  } catch (e) {
    showBanner('Cannot start a discovery round: the gateway cannot be reached (' + e.message + ')');
    return;
  }
  if (res.status !== 202) {
    showBanner('Cannot start a discovery round: ' + statusLine(res) + ': ' + (await errorText(res)));
    return;
  }
  const round = await res.json();
  showBanner('');
  button.disabled = true;
  button.textContent = 'Discovering…';
  setTimeout(() => {
    button.disabled = false;
    button.textContent = 'Discover';
    loadDevices();
  }, round.window_ms + 300);
});
// The token goes into the page's URL, where the page reads it from (and a
// bookmark keeps it).
$('#token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const url = new URL(location.href);
  url.searchParams.set('access_token', $('#token-input').value.trim());
  location.assign(url);
});
loadDevices();
// Online state and "last seen" change on their own; refresh them quietly.
setInterval(() => { if (!document.hidden) loadDevices(); }, 15000);
