/*
 * cfg.c - coapgw's JSON configuration (jansson): defaults, loading and
 * validation.
 *
 * Loading is all-or-nothing: the document is applied to a deep copy of the
 * caller's struct, and the copy replaces the original only once every key
 * has validated. A bad file therefore leaves the configuration exactly as it
 * was, and there is never a half-applied state to reason about.
 *
 * Positions: jansson reports line and column for syntax errors only. Its
 * json_t values carry no source position (checked for jansson 2.14: json_t
 * is just a type and a refcount), so semantic errors name the file and the
 * key path ("proxy.timeout_ms") instead of a line.
 */
#include "cfg.h"
#include "coap_addr.h"
#include "coap_msg.h"
#include "coap_uri.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TIMEOUT_MS_MAX    600000LL   /* ten minutes */
#define MAX_BODY_MAX      67108864LL /* 64 MiB */
#define CACHE_ENTRIES_MAX 10000000LL
#define ALLOW_TARGET_MAX  255 /* a host name is at most 253 bytes; CIDRs are shorter */
#define DEVICE_NAME_MAX   63

/* Where messages go and what they call the document. */
typedef struct {
    const char *name;
    char *err;
    size_t errlen;
} ctx_t;

/* Messages end up on one log line: a key or value written with \n or other
 * control characters in the JSON must not break it. */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7F) *s = '?';
}

/* "NAME: PATH: message" (or "NAME: message" without a path); returns -1. */
__attribute__((format(printf, 3, 4))) static int fail(ctx_t *x, const char *path, const char *fmt,
                                                      ...)
{
    if (!x->err || x->errlen == 0) return -1;
    int n = path && *path ? snprintf(x->err, x->errlen, "%s: %s: ", x->name, path)
                          : snprintf(x->err, x->errlen, "%s: ", x->name);
    if (n >= 0 && (size_t)n < x->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    one_line(x->err);
    return -1;
}

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

/* --- small validators, shared with the setters --- */

int cfg_parse_log_level(const char *s)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    if (!s) return -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) return CFG_LOG_DEBUG + i;
    return -1;
}

static int valid_device_name(const char *n)
{
    size_t l = strlen(n);
    if (l == 0 || l > DEVICE_NAME_MAX) return 0;
    for (; *n; n++)
        if (!isalnum((unsigned char)*n) && !strchr("_.-", *n)) return 0;
    return 1;
}

/* "ADDR:PORT" or "[IPv6]:PORT", numeric. coap_addr_parse alone would also
 * take a bare address with a default port, but the HTTP server needs the
 * port spelled out, so both listen keys require it. Port 0 (any free port)
 * is allowed: the tests rely on it. */
static int valid_listen(const char *s)
{
    const char *colon;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') return 0;
        colon = close + 1;
    } else {
        colon = strchr(s, ':');
        if (!colon || strchr(colon + 1, ':')) return 0;
    }
    /* digits only: strtoul in coap_addr_parse would accept " 80" and "+80" */
    size_t digits = strspn(colon + 1, "0123456789");
    if (digits == 0 || digits > 5 || colon[1 + digits]) return 0;
    coap_addr_t a;
    return coap_addr_parse(&a, s, 0) == 0;
}

/* The gateway's ACL parses allowlist entries for real (main reports bad
 * ones); here we only refuse what can never be a pattern, so the error still
 * points into the file for the obvious mistakes. */
static int plausible_allow_target(const char *s)
{
    size_t l = strlen(s);
    if (l == 0 || l > ALLOW_TARGET_MAX) return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7F) return 0;
    return 1;
}

/* --- struct helpers --- */

int cfg_set_string(char **field, const char *value)
{
    if (!field || !value) return -1;
    char *s = strdup(value);
    if (!s) return -1;
    free(*field);
    *field = s;
    return 0;
}

static int list_add(char ***list, size_t *n, const char *item)
{
    if (!item) return -1;
    char *s = strdup(item);
    char **v = s ? realloc(*list, (*n + 1) * sizeof *v) : NULL;
    if (!v) {
        free(s);
        return -1;
    }
    v[(*n)++] = s;
    *list = v;
    return 0;
}

int cfg_add_allow_target(cfg_t *c, const char *pattern)
{
    return c ? list_add(&c->allow_targets, &c->nallow_targets, pattern) : -1;
}

