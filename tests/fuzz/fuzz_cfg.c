/*
 * libFuzzer target for the configuration file: arbitrary bytes as the
 * JSON text of cfg_load_string() (jansson, then every key's validator:
 * addresses, URIs, ranges, tokens, credentials, DTLS identities), over
 * the defaults, then the cross-key consistency check and a copy. A load
 * is all-or-nothing: a failed one must leave the defaults as they were
 * and say why.
 */
#include "cfg.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1); /* jansson wants a C string */
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    cfg_t c;
    cfg_defaults(&c);
    char err[512];
    if (cfg_load_string(&c, text, "fuzz.json", err, sizeof err) == 0) {
        cfg_check_consistency(&c, err, sizeof err);
        cfg_t copy; /* cfg_copy() fills an uninitialized one */
        if (cfg_copy(&copy, &c) == 0 && copy.ndevices != c.ndevices) abort();
        cfg_free(&copy);
    } else if (!err[0] || c.ndevices != 1) {
        abort(); /* a refusal names the problem and changes nothing */
    }
    cfg_free(&c);
    free(text);
    return 0;
}
