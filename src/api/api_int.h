/* SPDX-License-Identifier: Apache-2.0 */
/* What only the api component's files share: percent-decoding (paths and queries differ only in
 * whether '+' means a space), the request-body expectations of each route, the parsing of method
 * names and JSON string escaping for the bodies the server writes itself. Nothing here allocates
 * except cpn__json_escape, which appends to a capped buffer. */
#ifndef CPN_API_INT_H
#define CPN_API_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "cpnet/api.h"
#include "cpnet/util.h"

/* Decodes n bytes of src (%XX escapes; '+' as a space when plus_space) into out[size], which is
 * NUL-terminated. 0; CPN_EPARSE for a malformed escape or an encoded NUL; CPN_ELIMIT when the
 * decoded text needs more than size-1 bytes (out then holds a truncated copy). */
int cpn__pct_decode(const char *src, size_t n, bool plus_space, char *out, size_t size);

/* What a route accepts as a request body. */
enum cpn__body {
    CPN__BODY_NONE,     /* no body: a non-empty one is a 400 */
    CPN__BODY_JSON,     /* a JSON document (application/json) is required */
    CPN__BODY_JSON_OPT, /* a JSON document may be given */
    CPN__BODY_JSON_CSV, /* a JSON document or CSV text (text/csv), e.g. a signal series */
};
enum cpn__body cpn__route_body(enum cpn_route r);

/* Maps a request method token to the enum (case-sensitive, as RFC 9110 says); CPN_HTTP_OTHER for
 * anything else. */
enum cpn_http_method cpn__method_parse(const char *s);

/* Appends s as a quoted JSON string to b (control characters escaped; bytes >= 0x80 copied). */
int cpn__json_escape(struct cpn_buf *b, const char *s);

/* True when content_type names application/json (optionally with parameters, e.g. charset), or
 * a +json structured-syntax suffix. */
bool cpn__content_type_json(const char *content_type);
/* True when content_type names text/csv (optionally with parameters). */
bool cpn__content_type_csv(const char *content_type);

#endif
