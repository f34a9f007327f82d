/*
 * coapgw-sim - a simulated CoAP device on the engine's public server API:
 * sensors that change and can be observed, an LED to switch, a firmware
 * image to fetch block-wise, an echo resource and a slow one.
 */
#include "coap_cf.h"
#include "sim_args.h"
#include "sim_cbor.h"
#include "coap_client.h"
#include "base_loop.h"
#include "coap_server.h"
#include "coap_uri.h"
#include "sim_count.h"
#include "sim_dtls.h"
#include "sim_group.h"
#include "sim_rd.h"
#include "sim_tcp.h"
#include "sim_tls.h"
#include "tls_args.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FIRMWARE_SIZE 65536

typedef struct slow slow_t;

/* The observable resources, by index in the table further down. */
enum {
    RES_TEMP,
    RES_HUM,
    RES_LED,
    RES_TICKS,
    RES_CBOR,
    RES_SENML,
    RES_INTKEY,
    RES_BIG_TICKS,
    RES_OBSERVABLE,
    RES_COUNT = 13
};

/* One listener: plain UDP, and DTLS, TLS (sim_tls.c) or TCP (sim_tcp.c)
 * beside it. */
typedef struct {
    coap_ep_t *ep;
    coap_transport_t *dtls; /* the endpoint's, when it is a DTLS one */
    coap_transport_t *udp;  /* ... when it is a UDP one (--group joins on it) */
    coap_server_t *srv;
    coap_server_resource_t *res[RES_OBSERVABLE];
} listener_t;

typedef struct {
    listener_t l[4];
    int nl;
    base_loop_t *loop;
    base_loop_timer_t *tick;
    slow_t *slow;       /* /slow answers still to come */
    sim_reg_t *reg_tcp; /* a coap+tcp:// --register, over the TCP listener */
    uint32_t period_ms, slow_ms;
    uint64_t rng;
    double temperature, humidity;
    int led_on;
    sim_count_t count; /* /counter and /ticks */
    uint8_t firmware[FIRMWARE_SIZE];
    uint8_t fw_etag[4];
} sim_t;

static uint32_t next_rand(sim_t *s)
{ /* xorshift64*: deterministic for a given --seed */
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return (uint32_t)((s->rng * 2685821657736338717ull) >> 32);
}

/* A notification to the observers of resource `res` on every listener. */
static void notify(sim_t *s, int res, const coap_server_response_t *r)
{
    for (int i = 0; i < s->nl; i++) coap_server_notify(s->l[i].srv, s->l[i].res[res], r);
}

static void respond_text(coap_server_t *srv, uint64_t id, uint8_t code, int cf, const char *text)
{
    coap_server_response_t r = COAP_RESPONSE(code);
    r.payload = text;
    r.payload_len = strlen(text);
    r.content_format = cf;
    coap_server_respond(srv, id, &r);
}

static void temperature_rep(sim_t *s, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.1f", s->temperature);
}

static void humidity_rep(sim_t *s, char *buf, size_t cap)
{
    snprintf(buf, cap, "{\"value\": %.1f, \"unit\": \"%%RH\"}", s->humidity);
}

/* Values stay fresh for two periods (at least 1 s): an observer notices a
 * silent device soon after (RFC 7641 §3.3.1). */
static long sensor_max_age(const sim_t *s)
{
    long v = (long)(2 * s->period_ms / 1000);
    return v < 1 ? 1 : v;
}

/* A sensor reading, fresh for two periods. */
static void respond_sensor(coap_server_t *srv, const coap_server_request_t *req, const sim_t *s,
                           const char *text, int cf)
{
    sim_log_request(req);
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.payload = text;
    r.payload_len = strlen(text);
    r.content_format = cf;
    r.max_age = sensor_max_age(s);
    coap_server_respond(srv, req->id, &r);
}

static void get_temperature(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    char b[32];
    temperature_rep(arg, b, sizeof b);
    respond_sensor(srv, req, arg, b, COAP_CF_TEXT_PLAIN);
}

