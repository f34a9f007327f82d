/*
 * redis_internal.h - what the Redis store's parts share: store_redis.c
 * (records, changes, reading them back) and redis_conn.c (the two
 * connections on base/'s loop, their timeouts and reconnection). Internal
 * to the Redis store.
 */
#ifndef REDIS_INTERNAL_H
#define REDIS_INTERNAL_H

#include "base_loop.h"
#include "cfg.h"
#include "gw_store.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#define REDIS_CONNECT_TIMEOUT_MS 2000
#define REDIS_CMD_TIMEOUT_MS     2000
#define REDIS_BACKOFF_MIN_MS     100
#define REDIS_BACKOFF_MAX_MS     5000

typedef struct {
    gw_store_t base; /* first: the store interface */
    base_loop_t *loop;
    cfg_redis_url_t where;
    char ip[64];                  /* the host resolved once at start */
    char url[300];                /* what messages name: the URL without its password */
    char instance[300];           /* this gateway in records and messages */
    char advertise[256];          /* cluster.advertise, in records: where to forward */
    redisAsyncContext *cmd, *sub; /* commands; the subscription */
    int cmd_ready, sub_ready, up, logged_down, closing;
    int only_missing; /* puts add only what Redis lacks (SET NX): during watch.up */
    char why[200];    /* the reason of the latest failure */
    char down[600];
    uint64_t backoff_ms;
    base_loop_timer_t *retry, *watchdog;
    size_t pending;     /* commands sent and not answered */
    uint64_t oldest_ms; /* when the oldest of them was sent (0: none) */
} redis_store_t;

/* --- redis_conn.c --- */
int redis_setup(redis_store_t *rs, char *err, size_t cap);
void redis_close(gw_store_t *s);
void redis_cmd_sent(redis_store_t *rs);
void redis_cmd_done(redis_store_t *rs);
void redis_on_sub_reply(redisAsyncContext *ac, void *reply, void *priv);
double redis_now_s(void);

/* --- store_redis.c --- */
void redis_scan(redis_store_t *rs, const char *cursor);
void redis_on_message(redis_store_t *rs, const char *text, size_t len);
void redis_subscribe(redis_store_t *rs);

#endif
