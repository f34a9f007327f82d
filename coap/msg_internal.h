/*
 * msg_internal.h - the parts of the codec (msg.c) that the UDP header
 * (RFC 7252 §3) and the TCP framing (RFC 8323 §3.2, msg_tcp.c) share: the
 * options and the payload are encoded the same way under both. Not
 * installed.
 */
#ifndef COAP_MSG_INTERNAL_H
#define COAP_MSG_INTERNAL_H

#include "coap_msg.h"

/* Parses the options and payload in [p, end) into m (resetting them). */
int coap_msg_parse_body_(coap_msg_t *m, const uint8_t *p, const uint8_t *end);
/* Bytes the options and payload of m take. */
size_t coap_msg_body_size_(const coap_msg_t *m);
/* Writes them at p (the caller checked the room); returns the end. */
uint8_t *coap_msg_write_body_(const coap_msg_t *m, uint8_t *p);

#endif
