/*
 * dtls_listen.c - the gateway as a DTLS server (coap.listen_dtls, RFC 7252
 * §9.1 "coaps"): a DTLS transport (dtls/) under a second endpoint, whose
 * CoAP server carries the same resources as coap.listen (main.c serves
 * the Resource Directory and the forward proxy on both). The transport
 * does the cookie exchange before any per-client state (RFC 6347
 * §4.2.1), bounds its tables, rate-limits handshakes per source and
 * closes idle sessions; this file gives it the credentials and the PSK
 * keys of dtls.identities, logs its events and exposes its counters, in
 * the coapgw_dtls_* families it writes for the coaps:// client's
 * transport (coaps.c) too, one side label each.
 *
 * The same endpoint is also how the gateway reaches a device that
 * registered over it: requests go out through the device's own session
 * (the transport has no client role, so without a session they fail at
 * once instead of opening one).
 */
#include "gw_coaps.h"
#include "gw_dtls.h"
#include "gw_ids.h"
#include "gw_metrics.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int gw_dtls_load(const cfg_t *c, dtls_creds_t **creds, gw_ids_t **ids, char *err, size_t errlen)
{
    char why[600];
    *creds = NULL;
    if (!(*ids = gw_ids_build(c, err, errlen))) return -1;
    /* the DTLS and the TLS listener (coap.listen_tls) share them */
    if ((cfg_listen_off(c->coap_listen_dtls) && cfg_listen_off(c->coap_listen_tls)) ||
        (!*c->dtls_cert && !*c->dtls_rpk_key))
        return 0;
    dtls_creds_conf_t conf = {
        .cert_file = *c->dtls_cert ? c->dtls_cert : NULL,
        .key_file = *c->dtls_key ? c->dtls_key : NULL,
        .ca_file = *c->dtls_client_ca ? c->dtls_client_ca : NULL,
        .rpk_file = *c->dtls_rpk_key ? c->dtls_rpk_key : NULL,
    };
    if ((*creds = dtls_creds_new(&conf, why, sizeof why))) return 0;
    snprintf(err, errlen, "dtls.cert, dtls.key, dtls.client_ca, dtls.rpk_key: %s", why);
    gw_ids_free(*ids);
    *ids = NULL;
    return -1;
}

int gw_dtls_psk_key(void *arg, const char *identity, uint8_t *key, size_t cap)
{
    gw_t *gw = arg;
    return gw_ids_psk_key(gw->ids, identity, key, cap);
}

void gw_dtls_who(const gw_t *gw, const dtls_event_t *ev, int judge, char *who, size_t cap)
{
    char label[1050];
    *who = '\0';
    if (!ev->id) return;
    gw_identity_label(ev->id, label, sizeof label);
    snprintf(who, cap, " as %s%s", label,
             judge && !gw_ids_find(gw->ids, ev->id) ? " (not in dtls.identities: no rights)" : "");
}

/* Failures at warn (they name the peer and the reason: a wrong key, an
 * untrusted certificate); refusals and sessions at info; what an
 * unverified source can provoke (cookies, dropped datagrams) at debug
 * only, or a spoofed flood would flood the log too. */
static void on_event(void *arg, const dtls_event_t *ev)
{
    gw_t *gw = arg;
    char peer[COAP_ADDR_STRLEN], who[1100];
    coap_addr_str(ev->peer, peer, sizeof peer);
    gw_dtls_who(gw, ev, ev->kind == DTLS_EV_ESTABLISHED, who, sizeof who);
    switch (ev->kind) {
    case DTLS_EV_ESTABLISHED:
        gw_log(CFG_LOG_INFO, "dtls: %s: session established%s (%s)", peer, who, ev->reason);
        break;
    case DTLS_EV_HANDSHAKE_FAILED:
        gw_dtls_count_failure(&gw->dtls_failed, ev->err);
        gw_log(CFG_LOG_WARN, "dtls: %s: handshake failed: %s", peer, ev->reason);
        break;
    case DTLS_EV_CLOSED:
        gw_log(ev->id ? CFG_LOG_INFO : CFG_LOG_DEBUG, "dtls: %s: session%s closed: %s", peer, who,
               ev->reason);
        gw_devices_mark(gw, ev->peer, 0); /* a device reached through it is offline now */
        break;
    case DTLS_EV_REFUSED:
        gw_log(CFG_LOG_INFO, "dtls: %s: handshake refused: %s", peer, ev->reason);
        break;
    case DTLS_EV_RENEGOTIATION:
        gw_log(CFG_LOG_INFO, "dtls: %s: renegotiation refused", peer);
        break;
    default: /* COOKIE, DROPPED */
        gw_log(CFG_LOG_DEBUG, "dtls: %s: %s", peer, ev->reason);
    }
}

