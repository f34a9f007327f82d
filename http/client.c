/*
 * client.c - the HTTP client: libcurl's multi socket interface driven by
 * the coapgw loop, and the calls it holds (call.c is one call). See
 * http_client.h.
 *
 * One multi handle per client: curl keeps finished transfers' connections in
 * the multi's cache, so calls to the same origin reuse them. curl tells us
 * which sockets to watch (socket callback -> base_loop_*_fd) and when to wake
 * it up (timer callback -> one base_loop timer); we hand events back with
 * curl_multi_socket_action() and collect finished transfers with
 * curl_multi_info_read().
 *
 * A kept-alive connection between two calls is parked, not unwatched:
 * curl stops watching it (CURL_POLL_REMOVE) when a transfer ends and
 * watches it again when the next call takes it, and following that with
 * epoll_ctl would cost two system calls per request (issue #19). Parked,
 * it stays registered with the loop; an event on it (the origin closed
 * it, most likely) unregisters it, and so does curl closing it, which it
 * does through our close-socket callback.
 *
 * Re-entrancy: user callbacks only ever run outside curl (after
 * curl_multi_socket_action() has returned, or from http_call_cancel()), so
 * they may start, cancel or free anything. A callback may even free the
 * client: `busy` counts our frames on the stack and the last one out does
 * the actual freeing.
 */
#include "http_client_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* curl_global_init() is not cheap and, with OpenSSL, not something to undo
 * while the process may still use TLS elsewhere: done once, kept. It waits
 * for the first call, as the multi handle does (client_ready()): a gateway
 * whose CoAP clients reach no HTTP origin never initialises libcurl, its TLS
 * back end or libssh2's libcrypto, which are most of its idle memory
 * (issue #19, docs/performance.md's footprint section). */
static int curl_ready;

/* --- the client's life and the loop glue --- */

static void client_destroy(http_client_t *c)
{
    while (c->nidle) curl_easy_cleanup(c->idle[--c->nidle]);
    /* curl_multi_cleanup() may still call the socket and timer callbacks
     * while it closes connections: the loop and our timer must exist. */
    if (c->multi) curl_multi_cleanup(c->multi);
    base_loop_timer_free(c->timer);
    free(c->socks); /* after: closing connections reads it */
    free(c);
}

void http_client_hold_(http_client_t *c)
{
    c->busy++;
}

void http_client_release_(http_client_t *c)
{
    if (--c->busy == 0 && c->closing) client_destroy(c);
}

static int client_ready(http_client_t *c);

CURL *http_client_easy_(http_client_t *c)
{
    if (c->nidle) return c->idle[--c->nidle];
    CURL *e = client_ready(c) ? NULL : curl_easy_init();
    if (e && http_call_easy_defaults_(e, c) != CURLE_OK) {
        curl_easy_cleanup(e);
        return NULL;
    }
    return e;
}

void http_client_easy_back_(http_client_t *c, CURL *easy, int as_is)
{
    if (!easy) return;
    if (c->closing || c->nidle == HTTP_IDLE_EASY) {
        curl_easy_cleanup(easy);
        return;
    }
    if (as_is) {
        /* Nothing of the finished call for curl to touch meanwhile. Kept
         * so, a handle also skips curl 7.88's rebuilding of the URL string
         * from the next call's CURLU (Curl_pretransfer does it only when
         * it holds no string, about 5,000 instructions): curl connects
         * and builds the request from that CURLU, but the string, which
         * only CURLINFO_EFFECTIVE_URL and curl's verbose output show, stays
         * the first call's since the last reset. Never read that info. */
        curl_easy_setopt(easy, CURLOPT_CURLU, NULL);
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, NULL);
    } else {
        /* Every option back to its default; what it keeps (connections,
         * the DNS cache) belongs to the multi handle anyway. */
        curl_easy_reset(easy);
        if (http_call_easy_defaults_(easy, c) != CURLE_OK) {
            curl_easy_cleanup(easy);
            return;
        }
    }
    c->idle[c->nidle++] = easy;
}

