/*
 * main.c - the coapgw program: configuration, one loop, the CoAP endpoint,
 * the HTTP front end.
 */
#include "gw.h"
#include "gw_hub.h"
#include "gw_metrics.h"
#include "gw_rd.h"
#include "gw_reverse.h"
#include "http_client.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fputs("usage: coapgw [options]\n"
          "A CoAP <-> HTTP gateway. Browse CoAP devices over HTTP:\n"
          "  curl http://localhost:8080/devices/demo/sensors/temperature\n"
          "  curl http://localhost:8080/hc/coap://127.0.0.1:5783/sensors/temperature\n"
          "\n"
          "  --config FILE            JSON configuration (see README); flags win over it\n"
          "  --http-listen ADDR:PORT  HTTP front end (default 0.0.0.0:8080)\n"
          "  --coap-listen ADDR:PORT  CoAP endpoint (default 0.0.0.0:5683)\n"
          "  --allow-target PATTERN   also allow this CIDR range or host name as a CoAP\n"
          "                           target (repeatable; loopback, link-local, private\n"
          "                           ranges and configured devices are always allowed)\n"
          "  --allow-origin PATTERN   let CoAP clients reach this HTTP origin through the\n"
          "                           gateway (http://HOST:PORT, an address or a CIDR range;\n"
          "                           repeatable; none by default)\n"
          "  --coap-nstart N          CoAP requests in flight per device (default 1, RFC 7252\n"
          "                           §4.7); raise it only for devices that can take it\n"
          "  --http-conn-memory BYTES libmicrohttpd's memory pool per connection (default\n"
          "                           16384; 4096 is the least that is safe and keeps 10,000\n"
          "                           idle event streams small)\n"
          "  --log-level LEVEL        debug, info (default), warn or error\n"
          "  --log-format FORMAT      text (default) or json (one JSON object per line)\n"
          "  --healthcheck URL        GET URL and exit: 0 on 2xx, 1 otherwise (for Docker's\n"
          "                           HEALTHCHECK; nothing else runs)\n"
          "  --help, --version\n",
          f);
}

typedef struct {
    const char *config, *http_listen, *coap_listen, *log_level;
    const char *log_format, *healthcheck;
    const char *allow[64];
    int nallow;
    const char *origins[64];
    int norigins;
    unsigned nstart;
    size_t conn_memory;
} flags_t;

static int parse_flags(int argc, char **argv, flags_t *f)
{
    memset(f, 0, sizeof *f);
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            usage(stdout);
            exit(0);
        }
        if (!strcmp(o, "--version")) {
            puts("coapgw " GW_VERSION);
            exit(0);
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "coapgw: %s: unknown option or missing value (see --help)\n", o);
            return -1;
        }
        const char *v = argv[++i];
        if (!strcmp(o, "--config"))
            f->config = v;
        else if (!strcmp(o, "--http-listen"))
            f->http_listen = v;
        else if (!strcmp(o, "--coap-listen"))
            f->coap_listen = v;
        else if (!strcmp(o, "--log-level"))
            f->log_level = v;
        else if (!strcmp(o, "--log-format") && (!strcmp(v, "text") || !strcmp(v, "json")))
            f->log_format = v;
        else if (!strcmp(o, "--healthcheck"))
            f->healthcheck = v;
        else if (!strcmp(o, "--coap-nstart") && atoi(v) > 0 && atoi(v) < 256)
            f->nstart = (unsigned)atoi(v);
        else if (!strcmp(o, "--allow-target") && f->nallow < 64)
            f->allow[f->nallow++] = v;
        else if (!strcmp(o, "--allow-origin") && f->norigins < 64)
            f->origins[f->norigins++] = v;
        else if (!strcmp(o, "--http-conn-memory") && atol(v) >= 4096 && atol(v) <= 1048576)
            f->conn_memory = (size_t)atol(v);
        else {
            fprintf(stderr, "coapgw: %s %s: unknown option or bad value (see --help)\n", o, v);
            return -1;
        }
    }
    return 0;
}

