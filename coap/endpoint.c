/*
 * endpoint.c - the message layer (RFC 7252 §4): one UDP socket, CON
 * retransmission with exponential back-off, ACK/RST matching, duplicate
 * detection, peers and their message IDs.
 */
#include "ep_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

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
}

static uint32_t default_random(void *ctx)
{
    coap_ep_t *ep = ctx;
    if (!ep->rand_left) {
        if (getrandom(ep->rand_pool, sizeof ep->rand_pool, 0) != sizeof ep->rand_pool) {
            /* getrandom() on a booted Linux does not fail for 64 bytes;
             * fall back to a weak mix rather than to a fixed value. */
            for (unsigned i = 0; i < 16; i++)
                ep->rand_pool[i] ^= (uint32_t)(coap_clock_monotonic(NULL) * 2654435761u + i);
        }
        ep->rand_left = 16;
    }
    return ep->rand_pool[--ep->rand_left];
}

uint32_t coap_ep_random_(coap_ep_t *ep)
{
    return ep->hooks.random ? ep->hooks.random(ep->hooks.ctx) : default_random(ep);
}

uint64_t coap_ep_now(const coap_ep_t *ep)
{
    return ep->hooks.now ? ep->hooks.now(ep->hooks.ctx) : coap_clock_monotonic(NULL);
}

void coap_ep_timer_arm_(coap_ep_t *ep, ep_timer_t *t, uint64_t when)
{
    (void)coap_heap_arm(&ep->timers, &t->h, when);
}

void coap_ep_timer_disarm_(coap_ep_t *ep, ep_timer_t *t)
{
    coap_heap_disarm(&ep->timers, &t->h);
}

/* --- peers --- */

static void lru_unlink(coap_ep_t *ep, coap_peer_t *p)
{
    if (p->lru_prev)
        p->lru_prev->lru_next = p->lru_next;
    else
        ep->lru_head = p->lru_next;
    if (p->lru_next)
        p->lru_next->lru_prev = p->lru_prev;
    else
        ep->lru_tail = p->lru_prev;
    p->lru_prev = p->lru_next = NULL;
}

static void lru_push(coap_ep_t *ep, coap_peer_t *p)
{
    p->lru_prev = ep->lru_tail;
    p->lru_next = NULL;
    if (ep->lru_tail)
        ep->lru_tail->lru_next = p;
    else
        ep->lru_head = p;
    ep->lru_tail = p;
}

static void peer_free(coap_ep_t *ep, coap_peer_t *p)
{
    coap_htab_remove(&ep->peers, &p->hn);
    lru_unlink(ep, p);
    ep->npeers--;
    free(p);
}

/* Forgets idle peers: once EXCHANGE_LIFETIME has passed, their message IDs
 * can no longer collide (§4.4), and the table stays bounded. */
static void peers_gc(coap_ep_t *ep, uint64_t now)
{
    coap_peer_t *p = ep->lru_head;
    while (p) {
        coap_peer_t *next = p->lru_next;
        int idle = p->last_used + ep->p.exchange_lifetime_ms < now;
        if (!idle && ep->npeers <= ep->p.max_peers) break;
        if (p->refs == 0) peer_free(ep, p);
        p = next;
    }
}

