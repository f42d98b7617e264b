/* SPDX-License-Identifier: Apache-2.0 */
/* The horizon of a simulation: which jobs take part (arrivals inside the window) and the slot range
 * that holds all of them. The end covers every finite deadline and every job's earliest finish on
 * the fastest pool of its class, and at least 7 days past the last earliest start, so that jobs
 * without a deadline (whose deadline becomes the horizon end) have room to wait for clean power. */
#include <errno.h>
#include <math.h>

#include "sim_int.h"

#define DAY_S       86400
#define MIN_SLACK_S (7 * DAY_S)

bool cpn_sim_selected(const struct cpn_job *job, const struct cpn_sim_window *w)
{
    return job->submit_s >= w->start_s && job->submit_s < w->end_s;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

int cpn_sim_horizon(const struct cpn_network *net,
                    const struct cpn_jobset *js,
                    const struct cpn_sim_window *w,
                    int64_t *t0,
                    int32_t *nslots,
                    struct cpn_error *err)
{
    double fastest[CPN_CLASS_COUNT] = { 0 };
    int64_t first = INT64_MAX, need = INT64_MIN, last_release = INT64_MIN;
    int64_t slot = net->slot_s, start, end;
    size_t n = 0;

    if (slot <= 0 || DAY_S % slot != 0)
        return cpn_errorf(err, CPN_EFIELD, "network %s: slot_s %lld is not a divisor of a day",
                          net->name, (long long)slot);
    for (size_t p = 0; p < net->npools; p++) {
        const struct cpn_pool *pool = &net->pools[p];
        if ((unsigned)pool->cls < CPN_CLASS_COUNT && pool->tflops_per_unit > fastest[pool->cls])
            fastest[pool->cls] = pool->tflops_per_unit;
    }
    for (size_t i = 0; i < js->n; i++) {
        const struct cpn_job *j = &js->v[i];
        int64_t release, dur = j->duration_s;
        if (!cpn_sim_selected(j, w))
            continue;
        n++;
        release = max64(j->submit_s, j->earliest_s);
        if (j->submit_s < first)
            first = j->submit_s;
        if (j->earliest_s < first)
            first = j->earliest_s;
        if (j->deadline_s != CPN_NO_DEADLINE)
            need = max64(need, j->deadline_s);
        if (dur <= 0 && (unsigned)j->cls < CPN_CLASS_COUNT && fastest[j->cls] > 0 && j->units > 0) {
            double d =
                ceil(j->work_pflop_h * 1000.0 / ((double)j->units * fastest[j->cls]) * 3600.0);
            dur = d < 1e12 ? (int64_t)d : (int64_t)1e12;
        }
        need = max64(need, release + (dur > 0 ? dur : 0));
        last_release = max64(last_release, release);
    }
    if (n == 0)
        return cpn_errorf(err, CPN_EFIELD,
                          "jobs: no job arrives inside the selected window (--start/--end)");
    start = cpn_floordiv(first, slot) * slot;
    if (w->horizon_days > 0) {
        double len = ceil(w->horizon_days * DAY_S / (double)slot);
        if (len > (double)INT32_MAX)
            return cpn_errorf(err, CPN_EFIELD,
                              "horizon of %g days has more than %d slots of %lld s",
                              w->horizon_days, INT32_MAX, (long long)slot);
        end = start + (int64_t)len * slot;
    } else {
        end = max64(need, last_release + MIN_SLACK_S);
        end = (cpn_floordiv(end - 1, slot) + 1) * slot;
    }
    if ((end - start) / slot > INT32_MAX || end <= start)
        return cpn_errorf(err, CPN_EFIELD,
                          "horizon from %lld to %lld s does not fit %d slots of %lld s: check "
                          "the jobs' deadlines and durations, or give --horizon-days",
                          (long long)start, (long long)end, INT32_MAX, (long long)slot);
    *t0 = start;
    *nslots = (int32_t)((end - start) / slot);
    return 0;
}
