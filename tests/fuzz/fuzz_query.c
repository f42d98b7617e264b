/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness of the decoders fed by request lines and headers: query parameters (the
 * input up to the first newline is the query, the next line the key), bearer tokens (the whole
 * input as an Authorization value) and problem+json bodies (the input as the detail, which must
 * always come back as valid JSON). Output buffers are sized from the input so that every
 * "does it fit" edge is reached. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpnet/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text, *key, out[64], tok[64];
    size_t outsize;
    if (size > 8192)
        return 0;
    text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    outsize = size ? 1 + data[0] % sizeof out : sizeof out;

    /* query: "<query>\n<key>" */
    key = strchr(text, '\n');
    if (key) {
        *key++ = '\0';
        for (size_t nth = 0; nth < 3; nth++) {
            memset(out, 0x55, sizeof out);
            int rc = cpn_query_get_nth(text, key, nth, out, outsize);
            if (rc != 0 && rc != 1 && rc != CPN_ELIMIT && rc != CPN_EPARSE)
                abort();
            if (!memchr(out, '\0', outsize))
                abort();
            if (rc == 1 && strlen(out) >= outsize)
                abort();
        }
        key[-1] = '\n';
    }

    /* bearer */
    memset(tok, 0x55, sizeof tok);
    int rc = cpn_bearer_token(text, tok, outsize);
    if (rc == 0) {
        size_t n = strlen(tok);
        if (n == 0 || n >= outsize)
            abort();
        for (size_t i = 0; i < n; i++)
            if (tok[i] == ' ' || tok[i] == '\t' || (unsigned char)tok[i] < 0x20)
                abort();
    } else if (rc != -EACCES) {
        abort();
    }

    /* problem+json round trip: with valid UTF-8 (jansson's json_string checks it), the body
     * parses and carries the detail (a C string: up to the input's first NUL) unchanged. */
    struct cpn_http_response r = { 0 };
    json_t *utf8 = json_string(text);
    if (cpn_problem(&r, 400, text, size % 2 ? text : NULL) == 0) {
        json_error_t je;
        json_t *doc = json_loadb(r.body, r.len, 0, &je);
        const char *detail = json_string_value(json_object_get(doc, "detail"));
        if (utf8 && (!doc || !detail || strcmp(detail, text) != 0))
            abort();
        json_decref(doc);
        cpn_free(r.body);
    }
    json_decref(utf8);
    free(text);
    return 0;
}
