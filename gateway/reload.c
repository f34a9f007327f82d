/*
 * reload.c - building the configuration from its sources, and SIGHUP: the
 * same sources read again and applied without dropping connections or
 * observations.
 *
 * A reload builds everything new aside (configuration, target allowlist,
 * origin allowlist, device table) and swaps it in only when all of it
 * validated, so a bad file changes nothing. What the running sockets and
 * tables were sized with (listen addresses, cache size, ...) stays until a
 * restart, and the log says so.
 */
#include "gw.h"
#include "gw_auth.h"
#include "gw_clients.h"
#include "gw_coaps.h"
#include "gw_config.h"
#include "gw_dtls.h"
#include "gw_forward.h"
#include "gw_groups.h"
#include "gw_hub.h"
#include "gw_ids.h"
#include "gw_limits.h"
#include "gw_rd.h"
#include "gw_reverse.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const gw_sources_t *sources;

static const char *env_get(const char *name, void *arg)
{
    (void)arg;
    return getenv(name);
}

int gw_config_build(cfg_t *c, const gw_sources_t *src, char *err, size_t errlen)
{
    cfg_defaults(c);
    int rc = src->file ? cfg_load_file(c, src->file, err, errlen) : 0;
    if (!rc) rc = cfg_apply_env(c, env_get, NULL, err, errlen);
    for (size_t i = 0; !rc && i < src->nset; i++) {
        const gw_setting_t *s = &src->set[i];
        rc = cfg_set(c, s->key, s->value, s->mode, s->flag, err, errlen);
    }
    if (!rc) rc = cfg_check_consistency(c, err, errlen);
    if (rc) cfg_free(c);
    return rc;
}

void gw_reload_sources(const gw_sources_t *src)
{
    sources = src;
}

/* A listener beyond loopback: a plain one, or an HTTPS one that does not
 * ask for client certificates (mutual TLS authenticates its clients). */
static int open_beyond_loopback(const char *listen, int authenticated)
{
    return !cfg_listen_off(listen) && !cfg_listen_is_loopback(listen) && !authenticated;
}

void gw_config_warn_open(const gw_t *gw)
{
    const cfg_t *c = &gw->cfg;
    int plain = open_beyond_loopback(c->http_listen, 0);
    if (c->ntokens || (!plain && !open_beyond_loopback(c->http_listen_tls, *c->tls_client_ca)))
        return;
    gw_log(CFG_LOG_WARN,
           "%s listens on %s beyond loopback and no access token is configured: anyone who "
           "reaches it can use every device (add \"tokens\", see docs/configuration.md)",
           plain ? "HTTP" : "HTTPS", plain ? c->http_listen : c->http_listen_tls);
}

static int lists_differ(const cfg_list_t *a, const cfg_list_t *b)
{
    if (a->n != b->n) return 1;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i], b->v[i])) return 1;
    return 0;
}

/* Settings the running gateway was built with: the new value waits for a
 * restart, the old one stays in gw->cfg so that it tells the truth. */
