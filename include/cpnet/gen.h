/* SPDX-License-Identifier: Apache-2.0 */
/* cpnet/gen.h: synthetic inputs for simulation. Signals per zone (grid carbon intensity, green
 * share, electricity price) from sun position, a wind shape fitted to real European generation and
 * the zone's defaults; a mixed demand trace whose sizes and durations follow distributions fitted
 * to public cluster traces; and K-times larger copies of a network. Everything is a pure function
 * of its inputs and a seed: the same seed gives byte-identical output on every machine.
 * docs/reference-data.md describes the methods and the provenance of every parameter. */
#ifndef CPNET_GEN_H
#define CPNET_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpnet/model.h"
#include "cpnet/util.h"

#define CPN_GEN_DEFAULT_START        1735689600LL /* 2025-01-01T00:00:00Z */
#define CPN_GEN_DEFAULT_DAYS         365
#define CPN_GEN_DEFAULT_JOBS         20000 /* jobs per day */
#define CPN_GEN_DEFAULT_LOAD         0.3   /* offered unit-hours / capacity unit-hours, per class */
#define CPN_GEN_DEFAULT_LATENCY_LOAD 0.3   /* latency-bound unit-hours / eastern capacity */
#define CPN_GEN_MAX_DAYS             36600
#define CPN_GEN_MAX_JOBS_PER_DAY     10000000

/* ---- signals --------------------------------------------------------------------------------- */
struct cpn_gen_signals_opts {
    uint64_t seed;
    int64_t start_s; /* first hour (UTC); rounded down to a whole hour */
    int32_t days;    /* 1..CPN_GEN_MAX_DAYS */
};
void cpn_gen_signals_defaults(struct cpn_gen_signals_opts *o);

/* The hourly series of one zone and the supply model that produced them. */
struct cpn_gen_zone {
    char zone[CPN_ID_MAX];
    double lon, lat;       /* where the sun and wind are computed (mean of the zone's clusters) */
    double load_mw;        /* design load: pools' busy power x utilisation x PUE */
    double wind_mw, pv_mw; /* direct + contracted supply after calibration (scale applied) */
    double base_share;     /* constant green supply (hydro, contracts) as a share of load */
    double storage_mw, storage_mwh;
    double scale;        /* factor on the table's wind and PV MW that meets the target */
    double target_green; /* the zone's green_share (annual mean) */
    double mean_green;   /* achieved mean over the calibration year */
    /* Hourly values from t0; the first n are the asked period (at least a year is held). */
    double *ci;                 /* gCO2/kWh */
    double *green;              /* 0..1 */
    double *price;              /* CNY/kWh */
    double *wind_cf, *solar_cf; /* capacity factors 0..1, for reports and tests */
};

struct cpn_gen_signals {
    int64_t t0;
    int64_t step_s; /* 3600 */
    size_t n;       /* hours */
    uint64_t seed;
    size_t nzones;
    struct cpn_gen_zone *zones; /* in the network's zone order */
};

/* Synthesises hourly signals for every zone of net. The green share is calibrated over a whole
 * year from start (even when fewer days are asked for), so the first D days of a longer run equal
 * a D-day run. Free with cpn_gen_signals_destroy(). 0, -ENOMEM or CPN_EUSAGE (err says which
 * option). Thread: any; no shared state. */
int cpn_gen_signals(const struct cpn_network *net,
                    const struct cpn_gen_signals_opts *o,
                    struct cpn_gen_signals **out,
                    struct cpn_error *err);
void cpn_gen_signals_destroy(struct cpn_gen_signals *s);
/* Writes <zone>.ci.csv, <zone>.green.csv and <zone>.price.csv ("time,value", hourly, ISO 8601
 * UTC) and README.txt (synthetic, method, seed, per-zone supply model) into dir, which must
 * exist. 0 or -errno (err names the file). */
int cpn_gen_signals_write(const struct cpn_gen_signals *s, const char *dir, struct cpn_error *err);

/* Clear-sky photovoltaic capacity factor (0..~1) at a place and UTC time, from the sun's position
 * (declination, equation of time, hour angle). 0 when the sun is below the horizon. */
double cpn_gen_clear_sky_cf(double lon, double lat, int64_t t);

/* ---- demand ---------------------------------------------------------------------------------- */
/* Kinds of work in the generated mix. */
enum cpn_gen_kind {
    CPN_GEN_INFERENCE,   /* intelligent, latency-bound, no slack */
    CPN_GEN_INTERACTIVE, /* general, latency-bound, no slack */
    CPN_GEN_TRAINING,    /* intelligent, many devices, interruptible, deadline with slack */
    CPN_GEN_FINETUNE,    /* intelligent, fewer devices, interruptible, shorter slack */
    CPN_GEN_BATCH,       /* general analytics, slack of hours */
    CPN_GEN_HPC,         /* super, nodes, slack */
    CPN_GEN_KIND_COUNT
};
const char *cpn_gen_kind_name(enum cpn_gen_kind k);

