/*
 * tcp_internal.h - the TCP transport's connections (RFC 8323), shared by
 * transport_tcp.c (the connection table, connect, accept, timers),
 * tcp_io.c (write queues, reading and framing, the TLS handshake) and
 * tcp_signal.c (CSM, Ping, Pong, Release, Abort: §5). Not installed.
 */
#ifndef COAP_TCP_INTERNAL_H
#define COAP_TCP_INTERNAL_H

#include "base_htab.h"
#include "base_list.h"
#include "coap_msg.h"
#include "coap_transport.h"

typedef enum { CONN_CONNECTING, CONN_OPEN, CONN_DEAD } tcp_conn_state_t;

typedef struct tcp_conn {
    base_hnode_t hn; /* key: peer address */
    base_list_t all; /* in tcp_t.conns */
    int fd;
    void *tls;         /* the filter's state (params.tls), or NULL */
    uint8_t tls_ready; /* its handshake is done: frames may flow */
    coap_addr_t peer;
    tcp_conn_state_t state;
    uint8_t outbound;    /* we connected: idle connections are ours to release */
    uint8_t csm_rx;      /* the peer's CSM arrived (§5.3: its first message) */
    uint8_t peer_bwt;    /* it announced Block-Wise-Transfer (§5.3.2) */
    uint8_t ping_out;    /* a Ping of ours waits for its Pong */
    uint8_t want_out;    /* EPOLLOUT is being watched */
    uint8_t fresh;       /* made in send(), which knows no time: process() stamps it */
    int dead_err;        /* CONN_DEAD: what the exchanges on it end with */
    uint32_t peer_max;   /* its Max-Message-Size (§5.3.1) */
    uint64_t since;      /* connect started / accepted */
    uint64_t last_heard; /* anything received */
    uint64_t last_used;  /* a request or response either way */
    uint64_t ping_sent;
    uint64_t skip; /* bytes of an oversized frame still to discard */
    uint8_t *rbuf; /* max_message + header bytes */
    size_t rlen;
    uint8_t *wbuf; /* queued bytes, [woff, wlen) unsent */
    size_t woff, wlen, wcap;
} tcp_conn_t;

typedef struct {
    coap_transport_t base; /* first: the endpoint sees this */
    coap_tcp_params_t p;
    coap_tcp_stats_t stats;
    int epfd, lfd;
    coap_addr_t bound;
    base_htab_t by_peer;
    base_list_t conns;
    uint64_t now;     /* as of the last process() */
    uint8_t reap_due; /* a connection died in send(): process() reports it */
    uint8_t batching; /* in process(): frames queue, and leave at its end */
} tcp_t;

/* Bytes before a frame's options (§3.2): Len/TKL, extended length, Code,
 * token. */
static inline size_t coap_tcp_head_len_(const uint8_t *b)
{
    static const uint8_t ext[16] = {[13] = 1, [14] = 2, [15] = 4};
    return 1u + ext[b[0] >> 4] + 1u + (b[0] & 0x0F);
}

/* transport_tcp.c: the open connection to peer, or NULL; the same, or a
 * new one when connect_out (NULL with *err set when neither). */
tcp_conn_t *coap_tcp_find_(tcp_t *t, const coap_addr_t *peer);
tcp_conn_t *coap_tcp_conn_for_(tcp_t *t, const coap_addr_t *peer, int *err);
/* transport_tcp.c: kills a connection (its exchanges end with err at the
 * next reap). */
void coap_tcp_kill_(tcp_t *t, tcp_conn_t *c, int err);

/* tcp_io.c */
/* Queues bytes on c (COAP_OK, or COAP_ERR_ABORTED when max_queued is
 * passed: c is then dead); they leave at once unless process() batches. */
int coap_tcp_queue_(tcp_t *t, tcp_conn_t *c, const uint8_t *buf, size_t len);
/* Writes what the socket takes now: COAP_OK, or the error that ends c. */
int coap_tcp_write_out_(tcp_t *t, tcp_conn_t *c);
/* coap_tcp_write_out_(), nothing before the filter's handshake is done;
 * an error kills c, a rest left watches for EPOLLOUT. */
void coap_tcp_flush_(tcp_t *t, tcp_conn_t *c);
/* Reads c (a budget per call), handing up every whole frame. */
void coap_tcp_read_(tcp_t *t, tcp_conn_t *c);
/* Drives the filter's handshake (RFC 8323 §9: TLS before the CSM). */
void coap_tcp_handshake_(tcp_t *t, tcp_conn_t *c);
/* Decrypted bytes the filter holds that the socket will not report. */
int coap_tcp_filter_pending_(const tcp_t *t, const tcp_conn_t *c);

/* tcp_signal.c */
/* Queues our CSM (§5.3), the first message on every connection. */
int coap_tcp_send_csm_(tcp_t *t, tcp_conn_t *c);
/* Sends a signal with at most one option and a payload (best effort). */
int coap_tcp_send_signal_(tcp_t *t, tcp_conn_t *c, uint8_t code, uint16_t opt, const void *val,
                          size_t vlen, const char *diag);
/* Abort (§5.6) with a diagnostic payload, written at once, and c killed. */
void coap_tcp_abort_(tcp_t *t, tcp_conn_t *c, const char *diag);
/* One whole frame received on c: signals handled here, the rest handed
 * up to the endpoint. */
void coap_tcp_frame_in_(tcp_t *t, tcp_conn_t *c, const uint8_t *buf, size_t len);
/* The header of a frame over max_message (at least header + token bytes
 * at buf): a request gets 4.13 (§5.3.1), anything else aborts. */
void coap_tcp_oversized_(tcp_t *t, tcp_conn_t *c, const uint8_t *buf, size_t avail);
/* What the peer's CSM says, for the roles (coap_transport_ops_t's
 * max_message, bert_message and csm_wait). */
uint32_t coap_tcp_peer_max_(const coap_transport_t *tr, const coap_addr_t *peer);
uint32_t coap_tcp_bert_message_(const coap_transport_t *tr, const coap_addr_t *peer);
uint32_t coap_tcp_csm_wait_(coap_transport_t *tr, const coap_addr_t *peer);

#endif
