/*
 * transport_tcp.c - CoAP over TCP (RFC 8323): the connections of a
 * reliable transport (coap_transport.h). Sockets, an epoll descriptor of
 * our own that the endpoint's loop watches, the connection table and its
 * limits, connecting and accepting, and the timers of connect, idle
 * release and keepalive. A connection's bytes (write queues, frame
 * reassembly, the TLS handshake) are in tcp_io.c; signalling (§5) is in
 * tcp_signal.c.
 */
#include "base_loop.h"
#include "tcp_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/tcp.h>
#include <unistd.h>

#define EVENTS_BUDGET 64 /* epoll events per process() */
#define LISTEN_TAG    ((void *)1)

static const coap_transport_ops_t tcp_ops;

static void apply_defaults(coap_tcp_params_t *p)
{
    if (!p->max_message) p->max_message = 8192;
    if (p->max_message < 64) p->max_message = 64; /* a header and a few options */
    if (!p->max_conns) p->max_conns = 1000;
    if (!p->max_queued) p->max_queued = 1 << 20;
    if (!p->idle_ms) p->idle_ms = 120000;
    if (!p->keepalive_ms) p->keepalive_ms = 30000;
    if (!p->pong_timeout_ms) p->pong_timeout_ms = 10000;
    if (!p->connect_timeout_ms) p->connect_timeout_ms = 10000;
}

/* --- the connection table --- */

tcp_conn_t *coap_tcp_find_(tcp_t *t, const coap_addr_t *peer)
{
    coap_addr_t canon = *peer;
    coap_addr_unmap(&canon);
    uint64_t h = coap_addr_hash(&canon);
    for (base_hnode_t *n = base_htab_first(&t->by_peer, h); n; n = base_htab_next(n)) {
        tcp_conn_t *c = base_container_of(n, tcp_conn_t, hn);
        if (c->state != CONN_DEAD && coap_addr_equal(&c->peer, &canon)) return c;
    }
    return NULL;
}

static void conn_free(tcp_t *t, tcp_conn_t *c)
{
    if (c->tls) t->p.tls->close(c->tls);
    close(c->fd); /* also takes it out of the epoll set */
    free(c->rbuf);
    free(c->wbuf);
    free(c);
}

/* A filter (TLS) over the new connection; its handshake runs before
 * anything else is written (flush waits for it). */
static int conn_filter(tcp_t *t, tcp_conn_t *c)
{
    int err = COAP_OK;
    if (t->p.tls && !(c->tls = t->p.tls->open(t->p.tls_arg, c->fd, &c->peer, c->outbound, &err)))
        return err ? err : COAP_ERR_NOMEM;
    return COAP_OK;
}

static tcp_conn_t *conn_new(tcp_t *t, int fd, const coap_addr_t *peer, int outbound, int *err)
{
    *err = COAP_ERR_NOMEM;
    tcp_conn_t *c = calloc(1, sizeof *c);
    uint8_t *rbuf = malloc(t->p.max_message + COAP_TCP_HEADER_MAX + COAP_TOKEN_MAX);
    struct epoll_event ev = {.events = EPOLLIN | (outbound ? EPOLLOUT : 0u), .data.ptr = c};
    if (!c || !rbuf || epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        free(c);
        free(rbuf);
        close(fd);
        return NULL;
    }
    c->fd = fd;
    c->peer = *peer;
    coap_addr_unmap(&c->peer);
    c->rbuf = rbuf;
    c->outbound = (uint8_t)outbound;
    c->want_out = (uint8_t)outbound;
    c->state = outbound ? CONN_CONNECTING : CONN_OPEN;
    c->peer_max = COAP_TCP_DEFAULT_MAX_MESSAGE;
    c->fresh = 1;
    if (base_htab_insert(&t->by_peer, &c->hn, coap_addr_hash(&c->peer))) {
        close(fd);
        free(rbuf);
        free(c);
        return NULL;
    }
    base_list_push_back(&t->conns, &c->all);
    t->stats.conns_open++;
    /* §5.3: "Each endpoint MUST send a CSM ... as its first message" */
    if ((*err = conn_filter(t, c)) || (*err = coap_tcp_send_csm_(t, c))) {
        coap_tcp_kill_(t, c, *err); /* reaped with the others */
        return NULL;
    }
    return c;
}

