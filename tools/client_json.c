/*
 * client_json.c - coapgw-client --json: the response as one JSON object
 * on a line of its own, for scripts; while observing, one per
 * notification (JSON Lines). The payload follows the rule of the
 * gateway's SSE events (docs/api.md): the JSON value itself for a JSON
 * content format, a string for text (or no content format) when it is
 * UTF-8, and base64 (RFC 4648 §4) in "payload_base64" for anything else.
 */
#include "client_json.h"

#include "base_base64.h"
#include "coap_cf.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *const format_names[] = {"empty", "opaque", "uint", "string"};

static void hex(const uint8_t *v, size_t n, char *buf, size_t cap)
{
    size_t i = 0;
    for (; i < n && 2 * i + 2 < cap; i++) snprintf(buf + 2 * i, 3, "%02x", v[i]);
    buf[2 * i] = '\0';
}

const char *client_opt_text(const coap_msg_opt_t *o, char *buf, size_t cap)
{
    const coap_opt_def_t *d = coap_opt_def(o->num);
    const uint8_t *v = coap_msg_opt_value(o);
    uint32_t u;
    if (d && d->format == COAP_FMT_UINT && !coap_opt_uint(o, &u))
        snprintf(buf, cap, "%u", u);
    else if (d && d->format == COAP_FMT_STRING)
        snprintf(buf, cap, "%.*s", (int)o->len, (const char *)v);
    else
        hex(v, o->len, buf, cap);
    return buf;
}

/* {"number", "name", "format", "value"}: value a number for uint options,
 * a string for string options (hex when it is not UTF-8), hex bytes for
 * opaque and unknown ones. */
static json_t *option_json(const coap_msg_opt_t *o)
{
    const coap_opt_def_t *d = coap_opt_def(o->num);
    coap_opt_format_t fmt = d ? d->format : COAP_FMT_OPAQUE;
    const uint8_t *v = coap_msg_opt_value(o);
    uint32_t u;
    json_t *value = NULL;
    if (fmt == COAP_FMT_UINT && !coap_opt_uint(o, &u))
        value = json_integer(u);
    else if (fmt == COAP_FMT_STRING)
        value = json_stringn((const char *)v, o->len); /* NULL unless UTF-8 */
    if (!value) {
        if (fmt != COAP_FMT_EMPTY) fmt = COAP_FMT_OPAQUE;
        char *buf = malloc(2 * (size_t)o->len + 1);
        if (!buf) return NULL;
        hex(v, o->len, buf, 2 * (size_t)o->len + 1);
        value = json_string(buf);
        free(buf);
    }
    return json_pack("{s:i, s:s?, s:s, s:o}", "number", (int)o->num, "name", d ? d->name : NULL,
                     "format", format_names[fmt], "value", value);
}

/* The payload under the key the SSE events use for its kind. */
static int add_payload(json_t *o, const coap_resp_t *r, const coap_cf_def_t *cf, int has_cf)
{
    const char *text = r->body ? (const char *)r->body : ""; /* an empty body may have none */
    json_t *v = cf && cf->json ? json_loadb(text, r->body_len, JSON_DECODE_ANY, NULL) : NULL;
    if (!v && (!has_cf || (cf && cf->textual))) v = json_stringn(text, r->body_len);
    if (v) return json_object_set_new(o, "payload", v);
    size_t cap = base_base64_size(r->body_len);
    char *b64 = malloc(cap);
    if (!b64) return -1;
    base_base64_encode(r->body, r->body_len, BASE64_STD, b64, cap);
    int rc = json_object_set_new(o, "payload_base64", json_string(b64));
    free(b64);
    return rc;
}

static json_t *response_json(const coap_resp_t *r)
{
    const coap_msg_t *m = r->msg;
    char code[8];
    snprintf(code, sizeof code, "%u.%02u", COAP_CODE_CLASS(m->code), COAP_CODE_DETAIL(m->code));
    json_t *o = json_pack("{s:s, s:s?}", "code", code, "code_name", coap_code_reason(m->code));
    json_t *opts = json_array();
    if (!o || !opts) return json_decref(o), json_decref(opts), NULL;
    json_object_set_new(o, "options", opts);
    for (unsigned i = 0; i < m->opt_count; i++)
        if (json_array_append_new(opts, option_json(&m->opts[i]))) return json_decref(o), NULL;
    if (r->observing) json_object_set_new(o, "observe", json_integer(r->seq));
    uint32_t cf = 0;
    int has_cf = coap_msg_get_uint(m, COAP_OPT_CONTENT_FORMAT, &cf) == 0;
    const coap_cf_def_t *def = has_cf ? coap_cf_by_number(cf) : NULL;
    if (has_cf) json_object_set_new(o, "content_format", json_integer(cf));
    if (def) json_object_set_new(o, "content_type", json_string(def->media_type));
    if (add_payload(o, r, def, has_cf)) return json_decref(o), NULL;
    return o;
}

int client_json_print(FILE *f, const coap_resp_t *r)
{
    json_t *o = response_json(r);
    /* 15 significant digits, as the gateway's events: 41.1 stays 41.1 */
    int rc = o ? json_dumpf(o, f, JSON_COMPACT | JSON_REAL_PRECISION(15)) : -1;
    json_decref(o);
    if (rc == 0 && fputc('\n', f) == EOF) rc = -1;
    return rc;
}
