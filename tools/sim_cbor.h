/*
 * sim_cbor.h - coapgw-sim's CBOR (60) and SenML CBOR (112) readings,
 * encoded with libcbor: what the gateway's JSON conversion is tested on.
 */
#ifndef SIM_CBOR_H
#define SIM_CBOR_H

#include <stddef.h>
#include <stdint.h>

/* {"temperature": T, "humidity": H, "led": B, "raw": h'cafe', "ticks": N,
 *  "at": 1(N)} (tag 1: epoch-based time, here the tick count). Returns the
 * length, 0 when cap is too small. */
size_t sim_cbor_reading(double t, double h, int led, uint64_t ticks, uint8_t *out, size_t cap);

/* The SenML pack [{bn: "urn:dev:sim:", n: "temperature", u: "Cel", v: T},
 * {n: "humidity", u: "%RH", v: H}, {n: "led", vb: B}] with the integer
 * labels of RFC 8428 §6. */
size_t sim_senml_reading(double t, double h, int led, uint8_t *out, size_t cap);

/* {1: "one"}: a map key that is not a text string (no JSON form). */
size_t sim_cbor_intkey(uint8_t *out, size_t cap);

#endif
