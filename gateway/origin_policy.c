/*
 * origin_policy.c - which HTTP origins CoAP clients may reach through the
 * gateway (proxy.allow_origins).
 *
 * Safety (RFC 8075 §10): no origin is reachable unless proxy.allow_origins
 * lists it; loopback, unspecified, link-local and cloud-metadata addresses
 * stay refused unless an origin entry names them exactly (scheme, address,
 * port), and the check runs again on the address actually connected to,
 * after DNS.
 */
#include "reverse_internal.h"
#include "base_buf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 8075 §10: loopback, unspecified, link-local and cloud-metadata
 * addresses are reached only through an origin entry naming them exactly
 * (scheme, address and port); an address or range entry never opens them. */
#define ORIGIN_GUARDS GW_ACL_GUARD_LOCAL

static int origin_key(const http_url_t *u, rv_origin_t *o)
{
    if (!u || u->port > 65535) return -1;
    size_t i = 0;
    for (; u->host[i] && i + 1 < sizeof o->host; i++)
        o->host[i] = (char)tolower((unsigned char)u->host[i]);
    o->host[i] = '\0';
    o->port = (uint16_t)u->port;
    /* "scheme://host:port", without printf's cost (every request) */
    _Static_assert(sizeof o->key >= sizeof u->scheme + 3 + sizeof o->host + 6, "key too short");
    char *k = o->key;
    size_t n = strlen(u->scheme);
    memcpy(k, u->scheme, n);
    memcpy(k + n, "://", 3);
    k += n + 3;
    memcpy(k, o->host, i);
    k += i;
    *k++ = ':';
    k += base_fmt_u32(k, u->port);
    *k = '\0';
    return 0;
}

static size_t origin_count(const rv_origins_t *p)
{
    return p->origins.len / sizeof(char *);
}

static char *origin_at(const rv_origins_t *p, size_t i)
{
    return ((char **)(void *)p->origins.data)[i];
}

static int add_origin_url(rv_origins_t *p, const char *url)
{
    rv_origin_t o;
    http_url_t u;
    char *key;
    if (http_url_parse(url, &u)) return -1;
    http_url_release(&u);
    if (origin_key(&u, &o) || !(key = strdup(o.key))) return -1;
    if (base_buf_append(&p->origins, &key, sizeof key)) {
        free(key);
        return -1;
    }
    return 0;
}

static int add_origin_entry(rv_origins_t *p, const char *e, char *err, size_t errlen)
{
    int rc = -1;
    if (strstr(e, "://")) {
        rc = add_origin_url(p, e);
    } else {
        int guarded = gw_acl_range_guarded(e, ORIGIN_GUARDS);
        if (guarded == 1) { /* it would silently open nothing */
            snprintf(err, errlen,
                     "proxy.allow_origins entry \"%s\" lies within loopback, unspecified, "
                     "link-local or cloud-metadata addresses, which an address or range never "
                     "opens: name the origin as http://HOST:PORT",
                     e);
            return -1;
        }
        if (guarded == 0) rc = gw_acl_add(p->ranges, e);
    }
    if (rc)
        snprintf(err, errlen,
                 "bad proxy.allow_origins entry \"%s\" (want an origin such as "
                 "http://10.0.0.5:8080, an address or a CIDR range)",
                 e);
    return rc;
}

static int origin_listed(const rv_origins_t *p, const char *key)
{
    for (size_t i = 0; i < origin_count(p); i++)
        if (!strcmp(origin_at(p, i), key)) return 1;
    return 0;
}

/* Whether origin o may be reached at address a (with its port). */
static gw_acl_verdict_t origin_verdict(const rv_origins_t *p, const rv_origin_t *o,
                                       const coap_addr_t *a)
{
    if (origin_listed(p, o->key)) {
        coap_addr_t lit, at = *a;
        if (!coap_addr_from_host(&lit, o->host, o->port)) { /* named by address: that one only */
            coap_addr_unmap(&lit);
            coap_addr_unmap(&at);
            return coap_addr_equal(&lit, &at) ? GW_ACL_ALLOWED : GW_ACL_UNLISTED;
        }
        /* named by host name: wherever DNS leads, but never to a guarded
         * address (a name is no exact naming) */
        return gw_acl_guarded(a, ORIGIN_GUARDS) ? GW_ACL_LOCAL : GW_ACL_ALLOWED;
    }
    return gw_acl_check(p->ranges, ORIGIN_GUARDS, a);
}

int rv_origin_allowed(const rv_origins_t *p, const http_url_t *url, rv_origin_t *o, char *diag,
                      size_t cap)
{
    coap_addr_t lit;
    gw_acl_verdict_t v = GW_ACL_UNLISTED;
    if (origin_key(url, o))
        v = GW_ACL_UNLISTED;
    else if (!coap_addr_from_host(&lit, o->host, o->port))
        v = origin_verdict(p, o, &lit);
    else if (origin_listed(p, o->key) || gw_acl_count(p->ranges))
        v = GW_ACL_ALLOWED;
    if (v == GW_ACL_LOCAL)
        snprintf(diag, cap,
                 "origin %s is a loopback, unspecified, link-local or cloud-metadata address: "
                 "only an entry naming it exactly (http://HOST:PORT) in proxy.allow_origins "
                 "opens it",
                 o->host);
    else if (v)
        snprintf(diag, cap,
                 "origin not allowed: list it in proxy.allow_origins (or --allow-origin)");
    return v == GW_ACL_ALLOWED;
}

int rv_origin_addr_ok(const rv_origins_t *p, const rv_origin_t *o, const coap_addr_t *a)
{
    return origin_verdict(p, o, a) == GW_ACL_ALLOWED;
}

void rv_origins_free(rv_origins_t *p)
{
    gw_acl_free(p->ranges);
    for (size_t i = 0; i < origin_count(p); i++) free(origin_at(p, i));
    base_buf_free(&p->origins);
    p->ranges = NULL;
}

int rv_origins_build(rv_origins_t *p, char *const *origins, size_t n, char *err, size_t errlen)
{
    *p = (rv_origins_t){.ranges = gw_acl_new()};
    if (!p->ranges) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (add_origin_entry(p, origins[i], err, errlen)) {
            rv_origins_free(p);
            return -1;
        }
    }
    return 0;
}
