/*
 * Unit tests for the HTTP server's operations hooks (http_server.h): the
 * per-request completion report (access log and metrics), 499 for a
 * client gone before its answer, and the graceful-shutdown calls
 * (quiesce, answer_pending); then the connection limits: the request
 * header deadline (slowloris) and connections per address. Server and
 * clients (the libcurl multi client, raw sockets) share one base_loop in
 * the test thread.
 */
#include "http_client.h"
#include "http_server.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static base_loop_t *loop;
static http_server_t *srv;
static http_client_t *cli;
static char base[64];

/* What the server saw. */
static struct {
    int reports, aborts;
    char method[16], path[64], target[64], note[64], query[64];
    unsigned status;
    uint64_t duration_us;
    http_req_t *held; /* a request left unanswered */
    int refused;      /* http_respond_shared said no */
} seen;

static http_shared_t *shared; /* built by the first /shared request */

/* /shared and /other answer with one shared response; /other carries
 * another header, so it is refused and answered as usual. */
static void answer_shared(http_req_t *req, const char *path)
{
    http_req_add_header(req, "X-Kind", !strcmp(path, "/other") ? "other" : "shared");
    static const char *const extra[] = {"Cache-Control", "max-age=7", NULL};
    if (!shared) shared = http_shared_new(req, "text/plain", "shared", 6, extra);
    ck_assert_ptr_nonnull(shared);
    if (!http_respond_shared(req, 203, shared)) return;
    seen.refused++;
    http_respond(req, 200, "text/plain", "own", 3);
}

static void on_report(const http_done_t *d, void *arg)
{
    (void)arg;
    seen.reports++;
    snprintf(seen.method, sizeof seen.method, "%s", d->method);
    snprintf(seen.path, sizeof seen.path, "%s", d->path);
    snprintf(seen.target, sizeof seen.target, "%s", d->target ? d->target : "-");
    snprintf(seen.note, sizeof seen.note, "%s", d->note ? d->note : "-");
    seen.status = d->status;
    seen.duration_us = d->duration_us;
}

static void on_abort(http_req_t *req, void *arg)
{
    (void)req;
    (void)arg;
    seen.aborts++;
    seen.held = NULL;
}

/* /now answers at once (with log details), /hold never by itself. */
static void handler(http_req_t *req, void *arg)
{
    (void)arg;
    if (!strcmp(http_req_path(req), "/hold")) {
        seen.held = req;
        http_req_on_abort(req, on_abort, NULL);
        return;
    }
    snprintf(seen.query, sizeof seen.query, "%s", http_req_query(req));
    if (!strcmp(http_req_path(req), "/shared") || !strcmp(http_req_path(req), "/other")) {
        answer_shared(req, http_req_path(req));
        return;
    }
    http_req_set_log(req, "coap://dev/now", "2.05 Content");
    http_respond(req, 201, "text/plain", "ok", 2);
}

/* --- the client side --- */

typedef struct {
    int done, result;
    unsigned status;
    char body[16], cache_control[32];
} call_t;

static void on_call(http_call_t *call, const http_result_t *r, void *arg)
{
    (void)call;
    call_t *c = arg;
    c->done = 1;
    c->result = r->result;
    c->status = r->status;
    snprintf(c->body, sizeof c->body, "%.*s", (int)r->body_len, (const char *)r->body);
    snprintf(c->cache_control, sizeof c->cache_control, "%s",
             r->cache_control ? r->cache_control : "-");
}

