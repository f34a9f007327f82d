/*
 * Unit tests for the UDP transport's batching (coap_transport.h,
 * "Batching"): datagrams read RX_BATCH (16) per recvmmsg(), a read that
 * stops at a short batch, what process() sends leaving in one sendmmsg(),
 * a failed datagram in a batch reported while the others still leave, and
 * send() outside process() waiting for the next pass (or the free). The transport runs under a
 * recording upper layer that echoes every datagram back to its sender.
 */
#include "simsrv.h"
#include "base_loop.h"
#include "coap_client.h"
#include "coap_ep.h"
#include "coap_msg.h"
#include "coap_transport.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    coap_transport_t *t;
    int echo;              /* answer each datagram from inside process() */
    int to_nowhere;        /* ... and after the third, one to an IPv6 address */
    unsigned got;          /* datagrams handed up */
    size_t sizes[512];     /* their lengths */
    uint8_t first[512];    /* their first bytes */
    unsigned failed;       /* send_failed upcalls */
    int failed_err;        /* the last one's code */
    coap_addr_t failed_to; /* ... and address */
} rec_t;

static void on_datagram(void *arg, const coap_addr_t *from, const coap_addr_t *local,
                        const coap_identity_t *id, const uint8_t *buf, size_t len)
{
    (void)id;
    rec_t *r = arg;
    ck_assert_ptr_nonnull(buf);
    if (r->got < 512) {
        r->sizes[r->got] = len;
        r->first[r->got] = buf[0];
    }
    r->got++;
    if (!r->echo) return;
    ck_assert_int_eq(r->t->ops->send(r->t, from, local, buf, len), COAP_OK);
    if (r->to_nowhere && r->got == 3) {
        coap_addr_t v6;
        coap_addr_from_host(&v6, "2001:db8::1", 5683);
        /* queued: the failure comes later, from the flush */
        ck_assert_int_eq(r->t->ops->send(r->t, &v6, NULL, buf, len), COAP_OK);
    }
}

static void on_unreachable(void *arg, const coap_addr_t *peer, int err)
{
    (void)arg, (void)peer, (void)err;
}

static void on_send_failed(void *arg, const coap_addr_t *to, int err)
{
    rec_t *r = arg;
    r->failed++;
    r->failed_err = err;
    r->failed_to = *to;
}

static const coap_transport_up_t up = {
    .datagram = on_datagram, .unreachable = on_unreachable, .send_failed = on_send_failed};

typedef struct {
    rec_t rec;
    coap_transport_t *t;
    coap_addr_t at; /* the transport's address */
    int peer;       /* a plain socket talking to it */
} fx_t;

static void fx_open(fx_t *f)
{
    memset(f, 0, sizeof *f);
    coap_addr_t lo;
    coap_addr_from_host(&lo, "127.0.0.1", 0);
    int err;
    f->t = coap_transport_udp_new(&lo, &err);
    ck_assert_ptr_nonnull(f->t);
    f->t->up = &up;
    f->t->up_arg = &f->rec;
    f->rec.t = f->t;
    ck_assert_int_eq(f->t->ops->local_addr(f->t, &f->at), COAP_OK);
    f->peer = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    ck_assert_int_ge(f->peer, 0);
    int buf = 1 << 20;
    setsockopt(f->peer, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    struct sockaddr_in any = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(f->peer, (struct sockaddr *)&any, sizeof any), 0);
}

static void fx_close(fx_t *f)
{
    f->t->ops->free(f->t);
    close(f->peer);
}

/* n datagrams from the peer, the i-th of len bytes starting with i. */
static void send_burst(fx_t *f, unsigned n, size_t len)
{
    static uint8_t b[40000];
    for (unsigned i = 0; i < n; i++) {
        memset(b, 0x40, len);
        b[0] = (uint8_t)i;
        ck_assert_int_eq(sendto(f->peer, b, len, 0, &f->at.u.sa, f->at.len), (ssize_t)len);
    }
}

