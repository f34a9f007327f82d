/*
 * coap_server.h - the server role: resources, deferred (separate)
 * responses, Observe (RFC 7641 §4), block-wise transfers (RFC 7959) and
 * /.well-known/core (RFC 6690), on a coap_ep_t.
 *
 * A handler answers a request at once with coap_server_respond(), inside
 * the call (piggybacked), or keeps req->id and answers later (the endpoint
 * sends an empty ACK after its defer_ack_ms, and the answer goes out as a
 * separate CON response). Duplicates never reach handlers twice.
 *
 * A Uri-Host, Uri-Path, Uri-Query, Proxy-Uri or Proxy-Scheme option with a
 * control byte (0x00-0x1F, 0x7F) in it is 4.00 Bad Request, for every
 * resource and the proxy: "rd\0" never passes for "rd".
 *
 * Memory: everything a handler receives is valid during the call only.
 * coap_server_respond() copies what it sends.
 */
#ifndef COAP_SERVER_H
#define COAP_SERVER_H

#include "coap_ep.h"
#include "coap_uri.h"

typedef struct coap_server coap_server_t;
typedef struct coap_resource coap_server_resource_t;

/* Resource flags. */
enum {
    COAP_RES_PREFIX = 1,     /* the path and everything below it */
    COAP_RES_OBSERVABLE = 2, /* accepts Observe registrations ("obs") */
    /* RFC 9175 §2.4 item 3: the handler sends to the requester's address
     * (e.g. fetches from it), so it runs only for a verified address; an
     * unverified one is answered 4.01 with an Echo first, whatever the
     * method, and the client repeats the request with it */
    COAP_RES_VERIFY_SOURCE = 4,
};
#define COAP_METHOD_BIT(m) (1u << (m))
#define COAP_METHODS_READ  COAP_METHOD_BIT(COAP_GET)

/* Link attributes for /.well-known/core (RFC 6690 §3). NULL / -1: absent. */
typedef struct {
    const char *rt;
    const char *if_;
    const char *title;
    int ct;
    long sz;
} coap_link_attrs_t;

typedef struct {
    uint64_t id; /* answer later with coap_server_respond(id) */
    uint8_t method;
    const coap_msg_t *msg; /* every option */
    const coap_addr_t *peer;
    /* who a secured transport authenticated (coap_transport.h); NULL on
     * plain UDP. Valid during the call, like the rest: copy what you keep */
    const coap_identity_t *identity;
    const char *path;            /* "/sensors/temperature", decoded */
    const coap_uri_part_t *segs; /* path segments */
    size_t nsegs;
    const coap_uri_part_t *query; /* Uri-Query arguments */
    size_t nquery;
    const uint8_t *payload; /* the whole body (Block1 reassembled) */
    size_t payload_len;
    int content_format; /* -1 when absent */
    int accept;         /* -1 when absent */
    int observe;        /* -1 absent, 0 register, 1 deregister */
    coap_server_resource_t *resource;
} coap_server_request_t;

typedef struct {
    uint8_t code;
    const void *payload;
    size_t payload_len;
    int content_format;  /* -1: none */
    const uint8_t *etag; /* NULL: none */
    size_t etag_len;
    long max_age;               /* -1: none (60 s implied) */
    const coap_msg_opt_t *opts; /* further options (e.g. Location-Path), or NULL */
    size_t nopts;
    /* kept with the observer this answer registers, as the word
     * coap_server_notify_each() hands out (e.g. a hash of the payload) */
    uint64_t observe_word;
} coap_server_response_t;

/* A response with no payload and no options. */
#define COAP_RESPONSE(c)                                                                           \
    ((coap_server_response_t){.code = (c), .content_format = -1, .max_age = -1})

typedef void (*coap_handler_t)(coap_server_t *srv, const coap_server_request_t *req, void *arg);
/* Observe registration: return 1 to accept, 0 to refuse (the response then
 * goes out without Observe). */
typedef int (*coap_register_cb)(coap_server_t *srv, coap_server_resource_t *res,
                                const coap_addr_t *peer, void *arg);
enum {
    COAP_DEREG_EXPLICIT = 1, /* GET with Observe 1 */
    COAP_DEREG_RST,          /* the client rejected a notification */
    COAP_DEREG_TIMEOUT,      /* a CON notification was never acknowledged */
    COAP_DEREG_ERROR,        /* the resource answered with an error */
    COAP_DEREG_SHUTDOWN,     /* resource or server removed */
};
typedef void (*coap_deregister_cb)(coap_server_t *srv, coap_server_resource_t *res,
                                   const coap_addr_t *peer, int reason, void *arg);
