/*
 * cfg_check.c - validators for configuration values: listen addresses,
 * allowlist patterns, origins, device names and URIs, tokens, enums.
 *
 * The allowlist rules mirror gateway/acl.c (which parses the entries for
 * real): the same text is refused here, before anything starts, with the
 * position of the bad entry in the file.
 */
#include "cfg_int.h"
#include "coap_addr.h"
#include "coap_msg.h"
#include "coap_uri.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PATTERN_MAX     255 /* a host name is at most 253 bytes; CIDRs are shorter */
#define DEVICE_NAME_MAX 63
#define TOKEN_MIN       16
#define TOKEN_MAX       512

static int why_fail(char *why, size_t cap, const char *msg)
{
    snprintf(why, cap, "%s", msg);
    return -1;
}

int cfg_parse_log_level(const char *s)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; s && i < 4; i++)
        if (!strcmp(s, names[i])) return CFG_LOG_DEBUG + i;
    return -1;
}

int cfg_parse_log_format(const char *s)
{
    if (s && !strcmp(s, "text")) return CFG_LOG_TEXT;
    if (s && !strcmp(s, "json")) return CFG_LOG_JSON;
    return -1;
}

int cfg_parse_scope(const char *s)
{
    if (s && !strcmp(s, "read")) return 0;
    if (s && !strcmp(s, "read-write")) return 1;
    return -1;
}

/* "ADDR:PORT" or "[IPv6]:PORT", numeric. coap_addr_parse alone would also
 * take a bare address with a default port, but the HTTP server needs the
 * port spelled out. Port 0 (any free port) is allowed: the tests rely on
 * it. */
int cfg_check_listen(const char *s, char *why, size_t cap)
{
    char msg[200];
    snprintf(msg, sizeof msg,
             "bad listen address \"%.64s\" (expected numeric HOST:PORT or [IPv6]:PORT, e.g. "
             "0.0.0.0:8080 or [::1]:8080)",
             s);
    const char *colon;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') return why_fail(why, cap, msg);
        colon = close + 1;
    } else {
        colon = strchr(s, ':');
        if (!colon || strchr(colon + 1, ':')) return why_fail(why, cap, msg);
    }
    /* digits only: strtoul in coap_addr_parse would accept " 80" and "+80" */
    size_t digits = strspn(colon + 1, "0123456789");
    coap_addr_t a;
    if (digits == 0 || digits > 5 || colon[1 + digits] || coap_addr_parse(&a, s, 0))
        return why_fail(why, cap, msg);
    return 0;
}

int cfg_check_listen_or_off(const char *s, char *why, size_t cap)
{
    if (cfg_listen_off(s) || !cfg_check_listen(s, why, cap)) return 0;
    size_t n = strlen(why);
    if (n > 1 && why[n - 1] == ')') snprintf(why + n - 1, cap - (n - 1), ", or off)");
    return -1;
}

int cfg_listen_off(const char *listen)
{
    return listen && !strcmp(listen, "off");
}

int cfg_check_file(const char *s, char *why, size_t cap)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
            return why_fail(why, cap, "bad file name (a control character in it)");
    if (n > 4095) return why_fail(why, cap, "bad file name (longer than 4095 bytes)");
    return 0;
}

int cfg_listen_is_loopback(const char *listen)
{
    coap_addr_t a;
    if (!listen || coap_addr_parse(&a, listen, 0)) return 0;
    coap_addr_unmap(&a);
    if (a.u.sa.sa_family == AF_INET) return (ntohl(a.u.v4.sin_addr.s_addr) >> 24) == 127;
    return a.u.sa.sa_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&a.u.v6.sin6_addr);
}

/* "/N": 1-3 plain digits, N <= max. */
static int prefix_ok(const char *s, unsigned max)
{
    size_t digits = strspn(s, "0123456789");
    return digits > 0 && digits <= 3 && !s[digits] && (unsigned)atoi(s) <= max;
}

