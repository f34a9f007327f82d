/*
 * link.c - the CoRE Link Format parser (RFC 6690 §2). See coap_link.h.
 *
 *   link-value-list = [ link-value *[ "," link-value ]]
 *   link-value      = "<" URI-Reference ">" *( ";" link-param )
 *   link-param      = parmname [ "=" ( ptoken / quoted-string ) ]
 *
 * (the named params of §2 are all special cases of the last line.)
 */
#include "coap_link.h"

#include <string.h>

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t skip_blanks(const char *s, size_t len, size_t pos)
{
    while (pos < len && is_blank(s[pos])) pos++;
    return pos;
}

static int is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* RFC 5987 §3.2.1 attr-char, the letters of a parmname. */
static int is_name_char(unsigned char c)
{
    return is_alnum(c) || (c && strchr("!#$&+-.^_`|~", c));
}

/* RFC 6690 §2 ptokenchar: visible ASCII except DQUOTE, ',', ';' and '\'. */
static int is_ptoken_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '"' && c != ',' && c != ';' && c != '\\';
}

/* Inside a quoted-string: no control characters but blanks (RFC 2616
 * qdtext is TEXT, which has none). Bytes >= 0x80 pass (UTF-8 titles). */
static int is_quoted_char(unsigned char c)
{
    return (c >= 0x20 && c != 0x7f) || c == '\t' || c == '\r' || c == '\n';
}

/* A URI-Reference between '<' and '>': no blanks, controls or quotes. */
static int is_uri_char(unsigned char c)
{
    return c > 0x20 && c != 0x7f && c != '<' && c != '"';
}

/* A quoted-string starting at s[pos] == '"'. Sets *end past the closing
 * quote; returns 0 or an error with *end at the offending byte. */
static int scan_quoted(const char *s, size_t len, size_t pos, size_t *end)
{
    size_t i = pos + 1;
    for (;;) {
        if (i >= len) return *end = pos, COAP_LINK_ERR_QUOTE;
        unsigned char c = (unsigned char)s[i];
        if (c == '"') break;
        if (c == '\\') { /* quoted-pair */
            if (i + 1 >= len) return *end = pos, COAP_LINK_ERR_QUOTE;
            c = (unsigned char)s[++i];
        }
        if (!is_quoted_char(c)) return *end = i, COAP_LINK_ERR_VALUE;
        i++;
    }
    *end = i + 1;
    return 0;
}

/* One link-param, *pos just after its ';'. Returns 1 with *p set and *pos
 * past it, or an error with *pos at the offending byte. */
static int parse_param(const char *s, size_t len, size_t *pos, coap_link_param_t *p)
{
    size_t i = skip_blanks(s, len, *pos), start = i;
    while (i < len && is_name_char((unsigned char)s[i])) i++;
    if (i < len && s[i] == '*' && i > start) i++; /* RFC 5987 ext-name-star: "title*" */
    if (i == start) return *pos = i, COAP_LINK_ERR_NAME;
    *p = (coap_link_param_t){.name = s + start, .name_len = i - start};
    size_t after_name = i;
    i = skip_blanks(s, len, i);
    if (i >= len || s[i] != '=') {
        *pos = after_name;
        return 1;
    }
    i = skip_blanks(s, len, i + 1);
    if (i < len && s[i] == '"') {
        size_t end;
        int rc = scan_quoted(s, len, i, &end);
        if (rc) return *pos = end, rc;
        p->value = s + i + 1;
        p->value_len = end - i - 2;
        p->quoted = 1;
        *pos = end;
        return 1;
    }
    start = i;
    while (i < len && is_ptoken_char((unsigned char)s[i])) i++;
    if (i == start) return *pos = i, COAP_LINK_ERR_VALUE;
    p->value = s + start;
    p->value_len = i - start;
    *pos = i;
    return 1;
}

void coap_link_iter_init(coap_link_iter_t *it, const char *text, size_t len)
{
    *it = (coap_link_iter_t){.text = text, .len = text ? len : 0};
}

static int fail(coap_link_iter_t *it, int err, size_t pos)
{
    it->err = err;
    it->err_pos = pos;
    return err;
}

/* The params of a link-value: ';' param ... up to ',' or the end. Returns
 * 0 with *pos at that ',' (or the end), or an error. */
