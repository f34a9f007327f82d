/*
 * forward.c - a request for a device held by another gateway of the
 * cluster (it registered over that gateway's DTLS listener: its session
 * lives there) goes to that gateway over HTTP, at the cluster.advertise
 * URL its registration carries in Redis, and its answer comes back as if
 * this gateway had served it; an event stream is relayed as it comes
 * (docs/cluster.md, "Forwarding to the owner").
 *
 * The forwarded request carries cluster.token in X-Coapgw-Forwarded: a
 * gateway takes such a request only with its own token, and never
 * forwards it again (no loops).
 *
 * A relayed stream keeps the client's token: a reload that revokes it
 * ends the stream here, as the hub ends its own (gw_forward_revoke); so
 * does a reload that removes its device (gw_forward_recheck).
 */
#include "gw.h"
#include "gw_forward.h"
#include "gw_sse_event.h"

#include "base_buf.h"
#include "base_list.h"
#include "http_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORWARD_HEADER   "X-Coapgw-Forwarded"
#define FORWARD_MAX_BODY (1024 * 1024)

struct gw_forward {
    gw_t *gw;
    http_client_t *http;
    base_list_t streams; /* fwd_t.in_fw: the relayed event streams */
    gw_forward_stats_t stats;
};

/* One request on its way to the owner and back. */
typedef struct {
    base_list_t in_fw; /* fw->streams while it relays a stream */
    gw_forward_t *fw;
    http_req_t *req;       /* NULL once answered or the client left */
    http_call_t *call;     /* NULL once it ended */
    http_stream_t *stream; /* the relayed event stream, NULL when none or closed */
    base_buf_t buf;        /* the answer, or the stream's bytes not yet sent */
    size_t sent;           /* of buf, already in the stream */
    size_t partial;        /* bytes received after the stream's last whole event */
    int last_lf;           /* the last byte received was a line feed */
    int too_large;
    char *token; /* the client's (NULL: none), checked on reload */
    char device[64];
} fwd_t;

int gw_forward_start(gw_t *gw, char *err, size_t cap)
{
    if (*gw->cfg.cluster_advertise && !*gw->cfg.cluster_token)
        return snprintf(err, cap,
                        "cluster.advertise needs cluster.token (the other gateways take a "
                        "forwarded request only with it)"),
               -1;
    if (!*gw->cfg.state_redis) return 0; /* no other gateway to know of */
    gw_forward_t *fw = calloc(1, sizeof *fw);
    if (!fw || !(fw->http = http_client_new(gw->loop))) {
        free(fw);
        return snprintf(err, cap, "out of memory"), -1;
    }
    fw->gw = gw;
    base_list_init(&fw->streams);
    gw->forward = fw;
    return 0;
}

gw_forward_stats_t gw_forward_stats(const gw_forward_t *fw)
{
    return fw ? fw->stats : (gw_forward_stats_t){0};
}

void gw_forward_free(gw_forward_t *fw)
{
    if (!fw) return;
    http_client_free(fw->http); /* cancels the calls in flight */
    free(fw);
}

static void fwd_maybe_free(fwd_t *f)
{
    if (f->req || f->call || f->stream) return;
    base_buf_free(&f->buf);
    free(f->token);
    free(f);
}

/* --- the relayed event stream --- */

static long stream_pull(void *arg, char *out, size_t max)
{
    fwd_t *f = arg;
    size_t n = base_buf_take(&f->buf, &f->sent, out, max);
    if (!n) return f->call ? 0 : -1; /* the owner ended it: so does the client's */
    return (long)n;
}

static void stream_closed(void *arg)
{
    fwd_t *f = arg;
    f->stream = NULL;
    base_list_remove(&f->in_fw);
    if (f->call)
        http_call_cancel(f->call); /* its callback frees f */
    else
        fwd_maybe_free(f);
}

/* Where the last whole event ends (an empty line, WHATWG SSE; the owner
 * is a coapgw writing LF only): a stream ended here ends between events. */
static void track_events(fwd_t *f, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        int lf = data[i] == '\n';
        f->partial = lf && f->last_lf ? 0 : f->partial + 1;
        f->last_lf = lf;
    }
}

static int is_event_stream(unsigned status, const char *ctype)
{
    return status == 200 && ctype && !strncmp(ctype, "text/event-stream", 17);
}

