/* SPDX-License-Identifier: Apache-2.0 */
/* Accounting and output of a finished run. Energy, carbon and money of every piece that ran are
 * computed with the actual signals, slot by slot with the weights of docs/engine.md (every slot
 * counts whole except the last one in time, which counts the fraction used), so a decision taken on
 * a wrong forecast is charged what it really emitted. Outputs are streamed row by row. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "sim_int.h"

const char *cpn_sim_status_name(enum cpn_sim_status st)
{
    switch (st) {
    case CPN_SIM_SKIPPED:
        return "skipped";
    case CPN_SIM_PLACED:
        return "placed";
    case CPN_SIM_RESTARTED:
        return "restarted";
    case CPN_SIM_RESUMED:
        return "resumed";
    case CPN_SIM_REJECTED:
        return "rejected";
    }
    return "unknown";
}

static void hourly_add(const struct cpn_sim *s,
                       struct sim_hourly *h,
                       int32_t cluster,
                       int64_t t,
                       double len_s,
                       double units,
                       double power_kw,
                       double ci)
{
    double cur = (double)t, end = (double)t + len_s;
    int64_t k = cpn_floordiv(t - h->t0, 3600);
    (void)s;
    while (cur < end && k >= 0 && (size_t)k < h->nhours) {
        double hour_end = (double)(h->t0 + (k + 1) * 3600);
        double part = (end < hour_end ? end : hour_end) - cur;
        size_t at = (size_t)cluster * h->nhours + (size_t)k;
        double e = power_kw * part / 3600.0;
        if (units > 0)
            h->busy[at] += units * part;
        h->energy[at] += e;
        h->carbon[at] += e * ci / 1000.0;
        cur += part;
        k++;
    }
}

void sim_account_piece(const struct cpn_sim *s,
                       const struct cpn_job *job,
                       int32_t pool,
                       const struct cpn_slot_run *runs,
                       uint32_t nruns,
                       double last_w,
                       struct sim_acct *a,
                       struct sim_hourly *hourly)
{
    const struct cpn_network *net = s->net;
    const struct cpn_pool *p = &net->pools[pool];
    const struct cpn_cluster *c = &net->clusters[p->cluster];
    double power = cpn_job_power_kw(job, p, c);
    double slot_h = (double)s->slot_s / 3600.0, run_s = 0;
    double finite_units = p->units == CPN_UNLIMITED ? 0.0 : (double)job->units;
    bool west =
        c->hub >= 0 && (size_t)c->hub < net->nhubs && net->hubs[c->hub].region == CPN_REGION_WEST;

    for (uint32_t k = 0; k < nruns; k++) {
        for (int32_t j = 0; j < runs[k].len; j++) {
            bool last = k + 1 == nruns && j + 1 == runs[k].len;
            double w = last ? last_w : 1.0;
            int64_t t = s->cfg.t0 + (int64_t)(runs[k].start + j) * s->slot_s;
            double e = power * slot_h * w;
            double ci = cpn_signals_effective_ci(s->actual, net, c->zone, t, false);
            double price = cpn_signals_value(s->actual, net, c->zone, CPN_SIG_PRICE, t, false);
            double green = cpn_signals_value(s->actual, net, c->zone, CPN_SIG_GREEN, t, false);
            a->energy_kwh += e;
            a->carbon_kg += e * ci / 1000.0;
            a->elec_cny += e * price;
            a->green_kwh += e * green;
            if (west)
                a->west_kwh += e;
            run_s += w * (double)s->slot_s;
            if (hourly)
                hourly_add(s, hourly, p->cluster, t, w * (double)s->slot_s, finite_units, power,
                           ci);
        }
    }
    a->run_s += run_s;
    a->rental_ucny += (double)job->units * (double)p->price_ucny_per_unit_h * run_s / 3600.0;
    if (job->data_gb > 0)
        a->transfer_ucny += job->data_gb * (double)net->transfer_ucny_per_gb;
}

int64_t sim_acct_cost_ucny(const struct sim_acct *a)
{
    return llround(a->rental_ucny + a->transfer_ucny + a->elec_cny * (double)CPN_UCNY_PER_CNY);
}

/* The runs of job i's final placement: its stored runs, or one contiguous run in one. */
static const struct cpn_slot_run *
final_runs(const struct cpn_sim *s, uint32_t i, struct cpn_slot_run *one, uint32_t *n)
{
    const struct sim_rec *r = &s->rec[i];
    if (s->js->v[i].interruptible && r->nruns) {
        *n = r->nruns;
        return s->runs + r->aux;
    }
    one->start = (int32_t)cpn_floordiv(r->start_s - s->cfg.t0, s->slot_s);
    one->len = r->nslots;
    *n = 1;
    return one;
}

