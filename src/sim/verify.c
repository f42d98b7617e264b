/* SPDX-License-Identifier: Apache-2.0 */
/* The independent checker: re-verifies a schedule against every hard constraint from the raw
 * inputs (network, jobs, decision signals), sharing no code with the engine's feasibility tests.
 * Pool occupancy and cluster power are rebuilt from scratch per slot with difference arrays, one
 * pool or cluster at a time, so memory stays O(pieces + slots). Outages are taken on the slot grid
 * as the simulator applies them: from the slot holding the start to the boundary at or after the
 * end. A correct run has zero violations for every policy. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cpnet/sim.h"

#define TOL_S 1e-6

const char *cpn_check_name(enum cpn_check c)
{
    static const char *const names[CPN_CHECK_COUNT] = {
        "class",    "size",  "latency", "residency", "release", "deadline",
        "capacity", "power", "price",   "down",      "shape",
    };
    return (unsigned)c < CPN_CHECK_COUNT ? names[c] : "unknown";
}

struct vctx {
    const struct cpn_sim_verify_input *in;
    size_t total;
    size_t *counts;
    char *first;
    size_t first_len;
    uint32_t *out_idx; /* outage indexes grouped by cluster: out_idx[out_off[c] .. out_off[c+1]) */
    size_t *out_off;
};

