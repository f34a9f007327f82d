/*
 * libFuzzer target for the CBOR <-> JSON conversions (gateway/cbor_json.c,
 * json_cbor.c). The first byte picks the direction and the SenML mode,
 * the rest is the document:
 *
 *   bit 0 clear: CBOR -> JSON; when that succeeds, the JSON text -> CBOR ->
 *                JSON must give the same JSON value (a plain item; a SenML
 *                pack's values need not convert back, e.g. a "vd" that is
 *                not a byte string)
 *   bit 0 set:   JSON -> CBOR; when that succeeds, CBOR -> JSON must give
 *                the JSON that was parsed
 *   bit 1:       SenML (RFC 8428 §6 labels)
 *
 * Any crash, leak, sanitizer report or abort is a finding.
 */
#include "gw_cbor.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *json_of_cbor(const uint8_t *cbor, size_t n, int senml)
{
    json_t *v = NULL;
    char why[160];
    gw_cbor_rc_t rc = gw_cbor_to_json(cbor, n, senml, &v, why, sizeof why);
    if (rc != GW_CBOR_OK && v) abort(); /* failure leaves nothing behind */
    return v;
}

static void cbor_first(const uint8_t *d, size_t n, int senml)
{
    char *text = NULL, why[160];
    size_t len;
    if (gw_cbor_to_json_text(d, n, senml, &text, &len, why, sizeof why) != GW_CBOR_OK) return;
    json_t *first = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!first) {
        /* our JSON text must parse; jansson alone refuses U+0000 in a key */
        if (!strstr(text, "\\u0000")) abort();
        free(text);
        return;
    }
    uint8_t *cbor;
    size_t clen;
    if (gw_json_to_cbor(text, len, senml, &cbor, &clen, why, sizeof why)) {
        if (!senml) abort(); /* every plain JSON form converts back */
    } else {
        json_t *again = json_of_cbor(cbor, clen, senml);
        if (!again || !json_equal(first, again)) abort();
        json_decref(again);
        free(cbor);
    }
    json_decref(first);
    free(text);
}

static void json_first(const uint8_t *d, size_t n, int senml)
{
    uint8_t *cbor;
    size_t clen;
    char why[160];
    if (gw_json_to_cbor((const char *)d, n, senml, &cbor, &clen, why, sizeof why)) return;
    json_t *parsed = json_loadb((const char *)d, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    json_t *back = json_of_cbor(cbor, clen, senml);
    if (!parsed || !back || !json_equal(parsed, back)) abort();
    json_decref(parsed);
    json_decref(back);
    free(cbor);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int senml = data[0] & 2;
    if (data[0] & 1)
        json_first(data + 1, size - 1, senml);
    else
        cbor_first(data + 1, size - 1, senml);
    return 0;
}
