/* SPDX-License-Identifier: Apache-2.0 */
/* Signals in the service: upload (CSV in either supported format, or JSON points) and read of
 * actual and forecast series per zone, and the Carbon Aware SDK's two read endpoints over them.
 * An upload is stored as its CSV text (doc "signal", key "<zone>.<kind>.<actual|forecast>"),
 * replaces the series in memory, refreshes the engine's decision series and re-plans. */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "serve_int.h"

static int kind_parse(const char *s, enum cpn_signal_kind *k)
{
    for (int i = 0; i < CPN_SIG_COUNT; i++)
        if (!strcmp(s, cpn_signal_kind_name((enum cpn_signal_kind)i))) {
            *k = (enum cpn_signal_kind)i;
            return 0;
        }
    return -EINVAL;
}

static struct cpn_series *
series_of(struct cpn_server *s, int32_t z, enum cpn_signal_kind k, bool forecast)
{
    return &(forecast ? s->sig->forecast : s->sig->actual)[(size_t)z * CPN_SIG_COUNT + k];
}

static json_t *series_meta(const struct cpn_series *ser)
{
    char a[CPN_TIME_STRLEN], b[CPN_TIME_STRLEN];
    if (!ser->n)
        return json_null();
    cpn_time_format(ser->t0, a);
    cpn_time_format(ser->t0 + (int64_t)ser->n * ser->step_s, b);
    return json_pack("{s:s,s:s,s:I,s:I,s:s}", "start", a, "end", b, "step_s",
                     (json_int_t)ser->step_s, "points", (json_int_t)ser->n, "source", ser->source);
}

void srv_signals_list(struct cpn_server *s, struct srv_cmd *c)
{
    json_t *a = json_array();
    for (size_t z = 0; z < s->net->nzones; z++)
        for (int k = 0; k < CPN_SIG_COUNT; k++) {
            json_t *x = json_object();
            json_object_set_new(x, "zone", json_string(s->net->zones[z].id));
            json_object_set_new(x, "kind",
                                json_string(cpn_signal_kind_name((enum cpn_signal_kind)k)));
            json_object_set_new(
                x, "actual", series_meta(series_of(s, (int32_t)z, (enum cpn_signal_kind)k, false)));
            json_object_set_new(
                x, "forecast",
                series_meta(series_of(s, (int32_t)z, (enum cpn_signal_kind)k, true)));
            json_array_append_new(a, x);
        }
    srv_json(c, 200, json_pack("{s:o}", "signals", a));
}

static int zone_kind(struct cpn_server *s, struct srv_cmd *c, int32_t *z, enum cpn_signal_kind *k)
{
    *z = cpn_network_zone(s->net, c->req->match.params[0]);
    if (*z < 0) {
        srv_problem(c, 404, "zone", "no zone '%s'", c->req->match.params[0]);
        return -1;
    }
    if (kind_parse(c->req->match.params[1], k)) {
        srv_problem(c, 404, "kind", "no signal kind '%s': expected ci, green or price",
                    c->req->match.params[1]);
        return -1;
    }
    return 0;
}

static int query_time(struct srv_cmd *c, const char *key, int64_t *t)
{
    char b[64];
    int rc = cpn_query_get(c->req->query, key, b, sizeof b);
    if (rc <= 0)
        return rc < 0 ? -1 : 0;
    if (cpn_time_parse(b, t)) {
        srv_problem(c, 400, key,
                    "%s is '%s': expected an ISO 8601 time such as "
                    "2025-06-01T00:00:00Z",
                    key, b);
        return -1;
    }
    return 1;
}

static bool query_forecast(struct srv_cmd *c)
{
    char b[16];
    bool f = false;
    if (cpn_query_get(c->req->query, "forecast", b, sizeof b) == 1)
        cpn_parse_bool(b, &f);
    return f;
}

