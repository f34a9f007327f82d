/*
 * record.c - what can be known of a datagram before decrypting it: its
 * DTLS record framing (RFC 6347 §4.1), whether it opens a session (a
 * ClientHello at epoch 0, §4.2.2), and, for outgoing CoAP datagrams, the
 * message type and ID (RFC 7252 §3).
 */
#include "dtls_internal.h"

/* §4.1:
 *   struct {
 *        ContentType type;          1 byte: 20..23
 *        ProtocolVersion version;   2 bytes: {254, 255} DTLS 1.0, {254, 253} 1.2
 *        uint16 epoch;
 *        uint48 sequence_number;
 *        uint16 length;
 *        opaque fragment[DTLSPlaintext.length];
 *   } DTLSPlaintext;
 * One datagram may carry several records (§4.1.1); none may run past its
 * end. */
enum { CT_CHANGE_CIPHER_SPEC = 20, CT_ALERT = 21, CT_HANDSHAKE = 22, CT_APPLICATION_DATA = 23 };

int dtls_record_check_(const uint8_t *buf, size_t len)
{
    size_t off = 0;
    if (!len) return DTLS_REC_TRUNCATED;
    while (off < len) {
        const uint8_t *r = buf + off;
        if (len - off >= 1 && (r[0] < CT_CHANGE_CIPHER_SPEC || r[0] > CT_APPLICATION_DATA))
            return DTLS_REC_NOT_DTLS;
        if (len - off >= 2 && r[1] != 254) return DTLS_REC_NOT_DTLS;
        if (len - off < DTLS_REC_HEADER) return DTLS_REC_TRUNCATED;
        size_t body = (size_t)r[11] << 8 | r[12];
        if (body > len - off - DTLS_REC_HEADER) return DTLS_REC_TRUNCATED;
        off += DTLS_REC_HEADER + body;
    }
    return DTLS_REC_OK;
}

/* §4.2.2: the handshake header that follows the record header:
 *   HandshakeType msg_type (1: client_hello); uint24 length;
 *   uint16 message_seq; uint24 fragment_offset; uint24 fragment_length */
int dtls_is_client_hello_(const uint8_t *buf, size_t len)
{
    if (len < DTLS_REC_HEADER + 12 || dtls_record_check_(buf, len) != DTLS_REC_OK) return 0;
    int epoch0 = buf[3] == 0 && buf[4] == 0;
    return buf[0] == CT_HANDSHAKE && epoch0 && buf[DTLS_REC_HEADER] == 1;
}

/* §4.1: one record, an Alert (RFC 5246 §7.2: level, description; 0 is
 * close_notify) at epoch 0, in plaintext. */
int dtls_is_plain_close_notify_(const uint8_t *buf, size_t len)
{
    return len == DTLS_REC_HEADER + 2 && dtls_record_check_(buf, len) == DTLS_REC_OK &&
           buf[0] == CT_ALERT && buf[3] == 0 && buf[4] == 0 && buf[DTLS_REC_HEADER + 1] == 0;
}

/* RFC 7252 §3: Ver (2 bits) = 1, T (2 bits), TKL (4 bits), Code, Message ID. */
int dtls_coap_con_mid_(const uint8_t *buf, size_t len, uint16_t *mid)
{
    if (len < 4 || buf[0] >> 6 != 1 || (buf[0] >> 4 & 3) != 0) return 0;
    *mid = (uint16_t)(buf[2] << 8 | buf[3]);
    return 1;
}
