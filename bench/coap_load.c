/*
 * coap_load - a small CoAP load generator on the engine's client API: keeps
 * CONCURRENCY requests in flight for SECONDS and counts the answers.
 *   coap_load [-P PROXY-ADDR:PORT] [-c CONCURRENCY] [-n ENDPOINTS] [-d SECONDS] URI
 * With -P the URI goes in Proxy-Uri (it may be http://). A coap+tcp:// URI
 * (without -P) runs over the engine's TCP transport (RFC 8323: its §3
 * framing, coap/msg_tcp.c), one connection per endpoint. -n spreads the
 * load over that many endpoints (connections over TCP, source ports over
 * UDP), CONCURRENCY / ENDPOINTS in flight on each; all run in one thread.
 * Prints one line: "requests N ok N failed N seconds S rps R p50_ms A
 * p99_ms B cpu_pct C" (C: this process's CPU time, % of one core).
 */
#include "coap_client.h"
#include "coap_transport.h"
#include "coap_uri.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define MAX_SAMPLES 2000000
#define MAX_EPS     64

typedef struct {
    coap_ep_t *ep[MAX_EPS];
    int neps;
    base_loop_t *loop;
    const char *uri;
    coap_addr_t dest;
    int proxy;
    uint64_t end, ok, failed, inflight;
    unsigned *lat; /* microseconds */
    size_t nlat;
} load_t;

typedef struct {
    load_t *l;
    coap_ep_t *ep;
    uint64_t t0;
} one_t;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void start_one(load_t *l, coap_ep_t *ep);

static void done(coap_req_t *req, const coap_resp_t *r, void *arg)
{
    (void)req;
    one_t *o = arg;
    load_t *l = o->l;
    coap_ep_t *ep = o->ep;
    if (!r->err && COAP_CODE_CLASS(r->msg->code) == 2) {
        l->ok++;
        if (l->nlat < MAX_SAMPLES) l->lat[l->nlat++] = (unsigned)(now_us() - o->t0);
    } else {
        l->failed++;
    }
    free(o);
    l->inflight--;
    if (base_loop_now(l->loop) < l->end) start_one(l, ep);
}

static void start_one(load_t *l, coap_ep_t *ep)
{
    int err;
    coap_req_t *req = l->proxy ? coap_req_new_proxy(ep, COAP_GET, l->uri, &l->dest, &err)
                               : coap_req_new(ep, COAP_GET, l->uri, &l->dest, &err);
    one_t *o = malloc(sizeof *o);
    if (!req || !o) {
        fprintf(stderr, "coap_load: %s\n", coap_strerror(err));
        exit(1);
    }
    o->l = l;
    o->ep = ep;
    o->t0 = now_us();
    coap_req_set_timeout(req, 10000);
    if (coap_req_send(req, done, o)) {
        free(o);
        l->failed++;
        return;
    }
    l->inflight++;
}

static int cmp_u(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

/* One endpoint: on UDP, or on a TCP transport of its own (a connection of
 * its own to the server, made by the first request: connect_out). */
static coap_ep_t *endpoint(int tcp, const coap_ep_params_t *p)
{
    int err;
    if (!tcp) return coap_ep_new(NULL, p, &err);
    coap_tcp_params_t tp = {.connect_out = 1};
    coap_transport_t *tr = coap_transport_tcp_new(NULL, &tp, &err);
    return tr ? coap_ep_new_on(tr, p, &err) : NULL;
}

static void report(load_t *l, double secs, double el, double cpu)
{
    qsort(l->lat, l->nlat, sizeof *l->lat, cmp_u);
    double p50 = l->nlat ? l->lat[l->nlat / 2] / 1000.0 : 0,
           p99 = l->nlat ? l->lat[l->nlat * 99 / 100] / 1000.0 : 0;
    printf("requests %llu ok %llu failed %llu seconds %.2f rps %.0f p50_ms %.2f p99_ms %.2f "
           "cpu_pct %.0f\n",
           (unsigned long long)(l->ok + l->failed), (unsigned long long)l->ok,
           (unsigned long long)l->failed, el, (double)l->ok / secs, p50, p99, cpu * 100 / el);
}

int main(int argc, char **argv)
{
    static load_t l;
    const char *proxy = NULL;
    int conc = 64, neps = 1;
    double secs = 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-P") && i + 1 < argc)
            proxy = argv[++i];
        else if (!strcmp(argv[i], "-c") && i + 1 < argc)
            conc = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-n") && i + 1 < argc)
            neps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-d") && i + 1 < argc)
            secs = atof(argv[++i]);
        else
            l.uri = argv[i];
    }
    if (!l.uri || neps < 1 || neps > MAX_EPS || conc < neps || conc / neps > 255 || secs <= 0) {
        fprintf(stderr,
                "usage: coap_load [-P PROXY-ADDR:PORT] [-c CONCURRENCY] [-n 1..%d] "
                "[-d SECONDS] URI\n  (CONCURRENCY / ENDPOINTS: 1..255)\n",
                MAX_EPS);
        return 2;
    }
    static coap_parsed_uri_t u;
    if (proxy ? coap_addr_parse(&l.dest, proxy, 5683)
              : (coap_uri_parse_ex(&u, l.uri, COAP_URI_TCP) ||
                 coap_addr_from_host(&l.dest, u.host, u.port))) {
        fprintf(stderr, "coap_load: bad address\n");
        return 2;
    }
    l.proxy = proxy != NULL;
    /* the load generator may keep many requests in flight to one peer */
    coap_ep_params_t p = {.nstart = (uint8_t)(conc / neps)};
    l.loop = base_loop_new();
    l.lat = malloc(MAX_SAMPLES * sizeof *l.lat);
    if (!l.loop || !l.lat) return 1;
    for (l.neps = 0; l.neps < neps; l.neps++) {
        if (!(l.ep[l.neps] = endpoint(!proxy && u.tcp, &p))) return 1;
        coap_ep_attach(l.ep[l.neps], l.loop);
    }
    uint64_t t0 = now_us();
    double c0 = cpu_s();
    l.end = base_loop_now(l.loop) + (uint64_t)(secs * 1000);
    for (int i = 0; i < neps * (conc / neps); i++) start_one(&l, l.ep[i % neps]);
    /* bounded: the last requests get their own 10 s timeout at most */
    while (l.inflight && base_loop_now(l.loop) < l.end + 11000) base_loop_run_once(l.loop, 100);
    double el = (double)(now_us() - t0) / 1e6;
    report(&l, secs, el, cpu_s() - c0);
    for (int i = 0; i < l.neps; i++) {
        coap_ep_detach(l.ep[i], l.loop);
        coap_ep_free(l.ep[i]);
    }
    base_loop_free(l.loop);
    free(l.lat);
    return 0;
}
