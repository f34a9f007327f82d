/*
 * http_internal.h - the structures shared by server.c (requests) and
 * stream.c (event streams). Not part of the http/ API.
 */
#ifndef HTTP_INTERNAL_H
#define HTTP_INTERNAL_H

#include "base_buf.h"
#include "base_htab.h"
#include "base_list.h"
#include "http_server.h"
#include "http_tls.h"

#include <microhttpd.h>

/* What an answer that may carry other parties' bytes gets (streams, and
 * the refusals http/ writes itself): no sniffing, nothing active. */
#define HTTP_SANDBOX_CSP "default-src 'none'; sandbox"

typedef struct hdr {
    struct hdr *next;
    char *value; /* into text, after the name */
    char text[]; /* "NAME\0VALUE\0": one allocation per header */
} hdr_t;

struct http_req {
    base_list_t link; /* in srv->waiting while the request waits */
    http_server_t *srv;
    struct MHD_Connection *conn;
    char *method, *path, *query;
    base_buf_t body;
    hdr_t *headers;
    struct MHD_Response *resp;
    http_shared_t *shared; /* resp is this one's (shared.c), else NULL */
    unsigned status;
    http_abort_cb on_abort;
    void *abort_arg;
    char client[64];
    char *argbuf; /* the last decoded argument, allocated when asked for */
    char *log;    /* "target\0note" from http_req_set_log(), or NULL */
    uint64_t started_us;
    unsigned handled_run; /* srv->runs when the handler left it waiting */
    uint8_t too_large, handled, answered, streaming;
    uint8_t suspended; /* waits suspended in MHD (server.c: wait_for_answer) */
};

struct http_stream {
    base_list_t link; /* in srv->streams */
    http_server_t *srv;
    struct MHD_Connection *conn;
    http_pull_cb pull;
    http_closed_cb closed;
    void *arg;
    int fd;      /* plain HTTP: the socket, written here while MHD holds it suspended; else -1 */
    char *carry; /* what a direct write left unsent: MHD sends it first once resumed */
    size_t carry_len, carry_off;
    uint8_t sleeping, ending;
};

/* One TCP connection (MHD's socket context). While it waits for a request
 * header it sits in the server's list of waiting connections, by deadline
 * (conn.c: slowloris). */
/* What a connection waits for, each with its deadline (conn.c). */
enum { HTTP_WAIT_HEADER, HTTP_WAIT_BODY, HTTP_NWAITS };

/* Connections waiting for one thing, by deadline; the timer follows the
 * first. */
typedef struct {
    base_list_t list;
    base_loop_timer_t *timer;
} http_waits_t;

typedef struct http_conn {
    base_list_t link; /* in srv->waits[wait] while it waits for a header or a body */
    struct MHD_Connection *mhd;
    http_server_t *srv;
    http_tls_creds_t *creds; /* HTTPS: what its handshake presented (a reference) */
    uint64_t deadline_ms;    /* loop clock */
    uint32_t timeout_ms;     /* what the deadline was set from (for the log) */
    uint8_t timed_out;       /* closed because its wait ran out */
    uint8_t wait;            /* HTTP_WAIT_*: what it waits (or waited) for */
    uint8_t over_limit;      /* opened past max_connections: gets 503 */
    char client[64];         /* its address, formatted once for every request on it */
    base_hnode_t in_site;    /* srv->sites, by site: max_conn_per_ip (conn.c) */
    uint8_t site[16];        /* its address as counted there */
    uint8_t peer_trusted;    /* mutual TLS: its client certificate passed (tls.c) */
} http_conn_t;

struct http_server {
    base_list_t streams; /* open event streams (http_stream_t) */
    size_t nstreams;
    base_loop_t *loop;
    struct MHD_Daemon *d;
    http_server_params_t p;
    http_handler_t handler;
    void *arg;
    int need_run;
    size_t pending;
    size_t nreqs;                    /* http_req_t alive */
    int quiesced;                    /* no new connections; every answer closes its connection */
    base_list_t waiting;             /* http_req_t without an answer yet, suspended or not */
    unsigned runs;                   /* MHD_run calls so far (wraps) */
    http_waits_t waits[HTTP_NWAITS]; /* http_conn_t waiting for a header, a body */
    size_t nconns;                   /* connections open */
    base_htab_t sites;               /* http_conn_t.in_site: open ones by client site */
    http_server_stats_t stats;
    http_tls_creds_t *tls; /* HTTPS: for new handshakes (a reference); NULL: HTTP */
    char *client_ca;       /* mutual TLS: the trusted CAs (PEM), or NULL */
    uint16_t port;
};

/* server.c: the answer of r is ready: count it, resume r if it waits. */
void http_answered_(http_req_t *r);
/* Lets go of the answer prepared for r (queued or not). */
void http_drop_response_(http_req_t *r);

/* conn.c: the header deadline of each connection (slowloris). */
int http_conn_init_(http_server_t *srv);
void http_conn_fini_(http_server_t *srv);
/* MHD_OPTION_NOTIFY_CONNECTION: a connection starts (it waits for its
 * first request header) or is gone. */
void http_conn_notify_(void *cls, struct MHD_Connection *c, void **socket_context,
                       enum MHD_ConnectionNotificationCode code);
/* MHD's accept policy: 1 (MHD_YES) while fewer than max_conn_per_ip are
 * open from the client's site (its IPv6 /64, else its address). */
enum MHD_Result http_conn_admit_(void *cls, const struct sockaddr *addr, socklen_t len);
/* The connection's request header is complete: its body has
 * conn_timeout_s to arrive. Returns 1 when the connection was opened
 * past max_connections (answer 503). */
int http_conn_header_done_(http_server_t *srv, struct MHD_Connection *c);
/* The whole body is in: no deadline any more. */
void http_conn_body_done_(http_server_t *srv, struct MHD_Connection *c);
/* Its request is over: with keep-alive it waits for the next header. */
void http_conn_request_over_(http_server_t *srv, struct MHD_Connection *c);
/* When the connection was closed for a late header or body: the
 * timeout (ms), else 0; *wait says which. */
uint32_t http_conn_closed_late_(struct MHD_Connection *c, int *wait);
/* The client's address, "1.2.3.4:80" or "[::1]:80" ("" if unknown). */
void http_conn_client_(struct MHD_Connection *c, char *out, size_t cap);
/* The connection's state (MHD's socket context), or NULL without memory. */
http_conn_t *http_conn_of_(struct MHD_Connection *c);

/* tls.c: HTTPS. With p->tls, takes a reference to the credentials, reads
 * the client CAs and fills ops (MHD_OPTION_ARRAY, at most 3 items) with
 * the certificate callback and trust list; without, ops is empty. */
int http_tls_init_(http_server_t *srv, const http_server_params_t *p, struct MHD_OptionItem ops[3],
                   char *err, size_t errlen);
void http_tls_fini_(http_server_t *srv);
/* Mutual TLS: when r's client certificate is missing or not trusted,
 * answers r with 403 saying why and returns 1; else 0. */
int http_tls_refused_(http_req_t *r);

#endif
