/*
 * cfg.h - coapgw's configuration: one JSON file (jansson), validated into a
 * struct with defaults. Command-line flags are applied on top by main.
 */
#ifndef CFG_H
#define CFG_H

#include <stddef.h>
#include <stdint.h>

enum { CFG_LOG_DEBUG, CFG_LOG_INFO, CFG_LOG_WARN, CFG_LOG_ERROR };
enum { CFG_LOG_TEXT, CFG_LOG_JSON };

/* An HTTP access token: "Authorization: Bearer TOKEN". */
typedef struct {
    char *token;
    char *name; /* for logs; may be NULL */
    int write;  /* 1: read-write; 0: read-only (GET, HEAD, SSE) */
} cfg_token_t;

typedef struct {
    char *name; /* [A-Za-z0-9_.-]{1,63} */
    char *uri;  /* coap://HOST[:PORT][/base/path] */
} cfg_device_t;

typedef struct {
    char *http_listen; /* "0.0.0.0:8080" */
    char *coap_listen; /* "0.0.0.0:5683" */
    cfg_device_t *devices;
    size_t ndevices;
    char **allow_targets; /* extra CIDRs or host names, on top of the defaults */
    size_t nallow_targets;
    char **allow_origins; /* HTTP origins ("http://10.0.0.5:8080") or CIDRs the
                             reverse proxy may reach; none by default */
    size_t nallow_origins;
    uint32_t timeout_ms;        /* 10000 */
    uint32_t max_body;          /* 1048576 */
    int cache_enabled;          /* 1 */
    uint32_t cache_max_entries; /* 10000 */
    int log_level;              /* CFG_LOG_INFO */
    int log_format;             /* CFG_LOG_TEXT */
    cfg_token_t *tokens;        /* none: no authentication */
    size_t ntokens;
    uint32_t max_subscribers;      /* SSE streams at once: 20000 */
    uint32_t sse_queue;            /* events queued per slow subscriber: 64 */
    int rd_enabled;                /* Resource Directory at coap.listen: 1 */
    uint32_t rd_max_registrations; /* 256 */
    uint32_t rd_max_links_bytes;   /* link-format payload of one registration: 4096 */
    uint32_t discovery_refresh_s;  /* /.well-known/core of a device cached: 300 */
    uint32_t shutdown_grace_ms;    /* in-flight requests finish within: 1000 */
} cfg_t;

/* Fills c (treated as uninitialized: call cfg_free first to reuse one)
 * with the embedded defaults: the listen addresses above, one
 * device "demo" at coap://127.0.0.1:5783, no extra allowlist entries. */
void cfg_defaults(cfg_t *c);

/* Loads a JSON file over the defaults. Keys (all optional):
 *   {"http": {"listen": S}, "coap": {"listen": S},
 *    "devices": {NAME: "coap://HOST:PORT", ...},
 *    "proxy": {"allow_targets": [S...], "allow_origins": [S...], "timeout_ms": N,
 *              "max_body_bytes": N},
 *    "cache": {"enabled": B, "max_entries": N},
 *    "log_level": "debug"|"info"|"warn"|"error"}
 * An unknown key, a wrong type, a bad value (device URI not coap://, name
 * with bad characters, timeout 0, ...) fails with a message naming the file,
 * the line and column where jansson can tell, and the key path
 * ("proxy.timeout_ms"). Returns 0, or -1 with the message in err.
 * Loading is all-or-nothing: on failure c is left unchanged (still valid
 * and freeable). Sections absent from the file keep their values; a
 * "devices" object or an "allow_targets" array present in the file
 * replaces the current list (so the "demo" default can be removed). The
 * message is one line; syntax errors read "FILE:LINE:COLUMN: syntax error:
 * ...", semantic ones "FILE: KEY.PATH: ..." (jansson keeps no positions
 * for values). err may be NULL when errlen is 0. */
int cfg_load_file(cfg_t *c, const char *path, char *err, size_t errlen);
/* The same for a string (name is used in messages). */
int cfg_load_string(cfg_t *c, const char *json, const char *name, char *err, size_t errlen);

/* Setters used for command-line flags (they replace or append). Both copy
 * the value and return -1, changing nothing, for NULL or out of memory. */
int cfg_set_string(char **field, const char *value);
int cfg_add_allow_target(cfg_t *c, const char *pattern);
int cfg_add_allow_origin(cfg_t *c, const char *pattern);
/* "debug"|"info"|"warn"|"error" -> level, or -1. */
int cfg_parse_log_level(const char *s);

void cfg_free(cfg_t *c);

#endif
