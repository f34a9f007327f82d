/*
 * Unit tests for the event loop (base_loop.h) with a fake clock: timers,
 * a timer re-arming itself, an fd callback on a pipe, a source whose
 * deadline drives process(), a virtual endpoint attached as a source, and
 * a real endpoint hearing ICMP errors.
 */
#include "simsrv.h"
#include "coap_client.h"
#include "coap_ep.h"
#include "base_loop.h"
#include "simnet.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

static uint64_t fake_now;

static uint64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
}

static base_loop_t *new_loop(void)
{
    base_loop_t *l = base_loop_new();
    ck_assert_ptr_nonnull(l);
    fake_now = 10000;
    base_loop_set_clock(l, fake_clock, NULL);
    return l;
}

typedef struct {
    int fired;
    uint64_t at[8];
    int rearm_until; /* re-arm 100 ms later while fired < this */
} tick_t;

static void on_tick(base_loop_t *l, base_loop_timer_t *t, void *arg)
{
    tick_t *k = arg;
    k->at[k->fired++ & 7] = base_loop_now(l);
    if (k->fired < k->rearm_until) base_loop_timer_arm_in(t, 100);
}

START_TEST(timer_fires_at_its_time)
{
    base_loop_t *l = new_loop();
    tick_t k = {0};
    base_loop_timer_t *t = base_loop_timer_new(l, on_tick, &k);
    base_loop_timer_arm_in(t, 1000);
    fake_now = 10999;
    base_loop_run_once(l, 0);
    ck_assert_int_eq(k.fired, 0);
    fake_now = 11000;
    ck_assert_int_eq(base_loop_run_once(l, 0), 1);
    ck_assert_int_eq(k.fired, 1);
    ck_assert_uint_eq(k.at[0], 11000);
    fake_now = 20000;
    base_loop_run_once(l, 0); /* one-shot */
    ck_assert_int_eq(k.fired, 1);
    /* a disarmed timer does not fire */
    base_loop_timer_arm(t, 20500);
    base_loop_timer_disarm(t);
    fake_now = 21000;
    base_loop_run_once(l, 0);
    ck_assert_int_eq(k.fired, 1);
    base_loop_timer_free(t);
    base_loop_free(l);
}
END_TEST

START_TEST(timer_rearms_itself)
{
    base_loop_t *l = new_loop();
    tick_t k = {.rearm_until = 3};
    base_loop_timer_t *t = base_loop_timer_new(l, on_tick, &k);
    base_loop_timer_arm(t, 10100);
    for (int i = 0; i < 10; i++) {
        fake_now += 50;
        base_loop_run_once(l, 0);
    }
    ck_assert_int_eq(k.fired, 3);
    ck_assert_uint_eq(k.at[0], 10100);
    ck_assert_uint_eq(k.at[1], 10200);
    ck_assert_uint_eq(k.at[2], 10300);
    base_loop_timer_free(t);
    base_loop_free(l);
}
END_TEST

typedef struct {
    int calls;
    unsigned events;
    char got;
} fdcb_t;

static void on_fd(base_loop_t *l, int fd, unsigned events, void *arg)
{
    (void)l;
    fdcb_t *f = arg;
    f->calls++;
    f->events = events;
    ck_assert_int_eq(read(fd, &f->got, 1), 1);
}

START_TEST(fd_callback_on_pipe)
{
    base_loop_t *l = new_loop();
    int p[2];
    ck_assert_int_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    fdcb_t f = {0};
    ck_assert_int_eq(base_loop_add_fd(l, p[0], BASE_LOOP_READ, on_fd, &f), 0);
    ck_assert_int_eq(base_loop_run_once(l, 0), 0);
    ck_assert_int_eq(f.calls, 0);
    ck_assert_int_eq(write(p[1], "z", 1), 1);
    ck_assert_int_eq(base_loop_run_once(l, 1000), 1);
    ck_assert_int_eq(f.calls, 1);
    ck_assert(f.events & BASE_LOOP_READ);
    ck_assert_int_eq(f.got, 'z');
    base_loop_del_fd(l, p[0]);
    ck_assert_int_eq(write(p[1], "y", 1), 1);
    base_loop_run_once(l, 0);
    ck_assert_int_eq(f.calls, 1);
    close(p[0]);
    close(p[1]);
    base_loop_free(l);
}
END_TEST

typedef struct {
    uint64_t deadline;
    int processed;
} src_t;

static uint64_t src_deadline(void *arg)
{
    return ((src_t *)arg)->deadline;
}

static void src_process(void *arg)
{
    src_t *s = arg;
    s->processed++;
    s->deadline = BASE_NEVER;
}