int cfg_add_allow_origin(cfg_t *c, const char *pattern)
{
    return c ? list_add(&c->allow_origins, &c->nallow_origins, pattern) : -1;
}

static void free_devices(cfg_device_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(d[i].name);
        free(d[i].uri);
    }
    free(d);
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static void free_tokens(cfg_token_t *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(t[i].token);
        free(t[i].name);
    }
    free(t);
}

void cfg_free(cfg_t *c)
{
    if (!c) return;
    free(c->http_listen);
    free(c->coap_listen);
    free_devices(c->devices, c->ndevices);
    free_strings(c->allow_targets, c->nallow_targets);
    free_strings(c->allow_origins, c->nallow_origins);
    free_tokens(c->tokens, c->ntokens);
    /* zeroed, so a second cfg_free is harmless */
    memset(c, 0, sizeof *c);
}

void cfg_defaults(cfg_t *c)
{
    memset(c, 0, sizeof *c);
    c->http_listen = strdup("0.0.0.0:8080");
    c->coap_listen = strdup("0.0.0.0:5683");
    c->timeout_ms = 10000;
    c->max_body = 1048576;
    c->cache_enabled = 1;
    c->cache_max_entries = 10000;
    c->log_level = CFG_LOG_INFO;
    c->log_format = CFG_LOG_TEXT;
    c->max_subscribers = 20000;
    c->sse_queue = 64;
    c->rd_enabled = 1;
    c->rd_max_registrations = 256;
    c->rd_max_links_bytes = 4096;
    c->discovery_refresh_s = 300;
    c->shutdown_grace_ms = 1000;
    cfg_device_t *d = calloc(1, sizeof *d);
    if (d) {
        d->name = strdup("demo");
        d->uri = strdup("coap://127.0.0.1:5783");
        /* a device with a NULL name would crash its users: all or nothing */
        if (d->name && d->uri) {
            c->devices = d;
            c->ndevices = 1;
        } else {
            free_devices(d, 1);
        }
    }
}

/* Deep copy, so a failed load can be thrown away. dst is freeable even
 * when this fails. */
static int cfg_copy(cfg_t *dst, const cfg_t *src)
{
    *dst = *src;
    dst->http_listen = dst->coap_listen = NULL;
    dst->devices = NULL;
    dst->allow_targets = dst->allow_origins = NULL;
    dst->ndevices = dst->nallow_targets = dst->nallow_origins = 0;
    dst->tokens = NULL;
    dst->ntokens = 0;
    if (src->http_listen && !(dst->http_listen = strdup(src->http_listen))) return -1;
    if (src->coap_listen && !(dst->coap_listen = strdup(src->coap_listen))) return -1;
    if (src->ndevices) {
        if (!(dst->devices = calloc(src->ndevices, sizeof *dst->devices))) return -1;
        for (size_t i = 0; i < src->ndevices; i++) {
            dst->ndevices++; /* counted first: a half-copied entry is still freed */
            dst->devices[i].name = strdup(src->devices[i].name);
            dst->devices[i].uri = strdup(src->devices[i].uri);
            if (!dst->devices[i].name || !dst->devices[i].uri) return -1;
        }
    }
    for (size_t i = 0; i < src->nallow_targets; i++)
        if (cfg_add_allow_target(dst, src->allow_targets[i])) return -1;
    for (size_t i = 0; i < src->nallow_origins; i++)
        if (cfg_add_allow_origin(dst, src->allow_origins[i])) return -1;
    if (src->ntokens) {
        if (!(dst->tokens = calloc(src->ntokens, sizeof *dst->tokens))) return -1;
        for (size_t i = 0; i < src->ntokens; i++) {
            cfg_token_t *t = &dst->tokens[dst->ntokens++];
            t->write = src->tokens[i].write;
            if (!(t->token = strdup(src->tokens[i].token))) return -1;
            if (src->tokens[i].name && !(t->name = strdup(src->tokens[i].name))) return -1;
        }
    }
    return 0;
}

/* --- typed getters: each fails with the key path and what was expected --- */

static int get_string(ctx_t *x, json_t *v, const char *path, const char **out)
{
    if (!json_is_string(v)) return fail(x, path, "expected a string, got %s", type_name(v));
    *out = json_string_value(v);
    return 0;
}

