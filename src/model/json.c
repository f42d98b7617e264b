/* SPDX-License-Identifier: Apache-2.0 */
/* Reading model JSON with messages a user can act on: the context keeps the JSON pointer of the
 * value being read, and every getter checks type and range and, on failure, names the file, the
 * pointer, the field, the value and the expected form. Unknown keys are errors so that a typo never
 * silently becomes a default; "source", "note" and "description" strings are allowed anywhere for
 * provenance. Also the small text helpers the model's loaders and writers share. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_int.h"

bool cpn__id_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= CPN_ID_MAX - 1)
            return false;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return n > 0;
}

void cpn__fmt_double(double v, char *out, size_t size)
{
    if (!isfinite(v)) {
        snprintf(out, size, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15) { /* whole numbers without an exponent */
        snprintf(out, size, "%.0f", v == 0 ? 0.0 : v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, size, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

int cpn__json_str(struct cpn_buf *b, const char *s)
{
    int rc = cpn_buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; !rc && *p; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = { '\\', (char)*p };
            rc = cpn_buf_append(b, e, 2);
        } else if (*p < 0x20) {
            rc = cpn_buf_printf(b, "\\u%04x", *p);
        } else {
            rc = cpn_buf_append(b, p, 1);
        }
    }
    return rc ? rc : cpn_buf_append(b, "\"", 1);
}

void cpn__show_str(const char *s, char *out, size_t size)
{
    size_t n = strlen(s), max = size > 8 ? size - 6 : 1;
    if (n <= max)
        snprintf(out, size, "\"%s\"", s);
    else
        snprintf(out, size, "\"%.*s...\"", (int)max - 1, s);
}

void cpn__jinit(struct cpn__jctx *j, const char *file, struct cpn_error *err)
{
    j->file = file;
    j->err = err;
    j->ptr[0] = '\0';
    j->len = 0;
}

int cpn__jload(struct cpn__jctx *j, const char *text, size_t len, json_t **out)
{
    json_error_t je;
    json_t *root;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) { /* a UTF-8 byte-order mark */
        text += 3;
        len -= 3;
    }
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return cpn_errorf(j->err, CPN_EPARSE, "%s:%d:%d: invalid JSON: %s", j->file, je.line,
                          je.column, je.text);
    *out = root;
    return 0;
}

static void jappend(struct cpn__jctx *j, const char *s, bool escape)
{
    for (; *s; s++) {
        const char *piece = NULL;
        char one[2] = { *s, '\0' };
        size_t n;
        if (escape && *s == '~')
            piece = "~0";
        else if (escape && *s == '/')
            piece = "~1";
        else
            piece = one;
        n = strlen(piece);
        if (j->len + n >= sizeof j->ptr)
            return;
        memcpy(j->ptr + j->len, piece, n + 1);
        j->len += n;
    }
}

size_t cpn__jpush_key(struct cpn__jctx *j, const char *key)
{
    size_t mark = j->len;
    jappend(j, "/", false);
    jappend(j, key, true);
    return mark;
}

size_t cpn__jpush_idx(struct cpn__jctx *j, size_t i)
{
    char num[32];
    size_t mark = j->len;
    snprintf(num, sizeof num, "/%zu", i);
    jappend(j, num, false);
    return mark;
}

void cpn__jpop(struct cpn__jctx *j, size_t mark)
{
    j->len = mark;
    j->ptr[mark] = '\0';
}

void cpn__jshow(const json_t *v, char *out, size_t size)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        cpn__show_str(json_string_value(v), out, size);
        break;
    case JSON_INTEGER:
        snprintf(out, size, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        cpn__fmt_double(json_real_value(v), out, size);
        break;
    case JSON_TRUE:
        snprintf(out, size, "true");
        break;
    case JSON_FALSE:
        snprintf(out, size, "false");
        break;
    case JSON_NULL:
        snprintf(out, size, "null");
        break;
    case JSON_OBJECT:
        snprintf(out, size, "an object");
        break;
    case JSON_ARRAY:
        snprintf(out, size, "an array");
        break;
    }
}

static const char *jptr(const struct cpn__jctx *j)
{
    return j->len ? j->ptr : "(top level)";
}

int cpn__jfail(
    struct cpn__jctx *j, int code, const char *field, const json_t *v, const char *fmt, ...)
{
    char expected[256], shown[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(expected, sizeof expected, fmt, ap);
    va_end(ap);
    if (!v)
        return cpn_errorf(j->err, code, "%s: %s: missing field \"%s\": expected %s", j->file,
                          jptr(j), field, expected);
    cpn__jshow(v, shown, sizeof shown);
    return cpn_errorf(j->err, code, "%s: %s: %s = %s: expected %s", j->file, jptr(j), field, shown,
                      expected);
}

static bool in_list(const char *key, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(key, *list) == 0)
            return true;
    return false;
}

