/*
 * tls.c - HTTPS for the server (server.c): credentials read with GnuTLS,
 * handed to libmicrohttpd through its certificate callback so that they
 * can be replaced while it runs, and the client certificate check of
 * mutual TLS. See http_tls.h.
 *
 * Why the callback (MHD_OPTION_HTTPS_CERT_CALLBACK) rather than
 * MHD_OPTION_HTTPS_MEM_KEY/CERT: those are read once, when the daemon
 * starts, and a new certificate would need a new daemon, dropping every
 * open connection and event stream. With the callback, each handshake
 * asks for the credentials in force; the connection keeps a reference to
 * the ones it got (GnuTLS keeps pointers to them for the session), and
 * releases it when it closes (conn.c).
 */
#include "http_internal.h"
#include "http_tls.h"

#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PEM_MAX (1024 * 1024) /* a certificate chain or a CA bundle, not a database */

struct http_tls_creds {
    unsigned refs;
    gnutls_pcert_st *pcerts; /* the chain, the server's certificate first */
    unsigned npcerts;
    gnutls_privkey_t key;
    long long not_before, not_after;
    char describe[400];
};

/* The whole file into out (NUL-terminated, for MHD's PEM strings), or -1
 * with a message naming the file and what it should hold. */
static int read_pem(const char *path, const char *what, gnutls_datum_t *out, char *err,
                    size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read %s %s: %s", what, path, strerror(errno));
        return -1;
    }
    unsigned char *buf = malloc(PEM_MAX + 1);
    size_t n = buf ? fread(buf, 1, PEM_MAX + 1, f) : 0;
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad || n > PEM_MAX) {
        snprintf(err, errlen, "cannot read %s %s: %s", what, path,
                 !buf          ? "out of memory"
                 : n > PEM_MAX ? "larger than 1 MiB"
                               : "I/O error");
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    out->data = buf;
    out->size = (unsigned)n;
    return 0;
}

/* A private key's bytes do not stay behind in freed memory. */
static void free_secret(gnutls_datum_t *d)
{
    if (d->data) memset(d->data, 0, d->size);
    free(d->data);
    d->data = NULL;
}

static void format_time(long long t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t < 0 || !gmtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, cap, "?");
}

/* Subject, serial and validity of crt into c, for the logs. */
static void describe(http_tls_creds_t *c, gnutls_x509_crt_t crt)
{
    gnutls_datum_t dn = {NULL, 0};
    unsigned char serial[32]; /* RFC 5280 §4.1.2.2: at most 20 octets */
    char hex[2 * sizeof serial + 1] = "?", until[32];
    size_t len = sizeof serial;
    if (gnutls_x509_crt_get_serial(crt, serial, &len) == 0)
        for (size_t i = 0; i < len; i++) snprintf(hex + 2 * i, 3, "%02x", serial[i]);
    c->not_before = (long long)gnutls_x509_crt_get_activation_time(crt);
    c->not_after = (long long)gnutls_x509_crt_get_expiration_time(crt);
    format_time(c->not_after, until, sizeof until);
    int has_dn = gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0;
    snprintf(c->describe, sizeof c->describe, "subject %.200s, serial %s, valid until %s",
             has_dn ? (const char *)dn.data : "?", hex, until);
    gnutls_free(dn.data);
}

/* The chain of cert_file into c->pcerts. */
static int load_chain(http_tls_creds_t *c, const char *cert_file, char *err, size_t errlen)
{
    gnutls_datum_t pem;
    gnutls_x509_crt_t *crts = NULL;
    unsigned n = 0;
    if (read_pem(cert_file, "certificate", &pem, err, errlen)) return -1;
    int rc = gnutls_x509_crt_list_import2(&crts, &n, &pem, GNUTLS_X509_FMT_PEM,
                                          GNUTLS_X509_CRT_LIST_SORT);
    free(pem.data);
    if (rc < 0 || n == 0) {
        snprintf(err, errlen, "certificate %s: %s (expected PEM certificates)", cert_file,
                 rc < 0 ? gnutls_strerror(rc) : "no certificate");
        return -1;
    }
    describe(c, crts[0]);
    c->pcerts = calloc(n, sizeof *c->pcerts);
    rc = c->pcerts ? gnutls_pcert_import_x509_list(c->pcerts, crts, &n, 0) : GNUTLS_E_MEMORY_ERROR;
    for (unsigned i = 0; i < n; i++) gnutls_x509_crt_deinit(crts[i]);
    gnutls_free(crts);
    if (rc < 0) {
        snprintf(err, errlen, "certificate %s: %s", cert_file, gnutls_strerror(rc));
        return -1;
    }
    c->npcerts = n;
    return 0;
}

