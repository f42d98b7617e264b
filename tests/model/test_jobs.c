/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the job loaders and checks: CSV with columns in any order and JSON in both shapes give
 * the same jobs with the documented defaults; every bad field is rejected with its code, the line
 * and column (or JSON pointer), the field and the value; residency rules resolve hub and cluster
 * ids; a written job file loads back equal; allocation failures are clean; and a generated trace
 * loads at a measured rate. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpnet/model.h"
#include "harness.h"

static const char net_json[] =
    "{\"name\": \"jobs\",\n"
    " \"hubs\": [{\"id\": \"west\", \"region\": \"west\"}, {\"id\": \"east\", \"region\": "
    "\"east\"},\n"
    "          {\"id\": \"dup\", \"region\": \"east\"}],\n"
    " \"zones\": [{\"id\": \"z\", \"grid_gco2_per_kwh\": 600, \"green_share\": 0.5, "
    "\"price_cny_per_kwh\": 0.3}],\n"
    " \"clusters\": [\n"
    "  {\"id\": \"c1\", \"hub\": \"west\", \"zone\": \"z\", \"lon\": 111, \"lat\": 40, \"pue\": "
    "1.2, \"pools\": [{\"id\": \"p\", \"class\": \"general\", \"units\": 10, \"tflops\": 1, "
    "\"watts_idle\": 1, \"watts_busy\": 2, \"price_cny_per_unit_hour\": 1}]},\n"
    "  {\"id\": \"c2\", \"hub\": \"east\", \"zone\": \"z\", \"lon\": 116, \"lat\": 40, \"pue\": "
    "1.2, \"pools\": [{\"id\": \"p\", \"class\": \"general\", \"units\": 10, \"tflops\": 1, "
    "\"watts_idle\": 1, \"watts_busy\": 2, \"price_cny_per_unit_hour\": 1}]},\n"
    "  {\"id\": \"dup\", \"hub\": \"dup\", \"zone\": \"z\", \"lon\": 121, \"lat\": 31, \"pue\": "
    "1.2, \"pools\": [{\"id\": \"p\", \"class\": \"general\", \"units\": 10, \"tflops\": 1, "
    "\"watts_idle\": 1, \"watts_busy\": 2, \"price_cny_per_unit_hour\": 1}]}],\n"
    " \"sites\": [{\"id\": \"beijing\", \"lon\": 116.4, \"lat\": 39.9}, {\"id\": \"shanghai\", "
    "\"lon\": 121.5, \"lat\": 31.2}]}\n";

#define T0 1735689600 /* 2025-01-01T00:00:00Z */

static const char good_csv[] =
    "priority,id,origin,class,duration,earliest,deadline,units,tenant,interruptible,allowed,"
    "max_rtt_ms,data_gb,data_site,price_ceiling_cny,device,min_tflops,submit,work_pflop_h\n"
    "5,j1,beijing,intelligent,2h,2025-01-01T00:00:00Z,2025-01-01T06:00:00Z,8,lab-a,true,"
    "hub:west;cluster:c2,10,500,shanghai,1234.5,H800,300,2024-12-31T23:00:00Z,\n"
    ",j2,shanghai,cpu,90m,1735689600,,,,,,,,,,,,,\n"
    "-3,j3,beijing,super,,2025-01-01 08:00:00+08:00,,2,,no,\"west; c2 ;hub:dup\",,12.5,,,,,"
    "2025-01-01T01:00:00Z,3.5\n"
    "0,j4,beijing,general,PT1H30M,2025-01-01T00:00:00Z,2025-01-01T01:30:00Z,1,,false,"
    "cluster:dup,,0,,0,,,,\n";

