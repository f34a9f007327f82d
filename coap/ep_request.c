/*
 * ep_request.c - the message-layer half of the server role (RFC 7252
 * §5.2): a pending incoming request, its deferred empty ACK, and its
 * response, piggybacked in the ACK or sent separately as a CON (or as a
 * NON to a NON request).
 */
#include "ep_internal.h"

#include <stdlib.h>
#include <string.h>

static uint64_t req_hash(uint64_t id)
{
    return base_hash_mix(0, id);
}

static void req_free(coap_ep_t *ep, coap_ep_req_t *r)
{
    base_htab_remove(&ep->reqs, &r->hn);
    coap_ep_timer_disarm_(ep, &r->tmr);
    if (r->dd) r->dd->pending = NULL;
    coap_ep_peer_unref_(ep, r->peer);
    free(r);
}

void coap_ep_req_ack(coap_ep_t *ep, coap_ep_req_t *r)
{
    if (r->type != COAP_CON || r->acked) return;
    r->acked = 1;
    coap_ep_timer_disarm_(ep, &r->tmr);
    coap_ep_send_empty_(ep, r->peer, COAP_ACK, r->mid, r->dd);
}

static void deferred_ack(coap_ep_t *ep, ep_timer_t *t)
{
    coap_ep_req_ack(ep, base_container_of(t, coap_ep_req_t, tmr));
}

static coap_ep_req_t *req_new(coap_ep_t *ep, coap_peer_t *p, ep_dedup_t *dd, const coap_msg_t *m)
{
    coap_ep_req_t *r = malloc(sizeof *r); /* not calloc: as in ep_dedup.c's dd_add */
    if (!r) return NULL;
    *r = (coap_ep_req_t){0};
    r->id = ++ep->next_req_id;
    r->peer = p;
    r->dd = dd;
    r->mid = m->mid;
    /* §8.1: a group request is NON; one sent as CON is answered as if it
     * were (no ACK from each member) */
    r->multicast = ep->rx_multicast;
    r->type = r->multicast ? COAP_NON : m->type;
    r->token_len = m->token_len;
    memcpy(r->token, m->token, m->token_len);
    r->tmr.fire = deferred_ack;
    if (base_htab_insert(&ep->reqs, &r->hn, req_hash(r->id))) {
        free(r);
        return NULL;
    }
    coap_ep_peer_ref_(p);
    if (dd) dd->pending = r;
    /* §5.2.2: if the answer is not ready soon, acknowledge the request
     * with an empty ACK so the client stops retransmitting. */
    if (r->type == COAP_CON) coap_ep_timer_arm_(ep, &r->tmr, coap_ep_now(ep) + ep->p.defer_ack_ms);
    return r;
}

void coap_ep_request_input_(coap_ep_t *ep, coap_peer_t *peer, ep_dedup_t *dd, const coap_msg_t *m)
{
    if (!ep->on_request) {
        /* §4.2/§4.3: nobody can process it: RST for a CON, silence for a NON */
        if (!ep->rx_multicast) coap_ep_reject_(ep, peer, m, dd); /* §8.2: no RST */
        return;
    }
    coap_ep_req_t *r = req_new(ep, peer, dd, m);
    if (r) ep->on_request(ep, r, m, ep->on_request_ctx);
    /* out of memory: no answer, and a CON's retransmission tries again */
}

void coap_ep_requests_free_(coap_ep_t *ep)
{
    for (size_t b = 0; b < ep->reqs.nb; b++)
        while (ep->reqs.b[b]) req_free(ep, base_container_of(ep->reqs.b[b], coap_ep_req_t, hn));
}

coap_ep_req_t *coap_ep_req_find(coap_ep_t *ep, uint64_t id)
{
    for (base_hnode_t *n = base_htab_first(&ep->reqs, req_hash(id)); n; n = base_htab_next(n)) {
        coap_ep_req_t *r = base_container_of(n, coap_ep_req_t, hn);
        if (r->id == id) return r;
    }
    return NULL;
}

