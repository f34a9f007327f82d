/*
 * coap_transport.h - the seam under the message layer: how an endpoint's
 * datagrams leave and arrive.
 *
 * An endpoint (coap_ep.h) sits on one transport. The transport moves whole
 * datagrams between the endpoint and its peers and says who sent each one;
 * the endpoint does the rest of RFC 7252 §4 (retransmission, duplicate
 * detection, ACK/RST matching) and the roles above it do the rest of the
 * protocol. Three implementations exist: UDP (coap_transport_udp_new),
 * the unit tests' simulated network (tests/unit/simnet.h), and DTLS.
 *
 * DTLS 1.2 (RFC 6347) is the third implementation (dtls/dtls.h, on
 * GnuTLS), without a change to client*.c, server*.c or observe.c:
 *  - It sits on a UDP transport of its own (its socket is the fd) and keeps
 *    one session per peer. Sessions are looked up by peer address today;
 *    an RFC 9146 connection ID would key them by that ID instead, and the
 *    transport would then report the session's current address as `from`,
 *    so this interface stays as it is.
 *  - send() encrypts into the peer's session. Without one, it starts a
 *    handshake and keeps the datagram in a small bounded queue until the
 *    handshake ends. A handshake that fails reports the peer through
 *    `unreachable` with a COAP_ERR_DTLS_* code (coap_msg.h) that names the
 *    reason - the keys differ, unknown PSK identity, certificate not
 *    trusted, expired or for another name, another raw public key, the
 *    peer refused ours, no credentials for the peer - so the exchanges
 *    waiting on it end at once with it instead of retransmitting into the
 *    void; a handshake nobody answers is COAP_ERR_TIMEOUT, as for any
 *    silent peer. The longer text (GnuTLS's own, an alert's name) goes to
 *    the transport's event callback, for logs.
 *  - Upcalls come from process() only, never from inside send(): the
 *    endpoint's state is in flux while it sends. A failure found in
 *    send() (no credentials) returns COAP_OK and is reported at the next
 *    process(), which next_deadline() makes due at once.
 *  - process() reads records, runs handshakes (the cookie exchange of
 *    §4.2.1 before any per-client state) and their flight retransmissions
 *    (§4.2.4), whose timers next_deadline() exposes, and hands each
 *    decrypted datagram up with the session's identity.
 *  - A transport with no client role (a server only) answers send() to a
 *    peer without a session with COAP_ERR_UNREACHABLE at once.
 *
 * How a session's identity reaches a request handler: the transport passes
 * a coap_identity_t with each datagram it delivers (NULL for plain UDP);
 * the endpoint keeps it for the duration of that datagram's processing and
 * the server role hands it to the handler in coap_server_request_t.identity.
 * Like the rest of a request, it is valid during the handler's call only:
 * a handler that defers its answer copies what it needs.
 *
 * Memory: a transport is owned by the endpoint it was given to and freed
 * with it (ops->free).
 */
#ifndef COAP_TRANSPORT_H
#define COAP_TRANSPORT_H

#include "coap_addr.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/* Who a secured session authenticated. name is NUL-terminated. */
typedef enum {
    COAP_IDENTITY_PSK = 1, /* name: the PSK identity (RFC 4279 §2) */
    COAP_IDENTITY_X509,    /* name: the certificate's subject DN */
    COAP_IDENTITY_RPK,     /* name: SHA-256 of the raw public key (RFC 7250), hex */
} coap_identity_kind_t;

typedef struct {
    coap_identity_kind_t kind;
    const char *name;
} coap_identity_t;

typedef struct coap_transport coap_transport_t;

