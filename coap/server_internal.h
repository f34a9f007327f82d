/*
 * server_internal.h - structures shared by server.c (requests, responses,
 * blocks), observe.c (observers, notifications) and wellknown.c.
 */
#ifndef COAP_SERVER_INTERNAL_H
#define COAP_SERVER_INTERNAL_H

#include "base_buf.h"
#include "base_list.h"
#include "coap_block.h"
#include "coap_server.h"

typedef struct coap_observer {
    struct coap_observer *next;
    struct coap_server *srv;
    coap_server_resource_t *res;
    coap_addr_t peer;
    uint8_t token[COAP_TOKEN_MAX];
    uint8_t token_len;
    uint8_t con_inflight;
    uint8_t gone;       /* unreachable: removed after the notify() walk */
    uint8_t szx;        /* Block2 size of its notifications */
    uint32_t since_con; /* notifications since the last CON */
    uint64_t last_con_ms;
    coap_ep_tx_t *tx;         /* the notification in flight, if tracked */
    struct obs_notif *queued; /* newest state waiting for the CON in flight */
    char *query;              /* its registration's Uri-Query, '&'-joined (notify_each) */
    uint64_t word;            /* the application's, for coap_server_notify_each() */
} coap_observer_t;

struct coap_resource {
    struct coap_resource *next;
    coap_server_t *srv;
    char *path;
    size_t path_len;
    unsigned flags, methods;
    coap_handler_t handler;
    void *arg;
    coap_admit_cb admit; /* NULL: everyone */
    void *admit_arg;
    coap_etag_cb etag; /* NULL: conditions left to the handler */
    void *etag_arg;
    char *rt, *if_, *title;
    int ct;
    long sz;
    uint32_t max_upload; /* 0: the server's p.max_upload */
    uint32_t seq;        /* RFC 7641 §4.4: 24-bit, increasing per notification */
    coap_observer_t *observers;
    size_t nobservers;
};

/* Header, token and the options of an answer beside its Block2 block:
 * what a block leaves of the peer's Max-Message-Size (RFC 8323 §5.3.1). */
#define SRV_BLOCK_OVERHEAD 64

/* A request between its arrival and its answer. */
typedef struct srv_req {
    base_list_t link; /* in srv->pending */
    uint64_t id;
    size_t request_size; /* bytes on the wire: our own errors never exceed it */
    coap_ep_req_t *epreq;
    coap_server_resource_t *res;
    coap_addr_t peer;
    uint8_t token[COAP_TOKEN_MAX];
    uint8_t token_len;
    uint8_t method;
    uint8_t want_observe; /* GET with Observe 0 on an observable resource */
    char *obs_query;      /* then its Uri-Query, '&'-joined, for the observer */
    uint8_t has_b2, b2_szx;
    uint32_t b2_num;
    uint8_t has_b1, b1_szx;
    uint32_t b1_num;
    uint8_t verified;    /* its address is (server_echo.c): no amplification bound */
    uint8_t demand_echo; /* unverified, to a COAP_RES_VERIFY_SOURCE resource */
    uint8_t cap_szx;     /* 1 + the largest Block2 szx the bound allows; 0: none */
    uint8_t store;       /* keep the response for later Block2 requests */
    char *store_key;
    uint8_t netags;
    uint8_t etags[4][8];
    uint8_t etag_lens[4];
} srv_req_t;

/* What the server keeps for a peer between two of its requests (a Block1
 * upload, an answer for the Block2 requests that follow): found by peer
 * and key, dropped once it expires. The head of upload_t and
 * stored_resp_t, so one lookup serves both lists. */
typedef struct srv_kept {
    struct srv_kept *next;
    coap_addr_t peer;
    char *key;
    uint64_t expires;
} srv_kept_t;

typedef struct upload {
    srv_kept_t kept; /* key: path, query and Request-Tag */
    base_buf_t body;
    uint32_t next_num;
} upload_t;

/* The whole response to an unsafe request (POST, PUT, FETCH...) larger
 * than one block, kept so the client can fetch the remaining blocks with
 * Block2 (RFC 7959 §2.7): running the handler again would run the action
 * again. GET needs no copy: the handler is asked again, the ETag checks. */
typedef struct stored_resp {
    srv_kept_t kept; /* key: method, path, query */
    uint8_t code;
    int cf;
    long max_age;
    uint8_t etag[8];
    size_t etag_len;
    size_t len;
    uint8_t body[];
} stored_resp_t;

typedef struct sent_ctx sent_ctx_t;

