/*
 * proxy_answer.c - the HTTP answers of the HTTP -> CoAP proxy (RFC 8075
 * §7): from a CoAP response, from a cache entry (RFC 7252 §5.6), or for a
 * failed exchange. Answers that do not depend on the request are built
 * once and shared (issue #19).
 */
#include "base_clock.h"
#include "gw_coaps.h"
#include "gw_convert.h"
#include "gw_guard.h"
#include "gw_location.h"
#include "gw_map.h"
#include "gw_metrics.h"
#include "gw_tcp.h"
#include "proxy_internal.h"

#include <stdio.h>
#include <string.h>

/* The access log line is written when the request ends (main.c); this
 * adds the target and a note (the CoAP code, "cache", an error). A request
 * answered from a CoAP exchange also feeds the latency histogram. */
static void log_done(gw_t *gw, waiter_t *w, http_req_t *req, const char *uri, const char *note)
{
    http_req_set_log(req, uri, note);
    if (w) gw_metrics_latency(gw->metrics, base_clock_us() - w->started_us);
}

/* --- answering from a CoAP response --- */

static void format_max_age(char *v, size_t cap, long max_age)
{
    snprintf(v, cap, "max-age=%ld", max_age);
}

static void add_max_age(http_req_t *req, long max_age)
{
    char v[32];
    format_max_age(v, sizeof v, max_age);
    http_req_add_header(req, "Cache-Control", v);
}

static void add_etag(http_req_t *req, const uint8_t *tag, size_t len)
{
    char v[24];
    gw_etag_format(tag, len, v, sizeof v);
    http_req_add_header(req, "ETag", v);
}

/* Location-Path / Location-Query -> Location (RFC 8075 §7), under the
 * gateway's own URL forms: a device must not send the client elsewhere. */
static void add_location(waiter_t *w, const coap_msg_t *m)
{
    char loc[1024];
    const char *dev = w->device, *dev_uri = dev ? dev + strlen(dev) + 1 : NULL;
    int n = gw_location_map(m, w->x->uri, dev, dev_uri, loc, sizeof loc);
    if (n > 0)
        http_req_add_header(w->req, "Location", loc);
    else if (n < 0)
        gw_log(CFG_LOG_DEBUG, "coap: %s: Location-Path with a dot segment or too long: dropped",
               w->x->uri);
}

/* A device's HTML, XML or SVG would run in the gateway's origin: by
 * default it is a download (the sandboxing headers hold either way). */
static int download_only(gw_t *gw, const char *type)
{
    return type && !gw->cfg.inline_active_content && gw_type_is_active(type);
}

static const char *typed_body(gw_t *gw, http_req_t *req, const char *type)
{
    if (download_only(gw, type)) http_req_add_header(req, "Content-Disposition", "attachment");
    return type;
}

static const char *entry_type(const gw_cache_entry_t *e, char *buf, size_t cap)
{
    return e->content_format >= 0 && e->len
               ? gw_map_cf_to_type((unsigned)e->content_format, buf, cap)
               : NULL;
}

/* Builds an answer to share, answers req with it and keeps it in *slot,
 * letting go of the one there. Returns 1, or 0 (req to be answered as
 * usual). */
static int share_new(http_req_t *req, unsigned status, http_shared_t **slot, const char *type,
                     const void *body, size_t len, const char *const *extra)
{
    http_shared_t *s = http_shared_new(req, type, body, len, extra);
    if (!s || http_respond_shared(req, status, s)) {
        http_shared_release(s);
        return 0;
    }
    http_shared_release(*slot);
    *slot = s;
    return 1;
}

/* A cached answer, built once per Max-Age value (it counts down in whole
 * seconds) and queued for every request with the same headers: formatting
 * and copying it each time was most of a cache hit's own cost (issue #19).
 * The headers as answer_entry adds them, in its order. Returns 1 when req
 * is answered. */