/* What came back to the peer: count, and each one's first byte in order. */
static unsigned drain_peer(fx_t *f, uint8_t *first, unsigned max)
{
    unsigned n = 0;
    uint8_t b[2048];
    while (poll(&(struct pollfd){.fd = f->peer, .events = POLLIN}, 1, 200) > 0) {
        ssize_t r = recv(f->peer, b, sizeof b, 0);
        if (r <= 0) break;
        if (n < max) first[n] = b[0];
        n++;
    }
    return n;
}

/* The peer got n answers back, in the order of the burst. */
static void expect_echoes(fx_t *f, unsigned n)
{
    uint8_t first[128];
    ck_assert_uint_eq(drain_peer(f, first, 128), n);
    for (unsigned i = 0; i < n; i++) ck_assert_uint_eq(first[i], (uint8_t)i);
}

/* The peer's address, for send(). */
static coap_addr_t peer_addr(const fx_t *f)
{
    coap_addr_t a;
    socklen_t l = sizeof a.u;
    ck_assert_int_eq(getsockname(f->peer, &a.u.sa, &l), 0);
    a.len = l;
    return a;
}

static const coap_udp_stats_t *stats(const fx_t *f)
{
    const coap_udp_stats_t *s = coap_transport_udp_stats(f->t);
    ck_assert_ptr_nonnull(s);
    return s;
}

/* Ten requests in one pass: one recvmmsg() for them, their ten answers
 * in one sendmmsg(), in order, then one more recvmmsg() (answered
 * clients send their next requests at once) that finds none and ends
 * the pass. */
START_TEST(answers_of_one_pass_in_one_sendmmsg)
{
    fx_t f;
    fx_open(&f);
    f.rec.echo = 1;
    send_burst(&f, 10, 20);
    f.t->ops->process(f.t, 0);
    ck_assert_uint_eq(f.rec.got, 10);
    ck_assert_uint_eq(stats(&f)->recv_calls, 2);
    ck_assert_uint_eq(stats(&f)->datagrams_in, 10);
    ck_assert_uint_eq(stats(&f)->send_calls, 1);
    ck_assert_uint_eq(stats(&f)->datagrams_out, 10);
    expect_echoes(&f, 10);
    fx_close(&f);
}
END_TEST

/* A burst of more than a batch is read whole, 16 at a time; a full batch
 * is followed by another call, the last short one ends the pass. Past the
 * pass's budget (256), the rest waits for the next process(). */
START_TEST(burst_over_a_batch_all_read)
{
    fx_t f;
    fx_open(&f);
    send_burst(&f, 40, 20);
    f.t->ops->process(f.t, 0);
    ck_assert_uint_eq(f.rec.got, 40);
    ck_assert_uint_eq(stats(&f)->recv_calls, 3); /* 16 + 16 + 8 */
    for (unsigned i = 0; i < 40; i++) ck_assert_uint_eq(f.rec.first[i], i);
    send_burst(&f, 300, 20);
    f.t->ops->process(f.t, 0);
    ck_assert_uint_eq(f.rec.got, 40 + 256);
    f.t->ops->process(f.t, 0);
    ck_assert_uint_eq(f.rec.got, 40 + 300);
    for (unsigned i = 0; i < 300; i++) ck_assert_uint_eq(f.rec.first[40 + i], (uint8_t)i);
    fx_close(&f);
}
END_TEST

/* Nothing to answer: a short batch ends the pass without an EAGAIN call.
 * Exactly a batch: the second call finds nothing (EAGAIN); one datagram:
 * one call. Nothing waiting: one call. */
START_TEST(short_batch_ends_the_read)
{
    fx_t f;
    fx_open(&f);
    send_burst(&f, 16, 20);
    f.t->ops->process(f.t, 0);
    ck_assert_uint_eq(f.rec.got, 16);
    ck_assert_uint_eq(stats(&f)->recv_calls, 2);
    send_burst(&f, 1, 20);
    f.t->ops->process(f.t, 0);
    ck_assert_uint_eq(f.rec.got, 17);
    ck_assert_uint_eq(stats(&f)->recv_calls, 3);
    f.t->ops->process(f.t, 0);
    ck_assert_uint_eq(stats(&f)->recv_calls, 4);
    ck_assert_uint_eq(stats(&f)->send_calls, 0); /* nothing to send: no call */
    fx_close(&f);
}
END_TEST

