/*
 * addr.c - numeric UDP addresses: parse, print, compare, hash.
 */
#include "coap_addr.h"
#include "coap_msg.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int coap_addr_from_host(coap_addr_t *a, const char *host, uint16_t port)
{
    memset(a, 0, sizeof *a);
    if (inet_pton(AF_INET, host, &a->u.v4.sin_addr) == 1) {
        a->u.v4.sin_family = AF_INET;
        a->u.v4.sin_port = htons(port);
        a->len = sizeof a->u.v4;
        return 0;
    }
    char tmp[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    if (strlen(host) >= sizeof tmp) return COAP_ERR_INVALID;
    strcpy(tmp, host);
    char *zone = strchr(tmp, '%');
    if (zone) *zone++ = '\0';
    if (inet_pton(AF_INET6, tmp, &a->u.v6.sin6_addr) != 1) return COAP_ERR_INVALID;
    if (zone) {
        unsigned idx = if_nametoindex(zone);
        if (!idx) idx = (unsigned)strtoul(zone, NULL, 10);
        if (!idx) return COAP_ERR_INVALID;
        a->u.v6.sin6_scope_id = idx;
    }
    a->u.v6.sin6_family = AF_INET6;
    a->u.v6.sin6_port = htons(port);
    a->len = sizeof a->u.v6;
    return 0;
}

int coap_addr_parse(coap_addr_t *a, const char *s, uint16_t default_port)
{
    char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    const char *port = NULL;
    size_t hl;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close) return COAP_ERR_INVALID;
        hl = (size_t)(close - s - 1);
        s++;
        if (close[1] == ':')
            port = close + 2;
        else if (close[1])
            return COAP_ERR_INVALID;
    } else {
        const char *colon = strrchr(s, ':');
        /* one colon: host:port; several: a bare IPv6 address */
        if (colon && strchr(s, ':') == colon) {
            hl = (size_t)(colon - s);
            port = colon + 1;
        } else {
            hl = strlen(s);
        }
    }
    if (hl == 0 || hl >= sizeof host) return COAP_ERR_INVALID;
    memcpy(host, s, hl);
    host[hl] = '\0';
    unsigned long p = default_port;
    if (port) {
        char *end;
        p = strtoul(port, &end, 10);
        if (!*port || *end || p > 65535) return COAP_ERR_INVALID;
    }
    return coap_addr_from_host(a, host, (uint16_t)p);
}

int coap_addr_resolve(coap_addr_t *a, const char *host, uint16_t port)
{
    if (coap_addr_from_host(a, host, port) == 0) return 0;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) return COAP_ERR_UNREACHABLE;
    memset(a, 0, sizeof *a);
    if (res->ai_addrlen > sizeof a->u) { /* not IPv4 or IPv6 */
        freeaddrinfo(res);
        return COAP_ERR_UNREACHABLE;
    }
    memcpy(&a->u, res->ai_addr, res->ai_addrlen);
    a->len = res->ai_addrlen;
    if (a->u.sa.sa_family == AF_INET)
        a->u.v4.sin_port = htons(port);
    else
        a->u.v6.sin6_port = htons(port);
    freeaddrinfo(res);
    return 0;
}

const char *coap_addr_host(const coap_addr_t *a, char *buf, size_t cap)
{
    if (a->u.sa.sa_family == AF_INET) {
        inet_ntop(AF_INET, &a->u.v4.sin_addr, buf, (socklen_t)cap);
    } else if (a->u.sa.sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &a->u.v6.sin6_addr, buf, (socklen_t)cap);
        char ifname[IF_NAMESIZE];
        if (a->u.v6.sin6_scope_id && if_indextoname(a->u.v6.sin6_scope_id, ifname)) {
            size_t n = strlen(buf);
            snprintf(buf + n, cap - n, "%%%s", ifname);
        }
    } else {
        snprintf(buf, cap, "?");
    }
    return buf;
}

uint16_t coap_addr_port(const coap_addr_t *a)
{
    return ntohs(a->u.sa.sa_family == AF_INET ? a->u.v4.sin_port : a->u.v6.sin6_port);
}

const char *coap_addr_str(const coap_addr_t *a, char *buf, size_t cap)
{
    char host[COAP_ADDR_STRLEN];
    coap_addr_host(a, host, sizeof host);
    if (a->u.sa.sa_family == AF_INET6)
        snprintf(buf, cap, "[%s]:%u", host, coap_addr_port(a));
    else
        snprintf(buf, cap, "%s:%u", host, coap_addr_port(a));
    return buf;
}

int coap_addr_equal(const coap_addr_t *a, const coap_addr_t *b)
{
    if (a->u.sa.sa_family != b->u.sa.sa_family) return 0;
    if (a->u.sa.sa_family == AF_INET)
        return a->u.v4.sin_port == b->u.v4.sin_port &&
               a->u.v4.sin_addr.s_addr == b->u.v4.sin_addr.s_addr;
    return a->u.v6.sin6_port == b->u.v6.sin6_port &&
           memcmp(&a->u.v6.sin6_addr, &b->u.v6.sin6_addr, 16) == 0 &&
           a->u.v6.sin6_scope_id == b->u.v6.sin6_scope_id;
}

