/*
 * Unit tests for the amplification bound of the server role (RFC 7252
 * §11.3, RFC 9175 §2.4: coap/server_echo.c) and for the client role
 * following a 4.01 with Echo (RFC 9175 §2.3), on the simulated network
 * with a server whose transport does not verify addresses (plain UDP).
 */
#include "srvnet.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

static char big[700];

typedef struct {
    st_t t;
    hrec_t hbig, hsmall, hact;
    uint16_t mid;
} ex_t;

static void ex_init(ex_t *x)
{
    memset(x, 0, sizeof *x);
    memset(big, 'x', sizeof big - 1);
    st_init(&x->t, NULL, NULL);
    sim_verify_peers(&x->t.n, x->t.srvn, 0); /* plain UDP */
    x->hbig.name = big;
    x->hsmall.name = "ok";
    x->hact.name = big;
    coap_server_add(x->t.srv, "/big", COAP_RES_OBSERVABLE, COAP_METHODS_READ, h_rec, &x->hbig,
                    NULL);
    coap_server_add(x->t.srv, "/small", 0, COAP_METHODS_READ, h_rec, &x->hsmall, NULL);
    coap_server_add(x->t.srv, "/act", 0, COAP_METHOD_BIT(COAP_POST), h_rec, &x->hact, NULL);
    x->mid = 1000;
}

/* The server's last datagram to dst: its size on the wire and the message. */
static size_t last_to(ex_t *x, const coap_addr_t *dst, coap_msg_t *out)
{
    for (size_t i = x->t.n.nlog; i-- > 0;) {
        const sim_dgram_t *d = &x->t.n.log[i];
        if (d->from == x->t.srvn && coap_addr_equal(&d->dst, dst)) {
            *out = d->msg;
            return d->len;
        }
    }
    ck_abort_msg("no datagram to that address");
    return 0;
}

/* A CON from src for path, with an Echo value when echo_len; returns the
 * answer and sets *ratio100 to 100 x (answer size / request size). */
static coap_msg_t ask(ex_t *x, const char *src, uint8_t method, const char *path,
                      const uint8_t *echo, size_t echo_len, unsigned *ratio100)
{
    coap_msg_t m;
    x->mid++;
    raw_init(&m, COAP_CON, method, x->mid, (uint8_t)x->mid);
    raw_path(&m, path);
    if (echo_len) ck_assert_int_eq(coap_msg_add_opt(&m, COAP_OPT_ECHO, echo, echo_len), COAP_OK);
    coap_addr_t a;
    ck_assert_int_eq(coap_addr_parse(&a, src, 5683), 0);
    coap_msg_t r = raw_ask_as(&x->t, &a, &m);
    coap_msg_t again;
    size_t len = last_to(x, &a, &again);
    if (ratio100) *ratio100 = (unsigned)(100 * len / coap_msg_size(&m));
    return r;
}

static size_t echo_of(const coap_msg_t *r, uint8_t out[40])
{
    const coap_msg_opt_t *o = coap_msg_find_opt(r, COAP_OPT_ECHO);
    ck_assert_ptr_nonnull(o);
    ck_assert_uint_le(o->len, 40);
    memcpy(out, coap_msg_opt_value(o), o->len);
    return o->len;
}

#define PEER  "10.0.0.1:40000"
#define OTHER "10.0.0.1:40001"

START_TEST(large_answer_needs_echo)
{
    ex_t x;
    ex_init(&x);
    unsigned ratio;
    coap_msg_t r = ask(&x, PEER, COAP_GET, "big", NULL, 0, &ratio);
    ck_assert_uint_eq(r.code, COAP_UNAUTHORIZED);
    ck_assert_uint_le(ratio, 300);
    ck_assert_uint_eq(r.payload_len, 0);
    uint8_t echo[40];
    size_t elen = echo_of(&r, echo);
    ck_assert_uint_eq(elen, 12);
    ck_assert_int_eq(x.hbig.calls, 1); /* the handler ran: a GET is safe */
    /* the same request with the Echo: the whole answer */
    r = ask(&x, PEER, COAP_GET, "big", echo, elen, &ratio);
    ck_assert_uint_eq(r.code, COAP_CONTENT);
    ck_assert_uint_eq(r.payload_len, strlen(big));
    /* the address is remembered: no Echo needed for a while */
    r = ask(&x, PEER, COAP_GET, "big", NULL, 0, NULL);
    ck_assert_uint_eq(r.code, COAP_CONTENT);
    const coap_server_stats_t *s = coap_server_stats(x.t.srv);
    ck_assert_uint_eq(s->echo_challenges, 1);
    ck_assert_uint_eq(s->echo_verified, 1);
    ck_assert_uint_eq(s->echo_refused, 0);
    /* ... 10 minutes, then it is asked again */
    sim_run_for(&x.t.n, 600001);
    r = ask(&x, PEER, COAP_GET, "big", NULL, 0, NULL);
    ck_assert_uint_eq(r.code, COAP_UNAUTHORIZED);
    st_free(&x.t);
}
END_TEST

