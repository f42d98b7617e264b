/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the network loader and writer: a small three-cluster network loads with the documented
 * defaults, conversions and modelled delays (checked against the reference anchors), bad inputs are
 * rejected with the right code and a message naming the JSON pointer and field, a write round-trips
 * exactly, and every allocation failure is reported cleanly. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpnet/model.h"
#include "harness.h"

static const char base_json[] =
    "{\n"
    "  \"name\": \"test-net\", \"source\": \"unit test\",\n"
    "  \"hubs\": [{\"id\": \"inner-mongolia\", \"name\": \"Inner Mongolia\", \"region\": "
    "\"west\"},\n"
    "           {\"id\": \"jjj\", \"name\": \"Beijing-Tianjin-Hebei\", \"region\": \"east\"},\n"
    "           {\"id\": \"ningxia\", \"region\": \"west\", \"note\": \"name defaults to id\"}],\n"
    "  \"zones\": [{\"id\": \"nm-helinger\", \"grid_gco2_per_kwh\": 684.9, \"green_share\": 0.86,\n"
    "             \"price_cny_per_kwh\": 0.3},\n"
    "            {\"id\": \"hebei\", \"grid_gco2_per_kwh\": 725.2, \"green_share\": 0.3,\n"
    "             \"price_cny_per_kwh\": [0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.6, 0.6, 0.6, "
    "0.6,\n"
    "                                     0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.9, 0.9, 0.9, 0.9, 0.4, "
    "0.4],\n"
    "             \"utc_offset\": \"+08:00\"},\n"
    "            {\"id\": \"nx\", \"grid_gco2_per_kwh\": 642.3, \"green_share\": 0.5,\n"
    "             \"price_cny_per_kwh\": 0.25, \"utc_offset\": \"-03:30\"}],\n"
    "  \"clusters\": [\n"
    "    {\"id\": \"helinger\", \"name\": \"Helinger\", \"hub\": \"inner-mongolia\", \"zone\": "
    "\"nm-helinger\",\n"
    "     \"province\": \"Inner Mongolia\", \"owner\": \"Helinger New Area\", \"lon\": 111.671, "
    "\"lat\": 40.818,\n"
    "     \"pue\": 1.2, \"power_cap_kw\": 50000,\n"
    "     \"pools\": [{\"id\": \"h800\", \"class\": \"intelligent\", \"device\": \"H800\", "
    "\"units\": 8000,\n"
    "                \"tflops\": 989.5, \"watts_idle\": 100, \"watts_busy\": 700, \"mem_gib\": "
    "80,\n"
    "                \"price_cny_per_unit_hour\": 9.5},\n"
    "               {\"id\": \"cpu\", \"class\": \"general\", \"device\": \"Kunpeng 920\", "
    "\"units\": \"unlimited\",\n"
    "                \"tflops\": 2.6, \"watts_idle\": 1.5, \"watts_busy\": 3.5, "
    "\"price_cny_per_unit_hour\": 0.05}]},\n"
    "    {\"id\": \"zhangjiakou\", \"hub\": \"jjj\", \"zone\": \"hebei\", \"lon\": 114.884, "
    "\"lat\": "
    "40.812, \"pue\": 1.25,\n"
    "     \"pools\": [{\"id\": \"a100\", \"class\": \"gpu\", \"units\": 512, \"tflops\": 312, "
    "\"watts_idle\": 60,\n"
    "                \"watts_busy\": 400, \"price_cny_per_unit_hour\": 7.123456}]},\n"
    "    {\"id\": \"zhongwei\", \"hub\": \"ningxia\", \"zone\": \"nx\", \"lon\": 105.190, \"lat\": "
    "37.515, \"pue\": 1.1,\n"
    "     \"pools\": [{\"id\": \"hpc\", \"class\": \"super\", \"units\": 1000, \"tflops\": 9.7, "
    "\"watts_idle\": 80,\n"
    "                \"watts_busy\": 350, \"price_cny_per_unit_hour\": 1.2}]}],\n"
    "  \"sites\": [{\"id\": \"beijing\", \"name\": \"Beijing\", \"lon\": 116.405, \"lat\": "
    "39.905},\n"
    "            {\"id\": \"shanghai\", \"name\": \"Shanghai\", \"lon\": 121.473, \"lat\": "
    "31.230}],\n"
    "  \"delays\": [{\"site\": \"beijing\", \"cluster\": \"zhongwei\", \"rtt_ms\": 11.5}],\n"
    "  \"outages\": [{\"cluster\": \"helinger\", \"start\": \"2025-01-03T00:00:00Z\", \"end\": "
    "\"2025-01-03T06:00:00Z\"}]\n"
    "}\n";

