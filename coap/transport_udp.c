/*
 * transport_udp.c - the plain UDP transport (coap_transport.h): one
 * non-blocking socket, dual-stack when bound to an IPv6 address, with
 * IP_RECVERR so that ICMP errors name the peer that cannot be reached.
 * Datagrams are read RX_BATCH per recvmmsg() and, while process() runs,
 * sent TX_BATCH per sendmmsg() (coap_transport.h, "Batching").
 */
#include "base_loop.h"
#include "coap_msg.h"
#include "coap_transport.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_BUDGET   256       /* datagrams per process() call */
#define ERRQ_BUDGET   64        /* ICMP errors per process() call */
#define SOCKET_BUFFER (1 << 20) /* bursts of notifications and benchmarks */
#define RX_BATCH      16        /* datagrams per recvmmsg() */
#define RX_SLOT       65536     /* each slot takes any datagram whole */
#define TX_BATCH      32        /* datagrams per sendmmsg() */
#define TX_ARENA      32768     /* their bytes */
#define TX_FAILURES   64        /* failed datagrams kept to report */

typedef union {
    size_t align; /* a cmsghdr's (whose flexible member forbids arrays of it) */
    char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
} pktinfo_ctrl_t;

typedef struct {
    coap_addr_t to;
    int err; /* as send() would have returned it */
} tx_failure_t;

/* What waits to be sent at the next process(): copies, since the
 * callers' buffers are on their stacks; and the datagrams that could not
 * leave, to be reported from process() (never from send()). */
typedef struct {
    struct mmsghdr msgs[TX_BATCH];
    struct iovec iov[TX_BATCH];
    coap_addr_t to[TX_BATCH];
    pktinfo_ctrl_t ctrl[TX_BATCH];
    unsigned n;
    size_t used; /* of arena */
    tx_failure_t failed[TX_FAILURES];
    unsigned nfailed;
    uint8_t arena[TX_ARENA];
} tx_queue_t;

/* RX_BATCH slots of RX_SLOT bytes, mapped at the first read and touched
 * only as far as datagrams fill them: a slot costs one page of memory for
 * small datagrams (the pages a larger one touched are given back after
 * it), nothing before the first datagram. The headers are set once; a
 * read resets only what the kernel wrote into the ones it filled. */
typedef struct {
    struct mmsghdr msgs[RX_BATCH];
    struct iovec iov[RX_BATCH];
    coap_addr_t from[RX_BATCH];
    pktinfo_ctrl_t ctrl[RX_BATCH];
    uint8_t *slots;
} rx_ring_t;

typedef struct {
    coap_transport_t base; /* first: the endpoint sees this */
    int fd;
    int family;     /* of the socket: AF_INET6 sockets are dual-stack */
    int wildcard;   /* bound to 0.0.0.0 or :: : the host has several addresses */
    rx_ring_t *rx;  /* allocated at the first process() */
    tx_queue_t *tx; /* allocated at the first queued datagram */
    coap_udp_stats_t stats;
} udp_t;

/* On a wildcard socket, the source address of a datagram: the one `local`
 * names (an answer leaves from the address its request was sent to, or a
 * client on a host with several addresses drops it, RFC 7252 §5.3.2). */
static size_t put_source(const udp_t *u, const coap_addr_t *local, pktinfo_ctrl_t *ctrl,
                         struct msghdr *mh)
{
    if (!u->wildcard || !local) return 0;
    coap_addr_t src = *local;
    if (u->family == AF_INET6) coap_addr_map_v6(&src);
    if (src.u.sa.sa_family != u->family) return 0;
    memset(ctrl, 0, sizeof *ctrl);
    mh->msg_control = ctrl->buf;
    struct cmsghdr *c = (struct cmsghdr *)(void *)ctrl->buf;
    if (u->family == AF_INET6) {
        struct in6_pktinfo pi = {.ipi6_addr = src.u.v6.sin6_addr};
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof pi);
        memcpy(CMSG_DATA(c), &pi, sizeof pi);
        return mh->msg_controllen = CMSG_SPACE(sizeof pi);
    }
    struct in_pktinfo pi = {.ipi_spec_dst = src.u.v4.sin_addr};
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof pi);
    memcpy(CMSG_DATA(c), &pi, sizeof pi);
    return mh->msg_controllen = CMSG_SPACE(sizeof pi);
}

