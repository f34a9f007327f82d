/*
 * http_client_internal.h - what the HTTP client's files share, not part
 * of the http/ API: the client (client.c: its curl multi handle driven by
 * the loop), the call (call.c: one request and its response; call_addr.c:
 * its address check) and url.c.
 */
#ifndef HTTP_CLIENT_INTERNAL_H
#define HTTP_CLIENT_INTERNAL_H

#include "base_buf.h"
#include "base_list.h"
#include "http_client.h"

#include <curl/curl.h>

/* The response headers handed to the caller. */
enum { H_CTYPE, H_ETAG, H_CACHE_CONTROL, H_EXPIRES, H_LOCATION, H_COUNT };

struct http_call {
    base_list_t link; /* in c->calls: every call of the client, started or not */
    http_client_t *c;
    CURL *easy;
    CURLU *url; /* the parsed URL curl fetches (CURLOPT_CURLU) */
    char *method;
    struct curl_slist *headers;
    base_buf_t req_body;
    unsigned timeout_ms;
    size_t max_body;
    http_addr_check_cb check;
    void *check_arg;
    unsigned zone_scope; /* the URL's IPv6 zone as curl applies it, or 0 */
    http_done_cb done;
    void *done_arg;
    http_data_cb on_data; /* set: the body goes there as it comes, not into body */
    void *data_arg;
    base_buf_t body; /* the response body, at most max_body */
    char *hdr[H_COUNT];
    uint8_t has_body, has_ctype, oom, started, finishing;
    uint8_t refused;   /* the address check said no at least once */
    uint8_t too_large; /* the write callback stopped the transfer on max_body */
    uint8_t hdr_done;  /* past the final header block: what follows are trailers */
    uint8_t unwatched; /* the loop could not watch one of its sockets */
    uint8_t plain;     /* a GET without a body: no method option set */
    uint8_t reusable;  /* plain, and ended well on a kept connection */
    char errbuf[CURL_ERROR_SIZE];
};

/* Easy handles kept for the next calls: curl_easy_init() and
 * curl_easy_cleanup() cost more than a reset, and a reset more than
 * setting again only what a call sets (issue #19). */
#define HTTP_IDLE_EASY 16

struct http_client {
    base_loop_t *loop;
    CURLM *multi;
    CURL *idle[HTTP_IDLE_EASY]; /* out of the multi, with the defaults */
    size_t nidle;
    uint8_t *socks; /* per descriptor: HTTP_SOCK_* (client.c) */
    size_t nsocks;
    base_loop_timer_t *timer;
    base_list_t calls; /* http_call_t */
    size_t running;
    size_t peak;   /* the most calls running at once so far */
    int busy;      /* our frames on the stack that still use the client */
    int closing;   /* http_client_free() was called: no new calls */
    int unwatched; /* some call has `unwatched` set */
};

/* client.c: a frame that calls out (a user callback) holds the client, so
 * that a callback freeing it leaves the freeing to the last frame out. */
void http_client_hold_(http_client_t *c);
void http_client_release_(http_client_t *c);
/* client.c: a connection's socket, opened by the call's
 * CURLOPT_OPENSOCKETFUNCTION (call_addr.c), and its closing: the
 * CURLOPT_CLOSESOCKETFUNCTION of every call, with the client as its data.
 * Only such sockets are parked between calls (client.c). */
void http_client_sock_opened_(http_client_t *c, curl_socket_t s);
int http_client_close_sock_(void *clientp, curl_socket_t s);
/* client.c: an easy handle for a new call (an idle one, or a new one), or
 * NULL, with http_call_easy_defaults_ set; and back from a finished call,
 * out of the multi, to be kept or cleaned up. as_is: the call was plain
 * and ended well, every other option it set is set by the next call too
 * (call.c's configure), so it is kept as it is; otherwise it is reset to
 * the defaults (no option of one call reaches the next). */
CURL *http_client_easy_(http_client_t *c);
void http_client_easy_back_(http_client_t *c, CURL *easy, int as_is);
/* call.c: the options every call of client c has: set once per handle. */
CURLcode http_call_easy_defaults_(CURL *e, http_client_t *c);

/* client.c: a call started (c->running counts it). */
void http_client_started_(http_client_t *c);

/* call.c: ends a started call: out of the multi (its connection goes back
 * to the cache), out of the list, callback, freed. result HTTP_CALL_OK
 * means "what cc says"; any other result is imposed (cancelled,
 * unwatched). */
void http_call_finish_(http_call_t *call, int result, CURLcode cc);
/* Frees a call never started (no callback), out of the list. */
void http_call_discard_(http_call_t *call);

/* call_addr.c: sets curl's socket hooks on the call's handle, and its
 * address check's when it has one. Returns a CURLcode. */
CURLcode http_call_set_addr_hooks_(http_call_t *call);
/* url.c: the scope curl gives the addresses of u's IPv6 zone
 * ("http://[fe80::1%25eth0]/"), or 0. */
unsigned http_url_zone_scope_(const http_url_t *u);

#endif
