/* SPDX-License-Identifier: Apache-2.0 */
/* The event loop of the simulator: job arrivals (by submit time, then priority descending, then
 * id), forecast revisions with re-planning of not-yet-started jobs, and cluster outages (pending
 * placements re-placed; running interruptible jobs keep what ran, others restart elsewhere). Each
 * decision is one cpn_engine_decide at the event's time followed by a commit, so what is simulated
 * is exactly what the engine decides. A job that finds no placement while some cluster is down is
 * held and tried again whenever a cluster comes back, as a platform would queue it. At the end
 * every job is accounted with the actual signals and the independent checker (verify.c) re-verifies
 * the schedule. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

/* ---- small helpers ------------------------------------------------------------------------------
 */

static int32_t pool_cluster(const struct cpn_sim *s, int32_t pool)
{
    return s->net->pools[pool].cluster;
}

static int32_t slot_of(const struct cpn_sim *s, int64_t t)
{
    return (int32_t)cpn_floordiv(t - s->cfg.t0, s->slot_s);
}

static double seg_done(const struct cpn_sim *s, uint32_t seg)
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
        double done = seg_done(s, r->seg);
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

static void lat_record(struct cpn_sim *s, int64_t ns)
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

/* Lower edge of a latency bucket, in ns (the inverse of lat_record). */
static double lat_bucket_ns(unsigned b)
{
    unsigned e, sub;
    if (b < SIM_LAT_SUB)
        return b;
    e = b / SIM_LAT_SUB + 3;
    sub = b % SIM_LAT_SUB;
    return ldexp(1.0 + sub / (double)SIM_LAT_SUB, (int)e);
}

static double lat_quantile_us(const struct cpn_sim *s, double q)
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

static int runs_push(struct cpn_sim *s, const struct cpn_slot_run *r, uint32_t n, uint32_t *off)
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

static int live_push(struct cpn_sim *s, uint32_t i)
{
    int rc = cpn_grow(&s->live, &s->live_cap, s->nlive + 1, sizeof *s->live);
    if (rc)
        return rc;
    s->live[s->nlive++] = i;
    return 0;
}

