/*
 * conn.c - deadlines for each request header (slowloris) and body, and
 * the connection limit, and the limit per client (max_conn_per_ip, an IPv6
 * client counted by its /64).
 *
 * libmicrohttpd's MHD_OPTION_CONNECTION_TIMEOUT is an inactivity timeout:
 * a client that sends one header or body byte every few seconds keeps a
 * connection (and its memory pool) forever. Here every connection that
 * waits for a request header - a new one, or a kept-alive one after its
 * answer - has a deadline (params.header_timeout_ms, asked each time, so
 * a reload applies), and so does the body that follows a header
 * (params.conn_timeout_s from the header's end). When one passes, the
 * socket is shut down. MHD sees the end of the stream at its next run
 * and closes the connection the usual way (the completion and close
 * notifications run, the pool is freed). Once the body is in the
 * connection has no deadline, so slow answers and event streams are
 * never cut (only MHD's inactivity timeout applies to them). On an HTTPS
 * listener the header deadline starts before the TLS handshake, so a
 * client that never finishes its handshake is closed the same way.
 *
 * Each waiting list is kept by deadline: new entries go at the tail (a
 * timeout rarely changes), found from the tail when it shrank at a reload.
 */
#include "http_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* "1.2.3.4:80" or "[::1]:80"; IPv4-mapped IPv6 shown as IPv4. */
static void format_addr(const struct sockaddr *sa, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
        port = ntohs(v4->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
        port = ntohs(v6->sin6_port);
        if (!strncmp(host, "::ffff:", 7) && strchr(host, '.')) {
            snprintf(out, cap, "%s:%u", host + 7, port);
            return;
        }
        snprintf(out, cap, "[%s]:%u", host, port);
        return;
    }
    snprintf(out, cap, "%s:%u", host, port);
}

void http_conn_client_(struct MHD_Connection *c, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) format_addr(ci->client_addr, out, cap);
}

