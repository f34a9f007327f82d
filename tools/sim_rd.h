/*
 * sim_rd.h - coapgw-sim's registration with a Resource Directory
 * (RFC 9176 §5), from the simulator's own endpoint (UDP, or DTLS for a
 * coaps:// directory), refreshed before its lifetime ends and removed at
 * exit.
 */
#ifndef SIM_RD_H
#define SIM_RD_H

#include "coap_client.h"
#include "coap_uri.h"

typedef struct {
    coap_ep_t *ep;         /* the server's own: the RD sees our CoAP address */
    coap_parsed_uri_t uri; /* --register */
    const char *name;      /* ep= */
    uint32_t lifetime_s;   /* lt= */
    const char *base;      /* base= (--base), or NULL: our source address */
    const char *links;     /* our resources in link format (RFC 6690) */
    size_t links_len;
    coap_addr_t rd;     /* resolved before each registration */
    char location[160]; /* "/rd/ID" while registered */
    uint32_t backoff_s; /* after a failure: 1, 2, 4 ... 30 */
    base_loop_timer_t *timer;
    coap_req_t *inflight;
    int deleted;  /* the DELETE at exit has been answered */
    int stopping; /* exiting: no more retries */
    int simple;   /* RFC 9176 §5.1: POST /.well-known/rd?ep= with no payload */
} sim_reg_t;

/* Registers at once, then keeps the registration fresh. */
void sim_reg_start(sim_reg_t *g, base_loop_t *loop);
/* The connection the registration went over (coap+tcp://) closed: the
 * directory can no longer reach us, so we register again (after the
 * back-off), which connects anew. */
void sim_reg_lost(sim_reg_t *g);
/* At exit: removes the registration, waiting at most 2 s. */
void sim_reg_remove(sim_reg_t *g, base_loop_t *loop);

#endif
