/*
 * coap_cf.h - Content-Format registry (RFC 7252 §12.3, IANA "CoAP
 * Content-Formats"), the number <-> media type table the gateway maps with.
 */
#ifndef COAP_CF_H
#define COAP_CF_H

#include <stddef.h>

enum {
    COAP_CF_TEXT_PLAIN = 0,
    COAP_CF_LINK_FORMAT = 40,
    COAP_CF_XML = 41,
    COAP_CF_OCTET_STREAM = 42,
    COAP_CF_EXI = 47,
    COAP_CF_JSON = 50,
    COAP_CF_JSON_PATCH = 51,
    COAP_CF_MERGE_PATCH = 52,
    COAP_CF_CBOR = 60,
    COAP_CF_SENML_JSON = 110, /* RFC 8428 §12.3 */
    COAP_CF_SENML_CBOR = 112,
};

typedef struct {
    unsigned format;
    const char *media_type; /* as registered, with parameters, lower case */
    unsigned char textual;  /* payload is UTF-8 text */
    unsigned char json;     /* payload is a JSON text */
} coap_cf_def_t;

/* Registry entry for a Content-Format number, or NULL. */
const coap_cf_def_t *coap_cf_by_number(unsigned format);

/* Exact lookup of a media type (case-insensitive, blanks around ';'
 * ignored; "text/plain" without charset counts as UTF-8). Returns the
 * number, or -1. */
int coap_cf_by_media_type(const char *type);

/* Parses a tool argument: a number ("50") or a media type. -1 if neither. */
int coap_cf_parse(const char *s);

/* Iteration over the registry: entry i, NULL past the end. */
const coap_cf_def_t *coap_cf_at(size_t i);

#endif
