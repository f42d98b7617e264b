/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the decoder of a job submission body (POST /v1/jobs, POST /v1/quote):
 * the bytes are parsed as JSON the way the HTTP threads do, then decoded with cpn_job_decode and
 * a platform-assigned id against a small fixed network. A decoded job must validate and its
 * allowed clusters must lie inside the set. Built by `make fuzz`. */
#include <jansson.h>
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
    json_t *body;
    if (!net && cpn_network_parse(net_json, strlen(net_json), "fuzz-net.json", &net, &err) != 0)
        abort();
    body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!body)
        return 0;
    if (cpn_job_decode(body, "request body", net, "job_FUZZ", &js, &err) == 0) {
        if (js->n != 1 || strcmp(js->v[0].id, "job_FUZZ") != 0 ||
            cpn_job_validate(&js->v[0], net, &err) != 0 ||
            (size_t)js->v[0].allowed_off + js->v[0].n_allowed > js->nallowed)
            abort();
        cpn_jobset_destroy(js);
    } else if (!err.msg[0]) {
        abort(); /* every refusal says why */
    }
    json_decref(body);
    return 0;
}
