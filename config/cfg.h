/*
 * cfg.h - coapgw's configuration: one JSON file (jansson), validated into a
 * struct with defaults. Precedence, applied by the caller in this order:
 * embedded default < file < environment (COAPGW_...) < command-line flag.
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

/* A list of strings (allowlists and the like), each validated. */
typedef struct {
    char **v;
    size_t n;
} cfg_list_t;

typedef struct {
    char *name; /* [A-Za-z0-9_.-]{1,63} */
    char *uri;  /* coap://HOST[:PORT][/base/path] */
} cfg_device_t;

/* One entry of "groups" (RFC 7390): a multicast address, or members
 * reached one by one for networks without multicast. */
typedef struct {
    char *name;         /* a device name: [A-Za-z0-9_.-]{1,63} */
    char *address;      /* "224.0.1.187" or "[ff02::fd%br0]" (a multicast IP literal), or NULL */
    uint32_t port;      /* of address: 5683 */
    cfg_list_t members; /* "coap://HOST[:PORT]" each, when address is NULL */
    uint32_t window_ms; /* how long answers are gathered: 2000 */
} cfg_group_t;

/* The DTLS credentials for coaps:// devices, one entry of "credentials"
 * (docs/configuration.md): keyed by a device name or a host as written in
 * the target URI. Keys are never inline: they come from a file or a
 * variable, read by the gateway at start and reload. */
typedef struct {
    char *key;                        /* device name, host name or IP literal (no brackets) */
    char *psk_identity;               /* PSK (RFC 4279), with one of: */
    char *psk_key_file, *psk_key_env; /* ... the key's bytes in a file, or a variable */
    char *cert, *cert_key, *ca;       /* X.509: our certificate and key; the CA to verify */
    char *name;                       /* the name the device's certificate must carry */
    char *rpk_key, *rpk_pin;          /* raw public key (RFC 7250): ours; the device's SHA-256 */
    int no_verify;                    /* accept any certificate or key (tests, demos) */
} cfg_cred_t;
/* dtls.identities: whom the DTLS listener knows, and what each may do
 * (docs/configuration.md). kind takes coap_identity_kind_t's values. */
enum { CFG_ID_PSK = 1, CFG_ID_X509, CFG_ID_RPK };
enum { CFG_PROXY_NONE, CFG_PROXY_READ, CFG_PROXY_READ_WRITE };
typedef struct {
    int kind;         /* CFG_ID_* */
    char *id;         /* PSK identity, certificate subject DN, or the raw public
                         key's SHA-256 (64 lower-case hex digits) */
    char *key_file;   /* PSK: file holding the key, or NULL */
    char *key_env;    /* PSK: environment variable holding the key, or NULL */
    cfg_list_t names; /* RD endpoint names it may register: "NAME" or "PREFIX*" */
    int proxy;        /* forward proxy scope: CFG_PROXY_* */
} cfg_identity_t;

