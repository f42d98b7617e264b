/* SPDX-License-Identifier: Apache-2.0 */
/* The service's engine: a rolling planning horizon on the real clock. The engine is rebuilt (new
 * horizon start, or a new network after a registration) and every placement that has not ended is
 * committed again, its slot indexes shifted to the new start. A day after the horizon's start it
 * rolls forward, so the horizon always reaches horizon_days ahead. */
#include <errno.h>
#include <string.h>

#include "serve_int.h"

static int horizon_slots(const struct cpn_server *s)
{
    int days = s->cfg.horizon_days > 0 ? s->cfg.horizon_days : 14;
    return (int)((int64_t)days * 86400 / s->net->slot_s);
}

int srv_engine_rebuild(struct cpn_server *s, int64_t now_s, struct cpn_error *err)
{
    struct cpn_engine_config cfg = { 0 };
    struct cpn_engine *e;
    int64_t old_t0 = s->eng ? cpn_engine_t0(s->eng) : 0;
    int rc;
    cfg.net = s->net;
    cfg.signals = s->sig;
    cfg.t0 = cpn_floordiv(now_s, s->net->slot_s) * s->net->slot_s;
    cfg.nslots = horizon_slots(s);
    cfg.policy = s->pol;
    if ((rc = cpn_engine_create(&cfg, &e, err)))
        return rc;
    for (size_t i = 0; i < s->net->nclusters; i++)
        cpn_engine_set_cluster_up(e, (int32_t)i, !s->cl[i].down);
    for (size_t i = 0; i < s->njobs; i++) {
        struct srv_job *j = s->jobs[i];
        int32_t delta;
        if (!j->placed || j->state != SJ_PLACED)
            continue;
        delta = s->eng ? (int32_t)((old_t0 - cfg.t0) / s->net->slot_s) : 0;
        j->pl.start_slot += delta;
        for (uint32_t r = 0; r < j->pl.nruns && j->pl.nruns > 1; r++)
            j->runs[r].start += delta;
        if (j->pl.end_s > cfg.t0)
            cpn_engine_commit(e, &j->spec, &j->pl);
    }
    cpn_engine_destroy(s->eng);
    s->eng = e;
    return 0;
}

void srv_engine_tick(struct cpn_server *s, int64_t now_s)
{
    struct cpn_error err = { 0 };
    if (now_s - cpn_engine_t0(s->eng) < 86400)
        return;
    if (srv_engine_rebuild(s, now_s, &err))
        fprintf(s->log, "cpnet serve: horizon roll failed (keeping the old horizon): %s\n",
                err.msg);
}