/* Fraction of the last slot that the final placement of job i uses. */
static double final_last_w(const struct cpn_sim *s, uint32_t i)
{
    const struct sim_rec *r = &s->rec[i];
    struct cpn_job tmp;
    const struct cpn_job *view = sim_job_view(s, i, &tmp);
    double dur = cpn_job_duration_on(view, &s->net->pools[r->pool]);
    double w = dur / (double)s->slot_s - (double)(r->nslots - 1);
    return w > 1.0 ? 1.0 : (w <= 0 ? 1.0 : w);
}

void sim_account_job(const struct cpn_sim *s,
                     uint32_t i,
                     struct sim_acct *a,
                     struct sim_hourly *hourly)
{
    const struct sim_rec *r = &s->rec[i];
    const struct cpn_job *j = &s->js->v[i];
    memset(a, 0, sizeof *a);
    for (uint32_t g = r->seg; g != SIM_NONE; g = s->segs[g].prev) {
        const struct sim_seg *sg = &s->segs[g];
        sim_account_piece(s, j, sg->pool, s->runs + sg->run_off, sg->nruns, 1.0, a, hourly);
    }
    if (r->pool >= 0) {
        struct cpn_slot_run one;
        uint32_t n;
        const struct cpn_slot_run *runs = final_runs(s, i, &one, &n);
        sim_account_piece(s, j, r->pool, runs, n, final_last_w(s, i), a, hourly);
    }
}

/* Start of the first slot that job i ever ran in (its oldest cut piece, or the placement). */
static int64_t first_start(const struct cpn_sim *s, uint32_t i)
{
    const struct sim_rec *r = &s->rec[i];
    uint32_t g = r->seg, oldest = SIM_NONE;
    for (; g != SIM_NONE; g = s->segs[g].prev)
        if (s->segs[g].nruns)
            oldest = g;
    if (oldest != SIM_NONE)
        return s->cfg.t0 + (int64_t)s->runs[s->segs[oldest].run_off].start * s->slot_s;
    return r->start_s;
}

void cpn_sim_job(const struct cpn_sim *s, size_t i, struct cpn_sim_job *out)
{
    const struct sim_rec *r = &s->rec[i];
    const struct cpn_job *j = &s->js->v[i];
    memset(out, 0, sizeof *out);
    out->status = (enum cpn_sim_status)r->status;
    out->cluster = -1;
    out->pool = r->pool;
    out->restarts = r->restarts;
    out->energy_kwh = r->energy_kwh;
    out->carbon_kg = r->carbon_kg;
    out->cost_cny = (double)r->cost_ucny / (double)CPN_UCNY_PER_CNY;
    out->wait_h = NAN;
    out->latency_ms = NAN;
    out->reason = "";
    if (r->pool >= 0) {
        int64_t rel = j->submit_s > j->earliest_s ? j->submit_s : j->earliest_s;
        out->cluster = s->net->pools[r->pool].cluster;
        out->start_s = r->start_s;
        out->end_s = r->end_s;
        out->nslots = r->nslots;
        out->wait_h = (double)(first_start(s, (uint32_t)i) - rel) / 3600.0;
        out->latency_ms = cpn_network_rtt(s->net, j->site, out->cluster);
    } else if (r->status == CPN_SIM_REJECTED && r->aux != SIM_NONE && s->reasons.data) {
        out->reason = s->reasons.data + r->aux;
    }
}