static void get_humidity(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    char b[64];
    humidity_rep(arg, b, sizeof b);
    respond_sensor(srv, req, arg, b, COAP_CF_JSON);
}

static void led(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    sim_t *s = arg;
    sim_log_request(req);
    if (req->method == COAP_GET) {
        /* A short Max-Age and an ETag per state: caches revalidate often,
         * and an unchanged LED answers 2.03 Valid (RFC 7252 §5.10.6). */
        uint8_t tag = (uint8_t)s->led_on;
        coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
        r.payload = s->led_on ? "on" : "off";
        r.payload_len = strlen(r.payload);
        r.content_format = COAP_CF_TEXT_PLAIN;
        r.etag = &tag;
        r.etag_len = 1;
        r.max_age = 2;
        coap_server_respond(srv, req->id, &r);
        return;
    }
    int on = req->payload_len == 2 && !memcmp(req->payload, "on", 2);
    int off = req->payload_len == 3 && !memcmp(req->payload, "off", 3);
    if (!on && !off) {
        respond_text(srv, req->id, COAP_BAD_REQUEST, COAP_CF_TEXT_PLAIN, "send \"on\" or \"off\"");
        return;
    }
    int changed = s->led_on != on;
    s->led_on = on;
    coap_server_response_t r = COAP_RESPONSE(COAP_CHANGED);
    coap_server_respond(srv, req->id, &r);
    if (changed) {
        coap_server_response_t n = COAP_RESPONSE(COAP_CONTENT);
        n.payload = on ? "on" : "off";
        n.payload_len = strlen(n.payload);
        n.content_format = COAP_CF_TEXT_PLAIN;
        notify(s, RES_LED, &n);
    }
}

/* The current ETags, declared to the server: it answers If-Match and
 * If-None-Match itself (RFC 7252 §5.10.8), the handlers never see a
 * request whose condition fails. */
static int led_etag(coap_server_t *srv, const coap_server_request_t *req, uint8_t etag[8],
                    void *arg)
{
    (void)srv;
    (void)req;
    etag[0] = (uint8_t)((sim_t *)arg)->led_on;
    return 1;
}

static int firmware_etag(coap_server_t *srv, const coap_server_request_t *req, uint8_t etag[8],
                         void *arg)
{
    (void)srv;
    (void)req;
    const sim_t *s = arg;
    memcpy(etag, s->fw_etag, sizeof s->fw_etag);
    return (int)sizeof s->fw_etag;
}

static void firmware(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    sim_t *s = arg;
    sim_log_request(req);
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.payload = s->firmware;
    r.payload_len = FIRMWARE_SIZE;
    r.content_format = COAP_CF_OCTET_STREAM;
    r.etag = s->fw_etag;
    r.etag_len = sizeof s->fw_etag;
    r.max_age = 3600;
    coap_server_respond(srv, req->id, &r);
}

static void echo(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    (void)arg;
    sim_log_request(req);
    coap_server_response_t r =
        COAP_RESPONSE(req->method == COAP_FETCH ? COAP_CONTENT : COAP_CHANGED);
    r.payload = req->payload;
    r.payload_len = req->payload_len;
    r.content_format = req->content_format;
    coap_server_respond(srv, req->id, &r);
}

/* The readings in CBOR and SenML CBOR, as a response or a notification. */
static coap_server_response_t cbor_rep(sim_t *s, int senml, uint8_t *buf, size_t cap)
{
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.payload = buf;
    r.payload_len =
        senml ? sim_senml_reading(s->temperature, s->humidity, s->led_on, buf, cap)
              : sim_cbor_reading(s->temperature, s->humidity, s->led_on, s->count.ticks, buf, cap);
    r.content_format = senml ? COAP_CF_SENML_CBOR : COAP_CF_CBOR;
    r.max_age = sensor_max_age(s);
    return r;
}

