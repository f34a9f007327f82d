/*
 * Unit tests for the client role on a simulated network: NSTART (RFC 7252
 * §4.7), cancellation and coap_ep_free(), a request from a parsed URI, and
 * a request that cannot be built. Timeouts, responses, tokens and response
 * matching are in test_client.c.
 */
#include "coap_client.h"
#include "simnet.h"
#include "simsrv.h"

#include <check.h>
#include <string.h>

/* --- NSTART (§4.7) --- */

static void nstart_run(int nstart)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, (coap_ep_params_t[]){{.nstart = (uint8_t)nstart}});
    sim_rawsrv_t rs = {.mode = SIM_ANS_NONE}, rs2 = {.mode = SIM_ANS_NONE};
    int srv = sim_add_raw(&n, sim_rawsrv_cb, &rs);
    int srv2 = sim_add_raw(&n, sim_rawsrv_cb, &rs2);
    int order[8], norder = 0;
    sim_rec_t k[4];
    const char *paths[3] = {"p0", "p1", "p2"};
    for (int i = 0; i < 4; i++) {
        memset(&k[i], 0, sizeof k[i]);
        k[i].id = i;
        k[i].order = order;
        k[i].norder = &norder;
    }
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(coap_req_send(sim_req(&n, a, srv, COAP_GET, paths[i]), sim_on_resp, &k[i]),
                         COAP_OK);
    /* another peer has its own budget */
    ck_assert_int_eq(coap_req_send(sim_req(&n, a, srv2, COAP_GET, "q"), sim_on_resp, &k[3]),
                     COAP_OK);
    sim_run_for(&n, 100);
    ck_assert_uint_eq(sim_count(&n, a, srv, COAP_CON, COAP_GET), (size_t)nstart);
    ck_assert_uint_eq(sim_count(&n, a, srv2, COAP_CON, COAP_GET), 1);
    for (int step = 0; step < 3; step++) {
        /* answer the oldest request on the wire, piggybacked */
        const sim_dgram_t *d = sim_nth(&n, (size_t)step, a, srv, COAP_CON, COAP_GET);
        ck_assert_ptr_nonnull(d);
        const coap_msg_opt_t *o = coap_msg_find_opt(&d->msg, COAP_OPT_URI_PATH);
        ck_assert_mem_eq(coap_msg_opt_value(o), paths[step], 2); /* in order */
        sim_raw_answer(&n, srv, sim_addr(&n, a), COAP_ACK, COAP_CONTENT, d->msg.mid, d->msg.token,
                       d->msg.token_len, NULL);
        sim_run_for(&n, 100);
        size_t want = (size_t)(step + 1 + nstart) < 3 ? (size_t)(step + 1 + nstart) : 3;
        ck_assert_uint_eq(sim_count(&n, a, srv, COAP_CON, COAP_GET), want);
    }
    ck_assert_int_eq(norder, 3);
    for (int i = 0; i < 3; i++) ck_assert_int_eq(order[i], i);
    sim_free(&n);
}

START_TEST(nstart_one)
{
    nstart_run(1);
}
END_TEST

START_TEST(nstart_two)
{
    nstart_run(2);
}
END_TEST

/* An empty ACK ends the outstanding interaction (§4.7): the next request
 * goes out while the first still waits for its separate response. */
START_TEST(nstart_slot_freed_by_empty_ack)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    sim_rawsrv_t rs = {.mode = SIM_ANS_EMPTY_ACK};
    int srv = sim_add_raw(&n, sim_rawsrv_cb, &rs);
    sim_rec_t k1 = {0}, k2 = {0};
    ck_assert_int_eq(coap_req_send(sim_req(&n, a, srv, COAP_GET, "a"), sim_on_resp, &k1), COAP_OK);
    ck_assert_int_eq(coap_req_send(sim_req(&n, a, srv, COAP_GET, "b"), sim_on_resp, &k2), COAP_OK);
    sim_run_for(&n, 100);
    ck_assert_uint_eq(sim_count(&n, a, srv, COAP_CON, COAP_GET), 2);
    ck_assert_uint_lt(sim_nth(&n, 0, a, srv, COAP_CON, COAP_GET)->t,
                      sim_nth(&n, 1, a, srv, COAP_CON, COAP_GET)->t);
    sim_free(&n);
}
END_TEST

