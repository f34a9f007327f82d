/*
 * ep_internal.h - structures shared by the endpoint (message layer), the
 * client role and the server role. Not installed; not a public API.
 */
#ifndef COAP_EP_INTERNAL_H
#define COAP_EP_INTERNAL_H

#include "coap_ep.h"
#include "heap.h"
#include "htab.h"

/* Timers inside the endpoint share one heap; the kind says whose it is. */
enum { TMR_TX = 1, TMR_REQ_ACK, TMR_CLIENT, TMR_SERVER };

typedef struct {
    coap_heap_tmr_t h; /* first: the heap hands back this pointer */
    uint8_t kind;
} ep_timer_t;

struct coap_req;

/* One remote endpoint: message IDs, NSTART accounting, the client's queue
 * of requests waiting for a free slot (§4.7). */
typedef struct coap_peer {
    coap_hnode_t hn;
    coap_addr_t addr;
    uint16_t next_mid;
    uint16_t outstanding;
    struct coap_req *wait_head, *wait_tail;
    struct coap_peer *lru_prev, *lru_next;
    uint64_t last_used;
    uint32_t refs;
} coap_peer_t;

/* An outgoing CON awaiting ACK/RST (or a NON whose sender wants to hear of
 * an RST). */
struct coap_ep_tx {
    coap_hnode_t hn; /* key: peer, mid */
    ep_timer_t tmr;
    coap_peer_t *peer;
    coap_ep_sent_cb done;
    void *arg;
    uint32_t timeout_ms;
    uint16_t mid;
    uint8_t type;
    uint8_t retries;
    size_t len;
    uint8_t bytes[];
};

/* A remembered incoming message ID (§4.5) and what we answered to it. */
typedef struct ep_dedup {
    coap_hnode_t hn; /* key: peer, mid */
    struct ep_dedup *next;
    coap_peer_t *peer;
    struct coap_ep_req *pending; /* request not answered yet */
    uint64_t expires;
    uint8_t *reply;
    size_t reply_len;
    uint16_t mid;
    uint8_t is_con;
    uint8_t retired; /* out of the table, waiting in its FIFO to be freed */
    uint8_t token_len;
    uint8_t token[COAP_TOKEN_MAX];
} ep_dedup_t;

struct coap_ep_req {
    coap_hnode_t hn; /* key: id */
    ep_timer_t tmr;  /* deferred empty ACK */
    uint64_t id;
    coap_peer_t *peer;
    ep_dedup_t *dd;
    uint16_t mid;
    uint8_t type;
    uint8_t acked;
    uint8_t token_len;
    uint8_t token[COAP_TOKEN_MAX];
};

typedef struct {
    ep_dedup_t *head, *tail;
} dedup_fifo_t;

struct coap_ep {
    int fd;
    int family; /* of the socket: AF_INET6 sockets are dual-stack */
    coap_ep_params_t p;
    coap_ep_hooks_t hooks;
    coap_ep_stats_t stats;
    coap_heap_t timers;
    coap_htab_t peers;
    coap_peer_t *lru_head, *lru_tail;
    size_t npeers;
    coap_htab_t txs;
    coap_htab_t dedup;
    dedup_fifo_t fifo_con, fifo_non;
    size_t ndedup;
    coap_htab_t reqs; /* pending incoming requests by id */
    uint64_t next_req_id;
    coap_ep_request_cb on_request;
    void *on_request_ctx;
    coap_htab_t exchanges; /* client: by token */
    uint8_t closing;       /* coap_ep_free() is running */
    uint32_t rand_pool[16];
    unsigned rand_left;
    uint8_t rxbuf[65536];
};

/* endpoint.c */
coap_peer_t *coap_ep_peer_get_(coap_ep_t *ep, const coap_addr_t *addr);
void coap_ep_peer_ref_(coap_peer_t *p);
void coap_ep_peer_unref_(coap_ep_t *ep, coap_peer_t *p);
uint32_t coap_ep_random_(coap_ep_t *ep);
void coap_ep_timer_arm_(coap_ep_t *ep, ep_timer_t *t, uint64_t when);
void coap_ep_timer_disarm_(coap_ep_t *ep, ep_timer_t *t);

int coap_ep_raw_send_(coap_ep_t *ep, const coap_addr_t *to, const uint8_t *buf, size_t len);
/* An empty ACK or RST for mid, remembered as dd's reply when dd is given. */
void coap_ep_send_empty_(coap_ep_t *ep, const coap_addr_t *to, coap_type_t type, uint16_t mid,
                         ep_dedup_t *dd);

/* RST for a CON that cannot be processed; nothing for a NON. */
void coap_ep_reject_(coap_ep_t *ep, const coap_addr_t *from, const coap_msg_t *m, ep_dedup_t *dd);

/* ep_server.c: an incoming CON or NON (duplicate detection, then the
 * request handler or the client role); the deferred-ACK timer of a
 * request; the end of all pending requests; the dedup table. */
void coap_ep_con_non_input_(coap_ep_t *ep, coap_peer_t *peer, const coap_msg_t *m);
void coap_ep_server_timer_(coap_ep_t *ep, ep_timer_t *t);
void coap_ep_server_shutdown_(coap_ep_t *ep);
void coap_ep_dedup_expire_(coap_ep_t *ep, uint64_t now);
void coap_ep_dedup_free_(coap_ep_t *ep);

/* The client role (client.c, client_rx.c). A response that is not a
 * piggybacked ACK (a separate response or a notification): match returns
 * the request waiting for it, by token and peer (§5.3.2), or NULL: the
 * caller rejects it with RST. Otherwise the caller ACKs it (if CON), then
 * delivers it. */
struct coap_req *coap_client_match_(coap_ep_t *ep, coap_peer_t *peer, const coap_msg_t *msg);
void coap_client_deliver_(struct coap_req *req, const coap_msg_t *msg);
void coap_client_timer_(coap_ep_t *ep, ep_timer_t *t);
/* A slot of the peer's NSTART budget came free: start queued requests. */
void coap_client_pump_(coap_ep_t *ep, coap_peer_t *peer);
void coap_client_shutdown_(coap_ep_t *ep);
void coap_client_unreachable_(coap_ep_t *ep, coap_peer_t *peer);

#endif
