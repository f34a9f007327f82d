/*
 * cfg_cluster.c - cluster.advertise and cluster.token: how the other
 * gateways of a cluster reach this one, and the secret a request
 * forwarded between them carries (docs/cluster.md, "Forwarding to the
 * owner").
 */
#include "cfg_int.h"

#include <stdio.h>
#include <string.h>

static int fail(char *why, size_t cap, const char *what)
{
    snprintf(why, cap, "%s", what);
    return -1;
}

/* "" or http://HOST:PORT (https:// too): an origin, no path but "/",
 * no user information, no query. */
int cfg_check_advertise(const char *s, char *why, size_t cap)
{
    if (!*s) return 0;
    const char *rest = !strncmp(s, "http://", 7)    ? s + 7
                       : !strncmp(s, "https://", 8) ? s + 8
                                                    : NULL;
    if (!rest || !*rest)
        return fail(why, cap,
                    "bad advertise URL (expected http://HOST:PORT, the URL the other "
                    "gateways reach this one at)");
    if (strlen(s) > 255) return fail(why, cap, "bad advertise URL (longer than 255 bytes)");
    for (const char *p = rest; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7F || *p == '@' || *p == '?' || *p == '#' ||
            (*p == '/' && p[1]))
            return fail(why, cap,
                        "bad advertise URL (an origin: http://HOST:PORT, no path, "
                        "query or user)");
    return 0;
}

/* "" or what a bearer token may be (16-512 characters of RFC 6750 §2.1's
 * b64token): it travels in a header, and is as hard to guess. */
int cfg_check_cluster_token(const char *s, char *why, size_t cap)
{
    return *s ? cfg_check_token(s, why, cap) : 0;
}
