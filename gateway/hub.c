/*
 * hub.c - the observe hub: one upstream CoAP observation per target,
 * fanned out to Server-Sent Events streams. Each notification is formatted
 * once into a reference-counted event and queued, by reference, to every
 * subscriber; a slow subscriber's queue is bounded and loses its oldest
 * events, never the gateway's memory.
 */
#include "gw_coaps.h"
#include "gw_hub.h"
#include "gw_limits.h"
#include "gw_map.h"
#include "gw_tcp.h"
#include "hub_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- subscribers --- */

/* The ring grows when it is full and below its limit: a stream that keeps
 * up holds one or two events at a time, and 10,000 rings of queue_len
 * slots each cost 0.5 KiB per stream for nothing (issue #19). The entries
 * from head to the old end move to the new end. -1: it stays as it is. */
static int sub_grow(sub_t *s)
{
    uint32_t cap = s->cap * 2 < s->slots ? s->cap * 2 : s->slots;
    gw_ev_t **q = cap > s->cap ? realloc(s->q, cap * sizeof *q) : NULL;
    if (!q) return -1;
    uint32_t tail = s->cap - s->head;
    memmove(q + cap - tail, q + s->head, tail * sizeof *q);
    s->head = cap - tail;
    s->q = q;
    s->cap = cap;
    return 0;
}

/* The oldest event waiting goes (not the one partly sent). */
static void sub_drop_oldest(sub_t *s)
{
    uint32_t victim = s->off ? (s->head + 1) % s->cap : s->head;
    gw_ev_unref(s->q[victim]);
    if (victim != s->head) s->q[victim] = s->q[s->head];
    s->head = (s->head + 1) % s->cap;
    s->count--;
    s->hub->stats.dropped++;
}

/* The queue limit counts events waiting, not the one partly sent: that
 * one must finish (a half event would corrupt the stream), so it has a
 * slot of its own and queue_len 1 works too. now: the loop's time, read
 * once per fan-out rather than once per subscriber (issue #19). */
static void sub_push_at(sub_t *s, gw_ev_t *e, uint64_t now)
{
    if (!e || s->ending) return;
    uint32_t waiting = s->count - (s->off ? 1 : 0);
    if (waiting == s->slots - 1 || (s->count == s->cap && sub_grow(s))) sub_drop_oldest(s);
    e->refs++;
    s->last_push = now;
    s->q[(s->head + s->count) % s->cap] = e;
    s->count++;
    http_stream_wake(s->stream);
}

static void sub_push(sub_t *s, gw_ev_t *e)
{
    sub_push_at(s, e, base_loop_now(s->hub->gw->loop));
}

static long sub_pull(void *arg, char *buf, size_t max)
{
    sub_t *s = arg;
    size_t n = 0;
    while (s->count && n < max) {
        gw_ev_t *e = s->q[s->head];
        size_t k = e->len - s->off < max - n ? e->len - s->off : max - n;
        memcpy(buf + n, e->data + s->off, k);
        n += k;
        s->off += k;
        if (s->off == e->len) {
            gw_ev_unref(e);
            s->head = (s->head + 1) % s->cap;
            s->count--;
            s->off = 0;
        }
    }
    if (n) return (long)n;
    return s->ending ? -1 : 0;
}

static void obs_release(obs_t *o);

/* Takes l out of both lists and frees it; its observation goes with the
 * last subscriber. */
static void link_free(link_t *l)
{
    obs_t *o = l->obs;
    base_list_remove(&l->in_sub);
    base_list_remove(&l->in_obs);
    free(l->device);
    free(l);
    o->nlinks--;
    if (o->nlinks == 0) obs_release(o);
}

static sub_t *sub_of(base_list_t *node)
{
    return base_list_entry(node, sub_t, in_hub);
}

