/* Unit tests for "groups" (config/cfg_groups.c): every accepted form, every
 * refusal with its key path, copies, and the text form (COAPGW_GROUPS,
 * --set groups=...). docs/configuration.md, docs/discovery.md. */
#include "cfg.h"
#include "cfg_int.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A file holding {"groups": {"g": BODY}}. */
static char *doc(const char *body)
{
    static char json[4096];
    snprintf(json, sizeof json, "{\"groups\": {\"g\": %s}}", body);
    return json;
}

/* json is refused with a message holding want, and nothing is kept. */
static void bad(const char *json, const char *want)
{
    char err[600];
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_load_string(&c, json, "f.json", err, sizeof err), -1);
    ck_assert_msg(strstr(err, want) != NULL, "\"%s\" does not hold \"%s\"", err, want);
    ck_assert_uint_eq(c.ngroups, 0); /* all or nothing */
    cfg_free(&c);
}

static void good(const char *json, cfg_t *c)
{
    char err[600];
    cfg_defaults(c);
    ck_assert_msg(cfg_load_string(c, json, "f.json", err, sizeof err) == 0, "%s", err);
}

START_TEST(none_by_default)
{
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_uint_eq(c.ngroups, 0);
    ck_assert_ptr_null(c.groups);
    cfg_free(&c);
}
END_TEST

START_TEST(forms)
{
    cfg_t c;
    good("{\"groups\": {"
         " \"all\": {\"address\": \"224.0.1.187\"},"
         " \"v6\": {\"address\": \"[ff02::fd%lo]\", \"port\": 5684, \"window_ms\": 100},"
         " \"bare6\": {\"address\": \"ff05::fd\", \"window_ms\": 10000},"
         " \"uni.1\": {\"members\": [\"coap://10.0.0.1\", \"coap://[fd00::2]:5690\","
         "   \"coap://sensor.example\"], \"window_ms\": 500}}}",
         &c);
    ck_assert_uint_eq(c.ngroups, 4);
    const cfg_group_t *g = c.groups;
    ck_assert_str_eq(g[0].name, "all");
    ck_assert_str_eq(g[0].address, "224.0.1.187");
    ck_assert_uint_eq(g[0].port, 5683);      /* RFC 7252 §6.1 */
    ck_assert_uint_eq(g[0].window_ms, 2000); /* the default */
    ck_assert_uint_eq(g[0].members.n, 0);
    ck_assert_str_eq(g[1].address, "[ff02::fd%lo]"); /* kept as written */
    ck_assert_uint_eq(g[1].port, 5684);
    ck_assert_uint_eq(g[1].window_ms, 100);
    ck_assert_str_eq(g[2].address, "ff05::fd");
    ck_assert_uint_eq(g[2].window_ms, 10000);
    ck_assert_str_eq(g[3].name, "uni.1");
    ck_assert_ptr_null(g[3].address);
    ck_assert_uint_eq(g[3].members.n, 3);
    ck_assert_str_eq(g[3].members.v[1], "coap://[fd00::2]:5690");
    ck_assert_uint_eq(g[3].window_ms, 500);
    /* deep copies */
    cfg_t d;
    ck_assert_int_eq(cfg_copy(&d, &c), 0);
    ck_assert_uint_eq(d.ngroups, 4);
    ck_assert_ptr_ne(d.groups[0].name, c.groups[0].name);
    ck_assert_ptr_ne(d.groups[3].members.v, c.groups[3].members.v);
    ck_assert_str_eq(d.groups[3].members.v[2], "coap://sensor.example");
    cfg_free(&d);
    /* a later file's object replaces it */
    char err[300];
    ck_assert_int_eq(cfg_load_string(&c, "{\"groups\": {}}", "g.json", err, sizeof err), 0);
    ck_assert_uint_eq(c.ngroups, 0);
    cfg_free(&c);
    /* the largest members list */
    char json[8192] = "{\"groups\": {\"big\": {\"members\": [";
    for (int i = 0; i < 256; i++)
        snprintf(json + strlen(json), sizeof json - strlen(json), "%s\"coap://10.0.%d.%d\"",
                 i ? "," : "", i / 250, i % 250 + 1);
    strcat(json, "]}}}");
    good(json, &c);
    ck_assert_uint_eq(c.groups[0].members.n, 256);
    cfg_free(&c);
}
END_TEST

START_TEST(refused_address)
{
    bad(doc("{\"address\": \"10.0.0.1\"}"), "groups.g.address: not a multicast address");
    bad(doc("{\"address\": \"[fd00::1]\"}"), "groups.g.address: not a multicast address");
    bad(doc("{\"address\": \"sensors.example\"}"), "groups.g.address: not a multicast address");
    bad(doc("{\"address\": \"\"}"), "groups.g.address: not a multicast address");
    bad(doc("{\"address\": \"[ff02::fd%nosuchif0]\"}"), "groups.g.address: not a multicast");
    bad(doc("{\"address\": \"224.0.1.187:5683\"}"), "groups.g.address: not a multicast address");
    bad(doc("{\"address\": 224}"), "groups.g.address: not a string");
    /* the position of the offending value, like every key's */
    bad(doc("{\"address\": \"10.0.0.1\"}"), "f.json:1:19: groups.g.address");
}
END_TEST

START_TEST(refused_numbers)
{
    bad(doc("{\"address\": \"224.0.1.187\", \"port\": 0}"), "groups.g.port: bad value");
    bad(doc("{\"address\": \"224.0.1.187\", \"port\": 65536}"),
        "groups.g.port: bad value (expected an integer from 1 to 65535)");
    bad(doc("{\"address\": \"224.0.1.187\", \"port\": \"5683\"}"), "groups.g.port: bad value");
    bad(doc("{\"address\": \"224.0.1.187\", \"window_ms\": 99}"),
        "groups.g.window_ms: bad value (expected an integer from 100 to 10000)");
    bad(doc("{\"address\": \"224.0.1.187\", \"window_ms\": 10001}"),
        "groups.g.window_ms: bad value");
    bad(doc("{\"address\": \"224.0.1.187\", \"window_ms\": 1.5}"), "groups.g.window_ms: bad value");
}
END_TEST

