/* SPDX-License-Identifier: Apache-2.0 */
/* cpnet sim: loads a network, its signals and a demand trace, runs the simulator once per policy
 * (the `optimal` policy is the LP bound of cpn_lp_bound on the actual signals) and prints one row
 * per policy as a table or JSON. Per-job and per-cluster-hour CSVs are streamed to FILE.tmp and
 * renamed only when every policy has run, so a failed run never leaves a partial file. Exit 2 for
 * usage errors, 1 for input errors (with the loader's message). docs/sim.md is the manual. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cpnet/model.h"
#include "cpnet/sched.h"
#include "cpnet/sim.h"

#define MAX_POLICIES     8
#define LP_MAX_JOBS_DFLT 5000
#define POLICY_NAMES     "nearest, cheapest, greenest-now, green, optimal"

struct sim_args {
    const char *network, *signals, *forecast, *jobs, *policy, *compare;
    const char *jobs_out, *clusters_out;
    double forecast_error; /* < 0: none */
    uint64_t seed;
    double replan_h;
    double horizon_days;
    int64_t start_s, end_s;
    double carbon_price; /* < 0: the policy's */
    long lp_max_jobs;
    bool json;
};

struct out_file {
    const char *path;
    char *tmp;
    FILE *f;
};

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: cpnet sim --network FILE --jobs FILE [--policy P] [--compare P1,P2,...]\n"
        "                 [--signals DIR] [--forecast DIR | --forecast-error PCT [--seed N]]\n"
        "                 [--replan-every HOURS] [--horizon-days D] [--start T1] [--end T2]\n"
        "                 [--carbon-price CNY_PER_KG] [--lp-max-jobs N]\n"
        "                 [--json] [--jobs-out FILE] [--clusters-out FILE]\n"
        "\n"
        "Simulates the demand trace on the network under each policy (" POLICY_NAMES ").\n"
        "  --network FILE        network JSON (docs/formats.md#network)\n"
        "  --jobs FILE           jobs CSV or JSON\n"
        "  --policy P            the first policy (default green); the baseline of the table\n"
        "  --compare P1,P2,...   more policies to run after --policy\n"
        "  --signals DIR         actual signals <zone>.<kind>.csv (kind ci, green, price)\n"
        "  --forecast DIR        forecast signals for decisions (same names)\n"
        "  --forecast-error PCT  decide on actual + N(0, (PCT%% of the mean)^2) noise\n"
        "  --seed N              seed of the forecast noise (default 1)\n"
        "  --replan-every HOURS  re-plan jobs not yet started; with --forecast-error the next\n"
        "                        24 h of forecast are redrawn each time, error shrinking with "
        "lead\n"
        "  --horizon-days D      horizon length from the first arrival (default: every job fits)\n"
        "  --start T1, --end T2  only jobs that arrive (submit) in [T1, T2); ISO 8601 or seconds\n"
        "  --carbon-price X      shadow carbon price in CNY/kg for every policy\n"
        "  --lp-max-jobs N       refuse `optimal` above N jobs (default %d)\n"
        "  --json                print a JSON object instead of the table\n"
        "  --jobs-out FILE       per-job CSV (with --compare, a policy column first)\n"
        "  --clusters-out FILE   per-cluster-hour CSV: utilisation, power, carbon\n",
        LP_MAX_JOBS_DFLT);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "cpnet sim: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(cpnet sim --help lists the options)\n");
    return CPN_EXIT_USAGE;
}

