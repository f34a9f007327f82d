/*
 * base_base64.h - base64 (RFC 4648 §4) and base64url (§5) encoding, and
 * base64url decoding.
 */
#ifndef BASE_BASE64_H
#define BASE_BASE64_H

#include <stddef.h>
#include <stdint.h>

enum { BASE64_STD = 0, BASE64_URL = 1 }; /* URL: '-' '_' and no '=' padding */

/* Bytes base_base64_encode writes for n input bytes, NUL included. */
size_t base_base64_size(size_t n);
/* Encodes n bytes into out (cap bytes), NUL-terminated. Returns the
 * length written (without the NUL), or 0 when cap is too small and n > 0. */
size_t base_base64_encode(const uint8_t *in, size_t n, int variant, char *out, size_t cap);

/* Decodes base64url without padding (RFC 4648 §5; RFC 8949 §6.1 and RFC
 * 8428 §6 use this form) of n characters into out, which holds at least
 * n * 3 / 4 bytes. Strict: any character outside the alphabet, '=', a
 * length of 1 mod 4 or non-zero unused trailing bits (§3.5) fail, so each
 * byte string has one encoding. Returns the bytes written, or -1. */
long base_base64url_decode(const char *in, size_t n, uint8_t *out);

#endif
