/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the simulator (suite "sim"): tiny networks, signals and jobs written as files under
 * build/ and read back through the loaders, then run under each policy. They check the placements
 * the policies should make, capacity under contention, interruptible jobs, outages (re-placement,
 * restarts, resumed runs), accounting with actual signals after decisions on a wrong forecast,
 * determinism, re-planning, that the independent checker catches a corrupted placement for each
 * hard constraint, and the golden scenario's per-policy figures (tests/sim/golden). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cpnet/sim.h"
#include "harness.h"

#define T0   1704067200LL /* 2024-01-01T00:00:00Z */
#define HOUR 3600LL

static char g_dir[256];

/* ---- scenario files
 * ------------------------------------------------------------------------------ */

static const char *path_in(const char *name)
{
    static char p[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", g_dir, name);
    return p[k];
}

static void write_text(const char *name, const char *text)
{
    FILE *f = fopen(path_in(name), "w");
    CHECK_MSG(f != NULL, "cannot write %s", path_in(name));
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
}

/* Hourly "time,value" series from T0 for hours 0..n-1, value v(h) given by a table of 24. */
static void write_series(const char *name, const double day[24], int hours)
{
    char *buf = malloc((size_t)hours * 40 + 64);
    size_t len = 0;
    len += (size_t)snprintf(buf + len, 64, "time,value\n");
    for (int h = 0; h < hours; h++)
        len += (size_t)snprintf(buf + len, 40, "%lld,%.17g\n", (long long)(T0 + h * HOUR),
                                day[h % 24]);
    write_text(name, buf);
    free(buf);
}

static void mkdir_in(const char *name)
{
    mkdir(path_in(name), 0755);
}

/* The test network: ce (east, near the site, dirty and dear) and cw (west, far, cleaner and
 * cheaper), 4-unit H800 pools, a CPU pool on ce and a 1-unit pool on cw. extra goes into ce's
 * object (e.g. a power cap), outages at the top level. */
static void write_network(const char *name, const char *extra, const char *outages)
{
    char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"name\": \"simtest\", \"slot_minutes\": 60,\n"
             " \"hubs\": [{\"id\": \"east\", \"region\": \"east\"}, {\"id\": \"west\", "
             "\"region\": \"west\"}],\n"
             " \"zones\": [{\"id\": \"ze\", \"grid_gco2_per_kwh\": 600, \"green_share\": 0, "
             "\"price_cny_per_kwh\": 0.8, \"utc_offset\": \"+00:00\"},\n"
             "   {\"id\": \"zw\", \"grid_gco2_per_kwh\": 500, \"green_share\": 0.2, "
             "\"price_cny_per_kwh\": 0.4, \"utc_offset\": \"+00:00\"}],\n"
             " \"clusters\": [\n"
             "  {\"id\": \"ce\", \"hub\": \"east\", \"zone\": \"ze\", \"lon\": 121.5, \"lat\": "
             "31.2, \"pue\": 1.0%s,\n"
             "   \"pools\": [{\"id\": \"gpu\", \"class\": \"intelligent\", \"device\": \"H800\", "
             "\"units\": 4, \"tflops\": 100, \"watts_idle\": 100, \"watts_busy\": 1000, "
             "\"price_cny_per_unit_hour\": 10},\n"
             "     {\"id\": \"cpu\", \"class\": \"general\", \"units\": 64, \"tflops\": 2, "
             "\"watts_idle\": 5, \"watts_busy\": 10, \"price_cny_per_unit_hour\": 0.1}]},\n"
             "  {\"id\": \"cw\", \"hub\": \"west\", \"zone\": \"zw\", \"lon\": 106.6, \"lat\": "
             "26.6, \"pue\": 1.0,\n"
             "   \"pools\": [{\"id\": \"gpu\", \"class\": \"intelligent\", \"device\": \"H800\", "
             "\"units\": 4, \"tflops\": 100, \"watts_idle\": 100, \"watts_busy\": 1000, "
             "\"price_cny_per_unit_hour\": 10},\n"
             "     {\"id\": \"small\", \"class\": \"intelligent\", \"device\": \"H800\", "
             "\"units\": 1, \"tflops\": 100, \"watts_idle\": 100, \"watts_busy\": 1000, "
             "\"price_cny_per_unit_hour\": 10}]}],\n"
             " \"sites\": [{\"id\": \"sh\", \"lon\": 121.47, \"lat\": 31.23}]%s}\n",
             extra ? extra : "", outages ? outages : "");
    write_text(name, buf);
}

/* zw: carbon intensity 500, except 100 from 10:00 to 15:00 every day. */
static const double zw_day[24] = { 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 100, 100,
                                   100, 100, 100, 500, 500, 500, 500, 500, 500, 500, 500, 500 };

struct scen {
    struct cpn_network *net;
    struct cpn_signals *sig;
    struct cpn_jobset *js;
    int64_t t0;
    int32_t nslots;
    struct cpn_sim_window win;
};