/* "1.2.3.4", "1.2.3.4/N", "::1", "fd00::/8" (inet_pton: strict forms). */
static int cidr_ok(const char *s)
{
    char buf[INET6_ADDRSTRLEN + 8];
    unsigned char addr[16];
    const char *slash = strchr(s, '/');
    size_t hl = slash ? (size_t)(slash - s) : strlen(s);
    if (hl == 0 || hl >= sizeof buf) return 0;
    memcpy(buf, s, hl);
    buf[hl] = '\0';
    if (inet_pton(AF_INET, buf, addr) == 1) return !slash || prefix_ok(slash + 1, 32);
    if (inet_pton(AF_INET6, buf, addr) == 1) return !slash || prefix_ok(slash + 1, 128);
    return 0;
}

/* One trailing dot allowed, as in DNS. */
static int host_name_ok(const char *s)
{
    size_t len = strlen(s);
    if (len && s[len - 1] == '.') len--;
    return coap_host_name_valid(s, len);
}

/* Anything with ':' or '/' or only digits and dots is meant as an address
 * (as in acl.c): if it does not parse as one, it is an error. */
static int looks_like_address(const char *s)
{
    return strpbrk(s, ":/") || strspn(s, "0123456789.") == strlen(s);
}

/* 1-5 plain digits, 1 to 65535. */
static int port_ok(const char *s)
{
    size_t digits = strspn(s, "0123456789");
    return digits > 0 && digits <= 5 && !s[digits] && atol(s) >= 1 && atol(s) <= 65535;
}

/* "1.2.3.4:53" or "[fd00::1]:53": one port of one address (IPv6 in
 * brackets, IPv4 never). */
static int addr_port_ok(const char *s)
{
    char host[INET6_ADDRSTRLEN];
    unsigned char a[16];
    const char *colon = *s == '[' ? strchr(s, ']') : strchr(s, ':');
    if (!colon || (*s == '[' && *++colon != ':')) return 0;
    const char *h = *s == '[' ? s + 1 : s;
    size_t hl = (size_t)(colon - h) - (*s == '[');
    if (hl == 0 || hl >= sizeof host) return 0;
    memcpy(host, h, hl);
    host[hl] = '\0';
    int v6 = inet_pton(AF_INET6, host, a) == 1;
    return (*s == '[' ? v6 : inet_pton(AF_INET, host, a) == 1) && port_ok(colon + 1);
}

/* As in acl.c: "[..." or exactly one ':' is ADDR:PORT (an IPv6 address
 * has at least two colons). */
static int looks_like_addr_port(const char *s)
{
    const char *colon = strchr(s, ':');
    return *s == '[' || (colon && !strchr(colon + 1, ':'));
}

int cfg_check_target(const char *s, char *why, size_t cap)
{
    if (!*s || strlen(s) > PATTERN_MAX)
        return why_fail(why, cap, "bad entry (expected an address, a CIDR range or a host name)");
    if (looks_like_addr_port(s)) {
        if (addr_port_ok(s)) return 0;
        snprintf(why, cap,
                 "bad ADDR:PORT \"%.*s\" (expected one address and a port from 1 to 65535, e.g. "
                 "127.0.0.1:53 or [fd00::1]:53; ranges and host names take no port)",
                 PATTERN_MAX, s);
        return -1;
    }
    if (looks_like_address(s)) {
        if (cidr_ok(s)) return 0;
        snprintf(why, cap,
                 "bad address or CIDR range \"%.*s\" (expected e.g. 10.0.0.0/8, 192.168.1.7, "
                 "fd00::/8; IPv4 prefix at most 32, IPv6 at most 128)",
                 PATTERN_MAX, s);
        return -1;
    }
    const char *base = !strncmp(s, "*.", 2) ? s + 2 : s;
    if (host_name_ok(base)) return 0;
    snprintf(why, cap,
             "bad host name \"%.*s\" (expected labels of A-Z a-z 0-9 - _, e.g. sensor.lan or "
             "*.sensors.lan)",
             PATTERN_MAX, s);
    return -1;
}

