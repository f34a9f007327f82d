/*
 * Unit tests for BERT (RFC 8323 §6) over loopback TCP: both sides announce
 * Block-Wise-Transfer (§5.3.2) -> SZX 7 blocks of several 1024-byte units
 * both ways, the last one shorter; one side does not -> RFC 7959 blocks
 * of 1024 bytes; Max-Message-Size (the peer's, and our own) bounds the
 * units per block; SZX 7 from a peer that did not announce it, or over
 * UDP, is a 4.00.
 */
#include "coap_block.h"
#include "coap_client.h"
#include "coap_server.h"
#include "testutil.h"

#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BODY_MAX 65536

static uint8_t body[BODY_MAX];
static size_t body_len;

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

static coap_ep_t *client_open(const coap_tcp_params_t *base)
{
    int err;
    if (!base) return coap_ep_new(NULL, NULL, &err); /* UDP */
    coap_tcp_params_t p = *base;
    p.connect_out = 1;
    coap_transport_t *tr = coap_transport_tcp_new(NULL, &p, &err);
    ck_assert_ptr_nonnull(tr);
    return coap_ep_new_on(tr, NULL, &err);
}

static void run(coap_ep_t *a, coap_ep_t *b, const int *flag, int ms)
{
    for (int i = 0; i < ms / 5 && !*flag; i++) {
        struct pollfd fds[2] = {{coap_ep_fd(a), POLLIN, 0}, {coap_ep_fd(b), POLLIN, 0}};
        poll(fds, 2, 5);
        coap_ep_process(a);
        coap_ep_process(b);
    }
}

/* One exchange: its answer and the size of every block either way. */
typedef struct {
    int done, err, code;
    size_t len, last_bytes;
    uint8_t data[BODY_MAX];
    unsigned nblocks[2]; /* [upload] */
    size_t block[2][80]; /* [upload][n]: bytes of each block */
} result_t;

static void on_progress(coap_req_t *req, const coap_progress_t *p, void *arg)
{
    (void)req;
    result_t *res = arg;
    unsigned *n = &res->nblocks[p->upload];
    size_t before = *n ? res->last_bytes : 0;
    if (*n < 80) res->block[p->upload][*n] = p->bytes - before;
    (*n)++;
    res->last_bytes = p->bytes;
}

static void on_resp(coap_req_t *req, const coap_resp_t *r, void *arg)
{
    (void)req;
    result_t *res = arg;
    res->err = r->err;
    res->code = r->msg ? r->msg->code : 0;
    res->len = r->body_len <= sizeof res->data ? r->body_len : 0;
    if (res->len) memcpy(res->data, r->body, res->len);
    if (r->last) res->done = 1;
}

static result_t res;
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

static void fill_body(size_t len)
{
    body_len = len;
    for (size_t i = 0; i < len; i++) body[i] = (uint8_t)(i * 31 + i / 251);
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

static const coap_tcp_params_t plain = {.idle_ms = 5000};

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

/* A fake server on loopback that sends its CSM only when the test says,
 * so the client's frames are seen as they leave. */
typedef struct {
    int lfd, fd;
    coap_addr_t a;
    uint8_t in[16384];
    size_t got, off; /* bytes read; frames handed out up to off */
} fake_t;

static void fake_open(fake_t *f)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    coap_addr_parse(&f->a, "127.0.0.1:0", 0);
    ck_assert_int_eq(bind(f->lfd, &f->a.u.sa, f->a.len), 0);
    listen(f->lfd, 1);
    f->a.len = sizeof f->a.u;
    getsockname(f->lfd, &f->a.u.sa, &f->a.len);
}

static void fake_close(fake_t *f)
{
    if (f->fd >= 0) close(f->fd);
    close(f->lfd);
}

/* The next frame from the client that is no signal (not its CSM), read
 * within ms while the client runs (m points into f->in); 0 when none. */
static int fake_next(fake_t *f, coap_ep_t *c, coap_msg_t *m, int ms)
{
    for (int i = 0; i < ms / 5; i++) {
        uint64_t flen;
        while (f->off < f->got && !coap_msg_tcp_frame_len(f->in + f->off, f->got - f->off, &flen) &&
               f->off + flen <= f->got) {
            ck_assert_int_eq(coap_msg_parse_tcp(m, f->in + f->off, (size_t)flen), 0);
            f->off += (size_t)flen;
            if (COAP_CODE_CLASS(m->code) != 7) return 1;
        }
        struct pollfd pf = {coap_ep_fd(c), POLLIN, 0};
        poll(&pf, 1, 5);
        coap_ep_process(c);
        if (f->fd < 0) f->fd = accept(f->lfd, NULL, NULL);
        ssize_t r =
            f->fd < 0 ? 0 : recv(f->fd, f->in + f->got, sizeof f->in - f->got, MSG_DONTWAIT);
        f->got += r > 0 ? (size_t)r : 0;
    }
    return 0;
}

