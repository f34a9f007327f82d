/*
 * msg.c - CoAP message codec (RFC 7252 §3).
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |Ver| T |  TKL  |      Code     |          Message ID           |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |   Token (if any, TKL bytes) ...
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |   Options (if any) ...
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |1 1 1 1 1 1 1 1|    Payload (if any) ...
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
#include "msg_internal.h"

#include <string.h>

void coap_msg_init(coap_msg_t *m, coap_type_t type, uint8_t code, uint16_t mid)
{
    m->version = 1;
    m->type = (uint8_t)type;
    m->code = code;
    m->token_len = 0;
    m->mid = mid;
    m->opt_count = 0;
    m->payload = NULL;
    m->payload_len = 0;
}

/* Reads the extended form of a delta or length nibble (§3.1): 13 means one
 * more byte (value - 13), 14 means two more bytes (value - 269). */
static int read_ext(unsigned nibble, const uint8_t **p, const uint8_t *end, uint32_t *out)
{
    if (nibble < 13) {
        *out = nibble;
    } else if (nibble == 13) {
        if (*p >= end) return COAP_ERR_OPT_TRUNCATED;
        *out = 13u + **p;
        *p += 1;
    } else {
        if (end - *p < 2) return COAP_ERR_OPT_TRUNCATED;
        *out = 269u + ((uint32_t)(*p)[0] << 8 | (*p)[1]);
        *p += 2;
    }
    return COAP_OK;
}

/* Options and payload (§3.1), shared with the TCP framing (msg_tcp.c). */
int coap_msg_parse_body_(coap_msg_t *m, const uint8_t *p, const uint8_t *end)
{
    m->opt_count = 0;
    m->payload = NULL;
    m->payload_len = 0;
    uint32_t num = 0;
    while (p < end) {
        uint8_t b = *p++;
        if (b == COAP_PAYLOAD_MARK) {
            /* §3: "The presence of a marker followed by a zero-length
             * payload MUST be processed as a message format error." */
            if (p == end) return COAP_ERR_EMPTY_PAYLOAD;
            m->payload = p;
            m->payload_len = (size_t)(end - p);
            return COAP_OK;
        }
        unsigned dn = b >> 4, ln = b & 0x0F;
        /* §3.1: nibble 15 is reserved outside the payload marker. */
        if (dn == 15) return COAP_ERR_OPT_DELTA_15;
        if (ln == 15) return COAP_ERR_OPT_LEN_15;
        uint32_t delta, olen;
        int rc = read_ext(dn, &p, end, &delta);
        if (rc) return rc;
        rc = read_ext(ln, &p, end, &olen);
        if (rc) return rc;
        num += delta;
        if (num > 0xFFFF) return COAP_ERR_OPT_NUMBER;
        if (olen > 0xFFFF) return COAP_ERR_OPT_VALUE; /* our model keeps 16-bit lengths */
        if ((size_t)(end - p) < olen) return COAP_ERR_OPT_TRUNCATED;
        if (m->opt_count == COAP_MSG_MAX_OPTS) return COAP_ERR_TOO_MANY_OPTS;
        coap_msg_opt_t *o = &m->opts[m->opt_count++];
        o->num = (uint16_t)num;
        o->len = (uint16_t)olen;
        o->is_inline = 0;
        o->v.ptr = p;
        p += olen;
    }
    return COAP_OK;
}