START_TEST(wrong_stale_or_foreign_echo_is_refused)
{
    ex_t x;
    ex_init(&x);
    coap_msg_t r = ask(&x, PEER, COAP_GET, "big", NULL, 0, NULL);
    uint8_t echo[40];
    size_t elen = echo_of(&r, echo);
    /* another port of the same host: the value is bound to address and port */
    r = ask(&x, OTHER, COAP_GET, "big", echo, elen, NULL);
    ck_assert_uint_eq(r.code, COAP_UNAUTHORIZED);
    /* one bit changed */
    echo[elen - 1] ^= 1;
    r = ask(&x, PEER, COAP_GET, "big", echo, elen, NULL);
    ck_assert_uint_eq(r.code, COAP_UNAUTHORIZED);
    echo[elen - 1] ^= 1;
    /* cut short */
    r = ask(&x, PEER, COAP_GET, "big", echo, elen - 1, NULL);
    ck_assert_uint_eq(r.code, COAP_UNAUTHORIZED);
    /* stale: older than 30 s */
    sim_run_for(&x.t.n, 31000);
    r = ask(&x, PEER, COAP_GET, "big", echo, elen, NULL);
    ck_assert_uint_eq(r.code, COAP_UNAUTHORIZED);
    ck_assert_uint_eq(coap_server_stats(x.t.srv)->echo_refused, 4);
    ck_assert_uint_eq(coap_server_stats(x.t.srv)->echo_verified, 0);
    /* the fresh one it got with the last refusal works */
    elen = echo_of(&r, echo);
    r = ask(&x, PEER, COAP_GET, "big", echo, elen, NULL);
    ck_assert_uint_eq(r.code, COAP_CONTENT);
    st_free(&x.t);
}
END_TEST

START_TEST(small_answers_and_errors_unchanged)
{
    ex_t x;
    ex_init(&x);
    unsigned ratio;
    coap_msg_t r = ask(&x, PEER, COAP_GET, "small", NULL, 0, &ratio);
    ck_assert_uint_eq(r.code, COAP_CONTENT);
    ck_assert_uint_le(ratio, 300);
    r = ask(&x, PEER, COAP_GET, "nothing/here", NULL, 0, &ratio);
    ck_assert_uint_eq(r.code, COAP_NOT_FOUND);
    ck_assert_uint_le(ratio, 100); /* the engine's own errors: never larger */
    ck_assert_uint_eq(coap_server_stats(x.t.srv)->echo_challenges, 0);
    st_free(&x.t);
}
END_TEST

/* The table of verified addresses is bounded: of 1500 peers verified, at
 * most 1024 are remembered; the others are asked again. */
START_TEST(verified_table_is_bounded)
{
    ex_t x;
    ex_init(&x);
    char src[32];
    uint8_t echo[40];
    for (int i = 0; i < 1500; i++) {
        snprintf(src, sizeof src, "10.1.%d.%d:5683", i / 200, i % 200 + 1);
        coap_msg_t r = ask(&x, src, COAP_GET, "big", NULL, 0, NULL);
        size_t elen = echo_of(&r, echo);
        r = ask(&x, src, COAP_GET, "big", echo, elen, NULL);
        ck_assert_uint_eq(r.code, COAP_CONTENT);
    }
    int remembered = 0;
    for (int i = 0; i < 1500; i++) {
        snprintf(src, sizeof src, "10.1.%d.%d:5683", i / 200, i % 200 + 1);
        remembered += ask(&x, src, COAP_GET, "big", NULL, 0, NULL).code == COAP_CONTENT;
    }
    ck_assert_int_le(remembered, 1024);
    ck_assert_int_gt(remembered, 500); /* a table, not a single slot */
    st_free(&x.t);
}
END_TEST

