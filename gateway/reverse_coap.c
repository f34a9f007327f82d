/*
 * reverse_coap.c - CoAP -> CoAP: a proxied request to a coap:// or
 * coaps:// URI goes out through the gateway's CoAP client (over DTLS with
 * the target's credentials for coaps://), checked like every CoAP target
 * (gw_target_parse: the allowlist and its guards), with Hop-Limit
 * decremented (RFC 8768); the answer's end-to-end options go back as they
 * came (RFC 7252 §5.7.2).
 */
#include "gw_coaps.h"
#include "gw_limits.h"
#include "reverse_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    gw_t *gw;
    coap_server_t *srv; /* the request's: the answer goes back the way it came */
    uint64_t id;
    /* the target and the endpoint that reached it, for a DTLS failure's
     * diagnostic */
    char uri[GW_URI_MAX];
    coap_addr_t addr;
    coap_ep_t *ep;
} cfwd_t;

static void on_coap_done(coap_req_t *creq, const coap_resp_t *r, void *arg)
{
    (void)creq;
    cfwd_t *f = arg;
    char why[GW_MSG_MAX];
    if (r->err) {
        const char *dtls =
            r->err == COAP_ERR_CANCELLED
                ? NULL
                : gw_dtls_why(f->gw, f->ep, f->uri, &f->addr, r->err, why, sizeof why);
        if (r->err != COAP_ERR_CANCELLED)
            rv_answer(f->srv, f->id,
                      r->err == COAP_ERR_TIMEOUT ? COAP_GATEWAY_TIMEOUT : COAP_BAD_GATEWAY,
                      dtls ? dtls : coap_strerror(r->err));
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
    coap_server_respond(f->srv, f->id, &resp);
    free(f);
}

/* The target's host name is being resolved: 5.03 with Max-Age 1 (RFC
 * 7252 §5.9.3.4, the seconds after which to retry) rather than a deferred
 * answer, which would hold the request (its options and body) across a
 * query of up to about 3 s while the client retransmits; the query goes
 * on, and the retry finds the answer in the cache. */
static void answer_resolving(coap_server_t *srv, uint64_t id, const char *host)
{
    char why[GW_MSG_MAX];
    coap_server_response_t r = COAP_RESPONSE(COAP_SERVICE_UNAVAILABLE);
    snprintf(why, sizeof why, "resolving %.253s: retry", host);
    r.payload = why;
    r.payload_len = strlen(why);
    r.max_age = 1;
    coap_server_respond(srv, id, &r);
}

void rv_forward_coap(gw_reverse_t *rv, coap_server_t *srv, const coap_server_request_t *req,
                     const char *uri, uint32_t hop)
{
    char msg[GW_MSG_MAX];
    gw_target_t t;
    int status = gw_target_parse(rv->gw, uri, &t, msg, sizeof msg);
    if (status == GW_TARGET_WAIT) { /* docs/configuration.md, "Host names" */
        answer_resolving(srv, req->id, msg);
        return;
    }
    if (status) { /* 502: no credentials for a coaps:// target */
        rv_answer(srv, req->id,
                  status == 403   ? COAP_FORBIDDEN
                  : status == 502 ? COAP_BAD_GATEWAY
                  : status == 503 ? COAP_SERVICE_UNAVAILABLE
                  : status == 504 ? COAP_GATEWAY_TIMEOUT
                                  : COAP_BAD_REQUEST,
                  msg);
        return;
    }
    int err = COAP_ERR_NOMEM;
    coap_ep_t *ep = gw_target_ep(rv->gw, &t, &err);
    coap_req_t *creq = ep ? coap_req_new(ep, req->method, t.uri, &t.addr, &err) : NULL;
    cfwd_t *f = creq ? calloc(1, sizeof *f) : NULL;
    if (!f) {
        if (creq) coap_req_cancel(creq);
        int dtls = gw_dtls_explain(t.uri, err, msg, sizeof msg);
        rv_answer(srv, req->id, dtls ? COAP_BAD_GATEWAY : COAP_BAD_REQUEST,
                  dtls ? msg : coap_strerror(err));
        return;
    }
    snprintf(f->uri, sizeof f->uri, "%s", t.uri);
    f->gw = rv->gw;
    f->addr = t.addr;
    f->ep = ep;
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
    f->srv = srv;
    f->id = req->id;
    int rc = coap_req_send(creq, on_coap_done, f); /* on failure creq is freed already */
    if (rc) {
        free(f);
        if (gw_limits_refusal(rc))
            gw_limits_coap(rv->gw, srv, req->id, rc, t.uri);
        else
            rv_answer(srv, req->id, COAP_BAD_GATEWAY, "cannot send the request");
        return;
    }
    rv_ack_early(srv, req);
}
