/*
 * Unit tests for the Observe server (RFC 7641 §4) against our client and
 * hand-built messages on a simulated network: registration (§4.1),
 * notifications and their sequence numbers (§4.4), the CON/NON policy and
 * one CON in flight (§4.5), and every way an observation ends.
 */
#include "obsnet.h"

#include <check.h>
#include <errno.h>
#include <string.h>

START_TEST(register_and_notify)
{
    ot_t o;
    ot_init(&o, NULL, 30);
    o.res->seq = 0xFFFFF0; /* the 24-bit wrap comes after a few notifications */
    sim_rec_t k = {0};
    ot_register(&o, &k);
    ck_assert_int_eq(o.c.registers, 1);
    ck_assert_ptr_eq(o.c.res, o.res);
    ck_assert(coap_addr_equal(&o.c.peer, sim_addr(&o.t.n, o.t.cli)));
    ck_assert_int_eq(o.h.observe, 0);
    ck_assert_uint_eq(coap_server_observers(o.res), 1);
    coap_msg_t ans = sim_last(&o.t.n)->msg;
    ck_assert_int_eq(ans.type, COAP_ACK);
    ck_assert(has_opt(&ans, COAP_OPT_OBSERVE));
    ck_assert_int_eq(k.calls, 1);
    ck_assert(k.observing && !k.last);
    uint32_t seq = k.seq;
    ck_assert_uint_eq(opt_u(&ans, COAP_OPT_OBSERVE), seq);
    /* §4.4: every notification one more; Max-Age carried (§4.3.1) */
    for (int i = 1; i <= 300; i++) {
        char body[16];
        snprintf(body, sizeof body, "v%d", i);
        ck_assert_int_eq(ot_notify(&o, COAP_CONTENT, body, 30), 1);
        sim_run_idle(&o.t.n);
        ck_assert_int_eq(k.calls, 1 + i);
        ck_assert(k.observing && k.fresh && !k.last);
        ck_assert_uint_eq(k.seq, (seq + (uint32_t)i) & 0xFFFFFF);
        ck_assert_uint_eq(k.body_len, strlen(body));
        ck_assert_mem_eq(k.body, body, k.body_len);
        coap_msg_t m = nth_notif(&o, o.t.cli, (size_t)i - 1)->msg;
        ck_assert_uint_eq(opt_u(&m, COAP_OPT_MAX_AGE), 30);
        ck_assert_uint_eq(opt_u(&m, COAP_OPT_OBSERVE), k.seq);
    }
    ck_assert_uint_lt(k.seq, seq); /* it wrapped on the way */
    /* no Max-Age given: none sent (60 s implied, RFC 7252 §5.10.5) */
    ck_assert_int_eq(ot_notify(&o, COAP_CONTENT, "w", -1), 1);
    sim_run_idle(&o.t.n);
    ck_assert(!has_opt(&nth_notif(&o, o.t.cli, 300)->msg, COAP_OPT_MAX_AGE));
    ck_assert_int_eq(o.c.deregisters, 0);
    st_free(&o.t);
    ck_assert_int_eq(o.c.deregisters, 1);
    ck_assert_int_eq(o.c.reasons[0], COAP_DEREG_SHUTDOWN);
}
END_TEST

START_TEST(register_refused)
{
    ot_t o;
    ot_init(&o, NULL, -1);
    o.c.refuse = 1;
    sim_rec_t k = {0};
    ot_register(&o, &k);
    ck_assert_int_eq(o.c.registers, 1);
    ck_assert_int_eq(o.h.calls, 1);
    ck_assert(!has_opt(&sim_last(&o.t.n)->msg, COAP_OPT_OBSERVE));
    ck_assert(k.last && !k.observing);
    ck_assert_int_eq(k.code, COAP_CONTENT);
    ck_assert_uint_eq(coap_server_observers(o.res), 0);
    size_t before = o.t.n.nlog;
    ck_assert_int_eq(ot_notify(&o, COAP_CONTENT, "x", -1), 0);
    sim_run_idle(&o.t.n);
    ck_assert_uint_eq(o.t.n.nlog, before);
    ck_assert_int_eq(o.c.deregisters, 0);
    /* a resource that is not observable never asks */
    hrec_t p = {.name = "p"};
    coap_server_add(o.t.srv, "/plain", 0, COAP_METHODS_READ, h_rec, &p, NULL);
    coap_req_t *req = st_req(&o.t, COAP_GET, "plain");
    coap_req_set_observe(req, 0);
    memset(&k, 0, sizeof k);
    st_do(&o.t, req, &k);
    ck_assert(k.last && !k.observing);
    ck_assert_int_eq(o.c.registers, 1);
    st_free(&o.t);
    ck_assert_int_eq(o.c.deregisters, 0);
}
END_TEST