/* base_json with the first occurrence of from replaced by to; caller frees. */
static char *edit(const char *from, const char *to)
{
    const char *at = strstr(base_json, from);
    size_t n = strlen(base_json) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    if (!at || !out) {
        free(out);
        fprintf(stderr, "edit: \"%s\" not in base\n", from);
        return NULL;
    }
    memcpy(out, base_json, (size_t)(at - base_json));
    snprintf(out + (at - base_json), n - (size_t)(at - base_json), "%s%s", to, at + strlen(from));
    return out;
}

static struct cpn_network *load_base(void)
{
    struct cpn_network *net = NULL;
    struct cpn_error err = { 0 };
    int rc = cpn_network_parse(base_json, strlen(base_json), "base.json", &net, &err);
    CHECK_MSG(rc == 0, "base network: %d %s", rc, err.msg);
    return net;
}

static void test_load_basic(void)
{
    struct cpn_network *net = load_base();
    const struct cpn_cluster *c;
    if (!net)
        return;
    CHECK_STR(net->name, "test-net");
    CHECK_INT(net->slot_s, 900);
    CHECK_NEAR(net->route_factor, 1.3, 0);
    CHECK_NEAR(net->fibre_us_per_km, 4.9, 0);
    CHECK_NEAR(net->equipment_ms, 0.5, 0);
    CHECK_NEAR(net->transfer_gbps, 10, 0);
    CHECK_INT(net->transfer_ucny_per_gb, 0);
    CHECK_INT(net->nhubs, 3);
    CHECK_INT(net->nzones, 3);
    CHECK_INT(net->nclusters, 3);
    CHECK_INT(net->npools, 4);
    CHECK_INT(net->nsites, 2);
    CHECK_INT(net->noutages, 1);
    CHECK_STR(net->hubs[2].name, "ningxia");
    CHECK_INT(net->hubs[0].region, CPN_REGION_WEST);
    CHECK_INT(net->hubs[1].region, CPN_REGION_EAST);
    c = &net->clusters[0];
    CHECK_STR(c->province, "Inner Mongolia");
    CHECK_STR(c->owner, "Helinger New Area");
    CHECK_NEAR(c->power_cap_kw, 50000, 0);
    CHECK_INT(c->pool_first, 0);
    CHECK_INT(c->pool_count, 2);
    CHECK_INT(net->clusters[1].pool_first, 2);
    CHECK_INT(net->clusters[2].pool_first, 3);
    CHECK_STR(net->clusters[1].name, "zhangjiakou");
    CHECK_NEAR(net->clusters[1].power_cap_kw, 0, 0);
    CHECK_INT(net->pools[0].units, 8000);
    CHECK_INT(net->pools[0].cluster, 0);
    CHECK_INT(net->pools[0].price_ucny_per_unit_h, 9500000);
    CHECK_NEAR(net->pools[0].mem_gib_per_unit, 80, 0);
    CHECK_INT(net->pools[1].units, CPN_UNLIMITED);
    CHECK_INT(net->pools[1].cls, CPN_CLASS_GENERAL);
    CHECK_INT(net->pools[1].price_ucny_per_unit_h, 50000);
    CHECK_INT(net->pools[2].cls, CPN_CLASS_INTELLIGENT);
    CHECK_INT(net->pools[2].cluster, 1);
    CHECK_INT(net->pools[2].price_ucny_per_unit_h, 7123456);
    CHECK_STR(net->pools[2].device, "");
    CHECK_INT(net->pools[3].cls, CPN_CLASS_SUPER);
    /* Flat price; time-of-use price rotated from local (+08:00) to UTC hours. */
    CHECK_NEAR(net->zones[0].price_cny_per_kwh[13], 0.3, 0);
    CHECK_INT(net->zones[1].utc_offset_min, 480);
    CHECK_NEAR(net->zones[1].price_cny_per_kwh[0], 0.6, 0);  /* 08:00 local */
    CHECK_NEAR(net->zones[1].price_cny_per_kwh[10], 0.9, 0); /* 18:00 local */
    CHECK_NEAR(net->zones[1].price_cny_per_kwh[16], 0.2, 0); /* 00:00 local */
    CHECK_INT(net->zones[2].utc_offset_min, -210);
    CHECK_INT(net->outages[0].cluster, 0);
    CHECK_INT(net->outages[0].end_s - net->outages[0].start_s, 6 * 3600);
    cpn_network_destroy(net);
}

