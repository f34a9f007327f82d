/*
 * Unit tests for CoAP over TCP (RFC 8323): the reliable message layer
 * (coap/ep_*.c with a reliable transport) and the TCP transport
 * (coap/transport_tcp.c, tcp_signal.c) over loopback: requests and
 * responses, block-wise bodies, Observe, the CSM exchange, Max-Message-
 * Size (4.13), Ping/Pong, Abort, Release and a half-open connection.
 */
#include "coap_client.h"
#include "coap_server.h"
#include "testutil.h"

#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static coap_tcp_params_t fast = {.keepalive_ms = 150, .pong_timeout_ms = 400, .idle_ms = 5000};

typedef struct {
    coap_ep_t *ep;
    coap_server_t *srv;
    coap_server_resource_t *obs;
    coap_addr_t addr;
} server_t;

static uint8_t big[5000];

static void h_hello(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    (void)arg;
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    if (req->method == COAP_PUT) { /* echo the body */
        r.code = COAP_CHANGED;
        r.payload = req->payload;
        r.payload_len = req->payload_len;
    } else if (req->nquery) {
        r.payload = big;
        r.payload_len = sizeof big;
    } else {
        r.payload = "hi";
        r.payload_len = 2;
    }
    coap_server_respond(srv, req->id, &r);
}

static void server_open(server_t *s, const coap_tcp_params_t *p)
{
    coap_addr_t any;
    coap_addr_parse(&any, "127.0.0.1:0", 0);
    int err;
    coap_transport_t *tr = coap_transport_tcp_new(&any, p, &err);
    ck_assert_ptr_nonnull(tr);
    s->ep = coap_ep_new_on(tr, NULL, &err);
    ck_assert_int_eq(coap_ep_local_addr(s->ep, &s->addr), COAP_OK);
    s->srv = coap_server_new(s->ep, NULL);
    unsigned m = COAP_METHODS_READ | COAP_METHOD_BIT(COAP_PUT);
    coap_server_add(s->srv, "/hello", 0, m, h_hello, NULL, NULL);
    s->obs = coap_server_add(s->srv, "/obs", COAP_RES_OBSERVABLE, m, h_hello, NULL, NULL);
}

static void server_close(server_t *s)
{
    coap_server_free(s->srv);
    coap_ep_free(s->ep);
}

static coap_ep_t *client_open(const coap_tcp_params_t *base)
{
    coap_tcp_params_t p = base ? *base : (coap_tcp_params_t){0};
    p.connect_out = 1;
    int err;
    coap_transport_t *tr = coap_transport_tcp_new(NULL, &p, &err);
    ck_assert_ptr_nonnull(tr);
    return coap_ep_new_on(tr, NULL, &err);
}

