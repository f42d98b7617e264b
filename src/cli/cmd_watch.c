/* SPDX-License-Identifier: Apache-2.0 */
/* cpnet watch: a live view of the platform for operators and demos. Every few seconds it reads all
 * jobs (GET /v1/jobs, following "next") and the clusters, and prints jobs by hub and state, the
 * energy-weighted green share of the placed work, the share of energy in the western hubs, and the
 * carbon of the placements against what the nearest feasible cluster would have emitted (the
 * baseline each decision records). Stops after --seconds, or when every job has ended
 * (--until-done). */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "client.h"

#define MAX_HUBS 64
#define NSTATES  8
static const char *const states[NSTATES] = { "queued",    "placed", "dispatched", "running",
                                             "completed", "failed", "cancelled",  "lost" };

struct hub_row {
    char id[64];
    bool west;
    long n[NSTATES];
};

struct view {
    struct hub_row hubs[MAX_HUBS];
    size_t nhubs;
    char cluster_hub[512][64]; /* cluster id -> hub index via parallel arrays */
    char cluster_id[512][64];
    size_t nclusters;
    long jobs, ended;
    double energy, green_energy, west_energy, carbon, nearest_carbon, unit_hours, metered_kwh;
};

static int hub_index(struct view *v, const char *id)
{
    for (size_t i = 0; i < v->nhubs; i++)
        if (!strcmp(v->hubs[i].id, id))
            return (int)i;
    return -1;
}

static int load_network(struct cpn_client *c, struct view *v)
{
    struct cpn_reply r;
    const json_t *a, *x;
    size_t i;
    int rc = cpn_client_get(c, "/v1/hubs", &r);
    if (rc)
        return cpn_client_report(c, "hubs", &r);
    a = json_object_get(r.json, "hubs");
    json_array_foreach(a, i, x)
    {
        const json_t *cl, *y;
        size_t k;
        if (v->nhubs == MAX_HUBS)
            break;
        snprintf(v->hubs[v->nhubs].id, sizeof v->hubs[v->nhubs].id, "%s",
                 cpn_jstr(x, "id") ? cpn_jstr(x, "id") : "?");
        v->hubs[v->nhubs].west = cpn_jstr(x, "region") && !strcmp(cpn_jstr(x, "region"), "west");
        cl = json_object_get(x, "clusters");
        json_array_foreach(cl, k, y)
        {
            if (v->nclusters < 512 && json_is_string(y)) {
                snprintf(v->cluster_id[v->nclusters], 64, "%s", json_string_value(y));
                memcpy(v->cluster_hub[v->nclusters], v->hubs[v->nhubs].id, 64);
                v->nclusters++;
            }
        }
        v->nhubs++;
    }
    cpn_reply_free(&r);
    return CPN_EXIT_OK;
}

static int job_hub(const struct view *v, const char *cluster)
{
    for (size_t i = 0; cluster && i < v->nclusters; i++)
        if (!strcmp(v->cluster_id[i], cluster))
            return hub_index((struct view *)(uintptr_t)v, v->cluster_hub[i]);
    return -1;
}

static void count_job(struct view *v, const json_t *j)
{
    const char *st = cpn_jstr(j, "state");
    const json_t *p = json_object_get(j, "placement"), *x = json_object_get(j, "execution");
    int h = job_hub(v, p ? cpn_jstr(p, "cluster") : NULL);
    v->jobs++;
    for (int k = 0; k < NSTATES && st; k++)
        if (!strcmp(st, states[k]) && h >= 0)
            v->hubs[h].n[k]++;
    if (st && (!strcmp(st, "completed") || !strcmp(st, "failed") || !strcmp(st, "cancelled") ||
               !strcmp(st, "lost")))
        v->ended++;
    if (p && (!st || strcmp(st, "cancelled"))) {
        double e = json_number_value(json_object_get(p, "energy_kwh"));
        v->energy += e;
        v->green_energy += e * json_number_value(json_object_get(j, "green_share"));
        if (h >= 0 && v->hubs[h].west)
            v->west_energy += e;
        v->carbon += json_number_value(json_object_get(p, "carbon_kg"));
        v->nearest_carbon += json_number_value(json_object_get(j, "nearest_carbon_kg"));
    }
    if (x) {
        const json_t *u = json_object_get(x, "usage");
        v->unit_hours += json_number_value(json_object_get(u, "unit_hours"));
        v->metered_kwh += json_number_value(json_object_get(u, "energy_kwh"));
    }
}

