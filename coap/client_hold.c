/*
 * client_hold.c - an upload held for the peer's CSM on a new CoAP-over-TCP
 * connection. RFC 8323 §3.3 lets the initiator send before the acceptor's
 * CSM arrives, and warns that the CSM may change how it is expected to
 * talk: its Block-Wise-Transfer option allows BERT (§6). An upload's
 * block size is chosen at its first block and never grows (RFC 7959 §2.3;
 * libcoap 4.3.1 drops its answer to an upload that grows to BERT), so one
 * whose first block left before the CSM would go in 1024-byte blocks
 * throughout. Such
 * a request (a body of more than one block, BERT not ruled out) waits
 * until the CSM is in, or for the transport's bound (csm_wait) at most,
 * and then starts as any other; a smaller one never waits.
 */
#include "client_internal.h"
#include "coap_block.h"

/* A body of more than one block, whose block size the CSM may change. */
static int hangs_on_csm(const coap_req_t *req)
{
    const coap_ep_t *ep = req->ep;
    return coap_ep_reliable_(ep) && ep->tr->ops->csm_wait && !req->no_bert && !req->group &&
           req->payload_len > coap_block_size(req->szx);
}

static void release(coap_req_t *req)
{
    coap_req_unhold_(req);
    int rc = coap_req_start_(req);
    if (rc) coap_req_finish_(req, rc, NULL);
}

/* The bound passed and no CSM came: the upload goes without BERT. */
static void hold_over(coap_ep_t *ep, ep_timer_t *t)
{
    (void)ep;
    release(base_container_of(t, coap_req_t, hold));
}

int coap_req_hold_(coap_req_t *req)
{
    if (!hangs_on_csm(req)) return 0;
    coap_ep_t *ep = req->ep;
    uint32_t wait = ep->tr->ops->csm_wait(ep->tr, &req->peer->addr);
    if (!wait) return 0;
    coap_req_t **tail = &req->peer->held; /* in order: the first held goes first */
    while (*tail) tail = &(*tail)->wait_next;
    *tail = req;
    req->wait_next = NULL;
    req->state = REQ_HELD;
    req->hold.fire = hold_over;
    coap_ep_timer_arm_(ep, &req->hold, coap_ep_now(ep) + wait);
    return 1;
}

void coap_req_unhold_(coap_req_t *req)
{
    coap_req_t **pp = &req->peer->held;
    while (*pp && *pp != req) pp = &(*pp)->wait_next;
    if (*pp) *pp = req->wait_next;
    req->wait_next = NULL;
    coap_ep_timer_disarm_(req->ep, &req->hold);
    req->state = REQ_NEW;
}

void coap_client_ready_(coap_ep_t *ep, coap_peer_t *peer)
{
    (void)ep;
    /* a request released here that ends at once may start others from
     * its callback: they find the CSM in and are not held */
    while (peer->held) release(peer->held);
}
