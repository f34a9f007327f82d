/*
 * Unit tests for the CoRE Link Format parser (RFC 6690 §2): what real
 * servers send (libcoap, RIOT's gcoap, Contiki-NG, LwM2M, a Resource
 * Directory with anchors), the RFC's own examples, quoted commas and
 * escapes, blanks, and malformed input (each with its error and offset).
 */
#include "coap_link.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

/* Renders a parsed document as "URI{name=value|name|name="quoted"}..." so
 * a whole parse is one string comparison. Returns the coap_link_next
 * result that ended it (0 or an error). */
static int render(const char *text, char *out, size_t cap)
{
    coap_link_iter_t it;
    coap_link_t l;
    int rc;
    size_t n = 0;
    out[0] = '\0';
    coap_link_iter_init(&it, text, strlen(text));
    while ((rc = coap_link_next(&it, &l)) == 1) {
        n += (size_t)snprintf(out + n, cap - n, "%.*s{", (int)l.uri_len, l.uri);
        coap_link_param_t p;
        size_t pos = 0;
        const char *sep = "";
        while (coap_link_param_next(&l, &pos, &p)) {
            n += (size_t)snprintf(out + n, cap - n, "%s%.*s", sep, (int)p.name_len, p.name);
            if (p.value)
                n += (size_t)snprintf(out + n, cap - n, p.quoted ? "=\"%.*s\"" : "=%.*s",
                                      (int)p.value_len, p.value);
            sep = "|";
        }
        n += (size_t)snprintf(out + n, cap - n, "}");
    }
    return rc;
}

static void parses(const char *text, const char *want)
{
    char got[4096];
    int rc = render(text, got, sizeof got);
    ck_assert_msg(rc == 0, "'%s': error %d (%s)", text, rc, coap_link_strerror(rc));
    ck_assert_msg(!strcmp(got, want), "'%s':\n got  %s\n want %s", text, got, want);
}

static void fails(const char *text, int err, size_t at)
{
    size_t pos = 9999;
    int rc = coap_link_validate(text, strlen(text), &pos);
    ck_assert_msg(rc == err, "'%s': got %d, want %d", text, rc, err);
    ck_assert_msg(pos == at, "'%s': error at %zu, want %zu", text, pos, at);
    ck_assert_ptr_nonnull(coap_link_strerror(rc));
}

START_TEST(real_devices)
{
    /* libcoap 4.3 coap-server */
    parses("</>;title=\"General Info\";ct=0,</time>;if=\"clock\";rt=\"ticks\";"
           "title=\"Internal Clock\";ct=0;obs,</async>;ct=0",
           "/{title=\"General Info\"|ct=0}/time{if=\"clock\"|rt=\"ticks\"|title=\"Internal "
           "Clock\"|ct=0|obs}/async{ct=0}");
    /* RIOT gcoap */
    parses("</cli/stats>;ct=0;rt=\"count\";obs,</riot/board>",
           "/cli/stats{ct=0|rt=\"count\"|obs}/riot/board{}");
    /* Contiki-NG */
    parses("</test/hello>;title=\"Hello world: ?len=0..\";rt=\"Text\",</actuators/toggle>;"
           "title=\"Red LED\";rt=\"Control\"",
           "/test/hello{title=\"Hello world: ?len=0..\"|rt=\"Text\"}/actuators/"
           "toggle{title=\"Red LED\"|rt=\"Control\"}");
    /* LwM2M (OMA): objects and instances, an unregistered ct number */
    parses("</>;rt=\"oma.lwm2m\";ct=11543,</1/0>,</3/0>,</3303/0>;dim=2",
           "/{rt=\"oma.lwm2m\"|ct=11543}/1/0{}/3/0{}/3303/0{dim=2}");
    /* a Resource Directory lookup (RFC 9176 §6.2) */
    parses("<coap://[2001:db8:3::101]/temp>;rt=\"temperature\";"
           "anchor=\"coap://[2001:db8:3::101]\"",
           "coap://[2001:db8:3::101]/temp{rt=\"temperature\"|anchor=\"coap://[2001:db8:3::101]\"}");
}
END_TEST