static int parse_args(int argc, char **argv, struct sim_args *a)
{
    memset(a, 0, sizeof *a);
    a->forecast_error = -1;
    a->seed = 1;
    a->start_s = INT64_MIN;
    a->end_s = INT64_MAX;
    a->carbon_price = -1;
    a->lp_max_jobs = LP_MAX_JOBS_DFLT;
    a->policy = NULL;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = NULL, *eq;
        char name[32];
        size_t len;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            return -1;
        }
        if (strncmp(arg, "--", 2) != 0)
            return usage_error("unexpected argument '%s'", arg);
        eq = strchr(arg, '=');
        len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (len >= sizeof name)
            return usage_error("unknown option '%s'", arg);
        memcpy(name, arg, len);
        name[len] = '\0';
        if (!strcmp(name, "--json")) {
            if (eq)
                return usage_error("option '%s' takes no value", name);
            a->json = true;
            continue;
        }
        if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            static const char *const known[] = {
                "--network",  "--signals",      "--forecast",     "--forecast-error",
                "--seed",     "--jobs",         "--policy",       "--compare",
                "--jobs-out", "--clusters-out", "--replan-every", "--horizon-days",
                "--start",    "--end",          "--carbon-price", "--lp-max-jobs",
            };
            for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
                if (!strcmp(name, known[k]))
                    return usage_error("option '%s' needs a value", name);
            return usage_error("unknown option '%s'", name);
        }
        if (!strcmp(name, "--network")) {
            a->network = val;
        } else if (!strcmp(name, "--signals")) {
            a->signals = val;
        } else if (!strcmp(name, "--forecast")) {
            a->forecast = val;
        } else if (!strcmp(name, "--jobs")) {
            a->jobs = val;
        } else if (!strcmp(name, "--policy")) {
            a->policy = val;
        } else if (!strcmp(name, "--compare")) {
            a->compare = val;
        } else if (!strcmp(name, "--jobs-out")) {
            a->jobs_out = val;
        } else if (!strcmp(name, "--clusters-out")) {
            a->clusters_out = val;
        } else if (!strcmp(name, "--forecast-error")) {
            if (cpn_parse_double(val, &a->forecast_error) || !(a->forecast_error >= 0) ||
                a->forecast_error > 1000)
                return usage_error("--forecast-error '%s': expected a percentage from 0 to "
                                   "1000",
                                   val);
        } else if (!strcmp(name, "--seed")) {
            int64_t s;
            if (cpn_parse_int64(val, &s) || s < 0)
                return usage_error("--seed '%s': expected an integer >= 0", val);
            a->seed = (uint64_t)s;
        } else if (!strcmp(name, "--replan-every")) {
            if (cpn_parse_double(val, &a->replan_h) || !(a->replan_h > 0) || a->replan_h > 1e6)
                return usage_error("--replan-every '%s': expected hours > 0", val);
        } else if (!strcmp(name, "--horizon-days")) {
            if (cpn_parse_double(val, &a->horizon_days) || !(a->horizon_days > 0) ||
                a->horizon_days > 36600)
                return usage_error("--horizon-days '%s': expected days > 0", val);
        } else if (!strcmp(name, "--start")) {
            if (cpn_time_parse(val, &a->start_s))
                return usage_error("--start '%s': expected a time (ISO 8601 or seconds)", val);
        } else if (!strcmp(name, "--end")) {
            if (cpn_time_parse(val, &a->end_s))
                return usage_error("--end '%s': expected a time (ISO 8601 or seconds)", val);
        } else if (!strcmp(name, "--carbon-price")) {
            if (cpn_parse_double(val, &a->carbon_price) || !(a->carbon_price >= 0) ||
                a->carbon_price > 1e9)
                return usage_error("--carbon-price '%s': expected CNY per kg >= 0", val);
        } else if (!strcmp(name, "--lp-max-jobs")) {
            int64_t n;
            if (cpn_parse_int64(val, &n) || n < 1 || n > 100000000)
                return usage_error("--lp-max-jobs '%s': expected a number of jobs >= 1", val);
            a->lp_max_jobs = (long)n;
        } else {
            return usage_error("unknown option '%s'", name);
        }
    }
    if (!a->network)
        return usage_error("--network FILE is required");
    if (!a->jobs)
        return usage_error("--jobs FILE is required");
    if (a->forecast && a->forecast_error >= 0)
        return usage_error("--forecast and --forecast-error exclude each other");
    if (a->start_s >= a->end_s)
        return usage_error("--start must be before --end");
    if (!a->policy)
        a->policy = "green";
    return 0;
}