/* Datagrams larger than a page, between small ones, arrive whole, and
 * their neighbours in the same batch are intact. */
START_TEST(large_datagrams_in_a_batch)
{
    fx_t f;
    fx_open(&f);
    send_burst(&f, 2, 20);
    send_burst(&f, 2, 30000);
    send_burst(&f, 2, 20);
    f.t->ops->process(f.t, 0);
    ck_assert_uint_eq(f.rec.got, 6);
    size_t want[6] = {20, 20, 30000, 30000, 20, 20};
    uint8_t first[6] = {0, 1, 0, 1, 0, 1};
    for (unsigned i = 0; i < 6; i++) {
        ck_assert_uint_eq(f.rec.sizes[i], want[i]);
        ck_assert_uint_eq(f.rec.first[i], first[i]);
    }
    ck_assert_uint_eq(stats(&f)->recv_calls, 1);
    fx_close(&f);
}
END_TEST

/* Walks /proc/self/smaps: the anonymous mappings of exactly 1 MiB (the
 * receive slots are 16 x 64 KiB), their start addresses into starts[]
 * (up to max), and the Rss in KiB of the one starting at `at` (0: none). */
static long smaps_1mib(unsigned long *starts, int max, int *n, unsigned long at)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    long rss = 0, size = 0, v;
    unsigned long cur = 0;
    int anon = 0;
    *n = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi, inode;
        char path[256] = "";
        int got = sscanf(line, "%lx-%lx %*s %*s %*s %lu %255s", &lo, &hi, &inode, path);
        if (got >= 3) { /* a mapping's header line */
            cur = lo;
            anon = got == 3 && inode == 0;
            size = 0;
        } else if (sscanf(line, "Size: %ld kB", &v) == 1) {
            size = v;
            if (anon && size == 1024 && *n < max) starts[(*n)++] = cur;
        } else if (sscanf(line, "Rss: %ld kB", &v) == 1 && anon && size == 1024 && cur == at) {
            rss = v;
        }
    }
    fclose(f);
    return rss;
}

/* A flood of large datagrams does not leave the receive slots resident:
 * the pages a large one touched are given back after it (6 slots of
 * 40 KB would keep 240 KiB otherwise). Six per batch fit a socket buffer
 * capped by the default net.core.rmem_max. */
START_TEST(large_datagrams_do_not_stay_resident)
{
    fx_t f;
    fx_open(&f);
    unsigned long before[64], after[64], slots = 0;
    int nb, na;
    smaps_1mib(before, 64, &nb, 0);
    send_burst(&f, 6, 20);
    f.t->ops->process(f.t, 0); /* the slots mapped, a page of each touched */
    smaps_1mib(after, 64, &na, 0);
    for (int i = 0; i < na && !slots; i++) {
        int old = 0;
        for (int k = 0; k < nb; k++) old |= after[i] == before[k];
        if (!old) slots = after[i];
    }
    ck_assert_uint_ne(slots, 0);
    ck_assert_int_eq(smaps_1mib(after, 64, &na, slots), 6 * 4);
    for (int round = 0; round < 4; round++) {
        send_burst(&f, 6, 40000);
        f.t->ops->process(f.t, 0);
    }
    ck_assert_uint_eq(f.rec.got, 6 + 24);
    for (unsigned i = 6; i < 30; i++) ck_assert_uint_eq(f.rec.sizes[i], 40000);
    ck_assert_int_le(smaps_1mib(after, 64, &na, slots), 6 * 4);
    fx_close(&f);
}
END_TEST

/* One queued datagram that cannot leave (an IPv6 destination on an IPv4
 * socket): reported once, as no route, with its address; the nine
 * answers around it all arrive, in order. */
