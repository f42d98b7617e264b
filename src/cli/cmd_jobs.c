/* SPDX-License-Identifier: Apache-2.0 */
/* The job commands of the CLI: submit, jobs, job and cancel. Each prints an aligned table (times
 * in ISO 8601 UTC, as the server writes them) or, with --json, the server's JSON unchanged.
 * submit sends each job of a jobs file with an Idempotency-Key derived from the file's SHA-256 and
 * the job's index, so running the same submit twice creates nothing twice; jobs follows "next"
 * through the pages with --all. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_client_int.h"
#include "cpnet/store.h"

/* ---- job tables ------------------------------------------------------------------------------ */

static const char *const job_heads[] = { "ID",   "NAME",  "TENANT",     "STATE",    "CLUSTER",
                                         "POOL", "START", ">CARBON_KG", ">COST_CNY" };
#define JOB_COLS (sizeof job_heads / sizeof job_heads[0])

static int job_row(struct cpn_table *t, const json_t *j)
{
    const json_t *pl = json_object_get(j, "placement");
    char carbon[32], cost[32];
    const char *cells[JOB_COLS] = { cpn_jstr(j, "id"),
                                    cpn_jstr(j, "name"),
                                    cpn_jstr(j, "tenant"),
                                    cpn_jstr(j, "state"),
                                    cpn_jstr(pl, "cluster"),
                                    cpn_jstr(pl, "pool"),
                                    cpn_jstr(pl, "start"),
                                    cpn_jnum(pl, "carbon_kg", 3, carbon, sizeof carbon),
                                    cpn_jnum(pl, "cost_cny", 2, cost, sizeof cost) };
    return cpn_table_row(t, cells);
}

/* Prints jobs (an array) as a table, then the reason of each queued job. */
static int print_jobs(const struct cli_args *a, const json_t *jobs)
{
    struct cpn_table t;
    const json_t *j;
    size_t i;
    cpn_table_init(&t, job_heads, JOB_COLS);
    json_array_foreach(jobs, i, j) if (job_row(&t, j))
    {
        cpn_table_free(&t);
        return cli_nomem(a);
    }
    cpn_table_print(&t, stdout);
    cpn_table_free(&t);
    json_array_foreach(jobs, i, j) if (cpn_jstr(j, "reason"))
        printf("%s: %s: %s\n", cpn_jstr(j, "id"), cpn_jstr(j, "state"), cpn_jstr(j, "reason"));
    return CPN_EXIT_OK;
}

/* ---- submit ---------------------------------------------------------------------------------- */

