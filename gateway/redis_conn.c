/*
 * redis_conn.c - the Redis store's two connections (commands, and the
 * subscription to the change channel) on base/'s loop: hiredis's adapter
 * hooks (ev.addRead/delRead/addWrite/delWrite/cleanup) add and remove the
 * socket in the loop, a watchdog timer bounds the connect and every
 * command, and a retry timer reconnects with exponential back-off. A
 * transition (down, up again) is logged once, not per attempt.
 */
#include "redis_internal.h"

#include "gw.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

double redis_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- hiredis's adapter interface on base/'s loop --- */

typedef struct {
    base_loop_t *loop;
    redisAsyncContext *ac;
    int fd;
    unsigned want;
    int added;
} redis_ev_t;

static void on_fd(base_loop_t *loop, int fd, unsigned events, void *arg)
{
    (void)loop, (void)fd;
    redis_ev_t *e = arg;
    events &= e->want;
    /* one call per turn: either may free the context (and e) */
    if (events & BASE_LOOP_READ)
        redisAsyncHandleRead(e->ac);
    else if (events & BASE_LOOP_WRITE)
        redisAsyncHandleWrite(e->ac);
}

static void ev_update(redis_ev_t *e, unsigned want)
{
    e->want = want;
    if (want && !e->added)
        e->added = !base_loop_add_fd(e->loop, e->fd, want, on_fd, e);
    else if (want)
        base_loop_mod_fd(e->loop, e->fd, want);
    else if (e->added) {
        base_loop_del_fd(e->loop, e->fd);
        e->added = 0;
    }
}

static void ev_add_read(void *p)
{
    redis_ev_t *e = p;
    ev_update(e, e->want | BASE_LOOP_READ);
}

static void ev_del_read(void *p)
{
    redis_ev_t *e = p;
    ev_update(e, e->want & ~(unsigned)BASE_LOOP_READ);
}

static void ev_add_write(void *p)
{
    redis_ev_t *e = p;
    ev_update(e, e->want | BASE_LOOP_WRITE);
}

static void ev_del_write(void *p)
{
    redis_ev_t *e = p;
    ev_update(e, e->want & ~(unsigned)BASE_LOOP_WRITE);
}

static void ev_cleanup(void *p)
{
    redis_ev_t *e = p;
    ev_update(e, 0);
    free(e);
}

static int attach(base_loop_t *loop, redisAsyncContext *ac)
{
    redis_ev_t *e = calloc(1, sizeof *e);
    if (!e) return -1;
    *e = (redis_ev_t){.loop = loop, .ac = ac, .fd = ac->c.fd};
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    ac->ev.data = e;
    return 0;
}

/* --- up, down, and back --- */

static void teardown(redis_store_t *rs)
{
    redisAsyncContext *cmd = rs->cmd, *sub = rs->sub;
    rs->cmd = rs->sub = NULL; /* before the frees: their callbacks run inside */
    rs->cmd_ready = rs->sub_ready = rs->up = 0;
    rs->pending = 0;
    if (cmd) redisAsyncFree(cmd); /* changes in flight fail: 5.03 */
    if (sub) redisAsyncFree(sub);
}

static void fail(redis_store_t *rs, const char *why)
{
    if (rs->closing) return;
    snprintf(rs->why, sizeof rs->why, "%s", why);
    snprintf(rs->down, sizeof rs->down, "state store: %s: %s", rs->url, why);
    rs->base.down = rs->down;
    if (!rs->logged_down) {
        gw_log(CFG_LOG_WARN, "state: %s is down (%s): registrations answer 5.03 until it is back",
               rs->url, why);
        rs->logged_down = 1;
    }
    teardown(rs);
    base_loop_timer_disarm(rs->watchdog);
    base_loop_timer_arm_in(rs->retry, rs->backoff_ms);
    rs->backoff_ms =
        rs->backoff_ms * 2 > REDIS_BACKOFF_MAX_MS ? REDIS_BACKOFF_MAX_MS : rs->backoff_ms * 2;
}

