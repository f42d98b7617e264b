/* SPDX-License-Identifier: Apache-2.0 */
/* Decoding what arrives in a request line and headers: percent-escapes, query parameters
 * (application/x-www-form-urlencoded: '&'-separated pairs, '+' for a space, repeated keys allowed
 * as the Carbon Aware SDK's ?location=a&location=b), bearer tokens (RFC 6750: the scheme is
 * case-insensitive, the token is token68) and media types. Every function writes into a
 * caller-sized buffer and reports a value that does not fit rather than truncating silently; none
 * allocates, so the fuzz harnesses drive them with arbitrary bytes. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int cpn__pct_decode(const char *src, size_t n, bool plus_space, char *out, size_t size)
{
    size_t o = 0;
    int rc = 0;
    if (size == 0)
        return CPN_ELIMIT;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '%') {
            int hi = i + 1 < n ? hexval(src[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(src[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                rc = CPN_EPARSE; /* malformed escape, or an encoded NUL */
                break;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        } else if (c == '\0') {
            rc = CPN_EPARSE;
            break;
        }
        if (o + 1 >= size) {
            rc = CPN_ELIMIT;
            break;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return rc;
}

int cpn_query_get_nth(const char *query, const char *key, size_t nth, char *out, size_t size)
{
    size_t klen = strlen(key);
    const char *p = query ? query : "";
    if (size == 0)
        return CPN_ELIMIT;
    out[0] = '\0';
    while (*p) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t kl = eq ? (size_t)(eq - p) : len;
        char name[256];
        /* A key that does not decode cannot be one the caller asks for: skip it. */
        if (len && kl / 3 <= klen && cpn__pct_decode(p, kl, true, name, sizeof name) == 0 &&
            strcmp(name, key) == 0) {
            if (nth == 0) {
                const char *v = eq ? eq + 1 : p + len;
                int rc = cpn__pct_decode(v, (size_t)(p + len - v), true, out, size);
                if (rc) {
                    out[0] = '\0';
                    return rc;
                }
                return 1;
            }
            nth--;
        }
        p += len;
        if (*p == '&')
            p++;
    }
    return 0;
}

int cpn_query_get(const char *query, const char *key, char *out, size_t size)
{
    return cpn_query_get_nth(query, key, 0, out, size);
}

static bool token68_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

int cpn_bearer_token(const char *authorization, char *out, size_t size)
{
    const char *p = authorization;
    size_t n = 0;
    if (!p || size == 0)
        return -EACCES;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
        return -EACCES;
    p += 6;
    while (*p == ' ' || *p == '\t')
        p++;
    while (token68_char(p[n]))
        n++;
    if (n == 0)
        return -EACCES;
    while (p[n] == '=')
        n++;
    for (const char *q = p + n; *q; q++)
        if (*q != ' ' && *q != '\t')
            return -EACCES;
    if (n >= size)
        return -EACCES;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

/* The media type of ct (type/subtype, parameters and blanks cut off) into *start, *len; false when
 * something other than parameters follows it. */
static bool media_type(const char *ct, const char **start, size_t *len)
{
    size_t n = 0;
    if (!ct)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    while (ct[n] && ct[n] != ';' && ct[n] != ' ' && ct[n] != '\t')
        n++;
    for (const char *q = ct + n; *q && *q != ';'; q++)
        if (*q != ' ' && *q != '\t')
            return false;
    *start = ct;
    *len = n;
    return true;
}

bool cpn__content_type_json(const char *ct)
{
    size_t n;
    if (!media_type(ct, &ct, &n))
        return false;
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return true;
    return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
           strncasecmp(ct + n - 5, "+json", 5) == 0 && !memchr(ct + 12, '/', n - 12);
}

bool cpn__content_type_csv(const char *ct)
{
    size_t n;
    return media_type(ct, &ct, &n) && n == 8 && strncasecmp(ct, "text/csv", 8) == 0;
}
