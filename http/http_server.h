/*
 * http_server.h - the HTTP front end: libmicrohttpd in external-polling
 * epoll mode inside the coapgw loop, with suspend/resume so a request can
 * be answered later (when its CoAP exchange ends) without a thread.
 *
 * The handler runs once per request, after the whole body has arrived (a
 * body over max_body is answered 413 before the handler runs). It answers
 * with http_respond() at once or later; until then the connection waits
 * (unsuspended for one more MHD run, then suspended: server.c's
 * wait_for_answer). If the client goes away first, the abort callback set with
 * http_req_on_abort() runs and the request is freed: do not use it after.
 */
#ifndef HTTP_SERVER_H
#define HTTP_SERVER_H

#include "base_loop.h"
#include "http_tls.h"

#include <stddef.h>
#include <stdint.h>

#define HTTP_CONN_SPARE 16 /* connections over max_connections that get their 503 */

typedef struct http_server http_server_t;
typedef struct http_req http_req_t;

typedef void (*http_handler_t)(http_req_t *req, void *arg);
typedef void (*http_abort_cb)(http_req_t *req, void *arg);

/* A request is over (its answer sent, its stream ended, or its client
 * gone): what an access log line and the request metrics need. */
typedef struct {
    const char *method, *path, *client;
    const char *target, *note; /* from http_req_set_log(), or NULL */
    unsigned status;           /* 499 when the client left before the answer; 0 when
                                  libmicrohttpd refused the request itself (header
                                  too large, malformed...; method "-") */
    uint64_t duration_us;      /* headers received -> answer sent (streams: their life) */
    int tls;                   /* it came over HTTPS */
} http_done_t;

typedef struct {
    const char *listen; /* "0.0.0.0:8080", "[::]:8080", "127.0.0.1:0" */
    /* A listening TCP socket to serve instead of binding listen (one a
     * service manager passed in, so connections wait in its backlog while
     * no server runs); listen then only names it in messages. Taken over
     * (closed with the server). 0: bind
     * (descriptor 0 is never one: passed sockets start at 3). */
    int listen_fd;
    size_t max_body;    /* default 1 MiB */
    size_t conn_memory; /* MHD's per-connection pool, default 16 KiB */
    /* Connections open at once (default 20000). Up to HTTP_CONN_SPARE
     * more are accepted and get 503 with Retry-After and limit_text as
     * soon as their request header is in, then closed; beyond those,
     * libmicrohttpd stops accepting (they wait in the kernel's backlog). */
    unsigned max_connections;
    const char *limit_text; /* the 503's text; NULL: "too many connections" */
    /* A connection on which nothing moves either way for this long is
     * closed (libmicrohttpd's timeout; default 60). It is also the time a
     * request body has, from the end of its header, to arrive whole (a
     * body trickled a byte at a time never looks idle). */
    unsigned conn_timeout_s;
    /* connections open at once from one address, an IPv6 one's /64 (a
     * host may use any address of its /64), ::1 itself; 0: no limit. The
     * ones beyond are closed at accept. */
    unsigned max_conn_per_ip;
    /* The time a connection has to deliver a complete request header,
     * counted from its start or, kept alive, from the end of its previous
     * request (so an idle keep-alive connection stays that long); after
     * it the connection is closed, however it trickles (slowloris). Asked
     * with the handler's arg each time a wait starts, so it may change
     * (a reload). NULL or 0: only conn_timeout_s, which counts idleness. */
    uint32_t (*header_timeout_ms)(void *arg);
    void (*log)(const char *msg); /* libmicrohttpd's own messages; NULL: dropped */
    /* Runs once per request that reached the handler (or got 413), with
     * the handler's arg; NULL: none. */
    void (*done)(const http_done_t *d, void *arg);
    /* HTTPS (GnuTLS through libmicrohttpd): the certificate and key this
     * listener presents, for every handshake (the server keeps a
     * reference; http_server_set_tls() replaces them). NULL: plain HTTP.
     * The header deadline counts from the TCP connection, so it also
     * ends a handshake that never completes. */
    http_tls_creds_t *tls;
    /* With tls: a PEM file of CA certificates. Clients are asked for a
     * certificate; a request over a connection whose client presented
     * none, or one that does not chain to these CAs (or is not for TLS
     * clients), gets 403 with the reason as soon as its header is in
     * (no body is read, the handler never runs) and the connection
     * closes. NULL: no client certificates. */
    const char *tls_client_ca;
} http_server_params_t;

/* Starts listening and registers with the loop. Returns NULL with a
 * message in err. */
http_server_t *http_server_new(base_loop_t *loop, const http_server_params_t *p,
                               http_handler_t handler, void *arg, char *err, size_t errlen);
/* Stops listening, aborts requests still pending, frees the server. */
void http_server_free(http_server_t *srv);
/* HTTPS: new handshakes present c from now on (the server takes a
 * reference); connections already open keep what they have. Nothing on
 * a plain HTTP server. */
void http_server_set_tls(http_server_t *srv, http_tls_creds_t *c);
/* The port actually bound (useful with port 0). */
uint16_t http_server_port(const http_server_t *srv);
/* Stops accepting new connections and closes the listening socket
 * (graceful shutdown): connecting clients are refused at once, and every
 * answer from now on carries "Connection: close". */
