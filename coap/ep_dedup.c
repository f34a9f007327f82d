/*
 * ep_dedup.c - duplicate detection (RFC 7252 §4.5): every incoming CON and
 * NON is remembered by peer and Message ID for EXCHANGE_LIFETIME (CON) or
 * NON_LIFETIME (NON), with what we answered, so that a retransmission gets
 * the same answer and never reaches a handler twice. Bounded by max_dedup.
 */
#include "ep_internal.h"

#include <stdlib.h>
#include <string.h>

static uint64_t dd_key(const coap_peer_t *p, uint16_t mid)
{
    return base_hash_mix((uint64_t)(uintptr_t)p ^ 0x5bd1e995u, mid);
}

static ep_dedup_t *dd_find(coap_ep_t *ep, coap_peer_t *p, uint16_t mid)
{
    for (base_hnode_t *n = base_htab_first(&ep->dedup, dd_key(p, mid)); n; n = base_htab_next(n)) {
        ep_dedup_t *d = base_container_of(n, ep_dedup_t, hn);
        if (d->peer == p && d->mid == mid) return d;
    }
    return NULL;
}

static void dd_free_head(coap_ep_t *ep, dedup_fifo_t *f)
{
    ep_dedup_t *d = f->head;
    f->head = d->next;
    if (!f->head) f->tail = NULL;
    if (!d->retired) base_htab_remove(&ep->dedup, &d->hn);
    if (d->pending) d->pending->dd = NULL;
    coap_ep_peer_unref_(ep, d->peer);
    if (d->reply != d->reply_small) free(d->reply);
    free(d);
    ep->ndedup--;
}

/* Entries share one lifetime per FIFO, so each FIFO is ordered by expiry. */
void coap_ep_dedup_expire_(coap_ep_t *ep, uint64_t now)
{
    while (ep->fifo_con.head && ep->fifo_con.head->expires <= now) dd_free_head(ep, &ep->fifo_con);
    while (ep->fifo_non.head && ep->fifo_non.head->expires <= now) dd_free_head(ep, &ep->fifo_non);
}

void coap_ep_dedup_free_(coap_ep_t *ep)
{
    while (ep->fifo_con.head) dd_free_head(ep, &ep->fifo_con);
    while (ep->fifo_non.head) dd_free_head(ep, &ep->fifo_non);
}

/* Eight bytes a step (every CON and NON is hashed whole); the length in the
 * seed tells a datagram from one with zeros added. */
uint64_t coap_ep_dedup_digest_(const uint8_t *buf, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull ^ len, w;
    size_t i = 0;
    for (; len - i >= sizeof w; i += sizeof w) {
        memcpy(&w, buf + i, sizeof w);
        h = base_hash_mix(h, w);
    }
    w = 0;
    memcpy(&w, buf + i, len - i);
    return base_hash_mix(h, w);
}

static ep_dedup_t *dd_add(coap_ep_t *ep, coap_peer_t *p, const coap_msg_t *m, uint64_t digest)
{
    int is_con = m->type == COAP_CON;
    while (ep->ndedup >= ep->p.max_dedup) { /* bounded: forget the oldest */
        dedup_fifo_t *f = ep->fifo_non.head ? &ep->fifo_non : &ep->fifo_con;
        if (!f->head) break;
        dd_free_head(ep, f);
    }
    /* malloc, not calloc: glibc 2.36's calloc neither takes from nor
     * drains the thread cache, so with one entry made and one forgotten per
     * request every free would go the long way (docs/performance.md,
     * "Issue #19, third round") */
    ep_dedup_t *d = malloc(sizeof *d);
    if (!d) return NULL;
    *d = (ep_dedup_t){0};
    if (base_htab_insert(&ep->dedup, &d->hn, dd_key(p, m->mid))) {
        free(d);
        return NULL;
    }
    d->peer = p;
    coap_ep_peer_ref_(p);
    d->mid = m->mid;
    d->is_con = (uint8_t)is_con;
    d->digest = digest;
    d->expires = coap_ep_now(ep) + (is_con ? ep->p.exchange_lifetime_ms : ep->p.non_lifetime_ms);
    dedup_fifo_t *f = is_con ? &ep->fifo_con : &ep->fifo_non;
    if (f->tail)
        f->tail->next = d;
    else
        f->head = d;
    f->tail = d;
    ep->ndedup++;
    return d;
}

ep_dedup_t *coap_ep_dedup_check_(coap_ep_t *ep, coap_peer_t *peer, const coap_msg_t *m,
                                 uint64_t digest, int *dup)
{
    /* §4.5: a Message ID is a duplicate only within EXCHANGE_LIFETIME (CON)
     * or NON_LIFETIME (NON). Expire here, not only in process(): a datagram
     * is read before process() gets to the timers. */
    coap_ep_dedup_expire_(ep, coap_ep_now(ep));
    ep_dedup_t *dd = dd_find(ep, peer, m->mid);
    if (dd && dd->digest != digest) {
        /* §4.5 matches duplicates by Message ID alone, but a retransmission
         * (§4.2) or a copy the network made repeats the whole datagram.
         * Another message under the same ID is new: the peer's 16-bit IDs
         * wrapped within EXCHANGE_LIFETIME (any client past 265 messages/s
         * does: replaying the old answer would hand it someone else's
         * response), or the peer restarted and counts from a new random ID
         * (its notifications then carry the token of a re-registration
         * that reuses the old one: dropping them would stall the stream). */
        base_htab_remove(&ep->dedup, &dd->hn);
        dd->retired = 1;
        dd = NULL;
    }
    *dup = dd != NULL;
    return dd ? dd : dd_add(ep, peer, m, digest);
}

int coap_ep_dedup_keep_(ep_dedup_t *d, const uint8_t *reply, size_t len)
{
    uint8_t *to = len <= sizeof d->reply_small ? d->reply_small : malloc(len);
    if (!to) return COAP_ERR_NOMEM;
    memcpy(to, reply, len);
    if (d->reply != d->reply_small) free(d->reply);
    d->reply = to;
    d->reply_len = len;
    return COAP_OK;
}

/* A duplicate: the same answer again, or the empty ACK if the request is
 * still being worked on (the peer retransmits because it heard nothing). */
void coap_ep_dedup_replay_(coap_ep_t *ep, ep_dedup_t *d)
{
    ep->stats.duplicates++;
    if (!d->is_con) return;
    if (d->reply)
        coap_ep_raw_send_(ep, d->peer, d->reply, d->reply_len);
    else if (d->pending)
        coap_ep_req_ack(ep, d->pending);
}