static int get_int(ctx_t *x, json_t *v, const char *path, long long min, long long max,
                   uint32_t *out)
{
    /* 10.0 is a real in JSON and refused: a timeout of 1.5 ms would
     * otherwise be silently truncated */
    if (!json_is_integer(v))
        return fail(x, path, "expected an integer from %lld to %lld, got %s", min, max,
                    type_name(v));
    long long n = (long long)json_integer_value(v);
    if (n < min || n > max)
        return fail(x, path, "expected an integer from %lld to %lld, got %lld", min, max, n);
    *out = (uint32_t)n;
    return 0;
}

static int get_bool(ctx_t *x, json_t *v, const char *path, int *out)
{
    if (!json_is_boolean(v)) return fail(x, path, "expected true or false, got %s", type_name(v));
    *out = json_is_true(v);
    return 0;
}

static int set_copy(ctx_t *x, char **field, const char *value)
{
    return cfg_set_string(field, value) ? fail(x, NULL, "out of memory") : 0;
}

/* Every object refuses keys it does not know: a typo ("timout_ms") must not
 * silently fall back to the default. The message lists the valid keys. */
static int check_keys(ctx_t *x, json_t *obj, const char *path, const char *const known[])
{
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const char *key = json_object_iter_key(it);
        int ok = 0;
        for (size_t i = 0; known[i] && !ok; i++) ok = !strcmp(key, known[i]);
        if (ok) continue;
        char list[128] = "";
        size_t used = 0;
        for (size_t i = 0; known[i] && used < sizeof list; i++)
            used +=
                (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", known[i]);
        return fail(x, path, "unknown key \"%s\" (expected %s)", key, list);
    }
    return 0;
}

/* The object under key, or NULL when absent (*out NULL, returns 0). */
static int section(ctx_t *x, json_t *root, const char *key, const char *const known[], json_t **out)
{
    *out = json_object_get(root, key);
    if (!*out) return 0;
    if (!json_is_object(*out)) return fail(x, key, "expected an object, got %s", type_name(*out));
    return check_keys(x, *out, key, known);
}

/* --- sections --- */

static int load_listen(ctx_t *x, json_t *root, const char *key, const char *path, char **field)
{
    static const char *const known[] = {"listen", NULL};
    json_t *sec, *v;
    const char *s = NULL;
    if (section(x, root, key, known, &sec)) return -1;
    if (!sec || !(v = json_object_get(sec, "listen"))) return 0;
    if (get_string(x, v, path, &s)) return -1;
    if (!valid_listen(s))
        return fail(x, path, "bad listen address \"%s\" (want numeric ADDR:PORT or [IPv6]:PORT)",
                    s);
    return set_copy(x, field, s);
}

static int check_device_uri(ctx_t *x, const char *path, const char *uri)
{
    /* ~2.4 KB: fine on the stack, and unlike a static it keeps this reentrant */
    coap_uri_t u;
    coap_addr_t a;
    if (strncasecmp(uri, "coap://", 7))
        return fail(x, path, "\"%s\" is not a coap:// URI (want coap://HOST[:PORT][/PATH])", uri);
    int rc = coap_uri_parse(&u, uri);
    if (rc) return fail(x, path, "\"%s\": %s", uri, coap_strerror(rc));
    /* the URI parser checks the characters of an IP literal, not its form */
    if (u.host_is_literal && coap_addr_from_host(&a, u.host, u.port))
        return fail(x, path, "bad IP address \"%s\" in \"%s\"", u.host, uri);
    /* request paths and queries are appended to the device URI */
    if (u.query_count) return fail(x, path, "a device URI takes no query: \"%s\"", uri);
    return 0;
}

/* The file's "devices" replace the current list (the "demo" default
 * included): otherwise a default device could never be removed. */
static int load_devices(ctx_t *x, json_t *root, cfg_t *c)
{
    json_t *obj = json_object_get(root, "devices");
    if (!obj) return 0;
    if (!json_is_object(obj))
        return fail(x, "devices", "expected an object, got %s", type_name(obj));
    size_t n = json_object_size(obj), got = 0;
    cfg_device_t *d = n ? calloc(n, sizeof *d) : NULL;
    if (n && !d) return fail(x, NULL, "out of memory");
    /* jansson iterates in document order, so devices keep the file's order */
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const char *name = json_object_iter_key(it);
        char path[96];
        const char *uri = NULL;
        snprintf(path, sizeof path, "devices.%s", name);
        if (!valid_device_name(name)) {
            fail(x, "devices", "bad device name \"%s\" (want 1-63 characters of A-Z a-z 0-9 _ . -)",
                 name);
            goto bad;
        }
        if (get_string(x, json_object_iter_value(it), path, &uri) || check_device_uri(x, path, uri))
            goto bad;
        d[got].name = strdup(name);
        d[got].uri = strdup(uri);
        got++;
        if (!d[got - 1].name || !d[got - 1].uri) {
            fail(x, NULL, "out of memory");
            goto bad;
        }
    }
    free_devices(c->devices, c->ndevices);
    c->devices = d;
    c->ndevices = got;
    return 0;
