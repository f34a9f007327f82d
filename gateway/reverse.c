/*
 * reverse.c - the reverse direction: CoAP clients send requests with
 * Proxy-Uri (or Proxy-Scheme + Uri-*) to the gateway's CoAP port, which
 * forwards http(s):// to HTTP origins with libcurl and coap:// with its CoAP
 * client (RFC 7252 §5.7.2, §10.1; RFC 8075 tables in reverse).
 *
 * Safety (RFC 8075 §10): no origin is reachable unless proxy.allow_origins
 * lists it; loopback, unspecified, link-local and cloud-metadata addresses
 * stay refused unless an origin entry names them exactly (scheme, address,
 * port), and the check runs on the address actually connected to, after
 * DNS. Redirects are not followed.
 */
#include "gw_clients.h"
#include "gw_map.h"
#include "gw_reverse.h"

#include "coap_cf.h"
#include "coap_uri.h"
#include "http_client.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct gw_reverse {
    gw_t *gw;
    coap_server_t *srv;
    http_client_t *http;
    gw_acl_t *ranges; /* address and CIDR entries (ORIGIN_GUARDS apply) */
    char **origins;   /* "scheme://host:port", host lower case */
    size_t norigins;
};

typedef struct {
    gw_reverse_t *rv;
    uint64_t id;
    uint8_t method;
    int accept;
    char uri[COAP_URI_BUF]; /* Proxy-Uri: at most 1034 bytes (RFC 7252 §5.10.2) */
} fwd_t;

/* 201's Location -> Location-Path / Location-Query (RFC 7252 §10.1), when
 * it stays on the origin; the option values point into `location`. */
static size_t location_options(const char *uri, const char *location, coap_msg_opt_t *opts)
{
    const char *p = location;
    if (strstr(location, "://")) { /* absolute: only on the same origin */
        size_t ol = strcspn(strstr(uri, "://") + 3, "/?") + (size_t)(strstr(uri, "://") + 3 - uri);
        if (strncasecmp(location, uri, ol) || (location[ol] && location[ol] != '/')) return 0;
        p = location + ol;
    }
    if (*p != '/') return 0;
    size_t n = 0;
    const char *q = strchr(p, '?');
    const char *end = q ? q : p + strlen(p);
    for (const char *s = p + 1; s <= end && n < COAP_URI_MAX_PARTS / 2;) {
        const char *e = memchr(s, '/', (size_t)(end - s));
        if (!e) e = end;
        if (e > s)
            opts[n++] = (coap_msg_opt_t){.num = COAP_OPT_LOCATION_PATH,
                                         .len = (uint16_t)(e - s),
                                         .v.ptr = (const uint8_t *)s};
        s = e + 1;
    }
    for (const char *s = q ? q + 1 : NULL; s && *s && n < COAP_URI_MAX_PARTS;) {
        size_t l = strcspn(s, "&");
        if (l)
            opts[n++] = (coap_msg_opt_t){
                .num = COAP_OPT_LOCATION_QUERY, .len = (uint16_t)l, .v.ptr = (const uint8_t *)s};
        s += l + (s[l] == '&');
    }
    return n;
}

/* --- the origin policy --- */

/* RFC 8075 §10: loopback, unspecified, link-local and cloud-metadata
 * addresses are reached only through an origin entry naming them exactly
 * (scheme, address and port); an address or range entry never opens them. */
#define ORIGIN_GUARDS GW_ACL_GUARD_LOCAL

typedef struct {
    char key[600]; /* "scheme://host:port", host lower case */
    char host[300];
    uint16_t port;
} origin_t;

static int origin_key(const char *url, origin_t *o)
{
    char scheme[16];
    unsigned port;
    if (http_url_split(url, scheme, sizeof scheme, o->host, sizeof o->host, &port) || port > 65535)
        return -1;
    for (char *p = o->host; *p; p++) *p = (char)tolower((unsigned char)*p);
    o->port = (uint16_t)port;
    snprintf(o->key, sizeof o->key, "%s://%s:%u", scheme, o->host, port);
    return 0;
}

