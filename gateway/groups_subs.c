/*
 * groups_subs.c - the event streams of group requests (groups.c): each
 * subscriber's queue of event text, bounded; the keep-alive comment of a
 * quiet observation; and, after a reload, the end of the streams whose
 * token is no longer valid (docs/discovery.md, docs/security.md).
 */
#include "groups_internal.h"

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

typedef struct {
    int (*still_valid)(const char *token, void *arg);
    void *arg;
    gw_ev_t *error;
    size_t n;
} revoke_t;

static void revoke_obs(const char *key, void *value, void *arg)
{
    (void)key;
    gq_t *q = value;
    revoke_t *x = arg;
    for (base_list_t *it = q->subs.next; it != &q->subs; it = it->next) {
        gsub_t *s = base_list_entry(it, gsub_t, in_q);
        if (s->ending || x->still_valid(s->token, x->arg)) continue;
        /* RFC 6750 §3.1, as the hub ends a device's streams (hub.c) */
        if (!x->error)
            x->error = gw_ev_error(NULL, 401, "the access token of this stream is no longer valid");
        if (x->error) sub_push(s, x->error->data, x->error->len);
        s->ending = 1;
        http_stream_wake(s->stream);
        x->n++;
    }
}

size_t gw_groups_revoke(gw_t *gw, int (*still_valid)(const char *token, void *arg), void *arg)
{
    revoke_t x = {still_valid, arg, NULL, 0};
    if (gw->group_obs) gw_strmap_each(gw->group_obs, revoke_obs, &x);
    gw_ev_unref(x.error);
    return x.n;
}
