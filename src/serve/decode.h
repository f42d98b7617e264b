/* SPDX-License-Identifier: Apache-2.0 */
/* The request-body checks of the agent-facing routes (telemetry and job events), as pure
 * functions of the body and the network so that they are fuzzed (tests/fuzz/fuzz_agent_bodies.c)
 * apart from the service. On a refusal they name the field and say what was expected. */
#ifndef CPN_SERVE_DECODE_H
#define CPN_SERVE_DECODE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cpnet/model.h"

/* 0 when body is a valid telemetry report for cluster k of net; else -EINVAL with field and msg. */
int srv_check_telemetry(const struct cpn_network *net,
                        int32_t k,
                        const json_t *body,
                        char *field,
                        size_t field_size,
                        char *msg,
                        size_t msg_size);
/* 0 when body is a valid job event; *state (1..6, enum srv_exec_state) and *t (the event's time,
 * or now_s when it has none) are set. Else -EINVAL with field and msg. */
int srv_check_event(const json_t *body,
                    int64_t now_s,
                    int *state,
                    int64_t *t,
                    char *field,
                    size_t field_size,
                    char *msg,
                    size_t msg_size);

#endif