/* The policies to run: --policy, then the --compare entries not already listed. */
static int policy_list(const struct sim_args *a, struct cpn_policy *out, size_t *n)
{
    char buf[256];
    const char *p;
    *n = 0;
    if (cpn_policy_lookup(a->policy, &out[0]))
        return usage_error("unknown policy '%s': expected one of %s", a->policy, POLICY_NAMES);
    *n = 1;
    if (!a->compare)
        return 0;
    if (cpn_strlcpy(buf, a->compare, sizeof buf))
        return usage_error("--compare '%s' is too long", a->compare);
    p = buf;
    while (*p) {
        char name[32];
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        bool dup = false;
        if (len == 0 || len >= sizeof name)
            return usage_error("--compare '%s': expected policies separated by commas (%s)",
                               a->compare, POLICY_NAMES);
        memcpy(name, p, len);
        name[len] = '\0';
        for (size_t k = 0; k < *n; k++)
            dup = dup || !strcmp(out[k].name, name);
        if (!dup) {
            if (*n >= MAX_POLICIES)
                return usage_error("--compare '%s': at most 8 policies", a->compare);
            if (cpn_policy_lookup(name, &out[*n]))
                return usage_error("unknown policy '%s': expected one of %s", name, POLICY_NAMES);
            (*n)++;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int out_open(struct out_file *o, const char *path)
{
    size_t n;
    o->path = path;
    o->tmp = NULL;
    o->f = NULL;
    if (!path)
        return 0;
    n = strlen(path) + 5;
    o->tmp = cpn_malloc(n);
    if (!o->tmp)
        return -ENOMEM;
    snprintf(o->tmp, n, "%s.tmp", path);
    o->f = fopen(o->tmp, "w");
    if (!o->f) {
        int rc = -errno;
        fprintf(stderr, "cpnet sim: %s: cannot create: %s\n", o->tmp, cpn_strerror(rc));
        cpn_free(o->tmp);
        o->tmp = NULL;
        return rc;
    }
    setvbuf(o->f, NULL, _IOFBF, 1 << 20);
    return 0;
}

/* Closes the file; renames it into place when keep is true, else removes it. */
static int out_close(struct out_file *o, bool keep)
{
    int rc = 0;
    if (!o->f)
        return 0;
    if (fclose(o->f) != 0 && keep) {
        rc = -errno;
        fprintf(stderr, "cpnet sim: %s: write failed: %s\n", o->tmp, cpn_strerror(rc));
        keep = false;
    }
    o->f = NULL;
    if (keep && rename(o->tmp, o->path) != 0) {
        rc = -errno;
        fprintf(stderr, "cpnet sim: %s: cannot rename to %s: %s\n", o->tmp, o->path,
                cpn_strerror(rc));
        keep = false;
    }
    if (!keep)
        unlink(o->tmp);
    cpn_free(o->tmp);
    o->tmp = NULL;
    return rc;
}

/* The LP bound over the selected jobs, with the actual signals (the LP reads actual series). */
static int run_lp(const struct cpn_network *net,
                  const struct cpn_signals *sig,
                  const struct cpn_jobset *js,
                  const struct cpn_sim_window *w,
                  const struct cpn_policy *pol,
                  int64_t t0,
                  int32_t nslots,
                  struct cpn_sim_summary *sum,
                  struct cpn_error *err)
{
    struct cpn_jobset *sel = NULL;
    struct cpn_lp_result res;
    int64_t end = t0 + (int64_t)nslots * net->slot_s;
    int rc = cpn_jobset_create(&sel);
    if (rc)
        return cpn_errorf(err, rc, "out of memory");
    for (size_t i = 0; i < js->n && !rc; i++) {
        struct cpn_job j = js->v[i];
        if (!cpn_sim_selected(&j, w))
            continue;
        if (j.deadline_s == CPN_NO_DEADLINE)
            j.deadline_s = end;
        rc = cpn_jobset_add(sel, &j, js->allowed + j.allowed_off, j.n_allowed);
    }
    if (rc) {
        cpn_jobset_destroy(sel);
        return cpn_errorf(err, rc, "out of memory");
    }
    memset(&res, 0, sizeof res);
    rc = cpn_lp_bound(net, sig, sel, pol, t0, nslots, &res, err);
    memset(sum, 0, sizeof *sum);
    cpn_strlcpy(sum->policy, pol->name, sizeof sum->policy);
    sum->jobs = sel->n;
    cpn_jobset_destroy(sel);
    if (rc)
        return rc;
    sum->lp_bound = true;
    sum->placed = res.placed;
    sum->rejected = (double)sum->jobs - res.placed;
    sum->energy_kwh = res.energy_kwh;
    sum->carbon_kg = res.carbon_kg;
    sum->cost_cny = res.cost_cny;
    sum->objective_cny = res.objective;
    sum->objective_bound_cny = res.bound;
    sum->mean_wait_h = NAN;
    sum->green_share = NAN;
    sum->west_share = NAN;
    sum->decisions_per_s = NAN;
    sum->decision_p50_us = NAN;
    sum->decision_p99_us = NAN;
    return 0;
}

/* ---- output -------------------------------------------------------------------------------------
 */

/* A number right-aligned in width columns with prec decimals (sign when signed), or "-". */
static void cell(double v, int width, int prec, bool sign)
{
    if (!isfinite(v))
        printf("%*s", width, "-");
    else if (sign)
        printf("%+*.*f", width, prec, v);
    else
        printf("%*.*f", width, prec, v);
}

static void print_table(const struct cpn_sim_summary *s, size_t n)
{
    printf("%-20s %8s %10s %9s %5s %11s %10s %10s %7s %6s %6s %9s %11s\n", "policy", "jobs",
           "placed", "rejected", "viol", "energy_MWh", "carbon_t", "cost_kCNY", "wait_h", "green",
           "west", "carbon_%", "decisions/s");
    for (size_t i = 0; i < n; i++) {
        int w = printf("%s%s", s[i].policy, s[i].lp_bound ? " (LP bound)" : "");
        printf("%*s %8zu ", w < 20 ? 20 - w : 0, "", s[i].jobs);
        cell(s[i].placed, 10, s[i].lp_bound ? 1 : 0, false);
        putchar(' ');
        cell(s[i].rejected, 9, s[i].lp_bound ? 1 : 0, false);
        printf(" %5zu ", s[i].violations);
        cell(s[i].energy_kwh / 1000.0, 11, 3, false);
        putchar(' ');
        cell(s[i].carbon_kg / 1000.0, 10, 3, false);
        putchar(' ');
        cell(s[i].cost_cny / 1000.0, 10, 3, false);
        putchar(' ');
        cell(s[i].mean_wait_h, 7, 2, false);
        putchar(' ');
        cell(s[i].green_share, 6, 3, false);
        putchar(' ');
        cell(s[i].west_share, 6, 3, false);
        putchar(' ');
        cell(s[0].carbon_kg > 0 ? 100.0 * (s[i].carbon_kg / s[0].carbon_kg - 1.0) : NAN, 9, 2,
             true);
        putchar(' ');
        cell(s[i].decisions_per_s, 11, 0, false);
        putchar('\n');
    }
}

static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jcount(double v)
{
    if (isfinite(v) && v == floor(v) && fabs(v) < 9e15)
        return json_integer((json_int_t)v);
    return jnum(v);
}

static json_t *signal_sources(const struct cpn_network *net, const struct cpn_signals *sig)
{
    json_t *o = json_object();
    for (size_t z = 0; z < net->nzones && o; z++) {
        for (int k = 0; k < CPN_SIG_COUNT; k++) {
            const struct cpn_series *a = &sig->actual[z * CPN_SIG_COUNT + (size_t)k];
            const struct cpn_series *f = &sig->forecast[z * CPN_SIG_COUNT + (size_t)k];
            char key[CPN_ID_MAX + 16];
            if (!a->n && !f->n)
                continue;
            snprintf(key, sizeof key, "%s.%s", net->zones[z].id,
                     cpn_signal_kind_name((enum cpn_signal_kind)k));
            json_object_set_new(o, key,
                                json_pack("{s:s?,s:s?}", "actual", a->n ? a->source : NULL,
                                          "forecast", f->n ? f->source : NULL));
        }
    }
    return o;
}

static int print_json(const struct sim_args *a,
                      const struct cpn_network *net,
                      const struct cpn_signals *sig,
                      int64_t t0,
                      int32_t nslots,
                      const struct cpn_sim_summary *s,
                      size_t n)
{
    char t0s[CPN_TIME_STRLEN], t1s[CPN_TIME_STRLEN];
    json_t *root, *meta, *pols;
    char *text;
    cpn_time_format(t0, t0s);
    cpn_time_format(t0 + (int64_t)nslots * net->slot_s, t1s);
    meta = json_pack("{s:s,s:s,s:s,s:I,s:{s:s,s:s,s:i},s:I,s:o}", "network", a->network,
                     "network_name", net->name, "jobs", a->jobs, "slot_s", (json_int_t)net->slot_s,
                     "horizon", "start", t0s, "end", t1s, "slots", (int)nslots, "seed",
                     (json_int_t)a->seed, "signals", signal_sources(net, sig));
    pols = json_object();
    root = json_object();
    if (!meta || !pols || !root) {
        json_decref(meta);
        json_decref(pols);
        json_decref(root);
        return -ENOMEM;
    }
    json_object_set_new(meta, "signals_dir", a->signals ? json_string(a->signals) : json_null());
    json_object_set_new(
        meta, "forecast",
        a->forecast ? json_string(a->forecast)
        : a->forecast_error >= 0
            ? json_pack("{s:f,s:I}", "error_pct", a->forecast_error, "seed", (json_int_t)a->seed)
            : json_null());
    json_object_set_new(meta, "replan_every_h",
                        a->replan_h > 0 ? json_real(a->replan_h) : json_null());
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_object();
        if (!p)
            break;
        json_object_set_new(p, "jobs", json_integer((json_int_t)s[i].jobs));
        json_object_set_new(p, "placed", jcount(s[i].placed));
        json_object_set_new(p, "rejected", jcount(s[i].rejected));
        json_object_set_new(p, "violations", json_integer((json_int_t)s[i].violations));
        json_object_set_new(p, "energy_kwh", jnum(s[i].energy_kwh));
        json_object_set_new(p, "carbon_kg", jnum(s[i].carbon_kg));
        json_object_set_new(p, "cost_cny", jnum(s[i].cost_cny));
        json_object_set_new(p, "objective_cny", jnum(s[i].objective_cny));
        json_object_set_new(p, "objective_bound_cny", jnum(s[i].objective_bound_cny));
        json_object_set_new(p, "mean_wait_h", jnum(s[i].mean_wait_h));
        json_object_set_new(p, "green_share", jnum(s[i].green_share));
        json_object_set_new(p, "west_share", jnum(s[i].west_share));
        json_object_set_new(p, "restarts", json_integer((json_int_t)s[i].restarts));
        json_object_set_new(p, "replans", json_integer((json_int_t)s[i].replans));
        json_object_set_new(p, "decisions", json_integer((json_int_t)s[i].decisions));
        json_object_set_new(p, "decisions_per_s", jnum(s[i].decisions_per_s));
        json_object_set_new(p, "decision_p50_us", jnum(s[i].decision_p50_us));
        json_object_set_new(p, "decision_p99_us", jnum(s[i].decision_p99_us));
        json_object_set_new(
            p, "carbon_vs_first_pct",
            jnum(s[0].carbon_kg > 0 ? 100.0 * (s[i].carbon_kg / s[0].carbon_kg - 1.0) : NAN));
        json_object_set_new(p, "lp_bound", json_boolean(s[i].lp_bound));
        json_object_set_new(pols, s[i].policy, p);
    }
    json_object_set_new(root, "meta", meta);
    json_object_set_new(root, "policies", pols);
    text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (!text)
        return -ENOMEM;
    puts(text);
    free(text);
    return 0;
}

/* ---- the command --------------------------------------------------------------------------------
 */

static int load_inputs(const struct sim_args *a,
                       struct cpn_network **net,
                       struct cpn_signals **sig,
                       struct cpn_jobset **js,
                       struct cpn_error *err)
{
    int rc = cpn_network_load(a->network, net, err);
    if (rc)
        return rc;
    rc = cpn_signals_create(*net, sig);
    if (rc)
        return cpn_errorf(err, rc, "out of memory");
    if (a->signals && (rc = cpn_signals_load_dir(*sig, *net, a->signals, false, err)))
        return rc;
    if (a->forecast && (rc = cpn_signals_load_dir(*sig, *net, a->forecast, true, err)))
        return rc;
    if (a->forecast_error > 0 &&
        (rc = cpn_signals_forecast_noise(*sig, *net, a->forecast_error, a->seed, err)))
        return rc;
    return cpn_jobs_load(a->jobs, *net, js, err);
}

int cpn_cmd_sim(int argc, char **argv)
{
    struct sim_args a;
    struct cpn_policy pols[MAX_POLICIES];
    struct cpn_sim_summary sums[MAX_POLICIES];
    struct cpn_network *net = NULL;
    struct cpn_signals *sig = NULL;
    struct cpn_jobset *js = NULL;
    struct cpn_error err = { 0, "" };
    struct cpn_sim_window win;
    struct out_file jobs_out = { 0 }, clusters_out = { 0 };
    size_t npol = 0, nsel = 0;
    int64_t t0 = 0;
    int32_t nslots = 0;
    int rc, status = CPN_EXIT_FAIL;

    rc = parse_args(argc, argv, &a);
    if (rc < 0)
        return CPN_EXIT_OK;
    if (rc)
        return rc;
    if ((rc = policy_list(&a, pols, &npol)))
        return rc;
    if (a.carbon_price >= 0)
        for (size_t k = 0; k < npol; k++)
            pols[k].carbon_cny_per_kg = a.carbon_price;

    if ((rc = load_inputs(&a, &net, &sig, &js, &err))) {
        fprintf(stderr, "cpnet sim: %s\n", err.msg[0] ? err.msg : cpn_strerror(rc));
        goto out;
    }
    win = (struct cpn_sim_window){ a.start_s, a.end_s, a.horizon_days };
    if ((rc = cpn_sim_horizon(net, js, &win, &t0, &nslots, &err))) {
        fprintf(stderr, "cpnet sim: %s\n", err.msg);
        goto out;
    }
    for (size_t i = 0; i < js->n; i++)
        nsel += cpn_sim_selected(&js->v[i], &win);
    for (size_t k = 0; k < npol; k++) {
        if (!strcmp(pols[k].name, "optimal") && nsel > (size_t)a.lp_max_jobs) {
            fprintf(stderr,
                    "cpnet sim: policy optimal (the LP bound) is limited to %ld jobs and %s has "
                    "%zu: select fewer with --start/--end, raise --lp-max-jobs, or leave "
                    "optimal out\n",
                    a.lp_max_jobs, a.jobs, nsel);
            goto out;
        }
    }
    if (out_open(&jobs_out, a.jobs_out) || out_open(&clusters_out, a.clusters_out))
        goto out;

    for (size_t k = 0; k < npol; k++) {
        struct cpn_sim *sim = NULL;
        struct cpn_sim_config cfg;
        const char *col = a.compare ? pols[k].name : NULL;
        if (!strcmp(pols[k].name, "optimal")) {
            rc = run_lp(net, sig, js, &win, &pols[k], t0, nslots, &sums[k], &err);
            if (rc) {
                fprintf(stderr, "cpnet sim: optimal: %s\n",
                        err.msg[0] ? err.msg : cpn_strerror(rc));
                goto out;
            }
            continue;
        }
        cfg = (struct cpn_sim_config){ 0 };
        cfg.net = net;
        cfg.signals = sig;
        cfg.jobs = js;
        cfg.policy = pols[k];
        cfg.window = win;
        cfg.t0 = t0;
        cfg.nslots = nslots;
        cfg.replan_every_s = (int64_t)llround(a.replan_h * 3600.0);
        cfg.revise_error_pct = a.forecast_error > 0 ? a.forecast_error : 0;
        cfg.seed = a.seed;
        cfg.keep_reasons = a.jobs_out != NULL;
        rc = cpn_sim_run(&cfg, &sim, &err);
        if (rc) {
            fprintf(stderr, "cpnet sim: %s: %s\n", pols[k].name,
                    err.msg[0] ? err.msg : cpn_strerror(rc));
            goto out;
        }
        sums[k] = *cpn_sim_summary(sim);
        sums[k].objective_cny =
            pols[k].money_weight * sums[k].cost_cny + pols[k].carbon_cny_per_kg * sums[k].carbon_kg;
        sums[k].objective_bound_cny = NAN;
        if (jobs_out.f)
            rc = cpn_sim_write_jobs(sim, jobs_out.f, col, k == 0);
        if (!rc && clusters_out.f)
            rc = cpn_sim_write_clusters(sim, clusters_out.f, pols[k].name, k == 0);
        cpn_sim_destroy(sim);
        if (rc) {
            fprintf(stderr, "cpnet sim: writing the outputs failed: %s\n", cpn_strerror(rc));
            goto out;
        }
    }
    if (out_close(&jobs_out, true) || out_close(&clusters_out, true))
        goto out;
    if (a.json) {
        if (print_json(&a, net, sig, t0, nslots, sums, npol)) {
            fprintf(stderr, "cpnet sim: out of memory for the JSON output\n");
            goto out;
        }
    } else {
        char t0s[CPN_TIME_STRLEN], t1s[CPN_TIME_STRLEN];
        cpn_time_format(t0, t0s);
        cpn_time_format(t0 + (int64_t)nslots * net->slot_s, t1s);
        printf("network %s, %zu jobs, horizon %s .. %s (%d slots of %lld s)\n", net->name, nsel,
               t0s, t1s, (int)nslots, (long long)net->slot_s);
        print_table(sums, npol);
    }
    status = fflush(stdout) == 0 ? CPN_EXIT_OK : CPN_EXIT_FAIL;
out:
    out_close(&jobs_out, false);
    out_close(&clusters_out, false);
    cpn_jobset_destroy(js);
    cpn_signals_destroy(sig);
    cpn_network_destroy(net);
    return status;
}