/* Configuration: embedded defaults < file < flags. */
static int configure(gw_t *gw, const flags_t *f)
{
    char err[512];
    cfg_defaults(&gw->cfg);
    if (f->config && cfg_load_file(&gw->cfg, f->config, err, sizeof err)) {
        fprintf(stderr, "coapgw: %s\n", err);
        return -1;
    }
    if (f->http_listen) cfg_set_string(&gw->cfg.http_listen, f->http_listen);
    if (f->coap_listen) cfg_set_string(&gw->cfg.coap_listen, f->coap_listen);
    if (f->log_level && (gw->cfg.log_level = cfg_parse_log_level(f->log_level)) < 0) {
        fprintf(stderr, "coapgw: bad log level %s\n", f->log_level);
        return -1;
    }
    for (int i = 0; i < f->nallow; i++) cfg_add_allow_target(&gw->cfg, f->allow[i]);
    for (int i = 0; i < f->norigins; i++) cfg_add_allow_origin(&gw->cfg, f->origins[i]);
    if (f->log_format)
        gw->cfg.log_format = strcmp(f->log_format, "json") ? CFG_LOG_TEXT : CFG_LOG_JSON;
    gw_log_set_level(gw->cfg.log_level);
    gw_log_set_format(gw->cfg.log_format);
    gw->acl = gw_acl_new();
    gw_acl_add_defaults(gw->acl);
    for (size_t i = 0; i < gw->cfg.nallow_targets; i++) {
        if (gw_acl_add(gw->acl, gw->cfg.allow_targets[i])) {
            fprintf(stderr, "coapgw: bad allowlist entry \"%s\"\n", gw->cfg.allow_targets[i]);
            return -1;
        }
    }
    if (gw_devices_load(gw, err, sizeof err)) {
        fprintf(stderr, "coapgw: %s\n", err);
        return -1;
    }
    return 0;
}

/* Thousands of connections need thousands of descriptors. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void on_signal(coap_loop_t *loop, int fd, unsigned events, void *arg)
{
    (void)events;
    gw_t *gw = arg;
    struct signalfd_siginfo si;
    if (read(fd, &si, sizeof si) != sizeof si) return;
    if (si.ssi_signo == SIGHUP) {
        gw_reload(gw);
        return;
    }
    (void)loop;
    gw_log(CFG_LOG_INFO, "signal %u: shutting down", si.ssi_signo);
    gw_shutdown_begin(gw);
}

/* The client side uses its own ephemeral port on a dual-stack socket, so
 * IPv4 and IPv6 devices are reachable whatever coap.listen binds to. */
static coap_ep_t *client_endpoint(const coap_ep_params_t *p)
{
    int rc;
    coap_ep_t *ep = coap_ep_new(NULL, p, &rc);
    if (!ep) { /* no IPv6 in this network namespace: IPv4 only */
        coap_addr_t any;
        coap_addr_from_host(&any, "0.0.0.0", 0);
        ep = coap_ep_new(&any, p, &rc);
    }
    return ep;
}

static void http_log(const char *msg)
{
    gw_log(CFG_LOG_DEBUG, "http: %s", msg);
}

/* Every HTTP request ends here: one access log line, and its metrics. */
static void http_done(const http_done_t *d, void *arg)
{
    gw_t *gw = arg;
    gw_metrics_http(gw->metrics, d->method, d->status);
    gw_log_request(d);
}

/* `coapgw --healthcheck URL`: a process of its own, so blocking is fine. */
static int healthcheck(const char *url)
{
    char msg[512];
    int status = http_healthcheck(url, 3000, msg, sizeof msg);
    int ok = status >= 200 && status < 300;
    printf("%s: %s\n", ok ? "healthy" : "unhealthy", msg);
    return ok ? 0 : 1;
}

