/*
 * client.c - HTTP requests through libcurl's multi socket interface, driven
 * by the coapgw loop. See http_client.h.
 *
 * One multi handle per client: curl keeps finished transfers' connections in
 * the multi's cache, so calls to the same origin reuse them. curl tells us
 * which sockets to watch (socket callback -> base_loop_*_fd) and when to wake
 * it up (timer callback -> one base_loop timer); we hand events back with
 * curl_multi_socket_action() and collect finished transfers with
 * curl_multi_info_read().
 *
 * Re-entrancy: user callbacks only ever run outside curl (after
 * curl_multi_socket_action() has returned, or from http_call_cancel()), so
 * they may start, cancel or free anything. A callback may even free the
 * client: `busy` counts our frames on the stack and the last one out does
 * the actual freeing.
 */
#include "http_client.h"

#include <curl/curl.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* The response headers handed to the caller. */
enum { H_CTYPE, H_ETAG, H_CACHE_CONTROL, H_EXPIRES, H_LOCATION, H_COUNT };
static const char *const hdr_names[H_COUNT] = {"Content-Type", "ETag", "Cache-Control", "Expires",
                                               "Location"};

struct http_call {
    http_call_t *prev, *next; /* every call of the client, started or not */
    http_client_t *c;
    CURL *easy;
    char *method;
    struct curl_slist *headers;
    uint8_t *req_body;
    size_t req_len;
    unsigned timeout_ms;
    size_t max_body;
    http_addr_check_cb check;
    void *check_arg;
    http_done_cb done;
    void *done_arg;
    uint8_t *body; /* the response body */
    size_t body_len, body_cap;
    char *hdr[H_COUNT];
    uint8_t has_body, has_ctype, oom, started, finishing;
    uint8_t refused;   /* the address check said no at least once */
    uint8_t too_large; /* the write callback stopped the transfer on max_body */
    uint8_t hdr_done;  /* past the final header block: what follows are trailers */
    uint8_t unwatched; /* the loop could not watch one of its sockets */
    char errbuf[CURL_ERROR_SIZE];
};

struct http_client {
    base_loop_t *loop;
    CURLM *multi;
    base_loop_timer_t *timer;
    http_call_t *calls;
    size_t running;
    int busy;      /* our frames on the stack that still use the client */
    int closing;   /* http_client_free() was called: no new calls */
    int unwatched; /* some call has `unwatched` set */
};

/* curl_global_init() is not cheap and, with OpenSSL, not something to undo
 * while the process may still use TLS elsewhere: done once, kept. */
static int curl_ready;

/* --- the client's life and the loop glue --- */

static void client_destroy(http_client_t *c)
{
    /* curl_multi_cleanup() may still call the socket and timer callbacks
     * while it closes connections: the loop and our timer must exist. */
    curl_multi_cleanup(c->multi);
    base_loop_timer_free(c->timer);
    free(c);
}

static void enter(http_client_t *c)
{
    c->busy++;
}

static void leave(http_client_t *c)
{
    if (--c->busy == 0 && c->closing) client_destroy(c);
}

static void on_fd(base_loop_t *loop, int fd, unsigned events, void *arg);

/* CURLMOPT_SOCKETFUNCTION. socketp is NULL until we registered the socket
 * with the loop (curl_multi_assign marks it); curl forgets the mark itself
 * after REMOVE, which it sends before closing the socket. */
static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    http_client_t *c = userp;
    if (what == CURL_POLL_REMOVE) {
        if (socketp) base_loop_del_fd(c->loop, s);
        return 0;
    }
    unsigned ev =
        (what & CURL_POLL_IN ? BASE_LOOP_READ : 0u) | (what & CURL_POLL_OUT ? BASE_LOOP_WRITE : 0u);
    int rc;
    if (socketp) {
        rc = base_loop_mod_fd(c->loop, s, ev);
    } else {
        rc = base_loop_add_fd(c->loop, s, ev, on_fd, c);
        if (rc == -EEXIST) {
            /* A registration left over for a recycled descriptor number. */
            base_loop_del_fd(c->loop, s);
            rc = base_loop_add_fd(c->loop, s, ev, on_fd, c);
        }
        if (!rc) curl_multi_assign(c->multi, s, c);
    }
    if (rc) {
        /* Returning -1 would mark the whole multi handle dead (every later
         * transfer fails): fail this call only, once curl has returned. */
        http_call_t *call = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&call);
        if (call) call->unwatched = 1;
        c->unwatched = 1;
    }
    return 0;
}

