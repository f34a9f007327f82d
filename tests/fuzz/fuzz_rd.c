/*
 * libFuzzer target for the Resource Directory (gateway/rd*.c, RFC 9176):
 * the real directory on the CoAP server of the unit tests' simulated
 * network (tests/unit/rdfx.h), fed whole datagrams from the input:
 *
 *   repeated: [source and time byte][length, 2 bytes big-endian][datagram]
 *
 * The low 2 bits of the first byte pick the source (127.0.0.1, two
 * addresses of the default allowlist, one outside it); its high 4 bits
 * advance the clock by that many minutes first, so registrations expire
 * between requests. Registrations, updates (POST /rd/ID), reads, removals,
 * Block1 uploads, queries and link payloads all reach the parsers. A new
 * directory for every input, so a crash replays from its input alone.
 */
#include <check.h>
#include <stdlib.h>

/* The fixture's checks, outside a check test runner: abort (a finding)
 * instead of reporting to a runner that is not there. */
#undef ck_assert_msg
#define ck_assert_msg(expr, ...) ((expr) ? (void)0 : abort())
#undef ck_abort_msg
#define ck_abort_msg(...) abort()

#include "rdfx.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const sources[] = {"127.0.0.1:5683", "10.0.0.1:5683", "192.168.1.7:40000",
                                      "203.0.113.5:5683"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fx_t f;
    fx_init(&f);
    f.gw.cfg.rd_max_registrations = 8;
    f.gw.cfg.rd_max_links_bytes = 512;
    gw_log_set_level(CFG_LOG_ERROR);
    for (int n = 0; size >= 3 && n < 8; n++) {
        size_t len = (size_t)data[1] << 8 | data[2];
        if (len > size - 3) len = size - 3;
        coap_addr_t src;
        coap_addr_parse(&src, sources[data[0] & 3], 5683);
        sim_run_for(&f.t.n, (uint64_t)(data[0] >> 4) * 60000);
        sim_send_raw(&f.t.n, &src, f.t.srvn, data + 3, len);
        sim_run_idle(&f.t.n);
        data += 3 + len;
        size -= 3 + len;
    }
    fx_free(&f);
    return 0;
}
