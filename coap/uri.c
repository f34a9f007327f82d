/*
 * uri.c - RFC 7252 §6.4 (URI -> options) and §6.5 (options -> URI).
 */
#include "coap_uri.h"
#include "base_buf.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int coap_pct_decode(const char *src, size_t len, char *dst, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)src[i];
        if (c == '%') {
            if (i + 2 >= len) return -1;
            int hi = hexval((unsigned char)src[i + 1]);
            int lo = hi < 0 ? -1 : hexval((unsigned char)src[i + 2]);
            if (lo < 0) return -1;
            c = hi << 4 | lo;
            i += 2;
        }
        if (n >= cap) return -1;
        dst[n++] = (char)c;
    }
    return (int)n;
}

/* Characters RFC 3986 allows in a URI at all (unreserved, reserved, '%').
 * Compared, not strchr: this runs for every byte of every proxied URI. */
static int uri_char_ok(int c)
{
    return c > 0x20 && c < 0x7F && c != '"' && c != '<' && c != '>' && c != '\\' && c != '^' &&
           c != '`' && c != '{' && c != '|' && c != '}';
}

/* Delimiters that cannot appear in a decoded reg-name (RFC 3986 §3.2.2). */
static int host_delim(int c)
{
    return c == '/' || c == '?' || c == '#' || c == '[' || c == ']' || c == '@';
}

/* Appends a decoded part into u->buf; returns the part or NULL when full. */
static int add_part(coap_parsed_uri_t *u, size_t *used, coap_uri_part_t *parts, uint16_t *count,
                    const char *raw, size_t len)
{
    if (*count >= COAP_URI_MAX_PARTS) return COAP_ERR_URI;
    int n = coap_pct_decode(raw, len, u->buf + *used, COAP_URI_BUF - *used);
    if (n < 0) return COAP_ERR_URI;
    parts[*count].s = u->buf + *used;
    parts[*count].len = (size_t)n;
    (*count)++;
    *used += (size_t)n;
    return COAP_OK;
}

static int parse_host(coap_parsed_uri_t *u, const char *p, size_t len)
{
    if (len == 0) return COAP_ERR_URI;
    if (p[0] == '[') {
        /* IP-literal (RFC 3986 §3.2.2); a zone id arrives as %25. */
        if (len < 3 || p[len - 1] != ']') return COAP_ERR_URI;
        int n = coap_pct_decode(p + 1, len - 2, u->host, sizeof u->host - 1);
        if (n < 0) return COAP_ERR_URI;
        u->host[n] = '\0';
        for (int i = 0; i < n && u->host[i] != '%'; i++) {
            if (!isxdigit((unsigned char)u->host[i]) && u->host[i] != ':' && u->host[i] != '.')
                return COAP_ERR_URI;
            u->host[i] = (char)tolower((unsigned char)u->host[i]);
        }
        u->host_is_literal = 1;
        return COAP_OK;
    }
    int n = coap_pct_decode(p, len, u->host, sizeof u->host - 1);
    if (n <= 0) return COAP_ERR_URI;
    u->host[n] = '\0';
    int dots = 0, digits_only = 1;
    for (int i = 0; i < n; i++) {
        /* §6.3: the host is case-insensitive; normalize to lower case. */
        u->host[i] = (char)tolower((unsigned char)u->host[i]);
        if (u->host[i] == '.')
            dots++;
        else if (!isdigit((unsigned char)u->host[i]))
            digits_only = 0;
        if (host_delim(u->host[i]) || (unsigned char)u->host[i] < 0x21) return COAP_ERR_URI;
    }
    u->host_is_literal = (digits_only && dots == 3);
    return COAP_OK;
}

static int parse_port(coap_parsed_uri_t *u, const char *p, size_t len)
{
    if (len == 0) return COAP_OK; /* "coap://h:/" - empty port means default */
    unsigned long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)p[i])) return COAP_ERR_URI;
        v = v * 10 + (unsigned)(p[i] - '0');
        if (v > 65535) return COAP_ERR_URI;
    }
    if (v == 0) return COAP_ERR_URI;
    u->port = (uint16_t)v;
    u->port_explicit = 1;
    return COAP_OK;
}

