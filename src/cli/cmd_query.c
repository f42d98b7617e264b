/* SPDX-License-Identifier: Apache-2.0 */
/* The CLI commands that ask the platform without changing anything: explain (a job's latest
 * placement decision and every cluster's best option), quote (the price, carbon and placement a
 * job would get, not submitted), clusters and signals (the network and its grid signals). Each
 * prints a table or, with --json, the server's JSON unchanged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_client_int.h"

/* ---- explain and quote ----------------------------------------------------------------------- */

/* The decision's options (feasible first, ranked by the objective; then the excluded ones). */
static int print_options(const struct cli_args *a, const json_t *decision)
{
    static const char *const heads[] = { ">RANK",     "CLUSTER",        "POOL",
                                         "START",     ">OBJECTIVE_CNY", ">CARBON_KG",
                                         ">COST_CNY", ">LATENCY_MS",    "EXCLUDED_BY" };
    const json_t *opts = json_object_get(decision, "options"), *o;
    struct cpn_table t;
    size_t i, rank = 0;
    if (!json_is_array(opts) || json_array_size(opts) == 0)
        return CPN_EXIT_OK;
    cpn_table_init(&t, heads, sizeof heads / sizeof heads[0]);
    json_array_foreach(opts, i, o)
    {
        char r[16] = "-", obj[32], co2[32], cost[32], lat[32];
        const char *cells[9];
        if (json_is_true(json_object_get(o, "feasible")))
            snprintf(r, sizeof r, "%zu", ++rank);
        cells[0] = r;
        cells[1] = cpn_jstr(o, "cluster");
        cells[2] = cpn_jstr(o, "pool");
        cells[3] = cpn_jstr(o, "start");
        cells[4] = cpn_jnum(o, "objective_cny", 2, obj, sizeof obj);
        cells[5] = cpn_jnum(o, "carbon_kg", 3, co2, sizeof co2);
        cells[6] = cpn_jnum(o, "cost_cny", 2, cost, sizeof cost);
        cells[7] = cpn_jnum(o, "latency_ms", 1, lat, sizeof lat);
        cells[8] = cpn_jstr(o, "excluded_by");
        if (cpn_table_row(&t, cells)) {
            cpn_table_free(&t);
            return cli_nomem(a);
        }
    }
    printf("\n");
    cpn_table_print(&t, stdout);
    cpn_table_free(&t);
    return CPN_EXIT_OK;
}

/* "qingyang / h20 (H20), hub gansu" */
static void where(const json_t *pl, char *out, size_t size)
{
    snprintf(out, size, "%s / %s (%s), hub %s",
             cpn_jstr(pl, "cluster") ? cpn_jstr(pl, "cluster") : "-",
             cpn_jstr(pl, "pool") ? cpn_jstr(pl, "pool") : "-",
             cpn_jstr(pl, "device") ? cpn_jstr(pl, "device") : "-",
             cpn_jstr(pl, "hub") ? cpn_jstr(pl, "hub") : "-");
}

static const char *or_dash(const char *s)
{
    return s ? s : "-";
}

int cpn_cmd_explain(int argc, char **argv)
{
    struct cli_args a;
    struct cpn_client *c = NULL;
    struct cpn_reply r;
    int rc = cli_start("explain", argc, argv, &a, &c);
    if (rc)
        return cli_done(rc);
    rc = cli_id_request(c, &a, "/explain", false, &r);
    if (rc == CPN_EXIT_OK && a.json) {
        rc = cli_print_json(&a, r.json);
    } else if (rc == CPN_EXIT_OK) {
        const json_t *pl = json_object_get(r.json, "placement");
        const json_t *d = json_object_get(r.json, "decision");
        char line[512], o[32], co2[32], cost[32], lat[32];
        printf("job %s (%s), policy %s\n", or_dash(cpn_jstr(r.json, "id")),
               or_dash(cpn_jstr(r.json, "state")), or_dash(cpn_jstr(d, "policy")));
        if (json_is_object(pl)) {
            where(pl, line, sizeof line);
            printf("chosen    %s\n          %s to %s\n", line, or_dash(cpn_jstr(pl, "start")),
                   or_dash(cpn_jstr(pl, "end")));
            printf("          objective %s CNY, carbon %s kg, cost %s CNY, latency %s ms\n",
                   or_dash(cpn_jnum(pl, "objective_cny", 2, o, sizeof o)),
                   or_dash(cpn_jnum(pl, "carbon_kg", 3, co2, sizeof co2)),
                   or_dash(cpn_jnum(pl, "cost_cny", 2, cost, sizeof cost)),
                   or_dash(cpn_jnum(pl, "latency_ms", 1, lat, sizeof lat)));
        } else {
            printf("chosen    none\n");
        }
        if (cpn_jstr(d, "why"))
            printf("decision  %s%s%s\n", cpn_jstr(d, "why"),
                   cpn_jstr(d, "detail") && *cpn_jstr(d, "detail") ? ": " : "",
                   cpn_jstr(d, "detail") ? cpn_jstr(d, "detail") : "");
        rc = print_options(&a, d);
    }
    cpn_reply_free(&r);
    cpn_client_close(c);
    return rc;
}

