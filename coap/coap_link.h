/*
 * coap_link.h - a parser for the CoRE Link Format (RFC 6690 §2), what a
 * CoAP server's /.well-known/core returns:
 *
 *   </sensors/temp>;rt="temperature-c";if="sensor";ct=0;obs,</fw>;sz=65536
 *
 * It allocates nothing: an iterator walks the link-values and hands out
 * pointer+length views into the caller's text, and a second one walks the
 * link-params of a link. coap_link_next() checks a whole link-value before
 * returning it, so walking its params afterwards cannot fail.
 *
 * Accepted beyond the strict grammar, as devices send it: blanks (space,
 * tab, CR, LF) around ',', ';' and '=' and at both ends. Refused: anything
 * else off the grammar (an empty link-value as in ",," or a trailing ',',
 * an empty param name, "name=" without a value, an unterminated quote,
 * control characters), each with its own error code and the byte offset.
 */
#ifndef COAP_LINK_H
#define COAP_LINK_H

#include <stddef.h>

enum {
    COAP_LINK_ERR_LT = -101,        /* a link-value does not start with '<' */
    COAP_LINK_ERR_URI = -102,       /* no '>' closes the URI-Reference, or a bad byte in it */
    COAP_LINK_ERR_NAME = -103,      /* empty or malformed param name (RFC 5987 parmname) */
    COAP_LINK_ERR_VALUE = -104,     /* '=' without a ptoken or quoted-string after it */
    COAP_LINK_ERR_QUOTE = -105,     /* a quoted-string without its closing '"' */
    COAP_LINK_ERR_SEPARATOR = -106, /* something other than ';' or ',' after a param */
    COAP_LINK_ERR_EMPTY = -107,     /* an empty link-value (",," or a trailing ',') */
};

/* One link-value. uri points between '<' and '>' (not decoded); params is
 * the text from the first ';' (or empty) up to the ',' or the end. */
typedef struct {
    const char *uri;
    size_t uri_len;
    const char *params;
    size_t params_len;
} coap_link_t;

/* One link-param. value is NULL for a param without '=' ("obs"); for a
 * quoted-string it points between the quotes with the backslash escapes
 * still in (coap_link_unescape() removes them). */
typedef struct {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
    int quoted;
} coap_link_param_t;

typedef struct {
    const char *text;
    size_t len, pos;
    int err;        /* the error once one was met; then coap_link_next keeps returning it */
    size_t err_pos; /* byte offset of the error */
} coap_link_iter_t;

void coap_link_iter_init(coap_link_iter_t *it, const char *text, size_t len);

/* The next link-value: 1 with *link set, 0 at the end, or a negative
 * COAP_LINK_ERR_* (it->err_pos says where). */
int coap_link_next(coap_link_iter_t *it, coap_link_t *link);

/* The next param of a link from coap_link_next(); *pos starts at 0.
 * Returns 1 with *p set, or 0 when there is none left. */
int coap_link_param_next(const coap_link_t *link, size_t *pos, coap_link_param_t *p);

/* The first param of the link with this name (ASCII case-insensitive, as
 * RFC 8288 §3 wants): 1 with *p set, or 0. */
int coap_link_param_find(const coap_link_t *link, const char *name, coap_link_param_t *p);

/* Copies a value with its quoted-pairs ("\x" -> "x") resolved, always
 * NUL-terminated when cap > 0. Returns the full unescaped length (more
 * than cap - 1 means it was cut, as with snprintf). */
size_t coap_link_unescape(const char *value, size_t len, char *out, size_t cap);

/* Checks a whole document: the number of link-values, or a negative
 * COAP_LINK_ERR_* with its offset in *err_pos (may be NULL). */
int coap_link_validate(const char *text, size_t len, size_t *err_pos);

/* A short English description of a COAP_LINK_ERR_* code. */
const char *coap_link_strerror(int err);

#endif
