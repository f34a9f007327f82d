/*
 * Unit tests for the Observe server (RFC 7641 §4.5) when a notification
 * cannot go out as usual: the send fails, the DTLS session is lost, the
 * representation is larger than a datagram (Block2, RFC 7959 §2.6), and a
 * registration whose first answer comes in blocks.
 */
#include "obsnet.h"

#include <check.h>
#include <errno.h>
#include <string.h>

static int fail_to = -1;

static int failing_send(void *ctx, const coap_addr_t *to, const uint8_t *buf, size_t len)
{
    sim_node_t *node = ctx;
    if (fail_to >= 0 && coap_addr_equal(to, &node->net->nodes[fail_to].addr)) return -ENETUNREACH;
    return sim_hook_send(ctx, to, buf, len);
}

START_TEST(notify_send_fails)
{
    coap_server_params_t sp = {.con_every = _i ? 1 : 0};
    ot_t o;
    ot_init(&o, &sp, -1);
    o.t.n.nodes[o.t.srvn].send = failing_send;
    sim_rec_t k = {0};
    coap_req_t *req = ot_register(&o, &k);
    fail_to = o.t.cli;
    ot_notify(&o, COAP_CONTENT, "n", -1);
    fail_to = -1;
    ck_assert_int_eq(o.c.deregisters, 1);
    ck_assert_int_eq(o.c.reasons[0], COAP_DEREG_TIMEOUT);
    ck_assert_uint_eq(coap_server_observers(o.res), 0);
    coap_req_cancel(req);
    st_free(&o.t);
}
END_TEST

/* A secured transport that cannot deliver a CON notification (the
 * observer's DTLS session is gone and a new handshake failed, or there
 * are no credentials to open one) reports the peer unreachable with a
 * COAP_ERR_DTLS_* code: the observation ends too, instead of staying
 * with a CON marked in flight and every later notification queued. */
START_TEST(notify_session_lost)
{
    static const int errs[] = {COAP_ERR_DTLS_FAILED, COAP_ERR_DTLS_NO_CREDENTIALS,
                               COAP_ERR_DTLS_PSK};
    coap_server_params_t sp = {.con_every = 1};
    ot_t o;
    ot_init(&o, &sp, -1);
    sim_rec_t k = {0};
    coap_req_t *req = ot_register(&o, &k);
    sim_rule(&o.t.n, SIM_ANY, o.t.cli, SIM_ANY, SIM_ANY, SIM_DROP, 0, -1);
    ck_assert_int_eq(ot_notify(&o, COAP_CONTENT, "n", -1), 1); /* a CON, in flight */
    sim_run_for(&o.t.n, 100);
    coap_transport_t *tr = o.t.n.nodes[o.t.srvn].tr;
    tr->up->unreachable(tr->up_arg, sim_addr(&o.t.n, o.t.cli), errs[_i]);
    ck_assert_int_eq(o.c.deregisters, 1);
    ck_assert_int_eq(o.c.reasons[0], COAP_DEREG_TIMEOUT);
    ck_assert_uint_eq(coap_server_observers(o.res), 0);
    ck_assert_int_eq(ot_notify(&o, COAP_CONTENT, "x", -1), 0);
    coap_req_cancel(req); /* or it registers again after Max-Age */
    sim_run_for(&o.t.n, 100000);
    ck_assert_uint_eq(notifs(&o, o.t.cli, SIM_ANY), 1); /* no retransmission either */
    st_free(&o.t);
    ck_assert_int_eq(o.c.deregisters, 1);
}
END_TEST

/* A representation larger than a block: the first block goes out with
 * Block2 and Size2 (RFC 7959 §3.4 / §4). */
