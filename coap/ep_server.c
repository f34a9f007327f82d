/*
 * ep_server.c - incoming CON and NON messages: duplicate detection
 * (RFC 7252 §4.5), then requests (the message-layer half of the server
 * role: the deferred empty ACK and the response, piggybacked or separate,
 * §5.2) or responses for the client role.
 */
#include "ep_internal.h"

#include <stdlib.h>
#include <string.h>

/* --- duplicate detection (§4.5) --- */

static uint64_t dd_key(const coap_peer_t *p, uint16_t mid)
{
    return coap_hash_mix((uint64_t)(uintptr_t)p ^ 0x5bd1e995u, mid);
}

static ep_dedup_t *dd_find(coap_ep_t *ep, coap_peer_t *p, uint16_t mid)
{
    for (coap_hnode_t *n = coap_htab_first(&ep->dedup, dd_key(p, mid)); n; n = coap_htab_next(n)) {
        ep_dedup_t *d = coap_container_of(n, ep_dedup_t, hn);
        if (d->peer == p && d->mid == mid) return d;
    }
    return NULL;
}

static void dd_free_head(coap_ep_t *ep, dedup_fifo_t *f)
{
    ep_dedup_t *d = f->head;
    f->head = d->next;
    if (!f->head) f->tail = NULL;
    if (!d->retired) coap_htab_remove(&ep->dedup, &d->hn);
    if (d->pending) d->pending->dd = NULL;
    coap_ep_peer_unref_(ep, d->peer);
    free(d->reply);
    free(d);
    ep->ndedup--;
}

/* Entries share one lifetime per FIFO, so each FIFO is ordered by expiry. */
void coap_ep_dedup_expire_(coap_ep_t *ep, uint64_t now)
{
    while (ep->fifo_con.head && ep->fifo_con.head->expires <= now) dd_free_head(ep, &ep->fifo_con);
    while (ep->fifo_non.head && ep->fifo_non.head->expires <= now) dd_free_head(ep, &ep->fifo_non);
}

static ep_dedup_t *dd_add(coap_ep_t *ep, coap_peer_t *p, const coap_msg_t *m, int is_con)
{
    uint16_t mid = m->mid;
    while (ep->ndedup >= ep->p.max_dedup) { /* bounded: forget the oldest */
        dedup_fifo_t *f = ep->fifo_non.head ? &ep->fifo_non : &ep->fifo_con;
        if (!f->head) break;
        dd_free_head(ep, f);
    }
    ep_dedup_t *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->peer = p;
    coap_ep_peer_ref_(p);
    d->mid = mid;
    d->is_con = (uint8_t)is_con;
    d->token_len = m->token_len;
    memcpy(d->token, m->token, m->token_len);
    d->expires = coap_ep_now(ep) + (is_con ? ep->p.exchange_lifetime_ms : ep->p.non_lifetime_ms);
    dedup_fifo_t *f = is_con ? &ep->fifo_con : &ep->fifo_non;
    if (f->tail)
        f->tail->next = d;
    else
        f->head = d;
    f->tail = d;
    coap_htab_insert(&ep->dedup, &d->hn, dd_key(p, mid));
    ep->ndedup++;
    return d;
}

/* A duplicate: the same answer again, or the empty ACK if the request is
 * still being worked on (the peer retransmits because it heard nothing). */
static void dd_replay(coap_ep_t *ep, ep_dedup_t *d)
{
    ep->stats.duplicates++;
    if (!d->is_con) return;
    if (d->reply)
        coap_ep_raw_send_(ep, &d->peer->addr, d->reply, d->reply_len);
    else if (d->pending)
        coap_ep_req_ack(ep, d->pending);
}

void coap_ep_dedup_free_(coap_ep_t *ep)
{
    while (ep->fifo_con.head) dd_free_head(ep, &ep->fifo_con);
    while (ep->fifo_non.head) dd_free_head(ep, &ep->fifo_non);
}

/* --- requests --- */

static uint64_t req_hash(uint64_t id)
{
    return coap_hash_mix(0, id);
}

static void req_free(coap_ep_t *ep, coap_ep_req_t *r)
{
    coap_htab_remove(&ep->reqs, &r->hn);
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
    coap_ep_send_empty_(ep, &r->peer->addr, COAP_ACK, r->mid, r->dd);
}

