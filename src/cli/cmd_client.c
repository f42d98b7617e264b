/* SPDX-License-Identifier: Apache-2.0 */
/* The CLI as a client of a platform's REST API: submit, jobs, job, cancel, explain, quote, clusters
 * and signals. Each parses its flags, makes its requests through client.c and prints either an
 * aligned table (times in ISO 8601 UTC, as the server writes them) or, with --json, the server's
 * JSON unchanged. submit reads one job or a jobs file (JSON or CSV in the job format of
 * docs/formats.md) and sends each job with an Idempotency-Key derived from the file's SHA-256 and
 * the job's index, so running the same submit twice creates nothing twice. Exit statuses: 0 ok, 1
 * the input file cannot be read or parsed (nothing sent), 2 usage, 3 refused (4xx), 4 not found,
 * 5 server or connection (docs/cli.md). */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "cpnet/store.h"

#define INPUT_MAX (256u << 20) /* a jobs file read whole: 256 MiB, as the JSON job loader */

enum {
    F_ADDR = 1u << 0,
    F_TOKEN = 1u << 1,
    F_TOKEN_FILE = 1u << 2,
    F_JSON = 1u << 3,
    F_IDEM = 1u << 4,
    F_STATE = 1u << 5,
    F_TENANT = 1u << 6,
    F_CLUSTER = 1u << 7,
    F_LIMIT = 1u << 8,
    F_AFTER = 1u << 9,
    F_ALL = 1u << 10,
};
#define F_COMMON (F_ADDR | F_TOKEN | F_TOKEN_FILE | F_JSON)

struct cmd_spec {
    const char *name;
    unsigned flags;
    const char *arg; /* the positional argument's name, NULL when none */
    const char *synopsis;
    const char *about;
};

struct cargs {
    const struct cmd_spec *spec;
    char prefix[32]; /* "cpnet submit" */
    const char *addr, *token, *token_file, *idem, *state, *tenant, *cluster, *after, *arg;
    int64_t limit;
    bool json, all;
};

static const char common_help[] =
    "\n"
    "common options:\n"
    "  --addr URL         the platform (default: $CPNET_ADDR, else http://127.0.0.1:8080)\n"
    "  --token TOKEN      bearer token (default: --token-file, else $CPNET_TOKEN)\n"
    "  --token-file FILE  read the token from FILE, e.g. DATA_DIR/operator.token\n"
    "  --json             print the server's JSON (2-space indent) instead of a table\n"
    "  --help             this text\n"
    "exit status: 0 ok; 1 the input file cannot be read or parsed (nothing was sent);\n"
    "  2 usage error; 3 the server refused the request (HTTP 4xx other than 404: 400, 401,\n"
    "  403, 409, 413, 422, 429); 4 not found (HTTP 404); 5 server or connection error (5xx,\n"
    "  cannot connect, timeout, an answer that is not JSON). docs/cli.md has the manual.\n";

