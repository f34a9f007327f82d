/*
 * main.c - the coapgw program: configuration, one loop, the CoAP endpoint,
 * the HTTP front end.
 */
#include "gw.h"
#include "gw_cli.h"
#include "gw_dns.h"
#include "gw_clients.h"
#include "gw_config.h"
#include "gw_discovery.h"
#include "gw_coaps.h"
#include "gw_dtls.h"
#include "gw_hub.h"
#include "gw_ids.h"
#include "gw_limits.h"
#include "gw_metrics.h"
#include "gw_rd.h"
#include "gw_reverse.h"
#include "gw_forward.h"
#include "gw_store.h"
#include "gw_tcp.h"
#include "http_client.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* Configuration: embedded defaults < file < environment < flags. */
/* state.redis: the shared store replaces the file; connected from the
 * loop, so Redis down at start is no reason not to start. */
static int open_redis(gw_t *gw)
{
    char err[400], host[256] = "?", instance[300];
    gethostname(host, sizeof host - 1);
    /* which gateway took a registration (for the later forwarding to it) */
    snprintf(instance, sizeof instance, "%s coap=%s http=%s", host, gw->cfg.coap_listen,
             gw->cfg.http_listen);
    if (!(gw->store = gw_store_redis_open(gw->loop, gw->cfg.state_redis, instance,
                                          gw->cfg.cluster_advertise, err, sizeof err))) {
        fprintf(stderr, "coapgw: %s\n", err);
        return -1;
    }
    gw_log(CFG_LOG_INFO, "state: registrations shared in %s (state.redis); state.path is ignored",
           gw->store->path);
    return 0;
}

static int configure(gw_t *gw, const gw_sources_t *src)
{
    char err[1024];
    if (gw_config_build(&gw->cfg, src, err, sizeof err)) {
        fprintf(stderr, "coapgw: %s\n", err);
        return -1;
    }
    gw_reload_sources(src);
    gw_log_set_level(gw->cfg.log_level);
    gw_log_set_format(gw->cfg.log_format);
    /* held until the listeners have them */
    if (gw_https_load(&gw->cfg, &gw->tls, err, sizeof err) ||
        gw_dtls_load(&gw->cfg, &gw->dtls_creds, &gw->ids, err, sizeof err)) {
        fprintf(stderr, "coapgw: %s\n", err);
        return -1;
    }
    gw->acl = gw_acl_new();
    gw_acl_add_defaults(gw->acl);
    for (size_t i = 0; i < gw->cfg.allow_targets.n; i++) {
        if (gw_acl_add(gw->acl, gw->cfg.allow_targets.v[i])) {
            fprintf(stderr, "coapgw: bad allowlist entry \"%s\"\n", gw->cfg.allow_targets.v[i]);
            return -1;
        }
    }
    if (!(gw->coap_clients = gw_clients_build(&gw->cfg, err, sizeof err))) {
        fprintf(stderr, "coapgw: %s\n", err);
        return -1;
    }
    if (gw_devices_load(gw, err, sizeof err) || gw_coaps_configure(gw, err, sizeof err)) {
        fprintf(stderr, "coapgw: %s\n", err);
        return -1;
    }
    if (*gw->cfg.state_redis) return 0; /* opened on the loop, by start() */
    /* a state file that cannot be used stops the start: never replaced */
    if (!(gw->store = gw_store_open(gw->cfg.state_path, err, sizeof err))) {
        fprintf(stderr, "coapgw: state.path %s\n", err);
        return -1;
    }
    if (!gw->store->persistent)
        gw_log(CFG_LOG_WARN, "state.path is \"\": registrations are kept in memory only, a "
                             "restart forgets them");
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

static void on_signal(base_loop_t *loop, int fd, unsigned events, void *arg)
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
    gw_metrics_http(gw->metrics, d->method, d->status, d->tls);
    gw_log_request(d);
}

/* Read at each connection's wait, so a reload applies to new waits. */
static uint32_t header_timeout_ms(void *arg)
{
    return ((gw_t *)arg)->cfg.header_timeout_ms;
}

/* One front end (HTTP, or HTTPS with tls): 0 with *srv NULL when its
 * listen address is "off". */
