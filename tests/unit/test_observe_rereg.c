/*
 * Unit tests for the Observe client (RFC 7641) on a simulated network:
 * re-registration (§3.3.1) and the freshness of what comes around it
 * (§3.4): a server that restarted, stale or late copies while the
 * re-registration waits, a re-registration whose answers are all lost.
 */
#include "obsfx.h"

/* §3.3.1: Max-Age plus the margin in silence: a new GET Observe 0 with the
 * same token. A notification restarts the wait. */
START_TEST(reregister_after_max_age)
{
    simnet_t n;
    obs_t o = {.max_age = 10};
    sim_rec_t k = {0};
    setup(&n, &o, &k, 5, 1000);
    uint64_t t1 = k.t;
    sim_run_until(&n, t1 + 5000);
    obs_notify(&n, &o, COAP_NON, COAP_CONTENT, 6, 10);
    uint64_t t2 = k.t;
    sim_run_until(&n, t2 + 11000 - 1);
    ck_assert_int_eq(o.registrations, 1);
    sim_run_until(&n, t2 + 11000 + 100);
    ck_assert_int_eq(o.registrations, 2);
    const sim_dgram_t *re = sim_nth(&n, 1, 0, o.srv.node, COAP_CON, COAP_GET);
    ck_assert_uint_eq(re->t, t2 + 11000);
    uint32_t v = 99;
    ck_assert_int_eq(coap_msg_get_uint(&re->msg, COAP_OPT_OBSERVE, &v), 0);
    ck_assert_uint_eq(v, 0);
    ck_assert_mem_eq(re->msg.token, sim_nth(&n, 0, 0, o.srv.node, COAP_CON, COAP_GET)->msg.token,
                     re->msg.token_len);
    ck_assert_int_eq(k.calls, 3);
    ck_assert(k.observing && k.fresh && !k.last);
    ck_assert_uint_eq(k.seq, 6); /* fresh: a re-registration starts the comparison over */
    sim_free(&n);
}
END_TEST

/* §3.3.1, §3.4: a server that restarted has lost the observation and
 * counts from anew: the answer to the re-registration starts the
 * comparison over, so its low numbers are fresh, and the ones after. */
START_TEST(reregister_after_server_restart)
{
    simnet_t n;
    obs_t o = {.max_age = 10};
    sim_rec_t k = {0};
    setup(&n, &o, &k, 500, 1000);
    obs_notify(&n, &o, COAP_NON, COAP_CONTENT, 501, 10);
    o.seq = 3; /* the restart */
    sim_run_for(&n, 11000 + 100);
    ck_assert_int_eq(o.registrations, 2);
    ck_assert_int_eq(k.calls, 3);
    ck_assert(k.observing && k.fresh);
    ck_assert_uint_eq(k.seq, 3);
    obs_notify(&n, &o, COAP_NON, COAP_CONTENT, 4, 10);
    ck_assert_int_eq(k.calls, 4);
    ck_assert(k.fresh);
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&n, 0))->reregistrations, 1);
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&n, 0))->stale, 0);
    sim_free(&n);
}
END_TEST

/* §3.4: while the re-registration waits for its ACK, an old notification
 * delayed on the way is stale (counted, never delivered as newer), and
 * does not end the re-registration, whose own answer comes later, judged
 * by the same numbering. */
START_TEST(stale_while_reregistering)
{
    simnet_t n;
    obs_t o = {.max_age = 10};
    sim_rec_t k = {0};
    setup(&n, &o, &k, 100, 1000);
    obs_notify(&n, &o, COAP_NON, COAP_CONTENT, 102, 10);
    /* the first answer to the re-registration is lost */
    sim_rule(&n, o.srv.node, 0, COAP_ACK, SIM_ANY, SIM_DROP, 0, 1);
    sim_run_for(&n, 11000 + 100);
    ck_assert_int_eq(o.registrations, 2);
    ck_assert_int_eq(k.calls, 2);
    obs_notify(&n, &o, COAP_NON, COAP_CONTENT, 101, 10); /* reordered: older than 102 */
    ck_assert_int_eq(k.calls, 3);
    ck_assert(k.observing && !k.fresh);
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&n, 0))->stale, 1);
    /* the re-registration is retransmitted and answered with the server's
     * copy of its first answer (RFC 7252 §4.5). Only a stale notification
     * came meanwhile, which a restarted device's first one overtaking the
     * answer would be too (restart_notification_overtakes_answer): the
     * answer restarts the numbering, and the observation goes on */
    sim_run_for(&n, 5000);
    ck_assert_uint_eq(sim_count(&n, 0, o.srv.node, COAP_CON, COAP_GET), 3);
    ck_assert_int_eq(k.calls, 4);
    ck_assert(k.observing && k.fresh && !k.last);
    ck_assert_uint_eq(k.seq, o.seq - 1);
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&n, 0))->stale, 1);
    obs_notify(&n, &o, COAP_NON, COAP_CONTENT, 103, 10);
    ck_assert(k.observing && k.fresh);
    sim_free(&n);
}
END_TEST