static struct cpn_network *load_net(void)
{
    struct cpn_network *net = NULL;
    struct cpn_error err = { 0 };
    int rc = cpn_network_parse(net_json, strlen(net_json), "net.json", &net, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    return net;
}

static struct cpn_jobset *parse_ok(const struct cpn_network *net, const char *text)
{
    struct cpn_jobset *js = NULL;
    struct cpn_error err = { 0 };
    int rc = cpn_jobs_parse(text, strlen(text), "jobs", net, &js, &err);
    CHECK_MSG(rc == 0, "rc %d: %s", rc, err.msg);
    return js;
}

static void check_good_jobs(const struct cpn_jobset *js, const struct cpn_network *net)
{
    const struct cpn_job *j;
    if (!js || js->n != 4) {
        CHECK_MSG(0, "expected 4 jobs, got %zu", js ? js->n : 0);
        return;
    }
    j = &js->v[0];
    CHECK_STR(j->id, "j1");
    CHECK_STR(j->tenant, "lab-a");
    CHECK_STR(j->device, "H800");
    CHECK_INT(j->site, 0);
    CHECK_INT(j->data_site, 1);
    CHECK_INT(j->cls, CPN_CLASS_INTELLIGENT);
    CHECK_INT(j->priority, 5);
    CHECK(j->interruptible);
    CHECK_NEAR(j->min_tflops, 300, 0);
    CHECK_INT(j->units, 8);
    CHECK_INT(j->duration_s, 7200);
    CHECK_NEAR(j->work_pflop_h, 0, 0);
    CHECK_INT(j->submit_s, T0 - 3600);
    CHECK_INT(j->earliest_s, T0);
    CHECK_INT(j->deadline_s, T0 + 6 * 3600);
    CHECK_NEAR(j->max_rtt_ms, 10, 0);
    CHECK_NEAR(j->data_gb, 500, 0);
    CHECK_INT(j->allowed_hubs, 1);
    CHECK_INT(j->n_allowed, 1);
    CHECK_INT(js->allowed[j->allowed_off], 1);
    CHECK_INT(j->price_ceiling_ucny, 1234500000);
    j = &js->v[1]; /* defaults */
    CHECK_STR(j->tenant, "default");
    CHECK_STR(j->device, "");
    CHECK_INT(j->site, 1);
    CHECK_INT(j->data_site, -1);
    CHECK_INT(j->cls, CPN_CLASS_GENERAL);
    CHECK_INT(j->priority, 0);
    CHECK(!j->interruptible);
    CHECK_INT(j->units, 1);
    CHECK_INT(j->duration_s, 5400);
    CHECK_INT(j->submit_s, T0);
    CHECK_INT(j->earliest_s, T0);
    CHECK_INT(j->deadline_s, CPN_NO_DEADLINE);
    CHECK_INT(j->allowed_hubs, 0);
    CHECK_INT(j->n_allowed, 0);
    CHECK_INT(j->price_ceiling_ucny, 0);
    j = &js->v[2]; /* work instead of duration; submitted after its earliest start */
    CHECK_INT(j->cls, CPN_CLASS_SUPER);
    CHECK_INT(j->priority, -3);
    CHECK_INT(j->duration_s, 0);
    CHECK_NEAR(j->work_pflop_h, 3.5, 0);
    CHECK_INT(j->earliest_s, T0);
    CHECK_INT(j->submit_s, T0 + 3600);
    CHECK_INT(j->data_site, 0); /* data_gb without data_site: at the origin */
    CHECK_INT(j->allowed_hubs, (1u << 0) | (1u << 2));
    CHECK_INT(j->n_allowed, 1);
    CHECK_INT(js->allowed[j->allowed_off], 1);
    j = &js->v[3]; /* deadline exactly earliest + duration */
    CHECK_INT(j->duration_s, 5400);
    CHECK_INT(j->deadline_s, T0 + 5400);
    CHECK_INT(j->n_allowed, 1);
    CHECK_INT(js->allowed[j->allowed_off], 2);
    for (size_t i = 0; i < js->n; i++)
        CHECK_INT(cpn_job_validate(&js->v[i], net, NULL), 0);
}

static void test_csv(void)
{
    struct cpn_network *net = load_net();
    struct cpn_jobset *js;
    if (!net)
        return;
    js = parse_ok(net, good_csv);
    check_good_jobs(js, net);
    cpn_jobset_destroy(js);
    cpn_network_destroy(net);
}

static void test_durations(void)
{
    static const struct {
        const char *text;
        int64_t s;
    } cases[] = { { "3600", 3600 }, { "90m", 5400 },     { "2h", 7200 }, { "1.5d", 129600 },
                  { "PT2H", 7200 }, { "P1DT1M", 86460 }, { "45s", 45 },  { "1.5h", 5400 } };
    struct cpn_network *net = load_net();
    if (!net)
        return;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char csv[256];
        struct cpn_jobset *js;
        snprintf(csv, sizeof csv, "id,origin,class,earliest,duration\nj,beijing,gpu,0,%s\n",
                 cases[i].text);
        js = parse_ok(net, csv);
        if (js && js->n == 1)
            CHECK_MSG(js->v[0].duration_s == cases[i].s, "%s: %lld", cases[i].text,
                      (long long)js->v[0].duration_s);
        cpn_jobset_destroy(js);
    }
    cpn_network_destroy(net);
}

