/*
 * Unit tests for the libcurl multi client (http_client.h) against an origin
 * in this process: libmicrohttpd with its own threads (one per connection,
 * so /slow blocks only its own) on 127.0.0.1, while the client runs on a
 * coap_loop in the test thread.
 */
#include "http_client.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <microhttpd.h>
#include <netinet/in.h>
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
static uint8_t big[BIG_LEN];
static coap_loop_t *loop;

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

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const void *body,
                             size_t len, const char *ctype)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (ctype) MHD_add_response_header(r, "Content-Type", ctype);
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
    if (!strcmp(url, "/ok")) {
        struct MHD_Response *r =
            MHD_create_response_from_buffer(5, (void *)"hello", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(r, "Content-Type", "text/plain");
        MHD_add_response_header(r, "ETag", "\"abc\"");
        MHD_add_response_header(r, "Cache-Control", "max-age=30");
        enum MHD_Result ret = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (!strcmp(url, "/echo")) {
        size_t n = strlen(method);
        char *b = malloc(n + 1 + up->len);
        memcpy(b, method, n);
        b[n] = '\n';
        if (up->len) memcpy(b + n + 1, up->buf, up->len);
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        enum MHD_Result ret = reply(c, 200, b, n + 1 + up->len, ct);
        free(b);
        return ret;
    }
    if (!strcmp(url, "/slow")) {
        usleep(1500 * 1000);
        return reply(c, 200, "slow", 4, "text/plain");
    }
    if (!strcmp(url, "/big")) return reply(c, 200, big, BIG_LEN, "application/octet-stream");
    if (!strcmp(url, "/redirect")) {
        struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(r, "Location", "/ok");
        enum MHD_Result ret = MHD_queue_response(c, 302, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (!strncmp(url, "/status/", 8)) {
        char b[32];
        unsigned st = (unsigned)atoi(url + 8);
        int n = snprintf(b, sizeof b, "status %u", st);
        return reply(c, st, b, (size_t)n, "text/plain");
    }
    return reply(c, 404, "no", 2, "text/plain");
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

static void setup(void)
{
    for (size_t i = 0; i < BIG_LEN; i++) big[i] = (uint8_t)(i * 7 + i / 251);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    atomic_store(&origin_conns, 0);
    atomic_store(&origin_expects, 0);
    origin = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                              NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, &sin,
                              MHD_OPTION_NOTIFY_CONNECTION, on_conn, NULL,
                              MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
    ck_assert_ptr_nonnull(origin);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(origin, MHD_DAEMON_INFO_BIND_PORT);
    ck_assert_ptr_nonnull(di);
    origin_port = di->port;
    ck_assert_uint_ne(origin_port, 0);
    loop = coap_loop_new();
    ck_assert_ptr_nonnull(loop);
}

static void teardown(void)
{
    coap_loop_free(loop);
    MHD_stop_daemon(origin);
}

/* --- the client side --- */

typedef struct {
    int calls, result;
    unsigned status;
    char error[256], ctype[64], etag[64], cc[64], location[64];
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
    return coap_clock_monotonic(NULL);
}

/* Runs the loop until *counter reaches want, at most 10 s. */
static void run_until(const int *counter, int want)
{
    uint64_t end = now_ms() + 10000;
    while (*counter < want && now_ms() < end) coap_loop_run_once(loop, 100);
    ck_assert_int_ge(*counter, want);
}

static char *url(const char *path)
{
    static char b[128];
    snprintf(b, sizeof b, "http://127.0.0.1:%u%s", origin_port, path);
    return b;
}

/* One call on a fresh client, run to completion. */
static void do_call(const char *method, const char *path, const char *body, rec_t *k)
{
    http_client_t *c = http_client_new(loop);
    ck_assert_ptr_nonnull(c);
    http_call_t *call = http_call_new(c, method, url(path));
    ck_assert_ptr_nonnull(call);
    if (body) {
        ck_assert_int_eq(http_call_add_header(call, "Content-Type", "application/json"), 0);
        ck_assert_int_eq(http_call_set_body(call, body, strlen(body)), 0);
    }
    ck_assert_int_eq(http_call_start(call, on_done, k), 0);
    run_until(&k->calls, 1);
    ck_assert_int_eq(k->calls, 1);
    ck_assert_uint_eq(http_client_running(c), 0);
    http_client_free(c);
}

START_TEST(get_ok_with_headers)
{
    rec_t k = {0};
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

START_TEST(head_has_no_body)
{
    rec_t k = {0};
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
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        rec_t k = {0};
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
    rec_t k = {0};
    do_call("POST", "/echo", NULL, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_str_eq((char *)k.body, "POST\n");
    ck_assert_str_eq(k.ctype, "(null)");
    free(k.body);
    memset(&k, 0, sizeof k);
    do_call("DELETE", "/echo", NULL, &k);
    ck_assert_str_eq((char *)k.body, "DELETE\n");
    free(k.body);
    /* a large PUT goes out byte for byte and without "Expect: 100-continue",
     * which curl 7.88 adds above 1 MiB (MHD answers it, but an origin that
     * does not costs a 1 s wait) */
    enum { PUT_LEN = 1200 * 1024 };
    uint8_t *put = malloc(PUT_LEN);
    for (size_t i = 0; i < PUT_LEN; i++) put[i] = big[i % BIG_LEN];
    memset(&k, 0, sizeof k);
    http_client_t *c = http_client_new(loop);
    http_call_t *call = http_call_new(c, "PUT", url("/echo"));
    ck_assert_int_eq(http_call_set_body(call, put, PUT_LEN), 0);
    http_call_set_max_body(call, 2 * PUT_LEN);
    uint64_t t0 = now_ms();
    ck_assert_int_eq(http_call_start(call, on_done, &k), 0);
    run_until(&k.calls, 1);
    ck_assert_uint_lt(now_ms() - t0, 900);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_uint_eq(k.body_len, 4 + PUT_LEN);
    ck_assert_mem_eq(k.body, "PUT\n", 4);
    ck_assert_mem_eq(k.body + 4, put, PUT_LEN);
    ck_assert_int_eq(expects(), 0);
    free(put);
    free(k.body);
    http_client_free(c);
}
END_TEST

START_TEST(error_statuses_are_responses)
{
    rec_t k = {0};
    do_call("GET", "/status/404", NULL, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_uint_eq(k.status, 404);
    ck_assert_str_eq((char *)k.body, "status 404");
    free(k.body);
    memset(&k, 0, sizeof k);
    do_call("GET", "/status/500", NULL, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_uint_eq(k.status, 500);
    free(k.body);
}
END_TEST

START_TEST(timeout)
{
    http_client_t *c = http_client_new(loop);
    http_call_t *call = http_call_new(c, "GET", url("/slow"));
    http_call_set_timeout(call, 300);
    rec_t k = {0};
    uint64_t t0 = now_ms();
    ck_assert_int_eq(http_call_start(call, on_done, &k), 0);
    run_until(&k.calls, 1);
    uint64_t took = now_ms() - t0;
    ck_assert_int_eq(k.result, HTTP_CALL_TIMEOUT);
    ck_assert_uint_ge(took, 290);
    ck_assert_uint_lt(took, 1400);
    ck_assert_str_ne(k.error, "(null)");
    free(k.body);
    http_client_free(c);
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
    http_client_t *c = http_client_new(loop);
    rec_t k = {0};
    ck_assert_int_eq(http_call_start(http_call_new(c, "GET", u), on_done, &k), 0);
    run_until(&k.calls, 1);
    ck_assert_int_eq(k.result, HTTP_CALL_CONNECT);
    ck_assert_str_ne(k.error, "(null)");
    free(k.body);
    http_client_free(c);
}
END_TEST

START_TEST(big_body_and_limit)
{
    rec_t k = {0};
    do_call("GET", "/big", NULL, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_uint_eq(k.body_len, BIG_LEN);
    ck_assert_mem_eq(k.body, big, BIG_LEN);
    free(k.body);

    http_client_t *c = http_client_new(loop);
    http_call_t *call = http_call_new(c, "GET", url("/big"));
    http_call_set_max_body(call, 1000);
    memset(&k, 0, sizeof k);
    ck_assert_int_eq(http_call_start(call, on_done, &k), 0);
    run_until(&k.calls, 1);
    ck_assert_int_eq(k.result, HTTP_CALL_TOO_LARGE);
    ck_assert_str_eq(k.error, "response body larger than 1000 bytes");
    free(k.body);
    http_client_free(c);
}
END_TEST

START_TEST(redirect_not_followed)
{
    rec_t k = {0};
    do_call("GET", "/redirect", NULL, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_uint_eq(k.status, 302);
    ck_assert_str_eq(k.location, "/ok");
    ck_assert_uint_eq(k.body_len, 0);
    free(k.body);
}
END_TEST

static int checked;

static int refuse_loopback(const struct sockaddr *a, socklen_t len, void *arg)
{
    (void)arg;
    checked++;
    ck_assert_int_eq(a->sa_family, AF_INET);
    ck_assert_uint_ge(len, sizeof(struct sockaddr_in));
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)(const void *)a;
    return ntohl(v4->sin_addr.s_addr) >> 24 != 127;
}

static int allow_all(const struct sockaddr *a, socklen_t len, void *arg)
{
    (void)a;
    (void)len;
    (void)arg;
    checked++;
    return 1;
}

START_TEST(addr_check)
{
    http_client_t *c = http_client_new(loop);
    http_call_t *call = http_call_new(c, "GET", url("/ok"));
    http_call_set_addr_check(call, refuse_loopback, NULL);
    rec_t k = {0};
    checked = 0;
    ck_assert_int_eq(http_call_start(call, on_done, &k), 0);
    run_until(&k.calls, 1);
    ck_assert_int_eq(k.result, HTTP_CALL_REFUSED);
    ck_assert_int_eq(checked, 1);
    ck_assert_int_eq(conns(), 0);
    free(k.body);
    /* a check that allows: the call goes through on the socket we opened */
    call = http_call_new(c, "GET", url("/ok"));
    http_call_set_addr_check(call, allow_all, NULL);
    memset(&k, 0, sizeof k);
    ck_assert_int_eq(http_call_start(call, on_done, &k), 0);
    run_until(&k.calls, 1);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_int_eq(checked, 2);
    free(k.body);
    http_client_free(c);
}
END_TEST

START_TEST(connection_reused)
{
    int fds = count_fds();
    http_client_t *c = http_client_new(loop);
    rec_t k = {0};
    ck_assert_int_eq(http_call_start(http_call_new(c, "GET", url("/ok")), on_done, &k), 0);
    run_until(&k.calls, 1);
    ck_assert_int_eq(http_call_start(http_call_new(c, "POST", url("/echo")), on_done, &k), 0);
    run_until(&k.calls, 2);
    ck_assert_int_eq(http_call_start(http_call_new(c, "GET", url("/ok")), on_done, &k), 0);
    run_until(&k.calls, 3);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_int_eq(conns(), 1);
    free(k.body);
    http_client_free(c);
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
    http_client_t *c = http_client_new(loop);
    static rec_t k[N];
    int done = 0;
    memset(k, 0, sizeof k);
    for (int i = 0; i < N; i++) {
        char p[32];
        snprintf(p, sizeof p, "/status/%d", 400 + i); /* 4xx: all carry a body */
        ck_assert_int_eq(http_call_start(http_call_new(c, "GET", url(p)), on_done, &k[i]), 0);
    }
    ck_assert_uint_eq(http_client_running(c), N);
    uint64_t end = now_ms() + 10000;
    while (done < N && now_ms() < end) {
        coap_loop_run_once(loop, 100);
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
    ck_assert_uint_eq(http_client_running(c), 0);
    http_client_free(c);
}
END_TEST

START_TEST(cancel)
{
    http_client_t *c = http_client_new(loop);
    http_call_t *call = http_call_new(c, "GET", url("/slow"));
    rec_t k = {0};
    ck_assert_int_eq(http_call_start(call, on_done, &k), 0);
    for (int i = 0; i < 3; i++) coap_loop_run_once(loop, 50);
    ck_assert_int_eq(k.calls, 0);
    http_call_cancel(call);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(k.result, HTTP_CALL_CANCELLED);
    ck_assert_uint_eq(http_client_running(c), 0);
    /* a call never started is only freed */
    http_call_cancel(http_call_new(c, "GET", url("/ok")));
    free(k.body);
    http_client_free(c);
    ck_assert_int_eq(k.calls, 1);
}
END_TEST

START_TEST(free_with_calls_running)
{
    http_client_t *c = http_client_new(loop);
    rec_t k[3] = {{0}};
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(http_call_start(http_call_new(c, "GET", url("/slow")), on_done, &k[i]), 0);
    (void)http_call_new(c, "GET", url("/ok")); /* never started: freed with the client */
    for (int i = 0; i < 3; i++) coap_loop_run_once(loop, 50);
    http_client_free(c);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(k[i].calls, 1);
        ck_assert_int_eq(k[i].result, HTTP_CALL_CANCELLED);
        free(k[i].body);
    }
    /* nothing of the client is left on the loop */
    for (int i = 0; i < 5; i++) ck_assert_int_eq(coap_loop_run_once(loop, 10), 0);
}
END_TEST

/* A callback that cancels another call and starts a new one; another that
 * frees the whole client. */
typedef struct {
    http_client_t *c;
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
        http_client_free(ch->c);
        return;
    }
    http_call_cancel(ch->victim);
    ck_assert_int_eq(ch->victim_rec.result, HTTP_CALL_CANCELLED);
    ck_assert_int_eq(
        http_call_start(http_call_new(ch->c, "GET", url("/ok")), on_done, &ch->next_rec), 0);
}

START_TEST(callbacks_reenter)
{
    chain_t ch = {0};
    ch.c = http_client_new(loop);
    ch.victim = http_call_new(ch.c, "GET", url("/slow"));
    ck_assert_int_eq(http_call_start(ch.victim, on_done, &ch.victim_rec), 0);
    ck_assert_int_eq(http_call_start(http_call_new(ch.c, "GET", url("/ok")), on_chain, &ch), 0);
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
    ck_assert_int_eq(
        http_call_start(http_call_new(ch.c, "GET", url("/slow")), on_done, &ch.victim_rec), 0);
    ck_assert_int_eq(http_call_start(http_call_new(ch.c, "GET", url("/ok")), on_chain, &ch), 0);
    run_until(&ch.calls, 1);
    ck_assert_int_eq(ch.victim_rec.calls, 1);
    ck_assert_int_eq(ch.victim_rec.result, HTTP_CALL_CANCELLED);
    free(ch.victim_rec.body);
    for (int i = 0; i < 5; i++) ck_assert_int_eq(coap_loop_run_once(loop, 10), 0);
}
END_TEST

START_TEST(bad_calls)
{
    http_client_t *c = http_client_new(loop);
    ck_assert_ptr_null(http_call_new(c, "GET", "not a url"));
    ck_assert_ptr_null(http_call_new(c, "GET", "ftp://127.0.0.1/x"));
    ck_assert_ptr_null(http_call_new(c, "GE T", url("/ok")));
    ck_assert_ptr_null(http_call_new(c, "GET\r\nX: y", url("/ok")));
    http_call_t *call = http_call_new(c, "GET", url("/ok"));
    ck_assert_int_eq(http_call_add_header(call, "X-A", "b\r\nX-Evil: 1"), -1);
    ck_assert_int_eq(http_call_add_header(call, "X A", "b"), -1);
    ck_assert_int_eq(http_call_start(call, NULL, NULL), HTTP_CALL_ERROR); /* and freed */
    ck_assert_uint_eq(http_client_running(c), 0);
    http_client_free(c);
}
END_TEST

START_TEST(url_split)
{
    char scheme[16], host[64];
    unsigned port = 0;
    ck_assert_int_eq(
        http_url_split("http://h:8080/x", scheme, sizeof scheme, host, sizeof host, &port), 0);
    ck_assert_str_eq(scheme, "http");
    ck_assert_str_eq(host, "h");
    ck_assert_uint_eq(port, 8080);
    ck_assert_int_eq(
        http_url_split("https://[::1]/y", scheme, sizeof scheme, host, sizeof host, &port), 0);
    ck_assert_str_eq(scheme, "https");
    ck_assert_str_eq(host, "::1");
    ck_assert_uint_eq(port, 443);
    ck_assert_int_eq(http_url_split("not a url", scheme, sizeof scheme, host, sizeof host, &port),
                     -1);
    ck_assert_int_eq(
        http_url_split("HTTP://EXAMPLE.com", scheme, sizeof scheme, host, sizeof host, &port), 0);
    ck_assert_str_eq(scheme, "http");
    ck_assert_uint_eq(port, 80);
    /* other schemes parse, so the caller can say which one it refuses */
    ck_assert_int_eq(
        http_url_split("gopher://g.example/1", scheme, sizeof scheme, host, sizeof host, &port), 0);
    ck_assert_str_eq(scheme, "gopher");
    ck_assert_int_eq(http_url_split("http://a-very-long-host-name.example/", scheme, sizeof scheme,
                                    host, 8, &port),
                     -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_client");
    TCase *tc = tcase_create("http_client");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, get_ok_with_headers);
    tcase_add_test(tc, head_has_no_body);
    tcase_add_test(tc, methods_send_their_bodies);
    tcase_add_test(tc, error_statuses_are_responses);
    tcase_add_test(tc, timeout);
    tcase_add_test(tc, connection_refused);
    tcase_add_test(tc, big_body_and_limit);
    tcase_add_test(tc, redirect_not_followed);
    tcase_add_test(tc, addr_check);
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