/* Runs the endpoints (either may be NULL) until *flag or ms pass. */
static void run(coap_ep_t *a, coap_ep_t *b, const int *flag, int ms)
{
    for (int i = 0; i < ms / 5 && !(flag && *flag); i++) {
        struct pollfd fds[2] = {{a ? coap_ep_fd(a) : -1, POLLIN, 0},
                                {b ? coap_ep_fd(b) : -1, POLLIN, 0}};
        poll(fds, 2, 5);
        if (a) coap_ep_process(a);
        if (b) coap_ep_process(b);
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

typedef struct {
    int done, err, code, n;
    size_t len;
    uint8_t body[8192];
} result_t;

static void on_resp(coap_req_t *req, const coap_resp_t *r, void *arg)
{
    (void)req;
    result_t *res = arg;
    res->n++;
    res->err = r->err;
    res->code = r->msg ? r->msg->code : 0;
    res->len = r->body_len < sizeof res->body ? r->body_len : 0;
    if (res->len) memcpy(res->body, r->body, res->len);
    if (r->last) res->done = 1;
}

static coap_req_t *request(coap_ep_t *c, const server_t *s, uint8_t method, const char *path,
                           result_t *res)
{
    char uri[700];
    snprintf(uri, sizeof uri, "coap+tcp://127.0.0.1:%u%s", coap_addr_port(&s->addr), path);
    int err;
    coap_req_t *req = coap_req_new(c, method, uri, &s->addr, &err);
    ck_assert_ptr_nonnull(req);
    memset(res, 0, sizeof *res);
    return req;
}

START_TEST(get_put_and_blocks)
{
    server_t s;
    server_open(&s, NULL);
    coap_ep_t *c = client_open(NULL);
    result_t res;
    ck_assert_int_eq(coap_req_send(request(c, &s, COAP_GET, "/hello", &res), on_resp, &res), 0);
    run(c, s.ep, &res.done, 3000);
    ck_assert_int_eq(res.err, COAP_OK);
    ck_assert_int_eq(res.code, COAP_CONTENT);
    ck_assert_mem_eq(res.body, "hi", 2);
    /* the CSMs crossed: each side knows the other's Max-Message-Size */
    ck_assert_uint_eq(coap_transport_tcp_peer_max(coap_ep_transport(c), &s.addr), 0 + 8192);
    /* a body over a block: Block1 up, Block2 down (RFC 7959 over §6) */
    for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7);
    coap_req_t *req = request(c, &s, COAP_PUT, "/hello", &res);
    coap_req_set_payload(req, big, sizeof big);
    coap_req_send(req, on_resp, &res);
    run(c, s.ep, &res.done, 3000);
    ck_assert_int_eq(res.code, COAP_CHANGED);
    ck_assert_uint_eq(res.len, sizeof big);
    ck_assert_mem_eq(res.body, big, sizeof big);
    coap_req_send(request(c, &s, COAP_GET, "/hello?big", &res), on_resp, &res);
    run(c, s.ep, &res.done, 3000);
    ck_assert_uint_eq(res.len, sizeof big);
    /* the scheme must match the transport: never coap+tcp:// over UDP */
    int err;
    ck_assert_ptr_null(coap_req_new(c, COAP_GET, "coap://127.0.0.1/x", NULL, &err));
    ck_assert_int_eq(err, COAP_ERR_URI_SCHEME);
    coap_ep_t *udp = coap_ep_new(NULL, NULL, &err);
    ck_assert_ptr_null(coap_req_new(udp, COAP_GET, "coap+tcp://127.0.0.1/x", NULL, &err));
    ck_assert_int_eq(err, COAP_ERR_URI_SCHEME);
    coap_ep_free(udp);
    /* nothing of RFC 7252 §4 happened: no retransmission, ACK or RST */
    ck_assert_uint_eq(coap_ep_stats(c)->retransmissions, 0);
    ck_assert_uint_eq(coap_ep_stats(c)->rst_tx + coap_ep_stats(s.ep)->rst_tx, 0);
    coap_ep_free(c);
    server_close(&s);
}
END_TEST

START_TEST(small_max_message_means_blocks)
{
    /* both sides announce 400 bytes (§5.3.1): a 1000-byte body goes up
     * and a 5000-byte one comes down in blocks that fit (256 bytes) */
    coap_tcp_params_t p = {.max_message = 400};
    server_t s;
    server_open(&s, &p);
    coap_ep_t *c = client_open(&p);
    result_t res;
    coap_req_send(request(c, &s, COAP_GET, "/hello", &res), on_resp, &res); /* CSMs cross */
    run(c, s.ep, &res.done, 3000);
    ck_assert_uint_eq(coap_transport_tcp_peer_max(coap_ep_transport(c), &s.addr), 400);
    for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 13);
    coap_req_t *req = request(c, &s, COAP_PUT, "/hello", &res);
    coap_req_set_payload(req, big, 1000);
    coap_req_send(req, on_resp, &res);
    run(c, s.ep, &res.done, 3000);
    ck_assert_int_eq(res.code, COAP_CHANGED);
    ck_assert_uint_eq(res.len, 1000);
    ck_assert_mem_eq(res.body, big, 1000);
    coap_req_send(request(c, &s, COAP_GET, "/hello?big", &res), on_resp, &res);
    run(c, s.ep, &res.done, 3000);
    ck_assert_int_eq(res.code, COAP_CONTENT);
    ck_assert_uint_eq(res.len, sizeof big);
    ck_assert_mem_eq(res.body, big, sizeof big);
    const coap_tcp_stats_t *cs = coap_transport_tcp_stats(coap_ep_transport(c));
    const coap_tcp_stats_t *ss = coap_transport_tcp_stats(coap_ep_transport(s.ep));
    ck_assert_uint_eq(cs->too_large + ss->too_large + cs->aborts_tx + ss->aborts_tx, 0);
    ck_assert_uint_eq(coap_ep_stats(c)->send_errors + coap_ep_stats(s.ep)->send_errors, 0);
    /* options alone over the 400 bytes: refused at once, nothing waits */
    char path[520] = "/";
    memset(path + 1, 'p', 500);
    ck_assert_int_eq(coap_req_send(request(c, &s, COAP_GET, path, &res), on_resp, &res),
                     COAP_ERR_TOO_LARGE);
    coap_ep_free(c);
    server_close(&s);
}
END_TEST

