/*
 * transport.c - the DTLS transport (coap_transport.h) on top of the UDP
 * one: records come up from the UDP transport's socket, datagrams go down
 * through sessions. The session table, the timers, the endpoint's
 * upcalls, and the transport's public calls (dtls.h).
 */
#include "dtls_internal.h"
#include "base_loop.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const coap_transport_ops_t dtls_ops;

static dtls_t *of(const coap_transport_t *tr)
{
    return (dtls_t *)(uintptr_t)tr;
}

/* --- the session table, keyed by the peer's address and port --- */

dtls_sess_t *dtls_find_(dtls_t *t, const coap_addr_t *peer)
{
    for (base_hnode_t *n = base_htab_first(&t->sessions, coap_addr_hash(peer)); n;
         n = base_htab_next(n)) {
        dtls_sess_t *s = base_container_of(n, dtls_sess_t, hn);
        if (coap_addr_equal(&s->peer, peer)) return s;
    }
    return NULL;
}

int dtls_table_add_(dtls_t *t, dtls_sess_t *s)
{
    return base_htab_insert(&t->sessions, &s->hn, coap_addr_hash(&s->peer));
}

void dtls_table_remove_(dtls_t *t, dtls_sess_t *s)
{
    base_htab_remove(&t->sessions, &s->hn);
}

void dtls_timer_arm_(dtls_t *t, dtls_sess_t *s, uint64_t when)
{
    (void)base_heap_arm(&t->timers, &s->tmr, when);
}

void dtls_event_(dtls_t *t, dtls_event_kind_t kind, const coap_addr_t *peer, int client, int err,
                 const coap_identity_t *id, const char *fmt, ...)
{
    if (!t->cfg.event) return;
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    dtls_event_t ev = {kind, peer, client, err, reason, id};
    t->cfg.event(t->cfg.arg, &ev);
}

int dtls_udp_send_(dtls_t *t, const coap_addr_t *to, const coap_addr_t *local, const void *data,
                   size_t len)
{
    return t->udp->ops->send(t->udp, to, local, data, len);
}

void dtls_failure_(dtls_t *t, const coap_addr_t *peer, int err)
{
    dtls_failure_t *f = malloc(sizeof *f);
    if (!f) return; /* the exchanges time out instead */
    *f = (dtls_failure_t){NULL, *peer, err};
    if (t->failures_tail)
        t->failures_tail->next = f;
    else
        t->failures = f;
    t->failures_tail = f;
}

/* --- sending --- */

/* The rebooted-peer rule (docs/dtls.md): a CON sent again with the same
 * message ID - the endpoint's retransmission - while not one record from
 * the peer could be decrypted since its first transmission means the
 * peer has most likely lost the session (a device that restarted drops
 * our records in silence). The session is dropped and a new handshake
 * carries the retransmission: one handshake, no failed request. */
static int peer_lost(dtls_sess_t *s, const uint8_t *buf, size_t len)
{
    uint16_t mid;
    if (!s->client || !dtls_coap_con_mid_(buf, len, &mid)) return 0;
    unsigned n = s->ncons < DTLS_CON_RING ? s->ncons : DTLS_CON_RING;
    for (unsigned i = 0; i < n; i++)
        if (s->cons[i] == mid) return 1;
    s->cons[s->ncons++ % DTLS_CON_RING] = mid;
    if (s->ncons == 2 * DTLS_CON_RING) s->ncons = DTLS_CON_RING; /* stays full */
    return 0;
}

static int start_handshake(dtls_t *t, const coap_addr_t *to, const uint8_t *buf, size_t len)
{
    if (!t->cfg.client_creds && !t->cfg.client)
        return COAP_ERR_UNREACHABLE; /* a server only: no session, no way to open one */
    dtls_creds_t *c = t->cfg.client_creds ? t->cfg.client_creds(t->cfg.arg, to) : t->cfg.client;
    if (!c) {
        t->st.handshakes_failed++;
        dtls_event_(t, DTLS_EV_HANDSHAKE_FAILED, to, 1, COAP_ERR_DTLS_NO_CREDENTIALS, NULL,
                    "no credentials for this peer: no handshake attempted");
        dtls_failure_(t, to, COAP_ERR_DTLS_NO_CREDENTIALS);
        return COAP_OK;
    }
    if (t->nhandshakes >= t->p.max_handshakes || t->nopen + t->nhandshakes >= t->p.max_sessions) {
        t->st.refused_full++;
        return COAP_ERR_NOMEM; /* lost: the CON is sent again later */
    }
    dtls_sess_t *s = dtls_sess_new_(t, to, NULL, c, NULL);
    if (!s) return COAP_ERR_NOMEM;
    dtls_sess_enqueue_(s, buf, len);
    dtls_sess_handshake_(s); /* the ClientHello */
    return COAP_OK;
}

