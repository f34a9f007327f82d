/*
 * cfg_creds.c - "credentials": the DTLS credentials the gateway presents
 * to coaps:// devices and checks them with, keyed by device name or by
 * host (docs/configuration.md). The same JSON object in the file, in
 * COAPGW_CREDENTIALS and in --set credentials=...
 *
 * Only names of files and variables are kept here: a key is never inline
 * (a configuration file is copied, shown, checked in), and the key files
 * must grant other users nothing (checked on disk with the HTTPS key's
 * rule, cfg_check_key_file). The gateway reads the keys at start and
 * reload (gateway/creds.c).
 */
#include "cfg_int.h"
#include "coap_addr.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX 255 /* identities, names, variable names */

static int why_fail(char *why, size_t cap, const char *msg)
{
    snprintf(why, cap, "%s", msg);
    return -1;
}

static int check_path(const char *s, char *why, size_t cap)
{
    return *s ? cfg_check_file(s, why, cap) : why_fail(why, cap, "empty (expected a file name)");
}

/* 1-255 bytes without control characters: a PSK identity (RFC 4279 §5.1
 * allows up to 2^16-1, DTLS stacks of devices far less), a DNS name or an
 * IP address to check the certificate against. */
static int check_text(const char *s, char *why, size_t cap)
{
    size_t n = strlen(s);
    int ok = n > 0 && n <= TEXT_MAX;
    for (size_t i = 0; ok && i < n; i++) ok = (unsigned char)s[i] >= 0x20 && s[i] != 0x7F;
    return ok ? 0 : why_fail(why, cap, "bad value (expected 1-255 characters, no control ones)");
}

static int check_env_name(const char *s, char *why, size_t cap)
{
    size_t n = strlen(s);
    int ok = n > 0 && n <= TEXT_MAX && !(*s >= '0' && *s <= '9') &&
             strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == n;
    return ok ? 0
              : why_fail(
                    why, cap,
                    "bad variable name (expected letters, digits and _, e.g. COAPGW_PSK_DEMO)");
}

/* 32 bytes in hex, colons between bytes allowed (config/ cannot use dtls/,
 * whose dtls_fingerprint_parse() the gateway applies again). */
static int check_pin(const char *s, char *why, size_t cap)
{
    size_t digits = 0;
    int ok = 1;
    for (const char *p = s; *p && ok; p++) {
        if (*p == ':') continue;
        ok = strchr("0123456789abcdefABCDEF", *p) != NULL;
        digits++;
    }
    if (ok && digits == 64) return 0;
    return why_fail(why, cap,
                    "bad pin (expected the SHA-256 of the device's public key, 64 hex digits: "
                    "openssl pkey -pubin -in KEY.pub -outform DER | sha256sum)");
}

/* The fields of one entry, in documentation order. */
static const struct field {
    const char *name;
    size_t off;
    cfg_check_fn check; /* NULL: the boolean no_verify */
} fields[] = {
    {"psk_identity", offsetof(cfg_cred_t, psk_identity), check_text},
    {"psk_key_file", offsetof(cfg_cred_t, psk_key_file), check_path},
    {"psk_key_env", offsetof(cfg_cred_t, psk_key_env), check_env_name},
    {"cert", offsetof(cfg_cred_t, cert), check_path},
    {"key", offsetof(cfg_cred_t, cert_key), check_path},
    {"ca", offsetof(cfg_cred_t, ca), check_path},
    {"name", offsetof(cfg_cred_t, name), check_text},
    {"rpk_key", offsetof(cfg_cred_t, rpk_key), check_path},
    {"rpk_pin", offsetof(cfg_cred_t, rpk_pin), check_pin},
    {"no_verify", offsetof(cfg_cred_t, no_verify), NULL},
};
#define NFIELDS (sizeof fields / sizeof fields[0])
#define KNOWN                                                                                      \
    "psk_identity, psk_key_file, psk_key_env, cert, key, ca, name, rpk_key, rpk_pin, no_verify"

static char **text_field(const cfg_cred_t *e, const struct field *f)
{
    return (char **)((char *)(uintptr_t)e + f->off);
}

