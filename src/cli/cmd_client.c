/* SPDX-License-Identifier: Apache-2.0 */
/* What the CLI's client subcommands (submit, jobs, job, cancel, explain, quote, clusters and
 * signals) share: their flags and --help texts, the parsing of "--flag VALUE", "--flag=VALUE" and
 * the positional argument, the opening of the client (client.c) and small output helpers. The
 * commands themselves are in cmd_jobs.c and cmd_query.c, the reading of a jobs file in
 * cmd_client_input.c. Exit statuses: 0 ok, 1 the input file cannot be read or parsed (nothing
 * sent), 2 usage, 3 refused (4xx), 4 not found, 5 server or connection (docs/cli.md). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_client_int.h"

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

struct cli_spec {
    const char *name;
    unsigned flags;
    const char *arg; /* the positional argument's name, NULL when none */
    const char *synopsis;
    const char *about;
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

static const struct cli_spec specs[] = {
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

static const struct cli_spec *spec_of(const char *name)
{
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        if (!strcmp(specs[i].name, name))
            return &specs[i];
    return NULL;
}

static void usage(const struct cli_spec *s, FILE *f)
{
    fprintf(f, "usage: %s\n\n%s%s", s->synopsis, s->about, common_help);
}

static int usage_error(const struct cli_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int usage_error(const struct cli_args *a, const char *fmt, ...)
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

static int check_values(struct cli_args *a)
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
static int parse(const char *name, int argc, char **argv, struct cli_args *a)
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
int cli_start(const char *name, int argc, char **argv, struct cli_args *a, struct cpn_client **c)
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

int cli_done(int rc)
{
    return rc < 0 ? CPN_EXIT_OK : rc;
}

int cli_nomem(const struct cli_args *a)
{
    fprintf(stderr, "%s: out of memory\n", a->prefix);
    return CPN_EXIT_SERVER;
}

int cli_print_json(const struct cli_args *a, const json_t *j)
{
    return cpn_json_print(stdout, j) ? cli_nomem(a) : CPN_EXIT_OK;
}

int cli_get_list(
    struct cpn_client *c, const char *path, const char *key, struct cpn_reply *r, json_t **list)
{
    int rc = cpn_client_get(c, path, r);
    *list = json_object_get(r->json, key);
    if (rc == CPN_EXIT_OK && !json_is_array(*list)) {
        snprintf(r->error, sizeof r->error, "GET %s: the answer has no \"%s\" array", path, key);
        rc = CPN_EXIT_SERVER;
    }
    return rc == CPN_EXIT_OK ? rc : cpn_client_report(c, NULL, r);
}

/* prefix + the URL-encoded id + suffix. NULL when out of memory. */
char *cli_id_path(const char *prefix, const char *id, const char *suffix)
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

/* GET or POST (no body) a path with an escaped id; the answer in *r. */
int cli_id_request(struct cpn_client *c,
                   const struct cli_args *a,
                   const char *suffix,
                   bool post,
                   struct cpn_reply *r)
{
    char *path = cli_id_path("/v1/jobs/", a->arg, suffix);
    int rc;
    if (!path) {
        memset(r, 0, sizeof *r);
        return cli_nomem(a);
    }
    rc = post ? cpn_client_post(c, path, NULL, NULL, r) : cpn_client_get(c, path, r);
    cpn_free(path);
    if (rc != CPN_EXIT_OK)
        rc = cpn_client_report(c, NULL, r);
    return rc;
}
