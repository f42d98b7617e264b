/* SPDX-License-Identifier: Apache-2.0 */
/* The agent config file: a small JSON object in which the operator names or refines the pools the
 * agent advertises (device model, TFLOPS, power, price, units), the telemetry period and damping,
 * limits for the local executor, and the cluster's registration fields. Keys are checked strictly:
 * a typo is an error that names the file, the JSON pointer, the key and what was expected, never
 * a silent default. The ignored provenance keys source, note and description are allowed on every
 * object, as in the network format. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "agent_int.h"

struct cctx {
    const char *file;
    struct cpn_error *err;
};

static bool in_list(const char *key, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(key, *list))
            return true;
    return false;
}

static void show(const json_t *v, char *out, size_t size)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s) {
        snprintf(out, size, "(a value)");
        return;
    }
    if (strlen(s) > 60)
        snprintf(out, size, "%.57s...", s);
    else
        snprintf(out, size, "%s", s);
    free(s);
}

static int fail(struct cctx *c, const char *ptr, const json_t *v, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "<file>: <pointer> = <value>: expected <...>" */
static int fail(struct cctx *c, const char *ptr, const json_t *v, const char *fmt, ...)
{
    char expected[256], shown[80];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(expected, sizeof expected, fmt, ap);
    va_end(ap);
    if (!v)
        return cpn_errorf(c->err, CPN_EFIELD, "%s: %s: missing: expected %s", c->file, ptr,
                          expected);
    show(v, shown, sizeof shown);
    return cpn_errorf(c->err, CPN_EFIELD, "%s: %s = %s: expected %s", c->file, ptr, shown,
                      expected);
}

static int
check_keys(struct cctx *c, const char *ptr, const json_t *obj, const char *const *allowed)
{
    static const char *const ignored[] = { "source", "note", "description", NULL };
    const char *key;
    json_t *v;
    if (!json_is_object(obj))
        return fail(c, *ptr ? ptr : "(top level)", obj, "an object");
    json_object_foreach((json_t *)(uintptr_t)obj, key, v)
    {
        char list[400];
        size_t n = 0;
        if (in_list(key, allowed))
            continue;
        if (in_list(key, ignored)) {
            if (!json_is_string(v))
                return fail(c, ptr, v, "\"%s\" to be a string (it is ignored)", key);
            continue;
        }
        list[0] = '\0';
        for (const char *const *a = allowed; *a; a++)
            n += (size_t)snprintf(list + n, n < sizeof list ? sizeof list - n : 0, "%s%s",
                                  a == allowed ? "" : ", ", *a);
        return cpn_errorf(c->err, CPN_EFIELD,
                          "%s: %s/%s: unknown key \"%s\": expected one of %s (or source, note, "
                          "description)",
                          c->file, ptr, key, key, list);
    }
    return 0;
}

/* A number in [lo, hi] under key; *present tells whether it was there. */
static int get_num(struct cctx *c,
                   const char *ptr,
                   const json_t *obj,
                   const char *key,
                   double lo,
                   double hi,
                   const char *expected,
                   double *out,
                   bool *present)
{
    const json_t *v = json_object_get(obj, key);
    char p[600];
    double x;
    if (present)
        *present = v != NULL;
    if (!v)
        return 0;
    snprintf(p, sizeof p, "%s/%s", ptr, key);
    x = json_number_value(v);
    if (!json_is_number(v) || !isfinite(x) || x < lo || x > hi)
        return fail(c, p, v, "%s", expected);
    *out = x;
    return 0;
}