void srv_signal_get(struct cpn_server *s, struct srv_cmd *c)
{
    int32_t z;
    enum cpn_signal_kind k;
    bool forecast;
    int64_t from, to, now = srv_now_s(s), step = s->net->slot_s;
    json_t *pts, *o;
    if (zone_kind(s, c, &z, &k))
        return;
    forecast = query_forecast(c);
    from = cpn_floordiv(now, step) * step;
    to = from + 86400;
    if (query_time(c, "from", &from) < 0 || query_time(c, "to", &to) < 0)
        return;
    if (to <= from || (to - from) / step > 100000) {
        srv_problem(c, 400, "to", "expected from < to and at most 100000 points");
        return;
    }
    pts = json_array();
    for (int64_t t = cpn_floordiv(from, step) * step; t < to; t += step) {
        char b[CPN_TIME_STRLEN];
        cpn_time_format(t, b);
        json_array_append_new(pts, json_pack("{s:s,s:f}", "time", b, "value",
                                             cpn_signals_value(s->sig, s->net, z, k, t, forecast)));
    }
    o = json_pack("{s:s,s:s,s:b,s:I,s:o,s:o}", "zone", s->net->zones[z].id, "kind",
                  cpn_signal_kind_name(k), "forecast", forecast, "step_s", (json_int_t)step,
                  "series", series_meta(series_of(s, z, k, forecast)), "points", pts);
    srv_json(c, 200, o);
}

/* JSON points {"points": [{"time": ..., "value": ...}]} -> generic CSV text. */
static int points_csv(const json_t *body, struct cpn_buf *b, char *why, size_t why_size)
{
    const json_t *pts = json_object_get(body, "points"), *p;
    size_t i;
    if (!json_is_array(pts)) {
        snprintf(why, why_size, "/points: expected an array of {\"time\": ..., \"value\": ...}");
        return -EINVAL;
    }
    if (cpn_buf_puts(b, "time,value\n"))
        return -ENOMEM;
    json_array_foreach(pts, i, p)
    {
        const json_t *t = json_object_get(p, "time"), *v = json_object_get(p, "value");
        int rc;
        if (!(json_is_string(t) || json_is_integer(t)) || !json_is_number(v)) {
            snprintf(why, why_size,
                     "/points/%zu: expected {\"time\": ISO 8601 or seconds, "
                     "\"value\": number}",
                     i);
            return -EINVAL;
        }
        if (json_is_string(t))
            rc = cpn_buf_printf(b, "%s,%.17g\n", json_string_value(t), json_number_value(v));
        else
            rc = cpn_buf_printf(b, "%lld,%.17g\n", (long long)json_integer_value(t),
                                json_number_value(v));
        if (rc)
            return rc;
    }
    return 0;
}

/* Parses text into the series slot for (z, k, forecast); keeps the old one on error. */
static int set_series(struct cpn_server *s,
                      int32_t z,
                      enum cpn_signal_kind k,
                      bool forecast,
                      const char *text,
                      size_t len,
                      struct cpn_error *err)
{
    struct cpn_series ser = { 0 }, *dst = series_of(s, z, k, forecast);
    char name[CPN_ID_MAX + 32];
    int rc;
    snprintf(name, sizeof name, "%s.%s.csv", s->net->zones[z].id, cpn_signal_kind_name(k));
    rc = cpn_series_parse(text, len, name, s->net->slot_s, &ser, err);
    if (rc)
        return rc;
    if (k == CPN_SIG_GREEN)
        for (size_t i = 0; i < ser.n; i++)
            if (ser.v[i] < 0 || ser.v[i] > 1) {
                cpn_series_free(&ser);
                return cpn_errorf(err, CPN_EFIELD,
                                  "%s: green share %g at point %zu: expected a "
                                  "share from 0 to 1",
                                  name, ser.v[i], i);
            }
    cpn_series_free(dst);
    *dst = ser;
    return 0;
}

