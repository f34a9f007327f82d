/*
 * block.c - Block option encoding (RFC 7959 §2.2):
 *   0 1 2 3 4 5 6 7
 *  +-+-+-+-+-+-+-+-+
 *  |  NUM  |M| SZX |   (NUM continues to the left in 2- and 3-byte forms)
 *  +-+-+-+-+-+-+-+-+
 */
#include "coap_block.h"

int coap_block_get(const coap_msg_t *m, uint16_t opt, coap_block_info_t *b)
{
    return coap_block_get_bert(m, opt, b, 0);
}

int coap_block_get_bert(const coap_msg_t *m, uint16_t opt, coap_block_info_t *b, int bert)
{
    uint32_t v;
    const coap_msg_opt_t *o = coap_msg_find_opt(m, opt);
    if (!o) return 0;
    if (o->len > 3 || coap_opt_uint(o, &v)) return COAP_ERR_BLOCK;
    b->num = v >> 4;
    b->more = (v >> 3) & 1;
    b->szx = v & 7;
    /* reserved (RFC 7959 §2.2); BERT only where both sides announced it
     * (RFC 8323 §6: it "MUST NOT be used unless the peer has indicated
     * support") */
    if (b->szx == COAP_BLOCK_BERT && !bert) return COAP_ERR_BLOCK;
    return 1;
}

uint32_t coap_block_value(const coap_block_info_t *b)
{
    return b->num << 4 | (uint32_t)(b->more ? 8 : 0) | b->szx;
}

int coap_block_add(coap_msg_t *m, uint16_t opt, uint32_t num, int more, unsigned szx)
{
    if (num > 0xFFFFF || szx > COAP_BLOCK_BERT) return COAP_ERR_INVALID;
    coap_block_info_t b = {num, (uint8_t)(more != 0), (uint8_t)szx};
    return coap_msg_add_uint(m, opt, coap_block_value(&b));
}
