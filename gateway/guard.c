/*
 * guard.c - the front end's checks against DNS rebinding and cross-site
 * requests, and the list of active media types. See gw_guard.h.
 */
#include "gw_guard.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HOST_MAX 255 /* RFC 1035 §2.3.4: a name is at most 255 octets */

/* ":PORT" or nothing: the port part of a Host header or an origin. */
static int port_ok(const char *p, unsigned long *port)
{
    *port = 0;
    if (!*p) return 1;
    if (*p != ':') return 0;
    size_t digits = strspn(p + 1, "0123456789");
    if (digits == 0 || digits > 5 || p[1 + digits]) return 0;
    *port = strtoul(p + 1, NULL, 10);
    return *port <= 65535;
}

/* Splits "host[:port]" / "[v6][:port]" into a lower-case host (brackets
 * kept for IPv6, one trailing dot of a name dropped) and the port part.
 * Returns 0, or -1 when malformed. *is_ip says whether it is a literal. */
static int split_authority(const char *s, char *host, size_t cap, const char **port, int *is_ip)
{
    size_t hl;
    *is_ip = 0;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        unsigned char a[16];
        char v6[INET6_ADDRSTRLEN + 1];
        if (!close || (size_t)(close - s - 1) >= sizeof v6) return -1;
        memcpy(v6, s + 1, (size_t)(close - s - 1));
        v6[close - s - 1] = '\0';
        if (inet_pton(AF_INET6, v6, a) != 1) return -1;
        hl = (size_t)(close - s + 1);
        *is_ip = 1;
    } else {
        hl = strcspn(s, ":");
        if (hl == 0) return -1;
    }
    if (hl >= cap) return -1;
    for (size_t i = 0; i < hl; i++) host[i] = (char)tolower((unsigned char)s[i]);
    host[hl] = '\0';
    *port = s + hl;
    if (!*is_ip && hl > 1 && host[hl - 1] == '.') host[--hl] = '\0';
    unsigned char a4[4];
    if (!*is_ip && inet_pton(AF_INET, host, a4) == 1) *is_ip = 1;
    return 0;
}

/* "sub.example.com" is under ".example.com" (strictly: not example.com). */
static int has_suffix(const char *name, const char *dot_suffix)
{
    size_t n = strlen(name), s = strlen(dot_suffix);
    return n > s && !strcasecmp(name + n - s, dot_suffix);
}

static int any_allowed(const cfg_list_t *allowed)
{
    for (size_t i = 0; allowed && i < allowed->n; i++)
        if (!strcmp(allowed->v[i], "*")) return 1;
    return 0;
}

static int name_allowed(const char *host, const cfg_list_t *allowed)
{
    if (!strcmp(host, "localhost") || has_suffix(host, ".localhost")) return 1;
    for (size_t i = 0; allowed && i < allowed->n; i++) {
        const char *p = allowed->v[i];
        if (!strcmp(p, "*")) return 1;
        if (!strncmp(p, "*.", 2) ? has_suffix(host, p + 1) : !strcasecmp(host, p)) return 1;
    }
    return 0;
}

int gw_host_ok(const char *host, const cfg_list_t *allowed)
{
    char name[HOST_MAX + 1];
    const char *port;
    unsigned long port_num;
    int is_ip;
    if (!host || !*host) return 1;
    if (split_authority(host, name, sizeof name, &port, &is_ip) || !port_ok(port, &port_num))
        return any_allowed(allowed); /* malformed: no name of ours */
    return is_ip || name_allowed(name, allowed);
}

int gw_origin_normalize(const char *s, char *out, size_t cap)
{
    const char *scheme = !strncasecmp(s, "http://", 7)    ? "http"
                         : !strncasecmp(s, "https://", 8) ? "https"
                                                          : NULL;
    if (!scheme) return -1;
    const char *auth = s + strlen(scheme) + 3;
    char host[HOST_MAX + 1];
    const char *port;
    unsigned long port_num;
    int is_ip;
    if (split_authority(auth, host, sizeof host, &port, &is_ip) || !port_ok(port, &port_num))
        return -1;
    /* a name: letters, digits, '-', '.', '_' (browsers send IDNs as punycode) */
    if (host[0] != '[' && strspn(host, "abcdefghijklmnopqrstuvwxyz0123456789-._") != strlen(host))
        return -1;
    if (*port && port_num == 0) return -1;
    unsigned long dflt = !strcmp(scheme, "http") ? 80 : 443;
    int n = *port && port_num != dflt ? snprintf(out, cap, "%s://%s:%lu", scheme, host, port_num)
                                      : snprintf(out, cap, "%s://%s", scheme, host);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int is_safe_method(const char *m)
{
    return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "OPTIONS");
}

static int origin_trusted(const char *origin, const cfg_list_t *trusted)
{
    char o[HOST_MAX + 32], t[HOST_MAX + 32];
    if (!origin || gw_origin_normalize(origin, o, sizeof o)) return 0;
    for (size_t i = 0; trusted && i < trusted->n; i++)
        if (!gw_origin_normalize(trusted->v[i], t, sizeof t) && !strcmp(o, t)) return 1;
    return 0;
}

/* Fetch Metadata (W3C): "same-origin", "same-site", "cross-site", or
 * "none" for a navigation the user started (typed URL, bookmark). */
static int cross_site(const char *scheme, const char *host, const char *origin,
                      const char *sec_fetch_site)
{
    if (sec_fetch_site)
        return strcasecmp(sec_fetch_site, "same-origin") && strcasecmp(sec_fetch_site, "none");
    if (!origin) return 0; /* not from a browser page: nothing to forge */
    char own[HOST_MAX + 40], o[HOST_MAX + 32], self[HOST_MAX + 32];
    if (!host || !*host || gw_origin_normalize(origin, o, sizeof o)) return 1;
    snprintf(own, sizeof own, "%s://%.*s", scheme, HOST_MAX + 8, host);
    return gw_origin_normalize(own, self, sizeof self) || strcmp(o, self) != 0;
}

int gw_cross_site_refused(const char *method, const char *scheme, const char *host,
                          const char *origin, const char *sec_fetch_site, const cfg_list_t *trusted)
{
    if (is_safe_method(method)) return 0;
    return cross_site(scheme, host, origin, sec_fetch_site) && !origin_trusted(origin, trusted);
}

int gw_type_is_active(const char *content_type)
{
    static const char *const active[] = {"text/html", "application/xhtml+xml", "application/xml",
                                         "text/xml", "image/svg+xml"};
    char t[128];
    size_t n = 0;
    if (!content_type) return 0;
    while (*content_type == ' ' || *content_type == '\t') content_type++;
    for (; content_type[n] && !strchr("; \t", content_type[n]) && n + 1 < sizeof t; n++)
        t[n] = (char)tolower((unsigned char)content_type[n]);
    t[n] = '\0';
    for (size_t i = 0; i < sizeof active / sizeof *active; i++)
        if (!strcmp(t, active[i])) return 1;
    return n > 4 && !strcmp(t + n - 4, "+xml") && strchr(t, '/');
}
