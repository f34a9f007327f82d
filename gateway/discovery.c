/*
 * discovery.c - multicast discovery (RFC 7252 §8, §12.8; docs/discovery.md).
 * A round sends one NON GET /.well-known/core (RFC 6690 §4, with the
 * discovery.query filter of §4.1) to each of discovery.groups on each of
 * discovery.interfaces, from an endpoint of its own, and takes the answers
 * for discovery.window_ms (§8.2). Each responder becomes a device of
 * source GW_DEV_DISC, keyed by its address: named after the `ep`
 * attribute of its links where it gives one (RFC 9176 §5), else after its
 * address ("mc-10-77-0-11"); a name already taken gets a suffix -2..-9,
 * and a responder with none free is skipped. A responder that misses
 * discovery.offline_after rounds in a row shows offline; after
 * discovery.drop_after it is removed. Reaching it at /devices/NAME/...
 * goes through the target allowlist like any address (target.c).
 */
#include "gw_discovery.h"
#include "coap_block.h"
#include "coap_link.h"

#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FIRST_ROUND_MS 1000
#define NAME_CAP       64
#define SUFFIXES       9
#define PER_HOST       16  /* discovered devices at one address (on its ports) */
#define URI_CAP        160 /* coap://[ADDRESS%25ZONE]:PORT */

struct gw_disc {
    gw_t *gw;
    coap_ep_t *ep; /* opened at the first round */
    coap_transport_t *tr;
    base_loop_timer_t *timer;
    unsigned pending; /* group requests of the running round */
    uint64_t rounds;
    int closing;
};

/* --- names --- */

/* The `ep` attribute of the first link that has one (RFC 9176 §5:
 * libcoap's and coapgw-sim's links may carry it), if it is a valid name. */
static int name_from_links(const char *links, size_t len, char *out, size_t cap)
{
    coap_link_iter_t it;
    coap_link_t l;
    coap_link_param_t p;
    coap_link_iter_init(&it, links, len);
    while (coap_link_next(&it, &l) == 1) {
        if (!coap_link_param_find(&l, "ep", &p)) continue;
        return coap_link_unescape(p.value, p.value_len, out, cap) < cap && gw_device_name_ok(out);
    }
    return 0;
}

/* "mc-" and the address with every other character a '-' (stable: the
 * same responder gets the same name), the port when not 5683. */