static int on_data(http_call_t *call, unsigned status, const char *ctype, const uint8_t *data,
                   size_t len, void *arg)
{
    (void)call;
    fwd_t *f = arg;
    if (f->req && is_event_stream(status, ctype)) {
        http_req_add_header(f->req, "Cache-Control", "no-cache");
        http_req_add_header(f->req, "X-Accel-Buffering", "no");
        f->stream = http_respond_stream(f->req, "text/event-stream", stream_pull, stream_closed, f);
        if (!f->stream) {
            http_respond_text(f->req, 503, "cannot open an event stream");
            f->req = NULL;
            return -1;
        }
        f->req = NULL; /* answered: the stream owns it */
        base_list_push_back(&f->fw->streams, &f->in_fw);
    }
    if (!f->stream && !f->req) return -1; /* nobody to give it to */
    /* an answer, or what a slow client has not read of a stream: bounded
     * (a stream is then ended, and its client reconnects) */
    if (f->buf.len - f->sent + len > FORWARD_MAX_BODY) {
        f->too_large = 1;
        if (f->stream)
            gw_log(CFG_LOG_WARN,
                   "forward: %s: the client reads the relayed event stream slower than it "
                   "comes (%d KiB unsent): stream ended",
                   f->device, FORWARD_MAX_BODY / 1024);
        return -1;
    }
    if (base_buf_append(&f->buf, data, len)) return -1;
    if (f->stream) http_stream_wake(f->stream);
    track_events(f, data, len);
    return 0;
}

/* The owner's answer, as if it were ours. */
static void answer(fwd_t *f, const http_result_t *r)
{
    http_req_t *req = f->req;
    if (r->result != HTTP_CALL_OK) {
        f->fw->stats.failed++;
        http_respond_text(req, 502,
                          "%s is held by another gateway of the cluster, which did not answer: %s",
                          f->device, f->too_large ? "the answer is too large" : r->error);
        return;
    }
    if (r->etag) http_req_add_header(req, "ETag", r->etag);
    if (r->cache_control) http_req_add_header(req, "Cache-Control", r->cache_control);
    if (r->expires) http_req_add_header(req, "Expires", r->expires);
    if (r->location) http_req_add_header(req, "Location", r->location);
    http_respond(req, r->status, r->content_type ? r->content_type : "application/octet-stream",
                 f->buf.data, f->buf.len);
}

static void on_done(http_call_t *call, const http_result_t *r, void *arg)
{
    (void)call;
    fwd_t *f = arg;
    f->call = NULL;
    if (f->req) {
        answer(f, r);
        f->req = NULL;
    }
    if (f->stream)
        http_stream_wake(f->stream); /* pull ends it once the rest is sent */
    else
        fwd_maybe_free(f);
}

static void on_abort(http_req_t *req, void *arg)
{
    (void)req;
    fwd_t *f = arg;
    f->req = NULL;
    if (f->call) http_call_cancel(f->call); /* its callback frees f */
}

/* Ends f's relayed stream with e, after the last whole event received
 * (what the owner sent of the next is left out), and the owner's call.
 * When part of that event has gone to the client already, it ends
 * without e: a client drops an event the end cuts (WHATWG SSE). */
static void end_stream(fwd_t *f, const gw_ev_t *e)
{
    if (f->partial <= f->buf.len - f->sent) {
        f->buf.len -= f->partial;
        f->partial = 0;
        base_buf_append(&f->buf, e->data, e->len);
    }
    base_list_remove(&f->in_fw);
    if (f->call)
        http_call_cancel(f->call); /* on_done wakes the stream: pull ends it */
    else
        http_stream_wake(f->stream);
}

size_t gw_forward_revoke(gw_forward_t *fw, int (*still_valid)(const char *token, void *arg),
                         void *arg)
{
    size_t n = 0;
    gw_ev_t *e = NULL;
    base_list_t *it, *next;
    if (fw)
        BASE_LIST_FOREACH(it, next, &fw->streams) {
            fwd_t *f = base_list_entry(it, fwd_t, in_fw);
            if (still_valid(f->token, arg)) continue;
            /* RFC 6750 §3.1, as the hub ends a device's streams (hub.c) */
            if (!e && !(e = gw_ev_error(NULL, 401, GW_EV_TOKEN_REVOKED))) break;
            end_stream(f, e);
            n++;
        }
    gw_ev_unref(e);
    return n;
}

size_t gw_forward_recheck(gw_forward_t *fw,
                          unsigned (*refused)(void *arg, const char *uri, const char *device,
                                              char *msg, size_t cap),
                          void *arg)
{
    size_t n = 0;
    char msg[GW_MSG_MAX];
    base_list_t *it, *next;
    if (fw)
        BASE_LIST_FOREACH(it, next, &fw->streams) {
            fwd_t *f = base_list_entry(it, fwd_t, in_fw);
            unsigned status = refused(arg, NULL, f->device, msg, sizeof msg);
            gw_ev_t *e = status ? gw_ev_error(NULL, status, msg) : NULL;
            if (!e) continue;
            end_stream(f, e); /* as the hub ends a removed device's streams */
            gw_ev_unref(e);
            n++;
        }
    return n;
}

