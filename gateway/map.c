/*
 * map.c - the HTTP <-> CoAP mapping: RFC 8075 (HTTP client -> CoAP server)
 * and RFC 7252 §10.1 (CoAP client -> HTTP server). Every mapping is a table,
 * one row per entry (shared/rfc8075-tables.md), unit-tested row by row in
 * tests/unit/test_map.c. Media types (the engine's Content-Format
 * registry) and the other headers are parsed in map_headers.c.
 */
#include "gw_map.h"

#include "coap_msg.h"

#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* Methods (RFC 7252 §10.1-§10.2, RFC 8132, RFC 9110 §9)              */
/* ------------------------------------------------------------------ */

/* HTTP method names are case-sensitive (RFC 9110 §9.1): "get" is unknown.
 * OPTIONS is answered by the gateway itself (with Allow) rather
 * than with the 501 of RFC 7252 §10.2.1, which TRACE and CONNECT get
 * (§10.2.1, §10.2.7). */
static const struct {
    const char *name;
    int code;        /* CoAP method, GW_METHOD_LOCAL or GW_METHOD_UNSUPPORTED */
    int code_ipatch; /* the same when the client asked for iPATCH */
} method_map[] = {
    {"GET", COAP_GET, COAP_GET},
    {"HEAD", COAP_GET, COAP_GET}, /* RFC 7252 §10.2.3: GET, body dropped */
    {"POST", COAP_POST, COAP_POST},
    {"PUT", COAP_PUT, COAP_PUT},
    {"DELETE", COAP_DELETE, COAP_DELETE},
    {"FETCH", COAP_FETCH, COAP_FETCH},  /* RFC 8132 §2 */
    {"PATCH", COAP_PATCH, COAP_IPATCH}, /* RFC 8132 §3 */
    {"OPTIONS", GW_METHOD_LOCAL, GW_METHOD_LOCAL},
    {"TRACE", GW_METHOD_UNSUPPORTED, GW_METHOD_UNSUPPORTED},
    {"CONNECT", GW_METHOD_UNSUPPORTED, GW_METHOD_UNSUPPORTED},
};

int gw_map_method(const char *http_method, int ipatch)
{
    if (!http_method) return GW_METHOD_UNSUPPORTED;
    for (size_t i = 0; i < COUNT(method_map); i++)
        if (strcmp(method_map[i].name, http_method) == 0)
            return ipatch ? method_map[i].code_ipatch : method_map[i].code;
    return GW_METHOD_UNSUPPORTED;
}

/* RFC 7252 §10.1: the CoAP method is performed with the HTTP method of the
 * same name. */
static const struct {
    uint8_t code;
    const char *name;
} method_to_http_map[] = {
    {COAP_GET, "GET"},       /* §10.1.1 */
    {COAP_POST, "POST"},     /* §10.1.4 */
    {COAP_PUT, "PUT"},       /* §10.1.2 */
    {COAP_DELETE, "DELETE"}, /* §10.1.3 */
    {COAP_FETCH, "FETCH"},   /* RFC 8132 §2; an origin without it answers 405/501 */
    {COAP_PATCH, "PATCH"},   /* RFC 8132 §3 */
    {COAP_IPATCH, "PATCH"},  /* RFC 8132 §3: a PATCH that happens to be idempotent */
};