/* CURLMOPT_TIMERFUNCTION. curl must not be re-entered from here, so a 0 ms
 * timeout is a timer due now: it runs on the next loop iteration. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    http_client_t *c = userp;
    if (timeout_ms < 0)
        base_loop_timer_disarm(c->timer);
    else
        base_loop_timer_arm_in(c->timer, (uint64_t)timeout_ms);
    return 0;
}

/* --- finishing calls --- */

static void call_free(http_call_t *call)
{
    if (call->easy) curl_easy_cleanup(call->easy);
    curl_slist_free_all(call->headers);
    free(call->method);
    free(call->req_body);
    free(call->body);
    for (int i = 0; i < H_COUNT; i++) free(call->hdr[i]);
    free(call);
}

static void unlink_call(http_call_t *call)
{
    http_client_t *c = call->c;
    if (call->prev)
        call->prev->next = call->next;
    else if (c->calls == call)
        c->calls = call->next;
    if (call->next) call->next->prev = call->prev;
    call->prev = call->next = NULL;
}

/* The refused addresses surface as "could not connect", and our own write
 * callback's refusal as a write error: say why. */
static int map_result(const http_call_t *call, CURLcode cc)
{
    return cc == CURLE_OK                     ? HTTP_CALL_OK
           : cc == CURLE_OPERATION_TIMEDOUT   ? HTTP_CALL_TIMEOUT
           : cc == CURLE_COULDNT_RESOLVE_HOST ? HTTP_CALL_DNS
           : cc == CURLE_COULDNT_CONNECT ? (call->refused ? HTTP_CALL_REFUSED : HTTP_CALL_CONNECT)
           : cc == CURLE_WRITE_ERROR && call->too_large ? HTTP_CALL_TOO_LARGE
                                                        : HTTP_CALL_ERROR;
}

/* Ends a started call: out of the multi (its connection goes back to the
 * cache), out of the list, callback, freed. result HTTP_CALL_OK means "what
 * cc says"; any other result is imposed (cancelled, unwatched). */
static void finish(http_call_t *call, int result, CURLcode cc)
{
    http_client_t *c = call->c;
    char msg[CURL_ERROR_SIZE + 64];
    http_result_t r = {.result = result};
    if (result == HTTP_CALL_OK) r.result = map_result(call, cc);
    if (r.result == HTTP_CALL_OK) {
        long status = 0;
        curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
        r.status = (unsigned)status;
        r.content_type = call->hdr[H_CTYPE];
        r.etag = call->hdr[H_ETAG];
        r.cache_control = call->hdr[H_CACHE_CONTROL];
        r.expires = call->hdr[H_EXPIRES];
        r.location = call->hdr[H_LOCATION];
        r.body = call->body ? call->body : (const uint8_t *)"";
        r.body_len = call->body_len;
    } else if (r.result == HTTP_CALL_CANCELLED) {
        r.error = "cancelled";
    } else if (r.result == HTTP_CALL_TOO_LARGE) {
        snprintf(msg, sizeof msg, "response body larger than %zu bytes", call->max_body);
        r.error = msg;
    } else if (r.result == HTTP_CALL_REFUSED) {
        r.error = "address refused by the address check";
    } else if (call->oom) {
        r.error = "out of memory";
    } else if (call->unwatched) {
        r.error = "the event loop cannot watch the connection";
    } else {
        /* The error buffer has the details (host, errno text) when curl
         * filled it; strip its trailing newline. */
        snprintf(msg, sizeof msg, "%s", call->errbuf[0] ? call->errbuf : curl_easy_strerror(cc));
        msg[strcspn(msg, "\r\n")] = '\0';
        r.error = msg;
    }
    curl_multi_remove_handle(c->multi, call->easy);
    unlink_call(call);
    c->running--;
    call->finishing = 1;
    enter(c);
    call->done(call, &r, call->done_arg);
    call_free(call);
    leave(c);
}

/* Hands every finished transfer to its caller. Stops when a callback freed
 * the client: the remaining calls were cancelled by then. */