static void check_up(redis_store_t *rs)
{
    if (rs->up || !rs->cmd_ready || !rs->sub_ready) return;
    rs->up = 1;
    rs->base.down = NULL;
    rs->backoff_ms = REDIS_BACKOFF_MIN_MS;
    gw_log(CFG_LOG_INFO, "state: %s %s: reading the registrations", rs->url,
           rs->logged_down ? "is back" : "connected");
    rs->logged_down = 0;
    if (rs->base.watch.up) { /* ours back into a Redis that lost them */
        rs->only_missing = 1;
        rs->base.watch.up(rs->base.watch.arg);
        rs->only_missing = 0;
    }
    redis_scan(rs, "0"); /* what changed while we were away */
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    redis_store_t *rs = ac->data;
    if (ac != rs->cmd && ac != rs->sub) return;
    if (status == REDIS_OK) return;    /* ready once AUTH/SELECT or SUBSCRIBE answer */
    if (ac == rs->cmd) rs->cmd = NULL; /* hiredis frees it */
    if (ac == rs->sub) rs->sub = NULL;
    fail(rs, ac->errstr[0] ? ac->errstr : "cannot connect");
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    redis_store_t *rs = ac->data;
    if (ac != rs->cmd && ac != rs->sub) return; /* ours, freed on purpose */
    if (ac == rs->cmd) rs->cmd = NULL;
    if (ac == rs->sub) rs->sub = NULL;
    fail(rs, status == REDIS_OK || !ac->errstr[0] ? "connection closed" : ac->errstr);
}

/* AUTH, then SELECT on the command connection: its first answers. */
static void on_setup_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    redis_store_t *rs = ac->data;
    redisReply *rep = reply;
    (void)priv;
    if (!rep || ac != rs->cmd) return;
    redis_cmd_done(rs);
    if (rep->type == REDIS_REPLY_ERROR) {
        char why[200];
        snprintf(why, sizeof why, "%s", rep->str);
        fail(rs, why);
        return;
    }
    rs->cmd_ready = 1;
    check_up(rs);
}

void redis_on_sub_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    redis_store_t *rs = priv;
    redisReply *rep = reply;
    if (!rep || ac != rs->sub) return;
    if (rep->type == REDIS_REPLY_ERROR) {
        char why[200];
        snprintf(why, sizeof why, "%s", rep->str);
        fail(rs, why);
        return;
    }
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 3 ||
        rep->element[0]->type != REDIS_REPLY_STRING)
        return;
    if (!strcmp(rep->element[0]->str, "subscribe")) {
        rs->sub_ready = 1;
        check_up(rs);
    } else if (!strcmp(rep->element[0]->str, "message") &&
               rep->element[2]->type == REDIS_REPLY_STRING) {
        redis_on_message(rs, rep->element[2]->str, rep->element[2]->len);
    }
}

static redisAsyncContext *open_one(redis_store_t *rs)
{
    redisAsyncContext *ac = rs->where.path[0] ? redisAsyncConnectUnix(rs->where.path)
                                              : redisAsyncConnect(rs->ip, rs->where.port);
    if (!ac) return NULL;
    if (ac->err || attach(rs->loop, ac)) {
        snprintf(rs->why, sizeof rs->why, "%s", ac->err ? ac->errstr : "out of memory");
        redisAsyncFree(ac);
        return NULL;
    }
    ac->data = rs;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    /* AUTH before anything (docs/security.md): queued, sent once connected */
    if (rs->where.password[0]) redisAsyncCommand(ac, NULL, NULL, "AUTH %s", rs->where.password);
    return ac;
}

