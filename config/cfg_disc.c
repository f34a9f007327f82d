/*
 * cfg_disc.c - the checks of the discovery.* keys (multicast discovery,
 * RFC 7252 §8 and §12.8; docs/discovery.md).
 */
#include "cfg_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

/* discovery.groups: an IPv4 (224.0.0.0/4) or IPv6 (ff00::/8) multicast
 * address; a unicast address would turn a round into a plain request to
 * one host. */
int cfg_check_multicast(const char *s, char *why, size_t cap)
{
    unsigned char a[16];
    if (inet_pton(AF_INET, s, a) == 1 && (a[0] & 0xf0) == 0xe0) return 0;
    if (inet_pton(AF_INET6, s, a) == 1 && a[0] == 0xff) return 0;
    snprintf(why, cap,
             "\"%.64s\" is no multicast address (expected e.g. 224.0.1.187, ff02::fd, ff05::fd)",
             s);
    return -1;
}

/* discovery.interfaces: an interface name as the kernel spells them; it
 * need not exist yet (it is looked up at each round). */
int cfg_check_ifname(const char *s, char *why, size_t cap)
{
    size_t l = strlen(s);
    int ok = l > 0 && l < IF_NAMESIZE && strcmp(s, ".") && strcmp(s, "..");
    for (const char *p = s; ok && *p; p++)
        ok = isgraph((unsigned char)*p) && *p != '/' && *p != ':' && *p != '%';
    if (ok) return 0;
    snprintf(why, cap, "bad interface name \"%.32s\" (expected e.g. eth0, br0)", s);
    return -1;
}

/* discovery.query: "" or one RFC 6690 §4.1 filter NAME=VALUE (VALUE may
 * end in '*'), sent as the Uri-Query of each round's request. */
int cfg_check_link_filter(const char *s, char *why, size_t cap)
{
    if (!*s) return 0;
    const char *eq = strchr(s, '=');
    int ok = eq && eq > s && strlen(s) < 256;
    for (const char *p = s; ok && p < eq; p++) ok = isalnum((unsigned char)*p) || strchr("-._", *p);
    for (const char *p = eq ? eq + 1 : s; ok && *p; p++)
        ok = isgraph((unsigned char)*p) && *p != '&';
    if (ok) return 0;
    snprintf(why, cap, "bad link filter \"%.64s\" (expected NAME=VALUE, e.g. rt=temperature*)", s);
    return -1;
}
