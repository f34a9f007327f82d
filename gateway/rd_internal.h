/*
 * rd_internal.h - what the parts of the Resource Directory share: rd.c
 * (the registration interface, RFC 9176 §5), rd_params.c (parameters,
 * payload, base), rd_auth.c (who may do what, RFC 9176 §7) and
 * rd_regs.c (the table of registrations: ownership, names, lifetimes).
 * Internal to the Resource Directory.
 */
#ifndef RD_INTERNAL_H
#define RD_INTERNAL_H

#include "gw_ids.h"
#include "gw_rd.h"
#include "gw_rdlookup.h"
#include "gw_store.h"

#define RD_DEFAULT_LT 90000u /* RFC 9176 §5: 25 hours */
#define RD_SERVERS    4      /* coap.listen, coap.listen_dtls, coap.listen_tcp, coap.listen_tls */
#define RD_LABEL_MAX  1100   /* "x509:" and a subject DN */
#define RD_LOOKUPS    2      /* /rd-lookup/ep and /rd-lookup/res (RFC 9176 §6) */

/* A registration is (id, name, owner): the device is looked up by name
 * each time (reg_device), so a reload that drops it leaves nothing
 * dangling here. */
typedef struct rd_reg {
    struct rd_reg *next;
    char id[16];
    char name[64];
    coap_addr_t registrant; /* the source of its latest registration or update */
    int implicit_base;      /* no base given: the source address is the base */
    /* The DTLS identity it is bound to ("psk:NAME", "x509:DN",
     * "rpk:SHA256"), the only one that may read, change or remove it;
     * NULL: registered in plaintext, owned by the registrant's host. */
    char *owner;
    int taken_here; /* registered or updated through this gateway (state.redis) */
} rd_reg_t;

typedef struct rd_simple rd_simple_t;   /* rd_simple.c */
typedef struct rd_pending rd_pending_t; /* rd_store.c */

struct gw_rd {
    gw_t *gw;
    coap_server_t *srv[RD_SERVERS];
    coap_server_resource_t *res[RD_SERVERS];
    coap_server_resource_t *lookup[RD_SERVERS][RD_LOOKUPS]; /* rd_lookup_serve.c */
    size_t nsrv;
    base_loop_timer_t *timer;
    /* lookup notifications (rd_lookup_serve.c): the next run waits for
     * notify_timer when the last one is less than a gap ago */
    base_loop_timer_t *notify_timer;
    uint64_t notified_ms;
    rd_reg_t *regs;
    /* simple registration (rd_simple.c): on coap.listen only */
    coap_server_t *simple_srv;
    coap_server_resource_t *simple_res;
    rd_simple_t *simple; /* fetches of /.well-known/core in progress */
    size_t nsimple;
    uint64_t simple_ok, simple_failed;
    rd_pending_t *pending; /* changes waiting for the store's commit */
};

/* One request to the directory: the server it came in on (NULL: a simple
 * registration's, after the fetch), and who sent it as the DTLS listener
 * authenticated it. */
typedef struct {
    gw_rd_t *rd;
    coap_server_t *srv;
    const coap_server_request_t *req;
    const gw_id_t *id;      /* its identity's entry in dtls.identities, or NULL */
    char who[RD_LABEL_MAX]; /* the identity's label; "" in plaintext */
} rd_call_t;

/* The query parameters of a registration or an update (RFC 9176 §5). */
typedef struct {
    char ep[64];
    char base[260];
    uint32_t lt;
    int has_ep, has_base, has_lt;
} rd_params_t;

/* --- rd_params.c --- */

/* Answers the call with code and a diagnostic payload (NULL: none). */
void rd_answer(const rd_call_t *c, uint8_t code, const char *diag);
/* 4.13 with Size1 telling the limit (RFC 7959 §4). */
void rd_too_large(const rd_call_t *c, uint32_t limit, const char *diag);
/* Reads ep, lt (at most rd.max_lifetime_s) and base. Returns NULL or a
 * diagnostic (in diag or static). */