typedef struct {
    char *http_listen;             /* http.listen: "0.0.0.0:8080", or "off" (HTTPS only) */
    char *http_listen_tls;         /* http.listen_tls: HTTPS, "HOST:PORT" or "off" (default) */
    char *tls_cert;                /* http.tls_cert: PEM certificate chain file, "" */
    char *tls_key;                 /* http.tls_key: PEM private key file, "" */
    char *tls_client_ca;           /* http.tls_client_ca: PEM CA file clients' certificates
                                      must chain to (mutual TLS), "": none asked */
    uint32_t conn_memory;          /* http.conn_memory: MHD pool per connection, 16384 */
    cfg_list_t allowed_hosts;      /* http.allowed_hosts: Host names accepted besides IP
                                      literals and localhost ("*": any); none */
    cfg_list_t trusted_origins;    /* http.trusted_origins: web origins whose pages may send
                                      unsafe cross-site requests; none */
    uint32_t header_timeout_ms;    /* http.header_timeout_ms: request headers complete within,
                                      10000 */
    uint32_t max_conn_per_ip;      /* http.max_connections_per_ip: 128 */
    uint32_t max_connections;      /* http.max_connections: HTTP connections in all, 20000 */
    uint32_t idle_timeout_s;       /* http.idle_timeout_s: a connection that moves no byte
                                      is closed after (and a request body must be whole
                                      within, from its header), 60 */
    int inline_active_content;     /* http.inline_active_content: HTML/XML/SVG from devices
                                      served inline instead of as attachments: 0 */
    char *coap_listen;             /* coap.listen: "0.0.0.0:5683" */
    uint32_t nstart;               /* coap.nstart: requests in flight per device, 1 */
    uint32_t max_uploads;          /* coap.max_uploads: Block1 uploads in progress, 64 */
    uint32_t max_uploads_per_peer; /* coap.max_uploads_per_peer: ... from one address, 4 */
    uint32_t max_exchanges;        /* coap.max_exchanges: CoAP requests the gateway has in
                                      flight or queued, in all, 4096 */
    uint32_t max_pending_per_peer; /* coap.max_pending_per_peer: requests queued behind
                                      coap.nstart for one device, 64 */
    cfg_list_t dns_servers;        /* dns.servers: "IP[:PORT]" / "[IPv6]:PORT"; none: the
                                      system's /etc/resolv.conf */
    char *coap_listen_dtls;        /* coap.listen_dtls: DTLS listener, "HOST:PORT" or "off" */
    char *coap_listen_tcp;         /* coap.listen_tcp: CoAP over TCP listener, or "off" */
    char *coap_listen_tls;         /* coap.listen_tls: CoAP over TLS listener, or "off" */
    uint32_t tcp_max_connections;  /* coap.tcp_max_connections: per TCP endpoint, 1000 */
    uint32_t tcp_max_per_ip;       /* coap.tcp_max_connections_per_ip: accepted, 64 */
    uint32_t tcp_idle_s;           /* coap.tcp_idle_s: outgoing connections, 120 */
    char *dtls_cert, *dtls_key;    /* dtls.cert, dtls.key: the listener's certificate, "" */
    char *dtls_client_ca;          /* dtls.client_ca: CAs of client certificates, "" */
    char *dtls_rpk_key;            /* dtls.rpk_key: the listener's raw public key (EC key), "" */
    cfg_identity_t *identities;    /* dtls.identities: none */
    size_t nidentities;
    uint32_t dtls_max_sessions;     /* dtls.max_sessions: 10000 */
    uint32_t dtls_max_handshakes;   /* dtls.max_handshakes: 256 */
    uint32_t dtls_idle_s;           /* dtls.idle_s: 300 */
    uint32_t dtls_handshakes_per_s; /* dtls.handshakes_per_s: per source address, 10 */
    cfg_device_t *devices;
    size_t ndevices;
    cfg_group_t *groups; /* groups: group requests (RFC 7390); none */
    size_t ngroups;
    cfg_cred_t *creds; /* credentials: DTLS credentials for coaps:// devices; none */
    size_t ncreds;
    cfg_list_t allow_targets;   /* extra CIDRs or host names, on top of the defaults */
    cfg_list_t allow_origins;   /* HTTP origins ("http://10.0.0.5:8080") or CIDRs the
                                   reverse proxy may reach; none by default */
    cfg_list_t coap_clients;    /* proxy.coap_clients: sources that may use the CoAP
                                   forward proxy: 127.0.0.0/8, ::1 */
    int coap_clients_trusted;   /* proxy.coap_clients_trusted: 0 */
    uint32_t timeout_ms;        /* 10000 */
    uint32_t max_body;          /* 1048576 */
    uint32_t max_redirects;     /* proxy.max_redirects: 3xx from HTTP origins followed, 0 */
    int cache_enabled;          /* 1 */
    uint32_t cache_max_entries; /* 10000 */
    uint32_t cache_max_bytes;   /* cache.max_bytes: cached bodies in all, 67108864 (64 MiB) */
    int log_level;              /* CFG_LOG_INFO */
    int log_format;             /* CFG_LOG_TEXT */
    cfg_token_t *tokens;        /* none: no authentication */
    size_t ntokens;
    uint32_t max_subscribers;         /* SSE streams at once: 20000 */
    uint32_t sse_queue;               /* events queued per slow subscriber: 64 */
    uint32_t max_observations;        /* sse.max_observations: upstream observations, 1024 */
    uint32_t sse_max_per_target;      /* sse.max_per_target: streams of one target, 1000 */
    uint32_t sse_retry_ms;            /* sse.retry_ms: the streams' retry: field, 3000 */
    int rd_enabled;                   /* Resource Directory at coap.listen: 1 */
    uint32_t rd_max_registrations;    /* 256 */
    uint32_t rd_max_links_bytes;      /* link-format payload of one registration: 4096 */
    uint32_t rd_max_lifetime_s;       /* rd.max_lifetime_s: longest lt accepted, 604800 */
    uint32_t rd_max_per_source;       /* rd.max_per_source: registrations per source address, 16 */
    uint32_t discovery_refresh_s;     /* /.well-known/core of a device cached: 300 */
    int discovery_multicast;          /* discovery.multicast: rounds of multicast discovery, 0 */
    cfg_list_t discovery_interfaces;  /* discovery.interfaces: names; none: by route */
    cfg_list_t discovery_groups;      /* discovery.groups: 224.0.1.187, ff02::fd */
    uint32_t discovery_period_s;      /* discovery.period_s: between rounds, 300 */
    uint32_t discovery_window_ms;     /* discovery.window_ms: answers taken for, 3000 */
    char *discovery_query;            /* discovery.query: RFC 6690 §4.1 filter, "" */
    uint32_t discovery_offline_after; /* discovery.offline_after: missed rounds, 2 */
    uint32_t discovery_drop_after;    /* discovery.drop_after: missed rounds, 6 */
    uint32_t shutdown_grace_ms;       /* in-flight requests finish within: 1000 */
    char *state_path;                 /* state.path: the SQLite database of durable state,
                                         "/var/lib/coapgw/state.db"; "": memory only */
    char *state_redis;                /* state.redis: redis://HOST:PORT[/DB] or unix:/PATH
                                         shared by several gateways (replaces state.path); "" */
    char *cluster_advertise;          /* cluster.advertise: the URL the other gateways reach this
                                         one at (http://HOST:PORT); "": no forwarding */
    char *cluster_token; /* cluster.token: the secret a forwarded request carries; "" */
} cfg_t;