void coap_tcp_kill_(tcp_t *t, tcp_conn_t *c, int err)
{
    if (c->state == CONN_DEAD) return;
    /* what a batch queued leaves before the close: an Abort's or a
     * Release's signal (RFC 8323 §5.5, §5.6) is often its last frame */
    if (c->state == CONN_OPEN && !(c->tls && !c->tls_ready)) (void)coap_tcp_write_out_(t, c);
    c->state = CONN_DEAD;
    c->dead_err = err;
    t->reap_due = 1;
}

/* Frees the dead connections and tells the endpoint, whose exchanges on
 * them end (from process() only: never while the endpoint is sending). */
static void reap(tcp_t *t)
{
    if (!t->reap_due) return;
    t->reap_due = 0;
    base_list_t *it, *next;
    BASE_LIST_FOREACH(it, next, &t->conns) {
        tcp_conn_t *c = base_list_entry(it, tcp_conn_t, all);
        if (c->state != CONN_DEAD) continue;
        coap_addr_t peer = c->peer;
        int err = c->dead_err;
        base_htab_remove(&t->by_peer, &c->hn);
        base_list_remove(&c->all);
        conn_free(t, c);
        t->stats.conns_open--;
        t->stats.closed++;
        t->base.up->unreachable(t->base.up_arg, &peer, err);
        if (t->p.event) t->p.event(t->p.event_arg, &peer, 0, err);
    }
}

/* --- connecting --- */

static tcp_conn_t *conn_connect(tcp_t *t, const coap_addr_t *to, int *err)
{
    coap_addr_t dst = *to;
    coap_addr_unmap(&dst);
    int fd = socket(dst.u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return *err = COAP_ERR_SYS(errno), NULL;
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on); /* small messages, no batching */
    if (connect(fd, &dst.u.sa, dst.len) < 0 && errno != EINPROGRESS) {
        close(fd);
        return *err = COAP_ERR_UNREACHABLE, NULL;
    }
    tcp_conn_t *c = conn_new(t, fd, &dst, 1, err);
    if (!c) return NULL;
    t->stats.connected++;
    return c;
}

static void connect_done(tcp_t *t, tcp_conn_t *c)
{
    int e = 0;
    socklen_t l = sizeof e;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0) e = errno;
    if (e) {
        coap_tcp_kill_(t, c, COAP_ERR_UNREACHABLE);
        return;
    }
    c->state = CONN_OPEN;
    c->last_heard = t->now;
    coap_tcp_flush_(t, c);
}

/* Accepted connections open now from from's IP address (an IPv6 one's
 * /64: coap_addr_same_site), any port; up to
 * max_conns of them are walked, once per accept. */
static uint32_t open_from_host(const tcp_t *t, const coap_addr_t *from)
{
    uint32_t n = 0;
    for (const base_list_t *it = t->conns.next; it != &t->conns; it = it->next) {
        const tcp_conn_t *c = base_list_entry(it, tcp_conn_t, all);
        n += c->state != CONN_DEAD && !c->outbound && coap_addr_same_site(&c->peer, from);
    }
    return n;
}