START_TEST(notify_large)
{
    ot_t o;
    ot_init(&o, NULL, -1);
    coap_req_t *req = st_req(&o.t, COAP_GET, "temp");
    coap_req_set_observe(req, 0);
    if (_i) coap_req_set_block_szx(req, 2, 1); /* 64-byte blocks, asked up front */
    sim_rec_t k = {0};
    st_do(&o.t, req, &k);
    ck_assert(k.observing);
    static char big[1500];
    memset(big, 'z', sizeof big - 1);
    ot_notify(&o, COAP_CONTENT, big, -1);
    sim_run_idle(&o.t.n);
    coap_msg_t m = nth_notif(&o, o.t.cli, 0)->msg;
    coap_block_info_t b;
    ck_assert_int_eq(coap_block_get(&m, COAP_OPT_BLOCK2, &b), 1);
    ck_assert_uint_eq(b.num, 0);
    ck_assert(b.more);
    ck_assert_uint_eq(b.szx, _i ? 2 : 6);
    ck_assert_uint_eq(m.payload_len, _i ? 64 : 1024);
    ck_assert_uint_eq(opt_u(&m, COAP_OPT_SIZE2), sizeof big - 1);
    ck_assert(has_opt(&m, COAP_OPT_OBSERVE));
    ck_assert_int_eq(k.calls, 1); /* the rest is being fetched: not delivered in part */
    st_free(&o.t);
}
END_TEST

/* RFC 7959 §2.6: the client fetches the rest of a notification that came
 * as its first block and hands the whole body to the callback. The later
 * blocks are plain GETs (no Observe) under a token of their own; ETag
 * ties them to the first block. _i == 1: a newer notification comes
 * while the fetch runs and supersedes it; _i == 2: the representation
 * changes under the fetch (another ETag) without a notification: the
 * fetch starts again from block 0 and delivers the new body whole. */
static char nrep[3000];
static uint8_t ntag;
static int nmode, nnotified;
static uint8_t ntok[8];
static size_t ntok_len; /* the registration's token */
static ot_t *nmode_o;

static coap_server_response_t nrep_resp(void)
{
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.payload = nrep;
    r.payload_len = sizeof nrep;
    r.etag = &ntag;
    r.etag_len = 1;
    r.max_age = 60;
    return r;
}

static void h_nblocks(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    hrec_t *h = arg;
    h->calls++;
    coap_block_info_t b = {0};
    if (req->observe == 0) memcpy(ntok, req->msg->token, ntok_len = req->msg->token_len);
    if (coap_block_get(req->msg, COAP_OPT_BLOCK2, &b) == 1 && b.num > 0) {
        ck_assert_int_eq(req->observe, -1); /* §3.4: the later blocks without Observe */
        if (nnotified) /* not the observation's token: that one means notifications */
            ck_assert(req->msg->token_len != ntok_len || memcmp(req->msg->token, ntok, ntok_len));
        if (nmode == 1) ck_assert_int_eq(ot_notify(nmode_o, COAP_CONTENT, "newer", 60), 1);
        if (nmode == 2) nrep[0] = 'Z', ntag++;
        nmode = 0;
    }
    coap_server_response_t r = nrep_resp();
    ck_assert_int_eq(coap_server_respond(srv, req->id, &r), COAP_OK);
}

START_TEST(notification_in_blocks)
{
    for (size_t i = 0; i < sizeof nrep; i++) nrep[i] = (char)('a' + i % 26);
    ot_t o;
    ot_init(&o, NULL, -1);
    coap_server_remove(o.t.srv, o.res);
    o.res = coap_server_add(o.t.srv, "/temp", COAP_RES_OBSERVABLE, COAP_METHODS_READ, h_nblocks,
                            &o.h, NULL);
    nmode = nnotified = 0;
    nmode_o = &o;
    sim_rec_t k = {0};
    ot_register(&o, &k); /* its answer in blocks too */
    ck_assert_int_eq(k.calls, 1);
    ck_assert_uint_eq(k.body_len, sizeof nrep);
    memset(nrep, 'q', 100);
    ntag++;
    nmode = (int)_i;
    nnotified = 1;
    coap_server_response_t r = nrep_resp();
    ck_assert_int_eq(coap_server_notify(o.t.srv, o.res, &r), 1);
    sim_run_idle(&o.t.n);
    ck_assert_int_eq(k.err, COAP_OK);
    ck_assert(k.observing && k.fresh && !k.last);
    if (_i == 1) {
        ck_assert_int_eq(k.calls, 2); /* the superseded fetch delivered nothing */
        ck_assert_uint_eq(k.body_len, 5);
        ck_assert_mem_eq(k.body, "newer", 5);
    } else {
        ck_assert_int_eq(k.calls, 2);
        ck_assert_uint_eq(k.body_len, sizeof nrep);
        ck_assert_mem_eq(k.body, nrep, sizeof nrep);
        ck_assert_int_eq(k.body[0], _i == 2 ? 'Z' : 'q');
        ck_assert_int_eq(k.body[sizeof nrep - 1], nrep[sizeof nrep - 1]);
    }
    /* the observation goes on: a small notification as before */
    ck_assert_int_eq(ot_notify(&o, COAP_CONTENT, "n", 60), 1);
    sim_run_idle(&o.t.n);
    ck_assert_int_eq(k.calls, 3);
    ck_assert_mem_eq(k.body, "n", 1);
    st_free(&o.t);
}
END_TEST