static void get(const char *path, unsigned timeout_ms, call_t *c)
{
    char url[128];
    snprintf(url, sizeof url, "%s%s", base, path);
    http_call_t *call = http_call_new(cli, "GET", url);
    ck_assert_ptr_nonnull(call);
    http_call_set_timeout(call, timeout_ms);
    memset(c, 0, sizeof *c);
    ck_assert_int_eq(http_call_start(call, on_call, c), 0);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs the loop until *flag reaches want, for at most 3 s. */
static void run_until(const int *flag, int want)
{
    uint64_t end = now_ms() + 3000;
    while (*flag < want && now_ms() < end) base_loop_run_once(loop, 20);
}

/* Runs the loop for ms milliseconds. */
static void run_for(unsigned ms)
{
    uint64_t end = now_ms() + ms;
    while (now_ms() < end) base_loop_run_once(loop, 10);
}

static uint32_t header_timeout(void *arg)
{
    return *(const uint32_t *)arg;
}

static uint32_t deadline_ms;       /* 0: the operations tests, no deadline */
static unsigned max_conns, idle_s; /* 0: the defaults */

static void start_server(unsigned per_ip)
{
    char err[128];
    memset(&seen, 0, sizeof seen);
    loop = base_loop_new();
    http_server_params_t p = {.listen = "127.0.0.1:0",
                              .done = on_report,
                              .max_conn_per_ip = per_ip,
                              .max_connections = max_conns,
                              .limit_text = "too many (test)",
                              .conn_timeout_s = idle_s,
                              .header_timeout_ms = header_timeout};
    srv = http_server_new(loop, &p, handler, &deadline_ms, err, sizeof err);
    ck_assert_ptr_nonnull(srv);
    snprintf(base, sizeof base, "http://127.0.0.1:%u", http_server_port(srv));
    cli = http_client_new(loop);
    ck_assert_ptr_nonnull(cli);
}

static void setup(void)
{
    deadline_ms = 0;
    max_conns = idle_s = 0;
    start_server(0);
}

static void setup_limits(void)
{
    deadline_ms = 300;
    max_conns = idle_s = 0;
    start_server(3);
}

static void setup_conns(void)
{
    deadline_ms = 3000;
    max_conns = 2;
    idle_s = 1;
    start_server(0);
}

static void teardown(void)
{
    http_client_free(cli);
    http_server_free(srv);
    base_loop_free(loop);
}

START_TEST(report_per_request)
{
    call_t c;
    get("/now", 2000, &c);
    run_until(&seen.reports, 1);
    run_until(&c.done, 1);
    ck_assert_int_eq(c.result, HTTP_CALL_OK);
    ck_assert_uint_eq(c.status, 201);
    ck_assert_int_eq(seen.reports, 1);
    ck_assert_str_eq(seen.method, "GET");
    ck_assert_str_eq(seen.path, "/now");
    ck_assert_uint_eq(seen.status, 201);
    ck_assert_str_eq(seen.target, "coap://dev/now");
    ck_assert_str_eq(seen.note, "2.05 Content");
    ck_assert_uint_lt(seen.duration_us, 2000000);
    ck_assert_uint_eq(http_server_requests(srv), 0);
}
END_TEST

/* A suspended connection is not watched (libmicrohttpd), so the client's
 * leaving shows when the late answer cannot be delivered: one larger than
 * the socket buffers, so that writing it fails. */
/* The query arguments MHD splits are joined back as sent: a key without
 * '=', an empty value, escapes left alone. */
START_TEST(query_joined_back)
{
    call_t c;
    get("/now?a=1&b&c=&d=x%20y", 2000, &c);
    run_until(&c.done, 1);
    ck_assert_uint_eq(c.status, 201);
    ck_assert_str_eq(seen.query, "a=1&b&c=&d=x%20y");
    get("/now", 2000, &c);
    run_until(&c.done, 1);
    ck_assert_str_eq(seen.query, "");
}
END_TEST

START_TEST(client_gone_is_499)
{
    call_t c;
    get("/hold", 200, &c); /* the client gives up after 200 ms */
    run_until(&c.done, 1);
    ck_assert_int_eq(c.result, HTTP_CALL_TIMEOUT);
    ck_assert_ptr_nonnull(seen.held);
    static char big[4 << 20];
    http_respond(seen.held, 200, "text/plain", big, sizeof big);
    run_until(&seen.reports, 1);
    ck_assert_int_eq(seen.reports, 1);
    ck_assert_uint_eq(seen.status, 499);
    ck_assert_str_eq(seen.target, "-");
    ck_assert_uint_ge(seen.duration_us, 150000);
    ck_assert_uint_eq(http_server_pending(srv), 0);
    ck_assert_uint_eq(http_server_requests(srv), 0);
}
END_TEST

/* An answer given before the server's next run (a device answering
 * within a loop turn) goes out without suspending the connection; one
 * given later, after the connection was suspended, goes out as well, and
 * the connection serves the next request (keep-alive). */
START_TEST(answer_before_next_run_not_suspended)
{
    call_t c;
    get("/hold", 2000, &c);
    while (!seen.held) base_loop_run_once(loop, 20);
    ck_assert_uint_eq(http_server_pending(srv), 1);
    http_respond(seen.held, 200, "text/plain", "soon", 4);
    run_until(&c.done, 1);
    ck_assert_int_eq(c.result, HTTP_CALL_OK);
    ck_assert_uint_eq(c.status, 200);
    ck_assert_uint_eq(http_server_stats(srv)->suspended, 0);
    seen.held = NULL;
    get("/hold", 2000, &c);
    while (!seen.held) base_loop_run_once(loop, 20);
    run_for(100); /* several runs: the connection is suspended */
    ck_assert_uint_eq(http_server_stats(srv)->suspended, 1);
    ck_assert_int_eq(c.done, 0);
    http_respond(seen.held, 200, "text/plain", "late", 4);
    run_until(&c.done, 1);
    ck_assert_int_eq(c.result, HTTP_CALL_OK);
    ck_assert_uint_eq(c.status, 200);
    run_until(&seen.reports, 2);
    ck_assert_uint_eq(http_server_pending(srv), 0);
    ck_assert_uint_eq(http_server_requests(srv), 0);
}
END_TEST

/* One response built once answers many requests, alike, also one that
 * was answered while it waited and is queued after its builder let go of
 * it; a request with other headers is refused it (and answered as usual). */
START_TEST(shared_response_many_times)
{
    call_t c;
    for (int i = 0; i < 3; i++) {
        get("/shared", 2000, &c);
        run_until(&c.done, 1);
        ck_assert_int_eq(c.result, HTTP_CALL_OK);
        ck_assert_uint_eq(c.status, 203);
        ck_assert_str_eq(c.body, "shared");
        ck_assert_str_eq(c.cache_control, "max-age=7");
    }
    get("/other", 2000, &c);
    run_until(&c.done, 1);
    ck_assert_int_eq(seen.refused, 1);
    ck_assert_uint_eq(c.status, 200);
    ck_assert_str_eq(c.body, "own");
    get("/hold", 2000, &c);
    while (!seen.held) base_loop_run_once(loop, 20);
    run_for(100); /* suspended */
    http_req_add_header(seen.held, "X-Kind", "shared");
    ck_assert_int_eq(http_respond_shared(seen.held, 203, shared), 0);
    http_shared_release(shared); /* the request keeps it until it is queued */
    shared = NULL;
    run_until(&c.done, 1);
    ck_assert_uint_eq(c.status, 203);
    ck_assert_str_eq(c.body, "shared");
    run_until(&seen.reports, 5);
    ck_assert_uint_eq(http_server_requests(srv), 0);
}
END_TEST

/* A listening socket passed in (socket activation) is served as it is;
 * a socket that is not a listening TCP one is refused, saying so. */
START_TEST(passed_listening_socket)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sin;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
    ck_assert_int_eq(listen(fd, 16), 0);
    char err[160];
    http_server_params_t p = {.listen = "127.0.0.1:1", .listen_fd = fd}; /* listen: for messages */
    http_server_t *passed = http_server_new(loop, &p, handler, &deadline_ms, err, sizeof err);
    ck_assert_ptr_nonnull(passed);
    ck_assert_uint_eq(http_server_port(passed), ntohs(sin.sin_port));
    ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
    snprintf(base, sizeof base, "http://127.0.0.1:%u", ntohs(sin.sin_port));
    call_t c;
    get("/now", 2000, &c);
    run_until(&c.done, 1);
    ck_assert_int_eq(c.result, HTTP_CALL_OK);
    ck_assert_uint_eq(c.status, 201);
    http_server_free(passed);
    int udp = socket(AF_INET, SOCK_DGRAM, 0), idle = socket(AF_INET, SOCK_STREAM, 0);
    int bad[2] = {udp, idle};
    for (int i = 0; i < 2; i++) {
        p.listen_fd = bad[i];
        ck_assert_ptr_null(http_server_new(loop, &p, handler, &deadline_ms, err, sizeof err));
        ck_assert_ptr_nonnull(strstr(err, "is no listening TCP socket"));
        close(bad[i]);
    }
}
END_TEST

