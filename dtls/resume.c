/*
 * resume.c - the client role's session data, kept per peer so that the
 * next handshake with it is an abbreviated one (RFC 5246 §7.3 with the
 * session ID, or an RFC 5077 ticket, whichever the peer gave). Bounded:
 * the least recently stored entry goes first.
 */
#include "dtls_internal.h"

#include <stdlib.h>

static dtls_resume_t *find(dtls_t *t, const coap_addr_t *peer)
{
    for (base_hnode_t *n = base_htab_first(&t->resume, coap_addr_hash(peer)); n;
         n = base_htab_next(n)) {
        dtls_resume_t *r = base_container_of(n, dtls_resume_t, hn);
        if (coap_addr_equal(&r->peer, peer)) return r;
    }
    return NULL;
}

static void unlink_entry(dtls_t *t, dtls_resume_t *r)
{
    base_htab_remove(&t->resume, &r->hn);
    if (r->older)
        r->older->newer = r->newer;
    else
        t->resume_oldest = r->newer;
    if (r->newer)
        r->newer->older = r->older;
    else
        t->resume_newest = r->older;
    t->nresume--;
}

static void drop(dtls_t *t, dtls_resume_t *r)
{
    unlink_entry(t, r);
    dtls_creds_unref(r->creds);
    gnutls_free(r->data.data);
    free(r);
}

void dtls_resume_store_(dtls_t *t, dtls_sess_t *s)
{
    dtls_resume_t *old = find(t, &s->peer);
    if (old) drop(t, old);
    dtls_resume_t *r = calloc(1, sizeof *r);
    if (!r) return;
    if (gnutls_session_get_data2(s->g, &r->data) < 0 || !r->data.size ||
        base_htab_insert(&t->resume, &r->hn, coap_addr_hash(&s->peer))) {
        gnutls_free(r->data.data);
        free(r);
        return;
    }
    r->peer = s->peer;
    r->creds = dtls_creds_ref(s->creds);
    r->older = t->resume_newest;
    if (r->older)
        r->older->newer = r;
    else
        t->resume_oldest = r;
    t->resume_newest = r;
    if (++t->nresume > t->p.max_resume) drop(t, t->resume_oldest);
}

void dtls_resume_apply_(dtls_t *t, dtls_sess_t *s)
{
    dtls_resume_t *r = find(t, &s->peer);
    if (!r) return;
    if (r->creds != s->creds) { /* other credentials now: a full handshake */
        drop(t, r);
        return;
    }
    gnutls_session_set_data(s->g, r->data.data, r->data.size);
}

void dtls_resume_free_all_(dtls_t *t)
{
    while (t->resume_oldest) drop(t, t->resume_oldest);
    base_htab_free(&t->resume);
}