/* A registration whose answer comes in blocks (RFC 7959 §3.4): Observe on
 * the first block only; the later blocks are plain GETs the handler serves
 * again. With _i == 1 a notification overtakes the fetch of the second
 * block: it is the newer state, so the client takes it and drops the fetch
 * (before, the whole observation failed with COAP_ERR_BLOCK). */
static char rep[2500];
static int cross;
static ot_t *cross_o;

static void h_bigobs(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    hrec_t *h = arg;
    h->calls++;
    coap_block_info_t b = {0};
    int hb = coap_block_get(req->msg, COAP_OPT_BLOCK2, &b) == 1;
    if (hb && b.num > 0 && cross) {
        cross = 0;
        ck_assert_int_eq(ot_notify(cross_o, COAP_CONTENT, "newer", -1), 1);
    }
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.payload = rep;
    r.payload_len = sizeof rep;
    ck_assert_int_eq(coap_server_respond(srv, req->id, &r), COAP_OK);
}

START_TEST(registration_in_blocks)
{
    for (size_t i = 0; i < sizeof rep; i++) rep[i] = (char)('a' + i % 26);
    ot_t o;
    ot_init(&o, NULL, -1);
    coap_server_remove(o.t.srv, o.res);
    o.res = coap_server_add(o.t.srv, "/temp", COAP_RES_OBSERVABLE, COAP_METHODS_READ, h_bigobs,
                            &o.h, NULL);
    cross = _i;
    cross_o = &o;
    sim_rec_t k = {0};
    ot_register(&o, &k);
    ck_assert_uint_eq(coap_server_observers(o.res), 1);
    ck_assert_int_eq(k.calls, 1);
    ck_assert(k.observing && !k.last);
    ck_assert_int_eq(k.err, COAP_OK);
    if (_i) {
        ck_assert_uint_eq(k.body_len, 5);
        ck_assert_mem_eq(k.body, "newer", 5);
    } else {
        ck_assert_int_eq(o.h.calls, 3);
        ck_assert_uint_eq(k.body_len, sizeof rep);
        ck_assert_mem_eq(k.body, rep, sizeof rep);
    }
    ck_assert_int_eq(ot_notify(&o, COAP_CONTENT, "n", -1), 1);
    sim_run_idle(&o.t.n);
    ck_assert_int_eq(k.calls, 2);
    ck_assert(k.observing && k.fresh && !k.last);
    ck_assert_mem_eq(k.body, "n", 1);
    st_free(&o.t);
}
END_TEST

/* A notification whose Size2 passes the observation's body limit is not
 * fetched: no later block is asked for, nothing is delivered, and the
 * observation goes on. */
