/*
 * Unit tests for the engine on a faulty simulated network (simnet.h's
 * seeded loss, duplication and jitter, which reorders): a request reaches
 * the server's handler at most once, exactly once when answered (RFC 7252
 * §4.5), each answer comes to its own request (§5.3.2), and an observer
 * is never handed an older notification as fresh (RFC 7641 §3.4).
 */
#include "coap_client.h"
#include "coap_server.h"
#include "srvnet.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#define NREQ 60

/* Counts executions per request body ("r17") and answers "r17 done". */
typedef struct {
    int executed[NREQ];
    char answer[32];
} counter_t;

static void count_fn(sim_srv_t *s, coap_ep_req_t *req, const coap_msg_t *m)
{
    counter_t *c = s->arg;
    int i = -1;
    char body[16] = "";
    memcpy(body, m->payload, m->payload_len < 15 ? m->payload_len : 15);
    ck_assert_int_eq(sscanf(body, "r%d", &i), 1);
    ck_assert(i >= 0 && i < NREQ);
    c->executed[i]++;
    snprintf(c->answer, sizeof c->answer, "%s done", body);
    coap_msg_t r;
    sim_resp(&r, COAP_CHANGED, c->answer, strlen(c->answer));
    ck_assert_int_eq(coap_ep_respond(s->ep, req, &r, NULL, NULL), COAP_OK);
}

/* _i: the seed. 30 % loss and 30 % duplication each way, jitter 0-400 ms
 * (reordering); NSTART 8, so several requests are in flight at once. */
START_TEST(post_once_under_faults)
{
    simnet_t n;
    sim_init(&n);
    coap_ep_params_t p = {.nstart = 8};
    int cli = sim_add_ep(&n, &p);
    sim_srv_t srv;
    counter_t c = {0};
    sim_srv_init(&srv, &n, NULL, count_fn, &c);
    n.rng = 0x9e3779b9u * (uint32_t)(_i + 1);
    n.loss_pct = 30;
    n.dup_pct = 30;
    n.jitter_ms = 400;
    static sim_rec_t k[NREQ];
    static char body[NREQ][8];
    memset(k, 0, sizeof k);
    for (int i = 0; i < NREQ; i++) {
        coap_req_t *req = sim_req(&n, cli, srv.node, COAP_POST, "counter");
        snprintf(body[i], sizeof body[i], "r%d", i);
        coap_req_set_payload(req, body[i], strlen(body[i]));
        ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k[i]), COAP_OK);
    }
    sim_run_for(&n, 400000); /* past MAX_TRANSMIT_WAIT and EXCHANGE_LIFETIME */
    int answered = 0;
    for (int i = 0; i < NREQ; i++) {
        ck_assert_int_eq(k[i].finals, 1);
        ck_assert_int_le(c.executed[i], 1);
        if (k[i].err) continue;
        answered++;
        ck_assert_int_eq(c.executed[i], 1);
        char want[32];
        snprintf(want, sizeof want, "r%d done", i);
        ck_assert_uint_eq(k[i].body_len, strlen(want));
        ck_assert_mem_eq(k[i].body, want, k[i].body_len);
    }
    ck_assert_int_gt(answered, NREQ / 2);
    ck_assert_uint_gt(coap_ep_stats(srv.ep)->duplicates, 0);
    sim_free(&n);
}
END_TEST

/* --- an observer under faults --- */

typedef struct {
    uint8_t tok[COAP_TOKEN_MAX], tkl;
    coap_addr_t client;
    int registered;
} notifier_t;

static void register_fn(sim_srv_t *s, coap_ep_req_t *req, const coap_msg_t *m)
{
    notifier_t *o = s->arg;
    memcpy(o->tok, m->token, m->token_len);
    o->tkl = m->token_len;
    o->client = *coap_ep_req_peer(req);
    o->registered = 1;
    coap_msg_t r;
    sim_resp(&r, COAP_CONTENT, "0", 1);
    coap_msg_add_uint(&r, COAP_OPT_OBSERVE, 0);
    coap_msg_add_uint(&r, COAP_OPT_MAX_AGE, 60);
    ck_assert_int_eq(coap_ep_respond(s->ep, req, &r, NULL, NULL), COAP_OK);
}

