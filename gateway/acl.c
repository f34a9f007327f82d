/*
 * acl.c - allowlists: CIDR ranges, single addresses (optionally with one
 * port) and host names, and the guards that ranges never open.
 *
 * Address entries are stored masked to their prefix, so a lookup is a byte
 * compare plus one partial byte. IPv4-mapped IPv6 (::ffff:a.b.c.d) is
 * folded into IPv4 on both sides, patterns and addresses alike: a
 * dual-stack socket reports IPv4 peers that way, and checking them against
 * IPv6 ranges would let "::/0" open every IPv4 address.
 */
#include "base_buf.h"
#include "gw_acl.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { ENTRY_V4, ENTRY_V6, ENTRY_NAME, ENTRY_SUFFIX };

typedef struct {
    int kind;
    unsigned prefix; /* bits, for addresses */
    uint16_t port;   /* 0: any port; else this port only (ADDR:PORT) */
    uint8_t addr[16];
    char *name; /* lower case, no trailing dot; ".example.com" for a suffix */
} entry_t;

struct gw_acl {
    base_buf_t entries; /* entry_t[], in the order added */
};

static size_t entry_count(const gw_acl_t *acl)
{
    return acl->entries.len / sizeof(entry_t);
}

static entry_t *entry_at(const gw_acl_t *acl, size_t i)
{
    return (entry_t *)(void *)acl->entries.data + i;
}

/* The guarded address blocks (IPv4-mapped ones are folded into IPv4). */
typedef struct {
    int kind;
    unsigned prefix;
    uint8_t addr[16];
    unsigned guards;
} block_t;

#define META  (GW_ACL_GUARD_METADATA | GW_ACL_GUARD_LOCAL)
#define LOCAL GW_ACL_GUARD_LOCAL
static const block_t blocks[] = {
    {ENTRY_V4, 32, {169, 254, 169, 254}, META},                             /* AWS, GCP, Azure */
    {ENTRY_V6, 128, {0xfd, 0, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54}, META}, /* fd00:ec2::254 */
    {ENTRY_V4, 8, {127}, LOCAL},                                            /* loopback */
    {ENTRY_V4, 8, {0}, LOCAL},           /* "this host" (RFC 1122 §3.2.1.3): 0.0.0.0 is loopback */
    {ENTRY_V4, 16, {169, 254}, LOCAL},   /* link-local (RFC 3927) */
    {ENTRY_V6, 127, {0}, LOCAL},         /* :: and ::1, one block so that ::/127 is in it */
    {ENTRY_V6, 10, {0xfe, 0x80}, LOCAL}, /* link-local (RFC 4291 §2.5.6) */
    /* The same through a NAT64's well-known prefix 64:ff9b::/96 (RFC 6052
     * §2.1), which a DNS64 resolver hands out for IPv4-only names: the
     * translator reaches the embedded IPv4 address. */
    {ENTRY_V6, 128, {0, 0x64, 0xff, 0x9b, [12] = 169, 254, 169, 254}, META},
    {ENTRY_V6, 104, {0, 0x64, 0xff, 0x9b, [12] = 127}, LOCAL},
    {ENTRY_V6, 104, {0, 0x64, 0xff, 0x9b}, LOCAL},
    {ENTRY_V6, 112, {0, 0x64, 0xff, 0x9b, [12] = 169, 254}, LOCAL},
};
#undef META
#undef LOCAL

gw_acl_t *gw_acl_new(void)
{
    return calloc(1, sizeof(gw_acl_t));
}

void gw_acl_free(gw_acl_t *acl)
{
    if (!acl) return;
    for (size_t i = 0; i < entry_count(acl); i++) free(entry_at(acl, i)->name);
    base_buf_free(&acl->entries);
    free(acl);
}

