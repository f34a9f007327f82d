/*
 * Unit tests for the message layer (RFC 7252 §4) on a simulated network:
 * CON retransmission, ACK/RST, duplicate detection, separate responses on
 * the server side, malformed datagrams.
 */
#include "coap_ep.h"
#include "simnet.h"
#include "simsrv.h"
#include "testutil.h"

#include <check.h>
#include <string.h>

static void send_get(simnet_t *n, int from, int to, coap_type_t type, sim_sent_t *s)
{
    coap_msg_t m;
    coap_msg_init(&m, type, COAP_GET, 0);
    const uint8_t tok[4] = {1, 2, 3, 4};
    coap_msg_set_token(&m, tok, 4);
    coap_msg_add_str(&m, COAP_OPT_URI_PATH, "x");
    ck_assert_int_eq(coap_ep_send(sim_ep(n, from), sim_addr(n, to), &m, sim_on_sent, s, NULL),
                     COAP_OK);
}

static void respond_hello(sim_srv_t *s, coap_ep_req_t *req, const coap_msg_t *m)
{
    (void)m;
    coap_msg_t r;
    sim_resp(&r, COAP_CONTENT, "hello", 5);
    ck_assert_int_eq(coap_ep_respond(s->ep, req, &r, NULL, NULL), COAP_OK);
}

/* --- §4.2 retransmission --- */

/* Checks the transmissions of one CON that nobody answers: 1 + max_rt
 * copies of the same datagram, the first gap in [lo, hi], each later gap
 * doubled (§4.2), give-up after the last timeout. Returns the first gap. */
static uint64_t check_backoff(simnet_t *n, int from, int to, unsigned max_rt, uint64_t lo,
                              uint64_t hi, const sim_sent_t *s)
{
    ck_assert_uint_eq(sim_count(n, from, to, COAP_CON, SIM_ANY), max_rt + 1);
    const sim_dgram_t *first = sim_nth(n, 0, from, to, COAP_CON, SIM_ANY);
    const sim_dgram_t *prev = first;
    uint64_t gap0 = sim_nth(n, 1, from, to, COAP_CON, SIM_ANY)->t - first->t;
    ck_assert_uint_ge(gap0, lo);
    ck_assert_uint_le(gap0, hi);
    for (unsigned i = 1; i <= max_rt; i++) {
        const sim_dgram_t *d = sim_nth(n, i, from, to, COAP_CON, SIM_ANY);
        ck_assert_uint_eq(d->t - prev->t, gap0 << (i - 1));
        ck_assert_uint_eq(d->len, first->len); /* the same datagram, same MID */
        ck_assert_mem_eq(d->bytes, first->bytes, first->len);
        prev = d;
    }
    ck_assert_int_eq(s->calls, 1);
    ck_assert_int_eq(s->result, COAP_ERR_TIMEOUT);
    ck_assert_uint_eq(s->t - prev->t, gap0 << max_rt);
    return gap0;
}

START_TEST(con_retransmit_timing)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    n.nodes[a].rng = 0x12345u + (uint32_t)_i * 7919u; /* one seed per iteration */
    int hole = sim_add_raw(&n, NULL, NULL);
    sim_sent_t s = {0};
    send_get(&n, a, hole, COAP_CON, &s);
    sim_run_for(&n, 200000);
    /* ACK_TIMEOUT 2 s, ACK_RANDOM_FACTOR 1.5, MAX_RETRANSMIT 4 (§4.8) */
    check_backoff(&n, a, hole, 4, 2000, 3000, &s);
    const coap_ep_stats_t *st = coap_ep_stats(sim_ep(&n, a));
    ck_assert_uint_eq(st->retransmissions, 4);
    ck_assert_uint_eq(st->timeouts, 1);
    ck_assert_uint_eq(st->tx, 5);
    sim_free(&n);
}
END_TEST

/* The random draw spans exactly [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR]. */
START_TEST(con_timeout_bounds)
{
    const uint32_t draw[2] = {0, 1000};
    const uint64_t want[2] = {2000, 3000};
    for (int k = 0; k < 2; k++) {
        simnet_t n;
        sim_init(&n);
        int a = sim_add_ep(&n, NULL);
        n.nodes[a].rand_fixed = 1;
        n.nodes[a].rand_value = draw[k];
        int hole = sim_add_raw(&n, NULL, NULL);
        sim_sent_t s = {0};
        send_get(&n, a, hole, COAP_CON, &s);
        sim_run_for(&n, 200000);
        ck_assert_uint_eq(check_backoff(&n, a, hole, 4, 0, 100000, &s), want[k]);
        sim_free(&n);
    }
}
END_TEST