static int answer_prepared(gw_t *gw, http_req_t *req, gw_cache_entry_t *e, long age)
{
    if (e->prepared && e->prepared_max_age == age && !http_respond_shared(req, 200, e->prepared))
        return 1;
    char ct[64], cc[32], etag[24];
    const char *extra[7], **x = extra;
    const char *type = entry_type(e, ct, sizeof ct);
    format_max_age(cc, sizeof cc, age);
    *x++ = "Cache-Control";
    *x++ = cc;
    if (e->etag_len) {
        gw_etag_format(e->etag, e->etag_len, etag, sizeof etag);
        *x++ = "ETag";
        *x++ = etag;
    }
    if (download_only(gw, type)) {
        *x++ = "Content-Disposition";
        *x++ = "attachment";
    }
    *x = NULL;
    http_shared_t *s = e->prepared;
    if (!share_new(req, 200, &s, type, e->body, e->len, extra)) return 0;
    e->prepared = s;
    e->prepared_max_age = age;
    return 1;
}

void gw_proxy_answer_entry_(gw_t *gw, waiter_t *w, http_req_t *req, const char *uri,
                            gw_cache_entry_t *e, const char *note)
{
    char ct[64];
    uint64_t now = base_loop_now(gw->loop);
    long age = e->expires_ms > now ? (long)((e->expires_ms - now + 999) / 1000) : 0;
    log_done(gw, w, req, uri, note);
    /* a CBOR body's answer depends on Accept (convert.c): built each time */
    if (!gw_convert_applies(e->content_format, e->len) && answer_prepared(gw, req, e, age)) return;
    add_max_age(req, age);
    if (e->etag_len) add_etag(req, e->etag, e->etag_len);
    const char *type = entry_type(e, ct, sizeof ct);
    if (gw_convert_answer(req, 200, e->content_format, e->body, e->len)) return;
    http_respond(req, 200, typed_body(gw, req, type), e->body, e->len);
}

typedef struct {
    char etag[24], cache_control[32], retry_after[16];
} coap_hdr_bufs_t;

/* The headers an answer to m gets whoever asked (RFC 8075 §7), as "NAME",
 * "VALUE", ..., NULL in extra (room for 7), their values in v. Returns the
 * count of strings. */
static size_t coap_headers(const coap_msg_t *m, const char **extra, coap_hdr_bufs_t *v)
{
    size_t n = 0;
    uint32_t retry_after;
    const coap_msg_opt_t *etag = coap_msg_find_opt(m, COAP_OPT_ETAG);
    if (etag && etag->len <= 8) {
        gw_etag_format(coap_msg_opt_value(etag), etag->len, v->etag, sizeof v->etag);
        extra[n++] = "ETag";
        extra[n++] = v->etag;
    }
    if (COAP_CODE_CLASS(m->code) == 2) { /* §7: 60 when absent */
        format_max_age(v->cache_control, sizeof v->cache_control, coap_msg_max_age(m));
        extra[n++] = "Cache-Control";
        extra[n++] = v->cache_control;
    }
    /* 5.03: Retry-After only when the server gave a Max-Age (RFC 8075 §7) */
    if (m->code == COAP_SERVICE_UNAVAILABLE &&
        !coap_msg_get_uint(m, COAP_OPT_MAX_AGE, &retry_after)) {
        snprintf(v->retry_after, sizeof v->retry_after, "%u", retry_after);
        extra[n++] = "Retry-After";
        extra[n++] = v->retry_after;
    }
    extra[n] = NULL;
    return n;
}

static const char *coap_body_type(const coap_resp_t *r, const uint32_t *cf, char *buf, size_t cap)
{
    if (!r->body_len) return NULL;
    if (cf) return gw_map_cf_to_type(*cf, buf, cap);
    if (COAP_CODE_CLASS(r->msg->code) >= 4) return "text/plain; charset=utf-8"; /* diagnostic */
    return "application/octet-stream";
}

/* One answer for the waiters of an exchange (identical GETs coalesced)
 * that carry the same headers, built by the first (issue #19). */
static int answer_shared(waiter_t *w, const coap_resp_t *r, unsigned status, const char *type,
                         size_t len, http_shared_t **shared)
{
    if (*shared && !http_respond_shared(w->req, status, *shared)) return 1;
    const char *extra[9];
    coap_hdr_bufs_t v;
    size_t n = coap_headers(r->msg, extra, &v);
    if (download_only(w->x->gw, type)) {
        extra[n++] = "Content-Disposition";
        extra[n++] = "attachment";
        extra[n] = NULL;
    }
    return share_new(w->req, status, shared, type, r->body, len, extra);
}