static int dtls_send(coap_transport_t *tr, const coap_addr_t *to, const coap_addr_t *local,
                     const uint8_t *buf, size_t len)
{
    (void)local; /* a session answers from the address its peer sends to */
    dtls_t *t = of(tr);
    /* The time of the last process() may be long past when a send comes
     * from elsewhere (an idle gateway's HTTP request): a handshake started
     * with it would be over its timeout at once, an idle timer counted
     * from it would close early. The clock is the one t->now starts with. */
    if (!t->busy) t->now = base_clock_monotonic(NULL);
    dtls_sess_t *s = dtls_find_(t, to);
    if (s && s->state == SESS_HANDSHAKE) return dtls_sess_enqueue_(s, buf, len);
    if (s && !peer_lost(s, buf, len)) return dtls_sess_send_(s, buf, len);
    if (s) {
        t->st.closed_lost++;
        dtls_sess_end_(s, 0,
                       "no record from the peer since a CON was first sent: "
                       "its session is presumed lost, handshaking again");
    }
    return start_handshake(t, to, buf, len);
}

/* --- receiving (upcalls of the UDP transport below) --- */

static void on_record(void *arg, const coap_addr_t *from, const coap_addr_t *local,
                      const coap_identity_t *id, const uint8_t *buf, size_t len)
{
    (void)id;
    dtls_t *t = arg;
    int framing = buf ? dtls_record_check_(buf, len) : DTLS_REC_TRUNCATED;
    if (framing != DTLS_REC_OK) {
        t->st.dropped_malformed++;
        dtls_event_(t, DTLS_EV_DROPPED, from, 0, 0, NULL, "%s (%zu bytes)",
                    framing == DTLS_REC_NOT_DTLS ? "not a DTLS record" : "truncated record", len);
        return;
    }
    dtls_sess_t *s = dtls_find_(t, from);
    if (dtls_is_client_hello_(buf, len) && (!s || (s->state == SESS_OPEN && !s->client))) {
        dtls_accept_(t, s, from, local, buf, len);
        return;
    }
    if (!s) {
        t->st.dropped_no_session++;
        dtls_event_(t, DTLS_EV_DROPPED, from, 0, 0, NULL, "record for no session");
        return;
    }
    if (local) s->local = *local, s->has_local = 1;
    if (s->state == SESS_OPEN) {
        dtls_sess_input_(s, buf, len);
        return;
    }
    /* A close_notify before the peer answered our ClientHello ends an
     * earlier association of the peer's with our address, not this
     * handshake: libcoap's servers keep a failed handshake's state for a
     * few seconds, drop what comes meanwhile, then send one. */
    if (s->client && !s->heard && dtls_is_plain_close_notify_(buf, len)) {
        t->st.dropped_no_session++;
        dtls_event_(t, DTLS_EV_DROPPED, from, 1, 0, NULL,
                    "close_notify of an earlier session before an answer to our ClientHello");
        return;
    }
    s->heard = 1;
    s->rx = buf;
    s->rx_len = len;
    dtls_sess_handshake_(s);
    s->rx = NULL;
}

/* ICMP: a closed port ends a handshake at once, and ends a session (the
 * process that held it is gone); the endpoint hears of it when it had a
 * session there (anything else it never sent through us). */
