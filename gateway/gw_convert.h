/*
 * gw_convert.h - where the proxy applies the CBOR <-> JSON conversions of
 * gw_cbor.h (docs/api.md, "CBOR and SenML seen as JSON"): answers, and
 * JSON request bodies bound for a CBOR resource.
 */
#ifndef GW_CONVERT_H
#define GW_CONVERT_H

#include "gw.h"

#include <stddef.h>
#include <stdint.h>

/* The response header that names the device's content type when the body
 * was converted. */
#define GW_CONVERTED_HEADER "X-Coapgw-Converted"

/* A body of content format cf (-1: none) for req: when it is CBOR (60) or
 * SenML CBOR (112) and the client's Accept gives that type weight 0 but
 * its JSON counterpart (application/json, application/senml+json) more,
 * answers req with the JSON (Content-Type and GW_CONVERTED_HEADER set),
 * 406 when the payload has no JSON form, 502 when it is malformed, and
 * returns 1. Returns 0 when it did not answer: the caller sends the body
 * as it is. A CBOR body gets "Vary: Accept" either way. */
int gw_convert_answer(http_req_t *req, unsigned status, int cf, const uint8_t *body, size_t len);
/* Whether gw_convert_answer has anything to do with such a body (else it
 * returns 0 and adds nothing). */
int gw_convert_applies(int cf, size_t len);

/* Takes the coap-ct=N parameter out of the query of uri (in place: the
 * rest of the query is forwarded as it was). Returns N (60 or 112), -1
 * when absent, -2 when present with another value. */
int gw_convert_take_ct(char *uri);

/* The CBOR format a JSON body to t goes as: want (coap-ct) when >= 0,
 * else the one format the device's cached links advertise for the
 * resource when that is 60 or 112 (api.c), else -1: no conversion. */
int gw_convert_target_ct(const gw_target_t *t, int want);

#endif
