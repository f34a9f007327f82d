/*
 * cbor_json.c - CBOR -> JSON (RFC 8949 §6.1) and SenML CBOR -> SenML JSON
 * (RFC 8428 §6). The input is first walked by libcbor's streaming decoder
 * to bound its nesting and check that it is exactly one complete item;
 * only then does cbor_load build the tree (whose definite containers it
 * allocates at their declared size: a complete item has that many).
 */
#include "base_base64.h"
#include "gw_cbor.h"

#include <cbor.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- RFC 8428 §6, Table 4 --- */

static const struct {
    int64_t number;
    const char *name;
} senml_labels[] = {
    {-2, "bver"}, {-1, "bn"}, {-3, "bt"}, {-4, "bu"}, {-5, "bv"}, {-6, "bs"}, {0, "n"},  {1, "u"},
    {2, "v"},     {3, "vs"},  {4, "vb"},  {5, "s"},   {6, "t"},   {7, "ut"},  {8, "vd"},
};

const char *gw_senml_label_name(int64_t label)
{
    for (size_t i = 0; i < sizeof senml_labels / sizeof senml_labels[0]; i++)
        if (senml_labels[i].number == label) return senml_labels[i].name;
    return NULL;
}

int64_t gw_senml_label_number(const char *name, size_t len, int *found)
{
    for (size_t i = 0; i < sizeof senml_labels / sizeof senml_labels[0]; i++)
        if (strlen(senml_labels[i].name) == len && !memcmp(senml_labels[i].name, name, len)) {
            *found = 1;
            return senml_labels[i].number;
        }
    *found = 0;
    return 0;
}