int cpn_cmd_quote(int argc, char **argv)
{
    struct cli_args a;
    struct cpn_client *c = NULL;
    struct cpn_buf buf = { 0 };
    struct cpn_reply r = { 0 };
    json_t *jobs = NULL;
    char *body = NULL;
    int rc = cli_start("quote", argc, argv, &a, &c);
    if (rc)
        return cli_done(rc);
    if ((rc = cli_read_jobs(&a, &buf, &jobs)) != CPN_EXIT_OK)
        goto out;
    if (json_array_size(jobs) != 1) {
        fprintf(stderr, "%s: %s holds %zu jobs: expected one (submit takes several)\n", a.prefix,
                strcmp(a.arg, "-") ? a.arg : "stdin", json_array_size(jobs));
        rc = CPN_EXIT_FAIL;
        goto out;
    }
    if (!(body = json_dumps(json_array_get(jobs, 0), JSON_COMPACT | JSON_REAL_PRECISION(17)))) {
        rc = cli_nomem(&a);
        goto out;
    }
    rc = cpn_client_post(c, "/v1/quote", body, NULL, &r);
    if (rc != CPN_EXIT_OK) {
        rc = cpn_client_report(c, NULL, &r);
    } else if (a.json) {
        rc = cli_print_json(&a, r.json);
    } else {
        const json_t *pl = json_object_get(r.json, "placement");
        const char *id = cpn_jstr(json_array_get(jobs, 0), "id");
        char line[512], b[32];
        printf("quote%s%s (not submitted)\n", id ? " for " : "", id ? id : "");
        where(pl, line, sizeof line);
        printf("where     %s\n", line);
        printf("when      %s to %s\n", or_dash(cpn_jstr(pl, "start")),
               or_dash(cpn_jstr(pl, "end")));
        printf("price     %s CNY\n", or_dash(cpn_jnum(r.json, "price_cny", 2, b, sizeof b)));
        printf("carbon    %s kg\n", or_dash(cpn_jnum(r.json, "carbon_kg", 3, b, sizeof b)));
        printf("energy    %s kWh\n", or_dash(cpn_jnum(pl, "energy_kwh", 3, b, sizeof b)));
        printf("latency   %s ms\n", or_dash(cpn_jnum(pl, "latency_ms", 1, b, sizeof b)));
        rc = print_options(&a, json_object_get(r.json, "decision"));
    }
out:
    free(body);
    cpn_reply_free(&r);
    json_decref(jobs);
    cpn_buf_free(&buf);
    cpn_client_close(c);
    return rc;
}

/* ---- clusters and signals -------------------------------------------------------------------- */

