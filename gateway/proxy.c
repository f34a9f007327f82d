/*
 * proxy.c - HTTP -> CoAP (RFC 8075): builds the CoAP request, serves fresh
 * responses from the cache and revalidates stale ones (RFC 7252 §5.6),
 * shares one exchange between identical GETs in flight; proxy_answer.c
 * maps the answer back to HTTP.
 */
#include "base_clock.h"
#include "base_buf.h"
#include "base_list.h"
#include "coap_cf.h"
#include "gw.h"
#include "gw_cbor.h"
#include "gw_coaps.h"
#include "gw_convert.h"
#include "gw_guard.h"
#include "gw_limits.h"
#include "gw_location.h"
#include "gw_tcp.h"
#include "gw_map.h"
#include "gw_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy_internal.h"

static const char *const allow = "GET, HEAD, POST, PUT, DELETE, FETCH, PATCH, OPTIONS";

/* --- the exchange --- */

static waiter_t *waiter_of(base_list_t *node)
{
    return base_list_entry(node, waiter_t, in_exch);
}

static void waiter_free(waiter_t *w)
{
    base_list_remove(&w->in_exch);
    free(w);
}

static void exch_free(exch_t *x)
{
    if (x->key) gw_strmap_del(x->gw->inflight, x->key);
    for (base_list_t *n; (n = base_list_first(&x->waiters));) waiter_free(waiter_of(n));
    free(x);
}

/* When a response received now stops being fresh (RFC 7252 §5.6.1). */
static uint64_t expiry(gw_t *gw, const coap_msg_t *m)
{
    return base_loop_now(gw->loop) + (uint64_t)coap_msg_max_age(m) * 1000;
}

static void store_in_cache(exch_t *x, const coap_resp_t *r)
{
    gw_t *gw = x->gw;
    const coap_msg_t *m = r->msg;
    uint32_t cf;
    gw_cache_entry_t e = {.code = m->code,
                          .content_format = -1,
                          .expires_ms = expiry(gw, m),
                          .body = (uint8_t *)(uintptr_t)r->body,
                          .len = r->body_len};
    if (!coap_msg_get_uint(m, COAP_OPT_CONTENT_FORMAT, &cf)) e.content_format = (int)cf;
    const coap_msg_opt_t *etag = coap_msg_find_opt(m, COAP_OPT_ETAG);
    if (etag && etag->len <= 8) {
        e.etag_len = etag->len;
        memcpy(e.etag, coap_msg_opt_value(etag), etag->len);
    }
    gw_cache_put(gw->cache, x->uri, x->accept, &e);
}

static void on_coap_done(coap_req_t *creq, const coap_resp_t *r, void *arg)
{
    (void)creq;
    exch_t *x = arg;
    gw_t *gw = x->gw;
    base_list_t *it, *next;
    x->creq = NULL;
    if (r->err != COAP_ERR_DTLS_NO_CREDENTIALS) /* nothing was sent: nothing learnt */
        gw_devices_mark(gw, &x->addr, r->err != COAP_ERR_TIMEOUT && r->err != COAP_ERR_UNREACHABLE);
    gw_metrics_coap_exchange(gw->metrics, r->err, r->err ? 0 : r->msg->code);
    if (r->err) {
        gw_log(CFG_LOG_DEBUG, "coap: %s: %s", x->uri, coap_strerror(r->err));
        if (r->err == COAP_ERR_TIMEOUT)
            gw->stats.coap_timeouts++;
        else
            gw->stats.coap_errors++;
        BASE_LIST_FOREACH(it, next, &x->waiters) gw_proxy_answer_error_(waiter_of(it), r->err);
        exch_free(x);
        return;
    }
    uint8_t code = r->msg->code;
    if (x->revalidating && code == COAP_VALID && gw->cache) {
        /* §5.6.2: 2.03 Valid refreshes our entry; serve it. */
        gw_cache_entry_t *e = gw_cache_get(gw->cache, x->uri, x->accept);
        if (e) {
            e->expires_ms = expiry(gw, r->msg);
            gw->stats.cache_revalidated++;
            BASE_LIST_FOREACH(it, next, &x->waiters) {
                waiter_t *w = waiter_of(it);
                gw_proxy_answer_entry_(gw, w, w->req, x->uri, e, "revalidated");
            }
            exch_free(x);
            return;
        }
    }
    if (gw->cache && x->method == COAP_GET && code == COAP_CONTENT && !x->conditional)
        store_in_cache(x, r);
    /* §5.6.2 / RFC 8075 §6.5: an unsafe method invalidates what we hold. */
    if (gw->cache && x->method != COAP_GET && x->method != COAP_FETCH && COAP_CODE_CLASS(code) == 2)
        gw_cache_invalidate(gw->cache, x->uri);
    http_shared_t *shared = NULL;
    char text[40];
    coap_code_str(code, text, sizeof text);
    BASE_LIST_FOREACH(it, next, &x->waiters) gw_proxy_answer_coap_(waiter_of(it), r, text, &shared);
    http_shared_release(shared); /* the requests hold it until it is sent */
    exch_free(x);
}

