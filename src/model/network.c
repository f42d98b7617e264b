/* SPDX-License-Identifier: Apache-2.0 */
/* The network loader: reads the JSON description of hubs, zones, clusters with their pools, demand
 * sites, measured delays and outages (docs/formats.md#network), checks every field and reference,
 * converts money to integer micro-yuan and builds the site x cluster RTT matrix (modelled from
 * distance, then overridden by measured delays). A failing load has no side effects: everything
 * built so far is freed and *out is left alone. Ids resolve through hash maps built once, so a
 * network of thousands of clusters loads in linear time. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model/model_int.h"

#define MAX_HUBS      64 /* jobs keep allowed hubs in a 64-bit mask */
#define MAX_ITEMS     100000
#define MAX_POOLS     (1u << 20)
#define MAX_RTT_CELLS (1u << 26)
#define MONEY_MAX     1e9 /* CNY; keeps micro-yuan far inside int64 */

struct nload {
    struct cpn__jctx j;
    struct cpn_network *net;
    struct cpn_strmap hubs, zones, clusters, sites;
};

/* Registers id at index idx in map; a second use of the id is an error at the current pointer. */
static int put_id(struct nload *L,
                  struct cpn_strmap *map,
                  const char *id,
                  size_t idx,
                  const char *kind,
                  const char *array,
                  const json_t *obj)
{
    int rc = cpn_strmap_put(map, id, (int32_t)idx);
    if (rc == -EEXIST) {
        size_t mark = cpn__jpush_key(&L->j, "id");
        rc = cpn__jfail(&L->j, CPN_EFIELD, "id", json_object_get(obj, "id"),
                        "a %s id not used before (it is already /%s/%d/id)", kind, array,
                        cpn_strmap_get(map, id));
        cpn__jpop(&L->j, mark);
        return rc;
    }
    if (rc)
        return cpn_errorf(L->j.err, rc, "%s: out of memory", L->j.file);
    return 0;
}

/* Reads an id reference under key and resolves it in map. */
static int ref(struct nload *L,
               const json_t *obj,
               const char *key,
               const struct cpn_strmap *map,
               const char *array,
               int32_t *out)
{
    char id[CPN_ID_MAX];
    int32_t idx;
    int rc = cpn__jstr(&L->j, obj, key, true, "", true, id, sizeof id);
    size_t mark;
    if (rc)
        return rc;
    idx = cpn_strmap_get(map, id);
    if (idx < 0) {
        mark = cpn__jpush_key(&L->j, key);
        rc = cpn__jfail(&L->j, CPN_EREF, key, json_object_get(obj, key), "the id of one of /%s",
                        array);
        cpn__jpop(&L->j, mark);
        return rc;
    }
    *out = idx;
    return 0;
}

/* An array under key with 1..max elements. */
static int items(struct nload *L,
                 const json_t *obj,
                 const char *key,
                 bool required,
                 size_t max,
                 const json_t **out)
{
    int rc = cpn__jarray(&L->j, obj, key, required, out);
    size_t n, mark;
    if (rc || !*out)
        return rc;
    n = json_array_size(*out);
    if ((required && n == 0) || n > max) {
        mark = cpn__jpush_key(&L->j, key);
        rc = cpn__jfail(&L->j, n ? CPN_ELIMIT : CPN_EFIELD, key, *out,
                        "an array of %s1..%zu elements (it has %zu)", required ? "" : "0 or ", max,
                        n);
        cpn__jpop(&L->j, mark);
    }
    return rc;
}

