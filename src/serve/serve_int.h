/* SPDX-License-Identifier: Apache-2.0 */
/* What the service's own files share. struct cpn_server is owned by the loop thread: only the
 * command queue (queue.c) is touched by HTTP threads, under its mutex. Jobs live in memory (an
 * array of pointers plus id and idempotency maps) and in the store as JSON documents; the engine
 * holds the commitments of every placed job that has not ended. */
#ifndef CPN_SERVE_INT_H
#define CPN_SERVE_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>

#include "cpnet/api.h"
#include "cpnet/model.h"
#include "cpnet/sched.h"
#include "cpnet/serve.h"
#include "cpnet/store.h"

enum srv_state {
    SJ_QUEUED, /* accepted, waiting for capacity (re-tried on every re-plan) */
    SJ_PLACED, /* placed; running or completed is derived from the clock */
    SJ_CANCELLED,
    SJ_COUNT
};

/* What an agent reported about a job's execution (docs/agent-protocol.md). */
enum srv_exec_state {
    SX_NONE,
    SX_DISPATCHED,
    SX_RUNNING,
    SX_COMPLETED,
    SX_FAILED,
    SX_CANCELLED,
    SX_LOST,
    SX_COUNT
};
const char *srv_exec_name(enum srv_exec_state x);
int srv_exec_parse(const char *s, enum srv_exec_state *out);
static inline bool srv_exec_final(enum srv_exec_state x)
{
    return x >= SX_COMPLETED;
}

struct srv_exec {
    enum srv_exec_state state;
    int32_t cluster; /* where it was dispatched */
    char executor_id[64];
    int64_t dispatched_s, started_s, ended_s;
    int exit_code;
    char message[160];
    double unit_hours, energy_kwh;
    bool energy_measured;
};

struct srv_job {
    char id[CPN_STORE_ID_MAX];
    char tenant[CPN_STORE_ID_MAX];
    char idem[CPN_STORE_IDEM_MAX];
    char idem_key[CPN_STORE_ID_MAX + CPN_STORE_IDEM_MAX + 2]; /* "tenant\x1fkey" for the map */
    char name[CPN_ID_MAX];                                    /* the client's own id, if any */
    enum srv_state state;
    struct cpn_job spec; /* allowed clusters in allowed[], spec.allowed_off = 0 */
    int32_t *allowed;
    int64_t created_s, updated_s, cancelled_s;
    bool placed;
    struct cpn_placement pl;  /* pl.runs points at runs when pl.nruns > 1 */
    double green_share;       /* energy-weighted green share of the supply over its slots */
    double nearest_carbon_kg; /* carbon of the nearest feasible option: what "nearest" would emit */
    struct cpn_slot_run *runs;
    char reason[256];      /* why it is queued */
    char *command;         /* what the agent runs (NULL: the executor's placeholder) */
    struct srv_exec exec;  /* the execution on its current cluster */
    struct srv_exec stale; /* an execution left behind on a cluster the job moved away from */
    char *explain;         /* JSON text of the explanation of its latest decision (cpn_malloc) */
};

/* The state a client sees: queued, placed, dispatched, running, completed, failed, cancelled or
 * lost (from the agent's reports when the job has an execution, else from the clock). */
const char *srv_job_state(const struct cpn_server *s, const struct srv_job *j);

/* One request on its way through the loop. */
struct srv_cmd {
    struct cpn_http_request *req;
    bool parked; /* a long-poll waiting for its cluster's assignments to change */
    int32_t wait_cluster;
    uint64_t wait_version;
    int64_t wait_deadline_ns;
    int64_t wait_horizon_s;
    json_t *body;          /* parsed on the HTTP thread; NULL when none or not JSON */
    char parse_error[256]; /* when the body is not valid JSON */
    struct cpn_http_response resp;
    struct srv_cmd *next;
};

struct srv_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct srv_cmd *head, *tail;
    size_t n;
    bool stop;
};

struct srv_bucket {
    char token_id[CPN_TOKEN_ID_LEN + 1];
    double tokens;
    int64_t last_ns;
};

/* A token checked recently: the store is asked again after SRV_TOKEN_TTL_NS, so a revocation
 * takes effect within that time without a store read on every request. */