coap_peer_t *coap_ep_peer_get_(coap_ep_t *ep, const coap_addr_t *addr)
{
    uint64_t h = coap_addr_hash(addr);
    for (coap_hnode_t *n = coap_htab_first(&ep->peers, h); n; n = coap_htab_next(n)) {
        coap_peer_t *p = coap_container_of(n, coap_peer_t, hn);
        if (coap_addr_equal(&p->addr, addr)) {
            p->last_used = coap_ep_now(ep);
            lru_unlink(ep, p);
            lru_push(ep, p);
            return p;
        }
    }
    coap_peer_t *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->addr = *addr;
    /* §4.4: the initial Message ID should be randomized. */
    p->next_mid = (uint16_t)coap_ep_random_(ep);
    p->last_used = coap_ep_now(ep);
    if (coap_htab_insert(&ep->peers, &p->hn, h)) {
        free(p);
        return NULL;
    }
    lru_push(ep, p);
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

/* --- raw I/O --- */

int coap_ep_raw_send_(coap_ep_t *ep, const coap_addr_t *to, const uint8_t *buf, size_t len)
{
    ep->stats.tx++;
    int rc = 0;
    if (ep->hooks.send) {
        rc = ep->hooks.send(ep->hooks.ctx, to, buf, len);
    } else {
        ssize_t n;
        do {
            coap_addr_t dst = *to;
            if (ep->family == AF_INET6) coap_addr_map_v6(&dst); /* dual-stack socket */
            n = sendto(ep->fd, buf, len, 0, &dst.u.sa, dst.len);
        } while (n < 0 && errno == EINTR);
        if (n < 0) rc = -errno;
    }
    if (rc < 0) ep->stats.send_errors++;
    return rc;
}

/* Sends an empty ACK or RST for mid; records it as the dedup reply. */
void coap_ep_send_empty_(coap_ep_t *ep, const coap_addr_t *to, coap_type_t type, uint16_t mid,
                         ep_dedup_t *dd)
{
    uint8_t b[4] = {(uint8_t)(0x40 | type << 4), 0, (uint8_t)(mid >> 8), (uint8_t)mid};
    if (type == COAP_RST) ep->stats.rst_tx++;
    coap_ep_raw_send_(ep, to, b, 4);
    if (dd && !dd->reply && (dd->reply = malloc(4))) {
        memcpy(dd->reply, b, 4);
        dd->reply_len = 4;
    }
}

/* --- transmissions (our CONs) --- */

static uint64_t tx_key(const coap_peer_t *p, uint16_t mid)
{
    return coap_hash_mix((uint64_t)(uintptr_t)p, mid);
}

static coap_ep_tx_t *tx_find(coap_ep_t *ep, coap_peer_t *p, uint16_t mid)
{
    for (coap_hnode_t *n = coap_htab_first(&ep->txs, tx_key(p, mid)); n; n = coap_htab_next(n)) {
        coap_ep_tx_t *tx = coap_container_of(n, coap_ep_tx_t, hn);
        if (tx->peer == p && tx->mid == mid) return tx;
    }
    return NULL;
}

static void tx_free(coap_ep_t *ep, coap_ep_tx_t *tx)
{
    coap_htab_remove(&ep->txs, &tx->hn);
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

static void tx_timer(coap_ep_t *ep, coap_ep_tx_t *tx)
{
    uint64_t now = coap_ep_now(ep);
    if (tx->type == COAP_NON) { /* no RST came: the NON counts as delivered */
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
    coap_ep_raw_send_(ep, &tx->peer->addr, tx->bytes, tx->len);
    coap_ep_timer_arm_(ep, &tx->tmr, now + tx->timeout_ms);
}

int coap_ep_send(coap_ep_t *ep, const coap_addr_t *to, coap_msg_t *msg, coap_ep_sent_cb done,
                 void *arg, coap_ep_tx_t **out)
{
    if (out) *out = NULL;
    if (ep->closing) return COAP_ERR_CANCELLED; /* nothing new while coap_ep_free() runs */
    coap_peer_t *peer = coap_ep_peer_get_(ep, to);
    if (!peer) return COAP_ERR_NOMEM;
    if (msg->type == COAP_CON || msg->type == COAP_NON) msg->mid = peer->next_mid++;
    size_t len = coap_msg_size(msg);
    int track = msg->type == COAP_CON || (msg->type == COAP_NON && done);
    if (!track) {
        uint8_t stackbuf[1280];
        uint8_t *b = len <= sizeof stackbuf ? stackbuf : malloc(len);
        if (!b) return COAP_ERR_NOMEM;
        int n = coap_msg_serialize(msg, b, len);
        int rc = n < 0 ? n : coap_ep_raw_send_(ep, to, b, (size_t)n);
        if (b != stackbuf) free(b);
        if (n < 0) return n;
        if (rc < 0) return COAP_ERR_UNREACHABLE;
        if (done) done(ep, COAP_OK, NULL, arg);
        return COAP_OK;
    }
    coap_ep_tx_t *tx = calloc(1, sizeof *tx + len);
    if (!tx) return COAP_ERR_NOMEM;
    int n = coap_msg_serialize(msg, tx->bytes, len);
    if (n < 0) {
        free(tx);
        return n;
    }
    tx->len = (size_t)n;
    tx->peer = peer;
    coap_ep_peer_ref_(peer);
    tx->mid = msg->mid;
    tx->type = msg->type;
    tx->done = done;
    tx->arg = arg;
    tx->tmr.kind = TMR_TX;
    tx->timeout_ms = initial_timeout(ep);
    int rc = coap_ep_raw_send_(ep, to, tx->bytes, tx->len);
    if (rc == -ENETUNREACH || rc == -EHOSTUNREACH || rc == -EADDRNOTAVAIL || rc == -EAFNOSUPPORT ||
        rc == -EINVAL) {
        /* No route at all: retransmitting cannot help, say so at once. */
        coap_ep_peer_unref_(ep, peer);
        free(tx);
        return COAP_ERR_UNREACHABLE;
    }
    coap_htab_insert(&ep->txs, &tx->hn, tx_key(peer, tx->mid));
    coap_ep_timer_arm_(ep, &tx->tmr, coap_ep_now(ep) + tx->timeout_ms);
    if (out) *out = tx;
    return COAP_OK;
}

/* --- receiving --- */

/* §4.2/§4.3: a CON that cannot be processed is rejected with RST; a NON
 * is ignored. A datagram whose header cannot be read is dropped. */
void coap_ep_reject_(coap_ep_t *ep, const coap_addr_t *from, const coap_msg_t *m, ep_dedup_t *dd)
{
    if (m->type == COAP_CON) coap_ep_send_empty_(ep, from, COAP_RST, m->mid, dd);
}

static void on_ack_or_rst(coap_ep_t *ep, coap_peer_t *peer, const coap_msg_t *m)
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

void coap_ep_input(coap_ep_t *ep, const coap_addr_t *from, const uint8_t *buf, size_t len)
{
    ep->stats.rx++;
    if (len > ep->p.max_datagram) {
        ep->stats.oversized++;
        return;
    }
    coap_msg_t m;
    int rc = coap_msg_parse(&m, buf, len);
    if (rc) {
        ep->stats.malformed++;
        /* The header is readable unless the datagram is shorter than 4
         * bytes or of another version: then nothing may be answered. */
        if (rc != COAP_ERR_VERSION && len >= 4) coap_ep_reject_(ep, from, &m, NULL);
        return;
    }
    coap_peer_t *peer = coap_ep_peer_get_(ep, from);
    if (!peer) return;
    coap_ep_peer_ref_(peer); /* callbacks below may otherwise let it go */
    if (m.type == COAP_ACK || m.type == COAP_RST)
        on_ack_or_rst(ep, peer, &m);
    else
        coap_ep_con_non_input_(ep, peer, &m);
    coap_ep_peer_unref_(ep, peer);
}

/* Fails every transmission to p with COAP_ERR_UNREACHABLE. The callbacks
 * may send (growing the table) or cancel other transmissions, so the table
 * is not walked while they run: the message IDs are collected first and
 * looked up again one by one. */
static void fail_peer_txs(coap_ep_t *ep, coap_peer_t *p)
{
    size_t n = 0;
    for (size_t b = 0; b < ep->txs.nb; b++)
        for (coap_hnode_t *h = ep->txs.b[b]; h; h = h->next)
            n += coap_container_of(h, coap_ep_tx_t, hn)->peer == p;
    uint16_t *mids = n ? malloc(n * sizeof *mids) : NULL;
    if (!mids) return;
    size_t k = 0;
    for (size_t b = 0; b < ep->txs.nb; b++)
        for (coap_hnode_t *h = ep->txs.b[b]; h; h = h->next) {
            coap_ep_tx_t *tx = coap_container_of(h, coap_ep_tx_t, hn);
            if (tx->peer == p) mids[k++] = tx->mid;
        }
    for (size_t i = 0; i < k; i++) {
        coap_ep_tx_t *tx = tx_find(ep, p, mids[i]);
        if (tx) tx_complete(ep, tx, COAP_ERR_UNREACHABLE, NULL);
    }
    free(mids);
}

/* ICMP errors (IP_RECVERR): the original destination names the peer that
 * cannot be reached; its pending CONs fail at once instead of timing out. */
static void read_errqueue(coap_ep_t *ep)
{
    for (int i = 0; i < 64; i++) {
        coap_addr_t dst;
        char ctrl[512];
        struct msghdr mh = {.msg_name = &dst.u.ss,
                            .msg_namelen = sizeof dst.u.ss,
                            .msg_control = ctrl,
                            .msg_controllen = sizeof ctrl};
        if (recvmsg(ep->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return;
        dst.len = mh.msg_namelen;
        coap_addr_unmap(&dst);
        coap_peer_t *p = coap_ep_peer_get_(ep, &dst);
        if (!p) continue;
        coap_ep_peer_ref_(p);
        fail_peer_txs(ep, p);
        coap_client_unreachable_(ep, p);
        coap_ep_peer_unref_(ep, p);
    }
}

static void read_socket(coap_ep_t *ep)
{
    /* Bounded per call so one busy socket cannot starve the loop. */
    for (int i = 0; i < 256; i++) {
        coap_addr_t from;
        socklen_t fl = sizeof from.u.ss;
        ssize_t n = recvfrom(ep->fd, ep->rxbuf, sizeof ep->rxbuf, MSG_DONTWAIT | MSG_TRUNC,
                             &from.u.sa, &fl);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) read_errqueue(ep);
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            continue;
        }
        from.len = fl;
        coap_addr_unmap(&from);             /* peers are kept in one canonical form */
        if ((size_t)n > sizeof ep->rxbuf) { /* truncated: far above any limit */
            ep->stats.rx++;
            ep->stats.oversized++;
            continue;
        }
        coap_ep_input(ep, &from, ep->rxbuf, (size_t)n);
    }
}

static void run_timers(coap_ep_t *ep)
{
    uint64_t now = coap_ep_now(ep);
    for (size_t budget = ep->timers.n; budget > 0; budget--) {
        coap_heap_tmr_t *top = coap_heap_top(&ep->timers);
        if (!top || top->when > now) break;
        coap_heap_disarm(&ep->timers, top);
        ep_timer_t *t = (ep_timer_t *)top;
        switch (t->kind) {
        case TMR_TX:
            tx_timer(ep, coap_container_of(t, coap_ep_tx_t, tmr));
            break;
        case TMR_REQ_ACK:
            coap_ep_server_timer_(ep, t);
            break;
        case TMR_CLIENT:
            coap_client_timer_(ep, t);
            break;
        default:
            break;
        }
    }
}

void coap_ep_process(coap_ep_t *ep)
{
    if (ep->fd >= 0) read_socket(ep);
    run_timers(ep);
    uint64_t now = coap_ep_now(ep);
    coap_ep_dedup_expire_(ep, now);
    peers_gc(ep, now);
}

uint64_t coap_ep_next_deadline(const coap_ep_t *ep)
{
    coap_heap_tmr_t *top = coap_heap_top(&ep->timers);
    return top ? top->when : COAP_NEVER;
}

/* --- life cycle --- */

static coap_ep_t *ep_alloc(const coap_ep_params_t *params)
{
    coap_ep_t *ep = calloc(1, sizeof *ep);
    if (!ep) return NULL;
    if (params) ep->p = *params;
    apply_defaults(&ep->p);
    ep->fd = -1;
    return ep;
}

coap_ep_t *coap_ep_new_virtual(const coap_ep_params_t *params, const coap_ep_hooks_t *hooks)
{
    coap_ep_t *ep = ep_alloc(params);
    if (ep && hooks) ep->hooks = *hooks;
    return ep;
}

static int open_socket(const coap_addr_t *bind_addr)
{
    coap_addr_t any;
    if (!bind_addr) {
        coap_addr_from_host(&any, "::", 0);
        bind_addr = &any;
    }
    int fam = bind_addr->u.sa.sa_family;
    int fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int on = 1, off = 0;
    if (fam == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
        setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on);
    }
    setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on);
    int buf = 1 << 20; /* bursts of notifications and benchmarks */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    if (bind(fd, &bind_addr->u.sa, bind_addr->len) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

coap_ep_t *coap_ep_new(const coap_addr_t *bind_addr, const coap_ep_params_t *params, int *err)
{
    coap_ep_t *ep = ep_alloc(params);
    if (!ep) {
        if (err) *err = COAP_ERR_NOMEM;
        return NULL;
    }
    ep->family = bind_addr ? bind_addr->u.sa.sa_family : AF_INET6;
    ep->fd = open_socket(bind_addr);
    if (ep->fd < 0) {
        if (err) *err = ep->fd;
        free(ep);
        return NULL;
    }
    return ep;
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
    return ep->fd;
}

const coap_ep_stats_t *coap_ep_stats(const coap_ep_t *ep)
{
    return &ep->stats;
}

size_t coap_ep_pending_requests(const coap_ep_t *ep)
{
    return ep->reqs.n;
}

int coap_ep_local_addr(const coap_ep_t *ep, coap_addr_t *out)
{
    socklen_t l = sizeof out->u.ss;
    if (getsockname(ep->fd, &out->u.sa, &l) < 0) return -errno;
    out->len = l;
    return 0;
}

static void source_process(void *arg)
{
    coap_ep_process(arg);
}

static uint64_t source_deadline(void *arg)
{
    return coap_ep_next_deadline(arg);
}

int coap_ep_attach(coap_ep_t *ep, coap_loop_t *loop)
{
    return coap_loop_add_source(loop, ep->fd, source_process, source_deadline, ep);
}

void coap_ep_detach(coap_ep_t *ep, coap_loop_t *loop)
{
    coap_loop_remove_source(loop, ep);
}

void coap_ep_free(coap_ep_t *ep)
{
    if (!ep) return;
    ep->closing = 1; /* callbacks below cannot start anything new */
    coap_client_shutdown_(ep);
    coap_ep_server_shutdown_(ep);
    for (size_t b = 0; b < ep->txs.nb; b++)
        while (ep->txs.b && ep->txs.b[b])
            tx_complete(ep, coap_container_of(ep->txs.b[b], coap_ep_tx_t, hn), COAP_ERR_CANCELLED,
                        NULL);
    coap_ep_dedup_free_(ep);
    while (ep->lru_head) peer_free(ep, ep->lru_head);
    coap_htab_free(&ep->peers);
    coap_htab_free(&ep->txs);
    coap_htab_free(&ep->dedup);
    coap_htab_free(&ep->reqs);
    coap_htab_free(&ep->exchanges);
    coap_heap_free(&ep->timers);
    if (ep->fd >= 0) close(ep->fd);
    free(ep);
}
