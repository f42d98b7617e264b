/* SPDX-License-Identifier: Apache-2.0 */
/* Writing a network back in the loader's JSON format, and id lookups. Numbers are written with the
 * fewest digits that read back exactly, money as exact decimal CNY from the integer micro-yuan, and
 * only the delays that differ from the distance model, so load -> write -> load gives the same
 * network. Lookups scan the arrays: networks hold tens to thousands of objects and the loaders that
 * resolve many ids build their own hash maps. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "model/model_int.h"

static int32_t find(const void *base, size_t n, size_t stride, const char *id)
{
    const char *p = base;
    if (!id)
        return -1;
    for (size_t i = 0; i < n; i++, p += stride)
        if (strcmp(p, id) == 0) /* every model struct starts with its id */
            return (int32_t)i;
    return -1;
}

int32_t cpn_network_hub(const struct cpn_network *net, const char *id)
{
    return find(net->hubs, net->nhubs, sizeof *net->hubs, id);
}

int32_t cpn_network_zone(const struct cpn_network *net, const char *id)
{
    return find(net->zones, net->nzones, sizeof *net->zones, id);
}

int32_t cpn_network_cluster(const struct cpn_network *net, const char *id)
{
    return find(net->clusters, net->nclusters, sizeof *net->clusters, id);
}

int32_t cpn_network_site(const struct cpn_network *net, const char *id)
{
    return find(net->sites, net->nsites, sizeof *net->sites, id);
}

/* Appends ", \"key\": " and a number / string / money value. */
static int kv_num_sep(struct cpn_buf *b, const char *sep, const char *key, double v)
{
    char num[40];
    cpn__fmt_double(v, num, sizeof num);
    return cpn_buf_printf(b, "%s\"%s\": %s", sep, key, num);
}

static int kv_num(struct cpn_buf *b, const char *key, double v)
{
    return kv_num_sep(b, ", ", key, v);
}

static int kv_str(struct cpn_buf *b, const char *sep, const char *key, const char *v)
{
    int rc = cpn_buf_printf(b, "%s\"%s\": ", sep, key);
    return rc ? rc : cpn__json_str(b, v);
}

static int kv_money(struct cpn_buf *b, const char *key, int64_t ucny)
{
    unsigned long long a = ucny < 0 ? 0ull - (unsigned long long)ucny : (unsigned long long)ucny;
    char frac[8];
    int n;
    snprintf(frac, sizeof frac, "%06llu", a % 1000000ull);
    for (n = 6; n > 0 && frac[n - 1] == '0'; n--)
        frac[n - 1] = '\0';
    return cpn_buf_printf(b, ", \"%s\": %s%llu%s%s", key, ucny < 0 ? "-" : "", a / 1000000ull,
                          n ? "." : "", frac);
}

static int write_zone(struct cpn_buf *b, const struct cpn_zone *z)
{
    int32_t off = z->utc_offset_min, shift = (int32_t)cpn_floordiv(off, 60);
    bool flat = true;
    int rc;
    for (int h = 1; h < 24; h++)
        flat = flat && z->price_cny_per_kwh[h] == z->price_cny_per_kwh[0];
    if ((rc = kv_str(b, "    {", "id", z->id)) ||
        (rc = kv_num(b, "grid_gco2_per_kwh", z->grid_gco2_per_kwh)) ||
        (rc = kv_num(b, "green_share", z->green_share)))
        return rc;
    if (flat) {
        rc = kv_num(b, "price_cny_per_kwh", z->price_cny_per_kwh[0]);
    } else {
        rc = cpn_buf_puts(b, ", \"price_cny_per_kwh\": [");
        for (int l = 0; l < 24 && !rc; l++) { /* local hour l is UTC hour l - shift */
            char num[40];
            cpn__fmt_double(z->price_cny_per_kwh[((l - shift) % 24 + 24) % 24], num, sizeof num);
            rc = cpn_buf_printf(b, "%s%s", l ? ", " : "", num);
        }
        if (!rc)
            rc = cpn_buf_puts(b, "]");
    }
    if (!rc)
        rc = cpn_buf_printf(b, ", \"utc_offset\": \"%c%02d:%02d\"}", off < 0 ? '-' : '+',
                            (off < 0 ? -off : off) / 60, (off < 0 ? -off : off) % 60);
    return rc;
}

