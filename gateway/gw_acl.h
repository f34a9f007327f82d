/*
 * gw_acl.h - allowlists of CoAP targets and HTTP origins: CIDR ranges,
 * single addresses and host names. The gateway is never an open proxy.
 */
#ifndef GW_ACL_H
#define GW_ACL_H

#include "coap_addr.h"

typedef struct gw_acl gw_acl_t;

gw_acl_t *gw_acl_new(void);
void gw_acl_free(gw_acl_t *acl);

/* Adds an entry: "10.0.0.0/8", "fd00::/8", "192.168.1.7", "::1", or a host
 * name ("sensor.local", case-insensitive; "*.example.com" for every name
 * under example.com). Returns 0, or -1 for a malformed pattern. */
int gw_acl_add(gw_acl_t *acl, const char *pattern);

/* The safe LAN default: loopback (127.0.0.0/8, ::1), link-local
 * (169.254.0.0/16, fe80::/10), private (10/8, 172.16/12, 192.168/16,
 * fc00::/7). Note 169.254.169.254 (cloud metadata) is link-local and so in
 * this default for targets; the origin check of the reverse proxy refuses it
 * separately. */
void gw_acl_add_defaults(gw_acl_t *acl);

/* An address is allowed when a CIDR or address entry covers it. IPv4-mapped
 * IPv6 addresses are checked as IPv4. */
int gw_acl_allows_addr(const gw_acl_t *acl, const coap_addr_t *a);
/* A host name is allowed when a name entry matches it (exact or wildcard). */
int gw_acl_allows_name(const gw_acl_t *acl, const char *host);

size_t gw_acl_count(const gw_acl_t *acl);

#endif
