/*
 * Unit tests for the Observe client (RFC 7641) on a simulated network:
 * notifications and their freshness (§3.4), deregistration and forgetting
 * (§3.6), the end of an observation (§3.2). Re-registration (§3.3.1) is in
 * test_observe_rereg.c.
 */
#include "coap_block.h"
#include "obsfx.h"

static const char big[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789ABCDEF"
                          "the end.";

START_TEST(notifications_fresh)
{
    simnet_t n;
    obs_t o = {0};
    sim_rec_t k = {0};
    setup(&n, &o, &k, 5, 0);
    ck_assert_int_eq(o.registrations, 1);
    const coap_msg_t *reg = &sim_nth(&n, 0, 0, o.srv.node, COAP_CON, COAP_GET)->msg;
    uint32_t v = 99;
    ck_assert_int_eq(coap_msg_get_uint(reg, COAP_OPT_OBSERVE, &v), 0);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(k.calls, 1);
    ck_assert(k.observing && k.fresh && !k.last);
    ck_assert_uint_eq(k.seq, 5);
    ck_assert_mem_eq(k.body, "state", 5);
    obs_notify(&n, &o, COAP_CON, COAP_CONTENT, 6, 0);
    ck_assert_int_eq(k.calls, 2);
    ck_assert(k.observing && k.fresh && !k.last);
    ck_assert_uint_eq(k.seq, 6);
    ck_assert_mem_eq(k.body, "new", 3);
    ck_assert_int_eq(sim_last(&n)->msg.type, COAP_ACK); /* the CON notification is ACKed */
    obs_notify(&n, &o, COAP_NON, COAP_CONTENT, 7, 0);
    ck_assert_int_eq(k.calls, 3);
    ck_assert(k.fresh);
    obs_notify(&n, &o, COAP_NON, COAP_CONTENT, 4, 0); /* reordered: older */
    ck_assert_int_eq(k.calls, 4);
    ck_assert(k.observing && !k.fresh && !k.last);
    ck_assert_uint_eq(k.seq, 4);
    obs_notify(&n, &o, COAP_NON, COAP_CONTENT, 8, 0);
    ck_assert(k.fresh);
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&n, 0))->rst_tx, 0);
    sim_free(&n);
}
END_TEST

/* The client's ACK of a CON notification is lost: the retransmission gets
 * the same ACK and no second callback (§4.5). */
START_TEST(notification_ack_lost)
{
    simnet_t n;
    obs_t o = {0};
    sim_rec_t k = {0};
    setup(&n, &o, &k, 5, 0);
    sim_rule(&n, 0, o.srv.node, COAP_ACK, SIM_ANY, SIM_DROP, 0, 1);
    obs_notify(&n, &o, COAP_CON, COAP_CONTENT, 6, 0);
    sim_run_for(&n, 10000);
    ck_assert_int_eq(k.calls, 2);
    ck_assert_uint_eq(sim_count(&n, o.srv.node, 0, COAP_CON, COAP_CONTENT), 2);
    ck_assert_uint_eq(sim_count(&n, 0, o.srv.node, COAP_ACK, 0), 2);
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&n, 0))->duplicates, 1);
    ck_assert_uint_eq(coap_ep_stats(o.srv.ep)->timeouts, 0);
    sim_free(&n);
}
END_TEST

START_TEST(sequence_wraps)
{
    simnet_t n;
    obs_t o = {0};
    sim_rec_t k = {0};
    setup(&n, &o, &k, 0xFFFFFE, 0);
    obs_notify(&n, &o, COAP_NON, COAP_CONTENT, 0xFFFFFF, 0);
    ck_assert(k.fresh);
    obs_notify(&n, &o, COAP_NON, COAP_CONTENT, 0, 0); /* 24-bit wrap */
    ck_assert(k.fresh);
    ck_assert_uint_eq(k.seq, 0);
    obs_notify(&n, &o, COAP_NON, COAP_CONTENT, 0xFFFFFF, 0);
    ck_assert(!k.fresh);
    ck_assert_int_eq(k.calls, 4);
    sim_free(&n);
}
END_TEST

