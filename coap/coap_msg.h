/*
 * coap_msg.h - CoAP message model and codec (RFC 7252 §3).
 *
 * A coap_msg_t is a parsed or to-be-serialized message. Parsing never
 * allocates: option values and the payload point into the caller's datagram,
 * which must outlive the message. Values added with coap_msg_add_opt() are
 * copied into the message when they fit in 8 bytes (uints, ETags, tokens,
 * short strings), otherwise referenced; a referenced value must outlive the
 * message too.
 */
#ifndef COAP_MSG_H
#define COAP_MSG_H

#include <stddef.h>
#include <stdint.h>

/* Capacity of one message's option table. A datagram with more options is
 * rejected with COAP_ERR_TOO_MANY_OPTS. */
#define COAP_MSG_MAX_OPTS  48
#define COAP_TOKEN_MAX     8
#define COAP_OPT_INLINE    8
#define COAP_PAYLOAD_MARK  0xFF
#define COAP_DEFAULT_PORT  5683
#define COAPS_DEFAULT_PORT 5684
#define COAP_PROXY_URI_MAX 1034 /* §5.10: Proxy-Uri is 1..1034 bytes */

/* Result codes: 0 is success, every failure is a negative value with a
 * reason from coap_strerror(). An error of the operating system (a socket
 * that cannot be bound) travels in the same int as COAP_ERR_SYS(errno), so
 * one convention holds everywhere and coap_strerror() names every value. */
typedef enum {
    COAP_OK = 0,
    COAP_ERR_TRUNCATED = -1,        /* shorter than the 4-byte header or the token */
    COAP_ERR_VERSION = -2,          /* version != 1: drop silently (§3) */
    COAP_ERR_TOKEN_LEN = -3,        /* TKL 9..15 (§3) */
    COAP_ERR_OPT_DELTA_15 = -4,     /* delta nibble 15 outside a payload marker (§3.1) */
    COAP_ERR_OPT_LEN_15 = -5,       /* length nibble 15 (§3.1) */
    COAP_ERR_OPT_TRUNCATED = -6,    /* option header or value runs past the end */
    COAP_ERR_OPT_NUMBER = -7,       /* option number above 65535 */
    COAP_ERR_EMPTY_PAYLOAD = -8,    /* payload marker followed by nothing (§3) */
    COAP_ERR_TOO_MANY_OPTS = -9,    /* more than COAP_MSG_MAX_OPTS */
    COAP_ERR_EMPTY_NOT_EMPTY = -10, /* code 0.00 with token, options or payload (§4.1) */
    COAP_ERR_NOSPACE = -11,         /* output buffer too small */
    COAP_ERR_OPT_ORDER = -12,       /* options not in ascending order when serializing */
    COAP_ERR_OPT_VALUE = -13,       /* option value too long for its length field */
    COAP_ERR_INVALID = -14,         /* invalid argument */
    COAP_ERR_URI = -15,             /* malformed URI */
    COAP_ERR_URI_SCHEME = -16,      /* URI scheme other than coap/coaps */
    COAP_ERR_URI_FRAGMENT = -17,    /* URI carries a fragment (§6.4 step 3) */
    COAP_ERR_NOMEM = -18,           /* allocation failed */
    COAP_ERR_TIMEOUT = -19,         /* no answer within the transmission parameters */
    COAP_ERR_RESET = -20,           /* peer answered with RST */
    COAP_ERR_CANCELLED = -21,       /* caller cancelled the exchange */
    COAP_ERR_UNREACHABLE = -22,     /* ICMP unreachable or send failure */
    COAP_ERR_TOO_LARGE = -23,       /* body over the configured limit */
    COAP_ERR_BLOCK = -24,           /* block-wise transfer failed (ETag change, bad block) */
    /* A secured transport's handshake with the peer failed (coap_transport.h):
     * the exchanges waiting on it end with one of these. A handshake the
     * peer never answers is COAP_ERR_TIMEOUT, like any silent peer. */
    COAP_ERR_DTLS_FAILED = -25,         /* handshake failed (another reason) */
    COAP_ERR_DTLS_PSK = -26,            /* the pre-shared keys differ */
    COAP_ERR_DTLS_IDENTITY = -27,       /* the peer knows no such PSK identity */
    COAP_ERR_DTLS_UNTRUSTED = -28,      /* certificate not signed by a trusted CA */
    COAP_ERR_DTLS_EXPIRED = -29,        /* certificate expired or not yet valid */
    COAP_ERR_DTLS_NAME = -30,           /* certificate not issued for the host */
    COAP_ERR_DTLS_KEY = -31,            /* raw public key not the pinned one */
    COAP_ERR_DTLS_REJECTED = -32,       /* the peer rejected our certificate or key */
    COAP_ERR_DTLS_NO_CREDENTIALS = -33, /* no credentials for this peer */
    /* The client role's limits (coap_client_set_limits): nothing was sent. */
    COAP_ERR_BUSY = -34,      /* the requests in flight or queued reached their budget */
    COAP_ERR_PEER_BUSY = -35, /* the requests queued behind NSTART for the peer at their limit */
    /* A reliable transport's connection (RFC 8323) ended under the exchange. */
    COAP_ERR_CONN_CLOSED = -36, /* closed, or Release (7.04) received */
    COAP_ERR_ABORTED = -37,     /* Abort (7.05) sent or received: a protocol error */
    COAP_ERR_AGAIN = -38,       /* a stream filter waits for its socket (coap_stream_ops_t) */
} coap_err_t;