static bool
scen_load(struct scen *s, const char *net, const char *sigdir, const char *fcdir, const char *jobs)
{
    struct cpn_error err = { 0, "" };
    memset(s, 0, sizeof *s);
    s->win = (struct cpn_sim_window){ INT64_MIN, INT64_MAX, 0 };
    if (cpn_network_load(path_in(net), &s->net, &err)) {
        t_fail(__FILE__, __LINE__, "network: %s", err.msg);
        return false;
    }
    CHECK(cpn_signals_create(s->net, &s->sig) == 0);
    if (sigdir && cpn_signals_load_dir(s->sig, s->net, path_in(sigdir), false, &err)) {
        t_fail(__FILE__, __LINE__, "signals: %s", err.msg);
        return false;
    }
    if (fcdir && cpn_signals_load_dir(s->sig, s->net, path_in(fcdir), true, &err)) {
        t_fail(__FILE__, __LINE__, "forecast: %s", err.msg);
        return false;
    }
    if (cpn_jobs_load(path_in(jobs), s->net, &s->js, &err)) {
        t_fail(__FILE__, __LINE__, "jobs: %s", err.msg);
        return false;
    }
    if (cpn_sim_horizon(s->net, s->js, &s->win, &s->t0, &s->nslots, &err)) {
        t_fail(__FILE__, __LINE__, "horizon: %s", err.msg);
        return false;
    }
    return true;
}

static void scen_free(struct scen *s)
{
    cpn_jobset_destroy(s->js);
    cpn_signals_destroy(s->sig);
    cpn_network_destroy(s->net);
}

static struct cpn_sim *
run_opts(struct scen *s, const char *policy, int64_t replan_s, double err_pct)
{
    struct cpn_sim_config cfg;
    struct cpn_sim *sim = NULL;
    struct cpn_error err = { 0, "" };
    memset(&cfg, 0, sizeof cfg);
    cfg.net = s->net;
    cfg.signals = s->sig;
    cfg.jobs = s->js;
    cfg.window = s->win;
    cfg.t0 = s->t0;
    cfg.nslots = s->nslots;
    cfg.replan_every_s = replan_s;
    cfg.revise_error_pct = err_pct;
    cfg.seed = 7;
    cfg.keep_reasons = true;
    CHECK(cpn_policy_lookup(policy, &cfg.policy) == 0);
    if (cpn_sim_run(&cfg, &sim, &err)) {
        t_fail(__FILE__, __LINE__, "sim %s: %s", policy, err.msg);
        return NULL;
    }
    return sim;
}

static struct cpn_sim *run(struct scen *s, const char *policy)
{
    return run_opts(s, policy, 0, 0);
}

static size_t job_index(const struct scen *s, const char *id)
{
    for (size_t i = 0; i < s->js->n; i++)
        if (!strcmp(s->js->v[i].id, id))
            return i;
    t_fail(__FILE__, __LINE__, "no job %s", id);
    return 0;
}

static const char *cluster_of(const struct scen *s, const struct cpn_sim_job *r)
{
    return r->cluster >= 0 ? s->net->clusters[r->cluster].id : "-";
}

#define JOBS_HDR "id,origin,class,units,duration,earliest,deadline,interruptible,submit\n"

/* ---- tests
 * --------------------------------------------------------------------------------------- */

static void test_nearest_and_green(void)
{
    struct scen s;
    struct cpn_sim *near, *green;
    struct cpn_sim_job a, b;
    write_network("net.json", NULL, NULL);
    mkdir_in("sig");
    write_series("sig/zw.ci.csv", zw_day, 96);
    write_text("jobs1.csv", JOBS_HDR "j1,sh,intelligent,1,2h,2024-01-01T00:00:00Z,"
                                     "2024-01-02T00:00:00Z,false,\n");
    if (!scen_load(&s, "net.json", "sig", NULL, "jobs1.csv"))
        return;
    near = run(&s, "nearest");
    green = run(&s, "green");
    if (near && green) {
        cpn_sim_job(near, 0, &a);
        cpn_sim_job(green, 0, &b);
        CHECK_STR(cluster_of(&s, &a), "ce"); /* lowest latency, at once */
        CHECK_INT(a.start_s, T0);
        CHECK_NEAR(a.wait_h, 0, 0);
        CHECK(a.latency_ms < 5);
        CHECK_NEAR(a.energy_kwh, 2.0, 1e-12);
        CHECK_NEAR(a.carbon_kg, 1.2, 1e-12); /* 2 kWh x 600 g */
        CHECK_NEAR(a.cost_cny, 21.6, 1e-9);  /* 2 h x 10 CNY + 2 kWh x 0.8 */
        CHECK_STR(cluster_of(&s, &b), "cw"); /* the clean window of the west */
        CHECK_INT(b.start_s, T0 + 10 * HOUR);
        CHECK_NEAR(b.wait_h, 10, 1e-12);
        CHECK_NEAR(b.carbon_kg, 0.16, 1e-12); /* 2 kWh x 0.8 x 100 g */
        CHECK(b.carbon_kg < a.carbon_kg);
        CHECK_NEAR(cpn_sim_summary(green)->west_share, 1.0, 1e-12);
        CHECK_NEAR(cpn_sim_summary(green)->green_share, 0.2, 1e-12);
        CHECK_NEAR(cpn_sim_summary(near)->west_share, 0.0, 1e-12);
        CHECK_INT(cpn_sim_summary(near)->violations, 0);
        CHECK_INT(cpn_sim_summary(green)->violations, 0);
        CHECK_INT(cpn_sim_summary(green)->decisions, 1);
    }
    cpn_sim_destroy(near);
    cpn_sim_destroy(green);
    scen_free(&s);
}

