/*
 * client_group.c - group requests (RFC 7252 §8.2, RFC 7390 §2.7,
 * draft-ietf-core-groupcomm-bis §3): one NON to a multicast address,
 * answered by every member from its own unicast address. The request stays
 * open for a window (or, observing, until it is cancelled) and hands each
 * member's answer to the callback as it comes.
 */
#include "client_internal.h"

#include <stdlib.h>
#include <string.h>

/* Observe freshness is per member (RFC 7641 §3.4 numbers notifications
 * per observation, and each member keeps its own); a bounded table, so a
 * flood of answers from spoofed sources cannot grow it: beyond the bound,
 * notifications are taken as fresh. */
#define GROUP_MAX_MEMBERS       256
#define GROUP_DEFAULT_WINDOW_MS 2000
#define GROUP_DEFAULT_MAX_AGE_S 60 /* RFC 7252 §5.10.5 */

struct group_member {
    coap_addr_t addr;
    uint32_t seq;
    uint64_t t;
};

void coap_req_set_group(coap_req_t *req, uint32_t window_ms)
{
    req->group = 1;
    req->con = 0; /* §8.1: multicast requests are NON */
    req->timeout_ms = window_ms ? window_ms : GROUP_DEFAULT_WINDOW_MS;
}

void coap_group_free_(coap_req_t *req)
{
    free(req->members);
    req->members = NULL;
    req->nmembers = 0;
}

/* RFC 7641 §3.4, judged against this member's last notification. */
static int member_fresh(coap_req_t *req, const coap_addr_t *from, uint32_t seq)
{
    uint64_t now = coap_ep_now(req->ep);
    struct group_member *m = NULL;
    for (uint32_t i = 0; i < req->nmembers && !m; i++)
        if (coap_addr_equal(&req->members[i].addr, from)) m = &req->members[i];
    if (m) {
        if (!coap_observe_is_fresh(m->seq, m->t, seq, now)) return 0;
    } else if (req->nmembers < GROUP_MAX_MEMBERS) {
        if (!req->members) req->members = calloc(GROUP_MAX_MEMBERS, sizeof *req->members);
        if (!req->members) return 1;
        m = &req->members[req->nmembers++];
        m->addr = *from;
    }
    if (m) {
        m->seq = seq;
        m->t = now;
    }
    return 1;
}

void coap_group_deliver_(coap_req_t *req, const coap_msg_t *m)
{
    const coap_addr_t *from = &req->rx_peer->addr;
    if (m->payload_len > req->max_body) {
        req->ep->stats.oversized++;
        return;
    }
    uint32_t seq = 0;
    int observing = req->observe && COAP_CODE_CLASS(m->code) == 2 &&
                    coap_msg_get_uint(m, COAP_OPT_OBSERVE, &seq) == 0;
    int fresh = 1;
    if (observing) {
        fresh = member_fresh(req, from, seq);
        if (!fresh) req->ep->stats.stale++;
        /* silence past Max-Age plus the margin: register again */
        coap_req_arm_(req, (uint64_t)coap_msg_max_age(m) * 1000 + req->rereg_margin_ms);
    }
    coap_resp_t r = {.msg = m,
                     .peer = from,
                     .observing = (uint8_t)observing,
                     .fresh = (uint8_t)fresh,
                     .seq = seq,
                     .body = m->payload,
                     .body_len = m->payload_len};
    req->in_callback = 1;
    if (req->cb) req->cb(req, &r, req->arg);
    req->in_callback = 0;
    if (req->stop_how) coap_req_finish_(req, COAP_ERR_CANCELLED, NULL);
}

void coap_group_arm_rereg_(coap_req_t *req)
{
    coap_req_arm_(req, GROUP_DEFAULT_MAX_AGE_S * 1000 + (uint64_t)req->rereg_margin_ms);
}

void coap_group_timer_(coap_req_t *req)
{
    if (!req->observe) { /* the window is over: the final call */
        coap_req_finish_(req, COAP_OK, NULL);
        return;
    }
    /* groupcomm-bis §3.7: the registration again, with the same token */
    req->ep->stats.reregistrations++;
    coap_group_arm_rereg_(req);
    if (req->tx) return; /* the last one is still in its RST window */
    int rc = coap_req_transmit_(req);
    if (rc) coap_req_finish_(req, rc, NULL);
}