static void cred_free(cfg_cred_t *e)
{
    free(e->key);
    for (size_t i = 0; i < NFIELDS; i++)
        if (fields[i].check) free(*text_field(e, &fields[i]));
}

void cfg_free_creds(cfg_cred_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) cred_free(&v[i]);
    free(v);
}

/* A copy of e appended to *v (n entries). */
static int cred_push(cfg_cred_t **v, size_t *n, const cfg_cred_t *e)
{
    cfg_cred_t *nv = realloc(*v, (*n + 1) * sizeof *nv), c = {.no_verify = e->no_verify};
    if (!nv) return -1;
    *v = nv;
    int bad = !(c.key = strdup(e->key));
    for (size_t i = 0; i < NFIELDS && !bad; i++) {
        const char *from = fields[i].check ? *text_field(e, &fields[i]) : NULL;
        bad = from && !(*text_field(&c, &fields[i]) = strdup(from));
    }
    if (bad) {
        cred_free(&c);
        return -1;
    }
    nv[(*n)++] = c;
    return 0;
}

int cfg_creds_copy(cfg_t *dst, const cfg_t *src)
{
    dst->creds = NULL;
    dst->ncreds = 0;
    for (size_t i = 0; i < src->ncreds; i++)
        if (cred_push(&dst->creds, &dst->ncreds, &src->creds[i])) return -1;
    return 0;
}

/* The entry's name: a device name or a host name, or an IP literal,
 * IPv6 with or without brackets (kept without). */
static int entry_key(const char *s, char *out, size_t cap, char *why, size_t wcap)
{
    size_t n = strlen(s);
    coap_addr_t a;
    int bracketed = n >= 2 && s[0] == '[' && s[n - 1] == ']';
    if (bracketed) {
        s++;
        n -= 2;
    }
    if (n >= cap) n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
    int v6 = strchr(out, ':') && !coap_addr_from_host(&a, out, 1);
    if (v6 || (!bracketed && !cfg_check_device_name(out, why, wcap))) return 0;
    return why_fail(why, wcap,
                    "bad name (expected a device name, a host name or an IP address: "
                    "A-Z a-z 0-9 _ . - or an IPv6 address)");
}

#define NEEDS(cond, ...) ((cond) ? cfg_fail(x, p, __VA_ARGS__) : 0)

/* Which forms the entry gives and whether each is whole. */
static int entry_rules(cfg_ctx_t *x, const cfg_path_t *p, const cfg_cred_t *e)
{
    const char *nv = " (or no_verify, for tests only)";
    int keysrc = (e->psk_key_file != NULL) + (e->psk_key_env != NULL);
    return NEEDS(e->psk_identity && !keysrc,
                 "psk_identity needs psk_key_file or psk_key_env (a key is never written in "
                 "the configuration)") ||
           NEEDS(keysrc == 2, "psk_key_file and psk_key_env both given (expected one)") ||
           NEEDS(keysrc && !e->psk_identity, "psk_key_%s needs psk_identity",
                 e->psk_key_file ? "file" : "env") ||
           NEEDS(!e->cert != !e->cert_key, "%s (expected both, PEM files)",
                 e->cert ? "cert needs key, its private key" : "key needs cert, its certificate") ||
           NEEDS(e->cert && !e->ca && !e->no_verify,
                 "cert needs ca, the CA the device's certificate must chain to%s", nv) ||
           NEEDS(e->name && !e->ca, "name needs ca (the name is checked in the device's "
                                    "certificate, which ca verifies)") ||
           NEEDS(e->rpk_key && !e->rpk_pin && !e->no_verify,
                 "rpk_key needs rpk_pin, the SHA-256 of the device's raw public key%s", nv) ||
           NEEDS(e->rpk_pin && !e->rpk_key, "rpk_pin needs rpk_key (raw public keys are "
                                            "exchanged both ways)") ||
           NEEDS(!e->psk_identity && !e->cert && !e->ca && !e->rpk_key,
                 "no credentials in it (expected psk_identity with psk_key_file or psk_key_env; "
                 "cert, key and ca; or rpk_key and rpk_pin)");
}