/* RFC 9175 §2.4: Block2's first block is the answer the bound applies to. */
START_TEST(first_block_counts)
{
    ex_t x;
    static char huge[3000];
    memset(huge, 'y', sizeof huge - 1);
    ex_init(&x);
    x.hbig.name = huge;
    unsigned ratio;
    coap_msg_t r = ask(&x, PEER, COAP_GET, "big", NULL, 0, &ratio);
    ck_assert_uint_eq(r.code, COAP_UNAUTHORIZED);
    ck_assert_uint_le(ratio, 300);
    uint8_t echo[40];
    size_t elen = echo_of(&r, echo);
    r = ask(&x, PEER, COAP_GET, "big", echo, elen, NULL);
    ck_assert_uint_eq(r.code, COAP_CONTENT);
    ck_assert_uint_eq(r.payload_len, 1024); /* block 0 */
    st_free(&x.t);
}
END_TEST

/* A transport that verifies addresses itself (DTLS): no Echo. */
START_TEST(verified_transport_needs_none)
{
    ex_t x;
    ex_init(&x);
    sim_verify_peers(&x.t.n, x.t.srvn, 1);
    coap_msg_t r = ask(&x, PEER, COAP_GET, "big", NULL, 0, NULL);
    ck_assert_uint_eq(r.code, COAP_CONTENT);
    ck_assert_uint_eq(r.payload_len, strlen(big));
    ck_assert_uint_eq(coap_server_stats(x.t.srv)->echo_challenges, 0);
    st_free(&x.t);
}
END_TEST

/* An unsafe request has acted: its answer comes in blocks within the
 * bound, never as a 4.01 that would make the client act again. */
START_TEST(unsafe_answer_in_small_blocks)
{
    ex_t x;
    ex_init(&x);
    unsigned ratio;
    coap_msg_t r = ask(&x, PEER, COAP_POST, "act", NULL, 0, &ratio);
    ck_assert_uint_eq(r.code, COAP_CONTENT);
    ck_assert_uint_le(ratio, 300);
    coap_block_info_t b;
    ck_assert_int_eq(coap_block_get(&r, COAP_OPT_BLOCK2, &b), 1);
    ck_assert_uint_eq(b.num, 0);
    ck_assert(b.more);
    ck_assert_uint_lt(coap_block_size(b.szx), 64);
    ck_assert_int_eq(x.hact.calls, 1);
    ck_assert_uint_eq(coap_server_stats(x.t.srv)->amplification_blocks, 1);
    /* our client fetches the rest, block by block, each within the bound;
     * the action runs once */
    sim_rec_t k = {0};
    coap_req_t *req = st_req(&x.t, COAP_POST, "act");
    st_do(&x.t, req, &k);
    ck_assert_int_eq(k.finals, 1);
    ck_assert_uint_eq(k.body_len, strlen(big));
    ck_assert_int_eq(x.hact.calls, 2);
    size_t answers = 0;
    for (size_t i = 0; i < x.t.n.nlog; i++) {
        const sim_dgram_t *d = &x.t.n.log[i];
        if (d->from != x.t.srvn || d->to != x.t.cli) continue;
        for (size_t j = 0; j < i; j++) { /* the request it acknowledges */
            const sim_dgram_t *q = &x.t.n.log[j];
            if (q->from == x.t.cli && q->msg.mid == d->msg.mid) {
                ck_assert_uint_le(d->len, 3 * q->len);
                answers++;
            }
        }
    }
    ck_assert_uint_gt(answers, 10); /* 699 bytes in blocks of 16 or 32 */
    st_free(&x.t);
}
END_TEST

