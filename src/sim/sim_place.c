/* SPDX-License-Identifier: Apache-2.0 */
/* What the simulator's events do to placements. Each decision is one cpn_engine_decide at the
 * event's time followed by a commit, so what is simulated is exactly what the engine decides. A
 * re-plan releases each placed job that has not started and decides it again, keeping the old
 * placement when the new decision fails. An outage re-places the pending placements on the cluster
 * and cuts the running ones (interruptible jobs keep what ran, others restart elsewhere); a job
 * that finds no placement while some cluster is down is held and tried again whenever a cluster
 * comes back, as a platform would queue it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sim_int.h"

static int reject(struct cpn_sim *s, uint32_t i, const char *prefix, const char *msg)
{
    struct sim_rec *r = &s->rec[i];
    sim_unplace(s, i);
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
    sim_lat_record(s, cpn_monotonic_ns() - a);
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
    rc = sim_store_placement(s, i, p);
    return rc ? cpn_errorf(err, rc, "job %s: out of memory for its slots", view->id) : 0;
}

/* Decides and commits job i at now; on infeasibility the job is rejected with prefix + reason (and
 * held for a retry while a cluster is down). Returns 0 or a fatal error (-ENOMEM, a commit
 * failure). */
int sim_place(struct cpn_sim *s, uint32_t i, int64_t now, const char *prefix, struct cpn_error *err)
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

/* A cluster came back at t: every held job is tried again, in the order it was held. */
int sim_retry_deferred(struct cpn_sim *s, int64_t t, struct cpn_error *err)
{
    size_t n = s->ndeferred;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "held during an outage, retried at slot %d: ",
             (int)cpn_floordiv(t - s->cfg.t0, s->slot_s));
    for (size_t k = 0; k < n; k++) {
        uint32_t i = s->deferred[k];
        struct sim_rec *r = &s->rec[i];
        int rc = sim_place(s, i, t, prefix, err);
        if (rc)
            return rc;
        if (r->pool < 0)
            continue;
        if (r->seg == SIM_NONE)
            r->status = CPN_SIM_PLACED;
        else
            r->status = s->segs[r->seg].wasted ? CPN_SIM_RESTARTED : CPN_SIM_RESUMED;
        if ((rc = sim_live_push(s, i)))
            return cpn_errorf(err, rc, "out of memory");
    }
    /* keep only the jobs held again during this round */
    if (n && s->ndeferred > n)
        memmove(s->deferred, s->deferred + n, (s->ndeferred - n) * sizeof *s->deferred);
    s->ndeferred -= n;
    return 0;
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
int sim_replan(struct cpn_sim *s,
               int64_t t,
               struct cpn_slot_run **scratch,
               size_t *cap,
               size_t *pending,
               struct cpn_error *err)
{
    sim_live_compact(s, t);
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
        sim_rec_placement(s, i, *scratch, &old);
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
int sim_outage_start(struct cpn_sim *s,
                     int32_t c,
                     int64_t t,
                     struct cpn_slot_run **scratch,
                     size_t *cap,
                     struct cpn_error *err)
{
    int32_t cut = sim_slot_of(s, t);
    char prefix[CPN_ID_MAX + 64];
    snprintf(prefix, sizeof prefix, "cluster %s down at slot %d: ", s->net->clusters[c].id, cut);
    cpn_engine_set_cluster_up(s->engine, c, false);
    sim_live_compact(s, t);
    for (size_t n = 0; n < s->nlive; n++) {
        uint32_t i = s->live[n];
        struct sim_rec *r = &s->rec[i];
        struct cpn_placement old;
        struct cpn_job tmp;
        const struct cpn_job *view;
        int rc;
        if (r->pool < 0 || sim_pool_cluster(s, r->pool) != c || r->end_s <= t)
            continue;
        rc = scratch_fit(scratch, cap, r->nruns);
        if (rc)
            return cpn_errorf(err, rc, "out of memory at an outage");
        sim_rec_placement(s, i, *scratch, &old);
        view = sim_job_view(s, i, &tmp);
        if (r->start_s >= t) {
            cpn_engine_release(s->engine, view, &old, 0);
            sim_unplace(s, i);
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
            rc = sim_runs_push(s, *scratch, nk, &off);
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
                double before = sim_seg_done(s, r->seg);
                sg.work = (double)kept * (double)s->slot_s / dur * (1.0 - before);
                r->status = CPN_SIM_RESUMED;
            } else {
                sg.wasted = true;
                r->restarts++;
                s->sum.restarts++;
                r->status = CPN_SIM_RESTARTED;
            }
            sim_unplace(s, i);
            s->segs[s->nsegs] = sg;
            r->seg = (uint32_t)s->nsegs++;
        }
        rc = sim_place(s, i, t, prefix, err);
        if (rc)
            return rc;
    }
    return 0;
}
