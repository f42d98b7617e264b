/* SPDX-License-Identifier: Apache-2.0 */
/* The cpnet command: one binary, one subcommand per role. main() is the only place that decides to
 * exit; every subcommand returns its status. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define CPN_VERSION "0.1.0"

struct subcommand {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
};

static const struct subcommand commands[] = {
    { "sim", cpn_cmd_sim, "simulate a network and a demand trace under one or more policies" },
    { "gen", cpn_cmd_gen, "generate demand traces, signals and scaled networks" },
    { "place", cpn_cmd_explain_job, "place one job on a network and explain the decision" },
    { "serve", cpn_cmd_serve, "run the platform service (REST API, store, placement loop)" },
    { "token", cpn_cmd_token, "create, list and revoke API tokens" },
    { "watch", cpn_cmd_watch, "a live view: jobs by hub and state, green share, carbon saved" },
    { "submit", cpn_cmd_submit, "submit jobs to a platform (CPNET_ADDR, CPNET_TOKEN)" },
    { "jobs", cpn_cmd_jobs, "list a platform's jobs" },
    { "job", cpn_cmd_job, "show one job" },
    { "cancel", cpn_cmd_cancel, "cancel a job" },
    { "explain", cpn_cmd_explain, "explain where and when a job was placed, and why" },
    { "quote", cpn_cmd_quote, "price a job without submitting it" },
    { "clusters", cpn_cmd_clusters, "list a platform's clusters" },
    { "signals", cpn_cmd_signals, "list a platform's grid signals" },
    { "agent", cpn_cmd_agent, "run a cluster's agent: telemetry, assignments, executor" },
};

static void usage(FILE *f)
{
    fprintf(f, "usage: cpnet <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "  %-10s %s\n", "version", "print the version");
    fprintf(f, "\n'cpnet <command> --help' describes a command; docs/ has the manual.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CPN_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CPN_EXIT_OK;
    }
    if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
        printf("cpnet %s\n", CPN_VERSION);
        return CPN_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "cpnet: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return CPN_EXIT_USAGE;
}