/* The key identifier of a public key, to tell whether two keys are one. */
static int key_id(gnutls_pubkey_t pub, unsigned char *id, size_t *len)
{
    return gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, id, len);
}

/* key_file into c->key; it must be the key of the first certificate. */
static int load_key(http_tls_creds_t *c, const char *key_file, char *err, size_t errlen)
{
    gnutls_datum_t pem;
    if (read_pem(key_file, "private key", &pem, err, errlen)) return -1;
    int rc = gnutls_privkey_init(&c->key);
    if (rc == 0) rc = gnutls_privkey_import_x509_raw(c->key, &pem, GNUTLS_X509_FMT_PEM, NULL, 0);
    free_secret(&pem);
    if (rc < 0) {
        snprintf(err, errlen, "private key %s: %s (expected an unencrypted PEM key)", key_file,
                 gnutls_strerror(rc));
        return -1;
    }
    gnutls_pubkey_t pub;
    unsigned char mine[64], theirs[64];
    size_t ml = sizeof mine, tl = sizeof theirs;
    if (gnutls_pubkey_init(&pub) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rc = gnutls_pubkey_import_privkey(pub, c->key, 0, 0);
    int same = rc == 0 && key_id(pub, mine, &ml) == 0 &&
               key_id(c->pcerts[0].pubkey, theirs, &tl) == 0 && ml == tl &&
               !memcmp(mine, theirs, ml);
    gnutls_pubkey_deinit(pub);
    if (!same) {
        snprintf(err, errlen, "private key %s is not the key of the certificate (%s)", key_file,
                 c->describe);
        return -1;
    }
    return 0;
}

http_tls_creds_t *http_tls_creds_load(const char *cert_file, const char *key_file, char *err,
                                      size_t errlen)
{
    http_tls_creds_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->refs = 1;
    if (!cert_file || !key_file) {
        snprintf(err, errlen, "HTTPS needs a certificate file and a private key file");
        http_tls_creds_release(c);
        return NULL;
    }
    if (load_chain(c, cert_file, err, errlen) || load_key(c, key_file, err, errlen)) {
        http_tls_creds_release(c);
        return NULL;
    }
    return c;
}

void http_tls_creds_release(http_tls_creds_t *c)
{
    if (!c || --c->refs) return;
    for (unsigned i = 0; i < c->npcerts; i++) gnutls_pcert_deinit(&c->pcerts[i]);
    free(c->pcerts);
    if (c->key) gnutls_privkey_deinit(c->key);
    free(c);
}

const char *http_tls_creds_describe(const http_tls_creds_t *c)
{
    return c->describe;
}

int http_tls_creds_expired(const http_tls_creds_t *c, long long now)
{
    return now > c->not_after ? 1 : now < c->not_before ? -1 : 0;
}

int http_tls_check_ca(const char *file, char *err, size_t errlen)
{
    gnutls_datum_t pem;
    gnutls_x509_crt_t *crts = NULL;
    unsigned n = 0;
    if (read_pem(file, "CA certificates", &pem, err, errlen)) return -1;
    int rc = gnutls_x509_crt_list_import2(&crts, &n, &pem, GNUTLS_X509_FMT_PEM, 0);
    free(pem.data);
    for (unsigned i = 0; rc >= 0 && i < n; i++) gnutls_x509_crt_deinit(crts[i]);
    gnutls_free(crts);
    if (rc < 0 || n == 0) {
        snprintf(err, errlen, "CA certificates %s: %s (expected PEM certificates)", file,
                 rc < 0 ? gnutls_strerror(rc) : "no certificate");
        return -1;
    }
    return (int)n;
}

/* --- the server's side --- */

/* GnuTLS asks, in each handshake, what this server presents: the
 * credentials in force now. The connection (MHD sets it as the session's
 * pointer) holds them until it closes. */
static int retrieve_cert(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                         const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                         gnutls_pcert_st **pcert, unsigned int *pcert_length,
                         gnutls_privkey_t *privkey)
{
    (void)req_ca_dn, (void)nreqs, (void)pk_algos, (void)pk_algos_length;
    struct MHD_Connection *mc = gnutls_session_get_ptr(session);
    http_conn_t *k = mc ? http_conn_of_(mc) : NULL;
    if (!k || !k->srv->tls) return -1; /* no memory for the connection: no handshake */
    http_tls_creds_t *c = k->srv->tls;
    if (k->creds != c) {
        http_tls_creds_release(k->creds);
        k->creds = c;
        c->refs++;
    }
    *pcert = c->pcerts;
    *pcert_length = c->npcerts;
    *privkey = c->key;
    return 0;
}

int http_tls_init_(http_server_t *srv, const http_server_params_t *p, struct MHD_OptionItem ops[3],
                   char *err, size_t errlen)
{
    ops[0] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    if (!p->tls) return 0;
    if (MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK) != MHD_YES) {
        snprintf(err, errlen, "this libmicrohttpd has no HTTPS certificate callback");
        return -1;
    }
    if (p->tls_client_ca) {
        gnutls_datum_t pem;
        if (http_tls_check_ca(p->tls_client_ca, err, errlen) < 0 ||
            read_pem(p->tls_client_ca, "CA certificates", &pem, err, errlen))
            return -1;
        srv->client_ca = (char *)pem.data;
    }
    srv->tls = p->tls;
    srv->tls->refs++;
    /* A function pointer travels in MHD's option array as a pointer. */
    union {
        gnutls_certificate_retrieve_function2 *fn;
        void *ptr;
    } cb = {.fn = retrieve_cert};
    size_t n = 0;
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK, 0, cb.ptr};
    /* With a trust list, MHD asks every client for a certificate (but does
     * not require one): http_tls_refused_() decides, with a message. */
    if (srv->client_ca)
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, srv->client_ca};
    ops[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    return 0;
}

