/* SPDX-License-Identifier: Apache-2.0 */
/* cpnet signals put ZONE KIND FILE|-: uploads a series (a CSV in either supported format, see
 * docs/formats.md) as the zone's actual or, with --forecast, forecast signal of that kind
 * (PUT /v1/signals/{zone}/{kind}, operator tokens only). The platform re-plans the pending
 * placements it affects. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: cpnet signals put ZONE KIND FILE|- [--forecast] [--addr URL]\n"
               "                         [--token T | --token-file F] [--json]\n"
               "Uploads a series (CSV: \"time,value\" or an Electricity Maps export) as the\n"
               "zone's actual (or --forecast) signal of KIND (ci, green, price).\n"
               "Exit status: 0 ok, 1 unreadable file, 2 usage, 3 refused (4xx), 4 no such\n"
               "zone or kind, 5 server error.\n");
}

int cpn_cmd_signal_put(int argc, char **argv)
{
    struct cpn_client_opts o = { .cmd = "cpnet signals put" };
    const char *pos[3] = { NULL, NULL, NULL };
    bool forecast = false, json = false;
    struct cpn_buf body = { .limit = 1u << 20 };
    struct cpn_error err = { 0 };
    struct cpn_client *c;
    struct cpn_reply r;
    char path[512];
    size_t np = 0;
    int rc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return CPN_EXIT_OK;
        }
        if (!strcmp(a, "--forecast")) {
            forecast = true;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--addr") || !strcmp(a, "--token") || !strcmp(a, "--token-file")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "cpnet signals put: %s needs a value\n", a);
                return CPN_EXIT_USAGE;
            }
            if (!strcmp(a, "--addr"))
                o.addr = argv[++i];
            else if (!strcmp(a, "--token"))
                o.token = argv[++i];
            else
                o.token_file = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "cpnet signals put: unknown option '%s'\n", a);
            usage(stderr);
            return CPN_EXIT_USAGE;
        } else if (np < 3) {
            pos[np++] = a;
        } else {
            fprintf(stderr, "cpnet signals put: unexpected argument '%s'\n", a);
            return CPN_EXIT_USAGE;
        }
    }
    if (np != 3) {
        fprintf(stderr, "cpnet signals put: ZONE, KIND and FILE are required\n");
        usage(stderr);
        return CPN_EXIT_USAGE;
    }
    if (!strcmp(pos[2], "-")) {
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
            if (cpn_buf_append(&body, chunk, n)) {
                fprintf(stderr, "cpnet signals put: standard input is larger than 1 MiB\n");
                cpn_buf_free(&body);
                return CPN_EXIT_FAIL;
            }
    } else if (cpn_buf_read_file(&body, pos[2], &err)) {
        fprintf(stderr, "cpnet signals put: %s\n", err.msg);
        cpn_buf_free(&body);
        return CPN_EXIT_FAIL;
    }
    if (!body.data || strlen(body.data) != body.len) {
        fprintf(stderr, "cpnet signals put: %s: empty, or not text\n", pos[2]);
        cpn_buf_free(&body);
        return CPN_EXIT_FAIL;
    }
    if ((rc = cpn_client_open(&o, &c)) != CPN_EXIT_OK) {
        cpn_buf_free(&body);
        return rc;
    }
    {
        char *z = cpn_client_escape(pos[0]), *k = cpn_client_escape(pos[1]);
        snprintf(path, sizeof path, "/v1/signals/%s/%s%s", z ? z : "", k ? k : "",
                 forecast ? "?forecast=true" : "");
        cpn_free(z);
        cpn_free(k);
    }
    rc = cpn_client_put(c, path, body.data, "text/csv", &r);
    if (rc != CPN_EXIT_OK) {
        rc = cpn_client_report(c, NULL, &r);
    } else if (json) {
        cpn_json_print(stdout, r.json);
    } else {
        const json_t *ser = json_object_get(r.json, "series");
        printf("%s %s %s: %s points from %s to %s (%s)\n", pos[0], pos[1],
               forecast ? "forecast" : "actual",
               cpn_jnum(ser, "points", 0, path, sizeof path) ? path : "?",
               cpn_jstr(ser, "start") ? cpn_jstr(ser, "start") : "?",
               cpn_jstr(ser, "end") ? cpn_jstr(ser, "end") : "?",
               cpn_jstr(ser, "source") ? cpn_jstr(ser, "source") : "");
    }
    cpn_reply_free(&r);
    cpn_client_close(c);
    cpn_buf_free(&body);
    return rc;
}
