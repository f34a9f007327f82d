/*
 * bench_libcoap.c - libcoap 4.3 side of bench_codec (see bench_libcoap.h).
 *
 * Parse: coap_pdu_parse() (COAP_PROTO_UDP) into one PDU allocated up front
 * and reused, as a receive loop would, then coap_option_iterator_init() /
 * coap_option_next() over every option reading number, length and value
 * pointer, then coap_get_data().
 *
 * Build: what an application does to produce the same message: coap_pdu_init()
 * + coap_add_token() + coap_add_option() in ascending order (uint values
 * encoded with coap_encode_var_safe()) + coap_add_data(), then
 * coap_delete_pdu(). libcoap keeps the PDU in wire format as it is built;
 * only the 4-byte UDP header is written later, by coap_send() through the
 * non-exported coap_pdu_encode_header(), so it is not part of the figure.
 */
#include "bench_libcoap.h"

#include <coap3/coap.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static coap_pdu_t *parse_pdu;

int bl_init(void)
{
    coap_startup();
    coap_set_log_level(LOG_EMERG);
    parse_pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_EMPTY_CODE, 0, COAP_DEFAULT_MTU);
    return parse_pdu ? 0 : -1;
}

void bl_cleanup(void)
{
    coap_delete_pdu(parse_pdu);
    parse_pdu = NULL;
    coap_cleanup();
}

const char *bl_version(void)
{
    return coap_package_version();
}

static _Noreturn void fail(const char *what)
{
    fprintf(stderr, "bench_codec: libcoap %s failed\n", what);
    abort();
}

/* CON GET, token de ad be ef, Observe 0, Uri-Path "sensors", Uri-Path
 * "temperature", Accept 50 (application/json), Block2 num 0 m 0 szx 6. */
static coap_pdu_t *build_request(void)
{
    static const uint8_t tok[4] = {0xde, 0xad, 0xbe, 0xef};
    uint8_t b[4];
    coap_pdu_t *pdu =
        coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET, 0x1234, COAP_DEFAULT_MTU);
    if (!pdu) return NULL;
    int ok = coap_add_token(pdu, sizeof tok, tok);
    ok = ok && coap_add_option(pdu, COAP_OPTION_OBSERVE,
                               coap_encode_var_safe(b, sizeof b, COAP_OBSERVE_ESTABLISH), b);
    ok = ok && coap_add_option(pdu, COAP_OPTION_URI_PATH, 7, (const uint8_t *)"sensors");
    ok = ok && coap_add_option(pdu, COAP_OPTION_URI_PATH, 11, (const uint8_t *)"temperature");
    ok = ok &&
         coap_add_option(pdu, COAP_OPTION_ACCEPT,
                         coap_encode_var_safe(b, sizeof b, COAP_MEDIATYPE_APPLICATION_JSON), b);
    ok = ok && coap_add_option(pdu, COAP_OPTION_BLOCK2,
                               coap_encode_var_safe(b, sizeof b, 0u << 4 | 0u << 3 | 6u), b);
    if (!ok) {
        coap_delete_pdu(pdu);
        return NULL;
    }
    return pdu;
}

/* NON 2.05, token de ad be ef, ETag 01 02 03 04, Observe 0x012345,
 * Content-Format 0 (text/plain), Max-Age 60, payload "21.5". */
static coap_pdu_t *build_notification(void)
{
    static const uint8_t tok[4] = {0xde, 0xad, 0xbe, 0xef};
    static const uint8_t etag[4] = {0x01, 0x02, 0x03, 0x04};
    uint8_t b[4];
    coap_pdu_t *pdu =
        coap_pdu_init(COAP_MESSAGE_NON, COAP_RESPONSE_CODE_CONTENT, 0x5678, COAP_DEFAULT_MTU);
    if (!pdu) return NULL;
    int ok = coap_add_token(pdu, sizeof tok, tok);
    ok = ok && coap_add_option(pdu, COAP_OPTION_ETAG, sizeof etag, etag);
    ok = ok &&
         coap_add_option(pdu, COAP_OPTION_OBSERVE, coap_encode_var_safe(b, sizeof b, 0x012345), b);
    ok = ok && coap_add_option(pdu, COAP_OPTION_CONTENT_FORMAT,
                               coap_encode_var_safe(b, sizeof b, COAP_MEDIATYPE_TEXT_PLAIN), b);
    ok = ok && coap_add_option(pdu, COAP_OPTION_MAXAGE, coap_encode_var_safe(b, sizeof b, 60), b);
    ok = ok && coap_add_data(pdu, 4, (const uint8_t *)"21.5");
    if (!ok) {
        coap_delete_pdu(pdu);
        return NULL;
    }
    return pdu;
}

