/*
 * cfg_int.h - internals shared by the configuration's source files: the key
 * table, key paths with their positions, messages and validators.
 */
#ifndef CFG_INT_H
#define CFG_INT_H

#include "cfg.h"

#include <stddef.h>

/* What a key holds; decides how JSON values and text values are read. */
typedef enum {
    CFG_K_STRING,     /* char *: checked by the key's check (addresses, file paths) */
    CFG_K_UINT,       /* uint32_t in [min, max] */
    CFG_K_BOOL,       /* int 0/1 */
    CFG_K_LEVEL,      /* int: CFG_LOG_DEBUG.. */
    CFG_K_FORMAT,     /* int: CFG_LOG_TEXT/JSON */
    CFG_K_LIST,       /* cfg_list_t, each item checked by the key's check */
    CFG_K_DEVICES,    /* devices */
    CFG_K_GROUPS,     /* groups (cfg_groups.c) */
    CFG_K_TOKENS,     /* tokens */
    CFG_K_CREDS,      /* credentials (cfg_creds.c) */
    CFG_K_IDENTITIES, /* dtls.identities (cfg_ids.c) */
} cfg_kind_t;

/* A validator: 0, or -1 with what is wrong in why. */
typedef int (*cfg_check_fn)(const char *s, char *why, size_t cap);

typedef struct cfg_key {
    const char *key; /* "proxy.timeout_ms"; sections are one level deep */
    cfg_kind_t kind;
    size_t off; /* of the field, for the scalar kinds and lists */
    long long min, max;
    cfg_check_fn check; /* CFG_K_STRING: the value; CFG_K_LIST: each item */
} cfg_key_t;

extern const cfg_key_t cfg_keys[];
extern const size_t cfg_nkeys;
const cfg_key_t *cfg_key_find(const char *key);

/* A key path into the document: keys and array indexes, e.g.
 * tokens[1].scope = {"tokens", [1], "scope"}. Device names may hold dots,
 * which is why a path is not a string. */
#define CFG_PATH_MAX 6 /* dtls.identities[1].names[0] */
typedef struct {
    const char *key[CFG_PATH_MAX]; /* NULL: an array index */
    size_t index[CFG_PATH_MAX];
    int n;
} cfg_path_t;

void cfg_path_key(cfg_path_t *p, const char *key);
void cfg_path_index(cfg_path_t *p, size_t index);
/* "proxy.allow_targets[1]" into buf. */
const char *cfg_path_str(const cfg_path_t *p, char *buf, size_t cap);

/* Where messages go. text is the document (for positions), NULL for the
 * environment and flags, where name is the variable or flag. */
typedef struct {
    const char *name;
    const char *text;
    size_t len;
    char *err;
    size_t errlen;
    size_t first_device;       /* cfg_env.c: the first device the value being read added */
    const struct cfg_key *key; /* cfg_env.c: the list key being read */
} cfg_ctx_t;

/* "NAME:LINE:COL: PATH: message" (position and path when known); returns
 * -1. */
