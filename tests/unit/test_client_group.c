/*
 * Unit tests for group requests (coap_req_set_group; RFC 7252 §8.2,
 * RFC 7390 §2.7): one NON to a multicast address, every member's answer
 * delivered as it comes, matched by token alone, the window's end as the
 * final call; Observe on a group with freshness per member.
 */
#include "simsrv.h"
#include "coap_client.h"
#include "simnet.h"

#include <check.h>
#include <string.h>

static coap_req_t *group_req(simnet_t *n, int from, uint32_t window_ms)
{
    int err = 0;
    coap_req_t *req =
        coap_req_new(sim_ep(n, from), COAP_GET, "coap://224.0.1.187/.well-known/core", NULL, &err);
    ck_assert_ptr_nonnull(req);
    coap_req_set_group(req, window_ms);
    return req;
}

/* A member answers the group request's token from its own address. */
static void member_answer(simnet_t *n, int member, int to, const sim_dgram_t *rq, int observe,
                          uint32_t seq, const char *payload)
{
    coap_msg_t a;
    coap_msg_init(&a, COAP_NON, COAP_CONTENT, (uint16_t)(0x4000 + seq + member * 256));
    coap_msg_set_token(&a, rq->msg.token, rq->msg.token_len);
    if (observe) ck_assert_int_eq(coap_msg_add_uint(&a, COAP_OPT_OBSERVE, seq), 0);
    a.payload = (const uint8_t *)payload;
    a.payload_len = strlen(payload);
    uint8_t b[256];
    int len = coap_msg_serialize(&a, b, sizeof b);
    ck_assert_int_gt(len, 0);
    sim_transmit(n, sim_addr(n, member), sim_addr(n, to), b, (size_t)len);
}

/* Records which member answered. */
typedef struct {
    sim_rec_t rec;
    coap_addr_t from[8];
    int nfrom;
} group_rec_t;

static void on_group(coap_req_t *req, const coap_resp_t *r, void *arg)
{
    group_rec_t *g = arg;
    sim_on_resp(req, r, &g->rec);
    if (!r->last && g->nfrom < 8) g->from[g->nfrom++] = *r->peer;
}

START_TEST(group_get_collects_every_member_until_the_window)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    int m1 = sim_add_raw(&n, NULL, NULL), m2 = sim_add_raw(&n, NULL, NULL);
    group_rec_t g = {0};
    ck_assert_int_eq(coap_req_send(group_req(&n, a, 2000), on_group, &g), COAP_OK);
    sim_run_for(&n, 10);
    const sim_dgram_t *rq = sim_nth(&n, 0, a, SIM_ANY, SIM_ANY, COAP_GET);
    ck_assert_ptr_nonnull(rq);
    ck_assert_int_eq(rq->msg.type, COAP_NON); /* §8.1 */
    ck_assert_int_eq(rq->to, SIM_NOWHERE);
    sim_dgram_t q = *rq; /* the log may move */
    member_answer(&n, m1, a, &q, 0, 1, "</a>");
    member_answer(&n, m2, a, &q, 0, 1, "</b>");
    sim_run_for(&n, 100);
    ck_assert_int_eq(g.rec.calls, 2);
    ck_assert_int_eq(g.rec.finals, 0);
    ck_assert(coap_addr_equal(&g.from[0], sim_addr(&n, m1)));
    ck_assert(coap_addr_equal(&g.from[1], sim_addr(&n, m2)));
    ck_assert_uint_eq(sim_count(&n, a, SIM_ANY, COAP_RST, SIM_ANY), 0);
    sim_run_for(&n, 2000);
    ck_assert_int_eq(g.rec.finals, 1); /* the window's end */
    ck_assert_int_eq(g.rec.err, COAP_OK);
    ck_assert_int_eq(g.rec.code, -1); /* no message */
    /* an answer after the window is nobody's: RST */
    member_answer(&n, m1, a, &q, 0, 2, "</late>");
    sim_run_for(&n, 100);
    ck_assert_int_eq(g.rec.calls, 3);
    ck_assert_uint_eq(sim_count(&n, a, m1, COAP_RST, SIM_ANY), 1);
    sim_free(&n);
}
END_TEST

/* A unicast request still matches only its own peer (§5.3.2). */
START_TEST(unicast_request_ignores_other_sources)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    int srv = sim_add_raw(&n, NULL, NULL), other = sim_add_raw(&n, NULL, NULL);
    sim_rec_t k = {0};
    coap_req_t *req = sim_req(&n, a, srv, COAP_GET, "x");
    coap_req_set_confirmable(req, 0);
    ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k), COAP_OK);
    sim_run_for(&n, 10);
    sim_dgram_t q = *sim_nth(&n, 0, a, srv, COAP_NON, COAP_GET);
    member_answer(&n, other, a, &q, 0, 1, "spoofed");
    sim_run_for(&n, 100);
    ck_assert_int_eq(k.calls, 0);
    member_answer(&n, srv, a, &q, 0, 1, "real");
    sim_run_for(&n, 100);
    ck_assert_int_eq(k.finals, 1);
    ck_assert_uint_eq(k.body_len, 4);
    sim_free(&n);
}
END_TEST

