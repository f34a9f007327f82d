/*
 * devices.c - the device registry: configured devices (an IP literal is
 * their address; a host name is resolved on the loop, gw_dns.h) and
 * devices registered through the Resource Directory (rd.c). Nothing here
 * blocks on DNS.
 */
#include "gw.h"
#include "coap_uri.h"
#include "gw_dns.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int gw_device_name_ok(const char *n)
{
    size_t l = strlen(n);
    if (l == 0 || l > 63) return 0;
    /* "." and ".." (and "...") are path segments that URLs resolve away
     * (RFC 3986 §5.2.4): /devices/../x would never reach the device */
    if (strspn(n, ".") == l) return 0;
    for (; *n; n++)
        if (!isalnum((unsigned char)*n) && !strchr("_.-", *n)) return 0;
    return 1;
}

static void device_free(gw_device_t *d)
{
    if (!d) return;
    if (d->disc && d->disc_free) d->disc_free(d->disc);
    free(d->name);
    free(d->uri);
    free(d->links);
    free(d->auth);
    free(d->held_by);
    free(d->held_at);
    free(d);
}

static gw_device_t *device_new(const char *name, const char *uri, int source)
{
    gw_device_t *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->name = strdup(name);
    d->uri = strdup(uri);
    if (!d->name || !d->uri) {
        device_free(d);
        return NULL;
    }
    size_t l = strlen(d->uri);
    while (l > 0 && d->uri[l - 1] == '/') d->uri[--l] = '\0';
    d->source = source;
    return d;
}

/* Starts the query for d's host name, if it has one and it is not
 * cached (nothing before the resolver exists: gw_devices_prefetch). */
static void prefetch(gw_t *gw, const gw_device_t *d)
{
    coap_parsed_uri_t u; /* about 2.4 KB: on the stack, the loop runs shallow */
    coap_addr_t ignored;
    if (gw->dns && d->source == GW_DEV_CONFIG && !coap_uri_parse_ex(&u, d->uri, COAP_URI_TCP) &&
        !u.host_is_literal)
        gw_dns_lookup(gw->dns, u.host, &ignored);
}

static void prefetch_entry(const char *key, void *value, void *arg)
{
    (void)key;
    prefetch(arg, value);
}

void gw_devices_prefetch(gw_t *gw)
{
    if (gw->devices) gw_strmap_each(gw->devices, prefetch_entry, gw);
}

/* A configured device's address: an IP literal is its address at once,
 * and opens exactly that address and port (even a port below 1024 or
 * the metadata address the operator named, RFC 7252 §11.5). A host name
 * is resolved on the loop when first used and again after its TTL
 * (target.c, gw_dns.h); the query starts now so the address is known
 * early, and the allowlist is checked on every address it resolves to. */
static int resolve_config_device(gw_t *gw, gw_device_t *d, char *err, size_t errlen)
{
    coap_parsed_uri_t u; /* about 2.4 KB: on the stack, the loop runs shallow */
    if (coap_uri_parse_ex(&u, d->uri, COAP_URI_TCP)) {
        snprintf(err, errlen, "device \"%s\": bad URI \"%s\" (want coap[s]://HOST:PORT)", d->name,
                 d->uri);
        return -1;
    }
    if (!u.host_is_literal) {
        prefetch(gw, d);
        return 0;
    }
    d->resolved = coap_addr_from_host(&d->addr, u.host, u.port) == 0;
    if (d->resolved) coap_addr_unmap(&d->addr);
    if (d->resolved) gw_acl_add_addr(gw->acl, &d->addr, 1);
    return 0;
}

void gw_device_follow(gw_t *gw, const gw_device_t *d, const coap_addr_t *addr)
{
    gw_device_t *dev = gw_device_find(gw, d->name);
    if (dev != d) return;
    dev->addr = *addr;
    dev->resolved = 1;
}

static int add_config_devices(gw_t *gw, gw_strmap_t *into, char *err, size_t errlen)
{
    for (size_t i = 0; i < gw->cfg.ndevices; i++) {
        const cfg_device_t *cd = &gw->cfg.devices[i];
        if (!gw_device_name_ok(cd->name)) {
            snprintf(err, errlen, "device \"%s\": bad name (want [A-Za-z0-9_.-]{1,63})", cd->name);
            return -1;
        }
        gw_device_t *d = device_new(cd->name, cd->uri, GW_DEV_CONFIG);
        if (!d) return snprintf(err, errlen, "out of memory"), -1;
        if (resolve_config_device(gw, d, err, errlen) || gw_strmap_set(into, d->name, d)) {
            device_free(d);
            return -1;
        }
    }
    return 0;
}

