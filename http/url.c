/*
 * url.c - absolute URLs through libcurl's URL API, so that what the
 * gateway checks is what curl will connect to. See http_client.h.
 */
#include "http_client_internal.h"

#include <ctype.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int copy_out(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap) return -1;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return 0;
}

int http_url_parse(const char *url, http_url_t *out)
{
    out->curlu = NULL;
    if (!url) return -1;
    CURLU *u = curl_url();
    if (!u) return -1;
    char *s = NULL, *h = NULL, *p = NULL;
    int rc = -1;
    /* Any scheme parses, so that the caller can name the one it refuses. */
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) goto out;
    if (curl_url_get(u, CURLUPART_SCHEME, &s, 0) != CURLUE_OK) goto out;
    if (curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK) goto out;
    const char *hs = h;
    size_t hl = strlen(h);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        hs++;
        hl -= 2;
    }
    if (hl == 0) goto out;
    /* An unknown scheme without a port has no default: 0. */
    unsigned long pn = 0;
    if (curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK)
        pn = strtoul(p, NULL, 10);
    if (pn > 65535) goto out;
    if (copy_out(out->scheme, sizeof out->scheme, s, strlen(s)) ||
        copy_out(out->host, sizeof out->host, hs, hl))
        goto out;
    for (char *q = out->scheme; *q; q++) *q = (char)tolower((unsigned char)*q);
    out->port = (unsigned)pn;
    out->curlu = u;
    rc = 0;
out:
    curl_free(s);
    curl_free(h);
    curl_free(p);
    if (rc) curl_url_cleanup(u);
    return rc;
}

void http_url_release(http_url_t *u)
{
    curl_url_cleanup(u->curlu);
    u->curlu = NULL;
}

static void memo_clear(http_url_memo_t *m, unsigned i)
{
    free(m->text[i]);
    m->text[i] = NULL;
    http_url_release(&m->url[i]);
}

int http_url_parse_memo(http_url_memo_t *m, const char *url, http_url_t *u)
{
    for (unsigned i = 0; url && i < HTTP_URL_MEMO; i++) {
        if (!m->text[i] || strcmp(m->text[i], url)) continue;
        *u = m->url[i];
        if ((u->curlu = curl_url_dup(m->url[i].curlu))) return 0;
        break; /* no memory: parse, as without a memo */
    }
    if (http_url_parse(url, u)) return -1;
    unsigned i = m->next;
    m->next = (i + 1) % HTTP_URL_MEMO;
    memo_clear(m, i);
    m->url[i] = *u;
    m->url[i].curlu = curl_url_dup(u->curlu);
    m->text[i] = strdup(url);
    if (!m->url[i].curlu || !m->text[i]) memo_clear(m, i);
    return 0;
}

void http_url_memo_free(http_url_memo_t *m)
{
    for (unsigned i = 0; i < HTTP_URL_MEMO; i++) memo_clear(m, i);
}

int http_url_split(const char *url, char *scheme, size_t scheme_cap, char *host, size_t host_cap,
                   unsigned *port)
{
    http_url_t u;
    if (http_url_parse(url, &u)) return -1;
    int rc = copy_out(scheme, scheme_cap, u.scheme, strlen(u.scheme)) ||
                     copy_out(host, host_cap, u.host, strlen(u.host))
                 ? -1
                 : 0;
    *port = u.port;
    http_url_release(&u);
    return rc;
}

unsigned http_url_zone_scope_(const http_url_t *u)
{
    /* A zone belongs to an IPv6 literal, whose host has a ':'. */
    if (!u->curlu || !strchr(u->host, ':')) return 0;
    char *zone = NULL;
    unsigned scope = 0;
    if (curl_url_get(u->curlu, CURLUPART_ZONEID, &zone, 0) == CURLUE_OK && zone) {
        /* As curl reads it (url.c, zonefrom_url): a number is the scope
         * itself, anything else an interface name. */
        char *end;
        unsigned long n = strtoul(zone, &end, 10);
        scope = !*end && n < UINT_MAX ? (unsigned)n : if_nametoindex(zone);
    }
    curl_free(zone);
    return scope;
}

const char *http_url_shown(const char *url, char *out, size_t cap)
{
    if (!url || !strchr(url, '@')) return url;
    CURLU *u = curl_url();
    char *full = NULL, *pw = NULL;
    const char *shown = "(a URL with userinfo that does not parse)";
    if (u && curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK) {
        if (curl_url_get(u, CURLUPART_PASSWORD, &pw, 0) == CURLUE_OK)
            curl_url_set(u, CURLUPART_PASSWORD, "***", 0);
        if (curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK) shown = full;
    }
    snprintf(out, cap, "%s", shown);
    curl_free(full);
    curl_free(pw);
    curl_url_cleanup(u);
    return out;
}

int http_url_resolve(const char *base, const char *ref, char *out, size_t cap)
{
    CURLU *u = curl_url();
    char *abs = NULL;
    int rc = -1;
    /* any scheme parses, so that the caller can name the one it refuses */
    if (u && curl_url_set(u, CURLUPART_URL, base, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, ref, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &abs, 0) == CURLUE_OK)
        rc = copy_out(out, cap, abs, strlen(abs));
    curl_free(abs);
    curl_url_cleanup(u);
    return rc;
}
