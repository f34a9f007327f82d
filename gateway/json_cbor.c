/*
 * json_cbor.c - JSON -> CBOR (the inverse of RFC 8949 §6.1 for what JSON
 * has, §6.2) and SenML JSON -> SenML CBOR (RFC 8428 §6): jansson parses,
 * libcbor builds and serializes, in the preferred (shortest) encoding of
 * RFC 8949 §4.1.
 */
#include "base_base64.h"
#include "gw_cbor.h"

#include <cbor.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *why;
    size_t cap;
    int senml;
} enc_t;

static cbor_item_t *fail_null(enc_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static cbor_item_t *fail_null(enc_t *e, const char *fmt, ...)
{
    if (e->why && e->cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->why, e->cap, fmt, ap);
        va_end(ap);
    }
    return NULL;
}

/* An unsigned argument in its shortest width (§4.2.1). */
static cbor_item_t *build_uint(uint64_t v, int negative)
{
    cbor_item_t *it = v <= UINT8_MAX    ? cbor_build_uint8((uint8_t)v)
                      : v <= UINT16_MAX ? cbor_build_uint16((uint16_t)v)
                      : v <= UINT32_MAX ? cbor_build_uint32((uint32_t)v)
                                        : cbor_build_uint64(v);
    if (it && negative) cbor_mark_negint(it);
    return it;
}

static cbor_item_t *build_integer(json_int_t v)
{
    return v >= 0 ? build_uint((uint64_t)v, 0) : build_uint((uint64_t)(-1 - v), 1);
}

/* Whether d is exactly a normal half-precision value (IEEE 754 binary16:
 * 11 significant bits, 2^-14 <= |d| <= 65504). Subnormal halves go as
 * singles: libcbor 0.8 encodes them wrongly (its cbor_encode_half). */
static int fits_half(double d)
{
    if (d == 0 || !isfinite(d)) return 1;
    int exp;
    double m = frexp(fabs(d), &exp);
    return fabs(d) <= 65504.0 && fabs(d) >= ldexp(1, -14) && ldexp(m, 11) == floor(ldexp(m, 11));
}

/* The smallest float that holds d exactly (§4.2.2's preferred encoding)
 * and that cbor_json.c turns back into d: 21.299999237060547 is a single
 * exactly, but one that reads as 21.3. */
static cbor_item_t *build_real(double d)
{
    int narrow = (double)(float)d == d && gw_cbor_float_value((float)d) == d;
    if (narrow && fits_half(d)) return cbor_build_float2((float)d);
    if (narrow) return cbor_build_float4((float)d);
    return cbor_build_float8(d);
}

static cbor_item_t *value_to_cbor(enc_t *e, const json_t *v, int depth);

static cbor_item_t *array_to_cbor(enc_t *e, const json_t *v, int depth)
{
    cbor_item_t *a = cbor_new_definite_array(json_array_size(v));
    if (!a) return NULL;
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *el = json_array_get(v, i);
        if (e->senml && depth == 0 && !json_is_object(el)) {
            cbor_decref(&a);
            return fail_null(e, "SenML record %zu is not an object", i);
        }
        cbor_item_t *it = value_to_cbor(e, el, depth + 1);
        if (!it || !cbor_array_push(a, cbor_move(it))) {
            if (it) cbor_decref(&it);
            cbor_decref(&a);
            return NULL;
        }
    }
    return a;
}

/* A SenML "vd" (base64url, RFC 8428 §6) -> its bytes. */
static cbor_item_t *data_value(enc_t *e, const json_t *v)
{
    if (!json_is_string(v)) return fail_null(e, "SenML vd is not a string");
    size_t n = json_string_length(v);
    uint8_t *b = malloc(n * 3 / 4 + 1);
    if (!b) return NULL;
    long got = base_base64url_decode(json_string_value(v), n, b);
    cbor_item_t *it = got < 0 ? fail_null(e, "SenML vd is not base64url without padding")
                              : cbor_build_bytestring(b, (size_t)got);
    free(b);
    return it;
}

/* A key: text, or in a SenML record a Table 4 label as its integer. */
static cbor_item_t *key_to_cbor(const char *k, size_t len, int record)
{
    int found = 0;
    int64_t n = record ? gw_senml_label_number(k, len, &found) : 0;
    if (found) return build_integer((json_int_t)n);
    return cbor_build_stringn(k, len);
}

static cbor_item_t *object_to_cbor(enc_t *e, const json_t *v, int depth)
{
    cbor_item_t *m = cbor_new_definite_map(json_object_size(v));
    if (!m) return NULL;
    int record = e->senml && depth == 1;
    const char *k;
    size_t klen;
    json_t *val;
    json_object_keylen_foreach((json_t *)v, k, klen, val)
    {
        struct cbor_pair p = {key_to_cbor(k, klen, record), NULL};
        if (p.key)
            p.value = record && klen == 2 && !memcmp(k, "vd", 2) ? data_value(e, val)
                                                                 : value_to_cbor(e, val, depth + 1);
        int ok = p.key && p.value && cbor_map_add(m, p);
        if (p.key) cbor_decref(&p.key);
        if (p.value) cbor_decref(&p.value);
        if (!ok) {
            cbor_decref(&m);
            return NULL;
        }
    }
    return m;
}

static cbor_item_t *value_to_cbor(enc_t *e, const json_t *v, int depth)
{
    /* the bound of the CBOR side: an empty container opens no level */
    if (depth >= GW_CBOR_MAX_DEPTH && (json_array_size(v) || json_object_size(v)))
        return fail_null(e, "JSON nested deeper than %d levels", GW_CBOR_MAX_DEPTH);
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        if (e->senml && depth == 0) return fail_null(e, "a SenML pack is an array");
        return object_to_cbor(e, v, depth);
    case JSON_ARRAY:
        return array_to_cbor(e, v, depth);
    case JSON_STRING:
        return cbor_build_stringn(json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return build_integer(json_integer_value(v));
    case JSON_REAL:
        return build_real(json_real_value(v));
    case JSON_TRUE:
    case JSON_FALSE:
        return cbor_build_bool(json_is_true(v));
    case JSON_NULL:
        return cbor_new_null();
    }
    return fail_null(e, "unknown JSON value");
}

int gw_json_to_cbor(const char *json, size_t len, int senml, uint8_t **out, size_t *out_len,
                    char *why, size_t cap)
{
    json_error_t err;
    enc_t e = {why, cap, senml};
    *out = NULL;
    if (why && cap) snprintf(why, cap, "out of memory");
    json_t *v =
        json_loadb(json, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    if (!v) {
        if (why) snprintf(why, cap, "invalid JSON at offset %d: %s", err.position, err.text);
        return -1;
    }
    if (senml && !json_is_array(v)) {
        json_decref(v);
        if (why) snprintf(why, cap, "a SenML pack is an array");
        return -1;
    }
    cbor_item_t *it = value_to_cbor(&e, v, 0);
    json_decref(v);
    if (!it) return -1;
    size_t bufcap;
    *out_len = cbor_serialize_alloc(it, out, &bufcap);
    cbor_decref(&it);
    if (!*out_len) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}
