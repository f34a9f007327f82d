/*
 * Unit tests for block-wise transfers in the client (RFC 7959) on a
 * simulated network: Block2 reassembly, size negotiation, ETag changes and
 * the body limit; Block1 uploads, 2.31 Continue, smaller sizes from the
 * server and 4.13 Request Entity Too Large.
 */
#include "coap_block.h"
#include "coap_client.h"
#include "simnet.h"
#include "simsrv.h"

#include <check.h>
#include <string.h>

#define BODY 5000

typedef struct {
    sim_srv_t srv;
    uint8_t body[BODY];
    size_t len;
    unsigned max_szx; /* the server's largest block */
    uint8_t etag;     /* 0: no ETag */
    int change_at;    /* the ETag changes before this block is served... */
    int changes;      /* ...this many times */
    int size2;        /* send Size2 with block 0 */
    /* Block1 side */
    size_t max_whole; /* 4.13 to a bigger request without Block1 */
    int size1;        /* put Size1 = max_whole in that 4.13 */
    int tl_at;        /* 4.13 (Size1 = max_whole) to this Block1 number, -1: never */
    uint8_t got[BODY];
    size_t got_len;
    int done;
} bsrv_t;

static void fill(uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(i * 7 + i / 251);
}

static void block2_fn(sim_srv_t *s, coap_ep_req_t *req, const coap_msg_t *m)
{
    bsrv_t *b = s->arg;
    coap_block_info_t rq = {0, 0, 6};
    coap_block_get(m, COAP_OPT_BLOCK2, &rq);
    unsigned szx = rq.szx < b->max_szx ? rq.szx : b->max_szx;
    coap_block_info_t blk = {(uint32_t)(coap_block_offset(&rq) / coap_block_size(szx)), 0,
                             (uint8_t)szx};
    if ((int)blk.num == b->change_at && b->changes > 0) {
        b->etag++;
        b->changes--;
    }
    size_t off = coap_block_offset(&blk), bs = coap_block_size(szx);
    ck_assert_uint_lt(off, b->len);
    coap_msg_t r;
    sim_resp(&r, COAP_CONTENT, b->body + off, b->len - off > bs ? bs : b->len - off);
    if (b->etag) coap_msg_add_opt(&r, COAP_OPT_ETAG, &b->etag, 1);
    coap_block_add(&r, COAP_OPT_BLOCK2, blk.num, off + bs < b->len, szx);
    if (b->size2 && blk.num == 0) coap_msg_add_uint(&r, COAP_OPT_SIZE2, (uint32_t)b->len);
    ck_assert_int_eq(coap_ep_respond(s->ep, req, &r, NULL, NULL), COAP_OK);
}

static void block1_fn(sim_srv_t *s, coap_ep_req_t *req, const coap_msg_t *m)
{
    bsrv_t *b = s->arg;
    coap_block_info_t rq;
    int has = coap_block_get(m, COAP_OPT_BLOCK1, &rq) == 1;
    coap_msg_t r;
    sim_resp(&r, COAP_CHANGED, NULL, 0);
    if ((!has && m->payload_len > b->max_whole) || (has && (int)rq.num == b->tl_at)) {
        /* §2.9.3: too large; maybe with the size that fits, and a block size */
        r.code = COAP_REQUEST_ENTITY_TOO_LARGE;
        if (b->size1 || has) coap_msg_add_uint(&r, COAP_OPT_SIZE1, (uint32_t)b->max_whole);
        if (!has) coap_block_add(&r, COAP_OPT_BLOCK1, 0, 0, b->max_szx);
    } else if (!has) {
        memcpy(b->got, m->payload, m->payload_len);
        b->got_len = m->payload_len;
        b->done = 1;
    } else {
        size_t off = coap_block_offset(&rq);
        ck_assert_uint_le(off + m->payload_len, BODY);
        ck_assert_uint_eq(off, b->got_len); /* in order, no gap */
        memcpy(b->got + off, m->payload, m->payload_len);
        b->got_len = off + m->payload_len;
        /* §2.3: the server's block size wins when it is smaller */
        unsigned szx = rq.szx < b->max_szx ? rq.szx : b->max_szx;
        if (rq.more)
            r.code = COAP_CONTINUE;
        else
            b->done = 1;
        coap_block_add(&r, COAP_OPT_BLOCK1, rq.num, rq.more, szx);
    }
    ck_assert_int_eq(coap_ep_respond(s->ep, req, &r, NULL, NULL), COAP_OK);
}

