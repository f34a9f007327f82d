/*
 * Unit tests for the libcurl multi client (http_client.h): requests and
 * answers, limits, connection and handle reuse, concurrency, cancelling,
 * against an origin in this process (origin.h).
 */
#include "origin.h"

START_TEST(get_ok_with_headers)
{
    rec_t k;
    do_call("GET", "/ok", NULL, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_uint_eq(k.status, 200);
    ck_assert_str_eq((char *)k.body, "hello");
    ck_assert_str_eq(k.ctype, "text/plain");
    ck_assert_str_eq(k.etag, "\"abc\"");
    ck_assert_str_eq(k.cc, "max-age=30");
    ck_assert_str_eq(k.location, "(null)");
    ck_assert_str_eq(k.error, "(null)");
    free(k.body);
}
END_TEST

START_TEST(header_names_any_case)
{
    rec_t k;
    do_call("GET", "/headers", NULL, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_str_eq(k.ctype, "text/x");
    ck_assert_str_eq(k.etag, "W/\"w\"");
    ck_assert_str_eq(k.cc, "no-cache, max-age=5");
    ck_assert_str_eq(k.expires, "Thu, 01 Jan 1970 00:00:00 GMT");
    free(k.body);
}
END_TEST

START_TEST(head_has_no_body)
{
    rec_t k;
    do_call("HEAD", "/ok", NULL, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_uint_eq(k.status, 200);
    ck_assert_uint_eq(k.body_len, 0);
    ck_assert_str_eq(k.etag, "\"abc\"");
    free(k.body);
}
END_TEST

START_TEST(methods_send_their_bodies)
{
    static const char *const methods[] = {"POST", "PUT", "PATCH", "FETCH", "DELETE"};
    rec_t k;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        char body[64], want[80];
        snprintf(body, sizeof body, "{\"m\":\"%s\"}", methods[i]);
        do_call(methods[i], "/echo", body, &k);
        ck_assert_int_eq(k.result, HTTP_CALL_OK);
        ck_assert_uint_eq(k.status, 200);
        snprintf(want, sizeof want, "%s\n%s", methods[i], body);
        ck_assert_str_eq((char *)k.body, want);
        ck_assert_str_eq(k.ctype, "application/json");
        free(k.body);
    }
    /* no Content-Type given: none sent (not curl's form type), and an
     * empty POST still goes out as a POST */
    do_call("POST", "/echo", NULL, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_str_eq((char *)k.body, "POST\n");
    ck_assert_str_eq(k.ctype, "(null)");
    free(k.body);
    do_call("DELETE", "/echo", NULL, &k);
    ck_assert_str_eq((char *)k.body, "DELETE\n");
    free(k.body);
    /* a large PUT goes out byte for byte and without "Expect: 100-continue",
     * which curl 7.88 adds above 1 MiB (MHD answers it, but an origin that
     * does not costs a 1 s wait) */
    enum { PUT_LEN = 1200 * 1024 };
    uint8_t *put = malloc(PUT_LEN);
    for (size_t i = 0; i < PUT_LEN; i++) put[i] = big[i % BIG_LEN];
    http_call_t *call = mk("PUT", "/echo");
    ck_assert_int_eq(http_call_set_body(call, put, PUT_LEN), 0);
    http_call_set_max_body(call, 2 * PUT_LEN);
    uint64_t t0 = now_ms();
    run_call(call, &k);
    ck_assert_uint_lt(now_ms() - t0, 900);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_uint_eq(k.body_len, 4 + PUT_LEN);
    ck_assert_mem_eq(k.body, "PUT\n", 4);
    ck_assert_mem_eq(k.body + 4, put, PUT_LEN);
    ck_assert_int_eq(expects(), 0);
    free(put);
    free(k.body);
}
END_TEST

START_TEST(error_statuses_are_responses)
{
    rec_t k;
    do_call("GET", "/status/404", NULL, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_uint_eq(k.status, 404);
    ck_assert_str_eq((char *)k.body, "status 404");
    free(k.body);
    do_call("GET", "/status/500", NULL, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_uint_eq(k.status, 500);
    free(k.body);
}
END_TEST

START_TEST(timeout)
{
    http_call_t *call = mk("GET", "/slow");
    http_call_set_timeout(call, 300);
    rec_t k;
    uint64_t t0 = now_ms();
    run_call(call, &k);
    uint64_t took = now_ms() - t0;
    ck_assert_int_eq(k.result, HTTP_CALL_TIMEOUT);
    ck_assert_uint_ge(took, 290);
    ck_assert_uint_lt(took, 1400);
    ck_assert_str_ne(k.error, "(null)");
    free(k.body);
}
END_TEST

/* A URL on a port nobody listens on: bound, read back, closed. */
static void refused_url(char *u, size_t cap)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sin;
    ck_assert_int_eq(bind(s, (struct sockaddr *)&sin, sizeof sin), 0);
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&sin, &len), 0);
    close(s);
    snprintf(u, cap, "http://127.0.0.1:%u/x", ntohs(sin.sin_port));
}

START_TEST(connection_refused)
{
    char u[64];
    refused_url(u, sizeof u);
    rec_t k;
    run_call(http_call_new(cli, "GET", u), &k);
    ck_assert_int_eq(k.result, HTTP_CALL_CONNECT);
    ck_assert_str_ne(k.error, "(null)");
    free(k.body);
}
END_TEST

START_TEST(big_body_and_limit)
{
    rec_t k;
    do_call("GET", "/big", NULL, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_uint_eq(k.body_len, BIG_LEN);
    ck_assert_mem_eq(k.body, big, BIG_LEN);
    free(k.body);
    http_call_t *call = mk("GET", "/big");
    http_call_set_max_body(call, 1000);
    run_call(call, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_TOO_LARGE);
    ck_assert_str_eq(k.error, "response body larger than 1000 bytes");
    free(k.body);
}
END_TEST

/* The stream mode: the body in pieces as it comes, with the status and
 * type; max_body does not apply; -1 stops the transfer. */
typedef struct {
    size_t got, pieces, stop_after;
    unsigned status;
    char ctype[64];
    int same;
} pieces_t;

static int on_piece(http_call_t *call, unsigned status, const char *ctype, const uint8_t *data,
                    size_t len, void *arg)
{
    (void)call;
    pieces_t *p = arg;
    p->status = status;
    copy_str(p->ctype, sizeof p->ctype, ctype);
    p->same = p->same && p->got + len <= BIG_LEN && !memcmp(data, big + p->got, len);
    p->got += len;
    p->pieces++;
    return p->stop_after && p->got >= p->stop_after ? -1 : 0;
}

START_TEST(body_as_a_stream)
{
    rec_t k;
    pieces_t p = {.same = 1};
    http_call_t *call = mk("GET", "/big");
    http_call_set_max_body(call, 1000);
    http_call_set_stream(call, on_piece, &p);
    run_call(call, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_uint_eq(k.body_len, 0); /* it went to on_piece */
    ck_assert_uint_eq(p.got, BIG_LEN);
    ck_assert_uint_gt(p.pieces, 1);
    ck_assert(p.same);
    ck_assert_uint_eq(p.status, 200);
    free(k.body);
    pieces_t stop = {.same = 1, .stop_after = 1};
    call = mk("GET", "/big");
    http_call_set_stream(call, on_piece, &stop);
    run_call(call, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_ERROR);
    ck_assert_uint_eq(stop.pieces, 1);
    free(k.body);
}
END_TEST

START_TEST(redirect_not_followed)
{
    rec_t k;
    do_call("GET", "/redirect", NULL, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_uint_eq(k.status, 302);
    ck_assert_str_eq(k.location, "/ok");
    ck_assert_uint_eq(k.body_len, 0);
    free(k.body);
}
END_TEST

START_TEST(connection_reused)
{
    http_client_free(cli);
    int fds = count_fds();
    cli = http_client_new(loop);
    rec_t k;
    run_call(mk("GET", "/ok"), &k);
    free(k.body);
    run_call(mk("POST", "/echo"), &k);
    free(k.body);
    run_call(mk("GET", "/ok"), &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_int_eq(conns(), 1);
    free(k.body);
    http_client_free(cli);
    cli = NULL;
    /* the kept-alive connection closed: ours at once, the origin's end when
     * its thread sees the EOF */
    uint64_t end = now_ms() + 3000;
    while (count_fds() > fds && now_ms() < end) usleep(10 * 1000);
    ck_assert_int_eq(count_fds(), fds);
}
END_TEST

/* Easy handles are kept for the next calls (issue #19): nothing of one
 * call (method, body, headers, timeout) reaches the next. */
START_TEST(reused_handles_start_clean)
{
    rec_t k;
    http_call_t *call = mk("PUT", "/echo");
    ck_assert_int_eq(http_call_add_header(call, "Content-Type", "text/x"), 0);
    ck_assert_int_eq(http_call_set_body(call, "b", 1), 0);
    http_call_set_timeout(call, 300);
    run_call(call, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_str_eq((char *)k.body, "PUT\nb");
    ck_assert_str_eq(k.ctype, "text/x");
    free(k.body);
    do_call("GET", "/echo", NULL, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_str_eq((char *)k.body, "GET\n");
    ck_assert_str_eq(k.ctype, "(null)");
    free(k.body);
    do_call("GET", "/slow", NULL, &k); /* 1.5 s: the 300 ms are gone */
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_str_eq((char *)k.body, "slow");
    free(k.body);
}
END_TEST

/* A plain GET's handle goes to the next call without a reset (issue #19):
 * its headers, timeout and URL do not reach the next call either, nor
 * does a method, whichever comes after. */
START_TEST(plain_get_handles_start_clean)
{
    rec_t k;
    do_call("GET", "/ok", NULL, &k); /* the connection, so the next ones reuse it */
    free(k.body);
    http_call_t *call = mk("GET", "/echo");
    ck_assert_int_eq(http_call_add_header(call, "Content-Type", "text/y"), 0);
    http_call_set_timeout(call, 300);
    run_call(call, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_str_eq((char *)k.body, "GET\n");
    ck_assert_str_eq(k.ctype, "text/y");
    free(k.body);
    do_call("GET", "/echo", NULL, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_str_eq((char *)k.body, "GET\n");
    ck_assert_str_eq(k.ctype, "(null)");
    free(k.body);
    do_call("GET", "/slow", NULL, &k); /* 1.5 s: the 300 ms are gone */
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_str_eq((char *)k.body, "slow");
    free(k.body);
    do_call("HEAD", "/ok", NULL, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_uint_eq(k.body_len, 0);
    free(k.body);
    do_call("DELETE", "/echo", NULL, &k);
    ck_assert_str_eq((char *)k.body, "DELETE\n");
    free(k.body);
    do_call("GET", "/echo", NULL, &k);
    ck_assert_str_eq((char *)k.body, "GET\n");
    free(k.body);
    ck_assert_int_eq(conns(), 1);
    /* another origin: curl 7.88 keeps the URL string of a handle's
     * previous transfer (CURLINFO_EFFECTIVE_URL), but connects where the
     * call's own parse says */
    char u[64];
    refused_url(u, sizeof u);
    run_call(http_call_new(cli, "GET", u), &k);
    ck_assert_int_eq(k.result, HTTP_CALL_CONNECT);
    free(k.body);
    ck_assert_int_eq(conns(), 1);
}
END_TEST

/* Between calls a kept-alive connection stays registered with the loop
 * (issue #19). An origin closing it meanwhile unregisters it: the loop
 * does not spin on its end, the next call opens a new connection, and
 * nothing leaks. */
START_TEST(idle_connection_closed_by_origin)
{
    http_client_free(cli);
    int fds = count_fds();
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct MHD_Daemon *brief =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                         NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, &sin,
                         MHD_OPTION_NOTIFY_CONNECTION, on_conn, NULL, MHD_OPTION_NOTIFY_COMPLETED,
                         completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT, 1u, MHD_OPTION_END);
    ck_assert_ptr_nonnull(brief);
    char u[128];
    snprintf(u, sizeof u, "http://127.0.0.1:%u/ok",
             MHD_get_daemon_info(brief, MHD_DAEMON_INFO_BIND_PORT)->port);
    cli = http_client_new(loop);
    rec_t k;
    run_call(http_call_new(cli, "GET", u), &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    free(k.body);
    int turns = 0;
    for (uint64_t end = now_ms() + 2500; now_ms() < end; turns++) base_loop_run_once(loop, 100);
    ck_assert_int_lt(turns, 200);
    run_call(http_call_new(cli, "GET", u), &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_str_eq((char *)k.body, "hello");
    ck_assert_int_eq(conns(), 2);
    free(k.body);
    http_client_free(cli);
    cli = NULL;
    MHD_stop_daemon(brief);
    ck_assert_int_eq(count_fds(), fds);
}
END_TEST

/* Fifty calls at once, each answered right. */
static void fifty_calls(void)
{
    enum { N = 50 };
    static rec_t k[N];
    int done = 0;
    memset(k, 0, sizeof k);
    for (int i = 0; i < N; i++) {
        char p[32];
        snprintf(p, sizeof p, "/status/%d", 400 + i); /* 4xx: all carry a body */
        ck_assert_int_eq(http_call_start(mk("GET", p), on_done, &k[i]), 0);
    }
    ck_assert_uint_eq(http_client_running(cli), N);
    uint64_t end = now_ms() + 10000;
    while (done < N && now_ms() < end) {
        base_loop_run_once(loop, 100);
        done = 0;
        for (int i = 0; i < N; i++) done += k[i].calls;
    }
    ck_assert_int_eq(done, N);
    for (int i = 0; i < N; i++) {
        char want[32];
        snprintf(want, sizeof want, "status %d", 400 + i);
        ck_assert_int_eq(k[i].calls, 1);
        ck_assert_int_eq(k[i].result, HTTP_CALL_OK);
        ck_assert_uint_eq(k[i].status, 400u + (unsigned)i);
        ck_assert_str_eq((char *)k[i].body, want);
        free(k[i].body);
    }
    ck_assert_uint_eq(http_client_running(cli), 0);
}

START_TEST(fifty_concurrent)
{
    fifty_calls();
}
END_TEST

/* n slow calls at once (1.5 s each): n connections in use together. */
static void slow_wave(int n)
{
    static rec_t k[50];
    ck_assert_int_le(n, 50);
    memset(k, 0, sizeof k);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(http_call_start(mk("GET", "/slow"), on_done, &k[i]), 0);
    int done = 0;
    uint64_t end = now_ms() + 10000;
    while (done < n && now_ms() < end) {
        base_loop_run_once(loop, 100);
        done = 0;
        for (int i = 0; i < n; i++) done += k[i].calls;
    }
    ck_assert_int_eq(done, n);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(k[i].result, HTTP_CALL_OK);
        free(k[i].body);
    }
}

/* The connections of a wave of calls are kept for the next wave, however
 * few calls were in flight meanwhile (issue #19). */
START_TEST(waves_reuse_connections)
{
    slow_wave(40);
    ck_assert_int_eq(conns(), 40);
    /* one call at a time: curl's default would keep 4 connections per
     * call in flight, closing one more at the end of each */
    for (int i = 0; i < 10; i++) {
        rec_t k;
        do_call("GET", "/ok", NULL, &k);
        ck_assert_int_eq(k.result, HTTP_CALL_OK);
        free(k.body);
    }
    slow_wave(40);
    ck_assert_int_eq(conns(), 40);
}
END_TEST

START_TEST(cancel)
{
    http_call_t *call = mk("GET", "/slow");
    rec_t k = {0};
    ck_assert_int_eq(http_call_start(call, on_done, &k), 0);
    for (int i = 0; i < 3; i++) base_loop_run_once(loop, 50);
    ck_assert_int_eq(k.calls, 0);
    http_call_cancel(call);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(k.result, HTTP_CALL_CANCELLED);
    ck_assert_uint_eq(http_client_running(cli), 0);
    http_call_cancel(mk("GET", "/ok")); /* never started: only freed */
    free(k.body);
    http_client_free(cli);
    cli = NULL;
    ck_assert_int_eq(k.calls, 1);
}
END_TEST

START_TEST(free_with_calls_running)
{
    rec_t k[3] = {{0}};
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(http_call_start(mk("GET", "/slow"), on_done, &k[i]), 0);
    (void)mk("GET", "/ok"); /* never started: freed with the client */
    for (int i = 0; i < 3; i++) base_loop_run_once(loop, 50);
    http_client_free(cli);
    cli = NULL;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(k[i].calls, 1);
        ck_assert_int_eq(k[i].result, HTTP_CALL_CANCELLED);
        free(k[i].body);
    }
    /* nothing of the client is left on the loop */
    for (int i = 0; i < 5; i++) ck_assert_int_eq(base_loop_run_once(loop, 10), 0);
}
END_TEST

/* A callback that cancels another call and starts a new one; another that
 * frees the whole client. */
typedef struct {
    http_call_t *victim;
    rec_t victim_rec, next_rec;
    int calls, free_client;
} chain_t;

static void on_chain(http_call_t *call, const http_result_t *r, void *arg)
{
    (void)call;
    chain_t *ch = arg;
    ch->calls++;
    ck_assert_int_eq(r->result, HTTP_CALL_OK);
    if (ch->free_client) {
        http_client_free(cli);
        cli = NULL;
        return;
    }
    http_call_cancel(ch->victim);
    ck_assert_int_eq(ch->victim_rec.result, HTTP_CALL_CANCELLED);
    ck_assert_int_eq(http_call_start(mk("GET", "/ok"), on_done, &ch->next_rec), 0);
}

START_TEST(callbacks_reenter)
{
    chain_t ch = {0};
    ch.victim = mk("GET", "/slow");
    ck_assert_int_eq(http_call_start(ch.victim, on_done, &ch.victim_rec), 0);
    ck_assert_int_eq(http_call_start(mk("GET", "/ok"), on_chain, &ch), 0);
    run_until(&ch.next_rec.calls, 1);
    ck_assert_int_eq(ch.calls, 1);
    ck_assert_int_eq(ch.victim_rec.calls, 1);
    ck_assert_int_eq(ch.next_rec.result, HTTP_CALL_OK);
    ck_assert_str_eq((char *)ch.next_rec.body, "hello");
    free(ch.victim_rec.body);
    free(ch.next_rec.body);

    /* the client freed from a callback, with another call running */
    ch.free_client = 1;
    ch.calls = 0;
    memset(&ch.victim_rec, 0, sizeof ch.victim_rec);
    ck_assert_int_eq(http_call_start(mk("GET", "/slow"), on_done, &ch.victim_rec), 0);
    ck_assert_int_eq(http_call_start(mk("GET", "/ok"), on_chain, &ch), 0);
    run_until(&ch.calls, 1);
    ck_assert_ptr_null(cli);
    ck_assert_int_eq(ch.victim_rec.calls, 1);
    ck_assert_int_eq(ch.victim_rec.result, HTTP_CALL_CANCELLED);
    free(ch.victim_rec.body);
    for (int i = 0; i < 5; i++) ck_assert_int_eq(base_loop_run_once(loop, 10), 0);
}
END_TEST

START_TEST(bad_calls)
{
    http_client_t *c = cli;
    ck_assert_ptr_null(http_call_new(c, "GET", "not a url"));
    ck_assert_ptr_null(http_call_new(c, "GET", "ftp://127.0.0.1/x"));
    ck_assert_ptr_null(http_call_new(c, "GE T", "http://127.0.0.1/"));
    ck_assert_ptr_null(http_call_new(c, "GET\r\nX: y", "http://127.0.0.1/"));
    http_call_t *call = mk("GET", "/ok");
    ck_assert_int_eq(http_call_add_header(call, "X-A", "b\r\nX-Evil: 1"), -1);
    ck_assert_int_eq(http_call_add_header(call, "X A", "b"), -1);
    ck_assert_int_eq(http_call_start(call, NULL, NULL), HTTP_CALL_ERROR); /* and freed */
    ck_assert_uint_eq(http_client_running(c), 0);
}
END_TEST

/* libcurl and the multi handle wait for the first call (issue #19): a
 * client that never makes one is created and freed without them, and a
 * second client's first call still works. */
START_TEST(client_without_calls)
{
    for (int i = 0; i < 3; i++) http_client_free(http_client_new(loop));
    http_client_t *c = http_client_new(loop);
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(http_client_running(c), 0);
    http_client_free(c);
    rec_t k; /* the fixture's client, new as well: its first call */
    do_call("GET", "/ok", NULL, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_uint_eq(k.status, 200);
    free(k.body);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_client");
    TCase *tc = tcase_create("http_client");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, get_ok_with_headers);
    tcase_add_test(tc, header_names_any_case);
    tcase_add_test(tc, head_has_no_body);
    tcase_add_test(tc, methods_send_their_bodies);
    tcase_add_test(tc, error_statuses_are_responses);
    tcase_add_test(tc, timeout);
    tcase_add_test(tc, connection_refused);
    tcase_add_test(tc, big_body_and_limit);
    tcase_add_test(tc, body_as_a_stream);
    tcase_add_test(tc, redirect_not_followed);
    tcase_add_test(tc, connection_reused);
    tcase_add_test(tc, reused_handles_start_clean);
    tcase_add_test(tc, plain_get_handles_start_clean);
    tcase_add_test(tc, idle_connection_closed_by_origin);
    tcase_add_test(tc, fifty_concurrent);
    tcase_add_test(tc, waves_reuse_connections);
    tcase_add_test(tc, cancel);
    tcase_add_test(tc, free_with_calls_running);
    tcase_add_test(tc, callbacks_reenter);
    tcase_add_test(tc, bad_calls);
    tcase_add_test(tc, client_without_calls);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
