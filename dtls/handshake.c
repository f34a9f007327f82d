/*
 * handshake.c - driving a session's handshake (RFC 6347 §4.2) without
 * blocking: on every record that arrives and at every flight
 * retransmission time (§4.2.4: GnuTLS doubles the timer from
 * params.retransmit_ms and gives up after params.handshake_timeout_ms);
 * naming why one failed; the session timer (retransmission, then idle
 * expiry).
 */
#include "dtls_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dtls_psk_kx_(gnutls_session_t g)
{
    gnutls_kx_algorithm_t kx = gnutls_kx_get(g);
    return kx == GNUTLS_KX_PSK || kx == GNUTLS_KX_ECDHE_PSK || kx == GNUTLS_KX_DHE_PSK;
}

/* An alert the peer sent during our handshake, as a result code. */
int dtls_alert_err_(gnutls_alert_description_t a, int psk)
{
    switch (a) {
    case GNUTLS_A_UNKNOWN_PSK_IDENTITY:
        return COAP_ERR_DTLS_IDENTITY;
    case GNUTLS_A_DECRYPT_ERROR:
    case GNUTLS_A_BAD_RECORD_MAC:
        return psk ? COAP_ERR_DTLS_PSK : COAP_ERR_DTLS_REJECTED;
    case GNUTLS_A_BAD_CERTIFICATE:
    case GNUTLS_A_UNSUPPORTED_CERTIFICATE:
    case GNUTLS_A_CERTIFICATE_REVOKED:
    case GNUTLS_A_CERTIFICATE_EXPIRED:
    case GNUTLS_A_CERTIFICATE_UNKNOWN:
    case GNUTLS_A_UNKNOWN_CA:
    case GNUTLS_A_ACCESS_DENIED:
        return COAP_ERR_DTLS_REJECTED;
    default:
        return COAP_ERR_DTLS_FAILED;
    }
}

/* Our fatal alert for a failure of ours: the one that tells the peer
 * most (RFC 5246 §7.2.2, RFC 4279 §2). */
void dtls_alert_answer_(dtls_sess_t *s, int rc)
{
    gnutls_alert_description_t a;
    switch (s->fail_err) {
    case COAP_ERR_DTLS_IDENTITY:
        a = GNUTLS_A_UNKNOWN_PSK_IDENTITY;
        break;
    case COAP_ERR_DTLS_PSK:
        a = GNUTLS_A_DECRYPT_ERROR;
        break;
    case COAP_ERR_DTLS_UNTRUSTED:
        a = GNUTLS_A_UNKNOWN_CA;
        break;
    case COAP_ERR_DTLS_EXPIRED:
        a = GNUTLS_A_CERTIFICATE_EXPIRED;
        break;
    case COAP_ERR_DTLS_NAME:
    case COAP_ERR_DTLS_KEY:
        a = GNUTLS_A_BAD_CERTIFICATE;
        break;
    default:
        if (rc == GNUTLS_E_NO_CERTIFICATE_FOUND) {
            a = GNUTLS_A_HANDSHAKE_FAILURE;
            break;
        }
        gnutls_alert_send_appropriate(s->g, rc);
        return;
    }
    gnutls_alert_send(s->g, GNUTLS_AL_FATAL, a);
}

/* Why the handshake failed (rc from gnutls_handshake), and the alert we
 * answer with when the failure is ours. */
static void failed(dtls_sess_t *s, int rc)
{
    char why[224];
    int err;
    if (s->fail_err) { /* our verification or PSK lookup said no */
        err = s->fail_err;
        snprintf(why, sizeof why, "%s", s->fail_reason);
        for (size_t n = strlen(why); n && why[n - 1] == ' '; n--) why[n - 1] = '\0';
    } else if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED) {
        gnutls_alert_description_t a = gnutls_alert_get(s->g);
        err = dtls_alert_err_(a, dtls_psk_kx_(s->g));
        const char *name = gnutls_alert_get_name(a);
        snprintf(why, sizeof why, "the peer sent alert %s", name ? name : "?");
    } else if (rc == GNUTLS_E_TIMEDOUT) {
        /* A PSK client whose Finished went unanswered: the server could
         * not decrypt it, and DTLS servers drop what they cannot decrypt
         * in silence (§4.1.2.7). The likeliest cause is a different key. */
        int finished = gnutls_handshake_get_last_out(s->g) == GNUTLS_HANDSHAKE_FINISHED;
        err = s->client && finished && dtls_psk_kx_(s->g) ? COAP_ERR_DTLS_PSK : COAP_ERR_TIMEOUT;
        snprintf(why, sizeof why, "no answer within %u ms%s", s->t->p.handshake_timeout_ms,
                 err == COAP_ERR_DTLS_PSK ? " to our Finished (a different pre-shared key?)" : "");
    } else if (rc == GNUTLS_E_NO_CERTIFICATE_FOUND && !s->client) {
        /* GnuTLS clients send none when none of theirs is from a CA our
         * CertificateRequest names */
        err = COAP_ERR_DTLS_UNTRUSTED;
        snprintf(why, sizeof why, "the client sent no certificate (none from a CA we trust?)");
    } else {
        err = COAP_ERR_DTLS_FAILED;
        snprintf(why, sizeof why, "%s", gnutls_strerror(rc));
    }
    if (rc != GNUTLS_E_TIMEDOUT && rc != GNUTLS_E_FATAL_ALERT_RECEIVED) dtls_alert_answer_(s, rc);
    dtls_sess_fail_(s, err, why);
}

