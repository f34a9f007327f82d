/*
 * ep_mcast.c - answers to requests that arrived on a multicast address
 * (RFC 7252 §8.2): never an error (4.xx/5.xx are suppressed, §8.2), sent
 * after a random leisure (§8.2: the members' answers spread out instead of
 * arriving at once), from a unicast source address (§8.1: the transport
 * picks one by route; the group's address is never a reply's source), at
 * most COAP_MCAST_REPLY_MAX bytes (a Block2 answer is its first block,
 * RFC 7959 §2.8; larger answers are dropped) and at most
 * MCAST_PENDING_MAX waiting at once, so a flood of group requests cannot
 * make the endpoint a large amplifier (§11.3).
 */
#include "ep_internal.h"

#include <stdlib.h>
#include <string.h>

#define MCAST_PENDING_MAX 64

typedef struct {
    ep_timer_t tmr;
    base_list_t link; /* in ep->mcast_pending */
    coap_peer_t *peer;
    size_t len;
    uint8_t bytes[];
} mcast_reply_t;

static void reply_free(coap_ep_t *ep, mcast_reply_t *mr)
{
    coap_ep_timer_disarm_(ep, &mr->tmr);
    base_list_remove(&mr->link);
    ep->mcast_npending--;
    coap_ep_peer_unref_(ep, mr->peer);
    free(mr);
}

static void leisure_over(coap_ep_t *ep, ep_timer_t *t)
{
    mcast_reply_t *mr = base_container_of(t, mcast_reply_t, tmr);
    coap_ep_raw_send_(ep, mr->peer, mr->bytes, mr->len);
    reply_free(ep, mr);
}

int coap_ep_mcast_respond_(coap_ep_t *ep, coap_ep_req_t *r, coap_msg_t *resp)
{
    unsigned cls = COAP_CODE_CLASS(resp->code);
    if (cls == 4 || cls == 5 || ep->mcast_npending >= MCAST_PENDING_MAX) {
        ep->stats.mcast_suppressed++; /* §8.2: silence instead */
        return COAP_OK;
    }
    resp->type = COAP_NON; /* §8.1: a group request is NON, and so is its answer */
    resp->mid = r->peer->next_mid++;
    size_t len = coap_msg_size(resp);
    mcast_reply_t *mr = len <= COAP_MCAST_REPLY_MAX ? malloc(sizeof *mr + len) : NULL;
    int n = mr ? coap_msg_serialize(resp, mr->bytes, len) : COAP_ERR_TOO_LARGE;
    if (n < 0) {
        free(mr);
        ep->stats.mcast_suppressed++;
        return n == COAP_ERR_TOO_LARGE ? COAP_OK : n;
    }
    memset(mr, 0, sizeof *mr);
    mr->len = (size_t)n;
    mr->peer = r->peer;
    mr->tmr.fire = leisure_over;
    coap_ep_peer_ref_(mr->peer);
    base_list_push_back(&ep->mcast_pending, &mr->link);
    ep->mcast_npending++;
    uint32_t leisure = ep->p.mcast_leisure_ms;
    coap_ep_timer_arm_(ep, &mr->tmr, coap_ep_now(ep) + coap_ep_random_(ep) % (leisure + 1));
    return COAP_OK;
}

void coap_ep_mcast_free_(coap_ep_t *ep)
{
    while (!base_list_empty(&ep->mcast_pending))
        reply_free(ep, base_list_entry(base_list_first(&ep->mcast_pending), mcast_reply_t, link));
}