static int scan_params(coap_link_iter_t *it, size_t *pos)
{
    const char *s = it->text;
    size_t i = *pos;
    for (;;) {
        i = skip_blanks(s, it->len, i);
        if (i >= it->len || s[i] == ',') break;
        if (s[i] != ';') return fail(it, COAP_LINK_ERR_SEPARATOR, i);
        i++;
        coap_link_param_t p;
        int rc = parse_param(s, it->len, &i, &p);
        if (rc < 0) return fail(it, rc, i);
    }
    *pos = i;
    return 0;
}

int coap_link_next(coap_link_iter_t *it, coap_link_t *link)
{
    if (it->err) return it->err;
    const char *s = it->text;
    size_t i = skip_blanks(s, it->len, it->pos);
    if (i >= it->len) return it->pos = i, 0;
    if (s[i] == ',') return fail(it, COAP_LINK_ERR_EMPTY, i);
    if (s[i] != '<') return fail(it, COAP_LINK_ERR_LT, i);
    size_t uri = i + 1, end = uri;
    while (end < it->len && s[end] != '>' && is_uri_char((unsigned char)s[end])) end++;
    if (end >= it->len || s[end] != '>') return fail(it, COAP_LINK_ERR_URI, end);
    size_t params = end + 1, stop = params;
    if (scan_params(it, &stop)) return it->err;
    if (stop < it->len) { /* a ',': another link-value must follow */
        size_t next = skip_blanks(s, it->len, stop + 1);
        if (next >= it->len) return fail(it, COAP_LINK_ERR_EMPTY, stop);
        it->pos = stop + 1;
    } else {
        it->pos = stop;
    }
    *link = (coap_link_t){
        .uri = s + uri, .uri_len = end - uri, .params = s + params, .params_len = stop - params};
    return 1;
}

int coap_link_param_next(const coap_link_t *link, size_t *pos, coap_link_param_t *p)
{
    size_t i = skip_blanks(link->params, link->params_len, *pos);
    if (i >= link->params_len || link->params[i] != ';') return *pos = i, 0;
    i++;
    int rc = parse_param(link->params, link->params_len, &i, p);
    *pos = i;
    return rc == 1;
}

static int same_name(const coap_link_param_t *p, const char *name)
{
    size_t n = strlen(name);
    if (p->name_len != n) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char a = (unsigned char)p->name[i], b = (unsigned char)name[i];
        if (a >= 'A' && a <= 'Z') a = (unsigned char)(a + 32);
        if (b >= 'A' && b <= 'Z') b = (unsigned char)(b + 32);
        if (a != b) return 0;
    }
    return 1;
}

int coap_link_param_find(const coap_link_t *link, const char *name, coap_link_param_t *p)
{
    size_t pos = 0;
    while (coap_link_param_next(link, &pos, p))
        if (same_name(p, name)) return 1;
    return 0;
}

size_t coap_link_unescape(const char *value, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (value[i] == '\\' && i + 1 < len) i++;
        if (n + 1 < cap) out[n] = value[i];
        n++;
    }
    if (cap) out[n < cap ? n : cap - 1] = '\0';
    return n;
}

int coap_link_validate(const char *text, size_t len, size_t *err_pos)
{
    coap_link_iter_t it;
    coap_link_t link;
    int n = 0, rc;
    coap_link_iter_init(&it, text, len);
    while ((rc = coap_link_next(&it, &link)) == 1) n++;
    if (rc < 0 && err_pos) *err_pos = it.err_pos;
    return rc < 0 ? rc : n;
}

const char *coap_link_strerror(int err)
{
    switch (err) {
    case 0:
        return "no error";
    case COAP_LINK_ERR_LT:
        return "a link must start with '<'";
    case COAP_LINK_ERR_URI:
        return "unterminated or malformed <URI-Reference>";
    case COAP_LINK_ERR_NAME:
        return "empty or malformed parameter name";
    case COAP_LINK_ERR_VALUE:
        return "missing or malformed parameter value";
    case COAP_LINK_ERR_QUOTE:
        return "unterminated quoted string";
    case COAP_LINK_ERR_SEPARATOR:
        return "expected ';' or ',' after a parameter";
    case COAP_LINK_ERR_EMPTY:
        return "empty link (extra ',')";
    default:
        return "unknown link-format error";
    }
}