static int snapshot(struct cpn_client *c, struct view *v)
{
    char path[512], *after = NULL;
    for (size_t h = 0; h < v->nhubs; h++)
        memset(v->hubs[h].n, 0, sizeof v->hubs[h].n);
    v->jobs = v->ended = 0;
    v->energy = v->green_energy = v->west_energy = v->carbon = v->nearest_carbon = 0;
    v->unit_hours = v->metered_kwh = 0;
    for (;;) {
        struct cpn_reply r;
        const json_t *a, *j, *next;
        size_t i;
        int rc;
        if (after)
            snprintf(path, sizeof path, "/v1/jobs?limit=1000&after=%s", after);
        else
            snprintf(path, sizeof path, "/v1/jobs?limit=1000");
        free(after);
        after = NULL;
        rc = cpn_client_get(c, path, &r);
        if (rc)
            return cpn_client_report(c, "jobs", &r);
        a = json_object_get(r.json, "jobs");
        json_array_foreach(a, i, j) count_job(v, j);
        next = json_object_get(r.json, "next");
        if (json_is_string(next))
            after = strdup(json_string_value(next));
        cpn_reply_free(&r);
        if (!after)
            break;
    }
    return CPN_EXIT_OK;
}

static void print_view(const struct view *v, double elapsed, FILE *f)
{
    double saved = v->nearest_carbon > 0 ? 100 * (1 - v->carbon / v->nearest_carbon) : 0;
    fprintf(f, "\n-- cpnet watch: %.0f s, %ld jobs, %ld ended --\n", elapsed, v->jobs, v->ended);
    fprintf(f, "%-24s", "hub");
    for (int k = 0; k < NSTATES; k++)
        fprintf(f, " %10s", states[k]);
    fprintf(f, "\n");
    for (size_t h = 0; h < v->nhubs; h++) {
        fprintf(f, "%-24s", v->hubs[h].id);
        for (int k = 0; k < NSTATES; k++)
            fprintf(f, " %10ld", v->hubs[h].n[k]);
        fprintf(f, "\n");
    }
    fprintf(f,
            "planned energy %.1f MWh, green share %.3f, west share %.3f; carbon %.2f t against "
            "%.2f t on the nearest clusters: %.1f %% saved\n",
            v->energy / 1000, v->energy > 0 ? v->green_energy / v->energy : 0,
            v->energy > 0 ? v->west_energy / v->energy : 0, v->carbon / 1000,
            v->nearest_carbon / 1000, saved);
    fprintf(f, "metered by the agents: %.1f unit-hours, %.1f kWh\n", v->unit_hours, v->metered_kwh);
    fflush(f);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: cpnet watch [--addr URL] [--token T | --token-file F] [--interval S]\n"
               "                   [--seconds N] [--until-done]\n"
               "Prints jobs by hub and state, green and west shares and the carbon saved against\n"
               "the nearest clusters, every S seconds (default 3), for N seconds (default 60).\n"
               "Exit status: 0 ok, 2 usage, 3 client error, 4 not found, 5 server error.\n");
}

int cpn_cmd_watch(int argc, char **argv)
{
    struct cpn_client_opts o = { .cmd = "cpnet watch" };
    struct cpn_client *c;
    struct view *v;
    double interval = 3, seconds = 60;
    bool until_done = false;
    int64_t t0;
    int rc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return CPN_EXIT_OK;
        }
        if (!strcmp(a, "--until-done")) {
            until_done = true;
            continue;
        }
        if (!val) {
            fprintf(stderr, "cpnet watch: %s needs a value\n", a);
            return CPN_EXIT_USAGE;
        }
        i++;
        if (!strcmp(a, "--addr"))
            o.addr = val;
        else if (!strcmp(a, "--token"))
            o.token = val;
        else if (!strcmp(a, "--token-file"))
            o.token_file = val;
        else if (!strcmp(a, "--interval")) {
            if (cpn_parse_double(val, &interval) || interval < 0.2 || interval > 3600) {
                fprintf(stderr,
                        "cpnet watch: --interval '%s': expected seconds from 0.2 to "
                        "3600\n",
                        val);
                return CPN_EXIT_USAGE;
            }
        } else if (!strcmp(a, "--seconds")) {
            if (cpn_parse_double(val, &seconds) || seconds < 0 || seconds > 86400 * 7) {
                fprintf(stderr,
                        "cpnet watch: --seconds '%s': expected seconds from 0 to "
                        "604800\n",
                        val);
                return CPN_EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "cpnet watch: unknown option '%s'\n", a);
            usage(stderr);
            return CPN_EXIT_USAGE;
        }
    }
    if ((rc = cpn_client_open(&o, &c)) != CPN_EXIT_OK)
        return rc;
    v = calloc(1, sizeof *v);
    if (!v) {
        cpn_client_close(c);
        return CPN_EXIT_FAIL;
    }
    rc = load_network(c, v);
    t0 = cpn_monotonic_ns();
    while (rc == CPN_EXIT_OK) {
        double elapsed = (double)(cpn_monotonic_ns() - t0) / 1e9;
        struct timespec ts;
        rc = snapshot(c, v);
        if (rc)
            break;
        print_view(v, elapsed, stdout);
        if (elapsed >= seconds || (until_done && v->jobs > 0 && v->ended == v->jobs))
            break;
        ts.tv_sec = (time_t)interval;
        ts.tv_nsec = (long)((interval - (double)ts.tv_sec) * 1e9);
        nanosleep(&ts, NULL);
    }
    free(v);
    cpn_client_close(c);
    return rc;
}