static void accept_some(tcp_t *t)
{
    for (int i = 0; i < EVENTS_BUDGET; i++) {
        coap_addr_t from;
        socklen_t l = sizeof from.u;
        int fd = accept4(t->lfd, &from.u.sa, &l, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        from.len = l;
        if (t->stats.conns_open >= t->p.max_conns) { /* taken off the backlog, and closed */
            t->stats.refused++;
            close(fd);
            continue;
        }
        if (t->p.max_conns_per_host && open_from_host(t, &from) >= t->p.max_conns_per_host) {
            t->stats.refused_host++; /* one host cannot take every slot */
            close(fd);
            continue;
        }
        int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        int err;
        if (conn_new(t, fd, &from, 0, &err)) t->stats.accepted++;
    }
}

/* --- timers (§5.4 keepalive, §5.5 release) --- */

static uint64_t conn_deadline(const tcp_t *t, const tcp_conn_t *c)
{
    if (c->state == CONN_DEAD || c->fresh) return 0;
    if (c->state == CONN_CONNECTING || !c->csm_rx) return c->since + t->p.connect_timeout_ms;
    uint64_t d =
        c->ping_out ? c->ping_sent + t->p.pong_timeout_ms : c->last_heard + t->p.keepalive_ms;
    uint64_t idle = c->last_used + t->p.idle_ms;
    return c->outbound && idle < d ? idle : d;
}

static void conn_timers(tcp_t *t, tcp_conn_t *c)
{
    uint64_t now = t->now;
    if (c->fresh) {
        c->fresh = 0;
        c->since = c->last_heard = c->last_used = now;
    }
    if (c->state == CONN_DEAD || conn_deadline(t, c) > now) return;
    if (c->state == CONN_CONNECTING || !c->csm_rx) {
        int stalled = c->tls && !c->tls_ready && t->p.tls->stalled;
        coap_tcp_kill_(t, c, stalled ? t->p.tls->stalled(c->tls) : COAP_ERR_TIMEOUT);
    } else if (c->outbound && c->last_used + t->p.idle_ms <= now) {
        /* §5.5: Release tells the peer we are done; then we close */
        t->stats.releases_tx++;
        coap_tcp_send_signal_(t, c, COAP_SIG_RELEASE, 0, NULL, 0, NULL);
        coap_tcp_kill_(t, c, COAP_ERR_CONN_CLOSED);
    } else if (c->ping_out) { /* §5.4: no Pong: the connection is half-open */
        t->stats.half_open++;
        coap_tcp_kill_(t, c, COAP_ERR_TIMEOUT);
    } else {
        c->ping_out = 1;
        c->ping_sent = now;
        t->stats.pings_tx++;
        coap_tcp_send_signal_(t, c, COAP_SIG_PING, 0, NULL, 0, NULL);
    }
}

/* --- the transport's operations --- */

tcp_conn_t *coap_tcp_conn_for_(tcp_t *t, const coap_addr_t *peer, int *err)
{
    tcp_conn_t *c = coap_tcp_find_(t, peer);
    *err = COAP_ERR_UNREACHABLE;
    if (!c && t->p.connect_out && t->stats.conns_open >= t->p.max_conns) {
        /* max_conns bounds our own connections as it bounds accepted
         * ones: each target address would otherwise hold one more
         * descriptor, for idle_ms after its last request (counted
         * refused by tcp_send, not by a CSM wait asking first) */
        *err = COAP_TCP_ERR_FULL;
        return NULL;
    }
    if (!c && t->p.connect_out) c = conn_connect(t, peer, err);
    return c;
}

static int tcp_send(coap_transport_t *tr, const coap_addr_t *to, const coap_addr_t *local,
                    const uint8_t *buf, size_t len)
{
    (void)local;
    tcp_t *t = (tcp_t *)tr;
    int err;
    tcp_conn_t *c = coap_tcp_conn_for_(t, to, &err);
    if (!c && err == COAP_TCP_ERR_FULL) t->stats.refused++;
    if (!c) return err;
    /* §5.3.1: nothing larger than the peer's Max-Message-Size */
    if (len > c->peer_max) return COAP_ERR_TOO_LARGE;
    c->last_used = t->now;
    return coap_tcp_queue_(t, c, buf, len);
}

static void tcp_process(coap_transport_t *tr, uint64_t now)
{
    tcp_t *t = (tcp_t *)tr;
    t->now = now;
    struct epoll_event evs[EVENTS_BUDGET];
    int n = epoll_wait(t->epfd, evs, EVENTS_BUDGET, 0);
    /* The answers to every frame read in this pass (and its Pings) leave
     * in one write per connection at its end: TCP_NODELAY stays on, yet
     * a batch of requests costs one segment, not one each. */
    t->batching = 1;
    for (int i = 0; i < n; i++) {
        if (evs[i].data.ptr == LISTEN_TAG) {
            accept_some(t);
            continue;
        }
        tcp_conn_t *c = evs[i].data.ptr;
        if (c->state == CONN_CONNECTING && (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            connect_done(t, c);
        if (c->state == CONN_OPEN && c->tls && !c->tls_ready) {
            coap_tcp_handshake_(t, c);
            continue;
        }
        if (c->state == CONN_OPEN && (evs[i].events & EPOLLOUT)) coap_tcp_flush_(t, c);
        if (c->state == CONN_OPEN && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
            coap_tcp_read_(t, c);
    }
    base_list_t *it, *next;
    BASE_LIST_FOREACH(it, next, &t->conns) {
        tcp_conn_t *c = base_list_entry(it, tcp_conn_t, all);
        if (coap_tcp_filter_pending_(t, c)) coap_tcp_read_(t, c);
        conn_timers(t, c);
    }
    t->batching = 0;
    BASE_LIST_FOREACH(it, next, &t->conns) {
        tcp_conn_t *c = base_list_entry(it, tcp_conn_t, all);
        if (c->woff < c->wlen && !c->want_out) coap_tcp_flush_(t, c);
    }
    reap(t);
}

static uint64_t tcp_next_deadline(const coap_transport_t *tr)
{
    const tcp_t *t = (const tcp_t *)tr;
    if (t->reap_due) return 0;
    uint64_t d = BASE_NEVER;
    for (base_list_t *it = t->conns.next; it != &t->conns; it = it->next) {
        const tcp_conn_t *c = base_list_entry(it, tcp_conn_t, all);
        uint64_t cd = coap_tcp_filter_pending_(t, c) ? 0 : conn_deadline(t, c);
        if (cd < d) d = cd;
    }
    return d;
}

static int tcp_fd(const coap_transport_t *tr)
{
    return ((const tcp_t *)tr)->epfd;
}

static int tcp_local_addr(const coap_transport_t *tr, coap_addr_t *out)
{
    const tcp_t *t = (const tcp_t *)tr;
    if (t->lfd < 0) return COAP_ERR_INVALID;
    socklen_t l = sizeof out->u;
    if (getsockname(t->lfd, &out->u.sa, &l) < 0) return COAP_ERR_SYS(errno);
    out->len = l;
    return COAP_OK;
}

static void tcp_free(coap_transport_t *tr)
{
    tcp_t *t = (tcp_t *)tr;
    base_list_t *first;
    while ((first = base_list_first(&t->conns))) {
        tcp_conn_t *c = base_list_entry(first, tcp_conn_t, all);
        base_list_remove(&c->all);
        conn_free(t, c);
    }
    base_htab_free(&t->by_peer);
    if (t->p.tls && t->p.tls->release) t->p.tls->release(t->p.tls_arg);
    if (t->lfd >= 0) close(t->lfd);
    if (t->epfd >= 0) close(t->epfd);
    free(t);
}

static const coap_transport_ops_t tcp_ops = {
    .name = "tcp",
    .send = tcp_send,
    .process = tcp_process,
    .next_deadline = tcp_next_deadline,
    .fd = tcp_fd,
    .local_addr = tcp_local_addr,
    .free = tcp_free,
    .verifies_peers = 1, /* the three-way handshake proves the address (RFC 9175 §2.4) */
    .reliable = 1,
    .max_message = coap_tcp_peer_max_,
    .bert_message = coap_tcp_bert_message_,
    .csm_wait = coap_tcp_csm_wait_,
};

static int open_listener(tcp_t *t, const coap_addr_t *addr)
{
    int fd = socket(addr->u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return COAP_ERR_SYS(errno);
    int on = 1, off = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (addr->u.sa.sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = LISTEN_TAG};
    if (bind(fd, &addr->u.sa, addr->len) < 0 || listen(fd, 128) < 0 ||
        epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int e = errno;
        close(fd);
        return COAP_ERR_SYS(e);
    }
    t->lfd = fd;
    return COAP_OK;
}

coap_transport_t *coap_transport_tcp_new(const coap_addr_t *listen_addr, const coap_tcp_params_t *p,
                                         int *err)
{
    int dummy;
    if (!err) err = &dummy;
    tcp_t *t = calloc(1, sizeof *t);
    if (!t) {
        if (p && p->tls && p->tls->release) p->tls->release(p->tls_arg);
        return *err = COAP_ERR_NOMEM, NULL;
    }
    t->base.ops = &tcp_ops;
    if (p) t->p = *p;
    apply_defaults(&t->p);
    t->lfd = -1;
    base_list_init(&t->conns);
    t->epfd = epoll_create1(EPOLL_CLOEXEC);
    *err = t->epfd < 0 ? COAP_ERR_SYS(errno) : COAP_OK;
    if (!*err && listen_addr) *err = open_listener(t, listen_addr);
    if (*err) {
        tcp_free(&t->base);
        return NULL;
    }
    return &t->base;
}

const coap_tcp_stats_t *coap_transport_tcp_stats(const coap_transport_t *tr)
{
    return tr && tr->ops == &tcp_ops ? &((const tcp_t *)tr)->stats : NULL;
}

uint32_t coap_transport_tcp_peer_max(const coap_transport_t *tr, const coap_addr_t *peer)
{
    if (!tr || tr->ops != &tcp_ops) return 0;
    tcp_conn_t *c = coap_tcp_find_((tcp_t *)(uintptr_t)tr, peer);
    return c ? c->peer_max : 0;
}
