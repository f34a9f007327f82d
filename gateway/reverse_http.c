/*
 * reverse_http.c - CoAP -> HTTP: a proxied request to an http(s):// URI
 * goes out with libcurl inside the loop, and its answer comes back mapped
 * (RFC 8075 tables in reverse, RFC 7252 §10.1); fresh 2.05 answers to GET
 * are cached (§5.6). Redirects are not followed.
 */
#include "gw_limits.h"
#include "gw_map.h"
#include "reverse_internal.h"

#include "coap_cf.h"
#include "coap_uri.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct {
    gw_reverse_t *rv;
    coap_server_t *srv; /* the request's */
    uint64_t id;
    uint8_t method;
    int accept;
    char uri[COAP_URI_BUF]; /* Proxy-Uri: at most 1034 bytes (RFC 7252 §5.10.2) */
} fwd_t;

/* The call is over: its place in coap.max_exchanges' budget is free. */
static void fwd_free(fwd_t *f)
{
    gw_limits_give(f->rv->gw);
    free(f);
}

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
        if (r->result != HTTP_CALL_CANCELLED) rv_answer(f->srv, f->id, code, diag);
        fwd_free(f);
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
    coap_server_respond(f->srv, f->id, &resp);
    fwd_free(f);
}

/* A fresh cached answer to a proxied GET (RFC 7252 §5.7.1, §5.6). */
static int answer_from_cache(gw_reverse_t *rv, coap_server_t *srv, const coap_server_request_t *req,
                             const char *uri)
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
    coap_server_respond(srv, req->id, &resp);
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

/* Every address libcurl is about to connect to, after DNS. */
static int addr_check(const struct sockaddr *sa, socklen_t len, void *arg)
{
    fwd_t *f = arg;
    coap_addr_t a = {0};
    if ((sa->sa_family != AF_INET && sa->sa_family != AF_INET6) || len > sizeof a.u) return 0;
    a.len = len;
    memcpy(&a.u, sa, len);
    return rv_origin_addr_ok(&f->rv->origins, f->uri, &a);
}

void rv_forward_http(gw_reverse_t *rv, coap_server_t *srv, const coap_server_request_t *req,
                     const char *uri)
{
    char diag[600];
    if (!rv_origin_allowed(&rv->origins, uri, diag, sizeof diag)) {
        rv_answer(srv, req->id, COAP_FORBIDDEN, diag);
        return;
    }
    if (answer_from_cache(rv, srv, req, uri)) return;
    const char *method = gw_map_method_to_http(req->method);
    if (!method) {
        rv_answer(srv, req->id, COAP_NOT_IMPLEMENTED, "no HTTP method for this CoAP method");
        return;
    }
    /* the calls in flight count in coap.max_exchanges too: each holds a
     * pending CoAP request, a curl handle and its socket */
    int busy = gw_limits_take(rv->gw);
    if (busy) {
        gw_limits_coap(rv->gw, srv, req->id, busy, uri);
        return;
    }
    fwd_t *f = calloc(1, sizeof *f);
    http_call_t *call = f ? http_call_new(rv->http, method, uri) : NULL;
    if (!call) {
        gw_limits_give(rv->gw);
        free(f);
        rv_answer(srv, req->id, COAP_BAD_REQUEST, "malformed Proxy-Uri");
        return;
    }
    f->rv = rv;
    f->srv = srv;
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
        fwd_free(f);
        rv_answer(srv, req->id, COAP_BAD_GATEWAY, "cannot start the HTTP request");
        return;
    }
    /* No empty ACK yet: an origin that answers within the endpoint's
     * defer_ack_ms (500 ms) is piggybacked, a slower one gets the empty ACK
     * then and a separate response. libcoap 4.3.1's client cannot follow
     * Block2 when block 0 comes as a separate response ("large body receive
     * internal issue"), so ACKing at once would break its large downloads. */
}