/* A request started from a callback, as a slot comes free, queues behind
 * the ones already waiting. */
typedef struct {
    simnet_t *n;
    int from, to;
    sim_rec_t *rec;
} spawn_t;

static void spawn(sim_rec_t *k, coap_req_t *req, const coap_resp_t *r)
{
    (void)req, (void)r;
    spawn_t *sp = k->arg;
    ck_assert_int_eq(
        coap_req_send(sim_req(sp->n, sp->from, sp->to, COAP_GET, "p3"), sim_on_resp, sp->rec),
        COAP_OK);
}

START_TEST(nstart_fifo_from_callback)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    sim_rawsrv_t rs = {.mode = SIM_ANS_NONE};
    int srv = sim_add_raw(&n, sim_rawsrv_cb, &rs);
    int order[8], norder = 0;
    sim_rec_t k[4];
    for (int i = 0; i < 4; i++) {
        memset(&k[i], 0, sizeof k[i]);
        k[i].id = i;
        k[i].order = order;
        k[i].norder = &norder;
    }
    spawn_t sp = {&n, a, srv, &k[3]};
    k[0].then = spawn;
    k[0].arg = &sp;
    const char *paths[3] = {"p0", "p1", "p2"};
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(coap_req_send(sim_req(&n, a, srv, COAP_GET, paths[i]), sim_on_resp, &k[i]),
                         COAP_OK);
    sim_run_for(&n, 100);
    for (int step = 0; step < 4; step++) {
        const sim_dgram_t *d = sim_nth(&n, (size_t)step, a, srv, COAP_CON, COAP_GET);
        ck_assert_ptr_nonnull(d);
        ck_assert_uint_eq(sim_count(&n, a, srv, COAP_CON, COAP_GET), (size_t)step + 1);
        char want[3] = {'p', (char)('0' + step), 0};
        ck_assert_mem_eq(coap_msg_opt_value(coap_msg_find_opt(&d->msg, COAP_OPT_URI_PATH)), want,
                         2);
        sim_raw_answer(&n, srv, sim_addr(&n, a), COAP_ACK, COAP_CONTENT, d->msg.mid, d->msg.token,
                       d->msg.token_len, NULL);
        sim_run_for(&n, 100);
    }
    ck_assert_int_eq(norder, 4);
    for (int i = 0; i < 4; i++) ck_assert_int_eq(order[i], i);
    sim_free(&n);
}
END_TEST

/* --- cancellation --- */

START_TEST(cancel_runs_final_callback)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    int hole = sim_add_raw(&n, NULL, NULL);
    sim_rec_t k1 = {0}, k2 = {0}, k3 = {0};
    coap_req_t *r1 = sim_req(&n, a, hole, COAP_GET, "a");
    coap_req_t *r2 = sim_req(&n, a, hole, COAP_GET, "b");
    coap_req_t *r3 = sim_req(&n, a, hole, COAP_GET, "c");
    ck_assert_int_eq(coap_req_send(r1, sim_on_resp, &k1), COAP_OK);
    ck_assert_int_eq(coap_req_send(r2, sim_on_resp, &k2), COAP_OK);
    ck_assert_int_eq(coap_req_send(r3, sim_on_resp, &k3), COAP_OK);
    sim_run_for(&n, 100);
    coap_req_cancel(r2); /* queued behind NSTART */
    ck_assert_int_eq(k2.calls, 1);
    ck_assert_int_eq(k2.err, COAP_ERR_CANCELLED);
    ck_assert_int_eq(k2.last, 1);
    coap_req_cancel(r1); /* on the wire: r3 goes out next */
    ck_assert_int_eq(k1.err, COAP_ERR_CANCELLED);
    sim_run_for(&n, 100);
    ck_assert_uint_eq(sim_count(&n, a, hole, COAP_CON, COAP_GET), 2);
    coap_req_cancel(r3);
    sim_run_for(&n, 300000);
    ck_assert_uint_eq(sim_count(&n, a, hole, COAP_CON, COAP_GET), 2); /* no retransmissions */
    ck_assert_int_eq(k1.calls + k2.calls + k3.calls, 3);
    sim_free(&n);
}
END_TEST

