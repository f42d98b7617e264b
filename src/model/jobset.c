/* SPDX-License-Identifier: Apache-2.0 */
/* Job sets: a growable array of jobs plus one shared array of allowed-cluster indexes that jobs
 * refer to by offset and count (most jobs allow everything, so a job stays a fixed-size record).
 * Writing produces the CSV loader's format with every column, times in ISO 8601 UTC, numbers with
 * the fewest digits that read back exactly and money as exact decimal CNY, so a written set loads
 * back equal. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "model/model_int.h"

int cpn_jobset_create(struct cpn_jobset **out)
{
    struct cpn_jobset *js = cpn_calloc(1, sizeof *js);
    if (!js)
        return -ENOMEM;
    *out = js;
    return 0;
}

void cpn_jobset_destroy(struct cpn_jobset *js)
{
    if (!js)
        return;
    cpn_free(js->v);
    cpn_free(js->allowed);
    cpn_free(js);
}

int cpn_jobset_add(struct cpn_jobset *js,
                   const struct cpn_job *job,
                   const int32_t *allowed,
                   size_t nallowed)
{
    struct cpn_job *j;
    if (nallowed && !allowed)
        return -EINVAL;
    if (nallowed > UINT32_MAX || js->nallowed > UINT32_MAX - nallowed || js->n >= UINT32_MAX)
        return CPN_ELIMIT;
    /* Grow both arrays before changing anything, so a failure leaves the set as it was. */
    if (cpn_grow(&js->v, &js->cap, js->n + 1, sizeof *js->v) ||
        cpn_grow(&js->allowed, &js->allowed_cap, js->nallowed + nallowed, sizeof *js->allowed))
        return -ENOMEM;
    j = &js->v[js->n++];
    *j = *job;
    j->allowed_off = (uint32_t)js->nallowed;
    j->n_allowed = (uint32_t)nallowed;
    if (nallowed)
        memcpy(js->allowed + js->nallowed, allowed, nallowed * sizeof *allowed);
    js->nallowed += nallowed;
    return 0;
}

/* Writes s as one CSV field, quoted when it holds a separator, a quote or edge blanks. */
static void put_field(FILE *f, const char *s)
{
    size_t n = strlen(s);
    if (strpbrk(s, ",\"\r\n") || (n && (s[0] == ' ' || s[n - 1] == ' '))) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
}

static void put_double(FILE *f, double v)
{
    char num[40];
    cpn__fmt_double(v, num, sizeof num);
    fputs(num, f);
}

static void put_time(FILE *f, int64_t t)
{
    char s[CPN_TIME_STRLEN];
    cpn_time_format(t, s);
    fputs(s, f);
}

static void put_money(FILE *f, int64_t ucny)
{
    unsigned long long a = ucny < 0 ? 0ull - (unsigned long long)ucny : (unsigned long long)ucny;
    char frac[8];
    int n;
    snprintf(frac, sizeof frac, "%06llu", a % 1000000ull);
    for (n = 6; n > 0 && frac[n - 1] == '0'; n--)
        frac[n - 1] = '\0';
    fprintf(f, "%s%llu%s%s", ucny < 0 ? "-" : "", a / 1000000ull, n ? "." : "", frac);
}

static void put_job(FILE *f,
                    const struct cpn_jobset *js,
                    const struct cpn_network *net,
                    const struct cpn_job *j)
{
    bool first = true;
    put_field(f, j->id);
    fputc(',', f);
    put_field(f, j->tenant);
    fputc(',', f);
    put_field(f, net->sites[j->site].id);
    fprintf(f, ",%s,", cpn_class_name((enum cpn_class)j->cls));
    put_field(f, j->device);
    fputc(',', f);
    put_double(f, j->min_tflops);
    fprintf(f, ",%lld,", (long long)j->units);
    if (j->duration_s > 0)
        fprintf(f, "%lld", (long long)j->duration_s);
    fputc(',', f);
    if (j->work_pflop_h > 0)
        put_double(f, j->work_pflop_h);
    fputc(',', f);
    put_time(f, j->submit_s);
    fputc(',', f);
    put_time(f, j->earliest_s);
    fputc(',', f);
    if (j->deadline_s != CPN_NO_DEADLINE)
        put_time(f, j->deadline_s);
    fprintf(f, ",%s,", j->interruptible ? "true" : "false");
    put_double(f, j->max_rtt_ms);
    fputc(',', f);
    put_double(f, j->data_gb);
    fputc(',', f);
    if (j->data_site >= 0)
        put_field(f, net->sites[j->data_site].id);
    fputc(',', f);
    for (size_t h = 0; h < net->nhubs && h < 64; h++) {
        if (!((j->allowed_hubs >> h) & 1u))
            continue;
        fprintf(f, "%shub:%s", first ? "" : ";", net->hubs[h].id);
        first = false;
    }
    for (uint32_t k = 0; k < j->n_allowed; k++) {
        fprintf(f, "%scluster:%s", first ? "" : ";",
                net->clusters[js->allowed[j->allowed_off + k]].id);
        first = false;
    }
    fputc(',', f);
    put_money(f, j->price_ceiling_ucny);
    fprintf(f, ",%d\n", j->priority);
}

int cpn_jobs_write_csv(const struct cpn_jobset *js,
                       const struct cpn_network *net,
                       const char *path,
                       struct cpn_error *err)
{
    FILE *f;
    int rc = 0;
    for (size_t i = 0; i < js->n; i++) {
        const struct cpn_job *j = &js->v[i];
        if (j->site < 0 || (size_t)j->site >= net->nsites ||
            (j->data_site >= 0 && (size_t)j->data_site >= net->nsites) ||
            (size_t)j->allowed_off + j->n_allowed > js->nallowed)
            return cpn_errorf(err, -EINVAL, "%s: job %zu (\"%s\") refers outside the network", path,
                              i, j->id);
        for (uint32_t k = 0; k < j->n_allowed; k++) {
            int32_t c = js->allowed[j->allowed_off + k];
            if (c < 0 || (size_t)c >= net->nclusters)
                return cpn_errorf(err, -EINVAL, "%s: job \"%s\" allows cluster %d: no such cluster",
                                  path, j->id, c);
        }
    }
    f = fopen(path, "wb");
    if (!f) {
        rc = -errno;
        return cpn_errorf(err, rc, "%s: cannot create: %s", path, cpn_strerror(rc));
    }
    fputs("id,tenant,origin,class,device,min_tflops,units,duration,work_pflop_h,submit,earliest,"
          "deadline,interruptible,max_rtt_ms,data_gb,data_site,allowed,price_ceiling_cny,"
          "priority\n",
          f);
    for (size_t i = 0; i < js->n; i++)
        put_job(f, js, net, &js->v[i]);
    if (ferror(f))
        rc = -EIO;
    if (fclose(f) != 0 && !rc)
        rc = -errno;
    if (rc)
        return cpn_errorf(err, rc, "%s: write failed: %s", path, cpn_strerror(rc));
    return 0;
}
