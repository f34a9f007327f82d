/* Unit tests for the option and Content-Format registries and names. */
#include "coap_cf.h"
#include "coap_msg.h"
#include "testutil.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <string.h>

START_TEST(every_option_registered)
{
    static const struct {
        uint16_t num;
        const char *name;
        coap_opt_format_t fmt;
        uint16_t min, max;
        int rep;
    } want[] = {
        {1, "If-Match", COAP_FMT_OPAQUE, 0, 8, 1},
        {3, "Uri-Host", COAP_FMT_STRING, 1, 255, 0},
        {4, "ETag", COAP_FMT_OPAQUE, 1, 8, 1},
        {5, "If-None-Match", COAP_FMT_EMPTY, 0, 0, 0},
        {6, "Observe", COAP_FMT_UINT, 0, 3, 0},
        {7, "Uri-Port", COAP_FMT_UINT, 0, 2, 0},
        {8, "Location-Path", COAP_FMT_STRING, 0, 255, 1},
        {9, "OSCORE", COAP_FMT_OPAQUE, 0, 255, 0},
        {11, "Uri-Path", COAP_FMT_STRING, 0, 255, 1},
        {12, "Content-Format", COAP_FMT_UINT, 0, 2, 0},
        {14, "Max-Age", COAP_FMT_UINT, 0, 4, 0},
        {15, "Uri-Query", COAP_FMT_STRING, 0, 255, 1},
        {16, "Hop-Limit", COAP_FMT_UINT, 1, 1, 0},
        {17, "Accept", COAP_FMT_UINT, 0, 2, 0},
        {20, "Location-Query", COAP_FMT_STRING, 0, 255, 1},
        {23, "Block2", COAP_FMT_UINT, 0, 3, 0},
        {27, "Block1", COAP_FMT_UINT, 0, 3, 0},
        {28, "Size2", COAP_FMT_UINT, 0, 4, 0},
        {35, "Proxy-Uri", COAP_FMT_STRING, 1, 1034, 0},
        {39, "Proxy-Scheme", COAP_FMT_STRING, 1, 255, 0},
        {60, "Size1", COAP_FMT_UINT, 0, 4, 0},
        {252, "Echo", COAP_FMT_OPAQUE, 1, 40, 0},
        {258, "No-Response", COAP_FMT_UINT, 0, 1, 0},
        {292, "Request-Tag", COAP_FMT_OPAQUE, 0, 8, 1},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const coap_opt_def_t *d = coap_opt_def(want[i].num);
        ck_assert_ptr_nonnull(d);
        ck_assert_str_eq(d->name, want[i].name);
        ck_assert_int_eq(d->format, want[i].fmt);
        ck_assert_uint_eq(d->min_len, want[i].min);
        ck_assert_uint_eq(d->max_len, want[i].max);
        ck_assert_int_eq(d->repeatable, want[i].rep);
        ck_assert_int_eq(coap_opt_by_name(want[i].name), want[i].num);
    }
    ck_assert_ptr_null(coap_opt_def(2));
    ck_assert_ptr_null(coap_opt_def(65535));
    ck_assert_int_eq(coap_opt_by_name("uri-path"), 11);
    ck_assert_int_eq(coap_opt_by_name("nope"), -1);
}
END_TEST

