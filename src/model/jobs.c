/* SPDX-License-Identifier: Apache-2.0 */
/* The job loaders: CSV with a header naming the columns in any order, or JSON (an array of objects
 * or {"jobs": [...]}) with the same field names (docs/formats.md#jobs). Both paths turn each value
 * into text and go through one field parser, so a field means the same in either format and every
 * message names the file, the line and column or JSON pointer, the field, the value and what was
 * expected. Traces of millions of jobs are streamed: ids resolve through hash maps built once, job
 * ids are checked for uniqueness in a hash set of indexes, and arrays grow geometrically. A failing
 * load frees everything and leaves *out untouched. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model/model_int.h"

enum jf {
    JF_ID,
    JF_TENANT,
    JF_ORIGIN,
    JF_CLASS,
    JF_DEVICE,
    JF_MIN_TFLOPS,
    JF_UNITS,
    JF_DURATION,
    JF_WORK,
    JF_SUBMIT,
    JF_EARLIEST,
    JF_DEADLINE,
    JF_INTERRUPTIBLE,
    JF_MAX_RTT,
    JF_DATA_GB,
    JF_DATA_SITE,
    JF_ALLOWED,
    JF_PRICE_CEILING,
    JF_PRIORITY,
    JF_COUNT
};

/* How a JSON value of the field may be written. */
enum jkind {
    JK_STR,
    JK_NUM,
    JK_TIME, /* string or integer */
    JK_BOOL,
    JK_LIST /* array of strings or one ';'-separated string */
};

static const char *const jf_names[JF_COUNT + 1] = { "id",
                                                    "tenant",
                                                    "origin",
                                                    "class",
                                                    "device",
                                                    "min_tflops",
                                                    "units",
                                                    "duration",
                                                    "work_pflop_h",
                                                    "submit",
                                                    "earliest",
                                                    "deadline",
                                                    "interruptible",
                                                    "max_rtt_ms",
                                                    "data_gb",
                                                    "data_site",
                                                    "allowed",
                                                    "price_ceiling_cny",
                                                    "priority",
                                                    NULL };

static const enum jkind jf_kinds[JF_COUNT] = { JK_STR,  JK_STR,  JK_STR,  JK_STR, JK_STR,
                                               JK_NUM,  JK_NUM,  JK_TIME, JK_NUM, JK_TIME,
                                               JK_TIME, JK_TIME, JK_BOOL, JK_NUM, JK_NUM,
                                               JK_STR,  JK_LIST, JK_NUM,  JK_NUM };

static const char id_form[] = "an id of 1..47 characters from A-Z a-z 0-9 . _ : -";
static const char time_form[] =
    "an ISO 8601 time (2025-01-03T08:00:00Z; no offset means UTC) or integer seconds since 1970";

struct id_slot {
    uint32_t idx1; /* job index + 1; 0 = empty */
    uint32_t hash; /* low bits of the id's hash: also its home slot (caps stay below 2^32) */
};

struct jload {
    const struct cpn_network *net;
    struct cpn_error *err;
    const char *file;
    struct cpn_jobset *js;
    struct cpn_strmap sites, hubs, clusters;
    struct id_slot *ids; /* open-addressing set of job ids */
    size_t ids_cap;
    char expected[256];
};

static int expect(struct jload *L, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int expect(struct jload *L, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->expected, sizeof L->expected, fmt, ap);
    va_end(ap);
    return code;
}

static int nomem(struct jload *L)
{
    return cpn_errorf(L->err, -ENOMEM, "%s: out of memory", L->file);
}

static int parse_nonneg(struct jload *L, const char *s, double max, double *out, const char *what)
{
    double v;
    if (cpn_parse_double(s, &v) || v < 0 || v > max)
        return expect(L, CPN_EFIELD, "%s", what);
    *out = v;
    return 0;
}

static int parse_time(struct jload *L, const char *s, int64_t *out)
{
    int64_t t;
    if (cpn_time_parse(s, &t) || t < CPN__T_MIN || t > CPN__T_MAX)
        return expect(L, CPN_EFIELD, "%s", time_form);
    *out = t;
    return 0;
}