static int add_origin_url(gw_reverse_t *rv, const char *url)
{
    origin_t o;
    char **v;
    if (origin_key(url, &o) || !(v = realloc(rv->origins, (rv->norigins + 1) * sizeof *v)))
        return -1;
    rv->origins = v;
    if (!(v[rv->norigins] = strdup(o.key))) return -1;
    rv->norigins++;
    return 0;
}

static int add_origin_entry(gw_reverse_t *rv, const char *e, char *err, size_t errlen)
{
    int rc = -1;
    if (strstr(e, "://")) {
        rc = add_origin_url(rv, e);
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
        if (guarded == 0) rc = gw_acl_add(rv->ranges, e);
    }
    if (rc)
        snprintf(err, errlen,
                 "bad proxy.allow_origins entry \"%s\" (want an origin such as "
                 "http://10.0.0.5:8080, an address or a CIDR range)",
                 e);
    return rc;
}

static int origin_listed(const gw_reverse_t *rv, const char *key)
{
    for (size_t i = 0; i < rv->norigins; i++)
        if (!strcmp(rv->origins[i], key)) return 1;
    return 0;
}

/* Whether origin o may be reached at address a (with its port). */
static gw_acl_verdict_t origin_verdict(const gw_reverse_t *rv, const origin_t *o,
                                       const coap_addr_t *a)
{
    if (origin_listed(rv, o->key)) {
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
    return gw_acl_check(rv->ranges, ORIGIN_GUARDS, a);
}

/* Every address libcurl is about to connect to, after DNS. */
static int addr_check(const struct sockaddr *sa, socklen_t len, void *arg)
{
    fwd_t *f = arg;
    origin_t o;
    coap_addr_t a = {0};
    if ((sa->sa_family != AF_INET && sa->sa_family != AF_INET6) || len > sizeof a.u ||
        origin_key(f->uri, &o))
        return 0;
    a.len = len;
    memcpy(&a.u.ss, sa, len);
    return origin_verdict(f->rv, &o, &a) == GW_ACL_ALLOWED;
}

/* Before any connection: an origin named by address is decided now (so a
 * reused connection never skips the check); one named by host name must be
 * listed or a range might allow its address (checked after DNS). diag gets
 * the reason of a refusal. */
static int origin_allowed(const gw_reverse_t *rv, const char *url, char *diag, size_t cap)
{
    origin_t o;
    coap_addr_t lit;
    gw_acl_verdict_t v = GW_ACL_UNLISTED;
    if (origin_key(url, &o))
        v = GW_ACL_UNLISTED;
    else if (!coap_addr_from_host(&lit, o.host, o.port))
        v = origin_verdict(rv, &o, &lit);
    else if (origin_listed(rv, o.key) || gw_acl_count(rv->ranges))
        v = GW_ACL_ALLOWED;
    if (v == GW_ACL_LOCAL)
        snprintf(diag, cap,
                 "origin %s is a loopback, unspecified, link-local or cloud-metadata address: "
                 "only an entry naming it exactly (http://HOST:PORT) in proxy.allow_origins "
                 "opens it",
                 o.host);
    else if (v)
        snprintf(diag, cap,
                 "origin not allowed: list it in proxy.allow_origins (or --allow-origin)");
    return v == GW_ACL_ALLOWED;
}

/* --- answering --- */

static void answer(gw_reverse_t *rv, uint64_t id, uint8_t code, const char *diag)
{
    coap_server_response_t r = COAP_RESPONSE(code);
    r.payload = diag;
    r.payload_len = diag ? strlen(diag) : 0;
    coap_server_respond(rv->srv, id, &r);
}

/* HTTP freshness -> Max-Age (RFC 8075 §7 in reverse). */
static long max_age_of(const http_result_t *r)
{
    long ma = r->cache_control ? gw_parse_max_age(r->cache_control) : -1;
    if (ma >= 0 || !r->expires) return ma;
    struct tm tm = {0};
    if (!strptime(r->expires, "%a, %d %b %Y %H:%M:%S GMT", &tm)) return 0;
    long d = (long)(timegm(&tm) - time(NULL));
    return d > 0 ? d : 0;
}

static void on_http_done(http_call_t *call, const http_result_t *r, void *arg)
{
    (void)call;
    fwd_t *f = arg;
    gw_reverse_t *rv = f->rv;
    char diag[GW_MSG_MAX];
    if (r->result != HTTP_CALL_OK) {
        uint8_t code = r->result == HTTP_CALL_TIMEOUT   ? COAP_GATEWAY_TIMEOUT
                       : r->result == HTTP_CALL_REFUSED ? COAP_FORBIDDEN
                                                        : COAP_BAD_GATEWAY;
        snprintf(diag, sizeof diag, "%s: %s", f->uri, r->error ? r->error : "failed");
        gw_log(CFG_LOG_INFO, "coap->http %s: %s", f->uri, diag);
        if (r->result != HTTP_CALL_CANCELLED) answer(rv, f->id, code, diag);
        free(f);
        return;
    }
    coap_server_response_t resp = COAP_RESPONSE(gw_map_http_to_coap(r->status, f->method));
    coap_msg_opt_t loc[COAP_URI_MAX_PARTS];
    resp.nopts = r->status == 201 && r->location ? location_options(f->uri, r->location, loc) : 0;
    resp.opts = loc;
    resp.payload = r->body;
    resp.payload_len = r->body_len;
    /* An unknown media type goes out without Content-Format (README). */
    if (r->content_type && r->body_len)
        resp.content_format = gw_map_content_type_exact(r->content_type);
    resp.max_age = max_age_of(r);
    uint8_t etag[8];
    if (r->etag) { /* the opaque tag, when it fits in a CoAP ETag */
        const char *t = r->etag;
        if (!strncmp(t, "W/", 2)) t += 2;
        size_t n = strlen(t);
        if (n >= 2 && t[0] == '"' && t[n - 1] == '"') t++, n -= 2;
        if (n >= 1 && n <= 8) {
            memcpy(etag, t, n);
            resp.etag = etag;
            resp.etag_len = n;
        }
    }
    gw_log(CFG_LOG_INFO, "coap->http %s %s -> %u", coap_method_name(f->method), f->uri, r->status);
    gw_cache_t *cache = rv->gw->cache;
    if (cache && f->method == COAP_GET && resp.code == COAP_CONTENT && resp.max_age > 0) {
        gw_cache_entry_t e = {.code = resp.code,
                              .content_format = resp.content_format,
                              .expires_ms =
                                  base_loop_now(rv->gw->loop) + (uint64_t)resp.max_age * 1000,
                              .body = (uint8_t *)(uintptr_t)r->body,
                              .len = r->body_len,
                              .etag_len = resp.etag_len};
        if (resp.etag_len) memcpy(e.etag, resp.etag, resp.etag_len);
        gw_cache_put(cache, f->uri, f->accept, &e);
    } else if (cache && f->method != COAP_GET && f->method != COAP_FETCH &&
               COAP_CODE_CLASS(resp.code) == 2) {
        gw_cache_invalidate(cache, f->uri); /* RFC 7252 §5.6.2 */
    }
    coap_server_respond(rv->srv, f->id, &resp);
    free(f);
}

/* A fresh cached answer to a proxied GET (RFC 7252 §5.7.1, §5.6). */
static int answer_from_cache(gw_reverse_t *rv, const coap_server_request_t *req, const char *uri)
{
    gw_cache_t *cache = rv->gw->cache;
    if (!cache || req->method != COAP_GET) return 0;
    gw_cache_entry_t *e = gw_cache_get(cache, uri, req->accept);
    uint64_t now = base_loop_now(rv->gw->loop);
    if (!e || e->expires_ms <= now) return 0;
    coap_server_response_t resp = COAP_RESPONSE(e->code);
    resp.payload = e->body;
    resp.payload_len = e->len;
    resp.content_format = e->content_format;
    resp.max_age = (long)((e->expires_ms - now + 999) / 1000); /* what is left of it */
    resp.etag = e->etag_len ? e->etag : NULL;
    resp.etag_len = e->etag_len;
    rv->gw->stats.cache_hits++;
    coap_server_respond(rv->srv, req->id, &resp);
    return 1;
}

static void add_request_headers(http_call_t *call, const coap_server_request_t *req)
{
    char v[128];
    if (req->content_format >= 0 && req->payload_len) {
        const coap_cf_def_t *d = coap_cf_by_number((unsigned)req->content_format);
        http_call_add_header(call, "Content-Type", d ? d->media_type : "application/octet-stream");
    }
    if (req->accept >= 0) {
        const coap_cf_def_t *d = coap_cf_by_number((unsigned)req->accept);
        if (d) http_call_add_header(call, "Accept", d->media_type);
    }
    const coap_msg_t *m = req->msg;
    for (const coap_msg_opt_t *o = coap_msg_find_opt(m, COAP_OPT_IF_MATCH); o;
         o = coap_msg_next_opt(m, o)) {
        if (!o->len)
            snprintf(v, sizeof v, "*");
        else
            gw_etag_format(coap_msg_opt_value(o), o->len, v, sizeof v);
        http_call_add_header(call, "If-Match", v);
    }
    if (coap_msg_find_opt(m, COAP_OPT_IF_NONE_MATCH))
        http_call_add_header(call, "If-None-Match", "*");
    else if (req->method == COAP_GET) /* validation: ETag options -> If-None-Match */
        for (const coap_msg_opt_t *o = coap_msg_find_opt(m, COAP_OPT_ETAG); o;
             o = coap_msg_next_opt(m, o)) {
            gw_etag_format(coap_msg_opt_value(o), o->len, v, sizeof v);
            http_call_add_header(call, "If-None-Match", v);
        }
}

static void forward_http(gw_reverse_t *rv, const coap_server_request_t *req, const char *uri)
{
    char diag[600];
    if (!origin_allowed(rv, uri, diag, sizeof diag)) {
        answer(rv, req->id, COAP_FORBIDDEN, diag);
        return;
    }
    if (answer_from_cache(rv, req, uri)) return;
    const char *method = gw_map_method_to_http(req->method);
    if (!method) {
        answer(rv, req->id, COAP_NOT_IMPLEMENTED, "no HTTP method for this CoAP method");
        return;
    }
    fwd_t *f = calloc(1, sizeof *f);
    http_call_t *call = f ? http_call_new(rv->http, method, uri) : NULL;
    if (!call) {
        free(f);
        answer(rv, req->id, COAP_BAD_REQUEST, "malformed Proxy-Uri");
        return;
    }
    f->rv = rv;
    f->id = req->id;
    f->method = req->method;
    f->accept = req->accept;
    snprintf(f->uri, sizeof f->uri, "%s", uri);
    add_request_headers(call, req);
    if (req->payload_len) http_call_set_body(call, req->payload, req->payload_len);
    http_call_set_timeout(call, rv->gw->cfg.timeout_ms);
    http_call_set_max_body(call, rv->gw->cfg.max_body);
    http_call_set_addr_check(call, addr_check, f);
    if (http_call_start(call, on_http_done, f)) {
        free(f);
        answer(rv, req->id, COAP_BAD_GATEWAY, "cannot start the HTTP request");
        return;
    }
    /* No empty ACK yet: an origin that answers within the endpoint's
     * defer_ack_ms (500 ms) is piggybacked, a slower one gets the empty ACK
     * then and a separate response. libcoap 4.3.1's client cannot follow
     * Block2 when block 0 comes as a separate response ("large body receive
     * internal issue"), so ACKing at once would break its large downloads. */
}

/* --- coap:// through the CoAP client (a CoAP-CoAP forward proxy) --- */

typedef struct {
    gw_reverse_t *rv;
    uint64_t id;
} cfwd_t;

static void on_coap_done(coap_req_t *creq, const coap_resp_t *r, void *arg)
{
    (void)creq;
    cfwd_t *f = arg;
    if (r->err) {
        if (r->err != COAP_ERR_CANCELLED)
            answer(f->rv, f->id,
                   r->err == COAP_ERR_TIMEOUT ? COAP_GATEWAY_TIMEOUT : COAP_BAD_GATEWAY,
                   coap_strerror(r->err));
        free(f);
        return;
    }
    /* The answer's end-to-end options go back as they came (§5.7.2). */
    static const uint16_t keep[] = {COAP_OPT_ETAG, COAP_OPT_LOCATION_PATH, COAP_OPT_LOCATION_QUERY,
                                    COAP_OPT_CONTENT_FORMAT, COAP_OPT_MAX_AGE};
    coap_msg_opt_t opts[COAP_MSG_MAX_OPTS];
    size_t n = 0;
    for (unsigned i = 0; i < r->msg->opt_count; i++)
        for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++)
            if (r->msg->opts[i].num == keep[k]) opts[n++] = r->msg->opts[i];
    coap_server_response_t resp = COAP_RESPONSE(r->msg->code);
    resp.payload = r->body;
    resp.payload_len = r->body_len;
    resp.opts = opts;
    resp.nopts = n;
    coap_server_respond(f->rv->srv, f->id, &resp);
    free(f);
}