static void on_fd(base_loop_t *loop, int fd, unsigned events, void *arg);

/* c->socks[s]: registered with the loop by us (its BASE_LOOP_* events in
 * the low bits), parked (registered, unwatched by curl), and a connection
 * (opened and closed through our callbacks: others, such as a resolver's,
 * curl may close before it unwatches them, so they are never parked). */
enum { HTTP_SOCK_EVENTS = 3, HTTP_SOCK_REGISTERED = 4, HTTP_SOCK_PARKED = 8, HTTP_SOCK_CONN = 16 };

static uint8_t sock_state(const http_client_t *c, curl_socket_t s)
{
    return s >= 0 && (size_t)s < c->nsocks ? c->socks[s] : 0;
}

static int set_sock_state(http_client_t *c, curl_socket_t s, uint8_t st)
{
    if ((size_t)s >= c->nsocks) {
        size_t n = c->nsocks ? c->nsocks : 64;
        while (n <= (size_t)s) n *= 2;
        uint8_t *v = realloc(c->socks, n);
        if (!v) return -ENOMEM;
        memset(v + c->nsocks, 0, n - c->nsocks);
        c->socks = v;
        c->nsocks = n;
    }
    c->socks[s] = st;
    return 0;
}

/* Out of the loop; keep: what of its state stays (HTTP_SOCK_CONN while the
 * socket lives, 0 once closed). */
static void unregister(http_client_t *c, curl_socket_t s, uint8_t keep)
{
    if (sock_state(c, s) & HTTP_SOCK_REGISTERED) base_loop_del_fd(c->loop, s);
    if (sock_state(c, s)) c->socks[s] &= keep;
}

/* Registers s for ev, or changes its events (a parked one's too). */
static int watch(http_client_t *c, curl_socket_t s, unsigned ev)
{
    uint8_t st = sock_state(c, s);
    int rc = 0;
    if (st & HTTP_SOCK_REGISTERED) {
        if ((st & HTTP_SOCK_EVENTS) != ev) rc = base_loop_mod_fd(c->loop, s, ev);
    } else {
        rc = base_loop_add_fd(c->loop, s, ev, on_fd, c);
        if (rc == -EEXIST) {
            /* A registration left over for a recycled descriptor number. */
            base_loop_del_fd(c->loop, s);
            rc = base_loop_add_fd(c->loop, s, ev, on_fd, c);
        }
    }
    if (!rc && set_sock_state(c, s, (uint8_t)((st & HTTP_SOCK_CONN) | HTTP_SOCK_REGISTERED | ev))) {
        base_loop_del_fd(c->loop, s);
        rc = -ENOMEM;
    }
    return rc;
}

void http_client_sock_opened_(http_client_t *c, curl_socket_t s)
{
    /* Out of memory: not parked, then; nothing else changes. */
    set_sock_state(c, s, HTTP_SOCK_CONN);
}

int http_client_close_sock_(void *clientp, curl_socket_t s)
{
    unregister(clientp, s, 0);
    return close(s);
}

/* CURLMOPT_SOCKETFUNCTION. socketp is NULL until curl_multi_assign marks
 * the socket watched; curl forgets the mark itself after REMOVE. */
static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    http_client_t *c = userp;
    if (what == CURL_POLL_REMOVE) {
        uint8_t st = sock_state(c, s);
        if ((st & HTTP_SOCK_CONN) && (st & HTTP_SOCK_REGISTERED))
            c->socks[s] |= HTTP_SOCK_PARKED;
        else
            unregister(c, s, 0);
        return 0;
    }
    unsigned ev =
        (what & CURL_POLL_IN ? BASE_LOOP_READ : 0u) | (what & CURL_POLL_OUT ? BASE_LOOP_WRITE : 0u);
    int rc = watch(c, s, ev);
    if (!rc && !socketp) curl_multi_assign(c->multi, s, c);
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

