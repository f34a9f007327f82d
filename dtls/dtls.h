/*
 * dtls.h - DTLS 1.2 (RFC 6347) as a transport under the CoAP engine
 * (coap_transport.h), on GnuTLS. docs/dtls.md tells the whole story.
 *
 * One transport serves both roles on one UDP socket: it accepts sessions
 * from clients (the server role: the HelloVerifyRequest cookie exchange of
 * §4.2.1 before any per-client state) and starts sessions to peers it has
 * none with (the client role: credentials chosen per peer by the
 * application). An endpoint on it (coap_ep_new_on()) speaks coaps:// with
 * the client, server and Observe roles unchanged. Sending to a peer that
 * connected to us goes through that peer's session: a device behind NAT
 * is reached over the session it opened.
 *
 * Sessions are kept in a table keyed by the peer's address and port. An
 * RFC 9146 connection ID (not in Debian 12's GnuTLS) would become a second
 * key of the same table: a record carrying a CID would find its session by
 * it, and the session's address would be updated to the record's source
 * (the `from` reported upwards), so that neither this API nor
 * coap_transport.h changes.
 *
 * Nothing here blocks: records are read from the socket in process(),
 * handshake flights are retransmitted at the times next_deadline()
 * reports (gnutls_dtls_get_timeout, §4.2.4), and GnuTLS reads and writes
 * through push/pull functions on our own buffers.
 */
#ifndef DTLS_H
#define DTLS_H

#include "coap_transport.h"

#include <stddef.h>
#include <stdint.h>

/* --- credentials --- */

/* What one side presents and how it checks the other. Any combination of
 * the three forms may be given; the handshake offers the cipher suites
 * they allow (PSK: TLS_PSK/ECDHE_PSK; certificates and raw public keys:
 * ECDHE_ECDSA/ECDHE_RSA; AES-128-CCM-8, RFC 7252 §9.1.3's, among them).
 * Files are PEM. Everything is copied or loaded by dtls_creds_new(). */
typedef struct {
    /* PSK (RFC 4279): the identity we send as a client, and its key. A
     * server given these accepts exactly this pair (see also
     * dtls_config_t.psk_key). */
    const char *psk_identity;
    const uint8_t *psk_key;
    size_t psk_key_len;
    /* X.509: our certificate (chain) and its private key. */
    const char *cert_file, *key_file;
    /* CAs the peer's certificate must chain to. A client needs it (or
     * no_verify); a server given one requires a client certificate. */
    const char *ca_file;
    /* Client: the name (DNS name or IP address) the server's certificate
     * must carry; NULL: no name check. */
    const char *peer_name;
    /* Raw public key (RFC 7250): a PEM file with our EC private key (the
     * public key is derived from it; a PUBLIC KEY block beside it, as
     * libcoap's -M files have, is ignored). */
    const char *rpk_file;
    /* SHA-256 of the peer's raw public key (its SubjectPublicKeyInfo), in
     * hex, colons allowed. A client needs it (or no_verify); a server
     * without one accepts any key and reports its fingerprint as the
     * identity, for the application to judge. */
    const char *rpk_pin;
    /* Accept any certificate or raw public key from the peer (tests and
     * demos only: an attacker in the path can then pose as the peer). */
    int no_verify;
} dtls_creds_conf_t;

typedef struct dtls_creds dtls_creds_t;

/* Loads the credentials. Returns NULL and writes why into err (cap bytes)
 * on a missing or unreadable file, a key that does not match its
 * certificate, a malformed pin, or a combination that cannot verify the
 * peer (a client certificate without a CA, an RPK client without a pin,
 * unless no_verify). The result is reference-counted: sessions keep it
 * while they use it, so the application may drop or replace its own
 * reference at any time. */
dtls_creds_t *dtls_creds_new(const dtls_creds_conf_t *conf, char *err, size_t cap);
dtls_creds_t *dtls_creds_ref(dtls_creds_t *c);
void dtls_creds_unref(dtls_creds_t *c);
/* The SHA-256 fingerprint of our own raw public key, in hex (65 bytes
 * with the NUL): what a peer pins. Returns 0, or -1 without an RPK. */
