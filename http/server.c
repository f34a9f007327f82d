/*
 * server.c - libmicrohttpd driven by the coapgw loop (external polling with
 * MHD's own epoll fd as a loop source), suspend/resume for answers that come
 * later. See http_server.h.
 */
#include "base_clock.h"
#include "http_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Keeps the path and query exactly as sent: the /hc/ target URI is itself
 * a URI whose escapes must survive (RFC 8075 §5). We decode where needed. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *uri)
{
    (void)cls;
    (void)c;
    return strlen(uri);
}

/* Joins the query arguments back into "k=v&k2" (MHD splits them), NUL
 * kept after them; copied, not printed: two vsnprintf per argument were
 * 2,500 instructions of a proxied request with a query. */
static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    base_buf_t *q = cls;
    size_t kl = strlen(key), vl = value ? strlen(value) : 0;
    size_t n = (q->len ? 1 : 0) + kl + (value ? 1 + vl : 0);
    if (base_buf_reserve(q, n + 1)) return MHD_NO;
    char *p = (char *)q->data + q->len;
    if (q->len) *p++ = '&';
    memcpy(p, key, kl);
    p += kl;
    if (value) {
        *p++ = '=';
        memcpy(p, value, vl);
        p += vl;
    }
    *p = '\0';
    q->len += n;
    return MHD_YES;
}

/* A passed socket must be a listening TCP one: its family in ss. It is
 * made non-blocking (MHD polls it with epoll and accepts until EAGAIN). */
static int passed_socket(int fd, struct sockaddr_storage *ss)
{
    int type = 0, listening = 0;
    socklen_t tl = sizeof type, ll = sizeof listening, sl = sizeof *ss;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ll) < 0 ||
        getsockname(fd, (struct sockaddr *)ss, &sl) < 0 || type != SOCK_STREAM || !listening ||
        (ss->ss_family != AF_INET && ss->ss_family != AF_INET6))
        return -1;
    int flags = fcntl(fd, F_GETFL);
    return flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ? -1 : 0;
}

/* Numeric "host:port" / "[v6]:port" -> sockaddr (no DNS). */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[INET6_ADDRSTRLEN + 8];
    const char *port;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof host) return -1;
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        port = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon || strchr(s, ':') != colon || (size_t)(colon - s) >= sizeof host) return -1;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        port = colon + 1;
    }
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (!*port || getaddrinfo(host, port, &hints, &res) || !res) return -1;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* A request as soon as its request line is in (MHD's URI log callback),
 * so that requests MHD refuses before our handler (431, 400...) still get
 * reported; on_access completes it. */
static http_req_t *req_new(http_server_t *srv, struct MHD_Connection *c, const char *uri)
{
    http_req_t *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->srv = srv;
    r->conn = c;
    r->started_us = base_clock_us();
    r->path = strndup(uri, strcspn(uri, "?"));
    if (!r->path) {
        free(r);
        return NULL;
    }
    http_conn_t *k = http_conn_of_(c); /* formatted once per connection */
    if (k)
        memcpy(r->client, k->client, sizeof r->client);
    else
        http_conn_client_(c, r->client, sizeof r->client);
    srv->nreqs++;
    return r;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    return req_new(cls, c, uri);
}

/* The headers are in: method, path as MHD parsed it, query. */
static int req_complete(http_req_t *r, const char *url, const char *method)
{
    base_buf_t q = {0};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_arg, &q);
    r->method = strdup(method);
    r->query = q.data ? (char *)q.data : NULL; /* NULL: none, http_req_query says "" */
    if (!r->method) return -1;
    if (!strcmp(r->path, url)) return 0; /* the request line's, as it mostly is */
    char *path = strdup(url);
    if (!path) return -1;
    free(r->path);
    r->path = path;
    return 0;
}

/* The headers the handler added, once the response has its own copies. */
static void req_drop_headers(http_req_t *r)
{
    while (r->headers) {
        hdr_t *h = r->headers;
        r->headers = h->next;
        free(h);
    }
}

static void req_free(http_req_t *r)
{
    req_drop_headers(r);
    http_drop_response_(r);
    r->srv->nreqs--;
    free(r->log);
    free(r->method);
    free(r->path);
    free(r->query);
    base_buf_free(&r->body);
    free(r->argbuf);
    free(r);
}

