// coapgw device browser: where a resource is reached, loaded before app.js
// (which calls resourceFor() for Read, Write and Live).
//
// The one rule for Read, Write and Live. RFC 6690 §2.1: an href in
// /.well-known/core is relative to the device's origin (scheme://host:port),
// not to the path of its base URI; the gateway maps /devices/NAME/PATH to
// the base URI + /PATH (gateway/target.c). So an href under the base path
// loses that prefix, and one outside it goes through /hc/ + origin + href
// (the gateway allows a device's address). Each path segment is encoded on
// its own, and "." or ".." is refused: the browser's URL parser would
// resolve it (even as %2e%2e) and send the request to another device.
'use strict';

// "scheme://authority/path?query" -> its parts; null for anything else.
function splitUri(uri) {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?/i.exec(uri || '');
  return m && { scheme: m[1], authority: m[2], path: m[3], query: m[4] };
}

// RFC 7252 §6.3: scheme and host compare without case, and the default
// port is the same as none.
function originKey(p) {
  const scheme = p.scheme.toLowerCase();
  const dflt = scheme === 'coaps' ? ':5684' : ':5683';
  const auth = p.authority.toLowerCase();
  return scheme + '://' + (auth.endsWith(dflt) ? auth.slice(0, -dflt.length) : auth);
}

// "/a/b%20c" -> ["a", "b c"]; throws on what must not reach the gateway.
function pathSegments(path) {
  return path.split('/').slice(1).map((seg) => {
    let text;
    try {
      text = decodeURIComponent(seg);
    } catch (_) {
      throw new Error('malformed percent-encoding in "' + seg + '"');
    }
    if (text === '.' || text === '..') // RFC 3986 §5.2.4: the browser would remove it
      throw new Error('a "' + text + '" segment would point the request elsewhere');
    if (text.includes('/')) throw new Error('an encoded "/" in a segment');
    return text;
  });
}

function encodeSegments(segs) {
  return segs.map((s) => '/' + encodeURIComponent(s)).join('');
}

// For a device ({name, uri}) and an href: {url} for the gateway, {coap} the
// CoAP URI it stands for (null when the device's URI is unknown), or
// {problem} when the page cannot use it.
function resourceFor(device, href) {
  const base = splitUri(device.uri);
  let ref = href || '/';
  if (ref.startsWith('//') && base) ref = base.scheme + ':' + ref; // RFC 3986 §4.2
  let parts;
  if (/^[a-z][a-z0-9+.-]*:/i.test(ref)) {
    parts = splitUri(ref);
    if (!parts || !base || originKey(parts) !== originKey(base))
      return { problem: 'on another host: not reachable from this page' };
  } else {
    const q = /^([^?#]*)(?:\?([^#]*))?/.exec(ref);
    parts = { path: q[1].startsWith('/') ? q[1] : '/' + q[1], query: q[2] };
  }
  let segs;
  try {
    segs = pathSegments(parts.path || '/');
  } catch (e) {
    return { problem: e.message };
  }
  const query = parts.query ? '?' + parts.query : '';
  const devicePrefix = '/devices/' + encodeURIComponent(device.name);
  if (!base) return { url: devicePrefix + encodeSegments(segs) + query, coap: null };
  let baseSegs = null; // null: a base path the page cannot compare, so /hc/ for all
  try {
    const basePath = base.path.replace(/\/+$/, '');
    baseSegs = basePath ? pathSegments(basePath) : [];
  } catch (_) { /* stays null */ }
  const origin = base.scheme + '://' + base.authority;
  const coap = origin + encodeSegments(segs) + query;
  const under = baseSegs && segs.length > baseSegs.length && baseSegs.every((s, i) => s === segs[i]);
  if (under) return { url: devicePrefix + encodeSegments(segs.slice(baseSegs.length)) + query, coap };
  return { url: '/hc/' + coap, coap };
}
