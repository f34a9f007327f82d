/*
 * gw_discovery.h - multicast discovery (RFC 7252 §8, §12.8; docs/discovery.md):
 * rounds of a NON GET /.well-known/core to discovery.groups, and the
 * responders as devices of source GW_DEV_DISC. Internal to gateway/.
 */
#ifndef GW_DISCOVERY_H
#define GW_DISCOVERY_H

#include "gw.h"

/* At most this many discovered devices at once; more responders are
 * skipped (and logged) until some are dropped. */
#define GW_DISC_MAX_DEVICES 1024

typedef struct gw_disc gw_disc_t;

/* The rounds' timer on gw->loop (the first round 1 s after start, then
 * every discovery.period_s); a round goes out only while
 * discovery.multicast is true (read at each round: a reload applies).
 * NULL when out of memory. */
gw_disc_t *gw_disc_new(gw_t *gw);
/* Cancels a running round. */
void gw_disc_free(gw_disc_t *d);

enum { GW_DISC_STARTED = 0, GW_DISC_RUNNING = 1, GW_DISC_OFF = 2, GW_DISC_FAILED = 3 };
/* Starts a round now (POST /api/discovery): GW_DISC_STARTED, or why not. */
int gw_disc_round(gw_disc_t *d);
/* Rounds done and whether one is running, for the API. */
uint64_t gw_disc_rounds(const gw_disc_t *d);
int gw_disc_running(const gw_disc_t *d);

#endif
