// Checks live answers of coapgw against its OpenAPI description (the
// JSON it serves at /api/openapi.json), for tests/integration/test_openapi.sh:
//   node check.mjs SPEC.json CASES.jsonl
// Each line of CASES is one answer the test received:
//   {"name", "method", "path" (no query), "status", "headers" (lower-case
//    names), "body" (a file)}
// For each: the path and method have an operation, the status a response,
// its required headers are there and match their schemas, the
// Content-Type is one of its media types, and the body matches the
// schema (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses): JSON parsed and
// validated; an event stream split into its events, each event's data
// validated against the schema x-coapgw-events gives for its name.
// Then coverage: every operation of the description must have been seen
// at least once, so a path or method the gateway no longer answers (or
// the test no longer tries) fails. Prints "ok"/"FAIL" lines; exit 1 on any
// failure.
import { existsSync, readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const [specFile, casesFile] = process.argv.slice(2);
const spec = JSON.parse(readFileSync(specFile, 'utf8'));
const cases = readFileSync(casesFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const BASE = 'https://coapgw.invalid/openapi.json';
const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options', 'trace'];

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: BASE, components: { schemas: spec.components.schemas } });

// "#/x/y" -> the object it points at in the description
function deref(obj) {
  while (obj && obj.$ref) {
    obj = obj.$ref.slice(2).split('/').reduce((o, k) => o[k.replace(/~1/g, '/').replace(/~0/g, '~')], spec);
  }
  return obj;
}

// A schema from anywhere in the description, its local $refs made
// absolute so that ajv finds them under BASE.
const compiled = new Map();
function validator(schema) {
  if (!compiled.has(schema)) {
    const text = JSON.stringify(schema).replace(/"\$ref":"#\//g, `"$ref":"${BASE}#/`);
    compiled.set(schema, ajv.compile(JSON.parse(text)));
  }
  return compiled.get(schema);
}

function validate(schema, value, what) {
  const v = validator(schema);
  if (v(value)) return [];
  return [`${what}: ${ajv.errorsText(v.errors)}`];
}

// Templates as regular expressions: {path} and {uri} take slashes (the
// resource's path, the CoAP URI), other parameters one segment. Literal
// paths are tried first.
const templates = Object.keys(spec.paths)
  .map((p) => ({
    p,
    params: (p.match(/\{/g) || []).length,
    re: new RegExp('^' + p.replace(/[.*+?^$()|[\]\\]/g, '\\$&')
      .replace(/\{(path|uri)\}/g, '.+').replace(/\{[^}]+\}/g, '[^/]+') + '$'),
  }))
  .sort((a, b) => a.params - b.params);

function findPath(path) {
  const t = templates.find((x) => x.re.test(path));
  return t && t.p;
}

const mediaOf = (ct) => (ct || '').split(';')[0].trim().toLowerCase();

// text/event-stream: "retry: MS" first, then events of "event:", "id:",
// "data:" lines; each data validated by its event's schema.
function checkStream(body, media) {
  const errors = [];
  const events = media['x-coapgw-events'] || {};
  // the events that carry an id: (x-coapgw-id-events; notifications by default)
  const withId = media['x-coapgw-id-events'] || ['notification'];
  const blocks = body.split('\n\n').filter((b) => b.trim());
  if (!blocks.length || !/^retry: [0-9]+$/.test(blocks[0].trim())) errors.push('no "retry: MS" first');
  let seen = 0;
  for (const b of blocks.slice(1)) {
    const f = {};
    for (const line of b.split('\n')) {
      if (line.startsWith(':')) continue; // a comment (keep-alive)
      const i = line.indexOf(': ');
      f[line.slice(0, i)] = line.slice(i + 2);
    }
    if (!f.event && !f.data) continue;
    const schema = events[f.event];
    if (!schema) {
      errors.push(`event "${f.event}" not in x-coapgw-events`);
      continue;
    }
    if (withId.includes(f.event) && !/^[0-9]+$/.test(f.id || '')) errors.push(`an ${f.event} event without a numeric id`);
    if (!withId.includes(f.event) && f.id !== undefined) errors.push(`an ${f.event} event with an id`);
    let data;
    try {
      data = JSON.parse(f.data);
    } catch (e) {
      errors.push(`event ${f.event}: data is not JSON`);
      continue;
    }
    errors.push(...validate(deref(schema), data, `event ${f.event}`));
    seen++;
  }
  if (!seen) errors.push('no event in the stream');
  return errors;
}

function checkBody(c, mediaType, media, body) {
  if (!media.schema) return [];
  if (mediaType === 'text/event-stream') return checkStream(body, media);
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) {
    let value;
    try {
      value = JSON.parse(body);
    } catch (e) {
      return ['the body is not JSON'];
    }
    return validate(media.schema, value, 'body');
  }
  if (media.schema.type === 'string') return validate(media.schema, body, 'body');
  return [];
}

function checkCase(c) {
  const path = findPath(c.path);
  if (!path) return [[`${c.path}: no such path in the description`], null];
  const item = spec.paths[path];
  const m = c.method.toLowerCase();
  const op = item[m];
  if (!op) return [[`${m.toUpperCase()} ${path}: no such operation`], null];
  const key = `${m.toUpperCase()} ${path}`;
  const resp = deref(op.responses[String(c.status)] || op.responses.default);
  if (!resp) return [[`${key}: status ${c.status} not described`], key];
  const errors = [];
  for (const [name, h] of Object.entries(resp.headers || {})) {
    const hd = deref(h);
    const value = c.headers[name.toLowerCase()];
    if (value === undefined) {
      if (hd.required) errors.push(`header ${name} missing`);
    } else if (hd.schema) {
      errors.push(...validate(hd.schema, value, `header ${name}`));
    }
  }
  const body = c.body && existsSync(c.body) ? readFileSync(c.body, 'utf8') : '';
  const content = resp.content || {};
  const ct = mediaOf(c.headers['content-type']);
  if (!Object.keys(content).length) {
    if (body.length && m !== 'head') errors.push(`a body where the description has none (${ct})`);
    return [errors, key];
  }
  if (!body.length && (m === 'head' || c.status === 204 || c.status === 304)) return [errors, key];
  const mediaType = Object.keys(content).find((k) => mediaOf(k) === ct) || (content['*/*'] ? '*/*' : null);
  if (!mediaType) {
    errors.push(`Content-Type ${ct || '(none)'} not among ${Object.keys(content).join(', ')}`);
    return [errors, key];
  }
  errors.push(...checkBody(c, mediaOf(mediaType), content[mediaType], body));
  return [errors, key];
}

let failed = 0;
const covered = new Set();
for (const c of cases) {
  const [errors, key] = checkCase(c);
  if (key) covered.add(key);
  const label = `${c.name}: ${c.method} ${c.path} ${c.status}`;
  if (errors.length) {
    failed++;
    console.log(`FAIL - ${label}: ${errors.join('; ')}`);
  } else {
    console.log(`ok   - ${label}`);
  }
}
for (const [p, item] of Object.entries(spec.paths)) {
  for (const m of METHODS) {
    if (!item[m]) continue;
    const key = `${m.toUpperCase()} ${p}`;
    if (!covered.has(key)) {
      failed++;
      console.log(`FAIL - ${key}: described, never answered in the test`);
    }
  }
}
console.log(`${cases.length} answers, ${covered.size} operations seen, ${failed} failures`);
process.exit(failed ? 1 : 0);
