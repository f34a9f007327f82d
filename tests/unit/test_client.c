/*
 * Unit tests for the client role on a simulated network: timeouts,
 * piggybacked and separate responses (RFC 7252 §5.2), RST, tokens and
 * response matching (§5.3). NSTART (§4.7), cancellation and coap_ep_free()
 * are in test_client_nstart.c.
 */
#include "coap_client.h"
#include "simnet.h"
#include "simsrv.h"

#include <check.h>
#include <string.h>

static void respond_hello(sim_srv_t *s, coap_ep_req_t *req, const coap_msg_t *m)
{
    (void)m;
    coap_msg_t r;
    sim_resp(&r, COAP_CONTENT, "hello", 5);
    ck_assert_int_eq(coap_ep_respond(s->ep, req, &r, NULL, NULL), COAP_OK);
}

/* --- timeouts --- */

START_TEST(timeout_reaches_callback)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    int hole = sim_add_raw(&n, NULL, NULL);
    sim_rec_t k = {0};
    uint64_t t0 = n.now;
    ck_assert_int_eq(coap_req_send(sim_req(&n, a, hole, COAP_GET, "x"), sim_on_resp, &k), COAP_OK);
    sim_run_for(&n, 300000);
    ck_assert_uint_eq(sim_count(&n, a, hole, COAP_CON, COAP_GET), 5);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(k.err, COAP_ERR_TIMEOUT);
    ck_assert_int_eq(k.last, 1);
    ck_assert_int_eq(k.code, -1);
    /* MAX_TRANSMIT_WAIT bounds: (2^5 - 1) * [2 s, 3 s] (§4.8.2) */
    ck_assert_uint_ge(k.t - t0, 31 * 2000);
    ck_assert_uint_le(k.t - t0, 31 * 3000);
    sim_free(&n);
}
END_TEST

START_TEST(timeout_custom_params)
{
    simnet_t n;
    sim_init(&n);
    coap_ep_params_t p = {.ack_timeout_ms = 300, .ack_random_factor = 1.0f, .max_retransmit = 1};
    int a = sim_add_ep(&n, &p);
    int hole = sim_add_raw(&n, NULL, NULL);
    sim_rec_t k = {0};
    uint64_t t0 = n.now;
    ck_assert_int_eq(coap_req_send(sim_req(&n, a, hole, COAP_GET, "x"), sim_on_resp, &k), COAP_OK);
    sim_run_for(&n, 300000);
    ck_assert_uint_eq(sim_count(&n, a, hole, COAP_CON, COAP_GET), 2);
    ck_assert_int_eq(k.err, COAP_ERR_TIMEOUT);
    ck_assert_uint_eq(k.t - t0, 300 + 600);
    sim_free(&n);
}
END_TEST

/* coap_req_set_timeout() bounds the whole exchange, even when the server
 * has ACKed and the response never comes. */
START_TEST(exchange_timeout)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    sim_rawsrv_t rs = {.mode = SIM_ANS_EMPTY_ACK};
    int srv = sim_add_raw(&n, sim_rawsrv_cb, &rs);
    sim_rec_t k = {0};
    uint64_t t0 = n.now;
    coap_req_t *req = sim_req(&n, a, srv, COAP_GET, "x");
    coap_req_set_timeout(req, 10000);
    ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k), COAP_OK);
    sim_run_for(&n, 300000);
    ck_assert_int_eq(k.err, COAP_ERR_TIMEOUT);
    ck_assert_uint_eq(k.t - t0, 10000);
    /* without it, EXCHANGE_LIFETIME after the empty ACK */
    sim_rec_t k2 = {0};
    t0 = n.now;
    ck_assert_int_eq(coap_req_send(sim_req(&n, a, srv, COAP_GET, "y"), sim_on_resp, &k2), COAP_OK);
    sim_run_for(&n, 300000);
    ck_assert_int_eq(k2.err, COAP_ERR_TIMEOUT);
    ck_assert_uint_eq(k2.t - t0, 2 * n.latency_ms + 247000);
    sim_free(&n);
}
END_TEST

/* --- responses (§5.2) --- */

START_TEST(piggybacked_response)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    sim_srv_t srv;
    sim_srv_init(&srv, &n, NULL, respond_hello, NULL);
    sim_rec_t k = {0};
    ck_assert_int_eq(coap_req_send(sim_req(&n, a, srv.node, COAP_GET, "x"), sim_on_resp, &k),
                     COAP_OK);
    sim_run_idle(&n);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(k.err, COAP_OK);
    ck_assert_int_eq(k.code, COAP_CONTENT);
    ck_assert_int_eq(k.last, 1);
    ck_assert_int_eq(k.observing, 0);
    ck_assert_uint_eq(k.body_len, 5);
    ck_assert_mem_eq(k.body, "hello", 5);
    ck_assert_uint_eq(sim_count(&n, SIM_ANY, SIM_ANY, SIM_ANY, SIM_ANY), 2);
    sim_free(&n);
}
END_TEST

