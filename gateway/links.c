/*
 * links.c - link-format (RFC 6690) -> the discovery API's JSON resource
 * objects. See gw_links.h.
 */
#include "gw_links.h"
#include "coap_cf.h"
#include "coap_link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A JSON string of raw bytes; what is not UTF-8 becomes '?' rather than
 * losing the whole document for one Latin-1 title. */
static json_t *text(const char *s, size_t len)
{
    json_t *v = json_stringn(s, len);
    if (v) return v;
    char *copy = malloc(len + 1);
    if (!copy) return NULL;
    for (size_t i = 0; i < len; i++) copy[i] = (unsigned char)s[i] >= 0x80 ? '?' : s[i];
    v = json_stringn(copy, len);
    free(copy);
    return v;
}

/* RFC 7252 §7.2.1: a Content-Format number, with its media type when the
 * registry knows it. A word that is no number stays a string. */
static json_t *content_format(const char *w, size_t len)
{
    unsigned long n = 0;
    size_t i = 0;
    while (i < len && i < 6 && w[i] >= '0' && w[i] <= '9')
        n = n * 10 + (unsigned long)(w[i++] - '0');
    if (i == 0 || i < len || n > 65535)
        return json_pack("{s:o, s:n}", "format", text(w, len), "type");
    const coap_cf_def_t *def = coap_cf_by_number((unsigned)n);
    return def ? json_pack("{s:i, s:s}", "format", (json_int_t)n, "type", def->media_type)
               : json_pack("{s:i, s:n}", "format", (json_int_t)n, "type");
}

/* RFC 6690 §2: sz is a cardinal; a number when it reads as one. */
static json_t *size_value(const char *v, size_t len)
{
    json_int_t n = 0;
    size_t i = 0;
    while (i < len && i < 15 && v[i] >= '0' && v[i] <= '9') n = n * 10 + (v[i++] - '0');
    return i && i == len ? json_integer(n) : text(v, len);
}

static int is_list_param(const char *key)
{
    /* RFC 6690 §3.1 rt, §3.2 if; RFC 8288 §3.3 rel and rev */
    return !strcmp(key, "rt") || !strcmp(key, "if") || !strcmp(key, "rel") || !strcmp(key, "rev");
}

/* Appends each blank-separated word of v to the array res[key]. */
static int add_words(json_t *res, const char *key, const char *v, size_t len)
{
    json_t *arr = json_object_get(res, key);
    if (!json_is_array(arr)) {
        arr = json_array();
        if (json_object_set_new(res, key, arr)) return -1;
    }
    int ct = !strcmp(key, "ct");
    for (size_t i = 0; i < len;) {
        while (i < len && (v[i] == ' ' || v[i] == '\t')) i++;
        size_t start = i;
        while (i < len && v[i] != ' ' && v[i] != '\t') i++;
        if (i == start) break;
        json_t *w = ct ? content_format(v + start, i - start) : text(v + start, i - start);
        if (json_array_append_new(arr, w)) return -1;
    }
    return 0;
}

/* Any other param: one value, or an array of them once repeated. */
static int add_other(json_t *res, const char *key, json_t *value)
{
    json_t *have = json_object_get(res, key);
    if (!value) return -1;
    if (!have) return json_object_set_new(res, key, value);
    if (json_is_array(have)) return json_array_append_new(have, value);
    json_t *arr = json_pack("[O, o]", have, value);
    return arr ? json_object_set_new(res, key, arr) : -1;
}

static int add_param(json_t *res, const coap_link_param_t *p)
{
    char key[64];
    /* A param name longer than this is nothing a client could know; an
     * attribute named href would hide the link's target: both skipped. */
    if (p->name_len >= sizeof key) return 0;
    for (size_t i = 0; i < p->name_len; i++) {
        char c = p->name[i];
        key[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
    }
    key[p->name_len] = '\0';
    if (!strcmp(key, "href")) return 0;
    if (!strcmp(key, "obs")) return json_object_set_new(res, key, json_true()); /* RFC 7641 §6 */
    if (!p->value) return add_other(res, key, json_true());
    char small[256], *v = small;
    size_t len = coap_link_unescape(p->value, p->value_len, small, sizeof small);
    if (len >= sizeof small) {
        if (!(v = malloc(len + 1))) return -1;
        coap_link_unescape(p->value, p->value_len, v, len + 1);
    }
    int rc;
    if (is_list_param(key) || !strcmp(key, "ct"))
        rc = add_words(res, key, v, len);
    else if (!strcmp(key, "sz"))
        rc = add_other(res, key, size_value(v, len));
    else
        rc = add_other(res, key, text(v, len));
    if (v != small) free(v);
    return rc;
}

static json_t *resource(const coap_link_t *l)
{
    json_t *res = json_object();
    if (!res || json_object_set_new(res, "href", text(l->uri, l->uri_len))) goto fail;
    coap_link_param_t p;
    size_t pos = 0;
    while (coap_link_param_next(l, &pos, &p))
        if (add_param(res, &p)) goto fail;
    return res;
fail:
    json_decref(res);
    return NULL;
}

json_t *gw_links_to_json(const char *doc, size_t len, char *err, size_t errlen)
{
    coap_link_iter_t it;
    coap_link_t l;
    int rc;
    json_t *all = json_array();
    if (!all) return snprintf(err, errlen, "out of memory"), NULL;
    coap_link_iter_init(&it, doc, len);
    while ((rc = coap_link_next(&it, &l)) == 1) {
        json_t *res = resource(&l);
        if (!res || json_array_append_new(all, res)) {
            json_decref(all);
            return snprintf(err, errlen, "out of memory"), NULL;
        }
    }
    if (rc < 0) {
        json_decref(all);
        snprintf(err, errlen, "malformed link-format at byte %zu: %s", it.err_pos,
                 coap_link_strerror(rc));
        return NULL;
    }
    return all;
}
