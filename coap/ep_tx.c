/*
 * ep_tx.c - sending at the message layer: datagrams through the transport,
 * and our CONs kept until their ACK or RST arrives or they are given up,
 * retransmitted with exponential back-off (RFC 7252 §4.2, §4.8).
 */
#include "ep_internal.h"
#include "coap_block.h"

#include <stdlib.h>
#include <string.h>

#define STACK_DATAGRAM 1280 /* a NON or ACK this small is built on the stack */

static int send_via(coap_ep_t *ep, const coap_addr_t *to, const coap_addr_t *local,
                    const uint8_t *buf, size_t len)
{
    ep->stats.tx++;
    int rc = ep->tr->ops->send(ep->tr, to, local, buf, len);
    if (rc < 0) ep->stats.send_errors++;
    return rc;
}

int coap_ep_raw_send_(coap_ep_t *ep, const coap_peer_t *to, const uint8_t *buf, size_t len)
{
    return send_via(ep, &to->addr, to->has_local ? &to->local : NULL, buf, len);
}

size_t coap_ep_msg_size_(const coap_ep_t *ep, const coap_msg_t *msg)
{
    return coap_ep_reliable_(ep) ? coap_msg_size_tcp(msg) : coap_msg_size(msg);
}

int coap_ep_serialize_(const coap_ep_t *ep, const coap_msg_t *msg, uint8_t *buf, size_t cap)
{
    return coap_ep_reliable_(ep) ? coap_msg_serialize_tcp(msg, buf, cap)
                                 : coap_msg_serialize(msg, buf, cap);
}

unsigned coap_ep_fit_szx_(const coap_ep_t *ep, const coap_addr_t *peer, size_t overhead)
{
    uint32_t max = ep->tr->ops->max_message ? ep->tr->ops->max_message(ep->tr, peer) : 0;
    unsigned szx = 6;
    while (max && szx > 0 && (16u << szx) + overhead > max) szx--;
    return szx;
}

static uint32_t bert_message(const coap_ep_t *ep, const coap_addr_t *peer)
{
    const coap_transport_ops_t *o = ep->tr->ops;
    return o->bert_message ? o->bert_message(ep->tr, peer) : 0;
}

int coap_ep_bert_(const coap_ep_t *ep, const coap_addr_t *peer)
{
    return bert_message(ep, peer) != 0;
}

unsigned coap_ep_bert_units_(const coap_ep_t *ep, const coap_addr_t *peer, size_t overhead)
{
    uint32_t max = bert_message(ep, peer);
    return max > overhead ? (unsigned)((max - overhead) / COAP_BERT_UNIT) : 0;
}

static void empty_bytes(uint8_t b[4], coap_type_t type, uint16_t mid)
{
    b[0] = (uint8_t)(0x40 | type << 4);
    b[1] = 0;
    b[2] = (uint8_t)(mid >> 8);
    b[3] = (uint8_t)mid;
}

void coap_ep_send_empty_(coap_ep_t *ep, const coap_peer_t *to, coap_type_t type, uint16_t mid,
                         ep_dedup_t *dd)
{
    if (coap_ep_reliable_(ep)) return; /* RFC 8323 §2: no ACK or RST */
    uint8_t b[4];
    empty_bytes(b, type, mid);
    if (type == COAP_RST) ep->stats.rst_tx++;
    coap_ep_raw_send_(ep, to, b, 4);
    /* remembered for duplicates; without memory, a duplicate is answered
     * by the request's state instead (ep_dedup.c) */
    if (dd && !dd->reply) (void)coap_ep_dedup_keep_(dd, b, 4);
}

void coap_ep_reject_(coap_ep_t *ep, const coap_peer_t *from, const coap_msg_t *m, ep_dedup_t *dd)
{
    if (m->type == COAP_CON) coap_ep_send_empty_(ep, from, COAP_RST, m->mid, dd);
}

void coap_ep_reject_unknown_(coap_ep_t *ep, const coap_addr_t *from, const coap_addr_t *local,
                             const coap_msg_t *m)
{
    if (m->type != COAP_CON) return;
    uint8_t b[4];
    empty_bytes(b, COAP_RST, m->mid);
    ep->stats.rst_tx++;
    send_via(ep, from, local, b, 4);
}

/* --- transmissions (our CONs) --- */

static uint64_t tx_key(const coap_peer_t *p, uint16_t mid)
{
    return base_hash_mix((uint64_t)(uintptr_t)p, mid);
}

static coap_ep_tx_t *tx_find(coap_ep_t *ep, coap_peer_t *p, uint16_t mid)
{
    for (base_hnode_t *n = base_htab_first(&ep->txs, tx_key(p, mid)); n; n = base_htab_next(n)) {
        coap_ep_tx_t *tx = base_container_of(n, coap_ep_tx_t, hn);
        if (tx->peer == p && tx->mid == mid) return tx;
    }
    return NULL;
}