START_TEST(rfc6690_examples)
{
    /* §5, with the blanks after the commas as printed in the RFC */
    parses(
        "</sensors>;ct=40;title=\"Sensor Index\",\n"
        "   </sensors/temp>;rt=\"temperature-c\";if=\"sensor\",\n"
        "   </sensors/light>;rt=\"light-lux\";if=\"sensor\",\n"
        "   <http://www.example.com/sensors/t123>;anchor=\"/sensors/temp\";rel=\"describedby\",\n"
        "   </t>;anchor=\"/sensors/temp\";rel=\"alternate\"",
        "/sensors{ct=40|title=\"Sensor Index\"}/sensors/temp{rt=\"temperature-c\"|if=\"sensor\"}"
        "/sensors/light{rt=\"light-lux\"|if=\"sensor\"}http://www.example.com/sensors/"
        "t123{anchor=\"/sensors/temp\"|rel=\"describedby\"}/t{anchor=\"/sensors/temp\"|rel="
        "\"alternate\"}");
    parses("</firmware/v2.1>;rt=\"firmware\";sz=262144",
           "/firmware/v2.1{rt=\"firmware\"|sz=262144}");
    /* RFC 7252 §7.2.1: several Content-Formats in one ct */
    parses("</s>;ct=\"0 40 50\"", "/s{ct=\"0 40 50\"}");
    /* RFC 5987 ext-value */
    parses("</c>;title*=UTF-8'de'n%c3%a4chstes%20Kapitel",
           "/c{title*=UTF-8'de'n%c3%a4chstes%20Kapitel}");
    /* RFC 8075 §5.5 */
    parses("</hc/>;rt=\"core.hc\";hct=\"/hc/{+tu}\"", "/hc/{rt=\"core.hc\"|hct=\"/hc/{+tu}\"}");
}
END_TEST

START_TEST(quotes_and_escapes)
{
    /* ',' and ';' inside quotes do not end the param or the link */
    parses("</a>;title=\"one, two; three\",</b>", "/a{title=\"one, two; three\"}/b{}");
    parses("</a>;title=\"say \\\"hi\\\", then \\\\ go\"",
           "/a{title=\"say \\\"hi\\\", then \\\\ go\"}");
    char out[64];
    const char *v = "say \\\"hi\\\" \\\\ \\x";
    size_t n = coap_link_unescape(v, strlen(v), out, sizeof out);
    ck_assert_str_eq(out, "say \"hi\" \\ x");
    ck_assert_uint_eq(n, strlen("say \"hi\" \\ x"));
    /* cut like snprintf */
    n = coap_link_unescape(v, strlen(v), out, 5);
    ck_assert_str_eq(out, "say ");
    ck_assert_uint_eq(n, 12);
    ck_assert_uint_eq(coap_link_unescape("ab", 2, NULL, 0), 2);
    parses("</a>;title=\"\"", "/a{title=\"\"}");
    parses("</a>;title=\"caf\xc3\xa9\"", "/a{title=\"caf\xc3\xa9\"}"); /* UTF-8 passes */
    /* ptoken may hold '<', '>', '=' and the like */
    parses("</a>;foo=a<b>=c?d", "/a{foo=a<b>=c?d}");
}
END_TEST

START_TEST(params_without_value_and_repeated)
{
    parses("</a>;obs;rt=x;rt=y;obs", "/a{obs|rt=x|rt=y|obs}");
    coap_link_iter_t it;
    coap_link_t l;
    coap_link_param_t p;
    const char *t = "</a>;obs;RT=\"first\";rt=second";
    coap_link_iter_init(&it, t, strlen(t));
    ck_assert_int_eq(coap_link_next(&it, &l), 1);
    ck_assert_int_eq(coap_link_param_find(&l, "rt", &p), 1); /* case-insensitive */
    ck_assert_int_eq(p.quoted, 1);
    ck_assert_int_eq((int)p.value_len, 5);
    ck_assert(!memcmp(p.value, "first", 5));
    ck_assert_int_eq(coap_link_param_find(&l, "obs", &p), 1);
    ck_assert_ptr_null(p.value);
    ck_assert_int_eq(coap_link_param_find(&l, "sz", &p), 0);
    ck_assert_int_eq(coap_link_param_find(&l, "o", &p), 0);
    ck_assert_int_eq(coap_link_next(&it, &l), 0);
    ck_assert_int_eq(coap_link_next(&it, &l), 0); /* stays at the end */
}
END_TEST

START_TEST(blanks)
{
    parses("  </a> ; rt = \"x\" ;\tobs , \r\n </b>;ct= 0  \n", "/a{rt=\"x\"|obs}/b{ct=0}");
    parses("", "");
    parses(" \r\n\t ", "");
    parses("<>", "{}"); /* an empty relative reference is a URI-Reference */
}
END_TEST

