/* SPDX-License-Identifier: Apache-2.0 */
/* cpnet/model.h: the resource model and its loaders. A network (hubs, zones, clusters, pools,
 * sites, delays, outages), signals per zone (carbon intensity, green share, electricity price;
 * actual and forecast, resampled to the slot length) and jobs. The structures are plain data that
 * every component reads; they are built only by the loaders and generators here and are read-only
 * after that (docs/design/model-visible-structs.md says why these are visible and not opaque).
 *
 * Units are part of the names: _s seconds, _ms milliseconds, _kw kilowatts, _gco2_per_kwh, _ucny
 * micro-yuan (integer money: 1 CNY = 1,000,000 ucny). Formats are documented in docs/formats.md. */
#ifndef CPNET_MODEL_H
#define CPNET_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpnet/util.h"

#define CPN_ID_MAX       48 /* ids: [A-Za-z0-9._:-], 1..47 bytes */
#define CPN_NAME_MAX     64
#define CPN_UCNY_PER_CNY 1000000LL
#define CPN_UNLIMITED    INT64_MAX /* pool units for what-if studies */
#define CPN_NO_DEADLINE  INT64_MAX

enum cpn_class {
    CPN_CLASS_GENERAL,     /* CPU, FP32 */
    CPN_CLASS_INTELLIGENT, /* GPU/NPU, FP16 */
    CPN_CLASS_SUPER,       /* HPC, FP64 */
    CPN_CLASS_COUNT
};
const char *cpn_class_name(enum cpn_class c);
/* "general" | "intelligent" | "super" (also "cpu", "gpu", "hpc"). 0 or -EINVAL. */
int cpn_class_parse(const char *s, enum cpn_class *out);

enum cpn_region {
    CPN_REGION_EAST,
    CPN_REGION_WEST
};

struct cpn_hub {
    char id[CPN_ID_MAX];
    char name[CPN_NAME_MAX];
    enum cpn_region region;
};

/* An energy zone: the grid a cluster draws from. Values here are the defaults that a signal
 * series of the same kind overrides. */
struct cpn_zone {
    char id[CPN_ID_MAX];
    double grid_gco2_per_kwh;     /* grid carbon intensity (annual factor by default) */
    double green_share;           /* 0..1, share of supply from direct/contracted green power */
    double price_cny_per_kwh[24]; /* time-of-use price by UTC hour */
    int32_t utc_offset_min;       /* local time of the zone, for reports and time-of-use input */
};

struct cpn_pool {
    char id[CPN_ID_MAX]; /* unique within its cluster; global id is "<cluster>/<pool>" */
    int32_t cluster;     /* index into network clusters */
    enum cpn_class cls;
    char device[CPN_NAME_MAX]; /* device model, e.g. "H800", "Kunpeng 920" */
    int64_t units;             /* devices or cores; CPN_UNLIMITED for what-if studies */
    double tflops_per_unit;    /* peak TFLOPS in the class's precision */
    double watts_idle;         /* per unit */
    double watts_busy;         /* per unit */
    double mem_gib_per_unit;
    int64_t price_ucny_per_unit_h; /* rental price per unit-hour */
};

struct cpn_cluster {
    char id[CPN_ID_MAX];
    char name[CPN_NAME_MAX];
    char owner[CPN_NAME_MAX];
    char province[CPN_NAME_MAX];
    int32_t hub;  /* index into hubs */
    int32_t zone; /* index into zones */
    double lon, lat;
    double pue;
    double power_cap_kw; /* facility power available to placed work; 0 = no cap */
    int32_t pool_first;  /* pools of this cluster are pools[pool_first .. pool_first+pool_count) */
    int32_t pool_count;
};

struct cpn_site {
    char id[CPN_ID_MAX];
    char name[CPN_NAME_MAX];
    double lon, lat;
};

struct cpn_outage {
    int32_t cluster;
    int64_t start_s, end_s;
};

struct cpn_network {
    char name[CPN_NAME_MAX];
    int64_t slot_s;      /* slot length: a divisor of a day, default 900 */
    double route_factor; /* latency model: RTT = 2 * (km * route_factor * us_per_km + equip) */
    double fibre_us_per_km;
    double equipment_ms;
    double transfer_gbps; /* bandwidth for moving input data to a cluster */
    int64_t transfer_ucny_per_gb;
    size_t nhubs, nzones, nclusters, npools, nsites, noutages;
    struct cpn_hub *hubs;
    struct cpn_zone *zones;
    struct cpn_cluster *clusters;
    struct cpn_pool *pools;
    struct cpn_site *sites;
    struct cpn_outage *outages;
    double *rtt_ms; /* nsites x nclusters, row-major by site: configured or modelled */
};