static const struct cmd_spec specs[] = {
    { "submit", F_COMMON | F_IDEM, "FILE|-", "cpnet submit FILE|- [--idempotency-key K] [options]",
      "Submits one job (a JSON object) or every job of a jobs file (a JSON array, {\"jobs\":\n"
      "[...]}, or CSV with the columns of docs/formats.md) to POST /v1/jobs; '-' reads stdin.\n"
      "Prints each job's id, name, state, cluster, pool, start, carbon and cost; with --json\n"
      "the server's answer (an array when the file holds several jobs; a refused job's entry\n"
      "is the problem the server sent).\n"
      "  --idempotency-key K  the Idempotency-Key of a single job (K-<index> for several).\n"
      "                       Default: <first 16 hex digits of the file's SHA-256>-<index>, so\n"
      "                       submitting the same file again returns the same jobs.\n"
      "The exit status is 0 when every job was accepted; otherwise the worst status of the\n"
      "refused ones (each refusal is printed).\n" },
    { "jobs", F_COMMON | F_STATE | F_TENANT | F_CLUSTER | F_LIMIT | F_AFTER | F_ALL, NULL,
      "cpnet jobs [--state S] [--tenant T] [--cluster C] [--limit N] [--after ID] [--all]",
      "Lists jobs (GET /v1/jobs) in the order they were created.\n"
      "  --state S     queued, placed, running, completed or cancelled\n"
      "  --tenant T    one tenant's jobs (operator tokens; a tenant token sees only its own)\n"
      "  --cluster C   jobs placed on cluster C\n"
      "  --limit N     at most N jobs per page, 1..1000 (the server's default is 100)\n"
      "  --after ID    start after job ID (the \"next\" of the previous page)\n"
      "  --all         follow \"next\" to the last page (--json then prints one object\n"
      "                {\"jobs\": [every job], \"next\": null})\n" },
    { "job", F_COMMON, "ID", "cpnet job ID [options]",
      "Shows one job (GET /v1/jobs/ID): its spec, state and placement.\n" },
    { "cancel", F_COMMON, "ID", "cpnet cancel ID [options]",
      "Cancels a job that has not completed (POST /v1/jobs/ID/cancel); a job that is\n"
      "already cancelled or completed gives 409 (exit status 3).\n" },
    { "explain", F_COMMON, "ID", "cpnet explain ID [options]",
      "Explains a job's latest placement decision (GET /v1/jobs/ID/explain): the chosen\n"
      "cluster, pool and start, and every cluster's best option ranked by the policy's\n"
      "objective, with the constraint that excluded each excluded cluster.\n" },
    { "quote", F_COMMON, "FILE|-", "cpnet quote FILE|- [options]",
      "Prices one job without submitting it (POST /v1/quote): where and when it would run,\n"
      "its price, carbon and energy, and the alternatives. FILE holds one job, as for submit.\n" },
    { "clusters", F_COMMON, NULL, "cpnet clusters [options]",
      "Lists the platform's clusters (GET /v1/clusters): id, hub, health, PUE, current carbon\n"
      "intensity (gCO2/kWh) and number of pools (GET /v1/clusters/ID/pools each).\n" },
    { "signals", F_COMMON, NULL, "cpnet signals [options]",
      "Lists the grid signals per zone and kind (GET /v1/signals): the span of the actual\n"
      "series and of the forecast as ISO 8601 intervals, their points and sources.\n" },
};

static const struct cmd_spec *spec_of(const char *name)
{
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        if (!strcmp(specs[i].name, name))
            return &specs[i];
    return NULL;
}

static void usage(const struct cmd_spec *s, FILE *f)
{
    fprintf(f, "usage: %s\n\n%s%s", s->synopsis, s->about, common_help);
}

static int usage_error(const struct cargs *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int usage_error(const struct cargs *a, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", a->prefix);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(%s --help lists the options)\n", a->prefix);
    return CPN_EXIT_USAGE;
}

/* Header-safe text: printable ASCII without blanks. */
static bool header_safe(const char *s)
{
    for (; *s; s++)
        if (*s < 0x21 || *s > 0x7e)
            return false;
    return true;
}

static int check_values(struct cargs *a)
{
    static const char *const states[] = { "queued", "placed", "running", "completed", "cancelled" };
    if (a->spec->arg && !a->arg)
        return usage_error(a, "the %s argument is missing", a->spec->arg);
    if (a->state) {
        bool ok = false;
        for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
            ok = ok || !strcmp(a->state, states[i]);
        if (!ok)
            return usage_error(a,
                               "--state '%s': expected queued, placed, running, completed or "
                               "cancelled",
                               a->state);
    }
    if (a->idem && (!header_safe(a->idem) || strlen(a->idem) > 100))
        return usage_error(a,
                           "--idempotency-key '%s': expected 1..100 printable characters "
                           "without blanks",
                           a->idem);
    return CPN_EXIT_OK;
}

/* Parses "--flag VALUE", "--flag=VALUE", --json, --all and the positional argument. Returns
 * CPN_EXIT_OK, CPN_EXIT_USAGE after a message, or -1 when --help was printed. */