/* The larger records of an established session: a CoAP datagram goes in
 * one record (IP may fragment it, as it would the plain UDP datagram). */
#define OPEN_MTU (16384 + 256)

static void established(dtls_sess_t *s)
{
    dtls_t *t = s->t;
    s->state = SESS_OPEN;
    t->nhandshakes--;
    t->nopen++;
    int resumed = gnutls_session_is_resumed(s->g) != 0;
    t->st.handshakes_ok++;
    t->st.handshakes_resumed += (uint64_t)resumed;
    dtls_creds_identity_(s);
    if (s->client) dtls_resume_store_(t, s);
    gnutls_dtls_set_mtu(s->g, OPEN_MTU);
    s->last_activity = t->now;
    dtls_timer_arm_(t, s, t->now + t->p.idle_timeout_ms);
    dtls_event_(t, DTLS_EV_ESTABLISHED, &s->peer, s->client, 0, s->id.name ? &s->id : NULL, "%s",
                resumed ? "resumed" : "full handshake");
    /* What waited for the handshake goes now, in order. */
    while (s->q_head && !s->dead) {
        dtls_queued_t *q = s->q_head;
        s->q_head = q->next;
        if (!s->q_head) s->q_tail = NULL;
        s->nq--;
        dtls_sess_send_(s, q->bytes, q->len);
        free(q);
    }
    /* Records that came with the last flight. */
    if (!s->dead) dtls_sess_input_(s, NULL, 0);
}

/* A server told that records it cannot decrypt came while the handshake
 * waited for the client's Finished: under PSK, that Finished was
 * encrypted with another key. Answered with decrypt_error at once rather
 * than a timeout on both sides. */
static int wrong_psk(dtls_sess_t *s, unsigned discarded_before)
{
    return !s->client && gnutls_record_get_discarded(s->g) > discarded_before &&
           dtls_psk_kx_(s->g) &&
           gnutls_handshake_get_last_in(s->g) == GNUTLS_HANDSHAKE_CLIENT_KEY_EXCHANGE;
}

void dtls_sess_handshake_(dtls_sess_t *s)
{
    dtls_t *t = s->t;
    unsigned before = gnutls_record_get_discarded(s->g);
    s->busy++;
    int rc = gnutls_handshake(s->g);
    /* warning alerts (no_renegotiation, say) do not end a handshake */
    for (int i = 0; i < 4 && rc == GNUTLS_E_WARNING_ALERT_RECEIVED; i++)
        rc = gnutls_handshake(s->g);
    s->busy--;
    dtls_sess_note_discarded_(s);
    if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
        if (wrong_psk(s, before)) {
            s->fail_err = COAP_ERR_DTLS_PSK;
            snprintf(s->fail_reason, sizeof s->fail_reason,
                     "the client's Finished did not decrypt: a different pre-shared key");
            failed(s, GNUTLS_E_DECRYPTION_FAILED);
            return;
        }
        /* The next retransmission, or the end: GnuTLS only notices that
         * the handshake ran out of time when it is called. */
        unsigned ms = gnutls_dtls_get_timeout(s->g);
        uint64_t next = t->now + (ms ? ms : 1), end = s->started + t->p.handshake_timeout_ms;
        dtls_timer_arm_(t, s, next < end ? next : end);
        return;
    }
    if (rc < 0)
        failed(s, rc);
    else
        established(s);
}

void dtls_sess_timer_(dtls_sess_t *s, uint64_t now)
{
    if (s->state == SESS_HANDSHAKE && now >= s->started + s->t->p.handshake_timeout_ms) {
        failed(s, GNUTLS_E_TIMEDOUT);
        return;
    }
    if (s->state == SESS_HANDSHAKE) {
        dtls_sess_handshake_(s); /* GnuTLS retransmits the flight */
        return;
    }
    uint64_t expires = s->last_activity + s->t->p.idle_timeout_ms;
    if (now < expires) {
        dtls_timer_arm_(s->t, s, expires); /* there was traffic since */
        return;
    }
    char why[64];
    snprintf(why, sizeof why, "idle for %u ms", s->t->p.idle_timeout_ms);
    s->t->st.closed_idle++;
    dtls_sess_end_(s, 1, why);
}