void srv_signal_put(struct cpn_server *s, struct srv_cmd *c, const struct srv_principal *who)
{
    int32_t z;
    enum cpn_signal_kind k;
    bool forecast;
    struct cpn_buf b = { 0 };
    struct cpn_error err = { 0 };
    const char *text;
    size_t len;
    char key[CPN_ID_MAX + 32];
    if (!srv_is_operator(who)) {
        srv_problem(c, 403, NULL, "only operator tokens may upload signals");
        return;
    }
    if (zone_kind(s, c, &z, &k))
        return;
    forecast = query_forecast(c);
    if (c->body) {
        char why[256];
        int rc = points_csv(c->body, &b, why, sizeof why);
        if (rc) {
            cpn_buf_free(&b);
            srv_problem(c, rc == -ENOMEM ? 500 : 400, "points", "%s",
                        rc == -ENOMEM ? "out of memory" : why);
            return;
        }
        text = b.data;
        len = b.len;
    } else if (c->parse_error[0]) {
        srv_problem(c, 400, "body", "%s", c->parse_error);
        return;
    } else if (c->req->body_len) {
        text = c->req->body;
        len = c->req->body_len;
    } else {
        srv_problem(c, 400, "body",
                    "expected a CSV series (Content-Type: text/csv) or JSON "
                    "{\"points\": [...]}");
        return;
    }
    if (set_series(s, z, k, forecast, text, len, &err)) {
        cpn_buf_free(&b);
        srv_problem(c, 400, "body", "%s", err.msg);
        return;
    }
    snprintf(key, sizeof key, "%s.%s.%s", s->net->zones[z].id, cpn_signal_kind_name(k),
             forecast ? "forecast" : "actual");
    if (cpn_store_doc_put(s->store, "signal", key, srv_now_s(s), text, &err)) {
        cpn_buf_free(&b);
        srv_problem(c, 500, NULL, "the series could not be stored: %s", err.msg);
        return;
    }
    cpn_buf_free(&b);
    if (cpn_engine_refresh_signals(s->eng, &err))
        fprintf(s->log, "cpnet serve: signals: %s\n", err.msg);
    srv_replan(s, "a signal update");
    srv_json(c, 200,
             json_pack("{s:s,s:s,s:b,s:o}", "zone", s->net->zones[z].id, "kind",
                       cpn_signal_kind_name(k), "forecast", forecast, "series",
                       series_meta(series_of(s, z, k, forecast))));
}

struct sig_load {
    struct cpn_server *s;
    struct cpn_error *err;
};

