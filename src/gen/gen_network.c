/* SPDX-License-Identifier: Apache-2.0 */
/* K-times larger networks for scale tests: every cluster gets K - 1 copies "<id>-<k>" in the same
 * hub with jittered coordinates, its own copy of the energy zone and the same pools. The copy is
 * made on the JSON document itself (jansson), so every field the input has, including source and
 * note strings, time-of-use tables by local hour and measured delays, passes through unchanged,
 * and the result is checked by the real loader before it is returned. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen_int.h"

void cpn_gen_scale_defaults(struct cpn_gen_scale_opts *o)
{
    memset(o, 0, sizeof *o);
    o->scale = 1;
    o->seed = 1;
    o->jitter_deg = 0.5;
}

/* Cuts s to at most max bytes without splitting a UTF-8 sequence. */
static void utf8_cut(char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    s[n] = '\0';
}

static int set_str(json_t *o, const char *key, const char *v)
{
    return json_object_set_new(o, key, json_string(v)) ? -ENOMEM : 0;
}

static double round3(double v)
{
    return floor(v * 1000 + 0.5) / 1000;
}

/* The id "<id>-<k>"; CPN_ELIMIT when it would not be a valid id. */
static int copy_id(const char *id, int k, char *out, size_t size)
{
    int n = snprintf(out, size, "%s-%d", id, k);
    return n < 0 || (size_t)n >= size ? CPN_ELIMIT : 0;
}

static int copy_zone(json_t *zones_out, const json_t *zone, int k, const char *note)
{
    json_t *z = json_deep_copy(zone);
    char id[CPN_ID_MAX];
    if (!z)
        return -ENOMEM;
    if (copy_id(json_string_value(json_object_get(zone, "id")), k, id, sizeof id)) {
        json_decref(z);
        return CPN_ELIMIT;
    }
    if (set_str(z, "id", id) || set_str(z, "note", note) || json_array_append_new(zones_out, z))
        return -ENOMEM;
    return 0;
}

static int copy_cluster(json_t *clusters_out,
                        const json_t *cl,
                        int k,
                        struct cpn_rng *rng,
                        double jitter,
                        const char *note)
{
    json_t *c = json_deep_copy(cl);
    char id[CPN_ID_MAX], zone[CPN_ID_MAX], name[CPN_NAME_MAX + 16];
    const char *nm = json_string_value(json_object_get(cl, "name"));
    double lon = json_number_value(json_object_get(cl, "lon"));
    double lat = json_number_value(json_object_get(cl, "lat"));
    if (!c)
        return -ENOMEM;
    if (copy_id(json_string_value(json_object_get(cl, "id")), k, id, sizeof id) ||
        copy_id(json_string_value(json_object_get(cl, "zone")), k, zone, sizeof zone)) {
        json_decref(c);
        return CPN_ELIMIT;
    }
    snprintf(name, sizeof name, "%s #%d", nm ? nm : id, k);
    utf8_cut(name, CPN_NAME_MAX - 1);
    lon += (2 * cpn_rng_uniform(rng) - 1) * jitter;
    lat += (2 * cpn_rng_uniform(rng) - 1) * jitter;
    if (lon > 180)
        lon -= 360;
    if (lon < -180)
        lon += 360;
    lat = lat > 90 ? 90 : lat < -90 ? -90 : lat;
    if (set_str(c, "id", id) || set_str(c, "name", name) || set_str(c, "zone", zone) ||
        json_object_set_new(c, "lon", json_real(round3(lon))) ||
        json_object_set_new(c, "lat", json_real(round3(lat))) || set_str(c, "note", note) ||
        json_array_append_new(clusters_out, c))
        return -ENOMEM;
    return 0;
}

