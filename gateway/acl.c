/*
 * acl.c - allowlists: CIDR ranges, single addresses and host names.
 *
 * Address entries are stored masked to their prefix, so a lookup is a byte
 * compare plus one partial byte. IPv4-mapped IPv6 (::ffff:a.b.c.d) is
 * folded into IPv4 on both sides, patterns and addresses alike: a
 * dual-stack socket reports IPv4 peers that way, and checking them against
 * IPv6 ranges would let "::/0" open every IPv4 address.
 */
#include "gw_acl.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { ENTRY_V4, ENTRY_V6, ENTRY_NAME, ENTRY_SUFFIX };

typedef struct {
    int kind;
    unsigned prefix; /* bits, for addresses */
    uint8_t addr[16];
    char *name; /* lower case, no trailing dot; ".example.com" for a suffix */
} entry_t;

struct gw_acl {
    entry_t *v;
    size_t n, cap;
};

gw_acl_t *gw_acl_new(void)
{
    return calloc(1, sizeof(gw_acl_t));
}

void gw_acl_free(gw_acl_t *acl)
{
    if (!acl) return;
    for (size_t i = 0; i < acl->n; i++) free(acl->v[i].name);
    free(acl->v);
    free(acl);
}

size_t gw_acl_count(const gw_acl_t *acl)
{
    return acl ? acl->n : 0;
}

/* --- matching --- */

/* Whether the first prefix bits of a and b agree. */
static int prefix_eq(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
    size_t full = prefix / 8;
    unsigned rest = prefix % 8;
    if (memcmp(a, b, full)) return 0;
    return rest == 0 || ((a[full] ^ b[full]) & (uint8_t)(0xFF00u >> rest)) == 0;
}

static void mask(uint8_t *a, size_t bytes, unsigned prefix)
{
    for (size_t i = 0; i < bytes; i++) {
        unsigned bits = prefix >= 8 * (i + 1) ? 8 : prefix > 8 * i ? prefix - 8 * (unsigned)i : 0;
        a[i] &= (uint8_t)(0xFF00u >> bits);
    }
}

static int same_entry(const entry_t *a, const entry_t *b)
{
    if (a->kind != b->kind) return 0;
    if (a->kind == ENTRY_NAME || a->kind == ENTRY_SUFFIX) return !strcmp(a->name, b->name);
    return a->prefix == b->prefix && !memcmp(a->addr, b->addr, sizeof a->addr);
}

/* Takes e->name. Duplicates are dropped: the gateway adds every device's
 * address, and several devices often share one host. */
static int push(gw_acl_t *acl, entry_t *e)
{
    for (size_t i = 0; i < acl->n; i++) {
        if (same_entry(&acl->v[i], e)) {
            free(e->name);
            return 0;
        }
    }
    if (acl->n == acl->cap) {
        size_t cap = acl->cap ? acl->cap * 2 : 16;
        entry_t *v = realloc(acl->v, cap * sizeof *v);
        if (!v) {
            free(e->name);
            return -1;
        }
        acl->v = v;
        acl->cap = cap;
    }
    acl->v[acl->n++] = *e;
    return 0;
}

/* --- parsing --- */