/* §3.4: after 128 s any notification is newer. */
START_TEST(rule_128_seconds)
{
    simnet_t n;
    obs_t o = {.max_age = 1000}; /* no re-registration in between */
    sim_rec_t k = {0};
    setup(&n, &o, &k, 100, 0);
    uint64_t t1 = k.t;
    sim_run_until(&n, t1 + 10000);
    obs_notify(&n, &o, COAP_NON, COAP_CONTENT, 99, 1000);
    ck_assert(!k.fresh);
    sim_run_until(&n, t1 + 128000 - n.latency_ms);
    obs_notify(&n, &o, COAP_NON, COAP_CONTENT, 98, 1000); /* arrives at exactly t1 + 128 s */
    ck_assert(!k.fresh);
    sim_run_until(&n, t1 + 129000);
    obs_notify(&n, &o, COAP_NON, COAP_CONTENT, 97, 1000);
    ck_assert(k.fresh);
    ck_assert_uint_eq(k.seq, 97);
    obs_notify(&n, &o, COAP_NON, COAP_CONTENT, 98, 1000); /* now compared with 97 */
    ck_assert(k.fresh);
    ck_assert_int_eq(o.registrations, 1);
    sim_free(&n);
}
END_TEST

START_TEST(is_fresh_cases)
{
    const uint32_t h = 1u << 23;
    ck_assert(coap_observe_is_fresh(1, 0, 2, 0));
    ck_assert(!coap_observe_is_fresh(2, 0, 1, 0));
    ck_assert(!coap_observe_is_fresh(5, 0, 5, 0));
    ck_assert(coap_observe_is_fresh(0xFFFFFF, 0, 0, 0));
    ck_assert(!coap_observe_is_fresh(0, 0, 0xFFFFFF, 0));
    ck_assert(coap_observe_is_fresh(0, 0, h - 1, 0));
    ck_assert(!coap_observe_is_fresh(0, 0, h, 0));
    ck_assert(coap_observe_is_fresh(h + 1, 0, 0, 0));
    ck_assert(!coap_observe_is_fresh(h, 0, 0, 0));
    ck_assert(!coap_observe_is_fresh(10, 1000, 5, 129000)); /* T2 = T1 + 128 s: not yet */
    ck_assert(coap_observe_is_fresh(10, 1000, 5, 129001));
    ck_assert(coap_observe_is_fresh(0x1000001, 0, 2, 0)); /* only 24 bits count */
    ck_assert(!coap_observe_is_fresh(3, 0, 0x2000002, 0));
}
END_TEST

static void stop_dereg(sim_rec_t *k, coap_req_t *req, const coap_resp_t *r)
{
    (void)k;
    if (!r->last && r->seq == 6) coap_req_observe_stop(req, COAP_OBSERVE_DEREGISTER);
}

/* §3.6: a GET with Observe 1 and the same token; its answer is the final
 * call. Called outside (_i == 0) or inside (_i == 1) the callback. */
START_TEST(deregister)
{
    simnet_t n;
    obs_t o = {.hold_dereg = 1};
    sim_rec_t k = {.then = _i ? stop_dereg : NULL};
    coap_req_t *req = setup(&n, &o, &k, 5, 0);
    obs_notify(&n, &o, COAP_CON, COAP_CONTENT, 6, 0);
    if (!_i) coap_req_observe_stop(req, COAP_OBSERVE_DEREGISTER);
    sim_run_idle(&n);
    ck_assert_int_eq(o.deregistrations, 1);
    const coap_msg_t *dereg = &sim_nth(&n, 1, 0, o.srv.node, COAP_CON, COAP_GET)->msg;
    uint32_t v = 0;
    ck_assert_int_eq(coap_msg_get_uint(dereg, COAP_OPT_OBSERVE, &v), 0);
    ck_assert_uint_eq(v, 1);
    ck_assert_uint_eq(dereg->token_len, o.tkl);
    ck_assert_mem_eq(dereg->token, o.tok, o.tkl);
    ck_assert_ptr_nonnull(coap_msg_find_opt(dereg, COAP_OPT_URI_PATH));
    /* A notification that crosses the deregistration is ACKed, not delivered. */
    obs_notify(&n, &o, COAP_CON, COAP_CONTENT, 7, 0);
    ck_assert_int_eq(k.calls, 2);
    ck_assert_int_eq(sim_last(&n)->msg.type, COAP_ACK);
    coap_msg_t r;
    sim_resp(&r, COAP_CONTENT, "bye", 3);
    ck_assert_int_eq(coap_ep_respond(o.srv.ep, o.srv.held, &r, NULL, NULL), COAP_OK);
    sim_run_idle(&n);
    ck_assert_int_eq(k.calls, 3);
    ck_assert(k.last && !k.observing);
    ck_assert_int_eq(k.err, COAP_OK);
    ck_assert_int_eq(k.code, COAP_CONTENT);
    ck_assert_mem_eq(k.body, "bye", 3);
    sim_free(&n);
}
END_TEST

static void forget(sim_rec_t *k, coap_req_t *req, const coap_resp_t *r)
{
    (void)k;
    if (!r->last && r->seq == 6) coap_req_observe_stop(req, COAP_OBSERVE_FORGET);
}