/* Fills c (treated as uninitialized: call cfg_free first to reuse one)
 * with the embedded defaults: the values above, one device "demo" at
 * coap://127.0.0.1:5783, no allowlist entries, no tokens. */
void cfg_defaults(cfg_t *c);

/* Loads a JSON file over c. Every key is optional; docs/configuration.md
 * lists them all (config/coapgw.example.json shows each with its default):
 *   {"http": {"listen": S, "listen_tls": S, "tls_cert": S, "tls_key": S,
 *             "tls_client_ca": S, "conn_memory": N, "allowed_hosts": [S...],
 *             "trusted_origins": [S...], "header_timeout_ms": N,
 *             "max_connections_per_ip": N, "inline_active_content": B},
 *    "coap": {"listen": S, "nstart": N, "max_uploads": N, "max_uploads_per_peer": N,
 *             "listen_dtls": S, "listen_tcp": S, "listen_tls": S, "tcp_max_connections": N,
 *             "tcp_max_connections_per_ip": N,
 *             "tcp_idle_s": N},
 *    "dns": {"servers": [S...]},
 *    "dtls": {"cert": S, "key": S, "client_ca": S, "rpk_key": S,
 *             "identities": [{"psk"|"x509"|"rpk": S, "key_file": S, "key_env": S,
 *                             "names": [S...], "proxy": "read"|"read-write"}, ...],
 *             "max_sessions": N, "max_handshakes": N, "idle_s": N, "handshakes_per_s": N},
 *    "devices": {NAME: "coap[s]://HOST[:PORT][/PATH]", ...},
 *    "groups": {NAME: {"address": S, "port": N, "members": [S...], "window_ms": N}, ...},
 *    "credentials": {NAME-OR-HOST: {"psk_identity": S, "psk_key_file": S,
 *                    "psk_key_env": S, "cert": S, "key": S, "ca": S, "name": S,
 *                    "rpk_key": S, "rpk_pin": S, "no_verify": B}, ...},
 *    "proxy": {"allow_targets": [S...], "allow_origins": [S...], "coap_clients": [S...],
 *              "coap_clients_trusted": B, "timeout_ms": N, "max_body_bytes": N,
 *              "max_redirects": N},
 *    "cache": {"enabled": B, "max_entries": N, "max_bytes": N},
 *    "sse": {"max_subscribers": N, "queue_events": N, "max_observations": N},
 *    "rd": {"enabled": B, "max_registrations": N, "max_links_bytes": N,
 *           "max_lifetime_s": N, "max_per_source": N},
 *    "discovery": {"refresh_s": N, "multicast": B, "interfaces": [S...], "groups": [S...],
 *                  "period_s": N, "window_ms": N, "query": S, "offline_after": N,
 *                  "drop_after": N},
 *    "tokens": [{"token": S, "scope": "read"|"read-write", "name": S}, ...],
 *    "log": {"level": "debug"|"info"|"warn"|"error", "format": "text"|"json"},
 *    "log_level": S (alias of log.level), "shutdown": {"grace_ms": N}}
 * An unknown key, a wrong type or a bad value fails with one line
 * "FILE:LINE:COL: KEY.PATH: what is wrong (expected ...)", the position
 * being the key's (or the array element's); syntax errors read
 * "FILE:LINE:COL: syntax error: ...". Returns 0, or -1 with the message in
 * err (which may be NULL when errlen is 0).
 * Loading is all-or-nothing: on failure c is left unchanged (still valid
 * and freeable). Keys absent from the file keep their values; a list or
 * the "devices" object present in the file replaces the current one (so
 * the "demo" default can be removed). */