/* §4.5: NON by default, a CON at least every con_every-th notification. */
START_TEST(con_every)
{
    coap_server_params_t sp = {.con_every = _i ? 5 : 0};
    unsigned every = _i ? 5 : 20;
    ot_t o;
    ot_init(&o, &sp, -1);
    sim_rec_t k = {0};
    ot_register(&o, &k);
    for (int i = 0; i < 45; i++) {
        ck_assert_int_eq(ot_notify(&o, COAP_CONTENT, "n", -1), 1);
        sim_run_idle(&o.t.n);
    }
    ck_assert_int_eq(k.calls, 46);
    ck_assert_uint_eq(notifs(&o, o.t.cli, SIM_ANY), 45);
    ck_assert_uint_eq(notifs(&o, o.t.cli, COAP_CON), 45 / every);
    ck_assert_uint_eq(notifs(&o, o.t.cli, COAP_NON), 45 - 45 / every);
    for (unsigned i = 1; i <= 45; i++)
        ck_assert_int_eq(nth_notif(&o, o.t.cli, i - 1)->msg.type,
                         i % every == 0 ? COAP_CON : COAP_NON);
    st_free(&o.t);
}
END_TEST

/* §4.5.2: one CON in flight per observer; a newer state takes its place
 * at once (a CON under a new message ID) instead of waiting for its ACK. */
START_TEST(one_con_in_flight)
{
    coap_server_params_t sp = {.con_every = 1};
    ot_t o;
    ot_init(&o, &sp, -1);
    sim_rec_t k = {0};
    ot_register(&o, &k);
    sim_rule(&o.t.n, o.t.cli, o.t.srvn, COAP_ACK, COAP_EMPTY, SIM_DELAY, 0, -1);
    o.t.n.rules[o.t.n.nrules - 1].delay_ms = 1500;
    uint64_t t0 = o.t.n.now;
    static const char *const states[] = {"A", "B", "C", "D"};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(ot_notify(&o, COAP_CONTENT, states[i], -1), 1);
        sim_run_until(&o.t.n, t0 + 100 * (uint64_t)(i + 1));
        ck_assert_uint_eq(notifs(&o, o.t.cli, SIM_ANY), (size_t)i + 1);
        const sim_dgram_t *d = nth_notif(&o, o.t.cli, (size_t)i);
        ck_assert_int_eq(d->msg.type, COAP_CON);
        ck_assert_mem_eq(d->msg.payload, states[i], 1);
        if (i) ck_assert_uint_ne(d->msg.mid, nth_notif(&o, o.t.cli, (size_t)i - 1)->msg.mid);
        ck_assert_int_eq(k.calls, 2 + i);
    }
    sim_run_for(&o.t.n, 10000);
    ck_assert_uint_eq(notifs(&o, o.t.cli, SIM_ANY), 4);
    ck_assert_mem_eq(k.body, "D", 1);
    /* the ACKs of A, B and C came for transmissions no longer there */
    ck_assert_uint_eq(coap_ep_stats(o.t.sep)->retransmissions, 0);
    ck_assert_uint_eq(coap_server_observers(o.res), 1);
    st_free(&o.t);
}
END_TEST

/* §4.5.2: the newer notification inherits the retransmission counter and
 * timeout: it is retransmitted when the old one would have been (at most
 * ACK_TIMEOUT * ACK_RANDOM_FACTOR = 3 s after the first was sent), not a
 * full timeout after itself. */