/* What a failed send means to the endpoint. */
static int send_error(int e)
{
    /* No route at all: retransmitting cannot help. Anything else (a full
     * socket buffer) loses this datagram only, as a lossy link would. */
    if (e == ENETUNREACH || e == EHOSTUNREACH || e == EADDRNOTAVAIL || e == EAFNOSUPPORT ||
        e == EINVAL)
        return COAP_ERR_UNREACHABLE;
    return COAP_ERR_SYS(e);
}

/* mh for buf to `to` (copied into *dst, mapped on a dual-stack socket),
 * from `local` when the socket is a wildcard. */
static void build_msg(const udp_t *u, const coap_addr_t *to, const coap_addr_t *local,
                      coap_addr_t *dst, pktinfo_ctrl_t *ctrl, struct iovec *iov, struct msghdr *mh)
{
    *dst = *to;
    if (u->family == AF_INET6) coap_addr_map_v6(dst); /* dual-stack socket */
    *mh = (struct msghdr){
        .msg_name = &dst->u.sa, .msg_namelen = dst->len, .msg_iov = iov, .msg_iovlen = 1};
    put_source(u, local, ctrl, mh);
}

static int send_now(udp_t *u, const coap_addr_t *to, const coap_addr_t *local, const uint8_t *buf,
                    size_t len)
{
    coap_addr_t dst;
    pktinfo_ctrl_t ctrl;
    struct iovec iov = {.iov_base = (void *)(uintptr_t)buf, .iov_len = len};
    struct msghdr mh;
    build_msg(u, to, local, &dst, &ctrl, &iov, &mh);
    ssize_t n;
    do {
        n = sendmsg(u->fd, &mh, 0);
        u->stats.send_calls++;
    } while (n < 0 && errno == EINTR);
    if (n >= 0) {
        u->stats.datagrams_out++;
        return COAP_OK;
    }
    u->stats.send_errors++;
    return send_error(errno);
}

/* Everything queued, in as few sendmmsg() calls as the kernel allows: a
 * datagram that fails is skipped and kept for report_failures(), the
 * rest still leave. */
static void flush(udp_t *u)
{
    tx_queue_t *q = u->tx;
    if (!q || !q->n) return;
    for (unsigned i = 0; i < q->n;) {
        int n = sendmmsg(u->fd, q->msgs + i, q->n - i, 0);
        u->stats.send_calls++;
        if (n > 0) {
            i += (unsigned)n;
            u->stats.datagrams_out += (unsigned)n;
            continue;
        }
        int e = n < 0 ? errno : EIO;
        if (e == EINTR) continue;
        u->stats.send_errors++;
        /* Past TX_FAILURES between two process() calls, a failure is
         * counted here only: its exchanges time out instead. */
        if (q->nfailed < TX_FAILURES)
            q->failed[q->nfailed++] = (tx_failure_t){q->to[i], send_error(e)};
        i++; /* this one is lost; the others still go */
    }
    q->n = 0;
    q->used = 0;
}

/* The datagrams that could not leave, told to the endpoint (send() said
 * COAP_OK for each); from process() only. What the upcalls send is
 * queued for the next pass. */
static void report_failures(udp_t *u)
{
    tx_queue_t *q = u->tx;
    if (!q || !q->nfailed) return;
    tx_failure_t failed[TX_FAILURES];
    unsigned n = q->nfailed;
    memcpy(failed, q->failed, n * sizeof failed[0]);
    q->nfailed = 0;
    for (unsigned i = 0; i < n; i++) {
        coap_addr_unmap(&failed[i].to); /* peers are kept in one canonical form */
        u->base.up->send_failed(u->base.up_arg, &failed[i].to, failed[i].err);
    }
}

/* Queues buf to leave at the end of the next process(); 0 when it does not fit
 * (larger than the arena, or no memory): it is then sent at once. */
static int enqueue(udp_t *u, const coap_addr_t *to, const coap_addr_t *local, const uint8_t *buf,
                   size_t len)
{
    if (len > TX_ARENA) return 0;
    if (!u->tx) {
        if (!(u->tx = malloc(sizeof *u->tx))) return 0;
        u->tx->n = 0;
        u->tx->used = 0;
        u->tx->nfailed = 0;
    }
    tx_queue_t *q = u->tx;
    while (q->n == TX_BATCH || q->used + len > TX_ARENA) flush(u);
    unsigned i = q->n++;
    memcpy(q->arena + q->used, buf, len);
    q->iov[i] = (struct iovec){.iov_base = q->arena + q->used, .iov_len = len};
    q->used += len;
    build_msg(u, to, local, &q->to[i], &q->ctrl[i], &q->iov[i], &q->msgs[i].msg_hdr);
    return 1;
}

