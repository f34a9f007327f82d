// coapgw device browser: the chart of a live value's recent history,
// loaded before app.js (which calls remember() and drawChart() for each
// notification). Inline SVG, no library: the page's CSP allows nothing else.
//
// A numeric live value gets a small chart beside it: its last
// CHART_POINTS values, and none older than CHART_WINDOW_MS. Numeric is a
// JSON number, a text payload that is one number ("21.5"), or a JSON
// object with a numeric "value" (the simulator's humidity). The history
// belongs to the live entry, so it survives the stream reconnecting and
// resuming after a gateway restart; turning Live off drops it.
'use strict';

const CHART_POINTS = 300;
const CHART_WINDOW_MS = 5 * 60 * 1000;
const SVG_NS = 'http://www.w3.org/2000/svg';

function numericValue(n) {
  let p = n.payload;
  if (p && typeof p === 'object' && !Array.isArray(p)) p = p.value;
  if (typeof p === 'number') return Number.isFinite(p) ? p : null;
  if (typeof p === 'string' && /^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/.test(p)) return Number(p);
  return null;
}

// Appends (t, v) to l.history, oldest first; a point not newer than the
// last (an event delivered twice) is left out.
function remember(l, t, v) {
  const h = l.history || (l.history = []);
  if (h.length && t <= h[h.length - 1].t) return;
  h.push({ t, v });
  while (h.length > CHART_POINTS || (h.length && h[0].t < t - CHART_WINDOW_MS)) h.shift();
}

function drawChart(l) {
  const svg = l.el.querySelector('.live-chart');
  const h = l.history || [];
  svg.toggleAttribute('hidden', h.length < 2); // an SVG element has no .hidden
  if (h.length < 2) return;
  const [w, ht, pad] = [160, 36, 3];
  const t0 = h[0].t;
  const dt = h[h.length - 1].t - t0 || 1;
  const min = Math.min(...h.map((p) => p.v));
  const max = Math.max(...h.map((p) => p.v));
  const [lo, hi] = max === min ? [min - 1, max + 1] : [min, max]; // flat: a line in the middle
  const xy = h.map((p) => [((p.t - t0) / dt) * w, pad + ((hi - p.v) / (hi - lo)) * (ht - 2 * pad)]);
  const points = xy.map(([x, y]) => x.toFixed(1) + ',' + y.toFixed(1));
  svg.querySelector('.live-line').setAttribute('points', points.join(' '));
  const last = svg.querySelector('.live-last');
  last.setAttribute('cx', xy[xy.length - 1][0].toFixed(1));
  last.setAttribute('cy', xy[xy.length - 1][1].toFixed(1));
  const span = dt < 60000 ? Math.round(dt / 1000) + ' s' : Math.round(dt / 60000) + ' min';
  const label = h.length + ' values in ' + span + ', from ' + min + ' to ' + max;
  svg.setAttribute('aria-label', label);
  let title = svg.querySelector('title');
  if (!title) svg.prepend((title = document.createElementNS(SVG_NS, 'title')));
  title.textContent = label; // shown on hover
}
