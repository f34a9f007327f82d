/*
 * gw.h - the gateway's state and the pieces main.c wires together. Internal
 * to gateway/.
 */
#ifndef GW_H
#define GW_H

#include "cfg.h"
#include "coap_client.h"
#include "base_list.h"
#include "base_loop.h"
#include "coap_server.h"
#include "coap_uri.h"
#include "gw_acl.h"
#include "gw_cache.h"
#include "gw_devices.h"
#include "gw_passed.h"
#include "gw_strmap.h"
#include "http_server.h"

#define GW_VERSION "0.1.0"

/* Text sizes derived from the engine's URI limit (COAP_URI_BUF: the
 * decoded path and query one request carries). A coap:// URI as text: that
 * path and query, plus the scheme, host and port around them. */
#define GW_URI_MAX (COAP_URI_BUF + 100)
/* A message that names a URI: the URI and a sentence around it. */
#define GW_MSG_MAX (GW_URI_MAX + 200)

typedef struct {
    uint64_t http_requests, cache_hits, cache_misses, cache_revalidated, coalesced;
    uint64_t coap_timeouts, coap_errors;
} gw_stats_t;

/* coap.max_exchanges and coap.max_pending_per_peer (limits.c): the
 * budget every client endpoint's requests count in (and the forward
 * proxy's HTTP calls), what was refused, and the refusals' log line. */
enum { GW_LIMIT_EXCHANGES, GW_LIMIT_PENDING, GW_NLIMITS };
typedef struct {
    coap_req_budget_t budget;
    uint64_t refused[GW_NLIMITS];
    uint64_t logged_ms[GW_NLIMITS]; /* the last log line (at most one a second each) */
    uint64_t unlogged[GW_NLIMITS];  /* refusals since then, told in the next one */
} gw_limits_t;

/* One side's failed DTLS handshakes by reason (gw_dtls_count_failure,
 * dtls_listen.c: its table of reasons has GW_DTLS_REASONS rows). */
#define GW_DTLS_REASONS 11
typedef struct {
    uint64_t by_reason[GW_DTLS_REASONS];
} gw_dtls_failures_t;

struct gw_hub;
struct gw_reverse;
struct gw_metrics;
struct gw_drain;
struct gw_rd;
struct gw_coaps;
struct gw_creds;
struct gw_ids;
struct gw_store;
struct gw_disc;
struct gw_dns;

typedef struct gw {
    coap_server_t *srv;         /* the gateway's CoAP server (on srv_ep) */
    struct gw_reverse *reverse; /* CoAP -> HTTP / CoAP forward proxy */
    struct gw_hub *hub;         /* Observe -> Server-Sent Events */
    struct gw_rd *rd;           /* Resource Directory on srv (NULL: rd disabled) */
    base_loop_t *loop;
    coap_ep_t *ep;        /* client side: an ephemeral dual-stack port */
    coap_ep_t *srv_ep;    /* the gateway's own CoAP port (coap.listen) */
    coap_addr_t srv_addr; /* its bound address (unmapped), read once at start */
    /* client side for coaps:// targets: DTLS on a port of its own (coaps.c) */
    coap_ep_t *coaps_ep;
    struct gw_coaps *coaps; /* its peers' credentials and counters */
    struct gw_creds *creds; /* credentials: for coaps:// devices (creds.c), replaced on reload */
    /* The DTLS listener (coap.listen_dtls, dtls_listen.c; NULL when off):
     * the same resources as srv, and the way back to the devices that
     * registered through it (their sessions) */
    coap_ep_t *dtls_ep;
    coap_server_t *dtls_srv;
    coap_transport_t *dtls;         /* dtls_ep's transport */
    coap_addr_t dtls_addr;          /* its bound address (unmapped) */
    struct gw_ids *ids;             /* dtls.identities, swapped whole on reload */
    struct dtls_creds *dtls_creds;  /* read at start, until the listener holds them */
    gw_dtls_failures_t dtls_failed; /* its failed handshakes by reason */
    /* CoAP over TCP (tcp.c): the client side for coap+tcp:// targets, and
     * the listener (coap.listen_tcp; NULL when off), through which a device
     * that registered over its connection is reached back */
    coap_ep_t *tcp_ep;
    coap_ep_t *tcp_srv_ep;
    coap_server_t *tcp_srv;
    coap_addr_t tcp_addr; /* the listener's bound address (unmapped) */
    /* CoAP over TLS (tls.c): the same two on TLS (coaps+tcp://, RFC 8323
     * §9) with the credentials of DTLS: "credentials" for targets, dtls.*
     * for the listener (coap.listen_tls; NULL when off) */
    coap_ep_t *tls_ep;
    coap_ep_t *tls_srv_ep;
    coap_server_t *tls_srv;
    coap_addr_t tls_addr;               /* the TLS listener's bound address (unmapped) */
    struct dtls_tls *tls_listen_filter; /* its TLS filter (the transport owns it), for reloads */
    gw_passed_t passed;                 /* sockets a service manager passed in (passed.c) */
    http_server_t *http;                /* http.listen, NULL when off */
    http_server_t *https;               /* http.listen_tls, NULL when off */
    http_tls_creds_t *tls; /* HTTPS credentials read at start, until the listener holds them */
    cfg_t cfg;
    gw_acl_t *acl;
    /* proxy.coap_clients: the sources the CoAP forward proxy serves (clients.c) */
    gw_acl_t *coap_clients;
    gw_cache_t *cache;      /* NULL when disabled */
    gw_strmap_t *inflight;  /* coalescing: key -> gw_exchange */
    gw_strmap_t *devices;   /* name -> gw_device_t (devices.c) */
    gw_strmap_t *group_obs; /* observations of groups, shared (groups.c); NULL until one */
    /* group requests with event streams (groups_subs.c): checked on reload */
    base_list_t group_streams;
    gw_stats_t stats;
    gw_limits_t limits;
    char http_limit_text[96];   /* the 503's text past http.max_connections */
    struct gw_metrics *metrics; /* /metrics counters (metrics.c) */
    struct gw_drain *drain;     /* non-NULL while shutting down (shutdown.c) */
    struct gw_store *store;     /* durable state (state.path; gw_store.h) */
    struct gw_disc *disc;       /* multicast discovery (discovery.c) */
    struct gw_dns *dns;         /* host names of targets (dns.c; NULL: none resolve) */
    struct gw_forward *forward; /* to the gateway holding a device (forward.c) */
} gw_t;