/* Transmission parameters are per endpoint. */
START_TEST(con_custom_params)
{
    simnet_t n;
    sim_init(&n);
    coap_ep_params_t p = {.ack_timeout_ms = 500, .ack_random_factor = 1.0f, .max_retransmit = 2};
    int fast = sim_add_ep(&n, &p);
    p.ack_random_factor = 2.0f;
    int wide = sim_add_ep(&n, &p);
    int dflt = sim_add_ep(&n, NULL);
    int hole = sim_add_raw(&n, NULL, NULL);
    ck_assert_uint_eq(coap_ep_params(sim_ep(&n, fast))->ack_timeout_ms, 500);
    ck_assert_uint_eq(coap_ep_params(sim_ep(&n, fast))->max_retransmit, 2);
    ck_assert_uint_eq(coap_ep_params(sim_ep(&n, dflt))->max_retransmit, 4);
    sim_sent_t s1 = {0}, s2 = {0}, s3 = {0};
    uint64_t t0 = n.now;
    send_get(&n, fast, hole, COAP_CON, &s1);
    send_get(&n, wide, hole, COAP_CON, &s2);
    send_get(&n, dflt, hole, COAP_CON, &s3);
    sim_run_for(&n, 200000);
    /* factor 1.0: 0, 500, 1500, give up at 3500 */
    check_backoff(&n, fast, hole, 2, 500, 500, &s1);
    ck_assert_uint_eq(s1.t - t0, 3500);
    check_backoff(&n, wide, hole, 2, 500, 1000, &s2);
    check_backoff(&n, dflt, hole, 4, 2000, 3000, &s3);
    sim_free(&n);
}
END_TEST

/* --- ACK, RST (§4.2, §4.3) --- */

START_TEST(ack_and_rst_to_our_con)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    int b = sim_add_raw(&n, NULL, NULL);
    coap_addr_t stranger;
    coap_addr_from_host(&stranger, "10.9.9.9", COAP_DEFAULT_PORT);
    sim_sent_t s1 = {0}, s2 = {0}, s3 = {0};
    send_get(&n, a, b, COAP_CON, &s1);
    send_get(&n, a, b, COAP_CON, &s2);
    send_get(&n, a, b, COAP_NON, &s3);
    sim_run_for(&n, 100);
    uint16_t mid1 = sim_nth(&n, 0, a, b, COAP_CON, COAP_GET)->msg.mid;
    uint16_t mid2 = sim_nth(&n, 1, a, b, COAP_CON, COAP_GET)->msg.mid;
    uint16_t mid3 = sim_nth(&n, 0, a, b, COAP_NON, COAP_GET)->msg.mid;
    ck_assert_uint_ne(mid1, mid2);
    /* An ACK with the right MID from another address matches nothing. */
    uint8_t ack[4] = {0x60, 0, (uint8_t)(mid1 >> 8), (uint8_t)mid1};
    sim_send_raw(&n, &stranger, a, ack, 4);
    sim_run_for(&n, 100);
    ck_assert_int_eq(s1.calls, 0);
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&n, a))->unexpected, 1);
    /* The peer's empty ACK ends the retransmission. */
    sim_send_raw(&n, sim_addr(&n, b), a, ack, 4);
    uint8_t rst[4] = {0x70, 0, (uint8_t)(mid2 >> 8), (uint8_t)mid2};
    sim_send_raw(&n, sim_addr(&n, b), a, rst, 4);
    uint8_t rst3[4] = {0x70, 0, (uint8_t)(mid3 >> 8), (uint8_t)mid3};
    sim_send_raw(&n, sim_addr(&n, b), a, rst3, 4);
    sim_run_for(&n, 100000);
    ck_assert_int_eq(s1.calls, 1);
    ck_assert_int_eq(s1.result, COAP_OK);
    ck_assert_int_eq(s1.code, -1);
    ck_assert_int_eq(s2.result, COAP_ERR_RESET);
    ck_assert_int_eq(s3.result, COAP_ERR_RESET); /* a NON sent with a callback hears of RST */
    ck_assert_uint_eq(sim_count(&n, a, b, COAP_CON, COAP_GET), 2); /* no retransmission */
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&n, a))->rst_rx, 2);
    sim_free(&n);
}
END_TEST