/* Splits the authority into host and port. */
static int parse_authority(coap_parsed_uri_t *u, const char *a, size_t len)
{
    if (memchr(a, '@', len)) return COAP_ERR_URI; /* no userinfo in CoAP URIs */
    size_t host_len = len;
    if (a[0] == '[') {
        const char *close = memchr(a, ']', len);
        if (!close) return COAP_ERR_URI;
        host_len = (size_t)(close - a) + 1;
        if (host_len < len && a[host_len] != ':') return COAP_ERR_URI;
    } else {
        const char *colon = memchr(a, ':', len);
        if (colon) host_len = (size_t)(colon - a);
    }
    int rc = parse_host(u, a, host_len);
    if (rc) return rc;
    if (host_len < len) return parse_port(u, a + host_len + 1, len - host_len - 1);
    return COAP_OK;
}

/* Splits the raw path into decoded segments, removing "." and ".."
 * (RFC 3986 §5.2.4). A path of "" or "/" yields no segment (§6.4 step 8). */
static int parse_path(coap_parsed_uri_t *u, size_t *used, const char *p, size_t len)
{
    if (len == 0) return COAP_OK;
    if (p[0] != '/') return COAP_ERR_URI;
    const char *end = p + len;
    const char *s = p + 1;
    for (;;) {
        const char *slash = memchr(s, '/', (size_t)(end - s));
        const char *e = slash ? slash : end;
        size_t sl = (size_t)(e - s);
        int dot = (sl == 1 && s[0] == '.');
        int dotdot = (sl == 2 && s[0] == '.' && s[1] == '.');
        if (dotdot && u->path_count > 0) u->path_count--;
        if (dot || dotdot) {
            if (!slash && add_part(u, used, u->path, &u->path_count, "", 0)) return COAP_ERR_URI;
        } else if (add_part(u, used, u->path, &u->path_count, s, sl)) {
            return COAP_ERR_URI;
        }
        if (!slash) break;
        s = slash + 1;
    }
    if (u->path_count == 1 && u->path[0].len == 0) u->path_count = 0;
    return COAP_OK;
}

static int parse_query(coap_parsed_uri_t *u, size_t *used, const char *q, size_t len)
{
    if (len == 0) return COAP_OK;
    const char *end = q + len;
    for (;;) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *e = amp ? amp : end;
        if (add_part(u, used, u->query, &u->query_count, q, (size_t)(e - q))) return COAP_ERR_URI;
        if (!amp) break;
        q = amp + 1;
    }
    return COAP_OK;
}

int coap_uri_parse(coap_parsed_uri_t *u, const char *uri)
{
    return coap_uri_parse_ex(u, uri, 0);
}

int coap_uri_parse_ex(coap_parsed_uri_t *u, const char *uri, int flags)
{
    memset(u, 0, offsetof(coap_parsed_uri_t, path));
    size_t len = strlen(uri);
    for (size_t i = 0; i < len; i++)
        if (!uri_char_ok((unsigned char)uri[i])) return COAP_ERR_URI;
    /* §6.4 step 1-2: an absolute URI whose scheme is coap or coaps. */
    const char *colon = strchr(uri, ':');
    if (!colon || colon == uri) return COAP_ERR_URI;
    size_t slen = (size_t)(colon - uri);
    if (slen == 4 && strncasecmp(uri, "coap", 4) == 0)
        u->secure = 0;
    else if (slen == 5 && strncasecmp(uri, "coaps", 5) == 0)
        u->secure = 1;
    else if ((flags & COAP_URI_TCP) && slen == 8 && strncasecmp(uri, "coap+tcp", 8) == 0)
        u->tcp = 1; /* RFC 8323 §8.1 */
    else if ((flags & COAP_URI_TCP) && slen == 9 && strncasecmp(uri, "coaps+tcp", 9) == 0)
        u->tcp = u->secure = 1; /* §8.2 */
    else
        return COAP_ERR_URI_SCHEME;
    /* §6.4 step 3: fragments are not allowed. */
    if (strchr(uri, '#')) return COAP_ERR_URI_FRAGMENT;
    if (strncmp(colon, "://", 3) != 0) return COAP_ERR_URI;
    u->port = u->secure ? COAPS_DEFAULT_PORT : COAP_DEFAULT_PORT;

    const char *auth = colon + 3;
    size_t auth_len = strcspn(auth, "/?");
    int rc = parse_authority(u, auth, auth_len);
    if (rc) return rc;
    const char *path = auth + auth_len;
    size_t path_len = strcspn(path, "?");
    size_t used = 0;
    if (parse_path(u, &used, path, path_len)) return COAP_ERR_URI;
    if (path[path_len] == '?' &&
        parse_query(u, &used, path + path_len + 1, strlen(path + path_len + 1)))
        return COAP_ERR_URI;
    return COAP_OK;
}

