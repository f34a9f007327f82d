/*
 * base_buf.h - a growable byte buffer: what bodies, reassembled blocks and
 * queued output are collected in. The capacity doubles as it grows, so n
 * appends cost O(n) copies in all. Callers enforce their own size limits
 * (base_buf_reserve fails only when memory does).
 */
#ifndef BASE_BUF_H
#define BASE_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *data; /* NULL while empty and never grown */
    size_t len, cap;
} base_buf_t;

/* Room for `more` bytes after len. Returns 0, or -1 (out of memory or an
 * overflowing size) with the buffer unchanged. */
int base_buf_reserve(base_buf_t *b, size_t more);
/* Appends n bytes (p may be NULL when n is 0). Returns 0 or -1. */
int base_buf_append(base_buf_t *b, const void *p, size_t n);
/* Appends formatted text (no NUL counted in len; one is kept after it).
 * Returns 0 or -1. */
int base_buf_printf(base_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reads it as a queue: copies up to max bytes from *off on into out and
 * advances *off; once all is read, empties it (and *off is 0). Returns
 * the count, 0 when there was nothing to read. */
size_t base_buf_take(base_buf_t *b, size_t *off, void *out, size_t max);
/* v in decimal at p, as "%u" writes it (at most 10 bytes, no NUL), without
 * snprintf's format parsing: for keys and URIs built on every request.
 * Returns the length. */
size_t base_fmt_u32(char *p, uint32_t v);
/* Empties it, keeping the memory for reuse. */
void base_buf_reset(base_buf_t *b);
/* Frees the memory; the buffer is empty and reusable afterwards. */
void base_buf_free(base_buf_t *b);

#endif