static int append_body(http_req_t *r, const char *data, size_t n)
{
    if (r->too_large || n > r->srv->p.max_body - r->body.len) {
        r->too_large = 1; /* keep reading, answer 413 at the end */
        return 0;
    }
    if (base_buf_append(&r->body, data, n)) {
        r->too_large = 1;
        return -1;
    }
    return 0;
}

static enum MHD_Result queue_prepared(http_req_t *r)
{
    enum MHD_Result ret = MHD_queue_response(r->conn, r->status, r->resp);
    http_drop_response_(r); /* MHD holds its own reference */
    return ret;
}

static enum MHD_Result refuse_over_limit(http_req_t *r)
{
    http_server_t *srv = r->srv;
    srv->stats.refused++;
    r->handled = 1; /* reported like any answer */
    srv->pending++;
    http_req_set_log(r, NULL, "refused: too many connections");
    http_req_add_header(r, "Retry-After", "1"); /* RFC 9110 §10.2.3 */
    http_respond_text(r, 503, "%s", srv->p.limit_text ? srv->p.limit_text : "too many connections");
    return queue_prepared(r);
}

/* A request whose answer is not there when the handler returns stays
 * unsuspended for one more MHD_run: libmicrohttpd 0.9.75 keeps such a
 * connection in its ready list and calls the handler again on each run
 * (MHD_get_timeout says 0 meanwhile). An answer that comes before that run
 * (a device answering within a loop turn) is queued without a suspend and
 * resume, which would cost two epoll_ctl and a read that gets EAGAIN
 * (docs/performance.md, "libmicrohttpd's suspend and resume"). Still
 * waiting a run later, it is suspended: no busy polling while a device
 * takes its time. MHD_suspend_connection is called from the handler, the
 * place MHD documents as safe. */
static enum MHD_Result wait_for_answer(http_req_t *r)
{
    if (!r->suspended && r->srv->runs != r->handled_run) {
        r->suspended = 1;
        r->srv->stats.suspended++;
        MHD_suspend_connection(r->conn);
    }
    return MHD_YES;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    (void)version;
    http_server_t *srv = cls;
    http_req_t *r = *con_cls;
    if (!r || !r->method) {
        /* First call: headers only. Answering now would make MHD close the
         * connection after the response, so return and answer later. */
        int over_limit = http_conn_header_done_(srv, c);
        if (!r && !(r = *con_cls = req_new(srv, c, url))) return MHD_NO;
        if (req_complete(r, url, method)) return MHD_NO;
        /* Past max_connections: 503 now, so MHD closes the connection
         * after it without reading a body. */
        if (over_limit) return refuse_over_limit(r);
        /* Mutual TLS is decided on the headers: an untrusted client gets
         * its 403 before sending a body, and the connection closes. */
        if (!http_tls_refused_(r)) return MHD_YES;
        r->handled = 1; /* reported like any answer */
        return queue_prepared(r);
    }
    if (*upload_data_size) {
        append_body(r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->resp) return queue_prepared(r); /* resumed with the answer */
    if (r->handled) return wait_for_answer(r);
    r->handled = 1;
    srv->pending++;
    http_conn_body_done_(srv, c);
    if (r->too_large) {
        http_respond_text(r, 413, "request body larger than %zu bytes", srv->p.max_body);
        return queue_prepared(r);
    }
    srv->handler(r, srv->arg);
    if (r->resp) return queue_prepared(r);
    /* Not suspended yet: see wait_for_answer. */
    r->handled_run = srv->runs;
    base_list_push_front(&srv->waiting, &r->link);
    return MHD_YES;
}

/* One report per request that reached the handler: the access log line
 * and the request metrics. A client gone before its answer was sent is
 * 499 (as in nginx's logs): it never saw a status. A stream always ends
 * with its client or the server going, so it stays 200. */
static void report_done(http_req_t *r, enum MHD_RequestTerminationCode toe)
{
    /* An answer queued before the daemon stopped was sent (it is flushed
     * first), so only other early ends mean the client left. */
    int gone = !r->answered || (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK &&
                                toe != MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN && !r->streaming);
    http_server_t *srv = r->srv;
    if (!srv->p.done) return;
    if (!r->handled) { /* refused by MHD itself, or closed late: no status sent */
        char late[96];
        int wait = HTTP_WAIT_HEADER;
        uint32_t timeout_ms = http_conn_closed_late_(r->conn, &wait);
        snprintf(late, sizeof late, "closed: request %s not complete within %u ms",
                 wait == HTTP_WAIT_BODY ? "body" : "header", (unsigned)timeout_ms);
        if (r->method && !timeout_ms) return; /* the client left during its body */
        http_done_t d = {
            .method = r->method ? r->method : "-",
            .path = r->path,
            .client = r->client,
            .note = timeout_ms ? late : "refused by libmicrohttpd (header too large or malformed)",
            .status = 0,
            .duration_us = base_clock_us() - r->started_us,
            .tls = srv->tls != NULL};
        srv->p.done(&d, srv->arg);
        return;
    }
    http_done_t d = {.method = r->method,
                     .path = r->path,
                     .client = r->client,
                     .target = r->log,
                     .note = r->log ? r->log + strlen(r->log) + 1 : NULL,
                     .status = gone ? 499 : r->status,
                     .duration_us = base_clock_us() - r->started_us,
                     .tls = srv->tls != NULL};
    if (d.target && !*d.target) d.target = NULL;
    if (d.note && !*d.note) d.note = NULL;
    char idle[96];
    if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED) { /* nothing moved, either way */
        snprintf(idle, sizeof idle, "%s%sclosed: idle for %u s", d.note ? d.note : "",
                 d.note ? "; " : "", srv->p.conn_timeout_s);
        d.note = idle;
    }
    srv->p.done(&d, srv->arg);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    http_req_t *r = *con_cls;
    http_conn_request_over_(cls, c); /* kept alive: the next header has a deadline */
    if (!r) return;
    if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED) r->srv->stats.idle_timeouts++;
    if (r->handled && !r->answered) {
        r->srv->pending--;
        if (r->on_abort) r->on_abort(r, r->abort_arg);
    }
    base_list_remove(&r->link); /* closed while it waited unsuspended */
    report_done(r, toe);
    req_free(r);
    *con_cls = NULL;
}