/* The stream is over: leave every observation; the last one out ends it. */
static void sub_closed(void *arg)
{
    sub_t *s = arg;
    gw_hub_t *hub = s->hub;
    for (base_list_t *n; (n = base_list_first(&s->links));)
        link_free(base_list_entry(n, link_t, in_sub));
    while (s->count) {
        gw_ev_unref(s->q[s->head]);
        s->head = (s->head + 1) % s->cap;
        s->count--;
    }
    base_list_remove(&s->in_hub);
    hub->stats.subscribers--;
    free(s->token);
    free(s->q);
    free(s);
}

/* Ends one subscriber's interest in o after an error event; the stream
 * closes when it has no target left. */
static void sub_drop_target(sub_t *s, obs_t *o)
{
    base_list_t *it, *next;
    BASE_LIST_FOREACH(it, next, &s->links) {
        link_t *l = base_list_entry(it, link_t, in_sub);
        if (l->obs != o) continue;
        link_free(l);
        break;
    }
    if (base_list_empty(&s->links)) {
        s->ending = 1;
        http_stream_wake(s->stream);
    }
}

/* --- observations --- */

static link_t *link_of(base_list_t *node)
{
    return base_list_entry(node, link_t, in_obs);
}

/* Each write to a subscriber is a system call that walks much of the
 * kernel's memory, so the next subscribers' structures are out of the
 * cache when their turn comes: a chain of dependent misses each (the link,
 * the sub, its ring and its stream), about 6 % of a write's CPU time
 * with 10,000 streams (issue #19). They are fetched during the writes before
 * theirs, one link of the chain per write: the sub after next's address
 * is read from its link fetched a write earlier, the next sub's ring and
 * stream from the sub fetched a write earlier. */
static void fan_out_prefetch(base_list_t *head, base_list_t *n1)
{
    if (n1 == head) return;
    const sub_t *s1 = link_of(n1)->sub;
    __builtin_prefetch(s1->q);
    __builtin_prefetch(s1->stream);
    __builtin_prefetch((const char *)s1->stream + 64);
    base_list_t *n2 = n1->next;
    if (n2 == head) return;
    __builtin_prefetch(link_of(n2)->sub);
    __builtin_prefetch(n2->next);
}

static void fan_out(obs_t *o, gw_ev_t *e)
{
    uint64_t now = base_loop_now(o->hub->gw->loop);
    base_list_t *it, *next;
    BASE_LIST_FOREACH(it, next, &o->links) {
        fan_out_prefetch(&o->links, next);
        sub_push_at(link_of(it)->sub, e, now);
    }
}

static void obs_free(obs_t *o)
{
    base_loop_timer_free(o->retry);
    gw_ev_unref(o->latest);
    o->hub->stats.observations--;
    free(o);
}

static void obs_start(obs_t *o);

static void obs_trouble(obs_t *o, int err);

static void on_retry(base_loop_t *loop, base_loop_timer_t *t, void *arg)
{
    (void)loop;
    (void)t;
    obs_t *o = arg;
    int err = o->gone_err;
    o->gone_err = 0;
    if (err)
        obs_trouble(o, err);
    else
        obs_start(o);
}

/* Upstream trouble: try again with exponential back-off while anyone
 * listens, and say so. */
static void obs_reconnect(obs_t *o, const char *why)
{
    gw_log(CFG_LOG_WARN, "observe %s: %s; again in %u ms", o->t.uri, why, o->backoff_ms);
    gw_ev_t *e = gw_ev_status(o->t.uri, "reconnecting");
    fan_out(o, e);
    gw_ev_unref(e);
    base_loop_timer_arm_in(o->retry, o->backoff_ms);
    o->backoff_ms =
        o->backoff_ms * 2 > o->hub->p.max_backoff_ms ? o->hub->p.max_backoff_ms : o->backoff_ms * 2;
}

/* The observation ended for good (an error, or the resource does not do
 * Observe): tell the subscribers and let them go. */