/* A resolved target of a proxied request. */
typedef struct {
    char uri[GW_URI_MAX]; /* canonical coap[s]:// or coap[s]+tcp:// URI: cache key and log text */
    coap_addr_t addr;
    const gw_device_t *device;
    /* the endpoint that reaches it (gw_target_ep picks it): NULL, or the
     * listener's for a device reached through the DTLS session it
     * registered over */
    coap_ep_t *ep;
    int secure;      /* coaps:// (through gw->coaps_ep unless ep is set) */
    int tcp;         /* coap+tcp:// (through gw->tcp_ep unless ep is set); with
                        secure coaps+tcp:// (gw->tls_ep) */
    char creds[256]; /* ... with the credentials entry of this name (gw_creds_pick) */
} gw_target_t;

/* log.c */
void gw_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gw_log_set_level(int level);
void gw_log_set_format(int format); /* CFG_LOG_TEXT or CFG_LOG_JSON */
/* Now in RFC 3339, UTC, milliseconds: 2026-11-26T02:03:04.567Z (logs, events). */
void gw_rfc3339_now(char *buf, size_t cap);
/* The access log line of a finished HTTP request (5xx at warn). */
void gw_log_request(const http_done_t *d);

/* reload.c: SIGHUP. Reads the configuration file again and applies
 * devices, allowlists and tokens; a bad file is refused with a log line
 * and the old configuration stays in force. */
void gw_reload(gw_t *gw);

/* target.c: whether path is a proxied URL form (/hc, /hc/..., /devices/...). */
int gw_target_path(const char *path);
/* target.c: the target URI written after "/hc/" (rest, not empty) and the
 * request's query q ("" for none), decoded as RFC 8075 §5.3 allows (the
 * whole URI percent-encoded, or its IPv6 brackets), into out. Returns -1
 * when it does not fit. */
int gw_target_hc_uri(const char *rest, const char *q, char *out, size_t cap);
/* Maps the request URL (a proxied URL form) to a target, checks the
 * allowlist; the target URI as parsed in *u (for gw_proxy: the options
 * come from it, not from a second parse of t->uri). On failure answers the
 * HTTP request itself and returns -1; while the target's host name is
 * being resolved, also -1: the request is routed again when the name's
 * query ends (gw_route_after_dns). */
int gw_target_resolve(gw_t *gw, http_req_t *req, gw_target_t *t, coap_parsed_uri_t *u);
/* Not an HTTP status: the target's host name is being resolved (its name
 * in msg); ask again when gw_dns_wait() calls back. */
#define GW_TARGET_WAIT 1
/* The same for a target written as "coap[s]://..." or "/devices/NAME/PATH";
 * returns 0, GW_TARGET_WAIT, or an HTTP status with a message in msg. */
int gw_target_parse(gw_t *gw, const char *spec, gw_target_t *t, char *msg, size_t cap);
/* The same for uri, a URI at device d (its credentials apply). */
int gw_target_of_device(gw_t *gw, const gw_device_t *d, const char *uri, gw_target_t *t, char *msg,
                        size_t cap);

/* router.c: routes req again (gw_route, not counted twice) when the
 * query for host name `name` ends; forgotten if the client goes away. */
void gw_route_after_dns(gw_t *gw, http_req_t *req, const char *name);

/* proxy.c: forwards the request to the target and answers it later; u
 * is t's URI as gw_target_resolve parsed it, or NULL (t->uri is parsed). */
void gw_proxy(gw_t *gw, http_req_t *req, const gw_target_t *t, const coap_parsed_uri_t *u);
/* proxy.c: the request's body into creq with its Content-Format (RFC 8075
 * §6.2); JSON bound for a CBOR resource (body_ct: coap-ct=N, else -1; or
 * the device's advertised links) goes as CBOR. On failure answers req
 * and returns -1. */
int gw_proxy_set_body(http_req_t *req, const gw_target_t *t, int body_ct, coap_req_t *creq);

/* shutdown.c: SIGTERM/SIGINT. The first call starts a graceful shutdown
 * (no new connections, /readyz 503, CoAP requests 5.03, streams ended,
 * observations deregistered, cfg.shutdown_grace_ms for what is in flight)
 * that stops the loop when done; a second call stops the loop at once. */
void gw_shutdown_begin(gw_t *gw);
void gw_shutdown_free(gw_t *gw);

/* router.c: the HTTP entry point. */
void gw_route(http_req_t *req, void *arg);

#endif
