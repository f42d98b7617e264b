/* SPDX-License-Identifier: Apache-2.0 */
/* cpnet gen: synthetic inputs. `gen signals` writes hourly carbon-intensity, green-share and price
 * series per zone with a README saying they are synthetic; `gen demand` writes a mixed jobs trace
 * (CSV, or JSON with --json) and a one-line summary on stderr; `gen network` writes a K-times
 * larger copy of a network. Every output is reproducible from its seed. Exit 2 for usage errors
 * (the message names the flag), 1 for input or write errors. docs/reference-data.md is the manual.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cpnet/gen.h"
#include "cpnet/model.h"

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: cpnet gen signals --network FILE --seed N [--start T] [--days D] --out DIR\n"
        "       cpnet gen demand  --network FILE --seed N --days D [--start T]\n"
        "                         [--jobs-per-day K] [--load F] [--latency-load F]\n"
        "                         [--json] --out FILE\n"
        "       cpnet gen network --network FILE --scale K [--seed N] [--jitter DEG] --out FILE\n"
        "\n"
        "Synthetic inputs, reproducible from the seed (docs/reference-data.md).\n"
        "  signals  hourly <zone>.ci.csv, <zone>.green.csv, <zone>.price.csv and README.txt\n"
        "           for every zone (default start 2025-01-01T00:00:00Z, 365 days)\n"
        "  demand   a mixed jobs trace: latency-bound inference and interactive work from the\n"
        "           eastern cities, flexible training, fine-tuning, batch analytics and HPC;\n"
        "           K jobs a day (default %d); job sizes scaled so that the offered load is\n"
        "           --load of each class's capacity (default %.2f), of which latency-bound\n"
        "           work is --latency-load of the eastern capacity (default %.2f);\n"
        "           --out - writes to stdout\n"
        "  network  K copies of every cluster (\"<id>-<k>\", own zone copy, coordinates\n"
        "           jittered by up to DEG degrees, default 0.5); sites unchanged\n",
        CPN_GEN_DEFAULT_JOBS, CPN_GEN_DEFAULT_LOAD, CPN_GEN_DEFAULT_LATENCY_LOAD);
}

static int usage_error(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage_error(const char *sub, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "cpnet gen%s%s: ", sub ? " " : "", sub ? sub : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(cpnet gen --help for usage)\n");
    return CPN_EXIT_USAGE;
}

/* Flags shared by the three generators; each subcommand accepts a subset. */
struct gen_args {
    const char *network, *out;
    const char *seed_s, *start_s, *days_s, *jobs_s, *load_s, *lat_load_s, *scale_s, *jitter_s;
    bool json;
};

struct flag {
    const char *name;
    size_t off;    /* offset of the const char * in struct gen_args */
    unsigned subs; /* bit per subcommand that accepts it */
};

enum {
    SUB_SIGNALS = 1,
    SUB_DEMAND = 2,
    SUB_NETWORK = 4
};

#define ARG(f) offsetof(struct gen_args, f)
static const struct flag flags[] = {
    { "--network", ARG(network), SUB_SIGNALS | SUB_DEMAND | SUB_NETWORK },
    { "--out", ARG(out), SUB_SIGNALS | SUB_DEMAND | SUB_NETWORK },
    { "--seed", ARG(seed_s), SUB_SIGNALS | SUB_DEMAND | SUB_NETWORK },
    { "--start", ARG(start_s), SUB_SIGNALS | SUB_DEMAND },
    { "--days", ARG(days_s), SUB_SIGNALS | SUB_DEMAND },
    { "--jobs-per-day", ARG(jobs_s), SUB_DEMAND },
    { "--load", ARG(load_s), SUB_DEMAND },
    { "--latency-load", ARG(lat_load_s), SUB_DEMAND },
    { "--scale", ARG(scale_s), SUB_NETWORK },
    { "--jitter", ARG(jitter_s), SUB_NETWORK },
};

static int parse_args(const char *sub, unsigned bit, int argc, char **argv, struct gen_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *eq = strchr(arg, '=');
        size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
        const struct flag *fl = NULL;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            return 1;
        }
        if (!strcmp(arg, "--json") && (bit & SUB_DEMAND)) {
            a->json = true;
            continue;
        }
        for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
            if (strlen(flags[k].name) == nlen && !strncmp(arg, flags[k].name, nlen))
                fl = &flags[k];
        if (!fl || !(fl->subs & bit))
            return -usage_error(sub, "unknown option '%.*s'", (int)nlen, arg);
        if (eq) {
            *(const char **)((char *)a + fl->off) = eq + 1;
        } else {
            if (i + 1 >= argc)
                return -usage_error(sub, "%s: expected a value after it", fl->name);
            *(const char **)((char *)a + fl->off) = argv[++i];
        }
    }
    return 0;
}

