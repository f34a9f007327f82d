/*
 * ep_internal.h - the endpoint's structures, shared by the files of the
 * message layer (endpoint.c, ep_peer.c, ep_tx.c, ep_rx.c, ep_dedup.c,
 * ep_request.c) and read by the roles above it. Not installed; not a
 * public API.
 *
 * The message layer calls no role by name: the server role registers its
 * request handler (coap_ep_set_request_handler), the client role registers
 * an ep_response_role_t (coap_ep_set_response_role_), and every timer in
 * the endpoint's heap carries the function that handles it.
 */
#ifndef COAP_EP_INTERNAL_H
#define COAP_EP_INTERNAL_H

#include "coap_ep.h"
#include "base_heap.h"
#include "base_htab.h"
#include "base_list.h"

/* A timer in the endpoint's heap; `fire` runs when it is due. */
typedef struct ep_timer ep_timer_t;
typedef void (*ep_timer_fn)(coap_ep_t *ep, ep_timer_t *t);
struct ep_timer {
    base_heap_tmr_t h; /* first: the heap hands back this pointer */
    ep_timer_fn fire;
};

struct coap_req;
struct coap_req_budget;

/* One remote endpoint: message IDs, NSTART accounting (§4.7) and the
 * requests waiting for a free slot (kept here, owned by the client role). */
typedef struct coap_peer {
    base_hnode_t hn;
    coap_addr_t addr;
    coap_addr_t local; /* our address it last sent to, when has_local */
    uint8_t has_local;
    uint16_t next_mid;
    uint16_t outstanding;
    uint32_t nwaiting; /* requests in the wait list */
    struct coap_req *wait_head, *wait_tail;
    struct coap_req *held; /* waiting for its CSM (client_hold.c), in order */
    base_list_t lru;       /* in ep->peers_lru, least recently used first */
    uint64_t last_used;
    uint32_t refs;
} coap_peer_t;

/* An outgoing CON awaiting ACK/RST (or a NON whose sender wants to hear of
 * an RST). */