static int add_cluster(struct jload *L, struct cpn_job *job, int32_t c)
{
    struct cpn_jobset *js = L->js;
    for (uint32_t i = 0; i < job->n_allowed; i++)
        if (js->allowed[job->allowed_off + i] == c)
            return 0;
    if (js->nallowed >= UINT32_MAX)
        return expect(L, CPN_ELIMIT, "at most %u allowed clusters over all jobs", UINT32_MAX);
    if (cpn_grow(&js->allowed, &js->allowed_cap, js->nallowed + 1, sizeof *js->allowed))
        return -ENOMEM;
    js->allowed[js->nallowed++] = c;
    job->n_allowed++;
    return 0;
}

/* One entry of "allowed": hub:<id>, cluster:<id> or a bare id of either. */
static int allowed_item(struct jload *L, const char *item, struct cpn_job *job)
{
    int32_t h = -1, c = -1;
    while (*item == ' ' || *item == '\t')
        item++;
    if (*item == '\0')
        return 0;
    if (strncmp(item, "hub:", 4) == 0) {
        if ((h = cpn_strmap_get(&L->hubs, item + 4)) < 0)
            return expect(L, CPN_EREF, "hub ids of the network (\"%.47s\" is not one)", item + 4);
    } else if (strncmp(item, "cluster:", 8) == 0) {
        if ((c = cpn_strmap_get(&L->clusters, item + 8)) < 0)
            return expect(L, CPN_EREF, "cluster ids of the network (\"%.47s\" is not one)",
                          item + 8);
    } else {
        h = cpn_strmap_get(&L->hubs, item);
        c = cpn_strmap_get(&L->clusters, item);
        if (h >= 0 && c >= 0)
            return expect(L, CPN_EFIELD,
                          "a prefix: \"%.47s\" names both a hub and a cluster, write hub:%.47s "
                          "or cluster:%.47s",
                          item, item, item);
        if (h < 0 && c < 0)
            return expect(L, CPN_EREF,
                          "hub or cluster ids of the network, ';'-separated (\"%.47s\" is neither)",
                          item);
    }
    if (h >= 0) {
        job->allowed_hubs |= 1ull << h;
        return 0;
    }
    return add_cluster(L, job, c);
}

static int allowed_list(struct jload *L, char *s, struct cpn_job *job)
{
    char *p = s;
    for (;;) {
        char *semi = strchr(p, ';');
        char *end;
        int rc;
        if (semi)
            *semi = '\0';
        for (end = p + strlen(p); end > p && (end[-1] == ' ' || end[-1] == '\t'); end--)
            end[-1] = '\0';
        rc = allowed_item(L, p, job);
        if (semi)
            *semi = ';';
        if (rc)
            return rc;
        if (!semi)
            return 0;
        p = semi + 1;
    }
}