static void obs_fail(obs_t *o, unsigned status, const char *message)
{
    gw_log(CFG_LOG_INFO, "observe %s: %s", o->t.uri, message);
    gw_ev_t *e = gw_ev_error(o->t.uri, status, message);
    o->nlinks++; /* keep o alive while its subscribers leave */
    for (base_list_t *n; (n = base_list_first(&o->links));) {
        sub_t *s = base_list_entry(n, link_t, in_obs)->sub;
        sub_push(s, e);
        sub_drop_target(s, o);
    }
    gw_ev_unref(e);
    o->nlinks--;
    obs_release(o);
}

/* An exchange failed: try again later, unless a retry would fail the
 * same way: a DTLS handshake with credentials that fail now fails again,
 * and the DTLS session or TCP connection a device was reached through is
 * gone (the subscribers hear why; a new stream finds the device where it
 * registers next). */
static void obs_trouble(obs_t *o, int err)
{
    char why[GW_MSG_MAX];
    if (gw_limits_refusal(err)) { /* coap.max_exchanges: event: error 503 */
        gw_limits_refused(o->hub->gw, err, o->t.uri, why, sizeof why);
        obs_fail(o, 503, why);
    } else if (gw_dtls_why(o->hub->gw, o->t.ep, o->t.uri, &o->t.addr, err, why, sizeof why))
        obs_fail(o, 502, why);
    else if (gw_tcp_gone(o->hub->gw, o->t.ep, o->t.uri, &o->t.addr, err, why, sizeof why))
        obs_fail(o, 504, why);
    else
        obs_reconnect(o, coap_strerror(err));
}

static void on_notify(coap_req_t *req, const coap_resp_t *r, void *arg)
{
    (void)req;
    obs_t *o = arg;
    if (r->last) o->req = NULL;
    if (o->dying) {
        if (r->last) obs_free(o);
        return;
    }
    if (r->err == COAP_ERR_CANCELLED) return; /* the endpoint is closing */
    if (r->err) {
        obs_trouble(o, r->err);
        return;
    }
    const coap_msg_t *m = r->msg;
    if (r->observing && !r->last) {
        if (!r->fresh) return; /* RFC 7641 §3.4: stale or duplicate */
        gw_ev_t *e = gw_ev_notification(o->t.uri, r);
        if (!e) return;
        o->hub->stats.events++;
        if (!o->latest) { /* (re)established */
            gw_ev_t *st = gw_ev_status(o->t.uri, "observing");
            fan_out(o, st);
            gw_ev_unref(st);
        }
        gw_ev_unref(o->latest);
        o->latest = e; /* the hub's reference: new subscribers start with it */
        fan_out(o, e);
        o->backoff_ms = 1000;
        return;
    }
    char msg[GW_MSG_MAX], code[40];
    coap_code_str(m->code, code, sizeof code);
    if (COAP_CODE_CLASS(m->code) == 2) {
        snprintf(msg, sizeof msg, "%s answered %s without Observe: not observable", o->t.uri, code);
        obs_fail(o, 502, msg);
    } else {
        gw_status_t st = gw_map_status(m->code, r->body_len > 0, 0, 0);
        snprintf(msg, sizeof msg, "%s ended the observation with %s", o->t.uri, code);
        obs_fail(o, st.status, msg);
    }
}

static void obs_start(obs_t *o)
{
    gw_t *gw = o->hub->gw;
    int err;
    gw_ev_unref(o->latest);
    o->latest = NULL;
    /* credentials a reload removed: tried again, a reload may bring them back */
    coap_ep_t *ep = gw_target_ep(gw, &o->t, &err);
    o->req = ep ? coap_req_new(ep, COAP_GET, o->t.uri, &o->t.addr, &err) : NULL;
    if (o->req) {
        coap_req_set_observe(o->req, 0);
        coap_req_set_timeout(o->req, gw->cfg.timeout_ms);
        coap_req_set_max_body(o->req, gw->cfg.max_body);
        err = coap_req_send(o->req, on_notify, o);
        if (err) o->req = NULL;
    }
    o->hub->stats.registrations++;
    if (o->req) return;
    char gone[GW_MSG_MAX];
    if (!gw_limits_refusal(err) &&
        !gw_dtls_gone(gw, o->t.ep, o->t.uri, &o->t.addr, err, gone, sizeof gone) &&
        !gw_tcp_gone(gw, o->t.ep, o->t.uri, &o->t.addr, err, gone, sizeof gone)) {
        obs_reconnect(o, coap_strerror(err));
        return;
    }
    /* ended from the timer: o may be in the middle of being set up here */
    o->gone_err = err;
    base_loop_timer_arm_in(o->retry, 0);
}

