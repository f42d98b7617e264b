/* SPDX-License-Identifier: Apache-2.0 */
/* The jobs file of submit and quote: one job (a JSON object), a JSON array of jobs or
 * {"jobs": [...]}, or CSV with a header row naming the columns of the job format
 * (docs/formats.md), read whole from a file or stdin (at most 256 MiB). Every CSV row becomes the
 * JSON object the job loader expects; the server checks the fields and its answer names any that
 * is wrong. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_client_int.h"

#define INPUT_MAX (256u << 20) /* a jobs file read whole: 256 MiB, as the JSON job loader */

/* ---- job input ------------------------------------------------------------------------------- */

static const char *const num_fields[] = { "min_tflops",       "units",   "work_pflop_h",
                                          "max_rtt_ms",       "data_gb", "priority",
                                          "price_ceiling_cny" };

/* A CSV field as the JSON value the job loader expects: numbers for numeric columns, a boolean for
 * interruptible, text otherwise (a value that does not parse goes as text: the server's answer then
 * names the field). */
static json_t *csv_value(const char *key, const char *v)
{
    for (size_t i = 0; i < sizeof num_fields / sizeof num_fields[0]; i++)
        if (!strcmp(key, num_fields[i])) {
            int64_t n;
            double d;
            if (cpn_parse_int64(v, &n) == 0)
                return json_integer((json_int_t)n);
            if (cpn_parse_double(v, &d) == 0 && isfinite(d))
                return json_real(d);
            return json_string(v);
        }
    if (!strcmp(key, "interruptible")) {
        bool b;
        if (cpn_parse_bool(v, &b) == 0)
            return json_boolean(b);
    }
    return json_string(v);
}

