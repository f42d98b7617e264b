/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the job loaders (cpn_jobs_parse, CSV and JSON) against a small fixed
 * network. A loaded job set must pass cpn_job_validate job by job, its allowed-cluster ranges must
 * lie inside the set's array, and residency checks must be safe for every cluster. Built by
 * `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpnet/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char net_json[] =
    "{\"name\": \"fuzz\", \"hubs\": [{\"id\": \"west\", \"region\": \"west\"}, {\"id\": \"east\", "
    "\"region\": \"east\"}, {\"id\": \"dup\", \"region\": \"east\"}],"
    " \"zones\": [{\"id\": \"z\", \"grid_gco2_per_kwh\": 600, \"green_share\": 0.5, "
    "\"price_cny_per_kwh\": 0.3}],"
    " \"clusters\": ["
    "{\"id\": \"c1\", \"hub\": \"west\", \"zone\": \"z\", \"lon\": 111, \"lat\": 40, \"pue\": 1.2, "
    "\"pools\": [{\"id\": \"p\", \"class\": \"general\", \"units\": 10, \"tflops\": 1, "
    "\"watts_idle\": 1, \"watts_busy\": 2, \"price_cny_per_unit_hour\": 1}]},"
    "{\"id\": \"c2\", \"hub\": \"east\", \"zone\": \"z\", \"lon\": 116, \"lat\": 40, \"pue\": 1.2, "
    "\"pools\": [{\"id\": \"p\", \"class\": \"intelligent\", \"units\": 10, \"tflops\": 300, "
    "\"watts_idle\": 1, \"watts_busy\": 2, \"price_cny_per_unit_hour\": 1}]},"
    "{\"id\": \"dup\", \"hub\": \"dup\", \"zone\": \"z\", \"lon\": 121, \"lat\": 31, \"pue\": 1.2, "
    "\"pools\": [{\"id\": \"p\", \"class\": \"super\", \"units\": 10, \"tflops\": 9, "
    "\"watts_idle\": 1, \"watts_busy\": 2, \"price_cny_per_unit_hour\": 1}]}],"
    " \"sites\": [{\"id\": \"beijing\", \"lon\": 116.4, \"lat\": 39.9}, {\"id\": \"shanghai\", "
    "\"lon\": 121.5, \"lat\": 31.2}]}";

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
