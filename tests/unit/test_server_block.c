/*
 * Unit tests for the block-wise server (RFC 7959) against our client and
 * hand-built messages on a simulated network: Block2 slicing and size
 * negotiation (§2.4), Block1 reassembly (§2.5) tied by peer, URI and
 * Request-Tag (RFC 9175 §3), 4.08 and 4.13 (§2.9), and the stored
 * response of an unsafe request fetched with Block2 (§2.7). Also the
 * client's side of a Block2 transfer cut short.
 */
#include "server_internal.h"
#include "srvnet.h"

#include <check.h>
#include <string.h>

#define BIG 5000

static uint8_t big[BIG], other[BIG];

static void fill(void)
{
    for (size_t i = 0; i < BIG; i++) {
        big[i] = (uint8_t)(i * 7 + i / 251);
        other[i] = (uint8_t)(i * 3 + 1);
    }
}

/* GET: the whole representation every time (the server slices it). */
typedef struct {
    const uint8_t *body;
    size_t len;
    uint8_t code;
    int calls;
} rep_t;

static void h_rep(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    rep_t *r = arg;
    r->calls++;
    coap_server_response_t resp = COAP_RESPONSE(r->code ? r->code : COAP_CONTENT);
    resp.payload = r->body;
    resp.payload_len = r->len;
    resp.content_format = 42;
    ck_assert_int_eq(coap_server_respond(srv, req->id, &resp), COAP_OK);
}

/* A GET from the raw node for block `num` of size szx of `path`. */
static coap_msg_t raw_block2(st_t *t, uint8_t method, const char *path, uint16_t mid, uint32_t num,
                             unsigned szx)
{
    coap_msg_t m;
    raw_init(&m, COAP_CON, method, mid, (uint8_t)mid);
    raw_path(&m, path);
    coap_block_add(&m, COAP_OPT_BLOCK2, num, 0, szx);
    return raw_ask(t, &m);
}

static void check_block2c(const coap_msg_t *r, uint8_t code, const uint8_t *body, size_t total,
                          uint32_t num, unsigned szx)
{
    size_t bs = coap_block_size(szx), off = num * bs;
    size_t n = total - off < bs ? total - off : bs;
    coap_block_info_t b;
    ck_assert_int_eq(r->code, code);
    ck_assert_int_eq(coap_block_get(r, COAP_OPT_BLOCK2, &b), 1);
    ck_assert_uint_eq(b.num, num);
    ck_assert_uint_eq(b.szx, szx);
    ck_assert_int_eq(b.more, off + n < total);
    ck_assert_uint_eq(r->payload_len, n);
    ck_assert_mem_eq(r->payload, body + off, n);
    if (num == 0)
        ck_assert_uint_eq(opt_u(r, COAP_OPT_SIZE2), total);
    else
        ck_assert(!has_opt(r, COAP_OPT_SIZE2));
}

static void check_block2(const coap_msg_t *r, const uint8_t *body, size_t total, uint32_t num,
                         unsigned szx)
{
    check_block2c(r, COAP_CONTENT, body, total, num, szx);
}

/* --- Block2, §2.4 --- */

