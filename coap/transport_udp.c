/*
 * transport_udp.c - the plain UDP transport (coap_transport.h): one
 * non-blocking socket, dual-stack when bound to an IPv6 address, with
 * IP_RECVERR so that ICMP errors name the peer that cannot be reached.
 */
#include "base_loop.h"
#include "coap_msg.h"
#include "coap_transport.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_BUDGET   256       /* datagrams per process() call */
#define ERRQ_BUDGET   64        /* ICMP errors per process() call */
#define SOCKET_BUFFER (1 << 20) /* bursts of notifications and benchmarks */

typedef struct {
    coap_transport_t base; /* first: the endpoint sees this */
    int fd;
    int family; /* of the socket: AF_INET6 sockets are dual-stack */
    uint8_t rxbuf[65536];
} udp_t;

static int udp_send(coap_transport_t *t, const coap_addr_t *to, const uint8_t *buf, size_t len)
{
    udp_t *u = (udp_t *)t;
    coap_addr_t dst = *to;
    if (u->family == AF_INET6) coap_addr_map_v6(&dst); /* dual-stack socket */
    ssize_t n;
    do {
        n = sendto(u->fd, buf, len, 0, &dst.u.sa, dst.len);
    } while (n < 0 && errno == EINTR);
    if (n >= 0) return COAP_OK;
    int e = errno;
    /* No route at all: retransmitting cannot help. Anything else (a full
     * socket buffer) loses this datagram only, as a lossy link would. */
    if (e == ENETUNREACH || e == EHOSTUNREACH || e == EADDRNOTAVAIL || e == EAFNOSUPPORT ||
        e == EINVAL)
        return COAP_ERR_UNREACHABLE;
    return COAP_ERR_SYS(e);
}

/* ICMP errors (IP_RECVERR): the original destination names the peer. */
static void read_errqueue(udp_t *u)
{
    for (int i = 0; i < ERRQ_BUDGET; i++) {
        coap_addr_t dst;
        char ctrl[512];
        struct msghdr mh = {.msg_name = &dst.u.ss,
                            .msg_namelen = sizeof dst.u.ss,
                            .msg_control = ctrl,
                            .msg_controllen = sizeof ctrl};
        if (recvmsg(u->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return;
        dst.len = mh.msg_namelen;
        coap_addr_unmap(&dst);
        u->base.up->unreachable(u->base.up_arg, &dst, COAP_ERR_UNREACHABLE);
    }
}

static void udp_process(coap_transport_t *t, uint64_t now)
{
    (void)now;
    udp_t *u = (udp_t *)t;
    for (int i = 0; i < READ_BUDGET; i++) {
        coap_addr_t from;
        socklen_t fl = sizeof from.u.ss;
        ssize_t n =
            recvfrom(u->fd, u->rxbuf, sizeof u->rxbuf, MSG_DONTWAIT | MSG_TRUNC, &from.u.sa, &fl);
        if (n < 0) {
            int e = errno; /* read before anything else can change it */
            if (e == EAGAIN || e == EWOULDBLOCK) return;
            if (e != EINTR) read_errqueue(u); /* a pending ICMP error */
            continue;
        }
        from.len = fl;
        coap_addr_unmap(&from); /* peers are kept in one canonical form */
        /* A truncated datagram (MSG_TRUNC gives its real length) is far
         * above any limit: only its size goes up, to be counted. */
        int whole = (size_t)n <= sizeof u->rxbuf;
        u->base.up->datagram(u->base.up_arg, &from, NULL, whole ? u->rxbuf : NULL, (size_t)n);
    }
}

static uint64_t udp_next_deadline(const coap_transport_t *t)
{
    (void)t;
    return BASE_NEVER;
}

static int udp_fd(const coap_transport_t *t)
{
    return ((const udp_t *)t)->fd;
}

static int udp_local_addr(const coap_transport_t *t, coap_addr_t *out)
{
    socklen_t l = sizeof out->u.ss;
    if (getsockname(((const udp_t *)t)->fd, &out->u.sa, &l) < 0) return COAP_ERR_SYS(errno);
    out->len = l;
    return COAP_OK;
}

static void udp_free(coap_transport_t *t)
{
    udp_t *u = (udp_t *)t;
    if (u->fd >= 0) close(u->fd);
    free(u);
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

static int open_socket(const coap_addr_t *bind_addr)
{
    int fam = bind_addr->u.sa.sa_family;
    int fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return COAP_ERR_SYS(errno);
    int on = 1, off = 0, buf = SOCKET_BUFFER;
    if (fam == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
        setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on);
    }
    setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    if (bind(fd, &bind_addr->u.sa, bind_addr->len) < 0) {
        int e = errno;
        close(fd);
        return COAP_ERR_SYS(e);
    }
    return fd;
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
    udp_t *u = calloc(1, sizeof *u);
    if (!u) {
        *err = COAP_ERR_NOMEM;
        return NULL;
    }
    u->base.ops = &udp_ops;
    u->family = bind_addr->u.sa.sa_family;
    u->fd = open_socket(bind_addr);
    if (u->fd < 0) {
        *err = u->fd;
        free(u);
        return NULL;
    }
    *err = COAP_OK;
    return &u->base;
}
