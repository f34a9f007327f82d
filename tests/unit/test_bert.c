/*
 * Unit tests for BERT (RFC 8323 §6) over loopback TCP: both sides announce
 * Block-Wise-Transfer (§5.3.2) -> SZX 7 blocks of several 1024-byte units
 * both ways, the last one shorter; one side does not -> RFC 7959 blocks
 * of 1024 bytes; Max-Message-Size (the peer's, and our own) bounds the
 * units per block; SZX 7 from a peer that did not announce it, or over
 * UDP, is a 4.00.
 */
#include "bertfx.h"
#include "coap_block.h"
#include "coap_server.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

/* What the server saw: handler calls, the largest Block2 SZX asked and
 * the Block1 SZX of an upload's last block. */
static int gets, max_b2_szx, b1_szx;

static void h_big(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    (void)arg;
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    coap_block_info_t b;
    if (coap_block_get_bert(req->msg, COAP_OPT_BLOCK2, &b, 1) == 1 && b.szx > max_b2_szx)
        max_b2_szx = b.szx;
    b1_szx = coap_block_get_bert(req->msg, COAP_OPT_BLOCK1, &b, 1) == 1 ? b.szx : -1;
    if (req->method == COAP_PUT) { /* the whole upload, echoed */
        r.code = COAP_CHANGED;
        r.payload = req->payload;
        r.payload_len = req->payload_len;
    } else {
        gets++;
        r.payload = body;
        r.payload_len = body_len;
    }
    coap_server_respond(srv, req->id, &r);
}

typedef struct {
    coap_ep_t *ep;
    coap_server_t *srv;
    coap_addr_t addr;
} server_t;

static coap_server_params_t srv_params; /* zero: the defaults */

static void server_open(server_t *s, const coap_tcp_params_t *p)
{
    coap_addr_t any;
    coap_addr_parse(&any, "127.0.0.1:0", 0);
    int err;
    coap_transport_t *tr = p ? coap_transport_tcp_new(&any, p, &err) : NULL;
    s->ep = tr ? coap_ep_new_on(tr, NULL, &err) : coap_ep_new(&any, NULL, &err);
    ck_assert_ptr_nonnull(s->ep);
    ck_assert_int_eq(coap_ep_local_addr(s->ep, &s->addr), COAP_OK);
    s->srv = coap_server_new(s->ep, &srv_params);
    unsigned m = COAP_METHODS_READ | COAP_METHOD_BIT(COAP_PUT);
    coap_server_add(s->srv, "/big", 0, m, h_big, NULL, NULL);
    gets = max_b2_szx = 0;
}

static void server_close(server_t *s)
{
    coap_server_free(s->srv);
    coap_ep_free(s->ep);
}

static int raw_block1 = -1;

/* method on /big (PUT: body_len bytes of body), run to its end. b2: -1,
 * no Block2 in the request; 6, 1024-byte blocks asked for up front
 * (RFC 7959 §2.4); 7, a raw Block2 0/BERT option. */
static void exchange(coap_ep_t *c, server_t *s, uint8_t method, int b2)
{
    char uri[80];
    snprintf(uri, sizeof uri, "coap%s://127.0.0.1:%u/big",
             coap_ep_transport(c)->ops->reliable ? "+tcp" : "", coap_addr_port(&s->addr));
    int err;
    coap_req_t *req = coap_req_new(c, method, uri, &s->addr, &err);
    ck_assert_ptr_nonnull(req);
    memset(&res, 0, sizeof res);
    if (method == COAP_PUT) coap_req_set_payload(req, body, body_len);
    if (raw_block1 >= 0) { /* a Block1 option of the test's own, not the client's */
        uint8_t v = (uint8_t)raw_block1;
        coap_req_add_option(req, COAP_OPT_BLOCK1, &v, 1);
    }
    if (b2 == 6) coap_req_set_block_szx(req, 6, 1);
    if (b2 == COAP_BLOCK_BERT) {
        uint8_t v = COAP_BLOCK_BERT;
        coap_req_add_option(req, COAP_OPT_BLOCK2, &v, 1);
    }
    coap_req_set_progress(req, on_progress, &res);
    ck_assert_int_eq(coap_req_send(req, on_resp, &res), COAP_OK);
    run(c, s->ep, &res.done, 5000);
    ck_assert_int_eq(res.done, 1);
}

/* The body came back whole, in n blocks (upload or download) of `each`
 * bytes but the last, which is `last` bytes. */
