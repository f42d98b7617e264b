/* SPDX-License-Identifier: Apache-2.0 */
/* cpnet place: places one job of a jobs file on an empty network with the engine and explains the
 * decision: the chosen option, then every cluster's best option scored by the policy (feasible
 * first, by rank; then the excluded ones with the reason), or why the job cannot be placed. It is
 * the engine's cpn_explain printed as a table or JSON. Exit 0 when placed, 1 when the job cannot
 * be placed or an input is wrong, 2 for usage errors. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cpnet/model.h"
#include "cpnet/sched.h"
#include "cpnet/sim.h"

#define POLICY_NAMES "nearest, cheapest, greenest-now, green"

struct place_args {
    const char *network, *signals, *jobs, *job, *policy;
    int64_t now_s;
    bool have_now;
    bool json;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: cpnet place --network FILE [--signals DIR] --jobs FILE --job ID\n"
               "                   [--policy P] [--now TIME] [--json]\n"
               "\n"
               "Places one job on the empty network and explains the decision.\n"
               "  --network FILE  network JSON\n"
               "  --signals DIR   actual signals <zone>.<kind>.csv (decisions use them)\n"
               "  --jobs FILE     jobs CSV or JSON holding the job\n"
               "  --job ID        the job to place\n"
               "  --policy P      " POLICY_NAMES " (default green)\n"
               "  --now TIME      decision time (default: the job's submit time)\n"
               "  --json          print JSON instead of text\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "cpnet place: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(cpnet place --help lists the options)\n");
    return CPN_EXIT_USAGE;
}

static int parse_args(int argc, char **argv, struct place_args *a)
{
    memset(a, 0, sizeof *a);
    a->policy = "green";
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val, *eq;
        char name[32];
        size_t len;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            return -1;
        }
        if (!strcmp(arg, "--json")) {
            a->json = true;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0)
            return usage_error("unexpected argument '%s'", arg);
        eq = strchr(arg, '=');
        len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (len >= sizeof name)
            return usage_error("unknown option '%s'", arg);
        memcpy(name, arg, len);
        name[len] = '\0';
        if (strcmp(name, "--network") && strcmp(name, "--signals") && strcmp(name, "--jobs") &&
            strcmp(name, "--job") && strcmp(name, "--policy") && strcmp(name, "--now"))
            return usage_error("unknown option '%s'", name);
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return usage_error("option '%s' needs a value", name);
        if (!strcmp(name, "--network"))
            a->network = val;
        else if (!strcmp(name, "--signals"))
            a->signals = val;
        else if (!strcmp(name, "--jobs"))
            a->jobs = val;
        else if (!strcmp(name, "--job"))
            a->job = val;
        else if (!strcmp(name, "--policy"))
            a->policy = val;
        else if (cpn_time_parse(val, &a->now_s))
            return usage_error("--now '%s': expected a time (ISO 8601 or seconds)", val);
        else
            a->have_now = true;
    }
    if (!a->network)
        return usage_error("--network FILE is required");
    if (!a->jobs)
        return usage_error("--jobs FILE is required");
    if (!a->job)
        return usage_error("--job ID is required");
    return 0;
}

static void fmt_time(int64_t t, char *out)
{
    cpn_time_format(t, out);
}

static void print_text(const struct cpn_network *net,
                       const struct cpn_job *job,
                       const struct cpn_policy *pol,
                       int rc,
                       const struct cpn_placement *p,
                       const struct cpn_explain *ex,
                       int64_t t0)
{
    char a[CPN_TIME_STRLEN], b[CPN_TIME_STRLEN];
    fmt_time(job->earliest_s, a);
    printf("job %s (%s): %lld x %s%s%s, ", job->id, job->tenant, (long long)job->units,
           cpn_class_name((enum cpn_class)job->cls), job->device[0] ? " " : "", job->device);
    if (job->duration_s > 0)
        printf("%.2f h", (double)job->duration_s / 3600.0);
    else
        printf("%g PFLOP-h", job->work_pflop_h);
    printf("%s, from %s, earliest %s", job->interruptible ? " (interruptible)" : "",
           net->sites[job->site].id, a);
    if (job->deadline_s != CPN_NO_DEADLINE) {
        fmt_time(job->deadline_s, b);
        printf(", deadline %s", b);
    }
    printf("\npolicy %s\n", pol->name);
    if (rc == 0) {
        const struct cpn_pool *pool = &net->pools[p->pool];
        fmt_time(p->start_s, a);
        fmt_time(p->end_s, b);
        printf("placed on %s/%s from %s to %s (%d slots", net->clusters[p->cluster].id, pool->id, a,
               b, p->nslots);
        if (p->nruns > 1) {
            printf(" in %u runs:", p->nruns);
            for (uint32_t k = 0; k < p->nruns; k++) {
                fmt_time(t0 + (int64_t)p->runs[k].start * net->slot_s, a);
                printf(" %s/%d", a, p->runs[k].len);
            }
        }
        printf(")\n  energy %.3f kWh, carbon %.3f kg (forecast), cost %.2f CNY, objective %.2f "
               "CNY, latency %.2f ms, transfer %.0f s\n",
               p->energy_kwh, p->carbon_kg, (double)p->cost_ucny / 1e6, p->objective, p->latency_ms,
               p->transfer_s);
    } else {
        printf("cannot be placed: %s: %s\n", cpn_why_name(ex->why),
               ex->detail[0] ? ex->detail : "no feasible option");
    }
    printf("\noptions (feasible first, by rank; then excluded):\n");
    printf("  %-16s %-12s %-10s %-20s %14s %11s %11s %11s\n", "cluster", "pool", "status", "start",
           "objective_cny", "carbon_kg", "cost_cny", "latency_ms");
    for (uint32_t k = 0; k < ex->n; k++) {
        const struct cpn_option *o = &ex->opts[k];
        bool scored = o->why == CPN_WHY_OK || o->why == CPN_WHY_PRICE;
        printf("  %-16s %-12s %-10s ", net->clusters[o->cluster].id,
               o->pool >= 0 ? net->pools[o->pool].id : "-", cpn_why_name(o->why));
        if (scored) {
            fmt_time(o->start_s, a);
            printf("%-20s %14.4f %11.4f %11.2f ", a, o->objective, o->carbon_kg,
                   (double)o->cost_ucny / 1e6);
        } else {
            printf("%-20s %14s %11s %11s ", "-", "-", "-", "-");
        }
        printf("%11.2f\n", o->latency_ms);
    }
}

static int print_json(const struct cpn_network *net,
                      const struct cpn_job *job,
                      const struct cpn_policy *pol,
                      int64_t now,
                      int rc,
                      const struct cpn_placement *p,
                      const struct cpn_explain *ex,
                      int64_t t0,
                      int64_t slot)
{
    char a[CPN_TIME_STRLEN], b[CPN_TIME_STRLEN];
    json_t *root = json_object(), *opts = json_array();
    char *text;
    if (!root || !opts) {
        json_decref(root);
        json_decref(opts);
        return -ENOMEM;
    }
    fmt_time(now, a);
    json_object_set_new(root, "job", json_string(job->id));
    json_object_set_new(root, "policy", json_string(pol->name));
    json_object_set_new(root, "now", json_string(a));
    json_object_set_new(root, "placed", json_boolean(rc == 0));
    json_object_set_new(root, "why", json_string(cpn_why_name(rc == 0 ? CPN_WHY_OK : ex->why)));
    json_object_set_new(root, "detail", json_string(ex->detail));
    if (rc == 0) {
        json_t *runs = json_array();
        fmt_time(p->start_s, a);
        fmt_time(p->end_s, b);
        for (uint32_t k = 0; k < p->nruns && runs; k++) {
            char s[CPN_TIME_STRLEN];
            fmt_time(t0 + (int64_t)p->runs[k].start * slot, s);
            json_array_append_new(runs,
                                  json_pack("{s:s,s:i}", "start", s, "slots", (int)p->runs[k].len));
        }
        json_object_set_new(
            root, "placement",
            json_pack("{s:s,s:s,s:s,s:s,s:i,s:o,s:f,s:f,s:f,s:f,s:f,s:f}", "cluster",
                      net->clusters[p->cluster].id, "pool", net->pools[p->pool].id, "start", a,
                      "end", b, "slots", (int)p->nslots, "runs", runs ? runs : json_null(),
                      "energy_kwh", p->energy_kwh, "carbon_kg", p->carbon_kg, "cost_cny",
                      (double)p->cost_ucny / 1e6, "objective_cny", p->objective, "latency_ms",
                      p->latency_ms, "transfer_s", p->transfer_s));
    } else {
        json_object_set_new(root, "placement", json_null());
    }
    for (uint32_t k = 0; k < ex->n; k++) {
        const struct cpn_option *o = &ex->opts[k];
        bool scored = o->why == CPN_WHY_OK || o->why == CPN_WHY_PRICE;
        json_t *j = json_pack("{s:s,s:s?,s:s,s:f}", "cluster", net->clusters[o->cluster].id, "pool",
                              o->pool >= 0 ? net->pools[o->pool].id : NULL, "status",
                              cpn_why_name(o->why), "latency_ms", o->latency_ms);
        if (!j)
            continue;
        if (scored) {
            fmt_time(o->start_s, a);
            json_object_set_new(j, "start", json_string(a));
            json_object_set_new(j, "objective_cny", json_real(o->objective));
            json_object_set_new(j, "carbon_kg", json_real(o->carbon_kg));
            json_object_set_new(j, "cost_cny", json_real((double)o->cost_ucny / 1e6));
        }
        json_array_append_new(opts, j);
    }
    json_object_set_new(root, "options", opts);
    text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (!text)
        return -ENOMEM;
    puts(text);
    free(text);
    return 0;
}

int cpn_cmd_explain_job(int argc, char **argv)
{
    struct place_args a;
    struct cpn_policy pol;
    struct cpn_network *net = NULL;
    struct cpn_signals *sig = NULL;
    struct cpn_jobset *js = NULL, *one = NULL;
    struct cpn_engine *eng = NULL;
    struct cpn_explain *ex = NULL;
    struct cpn_error err = { 0, "" };
    struct cpn_engine_config ec;
    struct cpn_placement p;
    struct cpn_sim_window win = { INT64_MIN, INT64_MAX, 0 };
    const struct cpn_job *job = NULL;
    int64_t t0, now, end;
    int32_t nslots;
    int rc, status = CPN_EXIT_FAIL;

    rc = parse_args(argc, argv, &a);
    if (rc < 0)
        return CPN_EXIT_OK;
    if (rc)
        return rc;
    if (cpn_policy_lookup(a.policy, &pol) || !strcmp(a.policy, "optimal"))
        return usage_error("policy '%s': expected one of %s (optimal is a bound over many jobs, "
                           "see cpnet sim)",
                           a.policy, POLICY_NAMES);
    if ((rc = cpn_network_load(a.network, &net, &err)) || (rc = cpn_signals_create(net, &sig)) ||
        (a.signals && (rc = cpn_signals_load_dir(sig, net, a.signals, false, &err))) ||
        (rc = cpn_jobs_load(a.jobs, net, &js, &err))) {
        fprintf(stderr, "cpnet place: %s\n", err.msg[0] ? err.msg : cpn_strerror(rc));
        goto out;
    }
    for (size_t i = 0; i < js->n && !job; i++)
        if (!strcmp(js->v[i].id, a.job))
            job = &js->v[i];
    if (!job) {
        fprintf(stderr, "cpnet place: %s: no job with id \"%s\"\n", a.jobs, a.job);
        goto out;
    }
    /* the horizon of this job alone, stretched to hold the decision time */
    if (cpn_jobset_create(&one) ||
        cpn_jobset_add(one, job, js->allowed + job->allowed_off, job->n_allowed)) {
        fprintf(stderr, "cpnet place: out of memory\n");
        goto out;
    }
    if ((rc = cpn_sim_horizon(net, one, &win, &t0, &nslots, &err))) {
        fprintf(stderr, "cpnet place: %s\n", err.msg);
        goto out;
    }
    now = a.have_now ? a.now_s : job->submit_s;
    end = t0 + (int64_t)nslots * net->slot_s;
    if (now < t0)
        t0 = cpn_floordiv(now, net->slot_s) * net->slot_s;
    if (now + 7 * 86400 > end)
        end = (cpn_floordiv(now + 7 * 86400 - 1, net->slot_s) + 1) * net->slot_s;
    if ((end - t0) / net->slot_s > INT32_MAX) {
        fprintf(stderr, "cpnet place: --now is too far from the job's times\n");
        goto out;
    }
    nslots = (int32_t)((end - t0) / net->slot_s);
    ec = (struct cpn_engine_config){ net, sig, t0, nslots, pol };
    ex = cpn_calloc(1, sizeof *ex);
    if (!ex || (rc = cpn_engine_create(&ec, &eng, &err))) {
        fprintf(stderr, "cpnet place: %s\n", ex ? err.msg : "out of memory");
        goto out;
    }
    {
        struct cpn_job view = one->v[0];
        if (view.deadline_s == CPN_NO_DEADLINE)
            view.deadline_s = end;
        rc = cpn_engine_decide(eng, one, &view, now, &p, ex, &err);
        if (rc && rc != CPN_EINFEASIBLE) {
            fprintf(stderr, "cpnet place: %s\n", err.msg[0] ? err.msg : cpn_strerror(rc));
            goto out;
        }
        if (rc && !ex->detail[0])
            cpn_strlcpy(ex->detail, err.msg, sizeof ex->detail);
        if (a.json) {
            if (print_json(net, &view, &pol, now, rc, &p, ex, t0, net->slot_s)) {
                fprintf(stderr, "cpnet place: out of memory\n");
                goto out;
            }
        } else {
            print_text(net, &view, &pol, rc, &p, ex, t0);
        }
    }
    status = rc == 0 ? CPN_EXIT_OK : CPN_EXIT_FAIL;
out:
    cpn_free(ex);
    cpn_engine_destroy(eng);
    cpn_jobset_destroy(one);
    cpn_jobset_destroy(js);
    cpn_signals_destroy(sig);
    cpn_network_destroy(net);
    return status;
}
