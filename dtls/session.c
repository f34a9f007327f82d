/*
 * session.c - one DTLS session with one peer, in either role: GnuTLS
 * reads the datagram in hand (pull) and writes through the UDP transport
 * (push), the handshake is driven by arriving records and by the flight
 * retransmission timer (RFC 6347 §4.2.4), and an established session
 * turns records into CoAP datagrams and back.
 */
#include "dtls_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- what GnuTLS reads and writes --- */

static ssize_t pull(gnutls_transport_ptr_t p, void *data, size_t len)
{
    dtls_sess_t *s = p;
    if (!s->rx) {
        gnutls_transport_set_errno(s->g, EAGAIN);
        return -1;
    }
    size_t n = s->rx_len < len ? s->rx_len : len; /* DTLS: one datagram per read */
    memcpy(data, s->rx, n);
    s->rx = NULL;
    s->rx_len = 0;
    return (ssize_t)n;
}

static int pull_timeout(gnutls_transport_ptr_t p, unsigned ms)
{
    (void)ms; /* never waits: the loop calls again when something arrives */
    return ((dtls_sess_t *)p)->rx ? 1 : 0;
}

/* A datagram the socket could not send is lost, as on a lossy link: the
 * handshake retransmits its flight, the endpoint its CON. Only "no route"
 * is kept, for send() to report. */
static ssize_t push(gnutls_transport_ptr_t p, const void *data, size_t len)
{
    dtls_sess_t *s = p;
    int rc = dtls_udp_send_(s->t, &s->peer, s->has_local ? &s->local : NULL, data, len);
    if (rc == COAP_ERR_UNREACHABLE) s->push_rc = rc;
    return (ssize_t)len;
}

/* --- life cycle --- */

/* RFC 6066 §3: a client names the server it wants, when that is a DNS
 * name (never an IP address), so a server with several certificates can
 * pick the one the name check will accept. */
void dtls_sess_server_name_(dtls_sess_t *s)
{
    const char *name = s->creds->peer_name;
    struct in6_addr ip;
    if (!name || inet_pton(AF_INET, name, &ip) == 1 || inet_pton(AF_INET6, name, &ip) == 1) return;
    gnutls_server_name_set(s->g, GNUTLS_NAME_DNS, name, strlen(name));
}

static int setup(dtls_sess_t *s, gnutls_dtls_prestate_st *pre)
{
    dtls_t *t = s->t;
    unsigned flags = (s->client ? GNUTLS_CLIENT : GNUTLS_SERVER) | GNUTLS_DATAGRAM |
                     GNUTLS_NONBLOCK | dtls_creds_init_flags_(s->creds);
    if (gnutls_init(&s->g, flags) < 0) return -1;
    gnutls_session_set_ptr(s->g, s);
    gnutls_transport_set_ptr(s->g, s);
    gnutls_transport_set_push_function(s->g, push);
    gnutls_transport_set_pull_function(s->g, pull);
    gnutls_transport_set_pull_timeout_function(s->g, pull_timeout);
    if (dtls_creds_apply_(s->creds, s->g, s->client, t->cfg.psk_key != NULL, 0) < 0) return -1;
    gnutls_dtls_set_mtu(s->g, t->p.mtu);
    gnutls_dtls_set_timeouts(s->g, t->p.retransmit_ms, t->p.handshake_timeout_ms);
    if (!s->client) {
        gnutls_dtls_prestate_set(s->g, pre); /* continues the cookie exchange */
        if (gnutls_session_ticket_enable_server(s->g, &t->ticket_key) < 0) return -1;
    } else {
        dtls_sess_server_name_(s);
        dtls_resume_apply_(t, s);
    }
    return 0;
}

dtls_sess_t *dtls_sess_new_(dtls_t *t, const coap_addr_t *peer, const coap_addr_t *local,
                            dtls_creds_t *creds, gnutls_dtls_prestate_st *pre)
{
    dtls_sess_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->t = t;
    s->peer = *peer;
    if (local) s->local = *local, s->has_local = 1;
    s->client = pre == NULL;
    s->state = SESS_HANDSHAKE;
    s->creds = dtls_creds_ref(creds);
    s->started = s->last_activity = t->now;
    if (setup(s, pre) < 0 || dtls_table_add_(t, s) < 0) {
        dtls_sess_free_(s);
        return NULL;
    }
    t->nhandshakes++;
    return s;
}

static void queue_clear(dtls_sess_t *s)
{
    while (s->q_head) {
        dtls_queued_t *q = s->q_head;
        s->q_head = q->next;
        free(q);
    }
    s->q_tail = NULL;
    s->nq = 0;
}

void dtls_sess_free_(dtls_sess_t *s)
{
    queue_clear(s);
    if (s->g) gnutls_deinit(s->g);
    dtls_creds_unref(s->creds);
    free(s->id_name);
    free(s);
}

/* Out of the table and the timers; freed once nothing is using it. */
static void unlink_session(dtls_sess_t *s)
{
    dtls_t *t = s->t;
    s->dead = 1;
    dtls_table_remove_(t, s);
    base_heap_disarm(&t->timers, &s->tmr);
    if (s->state == SESS_OPEN)
        t->nopen--;
    else
        t->nhandshakes--;
    queue_clear(s);
    s->next_dead = t->dead;
    t->dead = s;
}