static void test_json(void)
{
    static const char arr[] =
        "[{\"id\": \"j1\", \"origin\": \"beijing\", \"class\": \"intelligent\", \"duration\": "
        "\"2h\", \"earliest\": \"2025-01-01T00:00:00Z\", \"deadline\": \"2025-01-01T06:00:00Z\", "
        "\"units\": 8, \"tenant\": \"lab-a\", \"interruptible\": true, \"allowed\": [\"hub:west\", "
        "\"cluster:c2\"], \"max_rtt_ms\": 10, \"data_gb\": 500, \"data_site\": \"shanghai\", "
        "\"price_ceiling_cny\": 1234.5, \"device\": \"H800\", \"min_tflops\": 300, \"submit\": "
        "\"2024-12-31T23:00:00Z\", \"priority\": 5, \"note\": \"the first job\"},\n"
        " {\"id\": \"j2\", \"origin\": \"shanghai\", \"class\": \"cpu\", \"duration\": 5400, "
        "\"earliest\": 1735689600, \"deadline\": null},\n"
        " {\"id\": \"j3\", \"origin\": \"beijing\", \"class\": \"super\", \"earliest\": "
        "\"2025-01-01 08:00:00+08:00\", \"units\": 2, \"interruptible\": false, \"allowed\": "
        "\"west; c2 ;hub:dup\", \"data_gb\": 12.5, \"submit\": 1735693200, \"work_pflop_h\": 3.5, "
        "\"priority\": -3},\n"
        " {\"id\": \"j4\", \"origin\": \"beijing\", \"class\": \"general\", \"duration\": "
        "\"PT1H30M\", \"earliest\": \"2025-01-01T00:00:00Z\", \"deadline\": "
        "\"2025-01-01T01:30:00Z\", \"allowed\": [\"cluster:dup\"]}]\n";
    struct cpn_network *net = load_net();
    struct cpn_jobset *js;
    char *wrapped;
    size_t n;
    if (!net)
        return;
    js = parse_ok(net, arr);
    check_good_jobs(js, net);
    cpn_jobset_destroy(js);
    n = strlen(arr) + 64;
    wrapped = malloc(n);
    snprintf(wrapped, n, "\xEF\xBB\xBF\n {\"source\": \"test\", \"jobs\": %s}", arr);
    js = parse_ok(net, wrapped);
    check_good_jobs(js, net);
    cpn_jobset_destroy(js);
    free(wrapped);
    js = parse_ok(net, "[]");
    CHECK(js && js->n == 0);
    cpn_jobset_destroy(js);
    js = parse_ok(net, "id,origin,class,earliest,duration\n");
    CHECK(js && js->n == 0);
    cpn_jobset_destroy(js);
    cpn_network_destroy(net);
}

static const char hdr[] = "id,origin,class,earliest,duration,deadline,units,allowed,data_site,"
                          "max_rtt_ms,data_gb,price_ceiling_cny,priority,interruptible,submit,"
                          "work_pflop_h,tenant,device,min_tflops\n";

