/*
 * base_siphash.h - SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed
 * 64-bit pseudo-random function, short and fast on short inputs. Used
 * where a value must be unforgeable without the key (the CoAP server's
 * Echo option, RFC 9175 §2.4) or where a table's slots must not be
 * chosen by whoever picks the keys.
 */
#ifndef BASE_SIPHASH_H
#define BASE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-2-4 of data[0..len) under the 16-byte key; the reference
 * implementation's output read as a little-endian 64-bit integer. */
uint64_t base_siphash24(const uint8_t key[16], const void *data, size_t len);

#endif