int coap_msg_parse(coap_msg_t *m, const uint8_t *buf, size_t len)
{
    if (len < 4) return COAP_ERR_TRUNCATED;
    m->version = buf[0] >> 6;
    m->type = (buf[0] >> 4) & 3;
    m->token_len = buf[0] & 0x0F;
    m->code = buf[1];
    m->mid = (uint16_t)(buf[2] << 8 | buf[3]);
    m->opt_count = 0;
    m->payload = NULL;
    m->payload_len = 0;
    /* §3: "Implementations of this specification MUST set this field to 1
     * (01 binary). Other values are reserved ... messages with unknown
     * version numbers MUST be silently ignored." */
    if (m->version != 1) return COAP_ERR_VERSION;
    /* §3: "Lengths 9-15 are reserved, MUST NOT be sent, and MUST be
     * processed as a message format error." */
    if (m->token_len > COAP_TOKEN_MAX) return COAP_ERR_TOKEN_LEN;
    /* §4.1: an Empty message has TKL 0 and nothing after the Message ID. */
    if (m->code == COAP_EMPTY && (len > 4 || m->token_len)) return COAP_ERR_EMPTY_NOT_EMPTY;
    if (len < 4u + m->token_len) return COAP_ERR_TRUNCATED;
    memcpy(m->token, buf + 4, m->token_len);

    return coap_msg_parse_body_(m, buf + 4 + m->token_len, buf + len);
}

/* Size of the extended field for a delta or length value. */
static size_t ext_size(uint32_t v)
{
    return v < 13 ? 0 : v < 269 ? 1 : 2;
}

size_t coap_msg_body_size_(const coap_msg_t *m)
{
    size_t n = 0;
    uint16_t prev = 0;
    for (unsigned i = 0; i < m->opt_count; i++) {
        const coap_msg_opt_t *o = &m->opts[i];
        n += 1 + ext_size((uint32_t)(o->num - prev)) + ext_size(o->len) + o->len;
        prev = o->num;
    }
    if (m->payload_len) n += 1 + m->payload_len;
    return n;
}

size_t coap_msg_size(const coap_msg_t *m)
{
    return 4 + m->token_len + coap_msg_body_size_(m);
}

static uint8_t *write_ext(uint8_t *p, uint32_t v)
{
    if (v >= 269) {
        v -= 269;
        *p++ = (uint8_t)(v >> 8);
        *p++ = (uint8_t)v;
    } else if (v >= 13) {
        *p++ = (uint8_t)(v - 13);
    }
    return p;
}

static unsigned nibble(uint32_t v)
{
    return v < 13 ? v : v < 269 ? 13 : 14;
}

/* Writes the options and the payload at p (room checked by the caller);
 * returns the end. Shared with the TCP framing (msg_tcp.c). */
uint8_t *coap_msg_write_body_(const coap_msg_t *m, uint8_t *p)
{
    uint16_t prev = 0;
    for (unsigned i = 0; i < m->opt_count; i++) {
        const coap_msg_opt_t *o = &m->opts[i];
        uint32_t delta = (uint32_t)(o->num - prev);
        *p++ = (uint8_t)(nibble(delta) << 4 | nibble(o->len));
        p = write_ext(p, delta);
        p = write_ext(p, o->len);
        if (o->len) memcpy(p, coap_msg_opt_value(o), o->len);
        p += o->len;
        prev = o->num;
    }
    if (m->payload_len) {
        *p++ = COAP_PAYLOAD_MARK;
        memcpy(p, m->payload, m->payload_len);
        p += m->payload_len;
    }
    return p;
}

int coap_msg_serialize(const coap_msg_t *m, uint8_t *buf, size_t cap)
{
    if (m->token_len > COAP_TOKEN_MAX || m->type > 3) return COAP_ERR_INVALID;
    for (unsigned i = 1; i < m->opt_count; i++)
        if (m->opts[i].num < m->opts[i - 1].num) return COAP_ERR_OPT_ORDER;
    size_t need = coap_msg_size(m);
    if (need > cap) return COAP_ERR_NOSPACE;
    if (need > 0x7FFFFFFF) return COAP_ERR_INVALID;

    uint8_t *p = buf;
    *p++ = (uint8_t)(1u << 6 | (unsigned)m->type << 4 | m->token_len);
    *p++ = m->code;
    *p++ = (uint8_t)(m->mid >> 8);
    *p++ = (uint8_t)m->mid;
    memcpy(p, m->token, m->token_len);
    p += m->token_len;
    p = coap_msg_write_body_(m, p);
    return (int)(p - buf);
}