static void setup(simnet_t *n, bsrv_t *b, sim_srv_fn fn)
{
    sim_init(n);
    sim_add_ep(n, NULL); /* the client: node 0 */
    fill(b->body, BODY);
    if (!b->len) b->len = BODY;
    if (!b->max_szx) b->max_szx = 6;
    sim_srv_init(&b->srv, n, NULL, fn, b);
}

static coap_req_t *get(simnet_t *n, bsrv_t *b)
{
    return sim_req(n, 0, b->srv.node, COAP_GET, "big");
}

/* The Block2 option of the i-th GET on the wire. */
static int wire_block2(simnet_t *n, bsrv_t *b, size_t i, coap_block_info_t *out)
{
    const sim_dgram_t *d = sim_nth(n, i, 0, b->srv.node, COAP_CON, COAP_GET);
    ck_assert_ptr_nonnull(d);
    return coap_block_get(&d->msg, COAP_OPT_BLOCK2, out);
}

static void check_body(const sim_rec_t *k, const bsrv_t *b)
{
    ck_assert_int_eq(k->calls, 1);
    ck_assert_int_eq(k->err, COAP_OK);
    ck_assert_int_eq(k->code, COAP_CONTENT);
    ck_assert_uint_eq(k->body_len, b->len);
    ck_assert_mem_eq(k->body, b->body, b->len);
}

/* --- Block2 (§2.4) --- */

START_TEST(block2_reassembled)
{
    simnet_t n;
    bsrv_t b = {0};
    setup(&n, &b, block2_fn);
    sim_rec_t k = {0};
    ck_assert_int_eq(coap_req_send(get(&n, &b), sim_on_resp, &k), COAP_OK);
    sim_run_idle(&n);
    check_body(&k, &b);
    ck_assert_uint_eq(sim_count(&n, 0, b.srv.node, COAP_CON, COAP_GET), 5); /* 4 x 1024 + 904 */
    coap_block_info_t blk;
    ck_assert_int_eq(wire_block2(&n, &b, 0, &blk), 0); /* no early negotiation by default */
    for (size_t i = 1; i < 5; i++) {
        ck_assert_int_eq(wire_block2(&n, &b, i, &blk), 1);
        ck_assert_uint_eq(blk.num, i);
        ck_assert_uint_eq(blk.szx, 6);
        ck_assert_uint_eq(blk.more, 0);
    }
    sim_free(&n);
}
END_TEST

START_TEST(block2_server_smaller)
{
    simnet_t n;
    bsrv_t b = {.max_szx = 4};
    setup(&n, &b, block2_fn);
    sim_rec_t k = {0};
    ck_assert_int_eq(coap_req_send(get(&n, &b), sim_on_resp, &k), COAP_OK);
    sim_run_idle(&n);
    check_body(&k, &b);
    ck_assert_uint_eq(sim_count(&n, 0, b.srv.node, COAP_CON, COAP_GET), (BODY + 255) / 256);
    coap_block_info_t blk;
    ck_assert_int_eq(wire_block2(&n, &b, 1, &blk), 1);
    ck_assert_uint_eq(blk.num, 1);
    ck_assert_uint_eq(blk.szx, 4);
    sim_free(&n);
}
END_TEST

/* §2.4: the client proposes a size in its first request. */
START_TEST(block2_early_negotiation)
{
    simnet_t n;
    bsrv_t b = {0};
    setup(&n, &b, block2_fn);
    sim_rec_t k = {0};
    coap_req_t *req = get(&n, &b);
    coap_req_set_block_szx(req, 2, 1);
    ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k), COAP_OK);
    sim_run_idle(&n);
    check_body(&k, &b);
    coap_block_info_t blk;
    ck_assert_int_eq(wire_block2(&n, &b, 0, &blk), 1);
    ck_assert_uint_eq(blk.num, 0);
    ck_assert_uint_eq(blk.szx, 2);
    ck_assert_uint_eq(sim_count(&n, 0, b.srv.node, COAP_CON, COAP_GET), (BODY + 63) / 64);
    sim_free(&n);
}
END_TEST

/* §2.4: a changed ETag means a new representation: start over once; a
 * second change fails the request. */