/* GET: the reading; PUT and POST: 2.04 with what arrived, as /echo. */
static void cbor_res(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    if (req->method != COAP_GET) {
        echo(srv, req, arg);
        return;
    }
    sim_log_request(req);
    uint8_t buf[256];
    coap_server_response_t r = cbor_rep(arg, 0, buf, sizeof buf);
    coap_server_respond(srv, req->id, &r);
}

static void senml_res(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    sim_log_request(req);
    uint8_t buf[256];
    coap_server_response_t r = cbor_rep(arg, 1, buf, sizeof buf);
    coap_server_respond(srv, req->id, &r);
}

/* /cbor-intkey: {1: "one"}, which has no JSON form; /cbor-bad: an array
 * of two items that holds one, malformed. */
static void cbor_odd(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    (void)arg;
    sim_log_request(req);
    uint8_t buf[16] = {0x82, 0x01};
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.payload = buf;
    r.payload_len = strcmp(req->path, "/cbor-bad") ? sim_cbor_intkey(buf, sizeof buf) : 2;
    r.content_format = COAP_CF_CBOR;
    coap_server_respond(srv, req->id, &r);
}

struct slow {
    sim_t *sim;
    coap_server_t *srv; /* the listener the request came in on */
    uint64_t id;
    base_loop_timer_t *t;
    slow_t *next;
};

static void slow_free(slow_t *sl)
{
    slow_t **pp = &sl->sim->slow;
    while (*pp != sl) pp = &(*pp)->next;
    *pp = sl->next;
    base_loop_timer_free(sl->t);
    free(sl);
}

static void slow_due(base_loop_t *loop, base_loop_timer_t *t, void *arg)
{
    (void)loop;
    (void)t;
    slow_t *sl = arg;
    respond_text(sl->srv, sl->id, COAP_CONTENT, COAP_CF_TEXT_PLAIN, "finally");
    slow_free(sl);
}

/* Answers later: the endpoint sends the empty ACK, then a separate CON. */
static void slow(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    sim_t *s = arg;
    sim_log_request(req);
    slow_t *sl = malloc(sizeof *sl);
    if (!sl) return;
    *sl = (slow_t){.sim = s, .srv = srv, .id = req->id, .next = s->slow};
    s->slow = sl;
    sl->t = base_loop_timer_new(s->loop, slow_due, sl);
    base_loop_timer_arm_in(sl->t, s->slow_ms);
}

static void on_tick(base_loop_t *loop, base_loop_timer_t *t, void *arg)
{
    (void)loop;
    sim_t *s = arg;
    s->temperature += ((int)(next_rand(s) % 11) - 5) / 10.0;
    if (s->temperature < 15) s->temperature = 15;
    if (s->temperature > 30) s->temperature = 30;
    s->humidity += ((int)(next_rand(s) % 11) - 5) / 10.0;
    if (s->humidity < 20) s->humidity = 20;
    if (s->humidity > 80) s->humidity = 80;
    char b[64];
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.max_age = sensor_max_age(s);
    temperature_rep(s, b, sizeof b);
    r.payload = b;
    r.payload_len = strlen(b);
    r.content_format = COAP_CF_TEXT_PLAIN;
    notify(s, RES_TEMP, &r);
    humidity_rep(s, b, sizeof b);
    r.payload_len = strlen(b);
    r.content_format = COAP_CF_JSON;
    notify(s, RES_HUM, &r);
    s->count.ticks++;
    r = sim_ticks_rep(&s->count, b, sizeof b);
    notify(s, RES_TICKS, &r);
    char big[SIM_BIG_SIZE];
    uint8_t etag[4];
    r = sim_big_ticks_rep(&s->count, big, etag);
    notify(s, RES_BIG_TICKS, &r);
    uint8_t cb[256];
    r = cbor_rep(s, 0, cb, sizeof cb);
    notify(s, RES_CBOR, &r);
    r = cbor_rep(s, 1, cb, sizeof cb);
    notify(s, RES_SENML, &r);
    r.payload_len = sim_cbor_intkey(cb, sizeof cb);
    r.content_format = COAP_CF_CBOR;
    notify(s, RES_INTKEY, &r);
    base_loop_timer_arm_in(t, s->period_ms);
}

