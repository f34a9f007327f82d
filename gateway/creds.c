/*
 * creds.c - "credentials": what the gateway presents to coaps:// devices
 * and how it checks them (gw_creds.h). Loaded whole, so that a reload
 * with one bad entry changes nothing; each entry's dtls_creds_t is
 * reference-counted, so sessions opened with the old table keep theirs.
 */
#include "gw_creds.h"
#include "coap_uri.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define PSK_MAX 64 /* dtls_creds_new's limit; RFC 4279 §5.3 allows more, devices far less */

typedef struct {
    char *name;       /* a device name or a host */
    const char *auth; /* its forms, for /api/devices: "dtls-psk", "dtls-psk+x509", ... */
    int is_addr;      /* name is an IP literal: matched by address */
    coap_addr_t addr; /* ... this one */
    dtls_creds_t *creds;
} entry_t;

struct gw_creds {
    entry_t *v;
    size_t n;
};

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

int gw_creds_psk_decode(const char *text, size_t len, uint8_t out[64], char *why, size_t cap)
{
    if (len && text[len - 1] == '\n') len--;
    if (len && text[len - 1] == '\r') len--;
    if (len > 4 && !strncmp(text, "hex:", 4)) {
        size_t digits = len - 4;
        if (digits % 2 || digits / 2 > PSK_MAX)
            return snprintf(why, cap, "a hex: key needs an even number of hex digits, at most 128"),
                   -1;
        for (size_t i = 0; i < digits / 2; i++) {
            int hi = hexval(text[4 + 2 * i]), lo = hexval(text[5 + 2 * i]);
            if (hi < 0 || lo < 0) return snprintf(why, cap, "not a hex digit after hex:"), -1;
            out[i] = (uint8_t)(hi << 4 | lo);
        }
        return (int)(digits / 2);
    }
    if (len == 0 || len > PSK_MAX)
        return snprintf(why, cap, "the key is %zu bytes (expected 1-64)", len), -1;
    memcpy(out, text, len);
    return (int)len;
}

int gw_creds_psk_read(const char *file, const char *env, uint8_t out[64], char *why, size_t cap)
{
    char buf[4 + 2 * PSK_MAX + 3], reason[160];
    const char *src = file ? file : env;
    ssize_t n = -1;
    if (file) {
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) n = read(fd, buf, sizeof buf);
        if (n < 0) snprintf(reason, sizeof reason, "cannot read: %s", strerror(errno));
        if (fd >= 0) close(fd);
    } else {
        const char *v = getenv(env);
        size_t l = v ? strlen(v) : 0;
        if (!v) snprintf(reason, sizeof reason, "the variable is not set");
        if (v) memcpy(buf, v, (n = (ssize_t)(l < sizeof buf ? l : sizeof buf)));
    }
    int len = n < 0 ? -1 : gw_creds_psk_decode(buf, (size_t)n, out, reason, sizeof reason);
    explicit_bzero(buf, sizeof buf); /* a secret: not left on the stack */
    if (len < 0) snprintf(why, cap, "%s: %s", src, reason);
    return len;
}

/* The key of e into key: from its file or its variable. */
static int read_psk(const cfg_cred_t *e, uint8_t key[PSK_MAX], char *err, size_t errlen)
{
    char why[600];
    int len = gw_creds_psk_read(e->psk_key_file, e->psk_key_env, key, why, sizeof why);
    if (len < 0)
        snprintf(err, errlen, "credentials.%s.%s: %s", e->key,
                 e->psk_key_file ? "psk_key_file" : "psk_key_env", why);
    return len;
}

/* The configured device named name: the host of its URI, or NULL. */
static const char *device_host(const cfg_t *c, const char *name, coap_parsed_uri_t *u)
{
    for (size_t i = 0; i < c->ndevices; i++)
        if (!strcmp(c->devices[i].name, name) && !coap_uri_parse(u, c->devices[i].uri))
            return u->host;
    return NULL;
}