/* Parses the text s of field f into job. s is not empty; it may be modified temporarily. */
static int set_field(struct jload *L, enum jf f, char *s, struct cpn_job *job)
{
    double d = 0;
    int64_t i;
    bool b;
    enum cpn_class cls;
    int32_t idx;
    switch (f) {
    case JF_ID:
    case JF_TENANT:
        if (!cpn__id_ok(s))
            return expect(L, CPN_EFIELD, "%s", id_form);
        cpn_strlcpy(f == JF_ID ? job->id : job->tenant, s, CPN_ID_MAX);
        return 0;
    case JF_ORIGIN:
    case JF_DATA_SITE:
        if ((idx = cpn_strmap_get(&L->sites, s)) < 0)
            return expect(L, CPN_EREF, "the id of a site of the network");
        *(f == JF_ORIGIN ? &job->site : &job->data_site) = idx;
        return 0;
    case JF_CLASS:
        if (cpn_class_parse(s, &cls))
            return expect(L, CPN_EFIELD, "general, intelligent or super");
        job->cls = (int16_t)cls;
        return 0;
    case JF_DEVICE:
        if (cpn_strlcpy(job->device, s, sizeof job->device))
            return expect(L, CPN_EFIELD, "a device name of at most %d bytes", CPN_NAME_MAX - 1);
        return 0;
    case JF_MIN_TFLOPS:
        return parse_nonneg(L, s, 1e12, &job->min_tflops, "a TFLOPS per unit >= 0 (0 = any)");
    case JF_UNITS:
        if (cpn_parse_int64(s, &i) || i < 1 || i > (1ll << 53))
            return expect(L, CPN_EFIELD, "an integer >= 1");
        job->units = i;
        return 0;
    case JF_DURATION:
        if (cpn_parse_duration(s, &i) || i > CPN__T_MAX - CPN__T_MIN)
            return expect(L, CPN_EFIELD,
                          "a duration: seconds, or a number with unit s, m, h, d (90m, 1.5d), "
                          "or ISO 8601 (PT2H)");
        job->duration_s = i;
        return 0;
    case JF_WORK:
        return parse_nonneg(L, s, 1e15, &job->work_pflop_h, "a work in PFLOP-h >= 0");
    case JF_SUBMIT:
        return parse_time(L, s, &job->submit_s);
    case JF_EARLIEST:
        return parse_time(L, s, &job->earliest_s);
    case JF_DEADLINE:
        return parse_time(L, s, &job->deadline_s);
    case JF_INTERRUPTIBLE:
        if (cpn_parse_bool(s, &b))
            return expect(L, CPN_EFIELD, "true or false");
        job->interruptible = b;
        return 0;
    case JF_MAX_RTT:
        return parse_nonneg(L, s, 1e9, &job->max_rtt_ms,
                            "a round-trip time in ms >= 0 (0 = no bound)");
    case JF_DATA_GB:
        return parse_nonneg(L, s, 1e15, &job->data_gb, "a data size in GB >= 0");
    case JF_ALLOWED:
        return allowed_list(L, s, job);
    case JF_PRICE_CEILING:
        if (parse_nonneg(L, s, 1e12, &d, "a price in CNY >= 0 (0 = none)"))
            return CPN_EFIELD;
        job->price_ceiling_ucny = llround(d * (double)CPN_UCNY_PER_CNY);
        return 0;
    case JF_PRIORITY:
        if (cpn_parse_int64(s, &i) || i < INT16_MIN || i > INT16_MAX)
            return expect(L, CPN_EFIELD, "an integer from -32768 to 32767");
        job->priority = (int16_t)i;
        return 0;
    case JF_COUNT:
        break;
    }
    return expect(L, CPN_EFIELD, "a known field");
}

static void job_defaults(struct jload *L, struct cpn_job *job)
{
    memset(job, 0, sizeof *job);
    cpn_strlcpy(job->tenant, "default", sizeof job->tenant);
    job->site = -1;
    job->data_site = -1;
    job->cls = -1;
    job->units = 1;
    job->deadline_s = CPN_NO_DEADLINE;
    job->submit_s = INT64_MIN;
    job->earliest_s = INT64_MIN;
    job->allowed_off = (uint32_t)L->js->nallowed;
}

/* Required fields present, defaults that depend on other fields, then the job's own checks.
 * Returns the field at fault in *bad (and L->expected, is->value). */
static int finish_job(struct jload *L, struct cpn_job *job, struct cpn__job_issue *is, enum jf *bad)
{
    static const enum jf required[] = { JF_ID, JF_ORIGIN, JF_CLASS, JF_EARLIEST };
    static const char *const req_form[] = { id_form, "the id of a site of the network",
                                            "general, intelligent or super", time_form };
    int rc;
    memset(is, 0, sizeof *is);
    for (size_t k = 0; k < sizeof required / sizeof required[0]; k++) {
        bool missing = (required[k] == JF_ID && !job->id[0]) ||
                       (required[k] == JF_ORIGIN && job->site < 0) ||
                       (required[k] == JF_CLASS && job->cls < 0) ||
                       (required[k] == JF_EARLIEST && job->earliest_s == INT64_MIN);
        if (missing) {
            *bad = required[k];
            return expect(L, CPN_EFIELD, "%s", req_form[k]);
        }
    }
    if (job->submit_s == INT64_MIN)
        job->submit_s = job->earliest_s;
    if (job->data_site < 0 && job->data_gb > 0)
        job->data_site = job->site;
    rc = cpn__job_check(job, L->net, is);
    if (rc) {
        *bad = JF_COUNT;
        for (int f = 0; f < JF_COUNT; f++)
            if (strcmp(jf_names[f], is->field) == 0)
                *bad = (enum jf)f;
        expect(L, rc, "%s", is->expected);
    }
    return rc;
}

/* Adds job index idx to the id set; -EEXIST with *other set when the id is taken. Slots keep the
 * hash next to the index so that probing seldom touches the (large, cold) job array. */
