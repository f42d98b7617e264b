/* SPDX-License-Identifier: Apache-2.0 */
/* One job's own consistency and its residency rule. The checks are shared by the loaders (which
 * report the file position of the field at fault) and by cpn_job_validate (which callers such as
 * the service use on jobs built in memory), so a job is judged the same way whatever its source.
 * A job may be submitted after its earliest start: the platform then starts it as soon as it can.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/model_int.h"

static int issue(struct cpn__job_issue *is, const char *field, const char *expected)
{
    is->field = field;
    snprintf(is->expected, sizeof is->expected, "%s", expected);
    return CPN_EFIELD;
}

static void show_num(struct cpn__job_issue *is, double v)
{
    cpn__fmt_double(v, is->value, sizeof is->value);
}

static void show_int(struct cpn__job_issue *is, long long v)
{
    snprintf(is->value, sizeof is->value, "%lld", v);
}

static void show_time(struct cpn__job_issue *is, int64_t t)
{
    if (t >= CPN__T_MIN && t <= CPN__T_MAX)
        cpn_time_format(t, is->value);
    else
        show_int(is, (long long)t);
}

static bool time_ok(int64_t t)
{
    return t >= CPN__T_MIN && t <= CPN__T_MAX;
}

static bool nonneg(double v)
{
    return isfinite(v) && v >= 0;
}

int cpn__job_check(const struct cpn_job *job,
                   const struct cpn_network *net,
                   struct cpn__job_issue *is)
{
    static const char time_form[] = "a time in years 0001..9999 (ISO 8601 UTC or seconds)";
    memset(is, 0, sizeof *is);
    if (!cpn__id_ok(job->id)) {
        cpn__show_str(job->id, is->value, sizeof is->value);
        return issue(is, "id", "an id of 1..47 characters from A-Z a-z 0-9 . _ : -");
    }
    if (job->tenant[0] && !cpn__id_ok(job->tenant)) {
        cpn__show_str(job->tenant, is->value, sizeof is->value);
        return issue(is, "tenant", "an id of 1..47 characters from A-Z a-z 0-9 . _ : -");
    }
    if (job->site < 0 || (size_t)job->site >= net->nsites) {
        show_int(is, job->site);
        return issue(is, "origin", "the index of a site of the network");
    }
    if (job->data_site < -1 || (job->data_site >= 0 && (size_t)job->data_site >= net->nsites)) {
        show_int(is, job->data_site);
        return issue(is, "data_site", "the index of a site of the network, or -1 for none");
    }
    if (job->cls < 0 || job->cls >= CPN_CLASS_COUNT) {
        show_int(is, job->cls);
        return issue(is, "class", "general, intelligent or super");
    }
    if (!nonneg(job->min_tflops)) {
        show_num(is, job->min_tflops);
        return issue(is, "min_tflops", "a TFLOPS per unit >= 0 (0 = any)");
    }
    if (job->units < 1) {
        show_int(is, (long long)job->units);
        return issue(is, "units", "an integer >= 1");
    }
    if (job->duration_s < 0 || job->duration_s > CPN__T_MAX - CPN__T_MIN) {
        show_int(is, (long long)job->duration_s);
        return issue(is, "duration", "a duration > 0 and shorter than 10,000 years");
    }
    if (!nonneg(job->work_pflop_h)) {
        show_num(is, job->work_pflop_h);
        return issue(is, "work_pflop_h", "a work in PFLOP-h >= 0");
    }
    if (job->duration_s == 0 && job->work_pflop_h == 0) {
        show_int(is, 0);
        return issue(is, "duration", "a duration > 0 (or work_pflop_h > 0 instead)");
    }
    if (job->duration_s > 0 && job->work_pflop_h > 0) {
        show_num(is, job->work_pflop_h);
        return issue(is, "work_pflop_h", "no work when a duration is given (give one of the two)");
    }
    if (!time_ok(job->earliest_s)) {
        show_time(is, job->earliest_s);
        return issue(is, "earliest", time_form);
    }
    if (!time_ok(job->submit_s)) {
        show_time(is, job->submit_s);
        return issue(is, "submit", time_form);
    }
    if (job->deadline_s != CPN_NO_DEADLINE) {
        char need[CPN_TIME_STRLEN], buf[96];
        int64_t min_end = job->earliest_s + (job->duration_s > 0 ? job->duration_s : 0);
        if (!time_ok(job->deadline_s)) {
            show_time(is, job->deadline_s);
            return issue(is, "deadline", time_form);
        }
        if (job->deadline_s < min_end || (job->duration_s == 0 && job->deadline_s <= min_end)) {
            show_time(is, job->deadline_s);
            cpn_time_format(min_end, need);
            snprintf(buf, sizeof buf, "a time %s earliest + duration (%s)",
                     job->duration_s > 0 ? "at or after" : "after", need);
            return issue(is, "deadline", buf);
        }
    }
    if (!nonneg(job->max_rtt_ms)) {
        show_num(is, job->max_rtt_ms);
        return issue(is, "max_rtt_ms", "a round-trip time in ms >= 0 (0 = no bound)");
    }
    if (!nonneg(job->data_gb)) {
        show_num(is, job->data_gb);
        return issue(is, "data_gb", "a data size in GB >= 0");
    }
    if (job->price_ceiling_ucny < 0) {
        show_num(is, (double)job->price_ceiling_ucny / (double)CPN_UCNY_PER_CNY);
        return issue(is, "price_ceiling_cny", "a price in CNY >= 0 (0 = none)");
    }
    if (net->nhubs < 64 && (job->allowed_hubs >> net->nhubs) != 0) {
        snprintf(is->value, sizeof is->value, "0x%llx", (unsigned long long)job->allowed_hubs);
        return issue(is, "allowed", "hubs of the network only");
    }
    return 0;
}

int cpn_job_validate(const struct cpn_job *job,
                     const struct cpn_network *net,
                     struct cpn_error *err)
{
    struct cpn__job_issue is;
    char id[64];
    int rc = cpn__job_check(job, net, &is);
    if (!rc)
        return 0;
    cpn__show_str(job->id, id, sizeof id);
    return cpn_errorf(err, rc, "job %s: %s = %s: expected %s", id, is.field, is.value, is.expected);
}

bool cpn_job_allows_cluster(const struct cpn_jobset *js,
                            const struct cpn_job *job,
                            const struct cpn_network *net,
                            int32_t c)
{
    int32_t hub;
    if (c < 0 || (size_t)c >= net->nclusters)
        return false;
    if (job->allowed_hubs == 0 && job->n_allowed == 0)
        return true;
    hub = net->clusters[c].hub;
    if (hub >= 0 && hub < 64 && (job->allowed_hubs >> hub) & 1u)
        return true;
    for (uint32_t i = 0; i < job->n_allowed; i++)
        if ((size_t)job->allowed_off + i < js->nallowed && js->allowed[job->allowed_off + i] == c)
            return true;
    return false;
}