/* The forms an entry gives, in docs/api.md's words. */
static const char *auth_of(const cfg_cred_t *e)
{
    static const char *const names[8] = {"dtls-none",     "dtls-psk",         "dtls-x509",
                                         "dtls-psk+x509", "dtls-rpk",         "dtls-psk+rpk",
                                         "dtls-x509+rpk", "dtls-psk+x509+rpk"};
    return names[(e->psk_identity ? 1 : 0) | (e->cert || e->ca ? 2 : 0) | (e->rpk_key ? 4 : 0)];
}

static int load_entry(const cfg_t *c, const cfg_cred_t *e, entry_t *out, char *err, size_t errlen)
{
    uint8_t key[PSK_MAX];
    int klen = 0;
    if (e->psk_identity && (klen = read_psk(e, key, err, errlen)) < 0) return -1;
    coap_parsed_uri_t u; /* ~2.4 KB: start and reload only */
    const char *host = device_host(c, e->key, &u);
    dtls_creds_conf_t conf = {.psk_identity = e->psk_identity,
                              .psk_key = klen ? key : NULL,
                              .psk_key_len = (size_t)klen,
                              .cert_file = e->cert,
                              .key_file = e->cert_key,
                              .ca_file = e->ca,
                              .peer_name = e->name ? e->name
                                           : host  ? host
                                                   : e->key,
                              .rpk_file = e->rpk_key,
                              .rpk_pin = e->rpk_pin,
                              .no_verify = e->no_verify};
    char why[600];
    out->creds = dtls_creds_new(&conf, why, sizeof why);
    explicit_bzero(key, sizeof key);
    if (!out->creds) return snprintf(err, errlen, "credentials.%s: %s", e->key, why), -1;
    out->auth = auth_of(e);
    out->is_addr = !coap_addr_from_host(&out->addr, e->key, 1);
    if (out->is_addr) coap_addr_unmap(&out->addr);
    if (!(out->name = strdup(e->key))) return snprintf(err, errlen, "out of memory"), -1;
    return 0;
}

gw_creds_t *gw_creds_load(const cfg_t *c, char *err, size_t errlen)
{
    gw_creds_t *t = calloc(1, sizeof *t);
    if (!t || (c->ncreds && !(t->v = calloc(c->ncreds, sizeof *t->v)))) {
        free(t);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (; t->n < c->ncreds; t->n++) {
        if (load_entry(c, &c->creds[t->n], &t->v[t->n], err, errlen)) {
            t->n++; /* what it holds is freed too */
            gw_creds_free(t);
            return NULL;
        }
    }
    return t;
}

void gw_creds_free(gw_creds_t *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n; i++) {
        dtls_creds_unref(t->v[i].creds);
        free(t->v[i].name);
    }
    free(t->v);
    free(t);
}

size_t gw_creds_count(const gw_creds_t *t)
{
    return t ? t->n : 0;
}

static const entry_t *by_host(const gw_creds_t *t, const char *host)
{
    coap_addr_t a;
    int is_addr = !coap_addr_from_host(&a, host, 1);
    if (is_addr) coap_addr_unmap(&a);
    for (size_t i = 0; i < t->n; i++) {
        const entry_t *e = &t->v[i];
        if (is_addr ? e->is_addr && coap_addr_same_host(&e->addr, &a) : !strcasecmp(e->name, host))
            return e;
    }
    return NULL;
}

const char *gw_creds_pick(const gw_creds_t *t, const char *device, const char *host)
{
    for (size_t i = 0; t && device && i < t->n; i++)
        if (!strcmp(t->v[i].name, device)) return t->v[i].name;
    const entry_t *e = t && host ? by_host(t, host) : NULL;
    return e ? e->name : NULL;
}

static const entry_t *by_name(const gw_creds_t *t, const char *name)
{
    for (size_t i = 0; t && name && i < t->n; i++)
        if (!strcmp(t->v[i].name, name)) return &t->v[i];
    return NULL;
}

dtls_creds_t *gw_creds_get(const gw_creds_t *t, const char *name)
{
    const entry_t *e = by_name(t, name);
    return e ? e->creds : NULL;
}

const char *gw_creds_auth(const gw_creds_t *t, const char *name)
{
    const entry_t *e = by_name(t, name);
    return e ? e->auth : "dtls-none";
}