START_TEST(source_deadline_drives_process)
{
    base_loop_t *l = new_loop();
    src_t s = {.deadline = 10500};
    ck_assert_int_eq(base_loop_add_source(l, -1, src_process, src_deadline, &s), 0);
    fake_now = 10499;
    base_loop_run_once(l, 0);
    ck_assert_int_eq(s.processed, 0);
    fake_now = 10500;
    base_loop_run_once(l, 0);
    ck_assert_int_eq(s.processed, 1);
    base_loop_run_once(l, 0); /* the deadline is now NEVER */
    ck_assert_int_eq(s.processed, 1);
    s.deadline = 10600;
    base_loop_remove_source(l, &s);
    fake_now = 11000;
    base_loop_run_once(l, 0);
    ck_assert_int_eq(s.processed, 1);
    base_loop_free(l);
}
END_TEST

/* A virtual endpoint as a deadline-only source: its CON retransmission
 * runs when the loop's (fake) clock reaches the endpoint's deadline. */
static int ep_sent;

/* A transport that only counts what is sent (and never reads). */
static int count_send(coap_transport_t *t, const coap_addr_t *to, const coap_addr_t *local,
                      const uint8_t *buf, size_t len)
{
    (void)t, (void)to, (void)local, (void)buf, (void)len;
    ep_sent++;
    return COAP_OK;
}
static void count_process(coap_transport_t *t, uint64_t now)
{
    (void)t, (void)now;
}
static uint64_t count_deadline(const coap_transport_t *t)
{
    (void)t;
    return BASE_NEVER;
}
static int count_fd(const coap_transport_t *t)
{
    (void)t;
    return -1;
}
static int count_local(const coap_transport_t *t, coap_addr_t *out)
{
    (void)t, (void)out;
    return COAP_ERR_INVALID;
}
static void count_free(coap_transport_t *t)
{
    free(t);
}
static const coap_transport_ops_t counting_ops = {
    "count", count_send, count_process, count_deadline, count_fd, count_local, count_free,
    0,       0,          NULL,          NULL,           NULL};

START_TEST(endpoint_as_source)
{
    base_loop_t *l = new_loop();
    coap_ep_params_t p = {.ack_timeout_ms = 1000, .ack_random_factor = 1.0f};
    coap_ep_hooks_t h = {.now = fake_clock};
    coap_transport_t *tr = calloc(1, sizeof *tr);
    tr->ops = &counting_ops;
    coap_ep_t *ep = coap_ep_new_on(tr, &p, NULL);
    coap_ep_set_hooks(ep, &h);
    ck_assert_int_eq(coap_ep_attach(ep, l), 0);
    coap_addr_t to;
    coap_addr_from_host(&to, "10.0.0.9", 5683);
    coap_msg_t m;
    coap_msg_init(&m, COAP_CON, COAP_GET, 0);
    ep_sent = 0;
    ck_assert_int_eq(coap_ep_send(ep, &to, &m, NULL, NULL, NULL), COAP_OK);
    ck_assert_int_eq(ep_sent, 1);
    ck_assert_uint_eq(coap_ep_next_deadline(ep), 11000);
    fake_now = 10999;
    base_loop_run_once(l, 0);
    ck_assert_int_eq(ep_sent, 1);
    fake_now = 11000;
    base_loop_run_once(l, 0);
    ck_assert_int_eq(ep_sent, 2);
    ck_assert_uint_eq(coap_ep_next_deadline(ep), 13000);
    coap_ep_detach(ep, l);
    fake_now = 13000;
    base_loop_run_once(l, 0);
    ck_assert_int_eq(ep_sent, 2);
    coap_ep_free(ep);
    base_loop_free(l);
}
END_TEST

/* --- a real socket --- */

/* ICMP port unreachable (IP_RECVERR) fails the request on the wire and the
 * ones queued behind it at once, with COAP_ERR_UNREACHABLE. */
START_TEST(icmp_unreachable)
{
    coap_addr_t lo;
    coap_addr_from_host(&lo, "127.0.0.1", 0);
    int err = 0;
    coap_ep_t *ep = coap_ep_new(&lo, NULL, &err);
    ck_assert_ptr_nonnull(ep);
    /* a port nobody listens on: bind one, note it, close it */
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sin;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
    close(fd);
    char uri[64];
    snprintf(uri, sizeof uri, "coap://127.0.0.1:%u/x", ntohs(sin.sin_port));
    base_loop_t *loop = base_loop_new();
    ck_assert_int_eq(coap_ep_attach(ep, loop), 0);
    sim_rec_t k[3] = {{0}};
    for (int i = 0; i < 3; i++) {
        coap_req_t *req = coap_req_new(ep, COAP_GET, uri, NULL, &err);
        ck_assert_ptr_nonnull(req);
        ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k[i]), COAP_OK);
    }
    uint64_t start = base_clock_monotonic(NULL);
    while (k[0].finals + k[1].finals + k[2].finals < 3 && base_clock_monotonic(NULL) - start < 1500)
        base_loop_run_once(loop, 50);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(k[i].calls, 1);
        ck_assert_int_eq(k[i].err, COAP_ERR_UNREACHABLE);
    }
    ck_assert_uint_eq(coap_ep_stats(ep)->retransmissions, 0);
    coap_ep_detach(ep, loop);
    coap_ep_free(ep);
    base_loop_free(loop);
}
END_TEST