int coap_msg_set_token(coap_msg_t *m, const uint8_t *tok, size_t len)
{
    if (len > COAP_TOKEN_MAX) return COAP_ERR_INVALID;
    if (len) memcpy(m->token, tok, len);
    m->token_len = (uint8_t)len;
    return COAP_OK;
}

int coap_msg_add_opt(coap_msg_t *m, uint16_t num, const void *val, size_t len)
{
    if (m->opt_count == COAP_MSG_MAX_OPTS) return COAP_ERR_TOO_MANY_OPTS;
    if (len > 0xFFFF) return COAP_ERR_OPT_VALUE;
    unsigned i = m->opt_count;
    while (i > 0 && m->opts[i - 1].num > num) i--;
    memmove(&m->opts[i + 1], &m->opts[i], (m->opt_count - i) * sizeof(coap_msg_opt_t));
    m->opt_count++;
    coap_msg_opt_t *o = &m->opts[i];
    o->num = num;
    o->len = (uint16_t)len;
    if (len <= COAP_OPT_INLINE) {
        o->is_inline = 1;
        if (len) memcpy(o->v.bytes, val, len);
    } else {
        o->is_inline = 0;
        o->v.ptr = val;
    }
    return COAP_OK;
}

size_t coap_uint_encode(uint32_t v, uint8_t out[4])
{
    size_t n = v > 0xFFFFFF ? 4 : v > 0xFFFF ? 3 : v > 0xFF ? 2 : v ? 1 : 0;
    for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    return n;
}

int coap_msg_add_uint(coap_msg_t *m, uint16_t num, uint32_t val)
{
    uint8_t b[4];
    return coap_msg_add_opt(m, num, b, coap_uint_encode(val, b));
}

int coap_msg_add_str(coap_msg_t *m, uint16_t num, const char *s)
{
    return coap_msg_add_opt(m, num, s, strlen(s));
}

int coap_msg_del_opt(coap_msg_t *m, uint16_t num)
{
    unsigned w = 0, removed = 0;
    for (unsigned r = 0; r < m->opt_count; r++) {
        if (m->opts[r].num == num) {
            removed++;
            continue;
        }
        if (w != r) m->opts[w] = m->opts[r];
        w++;
    }
    m->opt_count = (uint16_t)w;
    return (int)removed;
}

const coap_msg_opt_t *coap_msg_find_opt(const coap_msg_t *m, uint16_t num)
{
    for (unsigned i = 0; i < m->opt_count; i++) {
        if (m->opts[i].num == num) return &m->opts[i];
        if (m->opts[i].num > num) break;
    }
    return NULL;
}

const coap_msg_opt_t *coap_msg_next_opt(const coap_msg_t *m, const coap_msg_opt_t *prev)
{
    const coap_msg_opt_t *end = m->opts + m->opt_count;
    const coap_msg_opt_t *next = prev + 1;
    return (next < end && next->num == prev->num) ? next : NULL;
}

int coap_msg_count_opt(const coap_msg_t *m, uint16_t num)
{
    int n = 0;
    for (const coap_msg_opt_t *o = coap_msg_find_opt(m, num); o; o = coap_msg_next_opt(m, o)) n++;
    return n;
}

int coap_opt_uint(const coap_msg_opt_t *o, uint32_t *out)
{
    if (!o || o->len > 4) return -1;
    const uint8_t *v = coap_msg_opt_value(o);
    uint32_t x = 0;
    for (unsigned i = 0; i < o->len; i++) x = x << 8 | v[i];
    *out = x;
    return 0;
}

int coap_msg_get_uint(const coap_msg_t *m, uint16_t num, uint32_t *out)
{
    return coap_opt_uint(coap_msg_find_opt(m, num), out);
}