static int need(const char *sub, const char *v, const char *flag, const char *what)
{
    if (v && *v)
        return 0;
    return usage_error(sub, "%s is required: expected %s", flag, what);
}

static int get_u64(const char *sub, const char *flag, const char *s, uint64_t *out)
{
    int64_t v = 0;
    if (cpn_parse_int64(s, &v) || v < 0)
        return usage_error(sub, "%s = '%s': expected an integer >= 0", flag, s);
    *out = (uint64_t)v;
    return 0;
}

static int
get_int(const char *sub, const char *flag, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    int64_t v = 0;
    if (cpn_parse_int64(s, &v) || v < lo || v > hi)
        return usage_error(sub, "%s = '%s': expected an integer from %lld to %lld", flag, s,
                           (long long)lo, (long long)hi);
    *out = v;
    return 0;
}

static int get_time(const char *sub, const char *flag, const char *s, int64_t *out)
{
    if (cpn_time_parse(s, out))
        return usage_error(sub,
                           "%s = '%s': expected an ISO 8601 time (2025-01-01T00:00:00Z) or "
                           "seconds",
                           flag, s);
    return 0;
}

static int load_network(const char *sub, const char *path, struct cpn_network **net)
{
    struct cpn_error err = { 0 };
    if (cpn_network_load(path, net, &err)) {
        fprintf(stderr, "cpnet gen %s: %s\n", sub, err.msg);
        return CPN_EXIT_FAIL;
    }
    return 0;
}

static int cmd_signals(int argc, char **argv)
{
    static const char sub[] = "signals";
    struct gen_args a;
    struct cpn_gen_signals_opts o;
    struct cpn_gen_signals *s = NULL;
    struct cpn_network *net = NULL;
    struct cpn_error err = { 0 };
    int64_t v = 0;
    int rc = parse_args(sub, SUB_SIGNALS, argc, argv, &a);
    if (rc)
        return rc > 0 ? CPN_EXIT_OK : -rc;
    cpn_gen_signals_defaults(&o);
    if ((rc = need(sub, a.network, "--network", "a network JSON file")) ||
        (rc = need(sub, a.seed_s, "--seed", "an integer seed")) ||
        (rc = need(sub, a.out, "--out", "a directory for the series files")) ||
        (rc = get_u64(sub, "--seed", a.seed_s, &o.seed)) ||
        (a.start_s && (rc = get_time(sub, "--start", a.start_s, &o.start_s))))
        return rc;
    if (a.days_s) {
        if ((rc = get_int(sub, "--days", a.days_s, 1, CPN_GEN_MAX_DAYS, &v)))
            return rc;
        o.days = (int32_t)v;
    }
    if ((rc = load_network(sub, a.network, &net)))
        return rc;
    if (mkdir(a.out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "cpnet gen signals: %s: cannot create directory: %s\n", a.out,
                strerror(errno));
        cpn_network_destroy(net);
        return CPN_EXIT_FAIL;
    }
    rc = cpn_gen_signals(net, &o, &s, &err);
    if (!rc)
        rc = cpn_gen_signals_write(s, a.out, &err);
    if (rc) {
        fprintf(stderr, "cpnet gen signals: %s\n", err.msg);
    } else {
        fprintf(stderr,
                "gen signals: %zu zones x %zu hours, seed %llu -> %s (synthetic; see "
                "%s/README.txt)\n",
                s->nzones, s->n, (unsigned long long)o.seed, a.out, a.out);
    }
    cpn_gen_signals_destroy(s);
    cpn_network_destroy(net);
    return rc == CPN_EUSAGE ? CPN_EXIT_USAGE : rc ? CPN_EXIT_FAIL : CPN_EXIT_OK;
}

struct demand_sink {
    struct cpn_gen_jobs_writer *w;
    struct cpn_error *err;
};

static int demand_put(void *ctx, const struct cpn_job *job, enum cpn_gen_kind kind)
{
    struct demand_sink *d = ctx;
    (void)kind;
    return cpn_gen_jobs_writer_put(d->w, job, NULL, 0, d->err);
}

