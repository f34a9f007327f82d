/*
 * location.c - Location-Path / Location-Query -> Location, under the
 * gateway's own URL forms. See gw_location.h.
 */
#include "gw_location.h"
#include "coap_uri.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

typedef struct {
    char *p;
    size_t cap, len;
    int overflow;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
    if (o->overflow || o->len + n >= o->cap) {
        o->overflow = 1;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

/* Percent-encodes every byte that is neither unreserved nor in keep. */
static void put_encoded(out_t *o, const uint8_t *s, size_t n, const char *keep)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        int c = s[i];
        if (isalnum(c) || (c && c < 0x7F && strchr("-._~", c)) ||
            (c && c < 0x7F && strchr(keep, c))) {
            char ch = (char)c;
            put(o, &ch, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            put(o, e, 3);
        }
    }
}

/* RFC 3986 §3.3: pchar = unreserved / pct-encoded / sub-delims / ":" / "@" */
#define PCHAR_KEEP "!$&'()*+,;=:@"
/* RFC 7252 §6.5 step 9: a query part keeps these ("&" separates parts) */
#define QUERY_KEEP "!$'()*+,;=:@/?"

static int is_dot_segment(const coap_msg_opt_t *o)
{
    const uint8_t *v = coap_msg_opt_value(o);
    return (o->len == 1 && v[0] == '.') || (o->len == 2 && v[0] == '.' && v[1] == '.');
}

/* When the location lies strictly under the device's base path: the first
 * option after the base's segments; NULL otherwise. */
static const coap_msg_opt_t *under_base(const coap_msg_t *m, const char *device_uri)
{
    coap_parsed_uri_t u; /* ~2.4 KB: fine on the stack, and reentrant */
    if (coap_uri_parse_ex(&u, device_uri, COAP_URI_TCP)) return NULL;
    const coap_msg_opt_t *o = coap_msg_find_opt(m, COAP_OPT_LOCATION_PATH);
    for (size_t i = 0; i < u.path_count; i++, o = coap_msg_next_opt(m, o))
        if (!o || o->len != u.path[i].len || memcmp(coap_msg_opt_value(o), u.path[i].s, o->len))
            return NULL;
    return o;
}

/* "/hc/coap://AUTHORITY" (coaps://, coap+tcp://, coaps+tcp://) from the request's
 * canonical URI. */
static int put_hc_origin(out_t *b, const char *target_uri)
{
    static const char *const schemes[] = {"coap://", "coaps://", "coap+tcp://", "coaps+tcp://"};
    size_t scheme = 0;
    for (size_t i = 0; i < 4 && !scheme; i++)
        if (!strncasecmp(target_uri, schemes[i], strlen(schemes[i]))) {
            scheme = strlen(schemes[i]);
            put(b, "/hc/", 4);
            put(b, schemes[i], scheme);
        }
    if (!scheme) return -1;
    const char *a = target_uri + scheme;
    size_t n = strcspn(a, "/?#");
    if (n == 0) return -1;
    for (size_t i = 0; i < n; i++) {
        if (a[i] == '[' || a[i] == ']') /* gen-delims: not allowed in a path */
            put(b, a[i] == '[' ? "%5B" : "%5D", 3);
        else
            put(b, a + i, 1);
    }
    return 0;
}

int gw_location_map(const coap_msg_t *m, const char *target_uri, const char *device,
                    const char *device_uri, char *out, size_t cap)
{
    const coap_msg_opt_t *path = coap_msg_find_opt(m, COAP_OPT_LOCATION_PATH);
    const coap_msg_opt_t *query = coap_msg_find_opt(m, COAP_OPT_LOCATION_QUERY);
    if (!cap) return -1;
    out[0] = '\0';
    if (!path && !query) return 0;
    for (const coap_msg_opt_t *o = path; o; o = coap_msg_next_opt(m, o))
        if (is_dot_segment(o)) return -1;
    out_t b = {out, cap, 0, 0};
    const coap_msg_opt_t *rest = device && device_uri && path ? under_base(m, device_uri) : NULL;
    if (rest) {
        put(&b, "/devices/", 9);
        put_encoded(&b, (const uint8_t *)device, strlen(device), PCHAR_KEEP);
    } else {
        if (put_hc_origin(&b, target_uri)) return -1;
        rest = path;
        if (!rest) put(&b, "/", 1); /* only a query: the root's */
    }
    for (const coap_msg_opt_t *o = rest; o; o = coap_msg_next_opt(m, o)) {
        put(&b, "/", 1);
        put_encoded(&b, coap_msg_opt_value(o), o->len, PCHAR_KEEP);
    }
    const char *sep = "?";
    for (const coap_msg_opt_t *o = query; o; o = coap_msg_next_opt(m, o), sep = "&") {
        put(&b, sep, 1);
        put_encoded(&b, coap_msg_opt_value(o), o->len, QUERY_KEEP);
    }
    if (b.overflow) {
        out[0] = '\0';
        return -1;
    }
    out[b.len] = '\0';
    return (int)b.len;
}