/* RFC 9175 §2.3: our client resends once with the Echo, transparently. */
START_TEST(client_follows_echo)
{
    ex_t x;
    ex_init(&x);
    sim_rec_t k;
    st_get(&x.t, "big", &k);
    ck_assert_int_eq(k.err, COAP_OK);
    ck_assert_int_eq(k.code, COAP_CONTENT);
    ck_assert_uint_eq(k.body_len, strlen(big));
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&x.t.n, x.t.cli))->echo_followed, 1);
    ck_assert_uint_eq(sim_count(&x.t.n, x.t.srvn, x.t.cli, SIM_ANY, COAP_UNAUTHORIZED), 1);
    /* verified now: the next GET goes through at once */
    st_get(&x.t, "big", &k);
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&x.t.n, x.t.cli))->echo_followed, 1);
    /* an Observe registration follows too, and registers once */
    cbrec_t c = {0};
    st_callbacks(&x.t, &c);
    sim_run_for(&x.t.n, 600001); /* forgotten: asked again */
    memset(&k, 0, sizeof k);
    coap_req_t *req = st_req(&x.t, COAP_GET, "big");
    coap_req_set_observe(req, 0);
    st_do(&x.t, req, &k);
    ck_assert_int_eq(k.observing, 1);
    ck_assert_uint_eq(k.body_len, strlen(big));
    ck_assert_int_eq(c.registers, 1);
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&x.t.n, x.t.cli))->echo_followed, 2);
    coap_req_cancel(req);
    st_free(&x.t);
}
END_TEST

/* Answers the CON in buf 4.01 with Echo value v; returns 0 when buf was
 * no CON. */
static int answer_401(simnet_t *n, int node, const coap_addr_t *from, const uint8_t *buf,
                      size_t len, const char *v)
{
    coap_msg_t m, r;
    if (coap_msg_parse(&m, buf, len) || m.type != COAP_CON) return 0;
    coap_msg_init(&r, COAP_ACK, COAP_UNAUTHORIZED, m.mid);
    coap_msg_set_token(&r, m.token, m.token_len);
    ck_assert_int_eq(coap_msg_add_opt(&r, COAP_OPT_ECHO, v, strlen(v)), COAP_OK);
    uint8_t out[64];
    int l = coap_msg_serialize(&r, out, sizeof out);
    ck_assert_int_gt(l, 0);
    sim_send_raw(n, sim_addr(n, node), sim_node_by_addr(n, from), out, (size_t)l);
    return 1;
}

/* A server that answers every request 4.01 with the same Echo. */
static void always_401(simnet_t *n, int node, const coap_addr_t *from, const uint8_t *buf,
                       size_t len, void *arg)
{
    int *count = arg;
    if (answer_401(n, node, from, buf, len, "abcd")) ++*count;
}

/* A server whose every 4.01 carries a new Echo value, as a server does
 * when the first follow-up arrived after its freshness window (a CON
 * retransmitted under loss). */
static void fresh_401(simnet_t *n, int node, const coap_addr_t *from, const uint8_t *buf,
                      size_t len, void *arg)
{
    int *count = arg;
    char v[16];
    snprintf(v, sizeof v, "v%d", *count + 1);
    if (answer_401(n, node, from, buf, len, v)) ++*count;
}

/* Followed once; a second 4.01 with the same value is the answer. */
START_TEST(client_follows_once)
{
    ex_t x;
    ex_init(&x);
    int count = 0;
    int node = sim_add_raw(&x.t.n, always_401, &count);
    sim_rec_t k = {0};
    st_do(&x.t, sim_req(&x.t.n, x.t.cli, node, COAP_GET, "x"), &k);
    ck_assert_int_eq(k.finals, 1);
    ck_assert_int_eq(k.code, COAP_UNAUTHORIZED);
    ck_assert_int_eq(count, 2);
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&x.t.n, x.t.cli))->echo_followed, 1);
    /* the second request carried the Echo, with a new message ID */
    const sim_dgram_t *a = sim_nth(&x.t.n, 0, x.t.cli, node, COAP_CON, COAP_GET);
    const sim_dgram_t *b = sim_nth(&x.t.n, 1, x.t.cli, node, COAP_CON, COAP_GET);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_ne(a->msg.mid, b->msg.mid);
    ck_assert_ptr_null(coap_msg_find_opt(&a->msg, COAP_OPT_ECHO));
    const coap_msg_opt_t *o = coap_msg_find_opt(&b->msg, COAP_OPT_ECHO);
    ck_assert_ptr_nonnull(o);
    ck_assert_mem_eq(coap_msg_opt_value(o), "abcd", 4);
    st_free(&x.t);
}
END_TEST