/* RFC 7641 §3.4: a device restarts and counts anew; its answer to our
 * re-registration (3) is delayed on the way and its first notification (4)
 * overtakes it. 4 is stale against the old 501, but it does not mark the
 * observation as heard running: the answer restarts the numbering, and
 * what the device sends next is fresh at once, not after 128 s. */
START_TEST(restart_notification_overtakes_answer)
{
    simnet_t n;
    obs_t o = {.max_age = 10};
    sim_rec_t k = {0};
    setup(&n, &o, &k, 500, 1000);
    obs_notify(&n, &o, COAP_NON, COAP_CONTENT, 501, 10);
    o.seq = 3; /* the restart */
    sim_rule(&n, o.srv.node, 0, COAP_ACK, SIM_ANY, SIM_DELAY, 0, 1);
    n.rules[n.nrules - 1].delay_ms = 300;
    sim_run_for(&n, 11000 + 10);
    ck_assert_int_eq(o.registrations, 2);
    /* 4 overtakes the answer (stale), then the answer, 3, comes (runs
     * until idle): the numbering starts again */
    int calls = k.calls;
    obs_notify(&n, &o, COAP_NON, COAP_CONTENT, 4, 10);
    ck_assert_int_eq(k.calls, calls + 2);
    ck_assert(k.observing && k.fresh);
    ck_assert_uint_eq(k.seq, 3);
    obs_notify(&n, &o, COAP_NON, COAP_CONTENT, 5, 10);
    ck_assert(k.observing && k.fresh);
    ck_assert_uint_eq(k.seq, 5);
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&n, 0))->stale, 1);
    sim_free(&n);
}
END_TEST

/* RFC 7252 §4.5, RFC 7641 §3.4: the re-registration's answer is lost, a
 * newer notification comes, then our retransmitted re-registration gets
 * the server's copy of its first answer, older than that notification:
 * stale, never delivered as newer (the numbering is not started over
 * while the observation is heard running). */
START_TEST(late_copy_of_reregistration_answer)
{
    simnet_t n;
    obs_t o = {.max_age = 10};
    sim_rec_t k = {0};
    setup(&n, &o, &k, 100, 1000);
    obs_notify(&n, &o, COAP_NON, COAP_CONTENT, 102, 10);
    sim_rule(&n, o.srv.node, 0, COAP_ACK, SIM_ANY, SIM_DROP, 0, 1); /* its first answer */
    sim_run_for(&n, 11000 + 100);
    ck_assert_int_eq(o.registrations, 2); /* answered with 101, lost */
    obs_notify(&n, &o, COAP_NON, COAP_CONTENT, 104, 10);
    ck_assert(k.fresh);
    ck_assert_uint_eq(k.seq, 104);
    int calls = k.calls;
    sim_run_for(&n, 5000); /* retransmitted: the server's copy, 101, comes back */
    ck_assert_uint_eq(sim_count(&n, 0, o.srv.node, COAP_CON, COAP_GET), 3);
    ck_assert_int_eq(o.registrations, 2); /* a duplicate: answered from the copy */
    ck_assert_int_eq(k.calls, calls + 1);
    ck_assert(k.observing && !k.fresh); /* 101 after 104: stale, counted */
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&n, 0))->stale, 1);
    sim_free(&n);
}
END_TEST

/* §3.3.1: a re-registration whose answers are all lost while the
 * notifications keep coming does not end the observation. */
START_TEST(reregistration_lost_observation_alive)
{
    simnet_t n;
    obs_t o = {.max_age = 2};
    sim_rec_t k = {0};
    setup(&n, &o, &k, 10, 1000);
    sim_rule(&n, o.srv.node, 0, COAP_ACK, SIM_ANY, SIM_DROP, 0, -1);
    sim_run_for(&n, 3100); /* silence: re-registration */
    ck_assert_int_eq(o.registrations, 2);
    for (long seq = 11; seq < 11 + 60; seq++) { /* two minutes, one every 2 s */
        obs_notify(&n, &o, COAP_NON, COAP_CONTENT, seq, 2);
        sim_run_for(&n, 2000);
    }
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&n, 0))->timeouts, 1); /* it was given up */
    ck_assert_int_eq(k.finals, 0);
    ck_assert(k.observing && k.fresh);
    ck_assert_uint_eq(k.seq, 70);
    sim_free(&n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("observe_rereg");
    TCase *tc = tcase_create("rereg");
    tcase_add_test(tc, reregister_after_max_age);
    tcase_add_test(tc, reregister_after_server_restart);
    tcase_add_test(tc, stale_while_reregistering);
    tcase_add_test(tc, late_copy_of_reregistration_answer);
    tcase_add_test(tc, restart_notification_overtakes_answer);
    tcase_add_test(tc, reregistration_lost_observation_alive);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
