/*
 * fuzz_parse_tcp.c - libFuzzer target for the CoAP-over-TCP framing
 * (RFC 8323 §3.2, coap/msg_tcp.c).
 *
 * For every input:
 *   - coap_msg_tcp_frame_len() on every prefix must not crash, and once it
 *     knows the length it must say the same for every longer prefix;
 *   - coap_msg_parse_tcp() must not crash, and fail with a listed code
 *     unless the input is exactly one frame;
 *   - a parsed frame has its values inside the input, and serializes back
 *     to the input byte for byte (Len and the option nibbles have exactly
 *     one encoding per length).
 */
#include "coap_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_parse_tcp: %s:%d: check failed: %s\n", __FILE__, __LINE__,       \
                    #cond);                                                                        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static int inside(const uint8_t *p, size_t n, const uint8_t *base, size_t size)
{
    return p >= base && p <= base + size && n <= (size_t)(base + size - p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static coap_msg_t m;
    uint64_t known = 0;
    int have = 0;
    for (size_t k = 0; k <= size && k <= 8; k++) {
        uint64_t flen;
        int rc = coap_msg_tcp_frame_len(data, k, &flen);
        CHECK(rc == COAP_OK || rc == COAP_ERR_TRUNCATED || rc == COAP_ERR_TOKEN_LEN);
        if (rc == COAP_OK && have) CHECK(flen == known);
        if (rc == COAP_OK) known = flen, have = 1;
    }
    int rc = coap_msg_parse_tcp(&m, data, size);
    if (rc != COAP_OK) {
        CHECK(rc < 0 && strcmp(coap_strerror(rc), "unknown error") != 0);
        return 0;
    }
    CHECK(have && known == size);
    CHECK(m.token_len <= COAP_TOKEN_MAX && m.opt_count <= COAP_MSG_MAX_OPTS);
    for (unsigned i = 0; i < m.opt_count; i++) {
        if (i) CHECK(m.opts[i - 1].num <= m.opts[i].num);
        CHECK(inside(coap_msg_opt_value(&m.opts[i]), m.opts[i].len, data, size));
    }
    if (m.payload) CHECK(m.payload_len && inside(m.payload, m.payload_len, data, size));
    size_t need = coap_msg_size_tcp(&m);
    CHECK(need == size);
    uint8_t *out = malloc(need);
    CHECK(out);
    CHECK(coap_msg_serialize_tcp(&m, out, need) == (int)need);
    CHECK(memcmp(out, data, size) == 0);
    CHECK(coap_msg_serialize_tcp(&m, out, need - 1) == COAP_ERR_NOSPACE);
    free(out);
    return 0;
}