START_TEST(separate_con_response)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    sim_rawsrv_t rs = {.mode = SIM_ANS_EMPTY_ACK};
    int srv = sim_add_raw(&n, sim_rawsrv_cb, &rs);
    sim_rec_t k = {0};
    ck_assert_int_eq(coap_req_send(sim_req(&n, a, srv, COAP_GET, "x"), sim_on_resp, &k), COAP_OK);
    sim_run_for(&n, 10000);
    ck_assert_int_eq(k.calls, 0);
    ck_assert_uint_eq(sim_count(&n, a, srv, COAP_CON, COAP_GET), 1); /* ACKed: no retransmission */
    sim_raw_answer(&n, srv, sim_addr(&n, a), COAP_CON, COAP_CONTENT, 0x7000, rs.tok, rs.tkl, "sep");
    sim_run_idle(&n);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(k.code, COAP_CONTENT);
    ck_assert_mem_eq(k.body, "sep", 3);
    const sim_dgram_t *ack = sim_nth(&n, 0, a, srv, COAP_ACK, 0); /* the client ACKs it */
    ck_assert_ptr_nonnull(ack);
    ck_assert_uint_eq(ack->msg.mid, 0x7000);
    /* a retransmission of it (our ACK was lost) gets the same ACK only */
    sim_raw_answer(&n, srv, sim_addr(&n, a), COAP_CON, COAP_CONTENT, 0x7000, rs.tok, rs.tkl, "sep");
    sim_run_idle(&n);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_uint_eq(sim_count(&n, a, srv, COAP_ACK, 0), 2);
    ck_assert_uint_eq(sim_count(&n, a, srv, COAP_RST, SIM_ANY), 0);
    sim_free(&n);
}
END_TEST

START_TEST(separate_non_response)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    sim_rawsrv_t rs = {.mode = SIM_ANS_EMPTY_ACK};
    int srv = sim_add_raw(&n, sim_rawsrv_cb, &rs);
    sim_rec_t k = {0};
    ck_assert_int_eq(coap_req_send(sim_req(&n, a, srv, COAP_GET, "x"), sim_on_resp, &k), COAP_OK);
    sim_run_for(&n, 1000);
    sim_raw_answer(&n, srv, sim_addr(&n, a), COAP_NON, COAP_CONTENT, 0x7001, rs.tok, rs.tkl, "non");
    sim_run_idle(&n);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(k.code, COAP_CONTENT);
    ck_assert_uint_eq(sim_count(&n, a, srv, SIM_ANY, SIM_ANY), 1); /* nothing to ACK */
    sim_free(&n);
}
END_TEST

/* §5.2.2: the separate response arrives before the empty ACK (lost); it
 * ends the retransmission of the request as an ACK would. */
START_TEST(separate_response_before_ack)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    sim_rawsrv_t rs = {.mode = SIM_ANS_NONE};
    int srv = sim_add_raw(&n, sim_rawsrv_cb, &rs);
    sim_rec_t k = {0};
    ck_assert_int_eq(coap_req_send(sim_req(&n, a, srv, COAP_GET, "x"), sim_on_resp, &k), COAP_OK);
    sim_run_for(&n, 100);
    sim_raw_answer(&n, srv, sim_addr(&n, a), COAP_CON, COAP_CONTENT, 0x7002, rs.tok, rs.tkl,
                   "early");
    sim_run_for(&n, 100000);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(k.code, COAP_CONTENT);
    ck_assert_uint_eq(sim_count(&n, a, srv, COAP_CON, COAP_GET), 1);
    ck_assert_uint_eq(sim_count(&n, a, srv, COAP_ACK, 0), 1);
    sim_free(&n);
}
END_TEST

/* The body limit applies to a response in one datagram too. */
START_TEST(body_limit_single_datagram)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    sim_srv_t srv;
    sim_srv_init(&srv, &n, NULL, respond_hello, NULL);
    sim_rec_t k = {0}, k2 = {0};
    coap_req_t *req = sim_req(&n, a, srv.node, COAP_GET, "x");
    coap_req_set_max_body(req, 4);
    ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k), COAP_OK);
    req = sim_req(&n, a, srv.node, COAP_GET, "x");
    coap_req_set_max_body(req, 5);
    ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k2), COAP_OK);
    sim_run_idle(&n);
    ck_assert_int_eq(k.err, COAP_ERR_TOO_LARGE);
    ck_assert_int_eq(k2.err, COAP_OK);
    sim_free(&n);
}
END_TEST

/* A NON request (§2.2) and its NON response. */
START_TEST(non_request)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    sim_srv_t srv;
    sim_srv_init(&srv, &n, NULL, respond_hello, NULL);
    sim_rec_t k = {0};
    coap_req_t *req = sim_req(&n, a, srv.node, COAP_GET, "x");
    coap_req_set_confirmable(req, 0);
    ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k), COAP_OK);
    sim_run_for(&n, 100000);
    ck_assert_uint_eq(sim_count(&n, a, srv.node, COAP_NON, COAP_GET), 1);
    ck_assert_uint_eq(sim_count(&n, srv.node, a, COAP_NON, COAP_CONTENT), 1);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(k.code, COAP_CONTENT);
    sim_free(&n);
}
END_TEST

