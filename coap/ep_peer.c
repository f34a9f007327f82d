/*
 * ep_peer.c - the endpoint's peers: one entry per remote address with its
 * next message ID (§4.4) and NSTART count (§4.7), in a hash table plus an
 * LRU list so that idle peers can be forgotten and the table stays bounded.
 */
#include "ep_internal.h"

#include <stdlib.h>

static void peer_free(coap_ep_t *ep, coap_peer_t *p)
{
    base_htab_remove(&ep->peers, &p->hn);
    base_list_remove(&p->lru);
    ep->npeers--;
    free(p);
}

/* Forgets idle peers: once EXCHANGE_LIFETIME has passed, their message IDs
 * can no longer collide (§4.4), and the table stays bounded. */
void coap_ep_peers_gc_(coap_ep_t *ep, uint64_t now)
{
    base_list_t *it, *next;
    BASE_LIST_FOREACH(it, next, &ep->peers_lru) {
        coap_peer_t *p = base_list_entry(it, coap_peer_t, lru);
        int idle = p->last_used + ep->p.exchange_lifetime_ms < now;
        if (!idle && ep->npeers <= ep->p.max_peers) break;
        if (p->refs == 0) peer_free(ep, p);
    }
}

void coap_ep_peers_free_(coap_ep_t *ep)
{
    base_list_t *first;
    while ((first = base_list_first(&ep->peers_lru)))
        peer_free(ep, base_list_entry(first, coap_peer_t, lru));
    base_htab_free(&ep->peers);
}

coap_peer_t *coap_ep_peer_get_(coap_ep_t *ep, const coap_addr_t *given)
{
    /* one canonical form: transports hand up IPv4 peers unmapped, so a
     * caller's ::ffff:a.b.c.d must find the same peer (its answers would
     * otherwise match no exchange) */
    coap_addr_t canon = *given;
    coap_addr_unmap(&canon);
    const coap_addr_t *addr = &canon;
    uint64_t h = coap_addr_hash(addr);
    for (base_hnode_t *n = base_htab_first(&ep->peers, h); n; n = base_htab_next(n)) {
        coap_peer_t *p = base_container_of(n, coap_peer_t, hn);
        if (coap_addr_equal(&p->addr, addr)) {
            p->last_used = coap_ep_now(ep);
            base_list_remove(&p->lru); /* most recently used: to the back */
            base_list_push_back(&ep->peers_lru, &p->lru);
            return p;
        }
    }
    coap_peer_t *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->addr = *addr;
    /* §4.4: the initial Message ID should be randomized. */
    p->next_mid = (uint16_t)coap_ep_random_(ep);
    p->last_used = coap_ep_now(ep);
    if (base_htab_insert(&ep->peers, &p->hn, h)) {
        free(p);
        return NULL;
    }
    base_list_push_back(&ep->peers_lru, &p->lru);
    ep->npeers++;
    return p;
}

void coap_ep_peer_ref_(coap_peer_t *p)
{
    p->refs++;
}

void coap_ep_peer_unref_(coap_ep_t *ep, coap_peer_t *p)
{
    (void)ep;
    p->refs--;
}
