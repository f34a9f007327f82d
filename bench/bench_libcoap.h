/*
 * bench_libcoap.h - the libcoap 4.3 baseline of bench_codec.
 *
 * The baseline lives in its own translation unit because libcoap's
 * <coap3/coap.h> and our coap_msg.h cannot be included together: both
 * declare coap_msg_opt_t and coap_msg_opt_value(). Only plain C types cross this
 * interface.
 */
#ifndef BENCH_LIBCOAP_H
#define BENCH_LIBCOAP_H

#include <stddef.h>
#include <stdint.h>

/* The two benchmark messages. */
typedef enum { BENCH_REQUEST = 0, BENCH_NOTIFICATION = 1, BENCH_NMSG } bench_msg_id_t;

#define BENCH_VIEW_MAX_OPTS 16
#define BENCH_VIEW_MAX_VAL  32

/* What a parser or builder produced, copied out so that it can be compared
 * with the other implementation. */
typedef struct {
    uint16_t num;
    uint16_t len;
    uint8_t val[BENCH_VIEW_MAX_VAL];
} bench_opt_view_t;

typedef struct {
    unsigned type, code, mid;
    size_t token_len;
    uint8_t token[8];
    size_t opt_count;
    bench_opt_view_t opts[BENCH_VIEW_MAX_OPTS];
    size_t payload_len;
    uint8_t payload[BENCH_VIEW_MAX_VAL];
} bench_view_t;

/* Accumulates results so the compiler cannot drop the measured work. */
extern volatile uintptr_t bench_sink;

/* coap_startup(), quiet logging, the reusable parse PDU. 0 on success. */
int bl_init(void);
void bl_cleanup(void);
/* coap_package_version(), e.g. "libcoap 4.3.1". */
const char *bl_version(void);

/* Parses buf with coap_pdu_parse() and walks it with the option iterator,
 * recording what was seen. 0 on success, -1 on a parse or overflow error. */
int bl_parse_view(const uint8_t *buf, size_t len, bench_view_t *v);
/* Builds message `which` as a PDU and records its content. 0 on success. */
int bl_build_view(bench_msg_id_t which, bench_view_t *v);

/* The measured loops: `iters` times parse + visit, or build (init, token,
 * options, payload, delete). Abort on failure. */
void bl_parse_loop(const uint8_t *buf, size_t len, long iters);
void bl_build_loop(bench_msg_id_t which, long iters);

#endif