int cpn_cmd_clusters(int argc, char **argv)
{
    static const char *const heads[] = { "ID", "HUB", "HEALTH", ">PUE", ">CI_G_PER_KWH", ">POOLS" };
    struct cli_args a;
    struct cpn_client *c = NULL;
    struct cpn_reply r;
    json_t *list;
    const json_t *cl;
    struct cpn_table t;
    size_t i;
    int rc = cli_start("clusters", argc, argv, &a, &c);
    if (rc)
        return cli_done(rc);
    rc = cli_get_list(c, "/v1/clusters", "clusters", &r, &list);
    if (rc == CPN_EXIT_OK && a.json) {
        rc = cli_print_json(&a, r.json);
    } else if (rc == CPN_EXIT_OK) {
        cpn_table_init(&t, heads, sizeof heads / sizeof heads[0]);
        json_array_foreach(list, i, cl)
        {
            char pue[32], ci[32], pools[32] = "-";
            const char *cells[6];
            const char *id = cpn_jstr(cl, "id");
            char *path = id ? cli_id_path("/v1/clusters/", id, "/pools") : NULL;
            struct cpn_reply pr;
            /* the list has no pool count: one request per cluster, on the same connection */
            if (path && cpn_client_get(c, path, &pr) == CPN_EXIT_OK &&
                json_is_array(json_object_get(pr.json, "pools")))
                snprintf(pools, sizeof pools, "%zu",
                         json_array_size(json_object_get(pr.json, "pools")));
            else if (path) {
                int st = cpn_client_report(c, id, &pr);
                rc = st > rc ? st : rc;
            }
            if (path)
                cpn_reply_free(&pr);
            cpn_free(path);
            cells[0] = id;
            cells[1] = cpn_jstr(cl, "hub");
            cells[2] = cpn_jstr(cl, "health");
            cells[3] = cpn_jnum(cl, "pue", 2, pue, sizeof pue);
            cells[4] = cpn_jnum(cl, "carbon_intensity_gco2_per_kwh", 1, ci, sizeof ci);
            cells[5] = pools;
            if (cpn_table_row(&t, cells)) {
                rc = cli_nomem(&a);
                break;
            }
        }
        cpn_table_print(&t, stdout);
        cpn_table_free(&t);
    }
    cpn_reply_free(&r);
    cpn_client_close(c);
    return rc;
}

/* "start/end" (an ISO 8601 interval), points and source of a series' metadata. */
static void
series_cells(const json_t *s, char *span, size_t size, char *pts, size_t psize, const char **cells)
{
    cells[0] = cells[1] = cells[2] = NULL;
    if (!json_is_object(s))
        return;
    snprintf(span, size, "%s/%s", or_dash(cpn_jstr(s, "start")), or_dash(cpn_jstr(s, "end")));
    cells[0] = span;
    cells[1] = cpn_jnum(s, "points", 0, pts, psize);
    cells[2] = cpn_jstr(s, "source");
}

int cpn_cmd_signals(int argc, char **argv)
{
    static const char *const heads[] = { "ZONE",   "KIND",     "ACTUAL",  ">POINTS",
                                         "SOURCE", "FORECAST", ">POINTS", "SOURCE" };
    struct cli_args a;
    struct cpn_client *c = NULL;
    struct cpn_reply r;
    json_t *list;
    const json_t *s;
    struct cpn_table t;
    size_t i;
    int rc;
    if (argc > 1 && !strcmp(argv[1], "put"))
        return cpn_cmd_signal_put(argc - 1, argv + 1);
    rc = cli_start("signals", argc, argv, &a, &c);
    if (rc)
        return cli_done(rc);
    rc = cli_get_list(c, "/v1/signals", "signals", &r, &list);
    if (rc == CPN_EXIT_OK && a.json) {
        rc = cli_print_json(&a, r.json);
    } else if (rc == CPN_EXIT_OK) {
        cpn_table_init(&t, heads, sizeof heads / sizeof heads[0]);
        json_array_foreach(list, i, s)
        {
            char as[96], ap[32], fs[96], fp[32];
            const char *cells[8];
            cells[0] = cpn_jstr(s, "zone");
            cells[1] = cpn_jstr(s, "kind");
            series_cells(json_object_get(s, "actual"), as, sizeof as, ap, sizeof ap, cells + 2);
            series_cells(json_object_get(s, "forecast"), fs, sizeof fs, fp, sizeof fp, cells + 5);
            if (cpn_table_row(&t, cells)) {
                rc = cli_nomem(&a);
                break;
            }
        }
        cpn_table_print(&t, stdout);
        cpn_table_free(&t);
    }
    cpn_reply_free(&r);
    cpn_client_close(c);
    return rc;
}
