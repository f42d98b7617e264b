/* SPDX-License-Identifier: Apache-2.0 */
/* The bookkeeping of a run: the per-job records and the job as the engine must see it after an
 * outage cut, the side array of interruptible jobs' runs (rewritten in place, compacted once the
 * garbage outweighs the live runs), the list of placed jobs that may not have finished (compacted
 * as time passes, so re-planning and outages visit only those) and the histogram of decision
 * latencies. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "sim_int.h"

double sim_seg_done(const struct cpn_sim *s, uint32_t seg)
{
    double done = 0;
    for (; seg != SIM_NONE; seg = s->segs[seg].prev)
        done += s->segs[seg].work;
    return done;
}

const struct cpn_job *sim_job_view(const struct cpn_sim *s, uint32_t i, struct cpn_job *tmp)
{
    const struct cpn_job *j = &s->js->v[i];
    const struct sim_rec *r = &s->rec[i];
    if (j->deadline_s != CPN_NO_DEADLINE && r->seg == SIM_NONE)
        return j;
    *tmp = *j;
    if (tmp->deadline_s == CPN_NO_DEADLINE)
        tmp->deadline_s = s->end_s;
    if (r->seg != SIM_NONE) {
        double done = sim_seg_done(s, r->seg);
        if (tmp->earliest_s < s->segs[r->seg].cut_s)
            tmp->earliest_s = s->segs[r->seg].cut_s;
        if (done > 0) {
            if (tmp->duration_s > 0) {
                double rem = (double)tmp->duration_s * (1.0 - done);
                double near = nearbyint(rem);
                tmp->duration_s = fabs(rem - near) < 1e-6 ? (int64_t)near : (int64_t)ceil(rem);
                if (tmp->duration_s < 1)
                    tmp->duration_s = 1;
            } else {
                tmp->work_pflop_h *= 1.0 - done;
            }
        }
    }
    return tmp;
}

void sim_lat_record(struct cpn_sim *s, int64_t ns)
{
    uint64_t v = ns > 0 ? (uint64_t)ns : 0;
    unsigned b;
    if (v < SIM_LAT_SUB) {
        b = (unsigned)v;
    } else {
        unsigned e = 63u - (unsigned)__builtin_clzll(v); /* v in [2^e, 2^(e+1)) */
        unsigned sub = (unsigned)((v >> (e - 4)) & (SIM_LAT_SUB - 1));
        b = (e - 3) * SIM_LAT_SUB + sub;
        if (b >= SIM_LAT_BUCKETS)
            b = SIM_LAT_BUCKETS - 1;
    }
    s->lat_hist[b]++;
    s->decide_ns += ns;
    s->sum.decisions++;
}

/* Lower edge of a latency bucket, in ns (the inverse of sim_lat_record). */
static double lat_bucket_ns(unsigned b)
{
    unsigned e, sub;
    if (b < SIM_LAT_SUB)
        return b;
    e = b / SIM_LAT_SUB + 3;
    sub = b % SIM_LAT_SUB;
    return ldexp(1.0 + sub / (double)SIM_LAT_SUB, (int)e);
}

double sim_lat_quantile_us(const struct cpn_sim *s, double q)
{
    uint64_t total = 0, acc = 0, want;
    for (unsigned b = 0; b < SIM_LAT_BUCKETS; b++)
        total += s->lat_hist[b];
    if (!total)
        return 0;
    want = (uint64_t)ceil(q * (double)total);
    if (want < 1)
        want = 1;
    for (unsigned b = 0; b < SIM_LAT_BUCKETS; b++) {
        acc += s->lat_hist[b];
        if (acc >= want) {
            /* report the middle of the bucket */
            double lo = lat_bucket_ns(b), hi = lat_bucket_ns(b + 1);
            return (lo + hi) / 2.0 / 1000.0;
        }
    }
    return 0;
}

int sim_runs_push(struct cpn_sim *s, const struct cpn_slot_run *r, uint32_t n, uint32_t *off)
{
    int rc;
    if (n == 0) {
        *off = (uint32_t)s->nruns;
        return 0;
    }
    if (s->nruns + n > UINT32_MAX)
        return -ENOMEM;
    rc = cpn_grow(&s->runs, &s->runs_cap, s->nruns + n, sizeof *s->runs);
    if (rc)
        return rc;
    memcpy(s->runs + s->nruns, r, n * sizeof *r);
    *off = (uint32_t)s->nruns;
    s->nruns += n;
    return 0;
}

/* Interruptible jobs' runs are rewritten in place when a re-plan does not need more of them;
 * garbage left by growth is squeezed out once it outweighs the live runs. */