static int parse_settings(struct nload *L, const json_t *root)
{
    static const char *const lat_keys[] = { "route_factor", "fibre_us_per_km", "equipment_ms",
                                            NULL };
    static const char *const tr_keys[] = { "gbps", "cny_per_gb", NULL };
    struct cpn_network *net = L->net;
    const json_t *v = json_object_get(root, "slot_minutes");
    double cny = 0;
    size_t mark;
    int rc;
    net->slot_s = 900;
    if (v) {
        json_int_t m = json_integer_value(v);
        mark = cpn__jpush_key(&L->j, "slot_minutes");
        if (!json_is_integer(v) || m < 1 || m > 1440 || 1440 % m != 0)
            return cpn__jfail(&L->j, CPN_EFIELD, "slot_minutes", v,
                              "a whole number of minutes that divides a day (1..1440, e.g. 15, "
                              "30 or 60)");
        cpn__jpop(&L->j, mark);
        net->slot_s = (int64_t)m * 60;
    }
    net->route_factor = 1.3;
    net->fibre_us_per_km = 4.9;
    net->equipment_ms = 0.5;
    if ((v = json_object_get(root, "latency"))) {
        mark = cpn__jpush_key(&L->j, "latency");
        if ((rc = cpn__jobject(&L->j, v, "latency", lat_keys)) ||
            (rc = cpn__jnum(&L->j, v, "route_factor", false, 1.3, 1, false, 100,
                            "a number >= 1 (route length / great-circle length)",
                            &net->route_factor)) ||
            (rc = cpn__jnum(&L->j, v, "fibre_us_per_km", false, 4.9, 0, true, 1000,
                            "a number of microseconds per km > 0", &net->fibre_us_per_km)) ||
            (rc = cpn__jnum(&L->j, v, "equipment_ms", false, 0.5, 0, false, 10000,
                            "a number of milliseconds >= 0", &net->equipment_ms)))
            return rc;
        cpn__jpop(&L->j, mark);
    }
    net->transfer_gbps = 10;
    if ((v = json_object_get(root, "transfer"))) {
        mark = cpn__jpush_key(&L->j, "transfer");
        if ((rc = cpn__jobject(&L->j, v, "transfer", tr_keys)) ||
            (rc = cpn__jnum(&L->j, v, "gbps", false, 10, 0, true, 1e9, "a bandwidth in Gbit/s > 0",
                            &net->transfer_gbps)) ||
            (rc = cpn__jnum(&L->j, v, "cny_per_gb", false, 0, 0, false, MONEY_MAX,
                            "a price in CNY per GB >= 0", &cny)))
            return rc;
        cpn__jpop(&L->j, mark);
    }
    net->transfer_ucny_per_gb = llround(cny * (double)CPN_UCNY_PER_CNY);
    return 0;
}

static int parse_hub(struct nload *L, const json_t *o, size_t i)
{
    static const char *const keys[] = { "id", "name", "region", NULL };
    struct cpn_hub *h = &L->net->hubs[i];
    char region[16];
    int rc;
    if ((rc = cpn__jobject(&L->j, o, "hub", keys)) ||
        (rc = cpn__jstr(&L->j, o, "id", true, "", true, h->id, sizeof h->id)) ||
        (rc = cpn__jstr(&L->j, o, "name", false, h->id, false, h->name, sizeof h->name)))
        return rc;
    rc = cpn__jstr(&L->j, o, "region", true, "", false, region, sizeof region);
    if (rc == 0 && strcasecmp(region, "east") == 0) {
        h->region = CPN_REGION_EAST;
    } else if (rc == 0 && strcasecmp(region, "west") == 0) {
        h->region = CPN_REGION_WEST;
    } else {
        size_t mark = cpn__jpush_key(&L->j, "region");
        const json_t *v = json_object_get(o, "region");
        rc = cpn__jfail(&L->j, CPN_EFIELD, "region", v, "\"east\" or \"west\"");
        cpn__jpop(&L->j, mark);
        return rc;
    }
    return put_id(L, &L->hubs, h->id, i, "hub", "hubs", o);
}

