/*
 * gw_cli.h - coapgw's command line (cli.c).
 */
#ifndef GW_CLI_H
#define GW_CLI_H

#include "gw_config.h"

/* `coapgw --healthcheck URL`: GETs URL and returns the exit status (0
 * healthy, 1 not), or -1 when the flag is absent. */
int gw_cli_healthcheck(int argc, char **argv);

/* Fills src from the flags (and COAPGW_CONFIG); --help, --version and
 * --list-keys print and exit. *check is the file of --check-config, or
 * NULL. Returns 0, or -1 after printing what is wrong. */
int gw_cli_parse(int argc, char **argv, gw_sources_t *src, const char **check);

/* --check-config FILE: builds the whole configuration as the gateway
 * would, starting nothing. Returns the exit status (0, or 2 printed). */
int gw_cli_check_config(const char *file, const gw_sources_t *src);

#endif