static int runs_compact(struct cpn_sim *s)
{
    struct cpn_slot_run *nv;
    size_t need = 0, k = 0;
    for (size_t i = 0; i < s->js->n; i++)
        if (s->rec[i].pool >= 0 && s->js->v[i].interruptible)
            need += s->rec[i].nruns;
    for (size_t g = 0; g < s->nsegs; g++)
        need += s->segs[g].nruns;
    nv = cpn_reallocarray(NULL, need ? need : 1, sizeof *nv);
    if (!nv)
        return -ENOMEM;
    for (size_t i = 0; i < s->js->n; i++) {
        struct sim_rec *r = &s->rec[i];
        if (r->pool >= 0 && r->nruns && s->js->v[i].interruptible) {
            memcpy(nv + k, s->runs + r->aux, r->nruns * sizeof *nv);
            r->aux = (uint32_t)k;
            k += r->nruns;
        }
    }
    for (size_t g = 0; g < s->nsegs; g++) {
        struct sim_seg *sg = &s->segs[g];
        memcpy(nv + k, s->runs + sg->run_off, sg->nruns * sizeof *nv);
        sg->run_off = (uint32_t)k;
        k += sg->nruns;
    }
    cpn_free(s->runs);
    s->runs = nv;
    s->nruns = k;
    s->runs_cap = need ? need : 1;
    s->runs_garbage = 0;
    return 0;
}

int sim_live_push(struct cpn_sim *s, uint32_t i)
{
    int rc = cpn_grow(&s->live, &s->live_cap, s->nlive + 1, sizeof *s->live);
    if (rc)
        return rc;
    s->live[s->nlive++] = i;
    return 0;
}

/* Drops jobs that are not placed or have finished by t. */
void sim_live_compact(struct cpn_sim *s, int64_t t)
{
    size_t k = 0;
    for (size_t n = 0; n < s->nlive; n++) {
        const struct sim_rec *r = &s->rec[s->live[n]];
        if (r->pool >= 0 && r->end_s > t)
            s->live[k++] = s->live[n];
    }
    s->nlive = k;
    s->live_compacted = k;
}

/* The committed placement of job i as the engine saw it, for cpn_engine_release. Its runs are
 * copied into scratch (which must hold rec->nruns or one run), since s->runs may move. */
void sim_rec_placement(const struct cpn_sim *s,
                       uint32_t i,
                       struct cpn_slot_run *scratch,
                       struct cpn_placement *p)
{
    const struct sim_rec *r = &s->rec[i];
    memset(p, 0, sizeof *p);
    p->pool = r->pool;
    p->cluster = sim_pool_cluster(s, r->pool);
    p->start_s = r->start_s;
    p->end_s = r->end_s;
    p->start_slot = sim_slot_of(s, r->start_s);
    p->nslots = r->nslots;
    if (s->js->v[i].interruptible && r->nruns) {
        memcpy(scratch, s->runs + r->aux, r->nruns * sizeof *scratch);
        p->nruns = r->nruns;
    } else {
        scratch[0].start = p->start_slot;
        scratch[0].len = r->nslots;
        p->nruns = 1;
    }
    p->runs = scratch;
    p->latency_ms = cpn_network_rtt(s->net, s->js->v[i].site, p->cluster);
}

int sim_store_placement(struct cpn_sim *s, uint32_t i, const struct cpn_placement *p)
{
    struct sim_rec *r = &s->rec[i];
    bool had = r->pool >= 0 && s->js->v[i].interruptible && r->nruns;
    r->pool = p->pool;
    r->start_s = p->start_s;
    r->end_s = p->end_s;
    r->nslots = p->nslots;
    if (s->js->v[i].interruptible) {
        uint32_t n = p->nruns ? p->nruns : 1;
        struct cpn_slot_run one = { p->start_slot, p->nslots };
        const struct cpn_slot_run *src = p->nruns ? p->runs : &one;
        if (had && r->nruns >= n) {
            memcpy(s->runs + r->aux, src, n * sizeof *src);
            s->runs_garbage += r->nruns - n;
        } else {
            uint32_t off;
            int rc = sim_runs_push(s, src, n, &off);
            if (rc)
                return rc;
            if (had)
                s->runs_garbage += r->nruns;
            r->aux = off;
        }
        r->nruns = n;
        if (s->runs_garbage > 4096 && s->runs_garbage > s->nruns / 2)
            return runs_compact(s);
    } else {
        r->nruns = 0;
    }
    return 0;
}

void sim_unplace(struct cpn_sim *s, uint32_t i)
{
    struct sim_rec *r = &s->rec[i];
    if (r->pool >= 0 && s->js->v[i].interruptible)
        s->runs_garbage += r->nruns;
    r->pool = -1;
    r->nruns = 0;
    r->nslots = 0;
}