START_TEST(quiesce_then_answer_pending)
{
    call_t held, late;
    get("/hold", 3000, &held);
    while (!seen.held) base_loop_run_once(loop, 20);
    ck_assert_uint_eq(http_server_pending(srv), 1);
    ck_assert_uint_eq(http_server_requests(srv), 1);
    http_server_quiesce(srv);
    get("/now", 1000, &late); /* the listening socket is gone: refused */
    run_until(&late.done, 1);
    ck_assert_int_eq(late.result, HTTP_CALL_CONNECT);
    ck_assert_int_eq(held.done, 0); /* the request in flight is still there */
    http_server_answer_pending(srv, 503, "shutting down");
    run_until(&held.done, 1);
    ck_assert_int_eq(held.result, HTTP_CALL_OK);
    ck_assert_uint_eq(held.status, 503);
    ck_assert_int_eq(seen.aborts, 1); /* its owner was told to let go first */
    run_until(&seen.reports, 1);
    ck_assert_uint_eq(seen.status, 503);
    ck_assert_uint_eq(http_server_requests(srv), 0);
}
END_TEST

/* --- connection limits: raw sockets, so that a test can trickle --- */

static int raw_connect(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(http_server_port(srv))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    /* the kernel completes the handshake from the backlog */
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static void raw_send(int fd, const char *s)
{
    ck_assert_int_eq(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Reads what is there: 1 when the server closed the connection, else 0;
 * the bytes are appended to buf (cap bytes, NUL-terminated). */
static int raw_poll(int fd, char *buf, size_t cap)
{
    size_t have = strlen(buf);
    ssize_t n = recv(fd, buf + have, cap - have - 1, 0);
    if (n > 0) buf[have + (size_t)n] = '\0';
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static const char request[] = "GET /now HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/* A header sent one line every 50 ms is never complete: the connection
 * is closed at the deadline (300 ms), though it never stays idle. */
START_TEST(trickled_header_closed)
{
    int fd = raw_connect(), quiet = raw_connect();
    char buf[256] = "";
    uint64_t t0 = now_ms(), closed_ms = 0;
    raw_send(fd, "GET /now HTTP/1.1\r\n");
    while (!closed_ms && now_ms() < t0 + 2000) {
        run_for(50);
        if (raw_poll(fd, buf, sizeof buf))
            closed_ms = now_ms() - t0;
        else
            raw_send(fd, "X-Slow: y\r\n");
    }
    ck_assert_uint_ge(closed_ms, 250);
    ck_assert_uint_le(closed_ms, 900);
    ck_assert_str_eq(buf, ""); /* no answer: it was closed */
    run_for(50);
    ck_assert(raw_poll(quiet, buf, sizeof buf)); /* one that sent nothing: closed too */
    ck_assert_int_eq(seen.reports, 1);           /* the request line had come */
    ck_assert_uint_eq(seen.status, 0);
    ck_assert_str_eq(seen.method, "-");
    ck_assert_str_eq(seen.note, "closed: request header not complete within 300 ms");
    ck_assert_uint_eq(http_server_requests(srv), 0);
    close(fd);
    close(quiet);
}
END_TEST

/* Complete headers: no deadline while the answer takes its time; kept
 * alive, the next request gets a new one. */
START_TEST(complete_header_not_closed)
{
    int held = raw_connect(), alive = raw_connect();
    char hbuf[512] = "", abuf[2048] = "";
    raw_send(held, "GET /hold HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    for (int i = 0; i < 8; i++) { /* 8 answers on one connection, 0.8 s */
        raw_send(alive, request);
        run_for(100);
        ck_assert(!raw_poll(alive, abuf, sizeof abuf));
        ck_assert(!raw_poll(held, hbuf, sizeof hbuf));
    }
    ck_assert_ptr_nonnull(seen.held);
    ck_assert_int_eq(seen.reports, 8);
    int answers = 0;
    for (const char *p = abuf; (p = strstr(p, "HTTP/1.1 201")); p++) answers++;
    ck_assert_int_eq(answers, 8);
    http_respond(seen.held, 200, "text/plain", "late", 4);
    run_for(50);
    ck_assert(!raw_poll(held, hbuf, sizeof hbuf));
    ck_assert_ptr_nonnull(strstr(hbuf, "late"));
    /* idle after its answers: an idle keep-alive connection gets the same time */
    run_for(400);
    ck_assert(raw_poll(alive, abuf, sizeof abuf));
    ck_assert(raw_poll(held, hbuf, sizeof hbuf));
    ck_assert_uint_eq(http_server_requests(srv), 0);
    close(held);
    close(alive);
}
END_TEST

/* max_conn_per_ip 3: a fourth connection from the same address is closed
 * at once, the three others are served. */
START_TEST(per_ip_limit)
{
    int fd[4];
    char buf[4][512] = {""};
    for (int i = 0; i < 4; i++) {
        fd[i] = raw_connect();
        run_for(20); /* accepted in order */
    }
    for (int i = 0; i < 4; i++) raw_send(fd[i], request);
    run_for(100);
    for (int i = 0; i < 3; i++) {
        ck_assert(!raw_poll(fd[i], buf[i], sizeof buf[i]));
        ck_assert_ptr_nonnull(strstr(buf[i], "HTTP/1.1 201"));
    }
    ck_assert(raw_poll(fd[3], buf[3], sizeof buf[3]));
    ck_assert_str_eq(buf[3], "");
    close(fd[0]); /* a place is free again */
    run_for(50);
    int again = raw_connect();
    char abuf[512] = "";
    raw_send(again, request);
    run_for(100);
    ck_assert(!raw_poll(again, abuf, sizeof abuf));
    ck_assert_ptr_nonnull(strstr(abuf, "HTTP/1.1 201"));
    for (int i = 1; i < 4; i++) close(fd[i]);
    close(again);
}
END_TEST

/* max_connections 2: a third connection gets 503 with Retry-After and
 * the limit's text once its header is in, and is closed; the two are
 * served. */
START_TEST(over_limit_gets_503)
{
    int fd[3];
    char buf[3][512] = {""};
    for (int i = 0; i < 3; i++) {
        fd[i] = raw_connect();
        run_for(20); /* accepted in order */
    }
    for (int i = 0; i < 3; i++) raw_send(fd[i], request);
    run_for(100);
    for (int i = 0; i < 2; i++) {
        ck_assert(!raw_poll(fd[i], buf[i], sizeof buf[i]));
        ck_assert_ptr_nonnull(strstr(buf[i], "HTTP/1.1 201"));
    }
    int closed = 0; /* answered, then closed */
    for (int i = 0; i < 10 && !closed; i++, run_for(20))
        closed = raw_poll(fd[2], buf[2], sizeof buf[2]);
    ck_assert(closed);
    ck_assert_ptr_nonnull(strstr(buf[2], "HTTP/1.1 503"));
    ck_assert_ptr_nonnull(strstr(buf[2], "Retry-After: 1\r\n"));
    ck_assert_ptr_nonnull(strstr(buf[2], "\r\n\r\ntoo many (test)"));
    ck_assert_uint_eq(http_server_stats(srv)->refused, 1);
    for (int i = 0; i < 3; i++) close(fd[i]);
}
END_TEST

/* A body sent a byte every 100 ms never looks idle, but must be whole
 * within conn_timeout_s (1 s) of its header: the connection is closed. */
START_TEST(trickled_body_closed)
{
    int fd = raw_connect();
    char buf[256] = "";
    uint64_t t0 = now_ms(), closed_ms = 0;
    raw_send(fd, "POST /now HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 40\r\n\r\n");
    while (!closed_ms && now_ms() < t0 + 3000) {
        run_for(100);
        if (raw_poll(fd, buf, sizeof buf))
            closed_ms = now_ms() - t0;
        else
            raw_send(fd, "x");
    }
    ck_assert_uint_ge(closed_ms, 950);
    ck_assert_uint_le(closed_ms, 1500);
    ck_assert_str_eq(buf, ""); /* no answer: it was closed */
    run_for(50);
    ck_assert_int_eq(seen.reports, 1);
    ck_assert_uint_eq(seen.status, 0);
    ck_assert_str_eq(seen.method, "POST");
    ck_assert_str_eq(seen.note, "closed: request body not complete within 1000 ms");
    ck_assert_uint_eq(http_server_stats(srv)->body_timeouts, 1);
    close(fd);
}
END_TEST

/* A client that resets its connection while its request waits one run
 * unsuspended (server.c's wait_for_answer): its owner hears of it at most
 * once (the abort callback, then no answer may be given) or answers into
 * the closed connection; either way one report, 499, nothing left. */
static void reset_while_held(int answer_at_once)
{
    int fd = raw_connect();
    raw_send(fd, "GET /hold HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    uint64_t end = now_ms() + 2000;
    while (!seen.held && now_ms() < end) base_loop_run_once(loop, 5);
    ck_assert_ptr_nonnull(seen.held);
    ck_assert_uint_eq(http_server_stats(srv)->suspended, 0); /* still in its one run */
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);            /* RST */
    if (answer_at_once) { /* before the server's next run */
        http_respond(seen.held, 200, "text/plain", "late", 4);
        seen.held = NULL;
    }
    run_for(100);
    if (seen.held) { /* not aborted: the answer goes to the closed connection */
        ck_assert_int_eq(seen.aborts, 0);
        http_respond(seen.held, 200, "text/plain", "late", 4);
        run_until(&seen.reports, 1);
    }
    run_for(50);
    ck_assert_int_eq(seen.reports, 1);
    ck_assert_uint_eq(seen.status, 499);
    ck_assert_int_le(seen.aborts, 1);
    ck_assert_uint_eq(http_server_pending(srv), 0);
    ck_assert_uint_eq(http_server_requests(srv), 0);
}

START_TEST(reset_in_the_unsuspended_run)
{
    reset_while_held(0);
}
END_TEST

START_TEST(reset_then_answer_in_the_same_run)
{
    reset_while_held(1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_server");
    TCase *tc = tcase_create("operations");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, report_per_request);
    tcase_add_test(tc, query_joined_back);
    tcase_add_test(tc, client_gone_is_499);
    tcase_add_test(tc, quiesce_then_answer_pending);
    tcase_add_test(tc, answer_before_next_run_not_suspended);
    tcase_add_test(tc, shared_response_many_times);
    tcase_add_test(tc, passed_listening_socket);
    tcase_add_test(tc, reset_in_the_unsuspended_run);
    tcase_add_test(tc, reset_then_answer_in_the_same_run);
    suite_add_tcase(s, tc);
    tc = tcase_create("limits");
    tcase_add_checked_fixture(tc, setup_limits, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, trickled_header_closed);
    tcase_add_test(tc, complete_header_not_closed);
    tcase_add_test(tc, per_ip_limit);
    suite_add_tcase(s, tc);
    tc = tcase_create("connections");
    tcase_add_checked_fixture(tc, setup_conns, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, over_limit_gets_503);
    tcase_add_test(tc, trickled_body_closed);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