static void forward_coap(gw_reverse_t *rv, const coap_server_request_t *req, const char *uri,
                         uint32_t hop)
{
    char msg[GW_MSG_MAX];
    gw_target_t t;
    int status = gw_target_parse(rv->gw, uri, &t, msg, sizeof msg);
    if (status) {
        answer(rv, req->id, status == 403 ? COAP_FORBIDDEN : COAP_BAD_REQUEST, msg);
        return;
    }
    int err;
    coap_req_t *creq = coap_req_new(rv->gw->ep, req->method, t.uri, &t.addr, &err);
    cfwd_t *f = creq ? calloc(1, sizeof *f) : NULL;
    if (!f) {
        if (creq) coap_req_cancel(creq);
        answer(rv, req->id, COAP_BAD_REQUEST, coap_strerror(err));
        return;
    }
    static const uint16_t skip[] = {COAP_OPT_URI_HOST,  COAP_OPT_URI_PORT,    COAP_OPT_URI_PATH,
                                    COAP_OPT_URI_QUERY, COAP_OPT_PROXY_URI,   COAP_OPT_PROXY_SCHEME,
                                    COAP_OPT_BLOCK1,    COAP_OPT_BLOCK2,      COAP_OPT_SIZE1,
                                    COAP_OPT_SIZE2,     COAP_OPT_REQUEST_TAG, COAP_OPT_HOP_LIMIT,
                                    COAP_OPT_OBSERVE};
    const coap_msg_t *m = req->msg;
    for (unsigned i = 0; i < m->opt_count; i++) {
        int copy = 1;
        for (size_t k = 0; k < sizeof skip / sizeof skip[0]; k++) copy &= m->opts[i].num != skip[k];
        if (copy)
            coap_req_add_option(creq, m->opts[i].num, coap_msg_opt_value(&m->opts[i]),
                                m->opts[i].len);
    }
    /* RFC 8768 §3: each proxy decrements Hop-Limit, so two gateways
     * pointing at each other stop instead of looping. */
    coap_req_add_uint(creq, COAP_OPT_HOP_LIMIT, hop - 1);
    if (req->payload_len) coap_req_set_payload(creq, req->payload, req->payload_len);
    coap_req_set_timeout(creq, rv->gw->cfg.timeout_ms);
    coap_req_set_max_body(creq, rv->gw->cfg.max_body);
    f->rv = rv;
    f->id = req->id;
    if (coap_req_send(creq, on_coap_done, f)) {
        free(f);
        answer(rv, req->id, COAP_BAD_GATEWAY, "cannot send the request");
        return;
    }
}