/* A NON sent with a callback: COAP_OK after ACK_TIMEOUT without RST. */
START_TEST(non_without_rst)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    int b = sim_add_raw(&n, NULL, NULL);
    sim_sent_t s = {0};
    uint64_t t0 = n.now;
    send_get(&n, a, b, COAP_NON, &s);
    sim_run_for(&n, 100000);
    ck_assert_int_eq(s.result, COAP_OK);
    ck_assert_uint_ge(s.t - t0, 2000);
    ck_assert_uint_le(s.t - t0, 3000);
    ck_assert_uint_eq(sim_count(&n, a, b, SIM_ANY, SIM_ANY), 1); /* NONs are not retransmitted */
    sim_free(&n);
}
END_TEST

START_TEST(ping_answered_with_rst)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    int r = sim_add_raw(&n, NULL, NULL);
    sim_send_hex(&n, r, a, "40001234"); /* empty CON: a "ping" (§4.3) */
    sim_run_idle(&n);
    const sim_dgram_t *d = sim_last(&n);
    ck_assert_int_eq(d->from, a);
    ck_assert_int_eq(d->msg.type, COAP_RST);
    ck_assert_int_eq(d->msg.code, 0);
    ck_assert_uint_eq(d->msg.mid, 0x1234);
    ck_assert_uint_eq(d->len, 4);
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&n, a))->rst_tx, 1);
    sim_free(&n);
}
END_TEST

/* §4.2: a CON the endpoint has no context for (a response to nothing) is
 * rejected with RST; so is a NON response (§4.3, RFC 7641 §3.6). */
START_TEST(unexpected_response_rst)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    int r = sim_add_raw(&n, NULL, NULL);
    sim_send_hex(&n, r, a, "44452222 AABBCCDD FF 6869");
    sim_run_idle(&n);
    const sim_dgram_t *d = sim_last(&n);
    ck_assert_int_eq(d->from, a);
    ck_assert_int_eq(d->msg.type, COAP_RST);
    ck_assert_uint_eq(d->msg.mid, 0x2222);
    sim_send_hex(&n, r, a, "54453333 AABBCCDD");
    sim_run_idle(&n);
    ck_assert_uint_eq(sim_last(&n)->msg.mid, 0x3333);
    ck_assert_int_eq(sim_last(&n)->msg.type, COAP_RST);
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&n, a))->unexpected, 2);
    sim_free(&n);
}
END_TEST

/* §4.2: an ACK or RST that matches nothing is silently ignored. */
START_TEST(unexpected_ack_rst_ignored)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    int r = sim_add_raw(&n, NULL, NULL);
    sim_send_hex(&n, r, a, "60000007");
    sim_send_hex(&n, r, a, "70000008");
    sim_send_hex(&n, r, a, "64450009 01020304"); /* a piggybacked response to nothing */
    sim_run_idle(&n);
    ck_assert_uint_eq(sim_count(&n, a, SIM_ANY, SIM_ANY, SIM_ANY), 0);
    const coap_ep_stats_t *st = coap_ep_stats(sim_ep(&n, a));
    ck_assert_uint_eq(st->unexpected, 3);
    ck_assert_uint_eq(st->rst_rx, 1);
    ck_assert_uint_eq(st->rx, 3);
    sim_free(&n);
}
END_TEST

/* --- duplicate detection (§4.5) --- */

/* An answer longer than the 32 bytes a dedup entry holds itself
 * (DEDUP_REPLY_INLINE): remembered in a copy of its own. */
static void respond_long(sim_srv_t *s, coap_ep_req_t *req, const coap_msg_t *m)
{
    (void)m;
    static const char body[200] = "a body longer than the inline answer";
    coap_msg_t r;
    sim_resp(&r, COAP_CONTENT, body, sizeof body);
    ck_assert_int_eq(coap_ep_respond(s->ep, req, &r, NULL, NULL), COAP_OK);
}

/* The server's piggybacked ACK is lost; the client retransmits; the server
 * sends the same ACK again without running its handler twice: a short
 * answer (kept in the dedup entry) and a long one (kept on the heap). */
