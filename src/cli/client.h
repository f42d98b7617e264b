/* SPDX-License-Identifier: Apache-2.0 */
/* The CLI's HTTP client of the platform API (libcurl): GET and POST with a bearer token, the answer
 * parsed as JSON, problem+json errors printed in one form, and the one mapping of an answer to the
 * command's exit status. Also the small output helpers the client subcommands share (aligned
 * tables, pretty JSON). CLI code only: it reads the environment and prints on stderr. */
#ifndef CPN_CLI_CLIENT_H
#define CPN_CLI_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cpnet/util.h"

#define CPN_CLIENT_DEFAULT_ADDR "http://127.0.0.1:8080"
#define CPN_CLIENT_BODY_MAX     (64u << 20) /* answers larger than 64 MiB are refused */

/* Where and as whom to connect. NULL fields take their defaults: addr from CPNET_ADDR, else
 * CPN_CLIENT_DEFAULT_ADDR; the token from token, else token_file, else CPNET_TOKEN, else none. */
struct cpn_client_opts {
    const char *cmd;        /* "cpnet jobs": the prefix of this client's messages */
    const char *addr;       /* --addr */
    const char *token;      /* --token */
    const char *token_file; /* --token-file */
    long connect_timeout_s; /* 0 = 5 */
    long timeout_s;         /* 0 = 60 */
};

struct cpn_client;

/* One answer. status is 0 when no HTTP answer came (cannot connect, timeout); json is the parsed
 * body (owned; NULL when the body is empty or not JSON); error names what went wrong when the
 * exchange failed below HTTP or the body could not be read. Free with cpn_reply_free(). */
struct cpn_reply {
    long status;
    json_t *json;
    struct cpn_buf body;
    char error[1024];
};

/* Creates a client (curl_global_init on the first one). Returns CPN_EXIT_OK with *out, or an exit
 * status after printing why (CPN_EXIT_USAGE for an unreadable --token-file or a malformed token or
 * address, CPN_EXIT_SERVER when libcurl cannot start). Free with cpn_client_close(). */
int cpn_client_open(const struct cpn_client_opts *o, struct cpn_client **out);
void cpn_client_close(struct cpn_client *c);
/* The base address in use, e.g. "http://127.0.0.1:8080" (no trailing '/'). */
const char *cpn_client_addr(const struct cpn_client *c);

/* GET path (which starts with '/' and may carry a query). Fills *r (always: free it) and returns
 * the exit status the answer maps to: CPN_EXIT_OK for a 2xx with a JSON body, else see
 * cpn_client_exit_for; a 2xx whose body is not JSON gives CPN_EXIT_SERVER with r->error set. */
int cpn_client_get(struct cpn_client *c, const char *path, struct cpn_reply *r);
/* POST path with a JSON body (NUL-terminated); idem_key, when not NULL, is sent as
 * Idempotency-Key. Returns as cpn_client_get. */
int cpn_client_post(struct cpn_client *c,
                    const char *path,
                    const char *json,
                    const char *idem_key,
                    struct cpn_reply *r);
/* PUT path with a body of content type ctype (NULL: application/json). Returns as
 * cpn_client_get. */
int cpn_client_put(struct cpn_client *c,
                   const char *path,
                   const char *body,
                   const char *ctype,
                   struct cpn_reply *r);
void cpn_reply_free(struct cpn_reply *r);

/* The one mapping of an HTTP status to the exit status of a command: 2xx CPN_EXIT_OK, 404
 * CPN_EXIT_NOTFOUND, other 4xx CPN_EXIT_CLIENT, anything else (no answer, 1xx, 3xx, 5xx)
 * CPN_EXIT_SERVER. */
int cpn_client_exit_for(long status);

/* Prints why r failed on stderr, as "cpnet: <status> <title>: <detail> (field: <field>)" for a
 * problem+json answer (context, when not NULL, goes after "cpnet: "), or the transport error.
 * Returns the exit status of r. */
int cpn_client_report(const struct cpn_client *c, const char *context, const struct cpn_reply *r);

/* URL-encodes s into a new string (cpn_free), or NULL when out of memory. */
char *cpn_client_escape(const char *s);

/* Prints j on f with a 2-space indent and a newline, keys in the server's order. 0 or -ENOMEM. */
int cpn_json_print(FILE *f, const json_t *j);

/* ---- aligned text tables ------------------------------------------------------------------------
 * Columns are sized to their widest cell; a column whose header starts with '>' is right-aligned
 * (the '>' is not printed). Cells are copied. */
struct cpn_table {
    size_t ncols, nrows, cap;
    const char *const *heads;
    char **cells; /* nrows x ncols */
};
/* heads has ncols entries and must outlive the table. */
void cpn_table_init(struct cpn_table *t, const char *const *heads, size_t ncols);
/* Adds a row of ncols cells (NULL cells print as "-"). 0 or -ENOMEM. */
int cpn_table_row(struct cpn_table *t, const char *const *cells);
void cpn_table_print(const struct cpn_table *t, FILE *f);
void cpn_table_free(struct cpn_table *t);

/* Helpers that read a member of a JSON object as text for a table: strings as they are, numbers
 * with the given number of decimals (integers as they are), NULL when absent or null. out is the
 * caller's buffer. */
const char *cpn_jstr(const json_t *o, const char *key);
const char *cpn_jnum(const json_t *o, const char *key, int decimals, char *out, size_t size);

#endif