/* A deferred response was acknowledged (COAP_OK) or given up (< 0). Runs
 * for every response, also the server's own (4.04, 2.31...): at once with
 * COAP_OK for a piggybacked or NON one. Never after coap_server_free(). */
typedef void (*coap_complete_cb)(coap_server_t *srv, uint64_t id, int result, void *arg);

/* Admission: whether the server takes a request at all, asked before it
 * keeps anything for it. Return 0 to admit, or a 4.xx / 5.xx code. See
 * coap_resource_set_admit(). */
typedef uint8_t (*coap_admit_cb)(coap_server_t *srv, const coap_server_request_t *req, void *arg);

typedef struct {
    uint32_t max_upload;  /* request body limit (4.13 above), default the ep's max_body */
    uint32_t max_uploads; /* Block1 uploads in progress (and kept Block2 answers), default 64 */
    uint32_t max_uploads_per_peer; /* ... of them from one source address, default 4 */
    uint8_t block_szx;             /* Block2 size, default 6 (1024 bytes; BERT over
                                      TCP where both sides announce it, RFC 8323 §6) */
    uint32_t con_every;            /* a CON notification at least every N, default 20 */
    uint32_t max_observers;        /* in all, default 10000 */
    /* ... of them from one host (any port, any DTLS session), default 64:
     * one client cannot take them all, nor make each change of a resource
     * cost thousands of notifications */
    uint32_t max_observers_per_host;
} coap_server_params_t;

/* Creates a server on ep (it becomes ep's request handler). */
coap_server_t *coap_server_new(coap_ep_t *ep, const coap_server_params_t *params);
/* Ends all observations (COAP_DEREG_SHUTDOWN) and frees everything. */
void coap_server_free(coap_server_t *srv);
coap_ep_t *coap_server_ep(const coap_server_t *srv);

/* Registers a resource; methods is a mask of COAP_METHOD_BIT(). path is
 * "/a/b" (copied). Returns NULL on a bad path or no memory. */
coap_server_resource_t *coap_server_add(coap_server_t *srv, const char *path, unsigned flags,
                                        unsigned methods, coap_handler_t handler, void *arg,
                                        const coap_link_attrs_t *attrs);
void coap_server_remove(coap_server_t *srv, coap_server_resource_t *res);
const char *coap_resource_path(const coap_server_resource_t *res);
/* A request body limit for this resource alone, below the server's
 * max_upload (0: the server's). A Block1 upload is refused with 4.13 and
 * Size1 = this limit as soon as Size1 announces more or the blocks
 * received pass it (RFC 7959 §2.9.3), before the handler runs. */
void coap_resource_set_max_upload(coap_server_resource_t *res, uint32_t max);

/* The current ETag of a resource, for conditional requests (RFC 7252
 * §5.10.8): the callback writes up to 8 bytes to etag and returns their
 * number (0: the resource exists without an ETag), or -1 when the target
 * has no current representation (not created yet, deleted). With one set,
 * the server evaluates If-Match (§5.10.8.1: one of the listed ETags is the
 * current one, or the empty value and the target exists) and
 * If-None-Match (§5.10.8.2: the target does not exist) for every request
 * to res, every block of a Block1 upload included, and answers 4.12
 * Precondition Failed without calling the handler when one fails. NULL:
 * the handler sees the options and decides. */
typedef int (*coap_etag_cb)(coap_server_t *srv, const coap_server_request_t *req, uint8_t etag[8],
                            void *arg);
void coap_resource_set_etag(coap_server_resource_t *res, coap_etag_cb cb, void *arg);

/* Admission (RFC 7252 §11.3: spoofed sources, amplification). The
 * callback runs for every request to res (every block of a block-wise
 * transfer too) once its path, options and method passed, and before the
 * server keeps anything for it: no Block1 upload is started or continued,
 * no kept Block2 answer is served, no observation is changed. req->payload
 * is this datagram's payload (a Block1 body is not reassembled yet).
 * A code returned is the whole answer: no payload, no options, so a
 * refusal is never larger than what provoked it. NULL: everyone. */
void coap_resource_set_admit(coap_server_resource_t *res, coap_admit_cb cb, void *arg);

