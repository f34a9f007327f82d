/*
 * coap_ep.h - a CoAP endpoint: the message layer of RFC 7252 §4 (CON
 * retransmission, ACK/RST, duplicate detection, NSTART) over a transport
 * (coap_transport.h: UDP by default).
 *
 * The endpoint never blocks and never sleeps. Drive it from any loop:
 * watch coap_ep_fd() for reading, wake at coap_ep_next_deadline(), and call
 * coap_ep_process() in both cases (coap_ep_attach() does this for a
 * base_loop_t). The client role (coap_client.h) and the server role
 * (coap_server.h) sit on top of it.
 *
 * Memory: the endpoint owns everything it allocates. Messages passed to
 * callbacks are valid only during the callback.
 */
#ifndef COAP_EP_H
#define COAP_EP_H

#include "coap_addr.h"
#include "base_loop.h"
#include "coap_msg.h"
#include "coap_transport.h"

#include <stdint.h>

typedef struct coap_ep coap_ep_t;

/* Transmission parameters (§4.8) and limits. Zero fields take defaults. */
typedef struct {
    uint32_t ack_timeout_ms;       /* ACK_TIMEOUT, default 2000 */
    float ack_random_factor;       /* ACK_RANDOM_FACTOR, default 1.5 */
    uint8_t max_retransmit;        /* MAX_RETRANSMIT, default 4 */
    uint8_t nstart;                /* NSTART, default 1 */
    uint32_t exchange_lifetime_ms; /* EXCHANGE_LIFETIME, default 247 s (§4.8.2) */
    uint32_t non_lifetime_ms;      /* NON_LIFETIME, default 145 s */
    uint32_t max_dedup;            /* remembered incoming message IDs, default 4096 */
    uint32_t max_datagram;         /* larger datagrams are dropped, default 1500 */
    uint32_t max_body;             /* block-wise reassembly limit, default 1 MiB */
    uint32_t defer_ack_ms;         /* server: empty ACK after this, default 500 */
    uint32_t max_peers;            /* remembered peers, default 10000 */
    /* server: the leisure of RFC 7252 §8.2 before an answer to a request
     * sent to a multicast address, default 1000 (each answer waits a
     * random 0..leisure ms); see ep_mcast.c for the other rules */
    uint32_t mcast_leisure_ms;
} coap_ep_params_t;

/* The largest answer to a multicast request (RFC 7252 §8.2.1): a
 * 1024-byte block and its header and options. */
#define COAP_MCAST_REPLY_MAX 1152

/* Hooks for tests: a clock and a random source. */
typedef struct {
    base_clock_fn now;             /* default CLOCK_MONOTONIC ms */
    uint32_t (*random)(void *ctx); /* default getrandom() */
    void *ctx;
} coap_ep_hooks_t;

/* Counters, for logs and /metrics. */
typedef struct {
    uint64_t rx, tx;          /* datagrams */
    uint64_t malformed;       /* dropped: failed to parse */
    uint64_t oversized;       /* dropped: above max_datagram */
    uint64_t duplicates;      /* duplicate CON/NON detected */
    uint64_t retransmissions; /* CON retransmitted */
    uint64_t timeouts;        /* CON given up */
    uint64_t rst_rx, rst_tx;
    uint64_t unexpected; /* ACK/RST/response matching nothing */
    uint64_t send_errors;
    uint64_t echo_followed; /* requests sent again with a 4.01's Echo (RFC 9175 §2.3) */
    /* the client role's observations (RFC 7641) */
    uint64_t stale;           /* notifications older than one delivered (§3.4) */
    uint64_t reregistrations; /* re-registrations after Max-Age in silence (§3.3.1) */
    /* server answers to multicast requests not sent (RFC 7252 §8.2: errors,
     * too large, too many waiting) */
    uint64_t mcast_suppressed;
} coap_ep_stats_t;

/* Creates an endpoint on UDP, bound to `bind` (NULL: an ephemeral port on
 * the IPv6 wildcard, which also reaches IPv4 peers). Returns NULL and sets
 * *err (COAP_ERR_SYS(errno) when the socket cannot be bound). */
coap_ep_t *coap_ep_new(const coap_addr_t *bind, const coap_ep_params_t *params, int *err);
/* Creates an endpoint on a transport of the caller's (coap_transport.h):
 * DTLS, a simulated network. The endpoint owns tr from now on, also when
 * this fails (NULL, *err set). */
coap_ep_t *coap_ep_new_on(coap_transport_t *tr, const coap_ep_params_t *params, int *err);
/* Cancels every exchange (their callbacks run with COAP_ERR_CANCELLED),
 * frees the transport (closing its socket) and the endpoint. */
void coap_ep_free(coap_ep_t *ep);

void coap_ep_set_hooks(coap_ep_t *ep, const coap_ep_hooks_t *hooks);
const coap_ep_params_t *coap_ep_params(const coap_ep_t *ep);
/* The transport's descriptor to watch for reading, or -1. */
int coap_ep_fd(const coap_ep_t *ep);
/* The transport the endpoint owns (for its own statistics, such as
 * coap_transport_tcp_stats()). */