START_TEST(forget_in_callback)
{
    simnet_t n;
    obs_t o = {0};
    sim_rec_t k = {.then = forget};
    setup(&n, &o, &k, 5, 0);
    obs_notify(&n, &o, COAP_CON, COAP_CONTENT, 6, 0);
    ck_assert_int_eq(k.calls, 3); /* registration, notification, then the final call */
    ck_assert(k.last);
    ck_assert_int_eq(k.err, COAP_ERR_CANCELLED);
    ck_assert_int_eq(sim_last(&n)->msg.type, COAP_ACK); /* that one was accepted */
    ck_assert_uint_eq(sim_count(&n, 0, o.srv.node, COAP_CON, COAP_GET), 1); /* no deregistration */
    obs_notify(&n, &o, COAP_CON, COAP_CONTENT, 7, 0); /* RFC 7641 §3.6: RST */
    const sim_dgram_t *rst = sim_last(&n);
    ck_assert_int_eq(rst->from, 0);
    ck_assert_int_eq(rst->msg.type, COAP_RST);
    ck_assert_uint_eq(rst->msg.mid, sim_nth(&n, 1, o.srv.node, 0, COAP_CON, COAP_CONTENT)->msg.mid);
    obs_notify(&n, &o, COAP_NON, COAP_CONTENT, 8, 0);
    ck_assert_int_eq(sim_last(&n)->msg.type, COAP_RST);
    ck_assert_int_eq(k.calls, 3);
    sim_free(&n);
}
END_TEST

/* RFC 7252 §4.5: a server that restarted counts from a new message ID
 * and, after a re-registration with the same token, notifies under that
 * token again: a new notification whose ID an old one used is new (its
 * bytes differ), while a true copy is a duplicate. */
START_TEST(reused_message_id_is_new)
{
    simnet_t n;
    obs_t o = {0};
    sim_rec_t k = {0};
    setup(&n, &o, &k, 5, 0);
    uint8_t raw[64];
    coap_msg_t m;
    for (uint32_t seq = 6; seq <= 7; seq++) {
        coap_msg_init(&m, COAP_NON, COAP_CONTENT, 0x4242);
        coap_msg_set_token(&m, o.tok, o.tkl);
        coap_msg_add_uint(&m, COAP_OPT_OBSERVE, seq);
        int len = coap_msg_serialize(&m, raw, sizeof raw);
        for (int copy = 0; copy < 2; copy++) {
            sim_transmit(&n, sim_addr(&n, o.srv.node), &o.client, raw, (size_t)len);
            sim_run_idle(&n);
        }
        ck_assert_uint_eq(k.seq, seq);
        ck_assert(k.fresh);
    }
    ck_assert_int_eq(k.calls, 3);
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&n, 0))->duplicates, 2);
    sim_free(&n);
}
END_TEST

/* §3.2: a response without Observe, or an error, ends the observation. */
START_TEST(observation_ends)
{
    simnet_t n;
    obs_t o = {0};
    sim_rec_t k = {0};
    setup(&n, &o, &k, 5, 0);
    obs_notify(&n, &o, COAP_CON, COAP_CONTENT, -1, 0);
    ck_assert_int_eq(k.calls, 2);
    ck_assert(k.last && !k.observing);
    ck_assert_int_eq(k.err, COAP_OK);
    obs_notify(&n, &o, COAP_CON, COAP_CONTENT, 9, 0); /* too late: RST */
    ck_assert_int_eq(sim_last(&n)->msg.type, COAP_RST);
    sim_free(&n);

    obs_t o2 = {0};
    sim_rec_t k2 = {0};
    setup(&n, &o2, &k2, 5, 0);
    obs_notify(&n, &o2, COAP_CON, COAP_NOT_FOUND, -1, 0);
    ck_assert_int_eq(k2.calls, 2);
    ck_assert(k2.last);
    ck_assert_int_eq(k2.code, COAP_NOT_FOUND);
    sim_free(&n);

    obs_t o3 = {.plain = 1}; /* a server that does not do Observe */
    sim_rec_t k3 = {0};
    setup(&n, &o3, &k3, 5, 0);
    ck_assert_int_eq(k3.calls, 1);
    ck_assert(k3.last && !k3.observing);
    ck_assert_int_eq(k3.code, COAP_CONTENT);
    sim_free(&n);
}
END_TEST

/* RFC 7959 §3.4: the registration's answer comes in blocks; Observe is on
 * the first one only, and the observation still holds. */