static int listen_http(gw_t *gw, const char *listen, http_tls_creds_t *tls, http_server_t **srv,
                       char *err, size_t errlen)
{
    *srv = NULL;
    if (cfg_listen_off(listen)) return 0;
    int fd = gw_passed_hand(&gw->passed, tls ? GW_LISTEN_HTTPS : GW_LISTEN_HTTP);
    snprintf(gw->http_limit_text, sizeof gw->http_limit_text,
             "too many connections (http.max_connections = %u); try again later",
             gw->cfg.max_connections);
    http_server_params_t hp = {.listen = listen,
                               .listen_fd = fd > 0 ? fd : 0,
                               .max_body = gw->cfg.max_body,
                               .conn_memory = gw->cfg.conn_memory,
                               .max_connections = gw->cfg.max_connections,
                               .limit_text = gw->http_limit_text,
                               .conn_timeout_s = gw->cfg.idle_timeout_s,
                               .max_conn_per_ip = gw->cfg.max_conn_per_ip,
                               .header_timeout_ms = header_timeout_ms,
                               .log = http_log,
                               .done = http_done,
                               .tls = tls,
                               .tls_client_ca =
                                   tls && *gw->cfg.tls_client_ca ? gw->cfg.tls_client_ca : NULL};
    *srv = http_server_new(gw->loop, &hp, gw_route, gw, err, errlen);
    return *srv ? 0 : -1;
}

/* One forward proxy and one Resource Directory for every CoAP server
 * (coap.listen and, when on, coap.listen_dtls and coap.listen_tcp): the
 * same registrations, the same resources in /.well-known/core. */
static int serve_coap(gw_t *gw, char *err, size_t errlen)
{
    coap_server_t *servers[4] = {gw->srv, gw->dtls_srv, gw->tcp_srv, gw->tls_srv};
    if (!(gw->reverse = gw_reverse_new(gw, err, errlen))) return -1;
    if (gw->cfg.rd_enabled && !(gw->rd = gw_rd_new(gw)))
        return snprintf(err, errlen, "out of memory"), -1;
    for (int i = 0; i < 4; i++) {
        if (!servers[i]) continue;
        if (gw_reverse_serve(gw->reverse, servers[i]) ||
            (gw->rd && gw_rd_serve(gw->rd, servers[i])))
            return snprintf(err, errlen, "out of memory"), -1;
    }
    return 0;
}

/* A cache entry's answer, built by proxy.c. */
static void release_prepared(void *prepared)
{
    http_shared_release(prepared);
}

