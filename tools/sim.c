/*
 * coapgw-sim - a simulated CoAP device on the engine's public server API:
 * sensors that change and can be observed, an LED to switch, a firmware
 * image to fetch block-wise, an echo resource and a slow one.
 */
#include "coap_cf.h"
#include "coap_loop.h"
#include "coap_server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FIRMWARE_SIZE 65536

typedef struct {
    coap_server_t *srv;
    coap_loop_t *loop;
    coap_loop_timer_t *tick;
    coap_resource_t *temp, *hum, *led;
    uint32_t period_ms, slow_ms;
    uint64_t rng;
    double temperature, humidity;
    int led_on;
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

static void log_request(const coap_request_t *req)
{
    char peer[COAP_ADDR_STRLEN];
    const char *m = coap_method_name(req->method);
    fprintf(stderr, "coapgw-sim: %s %s%s from %s\n", m ? m : "?", req->path,
            req->observe == 0   ? " (observe)"
            : req->observe == 1 ? " (deregister)"
                                : "",
            coap_addr_str(req->peer, peer, sizeof peer));
}

static void respond_text(coap_server_t *srv, uint64_t id, uint8_t code, int cf, const char *text)
{
    coap_response_t r = COAP_RESPONSE(code);
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
static void respond_sensor(coap_server_t *srv, const coap_request_t *req, const sim_t *s,
                           const char *text, int cf)
{
    log_request(req);
    coap_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.payload = text;
    r.payload_len = strlen(text);
    r.content_format = cf;
    r.max_age = sensor_max_age(s);
    coap_server_respond(srv, req->id, &r);
}

static void get_temperature(coap_server_t *srv, const coap_request_t *req, void *arg)
{
    char b[32];
    temperature_rep(arg, b, sizeof b);
    respond_sensor(srv, req, arg, b, COAP_CF_TEXT_PLAIN);
}

static void get_humidity(coap_server_t *srv, const coap_request_t *req, void *arg)
{
    char b[64];
    humidity_rep(arg, b, sizeof b);
    respond_sensor(srv, req, arg, b, COAP_CF_JSON);
}

static void led(coap_server_t *srv, const coap_request_t *req, void *arg)
{
    sim_t *s = arg;
    log_request(req);
    if (req->method == COAP_GET) {
        /* A short Max-Age and an ETag per state: caches revalidate often,
         * and an unchanged LED answers 2.03 Valid (RFC 7252 §5.10.6). */
        uint8_t tag = (uint8_t)s->led_on;
        coap_response_t r = COAP_RESPONSE(COAP_CONTENT);
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
    coap_response_t r = COAP_RESPONSE(COAP_CHANGED);
    coap_server_respond(srv, req->id, &r);
    if (changed) {
        coap_response_t n = COAP_RESPONSE(COAP_CONTENT);
        n.payload = on ? "on" : "off";
        n.payload_len = strlen(n.payload);
        n.content_format = COAP_CF_TEXT_PLAIN;
        coap_server_notify(srv, s->led, &n);
    }
}

static void firmware(coap_server_t *srv, const coap_request_t *req, void *arg)
{
    sim_t *s = arg;
    log_request(req);
    coap_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.payload = s->firmware;
    r.payload_len = FIRMWARE_SIZE;
    r.content_format = COAP_CF_OCTET_STREAM;
    r.etag = s->fw_etag;
    r.etag_len = sizeof s->fw_etag;
    r.max_age = 3600;
    coap_server_respond(srv, req->id, &r);
}

static void echo(coap_server_t *srv, const coap_request_t *req, void *arg)
{
    (void)arg;
    log_request(req);
    coap_response_t r = COAP_RESPONSE(req->method == COAP_FETCH ? COAP_CONTENT : COAP_CHANGED);
    r.payload = req->payload;
    r.payload_len = req->payload_len;
    r.content_format = req->content_format;
    coap_server_respond(srv, req->id, &r);
}

typedef struct {
    sim_t *sim;
    uint64_t id;
    coap_loop_timer_t *t;
} slow_t;

static void slow_due(coap_loop_t *loop, coap_loop_timer_t *t, void *arg)
{
    (void)loop;
    slow_t *sl = arg;
    respond_text(sl->sim->srv, sl->id, COAP_CONTENT, COAP_CF_TEXT_PLAIN, "finally");
    coap_loop_timer_free(t);
    free(sl);
}

/* Answers later: the endpoint sends the empty ACK, then a separate CON. */
static void slow(coap_server_t *srv, const coap_request_t *req, void *arg)
{
    (void)srv;
    sim_t *s = arg;
    log_request(req);
    slow_t *sl = malloc(sizeof *sl);
    if (!sl) return;
    sl->sim = s;
    sl->id = req->id;
    sl->t = coap_loop_timer_new(s->loop, slow_due, sl);
    coap_loop_timer_arm_in(sl->t, s->slow_ms);
}

static void on_tick(coap_loop_t *loop, coap_loop_timer_t *t, void *arg)
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
    coap_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.max_age = sensor_max_age(s);
    temperature_rep(s, b, sizeof b);
    r.payload = b;
    r.payload_len = strlen(b);
    r.content_format = COAP_CF_TEXT_PLAIN;
    coap_server_notify(s->srv, s->temp, &r);
    humidity_rep(s, b, sizeof b);
    r.payload_len = strlen(b);
    r.content_format = COAP_CF_JSON;
    coap_server_notify(s->srv, s->hum, &r);
    coap_loop_timer_arm_in(t, s->period_ms);
}

static void usage(FILE *f)
{
    fputs(
        "usage: coapgw-sim [--listen ADDR:PORT] [--period-ms N] [--slow-ms N] [--seed N]\n"
        "A simulated CoAP device (default listen 127.0.0.1:5783). Resources:\n"
        "  /sensors/temperature  observable, text/plain, changes every period\n"
        "  /sensors/humidity     observable, application/json {\"value\": .., \"unit\": \"%RH\"}\n"
        "  /actuators/led        GET; PUT \"on\" or \"off\" (else 4.00); observable\n"
        "  /firmware             65,536 bytes, application/octet-stream, ETag (Block2)\n"
        "  /echo                 POST, PUT, FETCH, PATCH, iPATCH: returns payload and format\n"
        "  /slow                 answers after --slow-ms (default 3000) as a separate response\n"
        "  /.well-known/core     the list of the above (RFC 6690)\n"
        "  --period-ms N         sensor update and notification period (default 1000)\n"
        "  --seed N              seed of the simulated values (default 1)\n"
        "Logs one line per request on stderr; SIGINT or SIGTERM end it.\n",
        f);
}

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void add_resources(sim_t *s)
{
    const unsigned rw = COAP_METHOD_BIT(COAP_GET) | COAP_METHOD_BIT(COAP_PUT);
    const unsigned echo_methods = COAP_METHOD_BIT(COAP_POST) | COAP_METHOD_BIT(COAP_PUT) |
                                  COAP_METHOD_BIT(COAP_FETCH) | COAP_METHOD_BIT(COAP_PATCH) |
                                  COAP_METHOD_BIT(COAP_IPATCH);
    coap_link_attrs_t a = {
        .rt = "temperature-c", .if_ = "sensor", .ct = 0, .sz = -1, .title = "Temperature"};
    s->temp = coap_server_add(s->srv, "/sensors/temperature", COAP_RES_OBSERVABLE,
                              COAP_METHODS_READ, get_temperature, s, &a);
    a = (coap_link_attrs_t){
        .rt = "humidity", .if_ = "sensor", .ct = 50, .sz = -1, .title = "Relative humidity"};
    s->hum = coap_server_add(s->srv, "/sensors/humidity", COAP_RES_OBSERVABLE, COAP_METHODS_READ,
                             get_humidity, s, &a);
    a = (coap_link_attrs_t){.rt = "light", .if_ = "actuator", .ct = 0, .sz = -1, .title = "LED"};
    s->led = coap_server_add(s->srv, "/actuators/led", COAP_RES_OBSERVABLE, rw, led, s, &a);
    a = (coap_link_attrs_t){.rt = "firmware", .ct = 42, .sz = FIRMWARE_SIZE};
    coap_server_add(s->srv, "/firmware", 0, COAP_METHODS_READ, firmware, s, &a);
    a = (coap_link_attrs_t){.rt = "echo", .ct = -1, .sz = -1};
    coap_server_add(s->srv, "/echo", 0, echo_methods, echo, s, &a);
    a = (coap_link_attrs_t){.rt = "slow", .ct = 0, .sz = -1};
    coap_server_add(s->srv, "/slow", 0, COAP_METHODS_READ, slow, s, &a);
}

int main(int argc, char **argv)
{
    static sim_t s;
    const char *listen = "127.0.0.1:5783";
    unsigned long seed = 1;
    s.period_ms = 1000;
    s.slow_ms = 3000;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "coapgw-sim: unknown option or missing value: %s (see --help)\n", o);
            return 2;
        }
        const char *v = argv[++i];
        char *end;
        unsigned long n = strtoul(v, &end, 10);
        if (!strcmp(o, "--listen"))
            listen = v;
        else if (!strcmp(o, "--period-ms") && !*end && n > 0)
            s.period_ms = (uint32_t)n;
        else if (!strcmp(o, "--slow-ms") && !*end)
            s.slow_ms = (uint32_t)n;
        else if (!strcmp(o, "--seed") && !*end)
            seed = n;
        else {
            fprintf(stderr, "coapgw-sim: bad option %s %s (see --help)\n", o, v);
            return 2;
        }
    }
    coap_addr_t addr;
    if (coap_addr_parse(&addr, listen, 5683)) {
        fprintf(stderr, "coapgw-sim: bad listen address %s\n", listen);
        return 2;
    }
    s.rng = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < FIRMWARE_SIZE; i++) s.firmware[i] = (uint8_t)(next_rand(&s) >> 24);
    for (size_t i = 0; i < sizeof s.fw_etag; i++) s.fw_etag[i] = (uint8_t)(next_rand(&s) >> 24);
    s.temperature = 21.5;
    s.humidity = 41.2;
    int err;
    coap_ep_t *ep = coap_ep_new(&addr, NULL, &err);
    if (!ep) {
        fprintf(stderr, "coapgw-sim: cannot listen on %s: %s\n", listen,
                err < 0 && err > -200 ? strerror(-err) : coap_strerror(err));
        return 1;
    }
    s.loop = coap_loop_new();
    s.srv = coap_server_new(ep, NULL);
    coap_ep_attach(ep, s.loop);
    add_resources(&s);
    s.tick = coap_loop_timer_new(s.loop, on_tick, &s);
    coap_loop_timer_arm_in(s.tick, s.period_ms);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    fprintf(stderr, "coapgw-sim: listening on coap://%s\n", listen);
    while (!stop) coap_loop_run_once(s.loop, 200);
    fprintf(stderr, "coapgw-sim: stopping\n");
    coap_loop_timer_free(s.tick);
    coap_ep_detach(ep, s.loop);
    coap_server_free(s.srv);
    coap_ep_free(ep);
    coap_loop_free(s.loop);
    return 0;
}
