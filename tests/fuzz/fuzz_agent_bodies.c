/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the decoders of the agent-facing request bodies: telemetry
 * (POST /v1/clusters/{id}/telemetry) and job events (POST /v1/jobs/{id}/events). The bytes are
 * parsed as JSON the way the HTTP threads do and checked against a small fixed network; a refusal
 * must name a field and say why, and an accepted event must carry a state of the protocol. Built
 * by `make fuzz`. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpnet/model.h"
#include "fuzz_net.h"
#include "serve/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cpn_network *net; /* parsed once per fuzzing process */
    struct cpn_error err;
    char field[64], msg[300];
    json_t *body;
    int state;
    int64_t t;
    if (!net && cpn_network_parse(net_json, strlen(net_json), "fuzz-net.json", &net, &err) != 0)
        abort();
    body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!body)
        return 0;
    for (int32_t k = 0; k < (int32_t)net->nclusters; k++) {
        field[0] = msg[0] = '\0';
        if (srv_check_telemetry(net, k, body, field, sizeof field, msg, sizeof msg) != 0 &&
            (!field[0] || !msg[0]))
            abort();
    }
    field[0] = msg[0] = '\0';
    if (srv_check_event(body, 1700000000, &state, &t, field, sizeof field, msg, sizeof msg) == 0) {
        if (state < 1 || state > 6)
            abort();
    } else if (!field[0] || !msg[0]) {
        abort();
    }
    json_decref(body);
    return 0;
}