/* No subscriber left: deregister upstream at once (GET with Observe 1). */
static void obs_release(obs_t *o)
{
    if (o->nlinks) return;
    gw_strmap_del(o->hub->obs, o->t.uri);
    base_loop_timer_disarm(o->retry);
    if (o->req) {
        o->dying = 1;
        coap_req_observe_stop(o->req, COAP_OBSERVE_DEREGISTER); /* on_notify frees o */
    } else {
        obs_free(o);
    }
}

static obs_t *obs_get(gw_hub_t *hub, const gw_target_t *t)
{
    obs_t *o = gw_strmap_get(hub->obs, t->uri);
    if (o) return o;
    o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->hub = hub;
    base_list_init(&o->links);
    o->t = *t;
    /* An observation outlives reloads, which free the device structs: it
     * keeps the device's name in each link, never the pointer. */
    o->t.device = NULL;
    o->backoff_ms = 1000;
    o->retry = base_loop_timer_new(hub->gw->loop, on_retry, o);
    if (!o->retry || gw_strmap_set(hub->obs, t->uri, o)) {
        base_loop_timer_free(o->retry);
        free(o);
        return NULL;
    }
    hub->stats.observations++;
    obs_start(o);
    return o;
}

/* --- subscribing --- */

static int sub_observes(sub_t *s, const obs_t *o)
{
    base_list_t *it, *next;
    BASE_LIST_FOREACH(it, next, &s->links) {
        if (base_list_entry(it, link_t, in_sub)->obs == o) return 1;
    }
    return 0;
}

static void sub_add_target(sub_t *s, const gw_target_t *t, const char *last_id)
{
    gw_hub_t *hub = s->hub;
    uint32_t value;
    /* A target named twice on one stream (also as /devices/NAME/PATH and
     * its coap:// URI) is linked once: each copy would take one more of
     * the target's sse.max_per_target slots (32 copies a connection let one
     * client address take them all) and get every notification again. */
    const obs_t *have = gw_strmap_get(hub->obs, t->uri);
    if (have && sub_observes(s, have)) return;
    const gw_hub_limit_t *l = gw_hub_target_limit_(hub, t, &value);
    if (l) { /* the others on this stream go on */
        char msg[GW_MSG_MAX];
        snprintf(msg, sizeof msg, "%s not observed: %s (%s = %u)", t->uri, l->what, l->key, value);
        gw_log(CFG_LOG_WARN, "event stream: %s", msg);
        gw_ev_t *e = gw_ev_error(t->uri, 503, msg);
        sub_push(s, e);
        gw_ev_unref(e);
        gw_hub_count_refusal_(hub, l);
        return;
    }
    obs_t *o = obs_get(hub, t);
    link_t *k = o ? calloc(1, sizeof *k) : NULL;
    if (k && t->device && !(k->device = strdup(t->device->name))) {
        free(k);
        k = NULL;
    }
    if (!k) {
        if (o) obs_release(o); /* released if no one else observes it */
        return;
    }
    k->sub = s;
    k->obs = o;
    base_list_push_front(&o->links, &k->in_obs);
    o->nlinks++;
    base_list_push_front(&s->links, &k->in_sub);
    if (last_id) { /* WHATWG SSE: a reconnection says so; it is told */
        gw_ev_t *e = gw_ev_resumed(t->uri, last_id);
        sub_push(s, e);
        gw_ev_unref(e);
    }
    /* A new subscriber gets the newest representation at once (else the
     * first notification of the observation, when it is established). */
    if (o->latest) sub_push(s, o->latest);
}