int dtls_creds_rpk_fingerprint(const dtls_creds_t *c, char *hex, size_t cap);

/* "ab:cd:..." or "abcd..." (64 hex digits) into 32 bytes. 0 or -1. */
int dtls_fingerprint_parse(const char *hex, uint8_t out[32]);
/* 32 bytes into 64 lower-case hex digits and a NUL (cap >= 65). */
void dtls_fingerprint_hex(const uint8_t fp[32], char *out, size_t cap);

/* --- events and counters --- */

typedef enum {
    DTLS_EV_ESTABLISHED = 1,  /* a handshake succeeded (reason: "full" or "resumed") */
    DTLS_EV_HANDSHAKE_FAILED, /* err: a COAP_ERR_DTLS_* code or COAP_ERR_TIMEOUT */
    DTLS_EV_CLOSED,           /* a session ended: idle, close_notify, alert, replaced, lost */
    DTLS_EV_COOKIE,           /* a HelloVerifyRequest answered a ClientHello (§4.2.1) */
    DTLS_EV_DROPPED,          /* a datagram or record dropped: not DTLS, truncated, no session */
    DTLS_EV_REFUSED,          /* a verified ClientHello refused: tables full, rate limit */
    DTLS_EV_RENEGOTIATION,    /* a renegotiation attempt refused (no_renegotiation alert) */
} dtls_event_kind_t;

typedef struct {
    dtls_event_kind_t kind;
    const coap_addr_t *peer;
    int client;                /* 1 when we are the session's DTLS client */
    int err;                   /* HANDSHAKE_FAILED: why, as a COAP_ERR_* code */
    const char *reason;        /* a short text for logs, never NULL */
    const coap_identity_t *id; /* ESTABLISHED, CLOSED: whom the peer authenticated as, or NULL */
} dtls_event_t;

/* Counters since the transport was made, and the tables' sizes now. */
typedef struct {
    uint64_t handshakes_ok, handshakes_resumed, handshakes_failed;
    uint64_t cookies_sent;       /* HelloVerifyRequests (no state kept) */
    uint64_t refused_full;       /* verified ClientHellos refused: tables full */
    uint64_t refused_rate;       /* ... refused: the source's handshake rate */
    uint64_t dropped_malformed;  /* datagrams that are no DTLS records, or truncated ones */
    uint64_t dropped_no_session; /* records for a session we do not have */
    uint64_t dropped_bad_record; /* records GnuTLS discarded (MAC, replay, epoch) */
    uint64_t dropped_queue_full; /* datagrams not kept while a handshake ran */
    uint64_t closed_idle, closed_by_peer, closed_lost; /* lost: the rebooted-peer rule */
    uint64_t renegotiations_refused;
    uint32_t sessions;   /* established now */
    uint32_t handshakes; /* in progress now */
} dtls_stats_t;

/* --- the transport --- */

/* Limits and timers. Zero fields take the defaults in brackets. */
typedef struct {
    uint32_t max_sessions;         /* sessions + handshakes in all [10000] */
    uint32_t max_handshakes;       /* handshakes in progress [256] */
    uint32_t idle_timeout_ms;      /* no record either way: close_notify, then gone [300000] */
    uint32_t handshake_timeout_ms; /* a handshake given up after [20000] */
    uint32_t retransmit_ms;        /* first flight retransmission, doubled (§4.2.4.1) [1000] */
    uint32_t handshakes_per_s;     /* handshakes accepted per source address and second [10] */
    uint32_t cookie_rotate_ms;     /* the cookie secret changes this often [300000] */
    uint32_t max_queued;           /* datagrams kept per peer while its handshake runs [8] */
    uint32_t mtu;                  /* for handshake flights, without IP/UDP headers [1400] */
    uint32_t max_resume;           /* client: peers whose session data is kept [1024] */
} dtls_params_t;