static void test_capacity_contention(void)
{
    static const char *const pols[] = { "nearest", "green", "cheapest", "greenest-now" };
    char jobs[4096];
    size_t len = 0;
    struct scen s;
    write_network("net.json", NULL, NULL);
    mkdir_in("sig");
    write_series("sig/zw.ci.csv", zw_day, 96);
    len += (size_t)snprintf(jobs + len, sizeof jobs - len, "%s", JOBS_HDR);
    for (int k = 0; k < 12; k++)
        len += (size_t)snprintf(jobs + len, sizeof jobs - len,
                                "c%02d,sh,intelligent,2,3h,2024-01-01T00:00:00Z,,%s,\n", k,
                                k % 3 ? "false" : "true");
    write_text("jobs2.csv", jobs);
    if (!scen_load(&s, "net.json", "sig", NULL, "jobs2.csv"))
        return;
    for (size_t p = 0; p < sizeof pols / sizeof pols[0]; p++) {
        struct cpn_sim *sim = run(&s, pols[p]);
        struct cpn_sim_schedule sch;
        int64_t *use;
        if (!sim)
            continue;
        CHECK_INT(cpn_sim_summary(sim)->violations, 0);
        CHECK_NEAR(cpn_sim_summary(sim)->placed, 12, 0);
        /* direct check: units per pool and slot from the schedule */
        CHECK(cpn_sim_schedule(sim, &sch) == 0);
        use = calloc(s.net->npools * (size_t)s.nslots, sizeof *use);
        for (size_t i = 0; i < sch.npieces; i++) {
            const struct cpn_sim_piece *pc = &sch.pieces[i];
            for (uint32_t r = 0; r < pc->nruns; r++) {
                const struct cpn_slot_run *run_ = &sch.runs[pc->run_off + r];
                for (int32_t t = run_->start; t < run_->start + run_->len; t++)
                    use[(size_t)pc->pool * (size_t)s.nslots + (size_t)t] += s.js->v[pc->job].units;
            }
        }
        for (size_t q = 0; q < s.net->npools; q++)
            for (int32_t t = 0; t < s.nslots; t++)
                CHECK_MSG(use[q * (size_t)s.nslots + (size_t)t] <= s.net->pools[q].units,
                          "%s: pool %zu slot %d holds %lld units", pols[p], q, t,
                          (long long)use[q * (size_t)s.nslots + (size_t)t]);
        free(use);
        cpn_sim_schedule_free(&sch);
        cpn_sim_destroy(sim);
    }
    scen_free(&s);
}

static void test_interruptible_cheapest_slots(void)
{
    double day[24];
    struct scen s;
    struct cpn_sim *sim;
    for (int h = 0; h < 24; h++)
        day[h] = (h == 2 || h == 5 || h == 9) ? 50 : 500;
    write_network("net.json", NULL, NULL);
    mkdir_in("sig3");
    write_series("sig3/zw.ci.csv", day, 96);
    write_text("jobs3.csv", JOBS_HDR "i1,sh,intelligent,1,3h,2024-01-01T00:00:00Z,"
                                     "2024-01-01T12:00:00Z,true,\n");
    if (!scen_load(&s, "net.json", "sig3", NULL, "jobs3.csv"))
        return;
    sim = run(&s, "green");
    if (sim) {
        struct cpn_sim_schedule sch;
        struct cpn_sim_job r;
        cpn_sim_job(sim, 0, &r);
        CHECK_STR(cluster_of(&s, &r), "cw");
        CHECK(cpn_sim_schedule(sim, &sch) == 0);
        CHECK_INT(sch.npieces, 1);
        CHECK_INT(sch.nruns, 3);
        if (sch.nruns == 3) {
            CHECK_INT(sch.runs[0].start, 2);
            CHECK_INT(sch.runs[1].start, 5);
            CHECK_INT(sch.runs[2].start, 9);
            CHECK_INT(sch.runs[2].len, 1);
        }
        CHECK_NEAR(r.carbon_kg, 3 * 0.8 * 50 / 1000.0, 1e-12);
        CHECK_INT(cpn_sim_summary(sim)->violations, 0);
        cpn_sim_schedule_free(&sch);
    }
    cpn_sim_destroy(sim);
    scen_free(&s);
}