START_TEST(failed_datagram_does_not_drop_the_others)
{
    fx_t f;
    fx_open(&f);
    f.rec.echo = 1;
    f.rec.to_nowhere = 1;
    send_burst(&f, 9, 20);
    f.t->ops->process(f.t, 0);
    ck_assert_uint_eq(f.rec.failed, 1);
    ck_assert_int_eq(f.rec.failed_err, COAP_ERR_UNREACHABLE);
    ck_assert_uint_eq(coap_addr_port(&f.rec.failed_to), 5683);
    ck_assert_uint_eq(stats(&f)->send_errors, 1);
    ck_assert_uint_eq(stats(&f)->datagrams_out, 9);
    ck_assert_uint_le(stats(&f)->send_calls, 3); /* before, the failure, after */
    expect_echoes(&f, 9);
    fx_close(&f);
}
END_TEST

/* More answers than one sendmmsg() takes (32): they leave in as many
 * calls as needed, none lost. */
START_TEST(answers_over_a_send_batch)
{
    fx_t f;
    fx_open(&f);
    f.rec.echo = 1;
    send_burst(&f, 100, 20);
    f.t->ops->process(f.t, 0);
    ck_assert_uint_eq(f.rec.got, 100);
    ck_assert_uint_eq(stats(&f)->datagrams_out, 100);
    ck_assert_uint_eq(stats(&f)->send_calls, 4); /* 32 + 32 + 32 + 4 */
    expect_echoes(&f, 100);
    fx_close(&f);
}
END_TEST

/* Outside process() (a request the gateway sends from an HTTP handler),
 * send() queues too and makes process() due at once: the next pass sends
 * it with whatever else is waiting, and a failure is reported from there,
 * never from inside send(). */
START_TEST(send_outside_process_waits_for_the_pass)
{
    fx_t f;
    fx_open(&f);
    coap_addr_t peer = peer_addr(&f);
    ck_assert_uint_eq(f.t->ops->next_deadline(f.t), BASE_NEVER);
    const uint8_t hello[] = {0x50, 1, 2, 3};
    ck_assert_int_eq(f.t->ops->send(f.t, &peer, NULL, hello, sizeof hello), COAP_OK);
    coap_addr_t v6;
    coap_addr_from_host(&v6, "2001:db8::1", 5683);
    ck_assert_int_eq(f.t->ops->send(f.t, &v6, NULL, hello, sizeof hello), COAP_OK);
    ck_assert_int_eq(f.t->ops->send(f.t, &peer, NULL, hello, sizeof hello), COAP_OK);
    ck_assert_uint_eq(stats(&f)->send_calls, 0);
    ck_assert_uint_eq(f.t->ops->next_deadline(f.t), 0);
    f.t->ops->process(f.t, 0);
    ck_assert_uint_eq(f.rec.failed, 1);
    ck_assert_int_eq(f.rec.failed_err, COAP_ERR_UNREACHABLE);
    ck_assert_uint_eq(stats(&f)->datagrams_out, 2);
    ck_assert_uint_eq(f.t->ops->next_deadline(f.t), BASE_NEVER);
    uint8_t first[4];
    ck_assert_uint_eq(drain_peer(&f, first, 4), 2);
    ck_assert_uint_eq(first[0], 0x50);
    fx_close(&f);
}
END_TEST

/* Freeing the transport sends what is still queued (a last notification
 * or RST sent while the endpoint shuts down). */
START_TEST(free_sends_what_is_queued)
{
    fx_t f;
    fx_open(&f);
    coap_addr_t peer = peer_addr(&f);
    const uint8_t bye[] = {0x70, 0, 0, 1};
    ck_assert_int_eq(f.t->ops->send(f.t, &peer, NULL, bye, sizeof bye), COAP_OK);
    f.t->ops->free(f.t);
    uint8_t first[4];
    ck_assert_uint_eq(drain_peer(&f, first, 4), 1);
    ck_assert_uint_eq(first[0], 0x70);
    close(f.peer);
}
END_TEST

/* Through an endpoint on a loop: the requests made in one turn (as the
 * gateway makes them from its HTTP handlers) leave in one sendmmsg() when
 * the loop asks the endpoint's deadline, without a pass of process() (no
 * read of the socket) of their own. */