static int ids_put(struct jload *L, size_t idx, size_t *other)
{
    const struct cpn_job *v = L->js->v;
    uint32_t h = (uint32_t)cpn_hash_str(v[idx].id);
    size_t mask, j;
    if ((idx + 1) * 2 > L->ids_cap) {
        size_t ncap = L->ids_cap ? L->ids_cap * 2 : 1024;
        struct id_slot *n = cpn_calloc(ncap, sizeof *n);
        if (!n)
            return -ENOMEM;
        for (size_t k = 0; k < L->ids_cap; k++) {
            if (!L->ids[k].idx1)
                continue;
            j = L->ids[k].hash & (ncap - 1);
            while (n[j].idx1)
                j = (j + 1) & (ncap - 1);
            n[j] = L->ids[k];
        }
        cpn_free(L->ids);
        L->ids = n;
        L->ids_cap = ncap;
    }
    mask = L->ids_cap - 1;
    j = h & mask;
    while (L->ids[j].idx1) {
        if (L->ids[j].hash == h && strcmp(v[L->ids[j].idx1 - 1].id, v[idx].id) == 0) {
            *other = L->ids[j].idx1 - 1;
            return -EEXIST;
        }
        j = (j + 1) & mask;
    }
    L->ids[j].idx1 = (uint32_t)(idx + 1);
    L->ids[j].hash = h;
    return 0;
}

/* Reserves the next job slot. */
static struct cpn_job *next_job(struct jload *L)
{
    struct cpn_jobset *js = L->js;
    if (js->n >= UINT32_MAX - 1)
        return NULL;
    if (cpn_grow(&js->v, &js->cap, js->n + 1, sizeof *js->v))
        return NULL;
    return &js->v[js->n];
}

/* ---- CSV
 * ----------------------------------------------------------------------------------------- */