static void test_outage(void)
{
    struct scen s;
    struct cpn_sim *sim;
    write_network("net4.json", NULL,
                  ",\n \"outages\": [{\"cluster\": \"ce\", \"start\": \"2024-01-01T01:00:00Z\", "
                  "\"end\": \"2024-01-01T05:00:00Z\"}]");
    write_text("jobs4.csv",
               JOBS_HDR "a,sh,intelligent,1,3h,2024-01-01T00:00:00Z,,false,\n"
                        "b,sh,intelligent,1,2h,2024-01-01T02:00:00Z,,false,2024-01-01T00:00:00Z\n"
                        "c,sh,intelligent,1,3h,2024-01-01T00:00:00Z,,true,\n"
                        "d,sh,intelligent,1,1h,2024-01-01T06:00:00Z,,false,\n"
                        "e,sh,intelligent,1,1h,2024-01-01T03:00:00Z,,false,\n");
    if (!scen_load(&s, "net4.json", NULL, NULL, "jobs4.csv"))
        return;
    sim = run(&s, "nearest");
    if (sim) {
        struct cpn_sim_job a, b, c, d, e;
        const struct cpn_sim_summary *sum = cpn_sim_summary(sim);
        cpn_sim_job(sim, job_index(&s, "a"), &a);
        cpn_sim_job(sim, job_index(&s, "b"), &b);
        cpn_sim_job(sim, job_index(&s, "c"), &c);
        cpn_sim_job(sim, job_index(&s, "d"), &d);
        cpn_sim_job(sim, job_index(&s, "e"), &e);
        /* a ran 1 h on ce, restarted from scratch on cw at the outage */
        CHECK_INT(a.status, CPN_SIM_RESTARTED);
        CHECK_INT(a.restarts, 1);
        CHECK_STR(cluster_of(&s, &a), "cw");
        CHECK_INT(a.start_s, T0 + HOUR);
        CHECK_NEAR(a.energy_kwh, 4.0, 1e-12);          /* 1 h wasted + 3 h */
        CHECK_NEAR(a.carbon_kg, 0.6 + 3 * 0.4, 1e-12); /* 600 g on ce, 400 g on cw */
        CHECK_NEAR(a.wait_h, 0, 0);                    /* it first started at once */
        /* b was planned on ce for 02:00 and moves to cw */
        CHECK_INT(b.status, CPN_SIM_PLACED);
        CHECK_STR(cluster_of(&s, &b), "cw");
        CHECK_INT(b.start_s, T0 + 2 * HOUR);
        /* c keeps its first hour and runs the remaining 2 h on cw */
        CHECK_INT(c.status, CPN_SIM_RESUMED);
        CHECK_STR(cluster_of(&s, &c), "cw");
        CHECK_INT(c.nslots, 2);
        CHECK_NEAR(c.energy_kwh, 3.0, 1e-12);
        CHECK_NEAR(c.carbon_kg, 0.6 + 2 * 0.4, 1e-12);
        /* e arrives during the outage and goes west; d arrives after it and goes east again */
        CHECK_STR(cluster_of(&s, &e), "cw");
        CHECK_STR(cluster_of(&s, &d), "ce");
        CHECK_INT(sum->restarts, 1);
        CHECK_INT(sum->violations, 0);
        CHECK_NEAR(sum->placed, 5, 0);
    }
    cpn_sim_destroy(sim);
    scen_free(&s);
}

static void test_forecast_vs_actual(void)
{
    double fc[24];
    struct scen s;
    struct cpn_sim *sim;
    for (int h = 0; h < 24; h++)
        fc[h] = (h == 3 || h == 4) ? 50 : zw_day[h];
    write_network("net.json", NULL, NULL);
    mkdir_in("sig");
    mkdir_in("fc5");
    write_series("sig/zw.ci.csv", zw_day, 96);
    write_series("fc5/zw.ci.csv", fc, 96);
    write_text("jobs1.csv", JOBS_HDR "j1,sh,intelligent,1,2h,2024-01-01T00:00:00Z,"
                                     "2024-01-02T00:00:00Z,false,\n");
    if (!scen_load(&s, "net.json", "sig", "fc5", "jobs1.csv"))
        return;
    sim = run(&s, "green");
    if (sim) {
        struct cpn_sim_job r;
        cpn_sim_job(sim, 0, &r);
        CHECK_STR(cluster_of(&s, &r), "cw");
        CHECK_INT(r.start_s, T0 + 3 * HOUR);                    /* chosen by the (wrong) forecast */
        CHECK_NEAR(r.carbon_kg, 2 * 0.8 * 500 / 1000.0, 1e-12); /* charged by the actual */
        CHECK_NEAR(cpn_sim_summary(sim)->carbon_kg, 0.8, 1e-12);
    }
    cpn_sim_destroy(sim);
    scen_free(&s);
}

