/*
 * endpoint.c - the message layer's life cycle: parameters (RFC 7252 §4.8),
 * clock and randomness, the timer heap, the transport's upcalls, and the
 * fd + next deadline + process interface a loop drives.
 *
 * The rest of the message layer: ep_peer.c (peers), ep_tx.c (our CONs),
 * ep_rx.c (incoming datagrams), ep_dedup.c (§4.5), ep_request.c (requests
 * for the server role).
 */
#include "ep_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* --- parameters, clock, randomness --- */

static void apply_defaults(coap_ep_params_t *p)
{
    if (!p->ack_timeout_ms) p->ack_timeout_ms = 2000;
    if (p->ack_random_factor < 1.0f) p->ack_random_factor = 1.5f;
    if (!p->max_retransmit) p->max_retransmit = 4;
    if (!p->nstart) p->nstart = 1;
    if (!p->exchange_lifetime_ms) p->exchange_lifetime_ms = 247000;
    if (!p->non_lifetime_ms) p->non_lifetime_ms = 145000;
    if (!p->max_dedup) p->max_dedup = 4096;
    if (!p->max_datagram) p->max_datagram = 1500;
    if (!p->max_body) p->max_body = 1024 * 1024;
    if (!p->defer_ack_ms) p->defer_ack_ms = 500;
    if (!p->max_peers) p->max_peers = 10000;
    if (!p->mcast_leisure_ms) p->mcast_leisure_ms = 1000;
}

/* Tokens (RFC 7252 §5.3.1, RFC 9175 §4.2), Message IDs and back-off
 * jitter come from the kernel's CSPRNG. The pool is refilled a whole
 * coap_ep_t.rand_pool (256 bytes) at a time: a request takes two or three
 * words, so getrandom() runs once every twenty-odd requests rather than
 * once every eight. A word handed out is wiped from the pool. */
static uint32_t default_random(coap_ep_t *ep)
{
    enum { WORDS = sizeof ep->rand_pool / sizeof ep->rand_pool[0] };
    if (!ep->rand_left) {
        /* getrandom() on a booted Linux does not fail for up to 256
         * bytes; fall back to a weak mix rather than to a fixed value. */
        if (getrandom(ep->rand_pool, sizeof ep->rand_pool, 0) != sizeof ep->rand_pool) {
            for (unsigned i = 0; i < WORDS; i++)
                ep->rand_pool[i] ^= (uint32_t)(base_clock_monotonic(NULL) * 2654435761u + i);
        }
        ep->rand_left = WORDS;
    }
    uint32_t r = ep->rand_pool[--ep->rand_left];
    ep->rand_pool[ep->rand_left] = 0;
    return r;
}

uint32_t coap_ep_random_(coap_ep_t *ep)
{
    return ep->hooks.random ? ep->hooks.random(ep->hooks.ctx) : default_random(ep);
}

uint64_t coap_ep_now(const coap_ep_t *ep)
{
    if (ep->pass_now) return ep->pass_now;
    return ep->hooks.now ? ep->hooks.now(ep->hooks.ctx) : base_clock_monotonic(NULL);
}

void coap_ep_timer_arm_(coap_ep_t *ep, ep_timer_t *t, uint64_t when)
{
    (void)base_heap_arm(&ep->timers, &t->h, when);
}

void coap_ep_timer_disarm_(coap_ep_t *ep, ep_timer_t *t)
{
    base_heap_disarm(&ep->timers, &t->h);
}

void coap_ep_set_response_role_(coap_ep_t *ep, const ep_response_role_t *role)
{
    ep->responses = role;
}

const coap_identity_t *coap_ep_rx_identity(const coap_ep_t *ep)
{
    return ep->rx_identity;
}

/* --- what the transport tells us --- */

static void up_datagram(void *arg, const coap_addr_t *from, const coap_addr_t *local,
                        const coap_identity_t *id, const uint8_t *buf, size_t len)
{
    coap_ep_datagram_(arg, from, local, id, buf, len);
}

/* ICMP unreachable or a failed handshake: the peer's pending CONs and the
 * requests queued for it fail at once instead of timing out. */
static void up_unreachable(void *arg, const coap_addr_t *addr, int err)
{
    coap_ep_t *ep = arg;
    coap_peer_t *p = coap_ep_peer_get_(ep, addr);
    if (!p) return;
    coap_ep_peer_ref_(p);
    coap_ep_fail_peer_txs_(ep, p, err);
    if (ep->responses) ep->responses->unreachable(ep, p, err);
    coap_ep_peer_unref_(ep, p);
}

/* RFC 8323 §5.3: the peer's CSM is in: requests held for it may go. */
static void up_ready(void *arg, const coap_addr_t *addr)
{
    coap_ep_t *ep = arg;
    if (!ep->responses) return; /* no client role: nothing is held */
    coap_peer_t *p = coap_ep_peer_get_(ep, addr);
    if (!p) return;
    coap_ep_peer_ref_(p);
    ep->responses->ready(ep, p);
    coap_ep_peer_unref_(ep, p);
}

/* A datagram the transport had queued could not leave: counted as when
 * send() itself fails, and no route ends the peer's exchanges as send()
 * returning COAP_ERR_UNREACHABLE would have. */
static void up_send_failed(void *arg, const coap_addr_t *to, int err)
{
    coap_ep_t *ep = arg;
    ep->stats.send_errors++;
    if (err == COAP_ERR_UNREACHABLE) up_unreachable(arg, to, err);
}