static void obs_block_fn(sim_srv_t *s, coap_ep_req_t *req, const coap_msg_t *m)
{
    obs_t *o = s->arg;
    coap_block_info_t b = {0, 0, 4};
    coap_block_get(m, COAP_OPT_BLOCK2, &b);
    size_t off = coap_block_offset(&b), len = sizeof big - 1, bs = coap_block_size(4);
    coap_msg_t r;
    sim_resp(&r, COAP_CONTENT, big + off, len - off > bs ? bs : len - off);
    if (coap_msg_find_opt(m, COAP_OPT_OBSERVE)) {
        o->registrations++;
        memcpy(o->tok, m->token, m->token_len);
        o->tkl = m->token_len;
        o->client = *coap_ep_req_peer(req);
        coap_msg_add_uint(&r, COAP_OPT_OBSERVE, o->seq++);
    }
    coap_block_add(&r, COAP_OPT_BLOCK2, b.num, off + bs < len, 4);
    ck_assert_int_eq(coap_ep_respond(s->ep, req, &r, NULL, NULL), COAP_OK);
}

START_TEST(registration_in_blocks)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    obs_t o = {.seq = 40};
    sim_srv_init(&o.srv, &n, NULL, obs_block_fn, &o);
    coap_req_t *req = sim_req(&n, a, o.srv.node, COAP_GET, "temp");
    coap_req_set_observe(req, 0);
    sim_rec_t k = {0};
    ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k), COAP_OK);
    sim_run_idle(&n);
    ck_assert_int_eq(o.registrations, 1);
    ck_assert_uint_eq(sim_count(&n, a, o.srv.node, COAP_CON, COAP_GET), 2);
    ck_assert_int_eq(k.calls, 1);
    ck_assert(k.observing && k.fresh && !k.last);
    ck_assert_uint_eq(k.seq, 40);
    ck_assert_uint_eq(k.body_len, sizeof big - 1);
    ck_assert_mem_eq(k.body, big, sizeof big - 1);
    obs_notify(&n, &o, COAP_NON, COAP_CONTENT, 41, 0);
    ck_assert_int_eq(k.calls, 2);
    ck_assert(k.observing && k.fresh && !k.last);
    sim_free(&n);
}
END_TEST

/* Loss, duplication and reordering around a long observation with
 * re-registrations, then a deregistration (even iterations) or FORGET (odd
 * ones): one final call, nothing after it, nothing left behind. */
START_TEST(lossy_observation)
{
    simnet_t n;
    obs_t o = {.max_age = 5};
    sim_rec_t k = {0};
    coap_req_t *req = setup(&n, &o, &k, 1, 1000);
    n.loss_pct = 20;
    n.dup_pct = 10;
    n.jitter_ms = 300;
    n.rng = 0xBADC0DEu + (uint32_t)_i * 7919u;
    uint32_t seq = 1000;
    for (int t = 0; t < 150; t++) {
        sim_run_for(&n, 2000);
        if (t == 50 && !k.finals)
            coap_req_observe_stop(req, _i & 1 ? COAP_OBSERVE_FORGET : COAP_OBSERVE_DEREGISTER);
        if (o.deregistrations || !o.tkl) continue; /* the server forgot the client */
        coap_msg_t m;
        coap_msg_init(&m, t & 1 ? COAP_NON : COAP_CON, COAP_CONTENT, 0);
        coap_msg_set_token(&m, o.tok, o.tkl);
        coap_msg_add_uint(&m, COAP_OPT_OBSERVE, seq++);
        coap_msg_add_uint(&m, COAP_OPT_MAX_AGE, 5);
        ck_assert_int_eq(coap_ep_send(o.srv.ep, &o.client, &m, NULL, NULL, NULL), COAP_OK);
    }
    sim_run_for(&n, 600000);
    ck_assert_int_eq(k.finals, 1);
    ck_assert_int_ge(k.calls, 10);
    ck_assert(k.err == COAP_OK || k.err == COAP_ERR_CANCELLED || k.err == COAP_ERR_TIMEOUT);
    ck_assert_uint_eq(coap_ep_next_deadline(sim_ep(&n, 0)), BASE_NEVER);
    sim_free(&n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("observe");
    TCase *tc = tcase_create("observe");
    tcase_add_test(tc, notifications_fresh);
    tcase_add_test(tc, notification_ack_lost);
    tcase_add_test(tc, sequence_wraps);
    tcase_add_test(tc, rule_128_seconds);
    tcase_add_test(tc, is_fresh_cases);
    tcase_add_loop_test(tc, deregister, 0, 2);
    tcase_add_test(tc, forget_in_callback);
    tcase_add_test(tc, reused_message_id_is_new);
    tcase_add_test(tc, observation_ends);
    tcase_add_test(tc, registration_in_blocks);
    tcase_add_loop_test(tc, lossy_observation, 0, 8);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
