/*
 * tls_stream.c - TLS 1.3/1.2 under the TCP transport (coaps+tcp://,
 * RFC 8323 §9): the coap_stream_ops_t filter of coap_transport.h on
 * GnuTLS, with the credentials of DTLS (dtls_creds_t: PSK, X.509, raw
 * public keys) and the same verification and identities.
 *
 * creds.c's callbacks (the PSK lookup, the peer's verification, the
 * identity) work on a dtls_sess_t; a TLS connection is one (its `t`
 * points at a dtls_t that only carries the configuration), so both
 * transports verify peers with the same code.
 */
#include "dtls_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dtls_tls {
    dtls_t host;                /* cfg (PSK lookup, client credentials, events) only */
    dtls_creds_t *server_creds; /* cfg.server, or lookup-only PSK ones */
};

typedef struct {
    dtls_sess_t s;   /* first: gnutls_session_get_ptr() gives it to creds.c */
    size_t wpending; /* bytes of a record GnuTLS holds after GNUTLS_E_AGAIN */
    uint8_t done;    /* the handshake succeeded */
} tls_conn_t;

static void event(tls_conn_t *c, dtls_event_kind_t kind, int err, const char *reason)
{
    const dtls_config_t *cfg = &c->s.t->cfg;
    dtls_event_t ev = {.kind = kind,
                       .peer = &c->s.peer,
                       .client = c->s.client,
                       .err = err,
                       .reason = reason,
                       .id = c->s.id.name ? &c->s.id : NULL};
    if (cfg->event) cfg->event(cfg->arg, &ev);
}

static dtls_creds_t *creds_for(dtls_tls_t *x, const coap_addr_t *peer, int client)
{
    const dtls_config_t *cfg = &x->host.cfg;
    if (!client) return x->server_creds;
    return cfg->client_creds ? cfg->client_creds(cfg->arg, peer) : cfg->client;
}

/* RFC 8323 §4.2: the ALPN protocol ID "coap". */
static int setup(tls_conn_t *c, int fd)
{
    dtls_sess_t *s = &c->s;
    unsigned flags = (s->client ? GNUTLS_CLIENT : GNUTLS_SERVER) | GNUTLS_NONBLOCK |
                     GNUTLS_NO_SIGNAL | dtls_creds_init_flags_(s->creds);
    if (gnutls_init(&s->g, flags) < 0) return -1;
    gnutls_session_set_ptr(s->g, s);
    gnutls_transport_set_int(s->g, fd);
    if (dtls_creds_apply_(s->creds, s->g, s->client, s->t->cfg.psk_key != NULL, 1) < 0) return -1;
    gnutls_datum_t alpn = {(unsigned char *)"coap", 4};
    if (gnutls_alpn_set_protocols(s->g, &alpn, 1, 0) < 0) return -1;
    if (s->client) dtls_sess_server_name_(s);
    /* the transport's connect_timeout_ms is the one limit (GnuTLS's own
     * default of 40 s would otherwise end a longer one as a failure) */
    gnutls_handshake_set_timeout(s->g, GNUTLS_INDEFINITE_TIMEOUT);
    return 0;
}

static void conn_free(tls_conn_t *c)
{
    if (c->s.g) gnutls_deinit(c->s.g);
    dtls_creds_unref(c->s.creds);
    free(c->s.id_name);
    free(c);
}

static void *tls_open(void *arg, int fd, const coap_addr_t *peer, int client, int *err)
{
    dtls_tls_t *x = arg;
    tls_conn_t *c = calloc(1, sizeof *c);
    if (!c) return *err = COAP_ERR_NOMEM, NULL;
    c->s.t = &x->host;
    c->s.peer = *peer;
    c->s.client = (uint8_t)client;
    c->s.creds = dtls_creds_ref(creds_for(x, peer, client));
    if (!c->s.creds) {
        *err = COAP_ERR_DTLS_NO_CREDENTIALS;
        event(c, DTLS_EV_HANDSHAKE_FAILED, *err, "no credentials for this peer");
    } else if (setup(c, fd)) {
        *err = COAP_ERR_NOMEM;
    } else {
        return c;
    }
    conn_free(c);
    return NULL;
}

static int closed(int rc)
{
    return rc == GNUTLS_E_PREMATURE_TERMINATION || rc == GNUTLS_E_SESSION_EOF ||
           rc == GNUTLS_E_PULL_ERROR || rc == GNUTLS_E_PUSH_ERROR;
}