static volatile sig_atomic_t stop, dump_stats;
static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        dump_stats = 1;
    else
        stop = 1;
}

/* The resources, in one table: served, and listed in the link format
 * sent to a Resource Directory (the same as /.well-known/core). */
#define RW_METHODS (COAP_METHOD_BIT(COAP_GET) | COAP_METHOD_BIT(COAP_PUT))
#define ECHO_METHODS                                                                               \
    (COAP_METHOD_BIT(COAP_POST) | COAP_METHOD_BIT(COAP_PUT) | COAP_METHOD_BIT(COAP_FETCH) |        \
     COAP_METHOD_BIT(COAP_PATCH) | COAP_METHOD_BIT(COAP_IPATCH))
static const struct {
    const char *path;
    unsigned flags, methods;
    coap_handler_t handler;
    coap_link_attrs_t a;
} resources[RES_COUNT] = {
    {"/sensors/temperature",
     COAP_RES_OBSERVABLE,
     COAP_METHODS_READ,
     get_temperature,
     {.rt = "temperature-c", .if_ = "sensor", .ct = 0, .sz = -1, .title = "Temperature"}},
    {"/sensors/humidity",
     COAP_RES_OBSERVABLE,
     COAP_METHODS_READ,
     get_humidity,
     {.rt = "humidity", .if_ = "sensor", .ct = 50, .sz = -1, .title = "Relative humidity"}},
    {"/actuators/led",
     COAP_RES_OBSERVABLE,
     RW_METHODS,
     led,
     {.rt = "light", .if_ = "actuator", .ct = 0, .sz = -1, .title = "LED"}},
    {"/ticks",
     COAP_RES_OBSERVABLE,
     COAP_METHODS_READ,
     sim_ticks,
     {.rt = "ticks", .ct = 0, .sz = -1, .title = "Periods since start"}},
    {"/cbor",
     COAP_RES_OBSERVABLE,
     COAP_METHODS_READ | COAP_METHOD_BIT(COAP_POST) | COAP_METHOD_BIT(COAP_PUT),
     cbor_res,
     {.rt = "readings", .ct = 60, .sz = -1, .title = "Readings in CBOR"}},
    {"/senml",
     COAP_RES_OBSERVABLE,
     COAP_METHODS_READ,
     senml_res,
     {.rt = "readings", .ct = 112, .sz = -1, .title = "Readings in SenML CBOR"}},
    {"/cbor-intkey", COAP_RES_OBSERVABLE, COAP_METHODS_READ, cbor_odd, {.ct = 60, .sz = -1}},
    {"/big-ticks",
     COAP_RES_OBSERVABLE,
     COAP_METHODS_READ,
     sim_big_ticks,
     {.rt = "ticks", .ct = 0, .sz = SIM_BIG_SIZE, .title = "Periods since start, 5 KiB"}},
    {"/firmware",
     0,
     COAP_METHODS_READ,
     firmware,
     {.rt = "firmware", .ct = 42, .sz = FIRMWARE_SIZE}},
    {"/echo", 0, ECHO_METHODS, echo, {.rt = "echo", .ct = -1, .sz = -1}},
    {"/slow", 0, COAP_METHODS_READ, slow, {.rt = "slow", .ct = 0, .sz = -1}},
    {"/counter",
     0,
     COAP_METHODS_READ | COAP_METHOD_BIT(COAP_POST) | COAP_METHOD_BIT(COAP_PUT),
     sim_counter,
     {.rt = "counter", .ct = 0, .sz = -1}},
    {"/cbor-bad", 0, COAP_METHODS_READ, cbor_odd, {.ct = 60, .sz = -1}},
};