static void fake_send(fake_t *f, const coap_msg_t *m)
{
    uint8_t out[1200];
    int n = coap_msg_serialize_tcp(m, out, sizeof out);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(send(f->fd, out, (size_t)n, 0), n);
}

/* CSMs: Max-Message-Size 8192 with Block-Wise-Transfer, and without. */
static void fake_csm(fake_t *f, int bwt)
{
    uint8_t b[8];
    size_t n = hex_decode(bwt ? "40E122200020" : "30E1222000", b, sizeof b);
    ck_assert_int_eq(send(f->fd, b, n, 0), (ssize_t)n);
}

/* A PUT of len bytes of body to the fake server's path, answered into r. */
static coap_req_t *fake_request(fake_t *f, coap_ep_t *c, const char *path, size_t len, result_t *r)
{
    char uri[64];
    snprintf(uri, sizeof uri, "coap+tcp://127.0.0.1:%u%s", coap_addr_port(&f->a), path);
    int err;
    coap_req_t *req = coap_req_new(c, COAP_PUT, uri, &f->a, &err);
    ck_assert_ptr_nonnull(req);
    coap_req_set_payload(req, body, len);
    coap_req_set_progress(req, on_progress, r);
    ck_assert_int_eq(coap_req_send(req, on_resp, r), COAP_OK);
    return req;
}

/* A fake server, and a client whose connect_timeout_ms is connect_ms (it
 * waits a quarter of that for a CSM), with 3000 bytes of body to send. */
static coap_ep_t *fake_pair(fake_t *f, uint32_t connect_ms)
{
    coap_tcp_params_t p = plain;
    p.connect_timeout_ms = connect_ms;
    fake_open(f);
    fill_body(3000);
    memset(&res, 0, sizeof res);
    return client_open(&p);
}

/* A peer whose CSM does not come: the upload waits a quarter of
 * connect_timeout_ms (200 ms here), then goes in 1024-byte blocks, which
 * it keeps when a CSM announcing BERT arrives after all (RFC 7959 §2.3). */
START_TEST(upload_wait_is_bounded)
{
    fake_t f;
    coap_ep_t *c = fake_pair(&f, 800);
    uint64_t t0 = coap_ep_now(c);
    fake_request(&f, c, "/big", body_len, &res);
    coap_msg_t m;
    ck_assert_int_eq(fake_next(&f, c, &m, 2000), 1);
    uint64_t waited = coap_ep_now(c) - t0;
    ck_assert_uint_ge(waited, 190);
    ck_assert_uint_lt(waited, 700); /* before the connection would be given up */
    fake_csm(&f, 1);
    coap_block_info_t b = {0};
    for (uint32_t num = 0;; num++) {
        if (num) ck_assert_int_eq(fake_next(&f, c, &m, 2000), 1);
        ck_assert_int_eq(coap_block_get(&m, COAP_OPT_BLOCK1, &b), 1);
        ck_assert_uint_eq(b.num, num);
        ck_assert_uint_eq(b.szx, 6);
        ck_assert_uint_eq(m.payload_len, b.more ? 1024 : 3000 - 2048);
        coap_msg_t r;
        coap_msg_init(&r, COAP_NON, b.more ? COAP_CONTINUE : COAP_CHANGED, 0);
        coap_msg_set_token(&r, m.token, m.token_len);
        coap_block_add(&r, COAP_OPT_BLOCK1, num, b.more, 6);
        fake_send(&f, &r);
        if (!b.more) break;
    }
    run(c, c, &res.done, 2000);
    ck_assert_int_eq(res.err, COAP_OK);
    ck_assert_int_eq(res.code, COAP_CHANGED);
    ck_assert_uint_eq(res.nblocks[1], 3);
    coap_ep_free(c);
    fake_close(&f);
}
END_TEST

/* A body of one block does not wait for the CSM, nor behind an upload
 * that does; that one goes when the CSM comes (without
 * Block-Wise-Transfer: 1024-byte blocks), long before its bound. */