START_TEST(block2_etag_change)
{
    simnet_t n;
    bsrv_t b = {.etag = 1, .change_at = 2, .changes = 1};
    setup(&n, &b, block2_fn);
    sim_rec_t k = {0};
    ck_assert_int_eq(coap_req_send(get(&n, &b), sim_on_resp, &k), COAP_OK);
    sim_run_idle(&n);
    check_body(&k, &b);
    ck_assert_uint_eq(sim_count(&n, 0, b.srv.node, COAP_CON, COAP_GET), 3 + 5);
    coap_block_info_t blk;
    ck_assert_int_eq(wire_block2(&n, &b, 3, &blk), 0); /* the restart asks from the start */
    sim_free(&n);

    bsrv_t b2 = {.etag = 1, .change_at = 2, .changes = 2};
    setup(&n, &b2, block2_fn);
    sim_rec_t k2 = {0};
    ck_assert_int_eq(coap_req_send(get(&n, &b2), sim_on_resp, &k2), COAP_OK);
    sim_run_idle(&n);
    ck_assert_int_eq(k2.calls, 1);
    ck_assert_int_eq(k2.err, COAP_ERR_BLOCK);
    ck_assert_uint_eq(sim_count(&n, 0, b2.srv.node, COAP_CON, COAP_GET), 3 + 3);
    sim_free(&n);
}
END_TEST

START_TEST(block2_body_limit)
{
    simnet_t n;
    bsrv_t b = {.size2 = _i};
    setup(&n, &b, block2_fn);
    sim_rec_t k = {0};
    coap_req_t *req = get(&n, &b);
    coap_req_set_max_body(req, 2000);
    ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k), COAP_OK);
    sim_run_idle(&n);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(k.err, COAP_ERR_TOO_LARGE);
    ck_assert_int_eq(k.last, 1);
    /* with Size2 (§4) it stops after the first block; without, at the second */
    ck_assert_uint_eq(sim_count(&n, 0, b.srv.node, COAP_CON, COAP_GET), _i ? 1 : 2);
    sim_free(&n);
}
END_TEST

/* coap_req_set_timeout() bounds the whole transfer, not each block. */
START_TEST(block2_whole_exchange_timeout)
{
    simnet_t n;
    bsrv_t b = {0};
    setup(&n, &b, block2_fn);
    n.latency_ms = 400; /* 800 ms a block, 4 s for the five */
    sim_rec_t k = {0};
    coap_req_t *req = get(&n, &b);
    coap_req_set_timeout(req, 3000);
    uint64_t t0 = n.now;
    ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k), COAP_OK);
    sim_run_for(&n, 100000);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(k.err, COAP_ERR_TIMEOUT);
    ck_assert_uint_eq(k.t - t0, 3000);
    sim_free(&n);
}
END_TEST

/* --- Block1 (§2.5) --- */

static coap_req_t *put(simnet_t *n, bsrv_t *b, size_t len)
{
    coap_req_t *req = sim_req(n, 0, b->srv.node, COAP_PUT, "up");
    ck_assert_int_eq(coap_req_set_payload(req, b->body, len), COAP_OK);
    return req;
}

/* The Block1 option and payload size of the i-th PUT on the wire. */
static size_t wire_block1(simnet_t *n, bsrv_t *b, size_t i, coap_block_info_t *out)
{
    const sim_dgram_t *d = sim_nth(n, i, 0, b->srv.node, COAP_CON, COAP_PUT);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(coap_block_get(&d->msg, COAP_OPT_BLOCK1, out), 1);
    return d->msg.payload_len;
}

static void check_upload(const sim_rec_t *k, const bsrv_t *b, size_t len)
{
    ck_assert_int_eq(k->calls, 1);
    ck_assert_int_eq(k->err, COAP_OK);
    ck_assert_int_eq(k->code, COAP_CHANGED);
    ck_assert(b->done);
    ck_assert_uint_eq(b->got_len, len);
    ck_assert_mem_eq(b->got, b->body, len);
}

