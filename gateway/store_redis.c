/*
 * store_redis.c - state.redis: the registrations in Redis, shared by
 * several gateways (docs/cluster.md, "State in Redis"). hiredis is driven
 * asynchronously by base/'s loop (redis_loop.c wires its adapter hooks);
 * nothing here blocks the loop.
 *
 * One key per registration, coapgw:reg:ID, a JSON value whose TTL ends
 * at the registration's expiry (SET ... PXAT), so Redis drops it when its
 * lifetime runs out; each change is published on coapgw:changes
 * ({"op":"put"|"del","id":ID,"from":INSTANCE}) and every gateway
 * subscribes (a second connection) and applies the others' changes. An
 * expiry is not published: every gateway keeps its own expiry timers.
 *
 * Down (refused, reset, a command unanswered for REDIS_CMD_TIMEOUT_MS):
 * both connections are dropped, changes fail at once (the RD answers
 * 5.03), and a new connection is tried with back-off (100 ms doubling to
 * 5 s); once it is up again every registration is read again.
 */
#include "redis_internal.h"

#include "gw.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_PREFIX "coapgw:reg:"
#define CHANNEL    "coapgw:changes"

/* --- records as JSON --- */

static char *record_json(const gw_store_reg_t *r, const redis_store_t *rs)
{
    char host[COAP_ADDR_STRLEN];
    coap_addr_host(&r->registrant, host, sizeof host);
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:b, s:I, s:I, s:s%, s:s}", "id", r->id,
                          "name", r->name, "registrant_host", host, "registrant_port",
                          coap_addr_port(&r->registrant), "base", r->base, "implicit_base",
                          r->implicit_base, "lifetime_s", (json_int_t)r->lifetime_s, "expires_at",
                          (json_int_t)r->expires_at, "links", r->links ? r->links : "",
                          r->links_len, "instance", rs->instance);
    if (o && r->owner) json_object_set_new(o, "owner", json_string(r->owner));
    if (o) json_object_set_new(o, "advertise", json_string(rs->advertise));
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* A record read back: fn sees it; 0, or -1 when it is not one of ours.
 * One that another gateway wrote names it (held_by, held_at). */
static int record_read(const redis_store_t *rs, const char *text, size_t len, gw_store_each_fn fn,
                       void *arg)
{
    json_t *o = json_loadb(text, len, 0, NULL);
    gw_store_reg_t r = {0};
    const char *host = NULL, *links = NULL, *instance = NULL, *advertise = NULL;
    int port = 0, implicit = 0;
    json_int_t lt = 0, exp = 0;
    size_t links_len = 0;
    if (!o ||
        json_unpack(o, "{s:s, s:s, s:s, s:i, s:s, s:b, s:I, s:I, s:s%, s?s, s?s, s?s}", "id", &r.id,
                    "name", &r.name, "registrant_host", &host, "registrant_port", &port, "base",
                    &r.base, "implicit_base", &implicit, "lifetime_s", &lt, "expires_at", &exp,
                    "links", &links, &links_len, "owner", &r.owner, "instance", &instance,
                    "advertise", &advertise) ||
        coap_addr_from_host(&r.registrant, host, (uint16_t)port)) {
        json_decref(o);
        return -1;
    }
    r.implicit_base = implicit;
    r.lifetime_s = (uint32_t)lt;
    r.expires_at = exp;
    r.links = links;
    r.links_len = links_len;
    if (instance && strcmp(instance, rs->instance)) {
        r.held_by = instance;
        r.held_at = advertise ? advertise : "";
    }
    fn(&r, arg);
    json_decref(o);
    return 0;
}

/* --- changes --- */

typedef struct {
    redis_store_t *rs;
    gw_store_done_fn done;
    void *arg;
    double t0;
} change_t;

static void on_committed(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)ac;
    change_t *c = priv;
    redis_store_t *rs = c->rs;
    redisReply *rep = reply;
    int rc = 0;
    redis_cmd_done(rs);
    if (!rep)
        rc = gw_store_fail(&rs->base, "%s: %s", rs->base.path,
                           rs->why[0] ? rs->why : "connection lost");
    else if (rep->type == REDIS_REPLY_ERROR)
        rc = gw_store_fail(&rs->base, "%s: %s", rs->base.path, rep->str);
    c->done(&rs->base, gw_store_count(&rs->base, redis_now_s() - c->t0, rc), c->arg);
    free(c);
}

/* The command (argv) then its announcement; done after the command. */
static int change(redis_store_t *rs, int argc, const char **argv, const char *op, const char *id,
                  gw_store_done_fn done, void *arg)
{
    if (!rs->up) {
        rs->base.stats.errors++;
        return gw_store_fail(&rs->base, "%s", rs->base.down);
    }
    change_t *c = malloc(sizeof *c);
    json_t *msg = json_pack("{s:s, s:s, s:s}", "op", op, "id", id, "from", rs->instance);
    char *m = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    if (!c || !m) {
        free(c);
        free(m);
        rs->base.stats.errors++;
        return gw_store_fail(&rs->base, "out of memory");
    }
    *c = (change_t){rs, done, arg, redis_now_s()};
    if (redisAsyncCommandArgv(rs->cmd, on_committed, c, argc, argv, NULL) != REDIS_OK) {
        free(c);
        free(m);
        rs->base.stats.errors++;
        return gw_store_fail(&rs->base, "%s: cannot send the command", rs->base.path);
    }
    redis_cmd_sent(rs); /* from here on_committed answers, whatever follows */
    if (redisAsyncCommand(rs->cmd, NULL, NULL, "PUBLISH %s %s", CHANNEL, m) != REDIS_OK)
        gw_log(CFG_LOG_WARN, "state: %s: cannot announce the change of /rd/%s", rs->url, id);
    free(m);
    return 0;
}