static void test_rejection(void)
{
    struct scen s;
    struct cpn_sim *sim;
    write_network("net.json", NULL, NULL);
    write_text("jobs6.csv", "id,origin,class,units,duration,earliest,max_rtt_ms\n"
                            "ok,sh,intelligent,1,1h,2024-01-01T00:00:00Z,\n"
                            "late,sh,intelligent,1,3h,2024-01-01T00:00:00Z,0.1\n"
                            "big,sh,intelligent,8,1h,2024-01-01T00:00:00Z,\n");
    if (!scen_load(&s, "net.json", NULL, NULL, "jobs6.csv"))
        return;
    sim = run(&s, "green");
    if (sim) {
        struct cpn_sim_job r;
        cpn_sim_job(sim, job_index(&s, "late"), &r);
        CHECK_INT(r.status, CPN_SIM_REJECTED);
        CHECK(r.reason[0] != '\0');
        CHECK(isnan(r.wait_h));
        cpn_sim_job(sim, job_index(&s, "big"), &r);
        CHECK_INT(r.status, CPN_SIM_REJECTED);
        CHECK_NEAR(cpn_sim_summary(sim)->placed, 1, 0);
        CHECK_NEAR(cpn_sim_summary(sim)->rejected, 2, 0);
        CHECK_INT(cpn_sim_summary(sim)->violations, 0);
    }
    cpn_sim_destroy(sim);
    scen_free(&s);
}

/* 300 random jobs over two days. */
static void write_random_jobs(const char *name, uint64_t seed)
{
    struct cpn_rng rng;
    char *buf = malloc(300 * 160 + 128);
    size_t len = 0;
    cpn_rng_seed(&rng, seed);
    len += (size_t)snprintf(buf + len, 128, "%s", JOBS_HDR);
    for (int k = 0; k < 300; k++) {
        int64_t at =
            T0 + (int64_t)cpn_rng_below(&rng, 48) * HOUR + (int64_t)cpn_rng_below(&rng, 4) * 900;
        int dur = 1 + (int)cpn_rng_below(&rng, 6);
        char e[CPN_TIME_STRLEN], d[CPN_TIME_STRLEN];
        cpn_time_format(at, e);
        cpn_time_format(at + (int64_t)(dur + 2 + (int)cpn_rng_below(&rng, 20)) * HOUR, d);
        len += (size_t)snprintf(buf + len, 160, "r%03d,sh,intelligent,%d,%dh,%s,%s,%s,\n", k,
                                1 + (int)cpn_rng_below(&rng, 3), dur, e,
                                cpn_rng_below(&rng, 4) ? d : "",
                                cpn_rng_below(&rng, 3) ? "false" : "true");
    }
    write_text(name, buf);
    free(buf);
}

static char *jobs_csv(struct cpn_sim *sim)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    CHECK(cpn_sim_write_jobs(sim, f, NULL, true) == 0);
    fclose(f);
    return text;
}

static void test_determinism_and_replan(void)
{
    struct scen s;
    write_network("net.json", NULL,
                  ",\n \"outages\": [{\"cluster\": \"cw\", \"start\": \"2024-01-01T20:00:00Z\", "
                  "\"end\": \"2024-01-02T03:00:00Z\"}]");
    mkdir_in("sig");
    write_series("sig/zw.ci.csv", zw_day, 120);
    write_random_jobs("jobs7.csv", 42);
    if (!scen_load(&s, "net.json", "sig", NULL, "jobs7.csv"))
        return;
    for (int variant = 0; variant < 2; variant++) {
        int64_t every = variant ? 2 * HOUR : 0;
        double pct = variant ? 20 : 0;
        struct cpn_sim *a = run_opts(&s, "green", every, pct);
        struct cpn_sim *b = run_opts(&s, "green", every, pct);
        if (a && b) {
            char *ta = jobs_csv(a), *tb = jobs_csv(b);
            CHECK(ta && tb && strcmp(ta, tb) == 0);
            CHECK_INT(cpn_sim_summary(a)->violations, 0);
            CHECK(cpn_sim_summary(a)->placed > 100);
            if (variant) {
                CHECK(cpn_sim_summary(a)->decisions > 300);
                CHECK(cpn_sim_summary(a)->replans > 0);
            }
            CHECK(cpn_sim_summary(a)->decision_p99_us >= cpn_sim_summary(a)->decision_p50_us);
            free(ta);
            free(tb);
        }
        cpn_sim_destroy(a);
        cpn_sim_destroy(b);
    }
    {
        struct cpn_sim *n = run(&s, "nearest");
        if (n)
            CHECK_INT(cpn_sim_summary(n)->violations, 0);
        cpn_sim_destroy(n);
    }
    scen_free(&s);
}