static void test_csv_errors(void)
{
    static const struct {
        const char *row; /* after hdr, unless it starts with '!' (then the whole text) */
        int code;
        const char *msg1, *msg2;
    } cases[] = {
        { "!", CPN_EPARSE, "jobs.csv:1: empty file", "header row" },
        { "!id,origin,class,earliest,duraton\n", CPN_EFIELD, "jobs.csv:1:5: column \"duraton\"",
          "expected one of id, tenant" },
        { "!id,origin,class,earliest,duration,id\n", CPN_EFIELD,
          "jobs.csv:1:6: column \"id\" again", "first in column 1" },
        { "!id,class,earliest,duration\n", CPN_EFIELD,
          "jobs.csv:1: header: missing column "
          "\"origin\"",
          "id, origin, class and earliest" },
        { "!id,origin,class,earliest\n", CPN_EFIELD, "missing column \"duration\"",
          "work_pflop_h" },
        { "j,beijing,gpu,0,1h,,,,,,,,,,,,,\n", CPN_EPARSE, "jobs.csv:2: 18 fields: expected 19",
          "header" },
        { "j 1,beijing,gpu,0,1h,,,,,,,,,,,,,,\n", CPN_EFIELD, "jobs.csv:2:1: id = \"j 1\"",
          "an id of 1..47" },
        { ",beijing,gpu,0,1h,,,,,,,,,,,,,,\n", CPN_EFIELD, "jobs.csv:2:1: id is empty", "an id" },
        { "j,tokyo,gpu,0,1h,,,,,,,,,,,,,,\n", CPN_EREF, "jobs.csv:2:2: origin = \"tokyo\"",
          "the id of a site" },
        { "j,,gpu,0,1h,,,,,,,,,,,,,,\n", CPN_EFIELD, "jobs.csv:2:2: origin is empty", "site" },
        { "j,beijing,tpu,0,1h,,,,,,,,,,,,,,\n", CPN_EFIELD, "jobs.csv:2:3: class = \"tpu\"",
          "general, intelligent or super" },
        { "j,beijing,gpu,tomorrow,1h,,,,,,,,,,,,,,\n", CPN_EFIELD,
          "jobs.csv:2:4: earliest = \"tomorrow\"", "ISO 8601" },
        { "j,beijing,gpu,,1h,,,,,,,,,,,,,,\n", CPN_EFIELD, "jobs.csv:2:4: earliest is empty",
          "ISO 8601" },
        { "j,beijing,gpu,0,1 week,,,,,,,,,,,,,,\n", CPN_EFIELD,
          "jobs.csv:2:5: duration = \"1 week\"", "90m" },
        { "j,beijing,gpu,0,-5,,,,,,,,,,,,,,\n", CPN_EFIELD, "jobs.csv:2:5: duration = \"-5\"",
          "a duration" },
        { "j,beijing,gpu,0,,,,,,,,,,,,,,,\n", CPN_EFIELD, "jobs.csv:2:5: duration is empty",
          "or work_pflop_h > 0" },
        { "j,beijing,gpu,0,0,,,,,,,,,,,,,,\n", CPN_EFIELD, "jobs.csv:2:5: duration = \"0\"",
          "a duration > 0" },
        { "j,beijing,gpu,0,1h,,,,,,,,,,,2,,,\n", CPN_EFIELD, "jobs.csv:2:16: work_pflop_h = \"2\"",
          "give one of the two" },
        { "j,beijing,gpu,0,1h,3599,,,,,,,,,,,,,\n", CPN_EFIELD,
          "jobs.csv:2:6: deadline = \"1970-01-01T00:59:59Z\"",
          "at or after earliest + duration (1970-01-01T01:00:00Z)" },
        { "j,beijing,gpu,0,,0,,,,,,,,,,1,,,\n", CPN_EFIELD, "jobs.csv:2:6: deadline",
          "after earliest + duration" },
        { "j,beijing,gpu,0,1h,,0,,,,,,,,,,,,\n", CPN_EFIELD, "jobs.csv:2:7: units = \"0\"",
          "an integer >= 1" },
        { "j,beijing,gpu,0,1h,,2.5,,,,,,,,,,,,\n", CPN_EFIELD, "jobs.csv:2:7: units = \"2.5\"",
          "an integer >= 1" },
        { "j,beijing,gpu,0,1h,,,dup,,,,,,,,,,,\n", CPN_EFIELD, "jobs.csv:2:8: allowed = \"dup\"",
          "expected a prefix: \"dup\" names both a hub and a cluster, write hub:dup or "
          "cluster:dup" },
        { "j,beijing,gpu,0,1h,,,c1;hub:c1,,,,,,,,,,,\n", CPN_EREF,
          "jobs.csv:2:8: allowed = \"c1;hub:c1\"", "\"c1\" is not one" },
        { "j,beijing,gpu,0,1h,,,cluster:west,,,,,,,,,,,\n", CPN_EREF,
          "jobs.csv:2:8: allowed = \"cluster:west\"", "cluster ids of the network" },
        { "j,beijing,gpu,0,1h,,,mars,,,,,,,,,,,\n", CPN_EREF, "jobs.csv:2:8: allowed = \"mars\"",
          "\"mars\" is neither" },
        { "j,beijing,gpu,0,1h,,,,moon,,,,,,,,,,\n", CPN_EREF, "jobs.csv:2:9: data_site = \"moon\"",
          "site" },
        { "j,beijing,gpu,0,1h,,,,,-1,,,,,,,,,\n", CPN_EFIELD, "jobs.csv:2:10: max_rtt_ms = \"-1\"",
          ">= 0" },
        { "j,beijing,gpu,0,1h,,,,,,-0.5,,,,,,,,\n", CPN_EFIELD, "jobs.csv:2:11: data_gb = \"-0.5\"",
          ">= 0" },
        { "j,beijing,gpu,0,1h,,,,,,,-1,,,,,,,\n", CPN_EFIELD,
          "jobs.csv:2:12: price_ceiling_cny = \"-1\"", "a price in CNY >= 0" },
        { "j,beijing,gpu,0,1h,,,,,,,,40000,,,,,,\n", CPN_EFIELD,
          "jobs.csv:2:13: priority = \"40000\"", "-32768 to 32767" },
        { "j,beijing,gpu,0,1h,,,,,,,,,maybe,,,,,\n", CPN_EFIELD,
          "jobs.csv:2:14: interruptible = \"maybe\"", "true or false" },
        { "j,beijing,gpu,0,1h,,,,,,,,,,99999-01-01,,,,\n", CPN_EFIELD,
          "jobs.csv:2:15: submit = \"99999-01-01\"", "ISO 8601" },
        { "j,beijing,gpu,0,1h,,,,,,,,,,,,bad tenant,,\n", CPN_EFIELD,
          "jobs.csv:2:17: tenant = \"bad tenant\"", "an id" },
        { "j,beijing,gpu,0,1h,,,,,,,,,,,,,,-1\n", CPN_EFIELD, "jobs.csv:2:19: min_tflops = \"-1\"",
          ">= 0" },
        { "j,beijing,gpu,0,1h,,,,,,,,,,,,,,\nk,beijing,gpu,0,1h,,,,,,,,,,,,,,\n"
          "j,beijing,gpu,0,1h,,,,,,,,,,,,,,\n",
          CPN_EFIELD, "jobs.csv:4:1: id = \"j\"", "not used before (it is the id of job 1)" },
        { "j,beijing,gpu,0,1h,,,,,,,,,,,,,,\nk,beijing,gpu,0,\"1h,,,,,,,,,,,,,,\n", CPN_EPARSE,
          "jobs.csv:3: quoted field not closed", "" },
    };
    struct cpn_network *net = load_net();
    if (!net)
        return;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cpn_jobset sentinel, *js = &sentinel;
        struct cpn_error err = { 0 };
        char text[1024];
        int rc;
        if (cases[i].row[0] == '!')
            snprintf(text, sizeof text, "%s", cases[i].row + 1);
        else
            snprintf(text, sizeof text, "%s%s", hdr, cases[i].row);
        rc = cpn_jobs_parse(text, strlen(text), "jobs.csv", net, &js, &err);
        CHECK_MSG(rc == cases[i].code, "case %zu: rc %d (%s), expected %d", i, rc, err.msg,
                  cases[i].code);
        CHECK_MSG(js == &sentinel, "case %zu: *out written on error", i);
        CHECK_CONTAINS(err.msg, cases[i].msg1);
        CHECK_CONTAINS(err.msg, cases[i].msg2);
    }
    cpn_network_destroy(net);
}

