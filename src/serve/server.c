/* SPDX-License-Identifier: Apache-2.0 */
/* Start and stop of the platform service: the store, the network (base file plus stored
 * registrations), signals, the operator token on first start, the jobs and their placements from
 * the store, the engine, the event loop and the HTTP server, in that order; stop in reverse. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serve_int.h"

static void server_free(struct cpn_server *s)
{
    for (size_t i = 0; i < s->njobs; i++)
        srv_job_free(s->jobs[i]);
    cpn_free(s->jobs);
    cpn_strmap_free(&s->job_ids);
    cpn_strmap_free(&s->idem_ids);
    cpn_strmap_free(&s->bucket_ids);
    cpn_free(s->buckets);
    cpn_engine_destroy(s->eng);
    cpn_signals_destroy(s->sig);
    cpn_network_destroy(s->net);
    json_decref(s->net_doc);
    cpn_free(s->cl);
    cpn_free(s->pool_available);
    cpn_store_close(s->store);
    cpn_free(s);
}

/* First start: an operator token, written once to DIR/operator.token (0600). */
static int operator_token(struct cpn_server *s, struct cpn_error *err)
{
    char path[4096], token[CPN_TOKEN_MAX];
    struct cpn_token_rec rec;
    char *have = NULL;
    int fd, rc;
    size_t n;
    if (cpn_store_doc_get(s->store, "meta", "operator_token", &have, NULL) == 0) {
        cpn_free(have);
        return 0;
    }
    snprintf(path, sizeof path, "%s/operator.token", s->cfg.data_dir);
    if ((rc = cpn_store_begin(s->store, err)))
        return rc;
    rc = cpn_store_token_create(s->store, CPN_ROLE_OPERATOR, "operator", "created on first start",
                                srv_now_s(s), token, &rec, err);
    if (!rc)
        rc = cpn_store_doc_put(s->store, "meta", "operator_token", srv_now_s(s), rec.id, err);
    if (rc) {
        cpn_store_rollback(s->store);
        return rc;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    n = strlen(token);
    if (fd < 0 || write(fd, token, n) != (ssize_t)n || write(fd, "\n", 1) != 1 || fsync(fd)) {
        rc = -errno;
        if (fd >= 0)
            close(fd);
        cpn_store_rollback(s->store);
        return cpn_errorf(err, rc, "%s: cannot write the operator token: %s", path,
                          cpn_strerror(rc));
    }
    close(fd);
    if ((rc = cpn_store_commit(s->store, err)))
        return rc;
    fprintf(s->log, "cpnet serve: created the operator token; it is in %s (mode 0600)\n", path);
    return 0;
}

static int load_network(struct cpn_server *s, struct cpn_error *err)
{
    json_error_t je;
    char *text;
    int rc;
    s->net_doc = json_load_file(s->cfg.network_path, JSON_REJECT_DUPLICATES, &je);
    if (!s->net_doc)
        return cpn_errorf(err, CPN_EPARSE, "%s:%d:%d: %s", s->cfg.network_path, je.line, je.column,
                          je.text);
    if ((rc = srv_clusters_load(s, err)))
        return rc;
    text = json_dumps(s->net_doc, JSON_COMPACT);
    if (!text)
        return cpn_errorf(err, -ENOMEM, "out of memory");
    rc = cpn_network_parse(text, strlen(text), s->cfg.network_path, &s->net, err);
    free(text);
    if (rc)
        return rc;
    s->cl = cpn_calloc(s->net->nclusters, sizeof *s->cl);
    s->pool_available = cpn_calloc(s->net->npools, sizeof *s->pool_available);
    if (!s->cl || !s->pool_available || cpn_signals_create(s->net, &s->sig))
        return cpn_errorf(err, -ENOMEM, "out of memory");
    for (size_t p = 0; p < s->net->npools; p++)
        s->pool_available[p] = -1;
    if ((rc = srv_signals_load(s, err)))
        return rc;
    return srv_telemetry_load(s, err);
}

int cpn_server_start(const struct cpn_serve_config *cfg,
                     struct cpn_server **out,
                     struct cpn_error *err)
{
    struct cpn_server *s = cpn_calloc(1, sizeof *s);
    struct cpn_http_config hc = { 0 };
    uint64_t seed = 0;
    int rc;
    if (!s)
        return cpn_errorf(err, -ENOMEM, "out of memory");
    s->cfg = *cfg;
    s->log = cfg->log ? cfg->log : stderr;
    if (!cfg->clock.now_ns)
        s->cfg.clock = cpn_clock_real();
    if ((rc = cpn_policy_lookup(cfg->policy ? cfg->policy : "green", &s->pol)) ||
        !strcmp(s->pol.name, "optimal")) {
        cpn_free(s);
        return cpn_errorf(err, -EINVAL,
                          "--policy '%s': expected nearest, cheapest, "
                          "greenest-now or green",
                          cfg->policy);
    }
    if (mkdir(cfg->data_dir, 0700) && errno != EEXIST) {
        rc = -errno;
        cpn_free(s);
        return cpn_errorf(err, rc, "--data-dir %s: cannot create: %s", cfg->data_dir,
                          cpn_strerror(rc));
    }
    cpn_random_bytes(&seed, sizeof seed);
    cpn_rng_seed(&s->rng, seed);
    s->started_s = srv_now_s(s);
    if ((rc = cpn_store_open(cfg->data_dir, &s->store, err)) || (rc = load_network(s, err)) ||
        (cfg->signals_dir && (rc = srv_signals_import_dir(s, cfg->signals_dir, err))) ||
        (rc = operator_token(s, err)) || (rc = srv_engine_rebuild(s, srv_now_s(s), err)) ||
        (rc = srv_jobs_load(s, err))) {
        server_free(s);
        return rc;
    }
    if ((rc = srv_queue_init(&s->q))) {
        server_free(s);
        return cpn_errorf(err, rc, "out of memory");
    }
    if (pthread_create(&s->loop, NULL, srv_loop_main, s)) {
        srv_queue_destroy(&s->q);
        server_free(s);
        return cpn_errorf(err, -EAGAIN, "cannot start the event loop thread");
    }
    s->loop_started = true;
    hc.listen = cfg->listen ? cfg->listen : "127.0.0.1:8080";
    hc.threads = cfg->http_threads;
    hc.handler = srv_http_handler;
    hc.ctx = s;
    if ((rc = cpn_http_start(&hc, &s->http, err))) {
        srv_queue_stop(&s->q);
        pthread_join(s->loop, NULL);
        srv_queue_destroy(&s->q);
        server_free(s);
        return rc;
    }
    fprintf(s->log,
            "cpnet serve: %zu clusters, %zu jobs loaded; policy %s; listening on http://%s "
            "(port %d); data in %s\n",
            s->net->nclusters, s->njobs, s->pol.name, hc.listen, cpn_http_port(s->http),
            cfg->data_dir);
    *out = s;
    return 0;
}

int cpn_server_port(const struct cpn_server *s)
{
    return cpn_http_port(s->http);
}

void cpn_server_stop(struct cpn_server *s)
{
    bool stop;
    struct srv_cmd *left;
    if (!s)
        return;
    /* The loop answers what it has taken; then HTTP stops and drops whatever arrived later. */
    srv_queue_stop(&s->q);
    if (s->loop_started)
        pthread_join(s->loop, NULL);
    cpn_http_stop(s->http);
    while ((left = srv_queue_take(&s->q, 0, 1u << 30, &stop)) != NULL) {
        while (left) {
            struct srv_cmd *next = left->next;
            /* an answer into the void (HTTP has stopped) is what releases the request */
            srv_problem(left, 503, NULL, "the server is stopping");
            cpn_http_respond(left->req, &left->resp);
            json_decref(left->body);
            cpn_free(left);
            left = next;
        }
    }
    srv_queue_destroy(&s->q);
    server_free(s);
}