/* The client went away: stop waiting for it (the exchange goes on for the
 * others, and a GET still fills the cache). */
static void on_http_abort(http_req_t *req, void *arg)
{
    (void)req;
    waiter_free(arg);
}

static waiter_t *add_waiter(exch_t *x, http_req_t *req, const gw_target_t *t)
{
    /* the device copied: a reload may remove it meanwhile */
    size_t nl = t->device ? strlen(t->device->name) : 0,
           ul = t->device ? strlen(t->device->uri) : 0;
    waiter_t *w = calloc(1, sizeof *w + (t->device ? nl + ul + 2 : 0));
    if (!w) return NULL;
    if (t->device) {
        w->device = w->storage;
        memcpy(w->device, t->device->name, nl + 1);
        memcpy(w->device + nl + 1, t->device->uri, ul + 1);
    }
    w->x = x;
    w->req = req;
    w->started_us = base_clock_us();
    base_list_push_front(&x->waiters, &w->in_exch);
    http_req_on_abort(req, on_http_abort, w);
    return w;
}

/* --- building the CoAP request --- */

/* Adds each entity-tag of a comma-separated header as an option. Returns
 * -1 on a malformed tag. */
static int add_tags(coap_req_t *creq, uint16_t opt, const char *list)
{
    for (const char *p = list; *p;) {
        char one[64];
        uint8_t tag[8];
        size_t n = strcspn(p, ",");
        snprintf(one, sizeof one, "%.*s", (int)(n < 63 ? n : 63), p);
        int len = gw_etag_parse(one, tag);
        if (len < 0) return -1;
        if (coap_req_add_option(creq, opt, tag, (size_t)len)) return -1;
        p += n + (p[n] == ',');
    }
    return 0;
}

/* If-Match / If-None-Match (RFC 8075 §6.4). Returns -1 on a malformed tag. */
static int conditionals(exch_t *x, http_req_t *req, coap_req_t *creq)
{
    const char *im = http_req_header(req, "If-Match");
    const char *inm = http_req_header(req, "If-None-Match");
    if (im) {
        x->client_option = 1;
        if (strchr(im, '*'))
            coap_req_add_if_match(creq, NULL, 0);
        else if (add_tags(creq, COAP_OPT_IF_MATCH, im))
            return -1;
    }
    if (inm) {
        x->client_option = 1;
        if (strchr(inm, '*')) {
            coap_req_set_if_none_match(creq);
        } else if (x->method == COAP_GET) {
            /* A GET validation: the tags go out as ETag options; 2.03 -> 304. */
            if (add_tags(creq, COAP_OPT_ETAG, inm)) return -1;
            x->conditional = 1;
        }
    }
    return 0;
}

static int no_cache(http_req_t *req)
{
    const char *cc = http_req_header(req, "Cache-Control");
    const char *pragma = http_req_header(req, "Pragma");
    return (cc && (strcasestr(cc, "no-cache") || strcasestr(cc, "no-store"))) ||
           (pragma && strcasestr(pragma, "no-cache"));
}

/* The request body with its Content-Format; JSON bound for a CBOR
 * resource (coap-ct, or the device's advertised links) goes as CBOR. On
 * failure answers req and returns -1. */