const char *rd_parse_params(const rd_call_t *c, rd_params_t *p, char *diag, size_t cap);
/* The payload's format and size; answers and returns -1 when wrong. */
int rd_check_payload(const rd_call_t *c);
/* The base of a registration or update (uri, addr): in plaintext the
 * given one or coap://SOURCE, the source and the base in the target
 * allowlist; over DTLS coaps://SOURCE, the session (no base parameter).
 * Answers and returns -1 when refused. */
int rd_resolve_base(const rd_call_t *c, const rd_params_t *p, char *uri, size_t cap,
                    coap_addr_t *addr);
/* A copy of the request's payload (the links), '\0'-terminated; NULL on
 * no memory. */
char *rd_copy_links(const coap_server_request_t *req);
/* The address of a base URI this directory made (coap://, coaps://, coap+tcp://, an
 * IP literal). 0 or -1. */
int rd_base_addr(const char *uri, coap_addr_t *addr);
/* Whether a registration's base URI is coap+tcp:// or coaps+tcp://: it
 * came over the TCP or TLS listener, and the device is reached over that
 * connection only. */
int rd_over_conn(const char *uri);
/* A registration or update from the base address itself: online now. */
void rd_mark_contact(gw_device_t *d, const coap_addr_t *peer);

/* --- rd_auth.c --- */

/* The call of req on srv: its identity looked up in dtls.identities. */
void rd_call_init(rd_call_t *c, gw_rd_t *rd, coap_server_t *srv, const coap_server_request_t *req);
/* The resource's admission (coap_resource_set_admit). */
uint8_t rd_admit(coap_server_t *srv, const coap_server_request_t *req, void *arg);
/* Whether the call may register `ep`; *reg is the registration it
 * replaces (or NULL). Answers the refusal and returns 0 otherwise. */
int rd_may_take_name(const rd_call_t *c, const char *ep, rd_reg_t **reg);
/* Room for one more registration (rd.max_per_source per source address,
 * or per identity over DTLS; rd.max_registrations in all); answers and
 * returns 0 when there is none. */
int rd_room_for_new(const rd_call_t *c);
/* Whether the call may update or remove r: its identity, or in
 * plaintext its host. */
int rd_may_change(const rd_call_t *c, const rd_reg_t *r);

/* --- rd_regs.c --- */

/* The registration's device, or NULL when a reload dropped it. */
gw_device_t *rd_reg_device(gw_rd_t *rd, const rd_reg_t *r);
/* Removes the registration from the store and from memory (and its
 * device, with a log line "rd: WHY ..."): a store that fails is logged,
 * the registration goes all the same (expired, or no longer allowed: the
 * next start drops it again). */
void rd_reg_remove(gw_rd_t *rd, rd_reg_t *r, const char *why);
/* The same in memory only. */
void rd_reg_drop(gw_rd_t *rd, rd_reg_t *r, const char *why);
/* A fresh random ID (8 hex digits), unique among the registrations. */
void rd_new_id(gw_rd_t *rd, char *id, size_t cap);
/* A new registration of `name` with this ID (NULL: a fresh one), or NULL. */
rd_reg_t *rd_reg_new(gw_rd_t *rd, const char *id, const char *name);
/* r is bound to `owner` now (NULL: plaintext). 0, or -1 on no memory. */
int rd_reg_set_owner(rd_reg_t *r, const char *owner);
/* Past their lifetime, or dropped by a reload: removed. */
void rd_sweep(gw_rd_t *rd);
/* The expiry timer, due at the earliest expiry. */
void rd_arm_expiry(gw_rd_t *rd);
void rd_on_expiry(base_loop_t *loop, base_loop_timer_t *t, void *arg);

rd_reg_t *rd_reg_by_id(gw_rd_t *rd, const char *id, size_t len);
/* The registration whose name is `name` ignoring ASCII case. */
rd_reg_t *rd_reg_by_name(gw_rd_t *rd, const char *name);
/* Whether a configured device has this name, ignoring ASCII case. */
int rd_name_configured(const gw_rd_t *rd, const char *name);
/* Plaintext registrations owned by this source address (any port). */
size_t rd_regs_from(const gw_rd_t *rd, const coap_addr_t *peer);
/* Registrations bound to this identity. */
size_t rd_regs_of(const gw_rd_t *rd, const char *owner);