START_TEST(block1_upload)
{
    simnet_t n;
    bsrv_t b = {.max_whole = BODY, .tl_at = -1};
    setup(&n, &b, block1_fn);
    sim_rec_t k = {0};
    ck_assert_int_eq(coap_req_send(put(&n, &b, 3000), sim_on_resp, &k), COAP_OK);
    sim_run_idle(&n);
    check_upload(&k, &b, 3000);
    ck_assert_uint_eq(sim_count(&n, 0, b.srv.node, COAP_CON, COAP_PUT), 3);
    ck_assert_uint_eq(sim_count(&n, b.srv.node, 0, COAP_ACK, COAP_CONTINUE), 2);
    const size_t sizes[3] = {1024, 1024, 952};
    for (size_t i = 0; i < 3; i++) {
        coap_block_info_t blk;
        ck_assert_uint_eq(wire_block1(&n, &b, i, &blk), sizes[i]);
        ck_assert_uint_eq(blk.num, i);
        ck_assert_uint_eq(blk.more, i < 2);
        ck_assert_uint_eq(blk.szx, 6);
    }
    uint32_t size1 = 0; /* §4: Size1 announces the whole body on the first block */
    const coap_msg_t *first = &sim_nth(&n, 0, 0, b.srv.node, COAP_CON, COAP_PUT)->msg;
    ck_assert_int_eq(coap_msg_get_uint(first, COAP_OPT_SIZE1, &size1), 0);
    ck_assert_uint_eq(size1, 3000);
    sim_free(&n);
}
END_TEST

/* §2.3: a smaller SZX in the 2.31: the next block number comes from the
 * byte offset (1024 / 512 = 2). */
START_TEST(block1_server_smaller)
{
    simnet_t n;
    bsrv_t b = {.max_whole = BODY, .max_szx = 5, .tl_at = -1};
    setup(&n, &b, block1_fn);
    sim_rec_t k = {0};
    ck_assert_int_eq(coap_req_send(put(&n, &b, 3000), sim_on_resp, &k), COAP_OK);
    sim_run_idle(&n);
    check_upload(&k, &b, 3000);
    const uint32_t nums[5] = {0, 2, 3, 4, 5};
    const size_t sizes[5] = {1024, 512, 512, 512, 440};
    ck_assert_uint_eq(sim_count(&n, 0, b.srv.node, COAP_CON, COAP_PUT), 5);
    for (size_t i = 0; i < 5; i++) {
        coap_block_info_t blk;
        ck_assert_uint_eq(wire_block1(&n, &b, i, &blk), sizes[i]);
        ck_assert_uint_eq(blk.num, nums[i]);
        ck_assert_uint_eq(blk.szx, i ? 5 : 6);
    }
    sim_free(&n);
}
END_TEST

/* §2.9.3: 4.13 with Size1 below the body: it can never fit; the final
 * callback gets the 4.13 (a whole request, or in the middle of blocks). */
START_TEST(block1_too_large_final)
{
    simnet_t n;
    bsrv_t b = {.max_whole = 100, .size1 = 1, .tl_at = -1};
    setup(&n, &b, block1_fn);
    sim_rec_t k = {0};
    ck_assert_int_eq(coap_req_send(put(&n, &b, 600), sim_on_resp, &k), COAP_OK);
    sim_run_idle(&n);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(k.err, COAP_OK);
    ck_assert_int_eq(k.code, COAP_REQUEST_ENTITY_TOO_LARGE);
    ck_assert_uint_eq(sim_count(&n, 0, b.srv.node, COAP_CON, COAP_PUT), 1);
    sim_free(&n);

    bsrv_t b2 = {.max_whole = 2000, .tl_at = 1};
    setup(&n, &b2, block1_fn);
    sim_rec_t k2 = {0};
    ck_assert_int_eq(coap_req_send(put(&n, &b2, 3000), sim_on_resp, &k2), COAP_OK);
    sim_run_idle(&n);
    ck_assert_int_eq(k2.calls, 1);
    ck_assert_int_eq(k2.code, COAP_REQUEST_ENTITY_TOO_LARGE);
    ck_assert_uint_eq(sim_count(&n, 0, b2.srv.node, COAP_CON, COAP_PUT), 2);
    sim_free(&n);
}
END_TEST

/* §2.9.3: 4.13 to a request without Block1 and without Size1: retried
 * block-wise, at the size the 4.13's Block1 names. */
START_TEST(block1_too_large_retry)
{
    simnet_t n;
    bsrv_t b = {.max_whole = 256, .max_szx = 4, .tl_at = -1};
    setup(&n, &b, block1_fn);
    sim_rec_t k = {0};
    ck_assert_int_eq(coap_req_send(put(&n, &b, 600), sim_on_resp, &k), COAP_OK);
    sim_run_idle(&n);
    check_upload(&k, &b, 600);
    ck_assert_uint_eq(sim_count(&n, 0, b.srv.node, COAP_CON, COAP_PUT), 1 + 3);
    const sim_dgram_t *whole = sim_nth(&n, 0, 0, b.srv.node, COAP_CON, COAP_PUT);
    ck_assert_ptr_null(coap_msg_find_opt(&whole->msg, COAP_OPT_BLOCK1));
    ck_assert_uint_eq(whole->msg.payload_len, 600);
    coap_block_info_t blk;
    ck_assert_uint_eq(wire_block1(&n, &b, 1, &blk), 256);
    ck_assert_uint_eq(blk.szx, 4);
    ck_assert_uint_eq(wire_block1(&n, &b, 3, &blk), 88);
    ck_assert_uint_eq(blk.num, 2);
    ck_assert_uint_eq(blk.more, 0);
    sim_free(&n);
}
END_TEST

