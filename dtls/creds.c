/*
 * creds.c - credentials (PSK, RFC 4279; X.509; raw public keys, RFC 7250)
 * as GnuTLS objects, the cipher suites they allow, the verification of the
 * peer's certificate or key, and the identity a session authenticated.
 */
#include "dtls_internal.h"

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- fingerprints --- */

int dtls_fingerprint_parse(const char *hex, uint8_t out[32])
{
    size_t n = 0;
    for (const char *p = hex; *p;) {
        if (*p == ':') {
            p++;
            continue;
        }
        unsigned v;
        if (n == 32 || sscanf(p, "%2x", &v) != 1 || !p[1] || p[1] == ':') return -1;
        for (int i = 0; i < 2; i++)
            if (!strchr("0123456789abcdefABCDEF", p[i])) return -1;
        out[n++] = (uint8_t)v;
        p += 2;
    }
    return n == 32 ? 0 : -1;
}

void dtls_fingerprint_hex(const uint8_t fp[32], char *out, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    size_t i = 0;
    for (; i < 32 && 2 * i + 2 < cap; i++) {
        out[2 * i] = digits[fp[i] >> 4];
        out[2 * i + 1] = digits[fp[i] & 15];
    }
    if (cap) out[2 * i < cap ? 2 * i : cap - 1] = '\0';
}

/* SHA-256 of a SubjectPublicKeyInfo (DER): the RPK fingerprint. */
static int spki_fingerprint(const gnutls_datum_t *der, uint8_t out[32])
{
    return gnutls_hash_fast(GNUTLS_DIG_SHA256, der->data, der->size, out) < 0 ? -1 : 0;
}

/* --- loading --- */

