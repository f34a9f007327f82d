/*
 * Unit tests for the HTTP server's operations hooks (http_server.h): the
 * per-request completion report (access log and metrics), 499 for a
 * client gone before its answer, and the graceful-shutdown calls
 * (quiesce, answer_pending). Server and clients (the libcurl multi
 * client, raw sockets) share one base_loop in the test thread
 * (httpsrvfx.h). The connection limits are in test_http_server_limits.c.
 */
#include "httpsrvfx.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* Runs the loop until *flag reaches want, for at most 3 s. */
static void run_until(const int *flag, int want)
{
    uint64_t end = now_ms() + 3000;
    while (*flag < want && now_ms() < end) base_loop_run_once(loop, 20);
}

static void setup(void)
{
    deadline_ms = 0;
    max_conns = idle_s = 0;
    start_server(0);
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
    return run_suite(s);
}
