/*
 * tcp_metrics.c - the coapgw_tcp_* families of /metrics (docs/operations.md),
 * apart from tcp.c so that the endpoints build without the metrics module
 * (the fuzz targets compile target.c, which asks tcp.c whether a device's
 * connection is gone).
 */
#include "gw_metrics.h"
#include "gw_tcp.h"

#include <stddef.h>
#include <stdio.h>

/* --- /metrics: the coapgw_tcp_* families, one side label each --- */

#define AT(f) offsetof(coap_tcp_stats_t, f)
static const struct {
    const char *name, *type, *help, *label;
    const char *values[4];
    size_t at[4];
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
     "and refused (refused: over coap.tcp_max_connections, at accept or, client side, not made; "
     "refused_per_ip: over coap.tcp_max_connections_per_ip, at accept).",
     "result",
     {"accepted", "connected", "refused", "refused_per_ip"},
     {AT(accepted), AT(connected), AT(refused), AT(refused_host)}},
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
    } all[] = {{"server", gw->tcp_srv_ep},
               {"client", gw->tcp_ep},
               {"tls_server", gw->tls_srv_ep},
               {"tls_client", gw->tls_ep}};
    for (size_t k = 0; k < sizeof families / sizeof families[0]; k++) {
        gw_metrics_family(f, families[k].name, families[k].type, families[k].help);
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
            const coap_tcp_stats_t *st =
                all[i].ep ? coap_transport_tcp_stats(coap_ep_transport(all[i].ep)) : NULL;
            for (size_t j = 0; st && j < 4 && families[k].values[j]; j++) {
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