static dtls_creds_t *fail(dtls_creds_t *c, char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static dtls_creds_t *fail(dtls_creds_t *c, char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (cap) vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    dtls_creds_unref(c);
    return NULL;
}

/* Frees c after a failure that already wrote its reason. */
static dtls_creds_t *drop(dtls_creds_t *c)
{
    dtls_creds_unref(c);
    return NULL;
}

static int readable(const char *path, char *err, size_t cap)
{
    if (access(path, R_OK) == 0) return 1;
    snprintf(err, cap, "cannot read %s: %s", path, strerror(errno));
    return 0;
}

/* An EC (or RSA) private key in PEM; the raw public key derived from it. */
static int load_rpk(dtls_creds_t *c, const char *path, char *err, size_t cap)
{
    gnutls_datum_t pem = {0}, der = {0};
    gnutls_privkey_t key = NULL;
    gnutls_pubkey_t pub = NULL;
    int rc = gnutls_load_file(path, &pem);
    if (rc >= 0) rc = gnutls_privkey_init(&key);
    if (rc >= 0) rc = gnutls_privkey_import_x509_raw(key, &pem, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (rc >= 0) rc = gnutls_pubkey_init(&pub);
    if (rc >= 0) rc = gnutls_pubkey_import_privkey(pub, key, 0, 0);
    if (rc >= 0) rc = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &der);
    if (rc >= 0 && spki_fingerprint(&der, c->own_fp)) rc = GNUTLS_E_HASH_FAILED;
    gnutls_free(pem.data);
    gnutls_free(der.data);
    gnutls_pcert_st pcert;
    /* The pcert takes the public key; the credentials take both. */
    if (rc >= 0 && (rc = gnutls_pcert_import_rawpk(&pcert, pub, 0)) >= 0) {
        pub = NULL;
        rc = gnutls_certificate_set_key(c->cert, NULL, 0, &pcert, 1, key);
        if (rc >= 0)
            key = NULL;
        else
            gnutls_pcert_deinit(&pcert);
    }
    gnutls_privkey_deinit(key);
    gnutls_pubkey_deinit(pub);
    if (rc < 0) snprintf(err, cap, "raw public key %s: %s", path, gnutls_strerror(rc));
    return rc < 0 ? -1 : 0;
}

static int verify_peer(gnutls_session_t g);

static int load_certificates(dtls_creds_t *c, const dtls_creds_conf_t *conf, char *err, size_t cap)
{
    int rc = gnutls_certificate_allocate_credentials(&c->cert);
    if (rc < 0) return snprintf(err, cap, "%s", gnutls_strerror(rc)), -1;
    gnutls_certificate_set_verify_function(c->cert, verify_peer);
    if (c->has_x509) {
        if (!readable(conf->cert_file, err, cap) || !readable(conf->key_file, err, cap)) return -1;
        rc = gnutls_certificate_set_x509_key_file2(c->cert, conf->cert_file, conf->key_file,
                                                   GNUTLS_X509_FMT_PEM, NULL, 0);
        if (rc < 0)
            return snprintf(err, cap, "certificate %s with key %s: %s", conf->cert_file,
                            conf->key_file, gnutls_strerror(rc)),
                   -1;
    }
    if (c->has_ca) {
        if (!readable(conf->ca_file, err, cap)) return -1;
        rc = gnutls_certificate_set_x509_trust_file(c->cert, conf->ca_file, GNUTLS_X509_FMT_PEM);
        if (rc <= 0)
            return snprintf(err, cap, "CA file %s: %s", conf->ca_file,
                            rc ? gnutls_strerror(rc) : "no certificate in it"),
                   -1;
    }
    if (c->has_rpk &&
        (!readable(conf->rpk_file, err, cap) || load_rpk(c, conf->rpk_file, err, cap)))
        return -1;
    return 0;
}

static int load_psk(dtls_creds_t *c, const dtls_creds_conf_t *conf, char *err, size_t cap)
{
    if (!conf->psk_identity || !*conf->psk_identity || strlen(conf->psk_identity) > 255 ||
        !conf->psk_key || !conf->psk_key_len || conf->psk_key_len > 64)
        return snprintf(err, cap, "a PSK needs an identity (1-255 bytes) and a key (1-64 bytes)"),
               -1;
    c->psk_identity = strdup(conf->psk_identity);
    c->psk_key = malloc(conf->psk_key_len);
    if (!c->psk_identity || !c->psk_key) return snprintf(err, cap, "out of memory"), -1;
    memcpy(c->psk_key, conf->psk_key, conf->psk_key_len);
    c->psk_key_len = conf->psk_key_len;
    gnutls_datum_t key = {c->psk_key, (unsigned)c->psk_key_len};
    int rc = gnutls_psk_allocate_client_credentials(&c->psk_client);
    if (rc >= 0)
        rc = gnutls_psk_set_client_credentials(c->psk_client, c->psk_identity, &key,
                                               GNUTLS_PSK_KEY_RAW);
    if (rc < 0) return snprintf(err, cap, "PSK: %s", gnutls_strerror(rc)), -1;
    return 0;
}

/* PSK keys for the server role: the transport's lookup, else our pair. */
static int psk_server_key(gnutls_session_t g, const char *identity, gnutls_datum_t *key)
{
    dtls_sess_t *s = gnutls_session_get_ptr(g);
    uint8_t buf[64];
    int n = -1;
    if (s->t->cfg.psk_key)
        n = s->t->cfg.psk_key(s->t->cfg.arg, identity, buf, sizeof buf);
    else if (s->creds->has_psk && !strcmp(identity, s->creds->psk_identity))
        n = (int)s->creds->psk_key_len, memcpy(buf, s->creds->psk_key, s->creds->psk_key_len);
    if (n <= 0 || n > (int)sizeof buf) {
        s->fail_err = COAP_ERR_DTLS_IDENTITY;
        snprintf(s->fail_reason, sizeof s->fail_reason, "unknown PSK identity \"%.64s\"", identity);
        return -1;
    }
    key->data = gnutls_malloc((size_t)n);
    if (!key->data) return -1;
    memcpy(key->data, buf, (size_t)n);
    key->size = (unsigned)n;
    s->psk_found = 1;
    gnutls_memset(buf, 0, sizeof buf);
    return 0;
}

/* What GnuTLS's NORMAL set offers, plus AES-128-CCM-8 (RFC 7252 §9.1.3:
 * the suites CoAP devices must have, so a CCM-8-only device is served),
 * appended: a peer that has more gets the NORMAL preference (ChaCha20 or
 * AES-GCM, seen with libcoap's servers); DTLS 1.2 only, or for a stream
 * (coaps+tcp://, RFC 8323 §9) TLS 1.3 and 1.2. */
static int make_priority(dtls_creds_t *c, gnutls_priority_t *out, int psk, int tls, char *err,
                         size_t cap)
{
    char p[256];
    int certs = c->has_x509 || c->has_rpk;
    snprintf(p, sizeof p, "NORMAL:-VERS-ALL:%s:+AES-128-CCM-8:-KX-ALL%s%s%s",
             tls ? "+VERS-TLS1.3:+VERS-TLS1.2" : "+VERS-DTLS1.2", psk ? ":+ECDHE-PSK:+PSK" : "",
             certs || c->has_ca ? ":+ECDHE-ECDSA:+ECDHE-RSA" : "",
             c->has_rpk ? ":+CTYPE-CLI-ALL:+CTYPE-SRV-ALL" : "");
    const char *where;
    int rc = gnutls_priority_init(out, p, &where);
    if (rc < 0) snprintf(err, cap, "priority %s: %s", p, gnutls_strerror(rc));
    return rc < 0 ? -1 : 0;
}

/* What every credentials object has: the PSK server side (keys come by
 * callback) and the priorities. */
static dtls_creds_t *finish(dtls_creds_t *c, char *err, size_t cap)
{
    if (gnutls_psk_allocate_server_credentials(&c->psk_server) < 0)
        return fail(c, err, cap, "out of memory");
    gnutls_psk_set_server_credentials_function(c->psk_server, psk_server_key);
    if (make_priority(c, &c->prio_client, c->has_psk, 0, err, cap) ||
        make_priority(c, &c->prio_server, 1, 0, err, cap) ||
        make_priority(c, &c->prio_tls_client, c->has_psk, 1, err, cap) ||
        make_priority(c, &c->prio_tls_server, 1, 1, err, cap))
        return drop(c);
    return c;
}

dtls_creds_t *dtls_creds_lookup_only_(char *err, size_t cap)
{
    dtls_creds_t *c = calloc(1, sizeof *c);
    if (!c) return fail(NULL, err, cap, "out of memory");
    c->refs = 1;
    return finish(c, err, cap);
}

dtls_creds_t *dtls_creds_new(const dtls_creds_conf_t *conf, char *err, size_t cap)
{
    dtls_creds_t *c = calloc(1, sizeof *c);
    if (!c) return fail(NULL, err, cap, "out of memory");
    c->refs = 1;
    c->has_psk = conf->psk_identity || conf->psk_key;
    c->has_x509 = conf->cert_file || conf->key_file;
    c->has_ca = conf->ca_file != NULL;
    c->has_rpk = conf->rpk_file != NULL;
    c->no_verify = conf->no_verify != 0;
    if (c->has_x509 && (!conf->cert_file || !conf->key_file))
        return fail(c, err, cap, "a certificate needs both its file and its key file");
    if (!c->has_psk && !c->has_x509 && !c->has_rpk && !c->has_ca)
        return fail(c, err, cap, "no credentials: give a PSK, a certificate or a raw public key");
    if (conf->rpk_pin) {
        if (dtls_fingerprint_parse(conf->rpk_pin, c->pin))
            return fail(c, err, cap, "RPK pin %s is not a SHA-256 in hex", conf->rpk_pin);
        c->has_pin = 1;
    }
    if (conf->peer_name && !(c->peer_name = strdup(conf->peer_name)))
        return fail(c, err, cap, "out of memory");
    if (c->has_psk && load_psk(c, conf, err, cap)) return drop(c);
    if ((c->has_x509 || c->has_rpk || c->has_ca) && load_certificates(c, conf, err, cap))
        return drop(c);
    return finish(c, err, cap);
}

dtls_creds_t *dtls_creds_ref(dtls_creds_t *c)
{
    if (c) c->refs++;
    return c;
}

void dtls_creds_unref(dtls_creds_t *c)
{
    if (!c || --c->refs) return;
    if (c->psk_client) gnutls_psk_free_client_credentials(c->psk_client);
    if (c->psk_server) gnutls_psk_free_server_credentials(c->psk_server);
    if (c->cert) gnutls_certificate_free_credentials(c->cert);
    if (c->prio_client) gnutls_priority_deinit(c->prio_client);
    if (c->prio_server) gnutls_priority_deinit(c->prio_server);
    if (c->prio_tls_client) gnutls_priority_deinit(c->prio_tls_client);
    if (c->prio_tls_server) gnutls_priority_deinit(c->prio_tls_server);
    if (c->psk_key) gnutls_memset(c->psk_key, 0, c->psk_key_len);
    free(c->psk_key);
    free(c->psk_identity);
    free(c->peer_name);
    free(c);
}

int dtls_creds_rpk_fingerprint(const dtls_creds_t *c, char *hex, size_t cap)
{
    if (!c->has_rpk) return -1;
    dtls_fingerprint_hex(c->own_fp, hex, cap);
    return 0;
}

unsigned dtls_creds_init_flags_(const dtls_creds_t *c)
{
    return c->has_rpk ? GNUTLS_ENABLE_RAWPK : 0;
}

int dtls_creds_apply_(dtls_creds_t *c, gnutls_session_t g, int client, int psk_lookup, int tls)
{
    gnutls_priority_t dtls = client ? c->prio_client : c->prio_server;
    int rc =
        gnutls_priority_set(g, tls ? (client ? c->prio_tls_client : c->prio_tls_server) : dtls);
    if (rc >= 0 && client && c->psk_client)
        rc = gnutls_credentials_set(g, GNUTLS_CRD_PSK, c->psk_client);
    if (rc >= 0 && !client && (c->has_psk || psk_lookup))
        rc = gnutls_credentials_set(g, GNUTLS_CRD_PSK, c->psk_server);
    if (rc >= 0 && c->cert) rc = gnutls_credentials_set(g, GNUTLS_CRD_CERTIFICATE, c->cert);
    /* A server with a CA or raw public keys wants the client's too. */
    if (rc >= 0 && !client && (c->has_ca || c->has_rpk))
        gnutls_certificate_server_set_request(g, GNUTLS_CERT_REQUIRE);
    return rc;
}

/* --- verifying the peer (called by GnuTLS during the handshake) --- */

static int reject(dtls_sess_t *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int reject(dtls_sess_t *s, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->fail_reason, sizeof s->fail_reason, fmt, ap);
    va_end(ap);
    s->fail_err = err;
    return GNUTLS_E_CERTIFICATE_ERROR;
}

/* The most telling reason among the verification status bits. */
static int x509_status_err(unsigned status)
{
    if (status & (GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED)) return COAP_ERR_DTLS_EXPIRED;
    if (status & GNUTLS_CERT_UNEXPECTED_OWNER) return COAP_ERR_DTLS_NAME;
    return COAP_ERR_DTLS_UNTRUSTED;
}

static int verify_x509(dtls_sess_t *s)
{
    dtls_creds_t *c = s->creds;
    if (c->no_verify) return 0;
    if (!c->has_ca) return reject(s, COAP_ERR_DTLS_UNTRUSTED, "no CA to verify a certificate with");
    unsigned status = 0;
    const char *name = s->client ? c->peer_name : NULL;
    int rc = gnutls_certificate_verify_peers3(s->g, name, &status);
    if (rc < 0) return reject(s, COAP_ERR_DTLS_UNTRUSTED, "%s", gnutls_strerror(rc));
    if (!status) return 0;
    gnutls_datum_t text = {0};
    gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0);
    reject(s, x509_status_err(status), "%s", text.data ? (char *)text.data : "not trusted");
    gnutls_free(text.data);
    return GNUTLS_E_CERTIFICATE_ERROR;
}