#define COAP_ERR_IS_DTLS(err)                                                                      \
    ((err) <= COAP_ERR_DTLS_FAILED && (err) >= COAP_ERR_DTLS_NO_CREDENTIALS)

#define COAP_ERR_SYS_BASE    1000
#define COAP_ERR_SYS(e)      (-(COAP_ERR_SYS_BASE + (e)))
#define COAP_ERR_IS_SYS(err) ((err) <= -COAP_ERR_SYS_BASE && (err) > -COAP_ERR_SYS_BASE - 4096)
#define COAP_ERR_ERRNO(err)  (-(err)-COAP_ERR_SYS_BASE)

/* A short reason for any result code: the texts above, strerror() for
 * COAP_ERR_SYS values, "unknown error" for anything else. Never NULL. */
const char *coap_strerror(int err);

typedef enum { COAP_CON = 0, COAP_NON = 1, COAP_ACK = 2, COAP_RST = 3 } coap_type_t;

/* Codes are class << 5 | detail, as on the wire (§3). */
#define COAP_CODE(c, d)        ((uint8_t)(((c) << 5) | (d)))
#define COAP_CODE_CLASS(code)  ((code) >> 5)
#define COAP_CODE_DETAIL(code) ((code)&0x1F)

enum {
    COAP_EMPTY = 0,
    COAP_GET = 1,
    COAP_POST = 2,
    COAP_PUT = 3,
    COAP_DELETE = 4,
    COAP_FETCH = 5, /* RFC 8132 */
    COAP_PATCH = 6,
    COAP_IPATCH = 7,
};

