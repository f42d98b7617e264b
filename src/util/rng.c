/* SPDX-License-Identifier: Apache-2.0 */
/* Deterministic pseudo-random numbers: xoshiro256** seeded through splitmix64, and normal draws by
 * the polar method. Every generator and simulator draws from a seeded struct cpn_rng, so the same
 * seed gives the same output on every machine. */
#include "cpnet/util.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void cpn_rng_seed(struct cpn_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    r->have_spare = false;
    r->spare = 0;
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t cpn_rng_u64(struct cpn_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double cpn_rng_uniform(struct cpn_rng *r)
{
    return (double)(cpn_rng_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t cpn_rng_below(struct cpn_rng *r, uint64_t n)
{
    uint64_t lim, x;
    if (n <= 1)
        return 0;
    lim = UINT64_MAX - UINT64_MAX % n;
    do {
        x = cpn_rng_u64(r);
    } while (x >= lim);
    return x % n;
}

double cpn_rng_normal(struct cpn_rng *r)
{
    double u, v, s;
    if (r->have_spare) {
        r->have_spare = false;
        return r->spare;
    }
    do {
        u = 2 * cpn_rng_uniform(r) - 1;
        v = 2 * cpn_rng_uniform(r) - 1;
        s = u * u + v * v;
    } while (s >= 1 || s == 0);
    s = sqrt(-2 * log(s) / s);
    r->spare = v * s;
    r->have_spare = true;
    return u * s;
}
