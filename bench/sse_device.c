/*
 * sse_device - a CoAP device for bench/run-sse.sh, on the engine's public
 * server API: N observable resources /t/0 .. /t/N-1, each notified every
 * PERIOD_MS (default 250) with the text/plain payload "t=<ns> n=<tick>":
 * the CLOCK_REALTIME nanoseconds taken just before that resource's
 * notification goes out, and the round number (1, 2, ...), from which a
 * subscriber counts what it missed. A GET (or an Observe registration)
 * returns the payload of the resource's last notification ("n=0" before
 * the first). Notifications use the server's default policy (NON, a CON
 * every 20th), Max-Age 2.
 *
 * Schedule (absolute, so the rate does not drift): resource i is notified
 * at start + round * PERIOD_MS + i * PERIOD_MS / N, i.e. N independent
 * sensors with their phases spread over the period; with "burst" all N are
 * notified together at the start of each period.
 * usage: sse_device ADDR:PORT N [PERIOD_MS [burst]]
 */
#include "coap_cf.h"
#include "coap_server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One sensor: its resource and its current value, the payload of its
 * last notification (a registration gets that, not a newer round). */
typedef struct {
    coap_server_resource_t *res;
    char value[64];
} sensor_t;

typedef struct {
    coap_server_t *srv;
    sensor_t *s;
    unsigned n;
    uint32_t period_ms;
    uint64_t start_ms;
    uint64_t tick; /* the current round, from 1 */
    unsigned next; /* the next resource to notify in this round */
    int burst;
    base_loop_timer_t *timer;
} device_t;

static volatile sig_atomic_t stop;
static void on_signal(int s)
{
    (void)s;
    stop = 1;
}

static unsigned long long realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static coap_server_response_t representation(const sensor_t *s)
{
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.payload = s->value;
    r.payload_len = strlen(s->value);
    r.content_format = COAP_CF_TEXT_PLAIN;
    r.max_age = 2;
    return r;
}

/* GET (and Observe registrations, which the server handles): the value
 * from the sensor's last notification. */
static void get_value(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    coap_server_response_t r = representation(arg);
    coap_server_respond(srv, req->id, &r);
}

/* When resource i of round `tick` is due, in loop milliseconds. */
static uint64_t due_ms(const device_t *d, uint64_t tick, unsigned i)
{
    uint64_t off = d->burst ? 0 : (uint64_t)i * d->period_ms / d->n;
    return d->start_ms + tick * d->period_ms + off;
}

static void on_tick(base_loop_t *loop, base_loop_timer_t *t, void *arg)
{
    device_t *d = arg;
    uint64_t now = base_loop_now(loop);
    while (due_ms(d, d->tick, d->next) <= now) {
        sensor_t *s = &d->s[d->next];
        snprintf(s->value, sizeof s->value, "t=%llu n=%llu", realtime_ns(), /* per resource */
                 (unsigned long long)d->tick);
        coap_server_response_t r = representation(s);
        coap_server_notify(d->srv, s->res, &r);
        if (++d->next == d->n) {
            d->next = 0;
            d->tick++;
        }
    }
    base_loop_timer_arm(t, due_ms(d, d->tick, d->next));
}

int main(int argc, char **argv)
{
    coap_addr_t addr;
    long n = argc >= 3 ? strtol(argv[2], NULL, 10) : 0;
    long period = argc >= 4 ? strtol(argv[3], NULL, 10) : 250;
    int burst = argc >= 5 && !strcmp(argv[4], "burst");
    if (argc < 3 || coap_addr_parse(&addr, argv[1], 5683) || n < 1 || n > 10000 || period < 1 ||
        (argc >= 5 && !burst)) {
        fprintf(stderr, "usage: sse_device ADDR:PORT N [PERIOD_MS [burst]]   (1 <= N <= 10000)\n");
        return 2;
    }
    coap_ep_params_t p = {.max_dedup = 65536};
    int err;
    coap_ep_t *ep = coap_ep_new(&addr, &p, &err);
    if (!ep) {
        fprintf(stderr, "sse_device: cannot bind %s\n", argv[1]);
        return 1;
    }
    base_loop_t *loop = base_loop_new();
    device_t d = {.n = (unsigned)n, .period_ms = (uint32_t)period, .tick = 1, .burst = burst};
    /* One gateway observes every resource: past the server's default of
     * 64 observers per host, targets would answer without Observe. */
    coap_server_params_t sp = {.max_observers_per_host = (uint32_t)n};
    d.srv = coap_server_new(ep, &sp);
    d.s = calloc((size_t)n, sizeof *d.s);
    if (!loop || !d.srv || !d.s) {
        fprintf(stderr, "sse_device: out of memory\n");
        return 1;
    }
    for (long i = 0; i < n; i++) {
        char path[32];
        snprintf(path, sizeof path, "/t/%ld", i);
        snprintf(d.s[i].value, sizeof d.s[i].value, "t=%llu n=0", realtime_ns());
        d.s[i].res = coap_server_add(d.srv, path, COAP_RES_OBSERVABLE, COAP_METHODS_READ, get_value,
                                     &d.s[i], NULL);
        if (!d.s[i].res) {
            fprintf(stderr, "sse_device: cannot add %s\n", path);
            return 1;
        }
    }
    coap_ep_attach(ep, loop);
    d.timer = base_loop_timer_new(loop, on_tick, &d);
    d.start_ms = base_loop_now(loop);
    base_loop_timer_arm(d.timer, due_ms(&d, d.tick, 0));
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    while (!stop) base_loop_run_once(loop, 200);
    base_loop_timer_free(d.timer);
    coap_ep_detach(ep, loop);
    coap_server_free(d.srv);
    coap_ep_free(ep);
    base_loop_free(loop);
    free(d.s);
    return 0;
}
