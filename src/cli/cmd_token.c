/* SPDX-License-Identifier: Apache-2.0 */
/* cpnet token: creates, lists and revokes the API tokens of a platform's data directory, working on
 * the store directly (safe while `cpnet serve` runs: SQLite serialises the writers). `create`
 * prints the token once on stdout and its id on stderr; the token is never stored or shown again,
 * only its SHA-256. `list` shows ids, roles, subjects and times, never secrets. Exit 2 for usage
 * errors (naming the flag), 1 for other errors. docs/store.md describes the token format. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cpnet/store.h"

enum {
    A_DATA_DIR = 1,
    A_ROLE = 2,
    A_SUBJECT = 4,
    A_NOTE = 8,
    A_JSON = 16
};

struct token_args {
    const char *verb;
    const char *data_dir, *role, *subject, *note, *id;
    bool json;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: cpnet token create --data-dir DIR --role ROLE [--subject S] [--note TEXT]\n"
               "       cpnet token list --data-dir DIR [--json]\n"
               "       cpnet token revoke --data-dir DIR ID\n"
               "\n"
               "Creates, lists and revokes the API tokens of the platform whose data directory is\n"
               "DIR (the --data-dir of `cpnet serve`).\n"
               "  --role ROLE      operator (everything), tenant (its own jobs and quotes),\n"
               "                   provider (its clusters' registration and telemetry), peer\n"
               "  --subject S      the tenant id, the provider's cluster ids (comma-separated) or\n"
               "                   the peer id; required for every role but operator\n"
               "  --note TEXT      a free-text note shown by list (who, why)\n"
               "  --json           list as a JSON array\n"
               "create prints the token once on stdout (keep it: only its hash is stored) and\n"
               "its id on stderr; revoke takes that id.\n");
}

static int usage_error(const char *verb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int usage_error(const char *verb, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "cpnet token%s%s: ", verb ? " " : "", verb ? verb : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see cpnet token --help)\n");
    return CPN_EXIT_USAGE;
}

/* Parses "--flag VALUE", "--flag=VALUE" and "--json" for the flags in allowed, and at most
 * npos positional arguments (the token id of revoke). */
static int parse(int argc, char **argv, unsigned allowed, int npos, struct token_args *a)
{
    static const struct {
        const char *name;
        unsigned bit;
    } flags[] = { { "--data-dir", A_DATA_DIR },
                  { "--role", A_ROLE },
                  { "--subject", A_SUBJECT },
                  { "--note", A_NOTE },
                  { "--json", A_JSON } };
    int pos = 0;
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i], *val = NULL, *eq;
        size_t nlen;
        unsigned bit = 0;
        if (arg[0] != '-' || arg[1] == '\0') {
            if (pos >= npos)
                return usage_error(a->verb, "unexpected argument '%s'", arg);
            a->id = arg;
            pos++;
            continue;
        }
        eq = strchr(arg, '=');
        nlen = eq ? (size_t)(eq - arg) : strlen(arg);
        for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
            if (strlen(flags[k].name) == nlen && !strncmp(arg, flags[k].name, nlen))
                bit = flags[k].bit;
        if (!bit || !(allowed & bit))
            return usage_error(a->verb, "unknown flag %.*s", (int)nlen, arg);
        if (bit == A_JSON) {
            if (eq)
                return usage_error(a->verb, "--json takes no value");
            a->json = true;
            continue;
        }
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return usage_error(a->verb, "%s needs a value", arg);
        if (!*val)
            return usage_error(a->verb, "%.*s: empty value", (int)nlen, arg);
        if (bit == A_DATA_DIR)
            a->data_dir = val;
        else if (bit == A_ROLE)
            a->role = val;
        else if (bit == A_SUBJECT)
            a->subject = val;
        else
            a->note = val;
    }
    if (!a->data_dir)
        return usage_error(a->verb, "--data-dir DIR is required");
    if (pos < npos)
        return usage_error(a->verb, "the token id is required");
    return 0;
}

static int64_t now_s(void)
{
    struct cpn_clock c = cpn_clock_real();
    return c.now_ns(c.ctx) / 1000000000;
}

static int open_store(const char *dir, struct cpn_store **st)
{
    struct cpn_error err = { 0 };
    if (cpn_store_open(dir, st, &err) != 0) {
        fprintf(stderr, "cpnet token: %s\n", err.msg);
        return CPN_EXIT_FAIL;
    }
    return 0;
}

static int do_create(const struct token_args *a)
{
    struct cpn_error err = { 0 };
    struct cpn_token_rec rec;
    struct cpn_store *st;
    char token[CPN_TOKEN_MAX];
    enum cpn_role role;
    int rc;
    if (!a->role)
        return usage_error(a->verb, "--role is required (operator, tenant, provider or peer)");
    if (cpn_role_parse(a->role, &role) != 0)
        return usage_error(a->verb, "--role '%s': expected operator, tenant, provider or peer",
                           a->role);
    if (role != CPN_ROLE_OPERATOR && !a->subject)
        return usage_error(a->verb, "--subject is required for a %s token (%s)", a->role,
                           role == CPN_ROLE_TENANT     ? "the tenant id"
                           : role == CPN_ROLE_PROVIDER ? "its cluster ids, comma-separated"
                                                       : "the peer id");
    if (mkdir(a->data_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "cpnet token create: --data-dir %s: %s\n", a->data_dir, strerror(errno));
        return CPN_EXIT_FAIL;
    }
    if ((rc = open_store(a->data_dir, &st)) != 0)
        return rc;
    rc = cpn_store_token_create(st, role, a->subject, a->note, now_s(), token, &rec, &err);
    cpn_store_close(st);
    if (rc) {
        fprintf(stderr, "cpnet token create: %s\n", err.msg);
        return CPN_EXIT_FAIL;
    }
    printf("%s\n", token);
    fflush(stdout);
    fprintf(stderr, "cpnet token: created %s token %s%s%s (shown once; only its hash is kept)\n",
            cpn_role_name(rec.role), rec.id, rec.subject[0] ? " for " : "", rec.subject);
    return CPN_EXIT_OK;
}

