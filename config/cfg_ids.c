/*
 * cfg_ids.c - dtls.identities: the identities the DTLS listener knows
 * (a PSK identity with its key, a certificate's subject DN, a raw public
 * key's SHA-256) and what each may do: the Resource Directory names it
 * may register, and its scope on the forward proxy. Read from the JSON
 * file, or from the same JSON as text (COAPGW_DTLS_IDENTITIES, --set): a
 * DN holds commas, so the comma-separated text form of other lists would
 * not do.
 */
#include "cfg_int.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDS_MAX       10000 /* a listener's identities, not a user database */
#define NAMES_MAX     1000
#define PSK_ID_MAX    255 /* RFC 4279 §5.3: 2^16-1, but GnuTLS and devices use short ones */
#define DN_MAX        1024
#define NAME_MAX_LEN  63 /* gw_device_name_ok */
#define ENV_NAME_MAX  63
#define FINGERPRINT_N 64

static const char *const id_kinds[] = {NULL, "psk", "x509", "rpk"};

static void fields_free(cfg_identity_t *e)
{
    free(e->id);
    free(e->key_file);
    free(e->key_env);
    cfg_list_free(&e->names);
}

void cfg_ids_free(cfg_identity_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) fields_free(&ids[i]);
    free(ids);
}

/* Appends a copy of `in` to the list (c->identities). */
static int ids_add(cfg_t *c, const cfg_identity_t *in)
{
    cfg_identity_t e = {.kind = in->kind, .proxy = in->proxy};
    int bad = !(e.id = strdup(in->id));
    if (in->key_file && !(e.key_file = strdup(in->key_file))) bad = 1;
    if (in->key_env && !(e.key_env = strdup(in->key_env))) bad = 1;
    for (size_t i = 0; !bad && i < in->names.n; i++) bad = cfg_list_add(&e.names, in->names.v[i]);
    cfg_identity_t *v = bad ? NULL : realloc(c->identities, (c->nidentities + 1) * sizeof *v);
    if (!v) {
        fields_free(&e);
        return -1;
    }
    v[c->nidentities++] = e;
    c->identities = v;
    return 0;
}

int cfg_ids_copy(cfg_t *dst, const cfg_t *src)
{
    for (size_t i = 0; i < src->nidentities; i++)
        if (ids_add(dst, &src->identities[i])) return -1;
    return 0;
}

int cfg_set_identities(cfg_t *dst, const cfg_t *src)
{
    cfg_t tmp = {0};
    if (cfg_ids_copy(&tmp, src)) {
        cfg_ids_free(tmp.identities, tmp.nidentities);
        return -1;
    }
    cfg_ids_free(dst->identities, dst->nidentities);
    dst->identities = tmp.identities;
    dst->nidentities = tmp.nidentities;
    return 0;
}

/* --- validators --- */

static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7F) return 0;
    return 1;
}

/* An RD endpoint name, or a prefix of one followed by '*' ("sensor-*";
 * "*" alone: any name). */
static int name_pattern_ok(const char *s)
{
    size_t l = strlen(s), star = l && s[l - 1] == '*';
    if (l - star > NAME_MAX_LEN || (!star && (l == 0 || strspn(s, ".") == l))) return 0;
    for (size_t i = 0; i + star < l; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i])) return 0;
    return 1;
}

/* COAPGW_[A-Z0-9_]+, and not the variable of a configuration key. */
static int env_name_ok(const char *s, char *why, size_t cap)
{
    char var[80];
    size_t l = strlen(s);
    if (l <= 7 || l > ENV_NAME_MAX || strncmp(s, "COAPGW_", 7) ||
        strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != l)
        return snprintf(why, cap, "bad variable name (expected COAPGW_[A-Z0-9_]+)"), -1;
    for (size_t i = 0; i < cfg_nkeys; i++)
        if (!strcmp(cfg_env_name(cfg_keys[i].key, var, sizeof var), s))
            return snprintf(why, cap, "%s is the variable of %s", s, cfg_keys[i].key), -1;
    return 0;
}

/* 64 hex digits, colons allowed, into lower case without colons. */
static int fingerprint_norm(const char *s, char out[FINGERPRINT_N + 1])
{
    size_t n = 0;
    for (; *s; s++) {
        if (*s == ':') continue;
        if (!isxdigit((unsigned char)*s) || n == FINGERPRINT_N) return -1;
        out[n++] = (char)tolower((unsigned char)*s);
    }
    out[n] = '\0';
    return n == FINGERPRINT_N ? 0 : -1;
}