static char *trim(char *s)
{
    char *e;
    while (*s == ' ' || *s == '\t')
        s++;
    for (e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t'); e--)
        ;
    *e = '\0';
    return s;
}

static int
csv_fail(struct jload *L, int code, long line, int col, const char *field, const char *value)
{
    char shown[80];
    if (code == -ENOMEM)
        return nomem(L);
    if (col < 0)
        return cpn_errorf(L->err, code, "%s:%ld: %s: no such column: expected %s", L->file, line,
                          field, L->expected);
    if (!value || !*value)
        return cpn_errorf(L->err, code, "%s:%ld:%d: %s is empty: expected %s", L->file, line,
                          col + 1, field, L->expected);
    cpn__show_str(value, shown, sizeof shown);
    return cpn_errorf(L->err, code, "%s:%ld:%d: %s = %s: expected %s", L->file, line, col + 1,
                      field, shown, L->expected);
}

static int csv_header(
    struct jload *L, struct cpn_csv *csv, enum jf **colmap, size_t *ncols, int fieldcol[JF_COUNT])
{
    char **f;
    size_t n;
    int rc = cpn_csv_next(csv, &f, &n, L->err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return cpn_errorf(L->err, CPN_EPARSE,
                          "%s:1: empty file: expected a header row naming the columns (id, "
                          "origin, class, duration, earliest, ...) or a JSON array of jobs",
                          L->file);
    for (int k = 0; k < JF_COUNT; k++)
        fieldcol[k] = -1;
    *colmap = cpn_calloc(n, sizeof **colmap);
    if (!*colmap)
        return nomem(L);
    *ncols = n;
    for (size_t c = 0; c < n; c++) {
        const char *name = trim(f[c]);
        int k;
        for (k = 0; k < JF_COUNT; k++)
            if (strcasecmp(name, jf_names[k]) == 0)
                break;
        if (k == JF_COUNT) {
            char shown[80];
            cpn__show_str(name, shown, sizeof shown);
            return cpn_errorf(L->err, CPN_EFIELD,
                              "%s:%ld:%zu: column %s: expected one of id, tenant, origin, class, "
                              "device, min_tflops, units, duration, work_pflop_h, submit, "
                              "earliest, deadline, interruptible, max_rtt_ms, data_gb, data_site, "
                              "allowed, price_ceiling_cny, priority",
                              L->file, cpn_csv_line(csv), c + 1, shown);
        }
        if (fieldcol[k] >= 0)
            return cpn_errorf(L->err, CPN_EFIELD,
                              "%s:%ld:%zu: column \"%s\" again: expected each column once (first "
                              "in column %d)",
                              L->file, cpn_csv_line(csv), c + 1, jf_names[k], fieldcol[k] + 1);
        fieldcol[k] = (int)c;
        (*colmap)[c] = (enum jf)k;
    }
    {
        static const enum jf required[] = { JF_ID, JF_ORIGIN, JF_CLASS, JF_EARLIEST };
        for (size_t k = 0; k < sizeof required / sizeof required[0]; k++)
            if (fieldcol[required[k]] < 0)
                return cpn_errorf(L->err, CPN_EFIELD,
                                  "%s:%ld: header: missing column \"%s\": expected the columns "
                                  "id, origin, class and earliest (and duration or work_pflop_h)",
                                  L->file, cpn_csv_line(csv), jf_names[required[k]]);
        if (fieldcol[JF_DURATION] < 0 && fieldcol[JF_WORK] < 0)
            return cpn_errorf(L->err, CPN_EFIELD,
                              "%s:%ld: header: missing column \"duration\": expected a duration "
                              "or a work_pflop_h column",
                              L->file, cpn_csv_line(csv));
    }
    return 0;
}

static int csv_rows(struct jload *L, struct cpn_csv *csv)
{
    enum jf *colmap = NULL;
    int fieldcol[JF_COUNT];
    size_t ncols = 0;
    char **f;
    size_t n;
    int rc = csv_header(L, csv, &colmap, &ncols, fieldcol);
    while (!rc && (rc = cpn_csv_next(csv, &f, &n, L->err)) == 1) {
        long line = cpn_csv_line(csv);
        struct cpn_job *job = next_job(L);
        struct cpn__job_issue is;
        enum jf bad;
        size_t other;
        rc = 0;
        if (!job) {
            rc = nomem(L);
            break;
        }
        if (n != ncols) {
            rc = cpn_errorf(L->err, CPN_EPARSE, "%s:%ld: %zu fields: expected %zu as in the header",
                            L->file, line, n, ncols);
            break;
        }
        uint32_t given = 0;
        job_defaults(L, job);
        for (size_t c = 0; c < n && !rc; c++) {
            char *s = trim(f[c]);
            if (!*s)
                continue;
            given |= 1u << colmap[c];
            if ((rc = set_field(L, colmap[c], s, job)))
                rc = csv_fail(L, rc, line, (int)c, jf_names[colmap[c]], s);
        }
        if (rc)
            break;
        if ((rc = finish_job(L, job, &is, &bad))) {
            int col = bad < JF_COUNT ? fieldcol[bad] : -1;
            const char *field = bad < JF_COUNT ? jf_names[bad] : is.field;
            bool was_given = bad < JF_COUNT && (given >> bad) & 1u;
            rc = csv_fail(L, rc, line, col, field, was_given ? is.value : NULL);
            break;
        }
        rc = ids_put(L, L->js->n, &other);
        if (rc == -EEXIST) {
            expect(L, CPN_EFIELD, "a job id not used before (it is the id of job %zu)", other + 1);
            rc = csv_fail(L, CPN_EFIELD, line, fieldcol[JF_ID], "id", job->id);
            break;
        }
        if (rc) {
            rc = nomem(L);
            break;
        }
        L->js->n++;
    }
    cpn_free(colmap);
    return rc < 0 ? rc : 0;
}

/* ---- JSON
 * ---------------------------------------------------------------------------------------- */

/* The JSON value as the text the field parser reads; NULL when its type is not allowed. */
static const char *json_text(const json_t *v, enum jkind k, char *buf, size_t size)
{
    if (!v)
        return NULL;
    switch (json_typeof(v)) {
    case JSON_STRING:
        return k == JK_STR || k == JK_TIME || k == JK_LIST ? json_string_value(v) : NULL;
    case JSON_INTEGER:
        if (k != JK_NUM && k != JK_TIME)
            return NULL;
        snprintf(buf, size, "%lld", (long long)json_integer_value(v));
        return buf;
    case JSON_REAL:
        if (k != JK_NUM && k != JK_TIME)
            return NULL;
        cpn__fmt_double(json_real_value(v), buf, size);
        return buf;
    case JSON_TRUE:
    case JSON_FALSE:
        if (k != JK_BOOL)
            return NULL;
        return json_is_true(v) ? "true" : "false";
    default:
        return NULL;
    }
}

static const char *kind_form(enum jkind k)
{
    switch (k) {
    case JK_STR:
        return "a string";
    case JK_NUM:
        return "a number";
    case JK_TIME:
        return "a string or a number";
    case JK_BOOL:
        return "true or false";
    case JK_LIST:
        return "an array of hub or cluster id strings";
    }
    return "a value";
}

static int
json_field(struct jload *L, struct cpn__jctx *j, const json_t *v, enum jf f, struct cpn_job *job)
{
    enum jkind k = jf_kinds[f];
    char buf[64], *copy;
    const char *text;
    int rc = 0;
    if (k == JK_LIST && json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v) && !rc; i++) {
            const json_t *e = json_array_get(v, i);
            size_t mark = cpn__jpush_idx(j, i);
            if (!json_is_string(e))
                rc = cpn__jfail(j, CPN_EFIELD, jf_names[f], e, "a hub or cluster id string");
            else if ((rc = allowed_item(L, json_string_value(e), job)))
                rc =
                    rc == -ENOMEM ? nomem(L) : cpn__jfail(j, rc, jf_names[f], e, "%s", L->expected);
            cpn__jpop(j, mark);
        }
        return rc;
    }
    text = json_text(v, k, buf, sizeof buf);
    if (!text)
        return cpn__jfail(j, CPN_EFIELD, jf_names[f], v, "%s", kind_form(k));
    copy = cpn_strdup(text);
    if (!copy)
        return nomem(L);
    {
        char *s = trim(copy);
        if (!*s)
            rc = expect(L, CPN_EFIELD, "a value (use null or leave the field out for none)");
        else
            rc = set_field(L, f, s, job);
    }
    cpn_free(copy);
    if (rc == -ENOMEM)
        return nomem(L);
    if (rc)
        return cpn__jfail(j, rc, jf_names[f], v, "%s", L->expected);
    return 0;
}