START_TEST(replacement_inherits_timer)
{
    coap_server_params_t sp = {.con_every = 1};
    ot_t o;
    ot_init(&o, &sp, 3600); /* the client re-registers after the end below */
    sim_rec_t k = {0};
    ot_register(&o, &k);
    sim_rule(&o.t.n, o.t.cli, o.t.srvn, COAP_ACK, SIM_ANY, SIM_DROP, 0, -1);
    uint64_t t0 = o.t.n.now;
    ot_notify(&o, COAP_CONTENT, "A", 3600);
    sim_run_until(&o.t.n, t0 + 1900); /* before A's first retransmission (>= 2 s) */
    ot_notify(&o, COAP_CONTENT, "B", 3600);
    sim_run_until(&o.t.n, t0 + 3001);
    ck_assert_uint_eq(coap_ep_stats(o.t.sep)->retransmissions, 1);
    const sim_dgram_t *d = nth_notif(&o, o.t.cli, 2);
    ck_assert_ptr_nonnull(d);
    ck_assert_mem_eq(d->msg.payload, "B", 1);
    ck_assert_uint_eq(d->msg.mid, nth_notif(&o, o.t.cli, 1)->msg.mid);
    /* and its counter: 4 retransmissions in all, then the observer is gone */
    sim_run_for(&o.t.n, 100000);
    ck_assert_uint_eq(coap_ep_stats(o.t.sep)->retransmissions, 4);
    ck_assert_int_eq(o.c.reasons[0], COAP_DEREG_TIMEOUT);
    ck_assert_uint_eq(coap_server_observers(o.res), 0);
    st_free(&o.t);
}
END_TEST

/* §3.6: GET with Observe 1 and the observation's token. */
START_TEST(dereg_explicit)
{
    ot_t o;
    ot_init(&o, NULL, -1);
    sim_rec_t k = {0};
    coap_req_t *req = ot_register(&o, &k);
    ot_notify(&o, COAP_CONTENT, "n", -1);
    sim_run_idle(&o.t.n);
    coap_req_observe_stop(req, COAP_OBSERVE_DEREGISTER);
    sim_run_idle(&o.t.n);
    ck_assert_int_eq(o.h.observe, 1);
    ck_assert_int_eq(o.c.deregisters, 1);
    ck_assert_int_eq(o.c.reasons[0], COAP_DEREG_EXPLICIT);
    ck_assert_uint_eq(coap_server_observers(o.res), 0);
    ck_assert(k.last && !k.observing);
    ck_assert_int_eq(k.err, COAP_OK);
    ck_assert_int_eq(k.code, COAP_CONTENT);
    ck_assert_int_eq(ot_notify(&o, COAP_CONTENT, "x", -1), 0);
    st_free(&o.t);
    ck_assert_int_eq(o.c.deregisters, 1);
}
END_TEST

/* §3.6: the client forgot the observation and rejects the next
 * notification (a NON, _i == 0, or a CON) with RST. */
START_TEST(dereg_rst)
{
    coap_server_params_t sp = {.con_every = _i ? 1 : 0};
    ot_t o;
    ot_init(&o, &sp, -1);
    sim_rec_t k = {0};
    coap_req_t *req = ot_register(&o, &k);
    coap_req_observe_stop(req, COAP_OBSERVE_FORGET);
    ck_assert(k.last);
    ck_assert_int_eq(k.err, COAP_ERR_CANCELLED);
    ck_assert_int_eq(ot_notify(&o, COAP_CONTENT, "n", -1), 1);
    sim_run_idle(&o.t.n);
    ck_assert_int_eq(sim_last(&o.t.n)->msg.type, COAP_RST);
    ck_assert_int_eq(sim_last(&o.t.n)->from, o.t.cli);
    ck_assert_int_eq(o.c.deregisters, 1);
    ck_assert_int_eq(o.c.reasons[0], COAP_DEREG_RST);
    ck_assert_uint_eq(coap_server_observers(o.res), 0);
    ck_assert_int_eq(ot_notify(&o, COAP_CONTENT, "x", -1), 0);
    st_free(&o.t);
    ck_assert_int_eq(o.c.deregisters, 1);
}
END_TEST

