/*
 * gw_guard.h - what the HTTP front end checks before it routes a request,
 * and what it must not let a browser run: pure functions (no I/O, no
 * state), unit-tested in tests/unit/test_guard.c. router.c applies them
 * with the configuration in force (a reload applies at once).
 */
#ifndef GW_GUARD_H
#define GW_GUARD_H

#include "cfg.h"

#include <stddef.h>

/* DNS rebinding: whether the Host header names this gateway. Accepted:
 * no Host at all or an empty one (HTTP/1.0, no name to rebind), IP
 * literals (IPv4, bracketed IPv6), "localhost" and "*.localhost", and the
 * names in `allowed` (http.allowed_hosts: a name, "*.example.com" for the
 * names under example.com, "*" for any), case-insensitive, one trailing
 * dot ignored. The port part is ignored. A rebinding attack needs a name
 * the attacker's DNS answers for; a browser's origin for an IP literal is
 * that IP, so a literal is never someone else's origin. */
int gw_host_ok(const char *host, const cfg_list_t *allowed);

/* An origin ("HTTP://Example.COM:80") in the form browsers compare
 * (RFC 6454 §4): "scheme://host[:port]", scheme and host lower-cased, the
 * scheme's default port (http 80, https 443) left out. Only http and
 * https; no path, query or user info. Returns 0, or -1 when s is not such
 * an origin ("null" included) or does not fit in cap. */
int gw_origin_normalize(const char *s, char *out, size_t cap);

/* CSRF: whether an unsafe request comes from another site and must be
 * refused. Safe methods (GET, HEAD, OPTIONS) always pass. Otherwise the
 * request is cross-site when Sec-Fetch-Site is present and neither
 * "same-origin" nor "none" (a user's own navigation), or, without
 * Sec-Fetch-Site, when Origin is present and differs from the request's
 * own origin (scheme + "://" + Host, scheme "http" or "https" as the
 * listener it came to); "Origin: null" is cross-site. A cross-site
 * request still passes when its Origin is one of `trusted`
 * (http.trusted_origins), compared normalized. Any header may be NULL. */
int gw_cross_site_refused(const char *method, const char *scheme, const char *host,
                          const char *origin, const char *sec_fetch_site,
                          const cfg_list_t *trusted);

/* Whether a media type is one a browser renders as an active document
 * (with scripts): HTML, XHTML, XML (application/ and text/), SVG and any
 * "+xml" structured syntax (RFC 6839 §4.1). Parameters are ignored, case
 * does not matter. */
int gw_type_is_active(const char *content_type);

/* The headers every answer that may carry a device's bytes gets, so that
 * nothing a device sends runs in the gateway's origin (where the page
 * keeps the user's token): no sniffing of another type, and a policy that
 * forbids scripts, plugins and same-origin access even if rendered. */
#define GW_NOSNIFF     "nosniff"
#define GW_SANDBOX_CSP "default-src 'none'; sandbox"

#endif