static void test_json_errors(void)
{
    static const struct {
        const char *json;
        int code;
        const char *msg1, *msg2;
    } cases[] = {
        { "[", CPN_EPARSE, "jobs.json:1:1: invalid JSON", "" },
        { "{\"jobs\": [], \"jobs\": []}", CPN_EPARSE, "jobs.json:1:", "duplicate" },
        { "{\"job\": []}", CPN_EFIELD, "jobs.json: /job: unknown field \"job\" in job file",
          "one of jobs" },
        { "{}", CPN_EFIELD, "(top level): missing field \"jobs\"", "an array" },
        { "[5]", CPN_EFIELD, "jobs.json: /0: job = 5", "an object" },
        { "[{\"id\": \"a\", \"origin\": \"beijing\", \"class\": \"gpu\", \"earliest\": 0, "
          "\"duration\": 60, \"unit\": 2}]",
          CPN_EFIELD, "/0/unit: unknown field \"unit\" in job", "one of id, tenant" },
        { "[{\"id\": 7, \"origin\": \"beijing\", \"class\": \"gpu\", \"earliest\": 0, "
          "\"duration\": 60}]",
          CPN_EFIELD, "jobs.json: /0/id: id = 7", "a string" },
        { "[{\"id\": \"a\", \"origin\": \"beijing\", \"class\": \"gpu\", \"earliest\": 0, "
          "\"duration\": 60, \"units\": \"2\"}]",
          CPN_EFIELD, "jobs.json: /0/units: units = \"2\"", "a number" },
        { "[{\"id\": \"a\", \"origin\": \"beijing\", \"class\": \"gpu\", \"earliest\": 0, "
          "\"duration\": 60, \"units\": 0}]",
          CPN_EFIELD, "jobs.json: /0/units: units = 0", "an integer >= 1" },
        { "{\"jobs\": [{\"id\": \"a\", \"origin\": \"beijing\", \"class\": \"gpu\", "
          "\"earliest\": 0, \"duration\": 60}, {\"id\": \"b\", \"origin\": \"paris\", "
          "\"class\": \"gpu\", \"earliest\": 0, \"duration\": 60}]}",
          CPN_EREF, "jobs.json: /jobs/1/origin: origin = \"paris\"", "site" },
        { "[{\"id\": \"a\", \"origin\": \"beijing\", \"class\": \"gpu\", \"earliest\": 0, "
          "\"duration\": 60, \"interruptible\": \"yes\"}]",
          CPN_EFIELD, "/0/interruptible: interruptible = \"yes\"", "true or false" },
        { "[{\"id\": \"a\", \"origin\": \"beijing\", \"class\": \"gpu\", \"earliest\": 0, "
          "\"duration\": 60, \"allowed\": [\"west\", 3]}]",
          CPN_EFIELD, "/0/allowed/1: allowed = 3", "a hub or cluster id string" },
        { "[{\"id\": \"a\", \"origin\": \"beijing\", \"class\": \"gpu\", \"earliest\": 0, "
          "\"duration\": 60, \"allowed\": [\"west\", \"dup\"]}]",
          CPN_EFIELD, "/0/allowed/1: allowed = \"dup\"", "write hub:dup or cluster:dup" },
        { "[{\"id\": \"a\", \"origin\": \"beijing\", \"class\": \"gpu\", \"earliest\": 0}]",
          CPN_EFIELD, "jobs.json: /0: missing field \"duration\"", "or work_pflop_h > 0" },
        { "[{\"id\": \"a\", \"origin\": \"beijing\", \"class\": \"gpu\", \"duration\": 60}]",
          CPN_EFIELD, "jobs.json: /0: missing field \"earliest\"", "ISO 8601" },
        { "[{\"id\": \"a\", \"origin\": \"beijing\", \"class\": \"gpu\", \"earliest\": 0, "
          "\"duration\": 7200, \"deadline\": 3600}]",
          CPN_EFIELD, "jobs.json: /0/deadline: deadline = 1970-01-01T01:00:00Z",
          "at or after earliest + duration" },
        { "[{\"id\": \"a\", \"origin\": \"beijing\", \"class\": \"gpu\", \"earliest\": 0, "
          "\"duration\": 60}, {\"id\": \"a\", \"origin\": \"beijing\", \"class\": \"gpu\", "
          "\"earliest\": 0, \"duration\": 60}]",
          CPN_EFIELD, "jobs.json: /1/id: id = \"a\"", "not used before" },
        { "[{\"id\": \"a\", \"origin\": \"beijing\", \"class\": \"gpu\", \"earliest\": 0, "
          "\"duration\": \"\"}]",
          CPN_EFIELD, "/0/duration: duration = \"\"", "null" },
        { "[{\"id\": \"a\", \"origin\": \"beijing\", \"class\": \"gpu\", \"earliest\": 0.5, "
          "\"duration\": 60}]",
          CPN_EFIELD, "/0/earliest: earliest = 0.5", "ISO 8601" },
        { "\"jobs\"", CPN_EFIELD, "jobs.json:1:1: column \"jobs\"", "expected one of id" },
        { "5", CPN_EFIELD, "jobs.json:1:1: column \"5\"", "" },
    };
    struct cpn_network *net = load_net();
    if (!net)
        return;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cpn_jobset sentinel, *js = &sentinel;
        struct cpn_error err = { 0 };
        int rc = cpn_jobs_parse(cases[i].json, strlen(cases[i].json), "jobs.json", net, &js, &err);
        CHECK_MSG(rc == cases[i].code, "case %zu: rc %d (%s), expected %d", i, rc, err.msg,
                  cases[i].code);
        CHECK_MSG(js == &sentinel, "case %zu: *out written on error", i);
        CHECK_CONTAINS(err.msg, cases[i].msg1);
        CHECK_CONTAINS(err.msg, cases[i].msg2);
    }
    cpn_network_destroy(net);
}

