/*
 * Unit tests for CoAP over TCP (RFC 8323): our server (coap/transport_tcp.c,
 * tcp_signal.c) against a raw TCP peer of the test's own over loopback:
 * 4.13 for a request over Max-Message-Size, Abort on a bad frame, frames
 * split anywhere, the connection limits, the answers of one pass in one
 * write, a client that never sends its CSM and the write-queue bound.
 * Our client against our server or a fake one: test_tcp.c.
 */
#include "coap_server.h"
#include "tcpfx.h"
#include "testutil.h"

#include <check.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A raw TCP peer of the test's own. */
static int raw_connect(const coap_addr_t *to)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(fd, &to->u.sa, to->len), 0);
    return fd;
}

/* Reads what the server sent within ms, driving it meanwhile. */
static size_t raw_read(int fd, coap_ep_t *ep, uint8_t *buf, size_t cap, int ms, int *closed)
{
    size_t n = 0;
    *closed = 0;
    for (int i = 0; i < ms / 5 && !*closed; i++) {
        run(ep, NULL, NULL, 5);
        ssize_t k = recv(fd, buf + n, cap - n, MSG_DONTWAIT);
        if (k == 0) *closed = 1;
        if (k > 0) n += (size_t)k;
    }
    return n;
}

/* Whether a frame with this code is somewhere in buf (a crude scan of
 * whole frames from the start). */
static const uint8_t *find_frame(const uint8_t *buf, size_t n, uint8_t code)
{
    size_t off = 0;
    uint64_t flen;
    while (off < n && coap_msg_tcp_frame_len(buf + off, n - off, &flen) == COAP_OK) {
        coap_msg_t m;
        if (off + flen > n || coap_msg_parse_tcp(&m, buf + off, (size_t)flen)) break;
        if (m.code == code) return buf + off;
        off += (size_t)flen;
    }
    return NULL;
}

START_TEST(abort_on_bad_frame_and_413)
{
    server_t s;
    coap_tcp_params_t p = {.max_message = 1152};
    server_open(&s, &p);
    int fd = raw_connect(&s.addr);
    /* our CSM, then a request over the server's Max-Message-Size: 4.13 */
    static uint8_t frame[2100];
    size_t n = hex_decode("30E1220480", frame, 8);
    ck_assert_int_eq(send(fd, frame, n, 0), (ssize_t)n);
    frame[0] = 0xE2; /* Len 14: 2 bytes of extended length; TKL 2 */
    frame[1] = (2000 - 269) >> 8;
    frame[2] = (2000 - 269) & 0xFF;
    frame[3] = COAP_PUT;
    frame[4] = 0xAB, frame[5] = 0xCD;
    frame[6] = 0xB5;
    memcpy(frame + 7, "hello", 5);
    frame[12] = 0xFF;
    ck_assert_int_eq(send(fd, frame, 6 + 2000, 0), 6 + 2000);
    uint8_t in[512];
    int closed;
    n = raw_read(fd, s.ep, in, sizeof in, 300, &closed);
    const uint8_t *csm = find_frame(in, n, COAP_SIG_CSM);
    ck_assert_ptr_nonnull(csm); /* the server's CSM came first */
    ck_assert_ptr_eq(csm, in);
    const uint8_t *too = find_frame(in, n, COAP_REQUEST_ENTITY_TOO_LARGE);
    ck_assert_ptr_nonnull(too);
    ck_assert_int_eq(too[0] & 0x0F, 2); /* with the request's token */
    ck_assert(!closed);
    /* then a frame with TKL 9: Abort (§5.6) with a diagnostic, and close */
    ck_assert_int_eq(send(fd, "\x09\x01", 2, 0), 2);
    n = raw_read(fd, s.ep, in, sizeof in, 1000, &closed);
    ck_assert_ptr_nonnull(find_frame(in, n, COAP_SIG_ABORT));
    ck_assert_int_eq(closed, 1);
    const coap_tcp_stats_t *ss = coap_transport_tcp_stats(coap_ep_transport(s.ep));
    ck_assert_uint_eq(ss->too_large, 1);
    ck_assert_uint_eq(ss->aborts_tx, 1);
    close(fd);
    server_close(&s);
}
END_TEST

