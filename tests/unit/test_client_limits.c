/*
 * Unit tests for the client role's limits (coap_client_set_limits): a
 * budget of requests in flight or queued, shared by endpoints, and a
 * bound on the requests waiting behind NSTART (RFC 7252 §4.7) for one
 * peer. Past either, coap_req_send() fails and nothing is sent.
 */
#include "simsrv.h"
#include "coap_client.h"
#include "simnet.h"

#include <check.h>
#include <string.h>

static int send_get(simnet_t *n, int from, int to, const char *path, sim_rec_t *k)
{
    return coap_req_send(sim_req(n, from, to, COAP_GET, path), sim_on_resp, k);
}

/* The budget counts a request from its send to its final callback. */
START_TEST(budget_refuses_beyond_max)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, (coap_ep_params_t[]){{.nstart = 4}});
    sim_rawsrv_t rs = {.mode = SIM_ANS_NONE};
    int srv = sim_add_raw(&n, sim_rawsrv_cb, &rs);
    coap_req_budget_t b = {.max = 2};
    coap_client_set_limits(sim_ep(&n, a), &b, 0);
    sim_rec_t k[3] = {{0}};
    ck_assert_int_eq(send_get(&n, a, srv, "a", &k[0]), COAP_OK);
    ck_assert_int_eq(send_get(&n, a, srv, "b", &k[1]), COAP_OK);
    ck_assert_uint_eq(b.used, 2);
    ck_assert_int_eq(send_get(&n, a, srv, "c", &k[2]), COAP_ERR_BUSY);
    sim_run_for(&n, 100);
    ck_assert_uint_eq(sim_count(&n, a, srv, COAP_CON, COAP_GET), 2); /* "c" never went out */
    ck_assert_int_eq(k[2].calls, 0);
    /* one ends: its place is free again */
    const sim_dgram_t *d = sim_nth(&n, 0, a, srv, COAP_CON, COAP_GET);
    sim_raw_answer(&n, srv, sim_addr(&n, a), COAP_ACK, COAP_CONTENT, d->msg.mid, d->msg.token,
                   d->msg.token_len, NULL);
    sim_run_for(&n, 100);
    ck_assert_int_eq(k[0].finals, 1);
    ck_assert_uint_eq(b.used, 1);
    ck_assert_int_eq(send_get(&n, a, srv, "c", &k[2]), COAP_OK);
    /* a raised max lets more in at once; a lowered one refuses new ones only */
    b.max = 1;
    sim_rec_t k4 = {0};
    ck_assert_int_eq(send_get(&n, a, srv, "d", &k4), COAP_ERR_BUSY);
    ck_assert_uint_eq(b.used, 2);
    coap_ep_free(sim_ep(&n, a));
    n.nodes[a].ep = NULL;
    ck_assert_uint_eq(b.used, 0); /* cancelled ones gave theirs back */
    sim_free(&n);
}
END_TEST

/* Two endpoints with one budget: the limit is for both together; an
 * observation holds its place as long as it lasts. */
START_TEST(budget_shared_by_endpoints)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    int a2 = sim_add_ep(&n, NULL);
    sim_rawsrv_t rs = {.mode = SIM_ANS_EMPTY_ACK};
    int srv = sim_add_raw(&n, sim_rawsrv_cb, &rs);
    coap_req_budget_t b = {.max = 2};
    coap_client_set_limits(sim_ep(&n, a), &b, 0);
    coap_client_set_limits(sim_ep(&n, a2), &b, 0);
    sim_rec_t k[3] = {{0}};
    coap_req_t *obs = sim_req(&n, a, srv, COAP_GET, "obs");
    coap_req_set_observe(obs, 0);
    ck_assert_int_eq(coap_req_send(obs, sim_on_resp, &k[0]), COAP_OK);
    ck_assert_int_eq(send_get(&n, a2, srv, "x", &k[1]), COAP_OK);
    ck_assert_int_eq(send_get(&n, a2, srv, "y", &k[2]), COAP_ERR_BUSY);
    sim_run_for(&n, 1000); /* empty ACKs: both wait for separate responses */
    ck_assert_uint_eq(b.used, 2);
    coap_req_observe_stop(obs, COAP_OBSERVE_FORGET);
    ck_assert_int_eq(k[0].finals, 1);
    ck_assert_uint_eq(b.used, 1);
    ck_assert_int_eq(send_get(&n, a2, srv, "y", &k[2]), COAP_OK);
    sim_free(&n);
    ck_assert_uint_eq(b.used, 0);
}
END_TEST