static void on_unreachable(void *arg, const coap_addr_t *peer, int err)
{
    dtls_t *t = arg;
    dtls_sess_t *s = dtls_find_(t, peer);
    if (!s) return;
    if (s->state == SESS_HANDSHAKE) {
        dtls_sess_fail_(s, err, "ICMP: the peer's port is unreachable");
        return;
    }
    dtls_sess_end_(s, 0, "ICMP: the peer's port is unreachable");
    t->base.up->unreachable(t->base.up_arg, peer, err);
}

static const coap_transport_up_t udp_up = {.datagram = on_record, .unreachable = on_unreachable};

/* --- driving it --- */

static void run_timers(dtls_t *t, uint64_t now)
{
    for (size_t budget = t->timers.n; budget > 0; budget--) {
        base_heap_tmr_t *top = base_heap_top(&t->timers);
        if (!top || top->when > now) break;
        base_heap_disarm(&t->timers, top);
        dtls_sess_timer_(base_container_of(top, dtls_sess_t, tmr), now);
    }
}

static void free_dead(dtls_t *t)
{
    while (t->dead) {
        dtls_sess_t *s = t->dead;
        t->dead = s->next_dead;
        dtls_sess_free_(s);
    }
}

/* The endpoint hears of failed handshakes last, with nothing of ours in
 * flux: its callbacks may send again at once. */
static void report_failures(dtls_t *t)
{
    while (t->failures) {
        dtls_failure_t *f = t->failures;
        t->failures = f->next;
        if (!t->failures) t->failures_tail = NULL;
        t->base.up->unreachable(t->base.up_arg, &f->peer, f->err);
        free(f);
    }
}

static void dtls_process(coap_transport_t *tr, uint64_t now)
{
    dtls_t *t = of(tr);
    t->now = now;
    t->busy++;
    if (dtls_server_enabled_(t)) dtls_guard_tick_(&t->guard, now);
    t->udp->ops->process(t->udp, now);
    run_timers(t, now);
    t->busy--;
    free_dead(t);
    report_failures(t);
    free_dead(t);
}

static uint64_t dtls_next_deadline(const coap_transport_t *tr)
{
    const dtls_t *t = of(tr);
    if (t->failures || t->dead) return 0; /* now */
    base_heap_tmr_t *top = base_heap_top(&t->timers);
    uint64_t d = top ? top->when : BASE_NEVER;
    if (dtls_server_enabled_(t) && dtls_guard_next_(&t->guard) < d) d = dtls_guard_next_(&t->guard);
    return d;
}

static int dtls_fd(const coap_transport_t *tr)
{
    return of(tr)->udp->ops->fd(of(tr)->udp);
}

static int dtls_local_addr(const coap_transport_t *tr, coap_addr_t *out)
{
    return of(tr)->udp->ops->local_addr(of(tr)->udp, out);
}

static void dtls_free(coap_transport_t *tr)
{
    dtls_t *t = of(tr);
    /* close_notify to every peer: they need not wait for a timeout */
    for (size_t b = 0; b < t->sessions.nb; b++)
        while (t->sessions.b && t->sessions.b[b])
            dtls_sess_end_(base_container_of(t->sessions.b[b], dtls_sess_t, hn), 1, "shutdown");
    free_dead(t);
    while (t->failures) {
        dtls_failure_t *f = t->failures;
        t->failures = f->next;
        free(f);
    }
    dtls_resume_free_all_(t);
    base_htab_free(&t->sessions);
    base_heap_free(&t->timers);
    dtls_guard_free_(&t->guard);
    if (t->ticket_key.data) gnutls_memset(t->ticket_key.data, 0, t->ticket_key.size);
    gnutls_free(t->ticket_key.data);
    dtls_creds_unref(t->server_creds);
    dtls_creds_unref(t->cfg.client);
    if (t->udp) t->udp->ops->free(t->udp);
    free(t);
}

static const coap_transport_ops_t dtls_ops = {
    .name = "dtls",
    .send = dtls_send,
    .process = dtls_process,
    .next_deadline = dtls_next_deadline,
    .fd = dtls_fd,
    .local_addr = dtls_local_addr,
    .free = dtls_free,
    .verifies_peers = 1, /* the cookie exchange before any session */
};

/* --- public calls --- */