/* A PSK handshake that failed on the key: in TLS 1.3 the ClientHello's
 * binder (RFC 8446 §4.2.11) does not check, which GnuTLS servers report
 * as an illegal parameter (after our lookup found the identity); in TLS
 * 1.2 the Finished does not decrypt. */
static int psk_mismatch(dtls_sess_t *s, int rc)
{
    if (!s->client)
        return s->psk_found &&
               (rc == GNUTLS_E_RECEIVED_ILLEGAL_PARAMETER || rc == GNUTLS_E_DECRYPTION_FAILED);
    if (rc != GNUTLS_E_FATAL_ALERT_RECEIVED || !s->creds->psk_client || s->creds->has_x509 ||
        s->creds->has_rpk)
        return 0;
    gnutls_alert_description_t a = gnutls_alert_get(s->g);
    return a == GNUTLS_A_ILLEGAL_PARAMETER || a == GNUTLS_A_DECRYPT_ERROR ||
           a == GNUTLS_A_BAD_RECORD_MAC;
}

/* Why the handshake failed, as a COAP_ERR_DTLS_* code (and our alert
 * when the failure is ours, as for DTLS). */
static int failed(tls_conn_t *c, int rc)
{
    dtls_sess_t *s = &c->s;
    char why[224];
    int err = COAP_ERR_DTLS_FAILED, psk = dtls_psk_kx_(s->g);
    if (s->fail_err) { /* our verification or PSK lookup said no */
        err = s->fail_err;
        snprintf(why, sizeof why, "%s", s->fail_reason);
    } else if (psk_mismatch(s, rc)) {
        err = COAP_ERR_DTLS_PSK;
        snprintf(why, sizeof why, "%s (a different pre-shared key?)",
                 rc == GNUTLS_E_FATAL_ALERT_RECEIVED ? "the peer refused our PSK binder"
                                                     : gnutls_strerror(rc));
    } else if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED) {
        gnutls_alert_description_t a = gnutls_alert_get(s->g);
        const char *name = gnutls_alert_get_name(a);
        err = dtls_alert_err_(a, psk);
        snprintf(why, sizeof why, "the peer sent alert %s", name ? name : "?");
    } else if (rc == GNUTLS_E_NO_CERTIFICATE_FOUND && !s->client) {
        err = COAP_ERR_DTLS_UNTRUSTED;
        snprintf(why, sizeof why, "the client sent no certificate (none from a CA we trust?)");
    } else if (closed(rc) && s->client && s->creds->psk_client) {
        /* TLS 1.3 servers (libcoap's, GnuTLS's) close without an alert
         * when our PSK binder does not check (RFC 8446 §4.2.11) */
        err = COAP_ERR_DTLS_PSK;
        snprintf(why, sizeof why,
                 "the server closed the connection during the handshake (a different "
                 "pre-shared key, or an identity it does not know?)");
    } else if (closed(rc)) {
        snprintf(why, sizeof why, "the peer closed the connection during the handshake");
    } else {
        snprintf(why, sizeof why, "%s", gnutls_strerror(rc));
    }
    if (rc != GNUTLS_E_FATAL_ALERT_RECEIVED && !closed(rc)) dtls_alert_answer_(s, rc);
    event(c, DTLS_EV_HANDSHAKE_FAILED, err, why);
    return err;
}

static int tls_handshake(void *conn, int *want_write)
{
    tls_conn_t *c = conn;
    int rc = gnutls_handshake(c->s.g);
    /* warning alerts (no_renegotiation, say) do not end a handshake */
    for (int i = 0; i < 4 && rc == GNUTLS_E_WARNING_ALERT_RECEIVED; i++)
        rc = gnutls_handshake(c->s.g);
    if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
        *want_write = gnutls_record_get_direction(c->s.g);
        return COAP_ERR_AGAIN;
    }
    if (rc < 0) return failed(c, rc);
    c->done = 1;
    dtls_creds_identity_(&c->s);
    char desc[96];
    snprintf(desc, sizeof desc, "%s",
             gnutls_protocol_get_name(gnutls_protocol_get_version(c->s.g)));
    event(c, DTLS_EV_ESTABLISHED, 0, desc);
    return COAP_OK;
}

/* TLS 1.3 servers that do not check our PSK binder (RFC 8446 §4.2.11)
 * may drop the handshake without a word (libcoap 4.3's): a PSK client
 * whose ClientHello got no answer over a working connection has most
 * likely a different key. */