/* A port in use is a system error that names itself (COAP_ERR_SYS). */
START_TEST(bind_error_is_sys)
{
    coap_addr_t lo;
    coap_addr_from_host(&lo, "127.0.0.1", 0);
    int err = 0;
    coap_ep_t *a = coap_ep_new(&lo, NULL, &err);
    ck_assert_ptr_nonnull(a);
    coap_addr_t bound;
    ck_assert_int_eq(coap_ep_local_addr(a, &bound), COAP_OK);
    ck_assert_ptr_null(coap_ep_new(&bound, NULL, &err));
    ck_assert_int_eq(err, COAP_ERR_SYS(EADDRINUSE));
    ck_assert_str_eq(coap_strerror(err), strerror(EADDRINUSE));
    coap_ep_free(a);
}
END_TEST

/* A socket bound elsewhere (socket activation) is adopted: made
 * non-blocking and close-on-exec, served like one of ours (an empty CON,
 * a CoAP ping, gets its RST, RFC 7252 §4.3); no datagram socket, no
 * socket at all: refused. */
START_TEST(adopt_bound_socket)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0); /* blocking, inherited by exec */
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sin;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
    int err = 1;
    coap_transport_t *tr = coap_transport_udp_adopt(fd, &err);
    ck_assert_ptr_nonnull(tr);
    ck_assert_int_eq(err, COAP_OK);
    ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
    ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    coap_ep_t *ep = coap_ep_new_on(tr, NULL, &err);
    ck_assert_ptr_nonnull(ep);
    coap_addr_t bound;
    ck_assert_int_eq(coap_ep_local_addr(ep, &bound), COAP_OK);
    ck_assert_uint_eq(coap_addr_port(&bound), ntohs(sin.sin_port));
    int peer = socket(AF_INET, SOCK_DGRAM, 0);
    static const uint8_t ping[4] = {0x40, 0x00, 0x12, 0x34};
    ck_assert_int_eq(sendto(peer, ping, sizeof ping, 0, (struct sockaddr *)&sin, sizeof sin), 4);
    base_loop_t *loop = base_loop_new();
    ck_assert_int_eq(coap_ep_attach(ep, loop), 0);
    uint8_t rst[16];
    ssize_t n = -1;
    for (int i = 0; i < 20 && n < 0; i++) {
        base_loop_run_once(loop, 50);
        n = recv(peer, rst, sizeof rst, MSG_DONTWAIT);
    }
    ck_assert_int_eq(n, 4);
    ck_assert_uint_eq(rst[0], 0x70); /* RST, MID 0x1234 */
    ck_assert_uint_eq(rst[2], 0x12);
    coap_ep_detach(ep, loop);
    coap_ep_free(ep); /* closes fd */
    base_loop_free(loop);
    close(peer);
    int tcp = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_ptr_null(coap_transport_udp_adopt(tcp, &err));
    ck_assert_int_eq(err, COAP_ERR_INVALID);
    close(tcp);
    int pipefd[2];
    ck_assert_int_eq(pipe(pipefd), 0);
    ck_assert_ptr_null(coap_transport_udp_adopt(pipefd[0], &err));
    ck_assert_int_eq(err, COAP_ERR_SYS(ENOTSOCK));
    close(pipefd[0]);
    close(pipefd[1]);
}
END_TEST

/* Through the UDP transport: a datagram above max_datagram is counted and
 * dropped, one within it is read (here: a malformed one, counted too). */
START_TEST(udp_datagram_limits)
{
    coap_addr_t lo;
    coap_addr_from_host(&lo, "127.0.0.1", 0);
    coap_ep_t *ep = coap_ep_new(&lo, NULL, NULL);
    ck_assert_ptr_nonnull(ep);
    coap_addr_t to;
    ck_assert_int_eq(coap_ep_local_addr(ep, &to), COAP_OK);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    static uint8_t big[2000];
    memset(big, 0x4F, sizeof big); /* CON with TKL 15: malformed */
    ck_assert_int_eq(sendto(fd, big, 10, 0, &to.u.sa, to.len), 10);
    ck_assert_int_eq(sendto(fd, big, sizeof big, 0, &to.u.sa, to.len), (ssize_t)sizeof big);
    close(fd);
    coap_ep_process(ep);
    ck_assert_uint_eq(coap_ep_stats(ep)->rx, 2);
    ck_assert_uint_eq(coap_ep_stats(ep)->oversized, 1);
    ck_assert_uint_eq(coap_ep_stats(ep)->malformed, 1);
    coap_ep_free(ep);
}
END_TEST