START_TEST(lost_ack)
{
    sim_srv_fn respond[] = {respond_hello, respond_long};
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    sim_srv_t srv;
    sim_srv_init(&srv, &n, NULL, respond[_i], NULL);
    sim_rule(&n, srv.node, a, COAP_ACK, SIM_ANY, SIM_DROP, 0, 1);
    sim_sent_t s = {0};
    send_get(&n, a, srv.node, COAP_CON, &s);
    sim_run_for(&n, 10000);
    ck_assert_int_eq(srv.calls, 1);
    ck_assert_uint_eq(sim_count(&n, a, srv.node, COAP_CON, COAP_GET), 2);
    ck_assert_uint_eq(sim_count(&n, srv.node, a, COAP_ACK, COAP_CONTENT), 2);
    const sim_dgram_t *d1 = sim_nth(&n, 0, srv.node, a, COAP_ACK, SIM_ANY);
    const sim_dgram_t *d2 = sim_nth(&n, 1, srv.node, a, COAP_ACK, SIM_ANY);
    ck_assert(d1->dropped && !d2->dropped);
    ck_assert_uint_eq(d1->len, d2->len);
    ck_assert(_i ? d1->len > 32 : d1->len <= 32);
    ck_assert_mem_eq(d1->bytes, d2->bytes, d1->len);
    ck_assert_uint_eq(coap_ep_stats(srv.ep)->duplicates, 1);
    ck_assert_int_eq(s.calls, 1);
    ck_assert_int_eq(s.result, COAP_OK);
    ck_assert_int_eq(s.code, COAP_CONTENT);
    sim_free(&n);
}
END_TEST

START_TEST(dedup_con_lifetime)
{
    simnet_t n;
    sim_init(&n);
    int r = sim_add_raw(&n, NULL, NULL);
    sim_srv_t srv;
    sim_srv_init(&srv, &n, NULL, respond_hello, NULL);
    const char *req = "4401 0064 0A0B0C0D B178"; /* CON GET mid 100 /x */
    uint64_t t0 = n.now;
    sim_send_hex(&n, r, srv.node, req);
    sim_run_idle(&n);
    ck_assert_int_eq(srv.calls, 1);
    const sim_dgram_t *first = sim_nth(&n, 0, srv.node, r, COAP_ACK, COAP_CONTENT);
    ck_assert_ptr_nonnull(first);
    ck_assert_uint_eq(first->msg.mid, 100);
    sim_run_until(&n, t0 + 1000);
    sim_send_hex(&n, r, srv.node, req);
    sim_run_until(&n, t0 + 246000); /* still inside EXCHANGE_LIFETIME (247 s) */
    sim_send_hex(&n, r, srv.node, req);
    sim_run_idle(&n);
    ck_assert_int_eq(srv.calls, 1);
    ck_assert_uint_eq(sim_count(&n, srv.node, r, COAP_ACK, COAP_CONTENT), 3);
    const sim_dgram_t *third = sim_nth(&n, 2, srv.node, r, COAP_ACK, COAP_CONTENT);
    ck_assert_mem_eq(third->bytes, sim_nth(&n, 0, srv.node, r, COAP_ACK, SIM_ANY)->bytes,
                     third->len);
    ck_assert_uint_eq(coap_ep_stats(srv.ep)->duplicates, 2);
    /* Past the lifetime the same MID is a new message. */
    sim_run_until(&n, t0 + 247000 + 10);
    sim_send_hex(&n, r, srv.node, req);
    sim_run_idle(&n);
    ck_assert_int_eq(srv.calls, 2);
    ck_assert_uint_eq(coap_ep_stats(srv.ep)->duplicates, 2);
    sim_free(&n);
}
END_TEST