static int
write_cluster(struct cpn_buf *b, const struct cpn_network *net, const struct cpn_cluster *c)
{
    int rc;
    if ((rc = kv_str(b, "    {", "id", c->id)) || (rc = kv_str(b, ", ", "name", c->name)) ||
        (rc = kv_str(b, ", ", "hub", net->hubs[c->hub].id)) ||
        (rc = kv_str(b, ", ", "zone", net->zones[c->zone].id)))
        return rc;
    if (c->province[0] && (rc = kv_str(b, ", ", "province", c->province)))
        return rc;
    if (c->owner[0] && (rc = kv_str(b, ", ", "owner", c->owner)))
        return rc;
    if ((rc = cpn_buf_puts(b, ",\n     ")) || (rc = kv_num_sep(b, "", "lon", c->lon)) ||
        (rc = kv_num(b, "lat", c->lat)) || (rc = kv_num(b, "pue", c->pue)))
        return rc;
    if (c->power_cap_kw > 0 && (rc = kv_num(b, "power_cap_kw", c->power_cap_kw)))
        return rc;
    if ((rc = cpn_buf_puts(b, ",\n     \"pools\": [")))
        return rc;
    for (int32_t k = 0; k < c->pool_count; k++) {
        const struct cpn_pool *p = &net->pools[c->pool_first + k];
        if ((rc = kv_str(b, k ? ",\n       {" : "\n       {", "id", p->id)) ||
            (rc = kv_str(b, ", ", "class", cpn_class_name(p->cls))))
            return rc;
        if (p->device[0] && (rc = kv_str(b, ", ", "device", p->device)))
            return rc;
        if (p->units == CPN_UNLIMITED)
            rc = cpn_buf_puts(b, ", \"units\": \"unlimited\"");
        else
            rc = cpn_buf_printf(b, ", \"units\": %lld", (long long)p->units);
        if (rc || (rc = kv_num(b, "tflops", p->tflops_per_unit)) ||
            (rc = kv_num(b, "watts_idle", p->watts_idle)) ||
            (rc = kv_num(b, "watts_busy", p->watts_busy)) ||
            (rc = kv_num(b, "mem_gib", p->mem_gib_per_unit)) ||
            (rc = kv_money(b, "price_cny_per_unit_hour", p->price_ucny_per_unit_h)) ||
            (rc = cpn_buf_puts(b, "}")))
            return rc;
    }
    return cpn_buf_puts(b, "]}");
}

