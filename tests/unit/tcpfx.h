/*
 * tcpfx.h - what the CoAP over TCP unit tests (test_tcp.c with our client,
 * test_tcp_raw.c with a raw peer of the test's own) share: our server over
 * loopback with its /hello and /obs, the body it sends, the poll loop and
 * the clock.
 */
#ifndef TCPFX_H
#define TCPFX_H

#include "coap_server.h"
#include "testutil.h"

#include <check.h>
#include <poll.h>
#include <string.h>
#include <time.h>

typedef struct {
    coap_ep_t *ep;
    coap_server_t *srv;
    coap_server_resource_t *obs;
    coap_addr_t addr;
} server_t;

static uint8_t big[5000];

static inline void h_hello(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    (void)arg;
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    if (req->method == COAP_PUT) { /* echo the body */
        r.code = COAP_CHANGED;
        r.payload = req->payload;
        r.payload_len = req->payload_len;
    } else if (req->nquery) {
        r.payload = big;
        r.payload_len = sizeof big;
    } else {
        r.payload = "hi";
        r.payload_len = 2;
    }
    coap_server_respond(srv, req->id, &r);
}

static inline void server_open(server_t *s, const coap_tcp_params_t *p)
{
    coap_addr_t any;
    coap_addr_parse(&any, "127.0.0.1:0", 0);
    int err;
    coap_transport_t *tr = coap_transport_tcp_new(&any, p, &err);
    ck_assert_ptr_nonnull(tr);
    s->ep = coap_ep_new_on(tr, NULL, &err);
    ck_assert_int_eq(coap_ep_local_addr(s->ep, &s->addr), COAP_OK);
    s->srv = coap_server_new(s->ep, NULL);
    unsigned m = COAP_METHODS_READ | COAP_METHOD_BIT(COAP_PUT);
    coap_server_add(s->srv, "/hello", 0, m, h_hello, NULL, NULL);
    s->obs = coap_server_add(s->srv, "/obs", COAP_RES_OBSERVABLE, m, h_hello, NULL, NULL);
}

static inline void server_close(server_t *s)
{
    coap_server_free(s->srv);
    coap_ep_free(s->ep);
}

/* Runs the endpoints (either may be NULL) until *flag or ms pass. */
static inline void run(coap_ep_t *a, coap_ep_t *b, const int *flag, int ms)
{
    for (int i = 0; i < ms / 5 && !(flag && *flag); i++) {
        struct pollfd fds[2] = {{a ? coap_ep_fd(a) : -1, POLLIN, 0},
                                {b ? coap_ep_fd(b) : -1, POLLIN, 0}};
        poll(fds, 2, 5);
        if (a) coap_ep_process(a);
        if (b) coap_ep_process(b);
    }
}

static inline uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#endif