/* What a transport tells its endpoint (set by coap_ep_new_on()). */
typedef struct {
    /* One datagram from `from`, sent to our address `local` (NULL when the
     * transport does not know or has one address only); id is NULL on an
     * unsecured transport. buf is NULL when the datagram was too large to
     * read whole (len is then its size, for the endpoint to count and
     * drop). */
    void (*datagram)(void *ep, const coap_addr_t *from, const coap_addr_t *local,
                     const coap_identity_t *id, const uint8_t *buf, size_t len);
    /* `peer` cannot be reached (ICMP unreachable, a failed handshake):
     * exchanges with it end now with `err` (a COAP_ERR_* code:
     * COAP_ERR_UNREACHABLE, COAP_ERR_TIMEOUT, COAP_ERR_DTLS_*). */
    void (*unreachable)(void *ep, const coap_addr_t *peer, int err);
    /* The connection to `peer` is up and its capabilities are known
     * (RFC 8323 §5.3: its CSM arrived): requests held for them
     * (ops->csm_wait) may go. Reliable transports only. */
    void (*ready)(void *ep, const coap_addr_t *peer);
    /* A datagram send() had queued (it returned COAP_OK) could not leave
     * when the queue was flushed; from process() only: err as send()
     * would have returned it (COAP_ERR_UNREACHABLE: no route, the
     * exchanges with `to` end with it; another code: that datagram is
     * lost, counted). May be NULL: the transport then queues nothing
     * and send() sends at once (DTLS's record layer on UDP). */
    void (*send_failed)(void *ep, const coap_addr_t *to, int err);
} coap_transport_up_t;

typedef struct {
    const char *name; /* "udp", "dtls", "sim": for logs */
    /* Sends one datagram to `to`, from our address `local` when it is
     * given (the address the peer last sent to: an answer must come from
     * the address its request went to, RFC 7252 §5.3.2, on a host with
     * several). Returns COAP_OK; COAP_ERR_UNREACHABLE when no route exists
     * (retrying cannot help); or another error (the datagram is lost, as
     * on a lossy link: a CON is retransmitted). A transport may queue
     * the datagram instead (UDP: "Batching" below): it then returns
     * COAP_OK, makes next_deadline() due and reports a failure through
     * send_failed from its next process(). */
    int (*send)(coap_transport_t *t, const coap_addr_t *to, const coap_addr_t *local,
                const uint8_t *buf, size_t len);
    /* Reads what is ready (a bounded amount per call, so one busy peer
     * cannot starve the loop) and runs the transport's due timers. The
     * upcalls happen from here. `now` is the endpoint's clock in ms. */
    void (*process)(coap_transport_t *t, uint64_t now);
    /* Earliest time process() has timer work, or BASE_NEVER. */
    uint64_t (*next_deadline)(const coap_transport_t *t);
    /* The descriptor to watch for reading, or -1 (a simulated network). */
    int (*fd)(const coap_transport_t *t);
    /* The bound local address; COAP_OK or an error. */
    int (*local_addr)(const coap_transport_t *t, coap_addr_t *out);
    void (*free)(coap_transport_t *t);
    /* 1 when the transport proves every peer's address before it delivers
     * a datagram (DTLS: the cookie exchange, RFC 6347 §4.2.1), so the
     * server role needs no Echo (RFC 9175 §2.4) */
    int verifies_peers;
    /* 1 on a reliable, connection-oriented transport (RFC 8323: TCP): the
     * datagrams up and down are whole CoAP-over-TCP frames (coap_msg.h,
     * §3.2: no type, no message ID), and the endpoint's message layer
     * steps aside (§2: "the reliable transport ... takes over"): every
     * message is sent once, with no retransmission, no ACK or RST and no
     * duplicate detection; a CON counts as delivered at once (its `done`
     * runs from the next process(), as for an empty ACK) and responses
     * match by token and peer as before. Signalling (7.xx: CSM, Ping,
     * Pong, Release, Abort) stays inside the transport; the endpoint never
     * sees it. A connection that ends reports its peer through
     * `unreachable` (COAP_ERR_CONN_CLOSED, COAP_ERR_ABORTED,
     * COAP_ERR_TIMEOUT for a silent one), which fails every exchange
     * waiting on it, separate responses and observations included. */
    int reliable;
    /* The largest message `peer` takes, in bytes (RFC 8323 §5.3.1: its
     * CSM's Max-Message-Size, 1152 before it), or 0 for no bound but the
     * endpoint's own; NULL on datagram transports. The roles choose their
     * block size from it, so a message that would not fit goes
     * block-wise. */
    uint32_t (*max_message)(const coap_transport_t *t, const coap_addr_t *peer);
    /* BERT (RFC 8323 §6): 0 unless both sides announced Block-Wise-
     * Transfer (§5.3.2) on the connection to `peer`; else the largest
     * message a BERT block may fill: the peer's Max-Message-Size, never
     * more than our own (a peer's claim does not make us build larger
     * messages than we take). NULL on transports without BERT. */
    uint32_t (*bert_message)(const coap_transport_t *t, const coap_addr_t *peer);
    /* RFC 8323 §3.3: the initiator may wait for the acceptor's CSM before
     * sending more than its own, since the CSM may change how it should
     * talk (Max-Message-Size, Block-Wise-Transfer: BERT, §6). How long a
     * request that depends on it may wait: 0 when there is no need (the
     * CSM is in, or no connection can be made: send() will say why); else
     * the ms left of the transport's bound, the connection to `peer`
     * being started now when there is none. up->ready tells when it
     * arrives. NULL on transports without a CSM. */
    uint32_t (*csm_wait)(coap_transport_t *t, const coap_addr_t *peer);
} coap_transport_ops_t;

