/* SPDX-License-Identifier: Apache-2.0 */
/* A string-to-index map with open addressing (FNV-1a hash, linear probing), used to resolve the ids
 * in input files (hub, cluster, site, zone ids) to dense indexes. Keys are borrowed. */
#include "cpnet/util.h"

#include <errno.h>
#include <string.h>

uint64_t cpn_hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static int strmap_rehash(struct cpn_strmap *m, size_t ncap)
{
    const char **keys = cpn_calloc(ncap, sizeof *keys);
    int32_t *vals = cpn_calloc(ncap, sizeof *vals);
    if (!keys || !vals) {
        cpn_free(keys);
        cpn_free(vals);
        return -ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        size_t j;
        if (!m->keys[i])
            continue;
        j = cpn_hash_str(m->keys[i]) & (ncap - 1);
        while (keys[j])
            j = (j + 1) & (ncap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    cpn_free(m->keys);
    cpn_free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = ncap;
    return 0;
}

int cpn_strmap_put(struct cpn_strmap *m, const char *key, int32_t val)
{
    size_t j;
    if ((m->n + 1) * 2 > m->cap) {
        int rc = strmap_rehash(m, m->cap ? m->cap * 2 : 16);
        if (rc)
            return rc;
    }
    j = cpn_hash_str(key) & (m->cap - 1);
    while (m->keys[j]) {
        if (strcmp(m->keys[j], key) == 0)
            return -EEXIST;
        j = (j + 1) & (m->cap - 1);
    }
    m->keys[j] = key;
    m->vals[j] = val;
    m->n++;
    return 0;
}

int32_t cpn_strmap_get(const struct cpn_strmap *m, const char *key)
{
    size_t j;
    if (!m->cap)
        return -1;
    j = cpn_hash_str(key) & (m->cap - 1);
    while (m->keys[j]) {
        if (strcmp(m->keys[j], key) == 0)
            return m->vals[j];
        j = (j + 1) & (m->cap - 1);
    }
    return -1;
}

void cpn_strmap_free(struct cpn_strmap *m)
{
    cpn_free(m->keys);
    cpn_free(m->vals);
    memset(m, 0, sizeof *m);
}