/* --- everything at once on a bad network --- */

static void mixed_fn(sim_srv_t *s, coap_ep_req_t *req, const coap_msg_t *m)
{
    if (m->code == COAP_PUT)
        block1_fn(s, req, m);
    else
        block2_fn(s, req, m);
}

/* Loss, duplication and reordering (one seed per iteration): every request
 * ends exactly once, with the whole body or with COAP_ERR_TIMEOUT. */
START_TEST(lossy_network)
{
    simnet_t n;
    bsrv_t b = {.max_whole = BODY, .tl_at = -1};
    setup(&n, &b, mixed_fn);
    n.loss_pct = 20;
    n.dup_pct = 10;
    n.jitter_ms = 300;
    n.rng = 0xC0FFEEu + (uint32_t)_i * 104729u;
    enum { NREQ = 6 };
    sim_rec_t k[NREQ] = {{0}};
    for (int i = 0; i < NREQ; i++) {
        coap_req_t *req = i == 0 ? put(&n, &b, 3000) : get(&n, &b);
        if (i == 2) coap_req_set_block_szx(req, 4, 1);
        if (i == 3) coap_req_set_confirmable(req, 0);
        ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k[i]), COAP_OK);
    }
    sim_run_for(&n, 3600 * 1000);
    int ok = 0;
    for (int i = 0; i < NREQ; i++) {
        ck_assert_int_eq(k[i].finals, 1);
        if (k[i].err == COAP_ERR_TIMEOUT) continue;
        ck_assert_int_eq(k[i].err, COAP_OK);
        ok++;
        if (i == 0) {
            ck_assert_int_eq(k[i].code, COAP_CHANGED);
            ck_assert_uint_eq(b.got_len, 3000);
            ck_assert_mem_eq(b.got, b.body, 3000);
        } else {
            ck_assert_uint_eq(k[i].body_len, b.len);
            ck_assert_mem_eq(k[i].body, b.body, b.len);
        }
    }
    ck_assert_int_ge(ok, NREQ - 2);
    ck_assert_uint_eq(coap_ep_next_deadline(sim_ep(&n, 0)), BASE_NEVER); /* nothing left */
    sim_free(&n);
}
END_TEST

/* --- progress (coap_req_set_progress) --- */

typedef struct {
    int calls;
    coap_progress_t p[8]; /* the first calls */
} prog_t;

static void on_progress(coap_req_t *req, const coap_progress_t *p, void *arg)
{
    (void)req;
    prog_t *g = arg;
    if (g->calls < 8) g->p[g->calls] = *p;
    g->calls++;
}

/* One call per block, in order, the last one before the response: bytes
 * so far, total from Size2 (or 0 without it), blocks counted. */
static void check_progress(const prog_t *g, int upload, size_t total, const size_t *bytes, int n)
{
    ck_assert_int_eq(g->calls, n);
    for (int i = 0; i < n; i++) {
        ck_assert_uint_eq(g->p[i].upload, upload);
        ck_assert_uint_eq(g->p[i].blocks, (uint32_t)i + 1);
        ck_assert_uint_eq(g->p[i].bytes, bytes[i]);
        ck_assert_uint_eq(g->p[i].total, total);
    }
}

START_TEST(progress_block2)
{
    simnet_t n;
    bsrv_t b = {.size2 = _i};
    setup(&n, &b, block2_fn);
    sim_rec_t k = {0};
    prog_t g = {0};
    coap_req_t *req = get(&n, &b);
    coap_req_set_progress(req, on_progress, &g);
    ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k), COAP_OK);
    sim_run_idle(&n);
    check_body(&k, &b);
    const size_t bytes[5] = {1024, 2048, 3072, 4096, 5000};
    check_progress(&g, 0, _i ? BODY : 0, bytes, 5);
    sim_free(&n);
}
END_TEST

/* Several blocks at a time (NSTART 3, Size2): every block is counted once,
 * and the bytes grow to the whole body. */