static void check_done(http_client_t *c)
{
    while (c->unwatched && !c->closing) {
        /* Rare: rescanning from the head after each finish() is fine, and
         * safe against callbacks that cancel other calls. */
        http_call_t *call = c->calls;
        while (call && !call->unwatched) call = call->next;
        if (call)
            finish(call, HTTP_CALL_ERROR, CURLE_OK);
        else
            c->unwatched = 0;
    }
    CURLMsg *m;
    int left;
    while (!c->closing && (m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        http_call_t *call = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&call);
        /* Copy the result first: removing the handle frees the message. */
        CURLcode cc = m->data.result;
        if (call) finish(call, HTTP_CALL_OK, cc);
    }
}

/* Hands curl an event (or its timeout), then the finished transfers to
 * their callers. */
static void drive(http_client_t *c, curl_socket_t s, int flags)
{
    int running;
    enter(c);
    curl_multi_socket_action(c->multi, s, flags, &running);
    check_done(c);
    leave(c);
}

static void on_fd(base_loop_t *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    drive(arg, fd,
          (events & BASE_LOOP_READ ? CURL_CSELECT_IN : 0) |
              (events & BASE_LOOP_WRITE ? CURL_CSELECT_OUT : 0));
}

static void on_timer(base_loop_t *loop, base_loop_timer_t *t, void *arg)
{
    (void)loop;
    (void)t;
    drive(arg, CURL_SOCKET_TIMEOUT, 0);
}

http_client_t *http_client_new(base_loop_t *loop)
{
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return NULL;
        curl_ready = 1;
    }
    http_client_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->loop = loop;
    c->multi = curl_multi_init();
    c->timer = base_loop_timer_new(loop, on_timer, c);
    if (!c->multi || !c->timer) {
        if (c->multi) curl_multi_cleanup(c->multi);
        base_loop_timer_free(c->timer);
        free(c);
        return NULL;
    }
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    return c;
}

void http_client_free(http_client_t *c)
{
    if (!c || c->closing) return;
    c->closing = 1;
    enter(c);
    /* Callbacks may cancel other calls meanwhile: always take the head. */
    while (c->calls) {
        http_call_t *call = c->calls;
        if (call->started) {
            finish(call, HTTP_CALL_CANCELLED, CURLE_OK);
        } else {
            unlink_call(call);
            call_free(call);
        }
    }
    leave(c);
}

size_t http_client_running(const http_client_t *c)
{
    return c->running;
}

/* --- curl's per-transfer callbacks --- */

static size_t write_cb(char *data, size_t size, size_t n, void *arg)
{
    http_call_t *call = arg;
    size_t len = size * n;
    if (len > call->max_body - call->body_len) {
        call->too_large = 1;
        return 0; /* anything but len: CURLE_WRITE_ERROR */
    }
    if (call->body_len + len > call->body_cap) {
        size_t cap = call->body_cap ? call->body_cap : 4096;
        while (cap < call->body_len + len) cap *= 2;
        if (cap > call->max_body) cap = call->max_body;
        uint8_t *b = realloc(call->body, cap);
        if (!b) {
            call->oom = 1;
            return 0;
        }
        call->body = b;
        call->body_cap = cap;
    }
    memcpy(call->body + call->body_len, data, len);
    call->body_len += len;
    return len;
}

static int is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* One header line at a time, status lines and the blank line included.
 * Only the last response counts (1xx, or a proxy's, come first), so a
 * status line starts over; lines after the final blank line are trailers. */
static size_t header_cb(char *line, size_t size, size_t n, void *arg)
{
    http_call_t *call = arg;
    size_t len = size * n;
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        for (int i = 0; i < H_COUNT; i++) {
            free(call->hdr[i]);
            call->hdr[i] = NULL;
        }
        call->hdr_done = 0;
        return len;
    }
    size_t end = len;
    while (end > 0 && is_blank(line[end - 1])) end--;
    if (end == 0) {
        call->hdr_done = 1;
        return len;
    }
    const char *colon = memchr(line, ':', end);
    if (call->hdr_done || !colon) return len;
    size_t name_len = (size_t)(colon - line);
    while (name_len > 0 && is_blank(line[name_len - 1])) name_len--;
    const char *v = colon + 1;
    while (v < line + end && is_blank(*v)) v++;
    size_t v_len = (size_t)(line + end - v);
    for (int i = 0; i < H_COUNT; i++) {
        if (strlen(hdr_names[i]) != name_len || strncasecmp(line, hdr_names[i], name_len)) continue;
        /* A list header sent twice means the two lists joined; the others
         * are single: the last one wins. */
        char *s = NULL;
        if (i == H_CACHE_CONTROL && call->hdr[i]) {
            if (asprintf(&s, "%s, %.*s", call->hdr[i], (int)v_len, v) < 0) s = NULL;
        } else {
            s = strndup(v, v_len);
        }
        if (!s) {
            call->oom = 1;
            return 0;
        }
        free(call->hdr[i]);
        call->hdr[i] = s;
        break;
    }
    return len;
}

