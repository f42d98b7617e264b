/* SPDX-License-Identifier: Apache-2.0 */
/* A streaming writer of jobs in the loader's format (docs/formats.md#jobs): CSV with a header row,
 * or a JSON array of objects with the same field names. Generated traces reach millions of rows,
 * so rows are formatted by hand into a 1 MiB buffer (integers, times and the common round numbers
 * without printf) and written in large blocks; 5 million rows take a few seconds. Numbers use the
 * fewest digits that read back to the same double, money is exact decimal CNY. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen_int.h"

#define WBUF (1u << 20)

struct cpn_gen_jobs_writer {
    FILE *f;
    bool own; /* fclose at the end (not stdout) */
    bool json;
    bool first;
    const struct cpn_network *net;
    char path[512];
    int err; /* first write error */
    size_t len;
    char buf[WBUF];
};

static void flush(struct cpn_gen_jobs_writer *w)
{
    if (w->len && !w->err && fwrite(w->buf, 1, w->len, w->f) != w->len)
        w->err = errno ? -errno : -EIO;
    w->len = 0;
}

/* Room for n more bytes (rows are far smaller than the buffer). */
static char *room(struct cpn_gen_jobs_writer *w, size_t n)
{
    if (w->len + n > WBUF)
        flush(w);
    return w->buf + w->len;
}

static void put(struct cpn_gen_jobs_writer *w, const char *s, size_t n)
{
    if (n > WBUF / 2) {
        flush(w);
        if (!w->err && fwrite(s, 1, n, w->f) != n)
            w->err = errno ? -errno : -EIO;
        return;
    }
    memcpy(room(w, n), s, n);
    w->len += n;
}

static void puts_(struct cpn_gen_jobs_writer *w, const char *s)
{
    put(w, s, strlen(s));
}

static void putc_(struct cpn_gen_jobs_writer *w, char c)
{
    *room(w, 1) = c;
    w->len++;
}

static void put_i64(struct cpn_gen_jobs_writer *w, long long v)
{
    char tmp[24];
    int n = 0;
    unsigned long long a = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[n++] = (char)('0' + a % 10);
        a /= 10;
    } while (a);
    if (v < 0)
        tmp[n++] = '-';
    {
        char *p = room(w, (size_t)n);
        for (int i = 0; i < n; i++)
            p[i] = tmp[n - 1 - i];
        w->len += (size_t)n;
    }
}

/* Fewest digits that read back to the same double; integers without printf. */
static void put_double(struct cpn_gen_jobs_writer *w, double v)
{
    char num[40];
    if (v == floor(v) && fabs(v) < 1e15) {
        put_i64(w, (long long)v);
        return;
    }
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(num, sizeof num, "%.*g", prec, v);
        if (strtod(num, NULL) == v)
            break;
    }
    puts_(w, num);
}

static void put_2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
}

/* "YYYY-MM-DDTHH:MM:SSZ" for years 0..9999, as cpn_time_format writes it. */
static void put_time(struct cpn_gen_jobs_writer *w, int64_t t)
{
    int64_t days = cpn_floordiv(t, 86400), y;
    int64_t rem = t - days * 86400;
    unsigned m, d;
    char *p;
    cpn_civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) {
        char s[CPN_TIME_STRLEN];
        cpn_time_format(t, s);
        puts_(w, s);
        return;
    }
    p = room(w, 20);
    put_2(p, (unsigned)(y / 100));
    put_2(p + 2, (unsigned)(y % 100));
    p[4] = '-';
    put_2(p + 5, m);
    p[7] = '-';
    put_2(p + 8, d);
    p[10] = 'T';
    put_2(p + 11, (unsigned)(rem / 3600));
    p[13] = ':';
    put_2(p + 14, (unsigned)(rem / 60 % 60));
    p[16] = ':';
    put_2(p + 17, (unsigned)(rem % 60));
    p[19] = 'Z';
    w->len += 20;
}

static void put_money(struct cpn_gen_jobs_writer *w, int64_t ucny)
{
    unsigned long long a = ucny < 0 ? 0ull - (unsigned long long)ucny : (unsigned long long)ucny;
    char frac[8];
    int n;
    if (ucny < 0)
        putc_(w, '-');
    put_i64(w, (long long)(a / 1000000ull));
    if (a % 1000000ull == 0)
        return;
    snprintf(frac, sizeof frac, "%06llu", a % 1000000ull);
    for (n = 6; n > 0 && frac[n - 1] == '0'; n--)
        frac[n - 1] = '\0';
    putc_(w, '.');
    puts_(w, frac);
}

