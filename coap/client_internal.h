/*
 * client_internal.h - the request object shared by client.c (building and
 * sending), client_opts.c (its settings) and client_rx.c (responses,
 * blocks, notifications).
 */
#ifndef COAP_CLIENT_INTERNAL_H
#define COAP_CLIENT_INTERNAL_H

#include "base_buf.h"
#include "coap_block.h"
#include "coap_client.h"
#include "ep_internal.h"

typedef struct {
    uint16_t num;
    uint16_t len;
    uint32_t off; /* into the request's arena */
} req_opt_t;

/* A re-registration (RFC 7641 §3.3.1) waits for its answer; HEARD: and
 * notifications came meanwhile (the observation is alive). */
enum { REREG_NONE, REREG_WAITING, REREG_HEARD };

/* REQ_HELD: waiting for the peer's CSM (client_hold.c), before NSTART */
enum { REQ_NEW, REQ_HELD, REQ_QUEUED, REQ_WAIT_ACK, REQ_WAIT_RESP, REQ_OBSERVING, REQ_DONE };

struct coap_req {
    base_hnode_t hn; /* ep->exchanges, by token */
    ep_timer_t tmr;  /* exchange timeout, or Observe re-registration */
    ep_timer_t hold; /* REQ_HELD: the most it waits for the peer's CSM */
    coap_ep_t *ep;
    coap_peer_t *peer;
    struct coap_req *wait_next;
    coap_resp_cb cb;
    void *arg;

    /* what to send */
    uint8_t method, con, observe;
    uint8_t token_len;
    uint8_t token[COAP_TOKEN_MAX];
    req_opt_t *opts;
    size_t nopts, cap_opts;
    base_buf_t arena; /* option values */
    uint8_t *payload;
    size_t payload_len;
    uint32_t timeout_ms, rereg_margin_ms;
    size_t max_body;
    uint8_t szx, early_b2;
    uint8_t no_bert; /* a block size was chosen (or a server asked for smaller):
                        no BERT blocks (RFC 8323 §6) either way */

    /* where it is */
    uint8_t state;
    uint8_t holds_slot; /* counts in peer->outstanding (NSTART) */
    uint8_t in_callback;
    uint8_t stop_how;  /* COAP_OBSERVE_* requested */
    uint8_t dereg;     /* the deregistration GET is in flight */
    uint8_t forgotten; /* out of the token table: next notification gets RST */
    uint8_t rereg;     /* REREG_*: a re-registration waits for its answer */
    coap_ep_tx_t *tx;
    coap_req_budget_t *budget; /* counted in it, from send to the end */

    /* Block1 (RFC 7959 §2.5) */
    uint8_t b1_active, b1_szx, b1_retried;
    size_t b1_off, b1_sent;

    /* Block2 (RFC 7959 §2.4) */
    uint8_t b2_szx, b2_restarts, etag_len;
    uint8_t b2_observe; /* block 0 of a registration's response had Observe */
    uint32_t b2_num, b2_seq;
    uint8_t etag[8];
    base_buf_t body;   /* reassembled from Block2 */
    struct b2win *win; /* blocks fetched several at a time (client_blocks.c) */
    uint8_t fetcher;   /* fetches one block for another request's window */

    /* the later blocks of a notification (client_notif.c), fetched by a
     * request of its own; nfetch_seq and nfetch_t: that notification's */
    struct coap_req *nfetch;
    uint32_t nfetch_seq;
    uint64_t nfetch_t;

    /* progress of a block-wise transfer (coap_req_set_progress) */
    coap_progress_cb progress;
    void *progress_arg;
    uint32_t progress_blocks;
    uint32_t b2_size2; /* Size2 of block 0 (RFC 7959 §4), 0: none */

    /* Echo (RFC 9175 §2.3): the value the server last asked for, sent in
     * every later step; followed once per step */
    uint8_t echo_len, echo_followed;
    uint8_t echo[40];

    /* a group request (client_group.c): the member whose answer is being
     * matched and delivered, and each member's Observe freshness */
    uint8_t group;
    coap_peer_t *rx_peer;
    struct group_member *members;
    uint32_t nmembers;