bad:
    free_devices(d, got);
    return -1;
}

/* Like devices, the file's list replaces the current one; command-line
 * entries are appended after loading. */
static int load_list(ctx_t *x, json_t *v, const char *key, char ***list, size_t *n)
{
    if (!json_is_array(v))
        return fail(x, key, "expected an array of strings, got %s", type_name(v));
    char **tmp = NULL;
    size_t ntmp = 0;
    for (size_t i = 0; i < json_array_size(v); i++) {
        char path[48];
        const char *s = NULL;
        snprintf(path, sizeof path, "%s[%zu]", key, i);
        if (get_string(x, json_array_get(v, i), path, &s)) goto bad;
        if (!plausible_allow_target(s)) {
            fail(x, path,
                 "bad entry \"%s\" (want a CIDR range, an address, a host name or an "
                 "origin)",
                 s);
            goto bad;
        }
        if (list_add(&tmp, &ntmp, s)) {
            fail(x, NULL, "out of memory");
            goto bad;
        }
    }
    free_strings(*list, *n);
    *list = tmp;
    *n = ntmp;
    return 0;
bad:
    free_strings(tmp, ntmp);
    return -1;
}

static int load_proxy(ctx_t *x, json_t *root, cfg_t *c)
{
    static const char *const known[] = {"allow_targets", "allow_origins", "timeout_ms",
                                        "max_body_bytes", NULL};
    json_t *sec, *v;
    if (section(x, root, "proxy", known, &sec)) return -1;
    if (!sec) return 0;
    if ((v = json_object_get(sec, "allow_targets")) &&
        load_list(x, v, "proxy.allow_targets", &c->allow_targets, &c->nallow_targets))
        return -1;
    if ((v = json_object_get(sec, "allow_origins")) &&
        load_list(x, v, "proxy.allow_origins", &c->allow_origins, &c->nallow_origins))
        return -1;
    if ((v = json_object_get(sec, "timeout_ms")) &&
        get_int(x, v, "proxy.timeout_ms", 1, TIMEOUT_MS_MAX, &c->timeout_ms))
        return -1;
    if ((v = json_object_get(sec, "max_body_bytes")) &&
        get_int(x, v, "proxy.max_body_bytes", 1, MAX_BODY_MAX, &c->max_body))
        return -1;
    return 0;
}

static int load_cache(ctx_t *x, json_t *root, cfg_t *c)
{
    static const char *const known[] = {"enabled", "max_entries", NULL};
    json_t *sec, *v;
    if (section(x, root, "cache", known, &sec)) return -1;
    if (!sec) return 0;
    if ((v = json_object_get(sec, "enabled")) && get_bool(x, v, "cache.enabled", &c->cache_enabled))
        return -1;
    /* 0 entries is allowed: a cache that stores nothing */
    if ((v = json_object_get(sec, "max_entries")) &&
        get_int(x, v, "cache.max_entries", 0, CACHE_ENTRIES_MAX, &c->cache_max_entries))
        return -1;
    return 0;
}

static int load_log_level(ctx_t *x, json_t *root, cfg_t *c)
{
    json_t *v = json_object_get(root, "log_level");
    const char *s = NULL;
    if (!v) return 0;
    if (get_string(x, v, "log_level", &s)) return -1;
    int level = cfg_parse_log_level(s);
    if (level < 0)
        return fail(x, "log_level",
                    "expected \"debug\", \"info\", \"warn\" or \"error\", got \"%s\"", s);
    c->log_level = level;
    return 0;
}

/* "tokens": [{"token": S, "name": S, "write": B}, ...] (RFC 6750 bearer
 * tokens; write false: read-only). The file's list replaces the current one. */