void dtls_sess_end_(dtls_sess_t *s, int notify, const char *reason)
{
    if (s->dead) return;
    if (notify && s->state == SESS_OPEN) gnutls_bye(s->g, GNUTLS_SHUT_WR); /* close_notify */
    dtls_event_(s->t, DTLS_EV_CLOSED, &s->peer, s->client, 0, s->id.name ? &s->id : NULL, "%s",
                reason);
    unlink_session(s);
}

void dtls_sess_fail_(dtls_sess_t *s, int err, const char *reason)
{
    if (s->dead) return;
    dtls_t *t = s->t;
    t->st.handshakes_failed++;
    dtls_event_(t, DTLS_EV_HANDSHAKE_FAILED, &s->peer, s->client, err, NULL, "%s", reason);
    /* Only our own handshakes have exchanges waiting on them: a client
     * that failed to reach us is no peer of the endpoint's. */
    if (s->client) dtls_failure_(t, &s->peer, err);
    unlink_session(s);
}

int dtls_sess_enqueue_(dtls_sess_t *s, const uint8_t *buf, size_t len)
{
    /* A CON retransmitted while the handshake runs is kept once. */
    for (dtls_queued_t *q = s->q_head; q; q = q->next)
        if (q->len == len && memcmp(q->bytes, buf, len) == 0) return COAP_OK;
    dtls_queued_t *q = s->nq < s->t->p.max_queued ? malloc(sizeof *q + len) : NULL;
    if (!q) {
        s->t->st.dropped_queue_full++;
        return COAP_ERR_NOMEM; /* lost: a CON is sent again */
    }
    q->next = NULL;
    q->len = len;
    memcpy(q->bytes, buf, len);
    if (s->q_tail)
        s->q_tail->next = q;
    else
        s->q_head = q;
    s->q_tail = q;
    s->nq++;
    return COAP_OK;
}

/* --- records --- */

void dtls_sess_note_discarded_(dtls_sess_t *s)
{
    unsigned d = gnutls_record_get_discarded(s->g);
    if (d <= s->discarded) return;
    s->t->st.dropped_bad_record += d - s->discarded;
    dtls_event_(s->t, DTLS_EV_DROPPED, &s->peer, s->client, 0, s->id.name ? &s->id : NULL,
                "%u record(s) of the session that did not decrypt (forged, replayed or stale)",
                d - s->discarded);
    s->discarded = d;
}

/* The peer proved it still has the session (a record we could decrypt). */
static void heard(dtls_sess_t *s)
{
    s->ncons = 0;
    s->last_activity = s->t->now;
}

int dtls_sess_send_(dtls_sess_t *s, const uint8_t *buf, size_t len)
{
    s->push_rc = COAP_OK;
    ssize_t n = gnutls_record_send(s->g, buf, len);
    if (n == GNUTLS_E_LARGE_PACKET) return COAP_ERR_TOO_LARGE;
    if (n < 0) {
        dtls_sess_end_(s, 0, gnutls_strerror((int)n));
        return COAP_ERR_SYS(EPIPE); /* lost: sent again, in a new session */
    }
    s->last_activity = s->t->now;
    return s->push_rc;
}

static const char *alert_name(gnutls_session_t g)
{
    const char *n = gnutls_alert_get_name(gnutls_alert_get(g));
    return n ? n : "unknown";
}

/* One record that is no data: close_notify, an alert, renegotiation.
 * Returns 0 to read on, 1 when the session has ended. */
static int record_event(dtls_sess_t *s, ssize_t n)
{
    dtls_t *t = s->t;
    char why[96];
    if (n == 0) { /* close_notify */
        t->st.closed_by_peer++;
        dtls_sess_end_(s, 0, "close_notify from the peer");
        return 1;
    }
    if (n == GNUTLS_E_REHANDSHAKE) {
        /* No renegotiation (RFC 5746 would make it safe; nothing in CoAP
         * needs it, and a server that renegotiates on demand is a CPU
         * sink). */
        t->st.renegotiations_refused++;
        gnutls_alert_send(s->g, GNUTLS_AL_WARNING, GNUTLS_A_NO_RENEGOTIATION);
        dtls_event_(t, DTLS_EV_RENEGOTIATION, &s->peer, s->client, 0, s->id.name ? &s->id : NULL,
                    "renegotiation refused");
        return 0;
    }
    if (!gnutls_error_is_fatal((int)n)) return 0; /* a warning alert */
    if (n == GNUTLS_E_FATAL_ALERT_RECEIVED) {
        t->st.closed_by_peer++;
        snprintf(why, sizeof why, "alert %s from the peer", alert_name(s->g));
    } else {
        snprintf(why, sizeof why, "%s", gnutls_strerror((int)n));
    }
    dtls_sess_end_(s, 0, why);
    return 1;
}

void dtls_sess_input_(dtls_sess_t *s, const uint8_t *buf, size_t len)
{
    dtls_t *t = s->t;
    s->rx = buf;
    s->rx_len = len;
    s->busy++;
    /* Bounded: one datagram holds a few records at most. */
    for (int i = 0; i < 16 && !s->dead; i++) {
        ssize_t n = gnutls_record_recv(s->g, t->rxbuf, sizeof t->rxbuf);
        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) break;
        if (n > 0) {
            heard(s);
            t->base.up->datagram(t->base.up_arg, &s->peer, s->has_local ? &s->local : NULL,
                                 s->id.name ? &s->id : NULL, t->rxbuf, (size_t)n);
        } else if (record_event(s, n)) {
            break;
        }
    }
    s->busy--;
    s->rx = NULL;
    if (!s->dead) dtls_sess_note_discarded_(s);
}
