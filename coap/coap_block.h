/*
 * coap_block.h - Block1/Block2 option values (RFC 7959 §2.2).
 */
#ifndef COAP_BLOCK_H
#define COAP_BLOCK_H

#include "coap_msg.h"

typedef struct {
    uint32_t num; /* block number, 20 bits */
    uint8_t more; /* M bit */
    uint8_t szx;  /* size exponent: size = 2^(szx + 4), 0..6; 7: BERT */
} coap_block_info_t;

/* RFC 8323 §6: SZX 7 on a reliable transport is BERT, blocks of one or
 * more 1024-byte units (only the last block may end with a shorter one),
 * the block number counting 1024-byte units. RFC 7959 §2.2 reserves it
 * everywhere else. */
#define COAP_BLOCK_BERT 7
#define COAP_BERT_UNIT  1024u

/* The size the block number counts in: 2^(szx + 4), 1024 for BERT. */
static inline size_t coap_block_size(unsigned szx)
{
    return szx >= COAP_BLOCK_BERT ? COAP_BERT_UNIT : (size_t)1 << (szx + 4);
}
static inline size_t coap_block_offset(const coap_block_info_t *b)
{
    return (size_t)b->num * coap_block_size(b->szx);
}

/* Reads a Block1/Block2 option. Returns 1 when present and valid, 0 when
 * absent, COAP_ERR_BLOCK when malformed (SZX 7 is reserved, §2.2). */
int coap_block_get(const coap_msg_t *m, uint16_t opt, coap_block_info_t *b);
/* The same, SZX 7 (BERT) accepted when bert is set: the message came over
 * a connection where both sides announced Block-Wise-Transfer (RFC 8323
 * §5.3.2, §6). */
int coap_block_get_bert(const coap_msg_t *m, uint16_t opt, coap_block_info_t *b, int bert);
uint32_t coap_block_value(const coap_block_info_t *b);
/* Adds the option to m (szx 7: BERT, for a reliable transport only). */
int coap_block_add(coap_msg_t *m, uint16_t opt, uint32_t num, int more, unsigned szx);

#endif