static int load_one(void *ctx, const char *key, int64_t updated_s, const char *text)
{
    struct sig_load *L = ctx;
    char zone[CPN_ID_MAX], kind[16], which[16];
    const char *d1 = strchr(key, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    enum cpn_signal_kind k;
    int32_t z;
    (void)updated_s;
    if (!d1 || !d2 || (size_t)(d1 - key) >= sizeof zone || (size_t)(d2 - d1 - 1) >= sizeof kind)
        return 0;
    snprintf(zone, sizeof zone, "%.*s", (int)(d1 - key), key);
    snprintf(kind, sizeof kind, "%.*s", (int)(d2 - d1 - 1), d1 + 1);
    cpn_strlcpy(which, d2 + 1, sizeof which);
    z = cpn_network_zone(L->s->net, zone);
    if (z < 0 || kind_parse(kind, &k))
        return 0; /* a zone that left the network */
    return set_series(L->s, z, k, !strcmp(which, "forecast"), text, strlen(text), L->err);
}

int srv_signals_load(struct cpn_server *s, struct cpn_error *err)
{
    struct sig_load L = { s, err };
    return cpn_store_docs_each(s->store, "signal", load_one, &L, err);
}

/* ---- Carbon Aware SDK read endpoints
 * --------------------------------------------------------------- Locations are zone ids or cluster
 * ids; ratings are the effective intensity (gCO2eq/kWh) of the zone's supply: actual for
 * bylocations/best, forecast (or actual) for forecasts/current. */

static int32_t location_zone(const struct cpn_server *s, const char *loc)
{
    int32_t z = cpn_network_zone(s->net, loc), c;
    if (z >= 0)
        return z;
    c = cpn_network_cluster(s->net, loc);
    return c >= 0 ? s->net->clusters[c].zone : -1;
}

static void hms(int64_t secs, char *out, size_t n)
{
    snprintf(out, n, "%02lld:%02lld:%02lld", (long long)(secs / 3600), (long long)(secs / 60 % 60),
             (long long)(secs % 60));
}

static json_t *emissions_data(const char *loc, int64_t t, double rating, int64_t dur_s)
{
    char b[CPN_TIME_STRLEN], d[32];
    cpn_time_format(t, b);
    hms(dur_s, d, sizeof d);
    return json_pack("{s:s,s:s,s:f,s:s}", "location", loc, "time", b, "rating", rating, "duration",
                     d);
}

/* The "location" values of the query (repeated key), into locs; returns the count or -1. */
static int
query_locations(struct cpn_server *s, struct srv_cmd *c, char locs[][CPN_ID_MAX], int max)
{
    const char *q = c->req->query;
    int n = 0;
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        char one[CPN_ID_MAX + 16];
        if (len < sizeof one) {
            char v[CPN_ID_MAX];
            memcpy(one, q, len);
            one[len] = '\0';
            if (cpn_query_get(one, "location", v, sizeof v) == 1) {
                if (n == max) {
                    srv_problem(c, 400, "location", "at most %d locations", max);
                    return -1;
                }
                if (location_zone(s, v) < 0) {
                    srv_problem(c, 400, "location",
                                "location '%s': expected a zone or cluster "
                                "id of this platform",
                                v);
                    return -1;
                }
                cpn_strlcpy(locs[n++], v, CPN_ID_MAX);
            }
        }
        q = amp ? amp + 1 : NULL;
    }
    if (n == 0)
        srv_problem(c, 400, "location",
                    "at least one location query parameter is required "
                    "(a zone or cluster id)");
    return n ? n : -1;
}

void srv_cas_best(struct cpn_server *s, struct srv_cmd *c)
{
    char locs[64][CPN_ID_MAX];
    int n = query_locations(s, c, locs, 64);
    int64_t step = s->net->slot_s, now = srv_now_s(s);
    int64_t from = cpn_floordiv(now, step) * step, to;
    double best = INFINITY;
    json_t *a;
    if (n < 0)
        return;
    to = from + step;
    if (query_time(c, "time", &from) < 0 || query_time(c, "toTime", &to) < 0)
        return;
    if (to <= from)
        to = from + step;
    if ((to - from) / step > 100000) {
        srv_problem(c, 400, "toTime", "the range is longer than 100000 slots");
        return;
    }
    for (int i = 0; i < n; i++)
        for (int64_t t = cpn_floordiv(from, step) * step; t < to; t += step) {
            double r =
                cpn_signals_effective_ci(s->sig, s->net, location_zone(s, locs[i]), t, false);
            if (r < best)
                best = r;
        }
    a = json_array();
    for (int i = 0; i < n; i++)
        for (int64_t t = cpn_floordiv(from, step) * step; t < to; t += step) {
            double r =
                cpn_signals_effective_ci(s->sig, s->net, location_zone(s, locs[i]), t, false);
            if (r == best)
                json_array_append_new(a, emissions_data(locs[i], t, r, step));
        }
    srv_json(c, 200, a);
}