int cpn_cmd_submit(int argc, char **argv)
{
    struct cli_args a;
    struct cpn_client *c = NULL;
    struct cpn_buf buf = { 0 };
    json_t *jobs = NULL, *answers = NULL, *accepted = NULL;
    uint8_t sum[32];
    char hex[17];
    int rc = cli_start("submit", argc, argv, &a, &c), worst = CPN_EXIT_OK;
    size_t n;
    if (rc)
        return cli_done(rc);
    if ((rc = cli_read_jobs(&a, &buf, &jobs)) != CPN_EXIT_OK)
        goto out;
    n = json_array_size(jobs);
    cpn_sha256(buf.data, buf.len, sum);
    for (int i = 0; i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02x", sum[i]);
    answers = json_array();
    accepted = json_array();
    if (!answers || !accepted) {
        rc = cli_nomem(&a);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *job = json_array_get(jobs, i);
        char key[160], ctx[512];
        char *body = json_dumps(job, JSON_COMPACT | JSON_REAL_PRECISION(17));
        struct cpn_reply r;
        int st;
        if (!body) {
            rc = cli_nomem(&a);
            goto out;
        }
        if (a.idem && n == 1)
            snprintf(key, sizeof key, "%s", a.idem);
        else
            snprintf(key, sizeof key, "%s-%zu", a.idem ? a.idem : hex, i);
        st = cpn_client_post(c, "/v1/jobs", body, key, &r);
        free(body);
        if (st == CPN_EXIT_OK) {
            json_array_append(answers, r.json);
            json_array_append(accepted, r.json);
        } else {
            const char *id = cpn_jstr(job, "id");
            if (n > 1 || id)
                snprintf(ctx, sizeof ctx, "%s job %zu of %zu%s%s%s",
                         strcmp(a.arg, "-") ? a.arg : "stdin", i + 1, n, id ? " (id " : "",
                         id ? id : "", id ? ")" : "");
            else
                ctx[0] = '\0';
            st = cpn_client_report(c, ctx, &r);
            if (r.json)
                json_array_append(answers, r.json);
            if (st > worst)
                worst = st;
        }
        cpn_reply_free(&r);
        if (r.status == 0 && st != CPN_EXIT_OK) {
            if (i + 1 < n)
                fprintf(stderr, "cpnet: %zu jobs not sent\n", n - i - 1);
            break; /* no connection: the others would fail the same way */
        }
    }
    if (a.json) {
        if (n == 1 && json_array_size(answers) == 1)
            rc = cli_print_json(&a, json_array_get(answers, 0));
        else if (n > 1)
            rc = cli_print_json(&a, answers);
    } else if (json_array_size(accepted) > 0) {
        rc = print_jobs(&a, accepted);
    }
    if (rc == CPN_EXIT_OK)
        rc = worst;
out:
    json_decref(jobs);
    json_decref(answers);
    json_decref(accepted);
    cpn_buf_free(&buf);
    cpn_client_close(c);
    return rc;
}

/* ---- jobs, job, cancel ----------------------------------------------------------------------- */

static int add_query(struct cpn_buf *q, const char *key, const char *val)
{
    char *e;
    int rc;
    if (!val)
        return 0;
    if (!(e = cpn_client_escape(val)))
        return -ENOMEM;
    rc = cpn_buf_printf(q, "%c%s=%s", strchr(q->data, '?') ? '&' : '?', key, e);
    cpn_free(e);
    return rc;
}

int cpn_cmd_jobs(int argc, char **argv)
{
    struct cli_args a;
    struct cpn_client *c = NULL;
    json_t *all = NULL, *first = NULL;
    char lim[32], *after = NULL;
    int rc = cli_start("jobs", argc, argv, &a, &c);
    if (rc)
        return cli_done(rc);
    snprintf(lim, sizeof lim, "%lld", (long long)a.limit);
    if (!(all = json_array()) || (a.after && !(after = cpn_strdup(a.after)))) {
        rc = cli_nomem(&a);
        goto out;
    }
    for (;;) {
        struct cpn_buf q = { 0 };
        struct cpn_reply r;
        const json_t *next;
        json_t *page;
        if (cpn_buf_puts(&q, "/v1/jobs") || add_query(&q, "state", a.state) ||
            add_query(&q, "tenant", a.tenant) || add_query(&q, "cluster", a.cluster) ||
            add_query(&q, "limit", a.limit ? lim : NULL) || add_query(&q, "after", after)) {
            cpn_buf_free(&q);
            rc = cli_nomem(&a);
            goto out;
        }
        rc = cli_get_list(c, q.data, "jobs", &r, &page);
        cpn_buf_free(&q);
        if (rc != CPN_EXIT_OK) {
            cpn_reply_free(&r);
            goto out;
        }
        if (json_array_extend(all, page)) {
            cpn_reply_free(&r);
            rc = cli_nomem(&a);
            goto out;
        }
        next = json_object_get(r.json, "next");
        cpn_free(after);
        after = json_is_string(next) ? cpn_strdup(json_string_value(next)) : NULL;
        if (!first)
            first = json_incref(r.json);
        cpn_reply_free(&r);
        if (!after || !a.all)
            break;
    }
    if (a.json && !a.all) {
        rc = cli_print_json(&a, first);
    } else if (a.json) {
        json_t *o = json_pack("{s:O,s:n}", "jobs", all, "next");
        rc = o ? cli_print_json(&a, o) : cli_nomem(&a);
        json_decref(o);
    } else {
        rc = print_jobs(&a, all);
        if (after)
            fprintf(stderr, "cpnet: the page is full, more jobs may follow: --after %s, or --all\n",
                    after);
    }
out:
    cpn_free(after);
    json_decref(first);
    json_decref(all);
    cpn_client_close(c);
    return rc;
}

static void kv(const char *key, const char *val)
{
    if (val && *val)
        printf("%-14s %s\n", key, val);
}

static void print_job_detail(const json_t *j)
{
    const json_t *spec = json_object_get(j, "spec"), *pl = json_object_get(j, "placement");
    const json_t *allowed = json_object_get(spec, "allowed");
    char b[64], line[512];
    kv("id", cpn_jstr(j, "id"));
    kv("name", cpn_jstr(j, "name"));
    kv("tenant", cpn_jstr(j, "tenant"));
    kv("state", cpn_jstr(j, "state"));
    kv("reason", cpn_jstr(j, "reason"));
    kv("created", cpn_jstr(j, "created"));
    kv("updated", cpn_jstr(j, "updated"));
    kv("cancelled", cpn_jstr(j, "cancelled"));
    kv("idempotency", cpn_jstr(j, "idempotency_key"));
    kv("origin", cpn_jstr(spec, "origin"));
    snprintf(line, sizeof line, "%s%s%s", cpn_jstr(spec, "class") ? cpn_jstr(spec, "class") : "-",
             cpn_jstr(spec, "device") ? ", device " : "",
             cpn_jstr(spec, "device") ? cpn_jstr(spec, "device") : "");
    kv("class", line);
    kv("units", cpn_jnum(spec, "units", 0, b, sizeof b));
    if (cpn_jnum(spec, "duration", 0, b, sizeof b)) {
        snprintf(line, sizeof line, "%s s", b);
        kv("duration", line);
    }
    kv("work_pflop_h", cpn_jnum(spec, "work_pflop_h", 3, b, sizeof b));
    kv("submit", cpn_jstr(spec, "submit"));
    kv("earliest", cpn_jstr(spec, "earliest"));
    kv("deadline", cpn_jstr(spec, "deadline"));
    if (json_is_boolean(json_object_get(spec, "interruptible")))
        kv("interruptible", json_is_true(json_object_get(spec, "interruptible")) ? "yes" : "no");
    kv("max_rtt_ms", cpn_jnum(spec, "max_rtt_ms", 1, b, sizeof b));
    kv("data_gb", cpn_jnum(spec, "data_gb", 1, b, sizeof b));
    kv("data_site", cpn_jstr(spec, "data_site"));
    if (json_is_array(allowed)) {
        size_t i, off = 0;
        const json_t *v;
        line[0] = '\0';
        json_array_foreach(allowed, i, v) if (json_is_string(v) && off < sizeof line) off +=
            (size_t)snprintf(line + off, sizeof line - off, "%s%s", i ? ", " : "",
                             json_string_value(v));
        kv("allowed", line);
    }
    kv("price_ceiling", cpn_jnum(spec, "price_ceiling_cny", 2, b, sizeof b));
    kv("priority", cpn_jnum(spec, "priority", 0, b, sizeof b));
    if (!json_is_object(pl))
        return;
    snprintf(line, sizeof line, "%s (hub %s)",
             cpn_jstr(pl, "cluster") ? cpn_jstr(pl, "cluster") : "-",
             cpn_jstr(pl, "hub") ? cpn_jstr(pl, "hub") : "-");
    kv("cluster", line);
    snprintf(line, sizeof line, "%s (%s)", cpn_jstr(pl, "pool") ? cpn_jstr(pl, "pool") : "-",
             cpn_jstr(pl, "device") ? cpn_jstr(pl, "device") : "-");
    kv("pool", line);
    kv("start", cpn_jstr(pl, "start"));
    kv("end", cpn_jstr(pl, "end"));
    kv("energy_kwh", cpn_jnum(pl, "energy_kwh", 3, b, sizeof b));
    kv("carbon_kg", cpn_jnum(pl, "carbon_kg", 3, b, sizeof b));
    kv("cost_cny", cpn_jnum(pl, "cost_cny", 2, b, sizeof b));
    kv("objective_cny", cpn_jnum(pl, "objective_cny", 2, b, sizeof b));
    kv("latency_ms", cpn_jnum(pl, "latency_ms", 1, b, sizeof b));
    kv("transfer_s", cpn_jnum(pl, "transfer_s", 0, b, sizeof b));
}

int cpn_cmd_job(int argc, char **argv)
{
    struct cli_args a;
    struct cpn_client *c = NULL;
    struct cpn_reply r;
    int rc = cli_start("job", argc, argv, &a, &c);
    if (rc)
        return cli_done(rc);
    rc = cli_id_request(c, &a, "", false, &r);
    if (rc == CPN_EXIT_OK) {
        if (a.json)
            rc = cli_print_json(&a, r.json);
        else
            print_job_detail(r.json);
    }
    cpn_reply_free(&r);
    cpn_client_close(c);
    return rc;
}

int cpn_cmd_cancel(int argc, char **argv)
{
    struct cli_args a;
    struct cpn_client *c = NULL;
    struct cpn_reply r;
    int rc = cli_start("cancel", argc, argv, &a, &c);
    if (rc)
        return cli_done(rc);
    rc = cli_id_request(c, &a, "/cancel", true, &r);
    if (rc == CPN_EXIT_OK) {
        if (a.json) {
            rc = cli_print_json(&a, r.json);
        } else {
            json_t *one = json_pack("[O]", r.json);
            rc = one ? print_jobs(&a, one) : cli_nomem(&a);
            json_decref(one);
        }
    }
    cpn_reply_free(&r);
    cpn_client_close(c);
    return rc;
}