void gw_hub_subscribe(gw_hub_t *hub, http_req_t *req, const gw_target_t *targets, size_t n,
                      const char *token, const char *last_id)
{
    uint32_t value;
    const gw_hub_limit_t *l;
    if (gw_hub_streams_full(hub, req, targets, n)) return;
    if ((l = gw_hub_none_fits_(hub, targets, n, &value))) {
        gw_hub_count_refusal_(hub, l);
        gw_hub_refuse_(hub, req, targets, n, l->what, l->key, value);
        return;
    }
    sub_t *s = calloc(1, sizeof *s);
    /* The limit is fixed for the stream's life. The opening events (the
     * retry field, a status and the latest value per target) are queued
     * before any can be sent: they always fit, or a small queue_events
     * would drop a new stream's own first events; the ring starts with
     * room for them and the next event, and grows (sub_grow()). */
    uint32_t opening = 1 + 2 * (uint32_t)n;
    if (s) s->slots = (hub->p.queue_len > opening ? hub->p.queue_len : opening) + 1;
    if (s) s->cap = opening + 1 < s->slots ? opening + 1 : s->slots;
    if (s) s->q = calloc(s->cap, sizeof *s->q);
    if (s && token) s->token = strdup(token);
    if (!s || !s->q || (token && !s->token)) {
        if (s) free(s->q);
        if (s) free(s);
        http_respond_text(req, 503, "out of memory");
        return;
    }
    s->hub = hub;
    base_list_init(&s->links);
    http_req_set_log(req, n == 1 ? targets[0].uri : NULL, "event stream");
    http_req_add_header(req, "Cache-Control", "no-cache");
    http_req_add_header(req, "X-Accel-Buffering", "no"); /* for a reverse proxy in front */
    s->stream = http_respond_stream(req, "text/event-stream", sub_pull, sub_closed, s);
    if (!s->stream) {
        free(s->token);
        free(s->q);
        free(s);
        http_respond_text(req, 503, "cannot open an event stream");
        return;
    }
    base_list_push_front(&hub->subs, &s->in_hub);
    hub->stats.subscribers++;
    sub_push(s, hub->retry_ev); /* the reconnection delay, first (WHATWG SSE) */
    if (last_id && !*last_id) last_id = NULL;
    for (size_t i = 0; i < n; i++) sub_add_target(s, &targets[i], last_id);
    if (base_list_empty(&s->links)) s->ending = 1;
}

/* `event: error` with {"status":status,"message":message}, then the end
 * (sub_pull ends the stream once the queue is sent). */
static void sub_end(sub_t *s, gw_ev_t *e)
{
    sub_push(s, e); /* ignored by a stream already ending */
    s->ending = 1;
    http_stream_wake(s->stream);
}

void gw_hub_shutdown(gw_hub_t *hub, unsigned status, const char *message)
{
    gw_ev_t *e = gw_ev_error(NULL, status, message);
    base_list_t *it, *next;
    BASE_LIST_FOREACH(it, next, &hub->subs) sub_end(sub_of(it), e);
    gw_ev_unref(e);
}

size_t gw_hub_revoke(gw_hub_t *hub, int (*still_valid)(const char *token, void *arg), void *arg)
{
    size_t n = 0;
    gw_ev_t *e = NULL;
    base_list_t *it, *next;
    BASE_LIST_FOREACH(it, next, &hub->subs) {
        sub_t *s = sub_of(it);
        if (s->ending || still_valid(s->token, arg)) continue;
        /* RFC 6750 §3.1: the token is no longer valid (never repeated here) */
        if (!e) e = gw_ev_error(NULL, 401, GW_EV_TOKEN_REVOKED);
        sub_end(s, e);
        n++;
    }
    gw_ev_unref(e);
    return n;
}