/* libmicrohttpd reports client disconnects and the like; pass them on. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    http_server_t *srv = cls;
    if (!srv->p.log) return;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
    srv->p.log(msg);
}

/* --- loop integration --- */

static void process(void *arg)
{
    http_server_t *srv = arg;
    srv->need_run = 0;
    srv->runs++;
    MHD_run(srv->d);
}

static uint64_t deadline(void *arg)
{
    http_server_t *srv = arg;
    uint64_t now = base_loop_now(srv->loop);
    if (srv->need_run) return now;
    MHD_UNSIGNED_LONG_LONG ms;
    if (MHD_get_timeout(srv->d, &ms) != MHD_YES) return BASE_NEVER;
    return now + ms;
}

http_server_t *http_server_new(base_loop_t *loop, const http_server_params_t *p,
                               http_handler_t handler, void *arg, char *err, size_t errlen)
{
    struct sockaddr_storage addr;
    socklen_t addr_len;
    if (p->listen_fd > 0 && passed_socket(p->listen_fd, &addr)) {
        snprintf(err, errlen, "%s: descriptor %d is no listening TCP socket",
                 p->listen ? p->listen : "HTTP", p->listen_fd);
        return NULL;
    }
    if (p->listen_fd <= 0 && (!p->listen || parse_listen(p->listen, &addr, &addr_len))) {
        snprintf(err, errlen, "bad HTTP listen address \"%s\"", p->listen);
        return NULL;
    }
    http_server_t *srv = calloc(1, sizeof *srv);
    if (!srv) return NULL;
    srv->loop = loop;
    base_list_init(&srv->waiting);
    base_list_init(&srv->streams);
    srv->p = *p;
    if (!srv->p.max_body) srv->p.max_body = 1024 * 1024;
    if (!srv->p.conn_memory) srv->p.conn_memory = 16 * 1024;
    if (!srv->p.max_connections) srv->p.max_connections = 20000;
    if (!srv->p.conn_timeout_s) srv->p.conn_timeout_s = 60;
    srv->handler = handler;
    srv->arg = arg;
    struct MHD_OptionItem tls_ops[3];
    if (http_tls_init_(srv, p, tls_ops, err, errlen) || http_conn_init_(srv)) {
        http_tls_fini_(srv);
        free(srv);
        return NULL;
    }
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    if (srv->tls) flags |= MHD_USE_TLS;
    /* No MHD_OPTION_LISTENING_ADDRESS_REUSE: it sets SO_REUSEPORT, with which
     * a second process (another coapgw, maybe without tokens) could bind the
     * same port and take half the connections. MHD's default, SO_REUSEADDR,
     * is what a restart needs. */
    errno = 0;
    /* where to listen: a passed socket as it is, or an address to bind */
    struct MHD_OptionItem where[2] = {
        {MHD_OPTION_SOCK_ADDR, 0, &addr},
        {MHD_OPTION_END, 0, NULL},
    };
    if (p->listen_fd > 0)
        where[0] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, p->listen_fd, NULL};
    srv->d = MHD_start_daemon(
        flags, 0, http_conn_admit_, srv, on_access, srv, MHD_OPTION_ARRAY, where,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, srv->p.conn_memory, MHD_OPTION_CONNECTION_LIMIT,
        srv->p.max_connections + HTTP_CONN_SPARE, MHD_OPTION_CONNECTION_TIMEOUT,
        srv->p.conn_timeout_s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, http_conn_notify_, srv, MHD_OPTION_URI_LOG_CALLBACK, on_uri,
        srv, MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
        srv, MHD_OPTION_ARRAY, tls_ops, MHD_OPTION_END);
    int start_errno = errno;
    const union MHD_DaemonInfo *ep =
        srv->d ? MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
    const union MHD_DaemonInfo *lf =
        srv->d ? MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_LISTEN_FD) : NULL;
    if (!ep || !lf || base_loop_add_source(loop, ep->epoll_fd, process, deadline, srv)) {
        const char *what = srv->tls ? "HTTPS" : "HTTP";
        if (!srv->d && start_errno == EADDRINUSE)
            snprintf(err, errlen, "cannot listen for %s on %s: address in use", what, p->listen);
        else
            snprintf(err, errlen, "cannot listen for %s on %s (address in use or not local?)", what,
                     p->listen);
        if (srv->d) MHD_stop_daemon(srv->d);
        http_conn_fini_(srv);
        http_tls_fini_(srv);
        free(srv);
        return NULL;
    }
    struct sockaddr_storage bound;
    socklen_t bl = sizeof bound;
    if (getsockname(lf->listen_fd, (struct sockaddr *)&bound, &bl) == 0)
        srv->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                      : ((struct sockaddr_in *)&bound)->sin_port);
    return srv;
}

