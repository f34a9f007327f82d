/*
 * base64.c - base64 and base64url encoding (RFC 4648 §4, §5), base64url
 * decoding.
 */
#include "base_base64.h"

size_t base_base64_size(size_t n)
{
    return 4 * ((n + 2) / 3) + 1;
}

size_t base_base64_encode(const uint8_t *in, size_t n, int variant, char *out, size_t cap)
{
    static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *abc = variant == BASE64_URL ? url : std;
    if (cap < base_base64_size(n)) {
        if (cap) out[0] = '\0';
        return 0;
    }
    size_t j = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[j++] = abc[v >> 18 & 63];
        out[j++] = abc[v >> 12 & 63];
        if (i + 1 < n)
            out[j++] = abc[v >> 6 & 63];
        else if (variant != BASE64_URL)
            out[j++] = '=';
        if (i + 2 < n)
            out[j++] = abc[v & 63];
        else if (variant != BASE64_URL)
            out[j++] = '=';
    }
    out[j] = '\0';
    return j;
}

static int url_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '-' ? 62 : c == '_' ? 63 : -1;
}

long base_base64url_decode(const char *in, size_t n, uint8_t *out)
{
    if (n % 4 == 1) return -1;
    size_t j = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = url_value(in[i]);
        if (v < 0) return -1;
        acc = (acc << 6 | (uint32_t)v) & 0xFFFFFF;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[j++] = (uint8_t)(acc >> bits);
        }
    }
    if (acc & ((1u << bits) - 1)) return -1; /* RFC 4648 §3.5: canonical */
    return (long)j;
}
