/*
 * coap_client.h - the client role: requests with any method, Observe
 * (RFC 7641) and block-wise transfers (RFC 7959), on a coap_ep_t.
 *
 * Life of a request: coap_req_new*() -> setters -> coap_req_send(). The
 * callback runs for the response (and, when observing, for every
 * notification); the call with r->last set is the final one, after which
 * the request is freed by the engine. Every request ends with exactly one
 * final call: a response, an error (timeout, RST, unreachable, too large),
 * or COAP_ERR_CANCELLED after coap_req_cancel() or coap_ep_free().
 *
 * Callbacks may start new requests, cancel other ones, and stop the
 * observation they are called for. Messages handed to callbacks are valid
 * only during the call; the payload is the whole body (block-wise
 * transfers are reassembled).
 */
#ifndef COAP_CLIENT_H
#define COAP_CLIENT_H

#include "coap_ep.h"
#include "coap_uri.h"

typedef struct coap_req coap_req_t;

typedef struct {
    int err;               /* COAP_OK, or a negative coap_err_t */
    const coap_msg_t *msg; /* the response (NULL when err != 0) */
    const uint8_t *body;   /* the whole payload (reassembled) */
    size_t body_len;
    const coap_addr_t *peer; /* who answered */
    uint8_t observing;       /* this is part of an active observation */
    uint8_t fresh;           /* RFC 7641 §3.4: newer than any seen before */
    uint8_t last;            /* the final call: the request is freed after it */
    uint32_t seq;            /* the Observe value, when observing */
} coap_resp_t;

typedef void (*coap_resp_cb)(coap_req_t *req, const coap_resp_t *r, void *arg);

/* A request for a coap:// URI (coap+tcp:// on an endpoint over TCP, and
 * only there: COAP_ERR_URI_SCHEME otherwise). The destination is the URI's host, which
 * must be an IP literal unless `dest` is given (resolve names with
 * coap_addr_resolve() first: the engine never blocks on DNS). Uri-Host is
 * sent for a host name, Uri-Port when it differs from dest's port. Returns
 * NULL and sets *err on a bad URI (COAP_ERR_URI*) or an unresolved host
 * (COAP_ERR_UNREACHABLE). */
coap_req_t *coap_req_new(coap_ep_t *ep, uint8_t method, const char *uri, const coap_addr_t *dest,
                         int *err);
/* The same for a URI parsed already (coap_uri_parse_ex): a caller that
 * parsed it to check it saves the second parse. */
coap_req_t *coap_req_new_parsed(coap_ep_t *ep, uint8_t method, const coap_parsed_uri_t *u,
                                const coap_addr_t *dest, int *err);
/* A request sent to a forward proxy with the absolute URI (any scheme) in
 * Proxy-Uri (RFC 7252 §5.10.2). */
coap_req_t *coap_req_new_proxy(coap_ep_t *ep, uint8_t method, const char *uri,
                               const coap_addr_t *proxy, int *err);

/* Setters; all copy their arguments. Return COAP_OK or a coap_err_t. */
void coap_req_set_confirmable(coap_req_t *req, int con); /* default CON */
int coap_req_set_payload(coap_req_t *req, const void *data, size_t len);
int coap_req_add_option(coap_req_t *req, uint16_t num, const void *val, size_t len);
int coap_req_add_uint(coap_req_t *req, uint16_t num, uint32_t val);
int coap_req_set_content_format(coap_req_t *req, unsigned cf);
int coap_req_set_accept(coap_req_t *req, unsigned cf);
int coap_req_add_etag(coap_req_t *req, const void *etag, size_t len);
int coap_req_add_if_match(coap_req_t *req, const void *etag, size_t len);
int coap_req_set_if_none_match(coap_req_t *req);
int coap_req_add_query(coap_req_t *req, const char *arg);
/* Whole-exchange timeout in ms (default 0: the message layer's own limits,
 * then EXCHANGE_LIFETIME for a separate response). */
void coap_req_set_timeout(coap_req_t *req, uint32_t ms);
/* Largest reassembled body (default: the endpoint's max_body). */
void coap_req_set_max_body(coap_req_t *req, size_t max);
/* Block size exponent for Block1 uploads and early Block2 negotiation
 * (RFC 7959 §2.2: size = 2^(szx+4), szx 0..6), which also rules out BERT
 * (and the wait for the CSM, coap_req_send());
 * 7: 1024 bytes, or BERT blocks of several 1024-byte units over TCP where
 * both sides announced Block-Wise-Transfer (RFC 8323 §6). Default: 7, no
 * early Block2. */