typedef struct {
    const coap_addr_t *bind; /* NULL: an ephemeral port on the IPv6 wildcard */
    /* A UDP transport to run on instead of binding one (bind is then
     * ignored): coap_transport_udp_adopt() on a socket passed in. Taken
     * over, also when dtls_transport_new() fails. */
    coap_transport_t *udp;
    dtls_params_t params;
    /* Server role, when either is set: our certificate, raw public key,
     * CA and/or one PSK pair, ... */
    dtls_creds_t *server;
    /* ... and PSK keys looked up by identity: writes the key into key
     * (cap bytes) and returns its length, or returns -1 for an unknown
     * identity (answered with an unknown_psk_identity alert). */
    int (*psk_key)(void *arg, const char *identity, uint8_t *key, size_t cap);
    /* Client role, when either is set: the credentials for a peer we have
     * no session with (NULL: none, the exchanges end with
     * COAP_ERR_DTLS_NO_CREDENTIALS), or one set for every peer. The
     * transport takes its own reference to what is returned. */
    dtls_creds_t *(*client_creds)(void *arg, const coap_addr_t *peer);
    dtls_creds_t *client;
    /* Every event, for logs and metrics (may be NULL). */
    void (*event)(void *arg, const dtls_event_t *ev);
    void *arg;
} dtls_config_t;

/* A DTLS transport on a UDP socket bound to cfg->bind (or on cfg->udp); give it to
 * coap_ep_new_on(). Takes its own references to the credentials. Returns
 * NULL and sets *err (COAP_ERR_INVALID without any role,
 * COAP_ERR_SYS(errno) when the socket cannot be bound). */
coap_transport_t *dtls_transport_new(const dtls_config_t *cfg, int *err);
/* Whether t was made by dtls_transport_new(). */
int dtls_is_transport(const coap_transport_t *t);
/* The counters; 0, or -1 when t is no DTLS transport. */
int dtls_transport_stats(const coap_transport_t *t, dtls_stats_t *out);
/* Whether an established session with peer exists; *id (when given) then
 * says whom it authenticated (valid until the session ends). */
int dtls_transport_has_session(const coap_transport_t *t, const coap_addr_t *peer,
                               coap_identity_t *id);
/* Ends the session with peer, if any (close_notify is sent). */
void dtls_transport_close(coap_transport_t *t, const coap_addr_t *peer);
/* Replaces the server role's credentials (a reload): handshakes from now
 * on use creds (NULL: PSK keys by dtls_config_t.psk_key only), sessions
 * keep theirs. The transport takes its own reference. Returns 0, or -1
 * when t has no server role. */
int dtls_transport_set_server(coap_transport_t *t, dtls_creds_t *creds);

/* --- TLS under the TCP transport (coaps+tcp://, RFC 8323 §9) ---
 *
 * A stream filter (coap_stream_ops_t) for coap_tcp_params_t.tls, with
 * the credentials, verification and identities of DTLS: TLS 1.3 and 1.2,
 * ALPN "coap" (§4.2). Of cfg, the roles' credentials (server, psk_key,
 * client_creds, client), event and arg are used: events are
 * DTLS_EV_ESTABLISHED (reason: the TLS version), DTLS_EV_HANDSHAKE_FAILED
 * (err: a COAP_ERR_DTLS_* code, the connection then ends with it) and
 * DTLS_EV_CLOSED; the handshake's time limit is the TCP transport's
 * connect_timeout_ms (its expiry: COAP_ERR_TIMEOUT), and bind, udp and
 * params are ignored. Takes its own references to the credentials; give
 * the result to coap_transport_tcp_new() with dtls_tls_ops() (which frees
 * it) or free it with dtls_tls_free(). NULL with err written when out of
 * memory. */
typedef struct dtls_tls dtls_tls_t;
dtls_tls_t *dtls_tls_new(const dtls_config_t *cfg, char *err, size_t cap);
const coap_stream_ops_t *dtls_tls_ops(void);
/* Replaces a server role's credentials (a reload), as
 * dtls_transport_set_server: handshakes from now on use creds (NULL: PSK
 * keys by psk_key only), connections keep theirs. 0, or -1 when x has no
 * server role (or out of memory). */
int dtls_tls_set_server(dtls_tls_t *x, dtls_creds_t *creds);
void dtls_tls_free(dtls_tls_t *x);

#endif
