/*
 * limits.c - coap.max_exchanges and coap.max_pending_per_peer: the
 * engine refuses a request past them (coap_client_set_limits); here the
 * refusal becomes the same answer wherever it comes from (a proxied
 * HTTP request, the forward proxy, discovery; the hub's streams get
 * their `event: error` 503 from the text).
 */
#include "gw_limits.h"

#include <stdio.h>
#include <string.h>

static const char *const keys[GW_NLIMITS] = {"coap.max_exchanges", "coap.max_pending_per_peer"};

void gw_limits_apply(gw_t *gw)
{
    gw->limits.budget.max = gw->cfg.max_exchanges;
    coap_ep_t *eps[7] = {gw->ep,         gw->coaps_ep, gw->dtls_ep,   gw->tcp_ep,
                         gw->tcp_srv_ep, gw->tls_ep,   gw->tls_srv_ep};
    for (int i = 0; i < 7; i++)
        if (eps[i])
            coap_client_set_limits(eps[i], &gw->limits.budget, gw->cfg.max_pending_per_peer);
}

int gw_limits_refusal(int err)
{
    return err == COAP_ERR_BUSY || err == COAP_ERR_PEER_BUSY;
}

void gw_limits_refused(gw_t *gw, int err, const char *target, char *msg, size_t cap)
{
    int which = err == COAP_ERR_BUSY ? GW_LIMIT_EXCHANGES : GW_LIMIT_PENDING;
    uint32_t limit =
        which == GW_LIMIT_EXCHANGES ? gw->cfg.max_exchanges : gw->cfg.max_pending_per_peer;
    snprintf(msg, cap, "%s (%s = %u); try again later",
             which == GW_LIMIT_EXCHANGES ? "too many CoAP requests in flight"
                                         : "too many CoAP requests queued for this device",
             keys[which], limit);
    gw_limits_t *l = &gw->limits;
    l->refused[which]++;
    /* a flood of refusals is one line a second, with the count */
    uint64_t now = base_loop_now(gw->loop);
    if (l->logged_ms[which] && now - l->logged_ms[which] < 1000) {
        l->unlogged[which]++;
        return;
    }
    char more[64] = "";
    if (l->unlogged[which])
        snprintf(more, sizeof more, " (and %llu more since the last line)",
                 (unsigned long long)l->unlogged[which]);
    gw_log(CFG_LOG_WARN, "limit: request to %s refused: %s = %u reached%s", target, keys[which],
           limit, more);
    l->logged_ms[which] = now;
    l->unlogged[which] = 0;
}

void gw_limits_http(gw_t *gw, http_req_t *req, int err, const char *target)
{
    char msg[160], note[64];
    gw_limits_refused(gw, err, target, msg, sizeof msg);
    snprintf(note, sizeof note, "refused: %s",
             keys[err == COAP_ERR_BUSY ? GW_LIMIT_EXCHANGES : GW_LIMIT_PENDING]);
    http_req_set_log(req, target, note);
    http_req_add_header(req, "Retry-After", GW_BUSY_RETRY_S_TEXT); /* RFC 9110 §10.2.3 */
    http_respond_text(req, 503, "%s", msg);
}

void gw_limits_coap(gw_t *gw, coap_server_t *srv, uint64_t id, int err, const char *target)
{
    char msg[160];
    gw_limits_refused(gw, err, target, msg, sizeof msg);
    coap_server_response_t r = COAP_RESPONSE(COAP_SERVICE_UNAVAILABLE);
    r.max_age = GW_BUSY_RETRY_S; /* RFC 7252 §5.9.3.4: when to try again */
    r.payload = msg;
    r.payload_len = strlen(msg);
    coap_server_respond(srv, id, &r);
}

int gw_limits_take(gw_t *gw)
{
    coap_req_budget_t *b = &gw->limits.budget;
    if (b->max && b->used >= b->max) return COAP_ERR_BUSY;
    b->used++;
    return 0;
}

void gw_limits_give(gw_t *gw)
{
    gw->limits.budget.used--;
}
