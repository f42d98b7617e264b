/* SPDX-License-Identifier: Apache-2.0 */
/* What only the model component's files share: the JSON reading context that tracks the JSON
 * pointer of the value being read (so every message can name it), typed getters that check a field
 * and report file, pointer, field, value and expected form, id and time-range checks, and the job
 * checks shared by cpn_job_validate and the job loaders. */
#ifndef CPN_MODEL_INT_H
#define CPN_MODEL_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpnet/model.h"
#include "cpnet/util.h"

/* Times accepted in input files: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z. The bound keeps
 * sums of times and durations far from int64 overflow. */
#define CPN__T_MIN (-62135596800LL)
#define CPN__T_MAX 253402300799LL

/* Input files are read whole only when they are JSON; this caps them. */
#define CPN__JSON_MAX_BYTES (256u << 20)

/* True when s is a valid id: 1..47 bytes of [A-Za-z0-9._:-]. */
bool cpn__id_ok(const char *s);
/* Writes a double with the fewest digits (up to 17) that read back as the same value. */
void cpn__fmt_double(double v, char *out, size_t size);
/* Writes s as a JSON string (quoted, escaped) to b. */
int cpn__json_str(struct cpn_buf *b, const char *s);
/* Shows s in a message: quoted and cut to a readable length. */
void cpn__show_str(const char *s, char *out, size_t size);

/* ---- JSON reading ------------------------------------------------------------------------------
 * Ownership (jansson): json_loadb returns a new reference that the loader releases with
 * json_decref once it has copied what it needs; json_object_get and json_array_get return borrowed
 * references that live as long as their parent, so no getter here takes or drops a reference. */
struct cpn__jctx {
    const char *file; /* name used in messages */
    struct cpn_error *err;
    char ptr[512]; /* JSON pointer of the value being read ("" = the document) */
    size_t len;
};
void cpn__jinit(struct cpn__jctx *j, const char *file, struct cpn_error *err);
/* Parses text with JSON_REJECT_DUPLICATES; on error names file, line and column. */
int cpn__jload(struct cpn__jctx *j, const char *text, size_t len, json_t **out);
/* Extends the pointer by an object key or an array index; returns the mark to restore. */
size_t cpn__jpush_key(struct cpn__jctx *j, const char *key);
size_t cpn__jpush_idx(struct cpn__jctx *j, size_t i);
void cpn__jpop(struct cpn__jctx *j, size_t mark);
/* Reports "<file>: <pointer>: <field> = <value>: expected <...>" (value NULL: "missing"). */
int cpn__jfail(
    struct cpn__jctx *j, int code, const char *field, const json_t *v, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Shows a JSON value in a message. */
void cpn__jshow(const json_t *v, char *out, size_t size);
/* Checks that obj is an object whose keys are all in allowed (NULL-terminated) or are one of the
 * ignored string fields "source", "note", "description". what names the object in messages. */
int cpn__jobject(struct cpn__jctx *j,
                 const json_t *obj,
                 const char *what,
                 const char *const *allowed);
/* An array under key; NULL without error when absent and !required. */
int cpn__jarray(
    struct cpn__jctx *j, const json_t *obj, const char *key, bool required, const json_t **out);
/* A string under key copied to out[size]; def when absent and !required. With id, the value must
 * be a valid id; otherwise 1..size-1 bytes. */
int cpn__jstr(struct cpn__jctx *j,
              const json_t *obj,
              const char *key,
              bool required,
              const char *def,
              bool id,
              char *out,
              size_t size);
/* A number in [lo, hi] (lo excluded when lo_open) under key; def when absent and !required.
 * expected describes the accepted form in messages. */
int cpn__jnum(struct cpn__jctx *j,
              const json_t *obj,
              const char *key,
              bool required,
              double def,
              double lo,
              bool lo_open,
              double hi,
              const char *expected,
              double *out);
/* A time (ISO 8601 string or integer seconds) under key. */
int cpn__jtime(struct cpn__jctx *j, const json_t *obj, const char *key, int64_t *out);

/* ---- jobs --------------------------------------------------------------------------------------
 */
/* What is wrong with a job: the field, the value shown and the expected form. */
struct cpn__job_issue {
    const char *field;
    char value[64];
    char expected[160];
};
/* Checks a job's own consistency; 0 or CPN_EFIELD with issue filled. */
int cpn__job_check(const struct cpn_job *job,
                   const struct cpn_network *net,
                   struct cpn__job_issue *issue);

#endif
