/*
 * groups_subs.c - the event streams of group requests (groups.c): each
 * subscriber's queue of event text, bounded; the keep-alive comment of a
 * quiet observation; the count of streams against sse.max_subscribers
 * (gw_hub.h); and, after a reload, the end of the streams whose token, or
 * group, is no longer valid (docs/discovery.md, docs/security.md).
 */
#include "groups_internal.h"
#include "gw_hub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEEPALIVE_MS    15000         /* a comment line on a quiet observation, as hub.c's */
#define SUB_MAX_BACKLOG (1024 * 1024) /* bytes a subscriber has not read yet */

/* A subscriber that does not read gets no more than SUB_MAX_BACKLOG
 * queued: what comes beyond is left out (its connection ends by
 * http.idle_timeout_s), never memory without bound. */
static void sub_push(gsub_t *s, const char *data, size_t len)
{
    if (s->ending || s->out.len - s->sent + len > SUB_MAX_BACKLOG) return;
    base_buf_append(&s->out, data, len);
    http_stream_wake(s->stream);
}

void gw_groups_push_(gq_t *q, gw_ev_t *e)
{
    for (base_list_t *it = q->subs.next; e && !q->ending && it != &q->subs; it = it->next)
        sub_push(base_list_entry(it, gsub_t, in_q), e->data, e->len);
    gw_ev_unref(e);
    q->quiet = 0;
}

/* An observation of a group that says nothing writes nothing: a client
 * gone away would never be noticed, and the registration (an exchange,
 * sent again every Max-Age) would stay for good. A comment line on quiet
 * observations finds them, as the hub's keep-alive does (WHATWG SSE). */
static void on_keepalive(base_loop_t *loop, base_loop_timer_t *t, void *arg)
{
    (void)loop;
    gq_t *q = arg;
    static const char comment[] = ": keep-alive\n\n";
    for (base_list_t *it = q->subs.next; q->quiet && it != &q->subs; it = it->next)
        sub_push(base_list_entry(it, gsub_t, in_q), comment, sizeof comment - 1);
    q->quiet = 1;
    base_loop_timer_arm_in(t, KEEPALIVE_MS);
}

void gw_groups_keepalive_(gq_t *q)
{
    if (!(q->keepalive = base_loop_timer_new(q->gw->loop, on_keepalive, q))) return;
    q->quiet = 1;
    base_loop_timer_arm_in(q->keepalive, KEEPALIVE_MS);
}

static long on_pull(void *arg, char *buf, size_t max)
{
    gsub_t *s = arg;
    size_t n = base_buf_take(&s->out, &s->sent, buf, max);
    if (!n) return s->q->ending || s->ending ? -1 : 0;
    return (long)n;
}

void gw_groups_sub_free_(gsub_t *s)
{
    if (s->q->gw->hub) gw_hub_stream_closed(s->q->gw->hub);
    base_list_remove(&s->in_q);
    base_buf_free(&s->out);
    free(s->token);
    free(s);
}

/* A new event stream of q on req, given what q's members said last
 * (an observation's current values). NULL when req was answered 503. */
gsub_t *gw_groups_add_sub_(gq_t *q, http_req_t *req, const char *token)
{
    gsub_t *s = calloc(1, sizeof *s);
    if (!s || (token && !(s->token = strdup(token)))) {
        free(s);
        return http_respond_text(req, 503, "out of memory"), NULL;
    }
    s->q = q;
    http_req_add_header(req, "Cache-Control", "no-cache");
    http_req_add_header(req, "X-Accel-Buffering", "no");
    s->stream = http_respond_stream(req, "text/event-stream", on_pull, gw_groups_sub_closed_, s);
    if (!s->stream) {
        free(s->token);
        free(s);
        return http_respond_text(req, 503, "cannot open an event stream"), NULL;
    }
    base_list_push_back(&q->subs, &s->in_q);
    if (q->gw->hub) gw_hub_stream_opened(q->gw->hub); /* one of sse.max_subscribers */
    char retry[40]; /* docs/sse.md: every stream starts with retry: */
    int n = snprintf(retry, sizeof retry, "retry: %u\n\n",
                     q->gw->cfg.sse_retry_ms ? (unsigned)q->gw->cfg.sse_retry_ms : 3000u);
    sub_push(s, retry, (size_t)n);
    const char *addr;
    json_t *ev;
    json_object_foreach(q->last, addr, ev)
        sub_push(s, json_string_value(ev), json_string_length(ev));
    http_stream_wake(s->stream);
    return s;
}