/* The lifetime of a registration without lt: RFC 9176 §5's default, or
 * rd.max_lifetime_s when that is shorter. */
uint32_t rd_default_lifetime(const gw_rd_t *rd);
/* Sets lt and the expiry (now + lt) on the loop clock. */
void rd_set_lifetime(gw_rd_t *rd, gw_device_t *d, uint32_t lt);
/* After a reload (when "reload") or the restore at start ("start"): the
 * registrations the configuration in force does not allow go
 * (allowlist, configured names, identities and their names), and
 * lifetimes are cut to rd.max_lifetime_s. */
void rd_regs_recheck(gw_rd_t *rd, const char *when);
/* Forgets every registration (the devices stay in the registry). */
void rd_regs_free(gw_rd_t *rd);

/* --- rd_store.c --- */

/* An expiry on the loop clock as wall-clock seconds (rounded up). */
int64_t rd_wall_expiry(gw_rd_t *rd, uint64_t expires_ms);
/* The store's record of r and its device as they are in memory (it
 * points into them). */
void rd_store_record(gw_rd_t *rd, const rd_reg_t *r, const gw_device_t *d, gw_store_reg_t *rec);
/* Commits a registration, or deletes one; a failure is logged (and
 * counted by the store) and returns -1. */
int rd_store_put(gw_rd_t *rd, const gw_store_reg_t *rec);
int rd_store_del(gw_rd_t *rd, const rd_reg_t *r);

/* A change of the directory the store commits before it is made in
 * memory and answered (what the answer needs once the request is gone). */
typedef struct {
    char id[16], ep[64], uri[300];
    coap_addr_t addr;
    uint32_t lt;
    int has_base, is_new, implicit_base;
    char *base, *links; /* an update's, owned: the apply takes them (sets NULL) */
    size_t links_len;
} rd_change_t;
/* Makes the committed change in memory and answers; c is a copy of the
 * call (c->req has its id, peer, payload and the ep query only; c->id is
 * NULL, c->who tells the identity). */
typedef void (*rd_apply_fn)(const rd_call_t *c, rd_change_t *ch);
/* Commits rec (or deletes ch->id), then runs apply; a store that fails or
 * is down answers 5.03 (5.00 for the local file) with a diagnostic, and
 * nothing changes. Takes ch's base and links in every case. */
void rd_commit_put(const rd_call_t *c, const gw_store_reg_t *rec, rd_change_t *ch,
                   rd_apply_fn apply);
void rd_commit_del(const rd_call_t *c, rd_change_t *ch, rd_apply_fn apply);
/* The directory goes: commits in flight will answer nobody. */
void rd_commit_cancel_all(gw_rd_t *rd);

/* --- rd.c --- */

/* POST /rd?ep=NAME...: checks, commits, answers (c->srv NULL: a simple
 * registration's, whose answer goes to rd_simple_outcome). */
void rd_register(const rd_call_t *c);

/* --- rd_simple.c --- */

/* POST /.well-known/rd (RFC 9176 §5.1) on srv. 0 or -1. */
int rd_simple_serve(gw_rd_t *rd, coap_server_t *srv);
/* Removes it and cancels the fetches in progress. */
void rd_simple_free(gw_rd_t *rd);
/* The answer to a call without a server: logged and counted. */
void rd_simple_outcome(const rd_call_t *c, uint8_t code, const char *diag);

/* --- rd_lookup_serve.c --- */

/* /rd-lookup/ep and /rd-lookup/res on srv, the i-th server. 0 or -1. */
int rd_lookup_serve(gw_rd_t *rd, coap_server_t *srv, size_t i);
void rd_lookup_unserve(gw_rd_t *rd, size_t i);
/* A registration came, changed or went: observers of a lookup whose
 * result changed are notified (RFC 7641 §4.2). */
void rd_lookup_changed(gw_rd_t *rd);
/* notify_timer's callback */
void rd_lookup_on_timer(base_loop_t *loop, base_loop_timer_t *t, void *arg);
/* The registrations, sorted by name (paging needs a stable order); *eps
 * (pointing into the devices) is to be freed. 0 when none or no memory. */
size_t rd_lookup_snapshot(gw_rd_t *rd, rd_lookup_ep_t **eps);

#endif