/* "+HH:MM" or "-HH:MM" to minutes east of UTC. */
static int parse_offset(const char *s, int32_t *out)
{
    int sign, h, m;
    if (strlen(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':')
        return -EINVAL;
    for (int k = 1; k < 6; k++)
        if (k != 3 && (s[k] < '0' || s[k] > '9'))
            return -EINVAL;
    sign = s[0] == '-' ? -1 : 1;
    h = (s[1] - '0') * 10 + (s[2] - '0');
    m = (s[4] - '0') * 10 + (s[5] - '0');
    if (h > 14 || m > 59 || h * 60 + m > 14 * 60)
        return -EINVAL;
    *out = sign * (h * 60 + m);
    return 0;
}

static int parse_price(struct nload *L, const json_t *o, struct cpn_zone *z)
{
    static const char expected[] =
        "a price in CNY/kWh >= 0, or an array of 24 such prices by local hour 0..23";
    const json_t *v = json_object_get(o, "price_cny_per_kwh");
    double local[24];
    int32_t shift;
    size_t mark;
    int rc = 0;
    if (!v)
        return cpn__jfail(&L->j, CPN_EFIELD, "price_cny_per_kwh", NULL, "%s", expected);
    mark = cpn__jpush_key(&L->j, "price_cny_per_kwh");
    if (json_is_number(v)) {
        double p = json_number_value(v);
        if (p < 0 || p > MONEY_MAX)
            rc = cpn__jfail(&L->j, CPN_EFIELD, "price_cny_per_kwh", v, "%s", expected);
        for (int h = 0; h < 24; h++)
            local[h] = p;
    } else if (json_is_array(v) && json_array_size(v) == 24) {
        for (size_t h = 0; h < 24 && !rc; h++) {
            const json_t *e = json_array_get(v, h);
            double p = json_number_value(e);
            size_t m2 = cpn__jpush_idx(&L->j, h);
            if (!json_is_number(e) || p < 0 || p > MONEY_MAX)
                rc = cpn__jfail(&L->j, CPN_EFIELD, "price_cny_per_kwh", e,
                                "a price in CNY/kWh >= 0 for local hour %zu", h);
            cpn__jpop(&L->j, m2);
            local[h] = p;
        }
    } else {
        rc = cpn__jfail(&L->j, CPN_EFIELD, "price_cny_per_kwh", v, "%s", expected);
    }
    cpn__jpop(&L->j, mark);
    if (rc)
        return rc;
    /* UTC hour h starts at local hour h + floor(offset / 60). */
    shift = (int32_t)cpn_floordiv(z->utc_offset_min, 60);
    for (int h = 0; h < 24; h++)
        z->price_cny_per_kwh[h] = local[((h + shift) % 24 + 24) % 24];
    return 0;
}

static int parse_zone(struct nload *L, const json_t *o, size_t i)
{
    static const char *const keys[] = { "id",          "grid_gco2_per_kwh",
                                        "green_share", "price_cny_per_kwh",
                                        "utc_offset",  NULL };
    struct cpn_zone *z = &L->net->zones[i];
    char off[16];
    int rc;
    if ((rc = cpn__jobject(&L->j, o, "zone", keys)) ||
        (rc = cpn__jstr(&L->j, o, "id", true, "", true, z->id, sizeof z->id)) ||
        (rc = cpn__jnum(&L->j, o, "grid_gco2_per_kwh", true, 0, 0, false, 1e5,
                        "a carbon intensity in gCO2/kWh >= 0", &z->grid_gco2_per_kwh)) ||
        (rc = cpn__jnum(&L->j, o, "green_share", true, 0, 0, false, 1, "a share between 0 and 1",
                        &z->green_share)) ||
        (rc = cpn__jstr(&L->j, o, "utc_offset", false, "+08:00", false, off, sizeof off)))
        return rc;
    if (parse_offset(off, &z->utc_offset_min)) {
        size_t mark = cpn__jpush_key(&L->j, "utc_offset");
        rc = cpn__jfail(&L->j, CPN_EFIELD, "utc_offset", json_object_get(o, "utc_offset"),
                        "an offset \"+HH:MM\" or \"-HH:MM\" within 14 hours, e.g. \"+08:00\"");
        cpn__jpop(&L->j, mark);
        return rc;
    }
    if ((rc = parse_price(L, o, z)))
        return rc;
    return put_id(L, &L->zones, z->id, i, "zone", "zones", o);
}

static int parse_units(struct nload *L, const json_t *o, int64_t *out)
{
    static const char expected[] = "an integer >= 1 or \"unlimited\"";
    const json_t *v = json_object_get(o, "units");
    size_t mark;
    int rc = 0;
    if (!v)
        return cpn__jfail(&L->j, CPN_EFIELD, "units", NULL, "%s", expected);
    mark = cpn__jpush_key(&L->j, "units");
    if (json_is_string(v) && strcmp(json_string_value(v), "unlimited") == 0) {
        *out = CPN_UNLIMITED;
    } else if (json_is_integer(v) && json_integer_value(v) >= 1 &&
               json_integer_value(v) < CPN_UNLIMITED) {
        *out = (int64_t)json_integer_value(v);
    } else if (json_is_real(v) && json_real_value(v) >= 1 && json_real_value(v) <= 0x1p53 &&
               floor(json_real_value(v)) == json_real_value(v)) {
        *out = (int64_t)json_real_value(v);
    } else {
        rc = cpn__jfail(&L->j, CPN_EFIELD, "units", v, "%s", expected);
    }
    cpn__jpop(&L->j, mark);
    return rc;
}

static int parse_pool(struct nload *L, const json_t *o, int32_t c, size_t pi)
{
    static const char *const keys[] = { "id",         "class",   "device",
                                        "units",      "tflops",  "watts_idle",
                                        "watts_busy", "mem_gib", "price_cny_per_unit_hour",
                                        NULL };
    struct cpn_network *net = L->net;
    struct cpn_pool *p = &net->pools[pi];
    const struct cpn_cluster *cl = &net->clusters[c];
    char cls[16], busy_form[96];
    double price;
    enum cpn_class k;
    int rc;
    p->cluster = c;
    if ((rc = cpn__jobject(&L->j, o, "pool", keys)) ||
        (rc = cpn__jstr(&L->j, o, "id", true, "", true, p->id, sizeof p->id)))
        return rc;
    for (size_t q = (size_t)cl->pool_first; q < pi; q++) {
        if (strcmp(net->pools[q].id, p->id) == 0) {
            size_t mark = cpn__jpush_key(&L->j, "id");
            rc = cpn__jfail(&L->j, CPN_EFIELD, "id", json_object_get(o, "id"),
                            "a pool id not used before in cluster \"%s\" (pool %zu has it)", cl->id,
                            q - (size_t)cl->pool_first);
            cpn__jpop(&L->j, mark);
            return rc;
        }
    }
    if ((rc = cpn__jstr(&L->j, o, "class", true, "", false, cls, sizeof cls)) == 0 &&
        cpn_class_parse(cls, &k) != 0) {
        size_t mark = cpn__jpush_key(&L->j, "class");
        rc = cpn__jfail(&L->j, CPN_EFIELD, "class", json_object_get(o, "class"),
                        "\"general\", \"intelligent\" or \"super\"");
        cpn__jpop(&L->j, mark);
    }
    if (rc)
        return rc;
    p->cls = k;
    if ((rc = cpn__jstr(&L->j, o, "device", false, "", false, p->device, sizeof p->device)) ||
        (rc = parse_units(L, o, &p->units)) ||
        (rc = cpn__jnum(&L->j, o, "tflops", true, 0, 0, true, 1e9, "a peak TFLOPS per unit > 0",
                        &p->tflops_per_unit)) ||
        (rc = cpn__jnum(&L->j, o, "watts_idle", true, 0, 0, false, 1e9,
                        "a power per unit in W >= 0", &p->watts_idle)))
        return rc;
    snprintf(busy_form, sizeof busy_form, "a power per unit in W >= watts_idle (%g)",
             p->watts_idle);
    if ((rc = cpn__jnum(&L->j, o, "watts_busy", true, 0, p->watts_idle, false, 1e9, busy_form,
                        &p->watts_busy)) ||
        (rc = cpn__jnum(&L->j, o, "mem_gib", false, 0, 0, false, 1e9,
                        "a memory per unit in GiB >= 0", &p->mem_gib_per_unit)) ||
        (rc = cpn__jnum(&L->j, o, "price_cny_per_unit_hour", true, 0, 0, false, MONEY_MAX,
                        "a price in CNY per unit-hour >= 0", &price)))
        return rc;
    p->price_ucny_per_unit_h = llround(price * (double)CPN_UCNY_PER_CNY);
    return 0;
}

static int parse_cluster(struct nload *L, const json_t *o, size_t i, size_t *pool_next)
{
    static const char *const keys[] = { "id",  "name", "hub", "zone",         "province", "owner",
                                        "lon", "lat",  "pue", "power_cap_kw", "pools",    NULL };
    struct cpn_cluster *c = &L->net->clusters[i];
    const json_t *pools;
    int rc;
    if ((rc = cpn__jobject(&L->j, o, "cluster", keys)) ||
        (rc = cpn__jstr(&L->j, o, "id", true, "", true, c->id, sizeof c->id)) ||
        (rc = put_id(L, &L->clusters, c->id, i, "cluster", "clusters", o)) ||
        (rc = cpn__jstr(&L->j, o, "name", false, c->id, false, c->name, sizeof c->name)) ||
        (rc = ref(L, o, "hub", &L->hubs, "hubs", &c->hub)) ||
        (rc = ref(L, o, "zone", &L->zones, "zones", &c->zone)) ||
        (rc = cpn__jstr(&L->j, o, "province", false, "", false, c->province, sizeof c->province)) ||
        (rc = cpn__jstr(&L->j, o, "owner", false, "", false, c->owner, sizeof c->owner)) ||
        (rc = cpn__jnum(&L->j, o, "lon", true, 0, -180, false, 180,
                        "a longitude in degrees between -180 and 180", &c->lon)) ||
        (rc = cpn__jnum(&L->j, o, "lat", true, 0, -90, false, 90,
                        "a latitude in degrees between -90 and 90", &c->lat)) ||
        (rc = cpn__jnum(&L->j, o, "pue", true, 0, 1, false, 10, "a PUE >= 1", &c->pue)) ||
        (rc = cpn__jnum(&L->j, o, "power_cap_kw", false, 0, 0, false, 1e12,
                        "a power in kW >= 0 (0 = no cap)", &c->power_cap_kw)) ||
        (rc = items(L, o, "pools", true, MAX_POOLS, &pools)))
        return rc;
    c->pool_first = (int32_t)*pool_next;
    c->pool_count = (int32_t)json_array_size(pools);
    {
        size_t m1 = cpn__jpush_key(&L->j, "pools");
        for (size_t k = 0; k < json_array_size(pools); k++) {
            size_t m2 = cpn__jpush_idx(&L->j, k);
            if ((rc = parse_pool(L, json_array_get(pools, k), (int32_t)i, *pool_next + k)))
                return rc;
            cpn__jpop(&L->j, m2);
        }
        cpn__jpop(&L->j, m1);
    }
    *pool_next += json_array_size(pools);
    return 0;
}

static int parse_site(struct nload *L, const json_t *o, size_t i)
{
    static const char *const keys[] = { "id", "name", "lon", "lat", NULL };
    struct cpn_site *s = &L->net->sites[i];
    int rc;
    if ((rc = cpn__jobject(&L->j, o, "site", keys)) ||
        (rc = cpn__jstr(&L->j, o, "id", true, "", true, s->id, sizeof s->id)) ||
        (rc = cpn__jstr(&L->j, o, "name", false, s->id, false, s->name, sizeof s->name)) ||
        (rc = cpn__jnum(&L->j, o, "lon", true, 0, -180, false, 180,
                        "a longitude in degrees between -180 and 180", &s->lon)) ||
        (rc = cpn__jnum(&L->j, o, "lat", true, 0, -90, false, 90,
                        "a latitude in degrees between -90 and 90", &s->lat)))
        return rc;
    return put_id(L, &L->sites, s->id, i, "site", "sites", o);
}

static int parse_delay(struct nload *L, const json_t *o, unsigned char *seen)
{
    static const char *const keys[] = { "site", "cluster", "rtt_ms", NULL };
    struct cpn_network *net = L->net;
    int32_t s, c;
    double rtt;
    size_t cell;
    int rc;
    if ((rc = cpn__jobject(&L->j, o, "delay", keys)) ||
        (rc = ref(L, o, "site", &L->sites, "sites", &s)) ||
        (rc = ref(L, o, "cluster", &L->clusters, "clusters", &c)) ||
        (rc = cpn__jnum(&L->j, o, "rtt_ms", true, 0, 0, false, 1e6, "a round-trip time in ms >= 0",
                        &rtt)))
        return rc;
    cell = (size_t)s * net->nclusters + (size_t)c;
    if (seen[cell / 8] & (1u << (cell % 8))) {
        size_t mark = cpn__jpush_key(&L->j, "cluster");
        rc = cpn__jfail(&L->j, CPN_EFIELD, "cluster", json_object_get(o, "cluster"),
                        "one delay per site and cluster (site \"%s\" already has one)",
                        net->sites[s].id);
        cpn__jpop(&L->j, mark);
        return rc;
    }
    seen[cell / 8] |= (unsigned char)(1u << (cell % 8));
    net->rtt_ms[cell] = rtt;
    return 0;
}

static int parse_outage(struct nload *L, const json_t *o, size_t i)
{
    static const char *const keys[] = { "cluster", "start", "end", NULL };
    struct cpn_outage *u = &L->net->outages[i];
    int rc;
    if ((rc = cpn__jobject(&L->j, o, "outage", keys)) ||
        (rc = ref(L, o, "cluster", &L->clusters, "clusters", &u->cluster)) ||
        (rc = cpn__jtime(&L->j, o, "start", &u->start_s)) ||
        (rc = cpn__jtime(&L->j, o, "end", &u->end_s)))
        return rc;
    if (u->end_s <= u->start_s) {
        size_t mark = cpn__jpush_key(&L->j, "end");
        rc = cpn__jfail(&L->j, CPN_EFIELD, "end", json_object_get(o, "end"), "a time after start");
        cpn__jpop(&L->j, mark);
    }
    return rc;
}

typedef int (*item_fn)(struct nload *L, const json_t *o, size_t i);

/* Calls fn for each element of arr (under key), keeping the pointer up to date. */
static int each(struct nload *L, const json_t *arr, const char *key, item_fn fn)
{
    size_t m1 = cpn__jpush_key(&L->j, key);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        size_t m2 = cpn__jpush_idx(&L->j, i);
        int rc = fn(L, json_array_get(arr, i), i);
        if (rc)
            return rc;
        cpn__jpop(&L->j, m2);
    }
    cpn__jpop(&L->j, m1);
    return 0;
}