coap_transport_t *coap_ep_transport(const coap_ep_t *ep);
/* The bound address: COAP_OK, or an error (COAP_ERR_SYS). */
int coap_ep_local_addr(const coap_ep_t *ep, coap_addr_t *out);
const coap_ep_stats_t *coap_ep_stats(const coap_ep_t *ep);
/* Incoming requests not answered (or dropped) yet: a graceful shutdown
 * waits for them. */
size_t coap_ep_pending_requests(const coap_ep_t *ep);
uint64_t coap_ep_now(const coap_ep_t *ep);

/* Earliest time (ms on the endpoint's clock) process() has work, or
 * BASE_NEVER. */
uint64_t coap_ep_next_deadline(const coap_ep_t *ep);
/* Reads pending datagrams (a bounded number per call) and runs due timers. */
void coap_ep_process(coap_ep_t *ep);
/* Feeds one datagram as if the transport had received it from `from`
 * (fuzzers, tests). */
void coap_ep_input(coap_ep_t *ep, const coap_addr_t *from, const uint8_t *buf, size_t len);

/* Registers the endpoint as a source of the loop (fd + deadline + process).
 * Detach before freeing either. */
int coap_ep_attach(coap_ep_t *ep, base_loop_t *loop);
void coap_ep_detach(coap_ep_t *ep, base_loop_t *loop);

/* --- Sending at the message layer --- */

typedef struct coap_ep_tx coap_ep_tx_t;
/* Result of a CON (or of a NON sent with a callback): COAP_OK with the ACK
 * (msg NULL for an empty ACK), COAP_ERR_RESET, COAP_ERR_TIMEOUT, or
 * COAP_ERR_UNREACHABLE. For a NON, COAP_OK means no RST came within
 * ACK_TIMEOUT. */
typedef void (*coap_ep_sent_cb)(coap_ep_t *ep, int result, const coap_msg_t *ack, void *arg);

/* Sends msg to `to`. A fresh message ID is assigned unless msg is an ACK or
 * RST. A CON is retransmitted until ACKed, reset or given up; `done` (may
 * be NULL) tells which. If tx is not NULL it receives a handle to cancel
 * the retransmission (valid until `done` runs). Returns COAP_OK or < 0. */
int coap_ep_send(coap_ep_t *ep, const coap_addr_t *to, coap_msg_t *msg, coap_ep_sent_cb done,
                 void *arg, coap_ep_tx_t **tx);
/* Stops retransmitting; `done` does not run. */
void coap_ep_tx_cancel(coap_ep_t *ep, coap_ep_tx_t *tx);
/* A newer message takes the place of the CON *tx still being retransmitted
 * (RFC 7641 §4.5.2: a newer notification replaces the one in flight): msg
 * goes out now as a CON under a fresh message ID and inherits the old
 * one's retransmission counter and timeout, `done` and its argument; the
 * old one is never sent again (an ACK for it is ignored). *tx then points
 * to the new transmission. On failure (< 0) the old one goes on as it was. */
int coap_ep_tx_replace(coap_ep_t *ep, coap_ep_tx_t **tx, coap_msg_t *msg);

/* --- Incoming requests (used by the server role) --- */

typedef struct coap_ep_req coap_ep_req_t;
/* Called once per request (duplicates are absorbed). The handler answers
 * with coap_ep_respond() now (piggybacked) or later (separate response:
 * an empty ACK goes out after params.defer_ack_ms). */
typedef void (*coap_ep_request_cb)(coap_ep_t *ep, coap_ep_req_t *req, const coap_msg_t *msg,
                                   void *ctx);
void coap_ep_set_request_handler(coap_ep_t *ep, coap_ep_request_cb cb, void *ctx);

/* Sends the response to req (token, type and message ID are filled in).
 * `done` (may be NULL) runs when a separate CON response is ACKed or given
 * up; for other responses it runs at once with COAP_OK. req is freed, also
 * when an error is returned (a CON request then still gets its empty ACK
 * and `done` does not run). */
int coap_ep_respond(coap_ep_t *ep, coap_ep_req_t *req, coap_msg_t *resp, coap_ep_sent_cb done,
                    void *arg);
/* Forgets req without answering (an empty ACK is still sent for a CON). */
void coap_ep_req_drop(coap_ep_t *ep, coap_ep_req_t *req);
/* Sends the empty ACK now, if it has not gone out. */
void coap_ep_req_ack(coap_ep_t *ep, coap_ep_req_t *req);
const coap_addr_t *coap_ep_req_peer(const coap_ep_req_t *req);
/* 1 when req arrived on a multicast address (RFC 7252 §8.2): its answer
 * is leisure-delayed, size-bounded and never an error (ep_mcast.c). */
int coap_ep_req_multicast(const coap_ep_req_t *req);
/* Who sent the datagram being processed, as a secured transport
 * authenticated it (coap_transport.h); NULL on plain UDP and outside of a
 * request handler's call. */
const coap_identity_t *coap_ep_rx_identity(const coap_ep_t *ep);
uint64_t coap_ep_req_id(const coap_ep_req_t *req);
/* A pointer of the request handler's kept with the request (the server
 * role's record of it), so that finding a request by id is one lookup. */
void coap_ep_req_set_owner(coap_ep_req_t *req, void *owner);
void *coap_ep_req_owner(const coap_ep_req_t *req);
/* The pending request with this id, or NULL (answered, dropped, unknown). */
coap_ep_req_t *coap_ep_req_find(coap_ep_t *ep, uint64_t id);

#endif
