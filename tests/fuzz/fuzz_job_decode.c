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
#include "fuzz_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
