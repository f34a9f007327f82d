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

/* The generated table (web_assets.c in the build directory). */
extern const gw_web_asset_t gw_web_assets[];
extern const size_t gw_web_nassets;

/* Answers GET/HEAD of "/" (the page) and of its assets, and returns 1;
 * returns 0 without answering for any other request. */
int gw_web_serve(http_req_t *req);

#endif
