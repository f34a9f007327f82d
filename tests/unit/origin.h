/*
 * origin.h - the fixture of the HTTP client's unit tests: an origin in this
 * process (libmicrohttpd with its own threads, one per connection, so /slow
 * blocks only its own) on 127.0.0.1, and a client on a base_loop in the
 * test thread, with helpers that run calls to completion.
 */
#ifndef ORIGIN_H
#define ORIGIN_H

#include "http_client.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BIG_LEN (300 * 1024)

static struct MHD_Daemon *origin;
static unsigned origin_port;
static atomic_int origin_conns;   /* TCP connections the origin accepted */
static atomic_int origin_expects; /* requests that came with an Expect header */
static atomic_int origin_reqs;    /* requests whose header reached the origin */
static uint8_t big[BIG_LEN];
static base_loop_t *loop;
static http_client_t *cli; /* a client per test, on loop */

/* --- the origin --- */

typedef struct {
    char *buf;
    size_t len;
} upload_t;

static inline void on_conn(void *cls, struct MHD_Connection *c, void **socket_ctx,
                           enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    (void)c;
    (void)socket_ctx;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) atomic_fetch_add(&origin_conns, 1);
}

/* The header name/value pairs end with a NULL name. */
static inline enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const void *body,
                                    size_t len, ...)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    va_list ap;
    va_start(ap, len);
    for (const char *name; (name = va_arg(ap, const char *));)
        MHD_add_response_header(r, name, va_arg(ap, const char *));
    va_end(ap);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static inline enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                                     const char *method, const char *version, const char *data,
                                     size_t *data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    upload_t *up = *con_cls;
    if (!up) {
        atomic_fetch_add(&origin_reqs, 1);
        if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Expect"))
            atomic_fetch_add(&origin_expects, 1);
        *con_cls = calloc(1, sizeof *up);
        return MHD_YES;
    }
    if (*data_size) {
        up->buf = realloc(up->buf, up->len + *data_size);
        memcpy(up->buf + up->len, data, *data_size);
        up->len += *data_size;
        *data_size = 0;
        return MHD_YES;
    }
    if (!strcmp(url, "/ok"))
        return reply(c, 200, "hello", 5, "Content-Type", "text/plain", "ETag", "\"abc\"",
                     "Cache-Control", "max-age=30", NULL);
    if (!strcmp(url, "/headers")) /* names in any case, Cache-Control twice */
        return reply(c, 200, "h", 1, "content-type", "text/x", "ETAG", "W/\"w\"", "Cache-Control",
                     "no-cache", "cache-control", "max-age=5", "expires",
                     "Thu, 01 Jan 1970 00:00:00 GMT", NULL);
    if (!strcmp(url, "/echo")) {
        size_t n = strlen(method);
        char *b = malloc(n + 1 + up->len);
        memcpy(b, method, n);
        b[n] = '\n';
        if (up->len) memcpy(b + n + 1, up->buf, up->len);
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        enum MHD_Result ret =
            reply(c, 200, b, n + 1 + up->len, ct ? "Content-Type" : NULL, ct, NULL);
        free(b);
        return ret;
    }
    if (!strcmp(url, "/slow")) {
        usleep(1500 * 1000);
        return reply(c, 200, "slow", 4, NULL);
    }
    if (!strcmp(url, "/big")) return reply(c, 200, big, BIG_LEN, NULL);
    if (!strcmp(url, "/redirect")) return reply(c, 302, "", 0, "Location", "/ok", NULL);
    if (!strncmp(url, "/status/", 8)) {
        char b[32];
        unsigned st = (unsigned)atoi(url + 8);
        int n = snprintf(b, sizeof b, "status %u", st);
        return reply(c, st, b, (size_t)n, NULL);
    }
    return reply(c, 404, "no", 2, NULL);
}

static inline void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                             enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)c;
    (void)code;
    upload_t *up = *con_cls;
    if (up) free(up->buf);
    free(up);
    *con_cls = NULL;
}