static int get_str(struct cctx *c,
                   const char *ptr,
                   const json_t *obj,
                   const char *key,
                   bool id,
                   char *out,
                   size_t size,
                   bool *present)
{
    const json_t *v = json_object_get(obj, key);
    const char *s = json_string_value(v);
    char p[600];
    if (present)
        *present = v != NULL;
    if (!v)
        return 0;
    snprintf(p, sizeof p, "%s/%s", ptr, key);
    if (!s)
        return fail(c, p, v, "a string");
    if (id && (!agt_job_id_ok(s) || strlen(s) >= CPN_ID_MAX))
        return fail(c, p, v, "an id of 1..47 characters from A-Z a-z 0-9 . _ : -");
    if (!id && (!*s || strlen(s) >= size))
        return fail(c, p, v, "a string of 1..%zu bytes", size - 1);
    cpn_strlcpy(out, s, size);
    return 0;
}

static int parse_pool(struct cctx *c, const json_t *o, size_t i, struct agt_pool_conf *pc)
{
    static const char *const keys[] = { "id",         "partition", "class",
                                        "device",     "tflops",    "watts_idle",
                                        "watts_busy", "mem_gib",   "price_cny_per_unit_hour",
                                        "units",      NULL };
    char ptr[64], cls[32] = "";
    struct cpn_agent_pool *p = &pc->p;
    bool have;
    double units = 0;
    int rc;
    snprintf(ptr, sizeof ptr, "/pools/%zu", i);
    if ((rc = check_keys(c, ptr, o, keys)))
        return rc;
    if (!json_object_get(o, "id")) {
        char pid[80];
        snprintf(pid, sizeof pid, "%s/id", ptr);
        return fail(c, pid, NULL, "the pool's id on the platform");
    }
    if ((rc = get_str(c, ptr, o, "id", true, p->id, sizeof p->id, NULL)))
        return rc;
    if ((rc = get_str(c, ptr, o, "partition", false, p->partition, sizeof p->partition, &have)))
        return rc;
    pc->set |= have ? AGT_PF_PARTITION : 0;
    if ((rc = get_str(c, ptr, o, "class", false, cls, sizeof cls, &have)))
        return rc;
    if (have) {
        enum cpn_class k;
        if (cpn_class_parse(cls, &k)) {
            char pc2[80];
            snprintf(pc2, sizeof pc2, "%s/class", ptr);
            return fail(c, pc2, json_object_get(o, "class"),
                        "general, intelligent or super (cpu, gpu, hpc)");
        }
        p->cls = k;
        pc->set |= AGT_PF_CLASS;
    }
    if ((rc = get_str(c, ptr, o, "device", false, p->device, sizeof p->device, &have)))
        return rc;
    pc->set |= have ? AGT_PF_DEVICE : 0;
    if ((rc = get_num(c, ptr, o, "tflops", 1e-9, 1e9, "a number > 0 (TFLOPS per unit)",
                      &p->tflops_per_unit, &have)))
        return rc;
    pc->set |= have ? AGT_PF_TFLOPS : 0;
    if ((rc = get_num(c, ptr, o, "watts_idle", 0, 1e7, "a number >= 0 (W per unit)", &p->watts_idle,
                      &have)))
        return rc;
    pc->set |= have ? AGT_PF_WATTS_IDLE : 0;
    if ((rc = get_num(c, ptr, o, "watts_busy", 0, 1e7, "a number >= 0 (W per unit)", &p->watts_busy,
                      &have)))
        return rc;
    pc->set |= have ? AGT_PF_WATTS_BUSY : 0;
    if ((pc->set & AGT_PF_WATTS_IDLE) && (pc->set & AGT_PF_WATTS_BUSY) &&
        p->watts_busy < p->watts_idle) {
        char pw[80];
        snprintf(pw, sizeof pw, "%s/watts_busy", ptr);
        return fail(c, pw, json_object_get(o, "watts_busy"), "a number >= watts_idle (%g)",
                    p->watts_idle);
    }
    if ((rc = get_num(c, ptr, o, "mem_gib", 0, 1e9, "a number >= 0 (GiB per unit)",
                      &p->mem_gib_per_unit, &have)))
        return rc;
    pc->set |= have ? AGT_PF_MEM : 0;
    if ((rc = get_num(c, ptr, o, "price_cny_per_unit_hour", 0, 1e9, "a number >= 0 (CNY)",
                      &p->price_cny_per_unit_hour, &have)))
        return rc;
    pc->set |= have ? AGT_PF_PRICE : 0;
    if ((rc = get_num(c, ptr, o, "units", 1, 1e15, "an integer >= 1 (devices or cores)", &units,
                      &have)))
        return rc;
    if (have) {
        if (units != floor(units)) {
            char pu[80];
            snprintf(pu, sizeof pu, "%s/units", ptr);
            return fail(c, pu, json_object_get(o, "units"), "an integer >= 1 (devices or cores)");
        }
        p->total = p->available = (int64_t)units;
        pc->set |= AGT_PF_UNITS;
    }
    return 0;
}

