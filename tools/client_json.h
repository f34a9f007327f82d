/*
 * client_json.h - coapgw-client --json: a response as one JSON object.
 */
#ifndef CLIENT_JSON_H
#define CLIENT_JSON_H

#include "coap_client.h"

#include <stdio.h>

/* Writes r (a response or notification, r->err == 0) to f as one line of
 * JSON: code, options, content format, payload. Returns 0, or -1 when
 * out of memory or f fails. */
int client_json_print(FILE *f, const coap_resp_t *r);

/* An option's value as text: the number of a uint option, the text of a
 * string option, hex bytes otherwise (what -v prints). Returns buf. */
const char *client_opt_text(const coap_msg_opt_t *o, char *buf, size_t cap);

#endif