/* ::ffff:0:0/96, on raw bytes (no struct in6_addr alignment to assume). */
static int v4_mapped(const uint8_t *a)
{
    static const uint8_t pre[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    return !memcmp(a, pre, sizeof pre);
}

/* "/N" with 1-3 plain digits and N <= max; strtoul would also take "+8",
 * " 8" and "-0". */
static int parse_prefix(const char *s, unsigned max, unsigned *out)
{
    size_t digits = strspn(s, "0123456789");
    if (digits == 0 || digits > 3 || s[digits]) return 0;
    unsigned v = (unsigned)atoi(s);
    if (v > max) return 0;
    *out = v;
    return 1;
}

/* "1.2.3.4", "1.2.3.4/N", "::1", "fd00::/8". inet_pton is strict: no
 * shorthand IPv4 ("1.2.3"), no zone ids, no leading zeros. */
static int parse_cidr(const char *pattern, entry_t *e)
{
    char buf[INET6_ADDRSTRLEN + 8];
    const char *slash = strchr(pattern, '/');
    size_t hl = slash ? (size_t)(slash - pattern) : strlen(pattern);
    if (hl == 0 || hl >= sizeof buf) return 0;
    memcpy(buf, pattern, hl);
    buf[hl] = '\0';
    if (inet_pton(AF_INET, buf, e->addr) == 1) {
        e->kind = ENTRY_V4;
        e->prefix = 32;
        if (slash && !parse_prefix(slash + 1, 32, &e->prefix)) return 0;
        mask(e->addr, 4, e->prefix);
        return 1;
    }
    if (inet_pton(AF_INET6, buf, e->addr) != 1) return 0;
    e->kind = ENTRY_V6;
    e->prefix = 128;
    if (slash && !parse_prefix(slash + 1, 128, &e->prefix)) return 0;
    /* ::ffff:a.b.c.d/N with N >= 96 is the IPv4 range a.b.c.d/(N-96):
     * mapped addresses are checked as IPv4, so store it as one */
    if (e->prefix >= 96 && v4_mapped(e->addr)) {
        memmove(e->addr, e->addr + 12, 4);
        memset(e->addr + 4, 0, 12);
        e->kind = ENTRY_V4;
        e->prefix -= 96;
        mask(e->addr, 4, e->prefix);
        return 1;
    }
    mask(e->addr, 16, e->prefix);
    return 1;
}

/* Host name length without one trailing dot (the root label). */
static size_t name_len(const char *s)
{
    size_t l = strlen(s);
    return l && s[l - 1] == '.' ? l - 1 : l;
}

static int parse_name(const char *pattern, entry_t *e)
{
    int wildcard = !strncmp(pattern, "*.", 2);
    const char *base = wildcard ? pattern + 2 : pattern;
    size_t l = name_len(base);
    if (!coap_host_name_valid(base, l)) return 0;
    /* a suffix keeps its leading dot: ".example.com" */
    size_t off = wildcard ? 1 : 0;
    if (!(e->name = malloc(off + l + 1))) return 0;
    if (wildcard) e->name[0] = '.';
    for (size_t i = 0; i < l; i++) e->name[off + i] = (char)tolower((unsigned char)base[i]);
    e->name[off + l] = '\0';
    e->kind = wildcard ? ENTRY_SUFFIX : ENTRY_NAME;
    return 1;
}

int gw_acl_add(gw_acl_t *acl, const char *pattern)
{
    entry_t e;
    memset(&e, 0, sizeof e);
    if (!acl || !pattern || !*pattern) return -1;
    /* Anything with ':' or '/' or only digits and dots is meant as an
     * address: if it does not parse as one, it is an error, not a name. */
    if (strpbrk(pattern, ":/") || strspn(pattern, "0123456789.") == strlen(pattern))
        return parse_cidr(pattern, &e) ? push(acl, &e) : -1;
    return parse_name(pattern, &e) ? push(acl, &e) : -1;
}

void gw_acl_add_defaults(gw_acl_t *acl)
{
    static const char *const defaults[] = {
        "127.0.0.0/8",    "::1",           /* loopback */
        "169.254.0.0/16", "fe80::/10",     /* link-local */
        "10.0.0.0/8",     "172.16.0.0/12", /* private */
        "192.168.0.0/16", "fc00::/7",      /* private, unique local */
    };
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) gw_acl_add(acl, defaults[i]);
}

int gw_acl_allows_addr(const gw_acl_t *acl, const coap_addr_t *a)
{
    if (!acl || !a) return 0;
    const uint8_t *bytes;
    int kind;
    if (a->u.sa.sa_family == AF_INET) {
        bytes = (const uint8_t *)&a->u.v4.sin_addr;
        kind = ENTRY_V4;
    } else if (a->u.sa.sa_family == AF_INET6) {
        const struct in6_addr *v6 = &a->u.v6.sin6_addr;
        int mapped = IN6_IS_ADDR_V4MAPPED(v6);
        bytes = v6->s6_addr + (mapped ? 12 : 0);
        kind = mapped ? ENTRY_V4 : ENTRY_V6;
        /* the zone id (sin6_scope_id) is not part of the match */
    } else {
        return 0;
    }
    for (size_t i = 0; i < acl->n; i++)
        if (acl->v[i].kind == kind && prefix_eq(acl->v[i].addr, bytes, acl->v[i].prefix)) return 1;
    return 0;
}

int gw_acl_allows_name(const gw_acl_t *acl, const char *host)
{
    if (!acl || !host) return 0;
    size_t l = name_len(host);
    /* only well-formed names match: an IP literal or "a..example.com"
     * never does */
    if (!coap_host_name_valid(host, l)) return 0;
    for (size_t i = 0; i < acl->n; i++) {
        const entry_t *e = &acl->v[i];
        size_t nl;
        if (e->kind == ENTRY_NAME) {
            if (strlen(e->name) == l && !strncasecmp(e->name, host, l)) return 1;
        } else if (e->kind == ENTRY_SUFFIX) {
            /* strictly longer: "*.example.com" does not cover example.com */
            nl = strlen(e->name);
            if (l > nl && !strncasecmp(host + l - nl, e->name, nl)) return 1;
        }
    }
    return 0;
}