START_TEST(refused_shape)
{
    bad("{\"groups\": {\"a b\": {\"address\": \"224.0.1.187\"}}}", "groups.a b: ");
    bad("{\"groups\": {\"\": {\"address\": \"224.0.1.187\"}}}", "groups.: ");
    bad("{\"groups\": {\"a/b\": {\"address\": \"224.0.1.187\"}}}", "groups.a/b: ");
    bad("{\"groups\": []}", "groups: not an object");
    bad(doc("\"224.0.1.187\""), "groups.g: not an object");
    bad(doc("{}"), "groups.g: expected either address (a multicast group) or members");
    bad(doc("{\"address\": \"224.0.1.187\", \"members\": [\"coap://10.0.0.1\"]}"),
        "groups.g: expected either address");
    bad(doc("{\"address\": \"224.0.1.187\", \"ttl\": 1}"),
        "groups.g.ttl: unknown key (expected one of address, port, members, window_ms)");
    bad("{\"groups\": {\"g\": {\"address\": \"224.0.1.187\"}, \"g\": {\"address\": "
        "\"224.0.1.188\"}}}",
        "duplicate");
}
END_TEST

START_TEST(refused_members)
{
    bad(doc("{\"members\": []}"), "groups.g.members: bad members (expected 1 to 256");
    bad(doc("{\"members\": \"coap://10.0.0.1\"}"), "groups.g.members: bad members");
    char json[8192] = "{\"groups\": {\"g\": {\"members\": [";
    for (int i = 0; i < 257; i++)
        snprintf(json + strlen(json), sizeof json - strlen(json), "%s\"coap://10.0.%d.%d\"",
                 i ? "," : "", i / 250, i % 250 + 1);
    strcat(json, "]}}}");
    bad(json, "groups.g.members: bad members (expected 1 to 256");
    bad(doc("{\"members\": [\"coap://10.0.0.1\", 7]}"),
        "groups.g.members[1]: not a string (expected a coap:// URI)");
    bad(doc("{\"members\": [\"http://10.0.0.1\"]}"), "groups.g.members[0]: ");
    bad(doc("{\"members\": [\"coap://\"]}"), "groups.g.members[0]: ");
    bad(doc("{\"members\": [\"coap://10.0.0.1:99999\"]}"), "groups.g.members[0]: ");
    bad(doc("{\"members\": [\"10.0.0.1\"]}"), "groups.g.members[0]: ");
}
END_TEST

/* COAPGW_GROUPS and --set groups=...: the same JSON object. */
static const char *env_groups(const char *name, void *arg)
{
    return !strcmp(name, "COAPGW_GROUPS") ? arg : NULL;
}

START_TEST(text_form)
{
    char err[600];
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_set(&c, "groups", "{\"a\": {\"address\": \"224.0.1.187\"}}", CFG_REPLACE,
                             "--set groups", err, sizeof err),
                     0);
    ck_assert_uint_eq(c.ngroups, 1);
    ck_assert_str_eq(c.groups[0].address, "224.0.1.187");
    /* a value replaces the whole object */
    ck_assert_int_eq(cfg_set(&c, "groups", "{\"b\": {\"members\": [\"coap://10.0.0.1\"]}}",
                             CFG_REPLACE, "--set groups", err, sizeof err),
                     0);
    ck_assert_uint_eq(c.ngroups, 1);
    ck_assert_str_eq(c.groups[0].name, "b");
    /* refusals name the flag and the path inside the value; c unchanged */
    ck_assert_int_eq(cfg_set(&c, "groups", "{\"a\": {\"address\": \"10.0.0.1\"}}", CFG_REPLACE,
                             "--set groups", err, sizeof err),
                     -1);
    ck_assert_msg(!strncmp(err, "--set groups: a.address: not a multicast address", 48), "%s", err);
    ck_assert_int_eq(
        cfg_set(&c, "groups", "{\"a\": ", CFG_REPLACE, "--set groups", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "not JSON") && strstr(err, "(expected {NAME: {...}})"), "%s", err);
    ck_assert_uint_eq(c.ngroups, 1);
    ck_assert_str_eq(c.groups[0].name, "b");
    cfg_free(&c);

    /* the environment */
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_apply_env(&c, env_groups,
                                   "{\"e\": {\"address\": \"[ff02::fd%lo]\", \"window_ms\": 300}}",
                                   err, sizeof err),
                     0);
    ck_assert_uint_eq(c.ngroups, 1);
    ck_assert_str_eq(c.groups[0].address, "[ff02::fd%lo]");
    ck_assert_uint_eq(c.groups[0].window_ms, 300);
    ck_assert_int_eq(cfg_apply_env(&c, env_groups, "{\"e\": {\"port\": 0}}", err, sizeof err), -1);
    ck_assert_msg(!strncmp(err, "COAPGW_GROUPS: e.port: bad value", 32), "%s", err);
    ck_assert_uint_eq(c.ngroups, 1); /* unchanged */
    cfg_free(&c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cfg_groups");
    TCase *t = tcase_create("groups");
    tcase_add_test(t, none_by_default);
    tcase_add_test(t, forms);
    tcase_add_test(t, refused_address);
    tcase_add_test(t, refused_numbers);
    tcase_add_test(t, refused_shape);
    tcase_add_test(t, refused_members);
    tcase_add_test(t, text_form);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