/* The common head of every transport: implementations embed it first. */
struct coap_transport {
    const coap_transport_ops_t *ops;
    const coap_transport_up_t *up;
    void *up_arg;
};

/* Plain UDP on a socket bound to `bind` (NULL: an ephemeral port on the
 * IPv6 wildcard, dual-stack, so IPv4 peers are reachable too). ICMP errors
 * (IP_RECVERR) reach `unreachable`, so an exchange with a closed port fails
 * at once instead of after 93 s of retransmissions. Returns NULL and sets
 * *err (COAP_ERR_NOMEM, or COAP_ERR_SYS(errno) from socket()/bind()). */
coap_transport_t *coap_transport_udp_new(const coap_addr_t *bind, int *err);
/* The same on fd, a UDP socket bound already (one a service manager
 * passed in): made non-blocking and close-on-exec, given the same options,
 * and closed with the transport from now on (not when this fails).
 * Returns NULL and sets *err: COAP_ERR_INVALID when fd is no IPv4/IPv6
 * datagram socket, COAP_ERR_SYS(errno) when it is no socket at all. */
coap_transport_t *coap_transport_udp_adopt(int fd, int *err);

/* Batching (transport_udp.c): process() reads with recvmmsg(), up to 16
 * datagrams per system call, and stops at a short batch (the loop's
 * epoll is level-triggered: what arrives after it wakes the loop again)
 * unless it has answers to send: it sends them, then reads once more
 * (answered clients send their next requests at once), within a budget
 * of 256 datagrams per pass.
 * send() queues its datagram (a copy) and returns COAP_OK; next_deadline()
 * is then now, and the next process() sends everything queued (the
 * requests the gateway made since the last pass, the answers and ACKs
 * its own upcalls made) in one sendmmsg() at its end (earlier when 32
 * datagrams or 32 KiB wait); a datagram that fails there is reported
 * through send_failed from that process(), the others still leave. The
 * transport's free() sends what is still queued. An upper layer without
 * send_failed (DTLS's record layer) gets the old behaviour: send() sends
 * at once and returns the error. */
typedef struct {
    uint64_t recv_calls;    /* recvmmsg() calls, EAGAIN included */
    uint64_t datagrams_in;  /* datagrams they read */
    uint64_t send_calls;    /* sendmsg() and sendmmsg() calls */
    uint64_t datagrams_out; /* datagrams that left */
    uint64_t send_errors;   /* datagrams that could not leave */
} coap_udp_stats_t;
/* t's counters; NULL when t is no UDP transport. */
const coap_udp_stats_t *coap_transport_udp_stats(const coap_transport_t *t);
/* Sends what t queued now, in one sendmmsg(); no upcall (a failure is
 * reported from the next process(), which next_deadline() makes due).
 * Nothing when t is no UDP transport. coap_ep_attach()'s source calls it
 * each time the loop asks its deadline (as it dispatches, and before it
 * sleeps), so what the gateway sends from its HTTP handlers in one turn
 * of the loop leaves together without a pass of process() of its own. */
void coap_transport_udp_flush(coap_transport_t *t);