typedef struct {
    uint32_t seen[512];
    size_t n;
} fresh_log_t;

static void log_fresh(sim_rec_t *k, coap_req_t *req, const coap_resp_t *r)
{
    (void)req;
    fresh_log_t *f = k->arg;
    if (r->observing && r->fresh && f->n < 512) f->seen[f->n++] = r->seq;
}

/* _i: the seed. 300 NON notifications, one every 20 ms, with increasing
 * Observe numbers, through 20 % loss, 30 % duplication and 0-300 ms of
 * jitter: what the observer is handed as fresh only ever increases, and
 * the reordered ones are counted as stale. */
START_TEST(notifications_never_go_back)
{
    simnet_t n;
    sim_init(&n);
    int cli = sim_add_ep(&n, NULL);
    sim_srv_t srv;
    notifier_t o = {0};
    sim_srv_init(&srv, &n, NULL, register_fn, &o);
    coap_req_t *req = sim_req(&n, cli, srv.node, COAP_GET, "ticks");
    coap_req_set_observe(req, 0);
    static fresh_log_t f;
    memset(&f, 0, sizeof f);
    sim_rec_t k = {.then = log_fresh, .arg = &f};
    ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k), COAP_OK);
    sim_run_idle(&n);
    ck_assert(o.registered);
    n.rng = 0x85ebca6bu * (uint32_t)(_i + 1);
    n.loss_pct = 20;
    n.dup_pct = 30;
    n.jitter_ms = 300;
    for (uint32_t seq = 1; seq <= 300; seq++) {
        coap_msg_t m;
        char v[12];
        snprintf(v, sizeof v, "%u", seq);
        coap_msg_init(&m, COAP_NON, COAP_CONTENT, 0);
        coap_msg_set_token(&m, o.tok, o.tkl);
        coap_msg_add_uint(&m, COAP_OPT_OBSERVE, seq);
        coap_msg_add_uint(&m, COAP_OPT_MAX_AGE, 60);
        m.payload = (const uint8_t *)v;
        m.payload_len = strlen(v);
        ck_assert_int_eq(coap_ep_send(srv.ep, &o.client, &m, NULL, NULL, NULL), COAP_OK);
        sim_run_for(&n, 20);
    }
    sim_run_for(&n, 1000);
    ck_assert_uint_gt(f.n, 50); /* many are overtaken: 300 ms of jitter, 20 ms apart */
    for (size_t i = 1; i < f.n; i++) ck_assert_uint_gt(f.seen[i], f.seen[i - 1]);
    ck_assert_uint_gt(coap_ep_stats(sim_ep(&n, cli))->stale, 0);
    ck_assert_uint_gt(coap_ep_stats(sim_ep(&n, cli))->duplicates, 0);
    coap_req_cancel(req);
    sim_free(&n);
}
END_TEST

/* RFC 7959 §2.4: one later block lost all five times (its CON given up)
 * is asked for again while the exchange's timeout allows; the blocks
 * before it are kept and the body completes. */
START_TEST(block_asked_again)
{
    static char big[4096];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (char)('a' + i % 26);
    st_t t;
    st_init(&t, NULL, NULL);
    hrec_t h = {0};
    h.resp = COAP_RESPONSE(COAP_CONTENT);
    h.resp.payload = big;
    h.resp.payload_len = sizeof big;
    coap_server_add(t.srv, "/fw", 0, COAP_METHODS_READ, h_rec, &h, NULL);
    /* the answers to the request for block 2, all five transmissions */
    sim_rule(&t.n, t.srvn, t.cli, COAP_ACK, COAP_CONTENT, SIM_DROP, 2, 5);
    coap_req_t *req = st_req(&t, COAP_GET, "fw");
    coap_req_set_timeout(req, 200000);
    sim_rec_t k = {0};
    ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k), COAP_OK);
    sim_run_for(&t.n, 200000);
    ck_assert_int_eq(k.finals, 1);
    ck_assert_int_eq(k.err, COAP_OK);
    ck_assert_uint_eq(k.body_len, sizeof big);
    ck_assert_mem_eq(k.body, big, sizeof big);
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&t.n, t.cli))->timeouts, 1);
    st_free(&t);
}
END_TEST

