/*
 * Unit test of the server role under a lossy network (split from
 * test_server.c): GETs, a deferred resource, a block-wise one, a Block1
 * upload and an observation with random loss, duplication and reordering
 * (RFC 7252 §4.2, §4.5; RFC 7959; RFC 7641) on the simulated network.
 */
#include "coap_cf.h"
#include "server_internal.h"
#include "srvnet.h"

#include <check.h>
#include <string.h>

typedef struct {
    uint64_t id, due;
} due_t;

typedef struct {
    due_t d[64];
    int n, calls;
} slow_t;

static void h_slow(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    (void)srv;
    slow_t *s = arg;
    s->calls++;
    ck_assert_int_lt(s->n, 64);
    uint64_t due = coap_ep_now(coap_server_ep(srv)) + 1000 + 300 * (uint64_t)(s->n % 5);
    s->d[s->n++] = (due_t){req->id, due};
}

static uint8_t big[3000];

static void h_big(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    (void)arg;
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.payload = big;
    r.payload_len = sizeof big;
    coap_server_respond(srv, req->id, &r);
}

/* GETs, a deferred resource, a block-wise one and an observation with
 * random loss, duplication and reordering: every request ends exactly
 * once, correctly or with a timeout, and nothing stays behind. */
START_TEST(lossy_mixed)
{
    for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 13 + i / 7);
    st_t t;
    st_init(&t, NULL, NULL);
    hrec_t fast = {.name = "fast"};
    slow_t slow = {0};
    coap_server_add(t.srv, "/fast", 0, COAP_METHODS_READ, h_rec, &fast, NULL);
    coap_server_add(t.srv, "/slow", 0, COAP_METHODS_READ, h_slow, &slow, NULL);
    coap_server_add(t.srv, "/big", 0, COAP_METHODS_READ, h_big, NULL, NULL);
    hrec_t up = {.name = "up"}; /* a Block1 upload */
    coap_server_add(t.srv, "/up", 0, COAP_METHOD_BIT(COAP_PUT), h_rec, &up, NULL);
    hrec_t obs = {.resp = {.code = COAP_CONTENT,
                           .payload = "o",
                           .payload_len = 1,
                           .content_format = -1,
                           .max_age = 5}};
    coap_server_resource_t *ro =
        coap_server_add(t.srv, "/obs", COAP_RES_OBSERVABLE, COAP_METHODS_READ, h_rec, &obs, NULL);
    t.n.loss_pct = 15;
    t.n.dup_pct = 10;
    t.n.jitter_ms = 300;
    t.n.rng = 0x5EED0000u + (uint32_t)_i * 104729u;
    enum { NREQ = 36 };
    sim_rec_t *k = calloc(NREQ + 1, sizeof *k);
    ck_assert_ptr_nonnull(k);
    coap_req_t *oreq = st_req(&t, COAP_GET, "obs");
    coap_req_set_observe(oreq, 1000);
    ck_assert_int_eq(coap_req_send(oreq, sim_on_resp, &k[NREQ]), COAP_OK);
    static const char *const paths[] = {"fast", "slow", "big", "slow", "up"};
    int sent = 0, answered = 0;
    /* 40 s of traffic, then the observation stops and everything drains */
    for (int step = 0; step < 4400; step++) {
        sim_run_for(&t.n, 100);
        if (step % 10 == 0 && sent < NREQ) {
            const char *p = paths[sent % 5];
            coap_req_t *req = st_req(&t, strcmp(p, "up") ? COAP_GET : COAP_PUT, p);
            if (!strcmp(p, "up")) coap_req_set_payload(req, big, 2500);
            ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k[sent]), COAP_OK);
            sent++;
        }
        for (int j = 0; j < slow.n; j++) {
            if (slow.d[j].id && slow.d[j].due <= t.n.now) {
                coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
                r.payload = "slow";
                r.payload_len = 4;
                ck_assert_int_eq(coap_server_respond(t.srv, slow.d[j].id, &r), COAP_OK);
                slow.d[j].id = 0;
                answered++;
            }
        }
        if (step < 400 && step % 7 == 0) coap_server_notify(t.srv, ro, &obs.resp);
        if (step == 400 && !k[NREQ].finals)
            coap_req_observe_stop(oreq, _i & 1 ? COAP_OBSERVE_FORGET : COAP_OBSERVE_DEREGISTER);
    }
    ck_assert_int_eq(answered, slow.calls);
    ck_assert_int_eq(k[NREQ].finals, 1);
    ck_assert_int_ge(k[NREQ].calls, 5);
    int ok = 0, ok_fast = 0, ok_up = 0;
    for (int i = 0; i < NREQ; i++) {
        ck_assert_msg(k[i].finals == 1, "request %d did not end", i);
        if (k[i].err == COAP_ERR_TIMEOUT) continue;
        ck_assert_int_eq(k[i].err, COAP_OK);
        ck_assert_int_eq(k[i].code, COAP_CONTENT);
        ok++;
        const char *p = paths[i % 5];
        ok_fast += !strcmp(p, "fast");
        ok_up += !strcmp(p, "up");
        if (!strcmp(p, "big")) {
            ck_assert_uint_eq(k[i].body_len, sizeof big);
            ck_assert_mem_eq(k[i].body, big, sizeof big);
        } else {
            ck_assert_uint_eq(k[i].body_len, strlen(p));
            ck_assert_mem_eq(k[i].body, p, strlen(p));
        }
    }
    ck_assert_int_ge(ok, NREQ * 3 / 4);
    /* handlers ran once per request: duplicates never reach them */
    ck_assert_int_ge(fast.calls, ok_fast);
    ck_assert_int_le(fast.calls, (NREQ + 4) / 5);
    ck_assert_int_ge(up.calls, ok_up);
    ck_assert_int_le(up.calls, (NREQ + 0) / 5);
    ck_assert_int_le(slow.calls, 2 * NREQ / 5 + 1);
    ck_assert_int_ge(up.calls, 1);
    ck_assert_uint_eq(up.payload_len, 2500);
    ck_assert_mem_eq(up.payload, big, 2500);
    ck_assert(base_list_empty(&t.srv->pending)); /* every request was answered */
    ck_assert_uint_eq(coap_ep_next_deadline(sim_ep(&t.n, t.cli)), BASE_NEVER);
    free(k);
    st_free(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("server_lossy");
    TCase *tc = tcase_create("lossy");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, lossy_mixed, 0, 6);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
