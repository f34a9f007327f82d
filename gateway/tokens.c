/*
 * tokens.c - the pure parts of the access tokens (gw_tokens.h): the
 * Authorization header, the constant-time lookup, the query without
 * access_token. auth.c applies them to requests.
 */
#include "gw_tokens.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* "Bearer TOKEN" (RFC 6750 §2.1; the scheme is case-insensitive, RFC 9110
 * §11.1). Sets the token's start and length; 0 when the header is absent
 * or of another scheme. */
int gw_auth_bearer(const char *h, const char **tok, size_t *len)
{
    if (!h || strncasecmp(h, "Bearer", 6) || (h[6] != ' ' && h[6] != '\t')) return 0;
    h += 6;
    while (*h == ' ' || *h == '\t') h++;
    size_t n = strlen(h);
    while (n && (h[n - 1] == ' ' || h[n - 1] == '\t')) n--;
    *tok = h;
    *len = n;
    return 1;
}

/* s zero-padded to the fixed width, in the same time for any length: the
 * loop reads s[0] where it would read past the end (s is a C string). */
static void pad(unsigned char out[GW_AUTH_TOKEN_MAX], const char *s, size_t len)
{
    for (size_t i = 0; i < GW_AUTH_TOKEN_MAX; i++) {
        size_t in = (size_t)(i < len); /* 0 or 1 */
        out[i] = (unsigned char)((unsigned char)s[i * in] & (0u - (unsigned)in));
    }
}

/* Nonzero when a and b differ anywhere: the full width, no early exit. */
static uint32_t diff_fixed(const unsigned char *a, const unsigned char *b)
{
    uint32_t d = 0;
    for (size_t i = 0; i < GW_AUTH_TOKEN_MAX; i++) d |= (uint32_t)(a[i] ^ b[i]);
    return d;
}

const cfg_token_t *gw_auth_match(const cfg_t *cfg, const char *guess, size_t len)
{
    unsigned char g[GW_AUTH_TOKEN_MAX], t[GW_AUTH_TOKEN_MAX];
    pad(g, guess, len);
    size_t found = 0; /* index + 1 of the matching token */
    /* Every token is compared, each over the full width, with the length
     * difference folded in: the same work whatever the guess. A guess
     * longer than the width never matches. */
    for (size_t i = 0; i < cfg->ntokens; i++) {
        const char *tok = cfg->tokens[i].token ? cfg->tokens[i].token : "";
        size_t tlen = strlen(tok);
        pad(t, tok, tlen);
        uint64_t ldiff = (uint64_t)(tlen ^ len) | (uint64_t)(len > GW_AUTH_TOKEN_MAX) << 1;
        uint64_t d = diff_fixed(g, t) | (ldiff & 0xffffffffu) | (ldiff >> 32);
        size_t mask = (size_t)0 - (size_t)((d - 1) >> 63); /* all ones when d == 0 */
        found = (found & ~mask) | ((i + 1) & mask);
    }
    return found ? &cfg->tokens[found - 1] : NULL;
}

int gw_auth_strip_query(int active, const char *query, char *out, size_t cap)
{
    size_t n = 0;
    int first = 1;
    if (!cap) return -1;
    out[0] = '\0';
    if (!active) { /* every request: a copy, no snprintf */
        size_t len = strlen(query);
        if (len >= cap) return -1;
        memcpy(out, query, len + 1);
        return 0;
    }
    for (const char *p = query; *p;) {
        size_t len = strcspn(p, "&");
        int token = len >= 12 && !strncmp(p, "access_token", 12) && (len == 12 || p[12] == '=');
        if (!token) { /* kept as sent, empty parts included */
            int w = snprintf(out + n, cap - n, "%s%.*s", first ? "" : "&", (int)len, p);
            if (w < 0 || (size_t)w >= cap - n) return -1;
            n += (size_t)w;
            first = 0;
        }
        p += len + (p[len] == '&');
    }
    return 0;
}

int gw_auth_token_still_valid(const cfg_t *cfg, const char *token)
{
    if (!cfg->ntokens) return 1;
    return token && gw_auth_match(cfg, token, strlen(token)) != NULL;
}