static int write_json(struct cpn_buf *b, const struct cpn_network *net)
{
    bool first;
    int rc;
    if ((rc = kv_str(b, "{\n  ", "name", net->name)) ||
        (rc = cpn_buf_printf(b, ",\n  \"slot_minutes\": %lld,\n  \"latency\": {",
                             (long long)(net->slot_s / 60))) ||
        (rc = kv_num_sep(b, "", "route_factor", net->route_factor)) ||
        (rc = kv_num(b, "fibre_us_per_km", net->fibre_us_per_km)) ||
        (rc = kv_num(b, "equipment_ms", net->equipment_ms)) ||
        (rc = cpn_buf_puts(b, "},\n  \"transfer\": {")) ||
        (rc = kv_num_sep(b, "", "gbps", net->transfer_gbps)) ||
        (rc = kv_money(b, "cny_per_gb", net->transfer_ucny_per_gb)) ||
        (rc = cpn_buf_puts(b, "},\n  \"hubs\": [\n")))
        return rc;
    for (size_t i = 0; i < net->nhubs; i++) {
        const struct cpn_hub *h = &net->hubs[i];
        if ((rc = kv_str(b, i ? ",\n    {" : "    {", "id", h->id)) ||
            (rc = kv_str(b, ", ", "name", h->name)) ||
            (rc = cpn_buf_printf(b, ", \"region\": \"%s\"}",
                                 h->region == CPN_REGION_WEST ? "west" : "east")))
            return rc;
    }
    if ((rc = cpn_buf_puts(b, "\n  ],\n  \"zones\": [\n")))
        return rc;
    for (size_t i = 0; i < net->nzones; i++)
        if ((i && (rc = cpn_buf_puts(b, ",\n"))) || (rc = write_zone(b, &net->zones[i])))
            return rc;
    if ((rc = cpn_buf_puts(b, "\n  ],\n  \"clusters\": [\n")))
        return rc;
    for (size_t i = 0; i < net->nclusters; i++)
        if ((i && (rc = cpn_buf_puts(b, ",\n"))) || (rc = write_cluster(b, net, &net->clusters[i])))
            return rc;
    if ((rc = cpn_buf_puts(b, "\n  ],\n  \"sites\": [\n")))
        return rc;
    for (size_t i = 0; i < net->nsites; i++) {
        const struct cpn_site *s = &net->sites[i];
        if ((rc = kv_str(b, i ? ",\n    {" : "    {", "id", s->id)) ||
            (rc = kv_str(b, ", ", "name", s->name)) || (rc = kv_num(b, "lon", s->lon)) ||
            (rc = kv_num(b, "lat", s->lat)) || (rc = cpn_buf_puts(b, "}")))
            return rc;
    }
    if ((rc = cpn_buf_puts(b, "\n  ],\n  \"delays\": [")))
        return rc;
    first = true;
    for (size_t s = 0; s < net->nsites; s++) {
        for (size_t c = 0; c < net->nclusters; c++) {
            const struct cpn_site *st = &net->sites[s];
            const struct cpn_cluster *cl = &net->clusters[c];
            double rtt = cpn_network_rtt(net, (int32_t)s, (int32_t)c);
            if (rtt ==
                cpn_network_model_rtt_ms(net, cpn_geo_km(st->lon, st->lat, cl->lon, cl->lat)))
                continue;
            if ((rc = kv_str(b, first ? "\n    {" : ",\n    {", "site", st->id)) ||
                (rc = kv_str(b, ", ", "cluster", cl->id)) || (rc = kv_num(b, "rtt_ms", rtt)) ||
                (rc = cpn_buf_puts(b, "}")))
                return rc;
            first = false;
        }
    }
    if ((rc = cpn_buf_puts(b, first ? "],\n  \"outages\": [" : "\n  ],\n  \"outages\": [")))
        return rc;
    for (size_t i = 0; i < net->noutages; i++) {
        const struct cpn_outage *u = &net->outages[i];
        char t1[CPN_TIME_STRLEN], t2[CPN_TIME_STRLEN];
        cpn_time_format(u->start_s, t1);
        cpn_time_format(u->end_s, t2);
        if ((rc = kv_str(b, i ? ",\n    {" : "\n    {", "cluster", net->clusters[u->cluster].id)) ||
            (rc = cpn_buf_printf(b, ", \"start\": \"%s\", \"end\": \"%s\"}", t1, t2)))
            return rc;
    }
    return cpn_buf_puts(b, net->noutages ? "\n  ]\n}\n" : "]\n}\n");
}

int cpn_network_write(const struct cpn_network *net, const char *path, struct cpn_error *err)
{
    struct cpn_buf b = { 0 };
    FILE *f;
    int rc;
    if (net->slot_s <= 0 || net->slot_s % 60 != 0)
        return cpn_errorf(err, -EINVAL, "%s: slot length %lld s: expected whole minutes", path,
                          (long long)net->slot_s);
    rc = write_json(&b, net);
    if (rc) {
        cpn_buf_free(&b);
        return cpn_errorf(err, rc, "%s: %s", path, cpn_strerror(rc));
    }
    f = fopen(path, "wb");
    if (!f) {
        rc = -errno;
        cpn_buf_free(&b);
        return cpn_errorf(err, rc, "%s: cannot create: %s", path, cpn_strerror(rc));
    }
    if (fwrite(b.data, 1, b.len, f) != b.len)
        rc = -EIO;
    if (fclose(f) != 0 && !rc)
        rc = -errno;
    cpn_buf_free(&b);
    if (rc)
        return cpn_errorf(err, rc, "%s: write failed: %s", path, cpn_strerror(rc));
    return 0;
}
