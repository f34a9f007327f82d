/*
 * target.c - from an HTTP URL to a CoAP target (RFC 8075 §5): the default
 * mapping /hc/coap[s]://HOST[:PORT]/PATH[?QUERY], /hc/?target_uri=URI, and
 * named devices /devices/NAME/PATH[?QUERY]; then the allowlist
 * (gw_acl_check_target), the one check of every CoAP target, and for
 * coaps:// and coaps+tcp:// the credentials that will open the DTLS
 * session or TLS connection. A device that registered over the DTLS, TCP
 * or TLS listener is the exception: it is reached through its own
 * session or connection (t->ep), neither allowlist nor credentials.
 */
#include "gw.h"
#include "coap_uri.h"
#include "gw_creds.h"
#include "gw_coaps.h"
#include "gw_dns.h"
#include "gw_tcp.h"
#include "gw_tokens.h"

#include <ctype.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- URL forms --- */

/* s past prefix, or NULL when s does not start with it. */
static const char *after_prefix(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(s, prefix, n) ? NULL : s + n;
}

/* What follows "/hc/" ("" for "/hc" alone), or NULL for another path. */
static const char *hc_rest(const char *path)
{
    return !strcmp(path, "/hc") ? "" : after_prefix(path, "/hc/");
}

int gw_target_path(const char *path)
{
    return hc_rest(path) || after_prefix(path, "/devices/");
}

static void pct_decode_inplace(char *s)
{
    int n = coap_pct_decode(s, strlen(s), s, strlen(s) + 1);
    if (n >= 0) s[n] = '\0';
}

/* "/hc/" + target: the target may arrive percent-encoded as a whole
 * ("coap%3A%2F%2F...") or with the IPv6 brackets encoded (RFC 8075 §5.3). */
static int hc_target(http_req_t *req, const char *rest, const char *q, char *out, size_t cap)
{
    if (*rest == '\0') {
        const char *tu = http_req_arg(req, "target_uri");
        if (!tu) return -1;
        snprintf(out, cap, "%s", tu);
        return 0;
    }
    return gw_target_hc_uri(rest, q, out, cap);
}

int gw_target_hc_uri(const char *rest, const char *q, char *out, size_t cap)
{
    if ((size_t)snprintf(out, cap, "%s", rest) >= cap) return -1;
    if (!strncasecmp(out, "coap%3A", 7) || !strncasecmp(out, "coaps%3A", 8) ||
        !strncasecmp(out, "coap%2Btcp%3A", 13) || !strncasecmp(out, "coaps%2Btcp%3A", 14))
        pct_decode_inplace(out);
    char *a = strstr(out, "://");
    if (a) {
        a += 3;
        if (!strncasecmp(a, "%5B", 3)) {
            char *end = strcasestr(a, "%5D");
            if (end) {
                memmove(end + 1, end + 3, strlen(end + 3) + 1);
                *end = ']';
                memmove(a + 1, a + 3, strlen(a + 3) + 1);
                *a = '[';
            }
        }
    }
    size_t l = strlen(out);
    if (*q && (size_t)snprintf(out + l, cap - l, "?%s", q) >= cap - l) return -1;
    return 0;
}

/* "NAME/PATH" after "/devices/" -> the device's base URI + "/PATH" + query. */
static int device_target(gw_t *gw, const char *rest, const char *query, char *out, size_t cap,
                         const gw_device_t **dev)
{
    char name[64];
    size_t nl = strcspn(rest, "/?");
    if (nl == 0 || nl >= sizeof name) return 404;
    memcpy(name, rest, nl);
    name[nl] = '\0';
    pct_decode_inplace(name);
    *dev = gw_device_find(gw, name);
    if (!*dev) return 404;
    const char *path = rest[nl] == '/' ? rest + nl : "/";
    const char *parts[] = {(*dev)->uri, path, query && *query ? "?" : "", query ? query : ""};
    size_t n = 0; /* joined without snprintf: this runs for every request */
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        size_t len = strlen(parts[i]);
        if (len >= cap - n) return 414;
        memcpy(out + n, parts[i], len);
        n += len;
    }
    out[n] = '\0';
    return 0;
}

/* --- the gateway itself --- */

static int addr_is_loopback_or_any(const coap_addr_t *a)
{
    if (a->u.sa.sa_family == AF_INET) {
        uint32_t v4 = ntohl(a->u.v4.sin_addr.s_addr);
        return v4 >> 24 == 127 || v4 == 0;
    }
    return IN6_IS_ADDR_LOOPBACK(&a->u.v6.sin6_addr) || IN6_IS_ADDR_UNSPECIFIED(&a->u.v6.sin6_addr);
}