static coap_ep_req_t *req_new(coap_ep_t *ep, coap_peer_t *p, ep_dedup_t *dd, const coap_msg_t *m)
{
    coap_ep_req_t *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->id = ++ep->next_req_id;
    r->peer = p;
    r->dd = dd;
    r->mid = m->mid;
    r->type = m->type;
    r->token_len = m->token_len;
    memcpy(r->token, m->token, m->token_len);
    r->tmr.kind = TMR_REQ_ACK;
    if (coap_htab_insert(&ep->reqs, &r->hn, req_hash(r->id))) {
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

/* A new (not duplicate) request: hand it to the handler, or reject it. */
static void server_input(coap_ep_t *ep, coap_peer_t *peer, ep_dedup_t *dd, const coap_msg_t *m)
{
    if (!ep->on_request) {
        /* §4.2/§4.3: nobody can process it: RST for a CON, silence for a NON */
        if (m->type == COAP_CON) coap_ep_send_empty_(ep, &peer->addr, COAP_RST, m->mid, dd);
        return;
    }
    coap_ep_req_t *r = req_new(ep, peer, dd, m);
    if (r) ep->on_request(ep, r, m, ep->on_request_ctx);
}

/* --- dispatch --- */

void coap_ep_con_non_input_(coap_ep_t *ep, coap_peer_t *peer, const coap_msg_t *m)
{
    unsigned cls = COAP_CODE_CLASS(m->code);
    if (m->code == COAP_EMPTY || cls == 1 || cls > 5) {
        /* An empty CON is a "ping" (§4.3): answered with RST, like any CON
         * with a reserved code class. */
        coap_ep_reject_(ep, &peer->addr, m, NULL);
        return;
    }
    int is_con = m->type == COAP_CON;
    /* §4.5: a Message ID is a duplicate only within EXCHANGE_LIFETIME (CON)
     * or NON_LIFETIME (NON). Expire here, not only in process(): a datagram
     * is read before process() gets to the timers. */
    coap_ep_dedup_expire_(ep, coap_ep_now(ep));
    ep_dedup_t *dd = dd_find(ep, peer, m->mid);
    if (dd && (dd->token_len != m->token_len || memcmp(dd->token, m->token, m->token_len))) {
        /* §4.5 matches duplicates by Message ID alone, but a retransmission
         * repeats the whole message. Another token under the same ID means
         * the peer's 16-bit IDs wrapped within EXCHANGE_LIFETIME (any client
         * past 265 messages/s does), so this message is new: replaying the
         * old answer would hand it someone else's response. */
        coap_htab_remove(&ep->dedup, &dd->hn);
        dd->retired = 1;
        dd = NULL;
    }
    if (dd) {
        dd_replay(ep, dd);
        return;
    }
    dd = dd_add(ep, peer, m, is_con);
    if (cls == 0) {
        server_input(ep, peer, dd, m);
        return;
    }
    struct coap_req *req = coap_client_match_(ep, peer, m);
    if (!req) {
        /* §4.2, RFC 7641 §3.6: a response nobody waits for is rejected,
         * which also ends an observation the client forgot. */
        ep->stats.unexpected++;
        coap_ep_send_empty_(ep, &peer->addr, COAP_RST, m->mid, dd);
        return;
    }
    /* §5.2.2: ACK a separate response before the client acts on it, so the
     * ACK precedes whatever its callback sends. */
    if (is_con) coap_ep_send_empty_(ep, &peer->addr, COAP_ACK, m->mid, dd);
    coap_client_deliver_(req, m);
}

void coap_ep_server_timer_(coap_ep_t *ep, ep_timer_t *t)
{
    coap_ep_req_ack(ep, coap_container_of(t, coap_ep_req_t, tmr));
}

void coap_ep_server_shutdown_(coap_ep_t *ep)
{
    for (size_t b = 0; b < ep->reqs.nb; b++)
        while (ep->reqs.b[b]) req_free(ep, coap_container_of(ep->reqs.b[b], coap_ep_req_t, hn));
}

coap_ep_req_t *coap_ep_req_find(coap_ep_t *ep, uint64_t id)
{
    for (coap_hnode_t *n = coap_htab_first(&ep->reqs, req_hash(id)); n; n = coap_htab_next(n)) {
        coap_ep_req_t *r = coap_container_of(n, coap_ep_req_t, hn);
        if (r->id == id) return r;
    }
    return NULL;
}

const coap_addr_t *coap_ep_req_peer(const coap_ep_req_t *r)
{
    return &r->peer->addr;
}

uint64_t coap_ep_req_id(const coap_ep_req_t *r)
{
    return r->id;
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
    size_t len = coap_msg_size(resp);
    uint8_t *b = malloc(len);
    if (!b) return COAP_ERR_NOMEM;
    int n = coap_msg_serialize(resp, b, len);
    if (n < 0) {
        free(b);
        return n;
    }
    coap_ep_raw_send_(ep, &r->peer->addr, b, (size_t)n);
    if (r->dd) {
        free(r->dd->reply);
        r->dd->reply = b;
        r->dd->reply_len = (size_t)n;
    } else {
        free(b);
    }
    return COAP_OK;
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
