/*
 * gw_web.h - the device browser page (web/), embedded in the binary at
 * build time (cmake/embed_assets.cmake) so it works offline with no files
 * beside the executable.
 */
#ifndef GW_WEB_H
#define GW_WEB_H

#include "http_server.h"

#include <stddef.h>

typedef struct {
    const char *path; /* "/index.html", "/app.js", ... */
    const unsigned char *data;
    size_t len;
    const char *etag; /* quoted, from the content's hash */
} gw_web_asset_t;

/* The generated tables (in the build directory): the page's files
 * (web_assets.c), and docs/openapi.yaml as JSON, one entry
 * (openapi_asset.c). */
extern const gw_web_asset_t gw_web_assets[];
extern const size_t gw_web_assets_n;
extern const gw_web_asset_t gw_openapi_assets[];
extern const size_t gw_openapi_assets_n;

/* Answers GET/HEAD of "/" (the page) and of its assets, and returns 1;
 * returns 0 without answering for any other request. */
int gw_web_serve(http_req_t *req);

/* Answers a GET/HEAD with a as content_type: its ETag, "no-cache", and
 * 304 when If-None-Match holds that ETag. */
void gw_web_send(http_req_t *req, const gw_web_asset_t *a, const char *content_type);

#endif