/* The first call whose socket the loop could not watch, or NULL. */
static http_call_t *first_unwatched(http_client_t *c)
{
    base_list_t *it, *next;
    BASE_LIST_FOREACH(it, next, &c->calls) {
        http_call_t *call = base_list_entry(it, http_call_t, link);
        if (call->unwatched) return call;
    }
    return NULL;
}

/* Hands every finished transfer to its caller. Stops when a callback freed
 * the client: the remaining calls were cancelled by then. */
static void check_done(http_client_t *c)
{
    while (c->unwatched && !c->closing) {
        /* Rare: rescanning from the head after each finish() is fine, and
         * safe against callbacks that cancel other calls. */
        http_call_t *call = first_unwatched(c);
        if (call)
            http_call_finish_(call, HTTP_CALL_ERROR, CURLE_OK);
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
        if (call) http_call_finish_(call, HTTP_CALL_OK, cc);
    }
}

/* Hands curl an event (or its timeout), then the finished transfers to
 * their callers. */
static void drive(http_client_t *c, curl_socket_t s, int flags)
{
    int running;
    http_client_hold_(c);
    curl_multi_socket_action(c->multi, s, flags, &running);
    check_done(c);
    http_client_release_(c);
}

static void on_fd(base_loop_t *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    http_client_t *c = arg;
    if (sock_state(c, fd) & HTTP_SOCK_PARKED) {
        /* Nothing is expected on an idle connection: its end, most
         * likely. curl sees it when it next checks the connection, and
         * closes it or, should it live on, watches and parks it again. */
        unregister(c, fd, HTTP_SOCK_CONN);
        return;
    }
    drive(c, fd,
          (events & BASE_LOOP_READ ? CURL_CSELECT_IN : 0) |
              (events & BASE_LOOP_WRITE ? CURL_CSELECT_OUT : 0));
}

static void on_timer(base_loop_t *loop, base_loop_timer_t *t, void *arg)
{
    (void)loop;
    (void)t;
    drive(arg, CURL_SOCKET_TIMEOUT, 0);
}

/* libcurl and the multi handle, on the first call: 0, or -1 (a call
 * cannot be made; the next one tries again). */
static int client_ready(http_client_t *c)
{
    if (c->multi) return 0;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return -1;
        curl_ready = 1;
    }
    if (!(c->multi = curl_multi_init())) return -1;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    return 0;
}

http_client_t *http_client_new(base_loop_t *loop)
{
    http_client_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->loop = loop;
    base_list_init(&c->calls);
    c->timer = base_loop_timer_new(loop, on_timer, c);
    if (!c->timer) {
        free(c);
        return NULL;
    }
    return c;
}

void http_client_free(http_client_t *c)
{
    if (!c || c->closing) return;
    c->closing = 1;
    http_client_hold_(c);
    /* Callbacks may cancel other calls meanwhile: always take the head. */
    base_list_t *it;
    while ((it = base_list_first(&c->calls))) {
        http_call_t *call = base_list_entry(it, http_call_t, link);
        if (call->started)
            http_call_finish_(call, HTTP_CALL_CANCELLED, CURLE_OK);
        else
            http_call_discard_(call);
    }
    http_client_release_(c);
}

void http_client_started_(http_client_t *c)
{
    if (++c->running <= c->peak) return;
    /* curl keeps at most 4 connections per transfer in the multi at the
     * moment one ends (CURLMOPT_MAXCONNECTS unset), in use ones counted:
     * when the calls in flight ebb, it closes kept-alive connections that
     * the next wave has to open again (a tenth of the requests, 1.3 more
     * system calls per request at 64 in flight). The same 4, times the
     * most calls in flight so far (issue #19). */
    c->peak = c->running;
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)(4 * c->peak));
}

size_t http_client_running(const http_client_t *c)
{
    return c->running;
}
