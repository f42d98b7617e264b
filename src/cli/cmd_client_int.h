/* SPDX-License-Identifier: Apache-2.0 */
/* What the CLI's client subcommands share (cmd_client.c arguments and helpers,
 * cmd_client_input.c the jobs file, cmd_jobs.c submit, jobs, job and cancel, cmd_query.c explain,
 * quote, clusters and signals): the parsed arguments of one command and the steps every command
 * takes. CLI code only: these print on stderr and return exit statuses (cli.h). */
#ifndef CPN_CLI_CMD_CLIENT_INT_H
#define CPN_CLI_CMD_CLIENT_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "client.h"

struct cli_spec; /* a command's flags and help (cmd_client.c) */

/* The arguments of one client command. */
struct cli_args {
    const struct cli_spec *spec;
    char prefix[32]; /* "cpnet submit" */
    const char *addr, *token, *token_file, *idem, *state, *tenant, *cluster, *after, *arg;
    int64_t limit;
    bool json, all;
};

/* Parses the arguments of command name and opens the client: CPN_EXIT_OK, or the status to return
 * (-1 means --help was printed: exit 0; pass it through cli_done). */
int cli_start(const char *name, int argc, char **argv, struct cli_args *a, struct cpn_client **c);
/* The exit status of a cli_start that did not return CPN_EXIT_OK. */
int cli_done(int rc);
/* Prints "out of memory" and returns CPN_EXIT_SERVER. */
int cli_nomem(const struct cli_args *a);
/* Prints j as the server's JSON (2-space indent). */
int cli_print_json(const struct cli_args *a, const json_t *j);
/* prefix + the URL-encoded id + suffix (cpn_free). NULL when out of memory. */
char *cli_id_path(const char *prefix, const char *id, const char *suffix);
/* GET or POST (no body) /v1/jobs/<the argument><suffix>; the answer in *r (always: free it).
 * Returns the exit status, after printing why when it is not CPN_EXIT_OK. */
int cli_id_request(struct cpn_client *c,
                   const struct cli_args *a,
                   const char *suffix,
                   bool post,
                   struct cpn_reply *r);
/* GET path; the answer in *r (always: free it) and its array under key in *list. Returns the exit
 * status, after printing why when it is not CPN_EXIT_OK (a missing array is a server error). */
int cli_get_list(
    struct cpn_client *c, const char *path, const char *key, struct cpn_reply *r, json_t **list);
/* Reads the argument's file (or stdin for "-") into buf and its jobs into *jobs (a new array).
 * CPN_EXIT_OK or CPN_EXIT_FAIL after a message (CPN_EXIT_SERVER when out of memory). */
int cli_read_jobs(const struct cli_args *a, struct cpn_buf *buf, json_t **jobs);

#endif