/* §5.4.6 Table 4 and §5.10: the bits derived from the number. */
START_TEST(option_number_bits)
{
    ck_assert(coap_opt_is_critical(COAP_OPT_IF_MATCH));
    ck_assert(!coap_opt_is_critical(COAP_OPT_ETAG));
    ck_assert(coap_opt_is_unsafe(COAP_OPT_URI_HOST));
    ck_assert(coap_opt_is_unsafe(COAP_OPT_URI_PORT));
    ck_assert(!coap_opt_is_unsafe(COAP_OPT_ETAG));
    ck_assert(coap_opt_is_unsafe(COAP_OPT_OBSERVE)); /* RFC 7641 §2: elective, unsafe */
    ck_assert(coap_opt_is_unsafe(COAP_OPT_PROXY_URI));
    ck_assert(coap_opt_is_nocachekey(COAP_OPT_SIZE1));
    ck_assert(coap_opt_is_nocachekey(COAP_OPT_SIZE2));
    ck_assert(!coap_opt_is_nocachekey(COAP_OPT_ACCEPT));
    ck_assert(!coap_opt_is_nocachekey(COAP_OPT_URI_PATH));
    ck_assert(!coap_opt_is_nocachekey(COAP_OPT_BLOCK2)); /* unsafe, so NoCacheKey is moot */
}
END_TEST

START_TEST(check_critical_options)
{
    coap_msg_t m;
    coap_msg_init(&m, COAP_CON, COAP_GET, 1);
    coap_msg_add_str(&m, COAP_OPT_URI_PATH, "x");
    coap_msg_add_uint(&m, 2000, 5); /* elective unknown: ignored */
    ck_assert_uint_eq(coap_msg_check_options(&m, NULL), 0);
    coap_msg_add_uint(&m, 2001, 5); /* critical unknown */
    ck_assert_uint_eq(coap_msg_check_options(&m, NULL), 2001);
    static const uint16_t known[] = {2001, 0};
    ck_assert_uint_eq(coap_msg_check_options(&m, known), 0);

    coap_msg_init(&m, COAP_CON, COAP_GET, 1);
    coap_msg_add_str(&m, COAP_OPT_URI_HOST, "a");
    coap_msg_add_str(&m, COAP_OPT_URI_HOST, "b"); /* non-repeatable critical, twice */
    ck_assert_uint_eq(coap_msg_check_options(&m, NULL), COAP_OPT_URI_HOST);

    coap_msg_init(&m, COAP_CON, COAP_GET, 1);
    coap_msg_add_opt(&m, COAP_OPT_URI_HOST, "", 0); /* below min length */
    ck_assert_uint_eq(coap_msg_check_options(&m, NULL), COAP_OPT_URI_HOST);

    coap_msg_init(&m, COAP_CON, COAP_GET, 1);
    coap_msg_add_opt(&m, COAP_OPT_ETAG, "123456789", 9);     /* elective, too long: ignored */
    coap_msg_add_opt(&m, COAP_OPT_IF_MATCH, "123456789", 9); /* critical, too long */
    ck_assert_uint_eq(coap_msg_check_options(&m, NULL), COAP_OPT_IF_MATCH);
}
END_TEST