/* Multicast on a UDP transport (RFC 7252 §8). Both return COAP_OK, or
 * COAP_ERR_INVALID for another kind of transport or an address that is no
 * multicast group, or COAP_ERR_SYS(errno).
 * Joins `group` (an IPv4 or IPv6 multicast address, port ignored) on the
 * interface ifindex (0: the system's choice by route), so datagrams sent
 * to it reach this socket; its port must be the one the group's senders
 * use (5683). An IPv4 group on a dual-stack socket is joined as IPv4. */
int coap_transport_udp_join(coap_transport_t *t, const coap_addr_t *group, unsigned ifindex);
/* The interface multicast datagrams leave from, for IPv4 and IPv6 groups
 * alike (0: the system's choice by route). */
int coap_transport_udp_multicast_if(coap_transport_t *t, unsigned ifindex);

/* --- CoAP over TCP (RFC 8323), transport_tcp.c and tcp_signal.c ---
 *
 * A reliable transport (ops->reliable): one TCP connection per peer
 * address, made on the first send() to a peer (when connect_out is set)
 * or accepted on a listening socket, and reused by both roles (§3: either
 * side may send requests). The transport's fd is an epoll descriptor of
 * its own, watching the listening socket and every connection, so the
 * endpoint still shows its loop a single descriptor (epoll nests: the
 * loop's epoll sees it readable when any of ours is). Each connection
 * has a read buffer that reassembles frames (§3.2) and a bounded write
 * queue (partial writes, EAGAIN); `from` is the peer's address, so the
 * roles see a peer as on UDP. Signalling (§5) is the transport's: a CSM
 * first on every connection, the peer's CSM honoured (its
 * Max-Message-Size bounds what send() accepts), Ping/Pong, Release and
 * Abort. Our CSM announces Block-Wise-Transfer (unless no_bert): where the
 * peer's does too, the roles use BERT blocks (§6, ops->bert_message). */
/* A stream filter under a TCP connection (RFC 8323 §9: TLS), so coap/
 * needs no TLS library: dtls/tls_stream.c implements it with GnuTLS.
 * The transport still owns the socket (epoll, connect, accept, close);
 * the filter owns what goes through it. Reads and writes return a byte
 * count, 0 (read: the peer closed), COAP_ERR_AGAIN (nothing now: the
 * socket would block) or another COAP_ERR_* code (the connection ends
 * with it). */
typedef struct {
    /* A filter's state for a new connection on fd: client 1 when we
     * connected (peer is whom to verify). NULL with *err set (no
     * credentials for the peer: COAP_ERR_DTLS_NO_CREDENTIALS). */
    void *(*open)(void *arg, int fd, const coap_addr_t *peer, int client, int *err);
    /* Advances the handshake: COAP_OK when it is done, COAP_ERR_AGAIN
     * while it waits for the socket (*want_write: for writing), or a
     * COAP_ERR_* code naming why it failed (COAP_ERR_DTLS_*). */
    int (*handshake)(void *conn, int *want_write);
    long (*read)(void *conn, uint8_t *buf, size_t cap);
    long (*write)(void *conn, const uint8_t *buf, size_t len);
    /* Bytes read from the socket and decrypted but not yet taken: the
     * socket will not wake us for them. */
    size_t (*pending)(void *conn);
    /* Whom the handshake authenticated (NULL before, or when nobody),
     * reported up with each message the connection delivers. */
    const coap_identity_t *(*identity)(void *conn);
    /* The handshake ran out of connect_timeout_ms: the code the
     * connection ends with (COAP_ERR_TIMEOUT, or a likelier cause the
     * filter knows of). May be NULL. */
    int (*stalled)(void *conn);
    /* Says goodbye (close_notify, best effort) and frees the state; the
     * transport closes fd after. */
    void (*close)(void *conn);
    /* Frees arg with the transport (may be NULL). */
    void (*release)(void *arg);
} coap_stream_ops_t;

