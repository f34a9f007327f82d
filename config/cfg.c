/*
 * cfg.c - coapgw's configuration: the key table, defaults, deep copies and
 * the messages every loader shares.
 *
 * One table lists every key with its kind and range; the JSON loader
 * (cfg_json.c) and the text form of environment variables and flags
 * (cfg_env.c) both read it, so a key exists in all three or in none.
 */
#include "cfg_int.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F(field) offsetof(cfg_t, field)

/* Documentation order. Ranges: large enough for any real deployment,
 * small enough that a typo (an extra zero or three) is caught. */
const cfg_key_t cfg_keys[] = {
    {"http.listen", CFG_K_STRING, F(http_listen), 0, 0, cfg_check_listen_or_off},
    {"http.listen_tls", CFG_K_STRING, F(http_listen_tls), 0, 0, cfg_check_listen_or_off},
    {"http.tls_cert", CFG_K_STRING, F(tls_cert), 0, 0, cfg_check_file},
    {"http.tls_key", CFG_K_STRING, F(tls_key), 0, 0, cfg_check_file},
    {"http.tls_client_ca", CFG_K_STRING, F(tls_client_ca), 0, 0, cfg_check_file},
    {"http.conn_memory", CFG_K_UINT, F(conn_memory), 4096, 1048576, NULL},
    {"http.allowed_hosts", CFG_K_LIST, F(allowed_hosts), 0, 0, cfg_check_host_pattern},
    {"http.trusted_origins", CFG_K_LIST, F(trusted_origins), 0, 0, cfg_check_web_origin},
    {"http.header_timeout_ms", CFG_K_UINT, F(header_timeout_ms), 100, 600000, NULL},
    {"http.max_connections_per_ip", CFG_K_UINT, F(max_conn_per_ip), 1, 1000000, NULL},
    {"http.max_connections", CFG_K_UINT, F(max_connections), 1, 1000000, NULL},
    {"http.idle_timeout_s", CFG_K_UINT, F(idle_timeout_s), 1, 86400, NULL},
    {"http.inline_active_content", CFG_K_BOOL, F(inline_active_content), 0, 1, NULL},
    {"coap.listen", CFG_K_STRING, F(coap_listen), 0, 0, cfg_check_listen},
    {"coap.listen_dtls", CFG_K_STRING, F(coap_listen_dtls), 0, 0, cfg_check_listen_or_off},
    {"coap.listen_tcp", CFG_K_STRING, F(coap_listen_tcp), 0, 0, cfg_check_listen_or_off},
    {"coap.listen_tls", CFG_K_STRING, F(coap_listen_tls), 0, 0, cfg_check_listen_or_off},
    {"coap.tcp_max_connections", CFG_K_UINT, F(tcp_max_connections), 1, 1000000, NULL},
    {"coap.tcp_max_connections_per_ip", CFG_K_UINT, F(tcp_max_per_ip), 1, 1000000, NULL},
    {"coap.tcp_idle_s", CFG_K_UINT, F(tcp_idle_s), 1, 86400, NULL},
    {"coap.nstart", CFG_K_UINT, F(nstart), 1, 255, NULL}, /* RFC 7252 §4.7 */
    {"coap.max_uploads", CFG_K_UINT, F(max_uploads), 1, 65536, NULL},
    {"coap.max_uploads_per_peer", CFG_K_UINT, F(max_uploads_per_peer), 1, 65536, NULL},
    {"coap.max_exchanges", CFG_K_UINT, F(max_exchanges), 1, 1000000, NULL},
    {"coap.max_pending_per_peer", CFG_K_UINT, F(max_pending_per_peer), 1, 65536, NULL},
    {"dns.servers", CFG_K_LIST, F(dns_servers), 0, 0, cfg_check_dns_server},
    {"dtls.cert", CFG_K_STRING, F(dtls_cert), 0, 0, cfg_check_file},
    {"dtls.key", CFG_K_STRING, F(dtls_key), 0, 0, cfg_check_file},
    {"dtls.client_ca", CFG_K_STRING, F(dtls_client_ca), 0, 0, cfg_check_file},
    {"dtls.rpk_key", CFG_K_STRING, F(dtls_rpk_key), 0, 0, cfg_check_file},
    {"dtls.identities", CFG_K_IDENTITIES, 0, 0, 0, NULL},
    {"dtls.max_sessions", CFG_K_UINT, F(dtls_max_sessions), 1, 1000000, NULL},
    {"dtls.max_handshakes", CFG_K_UINT, F(dtls_max_handshakes), 1, 100000, NULL},
    {"dtls.idle_s", CFG_K_UINT, F(dtls_idle_s), 1, 86400, NULL},
    {"dtls.handshakes_per_s", CFG_K_UINT, F(dtls_handshakes_per_s), 1, 100000, NULL},
    {"devices", CFG_K_DEVICES, 0, 0, 0, NULL},
    {"groups", CFG_K_GROUPS, 0, 0, 0, NULL},
    {"credentials", CFG_K_CREDS, 0, 0, 0, NULL},
    {"proxy.allow_targets", CFG_K_LIST, F(allow_targets), 0, 0, cfg_check_target},
    {"proxy.allow_origins", CFG_K_LIST, F(allow_origins), 0, 0, cfg_check_origin},
    {"proxy.coap_clients", CFG_K_LIST, F(coap_clients), 0, 0, cfg_check_cidr},
    {"proxy.coap_clients_trusted", CFG_K_BOOL, F(coap_clients_trusted), 0, 1, NULL},
    {"proxy.timeout_ms", CFG_K_UINT, F(timeout_ms), 1, 600000, NULL},
    {"proxy.max_body_bytes", CFG_K_UINT, F(max_body), 1, 67108864, NULL},
    {"proxy.max_redirects", CFG_K_UINT, F(max_redirects), 0, 20, NULL},
    {"cache.enabled", CFG_K_BOOL, F(cache_enabled), 0, 1, NULL},
    {"cache.max_entries", CFG_K_UINT, F(cache_max_entries), 0, 10000000, NULL},
    {"cache.max_bytes", CFG_K_UINT, F(cache_max_bytes), 1024, 4294967295LL, NULL},
    {"sse.max_subscribers", CFG_K_UINT, F(max_subscribers), 1, 1000000, NULL},
    {"sse.queue_events", CFG_K_UINT, F(sse_queue), 1, 65536, NULL},
    {"sse.max_observations", CFG_K_UINT, F(max_observations), 1, 1000000, NULL},
    {"sse.max_per_target", CFG_K_UINT, F(sse_max_per_target), 1, 1000000, NULL},
    {"sse.retry_ms", CFG_K_UINT, F(sse_retry_ms), 100, 3600000, NULL},
    {"rd.enabled", CFG_K_BOOL, F(rd_enabled), 0, 1, NULL},
    {"rd.max_registrations", CFG_K_UINT, F(rd_max_registrations), 0, 1000000, NULL},
    {"rd.max_links_bytes", CFG_K_UINT, F(rd_max_links_bytes), 64, 1048576, NULL},
    {"rd.max_lifetime_s", CFG_K_UINT, F(rd_max_lifetime_s), 60, 4294967295LL, NULL},
    {"rd.max_per_source", CFG_K_UINT, F(rd_max_per_source), 1, 1000000, NULL},
    {"discovery.refresh_s", CFG_K_UINT, F(discovery_refresh_s), 1, 604800, NULL},
    {"discovery.multicast", CFG_K_BOOL, F(discovery_multicast), 0, 1, NULL},
    {"discovery.interfaces", CFG_K_LIST, F(discovery_interfaces), 0, 0, cfg_check_ifname},
    {"discovery.groups", CFG_K_LIST, F(discovery_groups), 0, 0, cfg_check_multicast},
    {"discovery.period_s", CFG_K_UINT, F(discovery_period_s), 10, 86400, NULL},
    {"discovery.window_ms", CFG_K_UINT, F(discovery_window_ms), 100, 60000, NULL}, /* §8.2 */
    {"discovery.query", CFG_K_STRING, F(discovery_query), 0, 0, cfg_check_link_filter},
    {"discovery.offline_after", CFG_K_UINT, F(discovery_offline_after), 1, 1000, NULL},
    {"discovery.drop_after", CFG_K_UINT, F(discovery_drop_after), 1, 1000, NULL},
    {"tokens", CFG_K_TOKENS, 0, 0, 0, NULL},
    {"log.level", CFG_K_LEVEL, F(log_level), 0, 0, NULL},
    {"log.format", CFG_K_FORMAT, F(log_format), 0, 0, NULL},
    {"shutdown.grace_ms", CFG_K_UINT, F(shutdown_grace_ms), 0, 600000, NULL},
    {"state.path", CFG_K_STRING, F(state_path), 0, 0, cfg_check_file},
    {"state.redis", CFG_K_STRING, F(state_redis), 0, 0, cfg_check_redis},
    {"cluster.advertise", CFG_K_STRING, F(cluster_advertise), 0, 0, cfg_check_advertise},
    {"cluster.token", CFG_K_STRING, F(cluster_token), 0, 0, cfg_check_cluster_token},
};
const size_t cfg_nkeys = sizeof cfg_keys / sizeof cfg_keys[0];

