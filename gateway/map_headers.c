/*
 * map_headers.c - the HTTP header grammar of the mapping: media types in
 * Content-Type and Accept (RFC 8075 §6, RFC 9110 §8.3.1, §12.5.1) against
 * the engine's Content-Format registry (coap_cf.h), entity tags (RFC 9110
 * §8.8.3) and Cache-Control's max-age (RFC 9111 §5.2). Methods and status
 * codes are in map.c.
 */
#include "gw_map.h"

#include "coap_cf.h"

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* HTTP syntax helpers (RFC 9110 §5.6)                                 */
/* ------------------------------------------------------------------ */

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

/* tchar of RFC 9110 §5.6.2: ASCII only, whatever the locale. */
static int is_tchar(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Reads a token into out, lower-cased. Returns its length (0: none there),
 * or -1 when it does not fit; *pp advances only on success. */
static int read_token(const char **pp, char *out, size_t cap)
{
    const char *p = *pp;
    size_t n = 0;
    for (; is_tchar((unsigned char)*p); p++) {
        if (n + 1 >= cap) return -1;
        out[n++] = (char)tolower((unsigned char)*p);
    }
    out[n] = '\0';
    *pp = p;
    return (int)n;
}

/* Reads a parameter value, token or quoted-string (RFC 9110 §5.6.4, quotes
 * and escapes removed), lower-cased. 0, or -1 when malformed or too long. */
static int read_value(const char **pp, char *out, size_t cap)
{
    const char *p = *pp;
    if (*p != '"') return read_token(pp, out, cap) > 0 ? 0 : -1;
    size_t n = 0;
    for (p++; *p != '"'; p++) {
        if (*p == '\\') p++; /* quoted-pair */
        unsigned char c = (unsigned char)*p;
        if (c == '\0' || (c < 0x20 && c != '\t') || c == 0x7F || n + 1 >= cap) return -1;
        out[n++] = (char)tolower(c);
    }
    out[n] = '\0';
    *pp = p + 1;
    return 0;
}

/* Skips one list element (RFC 9110 §5.6.1) up to the next ',' outside a
 * quoted-string, or to the end. */
static const char *skip_element(const char *p)
{
    int quoted = 0;
    for (; *p && (quoted || *p != ','); p++) {
        if (*p == '"') {
            quoted = !quoted;
        } else if (quoted && *p == '\\' && p[1]) {
            p++;
        }
    }
    return p;
}

/* ------------------------------------------------------------------ */
/* Media types (RFC 8075 §6, RFC 9110 §8.3.1)                          */
/* ------------------------------------------------------------------ */

/* A parsed media type or media range. */
typedef struct {
    char base[128];   /* "type/subtype", lower case */
    size_t slash;     /* offset of the '/' in base */
    char charset[64]; /* charset parameter, lower case, unquoted; "" when absent */
    char params[128]; /* the other parameters, ";name=value" each, normalized */
    int q;            /* Accept weight in thousandths; 1000 when absent */
} media_t;

/* qvalue of RFC 9110 §12.4.2 -> thousandths, or -1. */
static int parse_qvalue(const char *v)
{
    if (v[0] != '0' && v[0] != '1') return -1;
    int q = (v[0] - '0') * 1000, scale = 100;
    const char *p = v + 1;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p) && scale > 0; p++, scale /= 10)
            q += (*p - '0') * scale;
    return (*p == '\0' && q <= 1000) ? q : -1;
}

/* Parses `type "/" subtype *( OWS ";" OWS [ parameter ] )` at *pp, leaving
 * *pp after it (the caller checks what follows). With `accept`, "q" is the
 * weight and ends the media range: later parameters (RFC 7231's accept-ext)
 * are ignored. Returns 0, or -1 when malformed or too long. */