/* ---- the checker
 * ------------------------------------------------------------------------------------ */

struct corrupt {
    enum cpn_check check;
    const char *job;     /* the job whose piece is changed */
    const char *to_pool; /* "cluster/pool" or NULL */
    int32_t shift;       /* added to every run start */
    int32_t grow;        /* added to the first run's length */
};

static int32_t pool_index(const struct scen *s, const char *gid)
{
    for (size_t p = 0; p < s->net->npools; p++) {
        char g[2 * CPN_ID_MAX + 2];
        snprintf(g, sizeof g, "%s/%s", s->net->clusters[s->net->pools[p].cluster].id,
                 s->net->pools[p].id);
        if (!strcmp(g, gid))
            return (int32_t)p;
    }
    return -1;
}

static void test_checker_catches_each_constraint(void)
{
    static const struct corrupt cases[] = {
        { CPN_CHECK_CLASS, "plain", "ce/cpu", 0, 0 },
        { CPN_CHECK_SIZE, "pair", "cw/small", 0, 0 },
        { CPN_CHECK_LATENCY, "near", "cw/gpu", 0, 0 },
        { CPN_CHECK_RESIDENCY, "eastonly", "cw/gpu", 0, 0 },
        { CPN_CHECK_RELEASE, "later", NULL, -8, 0 },
        { CPN_CHECK_DEADLINE, "plain", NULL, 30, 0 },
        { CPN_CHECK_CAPACITY, "pair", NULL, 0, 0 },
        { CPN_CHECK_POWER, "capped", NULL, 0, 0 },
        { CPN_CHECK_PRICE, "budget", "ce/gpu", 0, 0 },
        { CPN_CHECK_DOWN, "plain", NULL, 0, 0 },
        { CPN_CHECK_SHAPE, "plain", NULL, 0, 1 },
    };
    struct scen s;
    struct cpn_sim *sim;
    struct cpn_sim_schedule sch;
    char first[256];
    size_t counts[CPN_CHECK_COUNT];
    /* ce: capped at 2.5 kW (two 1-kW jobs fit, three do not); cw down for a day after 48 h */
    write_network("net8.json", ", \"power_cap_kw\": 2.5",
                  ",\n \"outages\": [{\"cluster\": \"cw\", \"start\": \"2024-01-03T00:00:00Z\", "
                  "\"end\": \"2024-01-04T00:00:00Z\"}]");
    mkdir_in("sig");
    write_series("sig/zw.ci.csv", zw_day, 120);
    write_text("jobs8.csv",
               "id,origin,class,units,duration,earliest,deadline,interruptible,max_rtt_ms,"
               "allowed,price_ceiling_cny\n"
               "plain,sh,intelligent,1,2h,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,false,,,\n"
               "pair,sh,intelligent,2,2h,2024-01-01T00:00:00Z,,false,,,\n"
               "pair2,sh,intelligent,2,2h,2024-01-01T00:00:00Z,,false,5,,\n"
               "pair3,sh,intelligent,2,2h,2024-01-01T00:00:00Z,,false,5,,\n"
               "near,sh,intelligent,1,1h,2024-01-01T00:00:00Z,,false,5,,\n"
               "eastonly,sh,intelligent,1,1h,2024-01-01T00:00:00Z,,false,,east,\n"
               "later,sh,intelligent,1,1h,2024-01-01T05:00:00Z,,false,,,\n"
               "capped,sh,intelligent,1,1h,2024-01-01T00:00:00Z,,false,5,,\n"
               "budget,sh,intelligent,1,1h,2024-01-01T00:00:00Z,,false,,,10.5\n");
    if (!scen_load(&s, "net8.json", "sig", NULL, "jobs8.csv"))
        return;
    sim = run(&s, "green");
    if (!sim) {
        scen_free(&s);
        return;
    }
    CHECK(cpn_sim_schedule(sim, &sch) == 0);
    {
        struct cpn_sim_verify_input in = { s.net, s.sig, s.js, s.t0, s.nslots, &sch };
        CHECK_INT(cpn_sim_verify(&in, counts, first, sizeof first), 0);
        CHECK_MSG(first[0] == '\0', "clean schedule flagged: %s", first);
    }
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const struct corrupt *k = &cases[c];
        struct cpn_sim_schedule bad;
        struct cpn_sim_verify_input in;
        size_t victim = job_index(&s, k->job), total;
        bad.npieces = sch.npieces;
        bad.nruns = sch.nruns;
        bad.pieces = malloc(sch.npieces * sizeof *bad.pieces);
        bad.runs = malloc(sch.nruns * sizeof *bad.runs);
        memcpy(bad.pieces, sch.pieces, sch.npieces * sizeof *bad.pieces);
        memcpy(bad.runs, sch.runs, sch.nruns * sizeof *bad.runs);
        for (size_t i = 0; i < bad.npieces; i++) {
            struct cpn_sim_piece *pc = &bad.pieces[i];
            struct cpn_slot_run *r = &bad.runs[pc->run_off];
            if (pc->job != victim)
                continue;
            if (k->to_pool)
                pc->pool = pool_index(&s, k->to_pool);
            r->start += k->shift;
            r->len += k->grow;
            if (k->check == CPN_CHECK_CAPACITY || k->check == CPN_CHECK_POWER) {
                /* stack every 2-unit job (or every capped-cluster job) onto the victim's slots */
                for (size_t q = 0; q < bad.npieces; q++) {
                    struct cpn_sim_piece *o = &bad.pieces[q];
                    const struct cpn_job *oj = &s.js->v[o->job];
                    if (q == i || (k->check == CPN_CHECK_CAPACITY && oj->units != 2) ||
                        (k->check == CPN_CHECK_POWER && oj->max_rtt_ms == 0))
                        continue;
                    o->pool = pc->pool;
                    bad.runs[o->run_off].start = r->start;
                }
            }
            if (k->check == CPN_CHECK_DOWN) {
                pc->pool = pool_index(&s, "cw/gpu");
                r->start = 50; /* inside cw's outage, slots 48..71 */
            }
        }
        in = (struct cpn_sim_verify_input){ s.net, s.sig, s.js, s.t0, s.nslots, &bad };
        total = cpn_sim_verify(&in, counts, first, sizeof first);
        CHECK_MSG(counts[k->check] > 0, "corrupted %s not caught (total %zu, first: %s)",
                  cpn_check_name(k->check), total, first);
        free(bad.pieces);
        free(bad.runs);
    }
    cpn_sim_schedule_free(&sch);
    cpn_sim_destroy(sim);
    scen_free(&s);
}

