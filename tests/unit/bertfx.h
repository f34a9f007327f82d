/*
 * bertfx.h - what the BERT unit tests (test_bert.c against our server,
 * test_bert_csm.c against a fake one) share: the body sent or expected,
 * a TCP (or UDP) client endpoint, the poll loop, and one exchange's
 * result with the size of every block either way.
 */
#ifndef BERTFX_H
#define BERTFX_H

#include "coap_client.h"
#include "testutil.h"

#include <check.h>
#include <poll.h>
#include <string.h>

#define BODY_MAX 65536

static uint8_t body[BODY_MAX];
static size_t body_len;

static inline coap_ep_t *client_open(const coap_tcp_params_t *base)
{
    int err;
    if (!base) return coap_ep_new(NULL, NULL, &err); /* UDP */
    coap_tcp_params_t p = *base;
    p.connect_out = 1;
    coap_transport_t *tr = coap_transport_tcp_new(NULL, &p, &err);
    ck_assert_ptr_nonnull(tr);
    return coap_ep_new_on(tr, NULL, &err);
}

static inline void run(coap_ep_t *a, coap_ep_t *b, const int *flag, int ms)
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

static inline void on_progress(coap_req_t *req, const coap_progress_t *p, void *arg)
{
    (void)req;
    result_t *res = arg;
    unsigned *n = &res->nblocks[p->upload];
    size_t before = *n ? res->last_bytes : 0;
    if (*n < 80) res->block[p->upload][*n] = p->bytes - before;
    (*n)++;
    res->last_bytes = p->bytes;
}

static inline void on_resp(coap_req_t *req, const coap_resp_t *r, void *arg)
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

static inline void fill_body(size_t len)
{
    body_len = len;
    for (size_t i = 0; i < len; i++) body[i] = (uint8_t)(i * 31 + i / 251);
}

static const coap_tcp_params_t plain = {.idle_ms = 5000};

#endif