START_TEST(observe_then_connection_closed)
{
    server_t s;
    server_open(&s, NULL);
    coap_ep_t *c = client_open(NULL);
    result_t res;
    coap_req_t *req = request(c, &s, COAP_GET, "/obs", &res);
    coap_req_set_observe(req, 0);
    coap_req_send(req, on_resp, &res);
    int one = 0;
    for (int i = 0; i < 200 && res.n < 1; i++) run(c, s.ep, &one, 10);
    ck_assert_int_eq(res.n, 1);
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.payload = "n";
    r.payload_len = 1;
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(coap_server_notify(s.srv, s.obs, &r), 1);
        for (int i = 0; i < 200 && res.n < 2 + k; i++) run(c, s.ep, &one, 10);
    }
    ck_assert_int_eq(res.n, 4);
    ck_assert(!res.done);
    /* a second observer, forgotten (coap_req_cancel): with no RST on TCP,
     * the client deregisters it on its way out (RFC 7641 §3.6) */
    result_t res2;
    coap_req_t *req2 = request(c, &s, COAP_GET, "/obs", &res2);
    coap_req_set_observe(req2, 0);
    coap_req_send(req2, on_resp, &res2);
    for (int i = 0; i < 200 && coap_server_observers(s.obs) < 2; i++) run(c, s.ep, &one, 10);
    ck_assert_uint_eq(coap_server_observers(s.obs), 2);
    coap_req_cancel(req2);
    for (int i = 0; i < 200 && coap_server_observers(s.obs) > 1; i++) run(c, s.ep, &one, 10);
    ck_assert_uint_eq(coap_server_observers(s.obs), 1);
    /* the server goes away: the observation ends with the connection */
    server_close(&s);
    run(c, NULL, &res.done, 2000);
    ck_assert_int_eq(res.done, 1);
    ck_assert_int_eq(res.err, COAP_ERR_CONN_CLOSED);
    coap_ep_free(c);
}
END_TEST

static int events_up, events_down, last_event_err;

static void on_event(void *arg, const coap_addr_t *peer, int up, int err)
{
    (void)arg, (void)peer;
    if (up)
        events_up++;
    else
        events_down++, last_event_err = err;
}