enum {
    COAP_CREATED = COAP_CODE(2, 1),
    COAP_DELETED = COAP_CODE(2, 2),
    COAP_VALID = COAP_CODE(2, 3),
    COAP_CHANGED = COAP_CODE(2, 4),
    COAP_CONTENT = COAP_CODE(2, 5),
    COAP_CONTINUE = COAP_CODE(2, 31),
    COAP_BAD_REQUEST = COAP_CODE(4, 0),
    COAP_UNAUTHORIZED = COAP_CODE(4, 1),
    COAP_BAD_OPTION = COAP_CODE(4, 2),
    COAP_FORBIDDEN = COAP_CODE(4, 3),
    COAP_NOT_FOUND = COAP_CODE(4, 4),
    COAP_METHOD_NOT_ALLOWED = COAP_CODE(4, 5),
    COAP_NOT_ACCEPTABLE = COAP_CODE(4, 6),
    COAP_REQUEST_ENTITY_INCOMPLETE = COAP_CODE(4, 8),
    COAP_CONFLICT = COAP_CODE(4, 9),
    COAP_PRECONDITION_FAILED = COAP_CODE(4, 12),
    COAP_REQUEST_ENTITY_TOO_LARGE = COAP_CODE(4, 13),
    COAP_UNSUPPORTED_CONTENT_FORMAT = COAP_CODE(4, 15),
    COAP_UNPROCESSABLE_ENTITY = COAP_CODE(4, 22),
    COAP_TOO_MANY_REQUESTS = COAP_CODE(4, 29),
    COAP_INTERNAL_SERVER_ERROR = COAP_CODE(5, 0),
    COAP_NOT_IMPLEMENTED = COAP_CODE(5, 1),
    COAP_BAD_GATEWAY = COAP_CODE(5, 2),
    COAP_SERVICE_UNAVAILABLE = COAP_CODE(5, 3),
    COAP_GATEWAY_TIMEOUT = COAP_CODE(5, 4),
    COAP_PROXYING_NOT_SUPPORTED = COAP_CODE(5, 5),
    COAP_HOP_LIMIT_REACHED = COAP_CODE(5, 8),
};

/* Option numbers (§5.10, §12.2 and later RFCs). */
enum {
    COAP_OPT_IF_MATCH = 1,
    COAP_OPT_URI_HOST = 3,
    COAP_OPT_ETAG = 4,
    COAP_OPT_IF_NONE_MATCH = 5,
    COAP_OPT_OBSERVE = 6, /* RFC 7641 */
    COAP_OPT_URI_PORT = 7,
    COAP_OPT_LOCATION_PATH = 8,
    COAP_OPT_OSCORE = 9, /* RFC 8613 */
    COAP_OPT_URI_PATH = 11,
    COAP_OPT_CONTENT_FORMAT = 12,
    COAP_OPT_MAX_AGE = 14,
    COAP_OPT_URI_QUERY = 15,
    COAP_OPT_HOP_LIMIT = 16, /* RFC 8768 */
    COAP_OPT_ACCEPT = 17,
    COAP_OPT_LOCATION_QUERY = 20,
    COAP_OPT_BLOCK2 = 23, /* RFC 7959 */
    COAP_OPT_BLOCK1 = 27,
    COAP_OPT_SIZE2 = 28,
    COAP_OPT_PROXY_URI = 35,
    COAP_OPT_PROXY_SCHEME = 39,
    COAP_OPT_SIZE1 = 60,
    COAP_OPT_ECHO = 252,        /* RFC 9175 */
    COAP_OPT_NO_RESPONSE = 258, /* RFC 7967 */
    COAP_OPT_REQUEST_TAG = 292, /* RFC 9175 */
};

/* One option. Values of up to COAP_OPT_INLINE bytes added by the builder
 * live inside the struct, so a message can be copied safely; longer ones and
 * all parsed ones point outside. Read the value with coap_msg_opt_value(). */
typedef struct {
    uint16_t num;
    uint16_t len;
    uint8_t is_inline;
    union {
        const uint8_t *ptr;
        uint8_t bytes[COAP_OPT_INLINE];
    } v;
} coap_msg_opt_t;

typedef struct {
    uint8_t version; /* 1 */
    uint8_t type;    /* coap_type_t */
    uint8_t code;
    uint8_t token_len;
    uint16_t mid;
    uint8_t token[COAP_TOKEN_MAX];
    uint16_t opt_count;
    coap_msg_opt_t
        opts[COAP_MSG_MAX_OPTS]; /* ascending by number; equal numbers keep their order */
    const uint8_t *payload;
    size_t payload_len;
} coap_msg_t;

static inline const uint8_t *coap_msg_opt_value(const coap_msg_opt_t *o)
{
    return o->is_inline ? o->v.bytes : o->v.ptr;
}

/* Resets m to an empty version-1 message of the given type and code. */
void coap_msg_init(coap_msg_t *m, coap_type_t type, uint8_t code, uint16_t mid);

