/*
 * dtls_internal.h - the structures shared by the files of dtls/:
 * creds.c (credentials, peer verification), record.c (record framing),
 * guard.c (cookie secrets, per-source rate), session.c (one GnuTLS
 * session), accept.c (the server role's way in), transport.c (the
 * coap_transport_t). Not installed.
 */
#ifndef DTLS_INTERNAL_H
#define DTLS_INTERNAL_H

#include "dtls.h"
#include "base_heap.h"
#include "coap_msg.h"
#include "base_htab.h"

#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>

/* --- creds.c --- */

struct dtls_creds {
    unsigned refs;
    gnutls_psk_client_credentials_t psk_client; /* with psk_identity */
    gnutls_psk_server_credentials_t psk_server; /* always: keys come by callback */
    gnutls_certificate_credentials_t cert;      /* certificate, RPK and/or CA */
    gnutls_priority_t prio_client, prio_server;
    gnutls_priority_t prio_tls_client, prio_tls_server; /* TLS 1.3 and 1.2: coaps+tcp:// */
    char *psk_identity;
    uint8_t *psk_key;
    size_t psk_key_len;
    char *peer_name;
    uint8_t pin[32];
    uint8_t own_fp[32]; /* of our raw public key */
    uint8_t has_psk, has_x509, has_rpk, has_ca, has_pin, no_verify;
};

struct dtls_sess;
/* Sets up a new GnuTLS session's credentials and priorities for its role;
 * `psk_lookup` says whether the server role takes PSK identities; `tls`:
 * a TLS stream (tls_stream.c) rather than DTLS. */
int dtls_creds_apply_(dtls_creds_t *c, gnutls_session_t g, int client, int psk_lookup, int tls);
/* gnutls_init() flags the credentials need (raw public keys). */
unsigned dtls_creds_init_flags_(const dtls_creds_t *c);
/* Credentials for a server that takes PSK identities by lookup only. */
dtls_creds_t *dtls_creds_lookup_only_(char *err, size_t cap);
/* The identity the established session authenticated (into s->id). */
void dtls_creds_identity_(struct dtls_sess *s);

/* --- record.c: RFC 6347 §4.1 framing, read without decrypting --- */

enum {
    DTLS_REC_OK = 0,        /* one or more whole records */
    DTLS_REC_NOT_DTLS = -1, /* a content type or version no DTLS record has */
    DTLS_REC_TRUNCATED = -2 /* a header or a record body runs past the end */
};
#define DTLS_REC_HEADER 13
int dtls_record_check_(const uint8_t *buf, size_t len);
/* Whether the datagram opens with a ClientHello at epoch 0 (§4.2.2): the
 * only record that may start a session. */
int dtls_is_client_hello_(const uint8_t *buf, size_t len);
/* Whether the datagram is one plaintext close_notify alert (epoch 0). */
int dtls_is_plain_close_notify_(const uint8_t *buf, size_t len);
/* A CoAP message's type and message ID (RFC 7252 §3), for the rebooted-peer
 * rule: 1 when it is a CON, with *mid set. */
int dtls_coap_con_mid_(const uint8_t *buf, size_t len, uint16_t *mid);

/* --- guard.c: the server's defences before any state --- */

#define DTLS_RATE_SLOTS 256
typedef struct {
    uint64_t host_hash; /* which source address holds the slot */
    uint64_t last_ms;
    uint32_t tokens_milli; /* tokens * 1000 */
} dtls_rate_slot_t;

typedef struct {
    gnutls_datum_t key[2]; /* current and previous cookie secret */
    uint64_t born_ms;      /* of the current one */
    uint32_t rotate_ms;
    uint32_t per_s; /* handshakes per source and second; burst of twice that */
    dtls_rate_slot_t slots[DTLS_RATE_SLOTS];
} dtls_guard_t;

int dtls_guard_init_(dtls_guard_t *g, uint32_t rotate_ms, uint32_t per_s, uint64_t now);
void dtls_guard_free_(dtls_guard_t *g);
/* Rotates the cookie secret when it is due (the previous one stays valid
 * for one more period, so a HelloVerifyRequest sent just before still
 * works). */