static void tx_free(coap_ep_t *ep, coap_ep_tx_t *tx)
{
    base_htab_remove(&ep->txs, &tx->hn);
    coap_ep_timer_disarm_(ep, &tx->tmr);
    coap_ep_peer_unref_(ep, tx->peer);
    free(tx);
}

static void tx_complete(coap_ep_t *ep, coap_ep_tx_t *tx, int result, const coap_msg_t *ack)
{
    coap_ep_sent_cb done = tx->done;
    void *arg = tx->arg;
    tx_free(ep, tx);
    if (done) done(ep, result, ack, arg);
}

void coap_ep_tx_cancel(coap_ep_t *ep, coap_ep_tx_t *tx)
{
    if (tx) tx_free(ep, tx);
}

/* §4.2: initial timeout random in [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR]. */
static uint32_t initial_timeout(coap_ep_t *ep)
{
    uint32_t base = ep->p.ack_timeout_ms;
    uint32_t span = (uint32_t)((float)base * (ep->p.ack_random_factor - 1.0f));
    return base + (span ? coap_ep_random_(ep) % (span + 1) : 0);
}

static void tx_timer(coap_ep_t *ep, ep_timer_t *t)
{
    coap_ep_tx_t *tx = base_container_of(t, coap_ep_tx_t, tmr);
    /* no RST came: the NON counts as delivered; on a reliable transport
     * everything does, at once (RFC 8323 §2) */
    if (tx->type == COAP_NON || coap_ep_reliable_(ep)) {
        tx_complete(ep, tx, COAP_OK, NULL);
        return;
    }
    if (tx->retries >= ep->p.max_retransmit) {
        ep->stats.timeouts++;
        tx_complete(ep, tx, COAP_ERR_TIMEOUT, NULL);
        return;
    }
    /* §4.2: "the timeout is doubled" for each retransmission. */
    tx->retries++;
    if (tx->timeout_ms <= UINT32_MAX / 2) tx->timeout_ms *= 2; /* large max_retransmit */
    ep->stats.retransmissions++;
    coap_ep_raw_send_(ep, tx->peer, tx->bytes, tx->len);
    coap_ep_timer_arm_(ep, &tx->tmr, coap_ep_now(ep) + tx->timeout_ms);
}

/* A NON without a callback, an ACK or an RST: sent once, not tracked. */
static int send_untracked(coap_ep_t *ep, const coap_peer_t *to, coap_msg_t *msg, size_t len)
{
    uint8_t stackbuf[STACK_DATAGRAM];
    uint8_t *b = len <= sizeof stackbuf ? stackbuf : malloc(len);
    if (!b) return COAP_ERR_NOMEM;
    int n = coap_ep_serialize_(ep, msg, b, len);
    int rc = n < 0 ? n : coap_ep_raw_send_(ep, to, b, (size_t)n);
    if (b != stackbuf) free(b);
    if (n < 0) return n;
    /* nothing will retry it: any failure is the caller's to hear */
    return rc < 0 ? COAP_ERR_UNREACHABLE : COAP_OK;
}

/* A tracked transmission of msg (its message ID set) to peer, in the
 * table but neither sent nor armed. NULL when msg does not serialize or
 * memory runs out (*err says which). */
static coap_ep_tx_t *tx_new(coap_ep_t *ep, coap_peer_t *peer, const coap_msg_t *msg, int *err)
{
    size_t len = coap_ep_msg_size_(ep, msg);
    coap_ep_tx_t *tx = calloc(1, sizeof *tx + len);
    if (!tx) return *err = COAP_ERR_NOMEM, NULL;
    int n = coap_ep_serialize_(ep, msg, tx->bytes, len);
    if (n < 0 || base_htab_insert(&ep->txs, &tx->hn, tx_key(peer, msg->mid))) {
        free(tx);
        return *err = n < 0 ? n : COAP_ERR_NOMEM, NULL;
    }
    tx->len = (size_t)n;
    tx->peer = peer;
    coap_ep_peer_ref_(peer);
    tx->mid = msg->mid;
    tx->type = msg->type;
    tx->tmr.fire = tx_timer;
    return tx;
}