int coap_uri_to_options(const coap_parsed_uri_t *u, coap_msg_t *m, int flags)
{
    int rc = COAP_OK;
    if ((flags & COAP_URI_OPT_HOST) && !u->host_is_literal)
        rc = coap_msg_add_str(m, COAP_OPT_URI_HOST, u->host);
    uint16_t def = u->secure ? COAPS_DEFAULT_PORT : COAP_DEFAULT_PORT;
    if (!rc && (flags & COAP_URI_OPT_PORT) && u->port != def)
        rc = coap_msg_add_uint(m, COAP_OPT_URI_PORT, u->port);
    for (unsigned i = 0; !rc && i < u->path_count; i++)
        rc = coap_msg_add_opt(m, COAP_OPT_URI_PATH, u->path[i].s, u->path[i].len);
    for (unsigned i = 0; !rc && i < u->query_count; i++)
        rc = coap_msg_add_opt(m, COAP_OPT_URI_QUERY, u->query[i].s, u->query[i].len);
    return rc;
}

/* --- composing (§6.5) --- */

typedef struct {
    char *out;
    size_t cap, len;
    int overflow;
} sbuf_t;

static void put(sbuf_t *b, const char *s, size_t n)
{
    if (b->len + n >= b->cap) {
        b->overflow = 1;
        return;
    }
    memcpy(b->out + b->len, s, n);
    b->len += n;
}

/* ASCII only, not isalnum: the URI's bytes are not in any locale. */
static int is_unreserved(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static int kept(int c, const char *keep)
{
    return is_unreserved(c) || (c && c < 0x7F && strchr(keep, c));
}

/* Percent-encodes every byte that is not unreserved and not in `keep`;
 * runs that need no encoding are copied whole. */
static void put_encoded(sbuf_t *b, const uint8_t *s, size_t n, const char *keep)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n;) {
        size_t run = i;
        while (run < n && kept(s[run], keep)) run++;
        if (run > i) put(b, (const char *)s + i, run - i);
        if (run == n) break;
        int c = s[run];
        char e[3] = {'%', hex[c >> 4], hex[c & 15]};
        put(b, e, 3);
        i = run + 1;
    }
}

#define SUB_DELIMS "!$&'()*+,;="

int coap_uri_compose(const coap_msg_t *m, int scheme, const char *dest_host, uint16_t dest_port,
                     char *out, size_t cap)
{
    static const char *const names[] = {"coap://", "coaps://", "coap+tcp://", "coaps+tcp://"};
    const char *name = names[scheme & 3];
    int secure = scheme & COAP_SCHEME_SECURE; /* RFC 8323 §8.2: TLS keeps 5684 */
    sbuf_t b = {out, cap, 0, 0};
    put(&b, name, strlen(name));

    const coap_msg_opt_t *h = coap_msg_find_opt(m, COAP_OPT_URI_HOST);
    const uint8_t *host = h ? coap_msg_opt_value(h) : (const uint8_t *)dest_host;
    size_t host_len = h ? h->len : strlen(dest_host);
    int v6 = memchr(host, ':', host_len) != NULL;
    if (v6) put(&b, "[", 1);
    put_encoded(&b, host, host_len, v6 ? ":" : SUB_DELIMS);
    if (v6) put(&b, "]", 1);

    uint32_t port = dest_port;
    coap_msg_get_uint(m, COAP_OPT_URI_PORT, &port);
    if (port != (secure ? COAPS_DEFAULT_PORT : COAP_DEFAULT_PORT)) {
        char pb[11] = ":";
        put(&b, pb, 1 + base_fmt_u32(pb + 1, port));
    }

    const coap_msg_opt_t *o = coap_msg_find_opt(m, COAP_OPT_URI_PATH);
    if (!o) put(&b, "/", 1);
    for (; o; o = coap_msg_next_opt(m, o)) {
        put(&b, "/", 1);
        /* "." and ".." would be removed by a resolver: encode them. */
        const uint8_t *v = coap_msg_opt_value(o);
        if ((o->len == 1 && v[0] == '.') || (o->len == 2 && v[0] == '.' && v[1] == '.'))
            put(&b, "%2E%2E", o->len * 3);
        else
            put_encoded(&b, v, o->len, SUB_DELIMS ":@");
    }
    const char *sep = "?";
    for (o = coap_msg_find_opt(m, COAP_OPT_URI_QUERY); o; o = coap_msg_next_opt(m, o)) {
        put(&b, sep, 1);
        sep = "&";
        put_encoded(&b, coap_msg_opt_value(o), o->len, "!$'()*+,;=:@/?");
    }
    if (b.overflow) return COAP_ERR_NOSPACE;
    out[b.len] = '\0';
    return (int)b.len;
}
