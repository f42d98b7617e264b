/* SPDX-License-Identifier: Apache-2.0 */
/* A synthetic demand trace for a network: latency-bound inference and interactive work from the
 * eastern cities, flexible training, fine-tuning and batch analytics, and some HPC jobs. Durations
 * and base sizes come from distributions fitted to public traces (gen_params.c); the sizes of the
 * flexible kinds are scaled by one factor per class, solved so that the offered unit-hours are the
 * asked fraction of the network's capacity. Jobs are made one day at a time and handed out in
 * submit order, so a year of 5 million jobs needs the memory of one day. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen_int.h"

#define NTENANTS     500
#define UNIT_CAP     0.10 /* a job takes at most this share of the largest pool it may use */
#define MIN_DUR_S    60
#define LAT_MAX_S    21600 /* latency-bound work is short: at most 6 h */
#define FLEX_MAX_S   (14 * 86400)
#define MIN_TFLOPS_Q 300.0 /* fine-tuning jobs that ask for a fast device ask for this */
#define GRID_N       64    /* quadrature points of the gang-size lognormal */

enum size_kind {
    SIZE_OPENB,  /* GPUs per pod, Alibaba openb */
    SIZE_PAICPU, /* cpus per job, GAIA pai-100k */
    SIZE_AZCPU,  /* cpus per job, GAIA azure-100k */
    SIZE_ONE     /* one node */
};

/* The mix (shares, probabilities, slack and data sizes are assumed, docs/reference-data.md). */
struct kind_spec {
    enum cpn_class cls;
    double mix;
    bool latency;        /* latency-bound: no slack, sized against the eastern capacity */
    const double *dur_q; /* quantile table, or NULL for a lognormal */
    double dur_median_s, dur_sigma;
    double dur_max_s;
    enum size_kind size;
    double gang_sigma;
    double p_interruptible;
    double slack_median_h, slack_sigma, slack_min_h, slack_max_h;
    double p_no_deadline;
    double p_delayed_start; /* earliest up to 6 h after submit */
    double data_median_gb, data_sigma;
    int priority;
    double p_work, p_device, p_min_tflops;
    double p_own_hub, p_west_only, p_ceiling;
};

static const struct kind_spec kinds[CPN_GEN_KIND_COUNT] = {
    [CPN_GEN_INFERENCE] = { .cls = CPN_CLASS_INTELLIGENT,
                            .mix = 0.30,
                            .latency = true,
                            .dur_q = cpn__q_pai1k_length_s,
                            .dur_max_s = LAT_MAX_S,
                            .size = SIZE_OPENB,
                            .gang_sigma = 0.8,
                            .priority = 3 },
    [CPN_GEN_INTERACTIVE] = { .cls = CPN_CLASS_GENERAL,
                              .mix = 0.15,
                              .latency = true,
                              .dur_q = cpn__q_azure100k_length_s,
                              .dur_max_s = LAT_MAX_S,
                              .size = SIZE_AZCPU,
                              .gang_sigma = 0.8,
                              .priority = 3 },
    [CPN_GEN_TRAINING] = { .cls = CPN_CLASS_INTELLIGENT,
                           .mix = 0.10,
                           .dur_q = cpn__q_philly_runtime_s,
                           .dur_max_s = FLEX_MAX_S,
                           .size = SIZE_OPENB,
                           .gang_sigma = 1.0,
                           .p_interruptible = 0.8,
                           .slack_median_h = 12,
                           .slack_sigma = 1.0,
                           .slack_min_h = 1,
                           .slack_max_h = 168,
                           .p_no_deadline = 0.10,
                           .data_median_gb = 200,
                           .data_sigma = 1.2,
                           .priority = 1,
                           .p_work = 0.25,
                           .p_device = 0.15,
                           .p_own_hub = 0.05,
                           .p_west_only = 0.03,
                           .p_ceiling = 0.10 },
    [CPN_GEN_FINETUNE] = { .cls = CPN_CLASS_INTELLIGENT,
                           .mix = 0.10,
                           .dur_q = cpn__q_pai100k_length_s,
                           .dur_max_s = FLEX_MAX_S,
                           .size = SIZE_OPENB,
                           .gang_sigma = 0.8,
                           .p_interruptible = 0.9,
                           .slack_median_h = 6,
                           .slack_sigma = 0.8,
                           .slack_min_h = 1,
                           .slack_max_h = 48,
                           .p_no_deadline = 0.05,
                           .data_median_gb = 20,
                           .data_sigma = 1.0,
                           .priority = 1,
                           .p_min_tflops = 0.10,
                           .p_own_hub = 0.05,
                           .p_west_only = 0.03,
                           .p_ceiling = 0.10 },
    [CPN_GEN_BATCH] = { .cls = CPN_CLASS_GENERAL,
                        .mix = 0.30,
                        .dur_q = cpn__q_azure100k_length_s,
                        .dur_max_s = FLEX_MAX_S,
                        .size = SIZE_PAICPU,
                        .gang_sigma = 1.0,
                        .p_interruptible = 0.3,
                        .slack_median_h = 4,
                        .slack_sigma = 0.8,
                        .slack_min_h = 1,
                        .slack_max_h = 48,
                        .p_no_deadline = 0.05,
                        .p_delayed_start = 0.2,
                        .data_median_gb = 50,
                        .data_sigma = 1.2,
                        .priority = 0,
                        .p_own_hub = 0.05,
                        .p_west_only = 0.03,
                        .p_ceiling = 0.10 },
    [CPN_GEN_HPC] = { .cls = CPN_CLASS_SUPER,
                      .mix = 0.05,
                      .dur_q = NULL,
                      .dur_median_s = 4 * 3600,
                      .dur_sigma = 1.0,
                      .dur_max_s = FLEX_MAX_S,
                      .size = SIZE_ONE,
                      .gang_sigma = 1.0,
                      .p_interruptible = 0.2,
                      .slack_median_h = 24,
                      .slack_sigma = 0.7,
                      .slack_min_h = 2,
                      .slack_max_h = 168,
                      .p_no_deadline = 0.10,
                      .data_median_gb = 100,
                      .data_sigma = 1.0,
                      .priority = 2,
                      .p_own_hub = 0.05,
                      .p_west_only = 0.03,
                      .p_ceiling = 0.10 },
};

