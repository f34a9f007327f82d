/*
 * registry.c - the option registry (RFC 7252 §5.10 and later RFCs), the
 * Content-Format registry, and names of methods, codes and types.
 */
#include "coap_cf.h"
#include "coap_msg.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Sorted by number: coap_opt_def() searches it by bisection. */
static const coap_opt_def_t opt_defs[] = {
    {COAP_OPT_IF_MATCH, "If-Match", COAP_FMT_OPAQUE, 0, 8, 1},
    {COAP_OPT_URI_HOST, "Uri-Host", COAP_FMT_STRING, 1, 255, 0},
    {COAP_OPT_ETAG, "ETag", COAP_FMT_OPAQUE, 1, 8, 1},
    {COAP_OPT_IF_NONE_MATCH, "If-None-Match", COAP_FMT_EMPTY, 0, 0, 0},
    {COAP_OPT_OBSERVE, "Observe", COAP_FMT_UINT, 0, 3, 0},
    {COAP_OPT_URI_PORT, "Uri-Port", COAP_FMT_UINT, 0, 2, 0},
    {COAP_OPT_LOCATION_PATH, "Location-Path", COAP_FMT_STRING, 0, 255, 1},
    {COAP_OPT_OSCORE, "OSCORE", COAP_FMT_OPAQUE, 0, 255, 0},
    {COAP_OPT_URI_PATH, "Uri-Path", COAP_FMT_STRING, 0, 255, 1},
    {COAP_OPT_CONTENT_FORMAT, "Content-Format", COAP_FMT_UINT, 0, 2, 0},
    {COAP_OPT_MAX_AGE, "Max-Age", COAP_FMT_UINT, 0, 4, 0},
    {COAP_OPT_URI_QUERY, "Uri-Query", COAP_FMT_STRING, 0, 255, 1},
    {COAP_OPT_HOP_LIMIT, "Hop-Limit", COAP_FMT_UINT, 1, 1, 0},
    {COAP_OPT_ACCEPT, "Accept", COAP_FMT_UINT, 0, 2, 0},
    {COAP_OPT_LOCATION_QUERY, "Location-Query", COAP_FMT_STRING, 0, 255, 1},
    {COAP_OPT_BLOCK2, "Block2", COAP_FMT_UINT, 0, 3, 0},
    {COAP_OPT_BLOCK1, "Block1", COAP_FMT_UINT, 0, 3, 0},
    {COAP_OPT_SIZE2, "Size2", COAP_FMT_UINT, 0, 4, 0},
    {COAP_OPT_PROXY_URI, "Proxy-Uri", COAP_FMT_STRING, 1, COAP_PROXY_URI_MAX, 0},
    {COAP_OPT_PROXY_SCHEME, "Proxy-Scheme", COAP_FMT_STRING, 1, 255, 0},
    {COAP_OPT_SIZE1, "Size1", COAP_FMT_UINT, 0, 4, 0},
    {COAP_OPT_ECHO, "Echo", COAP_FMT_OPAQUE, 1, 40, 0},
    {COAP_OPT_NO_RESPONSE, "No-Response", COAP_FMT_UINT, 0, 1, 0},
    {COAP_OPT_REQUEST_TAG, "Request-Tag", COAP_FMT_OPAQUE, 0, 8, 1},
};

