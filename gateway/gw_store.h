/*
 * gw_store.h - durable state behind one small interface: the Resource
 * Directory's registrations (RFC 9176 §5) survive a restart. SQLite is the
 * embedded implementation (store_sqlite.c); a memory-only one keeps
 * nothing (state.path ""). A second implementation (Redis, for several
 * gateways) is one more table of operations. Internal to gateway/.
 *
 * gw_store_put/gw_store_del commit before they return: a caller that
 * answers a device after gw_store_put returned 0 promises only what the
 * store holds. A networked store (Redis, store_redis.c) commits later:
 * gw_store_put_async/gw_store_del_async call `done` once the change is
 * committed or failed (SQLite and memory: at once, inside the call), and
 * the caller answers then.
 */
#ifndef GW_STORE_H
#define GW_STORE_H

#include "coap_addr.h"

#include <stddef.h>
#include <stdint.h>

typedef struct gw_store gw_store_t;

/* One registration as the store keeps it. */
typedef struct {
    const char *id;         /* the registration resource is /rd/ID */
    const char *name;       /* the endpoint name (ep) */
    coap_addr_t registrant; /* the source of its latest registration or update */
    const char *base;       /* the base URI */
    int implicit_base;      /* no base given: the source address is the base */
    uint32_t lifetime_s;    /* lt */
    int64_t expires_at;     /* wall clock (CLOCK_REALTIME), seconds since the epoch:
                               the monotonic clock does not survive a restart */
    const char *links;      /* the link-format payload (may be NULL when links_len is 0) */
    size_t links_len;
    const char *owner; /* the DTLS identity label ("psk:NAME", ...); NULL: plaintext */
    /* Read from a shared store only, for a registration another gateway
     * took (NULL otherwise; ignored when written): that gateway's
     * instance text, and its cluster.advertise URL ("" when it has none) */
    const char *held_by, *held_at;
} gw_store_reg_t;

/* Called for each stored registration; the record lives for the call. */
typedef void (*gw_store_each_fn)(const gw_store_reg_t *reg, void *arg);
/* An asynchronous change ended: rc 0 committed, -1 failed (the reason in
 * gw_store_error). */
typedef void (*gw_store_done_fn)(gw_store_t *s, int rc, void *arg);

/* What a shared store reports of changes made by other gateways (and of
 * its own content read again after a reconnection). */
typedef struct {
    gw_store_each_fn upsert;                    /* a registration came or changed */
    void (*removed)(const char *id, void *arg); /* removed (not expired: each gateway
                                                   keeps its own expiry timers) */
    /* Connected (again): what this gateway holds may be written back with
     * gw_store_put, which then only adds what the store lacks (a Redis
     * restarted empty), never overwriting another gateway's newer record. */
    void (*up)(void *arg);
    void *arg;
} gw_store_watch_t;

/* The operations of one implementation. Each returns 0, or -1 with the
 * reason in the store's error text. */
typedef struct {
    const char *kind; /* "sqlite", "memory" */
    int (*load)(gw_store_t *s, gw_store_each_fn fn, void *arg);
    int (*put)(gw_store_t *s, const gw_store_reg_t *reg); /* insert or replace by ID */
    int (*del)(gw_store_t *s, const char *id);            /* absent: not an error */
    void (*close)(gw_store_t *s);
} gw_store_ops_t;

/* Commit times, for /metrics (persistent stores only). */
#define GW_STORE_BUCKETS 10
extern const double gw_store_bucket_s[GW_STORE_BUCKETS];
typedef struct {
    uint64_t commits, errors;
    uint64_t bucket[GW_STORE_BUCKETS]; /* commits per bucket, not cumulative */
    double sum_s, max_s;
} gw_store_stats_t;

/* The common part of every store: implementations embed it first. */
struct gw_store {
    const gw_store_ops_t *ops;
    const char *path; /* what error messages name ("" for memory) */
    int persistent;
    char err[300];
    gw_store_stats_t stats;
    gw_store_watch_t watch;
    /* A store that commits later sets these (NULL: put/del at once). 0:
     * done will be called; -1: failed now (the store is down), done is
     * not called. */
    int (*put_async)(gw_store_t *s, const gw_store_reg_t *reg, gw_store_done_fn done, void *arg);
    int (*del_async)(gw_store_t *s, const char *id, gw_store_done_fn done, void *arg);
    /* NULL: usable; else why not ("state store: redis://...: connection
     * refused"), for /readyz */
    const char *down;
};

/* How hard a SQLite commit waits for the disk (PRAGMA synchronous in WAL
 * mode): FULL survives a power loss, NORMAL a crash of the process. */
typedef enum { GW_STORE_SYNC_NORMAL, GW_STORE_SYNC_FULL } gw_store_sync_t;
/* The level the gateway runs with (docs/rd.md says why). */
#define GW_STORE_SYNC GW_STORE_SYNC_NORMAL

/* state.path: "" is the memory-only store, anything else a SQLite file
 * opened with GW_STORE_SYNC. NULL with the reason in err (naming the
 * file) when the file cannot be used. */
gw_store_t *gw_store_open(const char *path, char *err, size_t cap);
gw_store_t *gw_store_memory(void);
/* The SQLite file at path (store_sqlite.c): its directory created (0700)
 * when missing, the file (0600) when missing; refused, never rewritten,
 * when it is not a coapgw database, of a newer schema, corrupt,
 * unreadable, or held by another process. */
gw_store_t *gw_store_sqlite_open(const char *path, gw_store_sync_t sync, char *err, size_t cap);

int gw_store_load(gw_store_t *s, gw_store_each_fn fn, void *arg);
int gw_store_put(gw_store_t *s, const gw_store_reg_t *reg);
int gw_store_del(gw_store_t *s, const char *id);
/* The change committed later (see above): 0 and done called once, or -1
 * (the store is down) and done never called. */
int gw_store_put_async(gw_store_t *s, const gw_store_reg_t *reg, gw_store_done_fn done, void *arg);
int gw_store_del_async(gw_store_t *s, const char *id, gw_store_done_fn done, void *arg);
/* Changes by other gateways reach w (shared stores only). */
void gw_store_watch(gw_store_t *s, const gw_store_watch_t *w);
/* NULL when usable, else the reason. */
const char *gw_store_down(const gw_store_t *s);
/* state.redis (store_redis.c): the Redis server at url, connected from
 * the loop (never blocking it), reconnected with back-off; instance names
 * this gateway in the records it writes, advertise (cluster.advertise, or
 * "") is the URL the other gateways forward requests for its devices to.
 * NULL on a bad URL. */
struct base_loop;
gw_store_t *gw_store_redis_open(struct base_loop *loop, const char *url, const char *instance,
                                const char *advertise, char *err, size_t cap);
/* The reason of the last failure. */
const char *gw_store_error(const gw_store_t *s);
const gw_store_stats_t *gw_store_stats(const gw_store_t *s);
/* NULL: nothing. */
void gw_store_close(gw_store_t *s);

/* For implementations: one commit that took t seconds and ended with rc
 * counted; returns rc. */
int gw_store_count(gw_store_t *s, double t, int rc);
/* For implementations: the reason of a failure; returns -1. */
int gw_store_fail(gw_store_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