START_TEST(requests_of_one_loop_turn_leave_together)
{
    fx_t f;
    fx_open(&f); /* for the peer socket */
    coap_addr_t lo;
    coap_addr_from_host(&lo, "127.0.0.1", 0);
    coap_ep_params_t p = {.nstart = 8}; /* five in flight to one peer (§4.7) */
    coap_ep_t *ep = coap_ep_new(&lo, &p, NULL);
    ck_assert_ptr_nonnull(ep);
    base_loop_t *loop = base_loop_new();
    ck_assert_int_eq(coap_ep_attach(ep, loop), 0);
    coap_addr_t peer = peer_addr(&f);
    char uri[64];
    snprintf(uri, sizeof uri, "coap://127.0.0.1:%u/x", coap_addr_port(&peer));
    sim_rec_t k[5] = {{0}};
    coap_req_t *req[5];
    for (int i = 0; i < 5; i++) {
        int err;
        req[i] = coap_req_new(ep, COAP_GET, uri, NULL, &err);
        ck_assert_ptr_nonnull(req[i]);
        ck_assert_int_eq(coap_req_send(req[i], sim_on_resp, &k[i]), COAP_OK);
    }
    const coap_udp_stats_t *st = coap_transport_udp_stats(coap_ep_transport(ep));
    ck_assert_uint_eq(st->send_calls, 0);
    base_loop_run_once(loop, 0);
    ck_assert_uint_eq(st->send_calls, 1);
    ck_assert_uint_eq(st->datagrams_out, 5);
    ck_assert_uint_eq(st->recv_calls, 0);
    uint8_t first[8];
    ck_assert_uint_eq(drain_peer(&f, first, 8), 5);
    for (int i = 0; i < 5; i++) coap_req_cancel(req[i]);
    coap_ep_detach(ep, loop);
    coap_ep_free(ep);
    base_loop_free(loop);
    fx_close(&f);
}
END_TEST

/* A request to an address with no route (IPv6 from an IPv4 socket): it
 * was queued, so the failure comes from the next pass, to the request's
 * callback (COAP_ERR_UNREACHABLE at once, as when send() said so), and
 * the endpoint counts it among its send errors. */
START_TEST(no_route_from_the_queue_fails_the_request)
{
    coap_addr_t lo;
    coap_addr_from_host(&lo, "127.0.0.1", 0);
    coap_ep_t *ep = coap_ep_new(&lo, NULL, NULL);
    ck_assert_ptr_nonnull(ep);
    base_loop_t *loop = base_loop_new();
    ck_assert_int_eq(coap_ep_attach(ep, loop), 0);
    int err;
    coap_req_t *req = coap_req_new(ep, COAP_GET, "coap://[2001:db8::1]/x", NULL, &err);
    ck_assert_ptr_nonnull(req);
    sim_rec_t k = {0};
    ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k), COAP_OK);
    for (int i = 0; i < 10 && !k.finals; i++) base_loop_run_once(loop, 10);
    ck_assert_int_eq(k.finals, 1);
    ck_assert_int_eq(k.err, COAP_ERR_UNREACHABLE);
    ck_assert_uint_eq(coap_ep_stats(ep)->send_errors, 1);
    ck_assert_uint_eq(coap_ep_stats(ep)->retransmissions, 0);
    coap_ep_detach(ep, loop);
    coap_ep_free(ep);
    base_loop_free(loop);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("udp_batch");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, answers_of_one_pass_in_one_sendmmsg);
    tcase_add_test(tc, burst_over_a_batch_all_read);
    tcase_add_test(tc, short_batch_ends_the_read);
    tcase_add_test(tc, large_datagrams_in_a_batch);
    tcase_add_test(tc, large_datagrams_do_not_stay_resident);
    tcase_add_test(tc, failed_datagram_does_not_drop_the_others);
    tcase_add_test(tc, answers_over_a_send_batch);
    tcase_add_test(tc, send_outside_process_waits_for_the_pass);
    tcase_add_test(tc, free_sends_what_is_queued);
    suite_add_tcase(s, tc);
    tc = tcase_create("endpoint");
    tcase_add_test(tc, requests_of_one_loop_turn_leave_together);
    tcase_add_test(tc, no_route_from_the_queue_fails_the_request);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