size_t gw_acl_count(const gw_acl_t *acl)
{
    return acl ? entry_count(acl) : 0;
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

static unsigned full_prefix(int kind)
{
    return kind == ENTRY_V4 ? 32 : 128;
}

static int same_entry(const entry_t *a, const entry_t *b)
{
    if (a->kind != b->kind) return 0;
    if (a->kind == ENTRY_NAME || a->kind == ENTRY_SUFFIX) return !strcmp(a->name, b->name);
    return a->prefix == b->prefix && a->port == b->port &&
           !memcmp(a->addr, b->addr, sizeof a->addr);
}

/* Takes e->name. Duplicates are dropped: the gateway adds every device's
 * address, and several devices often share one host. */
static int push(gw_acl_t *acl, entry_t *e)
{
    for (size_t i = 0; i < entry_count(acl); i++) {
        if (same_entry(entry_at(acl, i), e)) {
            free(e->name);
            return 0;
        }
    }
    if (base_buf_append(&acl->entries, e, sizeof *e)) {
        free(e->name);
        return -1;
    }
    return 0;
}

/* An address as the entries store it: kind and bytes, IPv4-mapped folded
 * into IPv4; the zone id (sin6_scope_id) is not part of it. 0 for an
 * address of no known family. */
static int addr_key(const coap_addr_t *a, int *kind, const uint8_t **bytes)
{
    if (a->u.sa.sa_family == AF_INET) {
        *bytes = (const uint8_t *)&a->u.v4.sin_addr;
        *kind = ENTRY_V4;
        return 1;
    }
    if (a->u.sa.sa_family != AF_INET6) return 0;
    const struct in6_addr *v6 = &a->u.v6.sin6_addr;
    int mapped = IN6_IS_ADDR_V4MAPPED(v6);
    *bytes = v6->s6_addr + (mapped ? 12 : 0);
    *kind = mapped ? ENTRY_V4 : ENTRY_V6;
    return 1;
}

/* --- parsing --- */

/* ::ffff:0:0/96, on raw bytes (no struct in6_addr alignment to assume). */
static int v4_mapped(const uint8_t *a)
{
    static const uint8_t pre[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    return !memcmp(a, pre, sizeof pre);
}

/* 1-3 plain digits and at most max; strtoul would also take "+8", " 8"
 * and "-0". */
static int parse_prefix(const char *s, unsigned max, unsigned *out)
{
    size_t digits = strspn(s, "0123456789");
    if (digits == 0 || digits > 3 || s[digits]) return 0;
    unsigned v = (unsigned)atoi(s);
    if (v > max) return 0;
    *out = v;
    return 1;
}

/* 1-5 plain digits, 1 to 65535 (0 would read as "any port"). */
static int parse_port(const char *s, uint16_t *out)
{
    size_t digits = strspn(s, "0123456789");
    if (digits == 0 || digits > 5 || s[digits]) return 0;
    long v = atol(s);
    if (v < 1 || v > 65535) return 0;
    *out = (uint16_t)v;
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

/* One port of one address: "1.2.3.4:53" or "[fd00::1]:53" (brackets,
 * since an IPv6 address has colons of its own). No range, no name: a port
 * is opened on a host the operator named. */
static int parse_addr_port(const char *pattern, entry_t *e)
{
    char host[INET6_ADDRSTRLEN];
    const char *h = pattern, *colon;
    if (*pattern == '[') {
        const char *close = strchr(pattern, ']');
        if (!close || close[1] != ':') return 0;
        h = pattern + 1;
        colon = close + 1;
    } else {
        colon = strchr(pattern, ':');
    }
    size_t hl = (size_t)((*pattern == '[' ? colon - 1 : colon) - h);
    if (hl == 0 || hl >= sizeof host) return 0;
    memcpy(host, h, hl);
    host[hl] = '\0';
    /* IPv6 only in brackets, and IPv4 never in them */
    if (strchr(host, '/') || (*pattern == '[') != (strchr(host, ':') != NULL)) return 0;
    return parse_cidr(host, e) && parse_port(colon + 1, &e->port);
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

/* "[..." or exactly one ':' is ADDR:PORT (an IPv6 address has at least
 * two colons); anything else with ':' or '/' or only digits and dots is
 * an address or range: if it does not parse as one, it is an error, not a
 * name. */
static int parse_pattern(const char *pattern, entry_t *e)
{
    const char *colon = strchr(pattern, ':');
    if (*pattern == '[' || (colon && !strchr(colon + 1, ':'))) return parse_addr_port(pattern, e);
    if (strpbrk(pattern, ":/") || strspn(pattern, "0123456789.") == strlen(pattern))
        return parse_cidr(pattern, e);
    return parse_name(pattern, e);
}

int gw_acl_add(gw_acl_t *acl, const char *pattern)
{
    entry_t e;
    memset(&e, 0, sizeof e);
    if (!acl || !pattern || !*pattern) return -1;
    return parse_pattern(pattern, &e) ? push(acl, &e) : -1;
}

int gw_acl_add_addr(gw_acl_t *acl, const coap_addr_t *a, int with_port)
{
    entry_t e;
    const uint8_t *bytes;
    memset(&e, 0, sizeof e);
    if (!acl || !a || !addr_key(a, &e.kind, &bytes)) return -1;
    memcpy(e.addr, bytes, e.kind == ENTRY_V4 ? 4 : 16);
    e.prefix = full_prefix(e.kind);
    e.port = with_port ? coap_addr_port(a) : 0;
    return push(acl, &e);
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

/* --- checks --- */

int gw_acl_allows_addr(const gw_acl_t *acl, const coap_addr_t *a)
{
    int kind;
    const uint8_t *bytes;
    if (!acl || !a || !addr_key(a, &kind, &bytes)) return 0;
    for (size_t i = 0; i < entry_count(acl); i++) {
        const entry_t *e = entry_at(acl, i);
        if (e->kind == kind && !e->port && prefix_eq(e->addr, bytes, e->prefix)) return 1;
    }
    return 0;
}

int gw_acl_allows_name(const gw_acl_t *acl, const char *host)
{
    if (!acl || !host) return 0;
    size_t l = name_len(host);
    /* only well-formed names match: an IP literal or "a..example.com"
     * never does */
    if (!coap_host_name_valid(host, l)) return 0;
    for (size_t i = 0; i < entry_count(acl); i++) {
        const entry_t *e = entry_at(acl, i);
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

static unsigned guards_of(int kind, const uint8_t *bytes, uint16_t port, unsigned guards)
{
    unsigned tripped =
        (guards & GW_ACL_GUARD_LOW_PORTS) && port < 1024 ? GW_ACL_GUARD_LOW_PORTS : 0;
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
        if (blocks[i].kind == kind && prefix_eq(blocks[i].addr, bytes, blocks[i].prefix))
            tripped |= blocks[i].guards & guards;
    return tripped;
}

unsigned gw_acl_guarded(const coap_addr_t *a, unsigned guards)
{
    int kind;
    const uint8_t *bytes;
    if (!a || !addr_key(a, &kind, &bytes)) return 0;
    return guards_of(kind, bytes, coap_addr_port(a), guards);
}

/* The guards entry e satisfies for a target on port: naming the port
 * satisfies the low-port guard, naming the single address the metadata
 * guard, naming both the local guard. */
static unsigned satisfied_by(const entry_t *e, uint16_t port)
{
    int port_named = e->port != 0 && e->port == port;
    int addr_named = e->prefix == full_prefix(e->kind);
    return (port_named ? GW_ACL_GUARD_LOW_PORTS : 0) | (addr_named ? GW_ACL_GUARD_METADATA : 0) |
           (port_named && addr_named ? GW_ACL_GUARD_LOCAL : 0);
}

gw_acl_verdict_t gw_acl_check(const gw_acl_t *acl, unsigned guards, const coap_addr_t *a)
{
    int kind;
    const uint8_t *bytes;
    if (!acl || !a || !addr_key(a, &kind, &bytes)) return GW_ACL_UNLISTED;
    uint16_t port = coap_addr_port(a);
    unsigned tripped = guards_of(kind, bytes, port, guards), missing = ~0u;
    for (size_t i = 0; i < entry_count(acl); i++) {
        const entry_t *e = entry_at(acl, i);
        if (e->kind != kind || (e->port && e->port != port) ||
            !prefix_eq(e->addr, bytes, e->prefix))
            continue;
        unsigned m = tripped & ~satisfied_by(e, port);
        if (!m) return GW_ACL_ALLOWED;
        missing &= m; /* what no covering entry satisfies */
    }
    if (missing == ~0u) return GW_ACL_UNLISTED;
    if (!missing) missing = tripped;
    return missing & GW_ACL_GUARD_LOCAL      ? GW_ACL_LOCAL
           : missing & GW_ACL_GUARD_METADATA ? GW_ACL_METADATA
                                             : GW_ACL_LOW_PORT;
}

gw_acl_verdict_t gw_acl_check_target(const gw_acl_t *acl, const coap_addr_t *a, const char *host,
                                     char *why, size_t cap)
{
    gw_acl_verdict_t v = gw_acl_check(acl, GW_ACL_TARGET_GUARDS, a);
    char buf[COAP_ADDR_STRLEN];
    if (!host) { /* the address as the rules see it: IPv4-mapped as IPv4 */
        coap_addr_t plain = *a;
        coap_addr_unmap(&plain);
        host = coap_addr_host(&plain, buf, sizeof buf);
    }
    if (v == GW_ACL_UNLISTED)
        snprintf(why, cap, "target %s is not allowed (see proxy.allow_targets and --allow-target)",
                 host);
    else if (v == GW_ACL_METADATA)
        snprintf(why, cap,
                 "target %s is a cloud metadata address, which no range opens: name it in "
                 "proxy.allow_targets as the single address or as ADDR:PORT",
                 host);
    else if (v == GW_ACL_LOW_PORT)
        snprintf(why, cap,
                 "target port %u is below 1024 (RFC 7252 §11.5): name it in proxy.allow_targets "
                 "as ADDR:PORT",
                 coap_addr_port(a));
    return v;
}

int gw_acl_range_guarded(const char *pattern, unsigned guards)
{
    entry_t e;
    memset(&e, 0, sizeof e);
    const char *colon = pattern ? strchr(pattern, ':') : NULL;
    if (!pattern || *pattern == '[' || (colon && !strchr(colon + 1, ':')) ||
        !parse_cidr(pattern, &e))
        return -1;
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
        const block_t *b = &blocks[i];
        if ((b->guards & guards) && b->kind == e.kind && e.prefix >= b->prefix &&
            prefix_eq(b->addr, e.addr, b->prefix))
            return 1;
    }
    return 0;
}