void srv_cas_forecast(struct cpn_server *s, struct srv_cmd *c)
{
    char locs[64][CPN_ID_MAX], ws[16] = "";
    int n = query_locations(s, c, locs, 64);
    int64_t step = s->net->slot_s, now = srv_now_s(s), window_min = 0, wslots;
    int64_t from, to;
    char gen[CPN_TIME_STRLEN];
    json_t *a;
    if (n < 0)
        return;
    from = cpn_floordiv(now, step) * step;
    to = from + 86400;
    if (query_time(c, "dataStartAt", &from) < 0 || query_time(c, "dataEndAt", &to) < 0)
        return;
    if (cpn_query_get(c->req->query, "windowSize", ws, sizeof ws) == 1 &&
        (cpn_parse_int64(ws, &window_min) || window_min < 0 || window_min > 7 * 1440)) {
        srv_problem(c, 400, "windowSize", "windowSize is '%s': expected minutes from 0 to 10080",
                    ws);
        return;
    }
    from = cpn_floordiv(from, step) * step;
    if (to <= from || (to - from) / step > 100000) {
        srv_problem(c, 400, "dataEndAt", "expected dataStartAt < dataEndAt, at most 100000 slots");
        return;
    }
    wslots = window_min > 0 ? (window_min * 60 + step - 1) / step : 1;
    cpn_time_format(now, gen);
    a = json_array();
    for (int i = 0; i < n; i++) {
        int32_t z = location_zone(s, locs[i]);
        size_t np = (size_t)((to - from) / step);
        json_t *fd = json_array(), *opt = json_array(), *o;
        double bestavg = INFINITY;
        int64_t bestt = from;
        char a1[CPN_TIME_STRLEN], a2[CPN_TIME_STRLEN];
        for (size_t p = 0; p < np; p++)
            json_array_append_new(
                fd, emissions_data(
                        locs[i], from + (int64_t)p * step,
                        cpn_signals_effective_ci(s->sig, s->net, z, from + (int64_t)p * step, true),
                        step));
        for (size_t p = 0; p + (size_t)wslots <= np; p++) {
            double sum = 0;
            for (int64_t w = 0; w < wslots; w++)
                sum += cpn_signals_effective_ci(s->sig, s->net, z, from + ((int64_t)p + w) * step,
                                                true);
            if (sum / (double)wslots < bestavg) {
                bestavg = sum / (double)wslots;
                bestt = from + (int64_t)p * step;
            }
        }
        if (isfinite(bestavg))
            json_array_append_new(opt, emissions_data(locs[i], bestt, bestavg, wslots * step));
        cpn_time_format(from, a1);
        cpn_time_format(to, a2);
        o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:o,s:o}", "generatedAt", gen, "requestedAt", gen,
                      "location", locs[i], "dataStartAt", a1, "dataEndAt", a2, "windowSize",
                      (json_int_t)window_min, "optimalDataPoints", opt, "forecastData", fd);
        json_array_append_new(a, o);
    }
    srv_json(c, 200, a);
}

int srv_signals_import_dir(struct cpn_server *s, const char *dir, struct cpn_error *err)
{
    size_t loaded = 0;
    int rc;
    if ((rc = cpn_store_begin(s->store, err)))
        return rc;
    for (size_t z = 0; z < s->net->nzones; z++)
        for (int k = 0; k < CPN_SIG_COUNT; k++) {
            char path[4096], key[CPN_ID_MAX + 32];
            struct cpn_buf b = { .limit = 64u << 20 };
            snprintf(path, sizeof path, "%s/%s.%s.csv", dir, s->net->zones[z].id,
                     cpn_signal_kind_name((enum cpn_signal_kind)k));
            if (access(path, R_OK) != 0)
                continue;
            snprintf(key, sizeof key, "%s.%s.actual", s->net->zones[z].id,
                     cpn_signal_kind_name((enum cpn_signal_kind)k));
            if ((rc = cpn_buf_read_file(&b, path, err)) ||
                (rc = set_series(s, (int32_t)z, (enum cpn_signal_kind)k, false, b.data, b.len,
                                 err)) ||
                (rc = cpn_store_doc_put(s->store, "signal", key, srv_now_s(s), b.data, err))) {
                cpn_buf_free(&b);
                cpn_store_rollback(s->store);
                return rc;
            }
            cpn_buf_free(&b);
            loaded++;
        }
    if ((rc = cpn_store_commit(s->store, err)))
        return rc;
    fprintf(s->log, "cpnet serve: loaded %zu signal series from %s\n", loaded, dir);
    return 0;
}