/* Loads a network JSON file (docs/formats.md#network). On any error nothing is returned and err
 * names the file, the JSON pointer of the bad value, the value and what was expected.
 * The result is freed with cpn_network_destroy(). */
int cpn_network_load(const char *path, struct cpn_network **out, struct cpn_error *err);
/* The same from a JSON text in memory (name is used in messages). */
int cpn_network_parse(const char *json,
                      size_t len,
                      const char *name,
                      struct cpn_network **out,
                      struct cpn_error *err);
void cpn_network_destroy(struct cpn_network *net);
/* Writes the network back as JSON (the loader's format; round-trips). */
int cpn_network_write(const struct cpn_network *net, const char *path, struct cpn_error *err);
/* Index lookups by id; -1 when absent. */
int32_t cpn_network_hub(const struct cpn_network *net, const char *id);
int32_t cpn_network_zone(const struct cpn_network *net, const char *id);
int32_t cpn_network_cluster(const struct cpn_network *net, const char *id);
int32_t cpn_network_site(const struct cpn_network *net, const char *id);
/* Great-circle distance in km and the modelled RTT in ms. */
double cpn_geo_km(double lon1, double lat1, double lon2, double lat2);
double cpn_network_model_rtt_ms(const struct cpn_network *net, double km);
static inline double cpn_network_rtt(const struct cpn_network *net, int32_t site, int32_t cluster)
{
    return net->rtt_ms[(size_t)site * net->nclusters + (size_t)cluster];
}

/* ---- signals
 * -------------------------------------------------------------------------------------- */
enum cpn_signal_kind {
    CPN_SIG_CI,    /* grid carbon intensity, gCO2eq/kWh */
    CPN_SIG_GREEN, /* green share of supply, 0..1 */
    CPN_SIG_PRICE, /* electricity price, CNY/kWh */
    CPN_SIG_COUNT
};
const char *cpn_signal_kind_name(enum cpn_signal_kind k); /* "ci", "green", "price" */

/* A series on the slot grid: v[i] is the time-weighted mean over [t0 + i*step_s, +step_s). */
struct cpn_series {
    int64_t t0;
    int64_t step_s;
    size_t n;
    double *v;
    char source[160]; /* file and column it came from, or "default: ..." / "synthetic: ..." */
};
/* Loads a series CSV and resamples it to step_s by time-weighted mean (each sample holds until the
 * next one; the last one for the median sample spacing). Two formats, told apart by the header:
 * generic "time,value" (any resolution from 1 minute to 1 day, times ISO 8601 or seconds), and the
 * Electricity Maps hourly export (columns "Datetime (UTC)" and "Carbon Intensity gCO2eq/kWh (LCA)";
 * the column used is named in out->source). Free the values with cpn_series_free(). */
int cpn_series_load(const char *path,
                    int64_t step_s,
                    struct cpn_series *out,
                    struct cpn_error *err);
int cpn_series_parse(const char *csv,
                     size_t len,
                     const char *name,
                     int64_t step_s,
                     struct cpn_series *out,
                     struct cpn_error *err);
void cpn_series_free(struct cpn_series *s);
/* Value at time t: the slot containing t, clamped to the first/last slot outside the series. */
double cpn_series_at(const struct cpn_series *s, int64_t t);

/* Signals of every zone of a network: for each zone and kind, an optional actual and an optional
 * forecast series. Absent series fall back to the zone's defaults (for actual) and to the actual
 * (for forecast). */
struct cpn_signals {
    size_t nzones;
    int64_t step_s;
    struct cpn_series *actual;   /* nzones * CPN_SIG_COUNT; n == 0 means absent */
    struct cpn_series *forecast; /* same layout */
};
int cpn_signals_create(const struct cpn_network *net, struct cpn_signals **out);
void cpn_signals_destroy(struct cpn_signals *sig);
/* Loads "<zone>.<kind>.csv" files (kind: ci, green, price) from dir as actual (forecast=false) or
 * forecast series. Files for unknown zones or kinds are an error; missing files are not. */
int cpn_signals_load_dir(struct cpn_signals *sig,
                         const struct cpn_network *net,
                         const char *dir,
                         bool forecast,
                         struct cpn_error *err);
/* Replaces forecasts by actual + N(0, (pct/100 * mean(actual))^2) noise per slot, from seed. */
int cpn_signals_forecast_noise(struct cpn_signals *sig,
                               const struct cpn_network *net,
                               double pct,
                               uint64_t seed,
                               struct cpn_error *err);