/* A whole-exchange timeout runs while the request waits for NSTART. */
START_TEST(queued_request_times_out)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    int hole = sim_add_raw(&n, NULL, NULL);
    sim_rec_t k1 = {0}, k2 = {0};
    ck_assert_int_eq(coap_req_send(sim_req(&n, a, hole, COAP_GET, "a"), sim_on_resp, &k1), COAP_OK);
    coap_req_t *r2 = sim_req(&n, a, hole, COAP_GET, "b");
    coap_req_set_timeout(r2, 1000);
    uint64_t t0 = n.now;
    ck_assert_int_eq(coap_req_send(r2, sim_on_resp, &k2), COAP_OK);
    sim_run_for(&n, 1500);
    ck_assert_int_eq(k2.err, COAP_ERR_TIMEOUT);
    ck_assert_uint_eq(k2.t - t0, 1000);
    ck_assert_int_eq(k1.calls, 0);
    sim_run_for(&n, 100000);
    ck_assert_int_eq(k1.err, COAP_ERR_TIMEOUT);
    ck_assert_uint_eq(sim_count(&n, a, hole, COAP_CON, COAP_GET), 5); /* "b" never went out */
    sim_free(&n);
}
END_TEST

START_TEST(ep_free_cancels_all)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    sim_rawsrv_t rs = {.mode = SIM_ANS_EMPTY_ACK};
    int srv = sim_add_raw(&n, sim_rawsrv_cb, &rs);
    int hole = sim_add_raw(&n, NULL, NULL);
    sim_rec_t k[5] = {{0}};
    for (int i = 0; i < 3; i++) /* one on the wire, two queued */
        ck_assert_int_eq(coap_req_send(sim_req(&n, a, hole, COAP_GET, "x"), sim_on_resp, &k[i]),
                         COAP_OK);
    ck_assert_int_eq(coap_req_send(sim_req(&n, a, srv, COAP_GET, "y"), sim_on_resp, &k[3]),
                     COAP_OK); /* waiting for a separate response */
    coap_req_t *obs = sim_req(&n, a, srv, COAP_GET, "z");
    coap_req_set_observe(obs, 0);
    ck_assert_int_eq(coap_req_send(obs, sim_on_resp, &k[4]), COAP_OK);
    sim_run_for(&n, 1000);
    size_t sent = n.nlog;
    coap_ep_free(sim_ep(&n, a));
    n.nodes[a].ep = NULL;
    ck_assert_uint_eq(n.nlog, sent); /* nothing goes out while freeing */
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(k[i].calls, 1);
        ck_assert_int_eq(k[i].err, COAP_ERR_CANCELLED);
        ck_assert_int_eq(k[i].last, 1);
    }
    sim_free(&n);
}
END_TEST

/* --- a request from a parsed URI --- */

typedef struct {
    uint8_t opts[256]; /* the datagram past its header and token */
    size_t len;
} opts_rec_t;

static void keep_opts(simnet_t *net, int node, const coap_addr_t *from, const uint8_t *buf,
                      size_t len, void *arg)
{
    (void)net, (void)node, (void)from;
    opts_rec_t *r = arg;
    size_t skip = 4 + (buf[0] & 0x0F);
    ck_assert_uint_le(len - skip, sizeof r->opts);
    r->len = len - skip;
    memcpy(r->opts, buf + skip, r->len);
}

