/*
 * sim_dtls.c - coapgw-sim's --listen-dtls transport (sim_dtls.h).
 */
#include "sim_dtls.h"

#include <stdio.h>

/* One line per DTLS event (handshakes, cookies, drops), with the identity. */
static void on_dtls_event(void *arg, const dtls_event_t *ev)
{
    static const char *const kinds[] = {"?",       "established",  "handshake failed",
                                        "closed",  "cookie",       "dropped",
                                        "refused", "renegotiation"};
    char peer[COAP_ADDR_STRLEN];
    (void)arg;
    fprintf(stderr, "coapgw-sim: dtls: %s %s: %s%s%s\n", kinds[ev->kind],
            coap_addr_str(ev->peer, peer, sizeof peer), ev->reason, ev->id ? ", identity " : "",
            ev->id ? ev->id->name : "");
}

void sim_dtls_print_stats(const coap_transport_t *dtls)
{
    dtls_stats_t st;
    if (dtls_transport_stats(dtls, &st)) return;
    fprintf(stderr,
            "coapgw-sim: dtls stats: handshakes_ok=%llu handshakes_resumed=%llu "
            "handshakes_failed=%llu cookies_sent=%llu refused_full=%llu refused_rate=%llu "
            "dropped_malformed=%llu dropped_no_session=%llu dropped_bad_record=%llu "
            "closed_idle=%llu closed_by_peer=%llu sessions=%u handshakes=%u\n",
            (unsigned long long)st.handshakes_ok, (unsigned long long)st.handshakes_resumed,
            (unsigned long long)st.handshakes_failed, (unsigned long long)st.cookies_sent,
            (unsigned long long)st.refused_full, (unsigned long long)st.refused_rate,
            (unsigned long long)st.dropped_malformed, (unsigned long long)st.dropped_no_session,
            (unsigned long long)st.dropped_bad_record, (unsigned long long)st.closed_idle,
            (unsigned long long)st.closed_by_peer, st.sessions, st.handshakes);
}

/* DTLS with the credential options (RFC 6347; RFC 7252 §9). */
int sim_dtls_transport(const coap_addr_t *addr, const tls_args_t *tls, coap_transport_t **tr,
                       int *err)
{
    char why[256];
    dtls_creds_t *c = tls_args_creds(tls, NULL, why, sizeof why);
    *tr = NULL;
    if (!c) return fprintf(stderr, "coapgw-sim: %s\n", why), 2;
    dtls_config_t cfg = {.bind = addr, .server = c, .client = c, .event = on_dtls_event};
    *tr = dtls_transport_new(&cfg, err);
    dtls_creds_unref(c);
    return 0;
}
