/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the job loaders (cpn_jobs_parse, CSV and JSON) against a small fixed
 * network. A loaded job set must pass cpn_job_validate job by job, its allowed-cluster ranges must
 * lie inside the set's array, and residency checks must be safe for every cluster. Built by
 * `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpnet/model.h"
#include "fuzz_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cpn_network *net; /* parsed once per fuzzing process */
    struct cpn_jobset *js = NULL;
    struct cpn_error err;
    if (!net && cpn_network_parse(net_json, strlen(net_json), "fuzz-net.json", &net, &err) != 0)
        abort();
    if (cpn_jobs_parse((const char *)data, size, "fuzz.jobs", net, &js, &err) != 0)
        return 0;
    for (size_t i = 0; i < js->n; i++) {
        const struct cpn_job *j = &js->v[i];
        if (cpn_job_validate(j, net, &err) != 0 ||
            (size_t)j->allowed_off + j->n_allowed > js->nallowed)
            abort();
        for (int32_t c = -1; c <= (int32_t)net->nclusters; c++)
            (void)cpn_job_allows_cluster(js, j, net, c);
    }
    cpn_jobset_destroy(js);
    return 0;
}