static int nomem(struct nload *L)
{
    return cpn_errorf(L->j.err, -ENOMEM, "%s: out of memory", L->j.file);
}

static int parse_network(struct nload *L, const json_t *root)
{
    static const char *const keys[] = { "name",   "slot_minutes", "latency",  "transfer",
                                        "hubs",   "zones",        "clusters", "sites",
                                        "delays", "outages",      NULL };
    struct cpn_network *net = L->net;
    const json_t *hubs, *zones, *clusters, *sites, *delays, *outages;
    size_t npools = 0, pool_next = 0;
    int rc;
    if ((rc = cpn__jobject(&L->j, root, "network", keys)) ||
        (rc = cpn__jstr(&L->j, root, "name", true, "", false, net->name, sizeof net->name)) ||
        (rc = parse_settings(L, root)) || (rc = items(L, root, "hubs", true, MAX_HUBS, &hubs)) ||
        (rc = items(L, root, "zones", true, MAX_ITEMS, &zones)) ||
        (rc = items(L, root, "clusters", true, MAX_ITEMS, &clusters)) ||
        (rc = items(L, root, "sites", true, MAX_ITEMS, &sites)) ||
        (rc = items(L, root, "delays", false, MAX_RTT_CELLS, &delays)) ||
        (rc = items(L, root, "outages", false, MAX_POOLS, &outages)))
        return rc;
    if (json_array_size(sites) * json_array_size(clusters) > MAX_RTT_CELLS)
        return cpn_errorf(
            L->j.err, CPN_ELIMIT, "%s: /sites: %zu sites x %zu clusters: expected at most %u pairs",
            L->j.file, json_array_size(sites), json_array_size(clusters), MAX_RTT_CELLS);
    for (size_t i = 0; i < json_array_size(clusters); i++) {
        const json_t *p = json_object_get(json_array_get(clusters, i), "pools");
        npools += json_is_array(p) ? json_array_size(p) : 0;
    }
    if (npools > MAX_POOLS)
        return cpn_errorf(L->j.err, CPN_ELIMIT, "%s: /clusters: %zu pools: expected at most %u",
                          L->j.file, npools, MAX_POOLS);
    net->nhubs = json_array_size(hubs);
    net->nzones = json_array_size(zones);
    net->nclusters = json_array_size(clusters);
    net->npools = npools;
    net->nsites = json_array_size(sites);
    net->noutages = json_array_size(outages);
    net->hubs = cpn_calloc(net->nhubs, sizeof *net->hubs);
    net->zones = cpn_calloc(net->nzones, sizeof *net->zones);
    net->clusters = cpn_calloc(net->nclusters, sizeof *net->clusters);
    net->pools = cpn_calloc(npools, sizeof *net->pools);
    net->sites = cpn_calloc(net->nsites, sizeof *net->sites);
    net->outages = cpn_calloc(net->noutages, sizeof *net->outages);
    net->rtt_ms = cpn_calloc(net->nsites * net->nclusters, sizeof *net->rtt_ms);
    if (!net->hubs || !net->zones || !net->clusters || !net->pools || !net->sites ||
        !net->outages || !net->rtt_ms)
        return nomem(L);
    if ((rc = each(L, hubs, "hubs", parse_hub)) || (rc = each(L, zones, "zones", parse_zone)))
        return rc;
    {
        size_t m1 = cpn__jpush_key(&L->j, "clusters");
        for (size_t i = 0; i < net->nclusters; i++) {
            size_t m2 = cpn__jpush_idx(&L->j, i);
            if ((rc = parse_cluster(L, json_array_get(clusters, i), i, &pool_next)))
                return rc;
            cpn__jpop(&L->j, m2);
        }
        cpn__jpop(&L->j, m1);
    }
    if ((rc = each(L, sites, "sites", parse_site)))
        return rc;
    for (size_t s = 0; s < net->nsites; s++)
        for (size_t c = 0; c < net->nclusters; c++)
            net->rtt_ms[s * net->nclusters + c] = cpn_network_model_rtt_ms(
                net, cpn_geo_km(net->sites[s].lon, net->sites[s].lat, net->clusters[c].lon,
                                net->clusters[c].lat));
    if (delays && json_array_size(delays)) {
        unsigned char *seen = cpn_calloc(net->nsites * net->nclusters / 8 + 1, 1);
        size_t m1;
        if (!seen)
            return nomem(L);
        m1 = cpn__jpush_key(&L->j, "delays");
        for (size_t i = 0; i < json_array_size(delays) && !rc; i++) {
            size_t m2 = cpn__jpush_idx(&L->j, i);
            rc = parse_delay(L, json_array_get(delays, i), seen);
            if (!rc)
                cpn__jpop(&L->j, m2);
        }
        cpn_free(seen);
        if (rc)
            return rc;
        cpn__jpop(&L->j, m1);
    }
    if (outages && (rc = each(L, outages, "outages", parse_outage)))
        return rc;
    return 0;
}

