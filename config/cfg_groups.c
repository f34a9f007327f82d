/*
 * cfg_groups.c - "groups": CoAP groups the gateway sends group requests to
 * (RFC 7390, draft-ietf-core-groupcomm-bis §3), each a multicast address
 * or a list of members reached one by one. The same JSON object in the
 * file, in COAPGW_GROUPS and in --set groups=...
 */
#include "cfg_int.h"
#include "coap_addr.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW_DEFAULT_MS 2000
#define WINDOW_MIN_MS     100
#define WINDOW_MAX_MS     10000
#define MEMBERS_MAX       256

static void group_free(cfg_group_t *g)
{
    free(g->name);
    free(g->address);
    cfg_list_free(&g->members);
}

void cfg_groups_free(cfg_group_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) group_free(&v[i]);
    free(v);
}

/* A copy of g appended to *v (n entries). */
static int group_push(cfg_group_t **v, size_t *n, const cfg_group_t *g)
{
    cfg_group_t *nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv) return -1;
    *v = nv;
    cfg_group_t c = {.port = g->port, .window_ms = g->window_ms};
    int bad = !(c.name = strdup(g->name)) || (g->address && !(c.address = strdup(g->address)));
    for (size_t i = 0; i < g->members.n && !bad; i++)
        bad = cfg_list_add(&c.members, g->members.v[i]);
    if (bad) {
        group_free(&c);
        return -1;
    }
    nv[(*n)++] = c;
    return 0;
}

int cfg_groups_copy(cfg_t *dst, const cfg_t *src)
{
    dst->groups = NULL;
    dst->ngroups = 0;
    for (size_t i = 0; i < src->ngroups; i++)
        if (group_push(&dst->groups, &dst->ngroups, &src->groups[i])) return -1;
    return 0;
}

/* "224.0.1.187", "ff02::fd%br0" or "[ff02::fd%br0]": a multicast IP
 * literal (RFC 7252 §8.1), kept as written. */
static int check_address(const char *s, char *why, size_t cap)
{
    char host[128];
    size_t n = strlen(s);
    int bracketed = n >= 2 && s[0] == '[' && s[n - 1] == ']';
    snprintf(host, sizeof host, "%.*s", (int)(bracketed ? n - 2 : n), s + bracketed);
    coap_addr_t a;
    if (n >= sizeof host || coap_addr_from_host(&a, host, 5683) || !coap_addr_is_multicast(&a)) {
        snprintf(why, cap,
                 "not a multicast address (expected e.g. \"224.0.1.187\" or \"[ff02::fd%%eth0]\")");
        return -1;
    }
    return 0;
}

static int load_uint_field(cfg_ctx_t *x, json_t *v, const cfg_path_t *p, uint32_t min, uint32_t max,
                           uint32_t *out)
{
    json_int_t i = json_is_integer(v) ? json_integer_value(v) : -1;
    if (i < (json_int_t)min || i > (json_int_t)max)
        return cfg_fail(x, p, "bad value (expected an integer from %u to %u)", min, max);
    *out = (uint32_t)i;
    return 0;
}

static int load_members(cfg_ctx_t *x, json_t *v, const cfg_path_t *p, cfg_group_t *g)
{
    if (!json_is_array(v) || !json_array_size(v) || json_array_size(v) > MEMBERS_MAX)
        return cfg_fail(x, p, "bad members (expected 1 to %d \"coap://HOST[:PORT]\" strings)",
                        MEMBERS_MAX);
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *m = json_array_get(v, i);
        cfg_path_t q = *p;
        cfg_path_index(&q, i);
        char why[400];
        if (!json_is_string(m)) return cfg_fail(x, &q, "not a string (expected a coap:// URI)");
        if (cfg_check_device_uri(json_string_value(m), why, sizeof why))
            return cfg_fail(x, &q, "%s", why);
        if (cfg_list_add(&g->members, json_string_value(m)))
            return cfg_fail(x, NULL, "out of memory");
    }
    return 0;
}

static int load_field(cfg_ctx_t *x, const char *k, json_t *v, const cfg_path_t *p, cfg_group_t *g)
{
    char why[400];
    if (!strcmp(k, "address")) {
        if (!json_is_string(v)) return cfg_fail(x, p, "not a string (expected an IP literal)");
        if (check_address(json_string_value(v), why, sizeof why)) return cfg_fail(x, p, "%s", why);
        free(g->address);
        return (g->address = strdup(json_string_value(v))) ? 0 : cfg_fail(x, NULL, "out of memory");
    }
    if (!strcmp(k, "port")) return load_uint_field(x, v, p, 1, 65535, &g->port);
    if (!strcmp(k, "window_ms"))
        return load_uint_field(x, v, p, WINDOW_MIN_MS, WINDOW_MAX_MS, &g->window_ms);
    if (!strcmp(k, "members")) return load_members(x, v, p, g);
    return cfg_fail(x, p, "unknown key (expected one of address, port, members, window_ms)");
}

/* One NAME: {...} into g (zeroed by the caller). */
static int load_group(cfg_ctx_t *x, const char *name, json_t *obj, const cfg_path_t *p,
                      cfg_group_t *g)
{
    char why[400];
    g->port = 5683;
    g->window_ms = WINDOW_DEFAULT_MS;
    if (cfg_check_device_name(name, why, sizeof why)) return cfg_fail(x, p, "%s", why);
    if (!(g->name = strdup(name))) return cfg_fail(x, NULL, "out of memory");
    if (!json_is_object(obj))
        return cfg_fail(x, p,
                        "not an object (expected {\"address\": ...} or {\"members\": [...]})");
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        cfg_path_t q = *p;
        cfg_path_key(&q, json_object_iter_key(it));
        if (load_field(x, json_object_iter_key(it), json_object_iter_value(it), &q, g)) return -1;
    }
    if (!g->address == !g->members.n)
        return cfg_fail(x, p, "expected either address (a multicast group) or members");
    return 0;
}

int cfg_groups_load(cfg_ctx_t *x, json_t *obj, const cfg_path_t *p, cfg_t *c)
{
    if (!json_is_object(obj)) return cfg_fail(x, p, "not an object (expected {NAME: {...}, ...})");
    cfg_group_t *v = NULL;
    size_t n = 0;
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        cfg_path_t q = *p;
        cfg_path_key(&q, json_object_iter_key(it));
        cfg_group_t g = {0};
        int bad = load_group(x, json_object_iter_key(it), json_object_iter_value(it), &q, &g);
        if (!bad && group_push(&v, &n, &g)) bad = cfg_fail(x, NULL, "out of memory");
        group_free(&g);
        if (bad) {
            cfg_groups_free(v, n);
            return -1;
        }
    }
    cfg_groups_free(c->groups, c->ngroups);
    c->groups = v;
    c->ngroups = n;
    return 0;
}

int cfg_groups_set_text(cfg_ctx_t *x, const char *text, cfg_t *c)
{
    return cfg_set_json_text(x, text, "{NAME: {...}}", cfg_groups_load, c);
}