const cfg_key_t *cfg_key_find(const char *key)
{
    for (size_t i = 0; key && i < cfg_nkeys; i++)
        if (!strcmp(cfg_keys[i].key, key)) return &cfg_keys[i];
    return NULL;
}

size_t cfg_key_count(void)
{
    return cfg_nkeys;
}

const char *cfg_key_name(size_t i)
{
    return i < cfg_nkeys ? cfg_keys[i].key : NULL;
}

const char *cfg_env_name(const char *key, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "COAPGW_%s", key);
    for (size_t i = 7; i < n && i < cap; i++)
        buf[i] =
            buf[i] == '.' ? '_' : (char)(buf[i] >= 'a' && buf[i] <= 'z' ? buf[i] - 32 : buf[i]);
    return buf;
}

/* --- key paths and messages --- */

void cfg_path_key(cfg_path_t *p, const char *key)
{
    if (p->n < CFG_PATH_MAX) p->key[p->n++] = key;
}

void cfg_path_index(cfg_path_t *p, size_t index)
{
    if (p->n < CFG_PATH_MAX) {
        p->key[p->n] = NULL;
        p->index[p->n++] = index;
    }
}

const char *cfg_path_str(const cfg_path_t *p, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < p->n && used < cap; i++) {
        int n = p->key[i] ? snprintf(buf + used, cap - used, "%s%s", i ? "." : "", p->key[i])
                          : snprintf(buf + used, cap - used, "[%zu]", p->index[i]);
        if (n < 0) break;
        used += (size_t)n;
    }
    return buf;
}