START_TEST(notification_over_limit)
{
    for (size_t i = 0; i < sizeof nrep; i++) nrep[i] = 'm';
    ot_t o;
    ot_init(&o, NULL, -1);
    coap_server_remove(o.t.srv, o.res);
    o.res = coap_server_add(o.t.srv, "/temp", COAP_RES_OBSERVABLE, COAP_METHODS_READ, h_nblocks,
                            &o.h, NULL);
    nmode = nnotified = 0;
    sim_rec_t k = {0};
    coap_req_t *req = st_req(&o.t, COAP_GET, "temp");
    coap_req_set_observe(req, 0);
    coap_req_set_max_body(req, sizeof nrep); /* the registration's answer fits */
    st_do(&o.t, req, &k);
    ck_assert_int_eq(k.calls, 1);
    int handled = o.h.calls;
    static char bigger[sizeof nrep + 1000];
    memset(bigger, 'b', sizeof bigger);
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.payload = bigger;
    r.payload_len = sizeof bigger;
    ck_assert_int_eq(coap_server_notify(o.t.srv, o.res, &r), 1);
    sim_run_idle(&o.t.n);
    ck_assert_int_eq(o.h.calls, handled); /* no GET for block 1 */
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(ot_notify(&o, COAP_CONTENT, "n", 60), 1);
    sim_run_idle(&o.t.n);
    ck_assert_int_eq(k.calls, 2);
    ck_assert_mem_eq(k.body, "n", 1);
    st_free(&o.t);
}
END_TEST

/* coap_server_notify_each (a lookup, RFC 9176 §6): each observer gets the
 * representation of its own query, and none when build leaves it alone. */
static int build_of_query(const char *query, uint64_t *word, coap_server_response_t *out, void *arg)
{
    const char *skip = arg;
    if (!strcmp(query, skip)) return 0;
    (*word)++;
    out->payload = query; /* the query as the representation */
    out->payload_len = strlen(query);
    return 1;
}

START_TEST(notify_each_by_query)
{
    ot_t o;
    ot_init(&o, NULL, -1);
    sim_rec_t k1 = {0}, k2 = {0};
    coap_req_t *r1 = st_req(&o.t, COAP_GET, "temp?rt=a&ep=x");
    coap_req_set_observe(r1, 0);
    st_do(&o.t, r1, &k1);
    coap_req_t *r2 = st_req(&o.t, COAP_GET, "temp");
    coap_req_set_observe(r2, 0);
    st_do(&o.t, r2, &k2);
    ck_assert_uint_eq(coap_server_observers(o.res), 2);
    size_t before = notifs(&o, o.t.cli, SIM_ANY);
    ck_assert_int_eq(coap_server_notify_each(o.t.srv, o.res, build_of_query, "none"), 2);
    sim_run_idle(&o.t.n);
    ck_assert_uint_eq(notifs(&o, o.t.cli, SIM_ANY), before + 2);
    int seen_query = 0, seen_empty = 0;
    for (size_t i = before; i < before + 2; i++) {
        const sim_dgram_t *d = nth_notif(&o, o.t.cli, i);
        ck_assert_ptr_nonnull(d);
        seen_query += d->msg.payload_len == 9 && !memcmp(d->msg.payload, "rt=a&ep=x", 9);
        seen_empty += d->msg.payload_len == 0;
    }
    ck_assert_int_eq(seen_query + seen_empty, 2);
    ck_assert_int_eq(seen_empty, 1);
    /* build leaves the second alone: one notification */
    ck_assert_int_eq(coap_server_notify_each(o.t.srv, o.res, build_of_query, ""), 1);
    sim_run_idle(&o.t.n);
    ck_assert_uint_eq(notifs(&o, o.t.cli, SIM_ANY), before + 3);
    coap_req_cancel(r1);
    coap_req_cancel(r2);
    st_free(&o.t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("server_notify");
    TCase *tc = tcase_create("notify");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, notify_send_fails, 0, 2);
    tcase_add_loop_test(tc, notify_session_lost, 0, 3);
    tcase_add_loop_test(tc, notify_large, 0, 2);
    tcase_add_loop_test(tc, notification_in_blocks, 0, 3);
    tcase_add_test(tc, notification_over_limit);
    tcase_add_test(tc, notify_each_by_query);
    tcase_add_loop_test(tc, registration_in_blocks, 0, 2);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