static int verify_rpk(dtls_sess_t *s, const gnutls_datum_t *spki)
{
    dtls_creds_t *c = s->creds;
    uint8_t fp[32];
    char hex[65];
    if (spki_fingerprint(spki, fp)) return reject(s, COAP_ERR_DTLS_FAILED, "cannot hash the key");
    dtls_fingerprint_hex(fp, hex, sizeof hex);
    if (c->has_pin)
        return memcmp(fp, c->pin, 32) == 0
                   ? 0
                   : reject(s, COAP_ERR_DTLS_KEY, "raw public key %s is not the pinned one", hex);
    /* A server without a pin takes any key: the fingerprint is the
     * identity the application judges. A client must know whom it talks to. */
    if (c->no_verify || !s->client) return 0;
    return reject(s, COAP_ERR_DTLS_KEY, "raw public key %s, and no pin to check it with", hex);
}

static int verify_peer(gnutls_session_t g)
{
    dtls_sess_t *s = gnutls_session_get_ptr(g);
    unsigned n = 0;
    const gnutls_datum_t *peers = gnutls_certificate_get_peers(g, &n);
    if (!peers || !n) /* a server that asked for nothing gets nothing */
        return s->client ? reject(s, COAP_ERR_DTLS_UNTRUSTED, "the peer sent no certificate") : 0;
    if (gnutls_certificate_type_get2(g, GNUTLS_CTYPE_PEERS) == GNUTLS_CRT_RAWPK)
        return verify_rpk(s, &peers[0]);
    return verify_x509(s);
}