struct list_ctx {
    bool json;
    json_t *arr;
};

static int list_row(void *ctx, const struct cpn_token_rec *r)
{
    struct list_ctx *l = ctx;
    char created[CPN_TIME_STRLEN], revoked[CPN_TIME_STRLEN] = "-";
    cpn_time_format(r->created_s, created);
    if (r->revoked_s)
        cpn_time_format(r->revoked_s, revoked);
    if (l->json) {
        json_t *o = json_object();
        json_t *subj = json_string(r->subject), *note = json_string(r->note);
        if (!o || !subj || !note) {
            json_decref(o);
            json_decref(subj);
            json_decref(note);
            return CPN_EPARSE;
        }
        json_object_set_new(o, "id", json_string(r->id));
        json_object_set_new(o, "role", json_string(cpn_role_name(r->role)));
        json_object_set_new(o, "subject", subj);
        json_object_set_new(o, "note", note);
        json_object_set_new(o, "created", json_string(created));
        json_object_set_new(o, "revoked", r->revoked_s ? json_string(revoked) : json_null());
        json_array_append_new(l->arr, o);
        return 0;
    }
    printf("%-16s  %-8s  %-20s  %-20s  %-20s  %s\n", r->id, cpn_role_name(r->role),
           r->subject[0] ? r->subject : "-", created, revoked, r->note);
    return 0;
}

static int do_list(const struct token_args *a)
{
    struct cpn_error err = { 0 };
    struct list_ctx l = { a->json, NULL };
    struct cpn_store *st;
    int rc;
    if ((rc = open_store(a->data_dir, &st)) != 0)
        return rc;
    if (l.json && !(l.arr = json_array())) {
        cpn_store_close(st);
        fprintf(stderr, "cpnet token list: out of memory\n");
        return CPN_EXIT_FAIL;
    }
    if (!l.json)
        printf("%-16s  %-8s  %-20s  %-20s  %-20s  %s\n", "ID", "ROLE", "SUBJECT", "CREATED",
               "REVOKED", "NOTE");
    rc = cpn_store_tokens_each(st, list_row, &l, &err);
    cpn_store_close(st);
    if (rc) {
        json_decref(l.arr);
        if (rc == CPN_EPARSE)
            fprintf(stderr, "cpnet token list: a subject or note is not valid UTF-8\n");
        else
            fprintf(stderr, "cpnet token list: %s\n", err.msg);
        return CPN_EXIT_FAIL;
    }
    if (l.json) {
        char *s = json_dumps(l.arr, JSON_INDENT(2));
        json_decref(l.arr);
        if (!s) {
            fprintf(stderr, "cpnet token list: out of memory\n");
            return CPN_EXIT_FAIL;
        }
        printf("%s\n", s);
        free(s);
    }
    return CPN_EXIT_OK;
}

static int do_revoke(const struct token_args *a)
{
    struct cpn_error err = { 0 };
    struct cpn_store *st;
    int rc;
    if ((rc = open_store(a->data_dir, &st)) != 0)
        return rc;
    rc = cpn_store_token_revoke(st, a->id, now_s(), &err);
    cpn_store_close(st);
    if (rc) {
        fprintf(stderr, "cpnet token revoke: %s\n", err.msg);
        return CPN_EXIT_FAIL;
    }
    fprintf(stderr, "cpnet token: revoked %s\n", a->id);
    return CPN_EXIT_OK;
}

int cpn_cmd_token(int argc, char **argv)
{
    struct token_args a = { 0 };
    int rc;
    if (argc < 2) {
        usage(stderr);
        return CPN_EXIT_USAGE;
    }
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") ||
            (i == 1 && !strcmp(argv[i], "help"))) {
            usage(stdout);
            return CPN_EXIT_OK;
        }
    a.verb = argv[1];
    if (!strcmp(a.verb, "create")) {
        if ((rc = parse(argc, argv, A_DATA_DIR | A_ROLE | A_SUBJECT | A_NOTE, 0, &a)) != 0)
            return rc;
        return do_create(&a);
    }
    if (!strcmp(a.verb, "list")) {
        if ((rc = parse(argc, argv, A_DATA_DIR | A_JSON, 0, &a)) != 0)
            return rc;
        return do_list(&a);
    }
    if (!strcmp(a.verb, "revoke")) {
        if ((rc = parse(argc, argv, A_DATA_DIR, 1, &a)) != 0)
            return rc;
        return do_revoke(&a);
    }
    return usage_error(NULL, "unknown subcommand '%s', expected create, list or revoke", a.verb);
}