/* Parses one datagram into m. Returns COAP_OK or a negative coap_err_t.
 * RFC 7252 §3 rules are enforced exactly; option semantics (known, length,
 * repeatable) are checked separately by coap_msg_check_options(). */
int coap_msg_parse(coap_msg_t *m, const uint8_t *buf, size_t len);

/* Writes m into buf. Returns the number of bytes written, or a negative
 * coap_err_t (COAP_ERR_NOSPACE when cap is too small). */
int coap_msg_serialize(const coap_msg_t *m, uint8_t *buf, size_t cap);

/* Bytes coap_msg_serialize() would write. */
size_t coap_msg_size(const coap_msg_t *m);

int coap_msg_set_token(coap_msg_t *m, const uint8_t *tok, size_t len);

/* Inserts an option after any option with a number <= num, keeping the
 * table sorted. Returns COAP_OK, COAP_ERR_TOO_MANY_OPTS or COAP_ERR_OPT_VALUE. */
int coap_msg_add_opt(coap_msg_t *m, uint16_t num, const void *val, size_t len);
/* A uint option in minimal length (§3.2: 0 is zero bytes). */
int coap_msg_add_uint(coap_msg_t *m, uint16_t num, uint32_t val);
int coap_msg_add_str(coap_msg_t *m, uint16_t num, const char *s);
/* Removes every option with this number; returns how many. */
int coap_msg_del_opt(coap_msg_t *m, uint16_t num);

/* First option with this number, or NULL. Iterate repeated ones with
 * coap_msg_next_opt(m, prev). */
const coap_msg_opt_t *coap_msg_find_opt(const coap_msg_t *m, uint16_t num);
const coap_msg_opt_t *coap_msg_next_opt(const coap_msg_t *m, const coap_msg_opt_t *prev);
int coap_msg_count_opt(const coap_msg_t *m, uint16_t num);

/* Decodes a uint option (§3.2, big-endian, leading zeros allowed on input).
 * Returns 0 and sets *out, or -1 when absent or longer than 4 bytes. */
int coap_opt_uint(const coap_msg_opt_t *o, uint32_t *out);
int coap_msg_get_uint(const coap_msg_t *m, uint16_t num, uint32_t *out);

/* Max-Age in seconds (RFC 7252 §5.10.5): the option's value, or
 * COAP_MAX_AGE_DEFAULT (60) when it is absent (or longer than 4 bytes). */
#define COAP_MAX_AGE_DEFAULT 60
uint32_t coap_msg_max_age(const coap_msg_t *m);

/* Encodes v minimally into out[4]; returns the length (0..4). */
size_t coap_uint_encode(uint32_t v, uint8_t out[4]);

/* --- CoAP over TCP (RFC 8323 §3.2) ---
 *
 *   0                   1                   2                   3
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  Len  |  TKL  | Extended Length (0, 1, 2 or 4 bytes) |  Code  |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |   Token (TKL bytes), Options, 0xFF, Payload ...
 *
 * No version, type or message ID: the connection is reliable. Len counts
 * the options and the payload (not the token): 0..12 itself, 13 one more
 * byte (+13), 14 two more (+269), 15 four more (+65805). Options and
 * payload are encoded as on UDP (the same code, msg_internal.h). A parsed
 * message has type COAP_NON and message ID 0; serializing ignores both. */
#define COAP_TCP_HEADER_MAX 6 /* Len/TKL byte + 4 extended length bytes + Code */