static void free_entry(const char *key, void *value, void *arg)
{
    (void)key;
    (void)arg;
    device_free(value);
}

static void free_map(gw_strmap_t *m)
{
    if (!m) return;
    gw_strmap_each(m, free_entry, NULL);
    gw_strmap_free(m);
}

int gw_devices_load(gw_t *gw, char *err, size_t errlen)
{
    gw->devices = gw_strmap_new();
    if (!gw->devices) return snprintf(err, errlen, "out of memory"), -1;
    return add_config_devices(gw, gw->devices, err, errlen);
}

typedef struct {
    const char *name;
    int source; /* -1: any */
    gw_device_t *found;
} nocase_ctx_t;

static void match_nocase(const char *key, void *value, void *arg)
{
    nocase_ctx_t *x = arg;
    gw_device_t *d = value;
    if (!x->found && (x->source < 0 || d->source == x->source) && !strcasecmp(key, x->name))
        x->found = d;
}

static gw_device_t *find_nocase(const gw_strmap_t *m, const char *name, int source)
{
    nocase_ctx_t x = {name, source, NULL};
    if (m) gw_strmap_each(m, match_nocase, &x);
    return x.found;
}

typedef struct {
    gw_strmap_t *next;
    gw_strmap_t *old;
} reload_ctx_t;

/* Carries a device of the old table into the new one: state of
 * configured devices that stay, and registered or discovered devices
 * whose name is free (a name now configured wins). */
static void carry_over(const char *key, void *value, void *arg)
{
    reload_ctx_t *x = arg;
    gw_device_t *old = value, *now = gw_strmap_get(x->next, key);
    /* a discovered name is given up to a configured one in any case */
    if (old->source == GW_DEV_DISC && !now) now = find_nocase(x->next, key, GW_DEV_CONFIG);
    if (old->source != GW_DEV_CONFIG && !now) { /* registered or discovered */
        if (gw_strmap_set(x->next, key, old) == 0) gw_strmap_set(x->old, key, NULL);
        return;
    }
    if (now && old->source == GW_DEV_CONFIG) {
        now->online = old->online;
        now->last_seen = old->last_seen;
        if (!strcmp(now->uri, old->uri)) { /* same device: keep its discovery cache */
            now->disc = old->disc;
            now->disc_free = old->disc_free;
            old->disc = NULL;
            if (!now->resolved) { /* a host name: its last address until asked again */
                now->addr = old->addr;
                now->resolved = old->resolved;
            }
        }
    }
}

static void free_unless_carried(const char *key, void *value, void *arg)
{
    (void)key;
    (void)arg;
    if (value) device_free(value);
}

int gw_devices_reload(gw_t *gw, char *err, size_t errlen)
{
    gw_strmap_t *next = gw_strmap_new();
    if (!next || add_config_devices(gw, next, err, errlen)) {
        free_map(next);
        return -1;
    }
    reload_ctx_t x = {next, gw->devices};
    gw_strmap_each(gw->devices, carry_over, &x);
    gw_strmap_each(gw->devices, free_unless_carried, NULL);
    gw_strmap_free(gw->devices);
    gw->devices = next;
    return 0;
}

void gw_devices_free(gw_t *gw)
{
    free_map(gw->devices);
    gw->devices = NULL;
}

gw_device_t *gw_device_find(gw_t *gw, const char *name)
{
    return gw->devices ? gw_strmap_get(gw->devices, name) : NULL;
}

typedef struct {
    const char *host;
    uint16_t port;
    gw_device_t *found;
    coap_parsed_uri_t u;
} by_host_ctx_t;

static void match_host(const char *key, void *value, void *arg)
{
    (void)key;
    by_host_ctx_t *x = arg;
    gw_device_t *d = value;
    if (!x->found && !coap_uri_parse_ex(&x->u, d->uri, COAP_URI_TCP) &&
        !strcasecmp(x->u.host, x->host) && x->u.port == x->port)
        x->found = d;
}

gw_device_t *gw_device_by_host(gw_t *gw, const char *host, uint16_t port)
{
    static by_host_ctx_t x;
    x.host = host;
    x.port = port;
    x.found = NULL;
    if (gw->devices) gw_strmap_each(gw->devices, match_host, &x);
    return x.found;
}

gw_device_t *gw_device_add_rd(gw_t *gw, const char *name, const char *uri, const coap_addr_t *addr)
{
    return gw_device_add(gw, name, uri, addr, GW_DEV_RD);
}

gw_device_t *gw_device_find_nocase(gw_t *gw, const char *name)
{
    gw_device_t *d = gw_device_find(gw, name);
    return d ? d : find_nocase(gw->devices, name, -1);
}