/* The value of a kind in a zone at time t, from the forecast (forecast=true) or the actual series,
 * falling back as described above. */
double cpn_signals_value(const struct cpn_signals *sig,
                         const struct cpn_network *net,
                         int32_t zone,
                         enum cpn_signal_kind kind,
                         int64_t t,
                         bool forecast);
/* Effective carbon intensity of the supply of a zone: (1 - green) * ci, in gCO2/kWh. */
double cpn_signals_effective_ci(const struct cpn_signals *sig,
                                const struct cpn_network *net,
                                int32_t zone,
                                int64_t t,
                                bool forecast);

/* ---- jobs
 * ------------------------------------------------------------------------------------------ */
struct cpn_job {
    char id[CPN_ID_MAX];
    char tenant[CPN_ID_MAX];
    char device[CPN_NAME_MAX]; /* "" = any device of the class */
    int32_t site;              /* origin site index */
    int32_t data_site;         /* where the input data is; -1 = none */
    int16_t cls;               /* enum cpn_class */
    int16_t priority;          /* higher first when decisions are simultaneous */
    bool interruptible;        /* may run in any set of slots (checkpointed) */
    double min_tflops;         /* per unit; 0 = any */
    int64_t units;
    int64_t duration_s;  /* run time; 0 when given as work */
    double work_pflop_h; /* work, converted by pool speed; 0 when duration is given */
    int64_t submit_s;    /* when the platform learns of the job (default: earliest) */
    int64_t earliest_s;
    int64_t deadline_s; /* latest end; CPN_NO_DEADLINE = none */
    double max_rtt_ms;  /* 0 = no latency bound */
    double data_gb;
    uint64_t allowed_hubs;      /* bit per hub index; 0 = any hub */
    uint32_t allowed_off;       /* allowed clusters: jobset->allowed[allowed_off .. +n_allowed) */
    uint32_t n_allowed;         /* 0 = any cluster */
    int64_t price_ceiling_ucny; /* 0 = none */
};

struct cpn_jobset {
    size_t n, cap;
    struct cpn_job *v;
    int32_t *allowed; /* cluster indexes referenced by jobs' allowed_off/n_allowed */
    size_t nallowed, allowed_cap;
};

/* Loads jobs from CSV (header row names the columns, any order; docs/formats.md#jobs) or JSON (an
 * array of objects, or {"jobs": [...]}), told apart by the first non-blank byte. Ids resolve
 * against net. On error nothing is returned; err names file and line/column or JSON pointer, the
 * field, the value and what was expected. Free with cpn_jobset_destroy(). */
int cpn_jobs_load(const char *path,
                  const struct cpn_network *net,
                  struct cpn_jobset **out,
                  struct cpn_error *err);
int cpn_jobs_parse(const char *text,
                   size_t len,
                   const char *name,
                   const struct cpn_network *net,
                   struct cpn_jobset **out,
                   struct cpn_error *err);
void cpn_jobset_destroy(struct cpn_jobset *js);
/* Decodes one job object (a jansson json_t, borrowed) in the job format into a new jobset of one
 * job. With default_id the job gets that id whatever the object says (a service assigns its own
 * ids); with NULL the object's "id" is required. Messages use JSON pointers relative to the object
 * ("/units"). */
struct json_t;
int cpn_job_decode(const struct json_t *obj,
                   const char *name,
                   const struct cpn_network *net,
                   const char *default_id,
                   struct cpn_jobset **out,
                   struct cpn_error *err);
/* Appends a copy of job (allowed clusters given separately). 0 or -ENOMEM. */
int cpn_jobset_add(struct cpn_jobset *js,
                   const struct cpn_job *job,
                   const int32_t *allowed,
                   size_t nallowed);
int cpn_jobset_create(struct cpn_jobset **out);
/* Writes jobs as CSV in the loader's format. */
int cpn_jobs_write_csv(const struct cpn_jobset *js,
                       const struct cpn_network *net,
                       const char *path,
                       struct cpn_error *err);
/* Checks one job's own consistency (deadline after earliest, units > 0, ...). */
int cpn_job_validate(const struct cpn_job *job,
                     const struct cpn_network *net,
                     struct cpn_error *err);
/* Whether cluster c satisfies the job's residency rule. */
bool cpn_job_allows_cluster(const struct cpn_jobset *js,
                            const struct cpn_job *job,
                            const struct cpn_network *net,
                            int32_t c);

#endif
