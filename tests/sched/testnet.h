/* SPDX-License-Identifier: Apache-2.0 */
/* Builds small networks and signal sets in memory for the engine's tests: random instances for
 * the differential tests and hand-made ones for targeted cases. Everything is allocated with
 * cpn_calloc and freed with tnet_free / tsig_free. */
#ifndef CPN_TESTS_TESTNET_H
#define CPN_TESTS_TESTNET_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cpnet/model.h"
#include "cpnet/util.h"

static inline struct cpn_network *
tnet_new(int nhubs, int nclusters, int pools_per, int nsites, int64_t slot_s)
{
    struct cpn_network *n = cpn_calloc(1, sizeof *n);
    snprintf(n->name, sizeof n->name, "test");
    n->slot_s = slot_s;
    n->route_factor = 1.3;
    n->fibre_us_per_km = 4.9;
    n->equipment_ms = 0.5;
    n->transfer_gbps = 10;
    n->nhubs = (size_t)nhubs;
    n->nzones = (size_t)nclusters;
    n->nclusters = (size_t)nclusters;
    n->npools = (size_t)(nclusters * pools_per);
    n->nsites = (size_t)nsites;
    n->hubs = cpn_calloc(n->nhubs, sizeof *n->hubs);
    n->zones = cpn_calloc(n->nzones, sizeof *n->zones);
    n->clusters = cpn_calloc(n->nclusters, sizeof *n->clusters);
    n->pools = cpn_calloc(n->npools, sizeof *n->pools);
    n->sites = cpn_calloc(n->nsites, sizeof *n->sites);
    n->rtt_ms = cpn_calloc(n->nsites * n->nclusters, sizeof *n->rtt_ms);
    for (int h = 0; h < nhubs; h++) {
        snprintf(n->hubs[h].id, sizeof n->hubs[h].id, "hub%d", h);
        n->hubs[h].region = h % 2 ? CPN_REGION_WEST : CPN_REGION_EAST;
    }
    for (int c = 0; c < nclusters; c++) {
        struct cpn_cluster *cl = &n->clusters[c];
        snprintf(cl->id, sizeof cl->id, "c%d", c);
        snprintf(n->zones[c].id, sizeof n->zones[c].id, "z%d", c);
        n->zones[c].grid_gco2_per_kwh = 500;
        for (int h = 0; h < 24; h++)
            n->zones[c].price_cny_per_kwh[h] = 0.5;
        cl->hub = c % nhubs;
        cl->zone = c;
        cl->pue = 1.0;
        cl->pool_first = c * pools_per;
        cl->pool_count = pools_per;
        for (int q = 0; q < pools_per; q++) {
            struct cpn_pool *p = &n->pools[c * pools_per + q];
            snprintf(p->id, sizeof p->id, "p%d", q);
            p->cluster = c;
            p->cls = CPN_CLASS_INTELLIGENT;
            snprintf(p->device, sizeof p->device, "dev%d", q);
            p->units = 4;
            p->tflops_per_unit = 100;
            p->watts_idle = 100;
            p->watts_busy = 1000;
        }
    }
    for (int s = 0; s < nsites; s++)
        snprintf(n->sites[s].id, sizeof n->sites[s].id, "s%d", s);
    return n;
}

static inline void tnet_free(struct cpn_network *n)
{
    if (!n)
        return;
    cpn_free(n->hubs);
    cpn_free(n->zones);
    cpn_free(n->clusters);
    cpn_free(n->pools);
    cpn_free(n->sites);
    cpn_free(n->outages);
    cpn_free(n->rtt_ms);
    cpn_free(n);
}

/* A signal set with a series of the given kind for every zone (values from fn or random). */
static inline struct cpn_signals *tsig_new(const struct cpn_network *n)
{
    struct cpn_signals *s = cpn_calloc(1, sizeof *s);
    s->nzones = n->nzones;
    s->step_s = n->slot_s;
    s->actual = cpn_calloc(n->nzones * CPN_SIG_COUNT, sizeof *s->actual);
    s->forecast = cpn_calloc(n->nzones * CPN_SIG_COUNT, sizeof *s->forecast);
    return s;
}

static inline void tsig_set(struct cpn_signals *s,
                            size_t zone,
                            enum cpn_signal_kind k,
                            bool forecast,
                            int64_t t0,
                            int64_t step,
                            size_t len,
                            const double *v)
{
    struct cpn_series *ser = &(forecast ? s->forecast : s->actual)[zone * CPN_SIG_COUNT + k];
    cpn_free(ser->v);
    ser->t0 = t0;
    ser->step_s = step;
    ser->n = len;
    ser->v = cpn_calloc(len, sizeof *ser->v);
    memcpy(ser->v, v, len * sizeof *v);
    snprintf(ser->source, sizeof ser->source, "test");
}

static inline void tsig_free(struct cpn_signals *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nzones * CPN_SIG_COUNT; i++) {
        cpn_free(s->actual[i].v);
        cpn_free(s->forecast[i].v);
    }
    cpn_free(s->actual);
    cpn_free(s->forecast);
    cpn_free(s);
}

static inline struct cpn_job
tjob(const char *id, int site, int64_t units, int64_t dur_s, int64_t earliest, int64_t deadline)
{
    struct cpn_job j;
    memset(&j, 0, sizeof j);
    snprintf(j.id, sizeof j.id, "%s", id);
    snprintf(j.tenant, sizeof j.tenant, "t");
    j.site = site;
    j.data_site = -1;
    j.cls = CPN_CLASS_INTELLIGENT;
    j.units = units;
    j.duration_s = dur_s;
    j.earliest_s = earliest;
    j.submit_s = earliest;
    j.deadline_s = deadline;
    return j;
}

#endif