int cfg_fail(cfg_ctx_t *x, const cfg_path_t *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* cfg_locate.c: the position of the member named by p in text (valid
 * JSON): the key of an object member, the element of an array, the root
 * value for an empty path. Lines and columns count from 1, columns in
 * characters, like jansson's. Returns 0, or -1 when not found. */
int cfg_locate(const char *text, size_t len, const cfg_path_t *p, int *line, int *col);

/* cfg_check.c: validators. Each returns 0, or -1 with what is wrong in why
 * ("bad port (expected ...)"); none echoes a token. */
int cfg_check_listen(const char *s, char *why, size_t cap);
/* The same, or "off" (http.listen, http.listen_tls). */
int cfg_check_listen_or_off(const char *s, char *why, size_t cap);
/* A file name, or "" for none: at most 4095 bytes, no control character. */
int cfg_check_file(const char *s, char *why, size_t cap);
/* state.redis: "" or a URL cfg_redis_url reads. */
int cfg_check_redis(const char *s, char *why, size_t cap);
/* cfg_cluster.c: cluster.token ("" or a string cfg_check_token takes);
 * cluster.advertise: cfg_check_advertise in cfg.h. */
int cfg_check_cluster_token(const char *s, char *why, size_t cap);
int cfg_check_target(const char *s, char *why, size_t cap);
int cfg_check_origin(const char *s, char *why, size_t cap);
/* An address or a CIDR range, nothing else (proxy.coap_clients). */
int cfg_check_cidr(const char *s, char *why, size_t cap);
/* discovery.*: a multicast address; an interface name; "" or NAME=VALUE */
int cfg_check_multicast(const char *s, char *why, size_t cap);
int cfg_check_ifname(const char *s, char *why, size_t cap);
int cfg_check_link_filter(const char *s, char *why, size_t cap);
/* A DNS server: IP, IP:PORT or [IPv6]:PORT (dns.servers). */
int cfg_check_dns_server(const char *s, char *why, size_t cap);
/* "*", a host name or "*.example.com" (http.allowed_hosts). */
int cfg_check_host_pattern(const char *s, char *why, size_t cap);
/* A web origin http(s)://HOST[:PORT] (http.trusted_origins). */
int cfg_check_web_origin(const char *s, char *why, size_t cap);
/* Whether an address or CIDR range lies within loopback (127.0.0.0/8, ::1). */
int cfg_cidr_is_loopback(const char *s);
int cfg_check_device_name(const char *s, char *why, size_t cap);
int cfg_check_device_uri(const char *s, char *why, size_t cap);
int cfg_check_token(const char *s, char *why, size_t cap);
int cfg_check_token_name(const char *s, char *why, size_t cap);
/* "read" -> 0, "read-write" -> 1, else -1. */
int cfg_parse_scope(const char *s);

/* cfg_tls.c: the HTTPS keys together (listeners, certificate and key,
 * the key file's permissions). Returns 0, or -1 with err naming the key. */
int cfg_check_https(const cfg_t *c, char *err, size_t errlen);
/* The same for the DTLS listener (coap.listen_dtls, dtls.*) and its
 * identities. */
int cfg_check_dtls(const cfg_t *c, char *err, size_t errlen);
/* A private key file: it exists, is a file, and grants other users
 * nothing. Returns 0, or -1 with err naming key (the setting) and path. */
int cfg_check_key_file(const char *key, const char *path, char *err, size_t errlen);

/* cfg_json.c: a JSON-valued key given as text (environment, --set): the
 * same object as in the file, parsed and handed to load at the top path.
 * expected says what the value looks like in the "not JSON" message. */
struct json_t;
typedef int (*cfg_json_load_fn)(cfg_ctx_t *x, struct json_t *v, const cfg_path_t *p, cfg_t *c);
int cfg_set_json_text(cfg_ctx_t *x, const char *text, const char *expected, cfg_json_load_fn load,
                      cfg_t *c);

/* cfg_creds.c: "credentials". From the JSON object at p (replacing
 * c's), or from its text form (environment, flags: the same JSON).
 * Return 0, or -1 through cfg_fail with c unchanged. */
int cfg_creds_load(cfg_ctx_t *x, struct json_t *obj, const cfg_path_t *p, cfg_t *c);
int cfg_creds_set_text(cfg_ctx_t *x, const char *text, cfg_t *c);
void cfg_free_creds(cfg_cred_t *v, size_t n);
int cfg_creds_copy(cfg_t *dst, const cfg_t *src);
/* The key files of every entry (psk_key_file, key, rpk_key), on disk. */
int cfg_check_creds_files(const cfg_t *c, char *err, size_t errlen);

/* cfg_groups.c: "groups". From the JSON object at p (replacing c's),
 * or from its text form (the same JSON). Return 0, or -1 through
 * cfg_fail with c unchanged. */
int cfg_groups_load(cfg_ctx_t *x, struct json_t *obj, const cfg_path_t *p, cfg_t *c);
int cfg_groups_set_text(cfg_ctx_t *x, const char *text, cfg_t *c);
void cfg_groups_free(cfg_group_t *v, size_t n);
int cfg_groups_copy(cfg_t *dst, const cfg_t *src);

/* cfg_ids.c: dtls.identities. From JSON (an array of objects, replacing
 * the list), or from text (the same JSON; CFG_APPEND adds to the list). */
int cfg_ids_load_json(cfg_ctx_t *x, struct json_t *v, const cfg_path_t *p, cfg_t *c);
int cfg_ids_set_text(cfg_ctx_t *x, const char *text, int mode, cfg_t *c);
void cfg_ids_free(cfg_identity_t *ids, size_t n);
int cfg_ids_copy(cfg_t *dst, const cfg_t *src);

/* cfg.c: list and struct helpers. */
void cfg_free_devices(cfg_device_t *d, size_t n);
void cfg_free_tokens(cfg_token_t *t, size_t n);
/* Adds a device, or replaces the URI of the one with that name. */
int cfg_device_put(cfg_t *c, const char *name, const char *uri);
int cfg_token_add(cfg_t *c, const char *token, int write, const char *name);
/* The index of an earlier token equal to c->tokens[i], or -1. */
long cfg_token_duplicate(const cfg_t *c, size_t i);

#endif