void dtls_guard_tick_(dtls_guard_t *g, uint64_t now);
uint64_t dtls_guard_next_(const dtls_guard_t *g);
/* The cookie's input: the client's address and port, in a fixed form. */
size_t dtls_guard_client_data_(const coap_addr_t *a, uint8_t out[20]);
/* Verifies a ClientHello's cookie against either secret: 0 and *pre set,
 * or < 0. */
int dtls_guard_verify_(dtls_guard_t *g, const coap_addr_t *from, const uint8_t *buf, size_t len,
                       gnutls_dtls_prestate_st *pre);
/* Whether the source address may start one more handshake now (a token
 * bucket per address, in a fixed table: no allocation per source). */
int dtls_guard_rate_ok_(dtls_guard_t *g, const coap_addr_t *from, uint64_t now);

/* --- session.c --- */

typedef struct dtls_queued {
    struct dtls_queued *next;
    size_t len;
    uint8_t bytes[];
} dtls_queued_t;

enum { SESS_HANDSHAKE, SESS_OPEN };
#define DTLS_CON_RING 8

typedef struct dtls dtls_t;

typedef struct dtls_sess {
    base_hnode_t hn;     /* key: the peer's address */
    base_heap_tmr_t tmr; /* next flight retransmission, or idle expiry */
    dtls_t *t;
    gnutls_session_t g;
    dtls_creds_t *creds; /* a reference */
    coap_addr_t peer;
    coap_addr_t local; /* our address the peer sends to, when has_local */
    uint8_t has_local, client, state, busy, dead;
    uint8_t heard;     /* a record of the peer's reached this session's GnuTLS */
    uint8_t psk_found; /* server: the PSK lookup knew the client's identity */
    const uint8_t *rx; /* the datagram GnuTLS pulls next */
    size_t rx_len;
    dtls_queued_t *q_head, *q_tail;
    unsigned nq;
    uint64_t started, last_activity;
    uint16_t cons[DTLS_CON_RING]; /* CON IDs sent since the peer was last heard */
    unsigned ncons;
    unsigned discarded; /* GnuTLS's count of discarded records, last seen */
    int push_rc;        /* what the UDP transport said to the last record */
    int fail_err;       /* set by the verification callbacks */
    char fail_reason[160];
    coap_identity_t id; /* id.name is NULL until established */
    char *id_name;
    struct dtls_sess *next_dead;
} dtls_sess_t;

/* A client session toward peer, or a server one whose ClientHello passed
 * the cookie check (pre). NULL when out of memory or GnuTLS refuses. */
dtls_sess_t *dtls_sess_new_(dtls_t *t, const coap_addr_t *peer, const coap_addr_t *local,
                            dtls_creds_t *creds, gnutls_dtls_prestate_st *pre);
/* Runs the handshake on what arrived (s->rx) or after a timer. */
void dtls_sess_handshake_(dtls_sess_t *s);
/* One datagram for an established session: its records, decrypted, go up. */
void dtls_sess_input_(dtls_sess_t *s, const uint8_t *buf, size_t len);
/* Encrypts one datagram into an established session. COAP_OK or an error. */
int dtls_sess_send_(dtls_sess_t *s, const uint8_t *buf, size_t len);
/* Keeps a datagram until the handshake ends. COAP_OK or COAP_ERR_NOMEM. */
int dtls_sess_enqueue_(dtls_sess_t *s, const uint8_t *buf, size_t len);
/* Sets the server name (SNI) a client session sends: its peer_name,
 * when that is a DNS name. */
void dtls_sess_server_name_(dtls_sess_t *s);
/* handshake.c, shared with tls_stream.c: whether the session's key
 * exchange used a PSK; an alert the peer sent during our handshake as a
 * COAP_ERR_DTLS_* code; and our fatal alert for a failure of ours. */