const char *gw_map_method_to_http(uint8_t coap_method)
{
    for (size_t i = 0; i < COUNT(method_to_http_map); i++)
        if (method_to_http_map[i].code == coap_method) return method_to_http_map[i].name;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Response codes                                                      */
/* ------------------------------------------------------------------ */

/* When a row's alternative applies instead of its main mapping. */
enum { ALT_NEVER, ALT_NO_PAYLOAD, ALT_NOT_CONDITIONAL, ALT_NOT_CLIENT_OPTION };

/* CoAP -> HTTP (RFC 8075 §7). Reason phrases are the standard ones of RFC
 * 9110 §15 (and RFC 6585 for 429), except 4.05: RFC 8075 §7 maps it to 400
 * with a phrase telling what happened, since 405 would require an Allow
 * header listing methods the gateway does not know. */
static const struct {
    uint8_t code;
    gw_status_t st;
    unsigned char alt_when;
    gw_status_t alt;
} status_map[] = {
    {COAP_CREATED, {201, "Created"}, ALT_NEVER, {0, NULL}},
    {COAP_DELETED, {200, "OK"}, ALT_NO_PAYLOAD, {204, "No Content"}},
    /* 304 answers the client's own conditional request; otherwise the
     * gateway revalidated its cache entry and serves it with 200. */
    {COAP_VALID, {304, "Not Modified"}, ALT_NOT_CONDITIONAL, {200, "OK"}},
    {COAP_CHANGED, {200, "OK"}, ALT_NO_PAYLOAD, {204, "No Content"}},
    {COAP_CONTENT, {200, "OK"}, ALT_NEVER, {0, NULL}},
    /* Block-wise internals (RFC 7959 §2.9, RFC 8075 §7 note 10): never
     * meant for the client, so reaching it is a gateway failure. */
    {COAP_CONTINUE, {502, "Bad Gateway"}, ALT_NEVER, {0, NULL}},
    {COAP_BAD_REQUEST, {400, "Bad Request"}, ALT_NEVER, {0, NULL}},
    /* 401 would require a WWW-Authenticate challenge. */
    {COAP_UNAUTHORIZED, {403, "Forbidden"}, ALT_NEVER, {0, NULL}},
    /* The option came from the client's header (its fault) or from the
     * gateway itself (ours). */
    {COAP_BAD_OPTION, {400, "Bad Request"}, ALT_NOT_CLIENT_OPTION, {500, "Internal Server Error"}},
    {COAP_FORBIDDEN, {403, "Forbidden"}, ALT_NEVER, {0, NULL}},
    {COAP_NOT_FOUND, {404, "Not Found"}, ALT_NEVER, {0, NULL}},
    {COAP_METHOD_NOT_ALLOWED, {400, "CoAP server returned 4.05"}, ALT_NEVER, {0, NULL}},
    {COAP_NOT_ACCEPTABLE, {406, "Not Acceptable"}, ALT_NEVER, {0, NULL}},
    {COAP_REQUEST_ENTITY_INCOMPLETE, {502, "Bad Gateway"}, ALT_NEVER, {0, NULL}},
    {COAP_CONFLICT, {409, "Conflict"}, ALT_NEVER, {0, NULL}}, /* RFC 8132 */
    {COAP_PRECONDITION_FAILED, {412, "Precondition Failed"}, ALT_NEVER, {0, NULL}},
    {COAP_REQUEST_ENTITY_TOO_LARGE, {413, "Content Too Large"}, ALT_NEVER, {0, NULL}},
    {COAP_UNSUPPORTED_CONTENT_FORMAT, {415, "Unsupported Media Type"}, ALT_NEVER, {0, NULL}},
    {COAP_UNPROCESSABLE_ENTITY, {422, "Unprocessable Content"}, ALT_NEVER, {0, NULL}},
    {COAP_TOO_MANY_REQUESTS, {429, "Too Many Requests"}, ALT_NEVER, {0, NULL}}, /* RFC 8516 */
    {COAP_INTERNAL_SERVER_ERROR, {500, "Internal Server Error"}, ALT_NEVER, {0, NULL}},
    {COAP_NOT_IMPLEMENTED, {501, "Not Implemented"}, ALT_NEVER, {0, NULL}},
    {COAP_BAD_GATEWAY, {502, "Bad Gateway"}, ALT_NEVER, {0, NULL}},
    {COAP_SERVICE_UNAVAILABLE, {503, "Service Unavailable"}, ALT_NEVER, {0, NULL}},
    {COAP_GATEWAY_TIMEOUT, {504, "Gateway Timeout"}, ALT_NEVER, {0, NULL}},
    {COAP_PROXYING_NOT_SUPPORTED, {502, "Bad Gateway"}, ALT_NEVER, {0, NULL}},
};

static const gw_status_t status_unknown = {502, "Bad Gateway"};

gw_status_t gw_map_status(uint8_t coap_code, int has_payload, int conditional, int client_option)
{
    for (size_t i = 0; i < COUNT(status_map); i++) {
        if (status_map[i].code != coap_code) continue;
        int alt = (status_map[i].alt_when == ALT_NO_PAYLOAD && !has_payload) ||
                  (status_map[i].alt_when == ALT_NOT_CONDITIONAL && !conditional) ||
                  (status_map[i].alt_when == ALT_NOT_CLIENT_OPTION && !client_option);
        return alt ? status_map[i].alt : status_map[i].st;
    }
    return status_unknown;
}

/* HTTP -> CoAP rows that depend on the request method (RFC 7252 §10.1.1-
 * §10.1.4, RFC 8132), tried first. 2.04 answers POST/PUT/PATCH/iPATCH only
 * (RFC 7252 §5.9.1.4), so a 204 to GET/FETCH is an empty 2.05. DELETE gets
 * 2.02 on success "or if the resource does not exist" (§10.1.3 MUST, and
 * §5.8.4), hence 404 and 410 too. */
static const struct {
    unsigned status;
    uint8_t method;
    uint8_t code;
} method_status_map[] = {
    {200, COAP_GET, COAP_CONTENT},    /* §10.1.1 */
    {200, COAP_FETCH, COAP_CONTENT},  /* RFC 8132 §2: a GET with a body */
    {200, COAP_POST, COAP_CHANGED},   /* §10.1.4 */
    {200, COAP_PUT, COAP_CHANGED},    /* §10.1.2 */
    {200, COAP_DELETE, COAP_DELETED}, /* §10.1.3 */
    {200, COAP_PATCH, COAP_CHANGED},  /* RFC 8132 §3 */
    {200, COAP_IPATCH, COAP_CHANGED}, /* RFC 8132 §3 */
    {204, COAP_GET, COAP_CONTENT},    /* empty 2.05 */
    {204, COAP_FETCH, COAP_CONTENT},  /* empty 2.05 */
    {204, COAP_POST, COAP_CHANGED},   /* §10.1.4 */
    {204, COAP_PUT, COAP_CHANGED},    /* §10.1.2 */
    {204, COAP_DELETE, COAP_DELETED}, /* §10.1.3 */
    {204, COAP_PATCH, COAP_CHANGED},  /* RFC 8132 §3 */
    {204, COAP_IPATCH, COAP_CHANGED}, /* RFC 8132 §3 */
    {404, COAP_DELETE, COAP_DELETED}, /* §10.1.3: did not exist */
    {410, COAP_DELETE, COAP_DELETED}, /* §10.1.3: does not exist any more */
};

/* HTTP -> CoAP for any method (RFC 7252 §10.1; 4.09, 4.22: RFC 8132; 4.29:
 * RFC 8516). 200 and 204 here serve a method missing above. */
static const struct {
    unsigned status;
    uint8_t code;
} http_status_map[] = {
    {200, COAP_CONTENT},
    {201, COAP_CREATED},
    {204, COAP_CHANGED},
    {304, COAP_VALID},
    {400, COAP_BAD_REQUEST},
    {401, COAP_UNAUTHORIZED},
    {403, COAP_FORBIDDEN},
    {404, COAP_NOT_FOUND},
    {405, COAP_METHOD_NOT_ALLOWED},
    {406, COAP_NOT_ACCEPTABLE},
    {409, COAP_CONFLICT},
    {412, COAP_PRECONDITION_FAILED},
    {413, COAP_REQUEST_ENTITY_TOO_LARGE},
    {415, COAP_UNSUPPORTED_CONTENT_FORMAT},
    {422, COAP_UNPROCESSABLE_ENTITY},
    {429, COAP_TOO_MANY_REQUESTS},
    {500, COAP_INTERNAL_SERVER_ERROR},
    {501, COAP_NOT_IMPLEMENTED},
    {502, COAP_BAD_GATEWAY},
    {503, COAP_SERVICE_UNAVAILABLE},
    {504, COAP_GATEWAY_TIMEOUT},
};

uint8_t gw_map_http_to_coap(unsigned status, uint8_t coap_method)
{
    for (size_t i = 0; i < COUNT(method_status_map); i++)
        if (method_status_map[i].status == status && method_status_map[i].method == coap_method)
            return method_status_map[i].code;
    for (size_t i = 0; i < COUNT(http_status_map); i++)
        if (http_status_map[i].status == status) return http_status_map[i].code;
    /* Other 4xx: still the client's fault. Anything else (1xx, other 2xx,
     * 3xx, other 5xx) is an answer the gateway cannot convey: 5.02, as for
     * a result "not understood" (§10.1). */
    return (status >= 400 && status < 500) ? COAP_BAD_REQUEST : COAP_BAD_GATEWAY;
}
