/*
 * rd_internal.h - what rd.c (the registration interface, RFC 9176 §5) and
 * rd_regs.c (the table of registrations: ownership, names, lifetimes)
 * share. Internal to the Resource Directory.
 */
#ifndef RD_INTERNAL_H
#define RD_INTERNAL_H

#include "gw_rd.h"

#define RD_DEFAULT_LT 90000u /* RFC 9176 §5: 25 hours */

/* A registration is (id, name, owner): the device is looked up by name
 * each time (reg_device), so a reload that drops it leaves nothing
 * dangling here. */
typedef struct rd_reg {
    struct rd_reg *next;
    char id[16];
    char name[64];
    coap_addr_t registrant; /* the owner: source of the registration (any port) */
    int implicit_base;      /* no base given: the source address is the base */
} rd_reg_t;

struct gw_rd {
    gw_t *gw;
    coap_server_t *srv;
    coap_server_resource_t *res;
    base_loop_timer_t *timer;
    rd_reg_t *regs;
};

/* The registration's device, or NULL when a reload dropped it. */
gw_device_t *rd_reg_device(gw_rd_t *rd, const rd_reg_t *r);
/* Removes the registration (and its device, with a log line "rd: WHY ..."). */
void rd_reg_remove(gw_rd_t *rd, rd_reg_t *r, const char *why);
/* A new registration of `name` with a fresh random ID, or NULL. */
rd_reg_t *rd_reg_new(gw_rd_t *rd, const char *name);
/* Past their lifetime, or dropped by a reload: removed. */
void rd_sweep(gw_rd_t *rd);
/* The expiry timer, due at the earliest expiry. */
void rd_arm_expiry(gw_rd_t *rd);
void rd_on_expiry(base_loop_t *loop, base_loop_timer_t *t, void *arg);

rd_reg_t *rd_reg_by_id(gw_rd_t *rd, const char *id, size_t len);
/* The registration whose name is `name` ignoring ASCII case. */
rd_reg_t *rd_reg_by_name(gw_rd_t *rd, const char *name);
/* Whether a configured device has this name, ignoring ASCII case. */
int rd_name_configured(const gw_rd_t *rd, const char *name);
/* Registrations owned by this source address (any port). */
size_t rd_regs_from(const gw_rd_t *rd, const coap_addr_t *peer);

/* The lifetime of a registration without lt: RFC 9176 §5's default, or
 * rd.max_lifetime_s when that is shorter. */
uint32_t rd_default_lifetime(const gw_rd_t *rd);
/* Sets lt and the expiry (now + lt) on the loop clock. */
void rd_set_lifetime(gw_rd_t *rd, gw_device_t *d, uint32_t lt);
/* After a reload: the registrations the new configuration no longer
 * allows go (allowlist, configured names), and lifetimes are cut to the
 * new rd.max_lifetime_s. */
void rd_regs_reloaded(gw_rd_t *rd);
/* Forgets every registration (the devices stay in the registry). */
void rd_regs_free(gw_rd_t *rd);

#endif
