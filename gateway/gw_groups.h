/*
 * gw_groups.h - group requests over HTTP (RFC 7390, groupcomm-bis §3):
 * /groups/NAME/PATH. Internal to gateway/.
 */
#ifndef GW_GROUPS_H
#define GW_GROUPS_H

#include "gw.h"

/* Answers req, a request for /groups/REST (REST: "NAME/PATH", still
 * percent-encoded), after the group's window (JSON), as the answers come
 * (Accept: text/event-stream), or for as long as the client stays
 * (text/event-stream with ?observe). token: the request's bearer token
 * (NULL: none), which its event stream keeps (gw_groups_revoke). */
void gw_groups_serve(gw_t *gw, http_req_t *req, const char *rest, const char *token);
/* After a reload: every group event stream (with or without ?observe)
 * whose token (the one given to gw_groups_serve) is no longer valid ends
 * with an error event 401; one whose group is no longer configured as it
 * was (removed, another address or other members) with 404, one whose
 * group address or a member the target allowlist no longer allows with
 * 403. Returns how many ended for their token; *gone: for their group. */
size_t gw_groups_revoke(gw_t *gw, int (*still_valid)(const char *token, void *arg), void *arg,
                        size_t *gone);

#endif