static int parse_media(const char **pp, media_t *m, int accept)
{
    const char *p = skip_ows(*pp);
    char name[32], value[sizeof m->charset];
    memset(m, 0, sizeof *m);
    m->q = 1000;
    int n = read_token(&p, m->base, sizeof m->base - 1);
    if (n <= 0 || *p != '/') return -1;
    m->slash = (size_t)n;
    m->base[n] = '/';
    p++;
    if (read_token(&p, m->base + n + 1, sizeof m->base - (size_t)n - 1) <= 0) return -1;
    for (int after_q = 0;;) {
        p = skip_ows(p);
        if (*p != ';') break;
        p = skip_ows(p + 1);
        if (*p == ';' || *p == ',' || *p == '\0') continue; /* empty parameter */
        if (read_token(&p, name, sizeof name) <= 0 || *p != '=') return -1;
        p++;
        if (read_value(&p, value, sizeof value) < 0) return -1;
        if (after_q) continue;
        if (accept && strcmp(name, "q") == 0) {
            if ((m->q = parse_qvalue(value)) < 0) return -1;
            after_q = 1;
        } else if (strcmp(name, "charset") == 0) {
            memcpy(m->charset, value, sizeof value);
        } else {
            size_t used = strlen(m->params);
            int w = snprintf(m->params + used, sizeof m->params - used, ";%s=%s", name, value);
            if (w < 0 || (size_t)w >= sizeof m->params - used) return -1;
        }
    }
    *pp = p;
    return 0;
}

/* Parses a header holding exactly one media type (Content-Type). */
static int parse_single(const char *s, media_t *m)
{
    if (!s) return -1;
    const char *p = s;
    if (parse_media(&p, m, 0) < 0) return -1;
    return *skip_ows(p) == '\0' ? 0 : -1;
}

/* Whether a charset names UTF-8, the only charset of CoAP text (RFC 7252
 * §12.3 registers text/plain;charset=utf-8 alone). US-ASCII is a subset:
 * its text is valid UTF-8, so it is accepted for a payload (`ascii_ok`) but
 * not for Accept, where asking the server for UTF-8 could return text the
 * client cannot read. */
static int charset_is_utf8(const char *cs, int ascii_ok)
{
    return strcmp(cs, "utf-8") == 0 || (ascii_ok && strcmp(cs, "us-ascii") == 0);
}

/* Exact match in the registry, after normalization: lower case, quotes and
 * blanks dropped; text/plain without charset is UTF-8 (its default charset,
 * US-ASCII per RFC 2046 §4.1.2, is a subset); a charset=utf-8 on a type
 * registered without charset is redundant (RFC 8259 §11 for JSON) and
 * dropped. Other parameters must match the registry entry, which today
 * none do. */
static int exact_cf(const media_t *m, int ascii_ok)
{
    char t[sizeof m->base + sizeof m->charset + sizeof m->params + 16];
    int utf8 = m->charset[0] && charset_is_utf8(m->charset, ascii_ok);
    if (m->params[0] || (m->charset[0] && !utf8)) {
        snprintf(t, sizeof t, "%s%s%s%s", m->base, m->charset[0] ? ";charset=" : "", m->charset,
                 m->params);
        return coap_cf_by_media_type(t);
    }
    if (utf8) {
        snprintf(t, sizeof t, "%s;charset=utf-8", m->base);
        int cf = coap_cf_by_media_type(t);
        if (cf >= 0) return cf;
    }
    return coap_cf_by_media_type(m->base);
}

/* Loose matches for a request Content-Type, tried in order after the exact
 * match: RFC 8075 §6.3 Table 1, which the RFC makes optional and open to
 * refinement. Ours differs in two ways: +json and +cbor match on any type,
 * not only application/, and there is no final "* / *" -> octet-stream row,
 * so an unknown type gets 415 instead of travelling as opaque bytes. A NULL
 * type matches any type, a NULL subtype any subtype; a subtype starting
 * with '+' is a structured syntax suffix (RFC 6838 §4.2.8) after a
 * non-empty name. */
static const struct {
    const char *type;
    const char *subtype;
    int cf;
} loose_map[] = {
    {"application", "+xml", COAP_CF_XML}, /* application/soap+xml */
    {NULL, "+json", COAP_CF_JSON},        /* application/ld+json */
    {NULL, "+cbor", COAP_CF_CBOR},        /* application/vnd.x+cbor */
    {"text", "xml", COAP_CF_XML},         /* an alias of application/xml */
    {"text", NULL, COAP_CF_TEXT_PLAIN},   /* text/html, text/csv... */
};

