/*
 * reverse_http.c - CoAP -> HTTP: a proxied request to an http(s):// URI
 * goes out with libcurl inside the loop, and its answer comes back mapped
 * (RFC 8075 tables in reverse, RFC 7252 §10.1); fresh 2.05 answers to GET
 * are cached (§5.6). Redirects are followed up to proxy.max_redirects,
 * each hop checked against proxy.allow_origins before it is fetched.
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
    /* what each hop sends again (the CoAP request is gone by then) */
    const char *http_method, *content_type;
    base_buf_t headers; /* "Name\0value\0"... */
    uint8_t *body;
    size_t body_len;
    uint64_t deadline_ms; /* proxy.timeout_ms covers every hop */
    uint32_t hops;
    char cur[2048];     /* the URL of this hop */
    http_url_t url;     /* cur parsed, until the hop's call takes it */
    rv_origin_t origin; /* cur's, for the address checks */
} fwd_t;

/* snprintf(dst, cap, "%s", src) without printf's cost (every request). */
static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The call is over: its place in coap.max_exchanges' budget is free. */
static void fwd_free(fwd_t *f)
{
    gw_reverse_t *rv = f->rv;
    gw_limits_give(rv->gw);
    http_url_release(&f->url);
    base_buf_free(&f->headers);
    free(f->body);
    if (rv->nspare_fwd < RV_SPARE_FWD)
        rv->spare_fwd[rv->nspare_fwd++] = f;
    else
        free(f);
}

/* A kept state or a new one: not calloc'ed, zeroing its 4 KB of buffers
 * costs more than the rest; forward() sets every field. */
static fwd_t *fwd_alloc(gw_reverse_t *rv)
{
    return rv->nspare_fwd ? rv->spare_fwd[--rv->nspare_fwd] : malloc(sizeof(fwd_t));
}

void rv_http_free_spares(gw_reverse_t *rv)
{
    while (rv->nspare_fwd) free(rv->spare_fwd[--rv->nspare_fwd]);
}

static void on_http_done(http_call_t *call, const http_result_t *r, void *arg);

/* Every address libcurl is about to connect to, after DNS. */
static int addr_check(const struct sockaddr *sa, socklen_t len, void *arg)
{
    fwd_t *f = arg;
    coap_addr_t a = {0};
    if ((sa->sa_family != AF_INET && sa->sa_family != AF_INET6) || len > sizeof a.u) return 0;
    a.len = len;
    memcpy(&a.u, sa, len);
    return rv_origin_addr_ok(&f->rv->origins, &f->origin, &a);
}

/* Starts the HTTP request of the current hop (f->cur). Returns 0; 1 for a
 * URL curl does not take; < 0 (HTTP_CALL_*) when it could not start. */
static int start_hop(fwd_t *f)
{
    gw_t *gw = f->rv->gw;
    http_call_t *call = http_call_new_parsed(f->rv->http, f->http_method, &f->url);
    if (!call) return 1;
    if (f->content_type) http_call_add_header(call, "Content-Type", f->content_type);
    for (size_t o = 0; o < f->headers.len;) {
        const char *name = (const char *)f->headers.data + o;
        const char *value = name + strlen(name) + 1;
        http_call_add_header(call, name, value);
        o += strlen(name) + strlen(value) + 2;
    }
    if (f->body_len) http_call_set_body(call, f->body, f->body_len);
    uint64_t now = base_loop_now(gw->loop);
    http_call_set_timeout(call, f->deadline_ms > now ? (unsigned)(f->deadline_ms - now) : 1);
    http_call_set_max_body(call, gw->cfg.max_body);
    http_call_set_addr_check(call, addr_check, f);
    return http_call_start(call, on_http_done, f);
}

/* Ends f with code and diag (logged). */
static void fwd_fail(fwd_t *f, uint8_t code, const char *diag)
{
    char shown[sizeof f->uri];
    gw_log(CFG_LOG_INFO, "coap->http %s: %s", http_url_shown(f->uri, shown, sizeof shown), diag);
    rv_answer(f->srv, f->id, code, diag);
    fwd_free(f);
}