/* --- the proxy handler --- */

/* Proxy-Uri, or Proxy-Scheme with the Uri-* options (§5.10.2). */
static int target_uri(const coap_msg_t *m, const coap_addr_t *self, char *out, size_t cap)
{
    const coap_msg_opt_t *pu = coap_msg_find_opt(m, COAP_OPT_PROXY_URI);
    if (pu) {
        if (pu->len >= cap) return -1;
        memcpy(out, coap_msg_opt_value(pu), pu->len);
        out[pu->len] = '\0';
        return 0;
    }
    const coap_msg_opt_t *ps = coap_msg_find_opt(m, COAP_OPT_PROXY_SCHEME);
    char host[COAP_ADDR_STRLEN], tmp[COAP_URI_BUF];
    coap_addr_host(self, host, sizeof host);
    if (!ps || coap_uri_compose(m, 0, host, 0, tmp, sizeof tmp) < 0) return -1;
    /* compose wrote "coap://..."; put the requested scheme in its place */
    int n =
        snprintf(out, cap, "%.*s%s", (int)ps->len, (const char *)coap_msg_opt_value(ps), tmp + 4);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static void on_proxy(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    (void)srv;
    gw_reverse_t *rv = arg;
    uint32_t hop = 16; /* RFC 8768 §3: the default when absent */
    coap_msg_get_uint(req->msg, COAP_OPT_HOP_LIMIT, &hop);
    if (hop <= 1) {
        answer(rv, req->id, COAP_HOP_LIMIT_REACHED, "Hop-Limit reached");
        return;
    }
    char uri[COAP_URI_BUF];
    const coap_addr_t *self = &rv->gw->srv_addr; /* read once at start */
    if (target_uri(req->msg, self, uri, sizeof uri)) {
        answer(rv, req->id, COAP_BAD_REQUEST, "malformed Proxy-Uri or Proxy-Scheme");
        return;
    }
    size_t sl = strcspn(uri, ":");
    if (sl == 4 && !strncasecmp(uri, "coap", 4))
        forward_coap(rv, req, uri, hop);
    else if ((sl == 4 && !strncasecmp(uri, "http", 4)) ||
             (sl == 5 && !strncasecmp(uri, "https", 5)))
        forward_http(rv, req, uri);
    else if (sl == 5 && !strncasecmp(uri, "coaps", 5))
        answer(rv, req->id, COAP_PROXYING_NOT_SUPPORTED, "coaps:// needs DTLS, not supported yet");
    else
        answer(rv, req->id, COAP_PROXYING_NOT_SUPPORTED, "unsupported scheme in Proxy-Uri");
}

/* RFC 7252 §11.2, §11.3: the forward proxy serves proxy.coap_clients
 * alone (the CoAP side takes no tokens, and a source address is easily
 * spoofed); anyone else gets a bare 4.03, before any Block1 body is
 * reassembled or any origin asked. Logged at debug only: the sender may be
 * forged, and a log line per datagram would be a flood of its own. */
static uint8_t admit_client(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    (void)srv;
    gw_reverse_t *rv = arg;
    if (gw_clients_allow(rv->gw->coap_clients, req->peer)) return 0;
    char from[COAP_ADDR_STRLEN];
    gw_log(CFG_LOG_DEBUG, "coap proxy: 4.03 to %s: not in proxy.coap_clients",
           coap_addr_str(req->peer, from, sizeof from));
    return COAP_FORBIDDEN;
}

/* The origin policy's parts, freed (used by a failed build and by the
 * one a reload replaces). */
static void free_policy(gw_reverse_t *p)
{
    gw_acl_free(p->ranges);
    for (size_t i = 0; i < p->norigins; i++) free(p->origins[i]);
    free(p->origins);
}

int gw_reverse_set_origins(gw_reverse_t *rv, char *const *origins, size_t n, char *err,
                           size_t errlen)
{
    /* built aside and swapped in whole: a bad entry changes nothing, and
     * calls in flight check the policy in force when they connect */
    gw_reverse_t next = {.ranges = gw_acl_new()};
    if (!next.ranges) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (add_origin_entry(&next, origins[i], err, errlen)) {
            free_policy(&next);
            return -1;
        }
    }
    free_policy(rv);
    rv->ranges = next.ranges;
    rv->origins = next.origins;
    rv->norigins = next.norigins;
    return 0;
}

gw_reverse_t *gw_reverse_new(gw_t *gw, coap_server_t *srv, char *err, size_t errlen)
{
    gw_reverse_t *rv = calloc(1, sizeof *rv);
    if (!rv) return NULL;
    rv->gw = gw;
    rv->srv = srv;
    rv->http = http_client_new(gw->loop);
    if (!rv->http) {
        snprintf(err, errlen, "out of memory");
        gw_reverse_free(rv);
        return NULL;
    }
    if (gw_reverse_set_origins(rv, gw->cfg.allow_origins.v, gw->cfg.allow_origins.n, err, errlen)) {
        gw_reverse_free(rv);
        return NULL;
    }
    coap_server_set_proxy(srv, on_proxy, rv);
    coap_server_set_proxy_admit(srv, admit_client, rv);
    return rv;
}

void gw_reverse_free(gw_reverse_t *rv)
{
    if (!rv) return;
    if (rv->srv) coap_server_set_proxy(rv->srv, NULL, NULL);
    if (rv->srv) coap_server_set_proxy_admit(rv->srv, NULL, NULL);
    http_client_free(rv->http); /* cancels calls in flight */
    free_policy(rv);
    free(rv);
}
