/*
 * rd_regs.c - the Resource Directory's table of registrations: IDs,
 * owners, names, lifetimes and expiry, and what a configuration reload
 * takes away (RFC 9176 §5, §7).
 *
 * Names are unique ignoring ASCII case, against configured devices and
 * between owners: "DEMO" or "Demo" would otherwise stand beside a
 * configured "demo" in /api/devices and the device page, a look-alike
 * that receives what was meant for the real one.
 */
#include "rd_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

static void reg_unlink(gw_rd_t *rd, rd_reg_t *r)
{
    for (rd_reg_t **pp = &rd->regs; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            free(r->owner);
            free(r);
            return;
        }
    }
}

gw_device_t *rd_reg_device(gw_rd_t *rd, const rd_reg_t *r)
{
    gw_device_t *d = gw_device_find(rd->gw, r->name);
    return d && d->source == GW_DEV_RD && !strcmp(d->rd_id, r->id) ? d : NULL;
}

void rd_reg_remove(gw_rd_t *rd, rd_reg_t *r, const char *why)
{
    rd_store_del(rd, r);
    rd_reg_drop(rd, r, why);
}

void rd_reg_drop(gw_rd_t *rd, rd_reg_t *r, const char *why)
{
    gw_device_t *d = rd_reg_device(rd, r);
    if (d) {
        gw_log(CFG_LOG_INFO, "rd: %s %s (/rd/%s, %s)", why, r->name, r->id, d->uri);
        gw_device_remove(rd->gw, d);
    }
    reg_unlink(rd, r);
    rd_lookup_changed(rd);
}

void rd_sweep(gw_rd_t *rd)
{
    uint64_t now = base_loop_now(rd->gw->loop);
    for (rd_reg_t *r = rd->regs, *next; r; r = next) {
        next = r->next;
        gw_device_t *d = rd_reg_device(rd, r);
        if (!d) { /* its name became a configured device's */
            rd_store_del(rd, r);
            reg_unlink(rd, r);
        } else if (now >= d->expires_ms)
            rd_reg_remove(rd, r, "expired");
    }
}

void rd_on_expiry(base_loop_t *loop, base_loop_timer_t *t, void *arg)
{
    (void)loop;
    (void)t;
    gw_rd_t *rd = arg;
    rd_sweep(rd);
    rd_arm_expiry(rd);
}

void rd_arm_expiry(gw_rd_t *rd)
{
    uint64_t first = BASE_NEVER;
    for (rd_reg_t *r = rd->regs; r; r = r->next) {
        gw_device_t *d = rd_reg_device(rd, r);
        if (d && d->expires_ms < first) first = d->expires_ms;
    }
    if (first == BASE_NEVER)
        base_loop_timer_disarm(rd->timer);
    else
        base_loop_timer_arm(rd->timer, first);
}

rd_reg_t *rd_reg_by_id(gw_rd_t *rd, const char *id, size_t len)
{
    rd_sweep(rd); /* a registration past its lifetime is gone, timer or not */
    for (rd_reg_t *r = rd->regs; r; r = r->next)
        if (strlen(r->id) == len && !memcmp(r->id, id, len)) return r;
    return NULL;
}

rd_reg_t *rd_reg_by_name(gw_rd_t *rd, const char *name)
{
    for (rd_reg_t *r = rd->regs; r; r = r->next)
        if (!strcasecmp(r->name, name)) return r;
    return NULL;
}

int rd_name_configured(const gw_rd_t *rd, const char *name)
{
    const cfg_t *c = &rd->gw->cfg;
    for (size_t i = 0; i < c->ndevices; i++)
        if (!strcasecmp(c->devices[i].name, name)) return 1;
    return 0;
}

size_t rd_regs_from(const gw_rd_t *rd, const coap_addr_t *peer)
{
    size_t n = 0;
    for (const rd_reg_t *r = rd->regs; r; r = r->next)
        n += !r->owner && coap_addr_same_host(&r->registrant, peer);
    return n;
}

size_t rd_regs_of(const gw_rd_t *rd, const char *owner)
{
    size_t n = 0;
    for (const rd_reg_t *r = rd->regs; r; r = r->next) n += r->owner && !strcmp(r->owner, owner);
    return n;
}

int rd_reg_set_owner(rd_reg_t *r, const char *owner)
{
    char *o = owner ? strdup(owner) : NULL;
    if (owner && !o) return -1;
    free(r->owner);
    r->owner = o;
    return 0;
}