static void test_rtt_reference(void)
{
    struct cpn_network *net = load_base();
    double bj_hl, sh_zw, bj_zjk;
    if (!net)
        return;
    bj_hl = cpn_network_rtt(net, 0, 0);
    bj_zjk = cpn_network_rtt(net, 0, 1);
    sh_zw = cpn_network_rtt(net, 1, 2);
    /* ../shared/reference/README.md: Beijing-Helinger 6.3, Beijing-Zhangjiakou 3.1,
     * Shanghai-Zhongwei 22.0 ms. */
    CHECK_NEAR(bj_hl, 6.3, 0.05);
    CHECK_NEAR(bj_zjk, 3.1, 0.05);
    CHECK_NEAR(sh_zw, 22.0, 0.1);
    CHECK_NEAR(cpn_network_rtt(net, 0, 2), 11.5, 0); /* override from "delays" */
    CHECK_NEAR(cpn_geo_km(0, 0, 1, 0), 111.195, 0.01);
    CHECK_NEAR(cpn_geo_km(10, 20, 10, 20), 0, 0);
    CHECK_NEAR(cpn_geo_km(0, 0, 180, 0), 3.14159265358979 * 6371.0088, 1e-6);
    CHECK_NEAR(cpn_network_model_rtt_ms(net, 0), 1.0, 1e-12);
    cpn_network_destroy(net);
}

static void test_slot_minutes(void)
{
    static const struct {
        const char *value;
        int ok;
        int64_t slot_s;
    } cases[] = { { "15", 1, 900 },     { "30", 1, 1800 }, { "60", 1, 3600 }, { "1", 1, 60 },
                  { "1440", 1, 86400 }, { "7", 0, 0 },     { "0", 0, 0 },     { "-15", 0, 0 },
                  { "2880", 0, 0 },     { "15.5", 0, 0 },  { "\"15\"", 0, 0 } };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char to[64];
        char *json;
        struct cpn_network *net = NULL;
        struct cpn_error err = { 0 };
        int rc;
        snprintf(to, sizeof to, "\"name\": \"test-net\", \"slot_minutes\": %s", cases[i].value);
        json = edit("\"name\": \"test-net\"", to);
        rc = cpn_network_parse(json, strlen(json), "slot.json", &net, &err);
        if (cases[i].ok) {
            CHECK_MSG(rc == 0, "slot_minutes %s: %s", cases[i].value, err.msg);
            if (net)
                CHECK_INT(net->slot_s, cases[i].slot_s);
        } else {
            CHECK_MSG(rc == CPN_EFIELD, "slot_minutes %s: rc %d", cases[i].value, rc);
            CHECK_CONTAINS(err.msg, "slot.json: /slot_minutes: slot_minutes = ");
            CHECK_CONTAINS(err.msg, "divides a day");
            CHECK(net == NULL);
        }
        cpn_network_destroy(net);
        free(json);
    }
}

