/*
 * coap_addr.h - UDP peer addresses (IPv4 and IPv6).
 */
#ifndef COAP_ADDR_H
#define COAP_ADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An IPv4 or IPv6 address and port: 32 bytes, not a sockaddr_storage's
 * 136, since one sits in every peer, exchange and session (10,000 DTLS
 * sessions: 1 MB less). */
typedef struct {
    socklen_t len;
    union {
        struct sockaddr sa;
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } u;
} coap_addr_t;

#define COAP_ADDR_STRLEN 64 /* "[ffff:...:ffff%ifname]:65535" fits */

/* Parses "1.2.3.4:5683", "[::1]:5683", "::1" or "1.2.3.4" (the port then
 * defaults to default_port). Numeric only: never touches DNS. Returns 0 or
 * COAP_ERR_INVALID. */
int coap_addr_parse(coap_addr_t *a, const char *s, uint16_t default_port);

/* Builds an address from a numeric host (IPv6 without brackets, optionally
 * with a %zone) and a port. Returns 0 or COAP_ERR_INVALID. */
int coap_addr_from_host(coap_addr_t *a, const char *host, uint16_t port);

/* Resolves a host name with getaddrinfo(). This BLOCKS on DNS: call it at
 * start-up or in tools, never from the event loop. Returns 0 or
 * COAP_ERR_UNREACHABLE. */
int coap_addr_resolve(coap_addr_t *a, const char *host, uint16_t port);

/* "127.0.0.1:5683" or "[::1]:5683" into buf; returns buf. */
const char *coap_addr_str(const coap_addr_t *a, char *buf, size_t cap);
/* The host part only ("::1", "127.0.0.1"). */
const char *coap_addr_host(const coap_addr_t *a, char *buf, size_t cap);
uint16_t coap_addr_port(const coap_addr_t *a);
/* IPv4-mapped IPv6 (::ffff:a.b.c.d) <-> IPv4, for dual-stack sockets. */
void coap_addr_unmap(coap_addr_t *a);
void coap_addr_map_v6(coap_addr_t *a);
int coap_addr_equal(const coap_addr_t *a, const coap_addr_t *b);
/* Whether a is the wildcard (0.0.0.0, ::, ::ffff:0.0.0.0), whatever its port. */
int coap_addr_is_any(const coap_addr_t *a);
/* Whether a is a multicast group (224.0.0.0/4, ff00::/8, or the
 * IPv4-mapped form of the former). */
int coap_addr_is_multicast(const coap_addr_t *a);
/* The same host: the same address whatever the ports, an IPv4-mapped IPv6
 * address the same as its IPv4 one. */
int coap_addr_same_host(const coap_addr_t *a, const coap_addr_t *b);
/* The same subscriber, for per-address bounds: as coap_addr_same_host for
 * IPv4 (mapped or not) and ::1, the same /64 prefix for other IPv6. */
int coap_addr_same_site(const coap_addr_t *a, const coap_addr_t *b);
/* A DNS host name (s, len bytes, no trailing dot): labels of
 * [A-Za-z0-9_-], 1-63 bytes each, at most 253 in all, the last label not
 * all digits (RFC 3696 §2, so "10.0.0.256" is not a name). 1 or 0. */
int coap_host_name_valid(const char *s, size_t len);
uint64_t coap_addr_hash(const coap_addr_t *a);

#endif
