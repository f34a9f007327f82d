/*
 * libFuzzer target for the CoRE Link Format parser (RFC 6690 §2): walks
 * every link and param of arbitrary bytes (not NUL-terminated, so ASan
 * sees any read past the length) and unescapes every value.
 */
#include "coap_link.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    if (!text) return 0;
    memcpy(text, data, size);
    coap_link_iter_t it;
    coap_link_t link;
    coap_link_iter_init(&it, text, size);
    int n = 0, rc;
    while ((rc = coap_link_next(&it, &link)) == 1) {
        coap_link_param_t p;
        size_t pos = 0;
        char out[64];
        n++;
        while (coap_link_param_next(&link, &pos, &p)) {
            if (!p.name_len) abort();
            if (p.value && coap_link_unescape(p.value, p.value_len, out, sizeof out) > p.value_len)
                abort(); /* unescaping never lengthens */
        }
        coap_link_param_find(&link, "rt", &p);
    }
    size_t at = 0;
    int v = coap_link_validate(text, size, &at);
    if (v != (rc < 0 ? rc : n) || (v < 0 && at > size)) abort(); /* both agree */
    free(text);
    return 0;
}