#define SRV_TOKEN_CACHE  256
#define SRV_TOKEN_TTL_NS 1000000000LL
struct srv_token_cache {
    char token[CPN_TOKEN_MAX];
    struct cpn_token_rec rec;
    int64_t checked_ns;
};

struct srv_principal {
    enum cpn_role role;
    char subject[CPN_STORE_ID_MAX];
    char token_id[CPN_TOKEN_ID_LEN + 1];
};

/* Per-cluster telemetry and health. */
struct srv_cluster_state {
    int64_t last_report_s; /* 0 = never reported (static network: assumed up) */
    bool down;
    double utilisation;
    double power_kw;
    double measured_pue;
    bool have_telemetry;
    uint64_t version; /* assignment version: changes whenever its run/cancel set may change */
};

/* Latency histogram buckets (seconds) for placement decisions. */
#define SRV_HIST_N 12

struct cpn_server {
    struct cpn_serve_config cfg;
    FILE *log;
    struct cpn_store *store;
    struct cpn_http *http;
    struct cpn_network *net;
    json_t *net_doc; /* the network as JSON: base file plus stored registrations */
    struct cpn_signals *sig;
    struct cpn_engine *eng;
    struct cpn_policy pol;
    struct srv_queue q;
    pthread_t loop;
    bool loop_started;
    bool failed; /* a commit failed: the loop answers 503 and the server must restart */

    struct srv_job **jobs;
    size_t njobs, jobs_cap;
    struct cpn_strmap job_ids;  /* id -> index */
    struct cpn_strmap idem_ids; /* tenant\x1fkey -> index */

    struct srv_cluster_state *cl; /* per cluster */
    int64_t *pool_available;      /* K2 per pool from telemetry, -1 unknown */

    struct srv_token_cache tokens[SRV_TOKEN_CACHE];
    struct srv_cmd *waiters; /* parked long-polls (linked by next) */
    struct srv_bucket *buckets;
    size_t nbuckets, buckets_cap;
    struct cpn_strmap bucket_ids;

    struct cpn_rng rng; /* for job ids (seeded from the kernel) */
    uint64_t id_seq;

    /* metrics */
    uint64_t hist[SRV_HIST_N + 1];
    double hist_sum;
    uint64_t hist_count;
    uint64_t requests_total;
    uint64_t replans_total;
    uint64_t commits_total;
    uint64_t rejected_total;
    int64_t started_s;
};

/* clock */
static inline int64_t srv_now_s(const struct cpn_server *s)
{
    return s->cfg.clock.now_ns(s->cfg.clock.ctx) / 1000000000;
}

/* queue.c */
int srv_queue_init(struct srv_queue *q);
void srv_queue_destroy(struct srv_queue *q);
void srv_queue_push(struct srv_queue *q, struct srv_cmd *c);
/* Waits up to timeout_ms for commands; returns the list (may be NULL) of at most max. */
struct srv_cmd *srv_queue_take(struct srv_queue *q, int timeout_ms, size_t max, bool *stop);
void srv_queue_stop(struct srv_queue *q);

/* loop.c */
void *srv_loop_main(void *arg);
void srv_http_handler(void *ctx, struct cpn_http_request *req);

/* auth.c: 0 with *who, or fills c->resp with 401/429 and returns -1 */
int srv_authenticate(struct cpn_server *s, struct srv_cmd *c, struct srv_principal *who);
bool srv_may_see_job(const struct srv_principal *who, const struct srv_job *j);
bool srv_is_operator(const struct srv_principal *who);
bool srv_provider_owns(const struct srv_principal *who, const char *cluster_id);