static void keep_restart_only(const cfg_t *now, cfg_t *next)
{
    static const struct {
        const char *key;
        size_t off;
        int is_string;
    } keys[] = {
        {"http.listen", offsetof(cfg_t, http_listen), 1},
        {"http.listen_tls", offsetof(cfg_t, http_listen_tls), 1},
        {"http.tls_client_ca", offsetof(cfg_t, tls_client_ca), 1},
        {"coap.listen", offsetof(cfg_t, coap_listen), 1},
        {"coap.listen_dtls", offsetof(cfg_t, coap_listen_dtls), 1},
        {"coap.listen_tcp", offsetof(cfg_t, coap_listen_tcp), 1},
        {"coap.listen_tls", offsetof(cfg_t, coap_listen_tls), 1},
        {"state.path", offsetof(cfg_t, state_path), 1},
        {"state.redis", offsetof(cfg_t, state_redis), 1},
        {"cluster.advertise", offsetof(cfg_t, cluster_advertise), 1},
        {"cluster.token", offsetof(cfg_t, cluster_token), 1},
        {"http.conn_memory", offsetof(cfg_t, conn_memory), 0},
        {"http.max_connections_per_ip", offsetof(cfg_t, max_conn_per_ip), 0},
        {"http.max_connections", offsetof(cfg_t, max_connections), 0},
        {"http.idle_timeout_s", offsetof(cfg_t, idle_timeout_s), 0},
        {"coap.nstart", offsetof(cfg_t, nstart), 0},
        {"proxy.max_body_bytes", offsetof(cfg_t, max_body), 0},
        {"cache.max_entries", offsetof(cfg_t, cache_max_entries), 0},
        {"cache.max_bytes", offsetof(cfg_t, cache_max_bytes), 0},
        {"dtls.max_sessions", offsetof(cfg_t, dtls_max_sessions), 0},
        {"dtls.max_handshakes", offsetof(cfg_t, dtls_max_handshakes), 0},
        {"dtls.idle_s", offsetof(cfg_t, dtls_idle_s), 0},
        {"dtls.handshakes_per_s", offsetof(cfg_t, dtls_handshakes_per_s), 0},
        {"coap.tcp_max_connections", offsetof(cfg_t, tcp_max_connections), 0},
        {"coap.tcp_max_connections_per_ip", offsetof(cfg_t, tcp_max_per_ip), 0},
        {"coap.tcp_idle_s", offsetof(cfg_t, tcp_idle_s), 0},
    };
    /* HTTPS stays on until a restart: so do the certificate and key it
     * reloads, when the new configuration drops them with it */
    if (!cfg_listen_off(now->http_listen_tls) && cfg_listen_off(next->http_listen_tls)) {
        cfg_set_string(&next->tls_cert, now->tls_cert);
        cfg_set_string(&next->tls_key, now->tls_key);
    }
    /* so do the DTLS and TLS listeners, with their credentials and identities */
    if ((!cfg_listen_off(now->coap_listen_dtls) && cfg_listen_off(next->coap_listen_dtls)) ||
        (!cfg_listen_off(now->coap_listen_tls) && cfg_listen_off(next->coap_listen_tls))) {
        cfg_set_string(&next->dtls_cert, now->dtls_cert);
        cfg_set_string(&next->dtls_key, now->dtls_key);
        cfg_set_string(&next->dtls_client_ca, now->dtls_client_ca);
        cfg_set_string(&next->dtls_rpk_key, now->dtls_rpk_key);
        cfg_set_identities(next, now);
    }
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *a = (const char *)now + keys[i].off;
        char *b = (char *)next + keys[i].off;
        const char *sa = keys[i].is_string ? *(char *const *)a : NULL;
        const char *sb = keys[i].is_string ? *(char **)b : NULL;
        int changed = keys[i].is_string ? (sa && sb ? strcmp(sa, sb) != 0 : sa != sb)
                                        : *(const uint32_t *)a != *(uint32_t *)b;
        if (!changed) continue;
        gw_log(CFG_LOG_WARN, "reload: %s changed: takes effect after a restart", keys[i].key);
        if (keys[i].is_string)
            cfg_set_string((char **)b, sa);
        else
            *(uint32_t *)b = *(const uint32_t *)a;
    }
    if (lists_differ(&now->dns_servers, &next->dns_servers)) { /* the resolver's channel */
        gw_log(CFG_LOG_WARN, "reload: dns.servers changed: takes effect after a restart");
        cfg_list_free(&next->dns_servers);
        for (size_t i = 0; i < now->dns_servers.n; i++)
            cfg_list_add(&next->dns_servers, now->dns_servers.v[i]);
    }
    if (now->cache_enabled != next->cache_enabled || now->rd_enabled != next->rd_enabled)
        gw_log(CFG_LOG_WARN, "reload: %s changed: takes effect after a restart",
               now->cache_enabled != next->cache_enabled ? "cache.enabled" : "rd.enabled");
    next->cache_enabled = now->cache_enabled;
    next->rd_enabled = now->rd_enabled;
}