START_TEST(frames_split_anywhere)
{
    /* a CSM, a Ping with Custody and two GETs, written one byte at a
     * time: reassembled, the Pong echoes the token and Custody (§5.4),
     * and both GETs are answered */
    server_t s;
    server_open(&s, NULL);
    int fd = raw_connect(&s.addr);
    uint8_t out[64];
    size_t n = hex_decode("30E1220480"              /* CSM */
                          "11E2 77 20"              /* Ping, token 77, Custody */
                          "61 01 A1 B5 68656C6C6F"  /* GET /hello, token A1 */
                          "61 01 A2 B5 68656C6C6F", /* the same, token A2 */
                          out, sizeof out);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(send(fd, out + i, 1, MSG_NOSIGNAL), 1);
        run(s.ep, NULL, NULL, 5);
    }
    uint8_t in[512];
    int closed;
    size_t got = raw_read(fd, s.ep, in, sizeof in, 300, &closed);
    const uint8_t *pong = find_frame(in, got, COAP_SIG_PONG);
    ck_assert_ptr_nonnull(pong);
    coap_msg_t m;
    uint64_t flen;
    coap_msg_tcp_frame_len(pong, got - (size_t)(pong - in), &flen);
    ck_assert_int_eq(coap_msg_parse_tcp(&m, pong, (size_t)flen), COAP_OK);
    ck_assert_int_eq(m.token_len, 1);
    ck_assert_int_eq(m.token[0], 0x77);
    ck_assert_ptr_nonnull(coap_msg_find_opt(&m, COAP_SIGOPT_CUSTODY));
    int answers = 0;
    for (size_t off = 0; off < got; off += (size_t)flen) {
        ck_assert_int_eq(coap_msg_tcp_frame_len(in + off, got - off, &flen), COAP_OK);
        ck_assert_int_eq(coap_msg_parse_tcp(&m, in + off, (size_t)flen), COAP_OK);
        if (m.code == COAP_CONTENT) ck_assert_int_eq(m.token[0], answers++ ? 0xA2 : 0xA1);
    }
    ck_assert_int_eq(answers, 2);
    ck_assert(!closed);
    close(fd);
    server_close(&s);
}
END_TEST

/* Two connections to a server with params p: the first kept, the second
 * closed at accept; the server's counters. */
static coap_tcp_stats_t second_refused(const coap_tcp_params_t *p)
{
    server_t s;
    server_open(&s, p);
    int a = raw_connect(&s.addr), b = raw_connect(&s.addr);
    uint8_t in[64];
    int closed_a, closed_b;
    raw_read(a, s.ep, in, sizeof in, 200, &closed_a);
    raw_read(b, s.ep, in, sizeof in, 200, &closed_b);
    ck_assert_int_eq(closed_a, 0);
    ck_assert_int_eq(closed_b, 1);
    coap_tcp_stats_t st = *coap_transport_tcp_stats(coap_ep_transport(s.ep));
    close(a);
    close(b);
    server_close(&s);
    return st;
}

START_TEST(connection_limit)
{
    coap_tcp_stats_t st = second_refused(&(coap_tcp_params_t){.max_conns = 1});
    ck_assert_uint_eq(st.refused, 1);
    /* max_conns_per_host: from the same address (any port), counted apart */
    st = second_refused(&(coap_tcp_params_t){.max_conns_per_host = 1});
    ck_assert_uint_eq(st.refused_host, 1);
    ck_assert_uint_eq(st.refused, 0);
}
END_TEST

/* The answers to requests read in one pass leave in one write (TCP_NODELAY
 * is on: one write is one segment where there were three). */