static void test_bad_inputs(void)
{
    static const struct {
        const char *from, *to;
        int code;
        const char *msg1, *msg2;
    } cases[] = {
        { "\"name\": \"test-net\",", "", CPN_EFIELD, "(top level): missing field \"name\"",
          "a string" },
        { "\"name\": \"test-net\"", "\"name\": \"test-net\", \"hubz\": []", CPN_EFIELD,
          "unknown field \"hubz\"", "expected one of name, slot_minutes" },
        { "\"source\": \"unit test\"", "\"source\": 5", CPN_EFIELD, "/source: source = 5",
          "a string" },
        { "\"region\": \"west\"}", "\"region\": \"north\"}", CPN_EFIELD,
          "/hubs/0/region: region = \"north\"", "\"east\" or \"west\"" },
        { "\"id\": \"jjj\"", "\"id\": \"inner-mongolia\"", CPN_EFIELD,
          "/hubs/1/id: id = \"inner-mongolia\"", "already /hubs/0/id" },
        { "\"id\": \"jjj\"", "\"id\": \"j j\"", CPN_EFIELD, "/hubs/1/id: id = \"j j\"",
          "an id of 1..47" },
        { "\"green_share\": 0.86", "\"green_share\": 1.5", CPN_EFIELD,
          "/zones/0/green_share: green_share = 1.5", "between 0 and 1" },
        { "\"price_cny_per_kwh\": 0.3", "\"price_cny_per_kwh\": -0.3", CPN_EFIELD,
          "/zones/0/price_cny_per_kwh: price_cny_per_kwh = -0.3", ">= 0" },
        { "\"price_cny_per_kwh\": 0.3", "\"price_cny_per_kwh\": [0.3, 0.4]", CPN_EFIELD,
          "/zones/0/price_cny_per_kwh: price_cny_per_kwh = an array", "24 such prices" },
        { "0.9, 0.9, 0.9, 0.9, 0.4", "0.9, 0.9, \"x\", 0.9, 0.4", CPN_EFIELD,
          "/zones/1/price_cny_per_kwh/20: price_cny_per_kwh = \"x\"", "local hour 20" },
        { "\"utc_offset\": \"+08:00\"", "\"utc_offset\": \"8\"", CPN_EFIELD,
          "/zones/1/utc_offset: utc_offset = \"8\"", "\"+HH:MM\"" },
        { "\"grid_gco2_per_kwh\": 684.9, ", "", CPN_EFIELD,
          "/zones/0: missing field \"grid_gco2_per_kwh\"", "gCO2/kWh" },
        { "\"hub\": \"jjj\"", "\"hub\": \"jj\"", CPN_EREF, "/clusters/1/hub: hub = \"jj\"",
          "one of /hubs" },
        { "\"zone\": \"nx\"", "\"zone\": \"ny\"", CPN_EREF, "/clusters/2/zone: zone = \"ny\"",
          "one of /zones" },
        { "\"pue\": 1.2", "\"pue\": 0.9", CPN_EFIELD, "/clusters/0/pue: pue = 0.9", ">= 1" },
        { "\"lon\": 111.671", "\"lon\": 191.671", CPN_EFIELD, "/clusters/0/lon: lon = 191.671",
          "between -180 and 180" },
        { "\"lat\": 40.818", "\"lat\": \"40.8\"", CPN_EFIELD, "/clusters/0/lat: lat = \"40.8\"",
          "between -90 and 90" },
        { "\"power_cap_kw\": 50000", "\"power_cap_kw\": -1", CPN_EFIELD,
          "/clusters/0/power_cap_kw: power_cap_kw = -1", ">= 0" },
        { "\"pue\": 1.2,", "\"pue\": 1.2, \"pue_target\": 1.1,", CPN_EFIELD,
          "/clusters/0/pue_target: unknown field \"pue_target\" in cluster", "one of id" },
        { "\"units\": 8000", "\"units\": 0", CPN_EFIELD, "/clusters/0/pools/0/units: units = 0",
          "an integer >= 1 or \"unlimited\"" },
        { "\"units\": 8000", "\"units\": \"lots\"", CPN_EFIELD,
          "/clusters/0/pools/0/units: units = \"lots\"", "\"unlimited\"" },
        { "\"units\": 512", "\"units\": 2.5", CPN_EFIELD, "/clusters/1/pools/0/units: units = 2.5",
          "an integer" },
        { "\"class\": \"gpu\"", "\"class\": \"quantum\"", CPN_EFIELD,
          "/clusters/1/pools/0/class: class = \"quantum\"", "\"intelligent\"" },
        { "\"watts_busy\": 700", "\"watts_busy\": 50", CPN_EFIELD,
          "/clusters/0/pools/0/watts_busy: watts_busy = 50", ">= watts_idle (100)" },
        { "\"tflops\": 989.5", "\"tflops\": 0", CPN_EFIELD,
          "/clusters/0/pools/0/tflops: tflops = 0", "> 0" },
        { "\"id\": \"cpu\"", "\"id\": \"h800\"", CPN_EFIELD,
          "/clusters/0/pools/1/id: id = \"h800\"", "not used before in cluster \"helinger\"" },
        { "\"price_cny_per_unit_hour\": 9.5", "\"price_cny_per_unit_hour\": -9.5", CPN_EFIELD,
          "/clusters/0/pools/0/price_cny_per_unit_hour: price_cny_per_unit_hour = -9.5", ">= 0" },
        { "\"sites\": [{\"id\": \"beijing\", \"name\": \"Beijing\", \"lon\": 116.405, \"lat\": "
          "39.905},",
          "\"sites\": [", CPN_EREF, "/delays/0/site: site = \"beijing\"", "one of /sites" },
        { "\"rtt_ms\": 11.5", "\"rtt_ms\": -1", CPN_EFIELD, "/delays/0/rtt_ms: rtt_ms = -1",
          ">= 0" },
        { "\"rtt_ms\": 11.5}",
          "\"rtt_ms\": 11.5}, {\"site\": \"beijing\", \"cluster\": "
          "\"zhongwei\", \"rtt_ms\": 3}",
          CPN_EFIELD, "/delays/1/cluster: cluster = \"zhongwei\"", "one delay per site" },
        { "\"end\": \"2025-01-03T06:00:00Z\"", "\"end\": \"2025-01-02T06:00:00Z\"", CPN_EFIELD,
          "/outages/0/end: end = \"2025-01-02T06:00:00Z\"", "after start" },
        { "\"start\": \"2025-01-03T00:00:00Z\"", "\"start\": \"yesterday\"", CPN_EFIELD,
          "/outages/0/start: start = \"yesterday\"", "ISO 8601" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *json;
        static struct cpn_network sentinel;
        struct cpn_network *net = &sentinel; /* must stay untouched on error */
        struct cpn_error err = { 0 };
        int rc;
        json = edit(cases[i].from, cases[i].to);
        if (!json) {
            CHECK_MSG(0, "case %zu: bad edit", i);
            continue;
        }
        rc = cpn_network_parse(json, strlen(json), "bad.json", &net, &err);
        CHECK_MSG(rc == cases[i].code, "case %zu: rc %d (%s), expected %d", i, rc, err.msg,
                  cases[i].code);
        CHECK_MSG(net == &sentinel, "case %zu: *out written on error", i);
        CHECK_CONTAINS(err.msg, "bad.json: ");
        CHECK_CONTAINS(err.msg, cases[i].msg1);
        CHECK_CONTAINS(err.msg, cases[i].msg2);
        free(json);
    }
}

static void test_bad_documents(void)
{
    static const struct {
        const char *json;
        int code;
        const char *msg;
    } cases[] = {
        { "", CPN_EPARSE, "doc.json:1:0: invalid JSON" },
        { "{\"name\": \"a\",}", CPN_EPARSE, "doc.json:1:" },
        { "{\"name\": \"a\", \"name\": \"b\"}", CPN_EPARSE, "duplicate" },
        { "[]", CPN_EFIELD, "(top level): network = an array: expected an object" },
        { "{\"name\": \"a\"}", CPN_EFIELD, "missing field \"hubs\"" },
        { "{\"name\": \"a\", \"hubs\": []}", CPN_EFIELD, "/hubs: hubs = an array" },
        { "{\"name\": \"a\", \"hubs\": [1]}", CPN_EFIELD, "missing field \"zones\"" },
        { "{\"name\": \"a\", \"hubs\": [1], \"zones\": [1], \"clusters\": [1], \"sites\": [1]}",
          CPN_EFIELD, "/hubs/0: hub = 1: expected an object" },
        { "{\"name\": \"a\", \"latency\": {\"route_factor\": 0.5}}", CPN_EFIELD,
          "/latency/route_factor: route_factor = 0.5" },
        { "{\"name\": \"a\", \"transfer\": {\"gbps\": 0}}", CPN_EFIELD,
          "/transfer/gbps: gbps = 0" },
        { "{\"name\": \"a\", \"transfer\": {\"gbit\": 1}}", CPN_EFIELD,
          "/transfer/gbit: unknown field \"gbit\"" },
        { "{\"name\": \"a\", \"hubs\": [{\"id\": \"h\", \"region\": \"east\"}], \"zones\": "
          "[{\"id\": "
          "\"z\", \"grid_gco2_per_kwh\": 500, \"green_share\": 0, \"price_cny_per_kwh\": 0.5}], "
          "\"clusters\": [{\"id\": \"c\", \"hub\": \"h\", \"zone\": \"z\", \"lon\": 0, \"lat\": 0, "
          "\"pue\": 1, \"pools\": []}], \"sites\": [{\"id\": \"s\", \"lon\": 0, \"lat\": 0}]}",
          CPN_EFIELD, "/clusters/0/pools: pools = an array: expected an array of 1..1048576" },
        { "{\"name\": \"\"}", CPN_EFIELD, "/name: name = \"\": expected a string of 1..63 bytes" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cpn_network *net = NULL;
        struct cpn_error err = { 0 };
        int rc = cpn_network_parse(cases[i].json, strlen(cases[i].json), "doc.json", &net, &err);
        CHECK_MSG(rc == cases[i].code, "case %zu: rc %d (%s)", i, rc, err.msg);
        CHECK_CONTAINS(err.msg, cases[i].msg);
        CHECK(net == NULL);
    }
}

static void test_hub_limit(void)
{
    char *json = malloc(65536);
    struct cpn_network *net = NULL;
    struct cpn_error err = { 0 };
    size_t n = 0;
    int rc;
    n += (size_t)snprintf(json + n, 65536 - n, "{\"name\": \"many\", \"hubs\": [");
    for (int i = 0; i < 65; i++)
        n += (size_t)snprintf(json + n, 65536 - n, "%s{\"id\": \"h%d\", \"region\": \"east\"}",
                              i ? "," : "", i);
    snprintf(json + n, 65536 - n, "]}");
    rc = cpn_network_parse(json, strlen(json), "many.json", &net, &err);
    CHECK_INT(rc, CPN_ELIMIT);
    CHECK_CONTAINS(err.msg, "/hubs: hubs = an array: expected an array of 1..64 elements");
    free(json);
}

static void test_lookup(void)
{
    struct cpn_network *net = load_base();
    if (!net)
        return;
    CHECK_INT(cpn_network_hub(net, "jjj"), 1);
    CHECK_INT(cpn_network_hub(net, "nope"), -1);
    CHECK_INT(cpn_network_zone(net, "nx"), 2);
    CHECK_INT(cpn_network_cluster(net, "zhongwei"), 2);
    CHECK_INT(cpn_network_cluster(net, "h800"), -1);
    CHECK_INT(cpn_network_site(net, "shanghai"), 1);
    CHECK_INT(cpn_network_site(net, ""), -1);
    CHECK_STR(cpn_class_name(CPN_CLASS_SUPER), "super");
    CHECK_STR(cpn_signal_kind_name(CPN_SIG_GREEN), "green");
    {
        enum cpn_class c;
        CHECK(cpn_class_parse("HPC", &c) == 0 && c == CPN_CLASS_SUPER);
        CHECK(cpn_class_parse("Intelligent", &c) == 0 && c == CPN_CLASS_INTELLIGENT);
        CHECK_INT(cpn_class_parse("quantum", &c), -EINVAL);
    }
    cpn_network_destroy(net);
}

static bool same_network(const struct cpn_network *a, const struct cpn_network *b)
{
    return !strcmp(a->name, b->name) && a->slot_s == b->slot_s &&
           a->route_factor == b->route_factor && a->fibre_us_per_km == b->fibre_us_per_km &&
           a->equipment_ms == b->equipment_ms && a->transfer_gbps == b->transfer_gbps &&
           a->transfer_ucny_per_gb == b->transfer_ucny_per_gb && a->nhubs == b->nhubs &&
           a->nzones == b->nzones && a->nclusters == b->nclusters && a->npools == b->npools &&
           a->nsites == b->nsites && a->noutages == b->noutages &&
           !memcmp(a->hubs, b->hubs, a->nhubs * sizeof *a->hubs) &&
           !memcmp(a->zones, b->zones, a->nzones * sizeof *a->zones) &&
           !memcmp(a->clusters, b->clusters, a->nclusters * sizeof *a->clusters) &&
           !memcmp(a->pools, b->pools, a->npools * sizeof *a->pools) &&
           !memcmp(a->sites, b->sites, a->nsites * sizeof *a->sites) &&
           !memcmp(a->outages, b->outages, a->noutages * sizeof *a->outages) &&
           !memcmp(a->rtt_ms, b->rtt_ms, a->nsites * a->nclusters * sizeof *a->rtt_ms);
}

static void test_roundtrip(void)
{
    static const char *const variants[][2] = {
        { "\"name\": \"test-net\"", "\"name\": \"test-net\"" },
        { "\"name\": \"test-net\"",
          "\"name\": \"t\\\"q\\u00e9\", \"slot_minutes\": 60, \"latency\": {\"route_factor\": "
          "1.45, \"equipment_ms\": 0.25}, \"transfer\": {\"gbps\": 2.5, \"cny_per_gb\": 0.0123}" },
    };
    for (size_t v = 0; v < 2; v++) {
        struct cpn_network *a = NULL, *b = NULL;
        struct cpn_error err = { 0 };
        char path[512], dir[256];
        char *json = edit(variants[v][0], variants[v][1]);
        int rc = cpn_network_parse(json, strlen(json), "rt.json", &a, &err);
        CHECK_MSG(rc == 0, "variant %zu: %s", v, err.msg);
        snprintf(dir, sizeof dir, "%s", t_tmpdir());
        snprintf(path, sizeof path, "%s/net.json", dir);
        if (!rc) {
            rc = cpn_network_write(a, path, &err);
            CHECK_MSG(rc == 0, "write: %s", err.msg);
        }
        if (!rc) {
            rc = cpn_network_load(path, &b, &err);
            CHECK_MSG(rc == 0, "reload: %s", err.msg);
        }
        if (!rc) {
            CHECK_MSG(same_network(a, b), "variant %zu differs after write + load (%s)", v, path);
            if (v == 1) {
                CHECK_INT(b->slot_s, 3600);
                CHECK_INT(b->transfer_ucny_per_gb, 12300);
                CHECK_STR(b->name, "t\"q\xc3\xa9");
            }
            remove(path);
            rmdir(dir);
        }
        cpn_network_destroy(a);
        cpn_network_destroy(b);
        free(json);
    }
}

static void test_file_errors(void)
{
    struct cpn_network *net = NULL;
    struct cpn_error err = { 0 };
    int rc = cpn_network_load("/nonexistent/net.json", &net, &err);
    CHECK_INT(rc, -ENOENT);
    CHECK_CONTAINS(err.msg, "/nonexistent/net.json");
    CHECK(net == NULL);
    net = load_base();
    if (net) {
        rc = cpn_network_write(net, "/nonexistent/out.json", &err);
        CHECK_INT(rc, -ENOENT);
        CHECK_CONTAINS(err.msg, "/nonexistent/out.json: cannot create");
        cpn_network_destroy(net);
    }
}

static void test_alloc_failure(void)
{
    long n;
    int last = -1;
    for (n = 0; n < 10000; n++) {
        struct cpn_network *net = NULL;
        struct cpn_error err = { 0 };
        int rc;
        cpn_alloc_fail_after(n);
        rc = cpn_network_parse(base_json, strlen(base_json), "oom.json", &net, &err);
        cpn_alloc_fail_after(-1);
        last = rc;
        if (rc == 0) {
            cpn_network_destroy(net);
            break;
        }
        CHECK_MSG(rc == -ENOMEM, "fail after %ld: rc %d (%s)", n, rc, err.msg);
        CHECK_CONTAINS(err.msg, "oom.json");
        CHECK(net == NULL);
    }
    CHECK_INT(last, 0);
    CHECK_MSG(n > 5, "only %ld allocations", n);
}

int main(void)
{
    T_RUN(test_load_basic);
    T_RUN(test_rtt_reference);
    T_RUN(test_slot_minutes);
    T_RUN(test_bad_inputs);
    T_RUN(test_bad_documents);
    T_RUN(test_hub_limit);
    T_RUN(test_lookup);
    T_RUN(test_roundtrip);
    T_RUN(test_file_errors);
    T_RUN(test_alloc_failure);
    return T_DONE("model_network");
}
