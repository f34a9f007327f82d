/*
 * cfg_json.c - loading the JSON configuration file (jansson) over a cfg_t.
 *
 * Loading is all-or-nothing: the document is applied to a deep copy of the
 * caller's struct, and the copy replaces the original only once every key
 * has validated. A bad file therefore leaves the configuration exactly as
 * it was, which is what SIGHUP reload relies on.
 */
#include "cfg_int.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_MAX (16u * 1024 * 1024) /* a configuration, not a database */

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a real number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "an unknown value";
}

static cfg_path_t path_plus_key(const cfg_path_t *p, const char *key)
{
    cfg_path_t q = *p;
    cfg_path_key(&q, key);
    return q;
}

static cfg_path_t path_plus_index(const cfg_path_t *p, size_t i)
{
    cfg_path_t q = *p;
    cfg_path_index(&q, i);
    return q;
}

static int oom(cfg_ctx_t *x)
{
    return cfg_fail(x, NULL, "out of memory");
}

static int get_string(cfg_ctx_t *x, json_t *v, const cfg_path_t *p, const char *what,
                      const char **out)
{
    if (!json_is_string(v)) return cfg_fail(x, p, "got %s (expected %s)", type_name(v), what);
    *out = json_string_value(v);
    return 0;
}

/* A string checked by one of the cfg_check_* validators. */
static int get_checked(cfg_ctx_t *x, json_t *v, const cfg_path_t *p, cfg_check_fn check,
                       const char **out)
{
    char why[400];
    if (get_string(x, v, p, "a string", out)) return -1;
    return check(*out, why, sizeof why) ? cfg_fail(x, p, "%s", why) : 0;
}

static int load_uint(cfg_ctx_t *x, json_t *v, const cfg_path_t *p, const cfg_key_t *k, cfg_t *c)
{
    /* 10.0 is a real in JSON and refused: a timeout of 1.5 ms would
     * otherwise be silently truncated */
    if (!json_is_integer(v))
        return cfg_fail(x, p, "got %s (expected an integer from %lld to %lld)", type_name(v),
                        k->min, k->max);
    long long n = (long long)json_integer_value(v);
    if (n < k->min || n > k->max)
        return cfg_fail(x, p, "%lld is out of range (expected an integer from %lld to %lld)", n,
                        k->min, k->max);
    *(uint32_t *)((char *)c + k->off) = (uint32_t)n;
    return 0;
}

static int load_enum(cfg_ctx_t *x, json_t *v, const cfg_path_t *p, const cfg_key_t *k, cfg_t *c)
{
    const char *s = NULL;
    int level = k->kind == CFG_K_LEVEL;
    const char *what =
        level ? "\"debug\", \"info\", \"warn\" or \"error\"" : "\"text\" or \"json\"";
    if (get_string(x, v, p, what, &s)) return -1;
    int e = level ? cfg_parse_log_level(s) : cfg_parse_log_format(s);
    if (e < 0) return cfg_fail(x, p, "bad value \"%.64s\" (expected %s)", s, what);
    *(int *)((char *)c + k->off) = e;
    return 0;
}

/* The file's list replaces the current one; command-line entries are
 * appended after loading. */
static int load_list(cfg_ctx_t *x, json_t *v, const cfg_path_t *p, const cfg_key_t *k, cfg_t *c)
{
    cfg_list_t *list = (cfg_list_t *)((char *)c + k->off);
    if (!json_is_array(v))
        return cfg_fail(x, p, "got %s (expected an array of strings)", type_name(v));
    cfg_list_t tmp = {0};
    for (size_t i = 0; i < json_array_size(v); i++) {
        cfg_path_t q = path_plus_index(p, i);
        const char *s = NULL;
        if (get_checked(x, json_array_get(v, i), &q, k->check, &s) ||
            (cfg_list_add(&tmp, s) && oom(x))) {
            cfg_list_free(&tmp);
            return -1;
        }
    }
    cfg_list_free(list);
    *list = tmp;
    return 0;
}

/* The file's "devices" replace the current list (the "demo" default
 * included): otherwise a default device could never be removed. */
