/*
 * gw_links.h - a CoRE Link Format document (RFC 6690) as the JSON
 * resource objects of the discovery API (docs/api.md). Internal to
 * gateway/; no I/O, so the unit tests use it directly.
 */
#ifndef GW_LINKS_H
#define GW_LINKS_H

#include <jansson.h>
#include <stddef.h>

/* An array with one object per link:
 *   {"href": URI, "rt": [...], "if": [...], "ct": [{"format": N, "type": T|null}],
 *    "obs": true, "sz": N, "title": S, "anchor": S, OTHER: S | [S, ...] | true}
 * rt, if, rel and rev are arrays of their space-separated values (RFC 6690
 * §3.1-3.2, RFC 8288 §3.3), ct an array of Content-Formats (RFC 7252
 * §7.2.1); any other param is a string (unescaped), true without a value,
 * or an array when it is repeated. Parameter names are lower-cased.
 * A value that is not UTF-8 has its non-ASCII bytes replaced by '?'.
 * Returns NULL with a message ("malformed link-format at byte N: ...") on
 * input that does not parse. */
json_t *gw_links_to_json(const char *text, size_t len, char *err, size_t errlen);

#endif
