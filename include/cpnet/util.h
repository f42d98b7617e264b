/* SPDX-License-Identifier: Apache-2.0 */
/* cpnet/util.h: what every component shares: error codes and messages, the allocation hook, bounded
 * buffers, UTC time parsing, CSV reading, number parsing and a deterministic random generator.
 * Nothing here keeps global state except the allocation-failure counter that tests arm. */
#ifndef CPNET_UTIL_H
#define CPNET_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- errors ------------------------------------------------------------------------------------
 * Fallible functions return 0 or a negative code: -errno values for system errors, or one of the
 * project codes below. cpn_strerror() names both. */
#define CPN_ERROR_TABLE(X)                                                                         \
    X(CPN_EPARSE, -1000, "malformed input")                                                        \
    X(CPN_EFIELD, -1001, "invalid field value")                                                    \
    X(CPN_EREF, -1002, "reference to an unknown object")                                           \
    X(CPN_EINFEASIBLE, -1003, "no feasible placement")                                             \
    X(CPN_ELIMIT, -1004, "limit exceeded")                                                         \
    X(CPN_EUNSUPPORTED, -1005, "unsupported")                                                      \
    X(CPN_ESOLVER, -1006, "solver failure")                                                        \
    X(CPN_EUSAGE, -1007, "usage error")

enum cpn_errcode {
#define CPN_X_(name, val, msg) name = val,
    CPN_ERROR_TABLE(CPN_X_)
#undef CPN_X_
};

/* A human message that goes with a code; functions write it only on failure. May be NULL. */
struct cpn_error {
    int code;
    char msg[512];
};