/* code: the response code as text; *shared: the answer the exchange's
 * waiters share, or NULL (both made once per exchange). */
void gw_proxy_answer_coap_(waiter_t *w, const coap_resp_t *r, const char *code,
                           http_shared_t **shared)
{
    exch_t *x = w->x;
    const coap_msg_t *m = r->msg;
    gw_status_t st = gw_map_status(m->code, r->body_len > 0, x->conditional, x->client_option);
    uint32_t cf = 0;
    int has_cf = coap_msg_get_uint(m, COAP_OPT_CONTENT_FORMAT, &cf) == 0;
    char ctbuf[64];
    const char *type = coap_body_type(r, has_cf ? &cf : NULL, ctbuf, sizeof ctbuf);
    log_done(x->gw, w, w->req, x->uri, code);
    /* 304 and 204 carry no body (RFC 9110 §15.4.5, §15.3.5). */
    int no_body = st.status == 304 || st.status == 204;
    /* no diagnostic from the device (the engine leaves it out where it
     * would make the answer larger than the request): we name the code */
    int text = !r->body_len && COAP_CODE_CLASS(m->code) >= 4;
    int located = m->code == COAP_CREATED || m->code == COAP_CHANGED; /* as each asked */
    int converted = !no_body && gw_convert_applies(has_cf ? (int)cf : -1, r->body_len);
    if (!text && !located && !converted &&
        answer_shared(w, r, st.status, no_body ? NULL : type, no_body ? 0 : r->body_len, shared))
        return;
    const char *extra[7];
    coap_hdr_bufs_t v;
    coap_headers(m, extra, &v);
    for (const char **e = extra; *e; e += 2) http_req_add_header(w->req, e[0], e[1]);
    if (located) add_location(w, m);
    if (text) {
        http_respond_text(w->req, st.status, "CoAP server %s answered %s", x->uri, code);
        return;
    }
    if (converted &&
        gw_convert_answer(w->req, st.status, has_cf ? (int)cf : -1, r->body, r->body_len))
        return;
    http_respond(w->req, st.status, no_body ? NULL : typed_body(x->gw, w->req, type), r->body,
                 no_body ? 0 : r->body_len);
}

void gw_proxy_answer_error_(waiter_t *w, int err)
{
    exch_t *x = w->x;
    char dtls[GW_MSG_MAX];
    /* 502, not a silent device's 504: a failed handshake, a session gone */
    if (gw_dtls_why(x->gw, x->ep, x->uri, &x->addr, err, dtls, sizeof dtls)) {
        log_done(x->gw, w, w->req, x->uri,
                 COAP_ERR_IS_DTLS(err) ? coap_strerror(err) : "DTLS session gone");
        http_respond_text(w->req, 502, "%s", dtls);
        return;
    }
    /* 504: the connection a device registered over is gone, as if silent */
    if (gw_tcp_gone(x->gw, x->ep, x->uri, &x->addr, err, dtls, sizeof dtls)) {
        log_done(x->gw, w, w->req, x->uri, "TCP connection gone");
        http_respond_text(w->req, 504, "%s", dtls);
        return;
    }
    if (gw_tcp_full(x->gw, x->ep, x->uri, err, dtls, sizeof dtls)) {
        log_done(x->gw, w, w->req, x->uri, "coap.tcp_max_connections");
        http_respond_text(w->req, 503, "%s", dtls);
        return;
    }
    unsigned status = err == COAP_ERR_TIMEOUT ? 504 : 502;
    const char *why = err == COAP_ERR_TIMEOUT       ? "did not answer in time"
                      : err == COAP_ERR_RESET       ? "reset the request (RST)"
                      : err == COAP_ERR_UNREACHABLE ? "is unreachable (ICMP)"
                      : err == COAP_ERR_TOO_LARGE   ? "sent a response larger than the limit"
                                                    : coap_strerror(err);
    log_done(x->gw, w, w->req, x->uri, coap_strerror(err));
    http_respond_text(w->req, status, "CoAP server %s %s", x->uri, why);
}