void http_server_answer_pending(http_server_t *srv, unsigned status, const char *msg)
{
    base_list_t *it, *next;
    while ((it = base_list_first(&srv->waiting))) {
        http_req_t *r = base_list_entry(it, http_req_t, link);
        if (r->on_abort) r->on_abort(r, r->abort_arg); /* their owners let go */
        r->on_abort = NULL;
        http_respond_text(r, status, "%s", msg);
    }
    BASE_LIST_FOREACH(it, next, &srv->streams) {
        http_stream_t *st = base_list_entry(it, http_stream_t, link);
        st->ending = 1; /* the reader ends each stream */
        http_stream_wake(st);
    }
}

void http_server_free(http_server_t *srv)
{
    if (!srv) return;
    base_loop_remove_source(srv->loop, srv);
    /* MHD refuses to stop with suspended connections: answer them first. */
    http_server_answer_pending(srv, 503, "the gateway is shutting down");
    MHD_run(srv->d);
    MHD_stop_daemon(srv->d); /* completes every request and stream */
    http_conn_fini_(srv);
    http_tls_fini_(srv); /* after the connections' references */
    free(srv);
}

uint16_t http_server_port(const http_server_t *srv)
{
    return srv->port;
}

void http_server_quiesce(http_server_t *srv)
{
    if (srv->quiesced) return;
    srv->quiesced = 1;
    /* MHD hands the socket over (and no longer closes it): closing it now
     * makes new clients fail fast instead of waiting in the backlog. */
    MHD_socket fd = MHD_quiesce_daemon(srv->d);
    if (fd != MHD_INVALID_SOCKET) close(fd);
}

const http_server_stats_t *http_server_stats(const http_server_t *srv)
{
    return &srv->stats;
}

size_t http_server_pending(const http_server_t *srv)
{
    return srv->pending;
}

size_t http_server_requests(const http_server_t *srv)
{
    return srv->nreqs;
}

/* The answer is ready: count it and resume the connection if it waits
 * suspended. */
void http_answered_(http_req_t *r)
{
    /* copied into r->resp: an event stream would keep them for its life
     * (issue #19: memory per subscriber) */
    req_drop_headers(r);
    if (r->handled) r->srv->pending--;
    if (!base_list_linked(&r->link)) return;
    base_list_remove(&r->link);
    if (r->suspended) MHD_resume_connection(r->conn);
    r->suspended = 0;
    r->srv->need_run = 1; /* one MHD_run serves every resumed connection */
}