static int parse_cluster(struct cctx *c, const json_t *o, struct agt_cluster_conf *cl)
{
    static const char *const keys[] = { "name", "hub", "zone", "province",     "owner",
                                        "lon",  "lat", "pue",  "power_cap_kw", NULL };
    int rc;
    if ((rc = check_keys(c, "/cluster", o, keys)))
        return rc;
    cl->present = true;
    if ((rc = get_str(c, "/cluster", o, "name", false, cl->name, sizeof cl->name, NULL)) ||
        (rc = get_str(c, "/cluster", o, "hub", true, cl->hub, sizeof cl->hub, NULL)) ||
        (rc = get_str(c, "/cluster", o, "zone", true, cl->zone, sizeof cl->zone, NULL)) ||
        (rc = get_str(c, "/cluster", o, "province", false, cl->province, sizeof cl->province,
                      NULL)) ||
        (rc = get_str(c, "/cluster", o, "owner", false, cl->owner, sizeof cl->owner, NULL)) ||
        (rc = get_num(c, "/cluster", o, "lon", -180, 180, "degrees from -180 to 180", &cl->lon,
                      &cl->has_lon)) ||
        (rc = get_num(c, "/cluster", o, "lat", -90, 90, "degrees from -90 to 90", &cl->lat,
                      &cl->has_lat)) ||
        (rc = get_num(c, "/cluster", o, "pue", 1, 10, "a number from 1 to 10", &cl->pue, NULL)) ||
        (rc = get_num(c, "/cluster", o, "power_cap_kw", 0, 1e9, "a number >= 0 (kW)",
                      &cl->power_cap_kw, NULL)))
        return rc;
    return 0;
}

void agt_conf_init(struct agt_conf *c)
{
    memset(c, 0, sizeof *c);
    c->damping = AGT_DAMPING_DEFAULT;
    c->heartbeat_periods = AGT_HEARTBEAT_DEFAULT;
}

void agt_conf_free(struct agt_conf *c)
{
    cpn_free(c->pools);
    agt_conf_init(c);
}

