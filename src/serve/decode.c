/* SPDX-License-Identifier: Apache-2.0 */
/* Checks of the agent-facing request bodies (see decode.h): every field is validated before the
 * service changes anything, unknown fields are refused, and a refusal names the field (as a JSON
 * pointer) and the expected form. */
#include "decode.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int
refuse(char *field, size_t fsz, char *msg, size_t msz, const char *f, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static int
refuse(char *field, size_t fsz, char *msg, size_t msz, const char *f, const char *fmt, ...)
{
    va_list ap;
    snprintf(field, fsz, "%s", f);
    va_start(ap, fmt);
    vsnprintf(msg, msz, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static bool known_key(const char *const *keys, const char *key)
{
    for (size_t i = 0; keys[i]; i++)
        if (!strcmp(keys[i], key))
            return true;
    return false;
}

int srv_check_telemetry(const struct cpn_network *net,
                        int32_t k,
                        const json_t *body,
                        char *field,
                        size_t fsz,
                        char *msg,
                        size_t msz)
{
    static const char *const keys[] = { "time",        "pools", "utilisation",
                                        "power_kw",    "pue",   "running_jobs",
                                        "queued_jobs", "agent", "power_source",
                                        NULL };
    const struct cpn_cluster *cl = &net->clusters[k];
    const json_t *pools, *v;
    const char *key;
    if (!json_is_object(body)) /* an array or a scalar is no report */
        return refuse(field, fsz, msg, msz, "body",
                      "expected a telemetry object such as {\"utilisation\": 0.5, \"pools\": "
                      "[{\"id\": ..., \"total\": ..., \"available\": ...}]}");
    json_object_foreach((json_t *)(uintptr_t)body, key, v)
    {
        if (!*key)
            return refuse(field, fsz, msg, msz, "body", "an object key is empty");
        if (!known_key(keys, key))
            return refuse(field, fsz, msg, msz, key,
                          "/%s: unknown field; expected one of time, pools, utilisation, "
                          "power_kw, pue, running_jobs, queued_jobs, agent, power_source",
                          key);
    }
    pools = json_object_get(body, "pools");
    if (pools && !json_is_array(pools))
        return refuse(field, fsz, msg, msz, "pools",
                      "/pools: expected an array of {id, total, available}");
    for (size_t i = 0; pools && i < json_array_size(pools); i++) {
        const json_t *p = json_array_get(pools, i);
        const char *pid = json_string_value(json_object_get(p, "id"));
        json_int_t total, avail;
        bool found = false;
        if (!pid || !json_is_integer(json_object_get(p, "total")) ||
            !json_is_integer(json_object_get(p, "available")))
            return refuse(field, fsz, msg, msz, "pools",
                          "/pools/%zu: expected {\"id\": string, \"total\": integer, "
                          "\"available\": integer}",
                          i);
        total = json_integer_value(json_object_get(p, "total"));
        avail = json_integer_value(json_object_get(p, "available"));
        if (total < 0 || avail < 0 || avail > total)
            return refuse(field, fsz, msg, msz, "pools",
                          "/pools/%zu: total %lld and available %lld: expected 0 <= available "
                          "<= total",
                          i, (long long)total, (long long)avail);
        for (int32_t q = 0; q < cl->pool_count; q++)
            found |= !strcmp(net->pools[cl->pool_first + q].id, pid);
        if (!found)
            return refuse(field, fsz, msg, msz, "pools",
                          "/pools/%zu/id: no pool '%.64s' in "
                          "cluster %s",
                          i, pid, cl->id);
    }
    v = json_object_get(body, "utilisation");
    if (v && (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1))
        return refuse(field, fsz, msg, msz, "utilisation",
                      "/utilisation: expected a number from 0 to 1");
    v = json_object_get(body, "power_kw");
    if (v && (!json_is_number(v) || json_number_value(v) < 0))
        return refuse(field, fsz, msg, msz, "power_kw", "/power_kw: expected a number >= 0");
    v = json_object_get(body, "pue");
    if (v && (!json_is_number(v) || json_number_value(v) < 1))
        return refuse(field, fsz, msg, msz, "pue", "/pue: expected a number >= 1");
    return 0;
}

static const char *const event_states[] = { "dispatched", "running",   "completed",
                                            "failed",     "cancelled", "lost" };

int srv_check_event(const json_t *body,
                    int64_t now_s,
                    int *state,
                    int64_t *t,
                    char *field,
                    size_t fsz,
                    char *msg,
                    size_t msz)
{
    static const char *const keys[] = { "state",   "time",  "executor_id", "exit_code",
                                        "message", "usage", "cluster",     NULL };
    const char *key, *sname, *tstr;
    const json_t *v, *u;
    if (!json_is_object(body))
        return refuse(field, fsz, msg, msz, "body", "expected an event object {\"state\": ...}");
    json_object_foreach((json_t *)(uintptr_t)body, key, v)
    {
        if (!*key)
            return refuse(field, fsz, msg, msz, "body", "an object key is empty");
        if (!known_key(keys, key))
            return refuse(field, fsz, msg, msz, key,
                          "/%s: unknown field; expected state, time, executor_id, exit_code, "
                          "message, usage, cluster",
                          key);
    }
    sname = json_string_value(json_object_get(body, "state"));
    *state = 0;
    for (int i = 0; sname && i < 6; i++)
        if (!strcmp(sname, event_states[i]))
            *state = i + 1;
    if (!*state)
        return refuse(field, fsz, msg, msz, "state",
                      "state is %.64s: expected dispatched, running, completed, failed, "
                      "cancelled or lost",
                      sname ? sname : "missing");
    tstr = json_string_value(json_object_get(body, "time"));
    *t = now_s;
    if (json_object_get(body, "time") && (!tstr || cpn_time_parse(tstr, t)))
        return refuse(field, fsz, msg, msz, "time", "time: expected ISO 8601 UTC");
    if (json_object_get(body, "exit_code") && !json_is_integer(json_object_get(body, "exit_code")))
        return refuse(field, fsz, msg, msz, "exit_code", "exit_code: expected an integer");
    v = json_object_get(body, "executor_id");
    if (v && !json_is_string(v))
        return refuse(field, fsz, msg, msz, "executor_id", "executor_id: expected a string");
    v = json_object_get(body, "message");
    if (v && !json_is_string(v))
        return refuse(field, fsz, msg, msz, "message", "message: expected a string");
    v = json_object_get(body, "cluster");
    if (v && !json_is_string(v))
        return refuse(field, fsz, msg, msz, "cluster", "cluster: expected a cluster id");
    u = json_object_get(body, "usage");
    if (u && (!json_is_object(u) ||
              (json_object_get(u, "unit_hours") &&
               (!json_is_number(json_object_get(u, "unit_hours")) ||
                json_number_value(json_object_get(u, "unit_hours")) < 0)) ||
              (json_object_get(u, "energy_kwh") &&
               (!json_is_number(json_object_get(u, "energy_kwh")) ||
                json_number_value(json_object_get(u, "energy_kwh")) < 0))))
        return refuse(field, fsz, msg, msz, "usage",
                      "usage: expected {\"unit_hours\": number >= 0, \"energy_kwh\": number >= "
                      "0, \"energy_source\": \"measured\"|\"estimated\"}");
    return 0;
}