/* Block1 uploads in progress (RFC 7959 §2.5): at most max_uploads in all
 * and per_peer from one source address (any port), so that one source
 * cannot take every slot. A block 0 beyond either gets 5.03 Service
 * Unavailable with Max-Age = the seconds until a slot frees if nothing
 * else comes (at most 10), and a short diagnostic. An upload's slot frees
 * when its last block arrives, or MAX_TRANSMIT_WAIT (RFC 7252 §4.8.2, 93 s
 * by default) after its latest block: by then the client has given up.
 * 0 keeps the current value. Takes effect for the next block 0. */
void coap_server_set_upload_limits(coap_server_t *srv, uint32_t max_uploads, uint32_t per_peer);

/* The amplification bound (RFC 7252 §11.3, RFC 9175 §2.4): an answer to a
 * peer whose address is not verified is at most 3 times its request's
 * datagram. A GET or FETCH whose answer (or Block2's first block) is
 * larger is answered 4.01 Unauthorized with an Echo option: a fresh
 * (30 s), opaque 12-byte value bound to the peer's address and port. The
 * same request with that Echo verifies the address, which is remembered
 * for 10 minutes (in 1024 slots: a peer evicted by another is asked
 * again), and is answered in full; a wrong or stale Echo is challenged
 * again. The answer to an unsafe request (it has acted already) goes out
 * in Block2 blocks small enough for the bound (at least 16 bytes), the
 * rest kept for the follow-ups. On a transport that verifies addresses
 * itself (DTLS) every peer is verified. The server's own error answers are
 * never larger than the request anyway. */
typedef struct {
    uint64_t echo_challenges;      /* 4.01 with Echo sent */
    uint64_t echo_verified;        /* requests whose Echo verified their address */
    uint64_t echo_refused;         /* requests with a wrong or stale Echo */
    uint64_t amplification_blocks; /* unsafe requests' answers cut to smaller blocks */
} coap_server_stats_t;
const coap_server_stats_t *coap_server_stats(const coap_server_t *srv);

void coap_server_on_register(coap_server_t *srv, coap_register_cb cb, void *arg);
void coap_server_on_deregister(coap_server_t *srv, coap_deregister_cb cb, void *arg);
void coap_server_on_complete(coap_server_t *srv, coap_complete_cb cb, void *arg);

/* Requests carrying Proxy-Uri or Proxy-Scheme (RFC 7252 §5.7) go to this
 * handler, with req->resource NULL; without one they get 5.05 Proxying Not
 * Supported. Block1 bodies are reassembled first, and a large answer is kept
 * for the Block2 requests that follow (the origin is asked once). */
void coap_server_set_proxy(coap_server_t *srv, coap_handler_t handler, void *arg);
/* Admission for the proxy handler's requests, as coap_resource_set_admit()
 * (NULL: everyone). */
void coap_server_set_proxy_admit(coap_server_t *srv, coap_admit_cb cb, void *arg);

/* Sends the empty ACK of a pending CON request now (§5.2.2), for an answer
 * known to take a while. Returns COAP_ERR_INVALID for an unknown id. */
int coap_server_ack(coap_server_t *srv, uint64_t id);

/* Answers request `id` (now or later). Returns COAP_OK, or COAP_ERR_INVALID
 * when the id is unknown (answered, or the client gave up). */
int coap_server_respond(coap_server_t *srv, uint64_t id, const coap_server_response_t *resp);

/* Sends `rep` to every observer of res (RFC 7641 §4.2) with the next
 * sequence number. An error code ends the observations. Returns the number
 * of observers notified. */
int coap_server_notify(coap_server_t *srv, coap_server_resource_t *res,
                       const coap_server_response_t *rep);
size_t coap_server_observers(const coap_server_resource_t *res);

/* For a resource whose representation depends on the query (a lookup,
 * RFC 9176 §6): build is asked for each observer of res with the Uri-Query
 * of its registration ('&'-joined, "" for none) and a word of the
 * application's own kept with that observer (the observe_word of the
 * answer that registered it, e.g. a hash of what it was sent last). It fills rep (a 2.xx; its
 * payload must stay valid until build is called again or this returns) and returns 1 to notify the
 * observer, 0 to leave it alone. Returns the number notified. */
typedef int (*coap_notify_build_cb)(const char *query, uint64_t *word, coap_server_response_t *rep,
                                    void *arg);
int coap_server_notify_each(coap_server_t *srv, coap_server_resource_t *res,
                            coap_notify_build_cb build, void *arg);

#endif
