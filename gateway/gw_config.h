/*
 * gw_config.h - where the gateway's configuration comes from, remembered
 * for SIGHUP: embedded defaults < file < environment (COAPGW_...) <
 * command-line flags. Internal to gateway/.
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include "cfg.h"
#include "http_tls.h"

#include <stddef.h>

struct gw;

/* One command-line setting: cfg_set(key, value, mode), messages naming
 * flag. The strings point into argv, or into set_labels for --set. */
typedef struct {
    const char *flag, *key, *value;
    int mode; /* CFG_REPLACE or CFG_APPEND */
} gw_setting_t;

#define GW_SETTINGS_MAX 128

typedef struct {
    const char *file; /* --config FILE, else $COAPGW_CONFIG, else none */
    gw_setting_t set[GW_SETTINGS_MAX];
    size_t nset;
    char set_labels[GW_SETTINGS_MAX][72]; /* "--set KEY", the flag of each --set */
} gw_sources_t;

/* Builds c from the sources (c treated as uninitialized). Returns 0, or
 * -1 with the one-line message in err and c freed. */
int gw_config_build(cfg_t *c, const gw_sources_t *src, char *err, size_t errlen);

/* Remembers the sources (they must outlive the gateway) for gw_reload. */
void gw_reload_sources(const gw_sources_t *src);

/* Warns when HTTP listens beyond loopback with no access token (HTTPS
 * too, unless it asks for client certificates). */
void gw_config_warn_open(const struct gw *gw);

/* https.c: the certificate and key of http.listen_tls (one reference in
 * *out; NULL when HTTPS is off), and a check of http.tls_client_ca.
 * Returns 0, or -1 with a message naming the keys and the file in err. */
int gw_https_load(const cfg_t *c, http_tls_creds_t **out, char *err, size_t errlen);
/* Logs what HTTPS presents (a warning when outside its validity); when
 * prefixes the line ("", "reload: "). */
void gw_https_log(const char *when, const http_tls_creds_t *creds);

#endif
