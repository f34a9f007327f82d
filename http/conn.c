/*
 * conn.c - a deadline for each request header (slowloris).
 *
 * libmicrohttpd's MHD_OPTION_CONNECTION_TIMEOUT is an inactivity timeout:
 * a client that sends one header byte every few seconds keeps a
 * connection (and its memory pool) forever. Here every connection that
 * waits for a request header - a new one, or a kept-alive one after its
 * answer - has a deadline (params.header_timeout_ms, asked each time, so
 * a reload applies); when it passes, the socket is shut down. MHD sees
 * the end of the stream at its next run and closes the connection the
 * usual way (the completion and close notifications run, the pool is
 * freed). Once a header is complete the connection has no deadline, so
 * slow answers, uploads and event streams are never cut. On an HTTPS
 * listener the deadline starts before the TLS handshake, so a client that
 * never finishes its handshake is closed the same way.
 *
 * The waiting list is kept by deadline: new entries go at the tail (the
 * timeout rarely changes), found from the tail when it shrank at a reload.
 */
#include "http_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

http_conn_t *http_conn_of_(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* The connection whose deadline comes first, or NULL. */
static http_conn_t *wait_first(const http_server_t *srv)
{
    base_list_t *it = base_list_first(&srv->waiting);
    return it ? base_list_entry(it, http_conn_t, link) : NULL;
}

static void arm(http_server_t *srv)
{
    http_conn_t *first = wait_first(srv);
    if (first)
        base_loop_timer_arm(srv->header_timer, first->deadline_ms);
    else
        base_loop_timer_disarm(srv->header_timer);
}

/* Out of the waiting list (if in it), the timer following the new head. */
static void wait_end(http_server_t *srv, http_conn_t *k)
{
    if (!base_list_linked(&k->link)) return;
    int was_first = wait_first(srv) == k;
    base_list_remove(&k->link);
    if (was_first) arm(srv);
}

/* From now on, k must deliver a complete request header in time. */
static void wait_begin(http_server_t *srv, http_conn_t *k)
{
    uint32_t ms = srv->p.header_timeout_ms ? srv->p.header_timeout_ms(srv->arg) : 0;
    base_list_remove(&k->link);
    if (!ms || k->timed_out) return;
    k->timeout_ms = ms;
    k->deadline_ms = base_loop_now(srv->loop) + ms;
    base_list_t *after = srv->waiting.prev;
    while (after != &srv->waiting &&
           base_list_entry(after, http_conn_t, link)->deadline_ms > k->deadline_ms)
        after = after->prev;
    base_list_insert_before(after->next, &k->link);
    if (wait_first(srv) == k) arm(srv);
}

static void on_deadline(base_loop_t *loop, base_loop_timer_t *t, void *arg)
{
    (void)t;
    http_server_t *srv = arg;
    uint64_t now = base_loop_now(loop);
    size_t closed = 0;
    http_conn_t *k;
    while ((k = wait_first(srv)) && k->deadline_ms <= now) {
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
    if (closed) {
        srv->need_run = 1;
        if (srv->p.log) {
            char msg[128];
            snprintf(msg, sizeof msg,
                     "closed %zu connection(s): no complete %srequest header in time", closed,
                     srv->tls ? "TLS handshake and " : "");
            srv->p.log(msg);
        }
    }
    arm(srv);
}

int http_conn_init_(http_server_t *srv)
{
    srv->header_timer = base_loop_timer_new(srv->loop, on_deadline, srv);
    return srv->header_timer ? 0 : -1;
}

void http_conn_fini_(http_server_t *srv)
{
    base_loop_timer_free(srv->header_timer);
    srv->header_timer = NULL;
}

void http_conn_notify_(void *cls, struct MHD_Connection *c, void **socket_context,
                       enum MHD_ConnectionNotificationCode code)
{
    http_server_t *srv = cls;
    http_conn_t *k = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        /* Without memory there is no deadline, but the connection works. */
        if (!(k = calloc(1, sizeof *k))) return;
        k->mhd = c;
        k->srv = srv;
        *socket_context = k;
        wait_begin(srv, k);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && k) {
        wait_end(srv, k);
        http_tls_creds_release(k->creds);
        free(k);
        *socket_context = NULL;
    }
}

void http_conn_header_done_(http_server_t *srv, struct MHD_Connection *c)
{
    http_conn_t *k = http_conn_of_(c);
    if (k) wait_end(srv, k);
}

void http_conn_request_over_(http_server_t *srv, struct MHD_Connection *c)
{
    http_conn_t *k = http_conn_of_(c);
    if (k) wait_begin(srv, k);
}

uint32_t http_conn_closed_late_(struct MHD_Connection *c)
{
    http_conn_t *k = http_conn_of_(c);
    return k && k->timed_out ? k->timeout_ms : 0;
}