/* At most max_queued wait behind NSTART for one peer; another peer has
 * its own queue; a request that goes out at once never counts. */
START_TEST(queue_per_peer_bounded)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL); /* NSTART 1 */
    int hole = sim_add_raw(&n, NULL, NULL);
    int hole2 = sim_add_raw(&n, NULL, NULL);
    coap_client_set_limits(sim_ep(&n, a), NULL, 2);
    sim_rec_t k[6] = {{0}};
    ck_assert_int_eq(send_get(&n, a, hole, "on-the-wire", &k[0]), COAP_OK);
    ck_assert_int_eq(send_get(&n, a, hole, "q1", &k[1]), COAP_OK);
    ck_assert_int_eq(send_get(&n, a, hole, "q2", &k[2]), COAP_OK);
    ck_assert_int_eq(send_get(&n, a, hole, "q3", &k[3]), COAP_ERR_PEER_BUSY);
    ck_assert_int_eq(send_get(&n, a, hole2, "other", &k[4]), COAP_OK);
    ck_assert_int_eq(k[3].calls, 0);
    /* a queued one that ends (cancelled by its timeout) frees its place */
    coap_req_t *r = sim_req(&n, a, hole, COAP_GET, "q3");
    ck_assert_int_eq(coap_req_send(r, sim_on_resp, &k[3]), COAP_ERR_PEER_BUSY);
    coap_client_set_limits(sim_ep(&n, a), NULL, 3); /* raised at run time */
    r = sim_req(&n, a, hole, COAP_GET, "q3");
    coap_req_set_timeout(r, 500);
    ck_assert_int_eq(coap_req_send(r, sim_on_resp, &k[3]), COAP_OK);
    ck_assert_int_eq(send_get(&n, a, hole, "q4", &k[5]), COAP_ERR_PEER_BUSY);
    sim_run_for(&n, 600);
    ck_assert_int_eq(k[3].err, COAP_ERR_TIMEOUT);
    ck_assert_int_eq(send_get(&n, a, hole, "q4", &k[5]), COAP_OK);
    sim_free(&n);
}
END_TEST

/* Queued requests leave the queue as they go out: after the peer answers
 * them all, the whole queue is usable again. */
START_TEST(queue_drains)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    sim_rawsrv_t rs = {.mode = SIM_ANS_PIGGY};
    int srv = sim_add_raw(&n, sim_rawsrv_cb, &rs);
    coap_client_set_limits(sim_ep(&n, a), NULL, 1);
    for (int round = 0; round < 3; round++) {
        sim_rec_t k[3] = {{0}};
        ck_assert_int_eq(send_get(&n, a, srv, "a", &k[0]), COAP_OK);
        ck_assert_int_eq(send_get(&n, a, srv, "b", &k[1]), COAP_OK);
        ck_assert_int_eq(send_get(&n, a, srv, "c", &k[2]), COAP_ERR_PEER_BUSY);
        sim_run_for(&n, 1000);
        ck_assert_int_eq(k[0].finals + k[1].finals, 2);
    }
    sim_free(&n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("client_limits");
    TCase *tc = tcase_create("budget");
    tcase_add_test(tc, budget_refuses_beyond_max);
    tcase_add_test(tc, budget_shared_by_endpoints);
    suite_add_tcase(s, tc);
    tc = tcase_create("queue");
    tcase_add_test(tc, queue_per_peer_bounded);
    tcase_add_test(tc, queue_drains);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
