/* SPDX-License-Identifier: Apache-2.0 */
/* What only the agent's files share: the agent config file (strictly checked JSON), the pure
 * decisions of the loop (telemetry damping, retry backoff), power readings (RAPL, NVML) and the
 * estimated power model, the platform client over libcurl, and the outbox of state events that
 * survives a restart. Everything here runs on the agent's one thread. */
#ifndef CPN_AGENT_INT_H
#define CPN_AGENT_INT_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpnet/agent.h"

#define AGT_POOLS_MAX 64

/* ---- the agent config file (docs/agent.md) ------------------------------------------------------
 * Which fields of a pool entry the file set, so that it can refine a discovered pool. */
enum {
    AGT_PF_PARTITION = 1u << 0,
    AGT_PF_CLASS = 1u << 1,
    AGT_PF_DEVICE = 1u << 2,
    AGT_PF_TFLOPS = 1u << 3,
    AGT_PF_WATTS_IDLE = 1u << 4,
    AGT_PF_WATTS_BUSY = 1u << 5,
    AGT_PF_MEM = 1u << 6,
    AGT_PF_PRICE = 1u << 7,
    AGT_PF_UNITS = 1u << 8
};

struct agt_pool_conf {
    struct cpn_agent_pool p;
    unsigned set; /* AGT_PF_* */
};

/* Registration fields of the cluster (PUT /v1/clusters/{id}). */
struct agt_cluster_conf {
    bool present;
    char name[CPN_NAME_MAX], hub[CPN_ID_MAX], zone[CPN_ID_MAX];
    char province[CPN_NAME_MAX], owner[CPN_NAME_MAX];
    double lon, lat, pue, power_cap_kw;
    bool has_lon, has_lat;
};

struct agt_conf {
    struct agt_pool_conf *pools; /* cpn_malloc'd */
    size_t npools;
    double telemetry_interval_s; /* 0 = not set */
    double damping;              /* share of total (and of utilisation) that triggers a report */
    int heartbeat_periods;       /* a report at least every this many periods */
    int max_jobs;                /* 0 = not set */
    int64_t cpu_s_per_unit;      /* limits; 0 = none */
    double mem_gib_per_unit;
    struct agt_cluster_conf cluster;
};

#define AGT_DAMPING_DEFAULT   0.05
#define AGT_HEARTBEAT_DEFAULT 6

/* Sets the defaults (no pools, damping 0.05, a heartbeat every 6 periods). */
void agt_conf_init(struct agt_conf *c);
/* Parses a config text; name is used in messages ("agent.json: /pools/0/units: ..."). Unknown keys
 * are errors except source, note and description. On failure *out is left initialised and empty.
 * Free with agt_conf_free. */
int agt_conf_parse(
    const char *text, size_t len, const char *name, struct agt_conf *out, struct cpn_error *err);
int agt_conf_load(const char *path, struct agt_conf *out, struct cpn_error *err);
void agt_conf_free(struct agt_conf *c);

/* ---- pure decisions -----------------------------------------------------------------------------
 */
/* Whether a telemetry report goes out this period. sent holds the pools of the last report sent
 * (NULL: none sent yet); periods_since counts the periods since it (1 = the previous one). A
 * report goes out when nothing was sent yet, damping <= 0, periods_since >= heartbeat, a total
 * changed, some pool's availability moved by more than damping x its total, or the utilisation
 * by more than damping. */
bool agt_damp_send(const struct cpn_agent_pool *sent,
                   const struct cpn_agent_pool *cur,
                   size_t n,
                   double sent_util,
                   double cur_util,
                   double damping,
                   int periods_since,
                   int heartbeat);
/* Seconds to wait after the failures-th failure in a row: 0.5 s doubling to 30 s, times a jitter
 * factor from 0.75 to 1.25 (jitter01 in [0, 1)), kept within 0.5 .. 30. 0 for failures <= 0. */
double agt_backoff_s(int failures, double jitter01);
/* Utilisation of the pools: busy units over total units (0 when there are none). */
double agt_utilisation(const struct cpn_agent_pool *pools, size_t n);
/* Facility power in kW from the pools' power model: sum of units x (idle + (busy - idle) x the
 * pool's utilisation) x pue / 1000. */
double agt_power_estimate_kw(const struct cpn_agent_pool *pools, size_t n, double pue);