static int loose_row_matches(size_t row, const media_t *m)
{
    const char *type = loose_map[row].type, *pat = loose_map[row].subtype;
    const char *sub = m->base + m->slash + 1;
    if (type && (strlen(type) != m->slash || strncmp(type, m->base, m->slash) != 0)) return 0;
    if (!pat) return 1;
    if (pat[0] != '+') return strcmp(sub, pat) == 0;
    size_t ls = strlen(sub), lp = strlen(pat);
    return ls > lp && strcmp(sub + ls - lp, pat) == 0;
}

int gw_map_content_type(const char *content_type)
{
    media_t m;
    if (parse_single(content_type, &m) < 0) return -1;
    int cf = exact_cf(&m, 1);
    if (cf >= 0) return cf;
    /* The fallbacks ignore parameters but never relabel text in another
     * charset as UTF-8: no Content-Format stands for it, the gateway does
     * not transcode (optional, RFC 8075 §6.5), and JSON is UTF-8 only (RFC
     * 8259 §8.1). The caller answers 415 (RFC 8075 §6.1). */
    if (m.charset[0] && !charset_is_utf8(m.charset, 1)) return -1;
    /* A registered type with parameters the registry does not list, e.g.
     * "application/json;profile=x" -> 50. */
    cf = coap_cf_by_media_type(m.base);
    if (cf >= 0) return cf;
    for (size_t i = 0; i < COUNT(loose_map); i++)
        if (loose_row_matches(i, &m)) return loose_map[i].cf;
    return -1;
}

int gw_map_content_type_exact(const char *content_type)
{
    media_t m;
    return parse_single(content_type, &m) < 0 ? -1 : exact_cf(&m, 1);
}

const char *gw_map_cf_to_type(unsigned cf, char *buf, size_t cap)
{
    const coap_cf_def_t *d = coap_cf_by_number(cf);
    if (d) return d->media_type;
    /* RFC 8075 §6.2 (the media type is registered in §9.2). */
    if (!buf || cap == 0) return "application/coap-payload";
    snprintf(buf, cap, "application/coap-payload;cf=%u", cf);
    return buf;
}

/* RFC 9110 §12.5.1. Each element is a media range with an optional weight;
 * elements that do not parse are skipped, as are wildcards (no CoAP
 * Content-Format stands for a range: RFC 7252 §10.2.2, and RFC 8075 §6.1
 * for * / *), types without exact mapping and q=0 ("not acceptable", RFC
 * 9110 §12.4.2). The highest weight wins, the first listed on a tie (RFC
 * 7252 §10.2.2 maps the most preferred type). Mapping is exact only:
 * Accept: text/html must not yield text/plain the way the loose request
 * mapping would. Nothing mappable: no Accept option (RFC 8075 §6.1). */
/* The next element of an Accept list at *pp: 1 with its range in m, 0
 * when it does not parse (skipped); *pp moves past it, to NULL after the
 * last. */
static int next_range(const char **pp, media_t *m)
{
    const char *p = *pp, *e = p;
    int ok = parse_media(&e, m, 1) == 0 && (*(e = skip_ows(e)) == ',' || *e == '\0');
    if (!ok) e = skip_element(p);
    *pp = *e ? e + 1 : NULL;
    return ok;
}

int gw_map_accept(const char *accept)
{
    int best = -1, best_q = 0;
    media_t m;
    for (const char *p = accept; p;) {
        if (!next_range(&p, &m)) continue;
        const char *sub = m.base + m.slash + 1;
        int wildcard = strcmp(sub, "*") == 0 || (m.slash == 1 && m.base[0] == '*');
        int cf = wildcard ? -1 : exact_cf(&m, 0);
        if (cf >= 0 && m.q > best_q) {
            best = cf;
            best_q = m.q;
        }
    }
    return best;
}

/* How specifically range m names `type` (a bare "type/subtype", lower
 * case): 3 exactly, 2 by "type/ *", 1 by "* / *", 0 not at all. Ranges
 * with parameters other than q are more specific than a bare type: they
 * do not match it (RFC 9110 §12.5.1). */
static int range_matches(const media_t *m, const char *type)
{
    if (m->params[0] || m->charset[0]) return 0;
    if (!strcmp(m->base, "*/*")) return 1;
    const char *slash = strchr(type, '/');
    if (!strcmp(m->base + m->slash, "/*"))
        return (size_t)(slash - type) == m->slash && !strncmp(m->base, type, m->slash) ? 2 : 0;
    return !strcmp(m->base, type) ? 3 : 0;
}

