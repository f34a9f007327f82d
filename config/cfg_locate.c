/*
 * cfg_locate.c - where a key is in the configuration text.
 *
 * jansson reports positions for syntax errors only: its json_t values keep
 * no source position. For the semantic errors (an unknown key, a wrong
 * type, a bad address) this small scanner walks the text again, which
 * jansson has already accepted as valid JSON (RFC 8259), following the key
 * path to the member, and reports its line and column the way jansson
 * counts them: from 1, columns in characters (UTF-8 sequences count once).
 */
#include "cfg_int.h"

#include <stdint.h>
#include <string.h>

#define MAX_DEPTH 2048 /* jansson's own nesting limit */

typedef struct {
    const char *s, *end;
} scan_t;

static void skip_ws(scan_t *sc)
{
    while (sc->s < sc->end && (*sc->s == ' ' || *sc->s == '\t' || *sc->s == '\r' || *sc->s == '\n'))
        sc->s++;
}

static int hex4(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return -1;
        v = v * 16 + (uint32_t)d;
    }
    *out = v;
    return 0;
}

/* RFC 3629 §3: a code point as 1-4 bytes of UTF-8. */
static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    size_t n = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    static const unsigned char lead[5] = {0, 0, 0xC0, 0xE0, 0xF0};
    for (size_t i = n - 1; i > 0; i--, cp >>= 6) o[i] = (char)(0x80 | (cp & 0x3F));
    o[0] = (char)(lead[n] | cp);
    return n;
}

/* A string at sc->s ('"'), decoded into out (cap bytes; *len is SIZE_MAX
 * when it did not fit). */
static int read_string(scan_t *sc, char *out, size_t cap, size_t *len)
{
    size_t n = 0;
    sc->s++;
    while (sc->s < sc->end && *sc->s != '"') {
        char buf[8];
        size_t k = 1;
        buf[0] = *sc->s++;
        if (buf[0] == '\\' && sc->s < sc->end) {
            char e = *sc->s++;
            const char *simple = strchr("\"\\/bfnrt", e);
            uint32_t cp, lo;
            if (simple && e) {
                buf[0] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
            } else if (e == 'u' && sc->end - sc->s >= 4 && !hex4(sc->s, &cp)) {
                sc->s += 4;
                /* a surrogate pair (RFC 8259 §7) */
                if (cp >= 0xD800 && cp < 0xDC00 && sc->end - sc->s >= 6 && sc->s[0] == '\\' &&
                    sc->s[1] == 'u' && !hex4(sc->s + 2, &lo) && lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    sc->s += 6;
                }
                k = put_utf8(buf, cp);
            } else {
                return -1;
            }
        }
        if (n != SIZE_MAX && n + k < cap) {
            memcpy(out + n, buf, k);
            n += k;
        } else {
            n = SIZE_MAX;
        }
    }
    if (sc->s >= sc->end) return -1;
    sc->s++;
    if (n != SIZE_MAX) out[n] = '\0';
    *len = n;
    return 0;
}

static int skip_value(scan_t *sc, int depth);

static int skip_container(scan_t *sc, int depth)
{
    char close = *sc->s == '{' ? '}' : ']';
    int object = close == '}';
    sc->s++;
    skip_ws(sc);
    if (sc->s < sc->end && *sc->s == close) return sc->s++, 0;
    while (sc->s < sc->end) {
        if (object) {
            char key[8];
            size_t kl;
            if (*sc->s != '"' || read_string(sc, key, sizeof key, &kl)) return -1;
            skip_ws(sc);
            if (sc->s >= sc->end || *sc->s++ != ':') return -1;
        }
        if (skip_value(sc, depth + 1)) return -1;
        skip_ws(sc);
        if (sc->s >= sc->end) return -1;
        char c = *sc->s++;
        if (c == close) return 0;
        if (c != ',') return -1;
        skip_ws(sc);
    }
    return -1;
}

static int skip_value(scan_t *sc, int depth)
{
    skip_ws(sc);
    if (sc->s >= sc->end || depth > MAX_DEPTH) return -1;
    if (*sc->s == '"') {
        char tmp[1];
        size_t l;
        return read_string(sc, tmp, sizeof tmp, &l);
    }
    if (*sc->s == '{' || *sc->s == '[') return skip_container(sc, depth);
    /* a number, true, false or null: up to the next delimiter */
    while (sc->s < sc->end && !strchr(",]} \t\r\n", *sc->s)) sc->s++;
    return 0;
}

/* Finds the member `key` of the object at sc->s: *at is its key, sc->s
 * its value. Returns 0, or -1. */
static int find_member(scan_t *sc, const char *key, const char **at)
{
    if (sc->s >= sc->end || *sc->s != '{') return -1;
    sc->s++;
    skip_ws(sc);
    while (sc->s < sc->end && *sc->s == '"') {
        char name[1024];
        size_t nl;
        *at = sc->s;
        if (read_string(sc, name, sizeof name, &nl)) return -1;
        skip_ws(sc);
        if (sc->s >= sc->end || *sc->s++ != ':') return -1;
        skip_ws(sc);
        /* jansson refused duplicate keys, so the first match is the one */
        if (nl != SIZE_MAX && nl == strlen(key) && !memcmp(name, key, nl)) return 0;
        if (skip_value(sc, 1)) return -1;
        skip_ws(sc);
        if (sc->s < sc->end && *sc->s == ',') sc->s++;
        skip_ws(sc);
    }
    return -1;
}

static int find_element(scan_t *sc, size_t index, const char **at)
{
    if (sc->s >= sc->end || *sc->s != '[') return -1;
    sc->s++;
    for (size_t i = 0;; i++) {
        skip_ws(sc);
        if (sc->s >= sc->end || *sc->s == ']') return -1;
        *at = sc->s;
        if (i == index) return 0;
        if (skip_value(sc, 1)) return -1;
        skip_ws(sc);
        if (sc->s >= sc->end || *sc->s++ != ',') return -1;
    }
}

int cfg_locate(const char *text, size_t len, const cfg_path_t *p, int *line, int *col)
{
    scan_t sc = {text, text + len};
    skip_ws(&sc);
    const char *at = sc.s;
    /* each step leaves sc.s at the member's value (or the element) */
    for (int i = 0; i < p->n; i++)
        if (p->key[i] ? find_member(&sc, p->key[i], &at) : find_element(&sc, p->index[i], &at))
            return -1;
    *line = 1;
    *col = 1;
    for (const char *c = text; c < at; c++) {
        if (*c == '\n') {
            ++*line;
            *col = 1;
        } else if (((unsigned char)*c & 0xC0) != 0x80) {
            ++*col;
        }
    }
    return 0;
}