/* One of this host's interface addresses (a wildcard-bound port answers
 * on all of them). getifaddrs asks the kernel, it does not block on DNS. */
static int addr_is_local(const coap_addr_t *a)
{
    struct ifaddrs *list;
    if (getifaddrs(&list)) return 0;
    int found = 0;
    for (struct ifaddrs *i = list; i && !found; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != a->u.sa.sa_family) continue;
        if (a->u.sa.sa_family == AF_INET)
            found = !memcmp(&((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr,
                            &a->u.v4.sin_addr, sizeof a->u.v4.sin_addr);
        else
            found = !memcmp(&((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr,
                            &a->u.v6.sin6_addr, sizeof a->u.v6.sin6_addr);
    }
    freeifaddrs(list);
    return found;
}

/* Whether `target` is the gateway's own CoAP endpoint for its scheme
 * (coap.listen for coap://, coap.listen_dtls for coaps://, coap.listen_tcp
 * for coap+tcp://, coap.listen_tls for coaps+tcp://): a request
 * proxied there would arrive from the gateway's own address and pass for
 * a local client (the Resource Directory trusts the source host), or
 * over DTLS as whatever identity its credentials name, and could loop
 * back through the forward proxy. */
static int is_gateway_itself(gw_t *gw, const coap_addr_t *target, int secure, int tcp)
{
    /* read once at start: no system call per request */
    const coap_addr_t *own = tcp && secure ? &gw->tls_addr
                             : tcp         ? &gw->tcp_addr
                             : secure      ? &gw->dtls_addr
                                           : &gw->srv_addr;
    const coap_ep_t *ep = tcp && secure ? gw->tls_srv_ep
                          : tcp         ? gw->tcp_srv_ep
                          : secure      ? gw->dtls_ep
                                        : gw->srv_ep;
    coap_addr_t t = *target;
    if (!ep) return 0;
    coap_addr_unmap(&t);
    if (coap_addr_port(&t) != coap_addr_port(own)) return 0;
    return coap_addr_equal(&t, own) || addr_is_loopback_or_any(&t) || addr_is_local(&t);
}

#define FAIL(code, ...) (snprintf(msg, cap, __VA_ARGS__), (code))

/* coaps://: the credentials entry for the device the request named, else
 * for the host (docs/configuration.md); none is a 502 before any
 * handshake. */
static int pick_creds(gw_t *gw, const coap_parsed_uri_t *u, gw_target_t *t, char *msg, size_t cap)
{
    const char *name = gw_creds_pick(gw->creds, t->device ? t->device->name : NULL, u->host);
    if (name && strlen(name) < sizeof t->creds) {
        strcpy(t->creds, name);
        return 0;
    }
    gw_dtls_explain(t->uri, COAP_ERR_DTLS_NO_CREDENTIALS, msg, cap);
    return 502;
}

/* The canonical form (§6.5, the scheme kept) of u that keys the cache,
 * coalescing and the observe hub. */
static int compose(const coap_parsed_uri_t *u, gw_target_t *t, char *msg, size_t cap)
{
    coap_msg_t m;
    coap_msg_init(&m, COAP_CON, COAP_GET, 0);
    coap_uri_to_options(u, &m, COAP_URI_OPT_HOST | COAP_URI_OPT_PORT);
    if (coap_uri_compose(&m, coap_uri_scheme(u), u->host, u->port, t->uri, sizeof t->uri) < 0)
        return FAIL(414, "target URI too long");
    t->secure = u->secure;
    t->tcp = u->tcp;
    return 0;
}

/* A device registered over the DTLS listener is reached through the
 * session it registered over (its URI is coaps://PEER), whatever the
 * allowlist and without credentials: the listener opens no session
 * itself, so the request can go to that authenticated peer and no one
 * else. */
static int session_target(gw_t *gw, const char *raw, gw_target_t *t, coap_parsed_uri_t *u,
                          char *msg, size_t cap)
{
    int rc = coap_uri_parse(u, raw);
    if (rc) return FAIL(400, "malformed target URI %s: %s", raw, coap_strerror(rc));
    u->secure = 1;
    t->addr = t->device->addr;
    t->ep = gw->dtls_ep;
    return compose(u, t, msg, cap);
}

/* A device registered over the TCP or TLS listener is reached over the
 * connection it registered over (its URI is coap+tcp://PEER or
 * coaps+tcp://PEER): the listener never connects out, so the request goes
 * to that peer and no one else. With the connection gone (the device is
 * offline), or no listener (a restored registration after a restart with
 * coap.listen_tcp or coap.listen_tls off), there is no way to it until it
 * connects again: 504 at once, and never a connection of our own to the
 * port it connected from. */
static int conn_target(gw_t *gw, const char *raw, gw_target_t *t, coap_parsed_uri_t *u, char *msg,
                       size_t cap)
{
    int rc = coap_uri_parse_ex(u, raw, COAP_URI_TCP);
    if (rc) return FAIL(400, "malformed target URI %s: %s", raw, coap_strerror(rc));
    t->addr = t->device->addr;
    t->ep = u->secure ? gw->tls_srv_ep : gw->tcp_srv_ep;
    if ((rc = compose(u, t, msg, cap))) return rc;
    if (t->ep && t->device->online) return 0;
    if (!gw_tcp_gone(gw, t->ep, t->uri, &t->addr, COAP_ERR_CONN_CLOSED, msg, cap))
        snprintf(msg, cap, "%s: the device registered over a %s connection, and %s is off now",
                 t->uri, u->secure ? "TLS" : "TCP",
                 u->secure ? "coap.listen_tls" : "coap.listen_tcp");
    return 504;
}

/* The address of a host name (the port is u's): from the resolver's
 * cache, else GW_TARGET_WAIT with the name in msg while its query runs.
 * A configured device's address follows its name's. */
static int resolve_name(gw_t *gw, const coap_parsed_uri_t *u, const gw_device_t *d, gw_target_t *t,
                        char *msg, size_t cap)
{
    gw_dns_result_t r = gw->dns ? gw_dns_lookup(gw->dns, u->host, &t->addr) : GW_DNS_FAILED;
    if (r == GW_DNS_WAIT) return FAIL(GW_TARGET_WAIT, "%s", u->host);
    if (r == GW_DNS_FULL)
        return FAIL(503, "cannot resolve %s now: %d names are being resolved", u->host,
                    GW_DNS_MAX_NAMES);
    if (r == GW_DNS_FAILED) return FAIL(502, "cannot resolve %s", u->host);
    if (t->addr.u.sa.sa_family == AF_INET)
        t->addr.u.v4.sin_port = htons(u->port);
    else
        t->addr.u.v6.sin6_port = htons(u->port);
    if (d && d->source == GW_DEV_CONFIG) gw_device_follow(gw, d, &t->addr);
    return 0;
}

/* The allowlist on the address a name resolved to, every time (a name
 * that moves cannot take the request where its address is refused: DNS
 * rebinding). A configured device's name was given by the operator: its
 * address may lie outside the ranges, but not where a guard is (a low
 * port, the metadata service): only an exact entry opens those. */
static int check_named(gw_t *gw, const char *host, const gw_device_t *d, const gw_target_t *t,
                       char *msg, size_t cap)
{
    gw_acl_verdict_t v = gw_acl_check_target(gw->acl, &t->addr, host, msg, cap);
    if (v == GW_ACL_ALLOWED) return 0;
    if (d && v == GW_ACL_UNLISTED && !gw_acl_guarded(&t->addr, GW_ACL_TARGET_GUARDS)) return 0;
    char addr[COAP_ADDR_STRLEN];
    size_t l = strlen(msg);
    snprintf(msg + l, cap - l, "; %s resolves to %s", host,
             coap_addr_str(&t->addr, addr, sizeof addr));
    return 403;
}

/* The common part: a device's own session or connection first; else
 * parse the URI (into u: the request's options are built from it, not
 * from a second parse of the canonical form), find its address, apply the
 * allowlist, compose the canonical form, and for coaps:// pick the
 * credentials. */
static int finish_target(gw_t *gw, const char *raw, gw_target_t *t, coap_parsed_uri_t *u, char *msg,
                         size_t cap)
{
    if (t->device && t->device->held_by) /* gw_forward_route takes its own URLs */
        return FAIL(503, "%s is held by another gateway (%s): ask for /devices/%s/...",
                    t->device->name, t->device->held_by, t->device->name);
    /* first: a device over TLS has an identity too (via_session) */
    if (t->device && t->device->via_conn) return conn_target(gw, raw, t, u, msg, cap);
    if (t->device && t->device->via_session && gw->dtls_ep)
        return session_target(gw, raw, t, u, msg, cap);
    t->ep = NULL; /* gw_target_ep picks it by scheme */
    int rc = coap_uri_parse_ex(u, raw, COAP_URI_TCP);
    if (rc == COAP_ERR_URI_SCHEME)
        return FAIL(400,
                    "unsupported scheme in %s: coap://, coaps://, coap+tcp:// and coaps+tcp:// "
                    "are proxied",
                    raw);
    if (rc) return FAIL(400, "malformed target URI %s: %s", raw, coap_strerror(rc));
    const gw_device_t *d = NULL;
    if (u->host_is_literal) {
        if (coap_addr_from_host(&t->addr, u->host, u->port))
            return FAIL(400, "malformed address in %s", raw);
        /* [::ffff:a.b.c.d] is the IPv4 peer: the endpoint keeps peers
         * unmapped, and would not match the answer to a mapped one */
        coap_addr_unmap(&t->addr);
    } else {
        d = t->device ? t->device : gw_device_by_host(gw, u->host, u->port);
        if (!gw_acl_allows_name(gw->acl, u->host) && !d)
            return FAIL(403,
                        "target %s is not allowed (see proxy.allow_targets and "
                        "--allow-target)",
                        u->host);
        if ((rc = resolve_name(gw, u, d, t, msg, cap))) return rc;
    }
    if (is_gateway_itself(gw, &t->addr, u->secure, u->tcp))
        return FAIL(403, "target is the gateway itself");
    /* ranges never open low ports or the metadata service (RFC 7252 §11.5) */
    if (!u->host_is_literal && check_named(gw, u->host, d, t, msg, cap)) return 403;
    if (u->host_is_literal && gw_acl_check_target(gw->acl, &t->addr, u->host, msg, cap)) return 403;
    int status = compose(u, t, msg, cap);
    return !status && u->secure ? pick_creds(gw, u, t, msg, cap) : status;
}

int gw_target_parse(gw_t *gw, const char *spec, gw_target_t *t, char *msg, size_t cap)
{
    char raw[GW_URI_MAX];
    memset(t, 0, sizeof *t);
    const char *dev = after_prefix(spec, "/devices/");
    if (dev) {
        const char *q = strchr(dev, '?');
        char rest[GW_URI_MAX];
        snprintf(rest, sizeof rest, "%.*s", (int)(q ? (size_t)(q - dev) : strlen(dev)), dev);
        int rc = device_target(gw, rest, q ? q + 1 : NULL, raw, sizeof raw, &t->device);
        if (rc == 404) return FAIL(404, "unknown device in %s", spec);
        if (rc) return FAIL(414, "target URI too long");
    } else if ((size_t)snprintf(raw, sizeof raw, "%s", spec) >= sizeof raw) {
        return FAIL(414, "target URI too long");
    }
    coap_parsed_uri_t u; /* about 2.4 KB: on the stack, the loop runs shallow */
    return finish_target(gw, raw, t, &u, msg, cap);
}

int gw_target_of_device(gw_t *gw, const gw_device_t *d, const char *uri, gw_target_t *t, char *msg,
                        size_t cap)
{
    memset(t, 0, sizeof *t);
    t->device = d;
    coap_parsed_uri_t u; /* about 2.4 KB: on the stack, the loop runs shallow */
    return finish_target(gw, uri, t, &u, msg, cap);
}

int gw_target_resolve(gw_t *gw, http_req_t *req, gw_target_t *t, coap_parsed_uri_t *u)
{
    const char *path = http_req_path(req), *hc = hc_rest(path);
    char raw[GW_URI_MAX], msg[GW_MSG_MAX], query[GW_URI_MAX];
    memset(t, 0, sizeof *t);
    int rc;
    if (gw_auth_strip_query(gw->cfg.ntokens > 0, http_req_query(req), query, sizeof query))
        return http_respond_text(req, 414, "target URI too long"), -1;
    if (hc) {
        if (hc_target(req, hc, query, raw, sizeof raw))
            return http_respond_text(req, 400,
                                     "no target URI: use /hc/coap[s]://HOST[:PORT]/PATH "
                                     "or /hc/?target_uri=URI"),
                   -1;
        rc = finish_target(gw, raw, t, u, msg, sizeof msg);
    } else {
        const char *dev = after_prefix(path, "/devices/");
        rc = dev ? device_target(gw, dev, query, raw, sizeof raw, &t->device) : 404;
        if (rc == 404) return http_respond_text(req, 404, "unknown device"), -1;
        if (!rc)
            rc = finish_target(gw, raw, t, u, msg, sizeof msg);
        else
            snprintf(msg, sizeof msg, "target URI too long");
    }
    if (rc == GW_TARGET_WAIT) return gw_route_after_dns(gw, req, msg), -1;
    if (rc) return http_respond_text(req, (unsigned)rc, "%s", msg), -1;
    return 0;
}