/* A discovered device holds the weakest claim to its name: whatever a LAN
 * host answered to a multicast GET (docs/security.md). A registration
 * (plaintext or bound to a DTLS identity) takes the name, also when it
 * differs only in case; the responder gets a free name when it answers
 * again (discovery.c). */
static void evict_discovered(gw_t *gw, const char *name)
{
    for (gw_device_t *d; (d = find_nocase(gw->devices, name, GW_DEV_DISC));) {
        gw_log(CFG_LOG_INFO, "discovery: %s gives its name to a registration", d->name);
        gw_device_remove(gw, d);
    }
}

gw_device_t *gw_device_add(gw_t *gw, const char *name, const char *uri, const coap_addr_t *addr,
                           int source)
{
    if (source != GW_DEV_DISC) evict_discovered(gw, name);
    if (gw_device_find(gw, name)) return NULL;
    gw_device_t *d = device_new(name, uri, source);
    if (!d) return NULL;
    d->addr = *addr;
    d->resolved = 1;
    if (gw_strmap_set(gw->devices, d->name, d)) {
        device_free(d);
        return NULL;
    }
    return d;
}

void gw_device_remove(gw_t *gw, gw_device_t *d)
{
    if (gw_strmap_get(gw->devices, d->name) == d) gw_strmap_del(gw->devices, d->name);
    device_free(d);
}

typedef struct {
    gw_device_t **out;
    size_t n, cap;
    int source;
    const coap_addr_t *addr;
    int ok;
    gw_device_t *found;
} list_ctx_t;

static void collect(const char *key, void *value, void *arg)
{
    (void)key;
    list_ctx_t *x = arg;
    gw_device_t *d = value;
    if (x->source >= 0 && d->source != x->source) return;
    if (x->out && x->n < x->cap) x->out[x->n] = d;
    x->n++;
}

size_t gw_devices_count(gw_t *gw, int source)
{
    list_ctx_t x = {.source = source};
    if (gw->devices) gw_strmap_each(gw->devices, collect, &x);
    return x.n;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(gw_device_t *const *)a)->name, (*(gw_device_t *const *)b)->name);
}

size_t gw_devices_list(gw_t *gw, gw_device_t **out, size_t cap)
{
    list_ctx_t x = {.out = out, .cap = cap, .source = -1};
    if (gw->devices) gw_strmap_each(gw->devices, collect, &x);
    size_t n = x.n < cap ? x.n : cap;
    qsort(out, n, sizeof *out, by_name);
    return n;
}

/* A device reached over its own TCP or TLS connection (via_conn) is
 * online while that connection is open: only its registration and the
 * connection's end (gw_devices_conn_closed) say so. An exchange with its
 * address over another transport (a coap:// request to the port it
 * connected from, which anyone may make through /hc/) says nothing
 * about it, nor does one request that timed out over the connection. */
static void mark(const char *key, void *value, void *arg)
{
    (void)key;
    list_ctx_t *x = arg;
    gw_device_t *d = value;
    if (!d->resolved || !coap_addr_equal(&d->addr, x->addr)) return;
    if (d->via_conn && (!x->ok || !d->online)) return;
    d->online = x->ok;
    if (x->ok) d->last_seen = (int64_t)time(NULL);
}

static void mark_closed(const char *key, void *value, void *arg)
{
    (void)key;
    list_ctx_t *x = arg;
    gw_device_t *d = value;
    int tls = !strncmp(d->uri, "coaps+tcp://", 12);
    if (d->via_conn && tls == x->ok && coap_addr_equal(&d->addr, x->addr)) d->online = 0;
}

void gw_devices_mark(gw_t *gw, const coap_addr_t *addr, int ok)
{
    list_ctx_t x = {.addr = addr, .ok = ok};
    if (gw->devices) gw_strmap_each(gw->devices, mark, &x);
}

void gw_devices_conn_closed(gw_t *gw, const coap_addr_t *addr, int tls)
{
    list_ctx_t x = {.addr = addr, .ok = tls};
    if (gw->devices) gw_strmap_each(gw->devices, mark_closed, &x);
}

static void match_addr(const char *key, void *value, void *arg)
{
    (void)key;
    list_ctx_t *x = arg;
    gw_device_t *d = value;
    if (!x->found && d->resolved && coap_addr_equal(&d->addr, x->addr)) x->found = d;
}

gw_device_t *gw_device_by_addr(gw_t *gw, const coap_addr_t *addr)
{
    list_ctx_t x = {.addr = addr};
    if (gw->devices) gw_strmap_each(gw->devices, match_addr, &x);
    return x.found;
}
