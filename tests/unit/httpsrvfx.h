/*
 * httpsrvfx.h - what the HTTP server unit tests (test_http_server.c: the
 * operations hooks; test_http_server_limits.c: the connection limits)
 * share: one server on a base_loop in the test thread with a handler
 * that records what it saw, the libcurl multi client, the loop runner,
 * and raw sockets.
 */
#ifndef HTTPSRVFX_H
#define HTTPSRVFX_H

#include "http_client.h"
#include "http_server.h"

#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

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
static inline void answer_shared(http_req_t *req, const char *path)
{
    http_req_add_header(req, "X-Kind", !strcmp(path, "/other") ? "other" : "shared");
    static const char *const extra[] = {"Cache-Control", "max-age=7", NULL};
    if (!shared) shared = http_shared_new(req, "text/plain", "shared", 6, extra);
    ck_assert_ptr_nonnull(shared);
    if (!http_respond_shared(req, 203, shared)) return;
    seen.refused++;
    http_respond(req, 200, "text/plain", "own", 3);
}

static inline void on_report(const http_done_t *d, void *arg)
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

static inline void on_abort(http_req_t *req, void *arg)
{
    (void)req;
    (void)arg;
    seen.aborts++;
    seen.held = NULL;
}

/* /now answers at once (with log details), /hold never by itself. */
static inline void handler(http_req_t *req, void *arg)
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

static inline uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs the loop for ms milliseconds. */
static inline void run_for(unsigned ms)
{
    uint64_t end = now_ms() + ms;
    while (now_ms() < end) base_loop_run_once(loop, 10);
}

static inline uint32_t header_timeout(void *arg)
{
    return *(const uint32_t *)arg;
}

static uint32_t deadline_ms;       /* 0: the operations tests, no deadline */
static unsigned max_conns, idle_s; /* 0: the defaults */

static inline void start_server(unsigned per_ip)
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

static inline void teardown(void)
{
    http_client_free(cli);
    http_server_free(srv);
    base_loop_free(loop);
}

/* --- raw sockets, so that a test can trickle --- */

static inline int raw_connect(void)
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

static inline void raw_send(int fd, const char *s)
{
    ck_assert_int_eq(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

#endif