static char *trim(char *s)
{
    size_t n;
    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* CSV (header row naming the columns) -> one JSON object per row with the non-empty fields. */
static int
csv_jobs(const char *data, size_t len, const char *name, json_t *out, struct cpn_error *err)
{
    struct cpn_csv *csv = NULL;
    char **f, **heads = NULL;
    size_t n, nh = 0;
    int rc;
    if (cpn_csv_from_mem(data, len, name, &csv))
        return cpn_errorf(err, -ENOMEM, "out of memory");
    rc = cpn_csv_next(csv, &f, &n, err);
    if (rc == 0)
        rc = cpn_errorf(err, CPN_EPARSE, "%s: empty file: expected a job or a jobs file", name);
    if (rc == 1) {
        heads = cpn_calloc(n, sizeof *heads);
        rc = heads ? 0 : cpn_errorf(err, -ENOMEM, "out of memory");
        for (size_t k = 0; k < n && rc == 0; k++, nh++) {
            char *h = heads[k] = cpn_strdup(f[k]);
            if (!h) {
                rc = cpn_errorf(err, -ENOMEM, "out of memory");
                break;
            }
            for (char *p = h; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                    *p = (char)(*p - 'A' + 'a');
            memmove(h, trim(h), strlen(trim(h)) + 1);
            if (!*h)
                rc = cpn_errorf(err, CPN_EPARSE, "%s:%ld:%zu: empty column name in the header",
                                name, cpn_csv_line(csv), k + 1);
            for (size_t m = 0; m < k && rc == 0; m++)
                if (!strcmp(heads[m], h))
                    rc = cpn_errorf(err, CPN_EPARSE,
                                    "%s:%ld:%zu: column \"%s\" again: expected each column once",
                                    name, cpn_csv_line(csv), k + 1, h);
        }
    }
    while (rc == 0 && (rc = cpn_csv_next(csv, &f, &n, err)) == 1) {
        json_t *o = json_object();
        rc = 0;
        if (n != nh) {
            json_decref(o);
            rc = cpn_errorf(err, CPN_EPARSE, "%s:%ld: %zu fields: expected %zu as in the header",
                            name, cpn_csv_line(csv), n, nh);
            break;
        }
        for (size_t k = 0; k < n && o; k++) {
            char *v = trim(f[k]);
            if (*v && json_object_set_new(o, heads[k], csv_value(heads[k], v))) {
                json_decref(o);
                o = NULL;
            }
        }
        if (!o || json_array_append_new(out, o))
            rc = cpn_errorf(err, -ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < nh; k++)
        cpn_free(heads[k]);
    cpn_free(heads);
    cpn_csv_close(csv);
    return rc < 0 ? rc : 0;
}

static int
json_jobs(const char *data, size_t len, const char *name, json_t *out, struct cpn_error *err)
{
    json_error_t je;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je), *list;
    int rc = 0;
    if (!root)
        return cpn_errorf(err, CPN_EPARSE, "%s:%d:%d: %s", name, je.line, je.column, je.text);
    list = json_is_object(root) && json_object_get(root, "jobs") ? json_object_get(root, "jobs")
                                                                 : root;
    if (json_is_array(list))
        rc = json_array_extend(out, list) ? cpn_errorf(err, -ENOMEM, "out of memory") : 0;
    else if (json_is_object(list) && list == root)
        rc = json_array_append(out, root) ? cpn_errorf(err, -ENOMEM, "out of memory") : 0;
    else
        rc = cpn_errorf(err, CPN_EPARSE,
                        "%s: %s: expected a job object, an array of jobs or {\"jobs\": [...]}",
                        name, list == root ? "top level" : "/jobs");
    json_decref(root);
    return rc;
}

/* Reads FILE (or stdin for "-") into buf and its jobs into *jobs (a new array). CPN_EXIT_OK or
 * CPN_EXIT_FAIL after a message. */
int cli_read_jobs(const struct cli_args *a, struct cpn_buf *buf, json_t **jobs)
{
    const char *path = a->arg, *name = strcmp(path, "-") ? path : "stdin";
    struct cpn_error err = { 0 };
    const char *p;
    int rc = 0;
    buf->limit = INPUT_MAX;
    if (strcmp(path, "-")) {
        rc = cpn_buf_read_file(buf, path, &err);
    } else {
        char chunk[65536];
        size_t n;
        while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
            rc = cpn_buf_append(buf, chunk, n);
        if (rc == 0 && ferror(stdin))
            rc = cpn_errorf(&err, -EIO, "stdin: read error");
        else if (rc)
            cpn_errorf(&err, rc, "stdin: %s", cpn_strerror(rc));
        if (rc == 0 && !buf->data)
            rc = cpn_buf_puts(buf, "");
    }
    if (rc) {
        if (rc == CPN_ELIMIT)
            fprintf(stderr, "%s: %s is larger than %u MiB\n", a->prefix, name, INPUT_MAX >> 20);
        else
            fprintf(stderr, "%s: %s\n", a->prefix, err.msg);
        return CPN_EXIT_FAIL;
    }
    *jobs = json_array();
    if (!*jobs)
        return cli_nomem(a);
    p = buf->data;
    if ((unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb && (unsigned char)p[2] == 0xbf)
        p += 3; /* a UTF-8 byte order mark */
    p += strspn(p, " \t\r\n");
    if (*p == '{' || *p == '[')
        rc = json_jobs(p, buf->len - (size_t)(p - buf->data), name, *jobs, &err);
    else
        rc = csv_jobs(p, buf->len - (size_t)(p - buf->data), name, *jobs, &err);
    if (rc == 0 && json_array_size(*jobs) == 0)
        rc = cpn_errorf(&err, CPN_EPARSE, "%s: no jobs in the file", name);
    if (rc) {
        fprintf(stderr, "%s: %s\n", a->prefix, err.msg);
        json_decref(*jobs);
        *jobs = NULL;
        return rc == -ENOMEM ? CPN_EXIT_SERVER : CPN_EXIT_FAIL;
    }
    return CPN_EXIT_OK;
}