/* ---- measured power
 * ------------------------------------------------------------------------------ RAPL: the package
 * domains /sys/class/powercap/intel-rapl:N (not their sub-domains), whose energy_uj counters are
 * read twice to give watts (wrapping at max_energy_range_uj). */
#define AGT_RAPL_MAX 16
struct agt_rapl {
    size_t n;
    char path[AGT_RAPL_MAX][320];
    uint64_t range_uj[AGT_RAPL_MAX];
    uint64_t last_uj[AGT_RAPL_MAX];
    int64_t last_ns;
    bool primed;
};
/* Finds readable package domains under root (NULL = /sys/class/powercap). 0 when at least one,
 * else -ENOENT. */
int agt_rapl_open(struct agt_rapl *r, const char *root);
/* Reads the counters at now_ns (monotonic): 1 with *watts since the previous read, 0 on the first
 * read, negative when a counter cannot be read. */
int agt_rapl_watts(struct agt_rapl *r, int64_t now_ns, double *watts);

/* NVML (libnvidia-ml.so.1, loaded at run time when present): GPU count, model, memory and power. */
struct agt_nvml;
/* 0 with *out, or -ENOENT when NVML is absent or reports no GPU. */
int agt_nvml_open(struct agt_nvml **out);
unsigned agt_nvml_count(const struct agt_nvml *g);
void agt_nvml_device(const struct agt_nvml *g, char *name, size_t size, double *mem_gib);
/* Summed power of every GPU in watts; negative when it cannot be read. */
int agt_nvml_watts(struct agt_nvml *g, double *watts);
void agt_nvml_close(struct agt_nvml *g);

/* ---- the platform client
 * ------------------------------------------------------------------------- One libcurl easy handle
 * (its connection is reused). A call returns 0 when an HTTP answer came, whatever its status, and
 * the body parsed as JSON when it is; -EIO when no answer came (refused, timed out: r->error says
 * which), -EINTR when *stop aborted it. The token goes only into the Authorization header. */
struct agt_http;
struct agt_reply {
    long status;
    json_t *json; /* owned; NULL when the body is empty or not JSON */
    char error[1024];
};
int agt_http_open(const char *base,
                  const char *token,
                  volatile sig_atomic_t *stop,
                  struct agt_http **out,
                  struct cpn_error *err);
void agt_http_close(struct agt_http *h);
int agt_http_call(struct agt_http *h,
                  const char *method,
                  const char *path,
                  const char *body,
                  long timeout_s,
                  struct agt_reply *r);
void agt_reply_free(struct agt_reply *r);
/* True for answers worth retrying: none, 408, 429 and 5xx. */
bool agt_retryable(int rc, const struct agt_reply *r);
/* A short description of a failed answer for the log: the problem's detail, or the error. */
void agt_reply_why(const struct agt_reply *r, char *out, size_t size);

/* ---- the outbox
 * ---------------------------------------------------------------------------------- Events not yet
 * acknowledged by the platform, in order, persisted in DIR/outbox.jsonl (rewritten whole, via a
 * temporary file and rename, on every change) so that a restarted agent delivers them. */
struct agt_event {
    char job[CPN_AGENT_JOB_ID_MAX];
    char *body; /* the event's JSON text (cpn_malloc'd) */
};
struct agt_outbox {
    char path[4096];
    struct agt_event *ev;
    size_t n, cap;
};
/* Opens DIR/outbox.jsonl and loads what it holds. */
int agt_outbox_open(struct agt_outbox *o, const char *dir, struct cpn_error *err);
/* Appends an event (body is copied) and persists. */
int agt_outbox_push(struct agt_outbox *o, const char *job, const char *body, struct cpn_error *err);
/* Drops the oldest event and persists. */
int agt_outbox_pop(struct agt_outbox *o, struct cpn_error *err);
void agt_outbox_close(struct agt_outbox *o);

/* ---- small shared helpers
 * ------------------------------------------------------------------------ */
/* True when s can name a file in a state directory: a job id of [A-Za-z0-9._:-], 1..63 bytes, not
 * starting with a dot. */
bool agt_job_id_ok(const char *s);
/* mkdir -p with mode 0755. */
int agt_mkdirs(const char *path, struct cpn_error *err);
/* Writes text to path atomically (temporary file, fsync, rename). */
int agt_write_file(const char *path, const char *text, struct cpn_error *err);

#endif
