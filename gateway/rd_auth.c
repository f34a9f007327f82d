/*
 * rd_auth.c - who may do what in the Resource Directory (RFC 9176 §7
 * leaves the policy to the directory; docs/rd.md tells this one).
 *
 * Over the DTLS listener the requester is its authenticated identity,
 * looked up in dtls.identities: it may register the names listed for it
 * (exact, or a prefix with *), and a registration it makes is bound to
 * it: nobody else, plaintext or another identity, may read, change or
 * remove it, and no plaintext registration may take a name an identity
 * may register. An identity that is not configured has no rights, nor
 * has a DTLS client that authenticated none.
 *
 * In plaintext the source address is all there is to go by: before the
 * server keeps anything for a request (a Block1 upload), only sources
 * that are allowed targets or in proxy.coap_clients get in, and /rd/ID
 * is its owner's (the registering host, any port) and proxy.coap_clients'
 * alone; everyone else gets a bare 4.03.
 */
#include "rd_internal.h"

#include "gw_clients.h"

#include <stdio.h>
#include <string.h>

void rd_call_init(rd_call_t *c, gw_rd_t *rd, coap_server_t *srv, const coap_server_request_t *req)
{
    c->rd = rd;
    c->srv = srv;
    c->req = req;
    c->id = gw_ids_find(rd->gw->ids, req->identity);
    c->who[0] = '\0';
    if (c->id) snprintf(c->who, sizeof c->who, "%s", c->id->label);
}

/* RFC 7252 §11.3: asked before the server keeps anything for the request,
 * and a refusal is bare, never larger than what a forged source sent. */
uint8_t rd_admit(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    gw_rd_t *rd = arg;
    gw_t *gw = rd->gw;
    rd_reg_t *r = NULL;
    /* DTLS and TLS: the identity decides (none, no rights) */
    if (req->identity || srv == gw->dtls_srv || srv == gw->tls_srv) {
        const gw_id_t *e = gw_ids_find(gw->ids, req->identity);
        if (!e) return COAP_FORBIDDEN;
        if (req->nsegs != 2) return 0;
        if (!(r = rd_reg_by_id(rd, req->segs[1].s, req->segs[1].len))) return COAP_NOT_FOUND;
        return r->owner && !strcmp(r->owner, e->label) ? 0 : COAP_FORBIDDEN;
    }
    int trusted = gw_clients_allow(gw->coap_clients, req->peer);
    if (!trusted && !gw_acl_allows_addr(gw->acl, req->peer)) return COAP_FORBIDDEN;
    if (req->nsegs != 2) return 0;
    if (!(r = rd_reg_by_id(rd, req->segs[1].s, req->segs[1].len))) return COAP_NOT_FOUND;
    if (r->owner) return COAP_FORBIDDEN; /* bound to an identity */
    return trusted || coap_addr_same_host(&r->registrant, req->peer) ? 0 : COAP_FORBIDDEN;
}

/* Who may take a name: nobody when a configured device has it, whatever
 * the case; over DTLS the names of the identity; in plaintext no name an
 * identity may register. §5: the same endpoint registering again
 * replaces its registration; another one may not take the name (or a
 * case variant of it), whatever base it gives: the base is no proof of
 * identity, anyone can write it. */
int rd_may_take_name(const rd_call_t *c, const char *ep, rd_reg_t **reg)
{
    gw_rd_t *rd = c->rd;
    char diag[RD_LABEL_MAX + 120];
    const char *refuse = NULL;
    *reg = rd_reg_by_name(rd, ep);
    rd_reg_t *r = *reg;
    if (rd_name_configured(rd, ep)) {
        refuse = "name taken by a configured device";
    } else if (c->id && !gw_id_may_register(c->id, ep)) {
        snprintf(diag, sizeof diag,
                 "ep: %s may not register \"%s\" (see its names in dtls.identities)", c->who, ep);
        refuse = diag;
    } else if (!c->id && gw_ids_reserved(rd->gw->ids, ep)) {
        refuse = "name kept for a DTLS identity (dtls.identities): register over DTLS";
    } else if (r && r->owner && (!c->id || strcmp(r->owner, c->who))) {
        refuse = "name registered by another endpoint";
    } else if (r && !r->owner && !c->id && !coap_addr_same_host(&r->registrant, c->req->peer)) {
        refuse = "name registered by another endpoint";
    }
    if (refuse) rd_answer(c, COAP_FORBIDDEN, refuse);
    return refuse == NULL;
}

/* rd.max_per_source from this address (or this identity over DTLS: many
 * devices may share one address behind NAT), 4.03 beyond (who asks is
 * the obstacle: no smaller request would pass, unlike 4.13), then
 * rd.max_registrations in all, 4.13 with Size1. */
int rd_room_for_new(const rd_call_t *c)
{
    gw_rd_t *rd = c->rd;
    const cfg_t *cfg = &rd->gw->cfg;
    size_t held = c->id ? rd_regs_of(rd, c->who) : rd_regs_from(rd, c->req->peer);
    if (held >= cfg->rd_max_per_source) {
        char diag[120];
        snprintf(diag, sizeof diag, "%u registrations from this %s already (rd.max_per_source)",
                 cfg->rd_max_per_source, c->id ? "identity" : "address");
        rd_answer(c, COAP_FORBIDDEN, diag);
        return 0;
    }
    if (gw_devices_count(rd->gw, GW_DEV_RD) >= cfg->rd_max_registrations) {
        rd_too_large(c, cfg->rd_max_registrations, "too many registrations (rd.max_registrations)");
        return 0;
    }
    return 1;
}

int rd_may_change(const rd_call_t *c, const rd_reg_t *r)
{
    if (r->owner || c->id) return r->owner && c->id && !strcmp(r->owner, c->who);
    return coap_addr_same_host(&r->registrant, c->req->peer);
}