static void test_validate(void)
{
    struct cpn_network *net = load_net();
    struct cpn_job ok, j;
    struct cpn_error err = { 0 };
    if (!net)
        return;
    memset(&ok, 0, sizeof ok);
    snprintf(ok.id, sizeof ok.id, "job-1");
    snprintf(ok.tenant, sizeof ok.tenant, "t");
    ok.site = 0;
    ok.data_site = -1;
    ok.cls = CPN_CLASS_GENERAL;
    ok.units = 1;
    ok.duration_s = 3600;
    ok.earliest_s = T0;
    ok.submit_s = T0 + 7200; /* submitted after its earliest start: allowed */
    ok.deadline_s = CPN_NO_DEADLINE;
    CHECK_INT(cpn_job_validate(&ok, net, &err), 0);
    j = ok;
    j.units = 0;
    CHECK_INT(cpn_job_validate(&j, net, &err), CPN_EFIELD);
    CHECK_CONTAINS(err.msg, "job \"job-1\": units = 0: expected an integer >= 1");
    j = ok;
    j.duration_s = 0;
    CHECK_INT(cpn_job_validate(&j, net, &err), CPN_EFIELD);
    CHECK_CONTAINS(err.msg, "duration");
    j.work_pflop_h = 1; /* work instead */
    CHECK_INT(cpn_job_validate(&j, net, &err), 0);
    j = ok;
    j.deadline_s = T0 + 3600;
    CHECK_INT(cpn_job_validate(&j, net, &err), 0);
    j.deadline_s = T0 + 3599;
    CHECK_INT(cpn_job_validate(&j, net, &err), CPN_EFIELD);
    CHECK_CONTAINS(err.msg, "deadline = 2025-01-01T00:59:59Z");
    j = ok;
    j.data_gb = -1;
    CHECK_INT(cpn_job_validate(&j, net, &err), CPN_EFIELD);
    CHECK_CONTAINS(err.msg, "data_gb = -1");
    j = ok;
    j.max_rtt_ms = NAN;
    CHECK_INT(cpn_job_validate(&j, net, &err), CPN_EFIELD);
    CHECK_CONTAINS(err.msg, "max_rtt_ms = nan");
    j = ok;
    j.price_ceiling_ucny = -1;
    CHECK_INT(cpn_job_validate(&j, net, &err), CPN_EFIELD);
    CHECK_CONTAINS(err.msg, "price_ceiling_cny");
    j = ok;
    j.site = 2;
    CHECK_INT(cpn_job_validate(&j, net, &err), CPN_EFIELD);
    CHECK_CONTAINS(err.msg, "origin = 2");
    j = ok;
    j.data_site = 5;
    CHECK_INT(cpn_job_validate(&j, net, &err), CPN_EFIELD);
    j = ok;
    j.cls = 3;
    CHECK_INT(cpn_job_validate(&j, net, &err), CPN_EFIELD);
    CHECK_CONTAINS(err.msg, "class = 3");
    j = ok;
    j.allowed_hubs = 1u << 3;
    CHECK_INT(cpn_job_validate(&j, net, &err), CPN_EFIELD);
    CHECK_CONTAINS(err.msg, "allowed");
    j = ok;
    j.id[0] = '\0';
    CHECK_INT(cpn_job_validate(&j, net, &err), CPN_EFIELD);
    CHECK_CONTAINS(err.msg, "id = \"\"");
    j = ok;
    j.earliest_s = INT64_MAX - 10;
    CHECK_INT(cpn_job_validate(&j, net, &err), CPN_EFIELD);
    CHECK_CONTAINS(err.msg, "earliest");
    j = ok;
    j.duration_s = INT64_MAX;
    j.deadline_s = T0 + 100;
    CHECK_INT(cpn_job_validate(&j, net, &err), CPN_EFIELD);
    CHECK_CONTAINS(err.msg, "duration");
    cpn_network_destroy(net);
}