/* Drops jobs that are not placed or have finished by t. */
static void live_compact(struct cpn_sim *s, int64_t t)
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
static void rec_placement(const struct cpn_sim *s,
                          uint32_t i,
                          struct cpn_slot_run *scratch,
                          struct cpn_placement *p)
{
    const struct sim_rec *r = &s->rec[i];
    memset(p, 0, sizeof *p);
    p->pool = r->pool;
    p->cluster = pool_cluster(s, r->pool);
    p->start_s = r->start_s;
    p->end_s = r->end_s;
    p->start_slot = slot_of(s, r->start_s);
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

static int store_placement(struct cpn_sim *s, uint32_t i, const struct cpn_placement *p)
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
            int rc = runs_push(s, src, n, &off);
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

static void unplace(struct cpn_sim *s, uint32_t i)
{
    struct sim_rec *r = &s->rec[i];
    if (r->pool >= 0 && s->js->v[i].interruptible)
        s->runs_garbage += r->nruns;
    r->pool = -1;
    r->nruns = 0;
    r->nslots = 0;
}

static int reject(struct cpn_sim *s, uint32_t i, const char *prefix, const char *msg)
{
    struct sim_rec *r = &s->rec[i];
    unplace(s, i);
    r->status = CPN_SIM_REJECTED;
    r->aux = SIM_NONE;
    if (s->cfg.keep_reasons && s->reasons.len < UINT32_MAX - 1024) {
        size_t off = s->reasons.len;
        int rc = cpn_buf_printf(&s->reasons, "%s%s", prefix, msg);
        if (rc == 0)
            rc = cpn_buf_append(&s->reasons, "", 1); /* keep the terminating NUL */
        if (rc)
            return rc;
        r->aux = (uint32_t)off;
    }
    return 0;
}

static int
decide(struct cpn_sim *s, uint32_t i, int64_t now, struct cpn_placement *p, struct cpn_error *err)
{
    struct cpn_job tmp;
    const struct cpn_job *view = sim_job_view(s, i, &tmp);
    int64_t a = cpn_monotonic_ns();
    int rc = cpn_engine_decide(s->engine, s->js, view, now, p, NULL, err);
    lat_record(s, cpn_monotonic_ns() - a);
    return rc;
}

static int
commit(struct cpn_sim *s, uint32_t i, const struct cpn_placement *p, struct cpn_error *err)
{
    struct cpn_job tmp;
    const struct cpn_job *view = sim_job_view(s, i, &tmp);
    int rc = cpn_engine_commit(s->engine, view, p);
    if (rc)
        return cpn_errorf(err, rc, "job %s: the engine refused to commit its own placement (%s)",
                          view->id, cpn_strerror(rc));
    rc = store_placement(s, i, p);
    return rc ? cpn_errorf(err, rc, "job %s: out of memory for its slots", view->id) : 0;
}

/* Decides and commits job i at now; on infeasibility the job is rejected with prefix + reason (and
 * held for a retry while a cluster is down). Returns 0 or a fatal error (-ENOMEM, a commit
 * failure). */
static int
place(struct cpn_sim *s, uint32_t i, int64_t now, const char *prefix, struct cpn_error *err)
{
    struct cpn_placement p;
    struct cpn_error derr = { 0, "" };
    int rc = decide(s, i, now, &p, &derr);
    if (rc == -ENOMEM)
        return cpn_errorf(err, rc, "job %s: out of memory while deciding", s->js->v[i].id);
    if (rc) {
        rc = reject(s, i, prefix, derr.msg[0] ? derr.msg : cpn_strerror(rc));
        if (!rc && s->ndown > 0) {
            rc = cpn_grow(&s->deferred, &s->deferred_cap, s->ndeferred + 1, sizeof *s->deferred);
            if (!rc)
                s->deferred[s->ndeferred++] = i;
        }
        return rc ? cpn_errorf(err, rc, "out of memory") : 0;
    }
    return commit(s, i, &p, err);
}

static int live_push(struct cpn_sim *s, uint32_t i);

/* A cluster came back at t: every held job is tried again, in the order it was held. */
static int retry_deferred(struct cpn_sim *s, int64_t t, struct cpn_error *err)
{
    size_t n = s->ndeferred;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "held during an outage, retried at slot %d: ",
             (int)cpn_floordiv(t - s->cfg.t0, s->slot_s));
    for (size_t k = 0; k < n; k++) {
        uint32_t i = s->deferred[k];
        struct sim_rec *r = &s->rec[i];
        int rc = place(s, i, t, prefix, err);
        if (rc)
            return rc;
        if (r->pool < 0)
            continue;
        if (r->seg == SIM_NONE)
            r->status = CPN_SIM_PLACED;
        else
            r->status = s->segs[r->seg].wasted ? CPN_SIM_RESTARTED : CPN_SIM_RESUMED;
        if ((rc = live_push(s, i)))
            return cpn_errorf(err, rc, "out of memory");
    }
    /* keep only the jobs held again during this round */
    if (n && s->ndeferred > n)
        memmove(s->deferred, s->deferred + n, (s->ndeferred - n) * sizeof *s->deferred);
    s->ndeferred -= n;
    return 0;
}

/* ---- events -------------------------------------------------------------------------------------
 */

static int arrive(struct cpn_sim *s, uint32_t i, struct cpn_error *err)
{
    const struct cpn_job *j = &s->js->v[i];
    int rc = place(s, i, j->submit_s, "", err);
    if (rc)
        return rc;
    if (s->rec[i].pool < 0)
        return 0;
    s->rec[i].status = CPN_SIM_PLACED;
    if (s->nlive >= 2 * s->live_compacted + 4096)
        live_compact(s, j->submit_s);
    rc = live_push(s, i);
    return rc ? cpn_errorf(err, rc, "out of memory for %zu running jobs", s->nlive) : 0;
}

static bool same_placement(const struct cpn_sim *s, uint32_t i, const struct cpn_placement *old)
{
    const struct sim_rec *r = &s->rec[i];
    if (r->pool != old->pool || r->start_s != old->start_s || r->nslots != old->nslots)
        return false;
    if (s->js->v[i].interruptible)
        return r->nruns == old->nruns &&
               memcmp(s->runs + r->aux, old->runs, r->nruns * sizeof *old->runs) == 0;
    return true;
}