/* respond helpers (loop.c) */
void srv_problem(struct srv_cmd *c, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void srv_json(struct srv_cmd *c, int status, json_t *obj); /* steals obj */

/* jobs.c */
void srv_jobs_submit(struct cpn_server *s, struct srv_cmd *c, const struct srv_principal *who);
void srv_jobs_get(struct cpn_server *s, struct srv_cmd *c, const struct srv_principal *who);
void srv_jobs_list(struct cpn_server *s, struct srv_cmd *c, const struct srv_principal *who);
void srv_jobs_cancel(struct cpn_server *s, struct srv_cmd *c, const struct srv_principal *who);
void srv_jobs_explain(struct cpn_server *s, struct srv_cmd *c, const struct srv_principal *who);
void srv_quote(struct cpn_server *s, struct srv_cmd *c, const struct srv_principal *who);
/* Re-plans every placed job that has not started and every queued job (after a change of
 * signals, capacity or health). Writes changed jobs to the store (inside the loop's transaction).
 */
void srv_replan(struct cpn_server *s, const char *why);
int srv_job_store(struct cpn_server *s, struct srv_job *j, struct cpn_error *err);
int srv_jobs_load(struct cpn_server *s, struct cpn_error *err);
json_t *srv_job_json(const struct cpn_server *s, const struct srv_job *j);
/* The job's JSON text (cpn_malloc'd; NULL when out of memory), and the writers behind it. */
char *srv_job_text(const struct cpn_server *s, const struct srv_job *j);
void srv_job_write(const struct cpn_server *s, const struct srv_job *j, struct cpn_buf *b);
void srv_placement_write(const struct cpn_server *s,
                         const struct cpn_placement *p,
                         struct cpn_buf *b);
/* Answers with JSON text (takes it; NULL answers 500). */
void srv_text(struct srv_cmd *c, int status, char *text);
json_t *srv_placement_json(const struct cpn_server *s, const struct cpn_placement *p);
json_t *srv_explain_json(const struct cpn_server *s, const struct cpn_explain *ex);
char *srv_explain_text(const struct cpn_server *s, const struct cpn_explain *ex);
void srv_job_free(struct srv_job *j);

/* assign.c: the agent side of the platform */
void srv_assignments(struct cpn_server *s, struct srv_cmd *c, const struct srv_principal *who);
void srv_job_event(struct cpn_server *s, struct srv_cmd *c, const struct srv_principal *who);
/* Answers parked long-polls whose cluster changed or whose wait ran out (after the commit). */
void srv_waiters_answer(struct cpn_server *s, bool all);
/* Marks the assignments of cluster k changed (-1: every cluster). */
void srv_cluster_bump(struct cpn_server *s, int32_t k);
/* Writes the execution of j as JSON (after a comma) when there is one. */
void srv_exec_write(const struct cpn_server *s, const struct srv_job *j, struct cpn_buf *b);

/* network.c */
void srv_hubs(struct cpn_server *s, struct srv_cmd *c);
void srv_sites(struct cpn_server *s, struct srv_cmd *c);
void srv_clusters_list(struct cpn_server *s, struct srv_cmd *c);
void srv_cluster_get(struct cpn_server *s, struct srv_cmd *c);
void srv_cluster_pools(struct cpn_server *s, struct srv_cmd *c);
void srv_cluster_put(struct cpn_server *s, struct srv_cmd *c, const struct srv_principal *who);
void srv_telemetry(struct cpn_server *s, struct srv_cmd *c, const struct srv_principal *who);
/* Marks silent clusters down and returning ones up; re-plans when health changed. */
void srv_health_tick(struct cpn_server *s, int64_t now_s);
int srv_clusters_load(struct cpn_server *s, struct cpn_error *err);
/* Restores the last telemetry of each cluster; silence timeouts restart from now. */
int srv_telemetry_load(struct cpn_server *s, struct cpn_error *err);

/* signals.c */
void srv_signals_list(struct cpn_server *s, struct srv_cmd *c);
void srv_signal_get(struct cpn_server *s, struct srv_cmd *c);
void srv_signal_put(struct cpn_server *s, struct srv_cmd *c, const struct srv_principal *who);
void srv_cas_best(struct cpn_server *s, struct srv_cmd *c);
void srv_cas_forecast(struct cpn_server *s, struct srv_cmd *c);
int srv_signals_load(struct cpn_server *s, struct cpn_error *err);
/* Loads <zone>.<kind>.csv files of dir as actual series and stores them (serve --signals). */
int srv_signals_import_dir(struct cpn_server *s, const char *dir, struct cpn_error *err);

/* metrics.c */
void srv_metrics(struct cpn_server *s, struct srv_cmd *c);
void srv_observe_decision(struct cpn_server *s, double seconds);

/* engine.c (the service's engine: horizon, rebuild, re-commit) */
int srv_engine_rebuild(struct cpn_server *s, int64_t now_s, struct cpn_error *err);
/* Rolls the horizon forward when the clock has moved a day past its start. */
void srv_engine_tick(struct cpn_server *s, int64_t now_s);

#endif