/* --- the request to the owner --- */

/* The client's headers that change the answer go along. */
static const char *const passed_headers[] = {"Accept",   "Content-Type",  "If-None-Match",
                                             "If-Match", "Authorization", "Last-Event-ID"};

static http_call_t *owner_call(gw_forward_t *fw, http_req_t *req, const gw_device_t *d)
{
    const char *q = http_req_query(req), *path = http_req_path(req);
    size_t n = strlen(d->held_at);
    char url[GW_URI_MAX + 300];
    if ((size_t)snprintf(url, sizeof url, "%.*s%s%s%s",
                         (int)(n && d->held_at[n - 1] == '/' ? n - 1 : n), d->held_at, path,
                         *q ? "?" : "", q) >= sizeof url)
        return NULL;
    http_call_t *call = http_call_new(fw->http, http_req_method(req), url);
    if (!call) return NULL;
    for (size_t i = 0; i < sizeof passed_headers / sizeof *passed_headers; i++) {
        const char *v = http_req_header(req, passed_headers[i]);
        if (v) http_call_add_header(call, passed_headers[i], v);
    }
    http_call_add_header(call, FORWARD_HEADER, fw->gw->cfg.cluster_token);
    size_t len = 0;
    const uint8_t *body = http_req_body(req, &len);
    if (len) http_call_set_body(call, body, len);
    const char *accept = http_req_header(req, "Accept");
    int events = accept && strstr(accept, "text/event-stream");
    /* a stream lasts; a request gets the owner's own CoAP timeout and a second */
    http_call_set_timeout(call, events ? 0 : fw->gw->cfg.timeout_ms + 1000);
    return call;
}

static void forward(gw_forward_t *fw, http_req_t *req, const gw_device_t *d, const char *token)
{
    fwd_t *f = calloc(1, sizeof *f);
    char *kept = token && f ? strdup(token) : NULL;
    http_call_t *call = f && (kept || !token) ? owner_call(fw, req, d) : NULL;
    if (!call) {
        free(kept);
        free(f);
        http_respond_text(req, 503, "cannot forward the request for %s (out of memory)", d->name);
        return;
    }
    *f = (fwd_t){.fw = fw, .req = req, .call = call, .token = kept};
    snprintf(f->device, sizeof f->device, "%s", d->name);
    http_call_set_stream(call, on_data, f);
    fw->stats.forwarded++;
    http_req_set_log(req, d->held_at, "forwarded to the device's gateway");
    if (http_call_start(call, on_done, f) < 0) {
        free(kept);
        free(f);
        http_respond_text(req, 502, "cannot forward the request for %s to %s", d->name, d->held_at);
        return;
    }
    http_req_on_abort(req, on_abort, f);
}

/* --- entry points --- */

/* Constant time: the token is a secret. */
static int same_secret(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    unsigned char diff = na != nb;
    for (size_t i = 0; i < na && i < nb; i++) diff |= (unsigned char)(a[i] ^ b[i]);
    return !diff;
}

int gw_forward_incoming(gw_t *gw, http_req_t *req)
{
    const char *v = http_req_header(req, FORWARD_HEADER);
    if (!v) return 0;
    if (*gw->cfg.cluster_token && same_secret(v, gw->cfg.cluster_token)) return 1;
    http_req_set_log(req, NULL, "forwarded request without the cluster token");
    http_respond_text(req, 403, "a forwarded request needs this gateway's cluster.token");
    return -1;
}

int gw_forward_route(gw_t *gw, http_req_t *req, int forwarded, const char *token)
{
    const char *path = http_req_path(req);
    if (strncmp(path, "/devices/", 9)) return 0;
    char name[64];
    size_t n = strcspn(path + 9, "/");
    if (!n || n >= sizeof name) return 0;
    memcpy(name, path + 9, n);
    name[n] = '\0';
    const gw_device_t *d = gw_device_find(gw, name);
    if (!d || !d->held_by) return 0;
    if (!forwarded && *d->held_at && *gw->cfg.cluster_token && gw->forward) {
        forward(gw->forward, req, d, token);
        return 1;
    }
    http_req_set_log(req, NULL, "held by another gateway");
    http_respond_text(req, 503, "%s is held by another gateway (%s)%s", d->name, d->held_by,
                      forwarded     ? ": a forwarded request is not forwarded again"
                      : *d->held_at ? ": this gateway has no cluster.token to forward with"
                                    : ": it has no cluster.advertise to forward to");
    return 1;
}
