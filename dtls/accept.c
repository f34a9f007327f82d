/*
 * accept.c - the server role's way in. A ClientHello is answered with a
 * HelloVerifyRequest (RFC 6347 §4.2.1) until it carries a cookie made from
 * its source address with our secret: a spoofed source gets one answer
 * smaller than its ClientHello, and nothing is kept. Only then come the
 * per-source rate, the table limits and a session.
 */
#include "dtls_internal.h"

typedef struct {
    dtls_t *t;
    const coap_addr_t *to, *local;
} cookie_dest_t;

static ssize_t push_cookie(gnutls_transport_ptr_t p, const void *data, size_t len)
{
    cookie_dest_t *d = p;
    dtls_udp_send_(d->t, d->to, d->local, data, len);
    return (ssize_t)len;
}

int dtls_server_enabled_(const dtls_t *t)
{
    return t->cfg.server != NULL || t->cfg.psk_key != NULL;
}

static void send_cookie(dtls_t *t, const coap_addr_t *from, const coap_addr_t *local)
{
    uint8_t cd[20];
    size_t n = dtls_guard_client_data_(from, cd);
    gnutls_dtls_prestate_st pre = {0};
    cookie_dest_t d = {t, from, local};
    if (gnutls_dtls_cookie_send(&t->guard.key[0], cd, n, &pre, &d, push_cookie) < 0) return;
    t->st.cookies_sent++;
    dtls_event_(t, DTLS_EV_COOKIE, from, 0, 0, NULL, "HelloVerifyRequest sent");
}

void dtls_accept_(dtls_t *t, dtls_sess_t *existing, const coap_addr_t *from,
                  const coap_addr_t *local, const uint8_t *buf, size_t len)
{
    if (!dtls_server_enabled_(t)) {
        t->st.dropped_no_session++;
        dtls_event_(t, DTLS_EV_DROPPED, from, 0, 0, NULL, "ClientHello, but no server role");
        return;
    }
    gnutls_dtls_prestate_st pre;
    if (dtls_guard_verify_(&t->guard, from, buf, len, &pre) < 0) {
        send_cookie(t, from, local);
        return;
    }
    /* The client has shown it receives at this address. */
    if (!dtls_guard_rate_ok_(&t->guard, from, t->now)) {
        t->st.refused_rate++;
        dtls_event_(t, DTLS_EV_REFUSED, from, 0, 0, NULL,
                    "more than %u handshakes a second from this address", t->p.handshakes_per_s);
        return;
    }
    /* §4.2.8: a ClientHello at epoch 0 from the address of a session is a
     * client that lost its state (it restarted); now that the cookie shows
     * it is really there, the new handshake replaces the old session. */
    if (existing)
        dtls_sess_end_(existing, 0, "replaced: the client started a new handshake (§4.2.8)");
    if (t->nhandshakes >= t->p.max_handshakes || t->nopen + t->nhandshakes >= t->p.max_sessions) {
        t->st.refused_full++;
        dtls_event_(t, DTLS_EV_REFUSED, from, 0, 0, NULL, "%s full (%u)",
                    t->nhandshakes >= t->p.max_handshakes ? "handshake table" : "session table",
                    t->nhandshakes >= t->p.max_handshakes ? t->p.max_handshakes
                                                          : t->p.max_sessions);
        return;
    }
    dtls_sess_t *s = dtls_sess_new_(t, from, local, t->server_creds, &pre);
    if (!s) return;
    s->rx = buf;
    s->rx_len = len;
    dtls_sess_handshake_(s);
    s->rx = NULL;
}