/* §4.5.2: a CON notification never acknowledged: the client is gone. */
START_TEST(dereg_timeout)
{
    coap_server_params_t sp = {.con_every = _i ? 1 : 0};
    ot_t o;
    ot_init(&o, &sp, 3600);
    sim_rec_t k = {0};
    coap_req_t *req = ot_register(&o, &k);
    sim_rule(&o.t.n, SIM_ANY, o.t.cli, SIM_ANY, SIM_ANY, SIM_DROP, 0, -1);
    /* NON until the 20th; then one CON in flight, which each newer one
     * replaces at once (§4.5.2), with its retransmission counter */
    int n = _i ? 3 : 25;
    for (int i = 0; i < n; i++) {
        ot_notify(&o, COAP_CONTENT, "n", 3600);
        sim_run_for(&o.t.n, 50);
    }
    sim_run_for(&o.t.n, 100000);
    size_t first = _i ? 1 : 20;
    ck_assert_uint_eq(notifs(&o, o.t.cli, SIM_ANY), (size_t)n + 4); /* 4 retransmissions */
    ck_assert_uint_eq(notifs(&o, o.t.cli, COAP_CON), (size_t)n - first + 1 + 4);
    ck_assert_int_eq(o.c.deregisters, 1);
    ck_assert_int_eq(o.c.reasons[0], COAP_DEREG_TIMEOUT);
    ck_assert_uint_eq(coap_server_observers(o.res), 0);
    coap_req_cancel(req);
    st_free(&o.t);
    ck_assert_int_eq(o.c.deregisters, 1);
}
END_TEST

/* §4.2: an error notification ends every observation of the resource; it
 * goes out reliably (a CON, retransmitted) since it is the last word. */
START_TEST(dereg_error)
{
    ot_t o;
    ot_init(&o, NULL, -1);
    sim_rec_t k1 = {0}, k2 = {0};
    ot_register(&o, &k1);
    ot_register(&o, &k2);
    ck_assert_uint_eq(coap_server_observers(o.res), 2);
    sim_rule(&o.t.n, o.t.srvn, o.t.cli, SIM_ANY, COAP_NOT_FOUND, SIM_DROP, 0, 1);
    ck_assert_int_eq(ot_notify(&o, COAP_NOT_FOUND, "gone", -1), 2);
    ck_assert_int_eq(o.c.deregisters, 2);
    ck_assert_int_eq(o.c.reasons[0], COAP_DEREG_ERROR);
    ck_assert_int_eq(o.c.reasons[1], COAP_DEREG_ERROR);
    ck_assert_uint_eq(coap_server_observers(o.res), 0);
    sim_run_for(&o.t.n, 20000);
    sim_rec_t *ks[] = {&k1, &k2};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(ks[i]->calls, 2);
        ck_assert(ks[i]->last && !ks[i]->observing);
        ck_assert_int_eq(ks[i]->err, COAP_OK);
        ck_assert_int_eq(ks[i]->code, COAP_NOT_FOUND);
        ck_assert_mem_eq(ks[i]->body, "gone", 4);
    }
    const sim_dgram_t *d = sim_nth(&o.t.n, 0, o.t.srvn, o.t.cli, SIM_ANY, COAP_NOT_FOUND);
    ck_assert_int_eq(d->msg.type, COAP_CON);
    ck_assert(!has_opt(&d->msg, COAP_OPT_OBSERVE));
    ck_assert_uint_eq(sim_count(&o.t.n, o.t.srvn, o.t.cli, COAP_CON, COAP_NOT_FOUND), 3);
    ck_assert_int_eq(ot_notify(&o, COAP_CONTENT, "x", -1), 0);
    st_free(&o.t);
    ck_assert_int_eq(o.c.deregisters, 2);
}
END_TEST

/* Raw registrations: GET Observe 0 (value `ov`) with token `tok`. */
static coap_msg_t raw_observe(ot_t *o, uint16_t mid, uint8_t tok, uint32_t ov)
{
    coap_msg_t m;
    raw_init(&m, COAP_CON, COAP_GET, mid, tok);
    coap_msg_add_uint(&m, COAP_OPT_OBSERVE, ov);
    raw_path(&m, "temp");
    return raw_ask(&o->t, &m);
}