static gw_cbor_rc_t fail(gw_cbor_rc_t rc, char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static gw_cbor_rc_t fail(gw_cbor_rc_t rc, char *why, size_t cap, const char *fmt, ...)
{
    if (why && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* --- the nesting walk (libcbor's streaming decoder) --- */

#define INDEFINITE UINT64_MAX

typedef struct {
    uint64_t left[GW_CBOR_MAX_DEPTH + 1]; /* items each open container still holds */
    int depth;
    int too_deep, bad, done;
} walk_t;

/* An item starts: it takes one place in the container around it. */
static void walk_take(walk_t *w)
{
    if (w->depth > 0 && w->left[w->depth - 1] != INDEFINITE) w->left[w->depth - 1]--;
}

/* An item is complete: so is every definite container it filled up. */
static void walk_complete(walk_t *w)
{
    while (w->depth > 0 && w->left[w->depth - 1] == 0) w->depth--;
    if (w->depth == 0) w->done = 1;
}

static void walk_leaf(walk_t *w)
{
    walk_take(w);
    walk_complete(w);
}

static void walk_open(walk_t *w, uint64_t items)
{
    walk_take(w);
    if (items == 0) {
        walk_complete(w);
        return;
    }
    if (w->depth >= GW_CBOR_MAX_DEPTH) {
        w->too_deep = 1;
        return;
    }
    w->left[w->depth++] = items;
}

static void on_u8(void *c, uint8_t v)
{
    (void)v, walk_leaf(c);
}
static void on_u16(void *c, uint16_t v)
{
    (void)v, walk_leaf(c);
}
static void on_u32(void *c, uint32_t v)
{
    (void)v, walk_leaf(c);
}
static void on_u64(void *c, uint64_t v)
{
    (void)v, walk_leaf(c);
}
static void on_flt(void *c, float v)
{
    (void)v, walk_leaf(c);
}
static void on_dbl(void *c, double v)
{
    (void)v, walk_leaf(c);
}
static void on_bool(void *c, bool v)
{
    (void)v, walk_leaf(c);
}
static void on_simple(void *c)
{
    walk_leaf(c);
}
static void on_chunk(void *c, cbor_data d, uint64_t n)
{
    (void)d, (void)n, walk_leaf(c);
}
static void on_indef(void *c)
{
    walk_open(c, INDEFINITE);
}
static void on_array(void *c, uint64_t n)
{
    walk_open(c, n);
}
static void on_tag(void *c, uint64_t t)
{
    (void)t, walk_open(c, 1);
}

static void on_map(void *c, uint64_t n)
{
    if (n > UINT64_MAX / 2 - 1)
        ((walk_t *)c)->bad = 1;
    else
        walk_open(c, 2 * n);
}

static void on_break(void *c)
{
    walk_t *w = c;
    if (w->depth == 0 || w->left[w->depth - 1] != INDEFINITE) {
        w->bad = 1;
        return;
    }
    w->depth--;
    walk_complete(w);
}

static const struct cbor_callbacks walk_callbacks = {
    .uint8 = on_u8,
    .uint16 = on_u16,
    .uint32 = on_u32,
    .uint64 = on_u64,
    .negint8 = on_u8,
    .negint16 = on_u16,
    .negint32 = on_u32,
    .negint64 = on_u64,
    .byte_string = on_chunk,
    .byte_string_start = on_indef,
    .string = on_chunk,
    .string_start = on_indef,
    .array_start = on_array,
    .indef_array_start = on_indef,
    .map_start = on_map,
    .indef_map_start = on_indef,
    .tag = on_tag,
    .float2 = on_flt,
    .float4 = on_flt,
    .float8 = on_dbl,
    .undefined = on_simple,
    .null = on_simple,
    .boolean = on_bool,
    .indef_break = on_break,
};

static gw_cbor_rc_t walk(const uint8_t *buf, size_t len, char *why, size_t cap)
{
    walk_t w = {0};
    size_t off = 0;
    while (!w.done) {
        if (off == len) return fail(GW_CBOR_MALFORMED, why, cap, "CBOR ends inside an item");
        struct cbor_decoder_result r =
            cbor_stream_decode(buf + off, len - off, &walk_callbacks, &w);
        if (r.status != CBOR_DECODER_FINISHED || w.bad)
            return fail(GW_CBOR_MALFORMED, why, cap, "malformed CBOR at byte %zu", off);
        if (w.too_deep)
            return fail(GW_CBOR_TOO_DEEP, why, cap, "CBOR nested deeper than %d levels",
                        GW_CBOR_MAX_DEPTH);
        off += r.read;
    }
    if (off != len) return fail(GW_CBOR_MALFORMED, why, cap, "bytes after the CBOR item");
    return GW_CBOR_OK;
}

/* --- the tree to JSON --- */

typedef enum { HINT_B64URL, HINT_B64, HINT_B16 } hint_t; /* RFC 8949 §3.4.5.2 */

typedef struct {
    char *why;
    size_t cap;
    int senml;
} conv_t;

static gw_cbor_rc_t item_to_json(conv_t *c, const cbor_item_t *it, hint_t hint, int depth,
                                 json_t **out);

static size_t chunk_len(const cbor_item_t *it)
{
    return cbor_isa_bytestring(it) ? cbor_bytestring_length(it) : cbor_string_length(it);
}

static const uint8_t *chunk_data(const cbor_item_t *it)
{
    return cbor_isa_bytestring(it) ? cbor_bytestring_handle(it) : cbor_string_handle(it);
}

/* A string's bytes, its chunks joined when indefinite (RFC 8949 §6.1:
 * "made definite before conversion"); malloc'ed, NULL when out of memory. */
static uint8_t *string_bytes(const cbor_item_t *it, size_t *len)
{
    int bytes = cbor_isa_bytestring(it);
    cbor_item_t *self[1] = {(cbor_item_t *)it};
    int definite = bytes ? cbor_bytestring_is_definite(it) : cbor_string_is_definite(it);
    size_t n = definite ? 1 : bytes ? cbor_bytestring_chunk_count(it) : cbor_string_chunk_count(it);
    cbor_item_t **ch = definite ? self
                       : bytes  ? cbor_bytestring_chunks_handle(it)
                                : cbor_string_chunks_handle(it);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += chunk_len(ch[i]);
    uint8_t *p = malloc(total + 1);
    if (!p) return NULL;
    *len = 0;
    for (size_t i = 0; i < n; i++) {
        if (chunk_len(ch[i])) memcpy(p + *len, chunk_data(ch[i]), chunk_len(ch[i]));
        *len += chunk_len(ch[i]);
    }
    return p;
}

static json_t *encode_bytes(const uint8_t *b, size_t n, hint_t hint, const char *prefix)
{
    size_t plen = strlen(prefix), cap = plen + (hint == HINT_B16 ? 2 * n + 1 : base_base64_size(n));
    char *s = malloc(cap);
    if (!s) return NULL;
    memcpy(s, prefix, plen);
    if (hint == HINT_B16) {
        static const char hex[] = "0123456789abcdef"; /* RFC 4648 §8, lower case per §3.4.5.2 */
        for (size_t i = 0; i < n; i++) {
            s[plen + 2 * i] = hex[b[i] >> 4];
            s[plen + 2 * i + 1] = hex[b[i] & 15];
        }
        s[plen + 2 * n] = '\0';
    } else {
        base_base64_encode(b, n, hint == HINT_B64 ? BASE64_STD : BASE64_URL, s + plen, cap - plen);
    }
    json_t *v = json_string(s);
    free(s);
    return v;
}

static gw_cbor_rc_t string_to_json(conv_t *c, const cbor_item_t *it, hint_t hint,
                                   const char *prefix, json_t **out)
{
    size_t n = 0;
    uint8_t *b = string_bytes(it, &n);
    if (!b) return GW_CBOR_NOMEM;
    if (cbor_isa_string(it)) {
        *out = json_stringn((const char *)b, n); /* NULL unless valid UTF-8 */
        free(b);
        return *out ? GW_CBOR_OK : fail(GW_CBOR_MALFORMED, c->why, c->cap, "text string not UTF-8");
    }
    *out = encode_bytes(b, n, hint, prefix);
    free(b);
    return *out ? GW_CBOR_OK : GW_CBOR_NOMEM;
}

double gw_cbor_float_value(float f)
{
    char buf[32];
    for (int p = 1; p <= 9; p++) { /* 9 digits always give a float back */
        snprintf(buf, sizeof buf, "%.*g", p, (double)f);
        if (strtof(buf, NULL) == f) return strtod(buf, NULL);
    }
    return (double)f;
}

static json_t *ctrl_to_json(const cbor_item_t *it)
{
    double d;
    switch (cbor_float_get_width(it)) {
    case CBOR_FLOAT_0:
        if (cbor_is_bool(it)) return json_boolean(cbor_get_bool(it));
        return json_null(); /* null, and undefined's substitute (§6.1) */
    case CBOR_FLOAT_16:
        d = gw_cbor_float_value(cbor_float_get_float2(it));
        break;
    case CBOR_FLOAT_32:
        d = gw_cbor_float_value(cbor_float_get_float4(it));
        break;
    default:
        d = cbor_float_get_float8(it);
    }
    return isfinite(d) ? json_real(d) : json_null(); /* §6.1: NaN, Infinity */
}

static gw_cbor_rc_t int_to_json(conv_t *c, const cbor_item_t *it, json_t **out)
{
    uint64_t v = cbor_get_int(it);
    if (v > INT64_MAX)
        return fail(GW_CBOR_NO_JSON, c->why, c->cap, "integer outside the 64-bit signed range");
    *out = json_integer(cbor_isa_uint(it) ? (json_int_t)v : -1 - (json_int_t)v);
    return *out ? GW_CBOR_OK : GW_CBOR_NOMEM;
}

static gw_cbor_rc_t array_to_json(conv_t *c, const cbor_item_t *it, hint_t hint, int depth,
                                  json_t **out)
{
    json_t *a = json_array();
    if (!a) return GW_CBOR_NOMEM;
    cbor_item_t **items = cbor_array_handle(it);
    for (size_t i = 0; i < cbor_array_size(it); i++) {
        json_t *v;
        gw_cbor_rc_t rc = item_to_json(c, items[i], hint, depth + 1, &v);
        if (rc) return json_decref(a), rc;
        json_array_append_new(a, v);
    }
    *out = a;
    return GW_CBOR_OK;
}

/* A map key: a text string, or in a SenML record a Table 4 label. */
static gw_cbor_rc_t key_of(conv_t *c, const cbor_item_t *k, int record, char **key, size_t *len)
{
    if (record && (cbor_isa_uint(k) || cbor_isa_negint(k)) && cbor_get_int(k) <= INT64_MAX) {
        int64_t n = cbor_isa_uint(k) ? (int64_t)cbor_get_int(k) : -1 - (int64_t)cbor_get_int(k);
        const char *name = gw_senml_label_name(n);
        if (!name)
            return fail(GW_CBOR_NO_JSON, c->why, c->cap, "SenML label %lld has no JSON label",
                        (long long)n);
        *len = strlen(name);
        return (*key = strdup(name)) ? GW_CBOR_OK : GW_CBOR_NOMEM;
    }
    if (!cbor_isa_string(k))
        return fail(GW_CBOR_NO_JSON, c->why, c->cap, "a map key that is not a text string");
    *key = (char *)string_bytes(k, len);
    return *key ? GW_CBOR_OK : GW_CBOR_NOMEM;
}

static gw_cbor_rc_t map_to_json(conv_t *c, const cbor_item_t *it, hint_t hint, int depth,
                                json_t **out)
{
    json_t *o = json_object();
    if (!o) return GW_CBOR_NOMEM;
    struct cbor_pair *pairs = cbor_map_handle(it);
    int record = c->senml && depth == 1;
    for (size_t i = 0; i < cbor_map_size(it); i++) {
        char *key = NULL;
        size_t klen = 0;
        json_t *v = NULL;
        gw_cbor_rc_t rc = key_of(c, pairs[i].key, record, &key, &klen);
        if (!rc && json_object_getn(o, key, klen))
            rc = fail(GW_CBOR_MALFORMED, c->why, c->cap, "a map with a duplicate key");
        if (!rc) rc = item_to_json(c, pairs[i].value, hint, depth + 1, &v);
        if (!rc && json_object_setn_new(o, key, klen, v)) rc = GW_CBOR_NOMEM;
        free(key);
        if (rc) return json_decref(o), rc;
    }
    *out = o;
    return GW_CBOR_OK;
}

static gw_cbor_rc_t tag_to_json(conv_t *c, const cbor_item_t *it, hint_t hint, int depth,
                                json_t **out)
{
    uint64_t tag = cbor_tag_value(it);
    cbor_item_t *in = cbor_tag_item(it); /* a new reference */
    gw_cbor_rc_t rc;
    if ((tag == 2 || tag == 3) && cbor_isa_bytestring(in)) /* §6.1: bignums */
        rc = string_to_json(c, in, HINT_B64URL, tag == 3 ? "~" : "", out);
    else if (tag >= 21 && tag <= 23) /* §3.4.5.2: expected conversion to base64url/64/16 */
        rc = item_to_json(c, in, (hint_t)(tag - 21), depth + 1, out);
    else /* every other tag, tag 1 (epoch time) included: its content (§6.1) */
        rc = item_to_json(c, in, hint, depth + 1, out);
    cbor_decref(&in);
    return rc;
}

static gw_cbor_rc_t item_to_json(conv_t *c, const cbor_item_t *it, hint_t hint, int depth,
                                 json_t **out)
{
    *out = NULL;
    switch (cbor_typeof(it)) {
    case CBOR_TYPE_UINT:
    case CBOR_TYPE_NEGINT:
        return int_to_json(c, it, out);
    case CBOR_TYPE_BYTESTRING:
    case CBOR_TYPE_STRING:
        return string_to_json(c, it, hint, "", out);
    case CBOR_TYPE_ARRAY:
        if (c->senml && depth == 0) /* a pack: records only */
            for (size_t i = 0; i < cbor_array_size(it); i++)
                if (!cbor_isa_map(cbor_array_handle(it)[i]))
                    return fail(GW_CBOR_MALFORMED, c->why, c->cap, "a SenML record not a map");
        return array_to_json(c, it, hint, depth, out);
    case CBOR_TYPE_MAP:
        if (c->senml && depth == 0)
            return fail(GW_CBOR_MALFORMED, c->why, c->cap, "a SenML pack not an array");
        return map_to_json(c, it, hint, depth, out);
    case CBOR_TYPE_TAG:
        return tag_to_json(c, it, hint, depth, out);
    case CBOR_TYPE_FLOAT_CTRL:
        *out = ctrl_to_json(it);
        return *out ? GW_CBOR_OK : GW_CBOR_NOMEM;
    }
    return fail(GW_CBOR_MALFORMED, c->why, c->cap, "unknown CBOR item");
}

gw_cbor_rc_t gw_cbor_to_json(const uint8_t *cbor, size_t len, int senml, json_t **out, char *why,
                             size_t cap)
{
    *out = NULL;
    gw_cbor_rc_t rc = walk(cbor, len, why, cap);
    if (rc) return rc;
    struct cbor_load_result res;
    cbor_item_t *it = cbor_load(cbor, len, &res);
    if (!it) {
        if (res.error.code == CBOR_ERR_MEMERROR) return GW_CBOR_NOMEM;
        return fail(GW_CBOR_MALFORMED, why, cap, "malformed CBOR at byte %zu", res.error.position);
    }
    conv_t c = {why, cap, senml};
    rc = item_to_json(&c, it, HINT_B64URL, 0, out);
    cbor_decref(&it);
    return rc;
}

/* 15 significant digits read better (21.3, not 21.300000000000001) but
 * are not always exact: then 17, which always are. */
static int digits_needed(const json_t *v)
{
    size_t i;
    const char *k;
    json_t *e;
    if (json_is_real(v)) {
        char buf[32];
        snprintf(buf, sizeof buf, "%.15g", json_real_value(v));
        return strtod(buf, NULL) == json_real_value(v) ? 15 : 17;
    }
    int d = 15;
    if (json_is_array(v)) json_array_foreach(v, i, e) if (digits_needed(e) > d) d = 17;
    if (json_is_object(v)) json_object_foreach((json_t *)v, k, e) if (digits_needed(e) > d) d = 17;
    return d;
}

gw_cbor_rc_t gw_cbor_to_json_text(const uint8_t *cbor, size_t len, int senml, char **text,
                                  size_t *text_len, char *why, size_t cap)
{
    json_t *v;
    *text = NULL;
    gw_cbor_rc_t rc = gw_cbor_to_json(cbor, len, senml, &v, why, cap);
    if (rc) return rc;
    *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(digits_needed(v)));
    json_decref(v);
    if (!*text) return GW_CBOR_NOMEM;
    *text_len = strlen(*text);
    return GW_CBOR_OK;
}
