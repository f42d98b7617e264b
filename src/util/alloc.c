/* SPDX-License-Identifier: Apache-2.0 */
/* The allocation hook: every long-lived allocation goes through cpn_malloc and friends so that a
 * test can make the n-th allocation fail and check that the failing function has no side effects.
 * The fail counter is the library's only process-wide state (docs/design/globals.md). */
#include "cpnet/util.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static long fail_after = -1;

void cpn_alloc_fail_after(long n)
{
    fail_after = n;
}

static int should_fail(void)
{
    if (fail_after < 0)
        return 0;
    if (fail_after == 0) {
        fail_after = -1;
        return 1;
    }
    fail_after--;
    return 0;
}

void *cpn_malloc(size_t n)
{
    return should_fail() ? NULL : malloc(n ? n : 1);
}

void *cpn_calloc(size_t count, size_t size)
{
    return should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
}

void *cpn_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : realloc(p, n ? n : 1);
}

void *cpn_reallocarray(void *p, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    return cpn_realloc(p, count * size);
}

void cpn_free(void *p)
{
    free(p);
}

char *cpn_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = cpn_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

int cpn_grow(void *v, size_t *cap, size_t need, size_t elem)
{
    void **pv = v;
    size_t ncap;
    void *nv;
    if (need <= *cap)
        return 0;
    ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return -ENOMEM;
        ncap *= 2;
    }
    nv = cpn_reallocarray(*pv, ncap, elem);
    if (!nv)
        return -ENOMEM;
    *pv = nv;
    *cap = ncap;
    return 0;
}