/* ---- the golden scenario
 * ---------------------------------------------------------------------------- */

static void test_golden(void)
{
    static const char *const dir = "tests/sim/golden";
    struct cpn_error err = { 0, "" };
    struct scen s;
    struct cpn_csv *csv = NULL;
    char path[256], **f;
    size_t n;
    int rows = 0;
    memset(&s, 0, sizeof s);
    s.win = (struct cpn_sim_window){ INT64_MIN, INT64_MAX, 0 };
    snprintf(path, sizeof path, "%s/network.json", dir);
    if (cpn_network_load(path, &s.net, &err)) {
        t_fail(__FILE__, __LINE__, "%s", err.msg);
        return;
    }
    snprintf(path, sizeof path, "%s/signals", dir);
    CHECK(cpn_signals_create(s.net, &s.sig) == 0);
    CHECK_MSG(cpn_signals_load_dir(s.sig, s.net, path, false, &err) == 0, "%s", err.msg);
    snprintf(path, sizeof path, "%s/jobs.csv", dir);
    CHECK_MSG(cpn_jobs_load(path, s.net, &s.js, &err) == 0, "%s", err.msg);
    if (!s.js) {
        scen_free(&s);
        return;
    }
    CHECK_MSG(cpn_sim_horizon(s.net, s.js, &s.win, &s.t0, &s.nslots, &err) == 0, "%s", err.msg);
    snprintf(path, sizeof path, "%s/expected.csv", dir);
    CHECK_MSG(cpn_csv_open(path, &csv, &err) == 0, "%s", err.msg);
    if (!csv) {
        cpn_csv_close(csv);
        scen_free(&s);
        return;
    }
    /* policy,placed,rejected,violations,energy_kwh,carbon_kg,cost_cny,mean_wait_h,green_share,
     * west_share,restarts */
    CHECK(cpn_csv_next(csv, &f, &n, &err) == 1);
    while (cpn_csv_next(csv, &f, &n, &err) == 1) {
        struct cpn_sim *sim;
        const struct cpn_sim_summary *sum;
        double want[11];
        if (n != 11) {
            t_fail(__FILE__, __LINE__, "expected.csv line %ld: %zu fields", cpn_csv_line(csv), n);
            break;
        }
        for (size_t k = 1; k < n; k++)
            CHECK(cpn_parse_double(f[k], &want[k]) == 0);
        sim = run(&s, f[0]);
        if (!sim)
            continue;
        sum = cpn_sim_summary(sim);
        CHECK_NEAR(sum->placed, want[1], 0);
        CHECK_NEAR(sum->rejected, want[2], 0);
        CHECK_NEAR((double)sum->violations, want[3], 0);
        CHECK_NEAR(sum->energy_kwh, want[4], 1e-9 * want[4]);
        CHECK_NEAR(sum->carbon_kg, want[5], 1e-9 * want[5]);
        CHECK_NEAR(sum->cost_cny, want[6], 1e-9 * want[6]);
        CHECK_NEAR(sum->mean_wait_h, want[7], 1e-9);
        CHECK_NEAR(sum->green_share, want[8], 1e-9);
        CHECK_NEAR(sum->west_share, want[9], 1e-9);
        CHECK_NEAR((double)sum->restarts, want[10], 0);
        cpn_sim_destroy(sim);
        rows++;
    }
    CHECK(rows >= 4);
    cpn_csv_close(csv);
    scen_free(&s);
}