/* RFC 9110 §12.5.1: the most specific range that matches gives the weight. */
int gw_map_accept_q(const char *accept, const char *type)
{
    if (!accept) return 1000; /* no Accept: any type */
    int best = 0, q = 0;
    media_t m;
    for (const char *p = accept; p;) {
        int spec = next_range(&p, &m) ? range_matches(&m, type) : 0;
        if (spec > best) {
            best = spec;
            q = m.q;
        }
    }
    return q;
}

/* ------------------------------------------------------------------ */
/* Entity tags (RFC 9110 §8.8.3, RFC 7252 §5.10.6)                     */
/* ------------------------------------------------------------------ */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    return tolower((unsigned char)c) - 'a' + 10;
}

int gw_etag_parse(const char *tag, uint8_t out[8])
{
    if (!tag) return -1;
    const char *p = skip_ows(tag);
    if (*p != '"') return -1; /* also refuses weak tags, W/"..." */
    p++;
    size_t n = 0;
    while (n <= 16 && isxdigit((unsigned char)p[n])) n++;
    if (p[n] != '"' || n < 2 || n > 16 || n % 2 != 0) return -1;
    if (*skip_ows(p + n + 1) != '\0') return -1;
    for (size_t i = 0; i < n / 2; i++)
        out[i] = (uint8_t)(hex_value(p[2 * i]) << 4 | hex_value(p[2 * i + 1]));
    return (int)(n / 2);
}

void gw_etag_format(const uint8_t *etag, size_t len, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    if (!out || cap == 0) return;
    if (cap < 2 * len + 3 || (len && !etag)) {
        out[0] = '\0';
        return;
    }
    char *o = out;
    *o++ = '"';
    for (size_t i = 0; i < len; i++) {
        *o++ = hex[etag[i] >> 4];
        *o++ = hex[etag[i] & 0x0F];
    }
    *o++ = '"';
    *o = '\0';
}

/* ------------------------------------------------------------------ */
/* Cache-Control (RFC 9111 §5.2)                                       */
/* ------------------------------------------------------------------ */

/* Max-Age is a 32-bit option (RFC 7252 §5.10.5): larger values clamp. */
#if LONG_MAX > UINT32_MAX
#define MAX_AGE_CAP ((long)UINT32_MAX)
#else
#define MAX_AGE_CAP LONG_MAX
#endif

/* delta-seconds (RFC 9111 §1.2.2), optionally quoted: senders use the
 * token form (§5.2.2.1) but recipients ought to accept both (§5.2). */
static long read_delta_seconds(const char **pp)
{
    const char *p = *pp;
    int quoted = *p == '"';
    if (quoted) p++;
    if (!isdigit((unsigned char)*p)) return -1;
    unsigned long long v = 0;
    for (; isdigit((unsigned char)*p); p++)
        if (v <= UINT32_MAX) v = v * 10 + (unsigned)(*p - '0');
    if (quoted && *p++ != '"') return -1;
    *pp = p;
    return v > (unsigned long long)MAX_AGE_CAP ? MAX_AGE_CAP : (long)v;
}

long gw_parse_max_age(const char *cache_control)
{
    if (!cache_control) return -1;
    for (const char *p = cache_control;;) {
        char name[32];
        const char *e = skip_ows(p);
        /* Directive names are case-insensitive (§5.2); s-maxage is another
         * directive, for shared caches only (§5.2.2.10). */
        if (read_token(&e, name, sizeof name) > 0 && strcmp(name, "max-age") == 0) {
            /* The first occurrence decides (RFC 9111 §4.2.1); blanks around
             * '=' are tolerated although the grammar has none. */
            e = skip_ows(e);
            if (*e != '=') return -1;
            e = skip_ows(e + 1);
            long v = read_delta_seconds(&e);
            if (v < 0) return -1;
            e = skip_ows(e);
            return (*e == ',' || *e == '\0') ? v : -1;
        }
        e = skip_element(p);
        if (*e == '\0') return -1;
        p = e + 1;
    }
}