/* http(s)://HOST[:PORT][/]: HOST a name, an IPv4 address or [IPv6]. */
static int origin_url_ok(const char *s)
{
    const char *h = !strncasecmp(s, "http://", 7)    ? s + 7
                    : !strncasecmp(s, "https://", 8) ? s + 8
                                                     : NULL;
    if (!h) return 0;
    char host[300];
    const char *rest;
    if (*h == '[') {
        const char *close = strchr(h, ']');
        unsigned char a[16];
        if (!close || (size_t)(close - h - 1) >= sizeof host) return 0;
        memcpy(host, h + 1, (size_t)(close - h - 1));
        host[close - h - 1] = '\0';
        if (inet_pton(AF_INET6, host, a) != 1) return 0;
        rest = close + 1;
    } else {
        size_t hl = strcspn(h, ":/");
        unsigned char a[4];
        if (hl == 0 || hl >= sizeof host) return 0;
        memcpy(host, h, hl);
        host[hl] = '\0';
        if (inet_pton(AF_INET, host, a) != 1 && !host_name_ok(host)) return 0;
        rest = h + hl;
    }
    if (*rest == ':') {
        size_t digits = strspn(rest + 1, "0123456789");
        if (digits == 0 || digits > 5 || atol(rest + 1) > 65535 || atol(rest + 1) == 0) return 0;
        rest += 1 + digits;
    }
    return !*rest || !strcmp(rest, "/");
}

/* Whether the address or CIDR range s lies wholly within loopback,
 * "this host" (0.0.0.0/8, ::), link-local or cloud metadata: the space
 * gateway/acl.c guards for origins (GW_ACL_GUARD_LOCAL), where an address
 * or range entry opens nothing. Its blocks mirror acl.c's. */
static int cidr_in_local_space(const char *s)
{
    static const struct {
        int v6;
        unsigned prefix;
        unsigned char addr[16];
    } blocks[] = {
        {0, 8, {127}},
        {0, 8, {0}},
        {0, 16, {169, 254}},
        {1, 127, {0}}, /* :: and ::1 */
        {1, 10, {0xfe, 0x80}},
        {1, 128, {0xfd, 0, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54}},
        /* through a NAT64's well-known prefix (RFC 6052 §2.1) */
        {1, 104, {0, 0x64, 0xff, 0x9b, [12] = 127}},
        {1, 104, {0, 0x64, 0xff, 0x9b}},
        {1, 112, {0, 0x64, 0xff, 0x9b, [12] = 169, 254}},
    };
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    char buf[INET6_ADDRSTRLEN + 8];
    unsigned char a[16];
    const char *slash = strchr(s, '/');
    size_t hl = slash ? (size_t)(slash - s) : strlen(s);
    if (hl == 0 || hl >= sizeof buf) return 0;
    memcpy(buf, s, hl);
    buf[hl] = '\0';
    int v6 = inet_pton(AF_INET, buf, a) != 1;
    if (v6 && inet_pton(AF_INET6, buf, a) != 1) return 0;
    unsigned prefix = slash ? (unsigned)atoi(slash + 1) : v6 ? 128 : 32;
    if (v6 && prefix >= 96 && !memcmp(a, mapped, sizeof mapped)) { /* checked as IPv4 */
        memmove(a, a + 12, 4);
        v6 = 0;
        prefix -= 96;
    }
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
        unsigned p = blocks[i].prefix, full = p / 8, rest = p % 8;
        if (blocks[i].v6 != v6 || prefix < p || memcmp(a, blocks[i].addr, full)) continue;
        if (!rest || !((a[full] ^ blocks[i].addr[full]) & (0xFF00u >> rest))) return 1;
    }
    return 0;
}