START_TEST(block2_client)
{
    fill();
    coap_server_params_t sp = {.block_szx = _i ? 4 : 0};
    st_t t;
    st_init(&t, NULL, &sp);
    rep_t r = {.body = big, .len = BIG};
    coap_server_add(t.srv, "/big", 0, COAP_METHODS_READ, h_rep, &r, NULL);
    sim_rec_t k;
    st_get(&t, "big", &k);
    ck_assert_int_eq(k.err, COAP_OK);
    ck_assert_uint_eq(k.body_len, BIG);
    ck_assert_mem_eq(k.body, big, BIG);
    size_t bs = _i ? 256 : 1024, blocks = (BIG + bs - 1) / bs;
    ck_assert_uint_eq(sim_count(&t.n, t.cli, t.srvn, COAP_CON, COAP_GET), blocks);
    ck_assert_int_eq(r.calls, (int)blocks);
    coap_msg_t first = sim_nth(&t.n, 0, t.srvn, t.cli, COAP_ACK, COAP_CONTENT)->msg;
    check_block2(&first, big, BIG, 0, _i ? 4 : 6);
    ck_assert_uint_eq(opt_u(&first, COAP_OPT_CONTENT_FORMAT), 42);
    /* early negotiation: the client asks for 64-byte blocks */
    coap_req_t *req = st_req(&t, COAP_GET, "big");
    coap_req_set_block_szx(req, 2, 1);
    memset(&k, 0, sizeof k);
    size_t before = sim_count(&t.n, t.cli, t.srvn, COAP_CON, COAP_GET);
    st_do(&t, req, &k);
    ck_assert_uint_eq(k.body_len, BIG);
    ck_assert_mem_eq(k.body, big, BIG);
    ck_assert_uint_eq(sim_count(&t.n, t.cli, t.srvn, COAP_CON, COAP_GET) - before, (BIG + 63) / 64);
    st_free(&t);
}
END_TEST

START_TEST(block2_raw)
{
    fill();
    st_t t;
    st_init(&t, NULL, NULL);
    rep_t r = {.body = big, .len = BIG};
    coap_server_add(t.srv, "/big", 0, COAP_METHODS_READ, h_rep, &r, NULL);
    coap_msg_t a = raw_block2(&t, COAP_GET, "big", 1, 3, 2);
    check_block2(&a, big, BIG, 3, 2);
    a = raw_block2(&t, COAP_GET, "big", 2, 0, 2); /* early negotiation */
    check_block2(&a, big, BIG, 0, 2);
    a = raw_block2(&t, COAP_GET, "big", 3, 78, 2); /* the last one: 8 bytes */
    check_block2(&a, big, BIG, 78, 2);
    ck_assert_uint_eq(a.payload_len, 8);
    a = raw_block2(&t, COAP_GET, "big", 4, 4, 6);
    check_block2(&a, big, BIG, 4, 6);
    /* §2.4: a block beyond the end */
    a = raw_block2(&t, COAP_GET, "big", 5, 5, 6);
    ck_assert_int_eq(a.code, COAP_BAD_OPTION);
    a = raw_block2(&t, COAP_GET, "big", 6, 79, 2);
    ck_assert_int_eq(a.code, COAP_BAD_OPTION);
    rep_t even = {.body = big, .len = 4096};
    coap_server_add(t.srv, "/even", 0, COAP_METHODS_READ, h_rep, &even, NULL);
    a = raw_block2(&t, COAP_GET, "even", 7, 4, 6); /* starts right at the end */
    ck_assert_int_eq(a.code, COAP_BAD_OPTION);
    a = raw_block2(&t, COAP_GET, "even", 8, 3, 6);
    check_block2(&a, big, 4096, 3, 6);
    /* a small representation asked with Block2: one block, M = 0 */
    rep_t small = {.body = big, .len = 10};
    coap_server_add(t.srv, "/small", 0, COAP_METHODS_READ, h_rep, &small, NULL);
    a = raw_block2(&t, COAP_GET, "small", 9, 0, 2);
    check_block2(&a, big, 10, 0, 2);
    st_free(&t);

    /* a client asking for more than the server's size gets the server's
     * size, at the same offset */
    coap_server_params_t sp = {.block_szx = 4};
    st_init(&t, NULL, &sp);
    coap_server_add(t.srv, "/big", 0, COAP_METHODS_READ, h_rep, &r, NULL);
    a = raw_block2(&t, COAP_GET, "big", 1, 1, 6);
    check_block2(&a, big, BIG, 4, 4);
    st_free(&t);
}
END_TEST

/* --- Block1, §2.5 --- */

static hrec_t up_rec(void)
{
    hrec_t h = {.resp = COAP_RESPONSE(COAP_CHANGED)};
    return h;
}

