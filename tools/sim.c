/*
 * coapgw-sim - a simulated CoAP device on the engine's public server API:
 * sensors that change and can be observed, an LED to switch, a firmware
 * image to fetch block-wise, an echo resource and a slow one.
 */
#include "coap_cf.h"
#include "coap_client.h"
#include "base_loop.h"
#include "coap_server.h"
#include "coap_uri.h"

#include <netdb.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FIRMWARE_SIZE 65536

typedef struct slow slow_t;

typedef struct {
    coap_server_t *srv;
    base_loop_t *loop;
    base_loop_timer_t *tick;
    slow_t *slow; /* /slow answers still to come */
    coap_server_resource_t *temp, *hum, *led;
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

static void log_request(const coap_server_request_t *req)
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
    log_request(req);
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
    log_request(req);
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
        coap_server_notify(srv, s->led, &n);
    }
}

static void firmware(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    sim_t *s = arg;
    log_request(req);
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
    log_request(req);
    coap_server_response_t r =
        COAP_RESPONSE(req->method == COAP_FETCH ? COAP_CONTENT : COAP_CHANGED);
    r.payload = req->payload;
    r.payload_len = req->payload_len;
    r.content_format = req->content_format;
    coap_server_respond(srv, req->id, &r);
}

struct slow {
    sim_t *sim;
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
    respond_text(sl->sim->srv, sl->id, COAP_CONTENT, COAP_CF_TEXT_PLAIN, "finally");
    slow_free(sl);
}

/* Answers later: the endpoint sends the empty ACK, then a separate CON. */
static void slow(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    (void)srv;
    sim_t *s = arg;
    log_request(req);
    slow_t *sl = malloc(sizeof *sl);
    if (!sl) return;
    *sl = (slow_t){.sim = s, .id = req->id, .next = s->slow};
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
    coap_server_notify(s->srv, s->temp, &r);
    humidity_rep(s, b, sizeof b);
    r.payload_len = strlen(b);
    r.content_format = COAP_CF_JSON;
    coap_server_notify(s->srv, s->hum, &r);
    base_loop_timer_arm_in(t, s->period_ms);
}

static void usage(FILE *f)
{
    fputs(
        "usage: coapgw-sim [--listen ADDR:PORT] [--period-ms N] [--slow-ms N] [--seed N]\n"
        "                  [--register coap://GATEWAY[:PORT] [--name NAME] [--lifetime S]]\n"
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
        "  --register URI        register with a Resource Directory (RFC 9176), such as\n"
        "                        coapgw's CoAP port: POST URI/rd?ep=NAME&lt=S from the listen\n"
        "                        address, refreshed at 2/3 of the lifetime, removed at exit\n"
        "  --name NAME           endpoint name (default \"sim\"): /devices/NAME/ on coapgw\n"
        "  --lifetime S          registration lifetime in seconds (default 60)\n"
        "Logs one line per request on stderr; SIGINT or SIGTERM end it.\n",
        f);
}

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* The resources, in one table: served, and listed in the link format
 * sent to a Resource Directory (the same as /.well-known/core). */
enum { RES_TEMP, RES_HUM, RES_LED, RES_COUNT = 6 };
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
    {"/firmware",
     0,
     COAP_METHODS_READ,
     firmware,
     {.rt = "firmware", .ct = 42, .sz = FIRMWARE_SIZE}},
    {"/echo", 0, ECHO_METHODS, echo, {.rt = "echo", .ct = -1, .sz = -1}},
    {"/slow", 0, COAP_METHODS_READ, slow, {.rt = "slow", .ct = 0, .sz = -1}},
};

