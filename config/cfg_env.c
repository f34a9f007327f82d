/*
 * cfg_env.c - keys set from text: environment variables (COAPGW_...) and
 * command-line flags. The same validators as the JSON file; messages name
 * the variable or the flag instead of a file position.
 */
#include "cfg_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ITEM_MAX 2048 /* one list item: a URI, a pattern, a token */

static int oom(cfg_ctx_t *x)
{
    return cfg_fail(x, NULL, "out of memory");
}

static int set_uint(cfg_ctx_t *x, const cfg_key_t *k, const char *v, cfg_t *c)
{
    /* plain decimal digits: strtoul would also take " 8", "+8" and "-0" */
    size_t digits = strspn(v, "0123456789");
    unsigned long long n = digits && digits <= 10 && !v[digits] ? strtoull(v, NULL, 10) : ~0ull;
    if (n < (unsigned long long)k->min || n > (unsigned long long)k->max)
        return cfg_fail(x, NULL, "bad value \"%.32s\" (expected an integer from %lld to %lld)", v,
                        k->min, k->max);
    *(uint32_t *)((char *)c + k->off) = (uint32_t)n;
    return 0;
}

static int set_bool(cfg_ctx_t *x, const cfg_key_t *k, const char *v, cfg_t *c)
{
    int b = !strcmp(v, "true") || !strcmp(v, "1")    ? 1
            : !strcmp(v, "false") || !strcmp(v, "0") ? 0
                                                     : -1;
    if (b < 0) return cfg_fail(x, NULL, "bad value \"%.32s\" (expected true or false)", v);
    *(int *)((char *)c + k->off) = b;
    return 0;
}

static int set_enum(cfg_ctx_t *x, const cfg_key_t *k, const char *v, cfg_t *c)
{
    int level = k->kind == CFG_K_LEVEL;
    int e = level ? cfg_parse_log_level(v) : cfg_parse_log_format(v);
    if (e < 0)
        return cfg_fail(x, NULL, "bad value \"%.32s\" (expected %s)", v,
                        level ? "debug, info, warn or error" : "text or json");
    *(int *)((char *)c + k->off) = e;
    return 0;
}

/* One list item, spaces around it trimmed, into buf (item n, from 1). */
typedef int (*item_fn)(cfg_ctx_t *x, size_t n, char *item, cfg_t *c);

static int each_item(cfg_ctx_t *x, const char *v, item_fn fn, cfg_t *c)
{
    size_t n = 0;
    while (*v) {
        size_t l = strcspn(v, ",");
        const char *s = v, *e = v + l;
        v = *e ? e + 1 : e;
        while (s < e && (*s == ' ' || *s == '\t')) s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
        if (s == e) continue; /* "a,,b" and a trailing comma: nothing there */
        char item[ITEM_MAX];
        if ((size_t)(e - s) >= sizeof item)
            return cfg_fail(x, NULL, "item %zu: longer than %d bytes", n + 1, ITEM_MAX - 1);
        memcpy(item, s, (size_t)(e - s));
        item[e - s] = '\0';
        if (fn(x, ++n, item, c)) return -1;
    }
    return 0;
}

/* One item of a CFG_K_LIST key: x->key says which. */
static int add_list_item(cfg_ctx_t *x, size_t n, char *item, cfg_t *c)
{
    char why[400];
    if (x->key->check(item, why, sizeof why)) return cfg_fail(x, NULL, "item %zu: %s", n, why);
    return cfg_list_add((cfg_list_t *)((char *)c + x->key->off), item) ? oom(x) : 0;
}

/* NAME=coap://HOST[:PORT][/PATH] */
static int add_device(cfg_ctx_t *x, size_t n, char *item, cfg_t *c)
{
    char why[400];
    char *eq = strchr(item, '=');
    if (!eq) return cfg_fail(x, NULL, "item %zu: no '=' (expected NAME=coap://HOST[:PORT])", n);
    *eq = '\0';
    if (cfg_check_device_name(item, why, sizeof why) ||
        cfg_check_device_uri(eq + 1, why, sizeof why))
        return cfg_fail(x, NULL, "item %zu (%.64s): %s", n, item, why);
    /* A name twice in one value is a mistake, not an override (a flag may
     * still replace a device of the file or the environment). */
    for (size_t i = x->first_device; i < c->ndevices; i++)
        if (!strcmp(c->devices[i].name, item))
            return cfg_fail(x, NULL, "item %zu: a second device named \"%.64s\"", n, item);
    return cfg_device_put(c, item, eq + 1) ? oom(x) : 0;
}