static int rs_put_async(gw_store_t *s, const gw_store_reg_t *reg, gw_store_done_fn done, void *arg)
{
    redis_store_t *rs = (redis_store_t *)s;
    char key[64], pxat[32];
    snprintf(key, sizeof key, KEY_PREFIX "%s", reg->id);
    snprintf(pxat, sizeof pxat, "%lld", (long long)reg->expires_at * 1000);
    char *json = record_json(reg, rs);
    if (!json) {
        s->stats.errors++;
        return gw_store_fail(s, "out of memory");
    }
    const char *argv[] = {"SET", key, json, "PXAT", pxat, "NX"};
    int rc = change(rs, rs->only_missing ? 6 : 5, argv, "put", reg->id, done, arg);
    free(json);
    return rc;
}

static int rs_del_async(gw_store_t *s, const char *id, gw_store_done_fn done, void *arg)
{
    redis_store_t *rs = (redis_store_t *)s;
    char key[64];
    snprintf(key, sizeof key, KEY_PREFIX "%s", id);
    const char *argv[] = {"DEL", key};
    return change(rs, 2, argv, "del", id, done, arg);
}

/* The synchronous calls are the RD's own bookkeeping, never a device's
 * request. A put (a lifetime cut by a reload) is sent, not awaited. A
 * delete (an expiry, a registration this gateway's configuration no
 * longer allows) is not sent at all: Redis expires the key itself, and a
 * DEL here could remove what another gateway just updated, or impose one
 * gateway's configuration on the others. */
static void forget_reply(gw_store_t *s, int rc, void *arg)
{
    (void)s, (void)rc, (void)arg;
}

static int rs_put(gw_store_t *s, const gw_store_reg_t *reg)
{
    return rs_put_async(s, reg, forget_reply, NULL);
}

static int rs_del(gw_store_t *s, const char *id)
{
    (void)s, (void)id;
    return 0;
}

/* At start the registrations arrive through the watch once connected. */
static int rs_load(gw_store_t *s, gw_store_each_fn fn, void *arg)
{
    (void)s, (void)fn, (void)arg;
    return 0;
}

/* --- reading every registration (after each connection) and changes --- */

static void on_record(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)ac;
    redis_store_t *rs = priv;
    redisReply *rep = reply;
    if (rep) redis_cmd_done(rs);
    if (rep && rep->type == REDIS_REPLY_STRING && rs->base.watch.upsert &&
        record_read(rs, rep->str, rep->len, rs->base.watch.upsert, rs->base.watch.arg))
        gw_log(CFG_LOG_WARN, "state: %s: a value that is not a registration: ignored", rs->url);
}

static void fetch(redis_store_t *rs, const char *key)
{
    if (rs->cmd && redisAsyncCommand(rs->cmd, on_record, rs, "GET %s", key) == REDIS_OK)
        redis_cmd_sent(rs);
}

static void on_scan(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)ac;
    redis_store_t *rs = priv;
    redisReply *rep = reply;
    if (!rep) return;
    redis_cmd_done(rs);
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) return;
    redisReply *keys = rep->element[1];
    for (size_t i = 0; i < keys->elements; i++)
        if (keys->element[i]->type == REDIS_REPLY_STRING) fetch(rs, keys->element[i]->str);
    const char *cursor = rep->element[0]->str;
    if (strcmp(cursor, "0")) redis_scan(rs, cursor);
}

void redis_scan(redis_store_t *rs, const char *cursor)
{
    if (rs->cmd && redisAsyncCommand(rs->cmd, on_scan, rs,
                                     "SCAN %s MATCH " KEY_PREFIX "* COUNT 500", cursor) == REDIS_OK)
        redis_cmd_sent(rs);
}

void redis_on_message(redis_store_t *rs, const char *text, size_t len)
{
    json_t *o = json_loadb(text, len, 0, NULL);
    const char *op = NULL, *id = NULL, *from = NULL;
    if (o && !json_unpack(o, "{s:s, s:s, s:s}", "op", &op, "id", &id, "from", &from) &&
        strcmp(from, rs->instance) && strlen(id) < 16) {
        char key[64];
        snprintf(key, sizeof key, KEY_PREFIX "%s", id);
        if (!strcmp(op, "put"))
            fetch(rs, key);
        else if (!strcmp(op, "del") && rs->base.watch.removed)
            rs->base.watch.removed(id, rs->base.watch.arg);
    }
    json_decref(o);
}

void redis_subscribe(redis_store_t *rs)
{
    redisAsyncCommand(rs->sub, redis_on_sub_reply, rs, "SUBSCRIBE " CHANNEL);
}

static const gw_store_ops_t rs_ops = {"redis", rs_load, rs_put, rs_del, redis_close};

gw_store_t *gw_store_redis_open(base_loop_t *loop, const char *url, const char *instance,
                                const char *advertise, char *err, size_t cap)
{
    redis_store_t *rs = calloc(1, sizeof *rs);
    if (!rs) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    rs->base.ops = &rs_ops;
    rs->base.persistent = 1;
    rs->base.put_async = rs_put_async;
    rs->base.del_async = rs_del_async;
    rs->loop = loop;
    snprintf(rs->url, sizeof rs->url, "%s", url);
    snprintf(rs->instance, sizeof rs->instance, "%s", instance);
    snprintf(rs->advertise, sizeof rs->advertise, "%s", advertise);
    rs->base.path = rs->url;
    if (redis_setup(rs, err, cap)) {
        redis_close(&rs->base);
        return NULL;
    }
    return &rs->base;
}