START_TEST(group_observe_judges_freshness_per_member)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    int m1 = sim_add_raw(&n, NULL, NULL), m2 = sim_add_raw(&n, NULL, NULL);
    group_rec_t g = {0};
    coap_req_t *req = group_req(&n, a, 500);
    coap_req_set_observe(req, 0);
    ck_assert_int_eq(coap_req_send(req, on_group, &g), COAP_OK);
    sim_run_for(&n, 10);
    sim_dgram_t q = *sim_nth(&n, 0, a, SIM_ANY, COAP_NON, COAP_GET);
    member_answer(&n, m1, a, &q, 1, 10, "1");
    sim_run_for(&n, 50);
    ck_assert(g.rec.observing && g.rec.fresh);
    member_answer(&n, m2, a, &q, 1, 3, "2"); /* lower, but another member's */
    sim_run_for(&n, 50);
    ck_assert(g.rec.fresh);
    member_answer(&n, m1, a, &q, 1, 9, "3"); /* older than m1's 10 */
    sim_run_for(&n, 50);
    ck_assert_int_eq(g.rec.fresh, 0);
    sim_run_for(&n, 5000); /* no window's end while observing */
    ck_assert_int_eq(g.rec.finals, 0);
    ck_assert_int_eq(g.rec.calls, 3);
    /* silence past Max-Age (60 s) and the margin: the registration again */
    sim_run_for(&n, 70000);
    ck_assert_uint_eq(sim_count(&n, a, SIM_ANY, COAP_NON, COAP_GET), 2);
    coap_req_observe_stop(req, COAP_OBSERVE_DEREGISTER); /* forgets: no group deregistration */
    ck_assert_int_eq(g.rec.finals, 1);
    ck_assert_int_eq(g.rec.err, COAP_ERR_CANCELLED);
    member_answer(&n, m2, a, &q, 1, 4, "4");
    sim_run_for(&n, 50);
    ck_assert_uint_eq(sim_count(&n, a, m2, COAP_RST, SIM_ANY), 1); /* RFC 7641 §3.6 */
    sim_free(&n);
}
END_TEST

/* Cancelling from inside a member's answer ends the request after it. */
static void cancel_then(sim_rec_t *k, coap_req_t *req, const coap_resp_t *r)
{
    (void)k;
    if (!r->last) coap_req_cancel(req);
}

START_TEST(group_cancel_from_callback)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    int m1 = sim_add_raw(&n, NULL, NULL);
    group_rec_t g = {.rec = {.then = cancel_then}};
    ck_assert_int_eq(coap_req_send(group_req(&n, a, 2000), on_group, &g), COAP_OK);
    sim_run_for(&n, 10);
    sim_dgram_t q = *sim_nth(&n, 0, a, SIM_ANY, COAP_NON, COAP_GET);
    member_answer(&n, m1, a, &q, 0, 1, "x");
    sim_run_for(&n, 50);
    ck_assert_int_eq(g.rec.calls, 2);
    ck_assert_int_eq(g.rec.finals, 1);
    ck_assert_int_eq(g.rec.err, COAP_ERR_CANCELLED);
    sim_free(&n);
}
END_TEST

START_TEST(addr_is_multicast)
{
    coap_addr_t x;
    ck_assert_int_eq(coap_addr_parse(&x, "224.0.1.187:5683", 0), 0);
    ck_assert(coap_addr_is_multicast(&x));
    ck_assert_int_eq(coap_addr_parse(&x, "[ff02::fd]:5683", 0), 0);
    ck_assert(coap_addr_is_multicast(&x));
    ck_assert_int_eq(coap_addr_parse(&x, "[::ffff:239.1.2.3]:5683", 0), 0);
    ck_assert(coap_addr_is_multicast(&x));
    ck_assert_int_eq(coap_addr_parse(&x, "10.0.0.1:5683", 0), 0);
    ck_assert(!coap_addr_is_multicast(&x));
    ck_assert_int_eq(coap_addr_parse(&x, "[fe80::1]:5683", 0), 0);
    ck_assert(!coap_addr_is_multicast(&x));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("client_group");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, group_get_collects_every_member_until_the_window);
    tcase_add_test(tc, unicast_request_ignores_other_sources);
    tcase_add_test(tc, group_observe_judges_freshness_per_member);
    tcase_add_test(tc, group_cancel_from_callback);
    tcase_add_test(tc, addr_is_multicast);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
