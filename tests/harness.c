/* SPDX-License-Identifier: Apache-2.0 */
/* The test harness behind tests/harness.h: counts, prints one line per test ("ok - name",
 * "FAIL - name: why", "SKIP - name: why") and the suite's closing line. */
#include "harness.h"

#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static struct t_state g_state; /* test-only process state; the library itself has no globals */

struct t_state *t_state(void)
{
    return &g_state;
}

void t_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    if (g_state.cur_failed)
        return;
    g_state.cur_failed = true;
    printf("FAIL - %s: %s:%d: ", g_state.cur ? g_state.cur : "?", file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

void t_skip(const char *why)
{
    g_state.cur_skipped = true;
    printf("SKIP - %s: %s\n", g_state.cur ? g_state.cur : "?", why);
}

void t_run(const char *name, void (*fn)(void))
{
    g_state.cur = name;
    g_state.cur_failed = false;
    g_state.cur_skipped = false;
    fn();
    if (g_state.cur_failed) {
        g_state.failed++;
    } else if (g_state.cur_skipped) {
        g_state.skipped++;
    } else {
        g_state.passed++;
        printf("ok - %s\n", name);
    }
    fflush(stdout);
    g_state.cur = NULL;
}

int t_done(const char *suite)
{
    if (g_state.skipped)
        printf("%s: %d passed, %d failed, %d skipped\n", suite, g_state.passed, g_state.failed,
               g_state.skipped);
    else
        printf("%s: %d passed, %d failed\n", suite, g_state.passed, g_state.failed);
    return g_state.failed ? 1 : 0;
}

const char *t_shared_dir(void)
{
    static const char *const cands[] = { "../shared", "../../shared" };
    const char *env = getenv("CPNET_SHARED");
    struct stat st;
    if (env && stat(env, &st) == 0)
        return env;
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++)
        if (stat(cands[i], &st) == 0 && S_ISDIR(st.st_mode))
            return cands[i];
    return NULL;
}

const char *t_cpnet_bin(void)
{
    const char *b = getenv("CPNET_BIN");
    return b ? b : "build/cpnet";
}

const char *t_tmpdir(void)
{
    static char dir[256];
    const char *base = getenv("CPNET_BUILD");
    snprintf(dir, sizeof dir, "%s/tmp-XXXXXX", base ? base : "build");
    mkdir(base ? base : "build", 0755);
    if (!mkdtemp(dir))
        return "/tmp";
    return dir;
}
