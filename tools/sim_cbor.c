/*
 * sim_cbor.c - coapgw-sim's CBOR readings (sim_cbor.h).
 */
#include "sim_cbor.h"

#include <cbor.h>
#include <string.h>

static void put(cbor_item_t *map, cbor_item_t *key, cbor_item_t *value)
{
    cbor_map_add(map, (struct cbor_pair){.key = cbor_move(key), .value = cbor_move(value)});
}

static size_t serialize(cbor_item_t *it, uint8_t *out, size_t cap)
{
    size_t n = it ? cbor_serialize(it, out, cap) : 0;
    if (it) cbor_decref(&it);
    return n;
}

size_t sim_cbor_reading(double t, double h, int led, uint64_t ticks, uint8_t *out, size_t cap)
{
    static const uint8_t raw[] = {0xca, 0xfe};
    cbor_item_t *m = cbor_new_definite_map(6);
    if (!m) return 0;
    put(m, cbor_build_string("temperature"), cbor_build_float8(t));
    put(m, cbor_build_string("humidity"), cbor_build_float8(h));
    put(m, cbor_build_string("led"), cbor_build_bool(led));
    put(m, cbor_build_string("raw"), cbor_build_bytestring(raw, sizeof raw));
    put(m, cbor_build_string("ticks"), cbor_build_uint64(ticks));
    put(m, cbor_build_string("at"), cbor_build_tag(1, cbor_move(cbor_build_uint64(ticks))));
    return serialize(m, out, cap);
}

/* RFC 8428 §6, Table 4 */
enum { SENML_BN = -1, SENML_N = 0, SENML_U = 1, SENML_V = 2, SENML_VB = 4 };

static cbor_item_t *label(int n)
{
    cbor_item_t *it = cbor_build_uint8((uint8_t)(n < 0 ? -1 - n : n));
    if (it && n < 0) cbor_mark_negint(it);
    return it;
}

static cbor_item_t *record(const char *bn, const char *name, const char *unit, double v)
{
    cbor_item_t *r = cbor_new_definite_map(bn ? 4 : 3);
    if (!r) return NULL;
    if (bn) put(r, label(SENML_BN), cbor_build_string(bn));
    put(r, label(SENML_N), cbor_build_string(name));
    put(r, label(SENML_U), cbor_build_string(unit));
    put(r, label(SENML_V), cbor_build_float8(v));
    return r;
}

size_t sim_senml_reading(double t, double h, int led, uint8_t *out, size_t cap)
{
    cbor_item_t *pack = cbor_new_definite_array(3), *b = cbor_new_definite_map(2);
    if (!pack || !b) return 0;
    cbor_array_push(pack, cbor_move(record("urn:dev:sim:", "temperature", "Cel", t)));
    cbor_array_push(pack, cbor_move(record(NULL, "humidity", "%RH", h)));
    put(b, label(SENML_N), cbor_build_string("led"));
    put(b, label(SENML_VB), cbor_build_bool(led));
    cbor_array_push(pack, cbor_move(b));
    return serialize(pack, out, cap);
}

size_t sim_cbor_intkey(uint8_t *out, size_t cap)
{
    cbor_item_t *m = cbor_new_definite_map(1);
    if (!m) return 0;
    put(m, cbor_build_uint8(1), cbor_build_string("one"));
    return serialize(m, out, cap);
}