static int scratch_fit(struct cpn_slot_run **scratch, size_t *cap, uint32_t n)
{
    return cpn_grow(scratch, cap, n ? n : 1, sizeof **scratch);
}

/* Re-plans every placed job that has not started by t (start_s >= t), in arrival order. A job
 * keeps its placement when the new decision fails. Returns the number still pending through
 * *pending. */
static int replan(struct cpn_sim *s,
                  int64_t t,
                  struct cpn_slot_run **scratch,
                  size_t *cap,
                  size_t *pending,
                  struct cpn_error *err)
{
    live_compact(s, t);
    *pending = 0;
    for (size_t n = 0; n < s->nlive; n++) {
        uint32_t i = s->live[n];
        struct sim_rec *r = &s->rec[i];
        struct cpn_placement old, p;
        struct cpn_error derr;
        struct cpn_job tmp;
        const struct cpn_job *view;
        int rc;
        if (r->pool < 0 || r->start_s < t)
            continue;
        (*pending)++;
        rc = scratch_fit(scratch, cap, r->nruns);
        if (rc)
            return cpn_errorf(err, rc, "out of memory while re-planning");
        rec_placement(s, i, *scratch, &old);
        view = sim_job_view(s, i, &tmp);
        cpn_engine_release(s->engine, view, &old, 0);
        rc = decide(s, i, t, &p, &derr);
        if (rc == -ENOMEM)
            return cpn_errorf(err, rc, "job %s: out of memory while re-planning", view->id);
        if (rc) {
            rc = cpn_engine_commit(s->engine, view, &old);
            if (rc)
                return cpn_errorf(err, rc,
                                  "job %s: its released placement could not be "
                                  "committed again (%s)",
                                  view->id, cpn_strerror(rc));
            continue;
        }
        rc = commit(s, i, &p, err);
        if (rc)
            return rc;
        if (!same_placement(s, i, &old))
            s->sum.replans++;
    }
    return 0;
}

/* Cluster c goes down at t (a slot start): pending placements on it are re-placed, running ones cut
 * at t (interruptible: what ran is kept; others: wasted, restarted from scratch). */