int gw_proxy_set_body(http_req_t *req, const gw_target_t *t, int body_ct, coap_req_t *creq)
{
    size_t len;
    const uint8_t *body = http_req_body(req, &len);
    if (!len) return 0;
    const char *ct = http_req_header(req, "Content-Type");
    int cf = ct ? gw_map_content_type(ct) : -1;
    if (ct && cf < 0) return http_respond_text(req, 415, "no CoAP Content-Format for %s", ct), -1;
    int to = cf == COAP_CF_JSON || cf == COAP_CF_SENML_JSON ? gw_convert_target_ct(t, body_ct) : -1;
    if (to < 0) {
        if (cf >= 0) coap_req_set_content_format(creq, (unsigned)cf);
        return coap_req_set_payload(creq, body, len) ? http_respond_text(req, 503, "out of memory"),
               -1                                    : 0;
    }
    uint8_t *cbor;
    size_t n;
    char why[GW_MSG_MAX];
    if (gw_json_to_cbor((const char *)body, len, to == COAP_CF_SENML_CBOR, &cbor, &n, why,
                        sizeof why))
        return http_respond_text(req, 400, "%s", why), -1;
    coap_req_set_content_format(creq, (unsigned)to);
    int rc = coap_req_set_payload(creq, cbor, n);
    free(cbor);
    return rc ? http_respond_text(req, 503, "out of memory"), -1 : 0;
}

/* Starts the CoAP exchange of x for its first waiter's request. */
static int start_exchange(exch_t *x, http_req_t *req, const gw_target_t *t,
                          const coap_parsed_uri_t *u, const uint8_t *etag, size_t etag_len)
{
    gw_t *gw = x->gw;
    int err;
    char msg[GW_MSG_MAX];
    x->addr = t->addr;
    coap_ep_t *ep = x->ep = gw_target_ep(gw, t, &err);
    if (!ep && gw_dtls_explain(t->uri, err, msg, sizeof msg))
        return http_respond_text(req, 502, "%s", msg), -1;
    coap_req_t *creq = u ? coap_req_new_parsed(ep, x->method, u, &t->addr, &err)
                         : coap_req_new(ep, x->method, t->uri, &t->addr, &err);
    if (!creq)
        return http_respond_text(req, 400, "cannot build a request for %s: %s", t->uri,
                                 coap_strerror(err)),
               -1;
    if (gw_proxy_set_body(req, t, x->body_ct, creq)) {
        coap_req_cancel(creq);
        return -1;
    }
    if (x->accept >= 0) coap_req_set_accept(creq, (unsigned)x->accept);
    if (etag_len) coap_req_add_etag(creq, etag, etag_len);
    if (conditionals(x, req, creq)) {
        coap_req_cancel(creq);
        return http_respond_text(req, 400, "malformed entity-tag in If-Match or If-None-Match"), -1;
    }
    coap_req_set_timeout(creq, gw->cfg.timeout_ms);
    coap_req_set_max_body(creq, gw->cfg.max_body);
    x->creq = creq;
    int rc = coap_req_send(creq, on_coap_done, x); /* on failure creq is freed already */
    if (rc) {
        x->creq = NULL;
        if (gw_limits_refusal(rc)) return gw_limits_http(gw, req, rc, t->uri), -1;
        if (gw_dtls_gone(gw, ep, t->uri, &t->addr, rc, msg, sizeof msg)) {
            http_req_set_log(req, t->uri, "DTLS session gone");
            return http_respond_text(req, 502, "%s", msg), -1;
        }
        if (gw_tcp_gone(gw, ep, t->uri, &t->addr, rc, msg, sizeof msg)) {
            http_req_set_log(req, t->uri, "TCP connection gone");
            return http_respond_text(req, 504, "%s", msg), -1;
        }
        if (gw_tcp_full(gw, ep, t->uri, rc, msg, sizeof msg)) {
            http_req_set_log(req, t->uri, "coap.tcp_max_connections");
            return http_respond_text(req, 503, "%s", msg), -1;
        }
        return http_respond_text(req, 502, "cannot send to %s: %s", t->uri, coap_strerror(rc)), -1;
    }
    return 0;
}

/* key: the coalescing key of a plain GET, else NULL. */
static exch_t *exch_new(gw_t *gw, uint8_t method, const char *uri, int accept, const char *key)
{
    size_t ul = strlen(uri) + 1, kl = key ? strlen(key) + 1 : 0;
    exch_t *x = calloc(1, sizeof *x + ul + kl);
    if (!x) return NULL;
    x->uri = memcpy(x->storage, uri, ul);
    if (key) x->key = memcpy(x->storage + ul, key, kl);
    x->gw = gw;
    base_list_init(&x->waiters);
    x->method = method;
    x->accept = accept;
    return x;
}

/* The coap-ct=N query parameter is the gateway's, not the device's: t
 * without it (in *copy when it was there), its value in *body_ct. NULL
 * when it is invalid: req is answered. */