/* Messages end up on one log line: a key or value written with \n or other
 * control characters in the JSON must not break it. */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7F) *s = '?';
}

int cfg_fail(cfg_ctx_t *x, const cfg_path_t *p, const char *fmt, ...)
{
    if (!x->err || x->errlen == 0) return -1;
    char where[64] = "", path[300] = "";
    int line, col;
    if (p && x->text && !cfg_locate(x->text, x->len, p, &line, &col))
        snprintf(where, sizeof where, ":%d:%d", line, col);
    if (p && p->n) {
        cfg_path_str(p, path, sizeof path - 2);
        strcat(path, ": ");
    }
    int n = snprintf(x->err, x->errlen, "%s%s: %s", x->name, where, path);
    if (n >= 0 && (size_t)n < x->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    one_line(x->err);
    return -1;
}

/* --- lists, devices, tokens --- */

int cfg_set_string(char **field, const char *value)
{
    if (!field || !value) return -1;
    char *s = strdup(value);
    if (!s) return -1;
    free(*field);
    *field = s;
    return 0;
}

int cfg_list_add(cfg_list_t *l, const char *item)
{
    if (!l || !item) return -1;
    char *s = strdup(item);
    char **v = s ? realloc(l->v, (l->n + 1) * sizeof *v) : NULL;
    if (!v) {
        free(s);
        return -1;
    }
    v[l->n++] = s;
    l->v = v;
    return 0;
}

void cfg_list_free(cfg_list_t *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int cfg_add_allow_target(cfg_t *c, const char *pattern)
{
    return c ? cfg_list_add(&c->allow_targets, pattern) : -1;
}

int cfg_add_allow_origin(cfg_t *c, const char *pattern)
{
    return c ? cfg_list_add(&c->allow_origins, pattern) : -1;
}

void cfg_free_devices(cfg_device_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(d[i].name);
        free(d[i].uri);
    }
    free(d);
}

void cfg_free_tokens(cfg_token_t *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* a secret: not left behind in freed memory */
        if (t[i].token) memset(t[i].token, 0, strlen(t[i].token));
        free(t[i].token);
        free(t[i].name);
    }
    free(t);
}

int cfg_device_put(cfg_t *c, const char *name, const char *uri)
{
    char *u = strdup(uri);
    if (!u) return -1;
    for (size_t i = 0; i < c->ndevices; i++) {
        if (!strcmp(c->devices[i].name, name)) {
            free(c->devices[i].uri);
            c->devices[i].uri = u;
            return 0;
        }
    }
    char *n = strdup(name);
    cfg_device_t *d = n ? realloc(c->devices, (c->ndevices + 1) * sizeof *d) : NULL;
    if (!d) {
        free(n);
        free(u);
        return -1;
    }
    d[c->ndevices].name = n;
    d[c->ndevices].uri = u;
    c->devices = d;
    c->ndevices++;
    return 0;
}

