/*
 * gw_dtls.h - the gateway's DTLS listener (coap.listen_dtls): its
 * credentials and identities, the endpoint and CoAP server on it, its
 * events in the log; and the coapgw_dtls_* families of /metrics for both
 * sides, the listener's and the coaps:// client's (gw_coaps.h). Internal
 * to gateway/.
 */
#ifndef GW_DTLS_H
#define GW_DTLS_H

#include "dtls.h"
#include "gw.h"

#include <stdio.h>

/* The listener's credentials (*creds: NULL when it has only PSK
 * identities, or is off) and the identity table (*ids), read from files
 * and variables. Returns 0, or -1 with a message naming the key in err
 * (nothing held then). */
int gw_dtls_load(const cfg_t *c, dtls_creds_t **creds, struct gw_ids **ids, char *err,
                 size_t errlen);

/* PSK keys by identity (RFC 4279 §2) for dtls_config_t.psk_key (arg:
 * the gw_t), from dtls.identities in force now: a reload applies to the
 * next handshake, on the DTLS and the TLS listener. */
int gw_dtls_psk_key(void *arg, const char *identity, uint8_t *key, size_t cap);

/* Opens the listener when coap.listen_dtls is on: gw->dtls_ep (attached
 * to the loop), gw->dtls_srv, gw->dtls, gw->dtls_addr. creds: from
 * gw_dtls_load (the transport takes its own reference). Returns 0 (also
 * when off), or -1 with err. */
int gw_dtls_start(gw_t *gw, const coap_ep_params_t *ep, const coap_server_params_t *sp,
                  dtls_creds_t *creds, char *err, size_t errlen);

/* " as LABEL" for the identity ev authenticated ("" for none), with
 * " (not in dtls.identities: no rights)" when judge is set and the
 * listeners do not know it: for the DTLS and TLS listeners' logs. */
void gw_dtls_who(const gw_t *gw, const dtls_event_t *ev, int judge, char *who, size_t cap);

/* After a reload: new handshakes use creds (sessions keep theirs), on
 * the DTLS and the TLS listener. */
void gw_dtls_set_creds(gw_t *gw, dtls_creds_t *creds);

/* A failed handshake (a DTLS_EV_HANDSHAKE_FAILED event's err) counted
 * by reason in f, either side's. */
void gw_dtls_count_failure(gw_dtls_failures_t *f, int err);
/* The coapgw_dtls_* families of /metrics, each series with a side label:
 * "server" (the listener, when on) and "client" (gw->coaps_ep). */
void gw_dtls_metrics(FILE *f, gw_t *gw);

/* The answer's text when an exchange with `uri` at `peer` through ep
 * ended with err because the device's DTLS session is gone
 * (COAP_ERR_UNREACHABLE through the listener, which opens no session
 * itself); else NULL. */
const char *gw_dtls_gone(const gw_t *gw, const coap_ep_t *ep, const char *uri,
                         const coap_addr_t *peer, int err, char *buf, size_t cap);

#endif