START_TEST(block1_client)
{
    fill();
    st_t t;
    st_init(&t, NULL, NULL);
    hrec_t h = up_rec();
    coap_server_add(t.srv, "/up", 0, COAP_METHOD_BIT(COAP_POST), h_rec, &h, NULL);
    coap_req_t *req = st_req(&t, COAP_POST, "up");
    coap_req_set_payload(req, big, 3000);
    coap_req_set_content_format(req, 42);
    coap_req_set_block_szx(req, 5, 0);
    sim_rec_t k = {0};
    st_do(&t, req, &k);
    ck_assert_int_eq(k.err, COAP_OK);
    ck_assert_int_eq(k.code, COAP_CHANGED);
    ck_assert_int_eq(h.calls, 1);
    ck_assert_uint_eq(h.payload_len, 3000);
    ck_assert_mem_eq(h.payload, big, 3000);
    ck_assert_int_eq(h.cf, 42);
    ck_assert_uint_eq(sim_count(&t.n, t.cli, t.srvn, COAP_CON, COAP_POST), 6);
    ck_assert_uint_eq(sim_count(&t.n, t.srvn, t.cli, COAP_ACK, COAP_CONTINUE), 5);
    for (uint32_t i = 0; i < 6; i++) {
        coap_msg_t m = sim_nth(&t.n, i, t.srvn, t.cli, COAP_ACK, SIM_ANY)->msg;
        ck_assert_int_eq(m.code, i < 5 ? COAP_CONTINUE : COAP_CHANGED);
        coap_block_info_t b;
        ck_assert_int_eq(coap_block_get(&m, COAP_OPT_BLOCK1, &b), 1);
        ck_assert_uint_eq(b.num, i);
        ck_assert_int_eq(b.more, i < 5);
        ck_assert_uint_eq(b.szx, 5);
    }
    ck_assert_ptr_null(t.srv->uploads);
    st_free(&t);
}
END_TEST

/* One block of an upload from `src`: Request-Tag `tag` (NULL: none), its
 * own token and message ID. */
static coap_msg_t send_b1(st_t *t, const coap_addr_t *src, uint16_t mid, const char *tag,
                          size_t tag_len, const uint8_t *body, size_t total, uint32_t num,
                          int size1)
{
    size_t bs = 512, off = num * bs, n = total - off < bs ? total - off : bs;
    coap_msg_t m;
    raw_init(&m, COAP_CON, COAP_POST, mid, (uint8_t)(mid * 31)); /* a new token every block */
    raw_path(&m, "up");
    coap_block_add(&m, COAP_OPT_BLOCK1, num, off + n < total, 5);
    if (size1) coap_msg_add_uint(&m, COAP_OPT_SIZE1, (uint32_t)total);
    if (tag) coap_msg_add_opt(&m, COAP_OPT_REQUEST_TAG, tag, tag_len);
    m.payload = body + off;
    m.payload_len = n;
    return raw_ask_as(t, src, &m);
}

/* Blocks belong together by peer, URI and Request-Tag, whatever their
 * tokens (libcoap's client takes a new token for every block). */
