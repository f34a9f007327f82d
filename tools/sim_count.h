/*
 * sim_count.h - coapgw-sim's counting resources, for tests of the device
 * link under loss, duplication and reordering:
 *   /counter  GET: how many POSTs and PUTs were executed; POST or PUT
 *             executes once more (both are non-idempotent here) and
 *             answers 2.04 "N PAYLOAD", so each answer names its request.
 *             Every execution is logged ("counter: executed N: PAYLOAD"):
 *             the log tells how often each request reached the resource
 *             (the engine's message-ID deduplication, RFC 7252 §4.5,
 *             stands between a retransmission and a second execution).
 *   /ticks    observable; the number of sensor periods since start, so
 *             notifications carry strictly increasing values.
 *   /big-ticks the same count in a representation of SIM_BIG_SIZE bytes
 *             (larger than one block: its notifications go block-wise,
 *             RFC 7959 §2.6), the count as its ETag.
 */
#ifndef SIM_COUNT_H
#define SIM_COUNT_H

#include "coap_server.h"

#include <stdint.h>

typedef struct {
    uint64_t executed; /* POSTs and PUTs that reached /counter */
    uint64_t ticks;    /* sensor periods so far */
    long max_age;      /* of a /ticks value, in seconds */
} sim_count_t;

/* One line per request on stderr: method, path, (de)registration, peer. */
void sim_log_request(const coap_server_request_t *req);
/* The handlers; arg is the sim_count_t. */
void sim_counter(coap_server_t *srv, const coap_server_request_t *req, void *arg);
void sim_ticks(coap_server_t *srv, const coap_server_request_t *req, void *arg);
/* The current /ticks representation, for a notification: text in buf. */
coap_server_response_t sim_ticks_rep(const sim_count_t *c, char *buf, size_t cap);

#define SIM_BIG_SIZE 5120
void sim_big_ticks(coap_server_t *srv, const coap_server_request_t *req, void *arg);
/* The current /big-ticks representation: SIM_BIG_SIZE bytes of text in
 * buf, "ticks N" at both ends; the ETag in etag. */
coap_server_response_t sim_big_ticks_rep(const sim_count_t *c, char *buf, uint8_t etag[4]);

#endif
