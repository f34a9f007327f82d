/*
 * gw_passed.h - listening sockets passed in by a service manager (socket
 * activation: systemd's LISTEN_FDS / LISTEN_PID / LISTEN_FDNAMES protocol,
 * sd_listen_fds(3), implemented here without libsystemd), matched to the
 * gateway's four listeners. Connections and datagrams wait in the kernel
 * while no gateway runs, so a restart refuses nobody.
 */
#ifndef GW_PASSED_H
#define GW_PASSED_H

#include "cfg.h"

#include <stddef.h>

typedef enum {
    GW_LISTEN_HTTP,  /* http.listen, FileDescriptorName=http */
    GW_LISTEN_HTTPS, /* http.listen_tls, https */
    GW_LISTEN_COAP,  /* coap.listen, coap */
    GW_LISTEN_COAPS, /* coap.listen_dtls, coaps */
    GW_LISTEN_N
} gw_listener_t;

typedef struct {
    int fd[GW_LISTEN_N]; /* the socket passed for each listener, -1: none (bind) */
    int passed;          /* sockets were passed at all */
    unsigned handed;     /* bit l: listener l serves its passed socket */
} gw_passed_t;

/* Takes the sockets passed to this process, if LISTEN_PID names it (the
 * variables are unset either way), and matches each to a listener of c: by
 * its name in LISTEN_FDNAMES (http, https, coap, coaps), or else by its
 * type and bound address. One log line per socket. A socket that matches
 * no listener (or a listener that is off), or two for one listener, is an
 * error (-1, the message in err naming it); a listener with no socket is
 * bound as configured (a warning says it does not outlive a restart). */
int gw_passed_take(const cfg_t *c, gw_passed_t *out, char *err, size_t errlen);

/* The socket of listener l, handed over (the caller closes it from now
 * on), or -1. */
int gw_passed_hand(gw_passed_t *p, gw_listener_t l);

/* Closes what was not handed over. */
void gw_passed_close(gw_passed_t *p);

#endif