struct cpn_gen_demand_opts {
    uint64_t seed;
    int64_t start_s;      /* first day (UTC) */
    int32_t days;         /* 1..CPN_GEN_MAX_DAYS */
    int64_t jobs_per_day; /* 1..CPN_GEN_MAX_JOBS_PER_DAY; exactly this many each day */
    double load;          /* offered load per class as a fraction of its capacity, (0, 10] */
    double latency_load;  /* of which latency-bound: this fraction of the eastern capacity */
};
void cpn_gen_demand_defaults(struct cpn_gen_demand_opts *o);

struct cpn_gen_demand_stats {
    int64_t jobs;
    int64_t by_kind[CPN_GEN_KIND_COUNT];
    int64_t by_class[CPN_CLASS_COUNT];
    int64_t interruptible;
    int64_t latency_bound;
    double offered_unit_h[CPN_CLASS_COUNT];         /* sum of units x hours (at reference speed) */
    double offered_latency_unit_h[CPN_CLASS_COUNT]; /* the latency-bound part */
    double capacity_unit_h[CPN_CLASS_COUNT];        /* pools' units x hours of the period */
    double capacity_east_unit_h[CPN_CLASS_COUNT];   /* the part in clusters of eastern hubs */
    double gang_scale[CPN_CLASS_COUNT];             /* multiplier on flexible jobs' sizes */
    double gang_scale_latency[CPN_CLASS_COUNT];     /* the same for latency-bound jobs */
};

/* Called once per generated job, in submit order. job->allowed_off/n_allowed are 0 (generated
 * residency rules use allowed_hubs only). A non-zero return stops generation and is returned. */
typedef int (*cpn_gen_job_fn)(void *ctx, const struct cpn_job *job, enum cpn_gen_kind kind);

/* Generates days x jobs_per_day jobs for net and hands each to fn; memory stays bounded by one
 * day. stats (may be NULL) receives the totals. 0, -ENOMEM, CPN_EUSAGE (bad option, or a network
 * without sites or pools), or fn's code. */
int cpn_gen_demand_stream(const struct cpn_network *net,
                          const struct cpn_gen_demand_opts *o,
                          cpn_gen_job_fn fn,
                          void *ctx,
                          struct cpn_gen_demand_stats *stats,
                          struct cpn_error *err);
/* The same into a new jobset (free with cpn_jobset_destroy()); kinds (may be NULL) receives a
 * cpn_malloc'd array of each job's kind, freed with cpn_free(). */
int cpn_gen_demand(const struct cpn_network *net,
                   const struct cpn_gen_demand_opts *o,
                   struct cpn_jobset **out,
                   enum cpn_gen_kind **kinds,
                   struct cpn_gen_demand_stats *stats,
                   struct cpn_error *err);

/* A streaming jobs writer in the jobs loader's format (docs/formats.md#jobs): CSV with a header
 * row, or a JSON array of objects. Rows are buffered; 5 million rows take seconds. */
struct cpn_gen_jobs_writer;
/* path "-" writes to stdout. Free with cpn_gen_jobs_writer_close() (also on error paths). */
int cpn_gen_jobs_writer_open(const char *path,
                             const struct cpn_network *net,
                             bool json,
                             struct cpn_gen_jobs_writer **out,
                             struct cpn_error *err);
/* allowed: cluster indexes (in addition to job->allowed_hubs); may be NULL when nallowed is 0. */
int cpn_gen_jobs_writer_put(struct cpn_gen_jobs_writer *w,
                            const struct cpn_job *job,
                            const int32_t *allowed,
                            size_t nallowed,
                            struct cpn_error *err);
/* Flushes, closes and frees; returns the first write error (err names the file). */
int cpn_gen_jobs_writer_close(struct cpn_gen_jobs_writer *w, struct cpn_error *err);

/* ---- scaled networks ------------------------------------------------------------------------- */
struct cpn_gen_scale_opts {
    int32_t scale;     /* 1..1000: copies of each cluster, the original included */
    uint64_t seed;     /* jitter of the copies' coordinates */
    double jitter_deg; /* largest shift of lon and lat, default 0.5 */
};
void cpn_gen_scale_defaults(struct cpn_gen_scale_opts *o);
/* Reads a network JSON text and returns a new one (cpn_malloc'd, NUL-terminated, free with
 * cpn_free()) in which every cluster has scale - 1 copies "<id>-<k>" (k = 1..scale-1) in the same
 * hub, with coordinates jittered by up to jitter_deg, its own copy "<zone>-<k>" of the zone and
 * the same pools. Sites, delays (of the originals) and everything else are kept. The input must
 * load with cpn_network_parse (err then says what is wrong). 0, -ENOMEM, CPN_EUSAGE, CPN_EPARSE,
 * CPN_EFIELD. */
int cpn_gen_scale_network(const char *json,
                          size_t len,
                          const char *name,
                          const struct cpn_gen_scale_opts *o,
                          char **out,
                          size_t *out_len,
                          struct cpn_error *err);

#endif
