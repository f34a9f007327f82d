/*
 * tls.c - CoAP over TLS (coaps+tcp://, RFC 8323 §9) in the gateway
 * (gw_tcp.h): the two TCP endpoints of tcp.c again, each connection
 * through dtls/'s TLS filter (dtls_tls_new), with the credentials of
 * DTLS:
 *  - gw->tls_ep, the client side for coaps+tcp:// targets: the
 *    credentials of "credentials" for the device or host, looked up as
 *    for coaps:// (coaps.c's table by address, gw_coaps_client_creds);
 *    none is a 502 before any connection (target.c).
 *  - gw->tls_srv_ep, the listener (coap.listen_tls, off by default): the
 *    DTLS listener's credentials (dtls.cert, dtls.key, dtls.client_ca,
 *    dtls.rpk_key) and PSK keys of dtls.identities. A client's identity
 *    is judged by dtls.identities as over DTLS (rd_auth.c, reverse.c);
 *    one that authenticated none gets nothing from the Resource
 *    Directory. A device that registered is reached over its own
 *    connection only, as over coap.listen_tcp.
 * coap.tcp_max_connections and coap.tcp_idle_s apply as on TCP: the
 * handshake runs inside the connection's limits.
 */
#include "dtls.h"
#include "gw_coaps.h"
#include "gw_dtls.h"
#include "gw_tcp.h"

#include <stdio.h>

/* Handshakes that fail at warn (they name the peer and the reason),
 * connections at debug, as the DTLS listener logs its sessions. */
static void log_event(const char *side, gw_t *gw, const dtls_event_t *ev)
{
    char peer[COAP_ADDR_STRLEN], who[1100];
    coap_addr_str(ev->peer, peer, sizeof peer);
    gw_dtls_who(gw, ev, !ev->client, who, sizeof who);
    if (ev->kind == DTLS_EV_HANDSHAKE_FAILED)
        gw_log(CFG_LOG_WARN, "tls: %s: handshake with %s failed: %s (%s)", side, peer,
               coap_strerror(ev->err), ev->reason);
    else if (ev->kind == DTLS_EV_ESTABLISHED)
        gw_log(CFG_LOG_INFO, "tls: %s: connection with %s established%s (%s)", side, peer, who,
               ev->reason);
    else
        gw_log(CFG_LOG_DEBUG, "tls: %s: connection with %s: %s", side, peer, ev->reason);
}

static void on_client_event(void *arg, const dtls_event_t *ev)
{
    log_event("client", arg, ev);
}

static void on_listener_event(void *arg, const dtls_event_t *ev)
{
    log_event("listener", arg, ev);
}

int gw_tls_start(gw_t *gw, const coap_ep_params_t *ep, const coap_server_params_t *sp,
                 dtls_creds_t *creds, char *err, size_t errlen)
{
    char why[256];
    int rc;
    dtls_config_t client = {
        .client_creds = gw_coaps_client_creds, .event = on_client_event, .arg = gw};
    dtls_tls_t *x = dtls_tls_new(&client, why, sizeof why);
    if (!x || !(gw->tls_ep = gw_tcp_endpoint(gw, NULL, ep, dtls_tls_ops(), x, &rc)))
        return snprintf(err, errlen, "cannot open a TLS endpoint: %s", x ? coap_strerror(rc) : why),
               -1;
    coap_ep_attach(gw->tls_ep, gw->loop);
    if (cfg_listen_off(gw->cfg.coap_listen_tls)) return 0;
    dtls_config_t server = {
        .server = creds, .psk_key = gw_dtls_psk_key, .event = on_listener_event, .arg = gw};
    if (!(x = dtls_tls_new(&server, why, sizeof why)))
        return snprintf(err, errlen, "coap.listen_tls: %s", why), -1;
    if (gw_tcp_listen(gw, "coap.listen_tls", dtls_tls_ops(), x, ep, sp, err, errlen)) return -1;
    gw->tls_listen_filter = x; /* gw_dtls_set_creds replaces its credentials on reload */
    return 0;
}