static void add_resources(sim_t *s, listener_t *l)
{
    for (size_t i = 0; i < RES_COUNT; i++) {
        /* the counting resources keep their state apart (sim_count.c) */
        int counting = resources[i].handler == sim_counter || resources[i].handler == sim_ticks ||
                       resources[i].handler == sim_big_ticks;
        coap_server_resource_t *r = coap_server_add(
            l->srv, resources[i].path, resources[i].flags, resources[i].methods,
            resources[i].handler, counting ? (void *)&s->count : s, &resources[i].a);
        if (i < RES_OBSERVABLE) l->res[i] = r;
        if (resources[i].handler == led) coap_resource_set_etag(r, led_etag, s);
        if (resources[i].handler == firmware) coap_resource_set_etag(r, firmware_etag, s);
    }
}

/* The table in link format (RFC 6690 §2; RFC 7641 §6 for obs). */
static size_t link_format(char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < RES_COUNT && n < cap; i++) {
        const coap_link_attrs_t *a = &resources[i].a;
        n += (size_t)snprintf(out + n, cap - n, "%s<%s>", i ? "," : "", resources[i].path);
        if (a->rt && n < cap) n += (size_t)snprintf(out + n, cap - n, ";rt=\"%s\"", a->rt);
        if (a->if_ && n < cap) n += (size_t)snprintf(out + n, cap - n, ";if=\"%s\"", a->if_);
        if (a->ct >= 0 && n < cap) n += (size_t)snprintf(out + n, cap - n, ";ct=%d", a->ct);
        if (a->sz >= 0 && n < cap) n += (size_t)snprintf(out + n, cap - n, ";sz=%ld", a->sz);
        if ((resources[i].flags & COAP_RES_OBSERVABLE) && n < cap)
            n += (size_t)snprintf(out + n, cap - n, ";obs");
        if (a->title && n < cap) n += (size_t)snprintf(out + n, cap - n, ";title=\"%s\"", a->title);
    }
    return n < cap ? n : cap - 1;
}

/* A listener on UDP, or on DTLS with the credentials of the options (which
 * also serve a coaps:// registration: the client role of the same socket),
 * or on TLS (tls_stream) with them. */
static int open_listener(sim_t *s, const char *where, const tls_args_t *tls, int tls_stream)
{
    coap_addr_t addr;
    /* "" with SIM_TCP_OUT or tls_stream: a client-only TCP or TLS
     * endpoint, listening nowhere */
    int outbound_only = (tls == SIM_TCP_OUT || tls_stream) && !*where;
    if (!outbound_only && coap_addr_parse(&addr, where, tls ? 5684 : 5683)) {
        fprintf(stderr, "coapgw-sim: bad listen address %s\n", where);
        return 2;
    }
    int err = COAP_OK;
    coap_ep_t *ep = NULL;
    coap_transport_t *tr = NULL;
    coap_transport_t *udp = NULL;
    int tcp = tls == SIM_TCP || tls == SIM_TCP_OUT, stream = tcp || tls_stream;
    const char *scheme = tcp ? "coap+tcp" : tls_stream ? "coaps+tcp" : tls ? "coaps" : "coap";
    if (tcp) {
        ep = sim_tcp_endpoint(outbound_only ? NULL : &addr, tls == SIM_TCP_OUT ? s->reg_tcp : NULL,
                              &err);
    } else if (tls_stream) {
        ep = sim_tls_endpoint(outbound_only ? NULL : &addr, tls, outbound_only ? s->reg_tcp : NULL,
                              &err);
    } else if (!tls) {
        udp = coap_transport_udp_new(&addr, &err);
        if (udp) ep = coap_ep_new_on(udp, NULL, &err);
    } else {
        if (sim_dtls_transport(&addr, tls, &tr, &err)) return 2;
        if (tr) ep = coap_ep_new_on(tr, NULL, &err);
    }
    if (!ep) {
        fprintf(stderr, "coapgw-sim: cannot listen on %s: %s\n", where, coap_strerror(err));
        return 1;
    }
    listener_t *l = &s->l[s->nl++];
    l->ep = ep;
    l->dtls = stream ? NULL : tr;
    l->udp = udp;
    l->srv = coap_server_new(ep, NULL);
    coap_ep_attach(ep, s->loop);
    add_resources(s, l);
    if (outbound_only)
        fprintf(stderr, "coapgw-sim: %s: connecting out only, listening nowhere\n", scheme);
    else
        fprintf(stderr, "coapgw-sim: listening on %s://%s\n", scheme, where);
    return 0;
}