/* CURLOPT_OPENSOCKETFUNCTION: the address is known (DNS done), the socket
 * not created yet. A refusal makes curl try the next address, then fail
 * with COULDNT_CONNECT. */
static curl_socket_t open_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    http_call_t *call = arg;
    if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
    if (!call->check(&a->addr, a->addrlen, call->check_arg)) {
        call->refused = 1;
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* --- calls --- */

/* RFC 9110 token characters: what a method or a header name may hold. */
static int is_token(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s)) return 0;
    return 1;
}

http_call_t *http_call_new(http_client_t *c, const char *method, const char *url)
{
    char scheme[16], host[256];
    unsigned port;
    if (!c || c->closing || !method || !is_token(method) || !url) return NULL;
    if (http_url_split(url, scheme, sizeof scheme, host, sizeof host, &port) < 0) return NULL;
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) return NULL;
    http_call_t *call = calloc(1, sizeof *call);
    if (!call) return NULL;
    call->c = c;
    call->method = strdup(method);
    call->easy = curl_easy_init();
    if (!call->method || !call->easy ||
        curl_easy_setopt(call->easy, CURLOPT_URL, url) != CURLE_OK) {
        call_free(call);
        return NULL;
    }
    call->timeout_ms = 10000;
    call->max_body = 1024 * 1024;
    call->next = c->calls;
    if (c->calls) c->calls->prev = call;
    c->calls = call;
    return call;
}

int http_call_add_header(http_call_t *call, const char *name, const char *value)
{
    if (!is_token(name) || strpbrk(value, "\r\n")) return -1;
    size_t len = strlen(name) + strlen(value) + 3;
    char *line = malloc(len);
    if (!line) {
        call->oom = 1;
        return -1;
    }
    /* "Name:" alone would remove the header in curl; "Name;" sends it empty. */
    if (*value)
        snprintf(line, len, "%s: %s", name, value);
    else
        snprintf(line, len, "%s;", name);
    struct curl_slist *l = curl_slist_append(call->headers, line);
    free(line);
    if (!l) {
        call->oom = 1;
        return -1;
    }
    call->headers = l;
    if (strcasecmp(name, "Content-Type") == 0) call->has_ctype = 1;
    return 0;
}

int http_call_set_body(http_call_t *call, const void *body, size_t len)
{
    uint8_t *b = malloc(len ? len : 1);
    if (!b) {
        call->oom = 1;
        return -1;
    }
    if (len) memcpy(b, body, len);
    free(call->req_body);
    call->req_body = b;
    call->req_len = len;
    call->has_body = 1;
    return 0;
}

void http_call_set_timeout(http_call_t *call, unsigned ms)
{
    call->timeout_ms = ms;
}

void http_call_set_max_body(http_call_t *call, size_t max)
{
    call->max_body = max;
}

void http_call_set_addr_check(http_call_t *call, http_addr_check_cb cb, void *arg)
{
    call->check = cb;
    call->check_arg = arg;
}