START_TEST(ping_pong_and_release)
{
    server_t s;
    coap_tcp_params_t sp = fast;
    sp.event = on_event; /* the server's connection, up and down */
    server_open(&s, &sp);
    coap_tcp_params_t cp = fast;
    cp.idle_ms = 600;
    coap_ep_t *c = client_open(&cp);
    result_t res;
    /* the connection's last request or response is after t0 */
    uint64_t t0 = now_ms();
    coap_req_send(request(c, &s, COAP_GET, "/hello", &res), on_resp, &res);
    run(c, s.ep, &res.done, 3000);
    ck_assert_int_eq(res.code, COAP_CONTENT);
    const coap_tcp_stats_t *cs = coap_transport_tcp_stats(coap_ep_transport(c));
    const coap_tcp_stats_t *ss = coap_transport_tcp_stats(coap_ep_transport(s.ep));
    /* silence: keepalive Pings, answered; then, idle, the client releases
     * (§5.5) and closes. Waited for by the clock, not by loop turns: a
     * loaded machine stretches or shrinks what a turn is worth. */
    uint64_t closed_at = 0;
    while (!closed_at && now_ms() < t0 + 5000) {
        run(c, s.ep, NULL, 20);
        if (cs->conns_open == 0 && ss->conns_open == 0) closed_at = now_ms();
    }
    ck_assert_msg(closed_at, "connection still open 5 s after its last request");
    ck_assert_uint_gt(cs->pings_tx + ss->pings_tx, 0);
    ck_assert_uint_gt(cs->pongs_rx + ss->pongs_rx, 0);
    ck_assert_uint_eq(cs->half_open + ss->half_open, 0);
    /* not released before idle_ms, though Pings and Pongs crossed */
    ck_assert_uint_ge(closed_at - t0, cp.idle_ms);
    ck_assert_uint_eq(cs->releases_tx, 1);
    ck_assert_uint_eq(ss->releases_rx, 1);
    ck_assert_int_eq(events_up, 1);
    ck_assert_int_eq(events_down, 1);
    ck_assert_int_eq(last_event_err, COAP_ERR_CONN_CLOSED);
    coap_ep_free(c);
    server_close(&s);
}
END_TEST

/* A raw TCP peer of the test's own. */
static int raw_connect(const coap_addr_t *to)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(fd, &to->u.sa, to->len), 0);
    return fd;
}

/* Reads what the server sent within ms, driving it meanwhile. */
static size_t raw_read(int fd, coap_ep_t *ep, uint8_t *buf, size_t cap, int ms, int *closed)
{
    size_t n = 0;
    *closed = 0;
    for (int i = 0; i < ms / 5 && !*closed; i++) {
        run(ep, NULL, NULL, 5);
        ssize_t k = recv(fd, buf + n, cap - n, MSG_DONTWAIT);
        if (k == 0) *closed = 1;
        if (k > 0) n += (size_t)k;
    }
    return n;
}

/* Whether a frame with this code is somewhere in buf (a crude scan of
 * whole frames from the start). */
static const uint8_t *find_frame(const uint8_t *buf, size_t n, uint8_t code)
{
    size_t off = 0;
    uint64_t flen;
    while (off < n && coap_msg_tcp_frame_len(buf + off, n - off, &flen) == COAP_OK) {
        coap_msg_t m;
        if (off + flen > n || coap_msg_parse_tcp(&m, buf + off, (size_t)flen)) break;
        if (m.code == code) return buf + off;
        off += (size_t)flen;
    }
    return NULL;
}

START_TEST(abort_on_bad_frame_and_413)
{
    server_t s;
    coap_tcp_params_t p = {.max_message = 1152};
    server_open(&s, &p);
    int fd = raw_connect(&s.addr);
    /* our CSM, then a request over the server's Max-Message-Size: 4.13 */
    static uint8_t frame[2100];
    size_t n = hex_decode("30E1220480", frame, 8);
    ck_assert_int_eq(send(fd, frame, n, 0), (ssize_t)n);
    frame[0] = 0xE2; /* Len 14: 2 bytes of extended length; TKL 2 */
    frame[1] = (2000 - 269) >> 8;
    frame[2] = (2000 - 269) & 0xFF;
    frame[3] = COAP_PUT;
    frame[4] = 0xAB, frame[5] = 0xCD;
    frame[6] = 0xB5;
    memcpy(frame + 7, "hello", 5);
    frame[12] = 0xFF;
    ck_assert_int_eq(send(fd, frame, 6 + 2000, 0), 6 + 2000);
    uint8_t in[512];
    int closed;
    n = raw_read(fd, s.ep, in, sizeof in, 300, &closed);
    const uint8_t *csm = find_frame(in, n, COAP_SIG_CSM);
    ck_assert_ptr_nonnull(csm); /* the server's CSM came first */
    ck_assert_ptr_eq(csm, in);
    const uint8_t *too = find_frame(in, n, COAP_REQUEST_ENTITY_TOO_LARGE);
    ck_assert_ptr_nonnull(too);
    ck_assert_int_eq(too[0] & 0x0F, 2); /* with the request's token */
    ck_assert(!closed);
    /* then a frame with TKL 9: Abort (§5.6) with a diagnostic, and close */
    ck_assert_int_eq(send(fd, "\x09\x01", 2, 0), 2);
    n = raw_read(fd, s.ep, in, sizeof in, 1000, &closed);
    ck_assert_ptr_nonnull(find_frame(in, n, COAP_SIG_ABORT));
    ck_assert_int_eq(closed, 1);
    const coap_tcp_stats_t *ss = coap_transport_tcp_stats(coap_ep_transport(s.ep));
    ck_assert_uint_eq(ss->too_large, 1);
    ck_assert_uint_eq(ss->aborts_tx, 1);
    close(fd);
    server_close(&s);
}
END_TEST