typedef struct {
    uint32_t max_message;        /* our Max-Message-Size (CSM, §5.3.1); default 8192,
                                    at least 64; a larger request gets 4.13 */
    uint32_t max_conns;          /* connections open at once, accepted and our own
                                    (a send needing one more fails with
                                    COAP_TCP_ERR_FULL); default 1000 */
    uint32_t max_conns_per_host; /* accepted ones open at once from one IP
                                    address; 0: no bound but max_conns */
    uint32_t max_queued;         /* bytes queued to one connection; over it the
                                    connection is aborted; default 1 MiB */
    uint32_t idle_ms;            /* an outgoing connection silent (no request or
                                    response either way) this long is released
                                    (7.04) and closed; default 120000 */
    uint32_t keepalive_ms;       /* nothing heard this long: Ping (7.02); default 30000 */
    uint32_t pong_timeout_ms;    /* no Pong (or anything) this long after it: the
                                    connection is half-open and closed with
                                    COAP_ERR_TIMEOUT; default 10000 */
    uint32_t connect_timeout_ms; /* connect() and the peer's CSM; default 10000;
                                    a request held for the CSM (ops->csm_wait)
                                    waits a quarter of it at most */
    uint8_t connect_out;         /* 1: send() to a peer without a connection connects */
    uint8_t no_bert;             /* 1: our CSM leaves out Block-Wise-Transfer (§5.3.2),
                                    so no BERT (§6) either way; default 0: announced */
    /* Told when a connection to `peer` is up (up 1: its CSM arrived) and
     * when it ends (up 0, err: COAP_ERR_CONN_CLOSED, COAP_ERR_ABORTED,
     * COAP_ERR_TIMEOUT, COAP_ERR_UNREACHABLE for a failed connect), after
     * the endpoint heard of it; from process() only. For logs, and for a
     * device reached over its own connection to show on- or offline.
     * May be NULL. */
    void (*event)(void *arg, const coap_addr_t *peer, int up, int err);
    void *event_arg;
    /* A filter every connection goes through (TLS, coaps+tcp://), or NULL
     * for plain TCP; taken over by the transport (tls->release(tls_arg)
     * when it is freed, also when coap_transport_tcp_new() fails). Its
     * handshake comes before the CSM and counts against
     * connect_timeout_ms; a failed one ends the connection with the
     * filter's code. */
    const coap_stream_ops_t *tls;
    void *tls_arg;
} coap_tcp_params_t;

/* A send to a peer without a connection when max_conns are open: no
 * descriptor left under the bound (not the process's EMFILE). */
#define COAP_TCP_ERR_FULL COAP_ERR_SYS(EMFILE)

/* What happened, for tests, logs and /metrics. */
typedef struct {
    uint64_t conns_open;           /* now */
    uint64_t accepted, connected;  /* connections made, each way */
    uint64_t refused;              /* accepted over max_conns and closed at once, or
                                      not made (connect_out) */
    uint64_t refused_host;         /* over max_conns_per_host, closed at once */
    uint64_t closed;               /* connections ended, for any reason */
    uint64_t aborts_tx, aborts_rx; /* Abort (7.05) sent (protocol error, queue full), received */
    uint64_t releases_tx, releases_rx; /* Release (7.04) */
    uint64_t pings_tx, pongs_rx, pings_rx;
    uint64_t too_large; /* requests over max_message answered 4.13 */
    uint64_t writes;    /* socket (or filter) writes that took bytes */
    uint64_t half_open; /* connections closed for a missing Pong */
} coap_tcp_stats_t;

/* A TCP transport; `listen` NULL: none (a client only). Returns NULL and
 * sets *err (COAP_ERR_NOMEM, COAP_ERR_SYS(errno) from socket()/bind()/
 * listen()/epoll_create1()). */
coap_transport_t *coap_transport_tcp_new(const coap_addr_t *listen, const coap_tcp_params_t *p,
                                         int *err);
/* t's counters; NULL when t is no TCP transport. */
const coap_tcp_stats_t *coap_transport_tcp_stats(const coap_transport_t *t);
/* The Max-Message-Size the peer announced (§5.3.1), COAP_TCP_DEFAULT_MAX_MESSAGE
 * before its CSM, 0 when no connection to it is open. */
uint32_t coap_transport_tcp_peer_max(const coap_transport_t *t, const coap_addr_t *peer);

#endif