uint32_t coap_msg_max_age(const coap_msg_t *m)
{
    uint32_t v = COAP_MAX_AGE_DEFAULT;
    coap_msg_get_uint(m, COAP_OPT_MAX_AGE, &v);
    return v;
}

const char *coap_strerror(int err)
{
    switch ((coap_err_t)err) {
    case COAP_OK:
        return "success";
    case COAP_ERR_TRUNCATED:
        return "message truncated (header or token)";
    case COAP_ERR_VERSION:
        return "unknown CoAP version";
    case COAP_ERR_TOKEN_LEN:
        return "token length 9-15 is reserved";
    case COAP_ERR_OPT_DELTA_15:
        return "option delta nibble 15 is reserved";
    case COAP_ERR_OPT_LEN_15:
        return "option length nibble 15 is reserved";
    case COAP_ERR_OPT_TRUNCATED:
        return "option runs past the end of the message";
    case COAP_ERR_OPT_NUMBER:
        return "option number above 65535";
    case COAP_ERR_EMPTY_PAYLOAD:
        return "payload marker followed by no payload";
    case COAP_ERR_TOO_MANY_OPTS:
        return "too many options";
    case COAP_ERR_EMPTY_NOT_EMPTY:
        return "empty message (0.00) with token, options or payload";
    case COAP_ERR_NOSPACE:
        return "buffer too small";
    case COAP_ERR_OPT_ORDER:
        return "options out of order";
    case COAP_ERR_OPT_VALUE:
        return "option value too long";
    case COAP_ERR_INVALID:
        return "invalid argument";
    case COAP_ERR_URI:
        return "malformed URI";
    case COAP_ERR_URI_SCHEME:
        return "URI scheme is not coap or coaps";
    case COAP_ERR_URI_FRAGMENT:
        return "URI has a fragment";
    case COAP_ERR_NOMEM:
        return "out of memory";
    case COAP_ERR_TIMEOUT:
        return "timed out";
    case COAP_ERR_RESET:
        return "reset by peer";
    case COAP_ERR_CANCELLED:
        return "cancelled";
    case COAP_ERR_UNREACHABLE:
        return "peer unreachable";
    case COAP_ERR_TOO_LARGE:
        return "body too large";
    case COAP_ERR_BLOCK:
        return "block-wise transfer failed";
    case COAP_ERR_DTLS_FAILED:
        return "DTLS handshake failed";
    case COAP_ERR_DTLS_PSK:
        return "DTLS handshake failed: the pre-shared key does not match";
    case COAP_ERR_DTLS_IDENTITY:
        return "DTLS handshake failed: unknown PSK identity";
    case COAP_ERR_DTLS_UNTRUSTED:
        return "DTLS handshake failed: certificate not trusted";
    case COAP_ERR_DTLS_EXPIRED:
        return "DTLS handshake failed: certificate expired or not yet valid";
    case COAP_ERR_DTLS_NAME:
        return "DTLS handshake failed: certificate name mismatch";
    case COAP_ERR_DTLS_KEY:
        return "DTLS handshake failed: raw public key does not match the pinned fingerprint";
    case COAP_ERR_DTLS_REJECTED:
        return "DTLS handshake failed: the peer rejected our credentials";
    case COAP_ERR_DTLS_NO_CREDENTIALS:
        return "no DTLS credentials for this peer";
    case COAP_ERR_BUSY:
        return "too many requests in flight";
    case COAP_ERR_PEER_BUSY:
        return "too many requests queued for this peer";
    case COAP_ERR_CONN_CLOSED:
        return "connection closed";
    case COAP_ERR_ABORTED:
        return "connection aborted (protocol error)";
    case COAP_ERR_AGAIN:
        return "would block";
    }
    if (COAP_ERR_IS_SYS(err)) return strerror(COAP_ERR_ERRNO(err));
    return "unknown error";
}