static int start(gw_t *gw, const flags_t *f)
{
    char err[256] = "out of memory";
    coap_addr_t bind;
    if (coap_addr_parse(&bind, gw->cfg.coap_listen, 5683)) {
        fprintf(stderr, "coapgw: bad CoAP listen address %s\n", gw->cfg.coap_listen);
        return -1;
    }
    coap_ep_params_t ep = {.nstart = (uint8_t)(f->nstart ? f->nstart : 1),
                           .max_body = gw->cfg.max_body};
    int rc;
    gw->srv_ep = coap_ep_new(&bind, &ep, &rc);
    if (!gw->srv_ep) {
        fprintf(stderr, "coapgw: cannot listen for CoAP on %s: %s\n", gw->cfg.coap_listen,
                rc < 0 && rc > -200 ? strerror(-rc) : "error");
        return -1;
    }
    gw->ep = client_endpoint(&ep);
    if (!gw->ep) {
        fprintf(stderr, "coapgw: cannot open a UDP socket for CoAP requests\n");
        return -1;
    }
    coap_ep_attach(gw->srv_ep, gw->loop);
    coap_ep_attach(gw->ep, gw->loop);
    gw->srv = coap_server_new(gw->srv_ep, NULL);
    gw->reverse = gw->srv ? gw_reverse_new(gw, gw->srv, err, sizeof err) : NULL;
    if (!gw->reverse) {
        fprintf(stderr, "coapgw: %s\n", gw->srv ? err : "out of memory");
        return -1;
    }
    if (gw->cfg.rd_enabled && !(gw->rd = gw_rd_new(gw, gw->srv))) {
        fprintf(stderr, "coapgw: out of memory\n");
        return -1;
    }
    http_server_params_t hp = {.listen = gw->cfg.http_listen,
                               .max_body = gw->cfg.max_body,
                               .conn_memory = f->conn_memory,
                               .log = http_log,
                               .done = http_done};
    gw->metrics = gw_metrics_new(gw);
    gw->http = gw->metrics ? http_server_new(gw->loop, &hp, gw_route, gw, err, sizeof err) : NULL;
    if (!gw->http) {
        fprintf(stderr, "coapgw: %s\n", err);
        return -1;
    }
    if (gw->cfg.cache_enabled)
        gw->cache = gw_cache_new(gw->cfg.cache_max_entries, 64u * 1024 * 1024);
    gw->inflight = gw_strmap_new();
    gw->hub = gw_hub_new(gw, NULL);
    return gw->inflight && gw->hub ? 0 : -1;
}

static void shutdown_gw(gw_t *gw)
{
    if (gw->http) http_server_free(gw->http); /* answers what is left with 503 */
    gw_shutdown_free(gw);
    gw_reverse_free(gw->reverse); /* cancels HTTP calls in flight */
    gw_rd_free(gw->rd);
    if (gw->srv) coap_server_free(gw->srv);
    coap_ep_t *eps[2] = {gw->ep, gw->srv_ep};
    for (int i = 0; i < 2; i++) {
        if (!eps[i]) continue;
        coap_ep_detach(eps[i], gw->loop);
        coap_ep_free(eps[i]); /* cancels exchanges still in flight */
    }
    gw_hub_free(gw->hub); /* after the streams and the exchanges are gone */
    gw_metrics_free(gw->metrics);
    gw_cache_free(gw->cache);
    gw_strmap_free(gw->inflight);
    gw_devices_free(gw);
    gw_acl_free(gw->acl);
    cfg_free(&gw->cfg);
    coap_loop_free(gw->loop);
}

int main(int argc, char **argv)
{
    flags_t f;
    if (parse_flags(argc, argv, &f)) return 2;
    if (f.healthcheck) return healthcheck(f.healthcheck);
    static gw_t gw;
    if (configure(&gw, &f)) return 2;
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    gw.loop = coap_loop_new();
    if (!gw.loop || sfd < 0 || coap_loop_add_fd(gw.loop, sfd, COAP_LOOP_READ, on_signal, &gw)) {
        fprintf(stderr, "coapgw: cannot set up the event loop: %s\n", strerror(errno));
        return 1;
    }
    if (start(&gw, &f)) {
        shutdown_gw(&gw);
        return 1;
    }
    gw_log(CFG_LOG_INFO, "coapgw %s: HTTP on %s (port %u), CoAP on %s, %zu device(s)", GW_VERSION,
           gw.cfg.http_listen, http_server_port(gw.http), gw.cfg.coap_listen, gw.cfg.ndevices);
    coap_loop_run(gw.loop);
    coap_loop_del_fd(gw.loop, sfd);
    close(sfd);
    shutdown_gw(&gw);
    return 0;
}