/* TOKEN[:read|read-write[:NAME]]; a token never holds ':' (RFC 6750 §2.1). */
static int add_token(cfg_ctx_t *x, size_t n, char *item, cfg_t *c)
{
    char why[400];
    char *scope = strchr(item, ':'), *name = NULL;
    if (scope) {
        *scope++ = '\0';
        if ((name = strchr(scope, ':'))) *name++ = '\0';
    }
    int write = scope ? cfg_parse_scope(scope) : 0;
    if (cfg_check_token(item, why, sizeof why)) return cfg_fail(x, NULL, "item %zu: %s", n, why);
    if (write < 0)
        return cfg_fail(x, NULL, "item %zu: bad scope \"%.32s\" (expected read or read-write)", n,
                        scope);
    if (name && cfg_check_token_name(name, why, sizeof why))
        return cfg_fail(x, NULL, "item %zu: %s", n, why);
    if (cfg_token_add(c, item, write, name)) return oom(x);
    long dup = cfg_token_duplicate(c, c->ntokens - 1);
    if (dup >= 0) return cfg_fail(x, NULL, "item %zu: the same token as an earlier one", n);
    return 0;
}

static int set_list(cfg_ctx_t *x, const cfg_key_t *k, const char *v, int mode, cfg_t *c)
{
    switch (k->kind) {
    case CFG_K_LIST:
        if (mode == CFG_REPLACE) cfg_list_free((cfg_list_t *)((char *)c + k->off));
        x->key = k;
        return each_item(x, v, add_list_item, c);
    case CFG_K_DEVICES:
        if (mode == CFG_REPLACE) {
            cfg_free_devices(c->devices, c->ndevices);
            c->devices = NULL;
            c->ndevices = 0;
        }
        x->first_device = c->ndevices;
        return each_item(x, v, add_device, c);
    case CFG_K_IDENTITIES: /* JSON, as in the file: a DN holds commas */
        return cfg_ids_set_text(x, v, mode, c);
    default:
        if (mode == CFG_REPLACE) {
            cfg_free_tokens(c->tokens, c->ntokens);
            c->tokens = NULL;
            c->ntokens = 0;
        }
        return each_item(x, v, add_token, c);
    }
}

static int set_key(cfg_ctx_t *x, const cfg_key_t *k, const char *v, int mode, cfg_t *c)
{
    char why[400];
    switch (k->kind) {
    case CFG_K_STRING:
        if (k->check(v, why, sizeof why)) return cfg_fail(x, NULL, "%s", why);
        return cfg_set_string((char **)((char *)c + k->off), v) ? oom(x) : 0;
    case CFG_K_UINT:
        return set_uint(x, k, v, c);
    case CFG_K_BOOL:
        return set_bool(x, k, v, c);
    case CFG_K_LEVEL:
    case CFG_K_FORMAT:
        return set_enum(x, k, v, c);
    case CFG_K_CREDS:
        return cfg_creds_set_text(x, v, c);
    case CFG_K_GROUPS:
        return cfg_groups_set_text(x, v, c);
    default:
        return set_list(x, k, v, mode, c);
    }
}

int cfg_set(cfg_t *c, const char *key, const char *value, int mode, const char *label, char *err,
            size_t errlen)
{
    cfg_ctx_t x = {label ? label : key, NULL, 0, err, errlen, 0, NULL};
    if (err && errlen) err[0] = '\0';
    const cfg_key_t *k = cfg_key_find(key && !strcmp(key, "log_level") ? "log.level" : key);
    if (!k) return cfg_fail(&x, NULL, "unknown key \"%.64s\"", key ? key : "");
    if (!value) return cfg_fail(&x, NULL, "no value");
    cfg_t tmp;
    if (cfg_copy(&tmp, c)) {
        cfg_free(&tmp);
        return oom(&x);
    }
    if (set_key(&x, k, value, mode, &tmp)) {
        cfg_free(&tmp);
        return -1;
    }
    cfg_free(c);
    *c = tmp;
    return 0;
}

int cfg_apply_env(cfg_t *c, cfg_getenv_fn get, void *arg, char *err, size_t errlen)
{
    char name[64];
    cfg_t tmp;
    if (err && errlen) err[0] = '\0';
    if (cfg_copy(&tmp, c)) {
        cfg_free(&tmp);
        cfg_ctx_t x = {"environment", NULL, 0, err, errlen, 0, NULL};
        return oom(&x);
    }
    for (size_t i = 0; i < cfg_nkeys; i++) {
        const char *v = get(cfg_env_name(cfg_keys[i].key, name, sizeof name), arg);
        cfg_ctx_t x = {name, NULL, 0, err, errlen, 0, NULL};
        if (v && set_key(&x, &cfg_keys[i], v, CFG_REPLACE, &tmp)) {
            cfg_free(&tmp);
            return -1;
        }
    }
    cfg_free(c);
    *c = tmp;
    return 0;
}