static int json_job(struct jload *L, struct cpn__jctx *j, const json_t *o)
{
    struct cpn_job *job = next_job(L);
    struct cpn__job_issue is;
    enum jf bad;
    size_t other;
    int rc;
    if (!job)
        return nomem(L);
    if ((rc = cpn__jobject(j, o, "job", jf_names)))
        return rc;
    job_defaults(L, job);
    for (int f = 0; f < JF_COUNT; f++) {
        const json_t *v = json_object_get(o, jf_names[f]);
        size_t mark;
        if (!v || json_is_null(v))
            continue;
        mark = cpn__jpush_key(j, jf_names[f]);
        rc = json_field(L, j, v, (enum jf)f, job);
        if (rc)
            return rc;
        cpn__jpop(j, mark);
    }
    if ((rc = finish_job(L, job, &is, &bad))) {
        const char *field = bad < JF_COUNT ? jf_names[bad] : is.field;
        const json_t *v = json_object_get(o, field);
        size_t mark;
        if (!v || json_is_null(v))
            return cpn__jfail(j, rc, field, NULL, "%s", L->expected);
        mark = cpn__jpush_key(j, field);
        rc = cpn_errorf(L->err, rc, "%s: %s: %s = %s: expected %s", L->file, j->ptr, field,
                        is.value, L->expected);
        cpn__jpop(j, mark);
        return rc;
    }
    rc = ids_put(L, L->js->n, &other);
    if (rc == -EEXIST) {
        size_t mark = cpn__jpush_key(j, "id");
        rc = cpn__jfail(j, CPN_EFIELD, "id", json_object_get(o, "id"),
                        "a job id not used before (it is the id of job %zu)", other);
        cpn__jpop(j, mark);
        return rc;
    }
    if (rc)
        return nomem(L);
    L->js->n++;
    return 0;
}

