/*
 * gw_cbor.h - CBOR (RFC 8949) and SenML CBOR (RFC 8428) seen as JSON, and
 * back: the conversions the proxy and the event streams apply when a
 * client wants JSON from a device that speaks CBOR. libcbor decodes and
 * encodes, jansson holds the JSON. Pure functions: no I/O, no state.
 */
#ifndef GW_CBOR_H
#define GW_CBOR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Nesting bound both ways (arrays, maps and tags each count one level):
 * deeper input is refused before libcbor builds anything, so neither its
 * decoder nor ours recurses without bound. */
enum { GW_CBOR_MAX_DEPTH = 64 };

typedef enum {
    GW_CBOR_OK = 0,
    GW_CBOR_MALFORMED = -1, /* not one well-formed, valid CBOR item */
    GW_CBOR_NO_JSON = -2,   /* well-formed but with no JSON form (see below) */
    GW_CBOR_TOO_DEEP = -3,  /* nested deeper than GW_CBOR_MAX_DEPTH */
    GW_CBOR_NOMEM = -4,
} gw_cbor_rc_t;

/* CBOR -> JSON value, RFC 8949 §6.1: integers -> numbers; byte strings ->
 * base64url without padding, or base64 / base16 under the encoding hints
 * (tags 22, 23; tag 21 is base64url), which apply to the byte strings
 * inside the tagged item; bignums (tags 2, 3) -> base64url of their bytes,
 * "~" before a negative one; any other tag (tag 1 epoch time included) ->
 * the tagged item's own JSON form; false/true/null as such; undefined,
 * NaN and the infinities -> null (the substitute value); text -> strings.
 * Half and single floats become the double nearest their shortest decimal
 * form (21.3f -> 21.3). No JSON form: a map key that is not a text string,
 * an integer outside -2^63..2^63-1 (jansson's range). Malformed: bad
 * encoding, trailing bytes, invalid UTF-8, a map with a duplicate key (RFC
 * 8949 §5.6), a simple value other than false/true/null/undefined (libcbor
 * refuses those). With `senml` the item must be a SenML pack, an array of
 * maps, whose integer labels (RFC 8428 §6, Table 4) become the JSON labels
 * ("n", "v", "bt", ...); an unknown integer label has no JSON form. On
 * failure *out is NULL and why (if not NULL) says what, in words. */
gw_cbor_rc_t gw_cbor_to_json(const uint8_t *cbor, size_t len, int senml, json_t **out, char *why,
                             size_t cap);

/* The same as JSON text (compact; numbers with 15 significant digits when
 * that is exact, else 17), malloc'ed, in *text and *text_len. */
gw_cbor_rc_t gw_cbor_to_json_text(const uint8_t *cbor, size_t len, int senml, char **text,
                                  size_t *text_len, char *why, size_t cap);

/* JSON text -> CBOR (malloc'ed in *out, *out_len): integers as CBOR
 * integers, other numbers as the smallest float (half, single, double)
 * that holds them exactly and reads back as the same number
 * (gw_cbor_float_value), strings, arrays, maps with text keys, true,
 * false, null. With `senml` the text must be a SenML pack (an array of
 * objects): the labels of Table 4 become their integer labels and "vd"
 * (base64url) a byte string. Returns 0, or -1 with why saying what (for
 * invalid JSON: "invalid JSON at offset N: ..."): the caller answers 400. */
int gw_json_to_cbor(const char *json, size_t len, int senml, uint8_t **out, size_t *out_len,
                    char *why, size_t cap);

/* The JSON value of a half or single float: the double nearest the
 * shortest decimal that gives back f (21.3f -> 21.3). */
double gw_cbor_float_value(float f);

/* RFC 8428 §6 Table 4: the JSON label of an integer label, or NULL; the
 * integer label of a JSON label, or 0 with *found = 0 when it has none. */
const char *gw_senml_label_name(int64_t label);
int64_t gw_senml_label_number(const char *name, size_t len, int *found);

#endif
