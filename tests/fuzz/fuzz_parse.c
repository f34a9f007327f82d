/*
 * fuzz_parse.c - libFuzzer target for the CoAP message codec (coap/msg.c).
 *
 * For every input:
 *   - coap_msg_parse() must not crash, and a failure must be a negative code
 *     that coap_strerror() knows;
 *   - a parsed message must be internally consistent (fields in range,
 *     options sorted, option values and payload inside the input);
 *   - coap_msg_check_options() must return 0 or a critical option present in
 *     the message;
 *   - serialize(m) must parse back to the same model, and
 *     serialize(parse(serialize(m))) must equal serialize(m) byte for byte;
 *   - since RFC 7252 §3.1 gives every delta and length exactly one encoding
 *     (nibble 13 covers 13..268, nibble 14 covers 269..65804), serialize(m)
 *     must also equal the input itself;
 *   - rebuilding the message with the builder (coap_msg_add_opt, inserting
 *     out of order) must give the same bytes.
 * Any violation aborts with a message, which libFuzzer reports as a crash.
 */
#include "coap_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "fuzz_parse: " __VA_ARGS__);                                               \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) FAIL("%s:%d: check failed: %s", __FILE__, __LINE__, #cond);                   \
    } while (0)

/* True when [p, p + n) lies inside [base, base + size). */
static int inside(const uint8_t *p, size_t n, const uint8_t *base, size_t size)
{
    return p >= base && p <= base + size && n <= (size_t)(base + size - p);
}

static void check_parse_error(int rc)
{
    if (rc >= 0) FAIL("coap_msg_parse returned %d, neither COAP_OK nor negative", rc);
    const char *s = coap_strerror(rc);
    if (!s || !*s) FAIL("coap_strerror(%d) is empty", rc);
    if (strcmp(s, "unknown error") == 0) FAIL("coap_msg_parse returned unlisted code %d", rc);
}

static void check_invariants(const coap_msg_t *m, const uint8_t *buf, size_t size)
{
    CHECK(m->version == 1);
    CHECK(m->type <= COAP_RST);
    CHECK(m->token_len <= COAP_TOKEN_MAX);
    CHECK(m->opt_count <= COAP_MSG_MAX_OPTS);
    CHECK(4u + m->token_len <= size);
    if (m->code == COAP_EMPTY)
        CHECK(size == 4 && m->token_len == 0 && m->opt_count == 0 && m->payload_len == 0);
    for (unsigned i = 0; i < m->opt_count; i++) {
        const coap_msg_opt_t *o = &m->opts[i];
        if (i > 0) CHECK(m->opts[i - 1].num <= o->num);
        CHECK(!o->is_inline);
        CHECK(inside(coap_msg_opt_value(o), o->len, buf, size));
    }
    /* §3: a payload marker is never followed by an empty payload. */
    CHECK((m->payload == NULL) == (m->payload_len == 0));
    if (m->payload) {
        CHECK(inside(m->payload, m->payload_len, buf, size));
        CHECK(m->payload > buf && m->payload[-1] == COAP_PAYLOAD_MARK);
        CHECK(m->payload + m->payload_len == buf + size);
    }
}

static void check_accessors(const coap_msg_t *m)
{
    for (unsigned i = 0; i < m->opt_count; i++) {
        const coap_msg_opt_t *o = &m->opts[i];
        const coap_msg_opt_t *first = coap_msg_find_opt(m, o->num);
        CHECK(first != NULL && first->num == o->num && first <= o);
        int n = 0;
        for (unsigned j = 0; j < m->opt_count; j++) n += m->opts[j].num == o->num;
        CHECK(coap_msg_count_opt(m, o->num) == n);
        uint32_t v = 0;
        CHECK((coap_opt_uint(o, &v) == 0) == (o->len <= 4));
        (void)coap_opt_name(o->num);
    }
    char buf[40];
    const char *s = coap_code_str(m->code, buf, sizeof buf);
    CHECK(s == buf && buf[0] != '\0');
    CHECK(coap_type_name(m->type)[0] != '?');
}

static void check_options(const coap_msg_t *m)
{
    uint16_t bad = coap_msg_check_options(m, NULL);
    if (bad == 0) return;
    if (!coap_opt_is_critical(bad))
        FAIL("coap_msg_check_options returned elective option %u", (unsigned)bad);
    if (coap_msg_count_opt(m, bad) == 0)
        FAIL("coap_msg_check_options returned %u, which is not in the message", (unsigned)bad);
    /* Declaring it (and every other number) known accepts the message. */
    uint16_t known[COAP_MSG_MAX_OPTS + 1];
    unsigned k = 0;
    for (unsigned i = 0; i < m->opt_count; i++)
        if (m->opts[i].num != 0) known[k++] = m->opts[i].num;
    known[k] = 0;
    if (coap_msg_check_options(m, known) != 0)
        FAIL("coap_msg_check_options rejects an option listed as known");
}

