/* SPDX-License-Identifier: Apache-2.0 */
/* A minimal test harness: each test binary registers nothing, it just calls T_RUN(fn) for each test
 * function and T_DONE(suite) at the end, which prints "<suite>: N passed, N failed" and returns the
 * exit status. Checks record the first failure of a test with file and line and go on. */
#ifndef CPN_TESTS_HARNESS_H
#define CPN_TESTS_HARNESS_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct t_state {
    int passed;
    int failed;
    int skipped;
    bool cur_failed;
    bool cur_skipped;
    const char *cur;
};

struct t_state *t_state(void);
void t_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void t_skip(const char *why);
void t_run(const char *name, void (*fn)(void));
int t_done(const char *suite);
/* Directory of the shared data (../shared from the project root), or NULL when absent. */
const char *t_shared_dir(void);
/* Path of the cpnet binary under test (CPNET_BIN, default build/cpnet). */
const char *t_cpnet_bin(void);
/* A fresh temporary directory, removed by nothing: tests put files under build/. */
const char *t_tmpdir(void);

#define T_RUN(fn)     t_run(#fn, fn)
#define T_DONE(suite) t_done(suite)
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            t_fail(__FILE__, __LINE__, "check failed: %s", #c);                                    \
    } while (0)
#define CHECK_MSG(c, ...)                                                                          \
    do {                                                                                           \
        if (!(c))                                                                                  \
            t_fail(__FILE__, __LINE__, __VA_ARGS__);                                               \
    } while (0)
#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_)                                                                              \
            t_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a, a_, #b, b_);         \
    } while (0)
#define CHECK_NEAR(a, b, tol)                                                                      \
    do {                                                                                           \
        double a_ = (double)(a), b_ = (double)(b);                                                 \
        if (!(a_ - b_ <= (tol) && b_ - a_ <= (tol)))                                               \
            t_fail(__FILE__, __LINE__, "%s == %.17g, expected %.17g (tol %g)", #a, a_, b_,         \
                   (double)(tol));                                                                 \
    } while (0)
#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                     \
            t_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)",    \
                   b_ ? b_ : "(null)");                                                            \
    } while (0)
#define CHECK_CONTAINS(hay, needle)                                                                \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        if (!h_ || !strstr(h_, n_))                                                                \
            t_fail(__FILE__, __LINE__, "%s == \"%s\" does not contain \"%s\"", #hay,               \
                   h_ ? h_ : "(null)", n_);                                                        \
    } while (0)

#endif