void coap_req_set_block_szx(coap_req_t *req, unsigned szx, int early_block2);
/* Progress of a block-wise transfer (RFC 7959), e.g. for a progress bar. */
typedef struct {
    uint8_t upload;  /* 1: Block1, the request's body; 0: Block2, the response's */
    uint32_t blocks; /* blocks done so far, this one included */
    size_t bytes;    /* body bytes done so far: acknowledged, or received */
    size_t total;    /* the whole body: the payload for Block1, Size2 for Block2
                        (RFC 7959 §4); 0: unknown (no Size2) */
} coap_progress_t;
typedef void (*coap_progress_cb)(coap_req_t *req, const coap_progress_t *p, void *arg);
/* fn is called after each block of a block-wise transfer: each Block1
 * block the server acknowledged (2.31 Continue, or the final answer to the
 * last one), each Block2 block received (in any order when fetched several
 * at a time). Not for a body in one message, nor for notifications after
 * the registration's. fn must not cancel, stop or send requests. */
void coap_req_set_progress(coap_req_t *req, coap_progress_cb fn, void *arg);
/* Observe: GET with Observe 0 (RFC 7641 §3.1). Notifications keep coming to
 * the callback until the observation ends. reregister_margin_ms is added
 * to Max-Age before re-registering (default 5000). */
void coap_req_set_observe(coap_req_t *req, uint32_t reregister_margin_ms);

/* Limits of the client role (RFC 7252 §4.7 bounds the requests in flight
 * to a peer, NSTART; these bound what waits and what is open in all).
 * A request counts in `used` of its budget from coap_req_send() until its
 * final callback (an observation: as long as it lasts); several endpoints
 * may share one budget. The caller owns the budget and may change `max`
 * at any time (a lower one refuses new requests only). */
typedef struct coap_req_budget {
    uint32_t max;  /* requests in flight or queued; 0: no limit */
    uint32_t used; /* kept by the engine */
} coap_req_budget_t;
/* ep's requests count in budget (NULL: none), and at most max_queued of
 * them wait behind NSTART for one peer (0: no limit). Beyond either,
 * coap_req_send() fails (COAP_ERR_BUSY, COAP_ERR_PEER_BUSY) and sends
 * nothing. Set the budget before ep's first request; max_queued may
 * change at any time. */
void coap_client_set_limits(coap_ep_t *ep, coap_req_budget_t *budget, uint32_t max_queued);

/* Starts the exchange (queued first if NSTART is reached). On failure the
 * request is freed without a callback and a coap_err_t is returned. Over
 * TCP, a body of more than one block on a connection whose peer's CSM is
 * not in yet waits for it first (RFC 8323 §3.3, so that it may go in BERT
 * blocks, §6), a quarter of the transport's connect_timeout_ms at most;
 * a failure to start after that wait ends it through the callback. */
int coap_req_send(coap_req_t *req, coap_resp_cb cb, void *arg);

/* Ends the request: the final callback runs with COAP_ERR_CANCELLED before
 * this returns. Not from inside the request's own callback. */
void coap_req_cancel(coap_req_t *req);

/* Stops an observation (RFC 7641 §3.6). DEREGISTER sends a GET with
 * Observe 1, whose response is the final callback; FORGET drops the
 * observation at once (the final callback runs now, or right after the
 * current callback returns) and the next notification is answered with RST.
 * Safe from inside the request's callback. */
enum { COAP_OBSERVE_DEREGISTER = 1, COAP_OBSERVE_FORGET = 2 };
void coap_req_observe_stop(coap_req_t *req, int how);

/* RFC 7641 §3.4 freshness of (v2, t2) against the last accepted (v1, t1),
 * sequence numbers of 24 bits and times in ms. */
int coap_observe_is_fresh(uint32_t v1, uint64_t t1_ms, uint32_t v2, uint64_t t2_ms);

/* A group request (RFC 7252 §8.2, RFC 7390 §2.7): sent once as a NON to
 * a multicast destination, answered by any number of members, each from
 * its own unicast address. Every answer comes to the callback with
 * r->peer set to its member (r->last 0); responses are matched by token
 * alone (§8.2), a member's Block2 answer is delivered as its first block
 * (RFC 7959 §2.8: the rest is for a unicast request). Without Observe, the
 * final call comes when window_ms has passed: err COAP_OK and msg NULL.
 * With Observe (groupcomm-bis §3.7), notifications keep coming, fresh or
 * not judged per member (RFC 7641 §3.4), until coap_req_cancel() or
 * coap_req_observe_stop() (which forgets: the members' next notifications
 * get RST, RFC 7641 §3.6); the registration is sent again when Max-Age of
 * the last notification, plus the margin, passes in silence. */
void coap_req_set_group(coap_req_t *req, uint32_t window_ms);

const coap_addr_t *coap_req_dest(const coap_req_t *req);
coap_ep_t *coap_req_ep(const coap_req_t *req);

#endif