static void test_allows_cluster(void)
{
    struct cpn_network *net = load_net();
    struct cpn_jobset *js;
    if (!net)
        return;
    js = parse_ok(net, "id,origin,class,earliest,duration,allowed\n"
                       "any,beijing,gpu,0,1h,\n"
                       "west,beijing,gpu,0,1h,hub:west\n"
                       "c2,beijing,gpu,0,1h,c2\n"
                       "mix,beijing,gpu,0,1h,hub:dup;cluster:c1;cluster:c1\n");
    if (js && js->n == 4) {
        const bool want[4][3] = { { true, true, true },
                                  { true, false, false },
                                  { false, true, false },
                                  { true, false, true } };
        for (int j = 0; j < 4; j++)
            for (int c = 0; c < 3; c++)
                CHECK_MSG(cpn_job_allows_cluster(js, &js->v[j], net, c) == want[j][c],
                          "job %s cluster %d", js->v[j].id, c);
        CHECK(!cpn_job_allows_cluster(js, &js->v[0], net, 3));
        CHECK(!cpn_job_allows_cluster(js, &js->v[0], net, -1));
        CHECK_INT(js->v[3].n_allowed, 1); /* duplicates kept once */
        CHECK_INT(js->nallowed, 2);
    }
    cpn_jobset_destroy(js);
    cpn_network_destroy(net);
}

static void test_jobset_add(void)
{
    struct cpn_network *net = load_net();
    struct cpn_jobset *js = NULL;
    struct cpn_job j;
    const int32_t allowed[2] = { 2, 0 };
    if (!net)
        return;
    CHECK_INT(cpn_jobset_create(&js), 0);
    memset(&j, 0, sizeof j);
    snprintf(j.id, sizeof j.id, "x");
    j.units = 1;
    j.duration_s = 60;
    j.data_site = -1;
    j.deadline_s = CPN_NO_DEADLINE;
    j.allowed_off = 99;
    j.n_allowed = 7;
    CHECK_INT(cpn_jobset_add(js, &j, NULL, 0), 0);
    CHECK_INT(cpn_jobset_add(js, &j, allowed, 2), 0);
    CHECK_INT(cpn_jobset_add(js, &j, NULL, 1), -EINVAL);
    CHECK_INT(js->n, 2);
    CHECK_INT(js->v[0].n_allowed, 0);
    CHECK_INT(js->v[1].allowed_off, 0);
    CHECK_INT(js->v[1].n_allowed, 2);
    CHECK(cpn_job_allows_cluster(js, &js->v[1], net, 2));
    CHECK(!cpn_job_allows_cluster(js, &js->v[1], net, 1));
    cpn_alloc_fail_after(0);
    for (int i = 0; i < 100; i++) /* capacity may still hold a few; then it must fail cleanly */
        if (cpn_jobset_add(js, &j, allowed, 2) != 0)
            break;
    cpn_alloc_fail_after(-1);
    CHECK(js->n < 102);
    cpn_jobset_destroy(js);
    cpn_network_destroy(net);
}

static void test_write_roundtrip(void)
{
    struct cpn_network *net = load_net();
    struct cpn_jobset *a = NULL, *b = NULL;
    struct cpn_error err = { 0 };
    char dir[256], path[512];
    int rc;
    if (!net)
        return;
    a = parse_ok(net, good_csv);
    snprintf(dir, sizeof dir, "%s", t_tmpdir());
    snprintf(path, sizeof path, "%s/jobs.csv", dir);
    if (a) {
        snprintf(a->v[1].device, sizeof a->v[1].device, "Kunpeng 920, \"v2\"");
        a->v[1].min_tflops = 0.1 + 0.2;
        rc = cpn_jobs_write_csv(a, net, path, &err);
        CHECK_MSG(rc == 0, "%s", err.msg);
        rc = cpn_jobs_load(path, net, &b, &err);
        CHECK_MSG(rc == 0, "%s", err.msg);
    }
    if (a && b) {
        CHECK_INT(b->n, a->n);
        for (size_t i = 0; i < a->n && i < b->n; i++) {
            const struct cpn_job *x = &a->v[i], *y = &b->v[i];
            CHECK_MSG(!strcmp(x->id, y->id) && !strcmp(x->tenant, y->tenant) &&
                          !strcmp(x->device, y->device) && x->site == y->site &&
                          x->data_site == y->data_site && x->cls == y->cls &&
                          x->priority == y->priority && x->interruptible == y->interruptible &&
                          x->min_tflops == y->min_tflops && x->units == y->units &&
                          x->duration_s == y->duration_s && x->work_pflop_h == y->work_pflop_h &&
                          x->submit_s == y->submit_s && x->earliest_s == y->earliest_s &&
                          x->deadline_s == y->deadline_s && x->max_rtt_ms == y->max_rtt_ms &&
                          x->data_gb == y->data_gb && x->allowed_hubs == y->allowed_hubs &&
                          x->n_allowed == y->n_allowed &&
                          x->price_ceiling_ucny == y->price_ceiling_ucny,
                      "job %zu differs after write + load", i);
            for (uint32_t k = 0; k < x->n_allowed && k < y->n_allowed; k++)
                CHECK_INT(a->allowed[x->allowed_off + k], b->allowed[y->allowed_off + k]);
        }
    }
    remove(path);
    rmdir(dir);
    if (a) {
        rc = cpn_jobs_write_csv(a, net, "/nonexistent/jobs.csv", &err);
        CHECK_INT(rc, -ENOENT);
        CHECK_CONTAINS(err.msg, "/nonexistent/jobs.csv");
    }
    rc = cpn_jobs_load("/nonexistent/jobs.csv", net, &b, &err);
    CHECK_INT(rc, -ENOENT);
    cpn_jobset_destroy(a);
    cpn_jobset_destroy(b);
    cpn_network_destroy(net);
}