int cfg_check_origin(const char *s, char *why, size_t cap)
{
    if (!strstr(s, "://") && looks_like_address(s) && cidr_ok(s) && cidr_in_local_space(s)) {
        snprintf(why, cap,
                 "origin range \"%.*s\" lies within loopback, unspecified, link-local or "
                 "cloud-metadata addresses, which an address or range never opens: name the "
                 "origin as http://HOST:PORT",
                 PATTERN_MAX, s);
        return -1;
    }
    if (strstr(s, "://") ? origin_url_ok(s) : (looks_like_address(s) && cidr_ok(s))) return 0;
    snprintf(why, cap,
             "bad origin \"%.*s\" (expected http(s)://HOST[:PORT], an address or a CIDR range, "
             "e.g. http://10.0.0.5:8080 or 10.0.0.0/24)",
             PATTERN_MAX, s);
    return -1;
}

int cfg_check_cidr(const char *s, char *why, size_t cap)
{
    if (*s && strlen(s) <= PATTERN_MAX && looks_like_address(s) && cidr_ok(s)) return 0;
    snprintf(why, cap,
             "bad address or CIDR range \"%.*s\" (expected e.g. 127.0.0.0/8, 192.168.1.7, "
             "fd00::/8; host names are not allowed here)",
             PATTERN_MAX, s);
    return -1;
}

/* dns.servers: "IP", "IP:PORT" or "[IPv6]:PORT", numeric (port 53 when
 * none), as ares_set_servers_ports_csv() takes them. */
int cfg_check_dns_server(const char *s, char *why, size_t cap)
{
    coap_addr_t a;
    if (*s && strlen(s) <= PATTERN_MAX && !strpbrk(s, ",%") && !coap_addr_parse(&a, s, 53) &&
        coap_addr_port(&a) != 0)
        return 0;
    snprintf(why, cap,
             "bad DNS server \"%.*s\" (expected IP, IP:PORT or [IPv6]:PORT, e.g. 10.0.0.53 or "
             "[fd00::53]:5353)",
             PATTERN_MAX, s);
    return -1;
}

int cfg_cidr_is_loopback(const char *s)
{
    char buf[INET6_ADDRSTRLEN + 8];
    unsigned char a[16];
    const char *slash = strchr(s, '/');
    size_t hl = slash ? (size_t)(slash - s) : strlen(s);
    if (hl == 0 || hl >= sizeof buf) return 0;
    memcpy(buf, s, hl);
    buf[hl] = '\0';
    unsigned prefix;
    if (inet_pton(AF_INET, buf, a) == 1) {
        prefix = slash ? (unsigned)atoi(slash + 1) : 32;
        return a[0] == 127 && prefix >= 8;
    }
    if (inet_pton(AF_INET6, buf, a) != 1) return 0;
    prefix = slash ? (unsigned)atoi(slash + 1) : 128;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (!memcmp(a, mapped, sizeof mapped)) return a[12] == 127 && prefix >= 104;
    return IN6_IS_ADDR_LOOPBACK((struct in6_addr *)(void *)a) && prefix == 128;
}

int cfg_check_host_pattern(const char *s, char *why, size_t cap)
{
    if (!strcmp(s, "*")) return 0;
    const char *base = !strncmp(s, "*.", 2) ? s + 2 : s;
    if (*s && strlen(s) <= PATTERN_MAX && !looks_like_address(s) && host_name_ok(base)) return 0;
    snprintf(why, cap,
             "bad host name \"%.*s\" (expected a name such as gateway.lan, *.example.com, or "
             "\"*\" for any; IP addresses are always accepted)",
             PATTERN_MAX, s);
    return -1;
}