/* The target allowlist: the safe defaults plus the configured entries
 * (devices add their own addresses when the table is rebuilt). */
static gw_acl_t *build_acl(const cfg_t *c, char *err, size_t errlen)
{
    gw_acl_t *acl = gw_acl_new();
    if (!acl) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    gw_acl_add_defaults(acl);
    for (size_t i = 0; i < c->allow_targets.n; i++) {
        if (gw_acl_add(acl, c->allow_targets.v[i])) {
            snprintf(err, errlen, "bad allowlist entry \"%s\"", c->allow_targets.v[i]);
            gw_acl_free(acl);
            return NULL;
        }
    }
    return acl;
}

/* Swaps next (and its identities) in; on failure everything is as it
 * was. */
static int apply(gw_t *gw, cfg_t *next, gw_ids_t *ids, char *err, size_t errlen)
{
    gw_acl_t *acl = build_acl(next, err, errlen);
    if (!acl) return -1;
    gw_acl_t *clients = gw_clients_build(next, err, errlen);
    if (!clients) {
        gw_acl_free(acl);
        return -1;
    }
    if (gw->reverse && gw_reverse_set_origins(gw->reverse, next->allow_origins.v,
                                              next->allow_origins.n, err, errlen)) {
        gw_acl_free(acl);
        gw_acl_free(clients);
        return -1;
    }
    cfg_t old = gw->cfg;
    gw_acl_t *old_acl = gw->acl, *old_clients = gw->coap_clients;
    gw_ids_t *old_ids = gw->ids;
    gw->cfg = *next;
    gw->acl = acl;
    gw->coap_clients = clients;
    gw->ids = ids;
    if (gw_devices_reload(gw, err, errlen)) {
        gw->cfg = old;
        gw->acl = old_acl;
        gw->coap_clients = old_clients;
        gw->ids = old_ids;
        gw_acl_free(acl);
        gw_acl_free(clients);
        if (gw->reverse) { /* the old list was valid: it goes back in */
            char ignored[64];
            gw_reverse_set_origins(gw->reverse, old.allow_origins.v, old.allow_origins.n, ignored,
                                   sizeof ignored);
        }
        return -1;
    }
    /* Only configured devices widen the allowlist (gw_devices_reload added
     * them); a registration never does, and one the new list (or the new
     * identities) no longer allows goes. */
    gw_rd_reloaded(gw->rd);
    coap_server_t *servers[4] = {gw->srv, gw->dtls_srv, gw->tcp_srv, gw->tls_srv};
    for (int i = 0; i < 4; i++)
        if (servers[i])
            coap_server_set_upload_limits(servers[i], gw->cfg.max_uploads,
                                          gw->cfg.max_uploads_per_peer);
    gw_limits_apply(gw); /* for new requests; those in flight go on */
    gw_ids_free(old_ids);
    gw_acl_free(old_acl);
    gw_acl_free(old_clients);
    cfg_free(&old);
    return 0;
}

/* Whether an open stream's target passes the configuration in force
 * (gw_stream_check_t): 404 when the device it named is gone; 403 when
 * the allowlist refuses its address now (a device's old address too, once
 * its entry moved). uri NULL: a relayed stream, its device only. */
static unsigned stream_refused(void *arg, const char *uri, const char *device, char *msg,
                               size_t cap)
{
    gw_t *gw = arg;
    gw_target_t now;
    const gw_device_t *d = device ? gw_device_find(gw, device) : NULL;
    if (device && !d) return snprintf(msg, cap, "device %s was removed", device), 404;
    if (!uri) return 0;
    int rc = d ? gw_target_of_device(gw, d, uri, &now, msg, cap)
               : gw_target_parse(gw, uri, &now, msg, cap);
    return rc == 403 ? 403 : 0;
}