/* §4.1: the same endpoint and token replace the entry; the answer to a
 * re-registration has a newer sequence number than anything before it
 * (§4.4); another token is another observation. */
START_TEST(reregister_same_token)
{
    ot_t o;
    ot_init(&o, NULL, -1);
    coap_msg_t a = raw_observe(&o, 1, 7, 0);
    ck_assert(has_opt(&a, COAP_OPT_OBSERVE));
    uint32_t v1 = opt_u(&a, COAP_OPT_OBSERVE);
    ck_assert_uint_eq(coap_server_observers(o.res), 1);
    ot_notify(&o, COAP_CONTENT, "n", -1);
    sim_run_idle(&o.t.n);
    uint32_t v2 = opt_u(&nth_notif(&o, o.t.raw, 0)->msg, COAP_OPT_OBSERVE);
    ck_assert_uint_eq(v2, v1 + 1);
    coap_msg_t b = raw_observe(&o, 2, 7, 0);
    ck_assert(has_opt(&b, COAP_OPT_OBSERVE));
    ck_assert_uint_gt(opt_u(&b, COAP_OPT_OBSERVE), v2);
    ck_assert_uint_eq(coap_server_observers(o.res), 1);
    ck_assert_int_eq(o.c.registers, 1);
    ck_assert_int_eq(o.h.calls, 2);
    raw_observe(&o, 3, 8, 0);
    ck_assert_uint_eq(coap_server_observers(o.res), 2);
    ck_assert_int_eq(ot_notify(&o, COAP_CONTENT, "m", -1), 2);
    /* Observe 1 from the other token removes that one only */
    coap_msg_t c = raw_observe(&o, 4, 8, 1);
    ck_assert(!has_opt(&c, COAP_OPT_OBSERVE));
    ck_assert_uint_eq(coap_server_observers(o.res), 1);
    ck_assert_int_eq(o.c.reasons[0], COAP_DEREG_EXPLICIT);
    /* a re-registration answered with an error ends the observation (§4.2) */
    o.h.resp.code = COAP_NOT_FOUND;
    coap_msg_t d = raw_observe(&o, 5, 7, 0);
    ck_assert_int_eq(d.code, COAP_NOT_FOUND);
    ck_assert(!has_opt(&d, COAP_OPT_OBSERVE));
    ck_assert_uint_eq(coap_server_observers(o.res), 0);
    ck_assert_int_eq(o.c.deregisters, 2);
    ck_assert_int_eq(o.c.reasons[1], COAP_DEREG_ERROR);
    st_free(&o.t);
}
END_TEST

/* Our client re-registers after Max-Age (RFC 7641 §3.3.1): still one
 * observer, and the register callback ran once. */
START_TEST(client_reregistration)
{
    ot_t o;
    ot_init(&o, NULL, 2);
    coap_req_t *req = st_req(&o.t, COAP_GET, "temp");
    coap_req_set_observe(req, 500);
    sim_rec_t k = {0};
    st_do(&o.t, req, &k);
    sim_run_for(&o.t.n, 2600);
    ck_assert_int_eq(o.h.calls, 2);
    ck_assert_int_eq(k.calls, 2);
    ck_assert(k.observing && k.fresh);
    ck_assert_uint_eq(coap_server_observers(o.res), 1);
    ck_assert_int_eq(o.c.registers, 1);
    ck_assert_int_eq(ot_notify(&o, COAP_CONTENT, "n", 2), 1);
    sim_run_idle(&o.t.n);
    ck_assert_int_eq(k.calls, 3);
    ck_assert(k.fresh);
    coap_req_cancel(req);
    st_free(&o.t);
}
END_TEST

