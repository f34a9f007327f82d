/*
 * coap_uri.h - coap:// and coaps:// URIs <-> request options
 * (RFC 7252 §6.4 decomposing, §6.5 composing).
 */
#ifndef COAP_URI_H
#define COAP_URI_H

#include "coap_msg.h"

#define COAP_URI_MAX_PARTS 32   /* path segments + query arguments */
#define COAP_URI_BUF       1100 /* decoded bytes; Proxy-Uri is at most 1034 */

typedef struct {
    const char *s;
    size_t len;
} coap_uri_part_t;

/* A decomposed URI. Path and query parts are percent-decoded and point into
 * buf, so the struct is self-contained (copying it moves the pointers along
 * badly: parse into the final place). */
typedef struct {
    uint8_t secure;          /* coaps, coaps+tcp */
    uint8_t tcp;             /* coap+tcp, coaps+tcp (RFC 8323 §8.1, §8.2) */
    uint8_t host_is_literal; /* IPv4 address or bracketed IPv6 literal */
    uint8_t port_explicit;   /* a non-empty port was written */
    uint16_t port;           /* the effective port (default when absent) */
    char host[256];          /* decoded; reg-names lower-cased; IPv6 without brackets */
    uint16_t path_count;
    uint16_t query_count;
    coap_uri_part_t path[COAP_URI_MAX_PARTS];
    coap_uri_part_t query[COAP_URI_MAX_PARTS];
    char buf[COAP_URI_BUF];
} coap_parsed_uri_t;

/* §6.4 steps 1-3 and the parts of steps 4-9: parses an absolute coap or
 * coaps URI, resolving "." and ".." segments (RFC 3986
 * §5.2.4). Returns COAP_OK, COAP_ERR_URI, COAP_ERR_URI_SCHEME or COAP_ERR_URI_FRAGMENT. */
int coap_uri_parse(coap_parsed_uri_t *u, const char *uri);
/* The same, and with COAP_URI_TCP in flags also coap+tcp and coaps+tcp
 * (RFC 8323 §8.1, §8.2: the same ports; u->tcp set). A caller that can
 * reach a device over TCP asks for them: elsewhere such a URI stays
 * COAP_ERR_URI_SCHEME, so it is never sent over UDP by mistake. */
#define COAP_URI_TCP 1
int coap_uri_parse_ex(coap_parsed_uri_t *u, const char *uri, int flags);

enum {
    COAP_URI_OPT_HOST = 1, /* add Uri-Host for a reg-name host (§6.4 step 5) */
    COAP_URI_OPT_PORT = 2, /* add Uri-Port when the port is not the default */
};

/* Adds Uri-Host / Uri-Port (per flags), Uri-Path and Uri-Query options to m.
 * The option values point into u, which must outlive m. */
int coap_uri_to_options(const coap_parsed_uri_t *u, coap_msg_t *m, int flags);

/* The scheme coap_uri_compose writes: coap, coaps, coap+tcp or coaps+tcp
 * (RFC 7252 §6.1, §6.2; RFC 8323 §8.1, §8.2). */
enum { COAP_SCHEME_SECURE = 1, COAP_SCHEME_TCP = 2 };
static inline int coap_uri_scheme(const coap_parsed_uri_t *u)
{
    return (u->secure ? COAP_SCHEME_SECURE : 0) | (u->tcp ? COAP_SCHEME_TCP : 0);
}

/* §6.5: composes the request URI of m under scheme (COAP_SCHEME_* bits;
 * 0 is coap://). dest_host is the destination's IP literal (IPv6 without
 * brackets), used when m has no Uri-Host; dest_port is used when m has no
 * Uri-Port. Returns the length written (NUL-terminated), or
 * COAP_ERR_NOSPACE. */
int coap_uri_compose(const coap_msg_t *m, int scheme, const char *dest_host, uint16_t dest_port,
                     char *out, size_t cap);

/* Percent-decodes src[0..len) into dst (cap bytes). Returns the decoded
 * length or -1 on a bad escape or a too small dst. */
int coap_pct_decode(const char *src, size_t len, char *dst, size_t cap);

#endif