static void name_from_addr(const coap_addr_t *a, char *out, size_t cap)
{
    char host[COAP_ADDR_STRLEN];
    coap_addr_host(a, host, sizeof host);
    size_t n = (size_t)snprintf(out, cap, "mc-%s", host);
    for (size_t i = 3; i < n && i < cap; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", out[i]))
            out[i] = '-';
    if (coap_addr_port(a) != COAP_DEFAULT_PORT && n < cap)
        snprintf(out + n, cap - n, "-p%u", coap_addr_port(a));
}

/* A name no device has (configured, registered or discovered), ignoring
 * case as the Resource Directory does (no "BOILER" beside a configured
 * "boiler"): base, or base-2 .. base-9. 0 when all are taken. */
static int free_name(gw_t *gw, const char *base, char *out, size_t cap)
{
    snprintf(out, cap, "%.*s", NAME_CAP - 4, base);
    for (int i = 2; gw_device_find_nocase(gw, out); i++) {
        if (i > SUFFIXES) return 0;
        snprintf(out, cap, "%.*s-%d", NAME_CAP - 4, base, i);
    }
    return 1;
}

/* coap://HOST:PORT, the zone of a link-local address as %25 (RFC 6874). */
static void uri_of(const coap_addr_t *a, char *out, size_t cap)
{
    char host[COAP_ADDR_STRLEN];
    coap_addr_host(a, host, sizeof host);
    char *zone = strchr(host, '%');
    if (zone) *zone++ = '\0';
    if (a->u.sa.sa_family == AF_INET6)
        snprintf(out, cap, "coap://[%s%s%s]:%u", host, zone ? "%25" : "", zone ? zone : "",
                 coap_addr_port(a));
    else
        snprintf(out, cap, "coap://%s:%u", host, coap_addr_port(a));
}

/* --- responders --- */

typedef struct {
    const coap_addr_t *addr;
    gw_device_t *found;
    unsigned same_host; /* discovered devices at that address, any port */
} by_addr_t;

static void match_addr(const char *key, void *value, void *arg)
{
    (void)key;
    by_addr_t *x = arg;
    gw_device_t *d = value;
    if (d->source != GW_DEV_DISC || !coap_addr_same_host(&d->addr, x->addr)) return;
    x->same_host++;
    if (!x->found && coap_addr_equal(&d->addr, x->addr)) x->found = d;
}

/* The discovered device at a, or NULL; *same_host: how many at its host. */
static gw_device_t *discovered_at(gw_t *gw, const coap_addr_t *a, unsigned *same_host)
{
    by_addr_t x = {a, NULL, 0};
    gw_strmap_each(gw->devices, match_addr, &x);
    *same_host = x.same_host;
    return x.found;
}

/* A new responder. One host answering from many source ports is at most
 * PER_HOST of them: the table's GW_DISC_MAX_DEVICES are for the network,
 * not for the first host that fills it (skipped in silence: a log line
 * per answer would be a flood of its own). */
static gw_device_t *add_responder(gw_t *gw, const coap_addr_t *a, unsigned same_host,
                                  const uint8_t *body, size_t len)
{
    if (same_host >= PER_HOST) return NULL;
    if (gw_devices_count(gw, GW_DEV_DISC) >= GW_DISC_MAX_DEVICES) {
        gw_log(CFG_LOG_WARN, "discovery: %u devices discovered already; a responder skipped",
               GW_DISC_MAX_DEVICES);
        return NULL;
    }
    char base[NAME_CAP], name[NAME_CAP], uri[URI_CAP];
    if (!name_from_links((const char *)body, len, base, sizeof base))
        name_from_addr(a, base, sizeof base);
    if (!free_name(gw, base, name, sizeof name)) {
        gw_log(CFG_LOG_WARN, "discovery: names %s to %s-%d are taken; responder skipped", base,
               base, SUFFIXES);
        return NULL;
    }
    uri_of(a, uri, sizeof uri);
    gw_device_t *d = gw_device_add(gw, name, uri, a, GW_DEV_DISC);
    if (!d) return NULL;
    d->first_seen = (int64_t)time(NULL);
    gw_log(CFG_LOG_INFO, "discovery: %s at %s", name, uri);
    return d;
}

static void set_links(gw_device_t *d, const uint8_t *body, size_t len)
{
    if (d->links && d->links_len == len && !memcmp(d->links, body, len)) return;
    char *copy = malloc(len + 1);
    if (!copy) return;
    memcpy(copy, body, len);
    copy[len] = '\0';
    free(d->links);
    d->links = copy;
    d->links_len = len;
}

typedef struct {
    gw_t *gw; /* outlives gw->ep, and so this request */
    char name[NAME_CAP];
} refetch_t;

static void on_refetched(coap_req_t *req, const coap_resp_t *r, void *arg)
{
    (void)req;
    refetch_t *f = arg;
    gw_device_t *d = gw_device_find(f->gw, f->name);
    if (d && d->source == GW_DEV_DISC) {
        d->refetching = 0;
        if (!r->err && r->msg->code == COAP_CONTENT) set_links(d, r->body, r->body_len);
    }
    free(f);
}

/* The group answer was the first block of longer links (RFC 7959 §2.8):
 * the whole by unicast, when the allowlist lets the gateway reach it.
 * One fetch at a time per responder: each answer of a round (a responder
 * may send many, each announcing other links) would otherwise queue one
 * more request, taking coap.max_exchanges from everyone. */
static void refetch(gw_t *gw, gw_device_t *d)
{
    char why[GW_MSG_MAX], uri[URI_CAP + 32];
    if (d->refetching || gw_acl_check_target(gw->acl, &d->addr, NULL, why, sizeof why)) return;
    snprintf(uri, sizeof uri, "%s/.well-known/core", d->uri);
    int err;
    refetch_t *f = calloc(1, sizeof *f);
    coap_req_t *req = f ? coap_req_new(gw->ep, COAP_GET, uri, &d->addr, &err) : NULL;
    if (!req) {
        free(f);
        return;
    }
    f->gw = gw;
    snprintf(f->name, sizeof f->name, "%s", d->name);
    coap_req_set_timeout(req, gw->cfg.timeout_ms);
    coap_req_set_max_body(req, gw->cfg.rd_max_links_bytes);
    d->refetching = 1; /* before: whatever the callback does comes after */
    if (coap_req_send(req, on_refetched, f)) {
        d->refetching = 0;
        free(f);
    }
}

static void responder(gw_disc_t *d, const coap_resp_t *r)
{
    gw_t *gw = d->gw;
    coap_addr_t a = *r->peer;
    coap_addr_unmap(&a);
    unsigned same_host;
    gw_device_t *dev = discovered_at(gw, &a, &same_host);
    if (!dev && !(dev = add_responder(gw, &a, same_host, r->body, r->body_len))) return;
    dev->missed = 0;
    dev->online = 1;
    dev->last_seen = (int64_t)time(NULL);
    coap_block_info_t b;
    if (coap_block_get(r->msg, COAP_OPT_BLOCK2, &b) != 1 || !b.more)
        set_links(dev, r->body, r->body_len);
    else if (!dev->links || dev->links_len < r->body_len ||
             memcmp(dev->links, r->body, r->body_len)) /* new, or changed */
        refetch(gw, dev);
}

/* --- rounds --- */

typedef struct {
    gw_t *gw;
    gw_device_t *drop[64];
    size_t ndrop;
} round_end_t;

static void judge(const char *key, void *value, void *arg)
{
    (void)key;
    round_end_t *x = arg;
    gw_device_t *d = value;
    if (d->source != GW_DEV_DISC || !d->missed) return;
    if (d->missed >= x->gw->cfg.discovery_offline_after) d->online = 0;
    if (d->missed >= x->gw->cfg.discovery_drop_after && x->ndrop < 64) x->drop[x->ndrop++] = d;
}

/* Every discovered device missed this round unless it answered (which
 * set missed back to 0): offline, then dropped. */
static void round_end(gw_disc_t *d)
{
    round_end_t x = {.gw = d->gw};
    d->rounds++;
    gw_strmap_each(d->gw->devices, judge, &x);
    for (size_t i = 0; i < x.ndrop; i++) {
        gw_log(CFG_LOG_INFO, "discovery: %s dropped after %u silent rounds", x.drop[i]->name,
               x.drop[i]->missed);
        gw_device_remove(d->gw, x.drop[i]);
    }
}

static void count_miss(const char *key, void *value, void *arg)
{
    (void)key;
    (void)arg;
    gw_device_t *d = value;
    if (d->source == GW_DEV_DISC) d->missed++;
}

static void on_answer(coap_req_t *req, const coap_resp_t *r, void *arg)
{
    (void)req;
    gw_disc_t *d = arg;
    if (r->last) {
        if (r->err && r->err != COAP_ERR_CANCELLED)
            gw_log(CFG_LOG_WARN, "discovery: %s", coap_strerror(r->err));
        if (--d->pending == 0 && !d->closing) round_end(d);
        return;
    }
    /* an empty listing names nothing to reach (a filter that matched
     * nothing, RFC 6690 §4.1, which a member should not answer at all) */
    if (!d->closing && r->msg && r->msg->code == COAP_CONTENT && r->body_len) responder(d, r);
}

/* One group request: group on interface ifindex (0: by route). */
static void send_group(gw_disc_t *d, const char *group, unsigned ifindex)
{
    const cfg_t *c = &d->gw->cfg;
    coap_addr_t a;
    char uri[128];
    int err = coap_addr_from_host(&a, group, COAP_DEFAULT_PORT);
    int v6 = !err && a.u.sa.sa_family == AF_INET6;
    /* link- and interface-local groups need the interface as scope */
    if (v6 && (IN6_IS_ADDR_MC_LINKLOCAL(&a.u.v6.sin6_addr) ||
               IN6_IS_ADDR_MC_NODELOCAL(&a.u.v6.sin6_addr)))
        a.u.v6.sin6_scope_id = ifindex;
    snprintf(uri, sizeof uri, "coap://%s%s%s/.well-known/core", v6 ? "[" : "", group,
             v6 ? "]" : "");
    coap_req_t *req = err ? NULL : coap_req_new(d->ep, COAP_GET, uri, &a, &err);
    if (req && *c->discovery_query) err = coap_req_add_query(req, c->discovery_query);
    if (req && !err) {
        coap_req_set_group(req, c->discovery_window_ms);
        d->pending++; /* counted first: the round ends when it is back at 0 */
        err = coap_req_send(req, on_answer, d); /* on failure req is freed */
        if (err) d->pending--;
    } else if (req) {
        coap_req_cancel(req);
    }
    if (err) gw_log(CFG_LOG_WARN, "discovery: %s: %s", group, coap_strerror(err));
}

static int open_endpoint(gw_disc_t *d)
{
    /* many group requests at once to one group (one per interface) */
    coap_ep_params_t p = {.nstart = 255, .max_body = d->gw->cfg.max_body};
    int err;
    coap_addr_t any;
    if (!(d->tr = coap_transport_udp_new(NULL, &err))) { /* no IPv6 here: IPv4 only */
        coap_addr_from_host(&any, "0.0.0.0", 0);
        d->tr = coap_transport_udp_new(&any, &err);
    }
    if (!d->tr || !(d->ep = coap_ep_new_on(d->tr, &p, &err))) {
        gw_log(CFG_LOG_ERROR, "discovery: cannot open a socket: %s", coap_strerror(err));
        d->tr = NULL;
        return -1;
    }
    coap_ep_attach(d->ep, d->gw->loop);
    return 0;
}

/* Each named interface in turn (the group requests leave at once, so the
 * interface set for one holds for it), or once by route. */
static void send_round(gw_disc_t *d)
{
    const cfg_t *c = &d->gw->cfg;
    size_t nif = c->discovery_interfaces.n;
    for (size_t i = 0; i < (nif ? nif : 1); i++) {
        unsigned ifindex = nif ? if_nametoindex(c->discovery_interfaces.v[i]) : 0;
        if (nif && !ifindex) {
            gw_log(CFG_LOG_WARN, "discovery: no interface %s", c->discovery_interfaces.v[i]);
            continue;
        }
        int err = coap_transport_udp_multicast_if(d->tr, ifindex);
        if (err) {
            gw_log(CFG_LOG_WARN, "discovery: interface %s: %s", c->discovery_interfaces.v[i],
                   coap_strerror(err));
            continue;
        }
        for (size_t g = 0; g < c->discovery_groups.n; g++)
            send_group(d, c->discovery_groups.v[g], ifindex);
    }
}

int gw_disc_round(gw_disc_t *d)
{
    if (!d->gw->cfg.discovery_multicast) return GW_DISC_OFF;
    if (d->pending) return GW_DISC_RUNNING;
    if (!d->ep && open_endpoint(d)) return GW_DISC_FAILED;
    gw_strmap_each(d->gw->devices, count_miss, NULL); /* until it answers */
    send_round(d);
    if (d->pending) return GW_DISC_STARTED;
    round_end(d); /* nothing went out: a round nobody answered */
    return GW_DISC_FAILED;
}

static void on_timer(base_loop_t *loop, base_loop_timer_t *t, void *arg)
{
    (void)loop;
    gw_disc_t *d = arg;
    gw_disc_round(d);
    base_loop_timer_arm_in(t, (uint64_t)d->gw->cfg.discovery_period_s * 1000);
}

gw_disc_t *gw_disc_new(gw_t *gw)
{
    gw_disc_t *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->gw = gw;
    if (!(d->timer = base_loop_timer_new(gw->loop, on_timer, d))) {
        free(d);
        return NULL;
    }
    base_loop_timer_arm_in(d->timer, FIRST_ROUND_MS);
    return d;
}

void gw_disc_free(gw_disc_t *d)
{
    if (!d) return;
    d->closing = 1;
    base_loop_timer_free(d->timer);
    if (d->ep) {
        coap_ep_detach(d->ep, d->gw->loop);
        coap_ep_free(d->ep); /* the round's requests end: on_answer, closing */
    }
    free(d);
}

uint64_t gw_disc_rounds(const gw_disc_t *d)
{
    return d->rounds;
}

int gw_disc_running(const gw_disc_t *d)
{
    return d->pending > 0;
}