START_TEST(answers_of_one_pass_in_one_write)
{
    server_t s;
    server_open(&s, &(coap_tcp_params_t){0});
    int fd = raw_connect(&s.addr);
    uint8_t in[512], frames[64];
    int closed;
    ck_assert_int_eq(send(fd, "\x00\xE1", 2, 0), 2); /* our CSM */
    ck_assert_ptr_nonnull(
        find_frame(in, raw_read(fd, s.ep, in, sizeof in, 100, &closed), COAP_SIG_CSM));
    const coap_tcp_stats_t *st = coap_transport_tcp_stats(coap_ep_transport(s.ep));
    uint64_t before = st->writes;
    /* three GET /hello (RFC 8323 §3.2: Len 6, TKL 1), tokens 1, 2, 3 */
    size_t n = hex_decode("610101B568656C6C6F"
                          "610102B568656C6C6F"
                          "610103B568656C6C6F",
                          frames, sizeof frames);
    ck_assert_int_eq(send(fd, frames, n, 0), (ssize_t)n);
    size_t got = raw_read(fd, s.ep, in, sizeof in, 200, &closed);
    ck_assert_uint_eq(st->writes - before, 1);
    size_t answers = 0;
    uint64_t flen;
    for (size_t off = 0; off < got && coap_msg_tcp_frame_len(in + off, got - off, &flen) == COAP_OK;
         off += (size_t)flen)
        answers += find_frame(in + off, (size_t)flen, COAP_CONTENT) != NULL;
    ck_assert_uint_eq(answers, 3);
    close(fd);
    server_close(&s);
}
END_TEST

START_TEST(silent_client_closed)
{
    /* a client that connects and never sends its CSM holds no slot for
     * long: closed after connect_timeout_ms (§3.3: the CSM comes first),
     * not before; timed by the clock, not by loop turns */
    server_t s;
    coap_tcp_params_t p = {.connect_timeout_ms = 200};
    server_open(&s, &p);
    uint64_t t0 = now_ms(); /* the server's clock starts after it */
    int fd = raw_connect(&s.addr);
    uint8_t in[64];
    int closed = 0;
    uint64_t closed_at = 0;
    while (!closed && now_ms() < t0 + 3000) {
        raw_read(fd, s.ep, in, sizeof in, 10, &closed);
        if (closed) closed_at = now_ms();
    }
    ck_assert_msg(closed, "silent client still connected after 3 s");
    ck_assert_uint_ge(closed_at - t0, p.connect_timeout_ms);
    ck_assert_uint_eq(coap_transport_tcp_stats(coap_ep_transport(s.ep))->conns_open, 0);
    close(fd);
    server_close(&s);
}
END_TEST

START_TEST(write_queue_bound)
{
    /* an observer that never reads: once the kernel's buffers are full,
     * the notifications queue up to max_queued, and then the connection
     * is aborted (and the observation with it) */
    server_t s;
    coap_tcp_params_t p = {.max_queued = 64 * 1024};
    server_open(&s, &p);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    ck_assert_int_eq(connect(fd, &s.addr.u.sa, s.addr.len), 0);
    uint8_t reg[32];
    size_t n =
        hex_decode("30E1220480 51 01 AA 60 53 6F6273", reg, sizeof reg); /* GET /obs, Observe 0 */
    ck_assert_int_eq(send(fd, reg, n, 0), (ssize_t)n);
    for (int i = 0; i < 100 && coap_server_observers(s.obs) == 0; i++) run(s.ep, NULL, NULL, 10);
    ck_assert_uint_eq(coap_server_observers(s.obs), 1);
    const coap_tcp_stats_t *ss = coap_transport_tcp_stats(coap_ep_transport(s.ep));
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.payload = big;
    r.payload_len = 1000;
    for (int i = 0; i < 20000 && ss->aborts_tx == 0; i++) {
        coap_server_notify(s.srv, s.obs, &r);
        if (i % 64 == 0) run(s.ep, NULL, NULL, 5);
    }
    run(s.ep, NULL, NULL, 50);
    ck_assert_uint_eq(ss->aborts_tx, 1);
    ck_assert_uint_eq(ss->conns_open, 0);
    coap_server_notify(s.srv, s.obs, &r); /* finds it gone */
    ck_assert_uint_eq(coap_server_observers(s.obs), 0);
    close(fd);
    server_close(&s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tcp_raw");
    TCase *tc = tcase_create("raw");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, abort_on_bad_frame_and_413);
    tcase_add_test(tc, frames_split_anywhere);
    tcase_add_test(tc, connection_limit);
    tcase_add_test(tc, answers_of_one_pass_in_one_write);
    tcase_add_test(tc, silent_client_closed);
    tcase_add_test(tc, write_queue_bound);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