void cpn_network_destroy(struct cpn_network *net)
{
    if (!net)
        return;
    cpn_free(net->hubs);
    cpn_free(net->zones);
    cpn_free(net->clusters);
    cpn_free(net->pools);
    cpn_free(net->sites);
    cpn_free(net->outages);
    cpn_free(net->rtt_ms);
    cpn_free(net);
}

int cpn_network_parse(
    const char *json, size_t len, const char *name, struct cpn_network **out, struct cpn_error *err)
{
    struct nload L;
    json_t *root = NULL;
    int rc;
    memset(&L, 0, sizeof L);
    cpn__jinit(&L.j, name, err);
    if ((rc = cpn__jload(&L.j, json, len, &root)))
        return rc;
    L.net = cpn_calloc(1, sizeof *L.net);
    if (!L.net) {
        json_decref(root);
        return nomem(&L);
    }
    rc = parse_network(&L, root);
    json_decref(root);
    cpn_strmap_free(&L.hubs);
    cpn_strmap_free(&L.zones);
    cpn_strmap_free(&L.clusters);
    cpn_strmap_free(&L.sites);
    if (rc) {
        cpn_network_destroy(L.net);
        return rc;
    }
    *out = L.net;
    return 0;
}

int cpn_network_load(const char *path, struct cpn_network **out, struct cpn_error *err)
{
    struct cpn_buf b = { 0 };
    int rc;
    b.limit = CPN__JSON_MAX_BYTES;
    rc = cpn_buf_read_file(&b, path, err);
    if (!rc)
        rc = cpn_network_parse(b.data, b.len, path, out, err);
    cpn_buf_free(&b);
    return rc;
}