/* --- who the peer is --- */

static char *x509_subject(const gnutls_datum_t *der)
{
    gnutls_x509_crt_t crt;
    gnutls_datum_t dn = {0};
    char *out = NULL;
    if (gnutls_x509_crt_init(&crt) < 0) return NULL;
    if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) >= 0 &&
        gnutls_x509_crt_get_dn3(crt, &dn, 0) >= 0)
        out = strdup((char *)dn.data);
    gnutls_free(dn.data);
    gnutls_x509_crt_deinit(crt);
    return out;
}

void dtls_creds_identity_(dtls_sess_t *s)
{
    gnutls_kx_algorithm_t kx = gnutls_kx_get(s->g);
    free(s->id_name);
    s->id_name = NULL;
    if (kx == GNUTLS_KX_PSK || kx == GNUTLS_KX_ECDHE_PSK || kx == GNUTLS_KX_DHE_PSK) {
        const char *who = s->client ? s->creds->psk_identity : gnutls_psk_server_get_username(s->g);
        s->id.kind = COAP_IDENTITY_PSK;
        s->id_name = who ? strdup(who) : NULL;
    } else {
        unsigned n = 0;
        const gnutls_datum_t *peers = gnutls_certificate_get_peers(s->g, &n);
        if (!peers || !n) return;
        if (gnutls_certificate_type_get2(s->g, GNUTLS_CTYPE_PEERS) == GNUTLS_CRT_RAWPK) {
            uint8_t fp[32];
            char hex[65];
            if (spki_fingerprint(&peers[0], fp)) return;
            dtls_fingerprint_hex(fp, hex, sizeof hex);
            s->id.kind = COAP_IDENTITY_RPK;
            s->id_name = strdup(hex);
        } else {
            s->id.kind = COAP_IDENTITY_X509;
            s->id_name = x509_subject(&peers[0]);
        }
    }
    s->id.name = s->id_name;
}