static const gw_target_t *take_coap_ct(http_req_t *req, const gw_target_t *t, gw_target_t *copy,
                                       int *body_ct)
{
    *body_ct = -1;
    if (!strstr(t->uri, "coap-ct=")) return t;
    *copy = *t;
    if ((*body_ct = gw_convert_take_ct(copy->uri)) == -2) {
        http_req_set_log(req, t->uri, NULL);
        http_respond_text(req, 400, "coap-ct must be 60 (CBOR) or 112 (SenML CBOR)");
        return NULL;
    }
    return copy;
}

/* "URI\nACCEPT" into key (GW_URI_MAX + 12 bytes): joined by hand, this
 * runs for every proxied GET. */
static void coalescing_key(const char *uri, int accept, char *key)
{
    size_t n = strlen(uri);
    memcpy(key, uri, n);
    key[n++] = '\n';
    if (accept < 0) key[n++] = '-';
    n += base_fmt_u32(key + n, accept < 0 ? 0u - (unsigned)accept : (unsigned)accept);
    key[n] = '\0';
}

/* u when t->uri parses back to the same options: not after coap-ct= left
 * the query, nor for a reg-name with a ':' (only from %3A), which t->uri
 * writes in brackets as an IP literal, with no Uri-Host. */
static const coap_parsed_uri_t *same_options(const gw_target_t *t, const gw_target_t *used,
                                             const coap_parsed_uri_t *u)
{
    if (!u || used != t) return NULL;
    return !u->host_is_literal && strchr(u->host, ':') ? NULL : u;
}

void gw_proxy(gw_t *gw, http_req_t *req, const gw_target_t *t, const coap_parsed_uri_t *u)
{
    const gw_target_t *asked = t;
    const char *hm = http_req_method(req);
    const char *ipatch = http_req_header(req, "X-CoAP-Method");
    int method = gw_map_method(hm, ipatch && !strcasecmp(ipatch, "iPATCH"));
    gw_target_t stripped;
    int body_ct;
    if (!(t = take_coap_ct(req, t, &stripped, &body_ct))) return;
    u = same_options(asked, t, u);
    http_req_set_log(req, t->uri, NULL); /* for the answers that follow without a note */
    if (method == GW_METHOD_LOCAL) {
        http_req_add_header(req, "Allow", allow);
        http_respond(req, 204, NULL, NULL, 0);
        return;
    }
    if (method == GW_METHOD_UNSUPPORTED) {
        http_req_add_header(req, "Allow", allow);
        http_respond_text(req, 501, "method %s is not mapped to CoAP", hm);
        return;
    }
    int accept = gw_map_accept(http_req_header(req, "Accept"));
    int plain_get = method == COAP_GET && !http_req_header(req, "If-None-Match") &&
                    !http_req_header(req, "If-Match");
    uint64_t now = base_loop_now(gw->loop);
    gw_cache_entry_t *e = NULL;
    if (gw->cache && plain_get) {
        e = gw_cache_get(gw->cache, t->uri, accept);
        if (e && e->expires_ms > now && !no_cache(req)) { /* §5.6.1: fresh */
            gw->stats.cache_hits++;
            gw_proxy_answer_entry_(gw, NULL, req, t->uri, e, "cache");
            return;
        }
        gw->stats.cache_misses++;
    }
    /* Identical GETs in flight share one exchange (and its answer). */
    char key[GW_URI_MAX + sizeof "\n-2147483648"]; /* the URI and Accept */
    if (plain_get) coalescing_key(t->uri, accept, key);
    exch_t *x = plain_get ? gw_strmap_get(gw->inflight, key) : NULL;
    if (x) {
        gw->stats.coalesced++;
        if (!add_waiter(x, req, t)) http_respond_text(req, 503, "out of memory");
        return;
    }
    x = exch_new(gw, (uint8_t)method, t->uri, accept, plain_get ? key : NULL);
    if (!x || !add_waiter(x, req, t)) {
        if (x) exch_free(x);
        http_respond_text(req, 503, "out of memory");
        return;
    }
    x->body_ct = body_ct;
    if (x->key) gw_strmap_set(gw->inflight, x->key, x);
    x->revalidating = e && e->etag_len && !no_cache(req);
    if (start_exchange(x, req, t, u, x->revalidating ? e->etag : NULL,
                       x->revalidating ? e->etag_len : 0)) {
        waiter_of(base_list_first(&x->waiters))->req = NULL; /* answered by start_exchange */
        http_req_on_abort(req, NULL, NULL);
        exch_free(x);
    }
}
