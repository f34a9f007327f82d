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

/* --- changes answered after the commit --- */

struct rd_pending {
    rd_pending_t *next;
    gw_rd_t *rd; /* NULL: the directory went away, nobody to answer */
    rd_call_t c;
    coap_server_request_t req; /* what the answer needs of the request */
    coap_addr_t peer;
    coap_uri_part_t query;
    char ep_query[72];
    uint8_t *payload;
    rd_change_t ch;
    rd_apply_fn apply;
};

static void pending_free(rd_pending_t *p)
{
    free(p->ch.base);
    free(p->ch.links);
    free(p->payload);
    free(p);
}

static void committed(gw_store_t *store, int rc, void *arg)
{
    rd_pending_t *p = arg;
    gw_rd_t *rd = p->rd;
    if (rd) {
        rd_pending_t **pp = &rd->pending;
        while (*pp != p) pp = &(*pp)->next;
        *pp = p->next;
    }
    if (rd && rc) {
        char diag[400];
        gw_log(CFG_LOG_ERROR, "state: cannot save the registration of %s (/rd/%s): %s",
               p->ch.ep[0] ? p->ch.ep : "?", p->ch.id, gw_store_error(store));
        snprintf(diag, sizeof diag,
                 "cannot save the registration (%s): nothing changed, try again "
                 "later",
                 store->put_async ? gw_store_error(store) : "state.path");
        /* a shared store that is down is a service unavailable for now (RFC 7252 §5.9.3.4) */
        rd_answer(&p->c, store->put_async ? COAP_SERVICE_UNAVAILABLE : COAP_INTERNAL_SERVER_ERROR,
                  diag);
    } else if (rd) {
        p->apply(&p->c, &p->ch);
    }
    pending_free(p);
}

/* A copy of the call that outlives the request. */
static rd_pending_t *pending_new(const rd_call_t *c, rd_change_t *ch, rd_apply_fn apply)
{
    rd_pending_t *p = calloc(1, sizeof *p);
    if (p) p->ch = *ch;
    ch->base = ch->links = NULL; /* p's now, or freed */
    if (!p || (c->req->payload_len && !(p->payload = malloc(c->req->payload_len)))) {
        if (p) pending_free(p);
        rd_answer(c, COAP_INTERNAL_SERVER_ERROR, "out of memory");
        return NULL;
    }
    if (c->req->payload_len) memcpy(p->payload, c->req->payload, c->req->payload_len);
    p->rd = c->rd;
    p->apply = apply;
    p->c = *c;
    p->c.id = NULL; /* a reload may free it meanwhile: c.who tells */
    p->c.req = &p->req;
    p->peer = *c->req->peer;
    snprintf(p->ep_query, sizeof p->ep_query, "ep=%s", ch->ep);
    p->query = (coap_uri_part_t){p->ep_query, strlen(p->ep_query)};
    p->req = (coap_server_request_t){.id = c->req->id,
                                     .method = c->req->method,
                                     .peer = &p->peer,
                                     .query = &p->query,
                                     .nquery = 1,
                                     .payload = p->payload,
                                     .payload_len = c->req->payload_len};
    p->next = c->rd->pending;
    c->rd->pending = p;
    return p;
}

static void not_sent(rd_pending_t *p)
{
    gw_store_t *store = p->rd->gw->store;
    committed(store, -1, p); /* answered 5.03 with the store's reason */
}

void rd_commit_put(const rd_call_t *c, const gw_store_reg_t *rec, rd_change_t *ch,
                   rd_apply_fn apply)
{
    rd_pending_t *p = pending_new(c, ch, apply);
    if (p && gw_store_put_async(c->rd->gw->store, rec, committed, p)) not_sent(p);
}

void rd_commit_del(const rd_call_t *c, rd_change_t *ch, rd_apply_fn apply)
{
    rd_pending_t *p = pending_new(c, ch, apply);
    if (p && gw_store_del_async(c->rd->gw->store, ch->id, committed, p)) not_sent(p);
}

void rd_commit_cancel_all(gw_rd_t *rd)
{
    for (rd_pending_t *p = rd->pending; p; p = p->next) p->rd = NULL;
    rd->pending = NULL;
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
        /* over TCP: through a connection that a restart closed, offline
         * until the device connects and registers again */
        d->via_conn = rd_over_conn(rec->base);
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
    if (d && rec->owner && rec->held_by) { /* its DTLS session lives on that gateway */
        char why[160];
        d->held_by = strdup(rec->held_by);
        /* only to an origin cluster.advertise could name: never elsewhere */
        d->held_at = strdup(cfg_check_advertise(rec->held_at, why, sizeof why) ? "" : rec->held_at);
    }
    if (!d || !d->links || (rec->owner && !(d->auth = strdup(rec->owner))) ||
        (rec->owner && rec->held_by && (!d->held_by || !d->held_at)) ||
        rd_reg_set_owner(r, rec->owner)) {
        if (r) rd_reg_drop(rd, r, "restore failed (out of memory)");
        return NULL;
    }
    return d;
}