static void compare_models(const coap_msg_t *a, const coap_msg_t *b)
{
    if (a->version != b->version) FAIL("version %u != %u", a->version, b->version);
    if (a->type != b->type) FAIL("type %u != %u", a->type, b->type);
    if (a->code != b->code) FAIL("code 0x%02x != 0x%02x", a->code, b->code);
    if (a->mid != b->mid) FAIL("mid %u != %u", a->mid, b->mid);
    if (a->token_len != b->token_len) FAIL("token_len %u != %u", a->token_len, b->token_len);
    if (memcmp(a->token, b->token, a->token_len) != 0) FAIL("token bytes differ");
    if (a->opt_count != b->opt_count) FAIL("opt_count %u != %u", a->opt_count, b->opt_count);
    for (unsigned i = 0; i < a->opt_count; i++) {
        const coap_msg_opt_t *x = &a->opts[i], *y = &b->opts[i];
        if (x->num != y->num) FAIL("option %u: number %u != %u", i, x->num, y->num);
        if (x->len != y->len) FAIL("option %u (%u): length %u != %u", i, x->num, x->len, y->len);
        if (x->len && memcmp(coap_msg_opt_value(x), coap_msg_opt_value(y), x->len) != 0)
            FAIL("option %u (%u): value bytes differ", i, x->num);
    }
    if (a->payload_len != b->payload_len)
        FAIL("payload_len %zu != %zu", a->payload_len, b->payload_len);
    if (a->payload_len && memcmp(a->payload, b->payload, a->payload_len) != 0)
        FAIL("payload bytes differ");
}

/* Serializes m into a fresh heap buffer of exactly coap_msg_size(m) bytes
 * (always >= 4), so that ASan sees any write past the announced size. */
static uint8_t *serialize_exact(const coap_msg_t *m, size_t *out_len)
{
    size_t need = coap_msg_size(m);
    uint8_t *buf = malloc(need);
    if (!buf) FAIL("out of memory");
    int n = coap_msg_serialize(m, buf, need);
    if (n < 0) FAIL("coap_msg_serialize failed: %d (%s)", n, coap_strerror(n));
    if ((size_t)n != need)
        FAIL("coap_msg_serialize wrote %d bytes, coap_msg_size says %zu", n, need);
    /* One byte short must be refused, not written past the end. */
    if (coap_msg_serialize(m, buf, need - 1) != COAP_ERR_NOSPACE)
        FAIL("serialize into %zu bytes (need %zu) did not report COAP_ERR_NOSPACE", need - 1, need);
    *out_len = need;
    return buf;
}

/* Rebuilds m with the builder API: groups of equal numbers are added from the
 * highest number down (so each insertion shifts the table), each group in its
 * own order (which add_opt must keep). */
static void rebuild(const coap_msg_t *m, coap_msg_t *out)
{
    coap_msg_init(out, (coap_type_t)m->type, m->code, m->mid);
    CHECK(coap_msg_set_token(out, m->token, m->token_len) == COAP_OK);
    unsigned end = m->opt_count;
    while (end > 0) {
        unsigned start = end - 1;
        while (start > 0 && m->opts[start - 1].num == m->opts[end - 1].num) start--;
        for (unsigned i = start; i < end; i++) {
            const coap_msg_opt_t *o = &m->opts[i];
            int rc = coap_msg_add_opt(out, o->num, coap_msg_opt_value(o), o->len);
            if (rc != COAP_OK) FAIL("coap_msg_add_opt(%u, len %u) failed: %d", o->num, o->len, rc);
        }
        end = start;
    }
    out->payload = m->payload;
    out->payload_len = m->payload_len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static coap_msg_t m1, m2, m3;

    int rc = coap_msg_parse(&m1, data, size);
    if (rc != COAP_OK) {
        check_parse_error(rc);
        return 0;
    }
    check_invariants(&m1, data, size);
    check_accessors(&m1);
    check_options(&m1);

    size_t len1, len2, len3;
    uint8_t *buf1 = serialize_exact(&m1, &len1);
    if (len1 != size || memcmp(buf1, data, size) != 0)
        FAIL("serialize(parse(input)) differs from the input (%zu vs %zu bytes)", len1, size);

    rc = coap_msg_parse(&m2, buf1, len1);
    if (rc != COAP_OK)
        FAIL("re-parse of serialized message failed: %d (%s)", rc, coap_strerror(rc));
    check_invariants(&m2, buf1, len1);
    compare_models(&m1, &m2);

    uint8_t *buf2 = serialize_exact(&m2, &len2);
    if (len2 != len1 || memcmp(buf1, buf2, len1) != 0)
        FAIL("serialize is not idempotent (%zu vs %zu bytes)", len1, len2);

    rebuild(&m1, &m3);
    compare_models(&m1, &m3);
    uint8_t *buf3 = serialize_exact(&m3, &len3);
    if (len3 != len1 || memcmp(buf1, buf3, len1) != 0)
        FAIL("serialize of the rebuilt message differs (%zu vs %zu bytes)", len1, len3);

    free(buf1);
    free(buf2);
    free(buf3);
    return 0;
}
