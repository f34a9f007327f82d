/*
 * Unit tests for the HTTP server's operations hooks (http_server.h): the
 * per-request completion report (access log and metrics), 499 for a
 * client gone before its answer, and the graceful-shutdown calls
 * (quiesce, answer_pending). Server and client (the libcurl multi client)
 * share one coap_loop in the test thread.
 */
#include "http_client.h"
#include "http_server.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static coap_loop_t *loop;
static http_server_t *srv;
static http_client_t *cli;
static char base[64];

/* What the server saw. */
static struct {
    int reports, aborts;
    char method[16], path[64], target[64], note[64];
    unsigned status;
    uint64_t duration_us;
    http_req_t *held; /* a request left unanswered */
} seen;

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
    http_req_set_log(req, "coap://dev/now", "2.05 Content");
    http_respond(req, 201, "text/plain", "ok", 2);
}

/* --- the client side --- */

typedef struct {
    int done, result;
    unsigned status;
} call_t;

static void on_call(http_call_t *call, const http_result_t *r, void *arg)
{
    (void)call;
    call_t *c = arg;
    c->done = 1;
    c->result = r->result;
    c->status = r->status;
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
    while (*flag < want && now_ms() < end) coap_loop_run_once(loop, 20);
}

static void setup(void)
{
    char err[128];
    memset(&seen, 0, sizeof seen);
    loop = coap_loop_new();
    http_server_params_t p = {.listen = "127.0.0.1:0", .done = on_report};
    srv = http_server_new(loop, &p, handler, NULL, err, sizeof err);
    ck_assert_ptr_nonnull(srv);
    snprintf(base, sizeof base, "http://127.0.0.1:%u", http_server_port(srv));
    cli = http_client_new(loop);
    ck_assert_ptr_nonnull(cli);
}

static void teardown(void)
{
    http_client_free(cli);
    http_server_free(srv);
    coap_loop_free(loop);
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

START_TEST(quiesce_then_answer_pending)
{
    call_t held, late;
    get("/hold", 3000, &held);
    while (!seen.held) coap_loop_run_once(loop, 20);
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

int main(void)
{
    Suite *s = suite_create("http_server");
    TCase *tc = tcase_create("operations");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, report_per_request);
    tcase_add_test(tc, client_gone_is_499);
    tcase_add_test(tc, quiesce_then_answer_pending);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