START_TEST(frames_split_anywhere)
{
    /* a CSM, a Ping with Custody and two GETs, written one byte at a
     * time: reassembled, the Pong echoes the token and Custody (§5.4),
     * and both GETs are answered */
    server_t s;
    server_open(&s, NULL);
    int fd = raw_connect(&s.addr);
    uint8_t out[64];
    size_t n = hex_decode("30E1220480"              /* CSM */
                          "11E2 77 20"              /* Ping, token 77, Custody */
                          "61 01 A1 B5 68656C6C6F"  /* GET /hello, token A1 */
                          "61 01 A2 B5 68656C6C6F", /* the same, token A2 */
                          out, sizeof out);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(send(fd, out + i, 1, MSG_NOSIGNAL), 1);
        run(s.ep, NULL, NULL, 5);
    }
    uint8_t in[512];
    int closed;
    size_t got = raw_read(fd, s.ep, in, sizeof in, 300, &closed);
    const uint8_t *pong = find_frame(in, got, COAP_SIG_PONG);
    ck_assert_ptr_nonnull(pong);
    coap_msg_t m;
    uint64_t flen;
    coap_msg_tcp_frame_len(pong, got - (size_t)(pong - in), &flen);
    ck_assert_int_eq(coap_msg_parse_tcp(&m, pong, (size_t)flen), COAP_OK);
    ck_assert_int_eq(m.token_len, 1);
    ck_assert_int_eq(m.token[0], 0x77);
    ck_assert_ptr_nonnull(coap_msg_find_opt(&m, COAP_SIGOPT_CUSTODY));
    int answers = 0;
    for (size_t off = 0; off < got; off += (size_t)flen) {
        ck_assert_int_eq(coap_msg_tcp_frame_len(in + off, got - off, &flen), COAP_OK);
        ck_assert_int_eq(coap_msg_parse_tcp(&m, in + off, (size_t)flen), COAP_OK);
        if (m.code == COAP_CONTENT) ck_assert_int_eq(m.token[0], answers++ ? 0xA2 : 0xA1);
    }
    ck_assert_int_eq(answers, 2);
    ck_assert(!closed);
    close(fd);
    server_close(&s);
}
END_TEST

/* A fake server: accepts the connection of a client (with params) made
 * for a request, sends its CSM and then `then` (hex frames), and never
 * reads; returns how the request ended. */
static int fake_server_says(const char *then, const coap_tcp_params_t *params,
                            const coap_tcp_stats_t **stats, coap_ep_t **cp)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    coap_addr_t a;
    coap_addr_parse(&a, "127.0.0.1:0", 0);
    ck_assert_int_eq(bind(lfd, &a.u.sa, a.len), 0);
    listen(lfd, 1);
    a.len = sizeof a.u;
    getsockname(lfd, &a.u.sa, &a.len);
    coap_ep_t *c = client_open(params);
    server_t fake = {.addr = a};
    static result_t res;
    coap_req_send(request(c, &fake, COAP_GET, "/x", &res), on_resp, &res);
    int fd = -1;
    for (int i = 0; i < 100 && fd < 0; i++) {
        run(c, NULL, NULL, 10);
        fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
    }
    ck_assert_int_ge(fd, 0);
    uint8_t out[64];
    size_t n = hex_decode("30E1220480", out, sizeof out);
    n += hex_decode(then, out + n, sizeof out - n);
    ck_assert_int_eq(send(fd, out, n, 0), (ssize_t)n);
    run(c, NULL, &res.done, 2000);
    ck_assert_int_eq(res.done, 1);
    *stats = coap_transport_tcp_stats(coap_ep_transport(c));
    *cp = c;
    close(fd);
    close(lfd);
    return res.err;
}