/* New values are followed three times in all; then the 4.01 is the
 * answer. */
START_TEST(client_follows_new_values)
{
    ex_t x;
    ex_init(&x);
    int count = 0;
    int node = sim_add_raw(&x.t.n, fresh_401, &count);
    sim_rec_t k = {0};
    st_do(&x.t, sim_req(&x.t.n, x.t.cli, node, COAP_GET, "x"), &k);
    ck_assert_int_eq(k.finals, 1);
    ck_assert_int_eq(k.code, COAP_UNAUTHORIZED);
    ck_assert_int_eq(count, 4); /* the request, then three follow-ups */
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&x.t.n, x.t.cli))->echo_followed, 3);
    /* each follow-up carried the value of the 4.01 before it */
    for (size_t i = 1; i <= 3; i++) {
        const sim_dgram_t *d = sim_nth(&x.t.n, i, x.t.cli, node, COAP_CON, COAP_GET);
        ck_assert_ptr_nonnull(d);
        const coap_msg_opt_t *o = coap_msg_find_opt(&d->msg, COAP_OPT_ECHO);
        ck_assert_ptr_nonnull(o);
        char want[8];
        snprintf(want, sizeof want, "v%zu", i);
        ck_assert_uint_eq(o->len, strlen(want));
        ck_assert_mem_eq(coap_msg_opt_value(o), want, o->len);
    }
    st_free(&x.t);
}
END_TEST

/* COAP_RES_VERIFY_SOURCE: the handler runs only for a verified address,
 * whatever the method and the answer's size (RFC 9175 §2.4 item 3). */
START_TEST(verify_source_before_the_handler)
{
    ex_t x;
    ex_init(&x);
    hrec_t h = {.name = "ok"};
    coap_server_add(x.t.srv, "/fetcher", COAP_RES_VERIFY_SOURCE, COAP_METHOD_BIT(COAP_POST), h_rec,
                    &h, NULL);
    unsigned ratio;
    coap_msg_t r = ask(&x, PEER, COAP_POST, "fetcher", NULL, 0, &ratio);
    ck_assert_uint_eq(r.code, COAP_UNAUTHORIZED);
    ck_assert_uint_le(ratio, 300);
    ck_assert_int_eq(h.calls, 0); /* nothing done for an unproven address */
    uint8_t echo[40];
    size_t elen = echo_of(&r, echo);
    r = ask(&x, OTHER, COAP_POST, "fetcher", echo, elen, NULL); /* another port's */
    ck_assert_uint_eq(r.code, COAP_UNAUTHORIZED);
    ck_assert_int_eq(h.calls, 0);
    r = ask(&x, PEER, COAP_POST, "fetcher", echo, elen, NULL);
    ck_assert_uint_eq(r.code, COAP_CONTENT);
    ck_assert_int_eq(h.calls, 1);
    r = ask(&x, PEER, COAP_POST, "fetcher", NULL, 0, NULL); /* remembered */
    ck_assert_int_eq(h.calls, 2);
    /* a resource without the flag is unchanged: a small answer, no Echo */
    ask(&x, OTHER, COAP_POST, "act", NULL, 0, NULL);
    ck_assert_int_eq(x.hact.calls, 1);
    st_free(&x.t);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("server_echo");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, large_answer_needs_echo);
    tcase_add_test(tc, wrong_stale_or_foreign_echo_is_refused);
    tcase_add_test(tc, small_answers_and_errors_unchanged);
    tcase_add_test(tc, first_block_counts);
    tcase_add_test(tc, verified_table_is_bounded);
    tcase_add_test(tc, verified_transport_needs_none);
    tcase_add_test(tc, unsafe_answer_in_small_blocks);
    tcase_add_test(tc, client_follows_echo);
    tcase_add_test(tc, client_follows_once);
    tcase_add_test(tc, client_follows_new_values);
    tcase_add_test(tc, verify_source_before_the_handler);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
