/* SPDX-License-Identifier: Apache-2.0 */
/* The policies: parameter sets of the one objective (money + carbon price x carbon), plus the
 * per-job physics every policy shares (run time on a pool, facility power). The shadow carbon price
 * of the carbon-aware policies is high enough that carbon decides and money breaks near-ties; it is
 * a parameter, not a fact (docs/engine.md). */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "cpnet/sched.h"

/* CNY per kg CO2 used by "green", "greenest-now" and "optimal": 100 CNY/kg (assumed, see
 * docs/engine.md) makes one kg of CO2 outweigh the rental-price spread between clusters. */
#define GREEN_CARBON_CNY_PER_KG 100.0

static const struct cpn_policy policies[] = {
    { "nearest", CPN_RANK_START_LATENCY, 1.0, 0.0, false, true },
    { "cheapest", CPN_RANK_OBJECTIVE, 1.0, 0.0, true, true },
    { "greenest-now", CPN_RANK_OBJECTIVE, 1.0, GREEN_CARBON_CNY_PER_KG, false, true },
    { "green", CPN_RANK_OBJECTIVE, 1.0, GREEN_CARBON_CNY_PER_KG, true, true },
    { "optimal", CPN_RANK_OBJECTIVE, 1.0, GREEN_CARBON_CNY_PER_KG, true, true },
};

int cpn_policy_lookup(const char *name, struct cpn_policy *out)
{
    for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) {
        if (strcmp(policies[i].name, name) == 0) {
            *out = policies[i];
            return 0;
        }
    }
    return -EINVAL;
}

const char *cpn_why_name(enum cpn_why w)
{
    static const char *const names[CPN_WHY_COUNT] = {
        "ok",   "class",    "size",     "latency", "residency",
        "down", "deadline", "capacity", "power",   "price",
    };
    return (unsigned)w < CPN_WHY_COUNT ? names[w] : "unknown";
}

double cpn_job_duration_on(const struct cpn_job *job, const struct cpn_pool *pool)
{
    if (job->duration_s > 0)
        return (double)job->duration_s;
    /* work in PFLOP-h over units x TFLOPS: hours = work * 1000 / (units * tflops) */
    if (pool->tflops_per_unit <= 0 || job->units <= 0)
        return INFINITY;
    return job->work_pflop_h * 1000.0 / ((double)job->units * pool->tflops_per_unit) * 3600.0;
}

double cpn_job_power_kw(const struct cpn_job *job,
                        const struct cpn_pool *pool,
                        const struct cpn_cluster *c)
{
    return (double)job->units * pool->watts_busy * c->pue / 1000.0;
}