static const char *const kind_names[CPN_GEN_KIND_COUNT] = { "inference", "interactive", "training",
                                                            "finetune",  "batch",       "hpc" };

/* Arrivals of interactive work by local hour (assumed office-hours shape, mean 1); flexible work
 * arrives by the square root of it. */
static const double diurnal[24] = { 0.35, 0.25, 0.20, 0.18, 0.18, 0.25, 0.45, 0.80,
                                    1.20, 1.50, 1.60, 1.55, 1.30, 1.45, 1.60, 1.60,
                                    1.50, 1.35, 1.20, 1.15, 1.20, 1.10, 0.85, 0.55 };

/* Origin weights of the reference cities (assumed, by size of their digital economy); other sites
 * weigh DEFAULT_SITE_W. */
static const char *const site_names[] = { "beijing",   "shanghai", "shenzhen", "hangzhou",
                                          "guangzhou", "chengdu",  "tianjin",  "chongqing" };
static const double site_weights[] = { 0.22, 0.20, 0.14, 0.12, 0.10, 0.08, 0.07, 0.07 };
#define DEFAULT_SITE_W 0.10

const char *cpn_gen_kind_name(enum cpn_gen_kind k)
{
    return (unsigned)k < CPN_GEN_KIND_COUNT ? kind_names[k] : "?";
}

void cpn_gen_demand_defaults(struct cpn_gen_demand_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->start_s = CPN_GEN_DEFAULT_START;
    o->days = 7;
    o->jobs_per_day = CPN_GEN_DEFAULT_JOBS;
    o->load = CPN_GEN_DEFAULT_LOAD;
    o->latency_load = CPN_GEN_DEFAULT_LATENCY_LOAD;
}

/* A site's pools in order of RTT, with the largest pool of each class up to that RTT. */
struct reach {
    double rtt;
    int64_t units; /* the pool's own (0 when unlimited) */
    int cls;
    int64_t max_units[CPN_CLASS_COUNT];
};

/* Everything derived from the network once. */
struct ctx {
    const struct cpn_network *net;
    const struct cpn_gen_demand_opts *o;
    struct cpn_rng rng;
    double share[CPN_GEN_KIND_COUNT]; /* mix renormalised over classes with capacity */
    double mix_cdf[CPN_GEN_KIND_COUNT];
    double *site_cdf_all, *site_cdf_lat; /* nsites */
    int32_t *site_off_s;                 /* UTC offset of the nearest cluster's zone */
    double *site_min_rtt; /* nsites x classes: RTT to the nearest pool of the class */
    struct reach *reach;  /* nsites x npools: each site's pools by RTT, prefix maxima */
    int32_t *site_hub;    /* hub of the nearest cluster */
    double cap_units_h[CPN_CLASS_COUNT];  /* per day */
    double east_units_h[CPN_CLASS_COUNT]; /* per day, clusters of eastern hubs */
    int64_t max_pool[CPN_CLASS_COUNT];    /* largest finite pool */
    int64_t max_east[CPN_CLASS_COUNT];    /* largest finite pool in the east */
    double ref_tflops[CPN_CLASS_COUNT];   /* unit-weighted mean */
    double ref_ucny_per_unit_h[CPN_CLASS_COUNT];
    double gang[CPN_CLASS_COUNT][2]; /* [class][latency-bound] */
    double tenant_cdf[NTENANTS];
    double hour_cdf_lat[24], hour_cdf_flex[24];
    uint64_t west_hubs;
    double *dev_cdf; /* pools of the intelligent class, weighted by units x tflops */
    bool have_fast;  /* an intelligent pool of at least MIN_TFLOPS_Q */
    double mean_dur_s[CPN_GEN_KIND_COUNT];
    double zgrid[GRID_N];
};

