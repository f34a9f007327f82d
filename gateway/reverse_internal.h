/*
 * reverse_internal.h - what the parts of the reverse direction share:
 * reverse.c (the proxy handler on the gateway's CoAP port and its life
 * cycle), origin_policy.c (which HTTP origins may be reached),
 * reverse_http.c (forwarding to HTTP origins with libcurl) and
 * reverse_coap.c (forwarding coap[s]:// with the CoAP client). Internal to
 * the reverse direction.
 */
#ifndef REVERSE_INTERNAL_H
#define REVERSE_INTERNAL_H

#include "base_buf.h"
#include "gw_reverse.h"
#include "http_client.h"

/* proxy.allow_origins, validated: origin entries and address ranges. */
typedef struct {
    gw_acl_t *ranges;   /* address and CIDR entries (the local guards apply) */
    base_buf_t origins; /* char *[]: "scheme://host:port", host lower case */
} rv_origins_t;

#define RV_SERVERS   4 /* coap.listen, coap.listen_dtls, coap.listen_tcp, coap.listen_tls */
#define RV_SPARE_FWD 8 /* forwarded requests' states kept for the next ones */

struct gw_reverse {
    gw_t *gw;
    coap_server_t *srv[RV_SERVERS]; /* the servers whose proxy requests it serves */
    size_t nsrv;
    http_client_t *http;
    rv_origins_t origins; /* replaced whole by a reload */
    /* Finished HTTP forwards' states (reverse_http.c), about 4 KB each:
     * malloc'ing that size merges the allocator's free lists on every
     * request (issue #19). */
    void *spare_fwd[RV_SPARE_FWD];
    size_t nspare_fwd;
    http_url_memo_t urls; /* the Proxy-Uris parsed last (reverse_http.c) */
};

/* origin_policy.c */

/* Builds the policy of `n` proxy.allow_origins entries into p (treated as
 * uninitialized). Returns 0, or -1 with a message in err and p freed. */
int rv_origins_build(rv_origins_t *p, char *const *origins, size_t n, char *err, size_t errlen);
void rv_origins_free(rv_origins_t *p);
/* One URL's origin, parsed once per request (and per redirect hop): the
 * checks before and after DNS read it instead of parsing the URL again. */
typedef struct {
    char key[600]; /* "scheme://host:port", host lower case */
    char host[300];
    uint16_t port;
} rv_origin_t;

/* Before any connection: whether the origin of url (NULL: a URL that did
 * not parse) may be reached. An origin named by address is decided now;
 * one named by host name must be listed, or a range might allow its
 * address (rv_origin_addr_ok decides after DNS). o gets url's origin (for
 * rv_origin_addr_ok); diag gets the reason of a refusal. */
int rv_origin_allowed(const rv_origins_t *p, const http_url_t *url, rv_origin_t *o, char *diag,
                      size_t cap);
/* After DNS: whether origin o (from rv_origin_allowed) may be reached at
 * address a. */
int rv_origin_addr_ok(const rv_origins_t *p, const rv_origin_t *o, const coap_addr_t *a);

/* reverse.c: answers request id (of srv) with code and an optional
 * diagnostic payload. */
void rv_answer(coap_server_t *srv, uint64_t id, uint8_t code, const char *diag);

/* reverse.c: the empty ACK of a forwarded request at once (RFC 7252
 * §5.2.2) when the client shows it takes a block-wise answer in a separate
 * response; otherwise the endpoint's defer_ack_ms (README, "The reverse
 * direction"). */
void rv_ack_early(coap_server_t *srv, const coap_server_request_t *req);

/* reverse_http.c: forwards req (to srv) to the http(s):// uri; answered
 * later. */
void rv_forward_http(gw_reverse_t *rv, coap_server_t *srv, const coap_server_request_t *req,
                     const char *uri);
/* reverse_http.c: frees the kept states, once no call is in flight. */
void rv_http_free_spares(gw_reverse_t *rv);

/* reverse_coap.c: forwards req (to srv) to the coap[s]:// uri (hop: its
 * Hop-Limit, more than 1); answered later. */
void rv_forward_coap(gw_reverse_t *rv, coap_server_t *srv, const coap_server_request_t *req,
                     const char *uri, uint32_t hop);

#endif