int coap_addr_same_host(const coap_addr_t *a, const coap_addr_t *b)
{
    coap_addr_t x = *a, y = *b;
    coap_addr_unmap(&x);
    coap_addr_unmap(&y);
    if (x.u.sa.sa_family == AF_INET && y.u.sa.sa_family == AF_INET)
        x.u.v4.sin_port = y.u.v4.sin_port = 0;
    else if (x.u.sa.sa_family == AF_INET6 && y.u.sa.sa_family == AF_INET6)
        x.u.v6.sin6_port = y.u.v6.sin6_port = 0;
    return coap_addr_equal(&x, &y);
}

/* One subscriber, for a per-address bound: an IPv6 host picks the 64-bit
 * interface identifiers of its addresses (RFC 4291 §2.5.1, RFC 8981) and
 * so has 2^64 of them: they are compared by their /64. ::1 is only itself
 * (its /64, ::/64, is no one host's). */
int coap_addr_same_site(const coap_addr_t *a, const coap_addr_t *b)
{
    coap_addr_t x = *a, y = *b;
    coap_addr_unmap(&x);
    coap_addr_unmap(&y);
    if (x.u.sa.sa_family != AF_INET6 || y.u.sa.sa_family != AF_INET6 ||
        IN6_IS_ADDR_LOOPBACK(&x.u.v6.sin6_addr) || IN6_IS_ADDR_LOOPBACK(&y.u.v6.sin6_addr))
        return coap_addr_same_host(&x, &y);
    return memcmp(&x.u.v6.sin6_addr, &y.u.v6.sin6_addr, 8) == 0 &&
           x.u.v6.sin6_scope_id == y.u.v6.sin6_scope_id;
}

/* FNV-1a over the address and port bytes. */
uint64_t coap_addr_hash(const coap_addr_t *a)
{
    const uint8_t *p;
    size_t n;
    uint16_t port;
    if (a->u.sa.sa_family == AF_INET) {
        p = (const uint8_t *)&a->u.v4.sin_addr;
        n = 4;
        port = a->u.v4.sin_port;
    } else {
        p = (const uint8_t *)&a->u.v6.sin6_addr;
        n = 16;
        port = a->u.v6.sin6_port;
    }
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    h = (h ^ (port & 0xFF)) * 1099511628211ull;
    h = (h ^ (port >> 8)) * 1099511628211ull;
    return h;
}

void coap_addr_unmap(coap_addr_t *a)
{
    if (a->u.sa.sa_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&a->u.v6.sin6_addr)) return;
    struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = a->u.v6.sin6_port};
    memcpy(&v4.sin_addr, a->u.v6.sin6_addr.s6_addr + 12, 4);
    memset(&a->u, 0, sizeof a->u);
    a->u.v4 = v4;
    a->len = sizeof v4;
}

void coap_addr_map_v6(coap_addr_t *a)
{
    if (a->u.sa.sa_family != AF_INET) return;
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = a->u.v4.sin_port};
    v6.sin6_addr.s6_addr[10] = 0xFF;
    v6.sin6_addr.s6_addr[11] = 0xFF;
    memcpy(v6.sin6_addr.s6_addr + 12, &a->u.v4.sin_addr, 4);
    memset(&a->u, 0, sizeof a->u);
    a->u.v6 = v6;
    a->len = sizeof v6;
}

int coap_host_name_valid(const char *s, size_t len)
{
    if (len == 0 || len > 253) return 0; /* RFC 1035 §2.3.4 */
    size_t label = 0;
    int digits_only = 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (label == 0) return 0;
            label = 0;
            digits_only = 1;
            continue;
        }
        if (!isalnum(c) && c != '-' && c != '_') return 0;
        if (++label > 63) return 0;
        if (!isdigit(c)) digits_only = 0;
    }
    return label > 0 && !digits_only;
}

int coap_addr_is_multicast(const coap_addr_t *a)
{
    coap_addr_t u = *a;
    coap_addr_unmap(&u);
    if (u.u.sa.sa_family == AF_INET) return IN_MULTICAST(ntohl(u.u.v4.sin_addr.s_addr));
    return u.u.sa.sa_family == AF_INET6 && IN6_IS_ADDR_MULTICAST(&u.u.v6.sin6_addr);
}

int coap_addr_is_any(const coap_addr_t *a)
{
    coap_addr_t u = *a;
    coap_addr_unmap(&u);
    if (u.u.sa.sa_family == AF_INET) return u.u.v4.sin_addr.s_addr == htonl(INADDR_ANY);
    return u.u.sa.sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&u.u.v6.sin6_addr);
}