const coap_opt_def_t *coap_opt_def(uint16_t num)
{
    size_t lo = 0, hi = sizeof opt_defs / sizeof opt_defs[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (opt_defs[mid].num == num) return &opt_defs[mid];
        if (opt_defs[mid].num < num)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *coap_opt_name(uint16_t num)
{
    const coap_opt_def_t *d = coap_opt_def(num);
    return d ? d->name : NULL;
}

int coap_opt_by_name(const char *name)
{
    for (size_t i = 0; i < sizeof opt_defs / sizeof opt_defs[0]; i++)
        if (strcasecmp(opt_defs[i].name, name) == 0) return opt_defs[i].num;
    return -1;
}

static int in_list(const uint16_t *list, uint16_t num)
{
    for (; list && *list; list++)
        if (*list == num) return 1;
    return 0;
}

uint16_t coap_msg_check_options(const coap_msg_t *m, const uint16_t *known)
{
    for (unsigned i = 0; i < m->opt_count; i++) {
        const coap_msg_opt_t *o = &m->opts[i];
        if (!coap_opt_is_critical(o->num)) continue;
        if (in_list(known, o->num)) continue;
        const coap_opt_def_t *d = coap_opt_def(o->num);
        /* §5.4.1: an unrecognized critical option is an error. */
        if (!d) return o->num;
        /* §5.4.3: a value outside the defined length range is treated
         * like an unrecognized option. */
        if (o->len < d->min_len || o->len > d->max_len) return o->num;
        /* §5.4.5: each extra occurrence of a non-repeatable option is
         * treated like an unrecognized option. */
        if (!d->repeatable && i > 0 && m->opts[i - 1].num == o->num) return o->num;
    }
    return 0;
}

/* --- Content-Formats (table in shared/rfc8075-tables.md) --- */

static const coap_cf_def_t cf_defs[] = {
    {0, "text/plain;charset=utf-8", 1, 0},
    {40, "application/link-format", 1, 0},
    {41, "application/xml", 1, 0},
    {42, "application/octet-stream", 0, 0},
    {47, "application/exi", 0, 0},
    {50, "application/json", 1, 1},
    {51, "application/json-patch+json", 1, 1},
    {52, "application/merge-patch+json", 1, 1},
    {60, "application/cbor", 0, 0},
    {61, "application/cwt", 0, 0},
    {62, "application/multipart-core", 0, 0},
    {63, "application/cbor-seq", 0, 0},
    {110, "application/senml+json", 1, 1},
    {111, "application/sensml+json", 1, 1},
    {112, "application/senml+cbor", 0, 0},
    {113, "application/sensml+cbor", 0, 0},
    {114, "application/senml-exi", 0, 0},
    {115, "application/sensml-exi", 0, 0},
    {256, "application/coap-group+json", 1, 1},
    {432, "application/td+json", 1, 1},
    {10000, "application/vnd.ocf+cbor", 0, 0},
    {10001, "application/oscore", 0, 0},
};

#define CF_COUNT (sizeof cf_defs / sizeof cf_defs[0])

const coap_cf_def_t *coap_cf_at(size_t i)
{
    return i < CF_COUNT ? &cf_defs[i] : NULL;
}

const coap_cf_def_t *coap_cf_by_number(unsigned format)
{
    for (size_t i = 0; i < CF_COUNT; i++)
        if (cf_defs[i].format == format) return &cf_defs[i];
    return NULL;
}

/* Lower-cases and drops blanks so "Text/Plain; charset=UTF-8" compares
 * equal to the registered "text/plain;charset=utf-8". Quotes around a
 * parameter value are dropped too. */
static void normalize_type(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in && n + 1 < cap; in++) {
        if (*in == ' ' || *in == '\t' || *in == '"') continue;
        out[n++] = (char)tolower((unsigned char)*in);
    }
    out[n] = '\0';
}

int coap_cf_by_media_type(const char *type)
{
    char t[128];
    normalize_type(type, t, sizeof t);
    /* RFC 8075 §6.1: text/plain without a charset is taken as UTF-8. */
    if (strcmp(t, "text/plain") == 0) return COAP_CF_TEXT_PLAIN;
    for (size_t i = 0; i < CF_COUNT; i++)
        if (strcmp(cf_defs[i].media_type, t) == 0) return (int)cf_defs[i].format;
    return -1;
}

int coap_cf_parse(const char *s)
{
    if (!s || !*s) return -1;
    if (isdigit((unsigned char)s[0])) {
        char *end;
        unsigned long v = strtoul(s, &end, 10);
        return (*end == '\0' && v <= 65535) ? (int)v : -1;
    }
    return coap_cf_by_media_type(s);
}

/* --- Names --- */

static const char *const method_names[] = {NULL,     "GET",   "POST",  "PUT",
                                           "DELETE", "FETCH", "PATCH", "iPATCH"};

const char *coap_method_name(uint8_t code)
{
    return code < 8 ? method_names[code] : NULL;
}

int coap_method_parse(const char *s)
{
    for (int i = 1; i < 8; i++)
        if (strcasecmp(s, method_names[i]) == 0) return i;
    unsigned c, d;
    char tail;
    if (sscanf(s, "%u.%u%c", &c, &d, &tail) == 2 && c == 0 && d >= 1 && d <= 31)
        return (int)COAP_CODE(c, d);
    return -1;
}

static const struct {
    uint8_t code;
    const char *reason;
} code_reasons[] = {
    {COAP_CREATED, "Created"},
    {COAP_DELETED, "Deleted"},
    {COAP_VALID, "Valid"},
    {COAP_CHANGED, "Changed"},
    {COAP_CONTENT, "Content"},
    {COAP_CONTINUE, "Continue"},
    {COAP_BAD_REQUEST, "Bad Request"},
    {COAP_UNAUTHORIZED, "Unauthorized"},
    {COAP_BAD_OPTION, "Bad Option"},
    {COAP_FORBIDDEN, "Forbidden"},
    {COAP_NOT_FOUND, "Not Found"},
    {COAP_METHOD_NOT_ALLOWED, "Method Not Allowed"},
    {COAP_NOT_ACCEPTABLE, "Not Acceptable"},
    {COAP_REQUEST_ENTITY_INCOMPLETE, "Request Entity Incomplete"},
    {COAP_CONFLICT, "Conflict"},
    {COAP_PRECONDITION_FAILED, "Precondition Failed"},
    {COAP_REQUEST_ENTITY_TOO_LARGE, "Request Entity Too Large"},
    {COAP_UNSUPPORTED_CONTENT_FORMAT, "Unsupported Content-Format"},
    {COAP_UNPROCESSABLE_ENTITY, "Unprocessable Entity"},
    {COAP_TOO_MANY_REQUESTS, "Too Many Requests"},
    {COAP_INTERNAL_SERVER_ERROR, "Internal Server Error"},
    {COAP_NOT_IMPLEMENTED, "Not Implemented"},
    {COAP_BAD_GATEWAY, "Bad Gateway"},
    {COAP_SERVICE_UNAVAILABLE, "Service Unavailable"},
    {COAP_GATEWAY_TIMEOUT, "Gateway Timeout"},
    {COAP_PROXYING_NOT_SUPPORTED, "Proxying Not Supported"},
    {COAP_HOP_LIMIT_REACHED, "Hop Limit Reached"},
};

const char *coap_code_reason(uint8_t code)
{
    if (code == COAP_EMPTY) return "Empty";
    if (coap_method_name(code)) return coap_method_name(code);
    for (size_t i = 0; i < sizeof code_reasons / sizeof code_reasons[0]; i++)
        if (code_reasons[i].code == code) return code_reasons[i].reason;
    return NULL;
}

/* "c.dd Reason" written byte by byte, not with snprintf: a proxied
 * request's log note formats it every time. Truncated to cap like snprintf. */
const char *coap_code_str(uint8_t code, char *buf, size_t cap)
{
    const char *r = coap_code_reason(code);
    unsigned detail = COAP_CODE_DETAIL(code);
    const char head[] = {(char)('0' + COAP_CODE_CLASS(code)), '.', (char)('0' + detail / 10),
                         (char)('0' + detail % 10), ' '};
    size_t n = 0;
    if (!cap) return buf;
    for (size_t i = 0; i < sizeof head - !r && n + 1 < cap; i++) buf[n++] = head[i];
    for (; r && *r && n + 1 < cap; r++) buf[n++] = *r;
    buf[n] = '\0';
    return buf;
}

const char *coap_type_name(uint8_t type)
{
    static const char *const names[] = {"CON", "NON", "ACK", "RST"};
    return type < 4 ? names[type] : "???";
}
