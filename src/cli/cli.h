/* SPDX-License-Identifier: Apache-2.0 */
/* The cpnet command's subcommands. Each takes the arguments after its name (argv[0] is the
 * subcommand) and returns the process exit status: 0 success, 2 usage error, 1 input or runtime
 * error (message on stderr naming the file and field). */
#ifndef CPN_CLI_H
#define CPN_CLI_H

#define CPN_EXIT_OK    0
#define CPN_EXIT_FAIL  1
#define CPN_EXIT_USAGE 2

int cpn_cmd_sim(int argc, char **argv);
int cpn_cmd_gen(int argc, char **argv);
int cpn_cmd_explain_job(int argc, char **argv);

#endif