static int udp_send(coap_transport_t *t, const coap_addr_t *to, const coap_addr_t *local,
                    const uint8_t *buf, size_t len)
{
    udp_t *u = (udp_t *)t;
    /* Only for an upper layer that hears of a queued datagram's failure
     * (send_failed): DTLS's record layer sends at once, as before. */
    if (u->base.up->send_failed && enqueue(u, to, local, buf, len)) return COAP_OK;
    flush(u); /* what was queued leaves first: the order stays */
    return send_now(u, to, local, buf, len);
}

/* ICMP errors (IP_RECVERR): the original destination names the peer. */
static void read_errqueue(udp_t *u)
{
    for (int i = 0; i < ERRQ_BUDGET; i++) {
        coap_addr_t dst;
        char ctrl[512];
        struct msghdr mh = {.msg_name = &dst.u,
                            .msg_namelen = sizeof dst.u,
                            .msg_control = ctrl,
                            .msg_controllen = sizeof ctrl};
        if (recvmsg(u->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return;
        dst.len = mh.msg_namelen;
        coap_addr_unmap(&dst);
        u->base.up->unreachable(u->base.up_arg, &dst, COAP_ERR_UNREACHABLE);
    }
}

/* The address a datagram was sent to, from IP_PKTINFO / IPV6_PKTINFO
 * (unmapped, port 0). Returns 0 when the kernel did not say. */
static int dest_of(struct msghdr *mh, coap_addr_t *local)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        memset(local, 0, sizeof *local);
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            local->u.v4.sin_family = AF_INET;
            local->u.v4.sin_addr = pi.ipi_addr;
            local->len = sizeof local->u.v4;
            return 1;
        }
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            local->u.v6.sin6_family = AF_INET6;
            local->u.v6.sin6_addr = pi.ipi6_addr;
            local->len = sizeof local->u.v6;
            coap_addr_unmap(local);
            return 1;
        }
    }
    return 0;
}

/* The ring, made at the first read; 0 when memory runs out. */
static int rx_ring(udp_t *u)
{
    if (u->rx) return 1;
    rx_ring_t *r = malloc(sizeof *r);
    if (!r) return 0;
    void *m = mmap(NULL, (size_t)RX_BATCH * RX_SLOT, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        free(r);
        return 0;
    }
    r->slots = m;
    for (unsigned i = 0; i < RX_BATCH; i++) {
        r->iov[i] = (struct iovec){.iov_base = r->slots + (size_t)i * RX_SLOT, .iov_len = RX_SLOT};
        r->msgs[i].msg_hdr = (struct msghdr){.msg_name = &r->from[i].u,
                                             .msg_namelen = sizeof r->from[i].u,
                                             .msg_iov = &r->iov[i],
                                             .msg_iovlen = 1,
                                             .msg_control = r->ctrl[i].buf,
                                             .msg_controllen = sizeof r->ctrl[i].buf};
    }
    u->rx = r;
    return 1;
}

/* Hands the datagram in slot i up and makes the slot ready for the next
 * read; gives back the pages beyond the first that a large one touched,
 * so that the slots stay small. */
static void deliver(udp_t *u, unsigned i)
{
    rx_ring_t *r = u->rx;
    struct msghdr *mh = &r->msgs[i].msg_hdr;
    size_t n = r->msgs[i].msg_len; /* MSG_TRUNC: the real length */
    uint8_t *slot = r->slots + (size_t)i * RX_SLOT;
    coap_addr_t from = r->from[i];
    from.len = mh->msg_namelen;
    coap_addr_unmap(&from); /* peers are kept in one canonical form */
    coap_addr_t local;
    int known = u->wildcard && dest_of(mh, &local);
    mh->msg_namelen = sizeof r->from[i].u; /* what the kernel changed */
    mh->msg_controllen = sizeof r->ctrl[i].buf;
    /* A truncated datagram (MSG_TRUNC gives its real length) is far
     * above any limit: only its size goes up, to be counted. */
    int whole = n <= RX_SLOT;
    u->base.up->datagram(u->base.up_arg, &from, known ? &local : NULL, NULL, whole ? slot : NULL,
                         n);
    if (n > 4096) { /* rare: larger than the endpoint takes by default */
        long page = sysconf(_SC_PAGESIZE);
        if (page > 0 && n > (size_t)page && (size_t)page < RX_SLOT)
            madvise(slot + page, RX_SLOT - (size_t)page, MADV_DONTNEED);
    }
}

