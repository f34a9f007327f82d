/*
 * cfg_tls.c - the HTTPS keys checked together: which listeners are on,
 * the certificate and key they need, and the private key file's
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
 * http.tls_key and the key files of credentials alike. */
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
