/*
 * Unit tests for CoAP over TCP (RFC 8323) with our client: the reliable
 * message layer (coap/ep_*.c with a reliable transport) and the TCP
 * transport (coap/transport_tcp.c, tcp_signal.c) over loopback: requests
 * and responses, block-wise bodies, Observe, the CSM exchange, Max-Message-
 * Size, Ping/Pong and Release; and from a fake server: a half-open
 * connection, Abort and Release received. Our server against a raw peer:
 * test_tcp_raw.c.
 */
#include "coap_client.h"
#include "coap_server.h"
#include "tcpfx.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static coap_tcp_params_t fast = {.keepalive_ms = 150, .pong_timeout_ms = 400, .idle_ms = 5000};

static coap_ep_t *client_open(const coap_tcp_params_t *base)
{
    coap_tcp_params_t p = base ? *base : (coap_tcp_params_t){0};
    p.connect_out = 1;
    int err;
    coap_transport_t *tr = coap_transport_tcp_new(NULL, &p, &err);
    ck_assert_ptr_nonnull(tr);
    return coap_ep_new_on(tr, NULL, &err);
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

static Suite *suite(void)
{
    Suite *s = suite_create("tcp");
    TCase *tc = tcase_create("loopback");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, get_put_and_blocks);
    tcase_add_test(tc, small_max_message_means_blocks);
    tcase_add_test(tc, observe_then_connection_closed);
    tcase_add_test(tc, ping_pong_and_release);
    tcase_add_test(tc, half_open_detected);
    tcase_add_test(tc, abort_and_release_received);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