int cfg_load_file(cfg_t *c, const char *path, char *err, size_t errlen);
/* The same for a string (name is used in messages). */
int cfg_load_string(cfg_t *c, const char *json, const char *name, char *err, size_t errlen);

/* Sets one key from its text form, the way environment variables and
 * command-line flags spell values: numbers in decimal, booleans
 * true|false|1|0, lists comma-separated, devices "NAME=URI,...", tokens
 * "TOKEN:SCOPE[:NAME],...", credentials and dtls.identities as their
 * JSON. CFG_APPEND adds to a list (devices: adds or replaces that name;
 * dtls.identities: appends) instead of replacing it. Messages start with
 * label (the variable or flag), never echo a token. Returns 0, or -1
 * with c unchanged and the message in err. */
enum { CFG_REPLACE, CFG_APPEND };
int cfg_set(cfg_t *c, const char *key, const char *value, int mode, const char *label, char *err,
            size_t errlen);

/* The environment overlay: every key K has a variable "COAPGW_" + K upper
 * case with '.' as '_' (COAPGW_PROXY_TIMEOUT_MS, COAPGW_DEVICES,
 * COAPGW_TOKENS); get looks one up (getenv-like: NULL when unset). Applied
 * all-or-nothing; a bad value fails naming the variable. */
typedef const char *(*cfg_getenv_fn)(const char *name, void *arg);
int cfg_apply_env(cfg_t *c, cfg_getenv_fn get, void *arg, char *err, size_t errlen);

/* The keys, in documentation order ("http.listen", ..., "tokens"), for
 * i < cfg_key_count(); their environment variable into buf. */
size_t cfg_key_count(void);
const char *cfg_key_name(size_t i);
const char *cfg_env_name(const char *key, char *buf, size_t cap);

/* Setters used for command-line flags (they replace or append). Both copy
 * the value and return -1, changing nothing, for NULL or out of memory. */
int cfg_set_string(char **field, const char *value);
int cfg_add_allow_target(cfg_t *c, const char *pattern);
int cfg_add_allow_origin(cfg_t *c, const char *pattern);
int cfg_list_add(cfg_list_t *l, const char *item);
void cfg_list_free(cfg_list_t *l);
/* "debug"|"info"|"warn"|"error" -> level, or -1. */
int cfg_parse_log_level(const char *s);
/* "text"|"json" -> format, or -1. */
int cfg_parse_log_format(const char *s);

/* Whether a listen address ("127.0.0.1:8080", "[::1]:80") is loopback
 * only: the gateway warns when it listens elsewhere without tokens. */
int cfg_listen_is_loopback(const char *listen);
/* Whether an HTTP listener is switched off ("off": http.listen, http.listen_tls). */
int cfg_listen_off(const char *listen);

/* cluster.advertise (cfg_cluster.c): "" or an origin http(s)://HOST:PORT
 * (no path, query or user information). Also the check of the URL another
 * gateway's record carries, before anything is forwarded there. 0, or -1
 * with why. */
int cfg_check_advertise(const char *s, char *why, size_t cap);
/* state.redis read (cfg_redis.c): a TCP host and port (and database), or
 * a Unix socket path; the password when the URL has one. */
typedef struct {
    char host[256];
    int port, db;
    char path[108]; /* unix:/PATH; "" for TCP */
    char password[128];
} cfg_redis_url_t;
/* 0, or -1 with the reason in why. */
int cfg_redis_url(const char *url, cfg_redis_url_t *u, char *why, size_t cap);

/* Rules that tie keys together, checked once every source is applied (at
 * start and on reload): with tokens configured, proxy.coap_clients may
 * reach beyond loopback only when proxy.coap_clients_trusted says so, since
 * the CoAP forward proxy has no tokens and would bypass them. HTTPS: at
 * least one of http.listen and http.listen_tls is on; http.listen_tls
 * needs http.tls_cert and http.tls_key, and the http.tls_* files are
 * only for it; the key file exists and grants other users nothing (it is
 * checked on disk), and so do the key files of credentials. DTLS
 * listener: the dtls.* credentials only with coap.listen_dtls on, and
 * what each identity form needs (cfg_check_dtls), its key files checked
 * the same way. Returns 0, or -1 with a message naming the keys in err. */
int cfg_check_consistency(const cfg_t *c, char *err, size_t errlen);

/* dst's dtls.identities become a copy of src's (a reload that keeps the
 * running DTLS listener's). Returns 0, or -1 with dst unchanged. */
int cfg_set_identities(cfg_t *dst, const cfg_t *src);

/* Deep copy; dst is freeable even when this fails (-1). */
int cfg_copy(cfg_t *dst, const cfg_t *src);
void cfg_free(cfg_t *c);

#endif
