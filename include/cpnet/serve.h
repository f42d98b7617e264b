/* SPDX-License-Identifier: Apache-2.0 */
/* cpnet/serve.h: the platform service. One event-loop thread owns the platform state (network,
 * signals, jobs and their placements, the engine) and drives the engine with the injected clock;
 * HTTP threads parse requests and hand them to the loop as commands; the loop applies a batch of
 * commands, commits their writes to the store once (group commit) and only then answers them. */
#ifndef CPNET_SERVE_H
#define CPNET_SERVE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "cpnet/sched.h"
#include "cpnet/util.h"

struct cpn_serve_config {
    const char *network_path; /* the base network (JSON); registrations are stored overlays */
    const char *data_dir;     /* the store's directory (created when absent) */
    const char *signals_dir;  /* optional: <zone>.<kind>.csv series loaded (and stored) at start */
    const char *listen;       /* "127.0.0.1:8080" */
    const char *policy;       /* "green" by default */
    struct cpn_clock clock;   /* real clock in production, a test clock in tests */
    unsigned http_threads;    /* 0 = 2 */
    int horizon_days;         /* planning horizon, 0 = 14 */
    double rate_per_s;        /* per-token request rate; 0 = unlimited */
    double rate_burst;        /* bucket size; 0 = 2 x rate */
    int telemetry_timeout_s;  /* a reporting cluster that is silent this long is down; 0 = 90 */
    int batch_max;            /* commands per group commit; 0 = 4096 */
    double default_slack_h;   /* a job without a deadline may finish this long after its
                               * earliest end; 0 = 48 h (the job's record shows the deadline) */
    FILE *log;                /* operational messages (stderr when NULL) */
    double clock_speed;       /* reported to agents: platform seconds per wall second (the
                               * clock itself is cfg.clock; 0 = 1) */
};

struct cpn_server;
/* Opens the store, loads the network and persisted state, creates the operator token on the first
 * start (DIR/operator.token, mode 0600; its path is logged, never the token), starts the HTTP
 * server and the loop. Free with cpn_server_stop(). */
int cpn_server_start(const struct cpn_serve_config *cfg,
                     struct cpn_server **out,
                     struct cpn_error *err);
/* The bound HTTP port. */
int cpn_server_port(const struct cpn_server *s);
/* Stops HTTP, drains the loop (answered requests stay answered), closes the store. */
void cpn_server_stop(struct cpn_server *s);

#endif