/* Every allocation of a run fails in turn: the run reports an error (or succeeds when the failure
 * fell on a path with a fallback) and leaks nothing (checked by the sanitizer build). */
static void test_alloc_failures(void)
{
    struct scen s;
    int failed = 0, n;
    write_network("net4.json", NULL,
                  ",\n \"outages\": [{\"cluster\": \"ce\", \"start\": \"2024-01-01T01:00:00Z\", "
                  "\"end\": \"2024-01-01T05:00:00Z\"}]");
    write_text("jobs4.csv", JOBS_HDR "a,sh,intelligent,1,3h,2024-01-01T00:00:00Z,,false,\n"
                                     "c,sh,intelligent,1,3h,2024-01-01T00:00:00Z,,true,\n"
                                     "e,sh,intelligent,1,1h,2024-01-01T03:00:00Z,,false,\n");
    if (!scen_load(&s, "net4.json", NULL, NULL, "jobs4.csv"))
        return;
    for (n = 0; n < 2000; n++) {
        struct cpn_sim_config cfg;
        struct cpn_sim *sim = NULL;
        struct cpn_error err = { 0, "" };
        int rc;
        memset(&cfg, 0, sizeof cfg);
        cfg.net = s.net;
        cfg.signals = s.sig;
        cfg.jobs = s.js;
        cfg.window = s.win;
        cfg.t0 = s.t0;
        cfg.nslots = s.nslots;
        cfg.replan_every_s = 2 * HOUR;
        cfg.revise_error_pct = 10;
        cfg.keep_reasons = true;
        cpn_policy_lookup("green", &cfg.policy);
        cpn_alloc_fail_after(n);
        rc = cpn_sim_run(&cfg, &sim, &err);
        cpn_alloc_fail_after(-1);
        if (rc) {
            failed++;
            CHECK_MSG(sim == NULL, "failed run %d returned a simulation", n);
            CHECK_MSG(err.msg[0] != '\0', "failed run %d (%d) has no message", n, rc);
            continue;
        }
        CHECK_INT(cpn_sim_summary(sim)->violations, 0);
        cpn_sim_destroy(sim);
        if (failed && n > failed + 50)
            break; /* past the last allocation of a run */
    }
    CHECK(failed > 5);
    scen_free(&s);
}

static void test_horizon(void)
{
    struct scen s;
    write_network("net.json", NULL, NULL);
    write_text("jobs9.csv",
               JOBS_HDR "a,sh,intelligent,1,1h,2024-01-01T00:20:00Z,,false,\n"
                        "b,sh,intelligent,1,30h,2024-01-05T00:00:00Z,,false,\n"
                        "c,sh,intelligent,1,1h,2024-01-02T00:00:00Z,2024-01-20T00:00:00Z,"
                        "false,\n");
    if (!scen_load(&s, "net.json", NULL, NULL, "jobs9.csv"))
        return;
    CHECK_INT(s.t0, T0); /* floored to the slot */
    /* the latest deadline (Jan 20) beats the last earliest + 7 days (Jan 12) */
    CHECK_INT(s.t0 + (int64_t)s.nslots * HOUR, T0 + 19 * 24 * HOUR);
    {
        struct cpn_sim_window w = { T0 + 24 * HOUR, INT64_MAX, 2 };
        int64_t t0;
        int32_t ns;
        CHECK(cpn_sim_horizon(s.net, s.js, &w, &t0, &ns, NULL) == 0);
        CHECK_INT(t0, T0 + 24 * HOUR); /* only b and c */
        CHECK_INT(ns, 48);
        w.start_s = T0 + 100 * 24 * HOUR;
        CHECK(cpn_sim_horizon(s.net, s.js, &w, &t0, &ns, NULL) == CPN_EFIELD);
    }
    scen_free(&s);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "%s", t_tmpdir());
    T_RUN(test_nearest_and_green);
    T_RUN(test_capacity_contention);
    T_RUN(test_interruptible_cheapest_slots);
    T_RUN(test_outage);
    T_RUN(test_forecast_vs_actual);
    T_RUN(test_rejection);
    T_RUN(test_determinism_and_replan);
    T_RUN(test_checker_catches_each_constraint);
    T_RUN(test_golden);
    T_RUN(test_horizon);
    T_RUN(test_alloc_failures);
    if (!t_state()->failed) { /* keep the files of a failed run for a look */
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        if (system(cmd) != 0)
            printf("# could not remove %s\n", g_dir);
    }
    return T_DONE("sim");
}