struct coap_server {
    coap_handler_t proxy; /* requests with Proxy-Uri or Proxy-Scheme */
    void *proxy_arg;
    coap_admit_cb proxy_admit;
    void *proxy_admit_arg;
    sent_ctx_t *sending; /* responses on_complete waits for (server.c) */
    srv_kept_t *stored;  /* stored_resp_t */
    size_t nstored;
    coap_ep_t *ep;
    coap_server_params_t p;
    coap_server_resource_t *resources;
    base_list_t pending; /* srv_req_t, found by id through the endpoint's table */
    srv_kept_t *uploads; /* upload_t */
    size_t nuploads, nobservers;
    coap_register_cb on_register;
    void *on_register_arg;
    coap_deregister_cb on_deregister;
    void *on_deregister_arg;
    coap_complete_cb on_complete;
    void *on_complete_arg;
    coap_server_resource_t *wellknown;
    /* RFC 9175 §2.4 (server_echo.c) */
    uint8_t echo_key[16];
    struct srv_verified *verified; /* VERIFIED_SLOTS, allocated on first use */
    coap_server_stats_t stats;
};

/* server.c: builds the options common to responses and notifications. */
int coap_server_fill_(coap_msg_t *m, const coap_server_response_t *resp);

/* server_req.c: the endpoint's request handler */
void coap_srv_on_request_(coap_ep_t *ep, coap_ep_req_t *er, const coap_msg_t *m, void *ctx);

/* server.c */
void coap_server_error_(coap_server_t *srv, uint64_t id, uint8_t code, const char *diag);
/* server_cond.c: If-Match and If-None-Match (RFC 7252 §5.10.8) against the
 * resource's declared ETag; -1 when they failed and 4.12 went out. */
int coap_srv_preconditions_(coap_server_t *srv, const coap_server_request_t *req);

/* server_block.c */
char *coap_srv_request_key_(const coap_msg_t *m, int with_tag);
void coap_srv_upload_free_(coap_server_t *srv, srv_kept_t **pp);
void coap_srv_stored_free_(coap_server_t *srv, srv_kept_t **pp);
void coap_srv_store_response_(coap_server_t *srv, srv_req_t *sr, const coap_server_response_t *r,
                              int keep);
int coap_srv_respond_stored_(coap_server_t *srv, srv_req_t *sr);
uint32_t coap_srv_max_upload_(const coap_server_t *srv, const srv_req_t *sr);
void coap_srv_too_large_(coap_server_t *srv, srv_req_t *sr);
int coap_srv_block1_receive_(coap_server_t *srv, srv_req_t *sr, const coap_msg_t *m,
                             const coap_block_info_t *b, upload_t **done);

/* observe.c */
void coap_obs_register_(coap_server_t *srv, srv_req_t *sr, coap_msg_t *resp, uint64_t word);
void coap_obs_deregister_(coap_server_t *srv, coap_server_resource_t *res, const coap_addr_t *peer,
                          const uint8_t *tok, size_t tok_len, int reason);
void coap_obs_remove_all_(coap_server_t *srv, coap_server_resource_t *res, int reason);

/* server_echo.c: the amplification bound (RFC 7252 §11.3, RFC 9175 §2.4) */
#define ECHO_VALUE_MAX 40 /* RFC 9175 §2.2.1 */
void coap_srv_echo_init_(coap_server_t *srv);
void coap_srv_echo_free_(coap_server_t *srv);
/* Sets sr->verified: the transport's word, a valid Echo in m (which then
 * verifies the address), or the address verified before. */
void coap_srv_echo_request_(coap_server_t *srv, srv_req_t *sr, const coap_msg_t *m);
/* The Block2 size (szx, or smaller) that keeps the answer m to an unsafe
 * request from an unverified peer within the bound. */
unsigned coap_srv_echo_cap_szx_(coap_server_t *srv, const srv_req_t *sr, const coap_msg_t *m,
                                unsigned szx);
/* Replaces the answer m to a safe request from an unverified peer by 4.01
 * with an Echo option (in value, which must live until m is sent) when m
 * is over the bound, or whatever m is when sr->demand_echo. Returns 1 when
 * it did. */
int coap_srv_echo_challenge_(coap_server_t *srv, const srv_req_t *sr, coap_msg_t *m,
                             uint8_t value[ECHO_VALUE_MAX]);

/* wellknown.c */
void coap_wellknown_handler_(coap_server_t *srv, const coap_server_request_t *req, void *arg);

#endif
