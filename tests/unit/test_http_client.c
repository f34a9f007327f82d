/*
 * Unit tests for the libcurl multi client (http_client.h) against an origin
 * in this process: libmicrohttpd with its own threads (one per connection,
 * so /slow blocks only its own) on 127.0.0.1, while the client runs on a
 * base_loop in the test thread.
 */
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

static void on_conn(void *cls, struct MHD_Connection *c, void **socket_ctx,
                    enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    (void)c;
    (void)socket_ctx;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) atomic_fetch_add(&origin_conns, 1);
}

/* The header name/value pairs end with a NULL name. */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const void *body,
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

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
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

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
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
static int conns(void)
{
    return atomic_load(&origin_conns);
}

static int expects(void)
{
    return atomic_load(&origin_expects);
}

static int reqs(void)
{
    return atomic_load(&origin_reqs);
}

static void setup(void)
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

static void teardown(void)
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

static void copy_str(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s ? s : "(null)");
}

static void on_done(http_call_t *call, const http_result_t *r, void *arg)
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
static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

static uint64_t now_ms(void)
{
    return base_clock_monotonic(NULL);
}

/* Runs the loop until *counter reaches want, at most 10 s. */
static void run_until(const int *counter, int want)
{
    uint64_t end = now_ms() + 10000;
    while (*counter < want && now_ms() < end) base_loop_run_once(loop, 100);
    ck_assert_int_ge(*counter, want);
}

static http_call_t *mk(const char *method, const char *path)
{
    char u[128];
    snprintf(u, sizeof u, "http://127.0.0.1:%u%s", origin_port, path);
    http_call_t *call = http_call_new(cli, method, u);
    ck_assert_ptr_nonnull(call);
    return call;
}

/* Starts the call and runs the loop until its callback ran. */
static void run_call(http_call_t *call, rec_t *k)
{
    memset(k, 0, sizeof *k);
    ck_assert_int_eq(http_call_start(call, on_done, k), 0);
    run_until(&k->calls, 1);
    ck_assert_int_eq(k->calls, 1);
    ck_assert_uint_eq(http_client_running(cli), 0);
}

static void do_call(const char *method, const char *path, const char *body, rec_t *k)
{
    http_call_t *call = mk(method, path);
    if (body) {
        ck_assert_int_eq(http_call_add_header(call, "Content-Type", "application/json"), 0);
        ck_assert_int_eq(http_call_set_body(call, body, strlen(body)), 0);
    }
    run_call(call, k);
}

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

START_TEST(connection_refused)
{
    /* a port nobody listens on: bound, read back, closed */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sin;
    ck_assert_int_eq(bind(s, (struct sockaddr *)&sin, sizeof sin), 0);
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&sin, &len), 0);
    close(s);
    char u[64];
    snprintf(u, sizeof u, "http://127.0.0.1:%u/x", ntohs(sin.sin_port));
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

static int checked;

/* Counts the checks; arg set: refuses 127/8. */
static int check_addr(const struct sockaddr *a, socklen_t len, void *arg)
{
    checked++;
    ck_assert_int_eq(a->sa_family, AF_INET);
    ck_assert_uint_ge(len, sizeof(struct sockaddr_in));
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)(const void *)a;
    return !arg || ntohl(v4->sin_addr.s_addr) >> 24 != 127;
}

START_TEST(addr_check)
{
    http_call_t *call = mk("GET", "/ok");
    http_call_set_addr_check(call, check_addr, &checked);
    rec_t k;
    run_call(call, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_REFUSED);
    ck_assert_int_eq(checked, 1);
    ck_assert_int_eq(conns(), 0);
    free(k.body);
    /* a check that allows: the call goes through on the socket we opened,
     * checked before connecting and again before the request */
    call = mk("GET", "/ok");
    http_call_set_addr_check(call, check_addr, NULL);
    run_call(call, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_int_eq(checked, 3);
    free(k.body);
}
END_TEST

static struct sockaddr_in seen; /* what check_unless_narrowed saw last */

/* Allows until *narrowed is set, as after a reload that took the origin
 * off the allowlist. */
static int check_unless_narrowed(const struct sockaddr *a, socklen_t len, void *narrowed)
{
    ck_assert_int_eq(a->sa_family, AF_INET);
    ck_assert_uint_eq(len, sizeof seen);
    memcpy(&seen, a, sizeof seen);
    return !*(const int *)narrowed;
}

static void call_checked(int *narrowed, rec_t *k)
{
    http_call_t *call = mk("GET", "/ok");
    http_call_set_addr_check(call, check_unless_narrowed, narrowed);
    run_call(call, k);
    free(k->body);
}

/* A request on a kept-alive connection opens no socket: the check must
 * still run on it, with the connection's address and port. */
START_TEST(addr_check_reused_connection)
{
    int narrowed = 0;
    rec_t k;
    call_checked(&narrowed, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_int_eq(reqs(), 1);
    narrowed = 1;
    memset(&seen, 0, sizeof seen);
    call_checked(&narrowed, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_REFUSED);
    ck_assert_str_eq(k.error, "address refused by the address check");
    ck_assert_uint_eq(ntohl(seen.sin_addr.s_addr), INADDR_LOOPBACK);
    ck_assert_uint_eq(ntohs(seen.sin_port), origin_port);
    ck_assert_int_eq(conns(), 1); /* the first call's connection, reused */
    ck_assert_int_eq(reqs(), 1);  /* and nothing of the second call on it */
    /* allowed again: the client goes on */
    narrowed = 0;
    call_checked(&narrowed, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_int_eq(reqs(), 2);
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

START_TEST(fifty_concurrent)
{
    enum { N = 50 };
    static rec_t k[N];
    int done = 0;
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

static char sp_scheme[16], sp_host[64];
static unsigned sp_port;

static int split(const char *u, size_t host_cap)
{
    return http_url_split(u, sp_scheme, sizeof sp_scheme, sp_host, host_cap, &sp_port);
}

START_TEST(url_split)
{
    ck_assert_int_eq(split("http://h:8080/x", 64), 0);
    ck_assert_str_eq(sp_scheme, "http");
    ck_assert_str_eq(sp_host, "h");
    ck_assert_uint_eq(sp_port, 8080);
    ck_assert_int_eq(split("https://[::1]/y", 64), 0);
    ck_assert_str_eq(sp_scheme, "https");
    ck_assert_str_eq(sp_host, "::1");
    ck_assert_uint_eq(sp_port, 443);
    ck_assert_int_eq(split("not a url", 64), -1);
    ck_assert_int_eq(split("HTTP://EXAMPLE.com", 64), 0);
    ck_assert_str_eq(sp_scheme, "http");
    ck_assert_uint_eq(sp_port, 80);
    /* other schemes parse, so the caller can say which one it refuses */
    ck_assert_int_eq(split("gopher://g.example/1", 64), 0);
    ck_assert_str_eq(sp_scheme, "gopher");
    ck_assert_int_eq(split("http://a-very-long-host-name.example/", 8), -1);
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
    tcase_add_test(tc, redirect_not_followed);
    tcase_add_test(tc, addr_check);
    tcase_add_test(tc, addr_check_reused_connection);
    tcase_add_test(tc, connection_reused);
    tcase_add_test(tc, fifty_concurrent);
    tcase_add_test(tc, cancel);
    tcase_add_test(tc, free_with_calls_running);
    tcase_add_test(tc, callbacks_reenter);
    tcase_add_test(tc, bad_calls);
    tcase_add_test(tc, url_split);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