static int start(gw_t *gw)
{
    char err[700] = "out of memory";
    coap_addr_t bind;
    if (*gw->cfg.state_redis && open_redis(gw)) return -1;
    if (!(gw->dns = gw_dns_new(gw->loop, &gw->cfg.dns_servers, err, sizeof err))) {
        fprintf(stderr, "coapgw: %s\n", err);
        return -1;
    }
    gw_devices_prefetch(gw); /* the devices' host names, known early */
    if (gw_forward_start(gw, err, sizeof err)) {
        fprintf(stderr, "coapgw: %s\n", err);
        return -1;
    }
    if (coap_addr_parse(&bind, gw->cfg.coap_listen, 5683)) {
        fprintf(stderr, "coapgw: bad CoAP listen address %s\n", gw->cfg.coap_listen);
        return -1;
    }
    coap_ep_params_t ep = {.nstart = (uint8_t)gw->cfg.nstart, .max_body = gw->cfg.max_body};
    int rc;
    int fd = gw_passed_hand(&gw->passed, GW_LISTEN_COAP);
    if (fd < 0) {
        gw->srv_ep = coap_ep_new(&bind, &ep, &rc);
    } else {
        coap_transport_t *tr = coap_transport_udp_adopt(fd, &rc);
        if (!tr) close(fd);
        gw->srv_ep = tr ? coap_ep_new_on(tr, &ep, &rc) : NULL;
    }
    if (!gw->srv_ep) {
        fprintf(stderr, "coapgw: cannot listen for CoAP on %s: %s\n", gw->cfg.coap_listen,
                coap_strerror(rc));
        return -1;
    }
    coap_ep_local_addr(gw->srv_ep, &gw->srv_addr);
    coap_addr_unmap(&gw->srv_addr);
    gw->ep = client_endpoint(&ep);
    if (!gw->ep) {
        fprintf(stderr, "coapgw: cannot open a UDP socket for CoAP requests\n");
        return -1;
    }
    if (gw_coaps_start(gw, err, sizeof err)) { /* the client endpoint for coaps:// */
        fprintf(stderr, "coapgw: %s\n", err);
        return -1;
    }
    coap_ep_attach(gw->srv_ep, gw->loop);
    coap_ep_attach(gw->ep, gw->loop);
    /* Block1 uploads per source and in all: one source must not take every
     * slot (coap.max_uploads*, applied again on reload) */
    coap_server_params_t sp = {.max_uploads = gw->cfg.max_uploads,
                               .max_uploads_per_peer = gw->cfg.max_uploads_per_peer};
    if (!(gw->srv = coap_server_new(gw->srv_ep, &sp)) ||
        gw_dtls_start(gw, &ep, &sp, gw->dtls_creds, err, sizeof err) ||
        gw_tcp_start(gw, &ep, &sp, err, sizeof err) ||
        gw_tls_start(gw, &ep, &sp, gw->dtls_creds, err, sizeof err) ||
        serve_coap(gw, err, sizeof err)) {
        fprintf(stderr, "coapgw: %s\n", err);
        return -1;
    }
    dtls_creds_unref(gw->dtls_creds); /* the listeners hold them now */
    gw->dtls_creds = NULL;
    gw_limits_apply(gw); /* every client endpoint exists now */
    if (!(gw->metrics = gw_metrics_new(gw)) ||
        listen_http(gw, gw->cfg.http_listen, NULL, &gw->http, err, sizeof err) ||
        listen_http(gw, gw->cfg.http_listen_tls, gw->tls, &gw->https, err, sizeof err)) {
        fprintf(stderr, "coapgw: %s\n", err);
        return -1;
    }
    if (gw->tls) gw_https_log("", gw->tls);
    http_tls_creds_release(gw->tls); /* the listener holds them now */
    gw->tls = NULL;
    if (gw->cfg.cache_enabled &&
        (gw->cache = gw_cache_new(gw->cfg.cache_max_entries, gw->cfg.cache_max_bytes)))
        gw_cache_on_drop(gw->cache, release_prepared);
    gw->inflight = gw_strmap_new();
    gw_hub_params_t limits = gw_hub_params_from_cfg(&gw->cfg);
    gw->hub = gw_hub_new(gw, &limits);
    gw->disc = gw_disc_new(gw);
    return gw->inflight && gw->hub && gw->disc ? 0 : -1;
}

static void shutdown_gw(gw_t *gw)
{
    if (gw->http) http_server_free(gw->http); /* answers what is left with 503 */
    if (gw->https) http_server_free(gw->https);
    http_tls_creds_release(gw->tls); /* when start failed before a listener took them */
    gw_dns_free(gw->dns);            /* after the requests that waited for a name */
    gw_shutdown_free(gw);
    gw_disc_free(gw->disc);       /* before the devices it updates */
    gw_reverse_free(gw->reverse); /* cancels HTTP calls in flight */
    gw_forward_free(gw->forward);
    gw->forward = NULL;
    gw_rd_free(gw->rd);
    gw_store_close(gw->store); /* checkpoints the WAL into the file */
    if (gw->srv) coap_server_free(gw->srv);
    if (gw->dtls_srv) coap_server_free(gw->dtls_srv);
    if (gw->tcp_srv) coap_server_free(gw->tcp_srv);
    if (gw->tls_srv) coap_server_free(gw->tls_srv);
    coap_ep_t *eps[8] = {gw->ep,     gw->srv_ep,     gw->coaps_ep, gw->dtls_ep,
                         gw->tcp_ep, gw->tcp_srv_ep, gw->tls_ep,   gw->tls_srv_ep};
    for (int i = 0; i < 8; i++) {
        if (!eps[i]) continue;
        coap_ep_detach(eps[i], gw->loop);
        coap_ep_free(eps[i]); /* cancels exchanges still in flight */
    }
    gw->coaps_ep = gw->dtls_ep = gw->tcp_ep = gw->tcp_srv_ep = gw->tls_ep = gw->tls_srv_ep = NULL;
    gw->tls_listen_filter = NULL; /* freed with its endpoint */
    gw->dtls = NULL;              /* freed with its endpoint */
    gw_coaps_free(gw);            /* the credentials, after the sessions that held them */
    gw_hub_free(gw->hub);         /* after the streams and the exchanges are gone */
    gw_metrics_free(gw->metrics);
    gw_cache_free(gw->cache);
    gw_strmap_free(gw->inflight);
    gw_strmap_free(gw->group_obs); /* empty: the streams are gone */
    gw_devices_free(gw);
    gw_acl_free(gw->acl);
    gw_acl_free(gw->coap_clients);
    gw_ids_free(gw->ids);
    dtls_creds_unref(gw->dtls_creds); /* when start failed before the listener took them */
    gw_passed_close(&gw->passed);     /* when start failed before a listener took them */
    cfg_free(&gw->cfg);
    base_loop_free(gw->loop);
}

