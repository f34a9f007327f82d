/*
 * sim_tls.c - coapgw-sim's TLS listener (sim_tls.h).
 */
#include "sim_tls.h"
#include "sim_tcp.h"

#include "dtls.h"

#include <stdio.h>

/* One line per handshake and connection end, with the identity. */
static void on_event(void *arg, const dtls_event_t *ev)
{
    static const char *const kinds[] = {"?", "established", "handshake failed", "closed"};
    char peer[COAP_ADDR_STRLEN];
    (void)arg;
    if (ev->kind > DTLS_EV_CLOSED) return;
    fprintf(stderr, "coapgw-sim: tls: %s %s: %s%s%s\n", kinds[ev->kind],
            coap_addr_str(ev->peer, peer, sizeof peer), ev->reason, ev->id ? ", identity " : "",
            ev->id ? ev->id->name : "");
}

coap_ep_t *sim_tls_endpoint(const coap_addr_t *addr, const tls_args_t *tls, sim_reg_t *reg,
                            int *err)
{
    char why[256];
    dtls_creds_t *c = tls_args_creds(tls, reg ? reg->uri.host : NULL, why, sizeof why);
    if (!c) {
        fprintf(stderr, "coapgw-sim: %s\n", why);
        return *err = COAP_ERR_INVALID, NULL;
    }
    dtls_config_t cfg = {.event = on_event};
    if (reg)
        cfg.client = c;
    else
        cfg.server = c;
    dtls_tls_t *x = dtls_tls_new(&cfg, why, sizeof why);
    dtls_creds_unref(c);
    if (!x) {
        fprintf(stderr, "coapgw-sim: %s\n", why);
        return *err = COAP_ERR_NOMEM, NULL;
    }
    return sim_tcp_endpoint_on(addr, reg, dtls_tls_ops(), x, err);
}