int gw_dtls_start(gw_t *gw, const coap_ep_params_t *ep, const coap_server_params_t *sp,
                  dtls_creds_t *creds, char *err, size_t errlen)
{
    const cfg_t *c = &gw->cfg;
    coap_addr_t bind;
    int rc;
    if (cfg_listen_off(c->coap_listen_dtls)) return 0;
    if (coap_addr_parse(&bind, c->coap_listen_dtls, 5684))
        return snprintf(err, errlen, "bad coap.listen_dtls address %s", c->coap_listen_dtls), -1;
    int fd = gw_passed_hand(&gw->passed, GW_LISTEN_COAPS);
    coap_transport_t *udp = fd >= 0 ? coap_transport_udp_adopt(fd, &rc) : NULL;
    if (fd >= 0 && !udp) {
        close(fd);
        return snprintf(err, errlen, "cannot serve DTLS on the socket passed for %s: %s",
                        c->coap_listen_dtls, coap_strerror(rc)),
               -1;
    }
    dtls_config_t dc = {.bind = &bind,
                        .udp = udp,
                        .params = {.max_sessions = c->dtls_max_sessions,
                                   .max_handshakes = c->dtls_max_handshakes,
                                   .idle_timeout_ms = c->dtls_idle_s * 1000u,
                                   .handshakes_per_s = c->dtls_handshakes_per_s},
                        .server = creds,
                        .psk_key = gw_dtls_psk_key,
                        .event = on_event,
                        .arg = gw};
    gw->dtls = dtls_transport_new(&dc, &rc);
    gw->dtls_ep = gw->dtls ? coap_ep_new_on(gw->dtls, ep, &rc) : NULL;
    if (!gw->dtls_ep) {
        gw->dtls = NULL; /* freed with the endpoint, or by coap_ep_new_on on failure */
        return snprintf(err, errlen, "cannot listen for DTLS on %s: %s", c->coap_listen_dtls,
                        coap_strerror(rc)),
               -1;
    }
    coap_ep_local_addr(gw->dtls_ep, &gw->dtls_addr);
    coap_addr_unmap(&gw->dtls_addr);
    coap_ep_attach(gw->dtls_ep, gw->loop);
    if (!(gw->dtls_srv = coap_server_new(gw->dtls_ep, sp)))
        return snprintf(err, errlen, "out of memory"), -1;
    return 0;
}

void gw_dtls_set_creds(gw_t *gw, dtls_creds_t *creds)
{
    if (gw->dtls) dtls_transport_set_server(gw->dtls, creds);
    if (gw->tls_listen_filter) dtls_tls_set_server(gw->tls_listen_filter, creds);
}

/* --- metrics --- */

/* Failed handshakes by reason: the COAP_ERR_* codes of docs/dtls.md. */
static const struct {
    int err;
    const char *label;
} reasons[] = {
    {COAP_ERR_DTLS_PSK, "psk"},
    {COAP_ERR_DTLS_IDENTITY, "identity"},
    {COAP_ERR_DTLS_UNTRUSTED, "untrusted"},
    {COAP_ERR_DTLS_EXPIRED, "expired"},
    {COAP_ERR_DTLS_NAME, "name"},
    {COAP_ERR_DTLS_KEY, "key"},
    {COAP_ERR_DTLS_REJECTED, "rejected"},
    {COAP_ERR_DTLS_NO_CREDENTIALS, "no_credentials"},
    {COAP_ERR_TIMEOUT, "timeout"},
    {COAP_ERR_UNREACHABLE, "unreachable"},
    {COAP_ERR_DTLS_FAILED, "other"}, /* and anything else: the last one */
};
_Static_assert(sizeof reasons / sizeof reasons[0] == GW_DTLS_REASONS, "gw.h's GW_DTLS_REASONS");

void gw_dtls_count_failure(gw_dtls_failures_t *f, int err)
{
    size_t i = 0;
    while (i < GW_DTLS_REASONS - 1 && reasons[i].err != err) i++;
    f->by_reason[i]++;
}

/* One transport's counters, flat: every series below is one field. */
typedef struct {
    uint64_t full, resumed, failed, cookies, rate, full_tables, malformed, no_session, bad_record,
        queue_full, idle, peer, lost, renegotiations, sessions, handshakes;
} flat_t;