START_TEST(block1_tokens_change)
{
    fill();
    st_t t;
    st_init(&t, NULL, NULL);
    hrec_t h = up_rec();
    coap_server_add(t.srv, "/up", 0, COAP_METHOD_BIT(COAP_POST), h_rec, &h, NULL);
    const coap_addr_t *me = sim_addr(&t.n, t.raw);
    for (uint32_t i = 0; i < 6; i++) {
        coap_msg_t a = send_b1(&t, me, (uint16_t)(100 + i), "\x00\x07", 2, big, 3000, i, 0);
        ck_assert_int_eq(a.code, i < 5 ? COAP_CONTINUE : COAP_CHANGED);
        coap_block_info_t b;
        ck_assert_int_eq(coap_block_get(&a, COAP_OPT_BLOCK1, &b), 1);
        ck_assert_uint_eq(b.num, i);
        ck_assert_int_eq(b.more, i < 5);
    }
    ck_assert_int_eq(h.calls, 1);
    ck_assert_uint_eq(h.payload_len, 3000);
    ck_assert_mem_eq(h.payload, big, 3000);
    /* another peer cannot continue this peer's upload */
    coap_addr_t stranger;
    coap_addr_from_host(&stranger, "10.0.0.99", 5683);
    ck_assert_int_eq(send_b1(&t, me, 200, "T", 1, big, 3000, 0, 0).code, COAP_CONTINUE);
    ck_assert_int_eq(send_b1(&t, &stranger, 201, "T", 1, big, 3000, 1, 0).code,
                     COAP_REQUEST_ENTITY_INCOMPLETE);
    /* nor does the same URI with another tag, or with none */
    ck_assert_int_eq(send_b1(&t, me, 202, "U", 1, big, 3000, 1, 0).code,
                     COAP_REQUEST_ENTITY_INCOMPLETE);
    ck_assert_int_eq(send_b1(&t, me, 203, NULL, 0, big, 3000, 1, 0).code,
                     COAP_REQUEST_ENTITY_INCOMPLETE);
    ck_assert_int_eq(send_b1(&t, me, 204, "T", 1, big, 3000, 1, 0).code, COAP_CONTINUE);
    ck_assert_int_eq(h.calls, 1);
    st_free(&t);
}
END_TEST

/* Two uploads to one URI at once, kept apart by their Request-Tags. Tags
 * are opaque: also ones with a zero byte in them (_i == 1). */
START_TEST(block1_request_tags_apart)
{
    fill();
    st_t t;
    st_init(&t, NULL, NULL);
    hrec_t h = up_rec();
    coap_server_add(t.srv, "/up", 0, COAP_METHOD_BIT(COAP_POST), h_rec, &h, NULL);
    const coap_addr_t *me = sim_addr(&t.n, t.raw);
    static const char *const tags[3][2] = {
        {"\x01", "\x02"}, {"\x00\x01", "\x00\x02"}, {"tag-a", NULL}};
    static const size_t lens[3][2] = {{1, 1}, {2, 2}, {5, 0}};
    const char *ta = tags[_i][0], *tb = tags[_i][1];
    uint16_t mid = 1;
    for (uint32_t i = 0; i < 6; i++) {
        coap_msg_t a = send_b1(&t, me, mid++, ta, lens[_i][0], big, 3000, i, i == 0);
        ck_assert_int_eq(a.code, i < 5 ? COAP_CONTINUE : COAP_CHANGED);
        if (i == 5) {
            ck_assert_int_eq(h.calls, 1);
            ck_assert_uint_eq(h.payload_len, 3000);
            ck_assert_mem_eq(h.payload, big, 3000);
        }
        coap_msg_t b = send_b1(&t, me, mid++, tb, lens[_i][1], other, 2600, i, i == 0);
        ck_assert_int_eq(b.code, i < 5 ? COAP_CONTINUE : COAP_CHANGED);
    }
    ck_assert_uint_eq(h.payload_len, 2600);
    ck_assert_mem_eq(h.payload, other, 2600);
    ck_assert_int_eq(h.calls, 2);
    st_free(&t);

    /* the same, checking the first body when it completes */
    st_init(&t, NULL, NULL);
    h = up_rec();
    coap_server_add(t.srv, "/up", 0, COAP_METHOD_BIT(COAP_POST), h_rec, &h, NULL);
    me = sim_addr(&t.n, t.raw);
    for (uint32_t i = 0; i < 6; i++) send_b1(&t, me, mid++, tb, lens[_i][1], other, 3000, i, 0);
    ck_assert_int_eq(h.calls, 1);
    ck_assert_mem_eq(h.payload, other, 3000);
    for (uint32_t i = 0; i < 6; i++) {
        send_b1(&t, me, mid++, ta, lens[_i][0], big, 3000, i, 0);
        if (i < 3) send_b1(&t, me, mid++, tb, lens[_i][1], other, 3000, i, 0);
    }
    ck_assert_int_eq(h.calls, 2);
    ck_assert_uint_eq(h.payload_len, 3000);
    ck_assert_mem_eq(h.payload, big, 3000);
    st_free(&t);
}
END_TEST