/* Everything but the URL, set at start so the setters stay plain stores. */
static int configure(http_call_t *call)
{
    CURL *e = call->easy;
    const char *m = call->method;
    /* Methods that carry content send a Content-Length even when empty:
     * some origins answer 411 to a bodiless POST. */
    int with_body = call->has_body || !strcmp(m, "POST") || !strcmp(m, "PUT") ||
                    !strcmp(m, "PATCH") || !strcmp(m, "FETCH");
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                              \
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val)
    SET(CURLOPT_PRIVATE, call);
    SET(CURLOPT_ERRORBUFFER, call->errbuf);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    /* No proxy from the environment: the address check must see the
     * origin's address, not a proxy's. */
    SET(CURLOPT_PROXY, "");
    SET(CURLOPT_TIMEOUT_MS, (long)call->timeout_ms);
    SET(CURLOPT_WRITEFUNCTION, write_cb);
    SET(CURLOPT_WRITEDATA, call);
    SET(CURLOPT_HEADERFUNCTION, header_cb);
    SET(CURLOPT_HEADERDATA, call);
    if (!strcmp(m, "GET") && !call->has_body) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (!strcmp(m, "HEAD")) {
        SET(CURLOPT_NOBODY, 1L);
    } else {
        if (with_body) {
            /* POSTFIELDS does not copy: req_body lives as long as the call. */
            SET(CURLOPT_POSTFIELDS, call->req_body ? (const char *)call->req_body : "");
            SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->req_len);
        }
        /* After POSTFIELDS, which would otherwise make it a POST. */
        if (strcmp(m, "POST") != 0) SET(CURLOPT_CUSTOMREQUEST, m);
    }
    if (call->check) {
        SET(CURLOPT_OPENSOCKETFUNCTION, open_cb);
        SET(CURLOPT_OPENSOCKETDATA, call);
    }
#undef SET
    if (rc != CURLE_OK) return -1;
    /* "Expect:" drops curl's Expect: 100-continue (a 1 s wait on origins
     * that ignore it); "Content-Type:" drops the form type curl puts on
     * POSTFIELDS when the caller gave none. */
    struct curl_slist *l = curl_slist_append(call->headers, "Expect:");
    if (l) call->headers = l;
    if (l && with_body && !call->has_ctype) {
        l = curl_slist_append(call->headers, "Content-Type:");
        if (l) call->headers = l;
    }
    if (!l) return -1;
    return curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers) == CURLE_OK ? 0 : -1;
}

int http_call_start(http_call_t *call, http_done_cb done, void *arg)
{
    if (call->started) return HTTP_CALL_ERROR;
    http_client_t *c = call->c;
    int rc = HTTP_CALL_ERROR;
    if (c->closing)
        rc = HTTP_CALL_CANCELLED;
    else if (done && !call->oom && configure(call) == 0 &&
             curl_multi_add_handle(c->multi, call->easy) == CURLM_OK)
        rc = HTTP_CALL_OK;
    if (rc != HTTP_CALL_OK) {
        unlink_call(call);
        call_free(call);
        return rc;
    }
    call->done = done;
    call->done_arg = arg;
    call->started = 1;
    c->running++;
    return 0;
}

void http_call_cancel(http_call_t *call)
{
    /* A call inside its own callback is already finished. */
    if (!call || call->finishing) return;
    if (!call->started) {
        unlink_call(call);
        call_free(call);
        return;
    }
    finish(call, HTTP_CALL_CANCELLED, CURLE_OK);
}

/* --- URLs --- */

static int copy_out(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap) return -1;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return 0;
}

int http_url_split(const char *url, char *scheme, size_t scheme_cap, char *host, size_t host_cap,
                   unsigned *port)
{
    if (!url) return -1;
    CURLU *u = curl_url();
    if (!u) return -1;
    char *s = NULL, *h = NULL, *p = NULL;
    int rc = -1;
    /* Any scheme parses, so that the caller can name the one it refuses. */
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) goto out;
    if (curl_url_get(u, CURLUPART_SCHEME, &s, 0) != CURLUE_OK) goto out;
    if (curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK) goto out;
    const char *hs = h;
    size_t hl = strlen(h);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        hs++;
        hl -= 2;
    }
    if (hl == 0) goto out;
    /* An unknown scheme without a port has no default: 0. */
    unsigned long pn = 0;
    if (curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK)
        pn = strtoul(p, NULL, 10);
    if (pn > 65535) goto out;
    if (copy_out(scheme, scheme_cap, s, strlen(s)) || copy_out(host, host_cap, hs, hl)) goto out;
    for (char *q = scheme; *q; q++) *q = (char)tolower((unsigned char)*q);
    *port = (unsigned)pn;
    rc = 0;
out:
    curl_free(s);
    curl_free(h);
    curl_free(p);
    curl_url_cleanup(u);
    return rc;
}