START_TEST(remove_and_free_shut_down)
{
    ot_t o;
    ot_init(&o, NULL, -1);
    hrec_t hb = {.name = "b"};
    coap_server_resource_t *rb =
        coap_server_add(o.t.srv, "/b", COAP_RES_OBSERVABLE, COAP_METHODS_READ, h_rec, &hb, NULL);
    sim_rec_t k1 = {0}, k2 = {0};
    ot_register(&o, &k1);
    coap_req_t *req = st_req(&o.t, COAP_GET, "b");
    coap_req_set_observe(req, 0);
    st_do(&o.t, req, &k2);
    ck_assert(k2.observing);
    coap_server_remove(o.t.srv, o.res);
    ck_assert_int_eq(o.c.deregisters, 1);
    ck_assert_int_eq(o.c.reasons[0], COAP_DEREG_SHUTDOWN);
    ck_assert_uint_eq(coap_server_observers(rb), 1);
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    ck_assert_int_eq(coap_server_notify(o.t.srv, rb, &r), 1);
    sim_run_idle(&o.t.n);
    ck_assert_int_eq(k2.calls, 2);
    sim_rec_t k3;
    st_get(&o.t, "temp", &k3);
    ck_assert_int_eq(k3.code, COAP_NOT_FOUND);
    coap_server_free(o.t.srv);
    o.t.srv = NULL;
    ck_assert_int_eq(o.c.deregisters, 2);
    ck_assert_int_eq(o.c.reasons[1], COAP_DEREG_SHUTDOWN);
    st_free(&o.t);
}
END_TEST

START_TEST(max_observers)
{
    coap_server_params_t sp = {.max_observers = 2};
    ot_t o;
    ot_init(&o, &sp, -1);
    sim_rec_t k[4] = {{0}};
    coap_req_t *first = ot_register(&o, &k[0]);
    ot_register(&o, &k[1]);
    ot_register(&o, &k[2]);
    ck_assert(k[0].observing && k[1].observing);
    ck_assert(k[2].last && !k[2].observing);
    ck_assert_int_eq(k[2].code, COAP_CONTENT);
    ck_assert_uint_eq(coap_server_observers(o.res), 2);
    /* a refusal for lack of room is not the application's to hear of */
    ck_assert_int_eq(o.c.registers, 2);
    coap_req_observe_stop(first, COAP_OBSERVE_DEREGISTER);
    sim_run_idle(&o.t.n);
    ot_register(&o, &k[3]);
    ck_assert(k[3].observing);
    ck_assert_uint_eq(coap_server_observers(o.res), 2);
    ck_assert_int_eq(o.c.registers, 3);
    st_free(&o.t);
}
END_TEST

/* One host (any port) holds at most max_observers_per_host of them. */
START_TEST(max_observers_per_host)
{
    coap_server_params_t sp = {.max_observers_per_host = 2};
    ot_t o;
    ot_init(&o, &sp, -1);
    sim_rec_t k[3] = {{0}};
    for (int i = 0; i < 3; i++) ot_register(&o, &k[i]);
    ck_assert(k[0].observing && k[1].observing);
    ck_assert(k[2].last && !k[2].observing); /* answered, not observing */
    ck_assert_int_eq(k[2].code, COAP_CONTENT);
    ck_assert_uint_eq(coap_server_observers(o.res), 2);
    st_free(&o.t);
}
END_TEST

/* A notification that cannot even be sent (no route): the observer does
 * not stay stuck with a CON "in flight" forever. */
int main(void)
{
    Suite *s = suite_create("server_observe");
    TCase *tc = tcase_create("observe");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, register_and_notify);
    tcase_add_test(tc, register_refused);
    tcase_add_loop_test(tc, con_every, 0, 2);
    tcase_add_test(tc, one_con_in_flight);
    tcase_add_test(tc, replacement_inherits_timer);
    tcase_add_test(tc, dereg_explicit);
    tcase_add_loop_test(tc, dereg_rst, 0, 2);
    tcase_add_loop_test(tc, dereg_timeout, 0, 2);
    tcase_add_test(tc, dereg_error);
    tcase_add_test(tc, reregister_same_token);
    tcase_add_test(tc, client_reregistration);
    tcase_add_test(tc, remove_and_free_shut_down);
    tcase_add_test(tc, max_observers);
    tcase_add_test(tc, max_observers_per_host);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