static int entry_field(cfg_ctx_t *x, const cfg_path_t *p, json_t *v, const struct field *f,
                       cfg_cred_t *e)
{
    char why[400];
    if (!f->check) {
        if (!json_is_boolean(v)) return cfg_fail(x, p, "not a boolean (expected true or false)");
        e->no_verify = json_is_true(v);
        return 0;
    }
    if (!json_is_string(v)) return cfg_fail(x, p, "not a string (expected a string)");
    const char *s = json_string_value(v);
    if (f->check(s, why, sizeof why)) return cfg_fail(x, p, "%s", why);
    char **to = text_field(e, f);
    free(*to);
    return (*to = strdup(s)) ? 0 : cfg_fail(x, NULL, "out of memory");
}

/* One NAME: {...} into e (zeroed by the caller). */
static int load_entry(cfg_ctx_t *x, const char *name, json_t *obj, const cfg_path_t *p,
                      cfg_cred_t *e)
{
    char key[TEXT_MAX + 1], why[400];
    if (entry_key(name, key, sizeof key, why, sizeof why)) return cfg_fail(x, p, "%s", why);
    if (!(e->key = strdup(key))) return cfg_fail(x, NULL, "out of memory");
    if (!json_is_object(obj))
        return cfg_fail(x, p, "not an object (expected {\"psk_identity\": ..., ...})");
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const char *k = json_object_iter_key(it);
        cfg_path_t q = *p;
        cfg_path_key(&q, k);
        const struct field *f = NULL;
        for (size_t i = 0; i < NFIELDS && !f; i++)
            if (!strcmp(fields[i].name, k)) f = &fields[i];
        if (!f)
            return cfg_fail(x, &q, "unknown key (expected one of " KNOWN "%s)",
                            strstr(k, "key") ? "; a key is never inline: name its file or "
                                               "variable"
                                             : "");
        if (entry_field(x, &q, json_object_iter_value(it), f, e)) return -1;
    }
    return entry_rules(x, p, e);
}

int cfg_creds_load(cfg_ctx_t *x, json_t *obj, const cfg_path_t *p, cfg_t *c)
{
    if (!json_is_object(obj))
        return cfg_fail(x, p, "not an object (expected {DEVICE-OR-HOST: {...}, ...})");
    cfg_cred_t *v = NULL;
    size_t n = 0;
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const char *name = json_object_iter_key(it);
        cfg_path_t q = *p;
        cfg_path_key(&q, name);
        cfg_cred_t e = {0};
        int bad = load_entry(x, name, json_object_iter_value(it), &q, &e);
        for (size_t i = 0; i < n && !bad; i++)
            if (!strcmp(v[i].key, e.key))
                bad = cfg_fail(x, &q, "the same host as another entry (expected one entry each)");
        if (!bad && cred_push(&v, &n, &e)) bad = cfg_fail(x, NULL, "out of memory");
        cred_free(&e);
        if (bad) {
            cfg_free_creds(v, n);
            return -1;
        }
    }
    cfg_free_creds(c->creds, c->ncreds);
    c->creds = v;
    c->ncreds = n;
    return 0;
}

int cfg_creds_set_text(cfg_ctx_t *x, const char *text, cfg_t *c)
{
    return cfg_set_json_text(x, text, "{DEVICE-OR-HOST: {...}}", cfg_creds_load, c);
}

int cfg_check_creds_files(const cfg_t *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < c->ncreds; i++) {
        const cfg_cred_t *e = &c->creds[i];
        const char *files[] = {e->psk_key_file, e->cert_key, e->rpk_key};
        const char *names[] = {"psk_key_file", "key", "rpk_key"};
        for (size_t k = 0; k < 3; k++) {
            char label[TEXT_MAX + 64];
            snprintf(label, sizeof label, "credentials.%s.%s", e->key, names[k]);
            if (files[k] && cfg_check_key_file(label, files[k], err, errlen)) return -1;
        }
    }
    return 0;
}