/* One recvmmsg() for up to `want` datagrams, each handed up in order.
 * Returns how many were read, 0 when none is waiting (EAGAIN), -1 after
 * another error (a pending ICMP error has been read). */
static int read_batch(udp_t *u, unsigned want)
{
    int n = recvmmsg(u->fd, u->rx->msgs, want, MSG_DONTWAIT | MSG_TRUNC, NULL);
    u->stats.recv_calls++;
    if (n < 0) {
        int e = errno; /* read before anything else can change it */
        if (e == EAGAIN || e == EWOULDBLOCK) return 0;
        if (e != EINTR) read_errqueue(u); /* a pending ICMP error */
        return -1;
    }
    u->stats.datagrams_in += (unsigned)n;
    for (int i = 0; i < n; i++) deliver(u, (unsigned)i);
    return n;
}

/* Reads until a short batch, within the pass's budget (*got datagrams,
 * *calls calls so far). */
static void read_some(udp_t *u, unsigned *got, unsigned *calls)
{
    for (; *got < READ_BUDGET && *calls < READ_BUDGET; (*calls)++) {
        unsigned want = READ_BUDGET - *got < RX_BATCH ? READ_BUDGET - *got : RX_BATCH;
        int n = read_batch(u, want);
        if (n == 0) return;
        if (n < 0) continue; /* an error or EINTR: try again */
        *got += (unsigned)n;
        /* A short batch: the socket is empty (or nearly: the loop's
         * epoll is level-triggered, so a datagram that came since wakes
         * it again), and an EAGAIN read would cost a call for nothing. */
        if ((unsigned)n < want) {
            (*calls)++;
            return;
        }
    }
}

static void udp_process(coap_transport_t *t, uint64_t now)
{
    (void)now;
    udp_t *u = (udp_t *)t;
    if (!rx_ring(u)) return;
    unsigned got = 0, calls = 0;
    for (;;) {
        read_some(u, &got, &calls);
        /* What was sent since the last pass and what this one's upcalls
         * sent (the answers to its batch, the ACKs) leave together. */
        int answered = u->tx && u->tx->n;
        flush(u);
        /* Answers went out: a client waiting for one sends its next
         * request at once, so read again before going back to the loop
         * (whose turn costs a sleep and a wake-up on a busy machine);
         * with nothing sent, the short batch ends the pass. */
        if (!answered || got >= READ_BUDGET || calls >= READ_BUDGET) break;
    }
    report_failures(u);
    flush(u);
}

/* Queued datagrams or failures to report: process() is due now. */
static uint64_t udp_next_deadline(const coap_transport_t *t)
{
    const tx_queue_t *q = ((const udp_t *)t)->tx;
    return q && (q->n || q->nfailed) ? 0 : BASE_NEVER;
}

static int udp_fd(const coap_transport_t *t)
{
    return ((const udp_t *)t)->fd;
}

static int udp_local_addr(const coap_transport_t *t, coap_addr_t *out)
{
    socklen_t l = sizeof out->u;
    if (getsockname(((const udp_t *)t)->fd, &out->u.sa, &l) < 0) return COAP_ERR_SYS(errno);
    out->len = l;
    return COAP_OK;
}

static void udp_free(coap_transport_t *t)
{
    udp_t *u = (udp_t *)t;
    flush(u);
    if (u->fd >= 0) close(u->fd);
    if (u->rx) {
        munmap(u->rx->slots, (size_t)RX_BATCH * RX_SLOT);
        free(u->rx);
    }
    free(u->tx);
    free(u);
}

static const coap_transport_ops_t udp_ops;

static udp_t *udp_of(coap_transport_t *t)
{
    return t && t->ops == &udp_ops ? (udp_t *)t : NULL;
}

void coap_transport_udp_flush(coap_transport_t *t)
{
    udp_t *u = udp_of(t);
    if (u) flush(u);
}

const coap_udp_stats_t *coap_transport_udp_stats(const coap_transport_t *t)
{
    const udp_t *u = udp_of((coap_transport_t *)(uintptr_t)t);
    return u ? &u->stats : NULL;
}