int agt_conf_parse(
    const char *text, size_t len, const char *name, struct agt_conf *out, struct cpn_error *err)
{
    static const char *const keys[] = { "pools",    "telemetry_interval_s",
                                        "damping",  "heartbeat_periods",
                                        "max_jobs", "limits",
                                        "cluster",  NULL };
    static const char *const limit_keys[] = { "cpu_s_per_unit", "mem_gib_per_unit", NULL };
    struct cctx c = { name, err };
    json_error_t je;
    json_t *root;
    const json_t *pools, *v;
    struct agt_conf conf;
    double d;
    int rc;
    agt_conf_init(out);
    agt_conf_init(&conf);
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return cpn_errorf(err, CPN_EPARSE, "%s:%d:%d: %s", name, je.line, je.column, je.text);
    if ((rc = check_keys(&c, "", root, keys)))
        goto out;
    pools = json_object_get(root, "pools");
    if (pools && !json_is_array(pools)) {
        rc = fail(&c, "/pools", pools, "an array of pools");
        goto out;
    }
    if (pools && json_array_size(pools) > AGT_POOLS_MAX) {
        rc = fail(&c, "/pools", pools, "at most %d pools", AGT_POOLS_MAX);
        goto out;
    }
    if (pools && json_array_size(pools)) {
        conf.pools = cpn_calloc(json_array_size(pools), sizeof *conf.pools);
        if (!conf.pools) {
            rc = cpn_errorf(err, -ENOMEM, "%s: out of memory", name);
            goto out;
        }
    }
    for (size_t i = 0; pools && i < json_array_size(pools); i++) {
        struct agt_pool_conf *pc = &conf.pools[i];
        if ((rc = parse_pool(&c, json_array_get(pools, i), i, pc)))
            goto out;
        for (size_t k = 0; k < i; k++)
            if (!strcmp(conf.pools[k].p.id, pc->p.id)) {
                char p[64];
                snprintf(p, sizeof p, "/pools/%zu/id", i);
                rc = fail(&c, p, json_object_get(json_array_get(pools, i), "id"),
                          "an id not used by /pools/%zu", k);
                goto out;
            }
        conf.npools++;
    }
    if ((rc = get_num(&c, "", root, "telemetry_interval_s", 0.1, 86400,
                      "a number of seconds from 0.1 to 86400", &conf.telemetry_interval_s, NULL)) ||
        (rc = get_num(&c, "", root, "damping", 0, 1, "a share from 0 (report every period) to 1",
                      &conf.damping, NULL)))
        goto out;
    d = conf.heartbeat_periods;
    if ((rc = get_num(&c, "", root, "heartbeat_periods", 1, 1000, "an integer from 1 to 1000", &d,
                      NULL)))
        goto out;
    if (d != floor(d)) {
        rc = fail(&c, "/heartbeat_periods", json_object_get(root, "heartbeat_periods"),
                  "an integer from 1 to 1000");
        goto out;
    }
    conf.heartbeat_periods = (int)d;
    d = 0;
    if ((rc =
             get_num(&c, "", root, "max_jobs", 1, 100000, "an integer from 1 to 100000", &d, NULL)))
        goto out;
    if (d != floor(d)) {
        rc =
            fail(&c, "/max_jobs", json_object_get(root, "max_jobs"), "an integer from 1 to 100000");
        goto out;
    }
    conf.max_jobs = (int)d;
    if ((v = json_object_get(root, "limits"))) {
        double cpu = 0;
        if ((rc = check_keys(&c, "/limits", v, limit_keys)) ||
            (rc = get_num(&c, "/limits", v, "cpu_s_per_unit", 1, 1e12, "CPU seconds per unit, >= 1",
                          &cpu, NULL)) ||
            (rc = get_num(&c, "/limits", v, "mem_gib_per_unit", 0.001, 1e6,
                          "GiB of address space per unit, > 0", &conf.mem_gib_per_unit, NULL)))
            goto out;
        conf.cpu_s_per_unit = (int64_t)ceil(cpu);
    }
    if ((v = json_object_get(root, "cluster")) && (rc = parse_cluster(&c, v, &conf.cluster)))
        goto out;
    *out = conf;
    conf.pools = NULL;
out:
    cpn_free(conf.pools);
    json_decref(root);
    return rc;
}

int agt_conf_load(const char *path, struct agt_conf *out, struct cpn_error *err)
{
    struct cpn_buf b = { .limit = 1u << 20 };
    int rc = cpn_buf_read_file(&b, path, err);
    agt_conf_init(out);
    if (rc) {
        cpn_buf_free(&b);
        return rc == CPN_ELIMIT ? cpn_errorf(err, rc, "%s: larger than 1 MiB", path) : rc;
    }
    rc = agt_conf_parse(b.data, b.len, path, out, err);
    cpn_buf_free(&b);
    return rc;
}