/* §2.9.2: a block that does not continue what came before: 4.08. */
START_TEST(block1_out_of_order)
{
    fill();
    st_t t;
    st_init(&t, NULL, NULL);
    hrec_t h = up_rec();
    coap_server_add(t.srv, "/up", 0, COAP_METHOD_BIT(COAP_POST), h_rec, &h, NULL);
    const coap_addr_t *me = sim_addr(&t.n, t.raw);
    ck_assert_int_eq(send_b1(&t, me, 1, "t", 1, big, 3000, 0, 0).code, COAP_CONTINUE);
    coap_msg_t a = send_b1(&t, me, 2, "t", 1, big, 3000, 2, 0);
    ck_assert_int_eq(a.code, COAP_REQUEST_ENTITY_INCOMPLETE);
    ck_assert_int_eq(send_b1(&t, me, 3, "s", 1, big, 3000, 1, 0).code,
                     COAP_REQUEST_ENTITY_INCOMPLETE); /* never started */
    /* the upload can go on from where it was */
    for (uint32_t i = 1; i < 6; i++) send_b1(&t, me, (uint16_t)(10 + i), "t", 1, big, 3000, i, 0);
    ck_assert_int_eq(h.calls, 1);
    ck_assert_mem_eq(h.payload, big, 3000);
    st_free(&t);
}
END_TEST

/* §2.9.3: over max_upload (or announced over it with Size1): 4.13 with
 * Size1 = the limit. */
START_TEST(block1_too_large)
{
    fill();
    coap_server_params_t sp = {.max_upload = 2000};
    st_t t;
    st_init(&t, NULL, &sp);
    hrec_t h = up_rec();
    coap_server_add(t.srv, "/up", 0, COAP_METHOD_BIT(COAP_POST), h_rec, &h, NULL);
    coap_req_t *req = st_req(&t, COAP_POST, "up");
    coap_req_set_payload(req, big, 3000);
    coap_req_set_block_szx(req, 5, 0); /* Size1 3000 in the first block */
    sim_rec_t k = {0};
    st_do(&t, req, &k);
    ck_assert_int_eq(k.code, COAP_REQUEST_ENTITY_TOO_LARGE);
    ck_assert_uint_eq(opt_u(&sim_last(&t.n)->msg, COAP_OPT_SIZE1), 2000);
    ck_assert_uint_eq(sim_count(&t.n, t.cli, t.srvn, COAP_CON, COAP_POST), 1);
    /* without Size1: the block that crosses the limit */
    const coap_addr_t *me = sim_addr(&t.n, t.raw);
    for (uint32_t i = 0; i < 3; i++)
        ck_assert_int_eq(send_b1(&t, me, (uint16_t)(1 + i), "t", 1, big, 3000, i, 0).code,
                         COAP_CONTINUE);
    coap_msg_t a = send_b1(&t, me, 4, "t", 1, big, 3000, 3, 0);
    ck_assert_int_eq(a.code, COAP_REQUEST_ENTITY_TOO_LARGE);
    ck_assert_uint_eq(opt_u(&a, COAP_OPT_SIZE1), 2000);
    ck_assert_ptr_null(t.srv->uploads); /* given up */
    /* a whole body in one datagram is held to the limit too */
    coap_server_params_t sp2 = {.max_upload = 500};
    st_t t2;
    st_init(&t2, NULL, &sp2);
    hrec_t h2 = up_rec();
    coap_server_add(t2.srv, "/up", 0, COAP_METHOD_BIT(COAP_POST), h_rec, &h2, NULL);
    req = st_req(&t2, COAP_POST, "up");
    coap_req_set_payload(req, big, 800);
    memset(&k, 0, sizeof k);
    st_do(&t2, req, &k);
    ck_assert_int_eq(k.code, COAP_REQUEST_ENTITY_TOO_LARGE);
    ck_assert_uint_eq(opt_u(&sim_last(&t2.n)->msg, COAP_OPT_SIZE1), 500);
    ck_assert_int_eq(h2.calls, 0);
    st_free(&t2);
    /* under the limit it works */
    for (uint32_t i = 0; i < 4; i++) send_b1(&t, me, (uint16_t)(10 + i), "t", 1, big, 1900, i, 1);
    ck_assert_int_eq(h.calls, 1);
    ck_assert_uint_eq(h.payload_len, 1900);
    st_free(&t);
}
END_TEST