static void alloc_loop(const struct cpn_network *net, const char *text, const char *name)
{
    long n;
    int last = -1;
    for (n = 0; n < 5000; n++) {
        struct cpn_jobset *js = NULL;
        struct cpn_error err = { 0 };
        int rc;
        cpn_alloc_fail_after(n);
        rc = cpn_jobs_parse(text, strlen(text), name, net, &js, &err);
        cpn_alloc_fail_after(-1);
        last = rc;
        if (rc == 0) {
            CHECK_INT(js->n, 4);
            cpn_jobset_destroy(js);
            break;
        }
        CHECK_MSG(rc == -ENOMEM, "%s: fail after %ld: rc %d (%s)", name, n, rc, err.msg);
        CHECK_CONTAINS(err.msg, name);
        CHECK(js == NULL);
    }
    CHECK_INT(last, 0);
}

static void test_alloc_failure(void)
{
    struct cpn_network *net = load_net();
    char json[1024];
    if (!net)
        return;
    alloc_loop(net, good_csv, "oom.csv");
    snprintf(json, sizeof json, "{\"jobs\": [%s]}",
             "{\"id\": \"a\", \"origin\": \"beijing\", \"class\": \"gpu\", \"earliest\": 0, "
             "\"duration\": 60, \"allowed\": [\"c1\", \"c2\"]},"
             "{\"id\": \"b\", \"origin\": \"beijing\", \"class\": \"gpu\", \"earliest\": 0, "
             "\"duration\": 60, \"allowed\": \"hub:west;cluster:dup\"},"
             "{\"id\": \"c\", \"origin\": \"beijing\", \"class\": \"gpu\", \"earliest\": 0, "
             "\"duration\": 60},"
             "{\"id\": \"d\", \"origin\": \"beijing\", \"class\": \"gpu\", \"earliest\": 0, "
             "\"duration\": 60}");
    alloc_loop(net, json, "oom.json");
    cpn_network_destroy(net);
}

/* A generated trace of 50,000 rows: all load, ids stay unique, and the rate is printed. */
static void test_bulk(void)
{
    const size_t rows = 50000;
    struct cpn_network *net = load_net();
    struct cpn_jobset *js = NULL;
    struct cpn_error err = { 0 };
    size_t cap = rows * 96 + 128, len = 0;
    char *csv = malloc(cap);
    int64_t t0;
    int rc;
    if (!net || !csv) {
        free(csv);
        cpn_network_destroy(net);
        return;
    }
    len += (size_t)snprintf(csv, cap,
                            "id,tenant,origin,class,units,duration,earliest,deadline,"
                            "allowed\n");
    for (size_t i = 0; i < rows; i++) {
        char when[CPN_TIME_STRLEN];
        cpn_time_format(T0 + (int64_t)i * 7, when);
        len += (size_t)snprintf(csv + len, cap - len, "job-%zu,t%zu,%s,%s,%zu,%zum,%s,,%s\n", i,
                                i % 17, i % 3 ? "beijing" : "shanghai", i % 2 ? "gpu" : "cpu",
                                1 + i % 8, 5 + i % 300, when, i % 5 ? "" : "hub:west;c2");
    }
    t0 = cpn_monotonic_ns();
    rc = cpn_jobs_parse(csv, len, "bulk.csv", net, &js, &err);
    t0 = cpn_monotonic_ns() - t0;
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (!rc) {
        CHECK_INT(js->n, rows);
        CHECK_INT(js->nallowed, rows / 5);
        printf("# %zu jobs in %.1f ms: %.0f jobs/s\n", rows, (double)t0 / 1e6,
               (double)rows / ((double)t0 / 1e9));
    }
    cpn_jobset_destroy(js);
    free(csv);
    cpn_network_destroy(net);
}

int main(void)
{
    T_RUN(test_csv);
    T_RUN(test_durations);
    T_RUN(test_json);
    T_RUN(test_csv_errors);
    T_RUN(test_json_errors);
    T_RUN(test_validate);
    T_RUN(test_allows_cluster);
    T_RUN(test_jobset_add);
    T_RUN(test_write_roundtrip);
    T_RUN(test_alloc_failure);
    T_RUN(test_bulk);
    return T_DONE("model_jobs");
}
