/*
 * Unit tests for BERT (RFC 8323 §6) against a fake server on loopback
 * TCP that sends its CSM (§5.3) only when the test says: an upload waits
 * for the peer's CSM, a bounded time, and only an upload that needs more
 * than one block; a held upload ends with its connection; the client
 * refuses a BERT block (SZX 7) from a server whose CSM did not announce
 * Block-Wise-Transfer, or one that is no whole number of units.
 */
#include "bertfx.h"
#include "coap_block.h"
#include "coap_msg.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

int main(void)
{
    Suite *su = suite_create("bert_csm");
    TCase *tc = tcase_create("bert_csm");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, upload_wait_is_bounded);
    tcase_add_test(tc, small_request_not_held);
    tcase_add_test(tc, held_upload_ends_with_its_connection);
    tcase_add_test(tc, client_refuses_bad_bert);
    suite_add_tcase(su, tc);
    return run_suite(su);
}