static int json_jobs(struct jload *L, const char *text, size_t len)
{
    static const char *const wrapper_keys[] = { "jobs", NULL };
    struct cpn__jctx j;
    json_t *root;
    const json_t *arr;
    size_t mark = 0;
    int rc;
    cpn__jinit(&j, L->file, L->err);
    if ((rc = cpn__jload(&j, text, len, &root)))
        return rc;
    arr = root;
    if (json_is_object(root)) {
        if ((rc = cpn__jobject(&j, root, "job file", wrapper_keys)) ||
            (rc = cpn__jarray(&j, root, "jobs", true, &arr))) {
            json_decref(root);
            return rc;
        }
        mark = cpn__jpush_key(&j, "jobs");
    } else if (!json_is_array(root)) {
        rc = cpn__jfail(&j, CPN_EPARSE, "jobs", root, "an array of jobs or {\"jobs\": [...]}");
        json_decref(root);
        return rc;
    }
    for (size_t i = 0; i < json_array_size(arr) && !rc; i++) {
        size_t m2 = cpn__jpush_idx(&j, i);
        rc = json_job(L, &j, json_array_get(arr, i));
        if (!rc)
            cpn__jpop(&j, m2);
    }
    if (!rc)
        cpn__jpop(&j, mark);
    json_decref(root);
    return rc;
}

/* ---- entry points ------------------------------------------------------------------------------
 */

static int
jload_init(struct jload *L, const char *file, const struct cpn_network *net, struct cpn_error *err)
{
    memset(L, 0, sizeof *L);
    L->net = net;
    L->err = err;
    L->file = file;
    if (cpn_jobset_create(&L->js))
        return nomem(L);
    for (size_t i = 0; i < net->nsites; i++)
        if (cpn_strmap_put(&L->sites, net->sites[i].id, (int32_t)i) == -ENOMEM)
            return nomem(L);
    for (size_t i = 0; i < net->nhubs && i < 64; i++)
        if (cpn_strmap_put(&L->hubs, net->hubs[i].id, (int32_t)i) == -ENOMEM)
            return nomem(L);
    for (size_t i = 0; i < net->nclusters; i++)
        if (cpn_strmap_put(&L->clusters, net->clusters[i].id, (int32_t)i) == -ENOMEM)
            return nomem(L);
    return 0;
}

/* Frees the loader; hands the jobset to *out when rc is 0. */
static int jload_end(struct jload *L, int rc, struct cpn_jobset **out)
{
    cpn_strmap_free(&L->sites);
    cpn_strmap_free(&L->hubs);
    cpn_strmap_free(&L->clusters);
    cpn_free(L->ids);
    if (rc) {
        cpn_jobset_destroy(L->js);
        return rc;
    }
    *out = L->js;
    return 0;
}

/* JSON when the first byte after blanks (and a byte-order mark) opens an array or object. */
static bool looks_json(const char *text, size_t len)
{
    size_t i = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    return i < len && (text[i] == '[' || text[i] == '{');
}

int cpn_jobs_parse(const char *text,
                   size_t len,
                   const char *name,
                   const struct cpn_network *net,
                   struct cpn_jobset **out,
                   struct cpn_error *err)
{
    struct jload L;
    int rc = jload_init(&L, name, net, err);
    if (!rc && looks_json(text, len)) {
        rc = json_jobs(&L, text, len);
    } else if (!rc) {
        struct cpn_csv *csv;
        if (cpn_csv_from_mem(text, len, name, &csv)) {
            rc = nomem(&L);
        } else {
            rc = csv_rows(&L, csv);
            cpn_csv_close(csv);
        }
    }
    return jload_end(&L, rc, out);
}

int cpn_jobs_load(const char *path,
                  const struct cpn_network *net,
                  struct cpn_jobset **out,
                  struct cpn_error *err)
{
    char head[4096];
    size_t n;
    FILE *f = fopen(path, "rb");
    struct jload L;
    int rc;
    if (!f) {
        rc = -errno;
        return cpn_errorf(err, rc, "%s: cannot open: %s", path, cpn_strerror(rc));
    }
    n = fread(head, 1, sizeof head, f);
    fclose(f);
    if ((rc = jload_init(&L, path, net, err)))
        return jload_end(&L, rc, out);
    if (looks_json(head, n)) {
        struct cpn_buf b = { 0 };
        b.limit = CPN__JSON_MAX_BYTES;
        rc = cpn_buf_read_file(&b, path, err);
        if (!rc)
            rc = json_jobs(&L, b.data, b.len);
        cpn_buf_free(&b);
    } else {
        struct cpn_csv *csv;
        if (!(rc = cpn_csv_open(path, &csv, err))) {
            rc = csv_rows(&L, csv);
            cpn_csv_close(csv);
        }
    }
    return jload_end(&L, rc, out);
}