#define AT(f) offsetof(flat_t, f)
static const struct {
    const char *name, *type, *help, *label;
    const char *values[4];
    size_t at[4];
} families[] = {
    {"coapgw_dtls_handshakes_total",
     "counter",
     "DTLS handshakes by side (server: the listener's; client: the gateway's own, to coaps:// "
     "devices) and outcome (failed ones by reason: coapgw_dtls_handshake_failures_total).",
     "result",
     {"full", "resumed", "failed"},
     {AT(full), AT(resumed), AT(failed)}},
    {"coapgw_dtls_cookies_sent_total",
     "counter",
     "HelloVerifyRequests sent to ClientHellos without a valid cookie (no state kept).",
     NULL,
     {""},
     {AT(cookies)}},
    {"coapgw_dtls_refused_total",
     "counter",
     "Verified ClientHellos refused: the source's handshake rate, or the tables full.",
     "reason",
     {"rate", "full"},
     {AT(rate), AT(full_tables)}},
    {"coapgw_dtls_dropped_total",
     "counter",
     "Datagrams dropped: no DTLS record or truncated, for no session, not decrypting, queue full.",
     "reason",
     {"malformed", "no_session", "bad_record", "queue_full"},
     {AT(malformed), AT(no_session), AT(bad_record), AT(queue_full)}},
    {"coapgw_dtls_closed_total",
     "counter",
     "Sessions ended: idle, by the peer (close_notify, alert, ICMP), presumed lost.",
     "reason",
     {"idle", "peer", "lost"},
     {AT(idle), AT(peer), AT(lost)}},
    {"coapgw_dtls_renegotiations_refused_total",
     "counter",
     "Renegotiation attempts refused.",
     NULL,
     {""},
     {AT(renegotiations)}},
    {"coapgw_dtls_sessions", "gauge", "DTLS sessions established now.", NULL, {""}, {AT(sessions)}},
    {"coapgw_dtls_handshakes_in_progress",
     "gauge",
     "DTLS handshakes in progress now.",
     NULL,
     {""},
     {AT(handshakes)}},
};

static flat_t flatten(const dtls_stats_t *s)
{
    return (flat_t){s->handshakes_ok - s->handshakes_resumed,
                    s->handshakes_resumed,
                    s->handshakes_failed,
                    s->cookies_sent,
                    s->refused_rate,
                    s->refused_full,
                    s->dropped_malformed,
                    s->dropped_no_session,
                    s->dropped_bad_record,
                    s->dropped_queue_full,
                    s->closed_idle,
                    s->closed_by_peer,
                    s->closed_lost,
                    s->renegotiations_refused,
                    s->sessions,
                    s->handshakes};
}

/* One side's series: its transport's counters, flat, and its failed
 * handshakes by reason. */
typedef struct {
    const char *side;
    flat_t v;
    const gw_dtls_failures_t *failed;
} side_t;

static void write_family(FILE *f, size_t k, const side_t *sides, size_t n)
{
    gw_metrics_family(f, families[k].name, families[k].type, families[k].help);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < 4 && families[k].values[j]; j++) {
            char label[64] = "";
            if (families[k].label)
                snprintf(label, sizeof label, ",%s=\"%s\"", families[k].label,
                         families[k].values[j]);
            const uint64_t *at = (const uint64_t *)((const char *)&sides[i].v + families[k].at[j]);
            fprintf(f, "%s{side=\"%s\"%s} %llu\n", families[k].name, sides[i].side, label,
                    (unsigned long long)*at);
        }
}

void gw_dtls_metrics(FILE *f, gw_t *gw)
{
    /* A label `side` tells the listener ("server") from the transport on
     * which the gateway opens sessions to coaps:// devices ("client"), in
     * one family. */
    const gw_dtls_failures_t *client_failed;
    coap_transport_t *client = gw_coaps_transport(gw, &client_failed);
    const struct {
        const char *side;
        coap_transport_t *t;
        const gw_dtls_failures_t *failed;
    } all[] = {{"server", gw->dtls, &gw->dtls_failed}, {"client", client, client_failed}};
    side_t sides[sizeof all / sizeof all[0]];
    size_t n = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        dtls_stats_t st;
        if (!all[i].t || dtls_transport_stats(all[i].t, &st)) continue;
        sides[n++] = (side_t){all[i].side, flatten(&st), all[i].failed};
    }
    if (!n) return;
    for (size_t k = 0; k < sizeof families / sizeof families[0]; k++) write_family(f, k, sides, n);
    gw_metrics_family(f, "coapgw_dtls_handshake_failures_total", "counter",
                      "Failed DTLS handshakes by reason: psk, identity, untrusted, expired, name, "
                      "key, rejected, no_credentials, timeout, unreachable, other.");
    for (size_t i = 0; i < n; i++)
        for (size_t r = 0; r < GW_DTLS_REASONS; r++)
            fprintf(f, "coapgw_dtls_handshake_failures_total{side=\"%s\",reason=\"%s\"} %llu\n",
                    sides[i].side, reasons[r].label,
                    (unsigned long long)sides[i].failed->by_reason[r]);
}

/* --- devices reached through their session --- */

const char *gw_dtls_gone(const gw_t *gw, const coap_ep_t *ep, const char *uri,
                         const coap_addr_t *peer, int err, char *buf, size_t cap)
{
    if (err != COAP_ERR_UNREACHABLE || !ep || ep != gw->dtls_ep) return NULL;
    char from[COAP_ADDR_STRLEN];
    snprintf(buf, cap,
             "%s: the device is reached through the DTLS session it registered over (from %s), "
             "and that session is gone (closed after dtls.idle_s of silence, or the device "
             "restarted or moved); it is reachable again once it registers again",
             uri, coap_addr_str(peer, from, sizeof from));
    return buf;
}