static void check_blocks(int upload, unsigned n, size_t each, size_t last)
{
    ck_assert_int_eq(res.err, COAP_OK);
    ck_assert_uint_eq(res.len, body_len);
    ck_assert_mem_eq(res.data, body, body_len);
    ck_assert_uint_eq(res.nblocks[upload], n);
    for (unsigned i = 0; i + 1 < n; i++) ck_assert_uint_eq(res.block[upload][i], each);
    ck_assert_uint_eq(res.block[upload][n - 1], last);
}

START_TEST(both_announce_bert)
{
    server_t s;
    server_open(&s, &plain);
    coap_ep_t *c = client_open(&plain);
    /* 20000 bytes: (8192 - headers) / 1024 = 7 units a block, so two of
     * 7168 and a last one of 5664, not a whole number of units */
    fill_body(20000);
    /* the first upload on a new connection waits for the server's CSM
     * (RFC 8323 §3.3), so it too goes in BERT blocks */
    exchange(c, &s, COAP_PUT, -1);
    ck_assert_int_eq(res.code, COAP_CHANGED);
    check_blocks(1, 3, 7168, 5664);
    /* the echo comes down in BERT blocks (no Block2 asked for) */
    check_blocks(0, 3, 7168, 5664);
    /* the next upload knows the CSMs: BERT from its first block */
    exchange(c, &s, COAP_PUT, -1);
    check_blocks(1, 3, 7168, 5664);
    /* a GET: BERT blocks down, the later ones asked for with SZX 7 */
    exchange(c, &s, COAP_GET, -1);
    ck_assert_int_eq(res.code, COAP_CONTENT);
    check_blocks(0, 3, 7168, 5664);
    ck_assert_int_eq(gets, 3);
    ck_assert_int_eq(max_b2_szx, COAP_BLOCK_BERT);
    /* 64 KiB: 9 blocks of 7 units and a last one of 1 */
    fill_body(65536);
    exchange(c, &s, COAP_GET, -1);
    check_blocks(0, 10, 7168, 1024);
    /* a client asking for 1024 bytes (SZX 6) gets them, never BERT */
    fill_body(5000);
    exchange(c, &s, COAP_GET, 6);
    check_blocks(0, 5, 1024, 5000 - 4096);
    /* a BERT block with more to come must be whole units: 500 bytes
     * under Block1 0/M/BERT is a 4.00 */
    fill_body(500);
    raw_block1 = 0x08 | COAP_BLOCK_BERT;
    exchange(c, &s, COAP_PUT, -1);
    raw_block1 = -1;
    ck_assert_int_eq(res.code, COAP_BAD_REQUEST);
    coap_ep_free(c);
    server_close(&s);
}
END_TEST

/* One side leaves Block-Wise-Transfer out of its CSM: RFC 7959 blocks,
 * never SZX 7 (§6: "MUST NOT be used unless the peer has indicated
 * support"), whichever side it is. */
START_TEST(one_side_does_not_announce)
{
    coap_tcp_params_t off = plain;
    off.no_bert = 1;
    for (int side = 0; side < 2; side++) {
        server_t s;
        server_open(&s, side ? &off : &plain);
        coap_ep_t *c = client_open(side ? &plain : &off);
        fill_body(20000);
        exchange(c, &s, COAP_GET, -1);
        check_blocks(0, 20, 1024, 20000 - 19 * 1024);
        ck_assert_int_eq(gets, 20);
        ck_assert_int_eq(max_b2_szx, 6);
        exchange(c, &s, COAP_PUT, -1); /* the connection is up: still 1024 */
        check_blocks(1, 20, 1024, 20000 - 19 * 1024);
        /* a BERT Block2 asked for all the same: 4.00 */
        exchange(c, &s, COAP_GET, COAP_BLOCK_BERT);
        ck_assert_int_eq(res.code, COAP_BAD_REQUEST);
        coap_ep_free(c);
        server_close(&s);
    }
}
END_TEST

/* Max-Message-Size bounds the units of a block: the peer's (what it
 * takes), and our own (a peer announcing more does not make us build
 * larger messages than we take). */