/* --- one identity --- */

static cfg_path_t sub_key(const cfg_path_t *p, const char *key)
{
    cfg_path_t q = *p;
    cfg_path_key(&q, key);
    return q;
}

static int get_str(cfg_ctx_t *x, json_t *o, const cfg_path_t *p, const char *key, const char **out)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v) return 0;
    cfg_path_t q = sub_key(p, key);
    if (!json_is_string(v)) return cfg_fail(x, &q, "expected a string");
    *out = json_string_value(v);
    return 0;
}

/* Which of psk, x509, rpk the object has (exactly one), and its value. */
static int id_of(cfg_ctx_t *x, json_t *o, const cfg_path_t *p, cfg_identity_t *e)
{
    const char *v;
    for (int k = CFG_ID_PSK; k <= CFG_ID_RPK; k++) {
        if (get_str(x, o, p, id_kinds[k], &v)) return -1;
        if (!v) continue;
        if (e->kind) return cfg_fail(x, p, "expected exactly one of psk, x509, rpk");
        e->kind = k;
        e->id = (char *)(uintptr_t)v;
    }
    if (!e->kind) return cfg_fail(x, p, "no identity (expected one of psk, x509, rpk)");
    cfg_path_t q = sub_key(p, id_kinds[e->kind]);
    size_t l = strlen(e->id), max = e->kind == CFG_ID_PSK ? PSK_ID_MAX : DN_MAX;
    if (e->kind == CFG_ID_RPK) return 0; /* normalized by the caller */
    if (!l || l > max || !printable(e->id))
        return cfg_fail(x, &q, "expected 1-%zu printable characters", max);
    if (e->kind == CFG_ID_X509 && !strchr(e->id, '='))
        return cfg_fail(x, &q, "expected a subject DN such as \"CN=device-1\" (RFC 4514)");
    return 0;
}

/* key_file or key_env: a PSK identity's key, one of them; others take none. */
static int key_of(cfg_ctx_t *x, json_t *o, const cfg_path_t *p, cfg_identity_t *e)
{
    const char *file, *env;
    char why[200];
    if (get_str(x, o, p, "key_file", &file) || get_str(x, o, p, "key_env", &env)) return -1;
    cfg_path_t qf = sub_key(p, "key_file"), qe = sub_key(p, "key_env");
    if (e->kind != CFG_ID_PSK && (file || env))
        return cfg_fail(x, file ? &qf : &qe, "only a psk identity has a key");
    if (e->kind != CFG_ID_PSK) return 0;
    if (!!file == !!env)
        return cfg_fail(x, p, "a psk identity needs its key: key_file or key_env (one of them)");
    if (file && (!*file || cfg_check_file(file, why, sizeof why)))
        return cfg_fail(x, &qf, "%s", *file ? why : "expected a file name");
    if (env && env_name_ok(env, why, sizeof why)) return cfg_fail(x, &qe, "%s", why);
    e->key_file = (char *)(uintptr_t)file;
    e->key_env = (char *)(uintptr_t)env;
    return 0;
}

static int names_of(cfg_ctx_t *x, json_t *o, const cfg_path_t *p, cfg_identity_t *e)
{
    json_t *a = json_object_get(o, "names");
    cfg_path_t q = sub_key(p, "names");
    if (!a) return 0;
    if (!json_is_array(a) || json_array_size(a) > NAMES_MAX)
        return cfg_fail(x, &q, "expected an array of at most %d names", NAMES_MAX);
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        cfg_path_t qi = q;
        cfg_path_index(&qi, i);
        if (!json_is_string(v) || !name_pattern_ok(json_string_value(v)))
            return cfg_fail(x, &qi,
                            "expected an endpoint name [A-Za-z0-9_.-]{1,63}, or a prefix of one "
                            "and * (\"sensor-*\")");
        if (cfg_list_add(&e->names, json_string_value(v)))
            return cfg_fail(x, NULL, "out of memory");
    }
    return 0;
}