/* An empty body sent as Block1 num 0 (one packet from anyone): the
 * handler gets it, nothing copies from or to NULL (the sanitizer build
 * aborted on memcpy(NULL, NULL, 0)). */
START_TEST(block1_empty_payload)
{
    st_t t;
    st_init(&t, NULL, NULL);
    hrec_t h = up_rec();
    coap_server_add(t.srv, "/up", 0, COAP_METHOD_BIT(COAP_POST), h_rec, &h, NULL);
    coap_msg_t m;
    raw_init(&m, COAP_CON, COAP_POST, 1, 1);
    raw_path(&m, "up");
    coap_block_add(&m, COAP_OPT_BLOCK1, 0, 0, 0);
    coap_msg_t a = raw_ask(&t, &m);
    ck_assert_int_eq(a.code, COAP_CHANGED);
    ck_assert_int_eq(h.calls, 1);
    ck_assert_uint_eq(h.payload_len, 0);
    /* and as the first of more blocks, then data */
    const coap_addr_t *me = sim_addr(&t.n, t.raw);
    raw_init(&m, COAP_CON, COAP_POST, 2, 2);
    raw_path(&m, "up");
    coap_block_add(&m, COAP_OPT_BLOCK1, 0, 1, 0);
    ck_assert_int_eq(raw_ask_as(&t, me, &m).code, COAP_CONTINUE);
    ck_assert_ptr_nonnull(t.srv->uploads);
    st_free(&t);
}
END_TEST

/* A resource's own limit, below the server's: 4.13 with Size1 = that
 * limit as soon as Size1 announces more or the blocks pass it, before the
 * handler runs; other resources keep the server's limit. */
START_TEST(block1_resource_limit)
{
    fill();
    st_t t;
    st_init(&t, NULL, NULL);
    hrec_t h = up_rec(), h2 = up_rec();
    coap_server_resource_t *r =
        coap_server_add(t.srv, "/up", 0, COAP_METHOD_BIT(COAP_POST), h_rec, &h, NULL);
    coap_server_add(t.srv, "/big", 0, COAP_METHOD_BIT(COAP_POST), h_rec, &h2, NULL);
    coap_resource_set_max_upload(r, 1000);
    const coap_addr_t *me = sim_addr(&t.n, t.raw);
    coap_msg_t a = send_b1(&t, me, 1, "a", 1, big, 3000, 0, 1); /* Size1 3000 */
    ck_assert_int_eq(a.code, COAP_REQUEST_ENTITY_TOO_LARGE);
    ck_assert_uint_eq(opt_u(&a, COAP_OPT_SIZE1), 1000);
    ck_assert_int_eq(send_b1(&t, me, 2, "b", 1, big, 3000, 0, 0).code, COAP_CONTINUE);
    a = send_b1(&t, me, 3, "b", 1, big, 3000, 1, 0);
    ck_assert_int_eq(a.code, COAP_REQUEST_ENTITY_TOO_LARGE); /* 1024 bytes in */
    ck_assert_uint_eq(opt_u(&a, COAP_OPT_SIZE1), 1000);
    ck_assert_ptr_null(t.srv->uploads);
    ck_assert_int_eq(h.calls, 0);
    /* one datagram over the limit */
    coap_req_t *req = st_req(&t, COAP_POST, "up");
    coap_req_set_payload(req, big, 1200);
    sim_rec_t k = {0};
    st_do(&t, req, &k);
    ck_assert_int_eq(k.code, COAP_REQUEST_ENTITY_TOO_LARGE);
    ck_assert_int_eq(h.calls, 0);
    /* under it, and another resource, work */
    for (uint32_t i = 0; i < 2; i++) send_b1(&t, me, (uint16_t)(10 + i), "c", 1, big, 900, i, 1);
    ck_assert_int_eq(h.calls, 1);
    ck_assert_uint_eq(h.payload_len, 900);
    req = st_req(&t, COAP_POST, "big");
    coap_req_set_payload(req, big, 3000);
    coap_req_set_block_szx(req, 5, 0);
    memset(&k, 0, sizeof k);
    st_do(&t, req, &k);
    ck_assert_int_eq(k.code, COAP_CHANGED);
    ck_assert_uint_eq(h2.payload_len, 3000);
    st_free(&t);
}
END_TEST