int coap_ep_send(coap_ep_t *ep, const coap_addr_t *to, coap_msg_t *msg, coap_ep_sent_cb done,
                 void *arg, coap_ep_tx_t **out)
{
    if (out) *out = NULL;
    if (ep->closing) return COAP_ERR_CANCELLED; /* nothing new while coap_ep_free() runs */
    coap_peer_t *peer = coap_ep_peer_get_(ep, to);
    if (!peer) return COAP_ERR_NOMEM;
    if (msg->type == COAP_CON || msg->type == COAP_NON) msg->mid = peer->next_mid++;
    if (!(msg->type == COAP_CON || (msg->type == COAP_NON && done))) {
        int rc = send_untracked(ep, peer, msg, coap_ep_msg_size_(ep, msg));
        if (!rc && done) done(ep, COAP_OK, NULL, arg);
        return rc;
    }
    int err;
    coap_ep_tx_t *tx = tx_new(ep, peer, msg, &err);
    if (!tx) return err;
    tx->done = done;
    tx->arg = arg;
    tx->timeout_ms = initial_timeout(ep);
    int rc = coap_ep_raw_send_(ep, peer, tx->bytes, tx->len);
    /* no route at all: retransmitting cannot help; nor is anything sent
     * again on a reliable transport (a message over the peer's
     * Max-Message-Size, a connection gone) */
    if (rc == COAP_ERR_UNREACHABLE || (rc < 0 && coap_ep_reliable_(ep))) {
        tx_free(ep, tx);
        return rc;
    }
    /* reliable: `done` runs from the next process(), never from here */
    uint64_t due = coap_ep_reliable_(ep) ? 0 : tx->timeout_ms;
    coap_ep_timer_arm_(ep, &tx->tmr, coap_ep_now(ep) + due);
    if (out) *out = tx;
    return COAP_OK;
}

int coap_ep_tx_replace(coap_ep_t *ep, coap_ep_tx_t **txp, coap_msg_t *msg)
{
    coap_ep_tx_t *old = *txp;
    if (ep->closing) return COAP_ERR_CANCELLED;
    if (old->type != COAP_CON) return COAP_ERR_INVALID;
    coap_peer_t *peer = old->peer;
    msg->type = COAP_CON;
    msg->mid = peer->next_mid;
    int err;
    coap_ep_tx_t *tx = tx_new(ep, peer, msg, &err);
    if (!tx) return err;
    peer->next_mid++;
    /* RFC 7641 §4.5.2: the new one inherits the counter and the timeout:
     * it is retransmitted when the old one would have been. */
    tx->done = old->done;
    tx->arg = old->arg;
    tx->retries = old->retries;
    tx->timeout_ms = old->timeout_ms;
    uint64_t due = old->tmr.h.when;
    tx_free(ep, old);
    coap_ep_raw_send_(ep, peer, tx->bytes, tx->len);
    coap_ep_timer_arm_(ep, &tx->tmr, due);
    *txp = tx;
    return COAP_OK;
}

void coap_ep_ack_or_rst_input_(coap_ep_t *ep, coap_peer_t *peer, const coap_msg_t *m)
{
    if (m->type == COAP_RST) ep->stats.rst_rx++;
    coap_ep_tx_t *tx = tx_find(ep, peer, m->mid);
    if (!tx) { /* §4.2: an unmatched ACK or RST is silently ignored */
        ep->stats.unexpected++;
        return;
    }
    if (m->type == COAP_RST)
        tx_complete(ep, tx, COAP_ERR_RESET, NULL);
    else if (tx->type == COAP_CON)
        tx_complete(ep, tx, COAP_OK, m->code ? m : NULL);
    else
        ep->stats.unexpected++; /* an ACK to a NON makes no sense */
}

/* The callbacks may send (growing the table) or cancel other
 * transmissions, so the table is not walked while they run: the message
 * IDs are collected first and looked up again one by one. */
void coap_ep_fail_peer_txs_(coap_ep_t *ep, coap_peer_t *p, int err)
{
    size_t n = 0;
    for (size_t b = 0; b < ep->txs.nb; b++)
        for (base_hnode_t *h = ep->txs.b[b]; h; h = h->next)
            n += base_container_of(h, coap_ep_tx_t, hn)->peer == p;
    if (!n) return;
    uint16_t *mids = malloc(n * sizeof *mids);
    if (!mids) return; /* they time out instead, as they would have */
    size_t k = 0;
    for (size_t b = 0; b < ep->txs.nb; b++)
        for (base_hnode_t *h = ep->txs.b[b]; h; h = h->next) {
            coap_ep_tx_t *tx = base_container_of(h, coap_ep_tx_t, hn);
            if (tx->peer == p) mids[k++] = tx->mid;
        }
    for (size_t i = 0; i < k; i++) {
        coap_ep_tx_t *tx = tx_find(ep, p, mids[i]);
        if (tx) tx_complete(ep, tx, err, NULL);
    }
    free(mids);
}

void coap_ep_txs_free_(coap_ep_t *ep)
{
    for (size_t b = 0; b < ep->txs.nb; b++)
        while (ep->txs.b && ep->txs.b[b])
            tx_complete(ep, base_container_of(ep->txs.b[b], coap_ep_tx_t, hn), COAP_ERR_CANCELLED,
                        NULL);
}
