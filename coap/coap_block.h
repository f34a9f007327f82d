/*
 * coap_block.h - Block1/Block2 option values (RFC 7959 §2.2).
 */
#ifndef COAP_BLOCK_H
#define COAP_BLOCK_H

#include "coap_msg.h"

typedef struct {
    uint32_t num; /* block number, 20 bits */
    uint8_t more; /* M bit */
    uint8_t szx;  /* size exponent: size = 2^(szx + 4), 0..6 */
} coap_block_info_t;

static inline size_t coap_block_size(unsigned szx)
{
    return (size_t)1 << (szx + 4);
}
static inline size_t coap_block_offset(const coap_block_info_t *b)
{
    return (size_t)b->num * coap_block_size(b->szx);
}

/* Reads a Block1/Block2 option. Returns 1 when present and valid, 0 when
 * absent, COAP_ERR_BLOCK when malformed (SZX 7 is reserved, §2.2). */
int coap_block_get(const coap_msg_t *m, uint16_t opt, coap_block_info_t *b);
uint32_t coap_block_value(const coap_block_info_t *b);
/* Adds the option to m. */
int coap_block_add(coap_msg_t *m, uint16_t opt, uint32_t num, int more, unsigned szx);

#endif