/* A gang factor of the summary; "cap" when every job of the kind is held at the per-job cap (the
 * load asked for is out of reach with this many jobs: the offered load printed says what is). */
static void size_factor(double f)
{
    if (f >= 1e8)
        fputs("cap", stderr);
    else
        fprintf(stderr, "%.3g", f);
}

static void demand_summary(const struct cpn_gen_demand_opts *o,
                           const struct cpn_gen_demand_stats *st)
{
    char t0[CPN_TIME_STRLEN];
    cpn_time_format(o->start_s, t0);
    fprintf(stderr,
            "gen demand: %lld jobs (synthetic), %d days from %s, seed %llu:", (long long)st->jobs,
            (int)o->days, t0, (unsigned long long)o->seed);
    for (int k = 0; k < CPN_GEN_KIND_COUNT; k++)
        fprintf(stderr, " %s %lld", cpn_gen_kind_name((enum cpn_gen_kind)k),
                (long long)st->by_kind[k]);
    fprintf(stderr, "; interruptible %lld; offered load", (long long)st->interruptible);
    for (int c = 0; c < CPN_CLASS_COUNT; c++)
        fprintf(stderr, " %s %.2f", cpn_class_name((enum cpn_class)c),
                st->capacity_unit_h[c] > 0 ? st->offered_unit_h[c] / st->capacity_unit_h[c] : 0);
    fprintf(stderr, " of capacity; latency-bound");
    for (int c = 0; c < CPN_CLASS_COUNT; c++)
        fprintf(stderr, " %s %.2f", cpn_class_name((enum cpn_class)c),
                st->capacity_east_unit_h[c] > 0
                    ? st->offered_latency_unit_h[c] / st->capacity_east_unit_h[c]
                    : 0);
    fprintf(stderr, " of eastern capacity; size factors (flexible/latency-bound)");
    for (int c = 0; c < CPN_CLASS_COUNT; c++) {
        fprintf(stderr, " %s ", cpn_class_name((enum cpn_class)c));
        size_factor(st->gang_scale[c]);
        fputc('/', stderr);
        size_factor(st->gang_scale_latency[c]);
    }
    fprintf(stderr, "\n");
}

static int cmd_demand(int argc, char **argv)
{
    static const char sub[] = "demand";
    struct gen_args a;
    struct cpn_gen_demand_opts o;
    struct cpn_gen_demand_stats st;
    struct cpn_network *net = NULL;
    struct cpn_gen_jobs_writer *w = NULL;
    struct cpn_error err = { 0 }, err2 = { 0 };
    struct demand_sink sink;
    int64_t v = 0;
    int rc = parse_args(sub, SUB_DEMAND, argc, argv, &a), rc2;
    if (rc)
        return rc > 0 ? CPN_EXIT_OK : -rc;
    cpn_gen_demand_defaults(&o);
    if ((rc = need(sub, a.network, "--network", "a network JSON file")) ||
        (rc = need(sub, a.seed_s, "--seed", "an integer seed")) ||
        (rc = need(sub, a.days_s, "--days", "a number of days")) ||
        (rc = need(sub, a.out, "--out", "a jobs file (- for stdout)")) ||
        (rc = get_u64(sub, "--seed", a.seed_s, &o.seed)) ||
        (rc = get_int(sub, "--days", a.days_s, 1, CPN_GEN_MAX_DAYS, &v)))
        return rc;
    o.days = (int32_t)v;
    if (a.start_s && (rc = get_time(sub, "--start", a.start_s, &o.start_s)))
        return rc;
    if (a.jobs_s) {
        if ((rc = get_int(sub, "--jobs-per-day", a.jobs_s, 1, CPN_GEN_MAX_JOBS_PER_DAY, &v)))
            return rc;
        o.jobs_per_day = v;
    }
    if (a.load_s && (cpn_parse_double(a.load_s, &o.load) || !(o.load > 0 && o.load <= 10)))
        return usage_error(sub, "--load = '%s': expected a fraction of capacity in (0, 10]",
                           a.load_s);
    if (a.lat_load_s && (cpn_parse_double(a.lat_load_s, &o.latency_load) ||
                         !(o.latency_load > 0 && o.latency_load <= 10)))
        return usage_error(sub,
                           "--latency-load = '%s': expected a fraction of the eastern capacity in "
                           "(0, 10]",
                           a.lat_load_s);
    if ((rc = load_network(sub, a.network, &net)))
        return rc;
    if ((rc = cpn_gen_jobs_writer_open(a.out, net, a.json, &w, &err))) {
        fprintf(stderr, "cpnet gen demand: %s\n", err.msg);
        cpn_network_destroy(net);
        return CPN_EXIT_FAIL;
    }
    sink.w = w;
    sink.err = &err;
    rc = cpn_gen_demand_stream(net, &o, demand_put, &sink, &st, &err);
    rc2 = cpn_gen_jobs_writer_close(w, &err2);
    if (rc)
        fprintf(stderr, "cpnet gen demand: %s\n", err.msg);
    else if (rc2)
        fprintf(stderr, "cpnet gen demand: %s\n", err2.msg);
    else
        demand_summary(&o, &st);
    if ((rc || rc2) && strcmp(a.out, "-") != 0)
        remove(a.out);
    cpn_network_destroy(net);
    return rc == CPN_EUSAGE ? CPN_EXIT_USAGE : (rc || rc2) ? CPN_EXIT_FAIL : CPN_EXIT_OK;
}

