/*
 * coaps.c - the gateway as a DTLS client (gw_coaps.h): coaps://
 * targets go out through a second client endpoint on a DTLS transport of
 * the client role only. The CoAP client, Observe and block-wise code are
 * the same on both endpoints; what differs is chosen here:
 *
 *  - Which credentials open a session: the transport asks by peer address
 *    when it starts a handshake (client_creds), while the configuration
 *    names them by device or host. Each request to a coaps:// target
 *    records its entry's credentials for its address just before it is
 *    sent; a handshake with an address never recorded (the record was
 *    dropped to bound the table) falls back to the entry named after the
 *    address itself. Sessions are keyed by address, so two devices with
 *    the same address and port share the session the first one opened.
 *  - DTLS events to the log (a failed handshake at warn, with the peer and
 *    the reason, counted by reason for /metrics: gw_dtls_metrics).
 *
 * Also the one choice of the endpoint that reaches a target
 * (gw_target_ep: a device's own session on the listener, this endpoint,
 * or the UDP one) and the text of a DTLS failure (gw_dtls_why).
 */
#include "gw_coaps.h"
#include "coap_uri.h"

#include <stdlib.h>
#include <string.h>

#define PEERS_MAX 4096 /* addresses remembered with their credentials */

struct gw_coaps {
    gw_t *gw;
    coap_transport_t *tr; /* gw->coaps_ep's, for its counters (the endpoint owns it) */
    gw_strmap_t *peers;   /* "ADDR:PORT" -> dtls_creds_t * (a reference each) */
    gw_dtls_failures_t failed;
};

/* --- which credentials for which peer --- */

static const char *peer_key(const coap_addr_t *peer, char *buf, size_t cap)
{
    coap_addr_t a = *peer;
    coap_addr_unmap(&a);
    return coap_addr_str(&a, buf, cap);
}

static void unref_entry(const char *key, void *value, void *arg)
{
    (void)key;
    (void)arg;
    dtls_creds_unref(value);
}

static void peers_clear(struct gw_coaps *d)
{
    gw_strmap_each(d->peers, unref_entry, NULL); /* the fallback by address serves meanwhile */
    gw_strmap_free(d->peers);
    d->peers = gw_strmap_new();
}

static void remember(struct gw_coaps *d, const coap_addr_t *peer, dtls_creds_t *c)
{
    char key[COAP_ADDR_STRLEN];
    peer_key(peer, key, sizeof key);
    dtls_creds_t *old = d->peers ? gw_strmap_get(d->peers, key) : NULL;
    if (old == c) return;
    if (!old && d->peers && gw_strmap_count(d->peers) >= PEERS_MAX) peers_clear(d);
    if (d->peers && !gw_strmap_set(d->peers, key, dtls_creds_ref(c))) {
        dtls_creds_unref(old);
        return;
    }
    dtls_creds_unref(c); /* not recorded: the fallback by address applies */
}

/* The transport's question when it starts a handshake (dtls.h). */
static dtls_creds_t *client_creds(void *arg, const coap_addr_t *peer)
{
    struct gw_coaps *d = arg;
    return gw_coaps_client_creds(d->gw, peer);
}

dtls_creds_t *gw_coaps_client_creds(void *arg, const coap_addr_t *peer)
{
    gw_t *gw = arg;
    struct gw_coaps *d = gw->coaps;
    char key[COAP_ADDR_STRLEN], host[COAP_ADDR_STRLEN];
    if (!d) return NULL;
    dtls_creds_t *c = d->peers ? gw_strmap_get(d->peers, peer_key(peer, key, sizeof key)) : NULL;
    if (c) return c;
    coap_addr_t a = *peer;
    coap_addr_unmap(&a);
    coap_addr_host(&a, host, sizeof host);
    return gw_creds_get(gw->creds, gw_creds_pick(gw->creds, NULL, host));
}

coap_ep_t *gw_target_ep(gw_t *gw, const gw_target_t *t, int *err)
{
    if (t->ep) return t->ep; /* the device's own session or connection, on a listener */
    if (!t->secure) return t->tcp ? gw->tcp_ep : gw->ep;
    dtls_creds_t *c = gw_creds_get(gw->creds, t->creds);
    if (!c || !gw->coaps) {
        *err = COAP_ERR_DTLS_NO_CREDENTIALS;
        return NULL;
    }
    /* one table for both: coaps:// and coaps+tcp:// at one address and
     * port are the same device's */
    remember(gw->coaps, &t->addr, c);
    return t->tcp ? gw->tls_ep : gw->coaps_ep;
}

/* --- events --- */

static void on_event(void *arg, const dtls_event_t *ev)
{
    struct gw_coaps *d = arg;
    char peer[COAP_ADDR_STRLEN];
    peer_key(ev->peer, peer, sizeof peer);
    const char *who = ev->id ? ev->id->name : NULL;
    const char *as = !ev->id                              ? ""
                     : ev->id->kind == COAP_IDENTITY_PSK  ? ", PSK identity "
                     : ev->id->kind == COAP_IDENTITY_X509 ? ", certificate "
                                                          : ", raw public key ";
    switch (ev->kind) {
    case DTLS_EV_HANDSHAKE_FAILED:
        gw_dtls_count_failure(&d->failed, ev->err);
        gw_log(CFG_LOG_WARN, "dtls: handshake with %s failed: %s (%s)", peer,
               coap_strerror(ev->err), ev->reason);
        break;
    case DTLS_EV_ESTABLISHED:
        gw_log(CFG_LOG_DEBUG, "dtls: session with %s established (%s)%s%s", peer, ev->reason, as,
               who ? who : "");
        break;
    case DTLS_EV_CLOSED:
        gw_log(CFG_LOG_DEBUG, "dtls: session with %s closed: %s", peer, ev->reason);
        break;
    default: /* dropped records and the like: counted by the transport */
        gw_log(CFG_LOG_DEBUG, "dtls: %s: %s", peer, ev->reason);
        break;
    }
}

