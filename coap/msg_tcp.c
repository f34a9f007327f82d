/*
 * msg_tcp.c - the CoAP over TCP framing (RFC 8323 §3.2) around the options
 * and payload encoding that msg.c shares with the UDP header (RFC 7252 §3).
 */
#include "msg_internal.h"

#include <string.h>

/* §3.2: Len 13, 14 and 15 announce 1, 2 and 4 bytes of extended length,
 * whose value is the length minus 13, 269 and 65805. */
static const uint8_t ext_bytes[16] = {[13] = 1, [14] = 2, [15] = 4};
static const uint32_t ext_offset[16] = {[13] = 13, [14] = 269, [15] = 65805};

int coap_msg_tcp_frame_len(const uint8_t *buf, size_t avail, uint64_t *frame_len)
{
    if (avail < 1) return COAP_ERR_TRUNCATED;
    unsigned len_nibble = buf[0] >> 4, tkl = buf[0] & 0x0F;
    size_t nx = ext_bytes[len_nibble];
    if (avail < 1 + nx) return COAP_ERR_TRUNCATED;
    /* §3.2 refers to RFC 7252 §3: TKL 9..15 is a message format error */
    if (tkl > COAP_TOKEN_MAX) return COAP_ERR_TOKEN_LEN;
    uint64_t body = len_nibble;
    if (nx) {
        uint32_t x = 0;
        for (size_t i = 0; i < nx; i++) x = x << 8 | buf[1 + i];
        body = (uint64_t)x + ext_offset[len_nibble];
    }
    *frame_len = 1 + nx + 1 + tkl + body; /* header byte, ext, Code, token, rest */
    return COAP_OK;
}

int coap_msg_parse_tcp(coap_msg_t *m, const uint8_t *buf, size_t len)
{
    uint64_t flen;
    int rc = coap_msg_tcp_frame_len(buf, len, &flen);
    memset(m, 0, offsetof(coap_msg_t, opts));
    m->version = 1;
    m->type = COAP_NON;
    m->payload = NULL;
    m->payload_len = 0;
    if (rc) return rc;
    if (flen != len) return COAP_ERR_TRUNCATED;
    size_t hdr = 1 + ext_bytes[buf[0] >> 4];
    m->token_len = buf[0] & 0x0F;
    m->code = buf[hdr];
    memcpy(m->token, buf + hdr + 1, m->token_len);
    return coap_msg_parse_body_(m, buf + hdr + 1 + m->token_len, buf + len);
}

/* The Len nibble for a body of n bytes (§3.2). */
static unsigned len_nibble(size_t n)
{
    return n < 13 ? (unsigned)n : n < 269 ? 13 : n < 65805 ? 14 : 15;
}

size_t coap_msg_size_tcp(const coap_msg_t *m)
{
    size_t body = coap_msg_body_size_(m);
    return 1 + ext_bytes[len_nibble(body)] + 1 + m->token_len + body;
}

int coap_msg_serialize_tcp(const coap_msg_t *m, uint8_t *buf, size_t cap)
{
    if (m->token_len > COAP_TOKEN_MAX) return COAP_ERR_INVALID;
    for (unsigned i = 1; i < m->opt_count; i++)
        if (m->opts[i].num < m->opts[i - 1].num) return COAP_ERR_OPT_ORDER;
    size_t need = coap_msg_size_tcp(m);
    if (need > cap) return COAP_ERR_NOSPACE;
    if (need > 0x7FFFFFFF) return COAP_ERR_INVALID;
    size_t body = coap_msg_body_size_(m);
    unsigned ln = len_nibble(body);
    uint8_t *p = buf;
    *p++ = (uint8_t)(ln << 4 | m->token_len);
    uint32_t x = (uint32_t)(body - ext_offset[ln]);
    for (size_t i = ext_bytes[ln]; i > 0; i--) *p++ = (uint8_t)(x >> (8 * (i - 1)));
    *p++ = m->code;
    memcpy(p, m->token, m->token_len);
    p += m->token_len;
    p = coap_msg_write_body_(m, p);
    return (int)(p - buf);
}