/* Signalling codes (§5) and their options (§5.3-§5.6). */
enum {
    COAP_SIG_CSM = COAP_CODE(7, 1),
    COAP_SIG_PING = COAP_CODE(7, 2),
    COAP_SIG_PONG = COAP_CODE(7, 3),
    COAP_SIG_RELEASE = COAP_CODE(7, 4),
    COAP_SIG_ABORT = COAP_CODE(7, 5),
};
enum {
    COAP_SIGOPT_MAX_MESSAGE_SIZE = 2,    /* CSM */
    COAP_SIGOPT_BLOCK_WISE_TRANSFER = 4, /* CSM */
    COAP_SIGOPT_CUSTODY = 2,             /* Ping, Pong */
    COAP_SIGOPT_ALTERNATIVE_ADDRESS = 2, /* Release */
    COAP_SIGOPT_HOLD_OFF = 4,            /* Release */
    COAP_SIGOPT_BAD_CSM_OPTION = 2,      /* Abort */
};
/* §5.3.1: the Max-Message-Size a peer is assumed to accept before its CSM. */
#define COAP_TCP_DEFAULT_MAX_MESSAGE 1152

/* How long the frame starting at buf is: COAP_OK with *frame_len (header,
 * token, options and payload), or COAP_ERR_TRUNCATED when fewer than the
 * header's bytes are there yet (read more), or COAP_ERR_TOKEN_LEN. Needs
 * only the header: a stream reader learns how much to wait for. */
int coap_msg_tcp_frame_len(const uint8_t *buf, size_t avail, uint64_t *frame_len);
/* Parses exactly one frame of len bytes. COAP_OK or a negative coap_err_t
 * (COAP_ERR_TRUNCATED also when len is not the frame's own length). */
int coap_msg_parse_tcp(coap_msg_t *m, const uint8_t *buf, size_t len);
/* Writes m as one frame; returns its length or a negative coap_err_t. */
int coap_msg_serialize_tcp(const coap_msg_t *m, uint8_t *buf, size_t cap);
/* Bytes coap_msg_serialize_tcp() would write. */
size_t coap_msg_size_tcp(const coap_msg_t *m);

/* --- Option registry (§5.4, §5.10) --- */

typedef enum {
    COAP_FMT_EMPTY,
    COAP_FMT_OPAQUE,
    COAP_FMT_UINT,
    COAP_FMT_STRING,
} coap_opt_format_t;

typedef struct {
    uint16_t num;
    const char *name;
    coap_opt_format_t format;
    uint16_t min_len;
    uint16_t max_len;
    uint8_t repeatable;
} coap_opt_def_t;

/* Registry entry for a number, or NULL when unknown. */
const coap_opt_def_t *coap_opt_def(uint16_t num);
/* Name for logs: the registered name or NULL. */
const char *coap_opt_name(uint16_t num);
/* Number for a registered name (case-insensitive), or -1. */
int coap_opt_by_name(const char *name);

/* §5.4.6: the bits of the number itself. */
static inline int coap_opt_is_critical(uint16_t num)
{
    return num & 1;
}
static inline int coap_opt_is_unsafe(uint16_t num)
{
    return (num & 2) != 0;
}
static inline int coap_opt_is_nocachekey(uint16_t num)
{
    return (num & 0x1e) == 0x1c;
}

/* §5.4.1, §5.4.3, §5.4.5: finds the first critical option that must be
 * treated as unrecognized: unknown to the registry (and to `known`, a list
 * of extra numbers the caller understands, ended by 0), outside its length
 * range, or a repetition of a non-repeatable option. Returns its number, or
 * 0 when all critical options are acceptable. Elective ones are ignored, as
 * the RFC says. */
uint16_t coap_msg_check_options(const coap_msg_t *m, const uint16_t *known);

/* --- Names for logs and tools --- */

/* "GET", "POST", …, "iPATCH", or NULL for other request codes. */
const char *coap_method_name(uint8_t code);
/* Parses a method name (any case) or a code "0.05"; returns the code or -1. */
int coap_method_parse(const char *s);
/* "2.05 Content", "4.04 Not Found", … ; unknown codes as "c.dd". Writes into
 * buf (at least 40 bytes) and returns it. */
const char *coap_code_str(uint8_t code, char *buf, size_t cap);
/* The reason phrase alone ("Content"), or NULL when unknown. */
const char *coap_code_reason(uint8_t code);
const char *coap_type_name(uint8_t type); /* "CON", "NON", "ACK", "RST" */

#endif