static void violation(struct vctx *v, enum cpn_check c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void violation(struct vctx *v, enum cpn_check c, const char *fmt, ...)
{
    if (v->total == 0 && v->first && v->first_len) {
        va_list ap;
        int n = snprintf(v->first, v->first_len, "%s: ", cpn_check_name(c));
        if (n >= 0 && (size_t)n < v->first_len) {
            va_start(ap, fmt);
            vsnprintf(v->first + n, v->first_len - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    v->total++;
    if (v->counts)
        v->counts[c]++;
}

/* Run time of a job on a pool, from its own fields (not the engine's helper). */
static double run_time_s(const struct cpn_job *j, const struct cpn_pool *p)
{
    if (j->duration_s > 0)
        return (double)j->duration_s;
    if (p->tflops_per_unit <= 0 || j->units <= 0)
        return INFINITY;
    return j->work_pflop_h * 1e3 * 3600.0 / ((double)j->units * p->tflops_per_unit);
}

static bool residency_ok(const struct cpn_jobset *js,
                         const struct cpn_job *j,
                         const struct cpn_network *net,
                         int32_t c)
{
    int32_t hub = net->clusters[c].hub;
    if (j->allowed_hubs && (hub < 0 || hub >= 64 || !(j->allowed_hubs >> hub & 1u)))
        return false;
    if (j->n_allowed) {
        for (uint32_t k = 0; k < j->n_allowed; k++)
            if (js->allowed[j->allowed_off + k] == c)
                return true;
        return false;
    }
    return true;
}

/* Checks one piece alone: everything except capacity and power. */
static void
check_piece(struct vctx *v, const struct cpn_sim_piece *pc, double *work_sum, uint8_t *finals)
{
    const struct cpn_sim_verify_input *in = v->in;
    const struct cpn_network *net = in->net;
    const struct cpn_slot_run *runs = in->schedule->runs + pc->run_off;
    const struct cpn_job *j;
    const struct cpn_pool *p;
    const struct cpn_cluster *c;
    int64_t slot = net->slot_s, deadline, release, k = 0;
    double dur, need, last_w, cost;

    if (pc->job >= in->jobs->n) {
        violation(v, CPN_CHECK_SHAPE, "piece of job index %u beyond %zu jobs", pc->job,
                  in->jobs->n);
        return;
    }
    j = &in->jobs->v[pc->job];
    if (pc->pool < 0 || (size_t)pc->pool >= net->npools) {
        violation(v, CPN_CHECK_SHAPE, "job %s: pool index %d beyond %zu pools", j->id, pc->pool,
                  net->npools);
        return;
    }
    p = &net->pools[pc->pool];
    c = &net->clusters[p->cluster];
    if (pc->nruns == 0 || (size_t)pc->run_off + pc->nruns > in->schedule->nruns) {
        violation(v, CPN_CHECK_SHAPE, "job %s: %u runs at %u outside the schedule", j->id,
                  pc->nruns, pc->run_off);
        return;
    }
    if ((int)p->cls != j->cls || (j->device[0] && strcmp(j->device, p->device) != 0) ||
        (j->min_tflops > 0 && p->tflops_per_unit < j->min_tflops) ||
        (j->duration_s <= 0 && p->tflops_per_unit <= 0))
        violation(v, CPN_CHECK_CLASS, "job %s (%s %s >= %g TFLOPS) on %s/%s (%s %s, %g TFLOPS)",
                  j->id, cpn_class_name((enum cpn_class)j->cls), j->device[0] ? j->device : "any",
                  j->min_tflops, c->id, p->id, cpn_class_name(p->cls), p->device,
                  p->tflops_per_unit);
    if (p->units != CPN_UNLIMITED && j->units > p->units)
        violation(v, CPN_CHECK_SIZE, "job %s: %lld units on %s/%s of %lld", j->id,
                  (long long)j->units, c->id, p->id, (long long)p->units);
    if (j->max_rtt_ms > 0 && j->site >= 0 && (size_t)j->site < net->nsites) {
        double rtt = cpn_network_rtt(net, j->site, p->cluster);
        if (rtt > j->max_rtt_ms * (1 + 1e-12))
            violation(v, CPN_CHECK_LATENCY, "job %s: RTT %g ms to %s above its %g ms", j->id, rtt,
                      c->id, j->max_rtt_ms);
    }
    if (!residency_ok(in->jobs, j, net, p->cluster))
        violation(v, CPN_CHECK_RESIDENCY, "job %s may not run on cluster %s (hub %s)", j->id, c->id,
                  c->hub >= 0 ? net->hubs[c->hub].id : "?");

    /* shape: runs in order, inside the horizon, of the length the work needs */
    for (uint32_t r = 0; r < pc->nruns; r++) {
        if (runs[r].len <= 0 || runs[r].start < 0 ||
            (int64_t)runs[r].start + runs[r].len > in->nslots ||
            (r && runs[r].start < runs[r - 1].start + runs[r - 1].len)) {
            violation(v, CPN_CHECK_SHAPE, "job %s: run %u [%d, +%d) malformed (horizon %d slots)",
                      j->id, r, runs[r].start, runs[r].len, in->nslots);
            return;
        }
        k += runs[r].len;
    }
    if (!j->interruptible && pc->nruns != 1)
        violation(v, CPN_CHECK_SHAPE, "job %s is not interruptible but runs in %u pieces", j->id,
                  pc->nruns);
    dur = run_time_s(j, p);
    need = pc->work * dur;
    if (pc->kind == CPN_PIECE_FINAL) {
        int64_t want = (int64_t)ceil(need / (double)slot - 1e-9);
        if (want < 1)
            want = 1;
        if (k != want || !isfinite(need))
            violation(v, CPN_CHECK_SHAPE, "job %s: %lld slots for %.6g s of work (want %lld)",
                      j->id, (long long)k, need, (long long)want);
        last_w = need / (double)slot - (double)(k - 1);
        if (last_w > 1 || last_w <= 0)
            last_w = 1;
        work_sum[pc->job] += pc->work;
        finals[pc->job]++;
    } else {
        last_w = 1;
        if (pc->kind == CPN_PIECE_KEPT) {
            double done = (double)k * (double)slot / dur;
            if (!j->interruptible || fabs(done - pc->work) > 1e-6)
                violation(v, CPN_CHECK_SHAPE,
                          "job %s: kept piece of %lld slots claims work %g "
                          "(%g)",
                          j->id, (long long)k, pc->work, done);
            work_sum[pc->job] += pc->work;
        }
    }

    /* release and deadline */
    release = j->submit_s > j->earliest_s ? j->submit_s : j->earliest_s;
    if (pc->not_before_s > release)
        release = pc->not_before_s;
    if (j->data_gb > 0 && net->transfer_gbps > 0) /* the input data must arrive first */
        release += (int64_t)ceil(j->data_gb * 8.0 / net->transfer_gbps);
    if (in->t0 + (int64_t)runs[0].start * slot < release)
        violation(v, CPN_CHECK_RELEASE,
                  "job %s starts at slot %d, before its release (with data transfer) at %lld",
                  j->id, runs[0].start, (long long)release);
    deadline =
        j->deadline_s == CPN_NO_DEADLINE ? in->t0 + (int64_t)in->nslots * slot : j->deadline_s;
    {
        const struct cpn_slot_run *lr = &runs[pc->nruns - 1];
        double end =
            (double)(in->t0 + (int64_t)(lr->start + lr->len - 1) * slot) + last_w * (double)slot;
        if (end > (double)deadline + TOL_S)
            violation(v, CPN_CHECK_DEADLINE, "job %s ends at %.0f, after its deadline %lld", j->id,
                      end, (long long)deadline);
    }

    /* down: no slot inside an outage of the cluster */
    for (size_t q = v->out_off[p->cluster]; q < v->out_off[p->cluster + 1]; q++) {
        const struct cpn_outage *ou = &net->outages[v->out_idx[q]];
        int64_t a, b;
        a = cpn_floordiv(ou->start_s - in->t0, slot);
        b = cpn_floordiv(ou->end_s - in->t0 - 1, slot) + 1;
        for (uint32_t r = 0; r < pc->nruns; r++)
            if (runs[r].start < b && runs[r].start + runs[r].len > a)
                violation(v, CPN_CHECK_DOWN,
                          "job %s runs on %s in slots [%d, +%d) during its "
                          "outage [%lld, %lld)",
                          j->id, c->id, runs[r].start, runs[r].len, (long long)a, (long long)b);
    }

    /* price ceiling of a placement decided as a whole (by the decision signals) */
    if (j->price_ceiling_ucny > 0 && pc->kind == CPN_PIECE_FINAL) {
        double power = (double)j->units * p->watts_busy * c->pue / 1000.0;
        double elec = 0, run = 0, slot_h = (double)slot / 3600.0;
        for (uint32_t r = 0; r < pc->nruns; r++) {
            for (int32_t q = 0; q < runs[r].len; q++) {
                bool last = r + 1 == pc->nruns && q + 1 == runs[r].len;
                double w = last ? last_w : 1.0;
                int64_t t = in->t0 + (int64_t)(runs[r].start + q) * slot;
                elec += power * slot_h * w *
                        cpn_signals_value(in->signals, net, c->zone, CPN_SIG_PRICE, t, true);
                run += w * (double)slot;
            }
        }
        cost = (double)j->units * (double)p->price_ucny_per_unit_h * run / 3600.0 +
               elec * (double)CPN_UCNY_PER_CNY +
               (j->data_gb > 0 ? j->data_gb * (double)net->transfer_ucny_per_gb : 0.0);
        if (cost > (double)j->price_ceiling_ucny * (1 + 1e-9) + 1.0 + (double)k)
            violation(v, CPN_CHECK_PRICE, "job %s costs %.0f ucny, above its ceiling %lld", j->id,
                      cost, (long long)j->price_ceiling_ucny);
    }
}

static int cmp_u32_by_key(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return *x < *y ? -1 : *x > *y;
}

/* Capacity per pool and power per cluster: pieces grouped by key (pool or cluster), one difference
 * array over the slots reused per group. */
static int check_sums(struct vctx *v, bool by_cluster)
{
    const struct cpn_sim_verify_input *in = v->in;
    const struct cpn_network *net = in->net;
    const struct cpn_sim_schedule *sch = in->schedule;
    uint64_t *order = cpn_reallocarray(NULL, sch->npieces ? sch->npieces : 1, sizeof *order);
    double *diff = cpn_calloc((size_t)in->nslots + 1, sizeof *diff);
    size_t n = 0;
    if (!order || !diff) {
        cpn_free(order);
        cpn_free(diff);
        return -ENOMEM;
    }
    for (size_t i = 0; i < sch->npieces; i++) {
        const struct cpn_sim_piece *pc = &sch->pieces[i];
        uint64_t key;
        if (pc->pool < 0 || (size_t)pc->pool >= net->npools || pc->job >= in->jobs->n)
            continue;
        key = by_cluster ? (uint64_t)net->pools[pc->pool].cluster : (uint64_t)pc->pool;
        order[n++] = key << 32 | (uint64_t)i;
    }
    qsort(order, n, sizeof *order, cmp_u32_by_key);
    for (size_t a = 0; a < n;) {
        uint32_t key = (uint32_t)(order[a] >> 32);
        size_t b = a;
        double limit;
        bool check;
        if (by_cluster) {
            limit = net->clusters[key].power_cap_kw;
            check = limit > 0;
        } else {
            check = net->pools[key].units != CPN_UNLIMITED;
            limit = (double)net->pools[key].units;
        }
        while (b < n && (uint32_t)(order[b] >> 32) == key)
            b++;
        if (check) {
            double level = 0;
            memset(diff, 0, ((size_t)in->nslots + 1) * sizeof *diff);
            for (size_t q = a; q < b; q++) {
                const struct cpn_sim_piece *pc = &sch->pieces[(uint32_t)order[q]];
                const struct cpn_job *j = &in->jobs->v[pc->job];
                const struct cpn_pool *p = &net->pools[pc->pool];
                double amount = by_cluster ? (double)j->units * p->watts_busy *
                                                 net->clusters[p->cluster].pue / 1000.0
                                           : (double)j->units;
                if ((size_t)pc->run_off + pc->nruns > sch->nruns)
                    continue;
                for (uint32_t r = 0; r < pc->nruns; r++) {
                    const struct cpn_slot_run *run = &sch->runs[pc->run_off + r];
                    if (run->len <= 0 || run->start < 0 ||
                        (int64_t)run->start + run->len > in->nslots)
                        continue;
                    diff[run->start] += amount;
                    diff[run->start + run->len] -= amount;
                }
            }
            for (int32_t t = 0; t < in->nslots; t++) {
                level += diff[t];
                if (level > limit * (1 + 1e-9) + 1e-9) {
                    if (by_cluster)
                        violation(v, CPN_CHECK_POWER,
                                  "cluster %s draws %.6g kW in slot %d, above its cap %g kW",
                                  net->clusters[key].id, level, t, limit);
                    else
                        violation(v, CPN_CHECK_CAPACITY,
                                  "pool %s/%s holds %.0f units in slot %d, more than its %.0f",
                                  net->clusters[net->pools[key].cluster].id, net->pools[key].id,
                                  level, t, limit);
                }
            }
        }
        a = b;
    }
    cpn_free(order);
    cpn_free(diff);
    return 0;
}

/* Groups the outages by cluster (counting sort). */
static int index_outages(struct vctx *v)
{
    const struct cpn_network *net = v->in->net;
    size_t *fill;
    v->out_off = cpn_calloc(net->nclusters + 1, sizeof *v->out_off);
    v->out_idx = cpn_calloc(net->noutages + 1, sizeof *v->out_idx);
    fill = cpn_calloc(net->nclusters + 1, sizeof *fill);
    if (!v->out_off || !v->out_idx || !fill) {
        cpn_free(fill);
        return -ENOMEM;
    }
    for (size_t o = 0; o < net->noutages; o++)
        if (net->outages[o].cluster >= 0 && (size_t)net->outages[o].cluster < net->nclusters)
            v->out_off[net->outages[o].cluster + 1]++;
    for (size_t c = 0; c < net->nclusters; c++)
        v->out_off[c + 1] += v->out_off[c];
    for (size_t o = 0; o < net->noutages; o++) {
        int32_t c = net->outages[o].cluster;
        if (c >= 0 && (size_t)c < net->nclusters)
            v->out_idx[v->out_off[c] + fill[c]++] = (uint32_t)o;
    }
    cpn_free(fill);
    return 0;
}

size_t cpn_sim_verify(const struct cpn_sim_verify_input *in,
                      size_t counts[CPN_CHECK_COUNT],
                      char *first,
                      size_t first_len)
{
    struct vctx v = { in, 0, counts, first, first_len, NULL, NULL };
    double *work_sum = cpn_calloc(in->jobs->n ? in->jobs->n : 1, sizeof *work_sum);
    uint8_t *finals = cpn_calloc(in->jobs->n ? in->jobs->n : 1, 1);
    size_t rc = 0;
    if (counts)
        memset(counts, 0, CPN_CHECK_COUNT * sizeof *counts);
    if (first && first_len)
        first[0] = '\0';
    if (!work_sum || !finals || index_outages(&v)) {
        rc = SIZE_MAX;
        goto out;
    }
    for (size_t i = 0; i < in->schedule->npieces; i++)
        check_piece(&v, &in->schedule->pieces[i], work_sum, finals);
    for (size_t i = 0; i < in->jobs->n; i++) {
        if (finals[i] > 1)
            violation(&v, CPN_CHECK_SHAPE, "job %s has %u final placements", in->jobs->v[i].id,
                      finals[i]);
        else if (finals[i] == 1 && fabs(work_sum[i] - 1.0) > 1e-6)
            violation(&v, CPN_CHECK_SHAPE, "job %s: its pieces do %.9g of its work",
                      in->jobs->v[i].id, work_sum[i]);
    }
    if (check_sums(&v, false) || check_sums(&v, true))
        rc = SIZE_MAX;
    else
        rc = v.total;
out:
    cpn_free(work_sum);
    cpn_free(finals);
    cpn_free(v.out_idx);
    cpn_free(v.out_off);
    return rc;
}
