/*
 * cfg_redis.c - state.redis: the URL of the Redis server that holds the
 * shared state of several gateways, read once here for the check at load
 * and for the store that connects (gateway/store_redis.c).
 *
 *   redis://[:PASSWORD@]HOST:PORT[/DB]   TCP (HOST an IP address or a name)
 *   unix:/PATH                           a Unix domain socket
 */
#include "cfg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(char *why, size_t cap, const char *what)
{
    snprintf(why, cap, "bad Redis URL (%s): redis://HOST:PORT[/DB] or unix:/PATH", what);
    return -1;
}

/* "[:PASSWORD@]HOST:PORT[/DB]" after "redis://". */
static int parse_tcp(const char *s, cfg_redis_url_t *u, char *why, size_t cap)
{
    const char *at = strrchr(s, '@');
    if (at) {
        const char *pw = *s == ':' ? s + 1 : s; /* redis://:PASSWORD@ or redis://USER:PASSWORD@ */
        const char *colon = memchr(s, ':', (size_t)(at - s));
        if (colon && pw == s) pw = colon + 1;
        if ((size_t)(at - pw) >= sizeof u->password) return bad(why, cap, "password too long");
        memcpy(u->password, pw, (size_t)(at - pw));
        u->password[at - pw] = '\0';
        s = at + 1;
    }
    const char *end = s + strcspn(s, "/");
    const char *colon = NULL;
    if (*s == '[') { /* an IPv6 literal */
        const char *close = memchr(s, ']', (size_t)(end - s));
        if (!close || close[1] != ':') return bad(why, cap, "no port");
        if ((size_t)(close - s - 1) >= sizeof u->host) return bad(why, cap, "host too long");
        memcpy(u->host, s + 1, (size_t)(close - s - 1));
        u->host[close - s - 1] = '\0';
        colon = close + 1;
    } else {
        colon = memchr(s, ':', (size_t)(end - s));
        if (!colon) return bad(why, cap, "no port");
        if (colon == s || (size_t)(colon - s) >= sizeof u->host)
            return bad(why, cap, "no host, or too long");
        memcpy(u->host, s, (size_t)(colon - s));
        u->host[colon - s] = '\0';
    }
    char *stop;
    long port = strtol(colon + 1, &stop, 10);
    if (stop != end || port < 1 || port > 65535) return bad(why, cap, "port 1 to 65535");
    u->port = (int)port;
    if (*end == '/' && end[1]) {
        long db = strtol(end + 1, &stop, 10);
        if (*stop || db < 0 || db > 65535) return bad(why, cap, "database number");
        u->db = (int)db;
    }
    return 0;
}

int cfg_redis_url(const char *url, cfg_redis_url_t *u, char *why, size_t cap)
{
    *u = (cfg_redis_url_t){0};
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p < 0x21 || *p == 0x7F) return bad(why, cap, "a space or control byte");
    if (!strncmp(url, "unix:", 5)) {
        if (url[5] != '/' || strlen(url + 5) >= sizeof u->path)
            return bad(why, cap, "an absolute socket path");
        snprintf(u->path, sizeof u->path, "%s", url + 5);
        return 0;
    }
    if (strncmp(url, "redis://", 8)) return bad(why, cap, "unknown scheme");
    return parse_tcp(url + 8, u, why, cap);
}

int cfg_check_redis(const char *s, char *why, size_t cap)
{
    cfg_redis_url_t u;
    return *s ? cfg_redis_url(s, &u, why, cap) : 0;
}