/* Ends l's target on its stream with `event: error` (as obs_fail does);
 * 1 when that ends the stream (it had no other target). */
static int link_refused(link_t *l, unsigned status, const char *msg)
{
    sub_t *s = l->sub;
    gw_ev_t *e = gw_ev_error(l->obs->t.uri, status, msg);
    if (e) sub_push(s, e);
    gw_ev_unref(e);
    sub_drop_target(s, l->obs);
    return s->ending;
}

size_t gw_hub_recheck(gw_hub_t *hub, gw_stream_check_t refused, void *arg)
{
    size_t n = 0;
    char msg[GW_MSG_MAX];
    base_list_t *it, *next;
    BASE_LIST_FOREACH(it, next, &hub->subs) {
        sub_t *s = sub_of(it);
        if (s->ending) continue;
        for (base_list_t *li = s->links.next, *after; li != &s->links; li = after) {
            after = li->next; /* li may go */
            link_t *l = base_list_entry(li, link_t, in_sub);
            unsigned status = refused(arg, l->obs->t.uri, l->device, msg, sizeof msg);
            if (status) n += link_refused(l, status, msg);
        }
    }
    return n;
}

/* A comment line keeps idle streams (and proxies in between) alive. Only
 * streams silent for a whole period get one: sending it to every stream at
 * once was a burst of 10,000 writes that showed as ~110 ms of extra fan-out
 * latency every 15 s. The timer ticks at a quarter period. */
static void on_keepalive(base_loop_t *loop, base_loop_timer_t *t, void *arg)
{
    gw_hub_t *hub = arg;
    uint64_t now = base_loop_now(loop);
    base_list_t *it, *next;
    BASE_LIST_FOREACH(it, next, &hub->subs) {
        sub_t *s = sub_of(it);
        if (!s->count && now - s->last_push >= hub->p.keepalive_ms) sub_push_at(s, hub->ka_ev, now);
    }
    base_loop_timer_arm_in(t, hub->p.keepalive_ms / 4 + 1);
}

gw_hub_t *gw_hub_new(gw_t *gw, const gw_hub_params_t *p)
{
    gw_hub_t *hub = calloc(1, sizeof *hub);
    if (!hub) return NULL;
    hub->gw = gw;
    base_list_init(&hub->subs);
    hub->p = gw_hub_with_defaults_(p);
    hub->retry_ev = gw_hub_retry_event_(hub->p.retry_ms);
    static const char keepalive[] = ": keep-alive\n\n"; /* a comment line (WHATWG SSE) */
    hub->ka_ev = gw_ev_new(keepalive, sizeof keepalive - 1);
    hub->obs = gw_strmap_new();
    hub->keepalive = base_loop_timer_new(gw->loop, on_keepalive, hub);
    if (!hub->retry_ev || !hub->ka_ev || !hub->obs || !hub->keepalive) {
        gw_hub_free(hub);
        return NULL;
    }
    base_loop_timer_arm_in(hub->keepalive, hub->p.keepalive_ms / 4 + 1);
    return hub;
}

/* Call after the HTTP server and the CoAP endpoint are gone: the streams
 * have closed (leaving, and so deregistering, their observations) and the
 * endpoint has ended those exchanges. What is left is freed here. */
static void free_obs(const char *key, void *value, void *arg)
{
    (void)key;
    (void)arg;
    obs_free(value);
}

void gw_hub_free(gw_hub_t *hub)
{
    if (!hub) return;
    for (base_list_t *n; (n = base_list_first(&hub->subs));) sub_closed(sub_of(n));
    if (hub->obs) gw_strmap_each(hub->obs, free_obs, NULL);
    base_loop_timer_free(hub->keepalive);
    gw_ev_unref(hub->retry_ev);
    gw_ev_unref(hub->ka_ev);
    gw_strmap_free(hub->obs);
    free(hub);
}

const gw_hub_stats_t *gw_hub_stats(const gw_hub_t *hub)
{
    return &hub->stats;
}
