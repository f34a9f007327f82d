/*
 * ids.c - the identity table of dtls.identities (gw_ids.h): built at
 * start and on each SIGHUP, looked up by each handshake (PSK keys) and
 * each request (names, proxy scope).
 */
#include "gw_ids.h"
#include "gw_creds.h"

#include "coap_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct gw_ids {
    gw_id_t *v;
    size_t n;
};

static const char *const kind_names[] = {"", "psk", "x509", "rpk"};

void gw_identity_label(const coap_identity_t *id, char *out, size_t cap)
{
    int k = id->kind >= COAP_IDENTITY_PSK && id->kind <= COAP_IDENTITY_RPK ? (int)id->kind : 0;
    snprintf(out, cap, "%s:%s", k ? kind_names[k] : "?", id->name ? id->name : "");
}

/* A PSK identity's key, read as credentials' keys are (gw_creds.h). */
static int read_key(const cfg_identity_t *ci, gw_id_t *e, char *why, size_t cap)
{
    int n = gw_creds_psk_read(ci->key_file, ci->key_env, e->key, why, cap);
    if (n < 0) return -1;
    e->key_len = (size_t)n;
    return 0;
}

static void entry_free(gw_id_t *e)
{
    memset(e->key, 0, sizeof e->key);
    free(e->label);
    for (size_t i = 0; i < e->nnames; i++) free(e->names[i]);
    free(e->names);
}

void gw_ids_free(gw_ids_t *ids)
{
    if (!ids) return;
    for (size_t i = 0; i < ids->n; i++) entry_free(&ids->v[i]);
    free(ids->v);
    free(ids);
}

static int entry_init(gw_id_t *e, const cfg_identity_t *ci)
{
    size_t l = strlen(ci->id) + 6;
    e->kind = ci->kind;
    e->proxy = ci->proxy;
    if (!(e->label = malloc(l)) || !(e->names = calloc(ci->names.n + 1, sizeof *e->names)))
        return -1;
    snprintf(e->label, l, "%s:%s", kind_names[ci->kind], ci->id);
    e->id = e->label + strlen(kind_names[ci->kind]) + 1;
    for (; e->nnames < ci->names.n; e->nnames++)
        if (!(e->names[e->nnames] = strdup(ci->names.v[e->nnames]))) return -1;
    return 0;
}

gw_ids_t *gw_ids_build(const cfg_t *c, char *err, size_t errlen)
{
    gw_ids_t *ids = calloc(1, sizeof *ids);
    if (ids && c->nidentities && !(ids->v = calloc(c->nidentities, sizeof *ids->v))) {
        free(ids);
        ids = NULL;
    }
    if (!ids) return snprintf(err, errlen, "out of memory"), NULL;
    for (size_t i = 0; i < c->nidentities; i++) {
        const cfg_identity_t *ci = &c->identities[i];
        gw_id_t *e = &ids->v[ids->n++];
        char why[700];
        if (entry_init(e, ci)) {
            snprintf(err, errlen, "out of memory");
        } else if (ci->kind == CFG_ID_PSK && read_key(ci, e, why, sizeof why)) {
            snprintf(err, errlen, "dtls.identities[%zu] (%s): %s", i, e->label, why);
        } else {
            continue;
        }
        gw_ids_free(ids);
        return NULL;
    }
    return ids;
}

size_t gw_ids_count(const gw_ids_t *ids)
{
    return ids ? ids->n : 0;
}

static const gw_id_t *find(const gw_ids_t *ids, int kind, const char *id)
{
    for (size_t i = 0; ids && id && i < ids->n; i++)
        if (ids->v[i].kind == kind && !strcmp(ids->v[i].id, id)) return &ids->v[i];
    return NULL;
}

const gw_id_t *gw_ids_find(const gw_ids_t *ids, const coap_identity_t *id)
{
    return id ? find(ids, (int)id->kind, id->name) : NULL;
}

const gw_id_t *gw_ids_by_label(const gw_ids_t *ids, const char *label)
{
    for (size_t i = 0; ids && label && i < ids->n; i++)
        if (!strcmp(ids->v[i].label, label)) return &ids->v[i];
    return NULL;
}

int gw_ids_psk_key(const gw_ids_t *ids, const char *identity, uint8_t *key, size_t cap)
{
    const gw_id_t *e = find(ids, CFG_ID_PSK, identity);
    if (!e || e->key_len > cap) return -1;
    memcpy(key, e->key, e->key_len);
    return (int)e->key_len;
}

int gw_ids_name_match(const char *pattern, const char *name)
{
    size_t l = strlen(pattern);
    if (l && pattern[l - 1] == '*') return !strncasecmp(pattern, name, l - 1);
    return !strcasecmp(pattern, name);
}

int gw_id_may_register(const gw_id_t *e, const char *name)
{
    for (size_t i = 0; e && i < e->nnames; i++)
        if (gw_ids_name_match(e->names[i], name)) return 1;
    return 0;
}

int gw_ids_reserved(const gw_ids_t *ids, const char *name)
{
    for (size_t i = 0; ids && i < ids->n; i++)
        if (gw_id_may_register(&ids->v[i], name)) return 1;
    return 0;
}

int gw_id_may_proxy(const gw_id_t *e, uint8_t method)
{
    if (!e || e->proxy == CFG_PROXY_NONE) return 0;
    return e->proxy == CFG_PROXY_READ_WRITE || method == COAP_GET || method == COAP_FETCH;
}