static void send_all(simnet_t *n, coap_req_t *req, sim_rec_t *k)
{
    ck_assert_ptr_nonnull(req);
    ck_assert_int_eq(coap_req_send(req, sim_on_resp, k), COAP_OK);
    sim_run_idle(n);
    coap_req_cancel(req); /* NSTART 1: the next request goes out at once */
    ck_assert_int_eq(k->finals, 1);
}

/* coap_req_new_parsed sends the options coap_req_new sends for the same
 * URI (§6.4): Uri-Host for a name, Uri-Port against the destination's
 * port, decoded path and query, dot segments resolved. */
START_TEST(parsed_uri_same_options)
{
    static const char *const uris[] = {"coap://192.0.2.9/",
                                       "coap://192.0.2.9:5683/a/b?x=1&y",
                                       "coap://Dev.Example:7000/%41/./c/../d",
                                       "coap://h.example/s%20p?q=%26",
                                       "coaps://h.example:5684/x",
                                       "coap://[2001:db8::1]:1234/x"};
    for (size_t i = 0; i < sizeof uris / sizeof *uris; i++) {
        simnet_t n;
        sim_init(&n);
        int a = sim_add_ep(&n, NULL);
        opts_rec_t once = {0}, parsed = {0};
        int sink = sim_add_raw(&n, keep_opts, &once);
        int err;
        sim_rec_t k[2] = {{0}};
        send_all(&n, coap_req_new(sim_ep(&n, a), COAP_GET, uris[i], sim_addr(&n, sink), &err),
                 &k[0]);
        n.nodes[sink].raw_arg = &parsed;
        coap_parsed_uri_t u;
        ck_assert_int_eq(coap_uri_parse(&u, uris[i]), COAP_OK);
        send_all(&n, coap_req_new_parsed(sim_ep(&n, a), COAP_GET, &u, sim_addr(&n, sink), &err),
                 &k[1]);
        ck_assert_uint_eq(once.len, parsed.len);
        ck_assert(i == 0 || once.len > 0); /* only "/" to the default port has none */
        ck_assert_mem_eq(once.opts, parsed.opts, once.len);
        sim_free(&n);
    }
}
END_TEST

/* A request that cannot be built is freed without a callback. */
START_TEST(send_failure_no_callback)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    int hole = sim_add_raw(&n, NULL, NULL);
    coap_req_t *req = sim_req(&n, a, hole, COAP_GET, "x");
    for (int i = 0; i < COAP_MSG_MAX_OPTS; i++) ck_assert_int_eq(coap_req_add_query(req, "q"), 0);
    sim_rec_t k = {0};
    ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k), COAP_ERR_TOO_MANY_OPTS);
    sim_run_for(&n, 1000);
    ck_assert_int_eq(k.calls, 0);
    ck_assert_uint_eq(n.nlog, 0);
    /* the endpoint is not left blocked (NSTART slot, token table) */
    ck_assert_int_eq(coap_req_send(sim_req(&n, a, hole, COAP_GET, "y"), sim_on_resp, &k), COAP_OK);
    sim_run_for(&n, 100);
    ck_assert_uint_eq(n.nlog, 1);
    sim_free(&n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("client_nstart");
    TCase *tc = tcase_create("nstart");
    tcase_add_test(tc, nstart_one);
    tcase_add_test(tc, nstart_two);
    tcase_add_test(tc, nstart_slot_freed_by_empty_ack);
    tcase_add_test(tc, nstart_fifo_from_callback);
    suite_add_tcase(s, tc);
    tc = tcase_create("cancel");
    tcase_add_test(tc, cancel_runs_final_callback);
    tcase_add_test(tc, queued_request_times_out);
    tcase_add_test(tc, ep_free_cancels_all);
    tcase_add_test(tc, send_failure_no_callback);
    tcase_add_test(tc, parsed_uri_same_options);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