static coap_pdu_t *build(bench_msg_id_t which)
{
    return which == BENCH_REQUEST ? build_request() : build_notification();
}

/* Records type, code, mid, token, options (via the iterator) and payload. */
static int view_pdu(const coap_pdu_t *pdu, bench_view_t *v)
{
    memset(v, 0, sizeof *v);
    v->type = (unsigned)coap_pdu_get_type(pdu);
    v->code = (unsigned)coap_pdu_get_code(pdu);
    v->mid = (unsigned)coap_pdu_get_mid(pdu);
    coap_bin_const_t tok = coap_pdu_get_token(pdu);
    if (tok.length > sizeof v->token) return -1;
    v->token_len = tok.length;
    if (tok.length) memcpy(v->token, tok.s, tok.length);

    coap_opt_iterator_t oi;
    coap_opt_t *o;
    coap_option_iterator_init(pdu, &oi, COAP_OPT_ALL);
    while ((o = coap_option_next(&oi))) {
        uint32_t len = coap_opt_length(o);
        if (v->opt_count == BENCH_VIEW_MAX_OPTS || len > BENCH_VIEW_MAX_VAL) return -1;
        bench_opt_view_t *ov = &v->opts[v->opt_count++];
        ov->num = (uint16_t)oi.number;
        ov->len = (uint16_t)len;
        if (len) memcpy(ov->val, coap_opt_value(o), len);
    }
    size_t dlen = 0;
    const uint8_t *data = NULL;
    if (coap_get_data(pdu, &dlen, &data)) {
        if (dlen > sizeof v->payload) return -1;
        v->payload_len = dlen;
        memcpy(v->payload, data, dlen);
    }
    return 0;
}

int bl_parse_view(const uint8_t *buf, size_t len, bench_view_t *v)
{
    if (!coap_pdu_parse(COAP_PROTO_UDP, buf, len, parse_pdu)) return -1;
    return view_pdu(parse_pdu, v);
}

int bl_build_view(bench_msg_id_t which, bench_view_t *v)
{
    coap_pdu_t *pdu = build(which);
    if (!pdu) return -1;
    int rc = view_pdu(pdu, v);
    coap_delete_pdu(pdu);
    return rc;
}

void bl_parse_loop(const uint8_t *buf, size_t len, long iters)
{
    coap_pdu_t *pdu = parse_pdu;
    for (long i = 0; i < iters; i++) {
        if (!coap_pdu_parse(COAP_PROTO_UDP, buf, len, pdu)) fail("coap_pdu_parse");
        uintptr_t acc = 0;
        coap_opt_iterator_t oi;
        coap_opt_t *o;
        coap_option_iterator_init(pdu, &oi, COAP_OPT_ALL);
        while ((o = coap_option_next(&oi))) {
            acc += oi.number;
            acc += coap_opt_length(o);
            acc += (uintptr_t)coap_opt_value(o);
        }
        size_t dlen = 0;
        const uint8_t *data = NULL;
        coap_get_data(pdu, &dlen, &data);
        acc += dlen + (uintptr_t)data;
        bench_sink += acc;
    }
}

void bl_build_loop(bench_msg_id_t which, long iters)
{
    for (long i = 0; i < iters; i++) {
        coap_pdu_t *pdu = build(which);
        if (!pdu) fail("build");
        bench_sink += (uintptr_t)pdu;
        coap_delete_pdu(pdu);
    }
}
