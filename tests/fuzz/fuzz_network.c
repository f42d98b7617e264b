/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the network loader (cpn_network_parse). Any input must either load or fail
 * with a message; a loaded network must be self-consistent (ids resolve to their own index, pools
 * lie inside their cluster, delays are finite) and must survive a write and reload unchanged in
 * size. Built by `make fuzz`. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cpnet/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct cpn_network *net)
{
    for (size_t i = 0; i < net->nhubs; i++)
        if (cpn_network_hub(net, net->hubs[i].id) != (int32_t)i)
            abort();
    for (size_t i = 0; i < net->nclusters; i++) {
        const struct cpn_cluster *c = &net->clusters[i];
        if (cpn_network_cluster(net, c->id) != (int32_t)i || c->pool_count < 1 ||
            (size_t)c->pool_first + (size_t)c->pool_count > net->npools ||
            (size_t)c->hub >= net->nhubs || (size_t)c->zone >= net->nzones || c->pue < 1)
            abort();
        for (int32_t k = 0; k < c->pool_count; k++)
            if (net->pools[c->pool_first + k].cluster != (int32_t)i ||
                net->pools[c->pool_first + k].units < 1)
                abort();
    }
    for (size_t s = 0; s < net->nsites; s++)
        for (size_t c = 0; c < net->nclusters; c++)
            if (!isfinite(cpn_network_rtt(net, (int32_t)s, (int32_t)c)) ||
                cpn_network_rtt(net, (int32_t)s, (int32_t)c) < 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cpn_network *net = NULL, *again = NULL;
    struct cpn_error err;
    char path[64];
    if (cpn_network_parse((const char *)data, size, "fuzz.json", &net, &err) != 0)
        return 0;
    check(net);
    snprintf(path, sizeof path, "/tmp/cpnet-fuzz-network-%ld.json", (long)getpid());
    if (cpn_network_write(net, path, &err) != 0)
        abort();
    if (cpn_network_load(path, &again, &err) != 0) {
        fprintf(stderr, "reload failed: %s\n", err.msg);
        abort();
    }
    if (again->nclusters != net->nclusters || again->npools != net->npools ||
        again->nsites != net->nsites || again->noutages != net->noutages ||
        again->slot_s != net->slot_s)
        abort();
    for (size_t i = 0; i < net->nsites * net->nclusters; i++)
        if (again->rtt_ms[i] != net->rtt_ms[i])
            abort();
    remove(path);
    cpn_network_destroy(again);
    cpn_network_destroy(net);
    return 0;
}