/* Why a stored registration cannot be taken here, or NULL. */
static const char *unfit(gw_rd_t *rd, const gw_store_reg_t *rec)
{
    if (strlen(rec->id) >= sizeof((rd_reg_t *)0)->id || !gw_device_name_ok(rec->name) ||
        rd_base_addr(rec->base, &(coap_addr_t){0}))
        return "not a registration this gateway could have made";
    if (rd_name_configured(rd, rec->name)) return "the name of a configured device (ignoring case)";
    return NULL;
}

static void restore_one(const gw_store_reg_t *rec, void *arg)
{
    restore_t *x = arg;
    gw_rd_t *rd = x->rd;
    int64_t left = rec->expires_at - (int64_t)time(NULL);
    const char *why = left > 0 ? unfit(rd, rec) : NULL;
    if (left <= 0) {
        x->expired++;
        forget(x, rec, "expired while the gateway was down");
    } else if (why) {
        forget(x, rec, why);
    } else if (rd_reg_by_name(rd, rec->name)) {
        forget(x, rec, "a name registered twice");
    } else if (revive(rd, rec, base_loop_now(rd->gw->loop) + (uint64_t)left * 1000)) {
        x->restored++;
    } else {
        x->failed++;
    }
}

/* --- a shared store (state.redis): the other gateways' changes --- */

/* The same gateway holds its DTLS session (or none does): a device that
 * registered again over another gateway moves there. */
static int same_holder(const gw_device_t *d, const gw_store_reg_t *rec)
{
    const char *by = rec->owner ? rec->held_by : NULL;
    if (!d->held_by || !by) return !d->held_by && !by;
    return !strcmp(d->held_by, by) && !strcmp(d->held_at, rec->held_at);
}

/* The same registration as in memory: nothing to do (our own, read
 * again after a reconnection). */
static int unchanged(gw_rd_t *rd, const gw_device_t *d, const gw_store_reg_t *rec)
{
    int64_t exp = rd_wall_expiry(rd, d->expires_ms);
    return !strcmp(d->uri, rec->base) && d->links_len == rec->links_len && same_holder(d, rec) &&
           (!rec->links_len || !memcmp(d->links, rec->links, rec->links_len)) &&
           exp - rec->expires_at <= 1 && rec->expires_at - exp <= 1;
}

static void remote_upsert(const gw_store_reg_t *rec, void *arg)
{
    gw_rd_t *rd = arg;
    int64_t left = rec->expires_at - (int64_t)time(NULL);
    if (left <= 0 || unfit(rd, rec)) return; /* each gateway's own checks */
    rd_reg_t *r = rd_reg_by_id(rd, rec->id, strlen(rec->id));
    gw_device_t *d = r ? rd_reg_device(rd, r) : NULL;
    if (d && unchanged(rd, d, rec)) return;
    if (r) rd_reg_drop(rd, r, "changed through another gateway:");
    rd_reg_t *same = rd_reg_by_name(rd, rec->name);
    if (same) rd_reg_drop(rd, same, "taken over through another gateway:");
    if (revive(rd, rec, base_loop_now(rd->gw->loop) + (uint64_t)left * 1000)) {
        gw_log(CFG_LOG_INFO, "rd: %s (/rd/%s) at %s from the shared store, lifetime %u s",
               rec->name, rec->id, rec->base, rec->lifetime_s);
        rd_arm_expiry(rd);
        rd_lookup_changed(rd);
    }
}

/* Connected again: what this gateway took goes back, unless Redis has it
 * (a Redis restarted without persistence lost it: nothing acknowledged
 * is lost while one gateway that took it runs). */
static void store_up(void *arg)
{
    gw_rd_t *rd = arg;
    for (rd_reg_t *r = rd->regs; r; r = r->next) {
        gw_device_t *d = r->taken_here ? rd_reg_device(rd, r) : NULL;
        gw_store_reg_t rec;
        if (!d) continue;
        rd_store_record(rd, r, d, &rec);
        rd_store_put(rd, &rec);
    }
}

static void remote_removed(const char *id, void *arg)
{
    gw_rd_t *rd = arg;
    rd_reg_t *r = rd_reg_by_id(rd, id, strlen(id));
    if (!r) return;
    rd_reg_drop(rd, r, "removed through another gateway:");
    rd_arm_expiry(rd);
}

int gw_rd_restore(gw_rd_t *rd, char *err, size_t cap)
{
    if (!rd) return 0;
    restore_t x = {.rd = rd};
    gw_store_t *store = rd->gw->store;
    gw_store_watch(store, &(gw_store_watch_t){remote_upsert, remote_removed, store_up, rd});
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