static int load_devices(cfg_ctx_t *x, json_t *obj, const cfg_path_t *p, cfg_t *c)
{
    if (!json_is_object(obj))
        return cfg_fail(x, p, "got %s (expected an object of NAME: \"coap://HOST[:PORT]\")",
                        type_name(obj));
    cfg_t tmp = {0};
    /* jansson iterates in document order, so devices keep the file's order */
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const char *name = json_object_iter_key(it), *uri = NULL;
        cfg_path_t q = path_plus_key(p, name);
        char why[400];
        if ((cfg_check_device_name(name, why, sizeof why) && cfg_fail(x, &q, "%s", why)) ||
            get_checked(x, json_object_iter_value(it), &q, cfg_check_device_uri, &uri) ||
            (cfg_device_put(&tmp, name, uri) && oom(x))) {
            cfg_free_devices(tmp.devices, tmp.ndevices);
            return -1;
        }
    }
    cfg_free_devices(c->devices, c->ndevices);
    c->devices = tmp.devices;
    c->ndevices = tmp.ndevices;
    return 0;
}

/* One {"token": S, "scope": "read"|"read-write", "name": S}. */
static int load_token(cfg_ctx_t *x, json_t *v, const cfg_path_t *p, cfg_t *tmp)
{
    static const char *const known[] = {"token", "scope", "name", NULL};
    if (!json_is_object(v))
        return cfg_fail(x, p, "got %s (expected an object {\"token\": ..., \"scope\": ...})",
                        type_name(v));
    for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
        const char *key = json_object_iter_key(it);
        int ok = 0;
        for (size_t i = 0; known[i] && !ok; i++) ok = !strcmp(key, known[i]);
        cfg_path_t q = path_plus_key(p, key);
        if (!ok) return cfg_fail(x, &q, "unknown key (expected token, scope, name)");
    }
    cfg_path_t pt = path_plus_key(p, "token"), ps = path_plus_key(p, "scope"),
               pn = path_plus_key(p, "name");
    json_t *jt = json_object_get(v, "token"), *js = json_object_get(v, "scope"),
           *jn = json_object_get(v, "name");
    const char *token = NULL, *scope = "read", *name = NULL;
    if (!jt) return cfg_fail(x, p, "no \"token\" (expected {\"token\": S, \"scope\": S})");
    if (get_checked(x, jt, &pt, cfg_check_token, &token)) return -1;
    if (js && get_string(x, js, &ps, "\"read\" or \"read-write\"", &scope)) return -1;
    int write = cfg_parse_scope(scope);
    if (write < 0)
        return cfg_fail(x, &ps, "bad scope \"%.32s\" (expected \"read\" or \"read-write\")", scope);
    if (jn && get_checked(x, jn, &pn, cfg_check_token_name, &name)) return -1;
    if (cfg_token_add(tmp, token, write, name)) return oom(x);
    long dup = cfg_token_duplicate(tmp, tmp->ntokens - 1);
    if (dup >= 0)
        return cfg_fail(x, &pt, "the same token as tokens[%ld] (expected unique tokens)", dup);
    return 0;
}

static int load_tokens(cfg_ctx_t *x, json_t *v, const cfg_path_t *p, cfg_t *c)
{
    if (!json_is_array(v))
        return cfg_fail(x, p, "got %s (expected an array of {\"token\": S, \"scope\": S})",
                        type_name(v));
    cfg_t tmp = {0};
    for (size_t i = 0; i < json_array_size(v); i++) {
        cfg_path_t q = path_plus_index(p, i);
        if (load_token(x, json_array_get(v, i), &q, &tmp)) {
            cfg_free_tokens(tmp.tokens, tmp.ntokens);
            return -1;
        }
    }
    cfg_free_tokens(c->tokens, c->ntokens);
    c->tokens = tmp.tokens;
    c->ntokens = tmp.ntokens;
    return 0;
}