START_TEST(half_open_detected)
{
    /* a peer that sends its CSM and then nothing: our Ping gets no Pong */
    const coap_tcp_stats_t *st;
    coap_ep_t *c;
    ck_assert_int_eq(fake_server_says("", &fast, &st, &c), COAP_ERR_TIMEOUT);
    ck_assert_uint_eq(st->half_open, 1);
    ck_assert_uint_ge(st->pings_tx, 1);
    coap_ep_free(c);
}
END_TEST

START_TEST(abort_and_release_received)
{
    const coap_tcp_stats_t *st;
    coap_ep_t *c;
    /* §5.6: Abort with a diagnostic: the exchanges on it fail */
    ck_assert_int_eq(fake_server_says("40E5FF626164", NULL, &st, &c), COAP_ERR_ABORTED);
    ck_assert_uint_eq(st->aborts_rx, 1);
    ck_assert_uint_eq(st->conns_open, 0);
    coap_ep_free(c);
    /* §5.5: Release with an Alternative-Address: the connection closes */
    ck_assert_int_eq(fake_server_says("20E42178", NULL, &st, &c), COAP_ERR_CONN_CLOSED);
    ck_assert_uint_eq(st->releases_rx, 1);
    coap_ep_free(c);
    /* §5.3: an unknown critical option (9) in the CSM: we abort */
    ck_assert_int_eq(fake_server_says("20E19101", NULL, &st, &c), COAP_ERR_ABORTED);
    ck_assert_uint_eq(st->aborts_tx, 1);
    coap_ep_free(c);
}
END_TEST

/* Two connections to a server with params p: the first kept, the second
 * closed at accept; the server's counters. */
static coap_tcp_stats_t second_refused(const coap_tcp_params_t *p)
{
    server_t s;
    server_open(&s, p);
    int a = raw_connect(&s.addr), b = raw_connect(&s.addr);
    uint8_t in[64];
    int closed_a, closed_b;
    raw_read(a, s.ep, in, sizeof in, 200, &closed_a);
    raw_read(b, s.ep, in, sizeof in, 200, &closed_b);
    ck_assert_int_eq(closed_a, 0);
    ck_assert_int_eq(closed_b, 1);
    coap_tcp_stats_t st = *coap_transport_tcp_stats(coap_ep_transport(s.ep));
    close(a);
    close(b);
    server_close(&s);
    return st;
}

START_TEST(connection_limit)
{
    coap_tcp_stats_t st = second_refused(&(coap_tcp_params_t){.max_conns = 1});
    ck_assert_uint_eq(st.refused, 1);
    /* max_conns_per_host: from the same address (any port), counted apart */
    st = second_refused(&(coap_tcp_params_t){.max_conns_per_host = 1});
    ck_assert_uint_eq(st.refused_host, 1);
    ck_assert_uint_eq(st.refused, 0);
}
END_TEST

/* The answers to requests read in one pass leave in one write (TCP_NODELAY
 * is on: one write is one segment where there were three). */
START_TEST(answers_of_one_pass_in_one_write)
{
    server_t s;
    server_open(&s, &(coap_tcp_params_t){0});
    int fd = raw_connect(&s.addr);
    uint8_t in[512], frames[64];
    int closed;
    ck_assert_int_eq(send(fd, "\x00\xE1", 2, 0), 2); /* our CSM */
    ck_assert_ptr_nonnull(
        find_frame(in, raw_read(fd, s.ep, in, sizeof in, 100, &closed), COAP_SIG_CSM));
    const coap_tcp_stats_t *st = coap_transport_tcp_stats(coap_ep_transport(s.ep));
    uint64_t before = st->writes;
    /* three GET /hello (RFC 8323 §3.2: Len 6, TKL 1), tokens 1, 2, 3 */
    size_t n = hex_decode("610101B568656C6C6F"
                          "610102B568656C6C6F"
                          "610103B568656C6C6F",
                          frames, sizeof frames);
    ck_assert_int_eq(send(fd, frames, n, 0), (ssize_t)n);
    size_t got = raw_read(fd, s.ep, in, sizeof in, 200, &closed);
    ck_assert_uint_eq(st->writes - before, 1);
    size_t answers = 0;
    uint64_t flen;
    for (size_t off = 0; off < got && coap_msg_tcp_frame_len(in + off, got - off, &flen) == COAP_OK;
         off += (size_t)flen)
        answers += find_frame(in + off, (size_t)flen, COAP_CONTENT) != NULL;
    ck_assert_uint_eq(answers, 3);
    close(fd);
    server_close(&s);
}
END_TEST