void http_tls_fini_(http_server_t *srv)
{
    http_tls_creds_release(srv->tls);
    srv->tls = NULL;
    free(srv->client_ca);
    srv->client_ca = NULL;
}

void http_server_set_tls(http_server_t *srv, http_tls_creds_t *c)
{
    if (!srv->tls || !c) return;
    c->refs++;
    http_tls_creds_release(srv->tls);
    srv->tls = c;
}

/* Whether the client's certificate chains to the trusted CAs and may be
 * used by a TLS client; why not otherwise. */
static int peer_trusted(struct MHD_Connection *mc, char *why, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session) {
        snprintf(why, cap, "no TLS session");
        return 0;
    }
    gnutls_typed_vdata_st purpose = {GNUTLS_DT_KEY_PURPOSE_OID,
                                     (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT, 0};
    unsigned status = 0;
    int rc = gnutls_certificate_verify_peers(ci->tls_session, &purpose, 1, &status);
    if (rc == GNUTLS_E_NO_CERTIFICATE_FOUND) {
        snprintf(why, cap, "no client certificate was presented");
        return 0;
    }
    if (rc < 0) {
        snprintf(why, cap, "%s", gnutls_strerror(rc));
        return 0;
    }
    if (status == 0) return 1;
    gnutls_datum_t out = {NULL, 0};
    if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0)
        snprintf(why, cap, "%s", (const char *)out.data);
    else
        snprintf(why, cap, "not trusted");
    gnutls_free(out.data);
    size_t n = strlen(why);
    while (n && why[n - 1] == ' ') why[--n] = '\0';
    return 0;
}

int http_tls_refused_(http_req_t *r)
{
    http_server_t *srv = r->srv;
    if (!srv->client_ca) return 0;
    http_conn_t *k = http_conn_of_(r->conn);
    if (k && k->peer_trusted) return 0; /* checked on an earlier request */
    char why[300];
    if (peer_trusted(r->conn, why, sizeof why)) {
        if (k) k->peer_trusted = 1;
        return 0;
    }
    /* The client learns why; nothing of its answer is worth sniffing. */
    http_req_set_log(r, NULL, "client certificate refused");
    http_req_add_header(r, MHD_HTTP_HEADER_X_CONTENT_TYPE_OPTIONS, "nosniff");
    http_req_add_header(r, MHD_HTTP_HEADER_CONTENT_SECURITY_POLICY, HTTP_SANDBOX_CSP);
    http_req_add_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    http_respond_text(r, 403,
                      "client certificate required: this HTTPS listener serves only clients with "
                      "a certificate from its trusted CA (%s)",
                      why);
    return 1;
}