START_TEST(dedup_non_lifetime)
{
    simnet_t n;
    sim_init(&n);
    int r = sim_add_raw(&n, NULL, NULL);
    sim_srv_t srv;
    sim_srv_init(&srv, &n, NULL, respond_hello, NULL);
    const char *req = "5401 00C8 0A0B0C0D B178"; /* NON GET mid 200 */
    uint64_t t0 = n.now;
    sim_send_hex(&n, r, srv.node, req);
    sim_run_idle(&n);
    ck_assert_int_eq(srv.calls, 1);
    ck_assert_uint_eq(sim_count(&n, srv.node, r, COAP_NON, COAP_CONTENT), 1); /* §5.2.3 */
    sim_run_until(&n, t0 + 144000); /* NON_LIFETIME is 145 s */
    sim_send_hex(&n, r, srv.node, req);
    sim_run_idle(&n);
    ck_assert_int_eq(srv.calls, 1);
    ck_assert_uint_eq(sim_count(&n, srv.node, r, SIM_ANY, SIM_ANY), 1); /* silently ignored */
    ck_assert_uint_eq(coap_ep_stats(srv.ep)->duplicates, 1);
    sim_run_until(&n, t0 + 145000 + 10);
    sim_send_hex(&n, r, srv.node, req);
    sim_run_idle(&n);
    ck_assert_int_eq(srv.calls, 2);
    sim_free(&n);
}
END_TEST

/* A duplicate of a CON whose response is not ready gets the empty ACK at
 * once (§4.5, §5.2.2); after the separate response, still the empty ACK. */
START_TEST(dedup_pending_gets_empty_ack)
{
    simnet_t n;
    sim_init(&n);
    int r = sim_add_raw(&n, NULL, NULL);
    sim_srv_t srv;
    sim_srv_init(&srv, &n, NULL, NULL, NULL);    /* holds every request */
    const char *req = "4401 012C 0A0B0C0D B178"; /* CON GET mid 300 */
    uint64_t t0 = n.now;
    sim_send_hex(&n, r, srv.node, req);
    sim_run_until(&n, t0 + 100);
    ck_assert_ptr_nonnull(srv.held);
    ck_assert_uint_eq(sim_count(&n, srv.node, r, SIM_ANY, SIM_ANY), 0);
    sim_send_hex(&n, r, srv.node, req);
    sim_run_until(&n, t0 + 2000);
    ck_assert_int_eq(srv.calls, 1);
    ck_assert_uint_eq(sim_count(&n, srv.node, r, COAP_ACK, 0), 1); /* no second one at 500 ms */
    const sim_dgram_t *ack = sim_nth(&n, 0, srv.node, r, COAP_ACK, 0);
    ck_assert_uint_eq(ack->t, t0 + 100 + n.latency_ms);
    ck_assert_uint_eq(ack->msg.mid, 300);
    coap_msg_t resp;
    sim_resp(&resp, COAP_CONTENT, "late", 4);
    ck_assert_int_eq(coap_ep_respond(srv.ep, srv.held, &resp, NULL, NULL), COAP_OK);
    sim_run_for(&n, 100);
    const sim_dgram_t *sep = sim_nth(&n, 0, srv.node, r, COAP_CON, COAP_CONTENT);
    ck_assert_ptr_nonnull(sep);
    ck_assert_uint_ne(sep->msg.mid, 300);
    ck_assert_mem_eq(sep->msg.token, "\x0A\x0B\x0C\x0D", 4);
    sim_send_hex(&n, r, srv.node, req);
    sim_run_for(&n, 100);
    ck_assert_uint_eq(sim_count(&n, srv.node, r, COAP_ACK, 0), 2);
    ck_assert_int_eq(srv.calls, 1);
    sim_free(&n);
}
END_TEST

/* --- malformed datagrams (§3, §4.2) --- */

static const struct {
    const char *hex;
    int rst; /* a CON whose header is readable is rejected with RST */
} malformed[] = {
    {"40", 0},                           /* shorter than the header: dropped */
    {"400100", 0},                       /* ditto */
    {"80010010", 0},                     /* version 2: silently ignored */
    {"C0010011", 0},                     /* version 3 */
    {"49010012 0102030405060708 09", 1}, /* TKL 9 */
    {"44010013 AABB", 1},                /* token runs past the end */
    {"40010014 F0", 1},                  /* option delta nibble 15 */
    {"40010015 1F", 1},                  /* option length nibble 15 */
    {"40010016 B56162", 1},              /* option value runs past the end */
    {"40010017 D0", 1},                  /* extended delta missing */
    {"40010018 FF", 1},                  /* payload marker, no payload */
    {"41000019 AA", 1},                  /* empty message with a token */
    {"4000001A FF01", 1},                /* empty message with a payload */
    {"4001001B E0FFFF", 1},              /* option number above 65535 */
    {"5001001C F0", 0},                  /* NON: ignored, never RST */
    {"6045001D F0", 0},                  /* ACK: ignored */
    {"7000001E 01", 0},                  /* RST that is not empty */
};