/* Plain ints for the assertions' messages. */
static inline int conns(void)
{
    return atomic_load(&origin_conns);
}

static inline int expects(void)
{
    return atomic_load(&origin_expects);
}

static inline int reqs(void)
{
    return atomic_load(&origin_reqs);
}

static inline void setup(void)
{
    for (size_t i = 0; i < BIG_LEN; i++) big[i] = (uint8_t)(i * 7 + i / 251);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    atomic_store(&origin_conns, 0);
    atomic_store(&origin_expects, 0);
    atomic_store(&origin_reqs, 0);
    origin = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                              NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, &sin,
                              MHD_OPTION_NOTIFY_CONNECTION, on_conn, NULL,
                              MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
    ck_assert_ptr_nonnull(origin);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(origin, MHD_DAEMON_INFO_BIND_PORT);
    ck_assert_ptr_nonnull(di);
    origin_port = di->port;
    ck_assert_uint_ne(origin_port, 0);
    loop = base_loop_new();
    ck_assert_ptr_nonnull(loop);
    cli = http_client_new(loop);
    ck_assert_ptr_nonnull(cli);
}

static inline void teardown(void)
{
    http_client_free(cli); /* NULL when a test freed it */
    base_loop_free(loop);
    MHD_stop_daemon(origin);
}

/* --- the client side --- */

typedef struct {
    int calls, result;
    unsigned status;
    char error[256], ctype[64], etag[64], cc[64], expires[64], location[64];
    uint8_t *body;
    size_t body_len;
} rec_t;

static inline void copy_str(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s ? s : "(null)");
}

static inline void on_done(http_call_t *call, const http_result_t *r, void *arg)
{
    (void)call;
    rec_t *k = arg;
    k->calls++;
    k->result = r->result;
    k->status = r->status;
    copy_str(k->error, sizeof k->error, r->error);
    copy_str(k->ctype, sizeof k->ctype, r->content_type);
    copy_str(k->etag, sizeof k->etag, r->etag);
    copy_str(k->cc, sizeof k->cc, r->cache_control);
    copy_str(k->expires, sizeof k->expires, r->expires);
    copy_str(k->location, sizeof k->location, r->location);
    free(k->body);
    k->body = malloc(r->body_len + 1);
    if (r->body_len) memcpy(k->body, r->body, r->body_len);
    k->body[r->body_len] = '\0';
    k->body_len = r->body_len;
}

/* Open descriptors of this process: the client must close all it opened. */
static inline int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

static inline uint64_t now_ms(void)
{
    return base_clock_monotonic(NULL);
}

/* Runs the loop until *counter reaches want, at most 10 s. */
static inline void run_until(const int *counter, int want)
{
    uint64_t end = now_ms() + 10000;
    while (*counter < want && now_ms() < end) base_loop_run_once(loop, 100);
    ck_assert_int_ge(*counter, want);
}

static inline http_call_t *mk(const char *method, const char *path)
{
    char u[128];
    snprintf(u, sizeof u, "http://127.0.0.1:%u%s", origin_port, path);
    http_call_t *call = http_call_new(cli, method, u);
    ck_assert_ptr_nonnull(call);
    return call;
}

/* Starts the call and runs the loop until its callback ran. */
static inline void run_call(http_call_t *call, rec_t *k)
{
    memset(k, 0, sizeof *k);
    ck_assert_int_eq(http_call_start(call, on_done, k), 0);
    run_until(&k->calls, 1);
    ck_assert_int_eq(k->calls, 1);
    ck_assert_uint_eq(http_client_running(cli), 0);
}

static inline void do_call(const char *method, const char *path, const char *body, rec_t *k)
{
    http_call_t *call = mk(method, path);
    if (body) {
        ck_assert_int_eq(http_call_add_header(call, "Content-Type", "application/json"), 0);
        ck_assert_int_eq(http_call_set_body(call, body, strlen(body)), 0);
    }
    run_call(call, k);
}

#endif