struct coap_ep_tx {
    base_hnode_t hn; /* key: peer, mid */
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

#define DEDUP_REPLY_INLINE 32 /* bytes of a remembered answer kept in its entry */

/* A remembered incoming message ID (§4.5) and what we answered to it. */
typedef struct ep_dedup {
    base_hnode_t hn; /* key: peer, mid */
    struct ep_dedup *next;
    coap_peer_t *peer;
    struct coap_ep_req *pending; /* request not answered yet */
    uint64_t expires;
    uint8_t *reply; /* reply_small, or a heap copy of a larger one */
    size_t reply_len;
    /* most answers fit: no allocation per request for them */
    uint8_t reply_small[DEDUP_REPLY_INLINE];
    uint16_t mid;
    uint8_t is_con;
    uint8_t retired; /* out of the table, waiting in its FIFO to be freed */
    uint64_t digest; /* of the whole datagram: a retransmission repeats it */
} ep_dedup_t;

struct coap_ep_req {
    base_hnode_t hn; /* key: id */
    ep_timer_t tmr;  /* deferred empty ACK */
    uint64_t id;
    coap_peer_t *peer;
    ep_dedup_t *dd;
    void *owner; /* the request handler's record */
    uint16_t mid;
    uint8_t type;
    uint8_t acked;
    uint8_t multicast; /* arrived on a multicast address (ep_mcast.c) */
    uint8_t token_len;
    uint8_t token[COAP_TOKEN_MAX];
};

typedef struct {
    ep_dedup_t *head, *tail;
} dedup_fifo_t;

/* The client role as the message layer sees it. */
typedef struct {
    /* A response that is not a piggybacked ACK (a separate response, a
     * notification): the exchange waiting for it, by token and peer
     * (§5.3.2), or NULL, and the endpoint rejects it with RST. */
    void *(*match)(coap_ep_t *ep, coap_peer_t *peer, const coap_msg_t *msg);
    /* Delivers it to what match returned, after the endpoint ACKed a CON
     * (§5.2.2: the ACK precedes whatever the role sends in reaction). */
    void (*deliver)(void *exchange, const coap_msg_t *msg);
    /* The transport says peer cannot be reached: waiting requests end. */
    void (*unreachable)(coap_ep_t *ep, coap_peer_t *peer, int err);
    /* The transport has the peer's capabilities (RFC 8323 §5.3: its
     * CSM): requests held for them go. */
    void (*ready)(coap_ep_t *ep, coap_peer_t *peer);
    /* coap_ep_free(): every exchange ends (COAP_ERR_CANCELLED). */
    void (*shutdown)(coap_ep_t *ep);
} ep_response_role_t;

struct coap_ep {
    coap_transport_t *tr;
    coap_ep_params_t p;
    coap_ep_hooks_t hooks;
    uint64_t pass_now; /* the clock, read once for a pass's datagrams; 0 outside one */
    coap_ep_stats_t stats;
    base_heap_t timers;
    base_htab_t peers;
    base_list_t peers_lru;
    size_t npeers;
    base_htab_t txs;
    base_htab_t dedup;
    dedup_fifo_t fifo_con, fifo_non;
    size_t ndedup;
    base_htab_t reqs; /* pending incoming requests by id */
    uint64_t next_req_id;
    coap_ep_request_cb on_request;
    void *on_request_ctx;
    const ep_response_role_t *responses; /* NULL until a client role uses ep */
    base_htab_t exchanges;               /* the client role's, by token */
    struct coap_req_budget *req_budget;  /* the client role's limits (coap_client.h) */
    uint32_t max_waiting;                /* ... per peer behind NSTART; 0: no limit */
    const coap_identity_t *rx_identity;  /* of the datagram being processed */
    uint8_t rx_multicast;                /* ... which was sent to a multicast address */
    base_list_t mcast_pending;           /* answers to multicast requests (ep_mcast.c) */
    uint32_t mcast_npending;
    uint8_t closing;        /* coap_ep_free() is running */
    uint32_t rand_pool[64]; /* 256 bytes: getrandom()'s batch, endpoint.c */
    unsigned rand_left;
};

/* On a reliable transport (coap_transport.h, RFC 8323) the message layer
 * sends once, frames messages for TCP and expects no ACK, RST or
 * duplicate. */
static inline int coap_ep_reliable_(const coap_ep_t *ep)
{
    return ep->tr->ops->reliable;
}

/* endpoint.c: clock, randomness, timers */
uint32_t coap_ep_random_(coap_ep_t *ep);
void coap_ep_timer_arm_(coap_ep_t *ep, ep_timer_t *t, uint64_t when);
void coap_ep_timer_disarm_(coap_ep_t *ep, ep_timer_t *t);
void coap_ep_set_response_role_(coap_ep_t *ep, const ep_response_role_t *role);

/* ep_peer.c: the peer table, bounded and forgotten after
 * EXCHANGE_LIFETIME of silence. get returns NULL when out of memory. */
coap_peer_t *coap_ep_peer_get_(coap_ep_t *ep, const coap_addr_t *addr);
void coap_ep_peer_ref_(coap_peer_t *p);
void coap_ep_peer_unref_(coap_ep_t *ep, coap_peer_t *p);
void coap_ep_peers_gc_(coap_ep_t *ep, uint64_t now);
void coap_ep_peers_free_(coap_ep_t *ep);

/* ep_tx.c: sending; our CONs until ACK, RST or give-up. Everything goes
 * to a peer, from the address it last sent to. */
int coap_ep_raw_send_(coap_ep_t *ep, const coap_peer_t *to, const uint8_t *buf, size_t len);
/* The largest Block1/Block2 szx (at most 6: 1024 bytes) whose block plus
 * `overhead` bytes of header and options fits the message size `peer`
 * takes (coap_transport_ops_t.max_message); 6 when it is not bounded. */
unsigned coap_ep_fit_szx_(const coap_ep_t *ep, const coap_addr_t *peer, size_t overhead);
/* RFC 8323 §6: 1 when BERT may be used with `peer` (both sides announced
 * Block-Wise-Transfer), so Block options with SZX 7 are valid from it. */
int coap_ep_bert_(const coap_ep_t *ep, const coap_addr_t *peer);
/* RFC 8323 §6: the 1024-byte units a BERT block to `peer` carries beside
 * `overhead` bytes (coap_transport_ops_t.bert_message); 0: no BERT. */
unsigned coap_ep_bert_units_(const coap_ep_t *ep, const coap_addr_t *peer, size_t overhead);
/* msg in the transport's framing: RFC 7252 §3, or RFC 8323 §3.2 on a
 * reliable transport. */
size_t coap_ep_msg_size_(const coap_ep_t *ep, const coap_msg_t *msg);
int coap_ep_serialize_(const coap_ep_t *ep, const coap_msg_t *msg, uint8_t *buf, size_t cap);
/* An empty ACK or RST for mid, remembered as dd's reply when dd is given. */
void coap_ep_send_empty_(coap_ep_t *ep, const coap_peer_t *to, coap_type_t type, uint16_t mid,
                         ep_dedup_t *dd);
/* RST for a CON that cannot be processed; nothing for a NON (§4.2, §4.3). */
void coap_ep_reject_(coap_ep_t *ep, const coap_peer_t *from, const coap_msg_t *m, ep_dedup_t *dd);
/* The same for a datagram whose sender is kept as no peer (malformed). */
void coap_ep_reject_unknown_(coap_ep_t *ep, const coap_addr_t *from, const coap_addr_t *local,
                             const coap_msg_t *m);
void coap_ep_ack_or_rst_input_(coap_ep_t *ep, coap_peer_t *peer, const coap_msg_t *m);
/* Fails every transmission to p with err. */
void coap_ep_fail_peer_txs_(coap_ep_t *ep, coap_peer_t *p, int err);
void coap_ep_txs_free_(coap_ep_t *ep);

/* ep_dedup.c: duplicate detection (§4.5). check returns the entry of a
 * duplicate with *dup set (the caller replays), else a new entry (NULL
 * when out of memory: the message is then processed without one). */
ep_dedup_t *coap_ep_dedup_check_(coap_ep_t *ep, coap_peer_t *peer, const coap_msg_t *m,
                                 uint64_t digest, int *dup);
/* What the deduplication compares beyond the message ID: the datagram. */
uint64_t coap_ep_dedup_digest_(const uint8_t *buf, size_t len);
void coap_ep_dedup_replay_(coap_ep_t *ep, ep_dedup_t *d);
/* Remembers a copy of the answer to d's message (replacing any). */
int coap_ep_dedup_keep_(ep_dedup_t *d, const uint8_t *reply, size_t len);
void coap_ep_dedup_expire_(coap_ep_t *ep, uint64_t now);
void coap_ep_dedup_free_(coap_ep_t *ep);

/* ep_request.c: an incoming request handed to the server role's handler
 * (or rejected when there is none); the end of all pending requests. */
void coap_ep_request_input_(coap_ep_t *ep, coap_peer_t *peer, ep_dedup_t *dd, const coap_msg_t *m);
void coap_ep_requests_free_(coap_ep_t *ep);

/* ep_mcast.c: the answer to a request that arrived on a multicast address
 * (RFC 7252 §8.2), sent after a random leisure or not at all; the end of
 * those still waiting. */
int coap_ep_mcast_respond_(coap_ep_t *ep, coap_ep_req_t *r, coap_msg_t *resp);
void coap_ep_mcast_free_(coap_ep_t *ep);

/* ep_rx.c: one datagram from the transport. */
void coap_ep_datagram_(coap_ep_t *ep, const coap_addr_t *from, const coap_addr_t *local,
                       const coap_identity_t *id, const uint8_t *buf, size_t len);

#endif