/* A CSV field, quoted when it holds a separator, a quote or edge blanks. */
static void put_csv_str(struct cpn_gen_jobs_writer *w, const char *s)
{
    size_t n = strlen(s);
    if (!strpbrk(s, ",\"\r\n") && !(n && (s[0] == ' ' || s[n - 1] == ' '))) {
        put(w, s, n);
        return;
    }
    putc_(w, '"');
    for (; *s; s++) {
        if (*s == '"')
            putc_(w, '"');
        putc_(w, *s);
    }
    putc_(w, '"');
}

/* A JSON string (ids and device names: printable ASCII in practice; control bytes escaped). */
static void put_json_str(struct cpn_gen_jobs_writer *w, const char *s)
{
    putc_(w, '"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            putc_(w, '\\');
            putc_(w, (char)ch);
        } else if (ch < 0x20) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", ch);
            puts_(w, esc);
        } else {
            putc_(w, (char)ch);
        }
    }
    putc_(w, '"');
}

static const char csv_header[] =
    "id,tenant,origin,class,device,min_tflops,units,duration,work_pflop_h,submit,earliest,"
    "deadline,interruptible,max_rtt_ms,data_gb,data_site,allowed,price_ceiling_cny,priority\n";

int cpn_gen_jobs_writer_open(const char *path,
                             const struct cpn_network *net,
                             bool json,
                             struct cpn_gen_jobs_writer **out,
                             struct cpn_error *err)
{
    struct cpn_gen_jobs_writer *w = cpn_calloc(1, sizeof *w);
    if (!w)
        return cpn_errorf(err, -ENOMEM, "%s: out of memory", path);
    if (strcmp(path, "-") == 0) {
        w->f = stdout;
    } else {
        w->f = fopen(path, "wb");
        if (!w->f) {
            int rc = -errno;
            cpn_free(w);
            return cpn_errorf(err, rc, "%s: cannot create: %s", path, cpn_strerror(rc));
        }
        w->own = true;
    }
    cpn_strlcpy(w->path, path, sizeof w->path);
    w->net = net;
    w->json = json;
    w->first = true;
    if (json)
        puts_(w, "[");
    else
        puts_(w, csv_header);
    *out = w;
    return 0;
}

static void put_allowed(struct cpn_gen_jobs_writer *w,
                        const struct cpn_job *job,
                        const int32_t *allowed,
                        size_t nallowed)
{
    const struct cpn_network *net = w->net;
    bool first = true;
    for (size_t h = 0; h < net->nhubs && h < 64; h++) {
        if (!((job->allowed_hubs >> h) & 1u))
            continue;
        puts_(w, first ? "hub:" : ";hub:");
        puts_(w, net->hubs[h].id);
        first = false;
    }
    for (size_t k = 0; k < nallowed; k++) {
        puts_(w, first ? "cluster:" : ";cluster:");
        puts_(w, net->clusters[allowed[k]].id);
        first = false;
    }
}

static void put_csv_row(struct cpn_gen_jobs_writer *w,
                        const struct cpn_job *j,
                        const int32_t *allowed,
                        size_t nallowed)
{
    const struct cpn_network *net = w->net;
    put_csv_str(w, j->id);
    putc_(w, ',');
    put_csv_str(w, j->tenant);
    putc_(w, ',');
    put_csv_str(w, net->sites[j->site].id);
    putc_(w, ',');
    puts_(w, cpn_class_name((enum cpn_class)j->cls));
    putc_(w, ',');
    put_csv_str(w, j->device);
    putc_(w, ',');
    put_double(w, j->min_tflops);
    putc_(w, ',');
    put_i64(w, (long long)j->units);
    putc_(w, ',');
    if (j->duration_s > 0)
        put_i64(w, (long long)j->duration_s);
    putc_(w, ',');
    if (j->work_pflop_h > 0)
        put_double(w, j->work_pflop_h);
    putc_(w, ',');
    put_time(w, j->submit_s);
    putc_(w, ',');
    put_time(w, j->earliest_s);
    putc_(w, ',');
    if (j->deadline_s != CPN_NO_DEADLINE)
        put_time(w, j->deadline_s);
    puts_(w, j->interruptible ? ",true," : ",false,");
    put_double(w, j->max_rtt_ms);
    putc_(w, ',');
    put_double(w, j->data_gb);
    putc_(w, ',');
    if (j->data_site >= 0)
        put_csv_str(w, net->sites[j->data_site].id);
    putc_(w, ',');
    put_allowed(w, j, allowed, nallowed);
    putc_(w, ',');
    put_money(w, j->price_ceiling_ucny);
    putc_(w, ',');
    put_i64(w, j->priority);
    putc_(w, '\n');
}