static int tls_stalled(void *conn)
{
    tls_conn_t *c = conn;
    dtls_sess_t *s = &c->s;
    int psk = s->client && s->creds->psk_client &&
              gnutls_handshake_get_last_out(s->g) == GNUTLS_HANDSHAKE_CLIENT_HELLO &&
              gnutls_handshake_get_last_in(s->g) != GNUTLS_HANDSHAKE_SERVER_HELLO;
    event(c, DTLS_EV_HANDSHAKE_FAILED, psk ? COAP_ERR_DTLS_PSK : COAP_ERR_TIMEOUT,
          psk ? "no answer to our ClientHello (a different pre-shared key?)"
              : "the handshake did not end in time");
    return psk ? COAP_ERR_DTLS_PSK : COAP_ERR_TIMEOUT;
}

static long tls_read(void *conn, uint8_t *buf, size_t cap)
{
    tls_conn_t *c = conn;
    ssize_t n = gnutls_record_recv(c->s.g, buf, cap);
    if (n >= 0) return (long)n;
    /* post-handshake messages (TLS 1.3 tickets, key updates), a TLS 1.2
     * renegotiation request (refused: never answered) */
    if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED || n == GNUTLS_E_REHANDSHAKE ||
        n == GNUTLS_E_WARNING_ALERT_RECEIVED)
        return COAP_ERR_AGAIN;
    return COAP_ERR_CONN_CLOSED; /* an alert, a bad record, a reset */
}

/* After GNUTLS_E_AGAIN, GnuTLS holds the record and wants NULL, 0 to go
 * on with it; it then reports the length first given. */
static long tls_write(void *conn, const uint8_t *buf, size_t len)
{
    tls_conn_t *c = conn;
    size_t chunk = len < 16384 ? len : 16384;
    ssize_t n =
        c->wpending ? gnutls_record_send(c->s.g, NULL, 0) : gnutls_record_send(c->s.g, buf, chunk);
    if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
        if (!c->wpending) c->wpending = chunk;
        return COAP_ERR_AGAIN;
    }
    c->wpending = 0;
    return n < 0 ? COAP_ERR_CONN_CLOSED : (long)n;
}

static size_t tls_pending(void *conn)
{
    return gnutls_record_check_pending(((tls_conn_t *)conn)->s.g);
}

static const coap_identity_t *tls_identity(void *conn)
{
    tls_conn_t *c = conn;
    return c->done && c->s.id.name ? &c->s.id : NULL;
}

static void tls_close(void *conn)
{
    tls_conn_t *c = conn;
    if (c->done) {
        gnutls_bye(c->s.g, GNUTLS_SHUT_WR); /* close_notify, if the socket takes it */
        event(c, DTLS_EV_CLOSED, 0, "closed");
    }
    conn_free(c);
}

static void tls_release(void *arg)
{
    dtls_tls_free(arg);
}

static const coap_stream_ops_t tls_ops = {
    .open = tls_open,
    .handshake = tls_handshake,
    .read = tls_read,
    .write = tls_write,
    .pending = tls_pending,
    .identity = tls_identity,
    .stalled = tls_stalled,
    .close = tls_close,
    .release = tls_release,
};

const coap_stream_ops_t *dtls_tls_ops(void)
{
    return &tls_ops;
}

dtls_tls_t *dtls_tls_new(const dtls_config_t *cfg, char *err, size_t cap)
{
    dtls_tls_t *x = calloc(1, sizeof *x);
    if (!x) return snprintf(err, cap, "out of memory"), NULL;
    x->host.cfg = *cfg;
    x->host.cfg.client = dtls_creds_ref(cfg->client);
    if (cfg->server || cfg->psk_key)
        x->server_creds =
            cfg->server ? dtls_creds_ref(cfg->server) : dtls_creds_lookup_only_(err, cap);
    if ((cfg->server || cfg->psk_key) && !x->server_creds) {
        dtls_tls_free(x);
        return NULL;
    }
    return x;
}

int dtls_tls_set_server(dtls_tls_t *x, dtls_creds_t *creds)
{
    char why[128];
    if (!x || !x->server_creds) return -1;
    dtls_creds_t *next = creds ? dtls_creds_ref(creds) : dtls_creds_lookup_only_(why, sizeof why);
    if (!next) return -1;
    dtls_creds_unref(x->server_creds); /* connections hold their own reference */
    x->server_creds = next;
    return 0;
}

void dtls_tls_free(dtls_tls_t *x)
{
    if (!x) return;
    dtls_creds_unref(x->host.cfg.client);
    dtls_creds_unref(x->server_creds);
    free(x);
}