/* --- the response of an unsafe request, fetched with Block2 (§2.7) --- */

/* Every run of the action answers something else. */
static void h_rot(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    rep_t *r = arg;
    coap_server_response_t resp = COAP_RESPONSE(COAP_CHANGED);
    resp.payload = r->body + 100 * r->calls++;
    resp.payload_len = r->len;
    ck_assert_int_eq(coap_server_respond(srv, req->id, &resp), COAP_OK);
}

START_TEST(post_response_in_blocks)
{
    fill();
    st_t t;
    st_init(&t, NULL, NULL);
    rep_t r = {.body = big, .len = 3000};
    coap_server_add(t.srv, "/act", 0, COAP_METHOD_BIT(COAP_POST), h_rot, &r, NULL);
    for (int round = 0; round < 3; round++) {
        coap_req_t *req = st_req(&t, COAP_POST, "act");
        if (round == 0) coap_req_set_payload(req, "go", 2);
        if (round == 1) coap_req_set_block_szx(req, 2, 1); /* early negotiation */
        if (round == 2) {                                  /* a Block1 upload first */
            coap_req_set_payload(req, other, 3000);
            coap_req_set_block_szx(req, 5, 0);
        }
        sim_rec_t k = {0};
        size_t before = sim_count(&t.n, t.cli, t.srvn, COAP_CON, COAP_POST);
        st_do(&t, req, &k);
        ck_assert_int_eq(k.err, COAP_OK);
        ck_assert_int_eq(k.code, COAP_CHANGED);
        ck_assert_uint_eq(k.body_len, 3000);
        ck_assert_mem_eq(k.body, big + 100 * round, 3000); /* this run's answer, whole */
        ck_assert_int_eq(r.calls, round + 1);              /* the action ran once */
        size_t posts = sim_count(&t.n, t.cli, t.srvn, COAP_CON, COAP_POST) - before;
        ck_assert_uint_eq(posts, round == 1 ? (3000 + 63) / 64 : round == 2 ? 6 + 2 : 3);
        /* the later requests: same method, no payload, Block2 num > 0 */
        const sim_dgram_t *last =
            sim_nth(&t.n, before + posts - 1, t.cli, t.srvn, COAP_CON, COAP_POST);
        coap_block_info_t b;
        ck_assert_int_eq(coap_block_get(&last->msg, COAP_OPT_BLOCK2, &b), 1);
        ck_assert_uint_gt(b.num, 0);
        ck_assert_uint_eq(last->msg.payload_len, 0);
        ck_assert(!has_opt(&last->msg, COAP_OPT_BLOCK1));
    }
    st_free(&t);
}
END_TEST

