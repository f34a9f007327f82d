/*
 * gw_tokens.h - access tokens without I/O (tokens.c), shared by auth.c,
 * target.c and the unit tests. Internal to gateway/.
 */
#ifndef GW_TOKENS_H
#define GW_TOKENS_H

#include "cfg.h"

#include <stddef.h>

/* Tokens are compared over this many bytes; longer ones never match. */
#define GW_AUTH_TOKEN_MAX 512

/* "Bearer TOKEN" (RFC 6750 §2.1; the scheme is case-insensitive). Sets the
 * token's start and length, blanks around it left out; 0 when h is NULL
 * or of another scheme. */
int gw_auth_bearer(const char *h, const char **tok, size_t *len);

/* Constant-time token lookup: the token of cfg that equals guess[0..len),
 * or NULL. guess must be readable at guess[0] (a C string is). The time
 * depends on neither where a guess first differs nor its length. */
const cfg_token_t *gw_auth_match(const cfg_t *cfg, const char *guess, size_t len);

/* Whether an event stream opened with token (NULL: opened without one)
 * may go on under cfg, as after a reload: with no token configured
 * everything may; otherwise only a token still configured (streams only
 * read, so any scope will do). */
int gw_auth_token_still_valid(const cfg_t *cfg, const char *token);

/* The query without its access_token parameters when active (tokens are
 * configured), so the token never reaches a device. Returns 0, or -1 when
 * it does not fit in cap bytes. */
int gw_auth_strip_query(int active, const char *query, char *out, size_t cap);

#endif