static int load_one_token(ctx_t *x, json_t *v, size_t i, cfg_token_t *t)
{
    static const char *const known[] = {"token", "name", "write", NULL};
    char path[48];
    const char *s;
    snprintf(path, sizeof path, "tokens[%zu]", i);
    if (!json_is_object(v)) return fail(x, path, "expected an object, got %s", type_name(v));
    if (check_keys(x, v, path, known)) return -1;
    json_t *tok = json_object_get(v, "token"), *name = json_object_get(v, "name"),
           *write = json_object_get(v, "write");
    if (!tok) return fail(x, path, "missing \"token\"");
    if (get_string(x, tok, path, &s)) return -1;
    /* RFC 6750 §2.1 b64token characters, at most what auth.c compares */
    size_t n = strlen(s);
    if (n == 0 || n > 512 ||
        strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                  "0123456789-._~+/=") != n)
        return fail(x, path, "token: 1 to 512 of A-Z a-z 0-9 - . _ ~ + / =");
    if (set_copy(x, &t->token, s)) return -1;
    if (name && (get_string(x, name, path, &s) || set_copy(x, &t->name, s))) return -1;
    return write ? get_bool(x, write, path, &t->write) : 0;
}

static int load_tokens(ctx_t *x, json_t *root, cfg_t *c)
{
    json_t *v = json_object_get(root, "tokens");
    if (!v) return 0;
    if (!json_is_array(v)) return fail(x, "tokens", "expected an array, got %s", type_name(v));
    size_t n = json_array_size(v);
    cfg_token_t *t = calloc(n ? n : 1, sizeof *t);
    if (!t) return fail(x, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (load_one_token(x, json_array_get(v, i), i, &t[i])) {
            free_tokens(t, n);
            return -1;
        }
    }
    free_tokens(c->tokens, c->ntokens);
    c->tokens = t;
    c->ntokens = n;
    return 0;
}

static int apply(ctx_t *x, json_t *root, cfg_t *c)
{
    static const char *const known[] = {"http",  "coap",      "devices", "proxy",
                                        "cache", "log_level", "tokens",  NULL};
    if (!json_is_object(root))
        return fail(x, NULL, "expected a JSON object at the top level, got %s", type_name(root));
    if (check_keys(x, root, NULL, known)) return -1;
    if (load_listen(x, root, "http", "http.listen", &c->http_listen)) return -1;
    if (load_listen(x, root, "coap", "coap.listen", &c->coap_listen)) return -1;
    if (load_devices(x, root, c)) return -1;
    if (load_proxy(x, root, c)) return -1;
    if (load_cache(x, root, c)) return -1;
    if (load_tokens(x, root, c)) return -1;
    return load_log_level(x, root, c);
}

/* Takes root (NULL after a jansson error described in je). */
static int load_root(cfg_t *c, ctx_t *x, json_t *root, const json_error_t *je)
{
    if (!root) {
        if (x->err && x->errlen) {
            /* jansson counts lines and columns from 1; "line -1" means the
             * error has no position (e.g. a read error) */
            if (je->line >= 1)
                snprintf(x->err, x->errlen, "%s:%d:%d: syntax error: %s", x->name, je->line,
                         je->column, je->text);
            else
                snprintf(x->err, x->errlen, "%s: %s", x->name, je->text);
            one_line(x->err);
        }
        return -1;
    }
    cfg_t tmp;
    int rc = cfg_copy(&tmp, c) ? fail(x, NULL, "out of memory") : apply(x, root, &tmp);
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
    ctx_t x = {name ? name : "<config>", err, errlen};
    json_error_t je;
    if (err && errlen) err[0] = '\0';
    if (!json) return fail(&x, NULL, "no configuration text");
    /* The top level must be an object or array (no JSON_DECODE_ANY), a key
     * may appear once (JSON_REJECT_DUPLICATES: a repeated device is an error),
     * trailing garbage is an error, and \u0000 in strings is refused */
    return load_root(c, &x, json_loads(json, JSON_REJECT_DUPLICATES, &je), &je);
}

int cfg_load_file(cfg_t *c, const char *path, char *err, size_t errlen)
{
    ctx_t x = {path ? path : "<config>", err, errlen};
    json_error_t je;
    if (err && errlen) err[0] = '\0';
    if (!path) return fail(&x, NULL, "no configuration file");
    /* fopen ourselves for a plain "cannot open: reason" message */
    FILE *f = fopen(path, "rb");
    if (!f) return fail(&x, NULL, "cannot open: %s", strerror(errno));
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
    fclose(f);
    return load_root(c, &x, root, &je);
}
