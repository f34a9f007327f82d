/*
 * http_client.h - HTTP requests to origins through libcurl's multi
 * interface, driven by the coapgw loop (socket and timer callbacks: no
 * curl_easy_perform, no thread). Connections to an origin are reused.
 *
 * Redirects are not followed: a 3xx is returned to the caller as it is.
 */
#ifndef HTTP_CLIENT_H
#define HTTP_CLIENT_H

#include "base_loop.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct http_client http_client_t;
typedef struct http_call http_call_t;

enum {
    HTTP_CALL_OK = 0,         /* an HTTP response arrived (any status) */
    HTTP_CALL_TIMEOUT = -1,   /* no complete response within the timeout */
    HTTP_CALL_CONNECT = -2,   /* connection refused or failed, host unreachable */
    HTTP_CALL_DNS = -3,       /* the host name did not resolve */
    HTTP_CALL_TOO_LARGE = -4, /* the response body passed the limit */
    HTTP_CALL_REFUSED = -5,   /* the address check refused the address */
    HTTP_CALL_CANCELLED = -6, /* http_call_cancel() or http_client_free() */
    HTTP_CALL_ERROR = -7,     /* anything else (TLS, protocol error) */
};

typedef struct {
    int result;        /* HTTP_CALL_* */
    const char *error; /* a one-line description when result != OK */
    unsigned status;   /* the HTTP status when result == OK */
    const char *content_type, *etag, *cache_control, *expires, *location; /* or NULL */
    const uint8_t *body;
    size_t body_len;
} http_result_t;

/* Called once per call; everything in r is valid during the call only.
 * The call is freed after it returns. */
typedef void (*http_done_cb)(http_call_t *call, const http_result_t *r, void *arg);
/* Decides on an origin address (after DNS): return 1 to allow, 0 to refuse
 * (the call then ends with HTTP_CALL_REFUSED). It runs on each address
 * before a connection to it is opened, and again on the connection's
 * address and port before the request is sent, whether the connection is
 * new or reused from an earlier call: a refusal then sends nothing. */
typedef int (*http_addr_check_cb)(const struct sockaddr *addr, socklen_t len, void *arg);

http_client_t *http_client_new(base_loop_t *loop);
/* Cancels every call still running (their callbacks run with
 * HTTP_CALL_CANCELLED), then frees the client. */
void http_client_free(http_client_t *c);
size_t http_client_running(const http_client_t *c);

/* An absolute URL parsed once with libcurl's URL API, so that what the
 * caller checks and what curl fetches come from the same parse (which
 * costs thousands of instructions: once per request is enough). */
typedef struct {
    char scheme[16];        /* lower case */
    char host[300];         /* IPv6 without brackets */
    unsigned port;          /* the scheme's default when absent (0: unknown scheme) */
    struct Curl_URL *curlu; /* curl's parse, until released or taken by a call */
} http_url_t;

/* Parses url (any scheme, so that the caller can name the one it refuses).
 * Returns 0, or -1 when it does not parse, has no host or a part does not
 * fit (u then holds nothing to release). */
int http_url_parse(const char *url, http_url_t *u);
/* Frees u's parse, if it still holds one; its other fields stay. */
void http_url_release(http_url_t *u);

/* The last few URLs parsed, by their text: a URL asked for again (a
 * device polling an origin) gets a copy of its parse, at a tenth of the
 * parse's cost (issue #19). The same text always parses the same, so what
 * the caller checks is still what curl fetches. Zeroed to start. */
#define HTTP_URL_MEMO 4
typedef struct {
    char *text[HTTP_URL_MEMO];
    http_url_t url[HTTP_URL_MEMO]; /* each holds its parse */
    unsigned next;                 /* the slot replaced next */
} http_url_memo_t;

/* http_url_parse through m: the same results, u to be released alike. */
int http_url_parse_memo(http_url_memo_t *m, const char *url, http_url_t *u);
void http_url_memo_free(http_url_memo_t *m);

/* A call: method ("GET", "POST", ..., "FETCH", "PATCH") and absolute URL
 * (http:// or https://). Returns NULL on a bad URL or no memory. */
http_call_t *http_call_new(http_client_t *c, const char *method, const char *url);
/* The same with a parsed URL, whose parse the call takes (u is released,
 * whatever the outcome). */
http_call_t *http_call_new_parsed(http_client_t *c, const char *method, http_url_t *u);
int http_call_add_header(http_call_t *call, const char *name, const char *value);
int http_call_set_body(http_call_t *call, const void *body, size_t len); /* copied */
void http_call_set_timeout(http_call_t *call, unsigned ms);              /* default 10000 */
void http_call_set_max_body(http_call_t *call, size_t max);              /* default 1 MiB */
void http_call_set_addr_check(http_call_t *call, http_addr_check_cb cb, void *arg);
/* The body as it arrives (a stream, e.g. text/event-stream): status and
 * content_type (or NULL) of the response, then a piece of its body. Return
 * 0 to go on, -1 to stop the transfer (the call then ends with
 * HTTP_CALL_ERROR). It must not cancel the call itself. */
typedef int (*http_data_cb)(http_call_t *call, unsigned status, const char *content_type,
                            const uint8_t *data, size_t len, void *arg);
/* Hands the body to cb instead of collecting it (max_body does not apply;
 * the done callback's result has no body). Set a timeout of 0 for a
 * stream that may last: 0 is no timeout. */
void http_call_set_stream(http_call_t *call, http_data_cb cb, void *arg);
/* Starts the call. On failure the call is freed, no callback runs, and a
 * negative HTTP_CALL_* is returned. */
int http_call_start(http_call_t *call, http_done_cb done, void *arg);
/* Ends the call now; its callback runs with HTTP_CALL_CANCELLED. */
void http_call_cancel(http_call_t *call);

/* Splits an absolute URL (http_url_parse) into the caller's buffers.
 * Returns 0, or -1 when the URL does not parse or has no host. */
int http_url_split(const char *url, char *scheme, size_t scheme_cap, char *host, size_t host_cap,
                   unsigned *port);

/* The URL for a log line or a diagnostic: url itself when it has no
 * userinfo (no '@': nothing parsed), else out with the password replaced
 * by "***" through libcurl's URL API (or a placeholder when it does not
 * parse), so that credentials in a Proxy-Uri never reach the log. */
const char *http_url_shown(const char *url, char *out, size_t cap);

/* Resolves ref (a Location: absolute, or relative to base, RFC 3986 §5)
 * against the absolute URL base with libcurl's URL API, so that the URL
 * checked is the one curl fetches. out gets the absolute URL. Returns 0,
 * or -1 when either does not parse or the result does not fit. */
int http_url_resolve(const char *base, const char *ref, char *out, size_t cap);

/* A blocking GET of url (at most timeout_ms), for `coapgw --healthcheck`
 * in a process of its own, never inside the loop. Returns the HTTP status,
 * or -1; msg gets one line saying which. */
int http_healthcheck(const char *url, unsigned timeout_ms, char *msg, size_t cap);

#endif