static int parse(const char *name, int argc, char **argv, struct cargs *a)
{
    static const struct {
        const char *name;
        unsigned bit;
    } flags[] = { { "--addr", F_ADDR },
                  { "--token", F_TOKEN },
                  { "--token-file", F_TOKEN_FILE },
                  { "--json", F_JSON },
                  { "--idempotency-key", F_IDEM },
                  { "--state", F_STATE },
                  { "--tenant", F_TENANT },
                  { "--cluster", F_CLUSTER },
                  { "--limit", F_LIMIT },
                  { "--after", F_AFTER },
                  { "--all", F_ALL } };
    memset(a, 0, sizeof *a);
    a->spec = spec_of(name);
    snprintf(a->prefix, sizeof a->prefix, "cpnet %s", name);
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(a->spec, stdout);
            return -1;
        }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = NULL, *eq;
        size_t nlen;
        unsigned bit = 0;
        if (arg[0] != '-' || !strcmp(arg, "-")) {
            if (!a->spec->arg)
                return usage_error(a, "unexpected argument '%s': %s takes none", arg, a->prefix);
            if (a->arg)
                return usage_error(a, "unexpected argument '%s': one %s only", arg, a->spec->arg);
            a->arg = arg;
            continue;
        }
        eq = strchr(arg, '=');
        nlen = eq ? (size_t)(eq - arg) : strlen(arg);
        for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
            if (strlen(flags[k].name) == nlen && !strncmp(arg, flags[k].name, nlen))
                bit = flags[k].bit;
        if (!bit || !(a->spec->flags & bit))
            return usage_error(a, "unknown flag %.*s", (int)nlen, arg);
        if (bit == F_JSON || bit == F_ALL) {
            if (eq)
                return usage_error(a, "%.*s takes no value", (int)nlen, arg);
            if (bit == F_JSON)
                a->json = true;
            else
                a->all = true;
            continue;
        }
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return usage_error(a, "%s needs a value", arg);
        if (!*val)
            return usage_error(a, "%.*s: empty value", (int)nlen, arg);
        switch (bit) {
        case F_ADDR:
            a->addr = val;
            break;
        case F_TOKEN:
            a->token = val;
            break;
        case F_TOKEN_FILE:
            a->token_file = val;
            break;
        case F_IDEM:
            a->idem = val;
            break;
        case F_STATE:
            a->state = val;
            break;
        case F_TENANT:
            a->tenant = val;
            break;
        case F_CLUSTER:
            a->cluster = val;
            break;
        case F_AFTER:
            a->after = val;
            break;
        default: /* F_LIMIT */
            if (cpn_parse_int64(val, &a->limit) || a->limit < 1 || a->limit > 1000)
                return usage_error(a, "--limit '%s': expected an integer from 1 to 1000", val);
            break;
        }
    }
    return check_values(a);
}

/* Parses the arguments and opens the client: CPN_EXIT_OK, or the status to return (-1 means
 * --help was printed: exit 0). */
static int start(const char *name, int argc, char **argv, struct cargs *a, struct cpn_client **c)
{
    struct cpn_client_opts o = { 0 };
    int rc = parse(name, argc, argv, a);
    if (rc)
        return rc;
    o.cmd = a->prefix;
    o.addr = a->addr;
    o.token = a->token;
    o.token_file = a->token_file;
    return cpn_client_open(&o, c);
}

static int done(int rc)
{
    return rc < 0 ? CPN_EXIT_OK : rc;
}

static int nomem(const struct cargs *a)
{
    fprintf(stderr, "%s: out of memory\n", a->prefix);
    return CPN_EXIT_SERVER;
}

static int print_json(const struct cargs *a, const json_t *j)
{
    return cpn_json_print(stdout, j) ? nomem(a) : CPN_EXIT_OK;
}

/* prefix + the URL-encoded id + suffix. NULL when out of memory. */
static char *id_path(const char *prefix, const char *id, const char *suffix)
{
    char *e = cpn_client_escape(id), *p;
    size_t n;
    if (!e)
        return NULL;
    n = strlen(prefix) + strlen(e) + strlen(suffix) + 1;
    p = cpn_malloc(n);
    if (p)
        snprintf(p, n, "%s%s%s", prefix, e, suffix);
    cpn_free(e);
    return p;
}