int cfg_token_add(cfg_t *c, const char *token, int write, const char *name)
{
    char *t = strdup(token), *n = name ? strdup(name) : NULL;
    cfg_token_t *v = t && (n || !name) ? realloc(c->tokens, (c->ntokens + 1) * sizeof *v) : NULL;
    if (!v) {
        free(t);
        free(n);
        return -1;
    }
    v[c->ntokens] = (cfg_token_t){.token = t, .name = n, .write = write};
    c->tokens = v;
    c->ntokens++;
    return 0;
}

long cfg_token_duplicate(const cfg_t *c, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (!strcmp(c->tokens[j].token, c->tokens[i].token)) return (long)j;
    return -1;
}

/* --- the struct --- */

/* The field of a CFG_K_STRING key. */
static char **string_field(const cfg_t *c, const cfg_key_t *k)
{
    return (char **)((char *)(uintptr_t)c + k->off);
}

void cfg_free(cfg_t *c)
{
    if (!c) return;
    cfg_free_devices(c->devices, c->ndevices);
    for (size_t i = 0; i < cfg_nkeys; i++) {
        if (cfg_keys[i].kind == CFG_K_STRING) free(*string_field(c, &cfg_keys[i]));
        if (cfg_keys[i].kind == CFG_K_LIST)
            cfg_list_free((cfg_list_t *)((char *)c + cfg_keys[i].off));
    }
    cfg_free_tokens(c->tokens, c->ntokens);
    cfg_free_creds(c->creds, c->ncreds);
    cfg_groups_free(c->groups, c->ngroups);
    cfg_ids_free(c->identities, c->nidentities);
    /* zeroed, so a second cfg_free is harmless */
    memset(c, 0, sizeof *c);
}

void cfg_defaults(cfg_t *c)
{
    memset(c, 0, sizeof *c);
    c->http_listen = strdup("0.0.0.0:8080");
    c->http_listen_tls = strdup("off");
    c->conn_memory = 16384;
    c->coap_listen = strdup("0.0.0.0:5683");
    /* off: a DTLS listener needs credentials (dtls.*) */
    c->coap_listen_dtls = strdup("off");
    /* off: a new listener is a new surface, and every test's gateway
     * would collide on TCP 5683 */
    c->coap_listen_tcp = strdup("off");
    /* off: like coap.listen_dtls, it needs the dtls.* credentials */
    c->coap_listen_tls = strdup("off");
    c->tcp_max_connections = 1000, c->tcp_idle_s = 120; /* the TCP transport's defaults */
    /* one address cannot hold every slot, yet a NAT's devices fit */
    c->tcp_max_per_ip = 64;
    /* the Docker image's volume; "" keeps state in memory only */
    c->state_path = strdup("/var/lib/coapgw/state.db");
    /* every other string (the files of http.tls_* and dtls.*): none */
    for (size_t i = 0; i < cfg_nkeys; i++)
        if (cfg_keys[i].kind == CFG_K_STRING && !*string_field(c, &cfg_keys[i]))
            *string_field(c, &cfg_keys[i]) = strdup("");
    /* the DTLS listener's limits: the transport's own defaults (dtls.h) */
    c->dtls_max_sessions = 10000, c->dtls_max_handshakes = 256;
    c->dtls_idle_s = 300, c->dtls_handshakes_per_s = 10;
    c->nstart = 1;
    c->timeout_ms = 10000;
    c->max_body = 1048576;
    c->max_redirects = 0;
    c->cache_enabled = 1;
    c->cache_max_entries = 10000;
    c->cache_max_bytes = 67108864;
    c->log_level = CFG_LOG_INFO;
    c->log_format = CFG_LOG_TEXT;
    c->header_timeout_ms = 10000;
    c->max_conn_per_ip = 128;
    c->max_uploads = 64;
    c->max_uploads_per_peer = 4;
    c->max_subscribers = 20000;
    c->sse_queue = 64;
    c->max_observations = 1024;
    c->rd_enabled = 1;
    c->rd_max_registrations = 256;
    c->rd_max_links_bytes = 4096;
    c->rd_max_lifetime_s = 604800;
    c->rd_max_per_source = 16;
    c->discovery_refresh_s = 300;
    /* multicast discovery: off; when on, the All-CoAP-Nodes groups of
     * RFC 7252 §12.8 (IPv4, IPv6 link-local) every 5 minutes */
    c->discovery_period_s = 300;
    c->discovery_window_ms = 3000;
    c->discovery_offline_after = 2;
    c->discovery_drop_after = 6;
    cfg_list_add(&c->discovery_groups, "224.0.1.187");
    cfg_list_add(&c->discovery_groups, "ff02::fd");
    c->shutdown_grace_ms = 1000;
    c->max_connections = 20000;
    c->idle_timeout_s = 60;
    c->max_exchanges = 4096;
    c->max_pending_per_peer = 64;
    c->sse_max_per_target = 1000;
    c->sse_retry_ms = 3000;
    /* out of memory leaves no device: never a device with a NULL name */
    cfg_device_put(c, "demo", "coap://127.0.0.1:5783");
    /* the CoAP forward proxy serves this host only (docs/security.md) */
    cfg_list_add(&c->coap_clients, "127.0.0.0/8");
    cfg_list_add(&c->coap_clients, "::1");
}

