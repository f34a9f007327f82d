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
 *
 * tls.c opens the same two on TLS (coaps+tcp://) through gw_tcp_endpoint
 * and gw_tcp_listen, with a stream filter (coap_stream_ops_t).
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

/* A device reached over its own connection is offline once it closes:
 * the device registered over this listener from that address, not one
 * at the same address and port over UDP, DTLS or the other listener
 * (another host behind the same NAT, say). */
static void listener_event(gw_t *gw, int tls, const coap_addr_t *peer, int up, int err)
{
    log_event(tls ? "tls listener" : "listener", peer, up, err);
    if (up) return;
    coap_addr_t a = *peer;
    coap_addr_unmap(&a);
    gw_devices_conn_closed(gw, &a, tls);
}

static void on_listener_event(void *arg, const coap_addr_t *peer, int up, int err)
{
    listener_event(arg, 0, peer, up, err);
}

static void on_tls_listener_event(void *arg, const coap_addr_t *peer, int up, int err)
{
    listener_event(arg, 1, peer, up, err);
}

coap_ep_t *gw_tcp_endpoint(gw_t *gw, const coap_addr_t *listen, const coap_ep_params_t *ep,
                           const coap_stream_ops_t *tls, void *tls_arg, int *rc)
{
    coap_tcp_params_t p = {.max_conns = gw->cfg.tcp_max_connections,
                           .max_conns_per_host = listen ? gw->cfg.tcp_max_per_ip : 0,
                           .connect_out = listen == NULL,
                           .event = !listen ? on_client_event
                                    : tls   ? on_tls_listener_event
                                            : on_listener_event,
                           .event_arg = gw,
                           .tls = tls,
                           .tls_arg = tls_arg};
    /* the listener's connections are the devices': they close them (a
     * device keeps its connection open to be reachable) */
    p.idle_ms = listen ? UINT32_MAX : gw->cfg.tcp_idle_s * 1000u;
    coap_transport_t *tr = coap_transport_tcp_new(listen, &p, rc);
    return tr ? coap_ep_new_on(tr, ep, rc) : NULL;
}

int gw_tcp_listen(gw_t *gw, const char *key, const coap_stream_ops_t *tls, void *tls_arg,
                  const coap_ep_params_t *ep, const coap_server_params_t *sp, char *err,
                  size_t errlen)
{
    const char *listen = tls ? gw->cfg.coap_listen_tls : gw->cfg.coap_listen_tcp;
    coap_ep_t **srv_ep = tls ? &gw->tls_srv_ep : &gw->tcp_srv_ep;
    coap_server_t **srv = tls ? &gw->tls_srv : &gw->tcp_srv;
    coap_addr_t *addr = tls ? &gw->tls_addr : &gw->tcp_addr, bind;
    int rc;
    if (coap_addr_parse(&bind, listen, tls ? 5684 : 5683)) { /* RFC 8323 §8.1, §8.2 */
        if (tls && tls->release) tls->release(tls_arg);
        return snprintf(err, errlen, "bad %s address %s", key, listen), -1;
    }
    if (!(*srv_ep = gw_tcp_endpoint(gw, &bind, ep, tls, tls_arg, &rc)))
        return snprintf(err, errlen, "cannot listen for CoAP over %s on %s: %s",
                        tls ? "TLS" : "TCP", listen, coap_strerror(rc)),
               -1;
    coap_ep_local_addr(*srv_ep, addr);
    coap_addr_unmap(addr);
    coap_ep_attach(*srv_ep, gw->loop);
    if (!(*srv = coap_server_new(*srv_ep, sp))) return snprintf(err, errlen, "out of memory"), -1;
    return 0;
}

int gw_tcp_start(gw_t *gw, const coap_ep_params_t *ep, const coap_server_params_t *sp, char *err,
                 size_t errlen)
{
    int rc;
    if (!(gw->tcp_ep = gw_tcp_endpoint(gw, NULL, ep, NULL, NULL, &rc)))
        return snprintf(err, errlen, "cannot open a TCP endpoint: %s", coap_strerror(rc)), -1;
    coap_ep_attach(gw->tcp_ep, gw->loop);
    if (cfg_listen_off(gw->cfg.coap_listen_tcp)) return 0;
    return gw_tcp_listen(gw, "coap.listen_tcp", NULL, NULL, ep, sp, err, errlen);
}

const char *gw_tcp_gone(const gw_t *gw, const coap_ep_t *ep, const char *uri,
                        const coap_addr_t *peer, int err, char *buf, size_t cap)
{
    if (!ep || (ep != gw->tcp_srv_ep && ep != gw->tls_srv_ep) || err >= 0) return NULL;
    char from[COAP_ADDR_STRLEN];
    snprintf(buf, cap,
             "%s: the device is reached over the %s connection it registered over (from %s), "
             "and that connection is gone (%s); it is reachable again once it connects and "
             "registers again",
             uri, ep == gw->tls_srv_ep ? "TLS" : "TCP", coap_addr_str(peer, from, sizeof from),
             coap_strerror(err));
    return buf;
}

const char *gw_tcp_full(const gw_t *gw, const coap_ep_t *ep, const char *uri, int err, char *buf,
                        size_t cap)
{
    if (!ep || (ep != gw->tcp_ep && ep != gw->tls_ep) || err != COAP_TCP_ERR_FULL) return NULL;
    snprintf(buf, cap,
             "%s: the gateway has coap.tcp_max_connections (%u) connections open over %s "
             "already; one is released after coap.tcp_idle_s of silence",
             uri, gw->cfg.tcp_max_connections, ep == gw->tls_ep ? "TLS" : "TCP");
    return buf;
}