START_TEST(progress_block2_window)
{
    simnet_t n;
    bsrv_t b = {.size2 = 1, .len = BODY, .max_szx = 6};
    sim_init(&n);
    coap_ep_params_t p = {.nstart = 3};
    sim_add_ep(&n, &p);
    fill(b.body, BODY);
    sim_srv_init(&b.srv, &n, NULL, block2_fn, &b);
    sim_rec_t k = {0};
    prog_t g = {0};
    coap_req_t *req = get(&n, &b);
    coap_req_set_progress(req, on_progress, &g);
    ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k), COAP_OK);
    sim_run_idle(&n);
    check_body(&k, &b);
    ck_assert_int_eq(g.calls, 5);
    for (int i = 0; i < 5; i++) {
        ck_assert_uint_eq(g.p[i].blocks, (uint32_t)i + 1);
        ck_assert_uint_eq(g.p[i].total, BODY);
        ck_assert_uint_eq(g.p[i].upload, 0);
        if (i) ck_assert_uint_gt(g.p[i].bytes, g.p[i - 1].bytes);
    }
    ck_assert_uint_eq(g.p[4].bytes, BODY);
    sim_free(&n);
}
END_TEST

START_TEST(progress_block1)
{
    simnet_t n;
    bsrv_t b = {.max_whole = BODY, .tl_at = -1};
    setup(&n, &b, block1_fn);
    sim_rec_t k = {0};
    prog_t g = {0};
    coap_req_t *req = put(&n, &b, 3000);
    coap_req_set_progress(req, on_progress, &g);
    ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k), COAP_OK);
    sim_run_idle(&n);
    check_upload(&k, &b, 3000);
    const size_t bytes[3] = {1024, 2048, 3000};
    check_progress(&g, 1, 3000, bytes, 3);
    sim_free(&n);
}
END_TEST

/* Bodies in one message, without Block options: GET answered whole, a
 * PUT taken whole. */
static void whole_fn(sim_srv_t *s, coap_ep_req_t *req, const coap_msg_t *m)
{
    bsrv_t *b = s->arg;
    if (m->code == COAP_PUT) {
        block1_fn(s, req, m);
        return;
    }
    coap_msg_t r;
    sim_resp(&r, COAP_CONTENT, b->body, b->len);
    ck_assert_int_eq(coap_ep_respond(s->ep, req, &r, NULL, NULL), COAP_OK);
}

/* A body in one message is no block-wise transfer: no call. */
START_TEST(progress_not_for_one_message)
{
    simnet_t n;
    bsrv_t b = {.len = 100, .max_whole = BODY, .tl_at = -1};
    setup(&n, &b, whole_fn);
    sim_rec_t k = {0}, k2 = {0};
    prog_t g = {0};
    coap_req_t *req = get(&n, &b);
    coap_req_set_progress(req, on_progress, &g);
    ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k), COAP_OK);
    req = put(&n, &b, 100);
    coap_req_set_progress(req, on_progress, &g);
    ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k2), COAP_OK);
    sim_run_idle(&n);
    ck_assert_int_eq(k.err, COAP_OK);
    ck_assert_int_eq(k2.err, COAP_OK);
    ck_assert_int_eq(g.calls, 0);
    sim_free(&n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("block");
    TCase *tc = tcase_create("block2");
    tcase_add_test(tc, block2_reassembled);
    tcase_add_test(tc, block2_server_smaller);
    tcase_add_test(tc, block2_early_negotiation);
    tcase_add_test(tc, block2_etag_change);
    tcase_add_loop_test(tc, block2_body_limit, 0, 2);
    tcase_add_test(tc, block2_whole_exchange_timeout);
    suite_add_tcase(s, tc);
    tc = tcase_create("block1");
    tcase_add_test(tc, block1_upload);
    tcase_add_test(tc, block1_server_smaller);
    tcase_add_test(tc, block1_too_large_final);
    tcase_add_test(tc, block1_too_large_retry);
    suite_add_tcase(s, tc);
    tc = tcase_create("progress");
    tcase_add_loop_test(tc, progress_block2, 0, 2);
    tcase_add_test(tc, progress_block2_window);
    tcase_add_test(tc, progress_block1);
    tcase_add_test(tc, progress_not_for_one_message);
    suite_add_tcase(s, tc);
    tc = tcase_create("lossy");
    tcase_add_loop_test(tc, lossy_network, 0, 16);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
