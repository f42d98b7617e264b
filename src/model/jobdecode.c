/* SPDX-License-Identifier: Apache-2.0 */
/* One job from a JSON object (an API request body or a stored job's spec), through the same loader
 * as job files so that a field means the same everywhere: the object is wrapped in an array and
 * parsed, and the array index is taken out of the JSON pointers of any message. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cpnet/model.h"

/* Rewrites "/0/" and "/0:" pointer prefixes of the wrapped array into "/" and ":". */
static void unwrap_pointer(struct cpn_error *err)
{
    char *p;
    if (!err)
        return;
    while ((p = strstr(err->msg, " /0/")) != NULL)
        memmove(p + 1, p + 3, strlen(p + 3) + 1);
    while ((p = strstr(err->msg, " /0:")) != NULL)
        memmove(p + 2, p + 3, strlen(p + 3) + 1);
}

int cpn_job_decode(const struct json_t *obj,
                   const char *name,
                   const struct cpn_network *net,
                   const char *default_id,
                   struct cpn_jobset **out,
                   struct cpn_error *err)
{
    json_t *copy, *arr;
    char *text;
    int rc;
    if (!json_is_object(obj))
        return cpn_errorf(err, CPN_EPARSE, "%s: expected a JSON object describing a job", name);
    copy = json_copy((json_t *)(uintptr_t)obj);
    arr = json_array();
    if (!copy || !arr) {
        json_decref(copy);
        json_decref(arr);
        return cpn_errorf(err, -ENOMEM, "%s: out of memory", name);
    }
    if (default_id) /* the caller's id wins: a service assigns its own global ids */
        json_object_set_new(copy, "id", json_string(default_id));
    json_array_append_new(arr, copy);
    text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    if (!text)
        return cpn_errorf(err, -ENOMEM, "%s: out of memory", name);
    rc = cpn_jobs_parse(text, strlen(text), name, net, out, err);
    free(text);
    if (rc)
        unwrap_pointer(err);
    return rc;
}