/* RFC 7959 §2.4 with NSTART 16: 64 KiB in 64 blocks at 30 % loss each way
 * (seed _i) completes, fetched several blocks at a time, and sooner than
 * one by one on the same network. Returns the time it took. */
static uint8_t fw[65536];

typedef struct {
    int finals, err, same;
    uint64_t t;
} big_rec_t;

static void on_big(coap_req_t *req, const coap_resp_t *r, void *arg)
{
    big_rec_t *b = arg;
    b->finals += r->last;
    b->err = r->err;
    b->t = coap_ep_now(coap_req_ep(req));
    b->same = r->body_len == sizeof fw && !memcmp(r->body, fw, sizeof fw);
}

static uint64_t fetch_64k(int seed, uint8_t nstart, int *ok, int *requests)
{
    for (size_t i = 0; i < sizeof fw; i++) fw[i] = (uint8_t)(i * 7 + i / 1024);
    st_t t;
    coap_ep_params_t p = {.nstart = nstart};
    sim_init(&t.n);
    t.cli = sim_add_ep(&t.n, &p);
    t.srvn = sim_add_ep(&t.n, NULL);
    sim_verify_peers(&t.n, t.srvn, 1); /* the amplification bound is not this test's subject */
    t.sep = sim_ep(&t.n, t.srvn);
    t.srv = coap_server_new(t.sep, NULL);
    hrec_t h = {0};
    static const uint8_t tag[4] = {1, 2, 3, 4};
    h.resp = COAP_RESPONSE(COAP_CONTENT);
    h.resp.payload = fw;
    h.resp.payload_len = sizeof fw;
    h.resp.etag = tag;
    h.resp.etag_len = sizeof tag;
    coap_server_add(t.srv, "/fw", 0, COAP_METHODS_READ, h_rec, &h, NULL);
    t.n.rng = 0x27d4eb2fu * (uint32_t)(seed + 2);
    t.n.loss_pct = seed < 0 ? 0 : 30;
    coap_req_t *req = st_req(&t, COAP_GET, "fw");
    coap_req_set_timeout(req, 3600000);
    big_rec_t k = {0};
    uint64_t t0 = t.n.now;
    ck_assert_int_eq(coap_req_send(req, on_big, &k), COAP_OK);
    while (!k.finals && t.n.now < t0 + 3600000) sim_run_for(&t.n, 1000);
    *ok = k.finals == 1 && k.err == COAP_OK && k.same;
    *requests = h.calls;
    st_free(&t);
    return k.t - t0;
}

START_TEST(block_window_under_loss)
{
    int ok_window, ok_serial, n;
    uint64_t window = fetch_64k(_i, 16, &ok_window, &n);
    uint64_t serial = fetch_64k(_i, 1, &ok_serial, &n);
    ck_assert(ok_window);
    ck_assert(ok_serial);
    fprintf(stderr, "64 KiB at 30 %% loss: window %llu ms, one by one %llu ms\n",
            (unsigned long long)window, (unsigned long long)serial);
    ck_assert_uint_lt(window * 4, serial);
}
END_TEST

/* Without loss, the window asks for each block once (a block is asked
 * for twice only after ACK_TIMEOUT without its answer), 16 at a time. */
START_TEST(block_window_no_waste)
{
    int ok, requests;
    uint64_t took = fetch_64k(-1, 16, &ok, &requests);
    ck_assert(ok);
    ck_assert_int_eq(requests, 64);
    ck_assert_uint_lt(took, 64 * 10 / 4); /* 5 ms each way: far less than one by one */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("faults");
    tcase_add_loop_test(tc, post_once_under_faults, 0, 8);
    tcase_add_loop_test(tc, notifications_never_go_back, 0, 8);
    tcase_add_test(tc, block_asked_again);
    tcase_add_loop_test(tc, block_window_under_loss, 0, 4);
    tcase_add_test(tc, block_window_no_waste);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