/* Open event streams against the new configuration: their tokens (a
 * reload that removes one ends its streams), then their devices and
 * targets. */
static void recheck_streams(gw_t *gw)
{
    size_t gone, refused = 0;
    size_t revoked = gw->hub ? gw_hub_revoke(gw->hub, gw_auth_still_valid, gw) : 0;
    revoked += gw_groups_revoke(gw, gw_auth_still_valid, gw, &gone);
    revoked += gw_forward_revoke(gw->forward, gw_auth_still_valid, gw); /* relayed streams */
    if (gw->hub) refused = gw_hub_recheck(gw->hub, stream_refused, gw);
    refused += gw_forward_recheck(gw->forward, stream_refused, gw);
    if (revoked) gw_log(CFG_LOG_INFO, "reload: %zu event stream(s) closed: token revoked", revoked);
    if (gone)
        gw_log(CFG_LOG_INFO, "reload: %zu event stream(s) closed: group removed or not allowed",
               gone);
    if (refused)
        gw_log(CFG_LOG_INFO,
               "reload: %zu event stream(s) closed: device removed or target not allowed", refused);
}

void gw_reload(gw_t *gw)
{
    char err[1024];
    cfg_t next;
    if (!sources) {
        gw_log(CFG_LOG_WARN, "SIGHUP: nothing to reload from");
        return;
    }
    gw_log(CFG_LOG_INFO, "SIGHUP: reloading the configuration%s%s", sources->file ? " from " : "",
           sources->file ? sources->file : "");
    if (gw_config_build(&next, sources, err, sizeof err)) {
        gw_log(CFG_LOG_ERROR, "reload refused: %s", err);
        return;
    }
    keep_restart_only(&gw->cfg, &next);
    /* the certificate and key files, read again: for new connections (and
     * new DTLS handshakes, with the identities' keys); the credentials
     * for coaps:// devices too: for new sessions */
    http_tls_creds_t *tls = NULL;
    dtls_creds_t *dtls = NULL;
    gw_ids_t *ids = NULL;
    gw_creds_t *creds = NULL;
    if ((gw->https && gw_https_load(&next, &tls, err, sizeof err)) ||
        gw_dtls_load(&next, &dtls, &ids, err, sizeof err) ||
        !(creds = gw_creds_load(&next, err, sizeof err)) ||
        apply(gw, &next, ids, err, sizeof err)) {
        gw_log(CFG_LOG_ERROR, "reload refused: %s", err);
        http_tls_creds_release(tls);
        dtls_creds_unref(dtls);
        gw_ids_free(ids);
        gw_creds_free(creds);
        cfg_free(&next);
        return;
    }
    gw_dtls_set_creds(gw, dtls);
    dtls_creds_unref(dtls);
    gw_coaps_set_creds(gw, creds);
    gw_coaps_warn(&gw->cfg, "reload: ");
    if (tls) {
        http_server_set_tls(gw->https, tls);
        gw_https_log("reload: ", tls);
        http_tls_creds_release(tls);
    }
    gw_log_set_level(gw->cfg.log_level);
    gw_log_set_format(gw->cfg.log_format);
    if (gw->hub) { /* sse.*: for streams opened from now on */
        gw_hub_params_t limits = gw_hub_params_from_cfg(&gw->cfg);
        gw_hub_set_params(gw->hub, &limits);
    }
    recheck_streams(gw); /* new requests see the new configuration at once */
    gw_log(CFG_LOG_INFO,
           "configuration reloaded: %zu devices, %zu allowed targets, %zu allowed origins, %zu "
           "tokens, %zu credentials, %zu DTLS identities",
           gw->cfg.ndevices, gw->cfg.allow_targets.n, gw->cfg.allow_origins.n, gw->cfg.ntokens,
           gw->cfg.ncreds, gw_ids_count(gw->ids));
    gw_config_warn_open(gw);
}