static int outage_start(struct cpn_sim *s,
                        int32_t c,
                        int64_t t,
                        struct cpn_slot_run **scratch,
                        size_t *cap,
                        struct cpn_error *err)
{
    int32_t cut = slot_of(s, t);
    char prefix[CPN_ID_MAX + 64];
    snprintf(prefix, sizeof prefix, "cluster %s down at slot %d: ", s->net->clusters[c].id, cut);
    cpn_engine_set_cluster_up(s->engine, c, false);
    live_compact(s, t);
    for (size_t n = 0; n < s->nlive; n++) {
        uint32_t i = s->live[n];
        struct sim_rec *r = &s->rec[i];
        struct cpn_placement old;
        struct cpn_job tmp;
        const struct cpn_job *view;
        int rc;
        if (r->pool < 0 || pool_cluster(s, r->pool) != c || r->end_s <= t)
            continue;
        rc = scratch_fit(scratch, cap, r->nruns);
        if (rc)
            return cpn_errorf(err, rc, "out of memory at an outage");
        rec_placement(s, i, *scratch, &old);
        view = sim_job_view(s, i, &tmp);
        if (r->start_s >= t) {
            cpn_engine_release(s->engine, view, &old, 0);
            unplace(s, i);
        } else {
            /* running: keep the slots before the cut as a piece of its own */
            struct sim_seg sg;
            uint32_t kept = 0, nk = 0, off = 0;
            for (uint32_t k = 0; k < old.nruns; k++) {
                struct cpn_slot_run run = old.runs[k];
                if (run.start >= cut)
                    break;
                if (run.start + run.len > cut)
                    run.len = cut - run.start;
                (*scratch)[nk++] = run;
                kept += (uint32_t)run.len;
            }
            cpn_engine_release(s->engine, view, &old, cut);
            rc = runs_push(s, *scratch, nk, &off);
            if (!rc)
                rc = cpn_grow(&s->segs, &s->segs_cap, s->nsegs + 1, sizeof *s->segs);
            if (rc)
                return cpn_errorf(err, rc, "out of memory at an outage");
            memset(&sg, 0, sizeof sg);
            sg.job = i;
            sg.pool = r->pool;
            sg.run_off = off;
            sg.nruns = nk;
            sg.cut_s = t;
            sg.prev = r->seg;
            if (view->interruptible) {
                double dur = cpn_job_duration_on(view, &s->net->pools[r->pool]);
                double before = seg_done(s, r->seg);
                sg.work = (double)kept * (double)s->slot_s / dur * (1.0 - before);
                r->status = CPN_SIM_RESUMED;
            } else {
                sg.wasted = true;
                r->restarts++;
                s->sum.restarts++;
                r->status = CPN_SIM_RESTARTED;
            }
            unplace(s, i);
            s->segs[s->nsegs] = sg;
            r->seg = (uint32_t)s->nsegs++;
        }
        rc = place(s, i, t, prefix, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- arrival order and outage events
 * ------------------------------------------------------------- */

struct arrival {
    int64_t t;
    const struct cpn_job *job;
};

static int arrival_cmp(const void *a, const void *b)
{
    const struct arrival *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->job->priority != y->job->priority)
        return x->job->priority > y->job->priority ? -1 : 1;
    return strcmp(x->job->id, y->job->id);
}

struct outage_ev {
    int64_t t;
    int32_t cluster;
    int32_t delta; /* -1: back up, +1: down */
};

static int outage_cmp(const void *a, const void *b)
{
    const struct outage_ev *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->delta != y->delta)
        return x->delta < y->delta ? -1 : 1;
    return x->cluster < y->cluster ? -1 : x->cluster > y->cluster;
}

/* Outages on the slot grid: down from the slot holding start_s to the slot boundary at or after
 * end_s, clipped to the horizon. */
static int outage_events(const struct cpn_sim *s, struct outage_ev **out, size_t *n)
{
    const struct cpn_network *net = s->net;
    struct outage_ev *ev = cpn_reallocarray(NULL, 2 * net->noutages + 1, sizeof *ev);
    size_t k = 0;
    if (!ev)
        return -ENOMEM;
    for (size_t o = 0; o < net->noutages; o++) {
        const struct cpn_outage *ou = &net->outages[o];
        int64_t a = cpn_floordiv(ou->start_s - s->cfg.t0, s->slot_s) * s->slot_s + s->cfg.t0;
        int64_t b =
            (cpn_floordiv(ou->end_s - s->cfg.t0 - 1, s->slot_s) + 1) * s->slot_s + s->cfg.t0;
        if (a < s->cfg.t0)
            a = s->cfg.t0;
        if (b > s->end_s)
            b = s->end_s;
        if (b <= a || ou->cluster < 0 || (size_t)ou->cluster >= net->nclusters)
            continue;
        ev[k++] = (struct outage_ev){ a, ou->cluster, +1 };
        ev[k++] = (struct outage_ev){ b, ou->cluster, -1 };
    }
    qsort(ev, k, sizeof *ev, outage_cmp);
    *out = ev;
    *n = k;
    return 0;
}

/* ---- the run
 * ------------------------------------------------------------------------------------- */

static int run_events(struct cpn_sim *s, struct cpn_error *err)
{
    struct arrival *arr = NULL;
    struct outage_ev *ev = NULL;
    int32_t *depth = NULL;
    struct cpn_slot_run *scratch = NULL;
    size_t scap = 0, narr = 0, nev = 0, ia = 0, ie = 0;
    int64_t every = s->cfg.replan_every_s, next_replan = INT64_MAX;
    uint64_t rev = 0;
    int rc;

    arr = cpn_reallocarray(NULL, s->js->n ? s->js->n : 1, sizeof *arr);
    depth = cpn_calloc(s->net->nclusters ? s->net->nclusters : 1, sizeof *depth);
    if (!arr || !depth || outage_events(s, &ev, &nev)) {
        rc = cpn_errorf(err, -ENOMEM, "out of memory for %zu jobs", s->js->n);
        goto out;
    }
    for (size_t i = 0; i < s->js->n; i++)
        if (cpn_sim_selected(&s->js->v[i], &s->cfg.window))
            arr[narr++] = (struct arrival){ s->js->v[i].submit_s, &s->js->v[i] };
    qsort(arr, narr, sizeof *arr, arrival_cmp);
    if (every > 0)
        next_replan = s->cfg.t0 + every;

    while (ia < narr || (ie < nev && ev[ie].t < s->end_s) || next_replan < s->end_s) {
        int64_t t = INT64_MAX;
        if (ia < narr)
            t = arr[ia].t;
        if (ie < nev && ev[ie].t < t)
            t = ev[ie].t;
        if (next_replan < t)
            t = next_replan;
        if (t >= s->end_s && ia >= narr)
            break;
        while (ie < nev && ev[ie].t == t) {
            int32_t c = ev[ie].cluster;
            if (ev[ie].delta > 0) {
                if (depth[c]++ == 0) {
                    s->ndown++;
                    if ((rc = outage_start(s, c, t, &scratch, &scap, err)))
                        goto out;
                }
            } else if (--depth[c] == 0) {
                s->ndown--;
                cpn_engine_set_cluster_up(s->engine, c, true);
                if ((rc = retry_deferred(s, t, err)))
                    goto out;
            }
            ie++;
        }
        if (next_replan == t) {
            size_t pending = 0;
            if (s->revised) {
                sim_forecast_revise(s, t, ++rev);
                rc = cpn_engine_refresh_signals(s->engine, err);
                if (rc)
                    goto out;
            }
            rc = replan(s, t, &scratch, &scap, &pending, err);
            if (rc)
                goto out;
            next_replan = (ia >= narr && pending == 0) ? INT64_MAX : t + every;
        }
        while (ia < narr && arr[ia].t == t) {
            rc = arrive(s, (uint32_t)(arr[ia].job - s->js->v), err);
            if (rc)
                goto out;
            ia++;
        }
        if (ia >= narr && next_replan != INT64_MAX && every > 0 && next_replan > t) {
            /* keep ticking only while something may still move */
            bool any = false;
            for (size_t n = 0; n < s->nlive && !any; n++) {
                const struct sim_rec *r = &s->rec[s->live[n]];
                any = r->pool >= 0 && r->start_s >= next_replan;
            }
            if (!any)
                next_replan = INT64_MAX;
        }
    }
    s->sum.jobs = narr;
    rc = 0;
out:
    cpn_free(arr);
    cpn_free(ev);
    cpn_free(depth);
    cpn_free(scratch);
    return rc;
}

static int finish(struct cpn_sim *s, struct cpn_error *err)
{
    struct sim_acct a, loc;
    struct cpn_sim_schedule sch;
    struct cpn_sim_verify_input vin;
    double wait_sum = 0;
    int64_t cost_ucny = 0;
    size_t placed = 0, rejected = 0, v;
    char first[256] = "";

    memset(&a, 0, sizeof a);
    for (size_t i = 0; i < s->js->n; i++) {
        struct sim_rec *r = &s->rec[i];
        const struct cpn_job *j = &s->js->v[i];
        if (!cpn_sim_selected(j, &s->cfg.window))
            continue;
        sim_account_job(s, (uint32_t)i, &loc, NULL);
        r->energy_kwh = loc.energy_kwh;
        r->carbon_kg = loc.carbon_kg;
        r->cost_ucny = sim_acct_cost_ucny(&loc);
        a.energy_kwh += loc.energy_kwh;
        a.carbon_kg += loc.carbon_kg;
        a.elec_cny += loc.elec_cny;
        a.green_kwh += loc.green_kwh;
        a.west_kwh += loc.west_kwh;
        cost_ucny += r->cost_ucny;
        if (r->pool >= 0) {
            struct cpn_sim_job res;
            cpn_sim_job(s, i, &res);
            placed++;
            wait_sum += res.wait_h;
        } else {
            rejected++;
        }
    }
    s->sum.placed = (double)placed;
    s->sum.rejected = (double)rejected;
    s->sum.energy_kwh = a.energy_kwh;
    s->sum.carbon_kg = a.carbon_kg;
    s->sum.cost_cny = (double)cost_ucny / (double)CPN_UCNY_PER_CNY;
    s->sum.mean_wait_h = placed ? wait_sum / (double)placed : 0.0;
    s->sum.green_share = a.energy_kwh > 0 ? a.green_kwh / a.energy_kwh : 0.0;
    s->sum.west_share = a.energy_kwh > 0 ? a.west_kwh / a.energy_kwh : 0.0;
    s->sum.decisions_per_s =
        s->decide_ns > 0 ? (double)s->sum.decisions / ((double)s->decide_ns / 1e9) : 0.0;
    s->sum.decision_p50_us = lat_quantile_us(s, 0.50);
    s->sum.decision_p99_us = lat_quantile_us(s, 0.99);

    if (cpn_sim_schedule(s, &sch))
        return cpn_errorf(err, -ENOMEM, "out of memory while building the schedule to verify");
    vin =
        (struct cpn_sim_verify_input){ s->net, s->decision, s->js, s->cfg.t0, s->cfg.nslots, &sch };
    v = cpn_sim_verify(&vin, NULL, first, sizeof first);
    cpn_sim_schedule_free(&sch);
    if (v == SIZE_MAX)
        return cpn_errorf(err, -ENOMEM, "out of memory while verifying the schedule");
    s->sum.violations = v;
    return 0;
}

int cpn_sim_run(const struct cpn_sim_config *cfg, struct cpn_sim **out, struct cpn_error *err)
{
    struct cpn_sim *s;
    struct cpn_engine_config ec;
    int rc;

    if (!cfg || !cfg->net || !cfg->signals || !cfg->jobs || cfg->nslots <= 0)
        return cpn_errorf(err, -EINVAL, "sim: network, signals, jobs and horizon are required");
    if (cfg->jobs->n > UINT32_MAX - 1)
        return cpn_errorf(err, CPN_ELIMIT, "sim: %zu jobs exceed the limit of %u", cfg->jobs->n,
                          UINT32_MAX - 1);
    if (!strcmp(cfg->policy.name, "optimal"))
        return cpn_errorf(err, -EINVAL,
                          "sim: policy optimal is an LP bound (cpn_lp_bound), not a run");
    s = cpn_calloc(1, sizeof *s);
    if (!s)
        return cpn_errorf(err, -ENOMEM, "sim: out of memory");
    s->cfg = *cfg;
    s->net = cfg->net;
    s->js = cfg->jobs;
    s->actual = cfg->signals;
    s->decision = cfg->signals;
    s->slot_s = cfg->net->slot_s;
    s->end_s = cfg->t0 + (int64_t)cfg->nslots * s->slot_s;
    snprintf(s->sum.policy, sizeof s->sum.policy, "%s", cfg->policy.name);
    s->rec = cpn_reallocarray(NULL, cfg->jobs->n ? cfg->jobs->n : 1, sizeof *s->rec);
    if (!s->rec) {
        cpn_sim_destroy(s);
        return cpn_errorf(err, -ENOMEM, "sim: out of memory for %zu jobs", cfg->jobs->n);
    }
    for (size_t i = 0; i < cfg->jobs->n; i++) {
        s->rec[i] = (struct sim_rec){ 0 };
        s->rec[i].pool = -1;
        s->rec[i].aux = SIM_NONE;
        s->rec[i].seg = SIM_NONE;
        s->rec[i].status =
            cpn_sim_selected(&cfg->jobs->v[i], &cfg->window) ? CPN_SIM_REJECTED : CPN_SIM_SKIPPED;
    }
    if (cfg->replan_every_s > 0 && cfg->revise_error_pct > 0) {
        rc = sim_forecast_init(s, err);
        if (rc) {
            cpn_sim_destroy(s);
            return rc;
        }
        s->decision = s->revised;
    }
    ec = (struct cpn_engine_config){ cfg->net, s->decision, cfg->t0, cfg->nslots, cfg->policy };
    rc = cpn_engine_create(&ec, &s->engine, err);
    if (!rc)
        rc = run_events(s, err);
    if (!rc)
        rc = finish(s, err);
    if (rc) {
        cpn_sim_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

void cpn_sim_destroy(struct cpn_sim *s)
{
    if (!s)
        return;
    cpn_engine_destroy(s->engine);
    sim_forecast_free(s);
    cpn_free(s->rec);
    cpn_free(s->runs);
    cpn_free(s->segs);
    cpn_free(s->live);
    cpn_free(s->deferred);
    cpn_buf_free(&s->reasons);
    cpn_free(s);
}

const struct cpn_sim_summary *cpn_sim_summary(const struct cpn_sim *s)
{
    return &s->sum;
}
