/*
 * cfg_tls.c - the HTTPS and DTLS keys checked together: which listeners
 * are on, the credentials they need, and the private key files'
 * permissions (docs/security.md: a key other users can read is refused,
 * not warned about, so that it is fixed before it leaks).
 */
#include "cfg_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int fail(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return -1;
}

/* The key file exists, is a file, and grants other users nothing: its
 * owner (and its group, such as Debian's ssl-cert) may read it. For
 * http.tls_key, the listener's dtls.key and dtls.rpk_key, and the PSK
 * key files of dtls.identities and credentials alike. */
int cfg_check_key_file(const char *key, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st)) {
        snprintf(err, errlen, "%s: cannot read %.300s: %s", key, path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: %.300s is not a file", key, path);
        return -1;
    }
    if (st.st_mode & S_IRWXO) {
        snprintf(err, errlen,
                 "%s: %.300s is open to other users (mode %04o): a private key must "
                 "not be (chmod o-rwx %.300s)",
                 key, path, (unsigned)(st.st_mode & 07777), path);
        return -1;
    }
    return 0;
}

int cfg_check_https(const cfg_t *c, char *err, size_t errlen)
{
    int plain = !cfg_listen_off(c->http_listen), tls = !cfg_listen_off(c->http_listen_tls);
    if (!plain && !tls)
        return fail(err, errlen,
                    "http.listen and http.listen_tls are both off (expected at least one of "
                    "them as HOST:PORT)");
    if (!tls) {
        const char *set = *c->tls_cert        ? "http.tls_cert"
                          : *c->tls_key       ? "http.tls_key"
                          : *c->tls_client_ca ? "http.tls_client_ca"
                                              : NULL;
        if (!set) return 0;
        snprintf(err, errlen,
                 "%s is set but http.listen_tls is off (set http.listen_tls to HOST:PORT for "
                 "HTTPS, or leave %s empty)",
                 set, set);
        return -1;
    }
    if (!*c->tls_cert || !*c->tls_key)
        return fail(err, errlen,
                    "http.listen_tls: HTTPS needs http.tls_cert and http.tls_key (PEM files of "
                    "the certificate chain and its private key)");
    return cfg_check_key_file("http.tls_key", c->tls_key, err, errlen);
}

/* The dtls.* credentials only with a listener that uses them on (DTLS,
 * or TLS: coap.listen_tls); the listeners with some credentials; each
 * identity form with what the handshake needs to authenticate it. */
static const char *dtls_mismatch(const cfg_t *c)
{
    size_t n[4] = {0};
    for (size_t i = 0; i < c->nidentities; i++) n[c->identities[i].kind]++;
    if (cfg_listen_off(c->coap_listen_dtls) && cfg_listen_off(c->coap_listen_tls)) {
        return *c->dtls_cert  ? "dtls.cert is set but coap.listen_dtls and coap.listen_tls are off"
               : *c->dtls_key ? "dtls.key is set but coap.listen_dtls and coap.listen_tls are off"
               : *c->dtls_client_ca
                   ? "dtls.client_ca is set but coap.listen_dtls and coap.listen_tls are off"
               : *c->dtls_rpk_key
                   ? "dtls.rpk_key is set but coap.listen_dtls and coap.listen_tls are off"
               : c->nidentities
                   ? "dtls.identities is set but coap.listen_dtls and coap.listen_tls are off"
                   : NULL;
    }
    if (!*c->dtls_cert != !*c->dtls_key)
        return "dtls.cert and dtls.key go together (PEM files of the listener's certificate "
               "and its private key)";
    if (!*c->dtls_cert && !*c->dtls_rpk_key && !n[CFG_ID_PSK])
        return cfg_listen_off(c->coap_listen_dtls)
                   ? "coap.listen_tls: the TLS listener needs credentials (the DTLS listener's): "
                     "dtls.cert and dtls.key, dtls.rpk_key, or a psk identity in dtls.identities"
                   : "coap.listen_dtls: the DTLS listener needs credentials: dtls.cert and "
                     "dtls.key, dtls.rpk_key, or a psk identity in dtls.identities";
    if (*c->dtls_client_ca && !*c->dtls_cert)
        return "dtls.client_ca needs dtls.cert and dtls.key (client certificates are asked "
               "for in a certificate handshake)";
    if (n[CFG_ID_X509] && !*c->dtls_client_ca)
        return "dtls.identities: an x509 identity needs dtls.client_ca (without it no client "
               "certificate is asked for)";
    if (n[CFG_ID_RPK] && !*c->dtls_rpk_key)
        return "dtls.identities: an rpk identity needs dtls.rpk_key (the listener's own raw "
               "public key)";
    return NULL;
}

int cfg_check_dtls(const cfg_t *c, char *err, size_t errlen)
{
    const char *bad = dtls_mismatch(c);
    if (bad) return fail(err, errlen, bad);
    if (cfg_listen_off(c->coap_listen_dtls) && cfg_listen_off(c->coap_listen_tls)) return 0;
    if ((*c->dtls_key && cfg_check_key_file("dtls.key", c->dtls_key, err, errlen)) ||
        (*c->dtls_rpk_key && cfg_check_key_file("dtls.rpk_key", c->dtls_rpk_key, err, errlen)))
        return -1;
    for (size_t i = 0; i < c->nidentities; i++) {
        char key[64];
        snprintf(key, sizeof key, "dtls.identities[%zu].key_file", i);
        if (c->identities[i].key_file &&
            cfg_check_key_file(key, c->identities[i].key_file, err, errlen))
            return -1;
    }
    return 0;
}
