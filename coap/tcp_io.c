/*
 * tcp_io.c - CoAP over TCP (RFC 8323): a connection's bytes. The bounded
 * write queue and its flushing, reading with frame reassembly (§3.2) and
 * our Max-Message-Size (§5.3.1), and the filter's (TLS) handshake (§9).
 * The connections themselves, and their timers, are in transport_tcp.c.
 */
#include "tcp_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#define READ_BUDGET (1 << 16) /* bytes read from one connection per process() */

/* EPOLLIN always; EPOLLOUT while bytes wait for the socket (or the
 * filter's handshake wants to write). */
static void watch(tcp_t *t, tcp_conn_t *c, int want_out)
{
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0u), .data.ptr = c};
    epoll_ctl(t->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = (uint8_t)want_out;
}

/* --- writing --- */

/* The socket's bytes, or the filter's: a count, 0 (read: closed),
 * COAP_ERR_AGAIN or an error (coap_stream_ops_t's convention). */
static long conn_io(tcp_t *t, tcp_conn_t *c, uint8_t *rd, const uint8_t *wr, size_t len)
{
    if (c->tls) return rd ? t->p.tls->read(c->tls, rd, len) : t->p.tls->write(c->tls, wr, len);
    for (;;) {
        ssize_t n = rd ? recv(c->fd, rd, len, MSG_DONTWAIT)
                       : send(c->fd, wr, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) return (long)n;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return COAP_ERR_AGAIN;
        if (errno != EINTR) return COAP_ERR_CONN_CLOSED;
    }
}

/* Writes what the socket takes now: COAP_OK, or the error that ends c. */
int coap_tcp_write_out_(tcp_t *t, tcp_conn_t *c)
{
    while (c->woff < c->wlen) {
        long n = conn_io(t, c, NULL, c->wbuf + c->woff, c->wlen - c->woff);
        if (n > 0) {
            c->woff += (size_t)n;
            t->stats.writes++;
            continue;
        }
        if (n == COAP_ERR_AGAIN) break;
        return n < 0 ? (int)n : COAP_ERR_CONN_CLOSED;
    }
    if (c->woff == c->wlen) c->woff = c->wlen = 0;
    return COAP_OK;
}

/* write_out, nothing before the filter's handshake is done. */
void coap_tcp_flush_(tcp_t *t, tcp_conn_t *c)
{
    if (c->state != CONN_OPEN || (c->tls && !c->tls_ready)) return;
    int rc = coap_tcp_write_out_(t, c);
    if (rc) {
        coap_tcp_kill_(t, c, rc);
        return;
    }
    if ((c->wlen > 0) != c->want_out) watch(t, c, c->wlen > 0);
}

int coap_tcp_queue_(tcp_t *t, tcp_conn_t *c, const uint8_t *buf, size_t len)
{
    if (c->state == CONN_DEAD) return COAP_ERR_UNREACHABLE;
    size_t pending = c->wlen - c->woff;
    if (pending + len > t->p.max_queued) {
        /* a peer that does not read: the bound keeps our memory (and the
         * frames the endpoint goes on sending) in check */
        t->stats.aborts_tx++;
        coap_tcp_kill_(t, c, COAP_ERR_ABORTED);
        return COAP_ERR_ABORTED;
    }
    if (c->woff && c->wlen + len > c->wcap) { /* move the unsent part to the front */
        memmove(c->wbuf, c->wbuf + c->woff, pending);
        c->woff = 0;
        c->wlen = pending;
    }
    if (c->wlen + len > c->wcap) {
        size_t cap = c->wcap ? c->wcap : 4096;
        while (cap < c->wlen + len) cap *= 2;
        uint8_t *b = realloc(c->wbuf, cap);
        if (!b) return COAP_ERR_NOMEM;
        c->wbuf = b;
        c->wcap = cap;
    }
    memcpy(c->wbuf + c->wlen, buf, len);
    c->wlen += len;
    if (!t->batching) coap_tcp_flush_(t, c);
    return COAP_OK;
}

/* --- reading --- */

/* Hands up every whole frame in the read buffer; keeps a partial one. */
static void split_frames(tcp_t *t, tcp_conn_t *c)
{
    size_t off = 0;
    while (c->state == CONN_OPEN && off < c->rlen) {
        uint64_t flen;
        int rc = coap_msg_tcp_frame_len(c->rbuf + off, c->rlen - off, &flen);
        if (rc == COAP_ERR_TRUNCATED) break;
        if (rc) {
            coap_tcp_abort_(t, c, "bad frame header");
            return;
        }
        if (flen > t->p.max_message) {
            /* §5.3.1: over our Max-Message-Size: its head (for the
             * token) is read, the rest discarded as it comes */
            size_t avail = c->rlen - off;
            if (avail < coap_tcp_head_len_(c->rbuf + off)) break;
            coap_tcp_oversized_(t, c, c->rbuf + off, avail);
            size_t used = avail < flen ? avail : (size_t)flen;
            c->skip = flen - used;
            off += used;
            continue;
        }
        if (c->rlen - off < flen) break;
        coap_tcp_frame_in_(t, c, c->rbuf + off, (size_t)flen);
        off += (size_t)flen;
    }
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
}

void coap_tcp_read_(tcp_t *t, tcp_conn_t *c)
{
    size_t cap = t->p.max_message + COAP_TCP_HEADER_MAX + COAP_TOKEN_MAX;
    for (size_t budget = READ_BUDGET; budget > 0 && c->state == CONN_OPEN;) {
        uint8_t sink[4096];
        int skipping = c->skip > 0;
        uint8_t *dst = skipping ? sink : c->rbuf + c->rlen;
        size_t room =
            skipping ? (c->skip < sizeof sink ? (size_t)c->skip : sizeof sink) : cap - c->rlen;
        long n = conn_io(t, c, dst, NULL, room);
        if (n == COAP_ERR_AGAIN) return;
        if (n <= 0) { /* closed by the peer (or reset), or the filter failed */
            coap_tcp_kill_(t, c, n < 0 ? (int)n : COAP_ERR_CONN_CLOSED);
            return;
        }
        c->last_heard = t->now;
        c->ping_out = 0; /* anything heard proves the connection, a Pong or not */
        budget = (size_t)n < budget ? budget - (size_t)n : 0;
        if (skipping) {
            c->skip -= (size_t)n;
            continue;
        }
        c->rlen += (size_t)n;
        split_frames(t, c);
    }
}

/* The filter's handshake (RFC 8323 §9: TLS before the CSM); when it is
 * done, the CSM queued at the start goes out. */
void coap_tcp_handshake_(tcp_t *t, tcp_conn_t *c)
{
    int want_write = 0;
    int rc = t->p.tls->handshake(c->tls, &want_write);
    if (rc == COAP_ERR_AGAIN) {
        if (want_write != c->want_out) watch(t, c, want_write);
        return;
    }
    if (rc) {
        coap_tcp_kill_(t, c, rc);
        return;
    }
    c->tls_ready = 1;
    c->last_heard = t->now;
    coap_tcp_flush_(t, c);
    coap_tcp_read_(t, c); /* records that came with the last flight */
}

/* Decrypted bytes a filter holds when read_conn's budget ran out: the
 * socket will not report them. */
int coap_tcp_filter_pending_(const tcp_t *t, const tcp_conn_t *c)
{
    return c->tls && c->tls_ready && c->state == CONN_OPEN && t->p.tls->pending(c->tls) > 0;
}