START_TEST(content_formats)
{
    static const struct {
        unsigned cf;
        const char *type;
    } table[] = {
        {0, "text/plain;charset=utf-8"},
        {40, "application/link-format"},
        {41, "application/xml"},
        {42, "application/octet-stream"},
        {47, "application/exi"},
        {50, "application/json"},
        {51, "application/json-patch+json"},
        {52, "application/merge-patch+json"},
        {60, "application/cbor"},
        {61, "application/cwt"},
        {62, "application/multipart-core"},
        {63, "application/cbor-seq"},
        {110, "application/senml+json"},
        {111, "application/sensml+json"},
        {112, "application/senml+cbor"},
        {113, "application/sensml+cbor"},
        {114, "application/senml-exi"},
        {115, "application/sensml-exi"},
        {256, "application/coap-group+json"},
        {432, "application/td+json"},
        {10000, "application/vnd.ocf+cbor"},
        {10001, "application/oscore"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const coap_cf_def_t *d = coap_cf_by_number(table[i].cf);
        ck_assert_ptr_nonnull(d);
        ck_assert_str_eq(d->media_type, table[i].type);
        ck_assert_int_eq(coap_cf_by_media_type(table[i].type), (int)table[i].cf);
    }
    ck_assert_ptr_null(coap_cf_by_number(9999));
    ck_assert_int_eq(coap_cf_by_media_type("text/plain"), 0);
    ck_assert_int_eq(coap_cf_by_media_type("Text/Plain; charset=\"UTF-8\""), 0);
    ck_assert_int_eq(coap_cf_by_media_type("APPLICATION/JSON"), 50);
    ck_assert_int_eq(coap_cf_by_media_type("text/html"), -1);
    ck_assert_int_eq(coap_cf_parse("50"), 50);
    ck_assert_int_eq(coap_cf_parse("application/cbor"), 60);
    ck_assert_int_eq(coap_cf_parse("70000"), -1);
    ck_assert_int_eq(coap_cf_parse("5x"), -1);
    ck_assert_int_eq(coap_cf_parse(""), -1);
    ck_assert(coap_cf_by_number(50)->json);
    ck_assert(coap_cf_by_number(0)->textual);
    ck_assert(!coap_cf_by_number(42)->textual);
}
END_TEST

START_TEST(names)
{
    char b[48];
    ck_assert_str_eq(coap_code_str(COAP_CONTENT, b, sizeof b), "2.05 Content");
    ck_assert_str_eq(coap_code_str(COAP_NOT_FOUND, b, sizeof b), "4.04 Not Found");
    ck_assert_str_eq(coap_code_str(COAP_CODE(5, 5), b, sizeof b), "5.05 Proxying Not Supported");
    ck_assert_str_eq(coap_code_str(COAP_CODE(4, 30), b, sizeof b), "4.30");
    ck_assert_str_eq(coap_code_str(COAP_GET, b, sizeof b), "0.01 GET");
    ck_assert_str_eq(coap_method_name(COAP_IPATCH), "iPATCH");
    ck_assert_ptr_null(coap_method_name(COAP_CODE(0, 9)));
    ck_assert_int_eq(coap_method_parse("get"), COAP_GET);
    ck_assert_int_eq(coap_method_parse("IPATCH"), COAP_IPATCH);
    ck_assert_int_eq(coap_method_parse("0.05"), COAP_FETCH);
    ck_assert_int_eq(coap_method_parse("0.25"), 25);
    ck_assert_int_eq(coap_method_parse("2.05"), -1);
    ck_assert_int_eq(coap_method_parse("0.05x"), -1);
    ck_assert_int_eq(coap_method_parse("TRACE"), -1);
    ck_assert_str_eq(coap_type_name(COAP_RST), "RST");
    ck_assert_str_eq(coap_strerror(COAP_ERR_TOKEN_LEN), "token length 9-15 is reserved");
}
END_TEST

/* One int carries engine and system errors; every value has a text. */
START_TEST(errors_are_total)
{
    ck_assert_str_eq(coap_strerror(COAP_OK), "success");
    ck_assert_str_eq(coap_strerror(COAP_ERR_SYS(EADDRINUSE)), strerror(EADDRINUSE));
    ck_assert(COAP_ERR_IS_SYS(COAP_ERR_SYS(EACCES)));
    ck_assert_int_eq(COAP_ERR_ERRNO(COAP_ERR_SYS(EACCES)), EACCES);
    ck_assert(!COAP_ERR_IS_SYS(COAP_ERR_BLOCK));
    ck_assert(!COAP_ERR_IS_SYS(INT_MIN));
    ck_assert_str_eq(coap_strerror(INT_MIN), "unknown error");
    ck_assert_str_eq(coap_strerror(-999), "unknown error");
    ck_assert_str_eq(coap_strerror(7), "unknown error");
    for (int e = COAP_ERR_BLOCK; e < 0; e++) ck_assert_str_ne(coap_strerror(e), "unknown error");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("registry");
    tcase_add_test(tc, every_option_registered);
    tcase_add_test(tc, option_number_bits);
    tcase_add_test(tc, check_critical_options);
    tcase_add_test(tc, content_formats);
    tcase_add_test(tc, names);
    tcase_add_test(tc, errors_are_total);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