static void connect_both(redis_store_t *rs)
{
    rs->why[0] = '\0';
    if (!(rs->cmd = open_one(rs)) || !(rs->sub = open_one(rs))) {
        fail(rs, rs->why[0] ? rs->why : "out of memory");
        return;
    }
    /* the answer to SELECT (or PING) tells that AUTH passed too */
    if (rs->where.db)
        redisAsyncCommand(rs->cmd, on_setup_reply, rs, "SELECT %d", rs->where.db);
    else
        redisAsyncCommand(rs->cmd, on_setup_reply, rs, "PING");
    redis_cmd_sent(rs);
    redis_subscribe(rs);
}

static void on_retry(base_loop_t *loop, base_loop_timer_t *t, void *arg)
{
    (void)loop, (void)t;
    connect_both(arg);
}

/* Nothing answered (the connect, or a command) for too long: down. */
static void on_watchdog(base_loop_t *loop, base_loop_timer_t *t, void *arg)
{
    (void)t;
    redis_store_t *rs = arg;
    uint64_t now = base_loop_now(loop);
    if (rs->pending && now - rs->oldest_ms >= REDIS_CMD_TIMEOUT_MS)
        fail(rs, rs->up ? "no answer within 2 s" : "connect timed out");
    else if (rs->pending)
        base_loop_timer_arm(rs->watchdog, rs->oldest_ms + REDIS_CMD_TIMEOUT_MS);
}

void redis_cmd_sent(redis_store_t *rs)
{
    if (rs->pending++) return;
    rs->oldest_ms = base_loop_now(rs->loop);
    base_loop_timer_arm_in(rs->watchdog, REDIS_CMD_TIMEOUT_MS);
}

/* An answer: progress, the watchdog counts from now. */
void redis_cmd_done(redis_store_t *rs)
{
    if (rs->pending) rs->pending--;
    rs->oldest_ms = base_loop_now(rs->loop);
    if (!rs->pending) base_loop_timer_disarm(rs->watchdog);
}

/* A host name is resolved once, before the loop runs (the loop never
 * resolves names). */
static int resolve(redis_store_t *rs, char *err, size_t cap)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(rs->where.host, NULL, &hints, &res);
    if (rc || !res) {
        snprintf(err, cap, "state.redis %s: cannot resolve %s: %s", rs->url, rs->where.host,
                 gai_strerror(rc));
        return -1;
    }
    void *a = res->ai_family == AF_INET6 ? (void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr
                                         : (void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
    inet_ntop(res->ai_family, a, rs->ip, sizeof rs->ip);
    freeaddrinfo(res);
    return 0;
}

int redis_setup(redis_store_t *rs, char *err, size_t cap)
{
    char why[200];
    if (cfg_redis_url(rs->url, &rs->where, why, sizeof why)) {
        snprintf(err, cap, "state.redis: %s", why);
        return -1;
    }
    /* messages never show the password */
    if (rs->where.path[0])
        snprintf(rs->url, sizeof rs->url, "unix:%s", rs->where.path);
    else if (strchr(rs->where.host, ':'))
        snprintf(rs->url, sizeof rs->url, "redis://[%s]:%d", rs->where.host, rs->where.port);
    else
        snprintf(rs->url, sizeof rs->url, "redis://%s:%d", rs->where.host, rs->where.port);
    if (rs->where.db) snprintf(rs->url + strlen(rs->url), 16, "/%d", rs->where.db);
    if (!rs->where.path[0] && resolve(rs, err, cap)) return -1;
    rs->backoff_ms = REDIS_BACKOFF_MIN_MS;
    if (!(rs->retry = base_loop_timer_new(rs->loop, on_retry, rs)) ||
        !(rs->watchdog = base_loop_timer_new(rs->loop, on_watchdog, rs))) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    snprintf(rs->down, sizeof rs->down, "state store: %s: connecting", rs->url);
    rs->base.down = rs->down;
    connect_both(rs);
    return 0;
}

void redis_close(gw_store_t *s)
{
    redis_store_t *rs = (redis_store_t *)s;
    rs->closing = 1;
    teardown(rs);
    if (rs->retry) base_loop_timer_free(rs->retry);
    if (rs->watchdog) base_loop_timer_free(rs->watchdog);
    free(rs);
}
