/*
 * gw_acl.h - allowlists of CoAP targets and HTTP origins: CIDR ranges,
 * single addresses (optionally with one port) and host names. The gateway
 * is never an open proxy.
 *
 * Some addresses and ports are guarded: a check refuses them, whatever
 * range covers them, unless an entry names them exactly (see the
 * GW_ACL_GUARD_* flags). Ranges are for networks of devices; the cloud
 * metadata service or a DNS server on port 53 is never reached by accident
 * of a broad range.
 */
#ifndef GW_ACL_H
#define GW_ACL_H

#include "coap_addr.h"

typedef struct gw_acl gw_acl_t;

gw_acl_t *gw_acl_new(void);
void gw_acl_free(gw_acl_t *acl);

/* Adds an entry: "10.0.0.0/8", "fd00::/8", "192.168.1.7", "::1", one port
 * of one address ("127.0.0.1:53", "[fd00::1]:53"), or a host name
 * ("sensor.local", case-insensitive; "*.example.com" for every name under
 * example.com). Returns 0, or -1 for a malformed pattern (a range with a
 * port, a name with a port, port 0). */
int gw_acl_add(gw_acl_t *acl, const char *pattern);
/* Adds one address, with its port when with_port (ADDR:PORT), else any
 * port. A configured device adds its address and port this way. */
int gw_acl_add_addr(gw_acl_t *acl, const coap_addr_t *a, int with_port);

/* The safe LAN default for targets: loopback (127.0.0.0/8, ::1),
 * link-local (169.254.0.0/16, fe80::/10), private (10/8, 172.16/12,
 * 192.168/16, fc00::/7). The target check guards the metadata addresses
 * and low ports within them (GW_ACL_TARGET_GUARDS). */
void gw_acl_add_defaults(gw_acl_t *acl);

/* Membership only: an address is in the list when an entry without a port
 * (a CIDR range or an address) covers it. IPv4-mapped IPv6 addresses are
 * checked as IPv4. No guard applies: this is for source addresses. */
int gw_acl_allows_addr(const gw_acl_t *acl, const coap_addr_t *a);
/* A host name is allowed when a name entry matches it (exact or wildcard). */
int gw_acl_allows_name(const gw_acl_t *acl, const char *host);

/* Guards: what a check refuses unless an entry names it exactly. */
enum {
    /* Ports below 1024 (RFC 7252 §11.5: cross-protocol attacks on DNS,
     * NTP, ...): only an ADDR:PORT entry with that port. */
    GW_ACL_GUARD_LOW_PORTS = 1u << 0,
    /* Cloud metadata (169.254.169.254, fd00:ec2::254): only a
     * single-address entry (with or without a port). */
    GW_ACL_GUARD_METADATA = 1u << 1,
    /* Loopback, unspecified (0.0.0.0/8, ::), link-local and metadata:
     * only an ADDR:PORT entry naming that address and port. */
    GW_ACL_GUARD_LOCAL = 1u << 2,
};
#define GW_ACL_TARGET_GUARDS (GW_ACL_GUARD_LOW_PORTS | GW_ACL_GUARD_METADATA)

typedef enum {
    GW_ACL_ALLOWED = 0,
    GW_ACL_UNLISTED, /* no entry covers the address and port */
    GW_ACL_LOW_PORT, /* covered, but the port is below 1024 and not named */
    GW_ACL_METADATA, /* covered by a range only */
    GW_ACL_LOCAL,    /* covered by a range or a bare address only */
} gw_acl_verdict_t;

/* Whether the address and port a may be reached under guards: allowed
 * when one entry covers it (its port, if it has one, is a's port) and
 * satisfies every guard a trips. */
gw_acl_verdict_t gw_acl_check(const gw_acl_t *acl, unsigned guards, const coap_addr_t *a);

/* The check every CoAP target goes through (HTTP->CoAP, SSE, the CoAP
 * forward proxy, Resource Directory bases): gw_acl_check with
 * GW_ACL_TARGET_GUARDS. When refused, why gets the reason for a 403 /
 * 4.03, naming host (as the request spelled it; NULL: a's address) and
 * the setting that would allow it. */
gw_acl_verdict_t gw_acl_check_target(const gw_acl_t *acl, const coap_addr_t *a, const char *host,
                                     char *why, size_t cap);

/* The guards among `guards` that address a (and its port) trips. */
unsigned gw_acl_guarded(const coap_addr_t *a, unsigned guards);

/* For lists that take ranges only: 1 when pattern is an address or a CIDR
 * range lying wholly within space the guards protect (a range there would
 * open nothing), 0 for an address or range reaching beyond it, -1 for
 * anything else (a name, a port, a malformed pattern). */
int gw_acl_range_guarded(const char *pattern, unsigned guards);

size_t gw_acl_count(const gw_acl_t *acl);

#endif
