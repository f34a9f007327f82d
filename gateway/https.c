/*
 * https.c - the HTTPS listener's certificate and key: read at start (a
 * file that cannot be used stops the gateway, exit 2, like any bad
 * setting), by --check-config, and again on SIGHUP, when new connections
 * get them and open ones (event streams included) keep theirs.
 */
#include "gw.h"
#include "gw_config.h"

#include <stdio.h>
#include <time.h>

int gw_https_load(const cfg_t *c, http_tls_creds_t **out, char *err, size_t errlen)
{
    char why[700];
    *out = NULL;
    if (cfg_listen_off(c->http_listen_tls)) return 0;
    if (*c->tls_client_ca && http_tls_check_ca(c->tls_client_ca, why, sizeof why) < 0) {
        snprintf(err, errlen, "http.tls_client_ca: %s", why);
        return -1;
    }
    if (!(*out = http_tls_creds_load(c->tls_cert, c->tls_key, why, sizeof why))) {
        snprintf(err, errlen, "http.tls_cert, http.tls_key: %s", why);
        return -1;
    }
    return 0;
}

void gw_https_log(const char *when, const http_tls_creds_t *creds)
{
    int expired = http_tls_creds_expired(creds, (long long)time(NULL));
    gw_log(expired ? CFG_LOG_WARN : CFG_LOG_INFO, "%sHTTPS certificate: %s%s", when,
           http_tls_creds_describe(creds),
           expired > 0   ? " (EXPIRED: clients will refuse it)"
           : expired < 0 ? " (NOT VALID YET: clients will refuse it)"
                         : "");
}
