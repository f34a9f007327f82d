/*
 * buf.c - the growable byte buffer (base_buf.h).
 */
#include "base_buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_CAP 64

int base_buf_reserve(base_buf_t *b, size_t more)
{
    if (more > SIZE_MAX - b->len) return -1;
    size_t need = b->len + more;
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : FIRST_CAP;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *d = realloc(b->data, cap);
    if (!d) return -1;
    b->data = d;
    b->cap = cap;
    return 0;
}

int base_buf_append(base_buf_t *b, const void *p, size_t n)
{
    if (!n) return 0;
    if (base_buf_reserve(b, n)) return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int base_buf_printf(base_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || base_buf_reserve(b, (size_t)n + 1)) return -1;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

size_t base_buf_take(base_buf_t *b, size_t *off, void *out, size_t max)
{
    size_t left = b->len - *off, n = left < max ? left : max;
    if (n) memcpy(out, b->data + *off, n);
    *off += n;
    if (*off == b->len) b->len = *off = 0;
    return n;
}

void base_buf_reset(base_buf_t *b)
{
    b->len = 0;
}

void base_buf_free(base_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

size_t base_fmt_u32(char *p, uint32_t v)
{
    char d[10];
    size_t n = 0, k = 0;
    do d[n++] = (char)('0' + v % 10);
    while ((v /= 10));
    while (n) p[k++] = d[--n];
    return k;
}