static void add_resources(sim_t *s)
{
    coap_server_resource_t *r[RES_COUNT];
    for (size_t i = 0; i < RES_COUNT; i++)
        r[i] = coap_server_add(s->srv, resources[i].path, resources[i].flags, resources[i].methods,
                               resources[i].handler, s, &resources[i].a);
    s->temp = r[RES_TEMP];
    s->hum = r[RES_HUM];
    s->led = r[RES_LED];
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

/* --- registration with a Resource Directory (RFC 9176 §5) --- */

typedef struct {
    coap_ep_t *ep;         /* the server's own: the RD sees our CoAP address */
    coap_parsed_uri_t uri; /* --register */
    const char *name;      /* ep= */
    uint32_t lifetime_s;   /* lt= */
    coap_addr_t rd;        /* resolved before each registration */
    char location[160];    /* "/rd/ID" while registered */
    uint32_t backoff_s;    /* after a failure: 1, 2, 4 ... 30 */
    base_loop_timer_t *timer;
    coap_req_t *inflight;
    int deleted;  /* the DELETE at exit has been answered */
    int stopping; /* exiting: no more retries */
} reg_t;

static void reg_send(reg_t *g);

static void reg_due(base_loop_t *loop, base_loop_timer_t *t, void *arg)
{
    (void)loop;
    (void)t;
    reg_send(arg);
}

static void reg_retry(reg_t *g, const char *why)
{
    g->backoff_s = g->backoff_s ? (g->backoff_s * 2 > 30 ? 30 : g->backoff_s * 2) : 1;
    fprintf(stderr, "coapgw-sim: rd: %s; retrying in %u s\n", why, g->backoff_s);
    base_loop_timer_arm_in(g->timer, (uint64_t)g->backoff_s * 1000);
}

/* Refresh at 2/3 of the lifetime (RFC 9176 §5.3.1: before it runs out). */
static void reg_refresh_later(reg_t *g)
{
    g->backoff_s = 0;
    base_loop_timer_arm_in(g->timer, (uint64_t)g->lifetime_s * 2000 / 3);
}

/* "/rd/ID" from the Location-Path options of a 2.01. */
static void reg_location(reg_t *g, const coap_msg_t *m)
{
    size_t n = 0;
    for (const coap_msg_opt_t *o = coap_msg_find_opt(m, COAP_OPT_LOCATION_PATH);
         o && n + o->len + 2 < sizeof g->location; o = coap_msg_next_opt(m, o)) {
        g->location[n++] = '/';
        memcpy(g->location + n, coap_msg_opt_value(o), o->len);
        n += o->len;
    }
    g->location[n] = '\0';
}

static void reg_answered(coap_req_t *req, const coap_resp_t *r, void *arg)
{
    (void)req;
    reg_t *g = arg;
    if (r->last) g->inflight = NULL;
    if (g->stopping) return;
    char why[160];
    uint8_t code = r->msg ? r->msg->code : 0;
    if (r->err) {
        snprintf(why, sizeof why, "no answer from the RD (%s)", coap_strerror(r->err));
        reg_retry(g, why);
    } else if (code == COAP_CREATED) {
        reg_location(g, r->msg);
        fprintf(stderr, "coapgw-sim: rd: registered as %s at %s, lifetime %u s\n", g->location,
                g->uri.host, g->lifetime_s);
        reg_refresh_later(g);
    } else if (code == COAP_CHANGED) {
        fprintf(stderr, "coapgw-sim: rd: refreshed %s\n", g->location);
        reg_refresh_later(g);
    } else if (code == COAP_NOT_FOUND && g->location[0]) { /* expired: register again */
        fprintf(stderr, "coapgw-sim: rd: %s is gone; registering again\n", g->location);
        g->location[0] = '\0';
        reg_send(g);
    } else {
        snprintf(why, sizeof why, "the RD answered %u.%02u %.*s", code >> 5, code & 31,
                 (int)(r->body_len > 80 ? 80 : r->body_len),
                 r->body_len ? (const char *)r->body : "");
        g->location[0] = '\0'; /* start over with a fresh registration */
        reg_retry(g, why);
    }
}

/* The RD's address, resolved again for each registration (a gateway that
 * restarts elsewhere is found); the family of our socket. The simulator
 * may block on DNS: it is not the gateway. */
static int reg_resolve(reg_t *g)
{
    if (g->uri.host_is_literal) return coap_addr_from_host(&g->rd, g->uri.host, g->uri.port);
    coap_addr_t self;
    coap_ep_local_addr(g->ep, &self);
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
    hints.ai_family = self.u.sa.sa_family == AF_INET ? AF_INET : AF_UNSPEC;
    if (getaddrinfo(g->uri.host, NULL, &hints, &res) || !res) return -1;
    memset(&g->rd, 0, sizeof g->rd);
    memcpy(&g->rd.u.ss, res->ai_addr, res->ai_addrlen);
    g->rd.len = res->ai_addrlen;
    freeaddrinfo(res);
    if (g->rd.u.sa.sa_family == AF_INET)
        g->rd.u.v4.sin_port = htons(g->uri.port);
    else
        g->rd.u.v6.sin6_port = htons(g->uri.port);
    return 0;
}

/* A registration (POST /rd?ep=&lt= with our links) or, once registered,
 * a refresh (POST /rd/ID with nothing). */
static void reg_send(reg_t *g)
{
    char target[COAP_ADDR_STRLEN], uri[512], links[1024];
    int err = 0;
    if (!g->location[0] && reg_resolve(g)) {
        reg_retry(g, "cannot resolve the RD's host");
        return;
    }
    coap_addr_str(&g->rd, target, sizeof target);
    if (g->location[0]) {
        snprintf(uri, sizeof uri, "coap://%s%s", target, g->location);
    } else {
        size_t n = (size_t)snprintf(uri, sizeof uri, "coap://%s", target);
        for (size_t i = 0; i < g->uri.path_count && n < sizeof uri; i++)
            n += (size_t)snprintf(uri + n, sizeof uri - n, "/%.*s", (int)g->uri.path[i].len,
                                  g->uri.path[i].s);
        if (n < sizeof uri)
            snprintf(uri + n, sizeof uri - n, "%s?ep=%s&lt=%u", g->uri.path_count ? "" : "/rd",
                     g->name, g->lifetime_s);
    }
    coap_req_t *req = coap_req_new(g->ep, COAP_POST, uri, NULL, &err);
    if (req && !g->location[0]) {
        size_t n = link_format(links, sizeof links);
        coap_req_set_content_format(req, COAP_CF_LINK_FORMAT);
        coap_req_set_payload(req, links, n);
    }
    if (req) coap_req_set_timeout(req, 5000);
    if (!req || coap_req_send(req, reg_answered, g)) {
        reg_retry(g, "cannot send the request");
        return;
    }
    g->inflight = req;
    fprintf(stderr, "coapgw-sim: rd: POST %s\n", uri);
}

static void reg_deleted(coap_req_t *req, const coap_resp_t *r, void *arg)
{
    (void)req;
    reg_t *g = arg;
    uint8_t code = r->msg ? r->msg->code : 0;
    fprintf(stderr, "coapgw-sim: rd: DELETE %s: %u.%02u\n", g->location, code >> 5, code & 31);
    if (r->last) g->deleted = 1;
}

/* At exit: remove the registration (RFC 9176 §5.3.2), waiting at most 2 s. */
static void reg_remove(reg_t *g, base_loop_t *loop)
{
    g->stopping = 1;
    if (g->inflight) coap_req_cancel(g->inflight);
    base_loop_timer_free(g->timer);
    if (!g->location[0]) return;
    char target[COAP_ADDR_STRLEN], uri[512];
    int err;
    coap_addr_str(&g->rd, target, sizeof target);
    snprintf(uri, sizeof uri, "coap://%s%s", target, g->location);
    coap_req_t *req = coap_req_new(g->ep, COAP_DELETE, uri, NULL, &err);
    if (req) coap_req_set_timeout(req, 2000);
    if (!req || coap_req_send(req, reg_deleted, g)) return;
    for (int i = 0; i < 40 && !g->deleted; i++) base_loop_run_once(loop, 50);
}

typedef struct {
    const char *listen, *rd_uri;
    unsigned long seed;
} opts_t;

/* Returns -1 to exit 0 (--help), 0 to go on, 2 on a bad option. */
static int parse_args(int argc, char **argv, sim_t *s, reg_t *g, opts_t *o)
{
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) return usage(stdout), -1;
        if (i + 1 >= argc) {
            fprintf(stderr, "coapgw-sim: unknown option or missing value: %s (see --help)\n", f);
            return 2;
        }
        const char *v = argv[++i];
        char *end;
        unsigned long n = strtoul(v, &end, 10);
        if (!strcmp(f, "--listen"))
            o->listen = v;
        else if (!strcmp(f, "--period-ms") && !*end && n > 0)
            s->period_ms = (uint32_t)n;
        else if (!strcmp(f, "--slow-ms") && !*end)
            s->slow_ms = (uint32_t)n;
        else if (!strcmp(f, "--seed") && !*end)
            o->seed = n;
        else if (!strcmp(f, "--register") && !coap_uri_parse(&g->uri, v) && !g->uri.secure)
            o->rd_uri = v;
        else if (!strcmp(f, "--name") && strlen(v) < 64 && *v && !strpbrk(v, "&?/ "))
            g->name = v;
        else if (!strcmp(f, "--lifetime") && !*end && n > 0 && n <= UINT32_MAX)
            g->lifetime_s = (uint32_t)n;
        else {
            fprintf(stderr, "coapgw-sim: bad option %s %s (see --help)\n", f, v);
            return 2;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static sim_t s;
    static reg_t g = {.name = "sim", .lifetime_s = 60};
    opts_t o = {.listen = "127.0.0.1:5783", .seed = 1};
    s.period_ms = 1000;
    s.slow_ms = 3000;
    int rc = parse_args(argc, argv, &s, &g, &o);
    if (rc) return rc < 0 ? 0 : rc;
    coap_addr_t addr;
    if (coap_addr_parse(&addr, o.listen, 5683)) {
        fprintf(stderr, "coapgw-sim: bad listen address %s\n", o.listen);
        return 2;
    }
    s.rng = o.seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < FIRMWARE_SIZE; i++) s.firmware[i] = (uint8_t)(next_rand(&s) >> 24);
    for (size_t i = 0; i < sizeof s.fw_etag; i++) s.fw_etag[i] = (uint8_t)(next_rand(&s) >> 24);
    s.temperature = 21.5;
    s.humidity = 41.2;
    int err;
    coap_ep_t *ep = coap_ep_new(&addr, NULL, &err);
    if (!ep) {
        fprintf(stderr, "coapgw-sim: cannot listen on %s: %s\n", o.listen, coap_strerror(err));
        return 1;
    }
    s.loop = base_loop_new();
    s.srv = coap_server_new(ep, NULL);
    coap_ep_attach(ep, s.loop);
    add_resources(&s);
    s.tick = base_loop_timer_new(s.loop, on_tick, &s);
    base_loop_timer_arm_in(s.tick, s.period_ms);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    fprintf(stderr, "coapgw-sim: listening on coap://%s\n", o.listen);
    if (o.rd_uri) { /* registers from the server's own socket */
        g.ep = ep;
        g.timer = base_loop_timer_new(s.loop, reg_due, &g);
        base_loop_timer_arm_in(g.timer, 0);
    }
    while (!stop) base_loop_run_once(s.loop, 200);
    fprintf(stderr, "coapgw-sim: stopping\n");
    if (o.rd_uri) reg_remove(&g, s.loop);
    base_loop_timer_free(s.tick);
    while (s.slow) slow_free(s.slow); /* stopped before they were due */
    coap_ep_detach(ep, s.loop);
    coap_server_free(s.srv);
    coap_ep_free(ep);
    base_loop_free(s.loop);
    return 0;
}