/* ---- CSV output
 * ----------------------------------------------------------------------------------- */

static void csv_field(FILE *f, const char *v)
{
    if (!strpbrk(v, ",\"\r\n")) {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (; *v; v++) {
        if (*v == '"')
            fputc('"', f);
        fputc(*v, f);
    }
    fputc('"', f);
}

static void csv_double(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.17g", v);
}

int cpn_sim_write_jobs(const struct cpn_sim *s, FILE *f, const char *policy, bool header)
{
    char a[CPN_TIME_STRLEN], b[CPN_TIME_STRLEN];
    if (header)
        fprintf(f,
                "%sid,status,cluster,pool,start,end,slots,energy_kwh,carbon_kg,cost_cny,wait_h,"
                "latency_ms,reason\n",
                policy ? "policy," : "");
    for (size_t i = 0; i < s->js->n; i++) {
        const struct cpn_job *j = &s->js->v[i];
        struct cpn_sim_job res;
        if (!cpn_sim_selected(j, &s->cfg.window))
            continue;
        cpn_sim_job(s, i, &res);
        if (policy) {
            csv_field(f, policy);
            fputc(',', f);
        }
        csv_field(f, j->id);
        fprintf(f, ",%s,", cpn_sim_status_name(res.status));
        if (res.pool >= 0) {
            const struct cpn_pool *p = &s->net->pools[res.pool];
            cpn_time_format(res.start_s, a);
            cpn_time_format(res.end_s, b);
            fprintf(f, "%s,%s,%s,%s,", s->net->clusters[p->cluster].id, p->id, a, b);
            if (j->interruptible) {
                struct cpn_slot_run one;
                uint32_t n;
                const struct cpn_slot_run *runs = final_runs(s, (uint32_t)i, &one, &n);
                for (uint32_t k = 0; k < n; k++) {
                    cpn_time_format(s->cfg.t0 + (int64_t)runs[k].start * s->slot_s, a);
                    fprintf(f, "%s%s/%d", k ? ";" : "", a, runs[k].len);
                }
                fputc(',', f);
            } else {
                fprintf(f, "%d,", res.nslots);
            }
        } else {
            fputs(",,,,,", f);
        }
        csv_double(f, res.energy_kwh);
        fputc(',', f);
        csv_double(f, res.carbon_kg);
        fputc(',', f);
        csv_double(f, res.cost_cny);
        fputc(',', f);
        csv_double(f, res.wait_h);
        fputc(',', f);
        csv_double(f, res.latency_ms);
        fputc(',', f);
        csv_field(f, res.reason);
        fputc('\n', f);
    }
    return ferror(f) ? -EIO : 0;
}

int cpn_sim_write_clusters(const struct cpn_sim *s, FILE *f, const char *policy, bool header)
{
    const struct cpn_network *net = s->net;
    struct sim_hourly h;
    int64_t end = s->end_s;
    size_t cells;
    char ts[CPN_TIME_STRLEN];
    int rc = 0;

    h.t0 = cpn_floordiv(s->cfg.t0, 3600) * 3600;
    h.nhours = (size_t)((end - h.t0 + 3599) / 3600);
    cells = net->nclusters * h.nhours;
    h.busy = cpn_calloc(cells ? cells : 1, sizeof *h.busy);
    h.energy = cpn_calloc(cells ? cells : 1, sizeof *h.energy);
    h.carbon = cpn_calloc(cells ? cells : 1, sizeof *h.carbon);
    if (!h.busy || !h.energy || !h.carbon) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < s->js->n; i++) {
        struct sim_acct a;
        if (cpn_sim_selected(&s->js->v[i], &s->cfg.window))
            sim_account_job(s, (uint32_t)i, &a, &h);
    }
    if (header)
        fprintf(f, "policy,cluster,hour,utilisation,power_kw,carbon_kg\n");
    for (size_t c = 0; c < net->nclusters; c++) {
        const struct cpn_cluster *cl = &net->clusters[c];
        double units = 0;
        for (int32_t p = cl->pool_first; p < cl->pool_first + cl->pool_count; p++)
            if (net->pools[p].units != CPN_UNLIMITED)
                units += (double)net->pools[p].units;
        for (size_t k = 0; k < h.nhours; k++) {
            size_t at = c * h.nhours + k;
            cpn_time_format(h.t0 + (int64_t)k * 3600, ts);
            csv_field(f, policy ? policy : "");
            fputc(',', f);
            csv_field(f, cl->id);
            fprintf(f, ",%s,%.17g,%.17g,%.17g\n", ts,
                    units > 0 ? h.busy[at] / (units * 3600.0) : 0.0, h.energy[at], h.carbon[at]);
        }
    }
    rc = ferror(f) ? -EIO : 0;
out:
    cpn_free(h.busy);
    cpn_free(h.energy);
    cpn_free(h.carbon);
    return rc;
}