/* Stores code and a formatted message in err (when err is not NULL) and returns code. */
int cpn_errorf(struct cpn_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefixes the message already in err with a formatted context ("file.csv: "); returns err->code
 * (or code when err is NULL). */
int cpn_error_prefix(struct cpn_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The static description of a code (negative errno or CPN_E*). Never NULL. */
const char *cpn_strerror(int code);

/* ---- memory -------------------------------------------------------------------------------------
 * Long-lived allocations go through these so that tests can make the n-th allocation fail
 * (cpn_alloc_fail_after). Library code returns -ENOMEM on failure and never aborts. */
void *cpn_malloc(size_t n);
void *cpn_calloc(size_t count, size_t size);
void *cpn_realloc(void *p, size_t n);
/* reallocarray with overflow check. */
void *cpn_reallocarray(void *p, size_t count, size_t size);
void cpn_free(void *p);
char *cpn_strdup(const char *s);
/* Test hook: the allocation after n more succeed fails (n < 0 disarms). Not thread-safe. */
void cpn_alloc_fail_after(long n);

/* Grows *v (of *cap elements of size elem) to hold at least need elements. 0 or -ENOMEM. */
int cpn_grow(void *v, size_t *cap, size_t need, size_t elem);

/* ---- byte buffers with a hard cap
 * ---------------------------------------------------------------- */
struct cpn_buf {
    char *data; /* always NUL-terminated when not NULL */
    size_t len;
    size_t cap;
    size_t limit; /* 0 = no limit; appends beyond it fail with CPN_ELIMIT */
};
int cpn_buf_append(struct cpn_buf *b, const void *p, size_t n);
int cpn_buf_puts(struct cpn_buf *b, const char *s);
int cpn_buf_printf(struct cpn_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cpn_buf_vprintf(struct cpn_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* snprintf(out, CPN_FMT_G_MAX, "%.*g", prec, v), byte for byte, without glibc's multi-precision
 * path for the common cases (src/util/fmtg.c); prec 1..15. Returns the length. */
#define CPN_FMT_G_MAX 32
int cpn_fmt_g(char out[CPN_FMT_G_MAX], double v, int prec);
/* Appends cpn_fmt_g(v, prec) to b. */
int cpn_buf_g(struct cpn_buf *b, double v, int prec);
void cpn_buf_reset(struct cpn_buf *b);
void cpn_buf_free(struct cpn_buf *b);
/* Reads a whole file into b (limit applies). -errno or CPN_ELIMIT. */
int cpn_buf_read_file(struct cpn_buf *b, const char *path, struct cpn_error *err);

/* ---- strings and numbers
 * ------------------------------------------------------------------------- */
/* Copies src into dst[size]; CPN_ELIMIT when it does not fit (dst then holds a truncated copy). */
int cpn_strlcpy(char *dst, const char *src, size_t size);
/* Strict parsers: the whole string must be a number (surrounding blanks allowed). */
int cpn_parse_double(const char *s, double *out);
int cpn_parse_int64(const char *s, int64_t *out);
/* Parses a duration: plain seconds ("3600"), or a number with unit s, m, min, h, d ("90m",
 * "1.5h"), or ISO 8601 PnDTnHnMnS. Result in whole seconds (rounded). */
int cpn_parse_duration(const char *s, int64_t *out_s);
/* Parses "true/false/1/0/yes/no" (case-insensitive). */
int cpn_parse_bool(const char *s, bool *out);

/* ---- time (int64 seconds since 1970-01-01 UTC)
 * ---------------------------------------------------- */
/* Accepts "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fff]]" with 'T' or ' ', an optional 'Z' or
 * +HH:MM / -HH:MM offset (no offset means UTC), or plain integer seconds. */
int cpn_time_parse(const char *s, int64_t *out);
/* Writes "YYYY-MM-DDTHH:MM:SSZ" into out[CPN_TIME_STRLEN]. */
#define CPN_TIME_STRLEN 32
void cpn_time_format(int64_t t, char *out);
/* Days since epoch <-> civil date (proleptic Gregorian). */
int64_t cpn_days_from_civil(int64_t y, unsigned m, unsigned d);
void cpn_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
/* 0 = Sunday .. 6 = Saturday. */
int cpn_weekday(int64_t t);
/* Floor division for negative-safe slot arithmetic. */
static inline int64_t cpn_floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* ---- clock
 * ---------------------------------------------------------------------------------------- Time is
 * injected: components take a clock and never call time() themselves. */
struct cpn_clock {
    int64_t (*now_ns)(void *ctx); /* nanoseconds since the epoch */
    void *ctx;
};
/* The real clock (CLOCK_REALTIME) and a monotonic one for measuring intervals. */
struct cpn_clock cpn_clock_real(void);
int64_t cpn_monotonic_ns(void);

/* ---- CSV (RFC 4180: quotes, doubled quotes, CRLF or LF)
 * ------------------------------------------ */
struct cpn_csv;
/* Opens a file (or, with cpn_csv_from_mem, a borrowed memory buffer that must outlive the reader).
 * The reader is freed with cpn_csv_close(). */
int cpn_csv_open(const char *path, struct cpn_csv **out, struct cpn_error *err);
int cpn_csv_from_mem(const char *data, size_t len, const char *name, struct cpn_csv **out);
/* Reads the next record. Returns 1 with *fields and *n set (valid until the next call), 0 at end of
 * input, or CPN_EPARSE (err names file, line and column). Blank lines are skipped. */
int cpn_csv_next(struct cpn_csv *c, char ***fields, size_t *n, struct cpn_error *err);
/* Line number (1-based) where the last record returned began, and the source name. */
long cpn_csv_line(const struct cpn_csv *c);
const char *cpn_csv_name(const struct cpn_csv *c);
void cpn_csv_close(struct cpn_csv *c);

/* ---- deterministic random numbers (xoshiro256**, seeded by splitmix64)
 * --------------------------- */
struct cpn_rng {
    uint64_t s[4];
    bool have_spare;
    double spare;
};
void cpn_rng_seed(struct cpn_rng *r, uint64_t seed);
uint64_t cpn_rng_u64(struct cpn_rng *r);
/* Uniform in [0, 1). */
double cpn_rng_uniform(struct cpn_rng *r);
/* Standard normal (polar Box-Muller). */
double cpn_rng_normal(struct cpn_rng *r);
/* Uniform integer in [0, n). */
uint64_t cpn_rng_below(struct cpn_rng *r, uint64_t n);

/* ---- hashing
 * --------------------------------------------------------------------------------------- */
uint64_t cpn_hash_str(const char *s);

/* ---- string -> index map (open addressing; keys are borrowed and must outlive the map)
 * ----------- */
struct cpn_strmap {
    const char **keys;
    int32_t *vals;
    size_t cap;
    size_t n;
};
int cpn_strmap_put(struct cpn_strmap *m, const char *key, int32_t val);
/* Returns the value or -1. */
int32_t cpn_strmap_get(const struct cpn_strmap *m, const char *key);
void cpn_strmap_free(struct cpn_strmap *m);

#endif