int dtls_psk_kx_(gnutls_session_t g);
int dtls_alert_err_(gnutls_alert_description_t a, int psk);
void dtls_alert_answer_(dtls_sess_t *s, int rc);
/* Counts (and reports) the records GnuTLS discarded since last time. */
void dtls_sess_note_discarded_(dtls_sess_t *s);
/* Fired by the transport's timer heap. */
void dtls_sess_timer_(dtls_sess_t *s, uint64_t now);
/* Ends the session: close_notify when `notify`, an event with reason,
 * out of the table; freed now or, while GnuTLS or an upcall uses it,
 * right after. */
void dtls_sess_end_(dtls_sess_t *s, int notify, const char *reason);
/* Ends a failed handshake: the event and, for our own handshakes, the
 * endpoint's exchanges with the peer end with err. */
void dtls_sess_fail_(dtls_sess_t *s, int err, const char *reason);
void dtls_sess_free_(dtls_sess_t *s);

/* --- transport.c --- */

/* Client session data kept per peer for resumption (RFC 5077 tickets or
 * session IDs, whichever the peer offers). */
typedef struct dtls_resume {
    base_hnode_t hn; /* key: peer address */
    struct dtls_resume *older, *newer;
    coap_addr_t peer;
    dtls_creds_t *creds; /* only resumed with the same credentials */
    gnutls_datum_t data;
} dtls_resume_t;

/* Failures found in send(), reported from the next process(): the
 * endpoint must not hear of them while it is sending. */
typedef struct dtls_failure {
    struct dtls_failure *next;
    coap_addr_t peer;
    int err;
} dtls_failure_t;

struct dtls {
    coap_transport_t base; /* first: the endpoint sees this */
    coap_transport_t *udp; /* the socket, below us */
    dtls_config_t cfg;
    dtls_params_t p;
    dtls_creds_t *server_creds; /* cfg.server, or lookup-only PSK ones */
    base_htab_t sessions;
    base_heap_t timers;
    uint32_t nopen, nhandshakes;
    uint64_t now;
    dtls_guard_t guard;
    gnutls_datum_t ticket_key;
    base_htab_t resume;
    dtls_resume_t *resume_oldest, *resume_newest;
    uint32_t nresume;
    dtls_failure_t *failures, *failures_tail;
    dtls_sess_t *dead;
    unsigned busy; /* process() is running: frees wait for its end */
    dtls_stats_t st;
    uint8_t rxbuf[16384 + 512]; /* one decrypted record */
};

dtls_sess_t *dtls_find_(dtls_t *t, const coap_addr_t *peer);
int dtls_table_add_(dtls_t *t, dtls_sess_t *s);
void dtls_table_remove_(dtls_t *t, dtls_sess_t *s);
void dtls_event_(dtls_t *t, dtls_event_kind_t kind, const coap_addr_t *peer, int client, int err,
                 const coap_identity_t *id, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
void dtls_timer_arm_(dtls_t *t, dtls_sess_t *s, uint64_t when);
/* Resumption data: stored after a full client handshake, applied to the
 * next one with the same peer and credentials. */
void dtls_resume_store_(dtls_t *t, dtls_sess_t *s);
void dtls_resume_apply_(dtls_t *t, dtls_sess_t *s);
void dtls_resume_free_all_(dtls_t *t);
/* One record (or flight) out through the UDP transport below. */
int dtls_udp_send_(dtls_t *t, const coap_addr_t *to, const coap_addr_t *local, const void *data,
                   size_t len);
/* A failure the endpoint hears of at the end of process() (never while it
 * is sending: its state is in flux then). */
void dtls_failure_(dtls_t *t, const coap_addr_t *peer, int err);

/* --- accept.c: the server role's way in --- */

/* A datagram from a peer without a session, or a ClientHello at epoch 0
 * from a peer with one (a client that restarted, §4.2.8). */
void dtls_accept_(dtls_t *t, dtls_sess_t *existing, const coap_addr_t *from,
                  const coap_addr_t *local, const uint8_t *buf, size_t len);
int dtls_server_enabled_(const dtls_t *t);

#endif