void http_server_quiesce(http_server_t *srv);
/* Connections ended by the server's limits, and requests that waited
 * suspended, since it started. */
typedef struct {
    uint64_t refused;         /* over max_connections: answered 503 and closed */
    uint64_t header_timeouts; /* no complete request header in time */
    uint64_t body_timeouts;   /* no complete request body within conn_timeout_s */
    uint64_t idle_timeouts;   /* a request (an event stream) on which nothing moved */
    uint64_t suspended;       /* requests still unanswered one MHD run after the handler */
} http_server_stats_t;
const http_server_stats_t *http_server_stats(const http_server_t *srv);
/* Requests currently waiting for an answer. */
size_t http_server_pending(const http_server_t *srv);
/* Requests not over yet: waiting, being sent, or open streams. */
size_t http_server_requests(const http_server_t *srv);
/* Answers every request still waiting with status and a text message
 * (their abort callbacks run first, so owners let go) and ends every
 * stream. The loop then sends them. */
void http_server_answer_pending(http_server_t *srv, unsigned status, const char *msg);

/* --- the request --- */
const char *http_req_method(const http_req_t *req);
/* The path as sent, still percent-encoded (no query). */
const char *http_req_path(const http_req_t *req);
/* The query string as sent (without '?'), or "" when none. */
const char *http_req_query(const http_req_t *req);
/* A request header (case-insensitive name), or NULL. */
const char *http_req_header(const http_req_t *req, const char *name);
/* A query argument, percent-decoded, or NULL. */
const char *http_req_arg(const http_req_t *req, const char *name);
/* Calls fn for every query argument with this name, percent-decoded. */
void http_req_each_arg(const http_req_t *req, const char *name,
                       void (*fn)(const char *value, void *arg), void *arg);
const uint8_t *http_req_body(const http_req_t *req, size_t *len);
/* "ip:port" of the client. */
const char *http_req_client(const http_req_t *req);
/* Whether the request came over HTTPS (its own origin is https://Host). */
int http_req_is_tls(const http_req_t *req);

void http_req_on_abort(http_req_t *req, http_abort_cb cb, void *arg);
/* What the access log says about the request besides method, path and
 * status: the target it went to and a short note (both copied; NULL: none). */
void http_req_set_log(http_req_t *req, const char *target, const char *note);

/* --- the answer --- */
/* Adds a response header (copied). Call before http_respond(). */
int http_req_add_header(http_req_t *req, const char *name, const char *value);
/* Sends the response (the body is copied) and, if the request was
 * suspended, resumes it. The request must not be used after. */
int http_respond(http_req_t *req, unsigned status, const char *content_type, const void *body,
                 size_t len);
/* A response built once and queued for many requests, answered alike
 * (the cache's answers: issue #19). It carries the headers of the request
 * it was built from (those added with http_req_add_header) and extra
 * ("NAME", "VALUE", ..., NULL) after them; the body is copied. The caller
 * holds one reference; NULL when out of memory. */
typedef struct http_shared http_shared_t;
http_shared_t *http_shared_new(const http_req_t *req, const char *content_type, const void *body,
                               size_t len, const char *const *extra);
void http_shared_release(http_shared_t *s);
/* Answers req with s, as http_respond would with the same type, body and
 * headers. Returns -1, doing nothing, unless req carries exactly the
 * headers s was built with and comes to the same server (and that server
 * is not stopping, when each answer gets "Connection: close"). */
int http_respond_shared(http_req_t *req, unsigned status, http_shared_t *s);
/* A short text/plain answer, for errors: "STATUS MESSAGE\n". */
int http_respond_text(http_req_t *req, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* --- streaming (Server-Sent Events) --- */
typedef struct http_stream http_stream_t;
/* Copies up to max bytes of the stream into buf. Returns the count, 0 when
 * nothing is ready (the connection sleeps until http_stream_wake()), or -1
 * to end the stream. */
typedef long (*http_pull_cb)(void *arg, char *buf, size_t max);
/* The stream is over (the client left, or pull ended it, or the server is
 * stopping); no call on the stream after this one. */
typedef void (*http_closed_cb)(void *arg);

/* Answers req with 200 and a body produced by pull, sent as it comes
 * (headers added with http_req_add_header() go out too): on HTTPS chunked,
 * on plain HTTP with "Connection: close" and a body that the close ends,
 * written straight to the socket while MHD holds the connection suspended. The stream
 * relays other parties' data: it carries "X-Content-Type-Options: nosniff"
 * and "Content-Security-Policy: default-src 'none'; sandbox" unless those
 * headers were added. Returns NULL on failure (then answer req normally). */
http_stream_t *http_respond_stream(http_req_t *req, const char *content_type, http_pull_cb pull,
                                   http_closed_cb closed, void *arg);
/* Data is ready: wakes a sleeping stream. Cheap when it is awake. */
void http_stream_wake(http_stream_t *s);
/* Streams open right now. */
size_t http_server_streams(const http_server_t *srv);

#endif