START_TEST(rst_to_con)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    sim_rawsrv_t rs = {.mode = SIM_ANS_RST};
    int srv = sim_add_raw(&n, sim_rawsrv_cb, &rs);
    sim_rec_t k = {0};
    ck_assert_int_eq(coap_req_send(sim_req(&n, a, srv, COAP_GET, "x"), sim_on_resp, &k), COAP_OK);
    sim_run_for(&n, 100000);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(k.err, COAP_ERR_RESET);
    ck_assert_int_eq(k.last, 1);
    ck_assert_uint_eq(sim_count(&n, a, srv, COAP_CON, SIM_ANY), 1);
    sim_free(&n);
}
END_TEST

/* --- tokens (§5.3.1) and matching (§5.3.2) --- */

START_TEST(tokens_long_and_distinct)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, (coap_ep_params_t[]){{.nstart = 20}});
    int hole = sim_add_raw(&n, NULL, NULL);
    sim_rec_t k[16] = {{0}};
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(coap_req_send(sim_req(&n, a, hole, COAP_GET, "x"), sim_on_resp, &k[i]),
                         COAP_OK);
    sim_run_for(&n, 100);
    ck_assert_uint_eq(sim_count(&n, a, hole, COAP_CON, COAP_GET), 16);
    for (size_t i = 0; i < 16; i++) {
        const coap_msg_t *mi = &sim_nth(&n, i, a, hole, COAP_CON, COAP_GET)->msg;
        ck_assert_uint_ge(mi->token_len, 4);
        for (size_t j = 0; j < i; j++) {
            const coap_msg_t *mj = &sim_nth(&n, j, a, hole, COAP_CON, COAP_GET)->msg;
            ck_assert(mi->token_len != mj->token_len ||
                      memcmp(mi->token, mj->token, mi->token_len) != 0);
            ck_assert_uint_ne(mi->mid, mj->mid);
        }
    }
    sim_free(&n);
}
END_TEST

/* Even a random hook that always returns the same value yields distinct tokens. */
START_TEST(tokens_with_constant_random)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, (coap_ep_params_t[]){{.nstart = 4}});
    n.nodes[a].rand_fixed = 1;
    int hole = sim_add_raw(&n, NULL, NULL);
    sim_rec_t k[3] = {{0}};
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(coap_req_send(sim_req(&n, a, hole, COAP_GET, "x"), sim_on_resp, &k[i]),
                         COAP_OK);
    sim_run_for(&n, 100);
    ck_assert_uint_eq(sim_count(&n, a, hole, COAP_CON, COAP_GET), 3);
    sim_free(&n);
}
END_TEST

/* The right token from the wrong address is not the response (§5.3.2). */
START_TEST(response_from_other_peer_rejected)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    sim_rawsrv_t rs = {.mode = SIM_ANS_EMPTY_ACK};
    int srv = sim_add_raw(&n, sim_rawsrv_cb, &rs);
    int other = sim_add_raw(&n, NULL, NULL);
    sim_rec_t k = {0};
    ck_assert_int_eq(coap_req_send(sim_req(&n, a, srv, COAP_GET, "x"), sim_on_resp, &k), COAP_OK);
    sim_run_for(&n, 1000);
    sim_raw_answer(&n, other, sim_addr(&n, a), COAP_CON, COAP_CONTENT, 0x5000, rs.tok, rs.tkl,
                   "evil");
    sim_run_idle(&n);
    ck_assert_int_eq(k.calls, 0);
    const sim_dgram_t *d = sim_last(&n);
    ck_assert_int_eq(d->to, other);
    ck_assert_int_eq(d->msg.type, COAP_RST);
    ck_assert_uint_eq(d->msg.mid, 0x5000);
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&n, a))->unexpected, 1);
    sim_raw_answer(&n, srv, sim_addr(&n, a), COAP_CON, COAP_CONTENT, 0x5001, rs.tok, rs.tkl,
                   "good");
    sim_run_idle(&n);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_mem_eq(k.body, "good", 4);
    sim_free(&n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("client");
    TCase *tc = tcase_create("exchange");
    tcase_add_test(tc, timeout_reaches_callback);
    tcase_add_test(tc, timeout_custom_params);
    tcase_add_test(tc, exchange_timeout);
    tcase_add_test(tc, piggybacked_response);
    tcase_add_test(tc, separate_con_response);
    tcase_add_test(tc, separate_non_response);
    tcase_add_test(tc, separate_response_before_ack);
    tcase_add_test(tc, body_limit_single_datagram);
    tcase_add_test(tc, non_request);
    tcase_add_test(tc, rst_to_con);
    suite_add_tcase(s, tc);
    tc = tcase_create("tokens");
    tcase_add_test(tc, tokens_long_and_distinct);
    tcase_add_test(tc, tokens_with_constant_random);
    tcase_add_test(tc, response_from_other_peer_rejected);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