int cfg_check_web_origin(const char *s, char *why, size_t cap)
{
    /* an origin has no path (RFC 6454 §6.2): browsers send none */
    size_t l = strlen(s);
    if (l && s[l - 1] != '/' && origin_url_ok(s)) return 0;
    snprintf(why, cap,
             "bad origin \"%.*s\" (expected http(s)://HOST[:PORT] as a browser sends it in "
             "Origin, e.g. https://dashboard.example:8443)",
             PATTERN_MAX, s);
    return -1;
}

int cfg_check_device_name(const char *s, char *why, size_t cap)
{
    size_t l = strlen(s);
    int ok = l > 0 && l <= DEVICE_NAME_MAX;
    for (const char *p = s; ok && *p; p++) ok = isalnum((unsigned char)*p) || strchr("_.-", *p);
    /* "." and ".." are path segments URLs resolve away (RFC 3986 §5.2.4):
     * /devices/../x would never reach the device */
    if (ok && strspn(s, ".") == l)
        return why_fail(why, cap,
                        "bad device name (not only dots: \".\" and \"..\" are "
                        "resolved away in URLs)");
    if (ok) return 0;
    return why_fail(why, cap, "bad device name (expected 1-63 characters of A-Z a-z 0-9 _ . -)");
}

int cfg_check_device_uri(const char *uri, char *why, size_t cap)
{
    /* ~2.4 KB: fine on the stack, and unlike a static it keeps this reentrant */
    coap_parsed_uri_t u;
    coap_addr_t a;
    /* coaps:// devices are reached over DTLS with their "credentials",
     * coap+tcp:// ones over TCP and coaps+tcp:// ones over TLS with them
     * (RFC 8323) */
    if (strncasecmp(uri, "coap://", 7) && strncasecmp(uri, "coaps://", 8) &&
        strncasecmp(uri, "coap+tcp://", 11) && strncasecmp(uri, "coaps+tcp://", 12)) {
        snprintf(why, cap,
                 "\"%.200s\" is not a coap://, coaps://, coap+tcp:// or coaps+tcp:// URI "
                 "(expected coap[s]://HOST[:PORT][/PATH] or coap[s]+tcp://HOST[:PORT][/PATH])",
                 uri);
        return -1;
    }
    int rc = coap_uri_parse_ex(&u, uri, COAP_URI_TCP);
    if (rc) {
        snprintf(why, cap, "\"%.200s\": %s (expected coap[s]://HOST[:PORT][/PATH])", uri,
                 coap_strerror(rc));
        return -1;
    }
    /* the URI parser checks the characters of an IP literal, not its form */
    if (u.host_is_literal && coap_addr_from_host(&a, u.host, u.port)) {
        snprintf(why, cap, "bad IP address \"%.100s\" in \"%.200s\"", u.host, uri);
        return -1;
    }
    /* request paths and queries are appended to the device URI */
    if (u.query_count) {
        snprintf(why, cap, "a device URI takes no query: \"%.200s\"", uri);
        return -1;
    }
    return 0;
}

/* RFC 6750 §2.1 b64token: what a client can send after "Bearer ". */
int cfg_check_token(const char *s, char *why, size_t cap)
{
    size_t l = strlen(s), body = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                           "0123456789-._~+/");
    if (l < TOKEN_MIN || l > TOKEN_MAX)
        return why_fail(why, cap, "bad token length (expected 16 to 512 characters)");
    if (body == 0 || strspn(s + body, "=") != l - body)
        return why_fail(why, cap,
                        "bad token characters (expected A-Z a-z 0-9 - . _ ~ + / and trailing =, "
                        "RFC 6750 §2.1)");
    return 0;
}

int cfg_check_token_name(const char *s, char *why, size_t cap)
{
    size_t l = strlen(s);
    int ok = l > 0 && l <= 63;
    for (const char *p = s; ok && *p; p++) ok = (unsigned char)*p > 0x20 && *p != 0x7F;
    if (ok) return 0;
    return why_fail(why, cap, "bad token name (expected 1-63 visible characters, no spaces)");
}