static int cmd_network(int argc, char **argv)
{
    static const char sub[] = "network";
    struct gen_args a;
    struct cpn_gen_scale_opts o;
    struct cpn_buf b = { 0 };
    struct cpn_error err = { 0 };
    struct cpn_network *net = NULL;
    char *text = NULL;
    size_t len = 0;
    int64_t v = 0;
    FILE *f;
    int rc = parse_args(sub, SUB_NETWORK, argc, argv, &a);
    if (rc)
        return rc > 0 ? CPN_EXIT_OK : -rc;
    cpn_gen_scale_defaults(&o);
    if ((rc = need(sub, a.network, "--network", "a network JSON file")) ||
        (rc = need(sub, a.scale_s, "--scale", "the number of copies K")) ||
        (rc = need(sub, a.out, "--out", "a network JSON file to write")) ||
        (rc = get_int(sub, "--scale", a.scale_s, 1, 1000, &v)) ||
        (a.seed_s && (rc = get_u64(sub, "--seed", a.seed_s, &o.seed))))
        return rc;
    o.scale = (int32_t)v;
    if (a.jitter_s &&
        (cpn_parse_double(a.jitter_s, &o.jitter_deg) || !(o.jitter_deg >= 0 && o.jitter_deg <= 10)))
        return usage_error(sub, "--jitter = '%s': expected degrees from 0 to 10", a.jitter_s);
    b.limit = 256u << 20;
    if (cpn_buf_read_file(&b, a.network, &err) ||
        cpn_gen_scale_network(b.data, b.len, a.network, &o, &text, &len, &err)) {
        fprintf(stderr, "cpnet gen network: %s\n", err.msg);
        cpn_buf_free(&b);
        return CPN_EXIT_FAIL;
    }
    cpn_buf_free(&b);
    f = strcmp(a.out, "-") == 0 ? stdout : fopen(a.out, "wb");
    if (!f) {
        fprintf(stderr, "cpnet gen network: %s: cannot create: %s\n", a.out, strerror(errno));
        cpn_free(text);
        return CPN_EXIT_FAIL;
    }
    rc = fwrite(text, 1, len, f) != len;
    if (f != stdout)
        rc |= fclose(f) != 0;
    else
        rc |= fflush(f) != 0;
    if (rc) {
        fprintf(stderr, "cpnet gen network: %s: write failed\n", a.out);
        cpn_free(text);
        return CPN_EXIT_FAIL;
    }
    if (cpn_network_parse(text, len, a.out, &net, &err) == 0) {
        fprintf(stderr,
                "gen network: %zu clusters, %zu pools, %zu zones, %zu sites (scale %d, "
                "seed %llu) -> %s\n",
                net->nclusters, net->npools, net->nzones, net->nsites, (int)o.scale,
                (unsigned long long)o.seed, a.out);
        cpn_network_destroy(net);
    }
    cpn_free(text);
    return CPN_EXIT_OK;
}

int cpn_cmd_gen(int argc, char **argv)
{
    if (argc < 2)
        return usage_error(NULL, "expected a generator: signals, demand or network");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CPN_EXIT_OK;
    }
    if (!strcmp(argv[1], "signals"))
        return cmd_signals(argc - 1, argv + 1);
    if (!strcmp(argv[1], "demand"))
        return cmd_demand(argc - 1, argv + 1);
    if (!strcmp(argv[1], "network"))
        return cmd_network(argc - 1, argv + 1);
    return usage_error(NULL, "unknown generator '%s': expected signals, demand or network",
                       argv[1]);
}
