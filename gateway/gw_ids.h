/*
 * gw_ids.h - the identities of dtls.identities, built from the
 * configuration (PSK keys read from their files or variables): whom the
 * DTLS listener knows, which Resource Directory names each may register,
 * and its scope on the forward proxy. Rebuilt whole on SIGHUP; what a
 * handshake or a request looks up is the table in force then. Internal
 * to gateway/.
 */
#ifndef GW_IDS_H
#define GW_IDS_H

#include "cfg.h"
#include "coap_transport.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int kind;        /* CFG_ID_* = COAP_IDENTITY_* */
    char *label;     /* "psk:NAME", "x509:DN", "rpk:SHA256": logs, /api/devices */
    const char *id;  /* label past "kind:" */
    uint8_t key[64]; /* PSK */
    size_t key_len;
    char **names; /* "NAME" or "PREFIX*" */
    size_t nnames;
    int proxy; /* CFG_PROXY_* */
} gw_id_t;

typedef struct gw_ids gw_ids_t;

/* The table of c->identities, with each PSK key read from its key_file
 * or key_env as gw_creds_psk_read reads credentials' keys (1-64 bytes,
 * one trailing newline taken off, or "hex:" and hex digits).
 * Returns NULL with a message naming the entry in err. */
gw_ids_t *gw_ids_build(const cfg_t *c, char *err, size_t errlen);
/* Frees the table, keys wiped. NULL: nothing. */
void gw_ids_free(gw_ids_t *ids);
size_t gw_ids_count(const gw_ids_t *ids);

/* The entry of an authenticated identity, or NULL (not configured; NULL
 * ids or id: none). */
const gw_id_t *gw_ids_find(const gw_ids_t *ids, const coap_identity_t *id);
/* The entry with this label ("psk:node1"), or NULL. */
const gw_id_t *gw_ids_by_label(const gw_ids_t *ids, const char *label);
/* The PSK key of `identity` into key (cap bytes): its length, or -1. */
int gw_ids_psk_key(const gw_ids_t *ids, const char *identity, uint8_t *key, size_t cap);

/* Whether pattern ("NAME", "PREFIX*", "*") matches name, ignoring ASCII
 * case as the directory compares names. */
int gw_ids_name_match(const char *pattern, const char *name);
/* Whether e may register `name`. */
int gw_id_may_register(const gw_id_t *e, const char *name);
/* Whether some identity may register `name`: such a name is kept for
 * them, and a plaintext registration cannot take it. */
int gw_ids_reserved(const gw_ids_t *ids, const char *name);
/* Whether e may send `method` through the forward proxy: read scope GET
 * and FETCH, read-write any; none without a scope. */
int gw_id_may_proxy(const gw_id_t *e, uint8_t method);

/* "psk:NAME", "x509:DN" or "rpk:SHA256" of an identity into out. */
void gw_identity_label(const coap_identity_t *id, char *out, size_t cap);

#endif