/* ---- the schedule handed to the checker
 * ----------------------------------------------------------- */

int cpn_sim_schedule(const struct cpn_sim *s, struct cpn_sim_schedule *out)
{
    size_t np = 0, nr = 0, kp = 0, kr = 0;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < s->js->n; i++) {
        const struct sim_rec *r = &s->rec[i];
        for (uint32_t g = r->seg; g != SIM_NONE; g = s->segs[g].prev) {
            np++;
            nr += s->segs[g].nruns;
        }
        if (r->pool >= 0) {
            np++;
            nr += s->js->v[i].interruptible && r->nruns ? r->nruns : 1;
        }
    }
    out->pieces = cpn_reallocarray(NULL, np ? np : 1, sizeof *out->pieces);
    out->runs = cpn_reallocarray(NULL, nr ? nr : 1, sizeof *out->runs);
    if (!out->pieces || !out->runs) {
        cpn_sim_schedule_free(out);
        return -ENOMEM;
    }
    for (size_t i = 0; i < s->js->n; i++) {
        const struct sim_rec *r = &s->rec[i];
        int64_t newest_cut = 0;
        for (uint32_t g = r->seg; g != SIM_NONE; g = s->segs[g].prev) {
            const struct sim_seg *sg = &s->segs[g];
            struct cpn_sim_piece *pc = &out->pieces[kp++];
            pc->job = (uint32_t)i;
            pc->pool = sg->pool;
            pc->run_off = (uint32_t)kr;
            pc->nruns = sg->nruns;
            pc->not_before_s = sg->prev != SIM_NONE ? s->segs[sg->prev].cut_s : 0;
            pc->work = sg->work;
            pc->kind = sg->wasted ? CPN_PIECE_WASTED : CPN_PIECE_KEPT;
            memcpy(out->runs + kr, s->runs + sg->run_off, sg->nruns * sizeof *out->runs);
            kr += sg->nruns;
            if (g == r->seg)
                newest_cut = sg->cut_s;
        }
        if (r->pool >= 0) {
            struct cpn_slot_run one;
            uint32_t n;
            const struct cpn_slot_run *runs = final_runs(s, (uint32_t)i, &one, &n);
            struct cpn_sim_piece *pc = &out->pieces[kp++];
            pc->job = (uint32_t)i;
            pc->pool = r->pool;
            pc->run_off = (uint32_t)kr;
            pc->nruns = n;
            pc->not_before_s = newest_cut;
            pc->work = 1.0;
            for (uint32_t g = r->seg; g != SIM_NONE; g = s->segs[g].prev)
                pc->work -= s->segs[g].work;
            pc->kind = CPN_PIECE_FINAL;
            memcpy(out->runs + kr, runs, n * sizeof *runs);
            kr += n;
        }
    }
    out->npieces = kp;
    out->nruns = kr;
    return 0;
}

void cpn_sim_schedule_free(struct cpn_sim_schedule *sch)
{
    cpn_free(sch->pieces);
    cpn_free(sch->runs);
    sch->pieces = NULL;
    sch->runs = NULL;
    sch->npieces = sch->nruns = 0;
}