START_TEST(small_request_not_held)
{
    fake_t f;
    coap_ep_t *c = fake_pair(&f, 8000); /* the wait: 2 s at most */
    result_t *small = calloc(1, sizeof *small);
    ck_assert_ptr_nonnull(small);
    uint64_t t0 = coap_ep_now(c);
    fake_request(&f, c, "/big", 3000, &res); /* held */
    fake_request(&f, c, "/small", 500, small);
    coap_msg_t m;
    ck_assert_int_eq(fake_next(&f, c, &m, 1000), 1);
    ck_assert_uint_lt(coap_ep_now(c) - t0, 1000);
    ck_assert_uint_eq(m.payload_len, 500); /* the small one, first and whole */
    ck_assert_ptr_null(coap_msg_find_opt(&m, COAP_OPT_BLOCK1));
    ck_assert_int_eq(fake_next(&f, c, &m, 100), 0); /* the upload waits */
    fake_csm(&f, 0);
    ck_assert_int_eq(fake_next(&f, c, &m, 1000), 1);
    ck_assert_uint_lt(coap_ep_now(c) - t0, 1500);
    coap_block_info_t b;
    ck_assert_int_eq(coap_block_get(&m, COAP_OPT_BLOCK1, &b), 1);
    ck_assert_uint_eq(b.szx, 6);
    ck_assert_uint_eq(m.payload_len, 1024);
    coap_ep_free(c);
    fake_close(&f);
    free(small);
}
END_TEST

/* A held upload whose connection fails (refused) ends with it at once,
 * not at the end of its wait; one cancelled while held ends too. */
START_TEST(held_upload_ends_with_its_connection)
{
    fake_t f;
    coap_ep_t *c = fake_pair(&f, 8000); /* the wait: 2 s at most */
    fake_close(&f);                     /* nothing listens there now */
    uint64_t t0 = coap_ep_now(c);
    fake_request(&f, c, "/big", 3000, &res);
    run(c, c, &res.done, 3000);
    ck_assert_int_eq(res.done, 1);
    ck_assert_int_eq(res.err, COAP_ERR_UNREACHABLE);
    ck_assert_uint_lt(coap_ep_now(c) - t0, 1500);
    coap_ep_free(c);

    c = fake_pair(&f, 8000); /* listening, but silent: the upload is held */
    coap_req_t *req = fake_request(&f, c, "/big", 3000, &res);
    coap_msg_t m;
    ck_assert_int_eq(fake_next(&f, c, &m, 100), 0);
    coap_req_cancel(req);
    ck_assert_int_eq(res.err, COAP_ERR_CANCELLED);
    ck_assert_int_eq(fake_next(&f, c, &m, 300), 0); /* and nothing leaves later */
    coap_ep_free(c);
    fake_close(&f);
}
END_TEST

/* The fake server sends its CSM (bwt: with Block-Wise-Transfer) after our
 * GET and answers it with Block2 0/M/BERT and a 500-byte payload; returns
 * how the GET ended. */
static int fake_bert_answer(int bwt)
{
    fake_t f;
    fake_open(&f);
    coap_ep_t *c = client_open(&plain);
    char uri[64];
    snprintf(uri, sizeof uri, "coap+tcp://127.0.0.1:%u/x", coap_addr_port(&f.a));
    int err;
    memset(&res, 0, sizeof res);
    coap_req_send(coap_req_new(c, COAP_GET, uri, &f.a, &err), on_resp, &res);
    coap_msg_t m;
    ck_assert_int_eq(fake_next(&f, c, &m, 1000), 1);
    ck_assert_int_eq(m.code, COAP_GET);
    fake_csm(&f, bwt);
    coap_msg_t r;
    coap_msg_init(&r, COAP_NON, COAP_CONTENT, 0);
    coap_msg_set_token(&r, m.token, m.token_len);
    coap_block_add(&r, COAP_OPT_BLOCK2, 0, 1, COAP_BLOCK_BERT);
    r.payload = body;
    r.payload_len = 500;
    fake_send(&f, &r);
    run(c, c, &res.done, 2000);
    ck_assert_int_eq(res.done, 1);
    coap_ep_free(c);
    fake_close(&f);
    return res.err;
}

/* The client role's checks: a BERT block from a server whose CSM did not
 * announce Block-Wise-Transfer, and a non-final BERT block that is no
 * whole number of units, both end the transfer (COAP_ERR_BLOCK). */
START_TEST(client_refuses_bad_bert)
{
    fill_body(500);
    /* CSM: Max-Message-Size 8192 and Block-Wise-Transfer; then without */
    ck_assert_int_eq(fake_bert_answer(1), COAP_ERR_BLOCK);
    ck_assert_int_eq(fake_bert_answer(0), COAP_ERR_BLOCK);
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
    tcase_add_test(tc, upload_wait_is_bounded);
    tcase_add_test(tc, small_request_not_held);
    tcase_add_test(tc, held_upload_ends_with_its_connection);
    tcase_add_test(tc, client_refuses_bad_bert);
    tcase_add_test(tc, szx7_over_udp_is_bad_request);
    suite_add_tcase(su, tc);
    return run_suite(su);
}
