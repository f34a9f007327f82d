/*
 * dtls_load: what its two files share (see dtls_load.c for the command
 * line). dtls_sessions.c: the sessions, each on its own DTLS transport,
 * and the CoAP ping and GET written and read by hand; dtls_load.c: the
 * three modes, the server's figures and the set-up.
 */
#ifndef DTLS_LOAD_H
#define DTLS_LOAD_H

#include "coap_msg.h"
#include "dtls.h"

#include <stddef.h>
#include <stdint.h>

#define MAX_WINDOW         32
#define MAX_SAMPLES        4000000
#define UP_TIMEOUT_US      20000000u /* a session not up after this is given up */
#define REQUEST_TIMEOUT_US 5000000u  /* a request unanswered after this is lost */

typedef enum { MODE_HANDSHAKES, MODE_REQUESTS, MODE_HOLD } run_mode_t;

typedef struct {
    uint16_t mid;
    uint8_t used;
    uint64_t t0;
} flight_t;

typedef struct load load_t;

typedef struct slot {
    load_t *l;
    coap_transport_t *tr;
    uint64_t started;
    uint16_t mid, ping_mid;
    uint8_t up, reap, failed, closing;
    flight_t fl[MAX_WINDOW];
    struct slot *next_reap;
} slot_t;

struct load {
    run_mode_t mode;
    coap_addr_t server, bind;
    dtls_creds_t *creds;
    uint8_t req[64]; /* CON GET PATH, token = message ID */
    size_t req_len;
    int conc, nsessions, window, epfd;
    double secs, warm;
    long pid;
    slot_t *slots;
    int nslots, next_open, opening, nup;
    int sending; /* requests: keep the windows full */
    int retry;   /* sessions that failed are opened again */
    uint64_t win_begin, win_end;
    uint64_t hs_ok, hs_failed, up_failed, req_ok, req_failed, req_timeouts;
    uint32_t *lat; /* µs: handshake to ESTABLISHED, or request to answer */
    size_t nlat;
    slot_t *reap_list;
};

uint64_t now_us(void);
/* The CON GET of path into l->req: 0, or -1 when a segment does not fit. */
int build_request(load_t *l, const char *path);
void send_request(slot_t *s, flight_t *f);
void slot_open(slot_t *s);
/* One turn of the epoll loop (wait_ms at most). */
void turn(load_t *l, int wait_ms);
/* Opens sessions [next_open, upto) with at most conc handshakes at a time. */
void open_upto(load_t *l, int upto, uint64_t deadline);
void close_all(load_t *l);

#endif
