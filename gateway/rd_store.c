/*
 * rd_store.c - the Resource Directory's registrations in the durable store
 * (gw_store.h): written before a device is answered, read back at start.
 *
 * Expiry is kept as wall-clock time in the store (the loop's monotonic
 * clock starts again with the process) and on the loop clock in memory;
 * a registration restored at start keeps its expiry, so its remaining
 * lifetime continues where it was (RFC 9176 §5: the lifetime is the
 * device's promise to update before it runs out, not reset by the
 * directory restarting).
 */
#include "rd_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t rd_wall_expiry(gw_rd_t *rd, uint64_t expires_ms)
{
    uint64_t now = base_loop_now(rd->gw->loop);
    uint64_t left_ms = expires_ms > now ? expires_ms - now : 0;
    return (int64_t)time(NULL) + (int64_t)((left_ms + 999) / 1000);
}

void rd_store_record(gw_rd_t *rd, const rd_reg_t *r, const gw_device_t *d, gw_store_reg_t *rec)
{
    *rec = (gw_store_reg_t){.id = r->id,
                            .name = r->name,
                            .registrant = r->registrant,
                            .base = d->uri,
                            .implicit_base = r->implicit_base,
                            .lifetime_s = d->lifetime_s,
                            .expires_at = rd_wall_expiry(rd, d->expires_ms),
                            .links = d->links,
                            .links_len = d->links_len,
                            .owner = r->owner};
}

int rd_store_put(gw_rd_t *rd, const gw_store_reg_t *rec)
{
    if (!gw_store_put(rd->gw->store, rec)) return 0;
    gw_log(CFG_LOG_ERROR, "state: cannot save the registration of %s (/rd/%s): %s", rec->name,
           rec->id, gw_store_error(rd->gw->store));
    return -1;
}

int rd_store_del(gw_rd_t *rd, const rd_reg_t *r)
{
    if (!gw_store_del(rd->gw->store, r->id)) return 0;
    gw_log(CFG_LOG_ERROR, "state: cannot delete the registration of %s (/rd/%s): %s", r->name,
           r->id, gw_store_error(rd->gw->store));
    return -1;
}

/* --- start: the stored registrations come back --- */

typedef struct {
    gw_rd_t *rd;
    char (*gone)[16]; /* IDs to delete from the store once read */
    size_t ngone, cap, restored, expired, failed;
} restore_t;

static void forget(restore_t *x, const gw_store_reg_t *rec, const char *why)
{
    gw_log(CFG_LOG_INFO, "rd: start: %s: removed %s (/rd/%s)", why, rec->name, rec->id);
    if (x->ngone == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 16;
        void *g = realloc(x->gone, cap * sizeof *x->gone);
        if (!g) return; /* stays in the file: dropped again at the next start */
        x->gone = g;
        x->cap = cap;
    }
    snprintf(x->gone[x->ngone++], sizeof x->gone[0], "%s", rec->id);
}

/* The registration and its device as they were (NULL on no memory). */
static gw_device_t *revive(gw_rd_t *rd, const gw_store_reg_t *rec, uint64_t expires_ms)
{
    coap_addr_t addr;
    if (rd_base_addr(rec->base, &addr)) return NULL;
    rd_reg_t *r = rd_reg_new(rd, rec->id, rec->name);
    gw_device_t *d = r ? gw_device_add_rd(rd->gw, rec->name, rec->base, &addr) : NULL;
    if (d) {
        snprintf(d->rd_id, sizeof d->rd_id, "%s", r->id);
        d->via_session = rec->owner != NULL; /* over DTLS: reached through its session */
        d->lifetime_s = rec->lifetime_s;
        d->expires_ms = expires_ms;
        d->links = malloc(rec->links_len + 1);
        if (d->links) {
            memcpy(d->links, rec->links_len ? rec->links : "", rec->links_len);
            d->links[rec->links_len] = '\0';
            d->links_len = rec->links_len;
        }
        r->registrant = rec->registrant;
        r->implicit_base = rec->implicit_base;
    }
    if (!d || !d->links || (rec->owner && !(d->auth = strdup(rec->owner))) ||
        rd_reg_set_owner(r, rec->owner)) {
        if (r) rd_reg_drop(rd, r, "restore failed (out of memory)");
        return NULL;
    }
    return d;
}

static void restore_one(const gw_store_reg_t *rec, void *arg)
{
    restore_t *x = arg;
    gw_rd_t *rd = x->rd;
    int64_t left = rec->expires_at - (int64_t)time(NULL);
    if (left <= 0) {
        x->expired++;
        forget(x, rec, "expired while the gateway was down");
    } else if (strlen(rec->id) >= sizeof((rd_reg_t *)0)->id || !gw_device_name_ok(rec->name) ||
               rd_base_addr(rec->base, &(coap_addr_t){0})) {
        forget(x, rec, "not a registration this gateway could have made");
    } else if (rd_name_configured(rd, rec->name)) {
        forget(x, rec, "the name of a configured device (ignoring case)");
    } else if (rd_reg_by_name(rd, rec->name)) {
        forget(x, rec, "a name registered twice");
    } else if (revive(rd, rec, base_loop_now(rd->gw->loop) + (uint64_t)left * 1000)) {
        x->restored++;
    } else {
        x->failed++;
    }
}

int gw_rd_restore(gw_rd_t *rd, char *err, size_t cap)
{
    if (!rd) return 0;
    restore_t x = {.rd = rd};
    gw_store_t *store = rd->gw->store;
    if (gw_store_load(store, restore_one, &x)) {
        snprintf(err, cap, "state.path %s", gw_store_error(store));
        free(x.gone);
        return -1;
    }
    for (size_t i = 0; i < x.ngone; i++)
        if (gw_store_del(store, x.gone[i]))
            gw_log(CFG_LOG_ERROR, "state: cannot delete /rd/%s: %s", x.gone[i],
                   gw_store_error(store));
    free(x.gone);
    /* what the configuration in force no longer allows goes, as on reload */
    size_t before = gw_devices_count(rd->gw, GW_DEV_RD);
    rd_regs_recheck(rd, "start");
    size_t kept = gw_devices_count(rd->gw, GW_DEV_RD);
    if (store->persistent)
        gw_log(CFG_LOG_INFO,
               "rd: %zu registration(s) restored from %s (%zu expired while the gateway was down, "
               "%zu no longer allowed%s)",
               kept, store->path, x.expired, before - kept,
               x.failed ? ", some lost for want of memory" : "");
    return 0;
}
