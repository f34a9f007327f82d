/*
 * hub_limits.c - the observe hub's limits (sse.max_observations,
 * sse.max_per_target: the refusals and their counters) and parameters
 * (defaults, reload).
 */
#include "hub_internal.h"

#include <stdio.h>
#include <string.h>

/* 503 with Retry-After (RFC 9110 §15.6.4, §10.2.3): the SSE reconnection
 * delay, in seconds; the body names the key to raise. */
void gw_hub_refuse_(gw_hub_t *hub, http_req_t *req, const gw_target_t *targets, size_t n,
                    const char *what, const char *key, uint32_t limit)
{
    char secs[16], note[64];
    snprintf(secs, sizeof secs, "%u", (hub->p.retry_ms + 999) / 1000);
    snprintf(note, sizeof note, "event stream refused: %s", key);
    http_req_set_log(req, n == 1 ? targets[0].uri : NULL, note);
    http_req_add_header(req, "Retry-After", secs);
    http_respond_text(req, 503, "%s (%s = %u); try again later", what, key, limit);
}

static const gw_hub_limit_t per_target = {"sse.max_per_target", "too many streams of this target"},
                            observations = {"sse.max_observations", "too many observed targets"};

/* The limit a new stream of t is beyond (*value its value), NULL when
 * none: a target observed already never counts against max_observations,
 * but against max_per_target. */
const gw_hub_limit_t *gw_hub_target_limit_(const gw_hub_t *hub, const gw_target_t *t,
                                           uint32_t *value)
{
    const obs_t *o = gw_strmap_get(hub->obs, t->uri);
    if (o && o->nlinks >= hub->p.max_per_target) return *value = hub->p.max_per_target, &per_target;
    /* a group's observation (groups.c) counts as one too */
    size_t groups = hub->gw->group_obs ? gw_strmap_count(hub->gw->group_obs) : 0;
    if (!o && hub->stats.observations + groups >= hub->p.max_observations)
        return *value = hub->p.max_observations, &observations;
    return NULL;
}

/* sse.max_subscribers counts every event stream: the hub's and the groups'
 * (groups.c). 1 when n streams are open already: req got 503, counted. */
int gw_hub_streams_full(gw_hub_t *hub, http_req_t *req, const gw_target_t *targets, size_t n)
{
    if (hub->stats.subscribers < hub->p.max_subscribers) return 0;
    hub->stats.refused_subscribers++;
    gw_hub_refuse_(hub, req, targets, n, "too many event streams open", "sse.max_subscribers",
                   hub->p.max_subscribers);
    return 1;
}

void gw_hub_stream_opened(gw_hub_t *hub)
{
    hub->stats.subscribers++;
}

void gw_hub_stream_closed(gw_hub_t *hub)
{
    hub->stats.subscribers--;
}

/* A new group observation (groups.c) is one more upstream observation. */
int gw_hub_observations_full(gw_hub_t *hub, http_req_t *req)
{
    size_t groups = hub->gw->group_obs ? gw_strmap_count(hub->gw->group_obs) : 0;
    if (hub->stats.observations + groups < hub->p.max_observations) return 0;
    gw_hub_count_refusal_(hub, &observations);
    gw_hub_refuse_(hub, req, NULL, 0, observations.what, observations.key, hub->p.max_observations);
    return 1;
}

void gw_hub_count_refusal_(gw_hub_t *hub, const gw_hub_limit_t *l)
{
    if (l == &per_target)
        hub->stats.refused_per_target++;
    else
        hub->stats.refused_observations++;
}

/* The stream observes at least one target: else it is refused whole (the
 * limit of its first target says why). */
const gw_hub_limit_t *gw_hub_none_fits_(const gw_hub_t *hub, const gw_target_t *targets, size_t n,
                                        uint32_t *value)
{
    const gw_hub_limit_t *first = gw_hub_target_limit_(hub, &targets[0], value);
    uint32_t ignored;
    for (size_t i = 1; first && i < n; i++)
        if (!gw_hub_target_limit_(hub, &targets[i], &ignored)) return NULL;
    return first;
}

gw_hub_params_t gw_hub_params_from_cfg(const cfg_t *c)
{
    return (gw_hub_params_t){.max_subscribers = c->max_subscribers,
                             .max_observations = c->max_observations,
                             .max_per_target = c->sse_max_per_target,
                             .retry_ms = c->sse_retry_ms,
                             .queue_len = c->sse_queue};
}

gw_hub_params_t gw_hub_with_defaults_(const gw_hub_params_t *p)
{
    gw_hub_params_t d = p ? *p : (gw_hub_params_t){0};
    if (!d.max_subscribers) d.max_subscribers = 20000;
    if (!d.max_observations) d.max_observations = 1024;
    if (!d.max_per_target) d.max_per_target = 1000;
    if (!d.queue_len) d.queue_len = 64;
    if (!d.keepalive_ms) d.keepalive_ms = 15000;
    if (!d.retry_ms) d.retry_ms = 3000;
    if (!d.max_backoff_ms) d.max_backoff_ms = 60000;
    return d;
}

gw_ev_t *gw_hub_retry_event_(uint32_t retry_ms)
{
    char retry[32];
    int n = snprintf(retry, sizeof retry, "retry: %u\n\n", retry_ms);
    return gw_ev_new(retry, (size_t)n);
}

void gw_hub_set_params(gw_hub_t *hub, const gw_hub_params_t *p)
{
    gw_hub_params_t next = gw_hub_with_defaults_(p);
    if (next.retry_ms != hub->p.retry_ms) {
        gw_ev_t *e = gw_hub_retry_event_(next.retry_ms);
        if (e) { /* queued copies of the old one hold their own reference */
            gw_ev_unref(hub->retry_ev);
            hub->retry_ev = e;
        } else {
            next.retry_ms = hub->p.retry_ms; /* out of memory: keep the old one */
        }
    }
    hub->p = next; /* the keep-alive timer picks up a new period at its next tick */
}