START_TEST(silent_client_closed)
{
    /* a client that connects and never sends its CSM holds no slot for
     * long: closed after connect_timeout_ms (§3.3: the CSM comes first),
     * not before; timed by the clock, not by loop turns */
    server_t s;
    coap_tcp_params_t p = {.connect_timeout_ms = 200};
    server_open(&s, &p);
    uint64_t t0 = now_ms(); /* the server's clock starts after it */
    int fd = raw_connect(&s.addr);
    uint8_t in[64];
    int closed = 0;
    uint64_t closed_at = 0;
    while (!closed && now_ms() < t0 + 3000) {
        raw_read(fd, s.ep, in, sizeof in, 10, &closed);
        if (closed) closed_at = now_ms();
    }
    ck_assert_msg(closed, "silent client still connected after 3 s");
    ck_assert_uint_ge(closed_at - t0, p.connect_timeout_ms);
    ck_assert_uint_eq(coap_transport_tcp_stats(coap_ep_transport(s.ep))->conns_open, 0);
    close(fd);
    server_close(&s);
}
END_TEST

START_TEST(write_queue_bound)
{
    /* an observer that never reads: once the kernel's buffers are full,
     * the notifications queue up to max_queued, and then the connection
     * is aborted (and the observation with it) */
    server_t s;
    coap_tcp_params_t p = {.max_queued = 64 * 1024};
    server_open(&s, &p);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    ck_assert_int_eq(connect(fd, &s.addr.u.sa, s.addr.len), 0);
    uint8_t reg[32];
    size_t n =
        hex_decode("30E1220480 51 01 AA 60 53 6F6273", reg, sizeof reg); /* GET /obs, Observe 0 */
    ck_assert_int_eq(send(fd, reg, n, 0), (ssize_t)n);
    for (int i = 0; i < 100 && coap_server_observers(s.obs) == 0; i++) run(s.ep, NULL, NULL, 10);
    ck_assert_uint_eq(coap_server_observers(s.obs), 1);
    const coap_tcp_stats_t *ss = coap_transport_tcp_stats(coap_ep_transport(s.ep));
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.payload = big;
    r.payload_len = 1000;
    for (int i = 0; i < 20000 && ss->aborts_tx == 0; i++) {
        coap_server_notify(s.srv, s.obs, &r);
        if (i % 64 == 0) run(s.ep, NULL, NULL, 5);
    }
    run(s.ep, NULL, NULL, 50);
    ck_assert_uint_eq(ss->aborts_tx, 1);
    ck_assert_uint_eq(ss->conns_open, 0);
    coap_server_notify(s.srv, s.obs, &r); /* finds it gone */
    ck_assert_uint_eq(coap_server_observers(s.obs), 0);
    close(fd);
    server_close(&s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tcp");
    TCase *tc = tcase_create("loopback");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, get_put_and_blocks);
    tcase_add_test(tc, small_max_message_means_blocks);
    tcase_add_test(tc, observe_then_connection_closed);
    tcase_add_test(tc, ping_pong_and_release);
    tcase_add_test(tc, abort_on_bad_frame_and_413);
    tcase_add_test(tc, frames_split_anywhere);
    tcase_add_test(tc, half_open_detected);
    tcase_add_test(tc, connection_limit);
    tcase_add_test(tc, answers_of_one_pass_in_one_write);
    tcase_add_test(tc, abort_and_release_received);
    tcase_add_test(tc, silent_client_closed);
    tcase_add_test(tc, write_queue_bound);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