static void put_json_row(struct cpn_gen_jobs_writer *w,
                         const struct cpn_job *j,
                         const int32_t *allowed,
                         size_t nallowed)
{
    const struct cpn_network *net = w->net;
    puts_(w, w->first ? "\n{\"id\":" : ",\n{\"id\":");
    w->first = false;
    put_json_str(w, j->id);
    puts_(w, ",\"tenant\":");
    put_json_str(w, j->tenant);
    puts_(w, ",\"origin\":");
    put_json_str(w, net->sites[j->site].id);
    puts_(w, ",\"class\":\"");
    puts_(w, cpn_class_name((enum cpn_class)j->cls));
    putc_(w, '"');
    if (j->device[0]) {
        puts_(w, ",\"device\":");
        put_json_str(w, j->device);
    }
    if (j->min_tflops > 0) {
        puts_(w, ",\"min_tflops\":");
        put_double(w, j->min_tflops);
    }
    puts_(w, ",\"units\":");
    put_i64(w, (long long)j->units);
    if (j->duration_s > 0) {
        puts_(w, ",\"duration\":");
        put_i64(w, (long long)j->duration_s);
    }
    if (j->work_pflop_h > 0) {
        puts_(w, ",\"work_pflop_h\":");
        put_double(w, j->work_pflop_h);
    }
    puts_(w, ",\"submit\":\"");
    put_time(w, j->submit_s);
    puts_(w, "\",\"earliest\":\"");
    put_time(w, j->earliest_s);
    putc_(w, '"');
    if (j->deadline_s != CPN_NO_DEADLINE) {
        puts_(w, ",\"deadline\":\"");
        put_time(w, j->deadline_s);
        putc_(w, '"');
    }
    puts_(w, j->interruptible ? ",\"interruptible\":true" : ",\"interruptible\":false");
    if (j->max_rtt_ms > 0) {
        puts_(w, ",\"max_rtt_ms\":");
        put_double(w, j->max_rtt_ms);
    }
    if (j->data_gb > 0) {
        puts_(w, ",\"data_gb\":");
        put_double(w, j->data_gb);
    }
    if (j->data_site >= 0) {
        puts_(w, ",\"data_site\":");
        put_json_str(w, net->sites[j->data_site].id);
    }
    if (j->allowed_hubs || nallowed) {
        puts_(w, ",\"allowed\":\"");
        put_allowed(w, j, allowed, nallowed);
        putc_(w, '"');
    }
    if (j->price_ceiling_ucny > 0) {
        puts_(w, ",\"price_ceiling_cny\":");
        put_money(w, j->price_ceiling_ucny);
    }
    puts_(w, ",\"priority\":");
    put_i64(w, j->priority);
    putc_(w, '}');
}

int cpn_gen_jobs_writer_put(struct cpn_gen_jobs_writer *w,
                            const struct cpn_job *job,
                            const int32_t *allowed,
                            size_t nallowed,
                            struct cpn_error *err)
{
    const struct cpn_network *net = w->net;
    if (job->site < 0 || (size_t)job->site >= net->nsites ||
        (job->data_site >= 0 && (size_t)job->data_site >= net->nsites) ||
        (unsigned)job->cls >= CPN_CLASS_COUNT)
        return cpn_errorf(err, -EINVAL, "%s: job \"%s\" refers outside the network", w->path,
                          job->id);
    for (size_t k = 0; k < nallowed; k++)
        if (allowed[k] < 0 || (size_t)allowed[k] >= net->nclusters)
            return cpn_errorf(err, -EINVAL, "%s: job \"%s\" allows cluster %d: no such cluster",
                              w->path, job->id, allowed[k]);
    if (w->json)
        put_json_row(w, job, allowed, nallowed);
    else
        put_csv_row(w, job, allowed, nallowed);
    if (w->err)
        return cpn_errorf(err, w->err, "%s: write failed: %s", w->path, cpn_strerror(w->err));
    return 0;
}

int cpn_gen_jobs_writer_close(struct cpn_gen_jobs_writer *w, struct cpn_error *err)
{
    int rc;
    if (!w)
        return 0;
    if (w->json)
        puts_(w, w->first ? "]\n" : "\n]\n");
    flush(w);
    rc = w->err;
    if (!rc && fflush(w->f) != 0)
        rc = -errno;
    if (w->own && fclose(w->f) != 0 && !rc)
        rc = -errno;
    if (rc)
        cpn_errorf(err, rc, "%s: write failed: %s", w->path, cpn_strerror(rc));
    cpn_free(w);
    return rc;
}