/* Deep copy, so a failed load can be thrown away. */
int cfg_copy(cfg_t *dst, const cfg_t *src)
{
    *dst = *src;
    dst->devices = NULL;
    dst->tokens = NULL;
    dst->creds = NULL;
    dst->identities = NULL;
    dst->groups = NULL;
    dst->ngroups = 0;
    dst->ndevices = dst->ntokens = dst->ncreds = dst->nidentities = 0;
    for (size_t i = 0; i < cfg_nkeys; i++) {
        if (cfg_keys[i].kind == CFG_K_STRING) *string_field(dst, &cfg_keys[i]) = NULL;
        if (cfg_keys[i].kind == CFG_K_LIST)
            *(cfg_list_t *)((char *)dst + cfg_keys[i].off) = (cfg_list_t){0};
    }
    for (size_t i = 0; i < cfg_nkeys; i++) {
        const char *from =
            cfg_keys[i].kind == CFG_K_STRING ? *string_field(src, &cfg_keys[i]) : NULL;
        if (from && !(*string_field(dst, &cfg_keys[i]) = strdup(from))) return -1;
    }
    for (size_t i = 0; i < src->ndevices; i++)
        if (cfg_device_put(dst, src->devices[i].name, src->devices[i].uri)) return -1;
    for (size_t k = 0; k < cfg_nkeys; k++) {
        if (cfg_keys[k].kind != CFG_K_LIST) continue;
        const cfg_list_t *from = (const cfg_list_t *)((const char *)src + cfg_keys[k].off);
        cfg_list_t *to = (cfg_list_t *)((char *)dst + cfg_keys[k].off);
        for (size_t i = 0; i < from->n; i++)
            if (cfg_list_add(to, from->v[i])) return -1;
    }
    for (size_t i = 0; i < src->ntokens; i++)
        if (cfg_token_add(dst, src->tokens[i].token, src->tokens[i].write, src->tokens[i].name))
            return -1;
    if (cfg_creds_copy(dst, src) || cfg_groups_copy(dst, src)) return -1;
    return cfg_ids_copy(dst, src);
}

int cfg_check_consistency(const cfg_t *c, char *err, size_t errlen)
{
    if (cfg_check_https(c, err, errlen) || cfg_check_creds_files(c, err, errlen) ||
        cfg_check_dtls(c, err, errlen))
        return -1;
    if (c->discovery_drop_after < c->discovery_offline_after) {
        snprintf(err, errlen,
                 "discovery.drop_after (%u) is below discovery.offline_after (%u): a responder "
                 "would be dropped before it shows offline",
                 c->discovery_drop_after, c->discovery_offline_after);
        return -1;
    }
    if (!c->ntokens || c->coap_clients_trusted) return 0;
    for (size_t i = 0; i < c->coap_clients.n; i++) {
        if (cfg_cidr_is_loopback(c->coap_clients.v[i])) continue;
        snprintf(err, errlen,
                 "proxy.coap_clients: \"%.64s\" reaches beyond loopback while tokens are "
                 "configured; the CoAP forward proxy takes no tokens and would bypass them "
                 "(set proxy.coap_clients_trusted to true if these clients are trusted, or "
                 "narrow proxy.coap_clients)",
                 c->coap_clients.v[i]);
        return -1;
    }
    return 0;
}