/* Builds the scaled document in root (which it owns and changes). */
static int
scale_doc(json_t *root, const struct cpn_gen_scale_opts *o, const char *name, struct cpn_error *err)
{
    json_t *clusters = json_object_get(root, "clusters"), *zones = json_object_get(root, "zones");
    json_t *zones_out = json_array(), *clusters_out = json_array();
    struct cpn_rng rng;
    char note[160], netname[CPN_NAME_MAX + 24];
    const char *oldname = json_string_value(json_object_get(root, "name"));
    int rc = 0;
    size_t nz = json_array_size(zones), nc = json_array_size(clusters);
    cpn_rng_seed(&rng, o->seed);
    if (!zones_out || !clusters_out) {
        json_decref(zones_out);
        json_decref(clusters_out);
        return cpn_errorf(err, -ENOMEM, "%s: out of memory", name);
    }
    for (size_t i = 0; i < nz && !rc; i++)
        rc = json_array_append(zones_out, json_array_get(zones, i)) ? -ENOMEM : 0;
    for (size_t i = 0; i < nc && !rc; i++)
        rc = json_array_append(clusters_out, json_array_get(clusters, i)) ? -ENOMEM : 0;
    for (int k = 1; k < o->scale && !rc; k++) {
        /* each zone used by a cluster gets one copy per k, shared by that k's cluster copies */
        for (size_t zi = 0; zi < nz && !rc; zi++) {
            const json_t *zone = json_array_get(zones, zi);
            const char *zid = json_string_value(json_object_get(zone, "id"));
            bool used = false;
            for (size_t ci = 0; ci < nc && !used; ci++)
                used =
                    strcmp(json_string_value(json_object_get(json_array_get(clusters, ci), "zone")),
                           zid) == 0;
            if (!used)
                continue;
            snprintf(note, sizeof note, "copy %d of zone %s (cpnet gen network --scale %d)", k, zid,
                     (int)o->scale);
            rc = copy_zone(zones_out, zone, k, note);
        }
        for (size_t ci = 0; ci < nc && !rc; ci++) {
            const json_t *cl = json_array_get(clusters, ci);
            snprintf(note, sizeof note,
                     "copy %d of cluster %s (cpnet gen network --scale %d --seed %llu)", k,
                     json_string_value(json_object_get(cl, "id")), (int)o->scale,
                     (unsigned long long)o->seed);
            rc = copy_cluster(clusters_out, cl, k, &rng, o->jitter_deg, note);
        }
    }
    if (!rc) {
        snprintf(netname, sizeof netname, "%s x%d", oldname ? oldname : "network", (int)o->scale);
        utf8_cut(netname, CPN_NAME_MAX - 1);
        if (json_object_set(root, "zones", zones_out) ||
            json_object_set(root, "clusters", clusters_out) || set_str(root, "name", netname))
            rc = -ENOMEM;
    }
    json_decref(zones_out);
    json_decref(clusters_out);
    if (rc == CPN_ELIMIT)
        return cpn_errorf(err, rc,
                          "%s: a copy's id \"<id>-<k>\" would be longer than %d bytes: expected "
                          "shorter cluster and zone ids or a smaller --scale",
                          name, CPN_ID_MAX - 1);
    if (rc)
        return cpn_errorf(err, rc, "%s: out of memory", name);
    return 0;
}

int cpn_gen_scale_network(const char *json,
                          size_t len,
                          const char *name,
                          const struct cpn_gen_scale_opts *o,
                          char **out,
                          size_t *out_len,
                          struct cpn_error *err)
{
    struct cpn_network *net = NULL;
    json_error_t jerr;
    json_t *root;
    char *text, *copy;
    size_t n;
    int rc;
    if (o->scale < 1 || o->scale > 1000)
        return cpn_errorf(err, CPN_EUSAGE, "scale = %d: expected 1..1000", (int)o->scale);
    if (!(o->jitter_deg >= 0 && o->jitter_deg <= 10))
        return cpn_errorf(err, CPN_EUSAGE, "jitter = %g: expected 0..10 degrees", o->jitter_deg);
    /* The input must be a valid network: the loader's message is the best explanation. */
    if ((rc = cpn_network_parse(json, len, name, &net, err)))
        return rc;
    cpn_network_destroy(net);
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return cpn_errorf(err, CPN_EPARSE, "%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
    if ((rc = scale_doc(root, o, name, err))) {
        json_decref(root);
        return rc;
    }
    text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    json_decref(root);
    if (!text)
        return cpn_errorf(err, -ENOMEM, "%s: out of memory", name);
    n = strlen(text);
    copy = cpn_malloc(n + 2);
    if (!copy) {
        free(text);
        return cpn_errorf(err, -ENOMEM, "%s: out of memory", name);
    }
    memcpy(copy, text, n);
    copy[n] = '\n';
    copy[n + 1] = '\0';
    free(text);
    /* What we hand out must load. */
    if ((rc = cpn_network_parse(copy, n + 1, name, &net, err))) {
        cpn_free(copy);
        return rc;
    }
    cpn_network_destroy(net);
    *out = copy;
    *out_len = n + 1;
    return 0;
}
