/*
 * gw_devices.h - the device registry: named CoAP devices reachable as
 * /devices/NAME/..., from the configuration and from Resource Directory
 * registrations (RFC 9176). Internal to gateway/.
 */
#ifndef GW_DEVICES_H
#define GW_DEVICES_H

#include "coap_addr.h"

#include <stddef.h>
#include <stdint.h>

struct gw;

/* where a device comes from: the configuration, a Resource Directory
 * registration, multicast discovery (discovery.c) */
enum { GW_DEV_CONFIG, GW_DEV_RD, GW_DEV_DISC };

typedef struct gw_device {
    char *name;
    char *uri;         /* base URI, without a trailing slash */
    coap_addr_t addr;  /* an IP literal's at once; a host name's when it resolves */
    int resolved;      /* addr is set (a host name: resolved at least once) */
    int source;        /* GW_DEV_CONFIG, GW_DEV_RD or GW_DEV_DISC */
    int online;        /* the last exchange with it got an answer */
    int64_t last_seen; /* wall clock (seconds since the epoch) of that answer, 0: never */
    /* Resource Directory registration (source GW_DEV_RD) */
    char rd_id[16];      /* the registration resource is /rd/ID */
    uint32_t lifetime_s; /* lt */
    uint64_t expires_ms; /* on the loop clock */
    /* the registered link-format payload, or a discovered responder's
     * answer to the group GET /.well-known/core (may be NULL) */
    char *links;
    size_t links_len;
    /* how it authenticated when it registered: "psk:NAME", "x509:DN",
     * "rpk:SHA256"; NULL: plaintext (and every configured device) */
    char *auth;
    /* registered over the DTLS listener without a base: reached through
     * that session (gw->dtls_ep, addr being the session's peer) */
    int via_session;
    /* registered over the TCP listener: reached over that connection
     * (gw->tcp_srv_ep, addr being its peer); offline once it closes */
    int via_conn;
    /* multicast discovery (source GW_DEV_DISC): when it first answered
     * (wall clock, s) and the rounds it has missed since it last did */
    int64_t first_seen;
    uint32_t missed;
    int refetching; /* its whole links are being fetched (one fetch at a time) */
    /* ... over another gateway's listener (state.redis): its session lives
     * there. That gateway's instance text and cluster.advertise URL ("":
     * none), or NULL when the session is here (forward.c) */
    char *held_by, *held_at;
    /* Discovery cache, owned by api.c: freed with disc_free when the device goes. */
    void *disc;
    void (*disc_free)(void *disc);
} gw_device_t;

/* Valid device names: [A-Za-z0-9_.-]{1,63}, not only dots (".", ".."). */
int gw_device_name_ok(const char *name);

/* Adds every configured device (at start; host names are resolved on the
 * loop: gw_devices_prefetch starts their queries once it runs; a reload
 * starts them itself). */
int gw_devices_load(struct gw *gw, char *err, size_t errlen);
void gw_devices_prefetch(struct gw *gw);
/* Replaces the configured devices with those of gw->cfg (after a reload):
 * devices that stay keep their state; registered ones stay unless their
 * name is now configured. Returns 0 or -1 with err. */
int gw_devices_reload(struct gw *gw, char *err, size_t errlen);
void gw_devices_free(struct gw *gw);

gw_device_t *gw_device_find(struct gw *gw, const char *name);
/* The device of this name, or else one whose name differs only in case. */
gw_device_t *gw_device_find_nocase(struct gw *gw, const char *name);
/* A device whose URI has this host (name or literal) and port. */
gw_device_t *gw_device_by_host(struct gw *gw, const char *host, uint16_t port);
/* The device at this address and port (the first found), or NULL. */
gw_device_t *gw_device_by_addr(struct gw *gw, const coap_addr_t *addr);
/* Adds a registered device (name must be free). Takes copies. */
gw_device_t *gw_device_add_rd(struct gw *gw, const char *name, const char *uri,
                              const coap_addr_t *addr);
/* The same for a device of another source (GW_DEV_RD, GW_DEV_DISC). A
 * source other than GW_DEV_DISC takes the name from discovered devices
 * (any case), which are removed. */
gw_device_t *gw_device_add(struct gw *gw, const char *name, const char *uri,
                           const coap_addr_t *addr, int source);
/* The host name of configured device d resolved to addr (target.c): the
 * device is at addr now (notifications, online). */
void gw_device_follow(struct gw *gw, const gw_device_t *d, const coap_addr_t *addr);
/* Removes and frees a device. */
void gw_device_remove(struct gw *gw, gw_device_t *d);
size_t gw_devices_count(struct gw *gw, int source);

/* Every device, sorted by name; returns how many (at most cap). */
size_t gw_devices_list(struct gw *gw, gw_device_t **out, size_t cap);

/* An exchange with addr got an answer (ok) or none: updates online and
 * last_seen of every device at that address. */
void gw_devices_mark(struct gw *gw, const coap_addr_t *addr, int ok);
/* The connection from addr to the TCP (tls 0) or TLS (tls 1) listener
 * ended: the device registered over it (via_conn) is offline. */
void gw_devices_conn_closed(struct gw *gw, const coap_addr_t *addr, int tls);

#endif
