/*
 * gw_creds.h - the DTLS credentials for coaps:// devices ("credentials"
 * in docs/configuration.md), loaded from the configuration: the PSK keys
 * read from their files or variables, certificates and raw public keys
 * through dtls_creds_new(). Built whole at start, by --check-config and
 * on SIGHUP (a reload that cannot load them is refused). Internal to
 * gateway/.
 */
#ifndef GW_CREDS_H
#define GW_CREDS_H

#include "cfg.h"
#include "dtls.h"

#include <stddef.h>

typedef struct gw_creds gw_creds_t;

/* Loads every entry of c->creds. A certificate is checked against the
 * entry's "name", else the host of the configured device the entry is
 * named after, else the entry's own name (a host). Returns the table
 * (empty without entries), or NULL with err naming the entry, the field
 * and the file or variable. */
gw_creds_t *gw_creds_load(const cfg_t *c, char *err, size_t errlen);
void gw_creds_free(gw_creds_t *t);
size_t gw_creds_count(const gw_creds_t *t);

/* The entry for a target: the one named after device (when the request
 * named a device), else the one named after host (a name, ignoring case,
 * or the same IP address however written). Returns the entry's name
 * (valid while t lives) or NULL. */
const char *gw_creds_pick(const gw_creds_t *t, const char *device, const char *host);
/* The credentials of the entry named name, or NULL (the caller takes a
 * reference when it keeps them). */
dtls_creds_t *gw_creds_get(const gw_creds_t *t, const char *name);
/* How the entry named name authenticates the device, for /api/devices:
 * "dtls-psk", "dtls-x509" or "dtls-rpk" after its form ("+" between
 * several: "dtls-psk+x509"); "dtls-none" without such an entry. */
const char *gw_creds_auth(const gw_creds_t *t, const char *name);

/* A PSK key as written in a file or a variable: its bytes, one trailing
 * newline dropped, or "hex:" and the bytes in hex. Returns the length
 * (1-64) written to out, or -1 with what is wrong in why. */
int gw_creds_psk_decode(const char *text, size_t len, uint8_t out[64], char *why, size_t cap);
/* The same, read from file (when not NULL) or from the variable env: the
 * length, or -1 with why saying "SOURCE: what is wrong". The same rules
 * for "credentials" and dtls.identities. */
int gw_creds_psk_read(const char *file, const char *env, uint8_t out[64], char *why, size_t cap);

#endif