START_TEST(late_block2_without_stored_response)
{
    fill();
    coap_server_params_t sp = {.max_uploads = 2}; /* also bounds the stored responses */
    st_t t;
    st_init(&t, NULL, &sp);
    rep_t r = {.body = big, .len = 3000, .code = COAP_CHANGED};
    coap_server_add(t.srv, "/act", COAP_RES_PREFIX, COAP_METHOD_BIT(COAP_POST), h_rep, &r, NULL);
    coap_msg_t a = raw_block2(&t, COAP_POST, "act", 1, 1, 6);
    ck_assert_int_eq(a.code, COAP_REQUEST_ENTITY_INCOMPLETE);
    ck_assert_int_eq(r.calls, 0);
    /* three transfers begun, room for two: the oldest goes */
    static const char *const paths[] = {"act/1", "act/2", "act/3"};
    for (int i = 0; i < 3; i++) {
        coap_msg_t m;
        raw_init(&m, COAP_CON, COAP_POST, (uint16_t)(10 + i), 1);
        raw_path(&m, paths[i]);
        a = raw_ask(&t, &m);
        ck_assert_int_eq(a.code, COAP_CHANGED);
        ck_assert_uint_eq(a.payload_len, 1024);
    }
    a = raw_block2(&t, COAP_POST, "act/3", 20, 1, 6);
    check_block2c(&a, COAP_CHANGED, big, 3000, 1, 6);
    a = raw_block2(&t, COAP_POST, "act/2", 21, 2, 6);
    check_block2c(&a, COAP_CHANGED, big, 3000, 2, 6);
    a = raw_block2(&t, COAP_POST, "act/1", 22, 1, 6);
    ck_assert_int_eq(a.code, COAP_REQUEST_ENTITY_INCOMPLETE);
    ck_assert_int_eq(r.calls, 3);
    st_free(&t);
}
END_TEST

/* --- the client: a Block2 transfer cut short --- */

static uint8_t served[2048];

static void cut_fn(sim_srv_t *s, coap_ep_req_t *req, const coap_msg_t *m)
{
    coap_block_info_t b = {0, 0, 6};
    coap_block_get(m, COAP_OPT_BLOCK2, &b);
    coap_msg_t r;
    if (b.num == 0) {
        sim_resp(&r, COAP_CONTENT, served, 1024);
        coap_block_add(&r, COAP_OPT_BLOCK2, 0, 1, 6);
    } else if (*(int *)s->arg == 0) { /* the rest without Block2 */
        sim_resp(&r, COAP_CONTENT, served + 1024, 1024);
    } else { /* an error */
        sim_resp(&r, COAP_REQUEST_ENTITY_INCOMPLETE, NULL, 0);
    }
    ck_assert_int_eq(coap_ep_respond(s->ep, req, &r, NULL, NULL), COAP_OK);
}

START_TEST(client_block2_cut_short)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    int mode = _i;
    sim_srv_t s;
    sim_srv_init(&s, &n, NULL, cut_fn, &mode);
    sim_rec_t k = {0};
    ck_assert_int_eq(coap_req_send(sim_req(&n, a, s.node, COAP_GET, "x"), sim_on_resp, &k),
                     COAP_OK);
    sim_run_idle(&n);
    ck_assert_int_eq(s.calls, 2);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(k.err, COAP_ERR_BLOCK);
    ck_assert_uint_eq(k.body_len, 0);
    sim_free(&n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("server_block");
    TCase *tc = tcase_create("block");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, block2_client, 0, 2);
    tcase_add_test(tc, block2_raw);
    tcase_add_test(tc, block1_client);
    tcase_add_test(tc, block1_tokens_change);
    tcase_add_loop_test(tc, block1_request_tags_apart, 0, 3);
    tcase_add_test(tc, block1_out_of_order);
    tcase_add_test(tc, block1_too_large);
    tcase_add_test(tc, block1_empty_payload);
    tcase_add_test(tc, block1_resource_limit);
    tcase_add_test(tc, post_response_in_blocks);
    tcase_add_test(tc, late_block2_without_stored_response);
    tcase_add_loop_test(tc, client_block2_cut_short, 0, 2);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