const coap_addr_t *coap_ep_req_peer(const coap_ep_req_t *r)
{
    return &r->peer->addr;
}

int coap_ep_req_multicast(const coap_ep_req_t *r)
{
    return r->multicast;
}

uint64_t coap_ep_req_id(const coap_ep_req_t *r)
{
    return r->id;
}

void coap_ep_req_set_owner(coap_ep_req_t *r, void *owner)
{
    r->owner = owner;
}

void *coap_ep_req_owner(const coap_ep_req_t *r)
{
    return r->owner;
}

void coap_ep_req_drop(coap_ep_t *ep, coap_ep_req_t *r)
{
    coap_ep_req_ack(ep, r);
    req_free(ep, r);
}

void coap_ep_set_request_handler(coap_ep_t *ep, coap_ep_request_cb cb, void *ctx)
{
    ep->on_request = cb;
    ep->on_request_ctx = ctx;
}

/* §5.2.1: the response piggybacked in the ACK, remembered for duplicates
 * (§4.5: a retransmitted request gets the same ACK again). */
static int respond_piggybacked(coap_ep_t *ep, coap_ep_req_t *r, coap_msg_t *resp)
{
    resp->type = COAP_ACK;
    resp->mid = r->mid;
    /* built on the stack when it fits (no allocation, no second walk of
     * the options to size it); the entry keeps its own copy */
    uint8_t stackbuf[1280], *b = stackbuf;
    int n = coap_msg_serialize(resp, b, sizeof stackbuf);
    if (n == COAP_ERR_NOSPACE) {
        size_t len = coap_msg_size(resp);
        if (!(b = malloc(len))) return COAP_ERR_NOMEM;
        n = coap_msg_serialize(resp, b, len);
    }
    if (n >= 0) {
        coap_ep_raw_send_(ep, r->peer, b, (size_t)n);
        /* without memory for the copy, a duplicate gets no answer and
         * its retransmission tries again (as when the ACK is lost) */
        if (r->dd) (void)coap_ep_dedup_keep_(r->dd, b, (size_t)n);
    }
    if (b != stackbuf) free(b);
    return n < 0 ? n : COAP_OK;
}

/* req is freed whatever happens (the header promises it). When the
 * response cannot be built or sent, a CON request still gets its empty ACK
 * (as with coap_ep_req_drop()), an error is returned and `done` does not
 * run. */
int coap_ep_respond(coap_ep_t *ep, coap_ep_req_t *r, coap_msg_t *resp, coap_ep_sent_cb done,
                    void *arg)
{
    int rc = coap_msg_set_token(resp, r->token, r->token_len);
    int later = 0;
    if (!rc && r->multicast) {
        rc = coap_ep_mcast_respond_(ep, r, resp);
        coap_ep_req_drop(ep, r);
        if (!rc && done) done(ep, COAP_OK, NULL, arg);
        return rc;
    }
    coap_addr_t to = r->peer->addr;
    if (!rc && r->type == COAP_CON && !r->acked) {
        rc = respond_piggybacked(ep, r, resp);
        if (!rc) r->acked = 1;
    } else if (!rc && r->type == COAP_CON) {
        /* §5.2.2: a separate response is a CON of its own, ACKed by the
         * client; `done` hears how that ends. */
        resp->type = COAP_CON;
        rc = coap_ep_send(ep, &to, resp, done, arg, NULL);
        later = 1;
    } else if (!rc) {
        /* §5.2.3: a NON request gets a NON response; nothing to wait for. */
        resp->type = COAP_NON;
        rc = coap_ep_send(ep, &to, resp, NULL, NULL, NULL);
    }
    coap_ep_req_drop(ep, r);
    if (!rc && !later && done) done(ep, COAP_OK, NULL, arg);
    return rc;
}
