/*
 * gw_map.h - the RFC 8075 mapping between HTTP and CoAP (and RFC 7252 §10.1,
 * CoAP-HTTP proxying, for the reverse direction), as tables. Pure
 * functions: no I/O, no state.
 */
#ifndef GW_MAP_H
#define GW_MAP_H

#include <stddef.h>
#include <stdint.h>

enum { GW_METHOD_LOCAL = 0, GW_METHOD_UNSUPPORTED = -1 };

/* HTTP method -> CoAP method code (RFC 7252 §10.2; names are
 * case-sensitive, RFC 9110 §9.1). HEAD maps to GET (the caller drops the
 * body); PATCH maps to iPATCH when `ipatch` is set (the request carried the
 * header documented in README); OPTIONS returns GW_METHOD_LOCAL (answered
 * by the gateway with Allow); anything else (TRACE, CONNECT, unknown)
 * returns GW_METHOD_UNSUPPORTED (501). */
int gw_map_method(const char *http_method, int ipatch);

/* CoAP method code -> HTTP method name ("GET", ...; iPATCH -> "PATCH";
 * FETCH -> "FETCH", which the origin may refuse with 405/501), or NULL for
 * codes with no HTTP equivalent (RFC 7252 §10.1). */
const char *gw_map_method_to_http(uint8_t coap_method);

typedef struct {
    unsigned status;    /* HTTP status code */
    const char *reason; /* reason phrase, e.g. "CoAP server returned 4.05" for 4.05 */
} gw_status_t;

/* CoAP response code -> HTTP status (RFC 8075 §7, table in
 * shared/rfc8075-tables.md): 2.02/2.04 -> 200 with payload, 204 without;
 * 2.03 -> 304 when the HTTP client's request was conditional, else 200;
 * 4.01 -> 403; 4.05 -> 400 "CoAP server returned 4.05"; 4.02 -> 400 when
 * caused by a header the client sent (`client_option`), else 500; 5.05 ->
 * 502; 4.09/4.22/4.29 -> 409/422/429; 2.31 and 4.08 (block-wise internals
 * that should never get this far) and unknown codes -> 502. Reason phrases
 * are the standard ones (RFC 9110 §15), static strings. 5.03 gets 503: the
 * caller adds Retry-After from Max-Age. */
gw_status_t gw_map_status(uint8_t coap_code, int has_payload, int conditional, int client_option);

/* HTTP status -> CoAP response code for the reverse direction (RFC 7252
 * §10.1): 200 -> 2.05 for GET/FETCH, 2.04 for POST/PUT/PATCH/iPATCH, 2.02 for
 * DELETE; 201 -> 2.01; 204 -> 2.04 (2.02 for DELETE, an empty 2.05 for
 * GET/FETCH: 2.04 does not answer GET, RFC 7252 §5.9.1.4); 404/410 to a
 * DELETE -> 2.02 (§10.1.3: "or if the resource does not exist"); with a
 * method not listed, 200 -> 2.05 and 204 -> 2.04; 304 -> 2.03; the listed
 * 4xx/5xx to their counterparts; other 4xx -> 4.00; other -> 5.02. */
uint8_t gw_map_http_to_coap(unsigned status, uint8_t coap_method);

/* Request Content-Type -> Content-Format (RFC 8075 §6.4): exact match
 * (case-insensitive, quotes and blanks dropped, text/plain without charset
 * = UTF-8, a redundant charset=utf-8 dropped: "application/json;
 * charset=utf-8" -> 50), then fallbacks that ignore parameters: the bare
 * registered type ("application/json;profile=x" -> 50), then the loose
 * mapping (RFC 8075 §6.3, adapted) in order: application/...+xml -> 41,
 * any/...+json -> 50, any/...+cbor -> 60, text/xml -> 41, text/... -> 0.
 * application/coap-payload is refused (RFC 8075 §6.2). An explicit charset
 * other than UTF-8 (or its subset US-ASCII) is never relabelled: no
 * fallback applies. Returns -1 when unmappable or malformed (the caller
 * answers 415). */
int gw_map_content_type(const char *content_type);

/* Response-side (reverse direction) Content-Type -> Content-Format: exact
 * match only (after the same normalization; charset=us-ascii counts as
 * UTF-8), -1 when unknown or malformed. */
int gw_map_content_type_exact(const char *content_type);

/* Content-Format -> Content-Type header value; for a format with no known
 * media type writes "application/coap-payload;cf=N" (RFC 8075 §6.2) into
 * buf (40 bytes always suffice; shorter truncates; with no buf, the static
 * "application/coap-payload"). Returns a pointer to a static string or to
 * buf. */
const char *gw_map_cf_to_type(unsigned cf, char *buf, size_t cap);

/* Accept header (RFC 9110 §12.5.1) -> the most preferred mappable
 * Content-Format (q-values honoured, ties by order, q=0 = not acceptable,
 * parameters other than q part of the type, malformed elements skipped);
 * exact mapping only (like gw_map_content_type_exact, but charset=us-ascii
 * does not accept UTF-8); -1 when the header is absent, only wildcards
 * (* / * or type / *), or nothing maps: then no Accept option is sent. */
int gw_map_accept(const char *accept);

/* The weight (0..1000 thousandths) an Accept header gives a media type
 * ("type/subtype", lower case, no parameters): that of the most specific
 * range that names it, exact over type / * over * / * (RFC 9110 §12.5.1);
 * 0 when none does; 1000 when the header is absent. */
int gw_map_accept_q(const char *accept, const char *type);

/* HTTP entity-tag (strong, quoted, hex: "\"a1b2\"") -> 1..8 bytes; returns
 * the length, or -1 when it is not such a tag: blanks around the tag are
 * allowed, the hex digits (either case) must be an even count of 2..16;
 * weak W/ tags, unquoted, empty and non-hex tags are refused. */
int gw_etag_parse(const char *tag, uint8_t out[8]);
/* Bytes -> quoted lowercase hex ("\"a1b2\""); cap >= 2 * len + 3, else
 * out becomes "". */
void gw_etag_format(const uint8_t *etag, size_t len, char *out, size_t cap);

/* Cache-Control header (RFC 9111 §5.2) -> max-age seconds, clamped to
 * UINT32_MAX (the Max-Age option's range), or -1 when absent/unparsable.
 * Directive names are case-insensitive, a quoted value is accepted, the
 * first max-age decides (RFC 9111 §4.2.1), s-maxage is ignored. Used on
 * origin responses: Max-Age <= remaining freshness (RFC 7252 §10.1.1). */
long gw_parse_max_age(const char *cache_control);

#endif
