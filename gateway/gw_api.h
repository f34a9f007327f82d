/*
 * gw_api.h - the JSON discovery API under /api/ (docs/api.md):
 *   GET /api/devices        every device, configured or registered
 *   GET /api/devices/NAME   one device and the resources of its
 *                           /.well-known/core (RFC 6690), cached for
 *                           cfg.discovery_refresh_s
 *   GET /api/openapi.json   docs/openapi.yaml as JSON, compiled in
 * Errors are JSON too: {"status": N, "error": "..."}. Internal to gateway/.
 */
#ifndef GW_API_H
#define GW_API_H

#include "gw.h"

#include <jansson.h>

/* Is the path the API's: "/api" or under "/api/"? */
int gw_api_path(const char *path);

/* Answers a request for an API path (at once, or later when a device's
 * /.well-known/core has to be fetched). */
void gw_api(gw_t *gw, http_req_t *req);

/* Answers a request for /api/openapi.json (any method: 405 but for GET,
 * HEAD and OPTIONS) and returns 1; returns 0 for any other path. */
int gw_api_openapi(http_req_t *req);

/* Answers with {"status": status, "error": MESSAGE} as application/json. */
void gw_api_error(http_req_t *req, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* What the gateway knows of d's resources without asking it: the links it
 * registered (Resource Directory), else its /.well-known/core as the API
 * last fetched it; the resource objects of gw_links.h (a new reference),
 * or NULL. */
json_t *gw_api_known_links(const gw_device_t *d);

#endif