static int sockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    return setsockopt(fd, level, name, val, len) < 0 ? COAP_ERR_SYS(errno) : COAP_OK;
}

int coap_transport_udp_join(coap_transport_t *t, const coap_addr_t *group, unsigned ifindex)
{
    udp_t *u = udp_of(t);
    coap_addr_t g = *group;
    coap_addr_unmap(&g);
    if (!u || !coap_addr_is_multicast(&g)) return COAP_ERR_INVALID;
    if (g.u.sa.sa_family == AF_INET) { /* an IPv6 socket takes IPv4 options too */
        struct ip_mreqn m = {.imr_multiaddr = g.u.v4.sin_addr, .imr_ifindex = (int)ifindex};
        return sockopt(u->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m);
    }
    if (u->family != AF_INET6) return COAP_ERR_INVALID;
    struct ipv6_mreq m = {.ipv6mr_multiaddr = g.u.v6.sin6_addr, .ipv6mr_interface = ifindex};
    return sockopt(u->fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof m);
}

int coap_transport_udp_multicast_if(coap_transport_t *t, unsigned ifindex)
{
    udp_t *u = udp_of(t);
    if (!u) return COAP_ERR_INVALID;
    /* what was sent before leaves by the interface in force then (the
     * discovery sends a round of group requests per interface) */
    flush(u);
    struct ip_mreqn m = {.imr_ifindex = (int)ifindex};
    int rc = sockopt(u->fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m);
    if (rc || u->family != AF_INET6) return rc;
    return sockopt(u->fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof ifindex);
}

static const coap_transport_ops_t udp_ops = {
    .name = "udp",
    .send = udp_send,
    .process = udp_process,
    .next_deadline = udp_next_deadline,
    .fd = udp_fd,
    .local_addr = udp_local_addr,
    .free = udp_free,
};

/* The options every socket of ours has, whoever bound it. */
static void set_options(int fd, int fam)
{
    int on = 1, off = 0, buf = SOCKET_BUFFER;
    if (fam == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off); /* fails once bound */
        setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on);
    }
    setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on);
    if (fam == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
}

static int open_socket(const coap_addr_t *bind_addr)
{
    int fam = bind_addr->u.sa.sa_family;
    int fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return COAP_ERR_SYS(errno);
    set_options(fd, fam);
    if (bind(fd, &bind_addr->u.sa, bind_addr->len) < 0) {
        int e = errno;
        close(fd);
        return COAP_ERR_SYS(e);
    }
    return fd;
}

static coap_transport_t *udp_on(int fd, const coap_addr_t *bound)
{
    udp_t *u = calloc(1, sizeof *u);
    if (!u) return NULL;
    u->base.ops = &udp_ops;
    u->family = bound->u.sa.sa_family;
    u->wildcard = coap_addr_is_any(bound);
    u->fd = fd;
    return &u->base;
}

coap_transport_t *coap_transport_udp_new(const coap_addr_t *bind_addr, int *err)
{
    int dummy;
    if (!err) err = &dummy;
    coap_addr_t any;
    if (!bind_addr) {
        coap_addr_from_host(&any, "::", 0);
        bind_addr = &any;
    }
    int fd = open_socket(bind_addr);
    if (fd < 0) {
        *err = fd;
        return NULL;
    }
    coap_transport_t *t = udp_on(fd, bind_addr);
    if (!t) close(fd);
    *err = t ? COAP_OK : COAP_ERR_NOMEM;
    return t;
}

coap_transport_t *coap_transport_udp_adopt(int fd, int *err)
{
    int dummy;
    if (!err) err = &dummy;
    int type = 0;
    socklen_t tl = sizeof type;
    coap_addr_t bound;
    socklen_t bl = sizeof bound.u;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
        getsockname(fd, &bound.u.sa, &bl) < 0) {
        *err = COAP_ERR_SYS(errno);
        return NULL;
    }
    int fam = bound.u.sa.sa_family;
    if (type != SOCK_DGRAM || (fam != AF_INET && fam != AF_INET6)) {
        *err = COAP_ERR_INVALID;
        return NULL;
    }
    bound.len = bl;
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        *err = COAP_ERR_SYS(errno);
        return NULL;
    }
    set_options(fd, fam);
    coap_transport_t *t = udp_on(fd, &bound);
    *err = t ? COAP_OK : COAP_ERR_NOMEM;
    return t;
}