static int load_key(cfg_ctx_t *x, const cfg_key_t *k, json_t *v, const cfg_path_t *p, cfg_t *c)
{
    const char *s = NULL;
    switch (k->kind) {
    case CFG_K_STRING:
        if (get_checked(x, v, p, k->check, &s)) return -1;
        return cfg_set_string((char **)((char *)c + k->off), s) ? oom(x) : 0;
    case CFG_K_UINT:
        return load_uint(x, v, p, k, c);
    case CFG_K_BOOL:
        if (!json_is_boolean(v))
            return cfg_fail(x, p, "got %s (expected true or false)", type_name(v));
        *(int *)((char *)c + k->off) = json_is_true(v);
        return 0;
    case CFG_K_LEVEL:
    case CFG_K_FORMAT:
        return load_enum(x, v, p, k, c);
    case CFG_K_LIST:
        return load_list(x, v, p, k, c);
    case CFG_K_DEVICES:
        return load_devices(x, v, p, c);
    case CFG_K_TOKENS:
        return load_tokens(x, v, p, c);
    case CFG_K_CREDS:
        return cfg_creds_load(x, v, p, c);
    case CFG_K_GROUPS:
        return cfg_groups_load(x, v, p, c);
    case CFG_K_IDENTITIES:
        return cfg_ids_load_json(x, v, p, c);
    }
    return -1;
}

/* The keys of a section ("proxy"), for the "unknown key" message; an
 * empty section name lists the top-level names. */
static void known_keys(const char *section, char *buf, size_t cap)
{
    size_t used = 0, sl = strlen(section);
    buf[0] = '\0';
    for (size_t i = 0; i < cfg_nkeys && used < cap; i++) {
        const char *k = cfg_keys[i].key, *dot = strchr(k, '.');
        int n;
        if (sl) {
            if (strncmp(k, section, sl) || k[sl] != '.') continue;
            n = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", k + sl + 1);
        } else {
            size_t l = dot ? (size_t)(dot - k) : strlen(k);
            if (i > 0 && !strncmp(cfg_keys[i - 1].key, k, l) && cfg_keys[i - 1].key[l] == '.')
                continue; /* the section was listed already */
            n = snprintf(buf + used, cap - used, "%s%.*s", used ? ", " : "", (int)l, k);
        }
        if (n > 0) used += (size_t)n;
    }
}

static int is_section(const char *name)
{
    size_t l = strlen(name);
    for (size_t i = 0; i < cfg_nkeys; i++)
        if (!strncmp(cfg_keys[i].key, name, l) && cfg_keys[i].key[l] == '.') return 1;
    return 0;
}

static int load_section(cfg_ctx_t *x, const char *name, json_t *obj, cfg_t *c)
{
    cfg_path_t p = {0};
    char full[128], list[256];
    cfg_path_key(&p, name);
    if (!json_is_object(obj)) return cfg_fail(x, &p, "got %s (expected an object)", type_name(obj));
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const char *key = json_object_iter_key(it);
        cfg_path_t q = path_plus_key(&p, key);
        snprintf(full, sizeof full, "%s.%s", name, key);
        const cfg_key_t *k = cfg_key_find(full);
        if (!k) {
            known_keys(name, list, sizeof list);
            return cfg_fail(x, &q, "unknown key (expected one of %s)", list);
        }
        if (load_key(x, k, json_object_iter_value(it), &q, c)) return -1;
    }
    return 0;
}

static int apply(cfg_ctx_t *x, json_t *root, cfg_t *c)
{
    cfg_path_t top = {0};
    char list[256];
    if (!json_is_object(root))
        return cfg_fail(x, &top, "got %s (expected a JSON object at the top level)",
                        type_name(root));
    json_t *log = json_object_get(root, "log");
    if (json_object_get(root, "log_level") && json_is_object(log) && json_object_get(log, "level"))
        return cfg_fail(x, &(cfg_path_t){{"log_level"}, {0}, 1},
                        "set twice (log_level is the old name of log.level: keep one)");
    for (void *it = json_object_iter(root); it; it = json_object_iter_next(root, it)) {
        const char *key = json_object_iter_key(it);
        json_t *v = json_object_iter_value(it);
        cfg_path_t p = path_plus_key(&top, key);
        /* only whole keys at the top ("devices"), not "proxy.timeout_ms" */
        const cfg_key_t *k = !strcmp(key, "log_level") ? cfg_key_find("log.level")
                             : strchr(key, '.')        ? NULL
                                                       : cfg_key_find(key);
        if (k) {
            if (load_key(x, k, v, &p, c)) return -1;
        } else if (is_section(key)) {
            if (load_section(x, key, v, c)) return -1;
        } else {
            known_keys("", list, sizeof list);
            return cfg_fail(x, &p, "unknown key (expected one of %s)", list);
        }
    }
    return 0;
}

