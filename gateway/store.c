/*
 * store.c - the store interface (gw_store.h): the calls every
 * implementation shares (commit times and failures counted here, once),
 * and the memory-only store of state.path "", which keeps nothing.
 */
#include "gw_store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

const double gw_store_bucket_s[GW_STORE_BUCKETS] = {.0001, .00025, .0005, .001, .002,
                                                    .005,  .01,    .05,   .25,  1};

int gw_store_fail(gw_store_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    return -1;
}

const char *gw_store_error(const gw_store_t *s)
{
    return s->err;
}

const gw_store_stats_t *gw_store_stats(const gw_store_t *s)
{
    return &s->stats;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int gw_store_count(gw_store_t *s, double t, int rc)
{
    gw_store_stats_t *st = &s->stats;
    if (rc) {
        st->errors++;
        return rc;
    }
    if (!s->persistent) return 0;
    st->commits++;
    st->sum_s += t;
    if (t > st->max_s) st->max_s = t;
    size_t i = 0;
    while (i < GW_STORE_BUCKETS && t > gw_store_bucket_s[i]) i++;
    if (i < GW_STORE_BUCKETS) st->bucket[i]++;
    return 0;
}

int gw_store_load(gw_store_t *s, gw_store_each_fn fn, void *arg)
{
    int rc = s->ops->load(s, fn, arg);
    s->stats.errors += rc != 0;
    return rc;
}

int gw_store_put(gw_store_t *s, const gw_store_reg_t *reg)
{
    double t0 = now_s();
    int rc = s->ops->put(s, reg);
    return gw_store_count(s, now_s() - t0, rc);
}

int gw_store_del(gw_store_t *s, const char *id)
{
    double t0 = now_s();
    int rc = s->ops->del(s, id);
    return gw_store_count(s, now_s() - t0, rc);
}

int gw_store_put_async(gw_store_t *s, const gw_store_reg_t *reg, gw_store_done_fn done, void *arg)
{
    if (s->put_async) return s->put_async(s, reg, done, arg);
    done(s, gw_store_put(s, reg), arg);
    return 0;
}

int gw_store_del_async(gw_store_t *s, const char *id, gw_store_done_fn done, void *arg)
{
    if (s->del_async) return s->del_async(s, id, done, arg);
    done(s, gw_store_del(s, id), arg);
    return 0;
}

void gw_store_watch(gw_store_t *s, const gw_store_watch_t *w)
{
    s->watch = *w;
}

const char *gw_store_down(const gw_store_t *s)
{
    return s->down;
}

void gw_store_close(gw_store_t *s)
{
    if (s) s->ops->close(s);
}

/* --- memory only: the registrations live in the RD's own table --- */

static int mem_load(gw_store_t *s, gw_store_each_fn fn, void *arg)
{
    (void)s, (void)fn, (void)arg;
    return 0;
}

static int mem_put(gw_store_t *s, const gw_store_reg_t *reg)
{
    (void)s, (void)reg;
    return 0;
}

static int mem_del(gw_store_t *s, const char *id)
{
    (void)s, (void)id;
    return 0;
}

static void mem_close(gw_store_t *s)
{
    free(s);
}

static const gw_store_ops_t mem_ops = {"memory", mem_load, mem_put, mem_del, mem_close};

gw_store_t *gw_store_memory(void)
{
    gw_store_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->ops = &mem_ops;
    s->path = "";
    return s;
}

gw_store_t *gw_store_open(const char *path, char *err, size_t cap)
{
    if (*path) return gw_store_sqlite_open(path, GW_STORE_SYNC, err, cap);
    gw_store_t *s = gw_store_memory();
    if (!s) snprintf(err, cap, "out of memory");
    return s;
}