static double uni(struct ctx *C)
{
    return cpn_rng_uniform(&C->rng);
}

static size_t pick_cdf(const double *cdf, size_t n, double u)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (u < cdf[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Turns weights w[0..n) into a cumulative distribution in place; false when all are zero. */
static bool to_cdf(double *w, size_t n)
{
    double s = 0, acc = 0;
    for (size_t i = 0; i < n; i++)
        s += w[i];
    if (!(s > 0))
        return false;
    for (size_t i = 0; i < n; i++) {
        acc += w[i] / s;
        w[i] = acc;
    }
    w[n - 1] = 1.0;
    return true;
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Base size (before the gang factor) at quantile u. */
static double base_size(enum size_kind k, double u)
{
    double acc = 0;
    switch (k) {
    case SIZE_OPENB:
        for (int i = 0; i < CPN_GEN_OPENB_N; i++) {
            acc += cpn__openb_gpu_p[i];
            if (u < acc)
                return cpn__openb_gpu_k[i];
        }
        return cpn__openb_gpu_k[CPN_GEN_OPENB_N - 1];
    case SIZE_PAICPU:
        return floor(cpn__gen_qsample(cpn__q_pai100k_cpus, u) + 0.5);
    case SIZE_AZCPU:
        return floor(cpn__gen_qsample(cpn__q_azure100k_cpus, u) + 0.5);
    case SIZE_ONE:
        break;
    }
    return 1;
}

/* Duration in seconds from a uniform u (tables) or a standard normal z (lognormal). */
static double kind_duration(const struct kind_spec *k, double u, double z)
{
    double d = k->dur_q ? cpn__gen_qsample(k->dur_q, u) : k->dur_median_s * exp(k->dur_sigma * z);
    return clampd(floor(d + 0.5), MIN_DUR_S, k->dur_max_s);
}

/* Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9). */
static double norm_ppf(double p)
{
    static const double a[] = { -3.969683028665376e+01, 2.209460984245205e+02,
                                -2.759285104469687e+02, 1.383577518672690e+02,
                                -3.066479806614716e+01, 2.506628277459239e+00 };
    static const double b[] = { -5.447609879822406e+01, 1.615858368580409e+02,
                                -1.556989798598866e+02, 6.680131188771972e+01,
                                -1.328068155288572e+01 };
    static const double c[] = { -7.784894002430293e-03, -3.223964580411365e-01,
                                -2.400758277161838e+00, -2.549671324198266e+00,
                                4.374587199244140e+00,  2.938163982698783e+00 };
    static const double d[] = { 7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                3.754408661907416e+00 };
    double q, r;
    if (p < 0.02425 || p > 1 - 0.02425) {
        q = sqrt(-2 * log(p < 0.5 ? p : 1 - p));
        r = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        return p < 0.5 ? r : -r;
    }
    q = p - 0.5;
    r = q * q;
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
           (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/* Expected units of a kind for gang factor M, with rounding and the per-job cap. */
static double expected_units(const struct ctx *C, const struct kind_spec *k, double M, double cap)
{
    const int nb = 200;
    double s = 0;
    for (int i = 0; i < nb; i++) {
        double b = base_size(k->size, (i + 0.5) / nb);
        for (int g = 0; g < GRID_N; g++)
            s += clampd(floor(b * M * exp(k->gang_sigma * C->zgrid[g]) + 0.5), 1, cap) / GRID_N;
    }
    return s / nb;
}

/* The per-job unit cap of class c for latency-bound (near the users) or flexible work. */
static double unit_cap(const struct ctx *C, int c, bool lat)
{
    int64_t m = lat && C->max_east[c] > 0 ? C->max_east[c] : C->max_pool[c];
    return fmax(1, floor(UNIT_CAP * (double)m));
}

/* Offered unit-hours per day of the latency-bound (lat) or flexible kinds of class c for gang
 * factor M. */
static double offered(const struct ctx *C, int c, bool lat, double M)
{
    double cap = unit_cap(C, c, lat), off = 0;
    for (int k = 0; k < CPN_GEN_KIND_COUNT; k++)
        if ((int)kinds[k].cls == c && kinds[k].latency == lat && C->share[k] > 0)
            off += (double)C->o->jobs_per_day * C->share[k] * expected_units(C, &kinds[k], M, cap) *
                   C->mean_dur_s[k] / 3600.0;
    return off;
}

/* The gang factor (>= 1) at which offered(c, lat, M) reaches target; the largest tried when the
 * per-job cap keeps the offer below it. */
static double solve_one(const struct ctx *C, int c, bool lat, double target)
{
    double lo = 1, hi = 2, base = offered(C, c, lat, 1);
    if (!(target > 0) || !(base > 0) || base >= target)
        return 1;
    while (offered(C, c, lat, hi) < target && hi < 1e9) {
        lo = hi;
        hi *= 2;
    }
    for (int it = 0; it < 40 && hi - lo > 1e-6 * hi; it++) {
        double mid = 0.5 * (lo + hi);
        if (offered(C, c, lat, mid) < target)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

/* Latency-bound work of each class offers latency_load x the eastern capacity (all capacity when
 * the network has no eastern cluster); flexible work offers the rest of load x capacity. */
static void solve_gang(struct ctx *C)
{
    for (int c = 0; c < CPN_CLASS_COUNT; c++) {
        double east = C->east_units_h[c] > 0 ? C->east_units_h[c] : C->cap_units_h[c];
        C->gang[c][1] = solve_one(C, c, true, C->o->latency_load * east);
        C->gang[c][0] = solve_one(
            C, c, false, C->o->load * C->cap_units_h[c] - offered(C, c, true, C->gang[c][1]));
    }
}

static int cmp_reach(const void *a, const void *b)
{
    const struct reach *x = a, *y = b;
    return x->rtt < y->rtt ? -1 : x->rtt > y->rtt;
}

/* Site s's pools sorted by RTT with running maxima per class, and its nearest RTT per class. */
static void build_reach(struct ctx *C, size_t s)
{
    const struct cpn_network *net = C->net;
    struct reach *r = &C->reach[s * net->npools];
    int64_t run[CPN_CLASS_COUNT] = { 0 };
    for (int c = 0; c < CPN_CLASS_COUNT; c++)
        C->site_min_rtt[s * CPN_CLASS_COUNT + (size_t)c] = INFINITY;
    for (size_t p = 0; p < net->npools; p++) {
        const struct cpn_pool *pool = &net->pools[p];
        double rtt = cpn_network_rtt(net, (int32_t)s, pool->cluster);
        double *m = &C->site_min_rtt[s * CPN_CLASS_COUNT + (size_t)pool->cls];
        memset(&r[p], 0, sizeof r[p]);
        r[p].rtt = rtt;
        r[p].units = pool->units == CPN_UNLIMITED ? 0 : pool->units;
        r[p].cls = (int)pool->cls;
        if (rtt < *m)
            *m = rtt;
    }
    qsort(r, net->npools, sizeof *r, cmp_reach);
    for (size_t p = 0; p < net->npools; p++) {
        if (r[p].units > run[r[p].cls])
            run[r[p].cls] = r[p].units;
        memcpy(r[p].max_units, run, sizeof run);
    }
}

static void ctx_free(struct ctx *C)
{
    cpn_free(C->site_cdf_all);
    cpn_free(C->site_cdf_lat);
    cpn_free(C->site_off_s);
    cpn_free(C->site_min_rtt);
    cpn_free(C->reach);
    cpn_free(C->site_hub);
    cpn_free(C->dev_cdf);
}

static int ctx_init(struct ctx *C,
                    const struct cpn_network *net,
                    const struct cpn_gen_demand_opts *o,
                    struct cpn_error *err)
{
    const size_t ns = net->nsites;
    double units_sum[CPN_CLASS_COUNT] = { 0 }, zone_price = 0;
    double tot;
    memset(C, 0, sizeof *C);
    C->net = net;
    C->o = o;
    cpn_rng_seed(&C->rng, o->seed);
    if (ns == 0 || net->nclusters == 0 || net->npools == 0)
        return cpn_errorf(err, CPN_EUSAGE,
                          "network \"%s\": %zu sites, %zu clusters, %zu pools: expected at least "
                          "one of each to generate demand",
                          net->name, ns, net->nclusters, net->npools);
    C->site_cdf_all = cpn_calloc(ns, sizeof *C->site_cdf_all);
    C->site_cdf_lat = cpn_calloc(ns, sizeof *C->site_cdf_lat);
    C->site_off_s = cpn_calloc(ns, sizeof *C->site_off_s);
    C->site_min_rtt = cpn_calloc(ns * CPN_CLASS_COUNT, sizeof *C->site_min_rtt);
    C->reach = cpn_calloc(ns * net->npools, sizeof *C->reach);
    C->site_hub = cpn_calloc(ns, sizeof *C->site_hub);
    C->dev_cdf = cpn_calloc(net->npools, sizeof *C->dev_cdf);
    if (!C->site_cdf_all || !C->site_cdf_lat || !C->site_off_s || !C->site_min_rtt || !C->reach ||
        !C->site_hub || !C->dev_cdf) {
        ctx_free(C);
        return cpn_errorf(err, -ENOMEM, "demand: out of memory");
    }
    for (size_t z = 0; z < net->nzones; z++) {
        double m = 0;
        for (int h = 0; h < 24; h++)
            m += net->zones[z].price_cny_per_kwh[h] / 24;
        zone_price += m / (double)net->nzones;
    }
    /* Sites: weight, nearest cluster (its hub's region decides who sends latency-bound work). */
    for (size_t s = 0; s < ns; s++) {
        int row = cpn__gen_base_lookup(net->sites[s].id, site_names,
                                       sizeof site_names / sizeof site_names[0]);
        double w = row >= 0 ? site_weights[row] : DEFAULT_SITE_W, best = INFINITY;
        int32_t bc = 0;
        for (size_t c = 0; c < net->nclusters; c++) {
            double r = cpn_network_rtt(net, (int32_t)s, (int32_t)c);
            if (net->clusters[c].pool_count > 0 && r < best) {
                best = r;
                bc = (int32_t)c;
            }
        }
        build_reach(C, s);
        C->site_hub[s] = net->clusters[bc].hub;
        C->site_off_s[s] = net->zones[net->clusters[bc].zone].utc_offset_min * 60;
        C->site_cdf_all[s] = w;
        C->site_cdf_lat[s] = net->hubs[net->clusters[bc].hub].region == CPN_REGION_EAST ? w : 0;
    }
    to_cdf(C->site_cdf_all, ns);
    if (!to_cdf(C->site_cdf_lat, ns))
        memcpy(C->site_cdf_lat, C->site_cdf_all, ns * sizeof *C->site_cdf_lat);
    for (size_t h = 0; h < net->nhubs && h < 64; h++)
        if (net->hubs[h].region == CPN_REGION_WEST)
            C->west_hubs |= 1ull << h;
    /* Capacity per class. */
    for (size_t p = 0; p < net->npools; p++) {
        const struct cpn_pool *pool = &net->pools[p];
        const struct cpn_cluster *cl = &net->clusters[pool->cluster];
        double u;
        if (pool->units == CPN_UNLIMITED)
            continue;
        u = (double)pool->units;
        C->cap_units_h[pool->cls] += u * 24;
        if (pool->units > C->max_pool[pool->cls])
            C->max_pool[pool->cls] = pool->units;
        if (net->hubs[cl->hub].region == CPN_REGION_EAST) {
            C->east_units_h[pool->cls] += u * 24;
            if (pool->units > C->max_east[pool->cls])
                C->max_east[pool->cls] = pool->units;
        }
        units_sum[pool->cls] += u;
        C->ref_tflops[pool->cls] += u * pool->tflops_per_unit;
        C->ref_ucny_per_unit_h[pool->cls] +=
            u * ((double)pool->price_ucny_per_unit_h +
                 pool->watts_busy * cl->pue / 1000 * zone_price * (double)CPN_UCNY_PER_CNY);
        if (pool->cls == CPN_CLASS_INTELLIGENT) {
            C->dev_cdf[p] = u * pool->tflops_per_unit;
            if (pool->tflops_per_unit >= MIN_TFLOPS_Q)
                C->have_fast = true;
        }
    }
    if (!to_cdf(C->dev_cdf, net->npools)) {
        cpn_free(C->dev_cdf);
        C->dev_cdf = NULL;
    }
    for (int c = 0; c < CPN_CLASS_COUNT; c++) {
        if (units_sum[c] > 0) {
            C->ref_tflops[c] /= units_sum[c];
            C->ref_ucny_per_unit_h[c] /= units_sum[c];
        }
    }
    /* The mix over the classes the network has. */
    tot = 0;
    for (int k = 0; k < CPN_GEN_KIND_COUNT; k++) {
        C->share[k] = C->cap_units_h[kinds[k].cls] > 0 ? kinds[k].mix : 0;
        tot += C->share[k];
    }
    if (!(tot > 0)) {
        ctx_free(C);
        return cpn_errorf(err, CPN_EUSAGE,
                          "network \"%s\": no pool with a finite number of units: expected "
                          "capacity to size the demand against",
                          net->name);
    }
    for (int k = 0; k < CPN_GEN_KIND_COUNT; k++) {
        C->share[k] /= tot;
        C->mix_cdf[k] = C->share[k];
    }
    to_cdf(C->mix_cdf, CPN_GEN_KIND_COUNT);
    /* Tenants: Zipf(1) over NTENANTS (assumed). */
    for (int t = 0; t < NTENANTS; t++)
        C->tenant_cdf[t] = 1.0 / (t + 1);
    to_cdf(C->tenant_cdf, NTENANTS);
    for (int h = 0; h < 24; h++) {
        C->hour_cdf_lat[h] = diurnal[h];
        C->hour_cdf_flex[h] = sqrt(diurnal[h]);
    }
    to_cdf(C->hour_cdf_lat, 24);
    to_cdf(C->hour_cdf_flex, 24);
    for (int g = 0; g < GRID_N; g++)
        C->zgrid[g] = norm_ppf((g + 0.5) / GRID_N);
    for (int k = 0; k < CPN_GEN_KIND_COUNT; k++) {
        const int n = 4000;
        double s = 0;
        for (int i = 0; i < n; i++) {
            double u = (i + 0.5) / n;
            s += kind_duration(&kinds[k], u, norm_ppf(u));
        }
        C->mean_dur_s[k] = s / n;
    }
    solve_gang(C);
    return 0;
}

/* Largest pool of class c within max_rtt of site s (0 when none). */
static int64_t reach_max(const struct ctx *C, int32_t s, int c, double max_rtt)
{
    const struct reach *r = &C->reach[(size_t)s * C->net->npools];
    size_t lo = 0, hi = C->net->npools; /* first entry beyond max_rtt */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r[mid].rtt <= max_rtt)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? r[lo - 1].max_units[c] : 0;
}

/* A job before its attributes are drawn: kind, origin and submit time. */
struct pending {
    int64_t t;
    uint32_t seq;
    uint8_t kind;
    int32_t site;
};

static int cmp_pending(const void *a, const void *b)
{
    const struct pending *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Largest pool a job may use given its device, speed and hub rules; 0 when none. */
static int64_t eligible_max(const struct ctx *C, const struct cpn_job *job)
{
    const struct cpn_network *net = C->net;
    int64_t best = 0;
    for (size_t p = 0; p < net->npools; p++) {
        const struct cpn_pool *pool = &net->pools[p];
        int32_t hub = net->clusters[pool->cluster].hub;
        if ((int)pool->cls != job->cls || pool->units == CPN_UNLIMITED)
            continue;
        if (job->device[0] && strcmp(job->device, pool->device) != 0)
            continue;
        if (pool->tflops_per_unit < job->min_tflops)
            continue;
        if (job->allowed_hubs && (hub >= 64 || !((job->allowed_hubs >> hub) & 1u)))
            continue;
        if (pool->units > best)
            best = pool->units;
    }
    return best;
}

static void make_job(struct ctx *C,
                     const struct pending *pd,
                     int64_t seq,
                     struct cpn_job *job,
                     struct cpn_gen_demand_stats *st)
{
    const struct cpn_network *net = C->net;
    const struct kind_spec *k = &kinds[pd->kind];
    const int c = (int)k->cls;
    double dur, units, ref = C->ref_tflops[c], r;
    int64_t cap, dur_s;
    size_t t;
    memset(job, 0, sizeof *job);
    snprintf(job->id, sizeof job->id, "job-%08lld", (long long)seq);
    t = pick_cdf(C->tenant_cdf, NTENANTS, uni(C));
    snprintf(job->tenant, sizeof job->tenant, "tenant-%03zu", t + 1);
    job->site = pd->site;
    job->data_site = -1;
    job->cls = (int16_t)c;
    job->priority = (int16_t)k->priority;
    job->deadline_s = CPN_NO_DEADLINE;
    dur = k->dur_q ? kind_duration(k, uni(C), 0) : kind_duration(k, 0, cpn_rng_normal(&C->rng));
    dur_s = (int64_t)dur;
    /* device or speed */
    if (k->p_device > 0 && C->dev_cdf && uni(C) < k->p_device) {
        const struct cpn_pool *pool = &net->pools[pick_cdf(C->dev_cdf, net->npools, uni(C))];
        cpn_strlcpy(job->device, pool->device, sizeof job->device);
        ref = pool->tflops_per_unit;
    } else if (k->p_min_tflops > 0 && C->have_fast && uni(C) < k->p_min_tflops) {
        job->min_tflops = MIN_TFLOPS_Q;
    }
    /* residency */
    r = k->p_own_hub + k->p_west_only > 0 ? uni(C) : 1;
    if (r < k->p_own_hub && C->site_hub[pd->site] < 64)
        job->allowed_hubs = 1ull << C->site_hub[pd->site];
    else if (r < k->p_own_hub + k->p_west_only)
        job->allowed_hubs = C->west_hubs;
    /* size */
    units = base_size(k->size, uni(C));
    units =
        floor(units * C->gang[c][k->latency] * exp(k->gang_sigma * cpn_rng_normal(&C->rng)) + 0.5);
    cap = C->max_pool[c];
    if (k->latency) {
        /* the bound allows at least the nearest pool of the class (+1 ms) */
        double b = 5 + 5 * uni(C), near = C->site_min_rtt[(size_t)pd->site * CPN_CLASS_COUNT + c];
        if (b < near + 1)
            b = near + 1;
        job->max_rtt_ms = ceil(b * 2) / 2;
        cap = reach_max(C, pd->site, c, job->max_rtt_ms);
    }
    if (job->device[0] || job->min_tflops > 0 || job->allowed_hubs) {
        cap = eligible_max(C, job);
        if (cap == 0) {
            /* nothing in the network fits the rule: drop it rather than make a dead job */
            job->device[0] = '\0';
            job->min_tflops = 0;
            job->allowed_hubs = 0;
            ref = C->ref_tflops[c];
            cap = C->max_pool[c];
        }
    }
    job->units = (int64_t)clampd(units, 1, fmax(1, floor(UNIT_CAP * (double)cap)));
    /* time */
    job->submit_s = pd->t;
    job->earliest_s = pd->t;
    if (k->p_delayed_start > 0 && uni(C) < k->p_delayed_start)
        job->earliest_s += 60 * (int64_t)(uni(C) * 360);
    if (k->p_work > 0 && uni(C) < k->p_work) {
        double w = floor((double)job->units * ref * dur / 3.6e6 * 1000 + 0.5) / 1000;
        job->work_pflop_h = w > 0.001 ? w : 0.001;
    } else {
        job->duration_s = dur_s;
    }
    if (k->latency) {
        /* no slack: the deadline only allows for rounding the start up to a slot */
        job->deadline_s = job->earliest_s + dur_s + net->slot_s;
    } else {
        if (uni(C) >= k->p_no_deadline) {
            double slack_h =
                clampd(k->slack_median_h * exp(k->slack_sigma * cpn_rng_normal(&C->rng)),
                       k->slack_min_h, k->slack_max_h);
            job->deadline_s = job->earliest_s + dur_s + 60 * (int64_t)(slack_h * 60 + 0.5);
        }
        job->interruptible = uni(C) < k->p_interruptible;
    }
    if (k->data_median_gb > 0) {
        double gb =
            clampd(k->data_median_gb * exp(k->data_sigma * cpn_rng_normal(&C->rng)), 0.1, 50000);
        job->data_gb = floor(gb * 10 + 0.5) / 10;
        job->data_site = pd->site;
    }
    if (k->p_ceiling > 0 && uni(C) < k->p_ceiling) {
        double est = (double)job->units * dur / 3600 * C->ref_ucny_per_unit_h[c];
        double cny = ceil(est * (1.5 + 1.5 * uni(C)) / (double)CPN_UCNY_PER_CNY);
        job->price_ceiling_ucny = (int64_t)fmax(1, cny) * CPN_UCNY_PER_CNY;
    }
    st->jobs++;
    st->by_kind[pd->kind]++;
    st->by_class[c]++;
    st->interruptible += job->interruptible;
    st->latency_bound += k->latency;
    st->offered_unit_h[c] += (double)job->units * dur / 3600;
    if (k->latency)
        st->offered_latency_unit_h[c] += (double)job->units * dur / 3600;
}

static int check_opts(const struct cpn_gen_demand_opts *o, struct cpn_error *err)
{
    if (o->days < 1 || o->days > CPN_GEN_MAX_DAYS)
        return cpn_errorf(err, CPN_EUSAGE, "days = %d: expected 1..%d", (int)o->days,
                          CPN_GEN_MAX_DAYS);
    if (o->jobs_per_day < 1 || o->jobs_per_day > CPN_GEN_MAX_JOBS_PER_DAY)
        return cpn_errorf(err, CPN_EUSAGE, "jobs-per-day = %lld: expected 1..%d",
                          (long long)o->jobs_per_day, CPN_GEN_MAX_JOBS_PER_DAY);
    if (!(o->load > 0 && o->load <= 10))
        return cpn_errorf(err, CPN_EUSAGE, "load = %g: expected a fraction of capacity in (0, 10]",
                          o->load);
    if (!(o->latency_load > 0 && o->latency_load <= 10))
        return cpn_errorf(err, CPN_EUSAGE,
                          "latency-load = %g: expected a fraction of the eastern capacity in "
                          "(0, 10]",
                          o->latency_load);
    if (o->start_s < 0 || o->start_s > 253402300799LL - 86400LL * (CPN_GEN_MAX_DAYS + 60))
        return cpn_errorf(err, CPN_EUSAGE, "start = %lld: expected a time in 1970..9799",
                          (long long)o->start_s);
    return 0;
}

int cpn_gen_demand_stream(const struct cpn_network *net,
                          const struct cpn_gen_demand_opts *o,
                          cpn_gen_job_fn fn,
                          void *ctx,
                          struct cpn_gen_demand_stats *stats,
                          struct cpn_error *err)
{
    struct ctx C;
    struct cpn_gen_demand_stats st;
    struct pending *pend;
    struct cpn_job job;
    int64_t seq = 0;
    int rc;
    if ((rc = check_opts(o, err)) || (rc = ctx_init(&C, net, o, err)))
        return rc;
    memset(&st, 0, sizeof st);
    for (int c = 0; c < CPN_CLASS_COUNT; c++) {
        st.capacity_unit_h[c] = C.cap_units_h[c] * o->days;
        st.capacity_east_unit_h[c] = C.east_units_h[c] * o->days;
        st.gang_scale[c] = C.gang[c][0];
        st.gang_scale_latency[c] = C.gang[c][1];
    }
    pend = cpn_calloc((size_t)o->jobs_per_day, sizeof *pend);
    if (!pend) {
        ctx_free(&C);
        return cpn_errorf(err, -ENOMEM, "demand: out of memory for %lld jobs a day",
                          (long long)o->jobs_per_day);
    }
    for (int32_t d = 0; d < o->days && !rc; d++) {
        int64_t day0 = o->start_s + (int64_t)d * 86400;
        for (int64_t i = 0; i < o->jobs_per_day; i++) {
            struct pending *p = &pend[i];
            size_t kk = pick_cdf(C.mix_cdf, CPN_GEN_KIND_COUNT, uni(&C));
            const double *site_cdf = kinds[kk].latency ? C.site_cdf_lat : C.site_cdf_all;
            const double *hour_cdf = kinds[kk].latency ? C.hour_cdf_lat : C.hour_cdf_flex;
            int64_t sec;
            p->kind = (uint8_t)kk;
            p->site = (int32_t)pick_cdf(site_cdf, net->nsites, uni(&C));
            p->seq = (uint32_t)i;
            sec = (int64_t)pick_cdf(hour_cdf, 24, uni(&C)) * 3600 + (int64_t)(uni(&C) * 3600);
            sec = ((sec - C.site_off_s[p->site]) % 86400 + 86400) % 86400;
            p->t = day0 + sec;
        }
        qsort(pend, (size_t)o->jobs_per_day, sizeof *pend, cmp_pending);
        for (int64_t i = 0; i < o->jobs_per_day; i++) {
            make_job(&C, &pend[i], ++seq, &job, &st);
            if ((rc = fn(ctx, &job, (enum cpn_gen_kind)pend[i].kind)))
                break;
        }
    }
    cpn_free(pend);
    ctx_free(&C);
    if (!rc && stats)
        *stats = st;
    return rc;
}

/* Collects streamed jobs into a jobset. */
struct collect {
    struct cpn_jobset *js;
    enum cpn_gen_kind *kinds;
    size_t cap;
};

static int collect_job(void *ctx, const struct cpn_job *job, enum cpn_gen_kind kind)
{
    struct collect *co = ctx;
    if (cpn_jobset_add(co->js, job, NULL, 0))
        return -ENOMEM;
    if (cpn_grow(&co->kinds, &co->cap, co->js->n, sizeof *co->kinds))
        return -ENOMEM;
    co->kinds[co->js->n - 1] = kind;
    return 0;
}

int cpn_gen_demand(const struct cpn_network *net,
                   const struct cpn_gen_demand_opts *o,
                   struct cpn_jobset **out,
                   enum cpn_gen_kind **kinds_out,
                   struct cpn_gen_demand_stats *stats,
                   struct cpn_error *err)
{
    struct collect co = { 0 };
    int rc = cpn_jobset_create(&co.js);
    if (rc)
        return cpn_errorf(err, rc, "demand: out of memory");
    rc = cpn_gen_demand_stream(net, o, collect_job, &co, stats, err);
    if (rc == -ENOMEM)
        rc = cpn_errorf(err, rc, "demand: out of memory");
    if (rc) {
        cpn_jobset_destroy(co.js);
        cpn_free(co.kinds);
        return rc;
    }
    *out = co.js;
    if (kinds_out)
        *kinds_out = co.kinds;
    else
        cpn_free(co.kinds);
    return 0;
}
