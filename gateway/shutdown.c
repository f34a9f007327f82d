/*
 * shutdown.c - graceful shutdown on SIGTERM/SIGINT: stop taking work,
 * let what is in flight finish within cfg.shutdown_grace_ms, answer the
 * rest with 503, then stop the loop (main frees everything and exits 0).
 * A second signal stops at once.
 */
#include "gw_hub.h"

#include <stdlib.h>

#define TICK_MS  10  /* how often the drain looks at what is left */
#define FLUSH_MS 200 /* after the grace period: time to send the 503s */

struct gw_drain {
    base_loop_timer_t *timer;
    uint64_t started, deadline;
    int flushing;  /* the grace period is over; the 503s are going out */
    unsigned left; /* bit l: passed socket of listener l no longer read */
};

/* RFC 7252 §5.9.3.4: 5.03 with Max-Age, the seconds after which to retry. */
static void refuse_coap(coap_ep_t *ep, coap_ep_req_t *req, const coap_msg_t *m, void *ctx)
{
    (void)m;
    (void)ctx;
    static const char why[] = "gateway shutting down";
    coap_msg_t r;
    coap_msg_init(&r, COAP_ACK, COAP_SERVICE_UNAVAILABLE, 0);
    coap_msg_add_uint(&r, COAP_OPT_MAX_AGE, 5);
    r.payload = (const uint8_t *)why;
    r.payload_len = sizeof why - 1;
    coap_ep_respond(ep, req, &r, NULL, NULL);
}

/* A count summed over both front ends (HTTP and HTTPS; either may be off). */
static size_t both(const gw_t *gw, size_t (*count)(const http_server_t *))
{
    return (gw->http ? count(gw->http) : 0) + (gw->https ? count(gw->https) : 0);
}

/* Nothing left to wait for: no HTTP request or stream, no upstream
 * observation (deregistrations answered), no CoAP request being served. */
static int idle(gw_t *gw)
{
    return both(gw, http_server_requests) == 0 &&
           (!gw->hub || gw_hub_stats(gw->hub)->observations == 0) &&
           coap_ep_pending_requests(gw->srv_ep) == 0 &&
           (!gw->dtls_ep || coap_ep_pending_requests(gw->dtls_ep) == 0) &&
           (!gw->tcp_srv_ep || coap_ep_pending_requests(gw->tcp_srv_ep) == 0) &&
           (!gw->tls_srv_ep || coap_ep_pending_requests(gw->tls_srv_ep) == 0);
}

/* A CoAP socket passed in (socket activation) stays open in the service
 * manager: once the requests being served on it are answered, it is no
 * longer read, so new requests wait in its receive buffer for the next
 * gateway instead of getting 5.03. */
static void leave_passed(gw_t *gw, coap_ep_t *ep, gw_listener_t l)
{
    struct gw_drain *d = gw->drain;
    if (!ep || !(gw->passed.handed & (1u << l)) || (d->left & (1u << l)) ||
        coap_ep_pending_requests(ep))
        return;
    d->left |= 1u << l;
    coap_ep_detach(ep, gw->loop);
    gw_log(CFG_LOG_INFO, "shutdown: %s left to the next instance (socket activation)",
           l == GW_LISTEN_COAP ? "coap.listen" : "coap.listen_dtls");
}

static void on_tick(base_loop_t *loop, base_loop_timer_t *t, void *arg)
{
    gw_t *gw = arg;
    struct gw_drain *d = gw->drain;
    uint64_t now = base_loop_now(loop);
    leave_passed(gw, gw->srv_ep, GW_LISTEN_COAP);
    leave_passed(gw, gw->dtls_ep, GW_LISTEN_COAPS);
    if (idle(gw)) {
        gw_log(CFG_LOG_INFO, "shutdown: done in %llu ms", (unsigned long long)(now - d->started));
        base_loop_stop(loop);
        return;
    }
    if (now < d->deadline) {
        base_loop_timer_arm_in(t, TICK_MS);
        return;
    }
    if (d->flushing) {
        gw_log(CFG_LOG_WARN, "shutdown: %zu HTTP request(s) still open; closing them",
               both(gw, http_server_requests));
        base_loop_stop(loop);
        return;
    }
    gw_log(CFG_LOG_WARN, "shutdown: grace period over; %zu request(s) answered 503",
           both(gw, http_server_pending));
    if (gw->http) http_server_answer_pending(gw->http, 503, "the gateway is shutting down");
    if (gw->https) http_server_answer_pending(gw->https, 503, "the gateway is shutting down");
    d->flushing = 1;
    d->deadline = now + FLUSH_MS;
    base_loop_timer_arm_in(t, TICK_MS);
}

void gw_shutdown_begin(gw_t *gw)
{
    if (gw->drain || (!gw->http && !gw->https)) { /* a second signal: stop now (main frees all) */
        gw_log(CFG_LOG_WARN, "shutdown: second signal, stopping now");
        base_loop_stop(gw->loop);
        return;
    }
    struct gw_drain *d = calloc(1, sizeof *d);
    if (d) d->timer = base_loop_timer_new(gw->loop, on_tick, gw);
    if (!d || !d->timer) {
        free(d);
        base_loop_stop(gw->loop);
        return;
    }
    gw->drain = d; /* /readyz answers 503 from now on */
    d->started = base_loop_now(gw->loop);
    d->deadline = d->started + gw->cfg.shutdown_grace_ms;
    gw_log(CFG_LOG_INFO,
           "shutdown: %zu HTTP request(s), %zu stream(s), %llu observation(s) get %u ms to finish",
           both(gw, http_server_pending), both(gw, http_server_streams),
           (unsigned long long)(gw->hub ? gw_hub_stats(gw->hub)->observations : 0),
           gw->cfg.shutdown_grace_ms);
    if (gw->http) http_server_quiesce(gw->http);
    if (gw->https) http_server_quiesce(gw->https);
    coap_ep_set_request_handler(gw->srv_ep, refuse_coap, gw);
    if (gw->dtls_ep) coap_ep_set_request_handler(gw->dtls_ep, refuse_coap, gw);
    if (gw->tcp_srv_ep) coap_ep_set_request_handler(gw->tcp_srv_ep, refuse_coap, gw);
    if (gw->tls_srv_ep) coap_ep_set_request_handler(gw->tls_srv_ep, refuse_coap, gw);
    leave_passed(gw, gw->srv_ep, GW_LISTEN_COAP);
    leave_passed(gw, gw->dtls_ep, GW_LISTEN_COAPS);
    if (gw->hub) gw_hub_shutdown(gw->hub, 503, "gateway shutting down");
    base_loop_timer_arm_in(d->timer, 0);
}

void gw_shutdown_free(gw_t *gw)
{
    if (!gw->drain) return;
    base_loop_timer_free(gw->drain->timer);
    free(gw->drain);
    gw->drain = NULL;
}
