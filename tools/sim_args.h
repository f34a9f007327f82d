/*
 * sim_args.h - coapgw-sim's command line: its options, --help, and the
 * checks of their values (the simulator itself is sim.c).
 */
#ifndef SIM_ARGS_H
#define SIM_ARGS_H

#include "sim_group.h"
#include "sim_rd.h"
#include "tls_args.h"

#include <stdint.h>

typedef struct {
    const char *listen, *listen_dtls, *listen_tcp, *listen_tls, *rd_uri;
    const char *groups[SIM_MAX_GROUPS];
    int ngroups;
    unsigned long seed;
    uint32_t period_ms, slow_ms;
    tls_args_t tls;
} sim_opts_t;

/* Fills o (whose defaults the caller set) and g's name, lifetime, base
 * and directory URI from argv. Returns -1 to exit 0 (--help printed), 0
 * to go on, 2 on a bad option (said on stderr). */
int sim_args_parse(int argc, char **argv, sim_reg_t *g, sim_opts_t *o);

#endif