    /* Observe (RFC 7641 §3.4) */
    uint8_t have_seq;
    uint32_t last_seq;
    uint64_t last_t;
};

/* client.c */
/* The first step: block sizes from what the peer takes now, then sent, or
 * queued behind NSTART. COAP_OK, or an error (the caller ends req). */
int coap_req_start_(coap_req_t *req);
/* Sends the current step, or queues it behind NSTART. Returns COAP_OK, or
 * an error with req untouched otherwise: the caller ends it. */
int coap_req_transmit_(coap_req_t *req);
void coap_req_release_slot_(coap_req_t *req);
void coap_req_finish_(coap_req_t *req, int err, const coap_msg_t *msg);
void coap_req_arm_(coap_req_t *req, uint64_t delay_ms);
coap_req_t *coap_req_by_token_(coap_ep_t *ep, const uint8_t *tok, size_t len);

/* A new request with from's destination, method, type, options and body
 * limit (no payload, no Observe, no callback yet), or NULL. */
coap_req_t *coap_req_clone_(const coap_req_t *from);

/* client_blocks.c: the rest of a Block2 body fetched several blocks at a
 * time (RFC 7959 §2.4). start returns 1 when req now waits for its window
 * (0: fetch one by one as before, < 0: fail). stop ends the fetches in
 * flight (req is ending); free releases the window's memory. */
int coap_b2win_start_(coap_req_t *req, const coap_msg_t *block0, uint32_t size2);
void coap_b2win_stop_(coap_req_t *req);
void coap_b2win_free_(coap_req_t *req);

/* client_group.c: a member's answer to a group request; the group
 * request's timer (its window's end, or a re-registration); its memory. */
void coap_group_deliver_(coap_req_t *req, const coap_msg_t *msg);
void coap_group_timer_(coap_req_t *req);
/* An observing group request's re-registration: Max-Age's default ahead. */
void coap_group_arm_rereg_(coap_req_t *req);
void coap_group_free_(coap_req_t *req);

/* client_notif.c: a notification that comes as its first block (RFC 7959
 * §2.6). step takes every message of a running observation (b: its Block2,
 * NULL when none): 1 when it took the message (the rest is being fetched,
 * or it was stale), 0 when it goes to the callback as it is. stop ends a
 * fetch in flight. */
int coap_notif_step_(coap_req_t *req, const coap_msg_t *m, const coap_block_info_t *b);
void coap_notif_stop_(coap_req_t *req);

/* client_hold.c: an upload held for the peer's CSM on a new connection
 * (RFC 8323 §3.3, so that it may use BERT, §6). hold returns 1 when req
 * now waits (REQ_HELD; coap_req_start_ follows), 0 when it need not;
 * unhold takes it out (req is ending); ready starts every request held
 * for peer (the role's entry). */
int coap_req_hold_(coap_req_t *req);
void coap_req_unhold_(coap_req_t *req);
void coap_client_ready_(coap_ep_t *ep, coap_peer_t *peer);

/* Registers the client role with ep (on its first request). */
void coap_client_attach_(coap_ep_t *ep);
/* A slot of the peer's NSTART budget came free: start queued requests. */
void coap_client_pump_(coap_ep_t *ep, coap_peer_t *peer);

/* client_rx.c */
/* Reports one more block done to the request's progress callback. */
void coap_req_progress_(coap_req_t *req, int upload, size_t bytes, size_t total);
void coap_req_on_response_(coap_req_t *req, const coap_msg_t *msg);
/* Hands a notification (its body in req->body, or m's payload) to the
 * callback, judged for freshness with seq. */
void coap_req_notify_(coap_req_t *req, const coap_msg_t *m, uint32_t seq);
/* The role's entries (ep_response_role_t) and the exchange timer: a
 * timeout, or an observation's re-registration after Max-Age. */
void *coap_client_match_(coap_ep_t *ep, coap_peer_t *peer, const coap_msg_t *msg);
void coap_client_deliver_(void *exchange, const coap_msg_t *msg);
void coap_req_timer_(coap_ep_t *ep, ep_timer_t *t);

#endif