/* jansson ends its messages with the text at the error ("invalid escape
 * near '"Sup3rSecretValue\\q'"), which may be a token: the position says
 * where, and messages never repeat a token (docs/configuration.md). */
static void cut_near(char *text)
{
    char *near = strstr(text, " near ");
    if (near) *near = '\0';
}

int cfg_set_json_text(cfg_ctx_t *x, const char *text, const char *expected, cfg_json_load_fn load,
                      cfg_t *c)
{
    json_error_t je;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!root) { /* where, not jansson's "near '...'" text */
        cut_near(je.text);
        return cfg_fail(x, NULL, "not JSON: %s at column %d (expected %s)", je.text, je.column,
                        expected);
    }
    cfg_path_t top = {0};
    int rc = load(x, root, &top, c);
    json_decref(root);
    return rc;
}

static int load_text(cfg_t *c, cfg_ctx_t *x)
{
    json_error_t je;
    /* The top level must be an object or array (no JSON_DECODE_ANY), a key
     * may appear once (JSON_REJECT_DUPLICATES: a repeated device is an
     * error), trailing garbage is an error, and \u0000 in strings is refused */
    json_t *root = json_loadb(x->text, x->len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        /* jansson counts lines and columns from 1, but says column 0 before
         * the first character of a line (an empty file); "line -1" means the
         * error has no position */
        char where[1100];
        cfg_ctx_t plain = *x;
        plain.text = NULL;
        cut_near(je.text);
        if (je.line < 1) return cfg_fail(&plain, NULL, "%s", je.text);
        snprintf(where, sizeof where, "%.1000s:%d:%d", x->name, je.line,
                 je.column < 1 ? 1 : je.column);
        plain.name = where;
        return cfg_fail(&plain, NULL, "syntax error: %s", je.text);
    }
    cfg_t tmp;
    int rc = cfg_copy(&tmp, c) ? oom(x) : apply(x, root, &tmp);
    json_decref(root);
    if (rc) {
        cfg_free(&tmp);
        return -1;
    }
    cfg_free(c);
    *c = tmp;
    return 0;
}

int cfg_load_string(cfg_t *c, const char *json, const char *name, char *err, size_t errlen)
{
    cfg_ctx_t x = {name ? name : "<config>", json, json ? strlen(json) : 0, err, errlen, 0, NULL};
    if (err && errlen) err[0] = '\0';
    if (!json) return cfg_fail(&x, NULL, "no configuration text");
    return load_text(c, &x);
}

/* The whole file, for jansson and then for positions. */
static char *read_all(FILE *f, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || cap >= FILE_MAX) break;
        char *more = realloc(buf, cap * 2);
        if (!more) {
            free(buf);
            return NULL;
        }
        buf = more;
        cap *= 2;
    }
    *len = n;
    return buf;
}

int cfg_load_file(cfg_t *c, const char *path, char *err, size_t errlen)
{
    cfg_ctx_t x = {path ? path : "<config>", NULL, 0, err, errlen, 0, NULL};
    if (err && errlen) err[0] = '\0';
    if (!path) return cfg_fail(&x, NULL, "no configuration file");
    FILE *f = fopen(path, "rb");
    if (!f) return cfg_fail(&x, NULL, "cannot open: %s", strerror(errno));
    size_t len = 0;
    char *text = read_all(f, &len);
    int bad = ferror(f);
    fclose(f);
    if (!text || bad) {
        free(text);
        return cfg_fail(&x, NULL, "cannot read: %s", text ? "I/O error" : "out of memory");
    }
    if (len >= FILE_MAX) {
        free(text);
        return cfg_fail(&x, NULL, "larger than %u bytes", FILE_MAX);
    }
    x.text = text;
    x.len = len;
    int rc = load_text(c, &x);
    free(text);
    return rc;
}
