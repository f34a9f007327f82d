/*
 * Unit tests for the HTTP server's connection limits (http_server.h): the
 * request header deadline (slowloris), connections per address, the
 * connection limit's 503 and the body deadline, from raw sockets that
 * share one base_loop with the server in the test thread (httpsrvfx.h).
 * The operations hooks are in test_http_server.c.
 */
#include "httpsrvfx.h"
#include "testutil.h"

#include <check.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* --- connection limits: raw sockets, so that a test can trickle --- */

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

int main(void)
{
    Suite *s = suite_create("http_server_limits");
    TCase *tc = tcase_create("limits");
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
