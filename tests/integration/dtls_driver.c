/*
 * dtls_driver - a test client that sends several GETs over one DTLS
 * transport (coapgw-client sends one per process), so that the tests can
 * watch what happens between requests: session reuse, idle close and
 * resumption, a server that restarts.
 *
 *   dtls_driver [DTLS options of coapgw-client] [--count N] [--interval-ms MS]
 *               [--idle-ms MS] [--timeout-ms MS] [--pause-after K --resume-file F] URI
 *
 * Prints "I ok CODE PAYLOAD" or "I error TEXT" per request, "paused" when it
 * waits for F to exist after request K (running its loop meanwhile), each
 * DTLS event on stderr, and at the end the transport's counters as
 * "name=value" words on one line.
 */
#include "coap_client.h"
#include "base_loop.h"
#include "coap_uri.h"
#include "tls_args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    tls_args_t tls;
    const char *uri, *resume_file;
    unsigned count, interval_ms, idle_ms, timeout_ms, pause_after;
} opts_t;

static int parse(int argc, char **argv, opts_t *o)
{
    *o = (opts_t){.count = 1, .timeout_ms = 20000};
    for (int i = 1; i < argc; i++) {
        int t = tls_args_take(&o->tls, argc, argv, &i);
        if (t < 0) return -1;
        if (t) continue;
        const char *f = argv[i];
        if (f[0] != '-') {
            o->uri = f;
            continue;
        }
        if (i + 1 >= argc) return -1;
        const char *v = argv[++i];
        unsigned n = (unsigned)strtoul(v, NULL, 10);
        if (!strcmp(f, "--count"))
            o->count = n;
        else if (!strcmp(f, "--interval-ms"))
            o->interval_ms = n;
        else if (!strcmp(f, "--idle-ms"))
            o->idle_ms = n;
        else if (!strcmp(f, "--timeout-ms"))
            o->timeout_ms = n;
        else if (!strcmp(f, "--pause-after"))
            o->pause_after = n;
        else if (!strcmp(f, "--resume-file"))
            o->resume_file = v;
        else
            return -1;
    }
    return o->uri ? 0 : -1;
}

static void on_event(void *arg, const dtls_event_t *ev)
{
    char peer[COAP_ADDR_STRLEN];
    (void)arg;
    fprintf(stderr, "dtls_driver: event %d %s: %s\n", (int)ev->kind,
            coap_addr_str(ev->peer, peer, sizeof peer), ev->reason);
}

typedef struct {
    int done;
    unsigned i;
} one_t;

static void on_response(coap_req_t *req, const coap_resp_t *r, void *arg)
{
    one_t *one = arg;
    char code[48];
    (void)req;
    if (r->err)
        printf("%u error %s\n", one->i, coap_strerror(r->err));
    else
        printf("%u ok %s %.*s\n", one->i, coap_code_str(r->msg->code, code, sizeof code),
               (int)r->body_len, (const char *)r->body);
    fflush(stdout);
    if (r->last) one->done = 1;
}

static void run_for(base_loop_t *loop, unsigned ms)
{
    uint64_t end = base_loop_now(loop) + ms;
    while (base_loop_now(loop) < end) base_loop_run_once(loop, 50);
}

static void print_stats(const coap_transport_t *tr)
{
    dtls_stats_t s;
    dtls_transport_stats(tr, &s);
    printf("handshakes_ok=%llu handshakes_resumed=%llu handshakes_failed=%llu closed_idle=%llu "
           "closed_by_peer=%llu closed_lost=%llu sessions=%u\n",
           (unsigned long long)s.handshakes_ok, (unsigned long long)s.handshakes_resumed,
           (unsigned long long)s.handshakes_failed, (unsigned long long)s.closed_idle,
           (unsigned long long)s.closed_by_peer, (unsigned long long)s.closed_lost, s.sessions);
}

int main(int argc, char **argv)
{
    opts_t o;
    static coap_parsed_uri_t u;
    char why[256];
    int err;
    if (parse(argc, argv, &o) || coap_uri_parse(&u, o.uri)) {
        fprintf(stderr, "usage: see the comment at the top of dtls_driver.c\n");
        return 2;
    }
    coap_addr_t dest;
    dtls_creds_t *c = tls_args_creds(&o.tls, u.host, why, sizeof why);
    if (!c || coap_addr_resolve(&dest, u.host, u.port)) {
        fprintf(stderr, "dtls_driver: %s\n", c ? "cannot resolve" : why);
        return 2;
    }
    dtls_config_t cfg = {.client = c, .event = on_event};
    cfg.params.idle_timeout_ms = o.idle_ms;
    coap_transport_t *tr = dtls_transport_new(&cfg, &err);
    dtls_creds_unref(c);
    coap_ep_t *ep = tr ? coap_ep_new_on(tr, NULL, &err) : NULL;
    base_loop_t *loop = base_loop_new();
    if (!ep || coap_ep_attach(ep, loop)) return fprintf(stderr, "%s\n", coap_strerror(err)), 3;
    for (unsigned i = 1; i <= o.count; i++) {
        one_t one = {0, i};
        coap_req_t *req = coap_req_new(ep, COAP_GET, o.uri, &dest, &err);
        coap_req_set_timeout(req, o.timeout_ms);
        coap_req_send(req, on_response, &one);
        while (!one.done) base_loop_run_once(loop, 50);
        if (i == o.pause_after && o.resume_file) {
            printf("paused\n");
            fflush(stdout);
            while (access(o.resume_file, F_OK)) run_for(loop, 50);
        }
        if (i < o.count) run_for(loop, o.interval_ms);
    }
    print_stats(tr);
    coap_ep_detach(ep, loop);
    coap_ep_free(ep);
    base_loop_free(loop);
    return 0;
}