/* ---- job input ------------------------------------------------------------------------------- */

static const char *const num_fields[] = { "min_tflops",       "units",   "work_pflop_h",
                                          "max_rtt_ms",       "data_gb", "priority",
                                          "price_ceiling_cny" };

/* A CSV field as the JSON value the job loader expects: numbers for numeric columns, a boolean for
 * interruptible, text otherwise (a value that does not parse goes as text: the server's answer then
 * names the field). */
static json_t *csv_value(const char *key, const char *v)
{
    for (size_t i = 0; i < sizeof num_fields / sizeof num_fields[0]; i++)
        if (!strcmp(key, num_fields[i])) {
            int64_t n;
            double d;
            if (cpn_parse_int64(v, &n) == 0)
                return json_integer((json_int_t)n);
            if (cpn_parse_double(v, &d) == 0 && isfinite(d))
                return json_real(d);
            return json_string(v);
        }
    if (!strcmp(key, "interruptible")) {
        bool b;
        if (cpn_parse_bool(v, &b) == 0)
            return json_boolean(b);
    }
    return json_string(v);
}

static char *trim(char *s)
{
    size_t n;
    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* CSV (header row naming the columns) -> one JSON object per row with the non-empty fields. */
static int
csv_jobs(const char *data, size_t len, const char *name, json_t *out, struct cpn_error *err)
{
    struct cpn_csv *csv = NULL;
    char **f, **heads = NULL;
    size_t n, nh = 0;
    int rc;
    if (cpn_csv_from_mem(data, len, name, &csv))
        return cpn_errorf(err, -ENOMEM, "out of memory");
    rc = cpn_csv_next(csv, &f, &n, err);
    if (rc == 0)
        rc = cpn_errorf(err, CPN_EPARSE, "%s: empty file: expected a job or a jobs file", name);
    if (rc == 1) {
        heads = cpn_calloc(n, sizeof *heads);
        rc = heads ? 0 : cpn_errorf(err, -ENOMEM, "out of memory");
        for (size_t k = 0; k < n && rc == 0; k++, nh++) {
            char *h = heads[k] = cpn_strdup(f[k]);
            if (!h) {
                rc = cpn_errorf(err, -ENOMEM, "out of memory");
                break;
            }
            for (char *p = h; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                    *p = (char)(*p - 'A' + 'a');
            memmove(h, trim(h), strlen(trim(h)) + 1);
            if (!*h)
                rc = cpn_errorf(err, CPN_EPARSE, "%s:%ld:%zu: empty column name in the header",
                                name, cpn_csv_line(csv), k + 1);
            for (size_t m = 0; m < k && rc == 0; m++)
                if (!strcmp(heads[m], h))
                    rc = cpn_errorf(err, CPN_EPARSE,
                                    "%s:%ld:%zu: column \"%s\" again: expected each column once",
                                    name, cpn_csv_line(csv), k + 1, h);
        }
    }
    while (rc == 0 && (rc = cpn_csv_next(csv, &f, &n, err)) == 1) {
        json_t *o = json_object();
        rc = 0;
        if (n != nh) {
            json_decref(o);
            rc = cpn_errorf(err, CPN_EPARSE, "%s:%ld: %zu fields: expected %zu as in the header",
                            name, cpn_csv_line(csv), n, nh);
            break;
        }
        for (size_t k = 0; k < n && o; k++) {
            char *v = trim(f[k]);
            if (*v && json_object_set_new(o, heads[k], csv_value(heads[k], v))) {
                json_decref(o);
                o = NULL;
            }
        }
        if (!o || json_array_append_new(out, o))
            rc = cpn_errorf(err, -ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < nh; k++)
        cpn_free(heads[k]);
    cpn_free(heads);
    cpn_csv_close(csv);
    return rc < 0 ? rc : 0;
}

static int
json_jobs(const char *data, size_t len, const char *name, json_t *out, struct cpn_error *err)
{
    json_error_t je;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je), *list;
    int rc = 0;
    if (!root)
        return cpn_errorf(err, CPN_EPARSE, "%s:%d:%d: %s", name, je.line, je.column, je.text);
    list = json_is_object(root) && json_object_get(root, "jobs") ? json_object_get(root, "jobs")
                                                                 : root;
    if (json_is_array(list))
        rc = json_array_extend(out, list) ? cpn_errorf(err, -ENOMEM, "out of memory") : 0;
    else if (json_is_object(list) && list == root)
        rc = json_array_append(out, root) ? cpn_errorf(err, -ENOMEM, "out of memory") : 0;
    else
        rc = cpn_errorf(err, CPN_EPARSE,
                        "%s: %s: expected a job object, an array of jobs or {\"jobs\": [...]}",
                        name, list == root ? "top level" : "/jobs");
    json_decref(root);
    return rc;
}

/* Reads FILE (or stdin for "-") into buf and its jobs into *jobs (a new array). CPN_EXIT_OK or
 * CPN_EXIT_FAIL after a message. */
static int read_jobs(const struct cargs *a, struct cpn_buf *buf, json_t **jobs)
{
    const char *path = a->arg, *name = strcmp(path, "-") ? path : "stdin";
    struct cpn_error err = { 0 };
    const char *p;
    int rc = 0;
    buf->limit = INPUT_MAX;
    if (strcmp(path, "-")) {
        rc = cpn_buf_read_file(buf, path, &err);
    } else {
        char chunk[65536];
        size_t n;
        while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
            rc = cpn_buf_append(buf, chunk, n);
        if (rc == 0 && ferror(stdin))
            rc = cpn_errorf(&err, -EIO, "stdin: read error");
        else if (rc)
            cpn_errorf(&err, rc, "stdin: %s", cpn_strerror(rc));
        if (rc == 0 && !buf->data)
            rc = cpn_buf_puts(buf, "");
    }
    if (rc) {
        if (rc == CPN_ELIMIT)
            fprintf(stderr, "%s: %s is larger than %u MiB\n", a->prefix, name, INPUT_MAX >> 20);
        else
            fprintf(stderr, "%s: %s\n", a->prefix, err.msg);
        return CPN_EXIT_FAIL;
    }
    *jobs = json_array();
    if (!*jobs)
        return nomem(a);
    p = buf->data;
    if ((unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb && (unsigned char)p[2] == 0xbf)
        p += 3; /* a UTF-8 byte order mark */
    p += strspn(p, " \t\r\n");
    if (*p == '{' || *p == '[')
        rc = json_jobs(p, buf->len - (size_t)(p - buf->data), name, *jobs, &err);
    else
        rc = csv_jobs(p, buf->len - (size_t)(p - buf->data), name, *jobs, &err);
    if (rc == 0 && json_array_size(*jobs) == 0)
        rc = cpn_errorf(&err, CPN_EPARSE, "%s: no jobs in the file", name);
    if (rc) {
        fprintf(stderr, "%s: %s\n", a->prefix, err.msg);
        json_decref(*jobs);
        *jobs = NULL;
        return rc == -ENOMEM ? CPN_EXIT_SERVER : CPN_EXIT_FAIL;
    }
    return CPN_EXIT_OK;
}

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
static int print_jobs(const struct cargs *a, const json_t *jobs)
{
    struct cpn_table t;
    const json_t *j;
    size_t i;
    cpn_table_init(&t, job_heads, JOB_COLS);
    json_array_foreach(jobs, i, j) if (job_row(&t, j))
    {
        cpn_table_free(&t);
        return nomem(a);
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
    struct cargs a;
    struct cpn_client *c = NULL;
    struct cpn_buf buf = { 0 };
    json_t *jobs = NULL, *answers = NULL, *accepted = NULL;
    uint8_t sum[32];
    char hex[17];
    int rc = start("submit", argc, argv, &a, &c), worst = CPN_EXIT_OK;
    size_t n;
    if (rc)
        return done(rc);
    if ((rc = read_jobs(&a, &buf, &jobs)) != CPN_EXIT_OK)
        goto out;
    n = json_array_size(jobs);
    cpn_sha256(buf.data, buf.len, sum);
    for (int i = 0; i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02x", sum[i]);
    answers = json_array();
    accepted = json_array();
    if (!answers || !accepted) {
        rc = nomem(&a);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *job = json_array_get(jobs, i);
        char key[160], ctx[512];
        char *body = json_dumps(job, JSON_COMPACT | JSON_REAL_PRECISION(17));
        struct cpn_reply r;
        int st;
        if (!body) {
            rc = nomem(&a);
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
            rc = print_json(&a, json_array_get(answers, 0));
        else if (n > 1)
            rc = print_json(&a, answers);
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
    struct cargs a;
    struct cpn_client *c = NULL;
    json_t *all = NULL, *first = NULL;
    char lim[32], *after = NULL;
    int rc = start("jobs", argc, argv, &a, &c);
    if (rc)
        return done(rc);
    snprintf(lim, sizeof lim, "%lld", (long long)a.limit);
    if (!(all = json_array()) || (a.after && !(after = cpn_strdup(a.after)))) {
        rc = nomem(&a);
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
            rc = nomem(&a);
            goto out;
        }
        rc = cpn_client_get(c, q.data, &r);
        cpn_buf_free(&q);
        page = json_object_get(r.json, "jobs");
        if (rc == CPN_EXIT_OK && !json_is_array(page)) {
            snprintf(r.error, sizeof r.error, "GET /v1/jobs: the answer has no \"jobs\" array");
            rc = CPN_EXIT_SERVER;
        }
        if (rc != CPN_EXIT_OK) {
            rc = cpn_client_report(c, NULL, &r);
            cpn_reply_free(&r);
            goto out;
        }
        if (json_array_extend(all, page)) {
            cpn_reply_free(&r);
            rc = nomem(&a);
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
        rc = print_json(&a, first);
    } else if (a.json) {
        json_t *o = json_pack("{s:O,s:n}", "jobs", all, "next");
        rc = o ? print_json(&a, o) : nomem(&a);
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

/* GET or POST (no body) a path with an escaped id; the answer in *r. */
static int id_request(
    struct cpn_client *c, const struct cargs *a, const char *suffix, bool post, struct cpn_reply *r)
{
    char *path = id_path("/v1/jobs/", a->arg, suffix);
    int rc;
    if (!path) {
        memset(r, 0, sizeof *r);
        return nomem(a);
    }
    rc = post ? cpn_client_post(c, path, NULL, NULL, r) : cpn_client_get(c, path, r);
    cpn_free(path);
    if (rc != CPN_EXIT_OK)
        rc = cpn_client_report(c, NULL, r);
    return rc;
}

int cpn_cmd_job(int argc, char **argv)
{
    struct cargs a;
    struct cpn_client *c = NULL;
    struct cpn_reply r;
    int rc = start("job", argc, argv, &a, &c);
    if (rc)
        return done(rc);
    rc = id_request(c, &a, "", false, &r);
    if (rc == CPN_EXIT_OK) {
        if (a.json)
            rc = print_json(&a, r.json);
        else
            print_job_detail(r.json);
    }
    cpn_reply_free(&r);
    cpn_client_close(c);
    return rc;
}

int cpn_cmd_cancel(int argc, char **argv)
{
    struct cargs a;
    struct cpn_client *c = NULL;
    struct cpn_reply r;
    int rc = start("cancel", argc, argv, &a, &c);
    if (rc)
        return done(rc);
    rc = id_request(c, &a, "/cancel", true, &r);
    if (rc == CPN_EXIT_OK) {
        if (a.json) {
            rc = print_json(&a, r.json);
        } else {
            json_t *one = json_pack("[O]", r.json);
            rc = one ? print_jobs(&a, one) : nomem(&a);
            json_decref(one);
        }
    }
    cpn_reply_free(&r);
    cpn_client_close(c);
    return rc;
}

/* ---- explain and quote ----------------------------------------------------------------------- */

/* The decision's options (feasible first, ranked by the objective; then the excluded ones). */
static int print_options(const struct cargs *a, const json_t *decision)
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
            return nomem(a);
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
    struct cargs a;
    struct cpn_client *c = NULL;
    struct cpn_reply r;
    int rc = start("explain", argc, argv, &a, &c);
    if (rc)
        return done(rc);
    rc = id_request(c, &a, "/explain", false, &r);
    if (rc == CPN_EXIT_OK && a.json) {
        rc = print_json(&a, r.json);
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
    struct cargs a;
    struct cpn_client *c = NULL;
    struct cpn_buf buf = { 0 };
    struct cpn_reply r = { 0 };
    json_t *jobs = NULL;
    char *body = NULL;
    int rc = start("quote", argc, argv, &a, &c);
    if (rc)
        return done(rc);
    if ((rc = read_jobs(&a, &buf, &jobs)) != CPN_EXIT_OK)
        goto out;
    if (json_array_size(jobs) != 1) {
        fprintf(stderr, "%s: %s holds %zu jobs: expected one (submit takes several)\n", a.prefix,
                strcmp(a.arg, "-") ? a.arg : "stdin", json_array_size(jobs));
        rc = CPN_EXIT_FAIL;
        goto out;
    }
    if (!(body = json_dumps(json_array_get(jobs, 0), JSON_COMPACT | JSON_REAL_PRECISION(17)))) {
        rc = nomem(&a);
        goto out;
    }
    rc = cpn_client_post(c, "/v1/quote", body, NULL, &r);
    if (rc != CPN_EXIT_OK) {
        rc = cpn_client_report(c, NULL, &r);
    } else if (a.json) {
        rc = print_json(&a, r.json);
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
    struct cargs a;
    struct cpn_client *c = NULL;
    struct cpn_reply r;
    const json_t *list, *cl;
    struct cpn_table t;
    size_t i;
    int rc = start("clusters", argc, argv, &a, &c);
    if (rc)
        return done(rc);
    rc = cpn_client_get(c, "/v1/clusters", &r);
    list = json_object_get(r.json, "clusters");
    if (rc == CPN_EXIT_OK && !json_is_array(list)) {
        snprintf(r.error, sizeof r.error, "GET /v1/clusters: the answer has no \"clusters\" array");
        rc = CPN_EXIT_SERVER;
    }
    if (rc != CPN_EXIT_OK) {
        rc = cpn_client_report(c, NULL, &r);
    } else if (a.json) {
        rc = print_json(&a, r.json);
    } else {
        cpn_table_init(&t, heads, sizeof heads / sizeof heads[0]);
        json_array_foreach(list, i, cl)
        {
            char pue[32], ci[32], pools[32] = "-";
            const char *cells[6];
            const char *id = cpn_jstr(cl, "id");
            char *path = id ? id_path("/v1/clusters/", id, "/pools") : NULL;
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
                rc = nomem(&a);
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
    struct cargs a;
    struct cpn_client *c = NULL;
    struct cpn_reply r;
    const json_t *list, *s;
    struct cpn_table t;
    size_t i;
    int rc;
    if (argc > 1 && !strcmp(argv[1], "put"))
        return cpn_cmd_signal_put(argc - 1, argv + 1);
    rc = start("signals", argc, argv, &a, &c);
    if (rc)
        return done(rc);
    rc = cpn_client_get(c, "/v1/signals", &r);
    list = json_object_get(r.json, "signals");
    if (rc == CPN_EXIT_OK && !json_is_array(list)) {
        snprintf(r.error, sizeof r.error, "GET /v1/signals: the answer has no \"signals\" array");
        rc = CPN_EXIT_SERVER;
    }
    if (rc != CPN_EXIT_OK) {
        rc = cpn_client_report(c, NULL, &r);
    } else if (a.json) {
        rc = print_json(&a, r.json);
    } else {
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
                rc = nomem(&a);
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