START_TEST(malformed)
{
    fails("/a", COAP_LINK_ERR_LT, 0);
    fails("  x", COAP_LINK_ERR_LT, 2);
    fails("</a", COAP_LINK_ERR_URI, 3);
    fails("</a b>", COAP_LINK_ERR_URI, 3);
    fails("</a<b>", COAP_LINK_ERR_URI, 3);
    fails("</a>;", COAP_LINK_ERR_NAME, 5);
    fails("</a>;;obs", COAP_LINK_ERR_NAME, 5);
    fails("</a>;=x", COAP_LINK_ERR_NAME, 5);
    fails("</a>;*=x", COAP_LINK_ERR_NAME, 5);
    fails("</a>;rt=", COAP_LINK_ERR_VALUE, 8);
    fails("</a>;rt=;obs", COAP_LINK_ERR_VALUE, 8);
    fails("</a>;rt=\"x", COAP_LINK_ERR_QUOTE, 8);
    fails("</a>;rt=\"x\\", COAP_LINK_ERR_QUOTE, 8);
    fails("</a>;rt=\"x\\\"", COAP_LINK_ERR_QUOTE, 8);
    fails("</a>;rt=\"a\x01\"", COAP_LINK_ERR_VALUE, 10);
    fails("</a>;rt=a\\b", COAP_LINK_ERR_SEPARATOR, 9);
    fails("</a>;rt=x y", COAP_LINK_ERR_SEPARATOR, 10);
    fails("</a>x", COAP_LINK_ERR_SEPARATOR, 4);
    fails("</a>;rt=\"x\"\"y\"", COAP_LINK_ERR_SEPARATOR, 11);
    fails("</a>,", COAP_LINK_ERR_EMPTY, 4);
    fails("</a>, ", COAP_LINK_ERR_EMPTY, 4);
    fails("</a>,,</b>", COAP_LINK_ERR_EMPTY, 5);
    fails(",</a>", COAP_LINK_ERR_EMPTY, 0);
    fails("</a>;ti*tle=x", COAP_LINK_ERR_SEPARATOR, 8);
    ck_assert_int_eq(coap_link_validate("</a>,</b>;obs", 13, NULL), 2);
    ck_assert_int_eq(coap_link_validate(NULL, 0, NULL), 0);
}
END_TEST

START_TEST(error_is_sticky_and_links_before_it_count)
{
    coap_link_iter_t it;
    coap_link_t l;
    const char *t = "</a>;obs,</b>;rt=\"x";
    coap_link_iter_init(&it, t, strlen(t));
    ck_assert_int_eq(coap_link_next(&it, &l), 1);
    ck_assert_int_eq(coap_link_next(&it, &l), COAP_LINK_ERR_QUOTE);
    ck_assert_int_eq(coap_link_next(&it, &l), COAP_LINK_ERR_QUOTE);
    ck_assert_uint_eq(it.err_pos, 17);
}
END_TEST

/* Every prefix of a valid document, and every single-byte change to it:
 * no crash, no read past the length (the buffer is not NUL-terminated:
 * ASan would see it), and either an error or links. */
START_TEST(truncations_and_mutations)
{
    static const char doc[] = "</sensors/temp>;rt=\"temperature-c\";if=\"sensor\";ct=0;obs;"
                              "title=\"T, \\\"x\\\"\",</fw>;sz=65536;ct=\"0 42\"";
    size_t len = sizeof doc - 1;
    ck_assert_int_eq(coap_link_validate(doc, len, NULL), 2);
    for (size_t cut = 0; cut <= len; cut++) {
        char *copy = malloc(cut ? cut : 1);
        memcpy(copy, doc, cut);
        int rc = coap_link_validate(copy, cut, NULL);
        ck_assert(rc >= 0 || (rc <= COAP_LINK_ERR_LT && rc >= COAP_LINK_ERR_EMPTY));
        free(copy);
    }
    static const char bytes[] = {'<', '>', ';', ',', '"', '\\', '=', ' ', '\0', 'a', '\x80'};
    for (size_t i = 0; i < len; i++) {
        for (size_t b = 0; b < sizeof bytes; b++) {
            char *copy = malloc(len);
            memcpy(copy, doc, len);
            copy[i] = bytes[b];
            coap_link_iter_t it;
            coap_link_t l;
            coap_link_iter_init(&it, copy, len);
            int rc;
            while ((rc = coap_link_next(&it, &l)) == 1) {
                coap_link_param_t p;
                size_t pos = 0;
                while (coap_link_param_next(&l, &pos, &p)) ck_assert_uint_gt(p.name_len, 0);
            }
            ck_assert_int_le(rc, 0);
            free(copy);
        }
    }
}
END_TEST

START_TEST(garbage)
{
    unsigned seed = 12345;
    char buf[256];
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(round % 200);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            /* mostly link-format punctuation, so the parser goes deep */
            static const char alphabet[] = "<>;,=\"\\ ab/*\x01\xff";
            buf[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
        }
        int rc = coap_link_validate(buf, n, NULL);
        ck_assert(rc >= 0 || (rc <= COAP_LINK_ERR_LT && rc >= COAP_LINK_ERR_EMPTY));
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("link");
    TCase *tc = tcase_create("rfc6690");
    tcase_add_test(tc, real_devices);
    tcase_add_test(tc, rfc6690_examples);
    tcase_add_test(tc, quotes_and_escapes);
    tcase_add_test(tc, params_without_value_and_repeated);
    tcase_add_test(tc, blanks);
    tcase_add_test(tc, malformed);
    tcase_add_test(tc, error_is_sticky_and_links_before_it_count);
    tcase_add_test(tc, truncations_and_mutations);
    tcase_add_test(tc, garbage);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