int cpn__jobject(struct cpn__jctx *j,
                 const json_t *obj,
                 const char *what,
                 const char *const *allowed)
{
    static const char *const ignored[] = { "source", "note", "description", NULL };
    const char *key;
    json_t *v;
    if (!json_is_object(obj))
        return cpn__jfail(j, CPN_EFIELD, what, obj, "an object");
    /* jansson's iteration takes a non-const object but does not modify it. */
    json_t *iter_obj = (json_t *)(uintptr_t)obj;
    json_object_foreach(iter_obj, key, v)
    {
        size_t mark;
        int rc = 0;
        if (in_list(key, allowed))
            continue;
        mark = cpn__jpush_key(j, key);
        if (in_list(key, ignored)) {
            if (!json_is_string(v))
                rc = cpn__jfail(j, CPN_EFIELD, key, v, "a string (ignored; for provenance)");
        } else {
            char list[384];
            size_t n = 0;
            list[0] = '\0';
            for (const char *const *a = allowed; *a; a++)
                n += (size_t)snprintf(list + n, n < sizeof list ? sizeof list - n : 0, "%s%s",
                                      a == allowed ? "" : ", ", *a);
            rc = cpn_errorf(j->err, CPN_EFIELD,
                            "%s: %s: unknown field \"%s\" in %s: expected one of %s (or source, "
                            "note, description)",
                            j->file, jptr(j), key, what, list);
        }
        cpn__jpop(j, mark);
        if (rc)
            return rc;
    }
    return 0;
}

int cpn__jarray(
    struct cpn__jctx *j, const json_t *obj, const char *key, bool required, const json_t **out)
{
    const json_t *v = json_object_get(obj, key);
    int rc = 0;
    size_t mark;
    *out = NULL;
    if (!v) {
        if (required)
            return cpn__jfail(j, CPN_EFIELD, key, NULL, "an array");
        return 0;
    }
    mark = cpn__jpush_key(j, key);
    if (!json_is_array(v))
        rc = cpn__jfail(j, CPN_EFIELD, key, v, "an array");
    cpn__jpop(j, mark);
    if (!rc)
        *out = v;
    return rc;
}

int cpn__jstr(struct cpn__jctx *j,
              const json_t *obj,
              const char *key,
              bool required,
              const char *def,
              bool id,
              char *out,
              size_t size)
{
    const json_t *v = json_object_get(obj, key);
    const char *s;
    int rc = 0;
    size_t mark;
    if (!v) {
        if (required)
            return cpn__jfail(j, CPN_EFIELD, key, NULL,
                              id ? "an id of 1..47 characters from A-Z a-z 0-9 . _ : -"
                                 : "a string");
        cpn_strlcpy(out, def, size);
        return 0;
    }
    mark = cpn__jpush_key(j, key);
    s = json_string_value(v);
    if (!s)
        rc = cpn__jfail(j, CPN_EFIELD, key, v, id ? "an id string" : "a string");
    else if (id && !cpn__id_ok(s))
        rc =
            cpn__jfail(j, CPN_EFIELD, key, v, "an id of 1..47 characters from A-Z a-z 0-9 . _ : -");
    else if (!id && (s[0] == '\0' || strlen(s) >= size))
        rc = cpn__jfail(j, CPN_EFIELD, key, v, "a string of 1..%zu bytes", size - 1);
    else
        cpn_strlcpy(out, s, size);
    cpn__jpop(j, mark);
    return rc;
}

int cpn__jnum(struct cpn__jctx *j,
              const json_t *obj,
              const char *key,
              bool required,
              double def,
              double lo,
              bool lo_open,
              double hi,
              const char *expected,
              double *out)
{
    const json_t *v = json_object_get(obj, key);
    double x;
    int rc = 0;
    size_t mark;
    if (!v) {
        if (required)
            return cpn__jfail(j, CPN_EFIELD, key, NULL, "%s", expected);
        *out = def;
        return 0;
    }
    mark = cpn__jpush_key(j, key);
    x = json_number_value(v);
    if (!json_is_number(v) || !isfinite(x) || x < lo || (lo_open && x == lo) || x > hi)
        rc = cpn__jfail(j, CPN_EFIELD, key, v, "%s", expected);
    else
        *out = x;
    cpn__jpop(j, mark);
    return rc;
}

int cpn__jtime(struct cpn__jctx *j, const json_t *obj, const char *key, int64_t *out)
{
    static const char expected[] =
        "an ISO 8601 UTC time (\"2025-01-03T00:00:00Z\") or integer seconds since 1970, "
        "in years 0001..9999";
    const json_t *v = json_object_get(obj, key);
    int64_t t = 0;
    bool ok = false;
    int rc = 0;
    size_t mark;
    if (!v)
        return cpn__jfail(j, CPN_EFIELD, key, NULL, "%s", expected);
    mark = cpn__jpush_key(j, key);
    if (json_is_string(v)) {
        ok = cpn_time_parse(json_string_value(v), &t) == 0;
    } else if (json_is_integer(v)) {
        t = (int64_t)json_integer_value(v);
        ok = true;
    }
    if (!ok || t < CPN__T_MIN || t > CPN__T_MAX)
        rc = cpn__jfail(j, CPN_EFIELD, key, v, "%s", expected);
    else
        *out = t;
    cpn__jpop(j, mark);
    return rc;
}
