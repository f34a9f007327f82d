/*
 * tcp.c - CoAP over TCP (RFC 8323) in the gateway (gw_tcp.h).
 *
 * Two endpoints on the engine's TCP transport (coap_transport.h):
 *  - gw->tcp_ep, the client side for coap+tcp:// targets: a connection
 *    per target address made on the first request (connect_out), released
 *    (§5.5) and closed after coap.tcp_idle_s of silence.
 *  - gw->tcp_srv_ep, the listener (coap.listen_tcp, off by default): the
 *    same CoAP server as coap.listen (main.c's serve_coap). It never
 *    connects out: a device that registered over a connection to it is
 *    reached over that connection and nothing else, and when the
 *    connection ends (the transport's event, up 0) the device is offline.
 */
#include "gw_tcp.h"
#include "gw_metrics.h"

#include <stddef.h>
#include <stdio.h>

static void log_event(const char *side, const coap_addr_t *peer, int up, int err)
{
    char who[COAP_ADDR_STRLEN];
    coap_addr_str(peer, who, sizeof who);
    if (up)
        gw_log(CFG_LOG_DEBUG, "tcp: %s: connection with %s up", side, who);
    else
        gw_log(CFG_LOG_DEBUG, "tcp: %s: connection with %s closed: %s", side, who,
               coap_strerror(err));
}

static void on_client_event(void *arg, const coap_addr_t *peer, int up, int err)
{
    (void)arg;
    log_event("client", peer, up, err);
}

/* A device reached over its own connection is offline once it closes. */
static void on_listener_event(void *arg, const coap_addr_t *peer, int up, int err)
{
    gw_t *gw = arg;
    log_event("listener", peer, up, err);
    if (up) return;
    coap_addr_t a = *peer;
    coap_addr_unmap(&a);
    gw_devices_mark(gw, &a, 0);
}

static coap_ep_t *tcp_endpoint(gw_t *gw, const coap_addr_t *listen, const coap_ep_params_t *ep,
                               int *rc)
{
    coap_tcp_params_t p = {.max_conns = gw->cfg.tcp_max_connections,
                           .connect_out = listen == NULL,
                           .event = listen ? on_listener_event : on_client_event,
                           .event_arg = gw};
    /* the listener's connections are the devices': they close them (a
     * device keeps its connection open to be reachable) */
    p.idle_ms = listen ? UINT32_MAX : gw->cfg.tcp_idle_s * 1000u;
    coap_transport_t *tr = coap_transport_tcp_new(listen, &p, rc);
    return tr ? coap_ep_new_on(tr, ep, rc) : NULL;
}

int gw_tcp_start(gw_t *gw, const coap_ep_params_t *ep, const coap_server_params_t *sp, char *err,
                 size_t errlen)
{
    int rc;
    if (!(gw->tcp_ep = tcp_endpoint(gw, NULL, ep, &rc)))
        return snprintf(err, errlen, "cannot open a TCP endpoint: %s", coap_strerror(rc)), -1;
    coap_ep_attach(gw->tcp_ep, gw->loop);
    const char *listen = gw->cfg.coap_listen_tcp;
    coap_addr_t bind;
    if (cfg_listen_off(listen)) return 0;
    if (coap_addr_parse(&bind, listen, 5683))
        return snprintf(err, errlen, "bad coap.listen_tcp address %s", listen), -1;
    if (!(gw->tcp_srv_ep = tcp_endpoint(gw, &bind, ep, &rc)))
        return snprintf(err, errlen, "cannot listen for CoAP over TCP on %s: %s", listen,
                        coap_strerror(rc)),
               -1;
    coap_ep_local_addr(gw->tcp_srv_ep, &gw->tcp_addr);
    coap_addr_unmap(&gw->tcp_addr);
    coap_ep_attach(gw->tcp_srv_ep, gw->loop);
    if (!(gw->tcp_srv = coap_server_new(gw->tcp_srv_ep, sp)))
        return snprintf(err, errlen, "out of memory"), -1;
    return 0;
}

const char *gw_tcp_gone(const gw_t *gw, const coap_ep_t *ep, const char *uri,
                        const coap_addr_t *peer, int err, char *buf, size_t cap)
{
    if (!ep || ep != gw->tcp_srv_ep || err >= 0) return NULL;
    char from[COAP_ADDR_STRLEN];
    snprintf(buf, cap,
             "%s: the device is reached over the TCP connection it registered over (from %s), "
             "and that connection is gone (%s); it is reachable again once it connects and "
             "registers again",
             uri, coap_addr_str(peer, from, sizeof from), coap_strerror(err));
    return buf;
}

/* --- /metrics: the coapgw_tcp_* families, one side label each --- */

#define AT(f) offsetof(coap_tcp_stats_t, f)
static const struct {
    const char *name, *type, *help, *label;
    const char *values[3];
    size_t at[3];
} families[] = {
    {"coapgw_tcp_connections",
     "gauge",
     "CoAP over TCP connections open now.",
     NULL,
     {""},
     {AT(conns_open)}},
    {"coapgw_tcp_connections_total",
     "counter",
     "CoAP over TCP connections made (accepted by the listener, connected by the client side) "
     "and refused at accept (over coap.tcp_max_connections).",
     "result",
     {"accepted", "connected", "refused"},
     {AT(accepted), AT(connected), AT(refused)}},
    {"coapgw_tcp_closed_total",
     "counter",
     "CoAP over TCP connections ended, for any reason; half_open: no Pong after a Ping.",
     "reason",
     {"any", "half_open"},
     {AT(closed), AT(half_open)}},
    {"coapgw_tcp_signals_total",
     "counter",
     "RFC 8323 signalling sent (Release on idle, Abort on a protocol error or a full queue).",
     "signal",
     {"release", "abort", "ping"},
     {AT(releases_tx), AT(aborts_tx), AT(pings_tx)}},
};

void gw_tcp_metrics(FILE *f, const gw_t *gw)
{
    const struct {
        const char *side;
        coap_ep_t *ep;
    } all[] = {{"server", gw->tcp_srv_ep}, {"client", gw->tcp_ep}};
    for (size_t k = 0; k < sizeof families / sizeof families[0]; k++) {
        gw_metrics_family(f, families[k].name, families[k].type, families[k].help);
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
            const coap_tcp_stats_t *st =
                all[i].ep ? coap_transport_tcp_stats(coap_ep_transport(all[i].ep)) : NULL;
            for (size_t j = 0; st && j < 3 && families[k].values[j]; j++) {
                const uint64_t *v = (const uint64_t *)((const char *)st + families[k].at[j]);
                char label[48] = "";
                if (families[k].label)
                    snprintf(label, sizeof label, ",%s=\"%s\"", families[k].label,
                             families[k].values[j]);
                fprintf(f, "%s{side=\"%s\"%s} %llu\n", families[k].name, all[i].side, label,
                        (unsigned long long)*v);
            }
        }
    }
}
