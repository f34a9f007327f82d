/*
 * gw_rdlookup.h - the Resource Directory's lookup (RFC 9176 §6) without
 * I/O: query filters (§6.1), paging (§6.2) and links resolved against each
 * endpoint's base (§6.3), over a snapshot of the registrations. rd_lookup.c;
 * served over CoAP and HTTP by rd_lookup_serve.c. Internal to gateway/.
 */
#ifndef GW_RDLOOKUP_H
#define GW_RDLOOKUP_H

#include "base_buf.h"

#include <stddef.h>
#include <stdint.h>

/* One registration as the lookup sees it. */
typedef struct {
    const char *name; /* ep */
    const char *id;   /* the registration resource is /rd/ID */
    const char *base; /* coap://HOST:PORT[/path], no trailing slash */
    uint32_t lt;
    const char *links; /* link format, may be NULL when links_len is 0 */
    size_t links_len;
} rd_lookup_ep_t;

typedef enum { RD_LOOKUP_EP, RD_LOOKUP_RES } rd_lookup_kind_t;

#define RD_LOOKUP_FILTERS 16

/* One filter: name=value (a trailing '*' matches a prefix), or a bare
 * name (the attribute is present). */
typedef struct {
    char name[32];
    char value[256];
    int has_value;
} rd_filter_t;

typedef struct {
    rd_filter_t f[RD_LOOKUP_FILTERS];
    size_t n;
    long page;  /* 0 when absent */
    long count; /* -1: all */
} rd_query_t;

void rd_query_init(rd_query_t *q);
/* Adds one query argument (value NULL: a bare name); page and count are
 * read here. NULL, or what is wrong. */
const char *rd_query_add(rd_query_t *q, const char *name, size_t nlen, const char *value,
                         size_t vlen);
/* The same for a '&'-joined query string ("ep=a&rt=x"). */
const char *rd_query_parse(rd_query_t *q, const char *s);

/* One result: the endpoint, and for a resource lookup the link (uri
 * resolved against the endpoint's base; params as registered, the anchor
 * resolved or the base as anchor). */
typedef struct {
    const rd_lookup_ep_t *ep;
    const char *uri; /* resource lookup: the resolved target */
    const char *params;
    size_t params_len;
} rd_result_t;

/* Called for each result of the page, in order. */
typedef void (*rd_result_fn)(const rd_result_t *r, void *arg);

/* Runs the lookup over eps (in the order given); returns the number of
 * matches in all (every page). */
size_t rd_lookup_run(rd_lookup_kind_t kind, const rd_query_t *q, const rd_lookup_ep_t *eps,
                     size_t n, rd_result_fn fn, void *arg);
/* The lookup as link format (RFC 6690) appended to out: endpoint links
 * </rd/ID>;ep="NAME";base="URI";lt=N, resource links with absolute
 * targets. 0, or -1 on no memory. */
int rd_lookup_links(rd_lookup_kind_t kind, const rd_query_t *q, const rd_lookup_ep_t *eps, size_t n,
                    base_buf_t *out);

/* RFC 3986 §5.2 (without dot-segment removal): ref against base into
 * out. Returns the length (more than cap - 1: cut). */
size_t rd_resolve(const char *base, const char *ref, size_t rlen, char *out, size_t cap);

#endif