START_TEST(malformed_counted)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    int r = sim_add_raw(&n, NULL, NULL);
    sim_send_hex(&n, r, a, malformed[_i].hex);
    sim_run_idle(&n);
    const coap_ep_stats_t *st = coap_ep_stats(sim_ep(&n, a));
    ck_assert_uint_eq(st->malformed, 1);
    ck_assert_uint_eq(st->rx, 1);
    ck_assert_uint_eq(sim_count(&n, a, r, SIM_ANY, SIM_ANY), (size_t)malformed[_i].rst);
    if (malformed[_i].rst) {
        const sim_dgram_t *d = sim_last(&n);
        ck_assert_int_eq(d->msg.type, COAP_RST);
        ck_assert_uint_eq(d->len, 4);
        ck_assert_uint_eq(d->msg.mid, n.log[0].msg.mid);
        ck_assert_uint_eq(st->rst_tx, 1);
    }
    sim_free(&n);
}
END_TEST

START_TEST(malformed_too_many_options)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    int r = sim_add_raw(&n, NULL, NULL);
    uint8_t b[4 + COAP_MSG_MAX_OPTS + 1] = {0x40, COAP_GET, 0x00, 0x42};
    memset(b + 4, 0x10, sizeof b - 4); /* 49 empty options, delta 1 each */
    sim_send_raw(&n, sim_addr(&n, r), a, b, sizeof b);
    sim_run_idle(&n);
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&n, a))->malformed, 1);
    ck_assert_int_eq(sim_last(&n)->msg.type, COAP_RST);
    ck_assert_uint_eq(sim_last(&n)->msg.mid, 0x42);
    sim_free(&n);
}
END_TEST

START_TEST(oversized_dropped)
{
    simnet_t n;
    sim_init(&n);
    coap_ep_params_t p = {.max_datagram = 100};
    int a = sim_add_ep(&n, &p);
    int d = sim_add_ep(&n, NULL);
    int r = sim_add_raw(&n, NULL, NULL);
    uint8_t b[1600] = {0x40, COAP_GET, 0x00, 0x01, 0xFF};
    memset(b + 5, 'x', sizeof b - 5);
    sim_send_raw(&n, sim_addr(&n, r), a, b, 101);
    sim_send_raw(&n, sim_addr(&n, r), d, b, 1501); /* default limit 1500 */
    sim_run_idle(&n);
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&n, a))->oversized, 1);
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&n, d))->oversized, 1);
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&n, a))->malformed, 0);
    ck_assert_uint_eq(sim_count(&n, SIM_ANY, r, SIM_ANY, SIM_ANY), 0);
    /* at the limit it is read: a request without a handler gets RST */
    sim_send_raw(&n, sim_addr(&n, r), a, b, 100);
    sim_run_idle(&n);
    ck_assert_uint_eq(coap_ep_stats(sim_ep(&n, a))->oversized, 1);
    ck_assert_int_eq(sim_last(&n)->msg.type, COAP_RST);
    sim_free(&n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("endpoint");
    TCase *tc = tcase_create("retransmission");
    tcase_add_loop_test(tc, con_retransmit_timing, 0, 20);
    tcase_add_test(tc, con_timeout_bounds);
    tcase_add_test(tc, con_custom_params);
    suite_add_tcase(s, tc);
    tc = tcase_create("ack_rst");
    tcase_add_test(tc, ack_and_rst_to_our_con);
    tcase_add_test(tc, non_without_rst);
    tcase_add_test(tc, ping_answered_with_rst);
    tcase_add_test(tc, unexpected_response_rst);
    tcase_add_test(tc, unexpected_ack_rst_ignored);
    suite_add_tcase(s, tc);
    tc = tcase_create("dedup");
    tcase_add_loop_test(tc, lost_ack, 0, 2);
    tcase_add_test(tc, dedup_con_lifetime);
    tcase_add_test(tc, dedup_non_lifetime);
    tcase_add_test(tc, dedup_pending_gets_empty_ack);
    suite_add_tcase(s, tc);
    tc = tcase_create("malformed");
    tcase_add_loop_test(tc, malformed_counted, 0, (int)(sizeof malformed / sizeof malformed[0]));
    tcase_add_test(tc, malformed_too_many_options);
    tcase_add_test(tc, oversized_dropped);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
