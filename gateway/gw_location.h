/*
 * gw_location.h - the Location header of a proxied 2.01/2.04 (RFC 8075 §7:
 * Location-Path and Location-Query "map to" Location). The options are
 * the device's: mapped under the gateway's own URL forms, so that a
 * device can neither point a client at another host ("//evil.example/x"
 * is a protocol-relative URL) nor out of the device's tree. Pure function,
 * unit-tested in tests/unit/test_map.c.
 */
#ifndef GW_LOCATION_H
#define GW_LOCATION_H

#include "coap_msg.h"

#include <stddef.h>

/* Writes the Location for m's Location-Path / Location-Query options:
 *   /devices/NAME/REST          when the request came through /devices/NAME
 *                               (device and device_uri non-NULL) and the
 *                               location lies strictly under the device's
 *                               base path (device_uri's path); REST is the
 *                               rest of the path;
 *   /hc/coap://HOST[:PORT]/PATH otherwise, with the scheme and authority of
 *                               target_uri (the request's canonical URI;
 *                               IPv6 brackets as %5B/%5D).
 * Every path segment is percent-encoded as an RFC 3986 §3.3 pchar (an
 * empty segment stays empty: the result starts with /devices/ or /hc/,
 * never "//"); query parts as in RFC 7252 §6.5 step 9 ("&" encoded),
 * joined with "&" after "?". Returns the length written (NUL-terminated),
 * 0 when m has no location option (out is ""), or -1 when a segment is
 * "." or ".." (a browser would resolve it away: RFC 3986 §5.2.4, also as
 * "%2E"), a URI does not parse, or out is too small: then no Location. */
int gw_location_map(const coap_msg_t *m, const char *target_uri, const char *device,
                    const char *device_uri, char *out, size_t cap);

#endif