static const coap_transport_up_t upcalls = {.datagram = up_datagram,
                                            .unreachable = up_unreachable,
                                            .ready = up_ready,
                                            .send_failed = up_send_failed};

void coap_ep_input(coap_ep_t *ep, const coap_addr_t *from, const uint8_t *buf, size_t len)
{
    coap_ep_datagram_(ep, from, NULL, NULL, buf, len);
}

/* --- driving it --- */

static void run_timers(coap_ep_t *ep)
{
    uint64_t now = coap_ep_now(ep);
    /* bounded: a timer re-armed for now runs on the next call */
    for (size_t budget = ep->timers.n; budget > 0; budget--) {
        base_heap_tmr_t *top = base_heap_top(&ep->timers);
        if (!top || top->when > now) break;
        base_heap_disarm(&ep->timers, top);
        ep_timer_t *t = (ep_timer_t *)top;
        t->fire(ep, t);
    }
}

void coap_ep_process(coap_ep_t *ep)
{
    /* One clock read for the whole batch of datagrams (the transport reads
     * up to a recvmmsg's worth): a request read it four times (dedup
     * expiry and entry, deferred ACK, peer LRU), 1.75 % of the server's CPU
     * in perf. Timers and lifetimes count in ms and seconds; a pass is bounded
     * (transport_udp.c's READ_BUDGET, 256 datagrams). */
    uint64_t now = coap_ep_now(ep);
    ep->pass_now = now;
    ep->tr->ops->process(ep->tr, now);
    ep->pass_now = 0;
    run_timers(ep);
    now = coap_ep_now(ep);
    coap_ep_dedup_expire_(ep, now);
    coap_ep_peers_gc_(ep, now);
}

uint64_t coap_ep_next_deadline(const coap_ep_t *ep)
{
    base_heap_tmr_t *top = base_heap_top(&ep->timers);
    uint64_t mine = top ? top->when : BASE_NEVER;
    uint64_t transport = ep->tr->ops->next_deadline(ep->tr);
    return transport < mine ? transport : mine;
}

static void source_process(void *arg)
{
    coap_ep_process(arg);
}

/* Asked as the loop dispatches and before it sleeps: what the transport
 * queued since our last process() (requests made from HTTP handlers and
 * timers) leaves now, in one system call, rather than making a pass of
 * process() due for it (a pass reads the socket: one call more). */
static uint64_t source_deadline(void *arg)
{
    coap_ep_t *ep = arg;
    coap_transport_udp_flush(ep->tr);
    return coap_ep_next_deadline(ep);
}

int coap_ep_attach(coap_ep_t *ep, base_loop_t *loop)
{
    int rc = base_loop_add_source(loop, coap_ep_fd(ep), source_process, source_deadline, ep);
    return rc < 0 ? COAP_ERR_SYS(-rc) : COAP_OK;
}

void coap_ep_detach(coap_ep_t *ep, base_loop_t *loop)
{
    base_loop_remove_source(loop, ep);
}

/* --- life cycle --- */

coap_ep_t *coap_ep_new_on(coap_transport_t *tr, const coap_ep_params_t *params, int *err)
{
    int dummy;
    if (!err) err = &dummy;
    coap_ep_t *ep = tr ? calloc(1, sizeof *ep) : NULL;
    if (!ep) {
        if (tr) tr->ops->free(tr);
        *err = tr ? COAP_ERR_NOMEM : COAP_ERR_INVALID;
        return NULL;
    }
    if (params) ep->p = *params;
    apply_defaults(&ep->p);
    base_list_init(&ep->peers_lru);
    base_list_init(&ep->mcast_pending);
    ep->tr = tr;
    tr->up = &upcalls;
    tr->up_arg = ep;
    *err = COAP_OK;
    return ep;
}

coap_ep_t *coap_ep_new(const coap_addr_t *bind_addr, const coap_ep_params_t *params, int *err)
{
    coap_transport_t *tr = coap_transport_udp_new(bind_addr, err);
    return tr ? coap_ep_new_on(tr, params, err) : NULL;
}

void coap_ep_set_hooks(coap_ep_t *ep, const coap_ep_hooks_t *hooks)
{
    ep->hooks = *hooks;
}

const coap_ep_params_t *coap_ep_params(const coap_ep_t *ep)
{
    return &ep->p;
}

int coap_ep_fd(const coap_ep_t *ep)
{
    return ep->tr->ops->fd(ep->tr);
}

coap_transport_t *coap_ep_transport(const coap_ep_t *ep)
{
    return ep->tr;
}

int coap_ep_local_addr(const coap_ep_t *ep, coap_addr_t *out)
{
    return ep->tr->ops->local_addr(ep->tr, out);
}

const coap_ep_stats_t *coap_ep_stats(const coap_ep_t *ep)
{
    return &ep->stats;
}

size_t coap_ep_pending_requests(const coap_ep_t *ep)
{
    return ep->reqs.n;
}

void coap_ep_free(coap_ep_t *ep)
{
    if (!ep) return;
    ep->closing = 1; /* callbacks below cannot start anything new */
    if (ep->responses) ep->responses->shutdown(ep);
    coap_ep_requests_free_(ep);
    coap_ep_mcast_free_(ep);
    coap_ep_txs_free_(ep);
    coap_ep_dedup_free_(ep);
    coap_ep_peers_free_(ep);
    base_htab_free(&ep->txs);
    base_htab_free(&ep->dedup);
    base_htab_free(&ep->reqs);
    base_htab_free(&ep->exchanges);
    base_heap_free(&ep->timers);
    ep->tr->ops->free(ep->tr);
    free(ep);
}