static void apply_defaults(dtls_params_t *p)
{
    if (!p->max_sessions) p->max_sessions = 10000;
    if (!p->max_handshakes) p->max_handshakes = 256;
    if (!p->idle_timeout_ms) p->idle_timeout_ms = 300000;
    if (!p->handshake_timeout_ms) p->handshake_timeout_ms = 20000;
    if (!p->retransmit_ms) p->retransmit_ms = 1000;
    if (!p->handshakes_per_s) p->handshakes_per_s = 10;
    if (!p->cookie_rotate_ms) p->cookie_rotate_ms = 300000;
    if (!p->max_queued) p->max_queued = 8;
    if (!p->mtu) p->mtu = 1400;
    if (!p->max_resume) p->max_resume = 1024;
}

static int init_server(dtls_t *t)
{
    char why[160];
    t->server_creds =
        t->cfg.server ? dtls_creds_ref(t->cfg.server) : dtls_creds_lookup_only_(why, sizeof why);
    if (!t->server_creds || gnutls_session_ticket_key_generate(&t->ticket_key) < 0) return -1;
    return dtls_guard_init_(&t->guard, t->p.cookie_rotate_ms, t->p.handshakes_per_s, t->now);
}

coap_transport_t *dtls_transport_new(const dtls_config_t *cfg, int *err)
{
    int dummy;
    if (!err) err = &dummy;
    int server = cfg->server || cfg->psk_key, client = cfg->client || cfg->client_creds;
    dtls_t *t = server || client ? calloc(1, sizeof *t) : NULL;
    if (!t) {
        if (cfg->udp) cfg->udp->ops->free(cfg->udp);
        return *err = server || client ? COAP_ERR_NOMEM : COAP_ERR_INVALID, NULL;
    }
    t->udp = cfg->udp; /* freed with t from here on */
    t->base.ops = &dtls_ops;
    t->cfg = *cfg;
    t->cfg.bind = NULL; /* not kept: the caller's */
    t->cfg.udp = NULL;
    t->p = cfg->params;
    apply_defaults(&t->p);
    t->now = base_clock_monotonic(NULL);
    dtls_creds_ref(t->cfg.client);
    if (server && init_server(t) < 0) {
        dtls_free(&t->base);
        return *err = COAP_ERR_NOMEM, NULL;
    }
    if (!t->udp) t->udp = coap_transport_udp_new(cfg->bind, err);
    if (!t->udp) {
        dtls_free(&t->base);
        return NULL;
    }
    t->udp->up = &udp_up;
    t->udp->up_arg = t;
    *err = COAP_OK;
    return &t->base;
}

int dtls_is_transport(const coap_transport_t *t)
{
    return t && t->ops == &dtls_ops;
}

int dtls_transport_stats(const coap_transport_t *tr, dtls_stats_t *out)
{
    if (!dtls_is_transport(tr)) return -1;
    *out = of(tr)->st;
    out->sessions = of(tr)->nopen;
    out->handshakes = of(tr)->nhandshakes;
    return 0;
}

int dtls_transport_has_session(const coap_transport_t *tr, const coap_addr_t *peer,
                               coap_identity_t *id)
{
    if (!dtls_is_transport(tr)) return 0;
    dtls_sess_t *s = dtls_find_(of(tr), peer);
    if (!s || s->state != SESS_OPEN) return 0;
    if (id) *id = s->id;
    return 1;
}

void dtls_transport_close(coap_transport_t *tr, const coap_addr_t *peer)
{
    if (!dtls_is_transport(tr)) return;
    dtls_t *t = of(tr);
    dtls_sess_t *s = dtls_find_(t, peer);
    if (!s) return;
    dtls_sess_end_(s, 1, "closed by the application");
    if (!t->busy && !s->busy) free_dead(t);
}

int dtls_transport_set_server(coap_transport_t *tr, dtls_creds_t *creds)
{
    char why[160];
    if (!dtls_is_transport(tr) || !dtls_server_enabled_(of(tr))) return -1;
    dtls_t *t = of(tr);
    dtls_creds_t *next = creds ? dtls_creds_ref(creds) : dtls_creds_lookup_only_(why, sizeof why);
    if (!next) return -1;
    dtls_creds_unref(t->server_creds); /* sessions keep the ones they started with */
    t->server_creds = next;
    return 0;
}