START_TEST(max_message_bounds_units)
{
    coap_tcp_params_t small = plain;
    small.max_message = 3000; /* (3000 - headers) / 1024: 2 units */
    server_t s;
    server_open(&s, &plain);
    coap_ep_t *c = client_open(&small);
    fill_body(20000);
    exchange(c, &s, COAP_GET, -1); /* the server keeps to the client's 3000 */
    check_blocks(0, 10, 2048, 20000 - 9 * 2048);
    exchange(c, &s, COAP_PUT, -1); /* the client keeps to its own 3000 */
    check_blocks(1, 10, 2048, 20000 - 9 * 2048);
    const coap_tcp_stats_t *ss = coap_transport_tcp_stats(coap_ep_transport(s.ep));
    const coap_tcp_stats_t *cs = coap_transport_tcp_stats(coap_ep_transport(c));
    ck_assert_uint_eq(ss->too_large + cs->too_large + ss->aborts_tx + cs->aborts_tx, 0);
    coap_ep_free(c);
    server_close(&s);
}
END_TEST

/* A peer whose Max-Message-Size leaves room for one unit (1152, the base
 * value) gets an upload in RFC 7959 blocks of 1024 (SZX 6), not one-unit
 * BERT blocks, which libcoap 4.3.1 takes for the whole body. */
START_TEST(one_unit_uploads_without_bert)
{
    coap_tcp_params_t small = plain;
    small.max_message = 1152;
    server_t s;
    server_open(&s, &small);
    coap_ep_t *c = client_open(&plain);
    fill_body(5000);
    exchange(c, &s, COAP_PUT, -1);
    ck_assert_int_eq(res.code, COAP_CHANGED);
    check_blocks(1, 5, 1024, 5000 - 4096);
    ck_assert_int_eq(b1_szx, 6);
    exchange(c, &s, COAP_PUT, -1); /* the same over the open connection */
    check_blocks(1, 5, 1024, 5000 - 4096);
    ck_assert_int_eq(b1_szx, 6);
    coap_ep_free(c);
    server_close(&s);
}
END_TEST

/* An upload in BERT blocks counts against max_upload like any other:
 * 4.13 with Size1 once its blocks pass it (RFC 7959 §2.9.3). */
START_TEST(bert_upload_bounded)
{
    srv_params.max_upload = 10000;
    server_t s;
    server_open(&s, &plain);
    srv_params.max_upload = 0;
    coap_ep_t *c = client_open(&plain);
    fill_body(5000);
    exchange(c, &s, COAP_GET, -1); /* the CSMs cross */
    fill_body(20000);
    exchange(c, &s, COAP_PUT, -1);
    ck_assert_int_eq(res.code, COAP_REQUEST_ENTITY_TOO_LARGE);
    ck_assert_uint_eq(res.nblocks[1], 0); /* refused at the first block: Size1 says 20000 */
    coap_ep_free(c);
    server_close(&s);
}
END_TEST

/* The first upload on a new connection waits for the server's CSM and
 * takes its block size from it: BERT after one announcing
 * Block-Wise-Transfer, 1024 bytes after one that does not. */
START_TEST(first_upload_after_csm)
{
    coap_tcp_params_t off = plain;
    off.no_bert = 1;
    fill_body(65536);
    for (int side = 0; side < 2; side++) {
        server_t s;
        server_open(&s, side ? &off : &plain);
        coap_ep_t *c = client_open(&plain);
        exchange(c, &s, COAP_PUT, -1);
        ck_assert_int_eq(res.code, COAP_CHANGED);
        if (side)
            check_blocks(1, 64, 1024, 1024);
        else
            check_blocks(1, 10, 7168, 1024); /* 9 of 7 units and 1 */
        ck_assert_int_eq(b1_szx, side ? 6 : COAP_BLOCK_BERT);
        coap_ep_free(c);
        server_close(&s);
    }
}
END_TEST

/* RFC 7959 §2.2 reserves SZX 7: over UDP it is a malformed option. */
START_TEST(szx7_over_udp_is_bad_request)
{
    server_t s;
    server_open(&s, NULL);
    coap_ep_t *c = client_open(NULL);
    fill_body(3000);
    exchange(c, &s, COAP_GET, COAP_BLOCK_BERT);
    ck_assert_int_eq(res.code, COAP_BAD_REQUEST);
    exchange(c, &s, COAP_GET, -1); /* ordinary blocks still */
    check_blocks(0, 3, 1024, 3000 - 2048);
    coap_ep_free(c);
    server_close(&s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("bert");
    TCase *tc = tcase_create("bert");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, both_announce_bert);
    tcase_add_test(tc, one_side_does_not_announce);
    tcase_add_test(tc, max_message_bounds_units);
    tcase_add_test(tc, bert_upload_bounded);
    tcase_add_test(tc, one_unit_uploads_without_bert);
    tcase_add_test(tc, first_upload_after_csm);
    tcase_add_test(tc, szx7_over_udp_is_bad_request);
    suite_add_tcase(su, tc);
    return run_suite(su);
}
