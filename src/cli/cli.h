/* SPDX-License-Identifier: Apache-2.0 */
/* The cpnet command's subcommands. Each takes the arguments after its name (argv[0] is the
 * subcommand) and returns the process exit status: 0 success, 2 usage error, 1 input or runtime
 * error (message on stderr naming the file and field). */
#ifndef CPN_CLI_H
#define CPN_CLI_H

#define CPN_EXIT_OK    0
#define CPN_EXIT_FAIL  1
#define CPN_EXIT_USAGE 2
/* The API client subcommands (submit, jobs, job, cancel, explain, quote, clusters, signals) also
 * use: 3 the server refused the request (HTTP 4xx other than 404), 4 not found (HTTP 404), 5 server
 * or connection error (5xx, cannot connect, timeout, an answer that is not JSON). docs/cli.md. */
#define CPN_EXIT_CLIENT   3
#define CPN_EXIT_NOTFOUND 4
#define CPN_EXIT_SERVER   5

int cpn_cmd_sim(int argc, char **argv);
int cpn_cmd_gen(int argc, char **argv);
int cpn_cmd_explain_job(int argc, char **argv);
int cpn_cmd_token(int argc, char **argv);
int cpn_cmd_serve(int argc, char **argv);
int cpn_cmd_watch(int argc, char **argv);
int cpn_cmd_signal_put(int argc, char **argv);
int cpn_cmd_submit(int argc, char **argv);
int cpn_cmd_jobs(int argc, char **argv);
int cpn_cmd_job(int argc, char **argv);
int cpn_cmd_cancel(int argc, char **argv);
int cpn_cmd_explain(int argc, char **argv);
int cpn_cmd_quote(int argc, char **argv);
int cpn_cmd_clusters(int argc, char **argv);
int cpn_cmd_signals(int argc, char **argv);
int cpn_cmd_agent(int argc, char **argv);

#endif