void rd_new_id(gw_rd_t *rd, char *id, size_t cap)
{
    static uint32_t counter;
    for (;;) {
        uint32_t v;
        if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
            v = (uint32_t)base_loop_now(rd->gw->loop) * 2654435761u + ++counter;
        snprintf(id, cap, "%08x", v);
        rd_reg_t *r = rd->regs;
        while (r && strcmp(r->id, id)) r = r->next;
        if (!r) return;
    }
}

rd_reg_t *rd_reg_new(gw_rd_t *rd, const char *id, const char *name)
{
    rd_reg_t *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    if (id)
        snprintf(r->id, sizeof r->id, "%s", id);
    else
        rd_new_id(rd, r->id, sizeof r->id);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->next = rd->regs;
    rd->regs = r;
    return r;
}

uint32_t rd_default_lifetime(const gw_rd_t *rd)
{
    uint32_t max = rd->gw->cfg.rd_max_lifetime_s;
    return RD_DEFAULT_LT < max ? RD_DEFAULT_LT : max;
}

void rd_set_lifetime(gw_rd_t *rd, gw_device_t *d, uint32_t lt)
{
    d->lifetime_s = lt;
    d->expires_ms = base_loop_now(rd->gw->loop) + (uint64_t)lt * 1000;
}

/* A configured device took the name (one spelled the same is dropped
 * already, by gw_devices_reload). */
static const char *reg_name_refused(gw_rd_t *rd, const rd_reg_t *r)
{
    return rd_name_configured(rd, r->name) ? "the name of a configured device (ignoring case)"
                                           : NULL;
}

/* Why the configuration in force no longer allows a registration, or
 * NULL. A plaintext one: its registrant (the source address) and its
 * base, as rd_resolve_base checked them, and a name no identity may
 * register; one bound to an identity: the identity and its names. */
static const char *reg_refused(gw_rd_t *rd, const rd_reg_t *r, const gw_device_t *d)
{
    if (r->owner) {
        const gw_id_t *e = gw_ids_by_label(rd->gw->ids, r->owner);
        if (!e) return "its identity is no longer in dtls.identities";
        if (!gw_id_may_register(e, r->name)) return "its identity may no longer register the name";
        return reg_name_refused(rd, r);
    }
    coap_addr_t src = r->registrant, base = d->addr;
    coap_addr_unmap(&src);
    coap_addr_unmap(&base);
    char why[300];
    if (!gw_acl_allows_addr(rd->gw->acl, &src) ||
        gw_acl_check_target(rd->gw->acl, &base, NULL, why, sizeof why) != GW_ACL_ALLOWED)
        return "no longer in the target allowlist";
    if (gw_ids_reserved(rd->gw->ids, r->name))
        return "the name is kept for a DTLS identity (dtls.identities)";
    return reg_name_refused(rd, r);
}

/* A lifetime longer than the new rd.max_lifetime_s is cut to it, from now
 * (the registration would not have been accepted with it). */
static void cut_lifetime(gw_rd_t *rd, const rd_reg_t *r, gw_device_t *d, const char *when)
{
    uint32_t max = rd->gw->cfg.rd_max_lifetime_s;
    uint64_t latest = base_loop_now(rd->gw->loop) + (uint64_t)max * 1000;
    if (d->expires_ms <= latest && d->lifetime_s <= max) return;
    if (d->expires_ms > latest) d->expires_ms = latest;
    if (d->lifetime_s > max) d->lifetime_s = max;
    gw_log(CFG_LOG_INFO, "rd: %s: lifetime of %s (/rd/%s) cut to %u s (rd.max_lifetime_s)", when,
           r->name, r->id, max);
    gw_store_reg_t rec;
    rd_store_record(rd, r, d, &rec);
    rd_store_put(rd, &rec); /* a failure: cut again at the next start */
}

void rd_regs_recheck(gw_rd_t *rd, const char *when)
{
    rd_sweep(rd);
    for (rd_reg_t *r = rd->regs, *next; r; r = next) {
        next = r->next;
        gw_device_t *d = rd_reg_device(rd, r);
        const char *why = d ? reg_refused(rd, r, d) : NULL;
        char line[200];
        if (!d) continue;
        if (why) {
            snprintf(line, sizeof line, "%s: %s: removed", when, why);
            rd_reg_remove(rd, r, line);
        } else {
            cut_lifetime(rd, r, d, when);
        }
    }
    rd_arm_expiry(rd);
    rd_lookup_changed(rd); /* a cut lifetime changes lookup results (lt) */
}

void rd_regs_free(gw_rd_t *rd)
{
    while (rd->regs) reg_unlink(rd, rd->regs);
}