http_conn_t *http_conn_of_(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* The connection of w whose deadline comes first, or NULL. */
static http_conn_t *wait_first(const http_waits_t *w)
{
    base_list_t *it = base_list_first(&w->list);
    return it ? base_list_entry(it, http_conn_t, link) : NULL;
}

static void arm(http_waits_t *w)
{
    http_conn_t *first = wait_first(w);
    if (first)
        base_loop_timer_arm(w->timer, first->deadline_ms);
    else
        base_loop_timer_disarm(w->timer);
}

/* Out of its waiting list (if in one), the timer following the new head. */
static void wait_end(http_server_t *srv, http_conn_t *k)
{
    if (!base_list_linked(&k->link)) return;
    http_waits_t *w = &srv->waits[k->wait];
    int was_first = wait_first(w) == k;
    base_list_remove(&k->link);
    if (was_first) arm(w);
}

/* From now on, k must deliver what `wait` names within ms (0: no limit). */
static void wait_begin(http_server_t *srv, http_conn_t *k, int wait, uint32_t ms)
{
    wait_end(srv, k);
    if (!ms || k->timed_out) return;
    http_waits_t *w = &srv->waits[wait];
    k->wait = (uint8_t)wait;
    k->timeout_ms = ms;
    k->deadline_ms = base_loop_now(srv->loop) + ms;
    base_list_t *after = w->list.prev;
    while (after != &w->list &&
           base_list_entry(after, http_conn_t, link)->deadline_ms > k->deadline_ms)
        after = after->prev;
    base_list_insert_before(after->next, &k->link);
    if (wait_first(w) == k) arm(w);
}

static void header_wait(http_server_t *srv, http_conn_t *k)
{
    uint32_t ms = srv->p.header_timeout_ms ? srv->p.header_timeout_ms(srv->arg) : 0;
    wait_begin(srv, k, HTTP_WAIT_HEADER, ms);
}

/* Ends every connection of w whose deadline passed; returns how many. */
static size_t expire(http_server_t *srv, http_waits_t *w)
{
    uint64_t now = base_loop_now(srv->loop);
    size_t closed = 0;
    http_conn_t *k;
    while ((k = wait_first(w)) && k->deadline_ms <= now) {
        base_list_remove(&k->link);
        k->timed_out = 1;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(k->mhd, MHD_CONNECTION_INFO_CONNECTION_FD);
        /* MHD still owns the socket (it closes it after the close
         * notification, which unlinks k first): shutdown() only ends the
         * stream, which MHD's epoll reports at once. */
        if (ci) shutdown(ci->connect_fd, SHUT_RDWR);
        closed++;
    }
    arm(w);
    if (closed) srv->need_run = 1;
    return closed;
}

static void on_header_deadline(base_loop_t *loop, base_loop_timer_t *t, void *arg)
{
    (void)loop, (void)t;
    http_server_t *srv = arg;
    size_t closed = expire(srv, &srv->waits[HTTP_WAIT_HEADER]);
    srv->stats.header_timeouts += closed;
    if (closed && srv->p.log) {
        char msg[128];
        snprintf(msg, sizeof msg, "closed %zu connection(s): no complete %srequest header in time",
                 closed, srv->tls ? "TLS handshake and " : "");
        srv->p.log(msg);
    }
}

static void on_body_deadline(base_loop_t *loop, base_loop_timer_t *t, void *arg)
{
    (void)loop, (void)t;
    http_server_t *srv = arg;
    size_t closed = expire(srv, &srv->waits[HTTP_WAIT_BODY]);
    srv->stats.body_timeouts += closed;
    if (closed && srv->p.log) {
        char msg[128];
        snprintf(msg, sizeof msg, "closed %zu connection(s): request body not complete in time",
                 closed);
        srv->p.log(msg);
    }
}

int http_conn_init_(http_server_t *srv)
{
    base_loop_timer_cb fire[HTTP_NWAITS] = {on_header_deadline, on_body_deadline};
    for (int i = 0; i < HTTP_NWAITS; i++) {
        base_list_init(&srv->waits[i].list);
        if (!(srv->waits[i].timer = base_loop_timer_new(srv->loop, fire[i], srv))) return -1;
    }
    return 0;
}

void http_conn_fini_(http_server_t *srv)
{
    for (int i = 0; i < HTTP_NWAITS; i++) {
        base_loop_timer_free(srv->waits[i].timer);
        srv->waits[i].timer = NULL;
    }
    base_htab_free(&srv->sites);
}

/* --- max_conn_per_ip --- */

/* The site a client is counted under (libmicrohttpd's own per-IP limit
 * compares whole addresses): an IPv6 host picks the 64-bit interface
 * identifiers of its addresses (RFC 4291 §2.5.1, RFC 8981) and so has 2^64
 * of them: its /64 counts; ::1 is itself; IPv4, and IPv4-mapped IPv6 (on a
 * dual-stack socket), by address. */
static void site_of(const struct sockaddr *sa, uint8_t key[16])
{
    memset(key, 0, 16);
    if (sa->sa_family == AF_INET) {
        key[10] = key[11] = 0xff; /* as ::ffff:a.b.c.d */
        memcpy(key + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        memcpy(key, a, IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_LOOPBACK(a) ? 16 : 8);
    }
}

static uint64_t site_hash(const uint8_t key[16])
{
    return base_hash_bytes(14695981039346656037ull, key, 16);
}

/* MHD's accept policy callback: one more from the client's site, or not
 * (closed at accept, as libmicrohttpd's own limit does). */
enum MHD_Result http_conn_admit_(void *cls, const struct sockaddr *addr, socklen_t len)
{
    http_server_t *srv = cls;
    uint8_t key[16];
    unsigned n = 0;
    (void)len;
    if (!srv->p.max_conn_per_ip) return MHD_YES;
    site_of(addr, key);
    for (base_hnode_t *h = base_htab_first(&srv->sites, site_hash(key)); h; h = base_htab_next(h))
        n += !memcmp(base_container_of(h, http_conn_t, in_site)->site, key, 16);
    return n < srv->p.max_conn_per_ip ? MHD_YES : MHD_NO;
}

void http_conn_notify_(void *cls, struct MHD_Connection *c, void **socket_context,
                       enum MHD_ConnectionNotificationCode code)
{
    http_server_t *srv = cls;
    http_conn_t *k = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        srv->nconns++;
        /* Without memory there is no deadline, but the connection works. */
        if (!(k = calloc(1, sizeof *k))) return;
        k->mhd = c;
        k->srv = srv;
        k->over_limit = srv->nconns > srv->p.max_connections;
        http_conn_client_(c, k->client, sizeof k->client);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr) site_of(ci->client_addr, k->site);
        base_htab_insert(&srv->sites, &k->in_site, site_hash(k->site)); /* no memory: not counted */
        *socket_context = k;
        header_wait(srv, k);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        srv->nconns--;
        if (!k) return;
        wait_end(srv, k);
        base_htab_remove(&srv->sites, &k->in_site);
        http_tls_creds_release(k->creds);
        free(k);
        *socket_context = NULL;
    }
}

int http_conn_header_done_(http_server_t *srv, struct MHD_Connection *c)
{
    http_conn_t *k = http_conn_of_(c);
    if (!k) return 0;
    wait_begin(srv, k, HTTP_WAIT_BODY, srv->p.conn_timeout_s * 1000u);
    return k->over_limit;
}

void http_conn_body_done_(http_server_t *srv, struct MHD_Connection *c)
{
    http_conn_t *k = http_conn_of_(c);
    if (k) wait_end(srv, k);
}

void http_conn_request_over_(http_server_t *srv, struct MHD_Connection *c)
{
    http_conn_t *k = http_conn_of_(c);
    if (k) header_wait(srv, k);
}

uint32_t http_conn_closed_late_(struct MHD_Connection *c, int *wait)
{
    http_conn_t *k = http_conn_of_(c);
    if (!k || !k->timed_out) return 0;
    *wait = k->wait;
    return k->timeout_ms;
}
