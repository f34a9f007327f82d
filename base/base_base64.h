/*
 * base_base64.h - base64 (RFC 4648 §4) and base64url (§5) encoding.
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

#endif