/* --- life cycle --- */

void gw_coaps_warn(const cfg_t *c, const char *when)
{
    for (size_t i = 0; i < c->ncreds; i++)
        if (c->creds[i].no_verify)
            gw_log(CFG_LOG_WARN,
                   "%scredentials.%s: no_verify: the device's certificate or key is not checked, "
                   "anyone in the path can pose as it (tests and demos only)",
                   when, c->creds[i].key);
}

int gw_coaps_configure(gw_t *gw, char *err, size_t errlen)
{
    gw->creds = gw_creds_load(&gw->cfg, err, errlen);
    if (gw->creds) gw_coaps_warn(&gw->cfg, "");
    return gw->creds ? 0 : -1;
}

/* The handshake gives up before the request does, so that its reason is
 * the answer (a device that drops our Finished under another PSK shows as
 * a handshake with no answer), rather than a 504. */
static uint32_t handshake_timeout(uint32_t request_ms)
{
    uint32_t ms = request_ms / 5 * 4;
    return ms < 100 ? 100 : ms > 20000 ? 20000 : ms;
}

int gw_coaps_start(gw_t *gw, char *err, size_t errlen)
{
    struct gw_coaps *d = calloc(1, sizeof *d);
    if (!d || !(d->peers = gw_strmap_new())) {
        free(d);
        return snprintf(err, errlen, "out of memory"), -1;
    }
    d->gw = gw;
    gw->coaps = d;
    dtls_config_t dc = {.client_creds = client_creds, .event = on_event, .arg = d};
    dc.params.handshake_timeout_ms = handshake_timeout(gw->cfg.timeout_ms);
    coap_ep_params_t ep = {.nstart = (uint8_t)gw->cfg.nstart, .max_body = gw->cfg.max_body};
    coap_addr_t any;
    int rc;
    coap_transport_t *tr = dtls_transport_new(&dc, &rc);
    if (!tr) { /* no IPv6 in this network namespace: IPv4 only */
        coap_addr_from_host(&any, "0.0.0.0", 0);
        dc.bind = &any;
        tr = dtls_transport_new(&dc, &rc);
    }
    gw->coaps_ep = tr ? coap_ep_new_on(tr, &ep, &rc) : NULL;
    d->tr = gw->coaps_ep ? tr : NULL;
    if (!gw->coaps_ep)
        return snprintf(err, errlen, "cannot open a DTLS endpoint: %s", coap_strerror(rc)), -1;
    coap_ep_attach(gw->coaps_ep, gw->loop);
    return 0;
}

void gw_coaps_free(gw_t *gw)
{
    if (gw->coaps) {
        if (gw->coaps->peers) gw_strmap_each(gw->coaps->peers, unref_entry, NULL);
        gw_strmap_free(gw->coaps->peers);
        free(gw->coaps);
        gw->coaps = NULL;
    }
    gw_creds_free(gw->creds);
    gw->creds = NULL;
}

void gw_coaps_set_creds(gw_t *gw, gw_creds_t *creds)
{
    gw_creds_free(gw->creds);
    gw->creds = creds;
}

/* --- what to say --- */

int gw_dtls_explain(const char *uri, int err, char *out, size_t cap)
{
    if (!COAP_ERR_IS_DTLS(err)) return 0;
    coap_parsed_uri_t u; /* ~2.4 KB: the loop runs shallow */
    char origin[sizeof u.host + 32] = "coaps://?";
    int ok = !coap_uri_parse_ex(&u, uri, COAP_URI_TCP), tls = ok && u.tcp; /* coaps+tcp:// */
    if (ok)
        snprintf(origin, sizeof origin, "%s://%s%s%s:%u", tls ? "coaps+tcp" : "coaps",
                 strchr(u.host, ':') ? "[" : "", u.host, strchr(u.host, ':') ? "]" : "", u.port);
    if (err == COAP_ERR_DTLS_NO_CREDENTIALS) {
        snprintf(out, cap, "no credentials for %s (see credentials in docs/configuration.md)",
                 origin);
        return 1;
    }
    static const char prefix[] = "DTLS handshake failed: ";
    const char *why = coap_strerror(err);
    if (!strncmp(why, prefix, sizeof prefix - 1))
        why += sizeof prefix - 1;
    else /* COAP_ERR_DTLS_FAILED: GnuTLS's own words are in the log */
        why = "no common cipher suite or a malformed message (see the gateway's log)";
    snprintf(out, cap, "%s handshake with %s failed: %s", tls ? "TLS" : "DTLS", origin, why);
    return 1;
}

const char *gw_dtls_why(const gw_t *gw, const coap_ep_t *ep, const char *uri,
                        const coap_addr_t *peer, int err, char *buf, size_t cap)
{
    if (gw_dtls_explain(uri, err, buf, cap)) return buf;
    return gw_dtls_gone(gw, ep, uri, peer, err, buf, cap);
}

/* --- /metrics --- */

coap_transport_t *gw_coaps_transport(const gw_t *gw, const gw_dtls_failures_t **failed)
{
    *failed = gw->coaps ? &gw->coaps->failed : NULL;
    return gw->coaps ? gw->coaps->tr : NULL;
}