/* A destination written as IPv4-mapped IPv6 reaches the IPv4 peer, and
 * its answer (handed up unmapped by the transport) matches the exchange. */
START_TEST(mapped_destination)
{
    coap_addr_t lo;
    coap_addr_from_host(&lo, "127.0.0.1", 0);
    coap_ep_t *srv = coap_ep_new(&lo, NULL, NULL);
    coap_ep_t *cli = coap_ep_new(NULL, NULL, NULL); /* dual-stack */
    ck_assert_ptr_nonnull(srv);
    ck_assert_ptr_nonnull(cli);
    coap_addr_t at;
    ck_assert_int_eq(coap_ep_local_addr(srv, &at), COAP_OK);
    char uri[80];
    snprintf(uri, sizeof uri, "coap://[::ffff:127.0.0.1]:%u/x", coap_addr_port(&at));
    base_loop_t *loop = base_loop_new();
    coap_ep_attach(srv, loop);
    coap_ep_attach(cli, loop);
    int err;
    coap_req_t *req = coap_req_new(cli, COAP_GET, uri, NULL, &err);
    ck_assert_ptr_nonnull(req);
    sim_rec_t k = {0};
    ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k), COAP_OK);
    uint64_t start = base_clock_monotonic(NULL);
    while (!k.finals && base_clock_monotonic(NULL) - start < 2000) base_loop_run_once(loop, 50);
    /* no handler on srv: a CON request gets RST (§4.2), which must reach
     * the exchange rather than look unexpected */
    ck_assert_int_eq(k.finals, 1);
    ck_assert_int_eq(k.err, COAP_ERR_RESET);
    ck_assert_uint_eq(coap_ep_stats(cli)->unexpected, 0);
    coap_ep_detach(srv, loop);
    coap_ep_detach(cli, loop);
    coap_ep_free(srv);
    coap_ep_free(cli);
    base_loop_free(loop);
}
END_TEST

/* Bound to the wildcard, an answer leaves from the address its request was
 * sent to (RFC 7252 §5.3.2): 127.0.0.2 here, not the kernel's choice
 * 127.0.0.1. Here the answer is the RST of a CON nobody handles, and of a
 * malformed CON (no peer kept for it). */
START_TEST(answer_from_the_address_asked)
{
    coap_addr_t any;
    coap_addr_from_host(&any, "0.0.0.0", 0);
    coap_ep_t *ep = coap_ep_new(&any, NULL, NULL);
    ck_assert_ptr_nonnull(ep);
    coap_addr_t at;
    ck_assert_int_eq(coap_ep_local_addr(ep, &at), COAP_OK);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = at.u.v4.sin_port};
    inet_pton(AF_INET, "127.0.0.2", &dst.sin_addr);
    static const uint8_t con_get[] = {0x40, 0x01, 0x12, 0x34};         /* CON GET, no handler */
    static const uint8_t malformed[] = {0x40, 0x01, 0x12, 0x35, 0xF0}; /* delta nibble 15 */
    const uint8_t *dgrams[] = {con_get, malformed};
    size_t lens[] = {sizeof con_get, sizeof malformed};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(sendto(fd, dgrams[i], lens[i], 0, (struct sockaddr *)&dst, sizeof dst),
                         (ssize_t)lens[i]);
        coap_ep_process(ep);
        uint8_t rst[16];
        struct sockaddr_in src;
        socklen_t sl = sizeof src;
        struct timeval tv = {.tv_sec = 1};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ck_assert_int_eq(recvfrom(fd, rst, sizeof rst, 0, (struct sockaddr *)&src, &sl), 4);
        ck_assert_uint_eq(rst[0] >> 4 & 3, COAP_RST);
        char host[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &src.sin_addr, host, sizeof host);
        ck_assert_str_eq(host, "127.0.0.2");
    }
    close(fd);
    coap_ep_free(ep);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loop");
    TCase *tc = tcase_create("loop");
    tcase_add_test(tc, timer_fires_at_its_time);
    tcase_add_test(tc, timer_rearms_itself);
    tcase_add_test(tc, fd_callback_on_pipe);
    tcase_add_test(tc, source_deadline_drives_process);
    tcase_add_test(tc, endpoint_as_source);
    suite_add_tcase(s, tc);
    tc = tcase_create("socket");
    tcase_add_test(tc, icmp_unreachable);
    tcase_add_test(tc, bind_error_is_sys);
    tcase_add_test(tc, adopt_bound_socket);
    tcase_add_test(tc, udp_datagram_limits);
    tcase_add_test(tc, mapped_destination);
    tcase_add_test(tc, answer_from_the_address_asked);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