static void run(sim_t *s)
{
    while (!stop) {
        base_loop_run_once(s->loop, 200);
        if (dump_stats && s->nl > 1 && s->l[1].dtls) sim_dtls_print_stats(s->l[1].dtls);
        dump_stats = 0;
    }
}

int main(int argc, char **argv)
{
    static sim_t s;
    static sim_reg_t g = {.name = "sim", .lifetime_s = 60};
    static char links[1024];
    sim_opts_t o = {.listen = "127.0.0.1:5783", .seed = 1, .period_ms = 1000, .slow_ms = 3000};
    int rc = sim_args_parse(argc, argv, &g, &o);
    if (rc) return rc < 0 ? 0 : rc;
    s.period_ms = o.period_ms;
    s.slow_ms = o.slow_ms;
    s.rng = o.seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < FIRMWARE_SIZE; i++) s.firmware[i] = (uint8_t)(next_rand(&s) >> 24);
    for (size_t i = 0; i < sizeof s.fw_etag; i++) s.fw_etag[i] = (uint8_t)(next_rand(&s) >> 24);
    s.count.max_age = sensor_max_age(&s);
    s.temperature = 21.5;
    s.humidity = 41.2;
    s.loop = base_loop_new();
    /* before "listening on" is printed: tests send SIGUSR1 once they read
     * it, and its default action would end the simulator */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGUSR1, on_signal);
    if (o.rd_uri && g.uri.tcp) s.reg_tcp = &g;
    int plain_out = s.reg_tcp && !g.uri.secure; /* coap+tcp:// */
    if ((rc = open_listener(&s, o.listen, NULL, 0)) ||
        (o.listen_dtls && (rc = open_listener(&s, o.listen_dtls, &o.tls, 0))) ||
        (o.listen_tls && (rc = open_listener(&s, o.listen_tls, &o.tls, 1))) ||
        (o.listen_tcp &&
         (rc = open_listener(&s, o.listen_tcp, plain_out ? SIM_TCP_OUT : SIM_TCP, 0))) ||
        /* a coap+tcp:// --register without --listen-tcp: connects out only */
        (!o.listen_tcp && plain_out && (rc = open_listener(&s, "", SIM_TCP_OUT, 0))) ||
        /* a coaps+tcp:// one: always from a TLS endpoint of its own, last */
        (s.reg_tcp && g.uri.secure && (rc = open_listener(&s, "", &o.tls, 1))))
        return rc;
    for (int i = 0; i < o.ngroups; i++)
        if ((rc = sim_group_join(s.l[0].udp, o.groups[i]))) return rc;
    s.tick = base_loop_timer_new(s.loop, on_tick, &s);
    base_loop_timer_arm_in(s.tick, s.period_ms);
    if (o.rd_uri) { /* registers from the listener's own socket */
        g.ep = s.l[g.uri.tcp ? s.nl - 1 : g.uri.secure ? 1 : 0].ep; /* TCP's or TLS's is the last */
        g.links = links;
        g.links_len = link_format(links, sizeof links);
        sim_reg_start(&g, s.loop);
    }
    run(&s);
    fprintf(stderr, "coapgw-sim: stopping\n");
    if (o.rd_uri) sim_reg_remove(&g, s.loop);
    base_loop_timer_free(s.tick);
    while (s.slow) slow_free(s.slow); /* stopped before they were due */
    for (int i = 0; i < s.nl; i++) {
        coap_ep_detach(s.l[i].ep, s.loop);
        coap_server_free(s.l[i].srv);
        coap_ep_free(s.l[i].ep);
    }
    base_loop_free(s.loop);
    return 0;
}