static int is_redirect(unsigned status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* A 3xx with a Location while proxy.max_redirects allows: the next hop,
 * its URL resolved against the current one and checked like the first
 * (origin policy now, addresses after DNS), or the end. RFC 9110 §15.4.4:
 * 303 is followed with GET and no body; 301, 302, 307 and 308 keep the
 * method and body (§15.4.8, §15.4.9; 301/302 are not turned into GET). */
static void follow(fwd_t *f, const http_result_t *r)
{
    char next[sizeof f->cur], why[600], diag[GW_MSG_MAX];
    char cur[sizeof f->cur], to[sizeof f->cur]; /* as logged: no password */
    const char *cur_shown = http_url_shown(f->cur, cur, sizeof cur);
    uint32_t max = f->rv->gw->cfg.max_redirects;
    if (f->hops >= max) {
        snprintf(diag, sizeof diag,
                 "%.300s: too many redirects (more than proxy.max_redirects = %u)", cur_shown, max);
        fwd_fail(f, COAP_BAD_GATEWAY, diag);
        return;
    }
    if (http_url_resolve(f->cur, r->location, next, sizeof next)) {
        snprintf(diag, sizeof diag, "%.300s: %u with an unusable Location", cur_shown, r->status);
        fwd_fail(f, COAP_BAD_GATEWAY, diag);
        return;
    }
    const http_url_t *parsed = http_url_parse(next, &f->url) ? NULL : &f->url;
    if (!rv_origin_allowed(&f->rv->origins, parsed, &f->origin, why, sizeof why)) {
        snprintf(diag, sizeof diag, "redirect from %.300s refused, never fetched: %.600s",
                 cur_shown, why);
        fwd_fail(f, COAP_FORBIDDEN, diag);
        return;
    }
    gw_log(CFG_LOG_INFO, "coap->http %s: %u, following to %s", cur_shown, r->status,
           http_url_shown(next, to, sizeof to));
    f->hops++;
    snprintf(f->cur, sizeof f->cur, "%s", next);
    if (r->status == 303 && strcmp(f->http_method, "HEAD")) {
        f->http_method = "GET";
        f->content_type = NULL;
        f->body_len = 0;
    }
    if (start_hop(f)) fwd_fail(f, COAP_BAD_GATEWAY, "cannot start the HTTP request");
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
        char cur[sizeof f->cur], uri[sizeof f->uri];
        snprintf(diag, sizeof diag, "%.300s: %s", http_url_shown(f->cur, cur, sizeof cur),
                 r->error ? r->error : "failed");
        gw_log(CFG_LOG_INFO, "coap->http %s: %s", http_url_shown(f->uri, uri, sizeof uri), diag);
        if (r->result != HTTP_CALL_CANCELLED) rv_answer(f->srv, f->id, code, diag);
        fwd_free(f);
        return;
    }
    if (is_redirect(r->status) && r->location && rv->gw->cfg.max_redirects) {
        follow(f, r);
        return;
    }
    coap_server_response_t resp = COAP_RESPONSE(gw_map_http_to_coap(r->status, f->method));
    coap_msg_opt_t loc[COAP_URI_MAX_PARTS];
    resp.nopts = r->status == 201 && r->location ? location_options(f->cur, r->location, loc) : 0;
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
    char shown[sizeof f->uri];
    gw_log(CFG_LOG_INFO, "coap->http %s %s -> %u", coap_method_name(f->method),
           http_url_shown(f->uri, shown, sizeof shown), r->status);
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

/* Keeps a header for every hop; returns nonzero on no memory. */
static int keep_header(fwd_t *f, const char *name, const char *value)
{
    return base_buf_append(&f->headers, name, strlen(name) + 1) ||
           base_buf_append(&f->headers, value, strlen(value) + 1);
}

/* What the request carries into HTTP: method, body and headers, kept in f
 * for every hop. Returns nonzero on no memory. */
static int keep_request(fwd_t *f, const coap_server_request_t *req)
{
    char v[128];
    int rc = 0;
    if (req->content_format >= 0 && req->payload_len) {
        const coap_cf_def_t *d = coap_cf_by_number((unsigned)req->content_format);
        f->content_type = d ? d->media_type : "application/octet-stream";
    }
    if (req->payload_len && !(f->body = malloc(req->payload_len))) return -1;
    if (req->payload_len) memcpy(f->body, req->payload, req->payload_len);
    f->body_len = req->payload_len;
    if (req->accept >= 0) {
        const coap_cf_def_t *d = coap_cf_by_number((unsigned)req->accept);
        if (d) rc |= keep_header(f, "Accept", d->media_type);
    }
    const coap_msg_t *m = req->msg;
    for (const coap_msg_opt_t *o = coap_msg_find_opt(m, COAP_OPT_IF_MATCH); o;
         o = coap_msg_next_opt(m, o)) {
        if (!o->len)
            snprintf(v, sizeof v, "*");
        else
            gw_etag_format(coap_msg_opt_value(o), o->len, v, sizeof v);
        rc |= keep_header(f, "If-Match", v);
    }
    if (coap_msg_find_opt(m, COAP_OPT_IF_NONE_MATCH))
        rc |= keep_header(f, "If-None-Match", "*");
    else if (req->method == COAP_GET) /* validation: ETag options -> If-None-Match */
        for (const coap_msg_opt_t *o = coap_msg_find_opt(m, COAP_OPT_ETAG); o;
             o = coap_msg_next_opt(m, o)) {
            gw_etag_format(coap_msg_opt_value(o), o->len, v, sizeof v);
            rc |= keep_header(f, "If-None-Match", v);
        }
    return rc;
}

/* An allowed request that the cache did not answer: to HTTP, taking url's
 * parse for its first hop. */
static void forward(gw_reverse_t *rv, coap_server_t *srv, const coap_server_request_t *req,
                    const char *uri, http_url_t *url, const rv_origin_t *origin)
{
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
    fwd_t *f = fwd_alloc(rv);
    if (!f) {
        gw_limits_give(rv->gw);
        rv_answer(srv, req->id, COAP_INTERNAL_SERVER_ERROR, "out of memory");
        return;
    }
    f->rv = rv;
    f->srv = srv;
    f->id = req->id;
    f->method = req->method;
    f->accept = req->accept;
    f->http_method = method;
    f->content_type = NULL;
    f->headers = (base_buf_t){0};
    f->body = NULL;
    f->body_len = 0;
    f->deadline_ms = base_loop_now(rv->gw->loop) + rv->gw->cfg.timeout_ms;
    f->hops = 0;
    copy_str(f->uri, sizeof f->uri, uri);
    copy_str(f->cur, sizeof f->cur, uri);
    f->url = *url;
    url->curlu = NULL;
    f->origin = *origin;
    if (keep_request(f, req)) {
        fwd_fail(f, COAP_INTERNAL_SERVER_ERROR, "out of memory");
        return;
    }
    int rc = start_hop(f);
    if (rc) {
        fwd_fail(f, rc == 1 ? COAP_BAD_REQUEST : COAP_BAD_GATEWAY,
                 rc == 1 ? "malformed Proxy-Uri" : "cannot start the HTTP request");
        return;
    }
    rv_ack_early(srv, req);
}

void rv_forward_http(gw_reverse_t *rv, coap_server_t *srv, const coap_server_request_t *req,
                     const char *uri)
{
    char diag[600];
    http_url_t url;
    rv_origin_t origin;
    /* One parse for the origin checks and the fetch (a copy of an earlier
     * one when the same URI comes again). */
    const http_url_t *parsed = http_url_parse_memo(&rv->urls, uri, &url) ? NULL : &url;
    if (!rv_origin_allowed(&rv->origins, parsed, &origin, diag, sizeof diag))
        rv_answer(srv, req->id, COAP_FORBIDDEN, diag);
    else if (!answer_from_cache(rv, srv, req, uri))
        forward(rv, srv, req, uri, &url, &origin);
    http_url_release(&url);
}