int main(int argc, char **argv)
{
    int hc = gw_cli_healthcheck(argc, argv);
    if (hc >= 0) return hc;
    static gw_sources_t src; /* remembered for SIGHUP */
    const char *check;
    if (gw_cli_parse(argc, argv, &src, &check)) return 2;
    if (check) {
        src.file = check; /* over --config, whatever the order */
        return gw_cli_check_config(check, &src);
    }
    static gw_t gw;
    char err[700];
    if (configure(&gw, &src)) return 2;
    if (gw_passed_take(&gw.cfg, &gw.passed, err, sizeof err)) {
        fprintf(stderr, "coapgw: %s\n", err);
        return 2;
    }
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    gw.loop = base_loop_new();
    if (!gw.loop || sfd < 0 || base_loop_add_fd(gw.loop, sfd, BASE_LOOP_READ, on_signal, &gw)) {
        fprintf(stderr, "coapgw: cannot set up the event loop: %s\n", strerror(errno));
        return 1;
    }
    if (start(&gw)) {
        shutdown_gw(&gw);
        return 1;
    }
    if (gw_rd_restore(gw.rd, err, sizeof err)) { /* a damaged state file */
        fprintf(stderr, "coapgw: %s\n", err);
        shutdown_gw(&gw);
        return 2;
    }
    char http[96] = "HTTP off", https[96] = "HTTPS off", coaps[96] = "", tcp[96] = "", tls[96] = "";
    if (gw.http)
        snprintf(http, sizeof http, "HTTP on %s (port %u)", gw.cfg.http_listen,
                 http_server_port(gw.http));
    if (gw.https)
        snprintf(https, sizeof https, "HTTPS on %s (port %u)", gw.cfg.http_listen_tls,
                 http_server_port(gw.https));
    if (gw.dtls_ep)
        snprintf(coaps, sizeof coaps, ", CoAP over DTLS on %s (port %u, %zu identities)",
                 gw.cfg.coap_listen_dtls, coap_addr_port(&gw.dtls_addr), gw_ids_count(gw.ids));
    if (gw.tcp_srv_ep)
        snprintf(tcp, sizeof tcp, ", CoAP over TCP on %s (port %u)", gw.cfg.coap_listen_tcp,
                 coap_addr_port(&gw.tcp_addr));
    if (gw.tls_srv_ep)
        snprintf(tls, sizeof tls, ", CoAP over TLS on %s (port %u)", gw.cfg.coap_listen_tls,
                 coap_addr_port(&gw.tls_addr));
    gw_log(CFG_LOG_INFO, "coapgw %s: %s, %s, CoAP on %s%s%s%s, %zu device(s)", GW_VERSION, http,
           https, gw.cfg.coap_listen, coaps, tcp, tls, gw.cfg.ndevices);
    gw_config_warn_open(&gw);
    base_loop_run(gw.loop);
    base_loop_del_fd(gw.loop, sfd);
    close(sfd);
    shutdown_gw(&gw);
    return 0;
}