static int proxy_of(cfg_ctx_t *x, json_t *o, const cfg_path_t *p, cfg_identity_t *e)
{
    const char *s;
    if (get_str(x, o, p, "proxy", &s)) return -1;
    int scope = s ? cfg_parse_scope(s) : -2;
    e->proxy = scope == 0 ? CFG_PROXY_READ : scope == 1 ? CFG_PROXY_READ_WRITE : CFG_PROXY_NONE;
    if (scope == -1 && strcmp(s, "none")) {
        cfg_path_t q = sub_key(p, "proxy");
        return cfg_fail(x, &q,
                        "bad scope \"%.32s\" (expected \"read\", \"read-write\" or \"none\")", s);
    }
    return 0;
}

static int load_one(cfg_ctx_t *x, json_t *o, const cfg_path_t *p, cfg_t *into)
{
    static const char *const known[] = {"psk",     "x509",  "rpk",   "key_file",
                                        "key_env", "names", "proxy", NULL};
    if (!json_is_object(o))
        return cfg_fail(x, p,
                        "expected an object {\"psk\"|\"x509\"|\"rpk\": ..., \"names\": [...]}");
    for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it)) {
        const char *key = json_object_iter_key(it);
        size_t k = 0;
        while (known[k] && strcmp(known[k], key)) k++;
        cfg_path_t q = sub_key(p, key);
        if (!known[k])
            return cfg_fail(x, &q,
                            "unknown key (expected psk, x509, rpk, key_file, key_env, "
                            "names, proxy)");
    }
    cfg_identity_t e = {0};
    char fp[FINGERPRINT_N + 1];
    int rc =
        id_of(x, o, p, &e) || key_of(x, o, p, &e) || names_of(x, o, p, &e) || proxy_of(x, o, p, &e);
    if (!rc && e.kind == CFG_ID_RPK) {
        cfg_path_t q = sub_key(p, "rpk");
        if (fingerprint_norm(e.id, fp))
            rc = cfg_fail(x, &q, "expected the key's SHA-256: 64 hex digits, colons allowed");
        e.id = fp;
    }
    for (size_t i = 0; !rc && i < into->nidentities; i++)
        if (into->identities[i].kind == e.kind && !strcmp(into->identities[i].id, e.id))
            rc = cfg_fail(x, p, "%s \"%.64s\" is listed twice", id_kinds[e.kind], e.id);
    if (!rc && ids_add(into, &e)) rc = cfg_fail(x, NULL, "out of memory");
    cfg_list_free(&e.names); /* the rest points into the document */
    return rc ? -1 : 0;
}

/* Loads the array's identities after those already in `into`. */
static int load_all(cfg_ctx_t *x, json_t *v, const cfg_path_t *p, cfg_t *into)
{
    if (!json_is_array(v))
        return cfg_fail(x, p, "expected an array of identities [{\"psk\": ...}, ...]");
    if (json_array_size(v) + into->nidentities > IDS_MAX)
        return cfg_fail(x, p, "more than %d identities", IDS_MAX);
    for (size_t i = 0; i < json_array_size(v); i++) {
        cfg_path_t q = *p;
        cfg_path_index(&q, i);
        if (load_one(x, json_array_get(v, i), &q, into)) return -1;
    }
    return 0;
}

/* The list in c becomes tmp's (all or nothing). */
static int take(cfg_t *c, cfg_t *tmp, int rc)
{
    if (rc) {
        cfg_ids_free(tmp->identities, tmp->nidentities);
        return -1;
    }
    cfg_ids_free(c->identities, c->nidentities);
    c->identities = tmp->identities;
    c->nidentities = tmp->nidentities;
    return 0;
}

int cfg_ids_load_json(cfg_ctx_t *x, json_t *v, const cfg_path_t *p, cfg_t *c)
{
    cfg_t tmp = {0};
    return take(c, &tmp, load_all(x, v, p, &tmp));
}

int cfg_ids_set_text(cfg_ctx_t *x, const char *text, int mode, cfg_t *c)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!v)
        return cfg_fail(x, NULL,
                        "not JSON at character %d (expected the array of the file, "
                        "[{\"psk\": ..., \"key_env\": ..., \"names\": [...]}])",
                        je.position);
    cfg_t tmp = {0};
    int rc = mode == CFG_APPEND ? cfg_ids_copy(&tmp, c) : 0;
    cfg_path_t top = {0};
    rc = rc ? cfg_fail(x, NULL, "out of memory") : load_all(x, v, &top, &tmp);
    json_decref(v);
    return take(c, &tmp, rc);
}