/* --- a reload --- */

char *gw_groups_sig_(const cfg_group_t *g)
{
    base_buf_t b = {0};
    char port[16];
    snprintf(port, sizeof port, ":%u", (unsigned)g->port);
    int err = g->address ? base_buf_append(&b, g->address, strlen(g->address)) ||
                               base_buf_append(&b, port, strlen(port))
                         : 0;
    for (size_t i = 0; !err && !g->address && i < g->members.n; i++)
        err = base_buf_append(&b, g->members.v[i], strlen(g->members.v[i])) ||
              base_buf_append(&b, " ", 1);
    if (err || base_buf_append(&b, "", 1)) {
        base_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

void gw_groups_track_(gq_t *q)
{
    if (!q->gw->group_streams.next) base_list_init(&q->gw->group_streams);
    base_list_push_back(&q->gw->group_streams, &q->in_gw);
}

/* Whether the configuration in force still has q's group as it was, and
 * allows its address (or each member): 0, else the status of the
 * `event: error` its streams end with, and why in msg. A member whose
 * name is being resolved again is not refused for it. */
static unsigned group_refused(gq_t *q, char *msg, size_t cap)
{
    const cfg_group_t *g = gw_groups_find_(q->gw, q->group, strlen(q->group));
    char *sig = g ? gw_groups_sig_(g) : NULL;
    int same = sig && !strcmp(sig, q->sig);
    free(sig);
    if (!same) return snprintf(msg, cap, "group %s is no longer configured", q->group), 404;
    for (size_t i = 0; i < (g->address ? 1 : g->members.n); i++) {
        gw_target_t t;
        memset(&t, 0, sizeof t);
        if (gw_groups_leg_target_(q->gw, g, i, "", "", &t, msg, cap) == 403) return 403;
    }
    return 0;
}

typedef struct {
    int (*still_valid)(const char *token, void *arg);
    void *arg;
    gw_ev_t *revoked; /* event: error 401, made once */
    size_t n, gone;
} revoke_t;

/* Ends s with e (then the stream closes, as the hub's do). */
static void sub_end(gsub_t *s, const gw_ev_t *e)
{
    if (e) sub_push(s, e->data, e->len);
    s->ending = 1;
    http_stream_wake(s->stream);
}

/* Every stream of q whose group no longer passes, else whose token no
 * longer does, ends with an error event (RFC 6750 §3.1 for a token, as
 * the hub ends a device's streams: hub.c). */
static void revoke_q(gq_t *q, revoke_t *x)
{
    char msg[GW_MSG_MAX];
    unsigned status = q->ending ? 0 : group_refused(q, msg, sizeof msg);
    gw_ev_t *refused = status ? gw_ev_error(NULL, status, msg) : NULL;
    if (status) gw_groups_unshare_(q); /* a new client starts anew, or is refused */
    for (base_list_t *it = q->subs.next; it != &q->subs; it = it->next) {
        gsub_t *s = base_list_entry(it, gsub_t, in_q);
        if (s->ending || q->ending) continue;
        if (status) {
            sub_end(s, refused);
            x->gone++;
        } else if (!x->still_valid(s->token, x->arg)) {
            if (!x->revoked) x->revoked = gw_ev_error(NULL, 401, GW_EV_TOKEN_REVOKED);
            sub_end(s, x->revoked);
            x->n++;
        }
    }
    gw_ev_unref(refused);
}

size_t gw_groups_revoke(gw_t *gw, int (*still_valid)(const char *token, void *arg), void *arg,
                        size_t *gone)
{
    revoke_t x = {still_valid, arg, NULL, 0, 0};
    base_list_t *it, *next;
    if (gw->group_streams.next)
        BASE_LIST_FOREACH(it, next, &gw->group_streams) {
            revoke_q(base_list_entry(it, gq_t, in_gw), &x);
        }
    gw_ev_unref(x.revoked);
    *gone = x.gone;
    return x.n;
}
