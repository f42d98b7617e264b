/* SPDX-License-Identifier: Apache-2.0 */
/* Writes synthetic signals as the generic "time,value" series files that cpn_signals_load_dir
 * reads (<zone>.ci.csv, <zone>.green.csv, <zone>.price.csv) and a README.txt that says they are
 * synthetic, how they were made and from which seed. CSV has no comments, so the README carries
 * the provenance. Output is a pure function of the series: same seed, same bytes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gen/gen_int.h"

static int write_series(const struct cpn_gen_signals *s,
                        const char *dir,
                        const struct cpn_gen_zone *z,
                        const char *kind,
                        const double *v,
                        int decimals,
                        struct cpn_error *err)
{
    char path[4096], ts[CPN_TIME_STRLEN], num[64];
    FILE *f;
    int n = snprintf(path, sizeof path, "%s/%s.%s.csv", dir, z->zone, kind);
    int rc = 0;
    if (n < 0 || (size_t)n >= sizeof path)
        return cpn_errorf(err, CPN_ELIMIT, "%s: directory name too long", dir);
    f = fopen(path, "w");
    if (!f)
        return cpn_errorf(err, -errno, "%s: cannot create: %s", path, strerror(errno));
    fputs("time,value\n", f);
    for (size_t i = 0; i < s->n; i++) {
        cpn_time_format(s->t0 + (int64_t)i * s->step_s, ts);
        snprintf(num, sizeof num, "%.*f", decimals, v[i]);
        fputs(ts, f);
        fputc(',', f);
        fputs(num, f);
        fputc('\n', f);
    }
    if (ferror(f))
        rc = -EIO;
    if (fclose(f) != 0 && !rc)
        rc = -errno;
    if (rc)
        return cpn_errorf(err, rc, "%s: write failed: %s", path, cpn_strerror(rc));
    return 0;
}

static int write_readme(const struct cpn_gen_signals *s, const char *dir, struct cpn_error *err)
{
    char path[4096], t0[CPN_TIME_STRLEN];
    FILE *f;
    int n = snprintf(path, sizeof path, "%s/README.txt", dir);
    int rc = 0;
    if (n < 0 || (size_t)n >= sizeof path)
        return cpn_errorf(err, CPN_ELIMIT, "%s: directory name too long", dir);
    f = fopen(path, "w");
    if (!f)
        return cpn_errorf(err, -errno, "%s: cannot create: %s", path, strerror(errno));
    cpn_time_format(s->t0, t0);
    fprintf(f,
            "SYNTHETIC signals written by `cpnet gen signals` -- not measured data.\n"
            "No public hourly carbon-intensity series exists for Chinese provinces; these series\n"
            "are synthesised. Load real series (Electricity Maps exports, WattTime, files) in\n"
            "their place when you have them.\n\n"
            "seed: %llu\nstart: %s\nhours: %zu (step 1 h)\n\n",
            (unsigned long long)s->seed, t0, s->n);
    fputs(
        "Files: <zone>.ci.csv (grid gCO2/kWh), <zone>.green.csv (green share 0..1),\n"
        "<zone>.price.csv (CNY/kWh), columns time,value; each value is the hour's mean.\n\n"
        "Method (docs/reference-data.md, \"Synthetic signals\"):\n"
        "- wind capacity factor = 0.30 (assumed annual mean) x monthly and diurnal factors x\n"
        "  (1 + AR(1) anomaly); factors, anomaly std and AR coefficient fitted to GB and FR wind\n"
        "  generation 2020 (Let's Wait Awhile data, ENTSO-E); clipped to 0..1.\n"
        "- solar capacity factor = Haurwitz clear-sky irradiance from the sun's position at the\n"
        "  zone (declination, equation of time, hour angle) x 0.8 performance ratio x 1.2 tilt\n"
        "  gain x clear-sky index (AR(1), mean 0.75, std 0.25, phi 0.9); zero at night.\n"
        "- green share = min(1, (wind MW x wind CF + PV MW x solar CF + base x load + storage\n"
        "  discharge) / load MW); the wind/PV scale is solved so that the mean over the first\n"
        "  year equals the zone's green_share.\n"
        "- grid carbon intensity = provincial factor x (1 + 5 % winter peak + 4 % evening peak\n"
        "  - 4 % per std of the wind anomaly + AR(1) noise of 1 %), kept within +-15 %.\n"
        "- price = the zone's time-of-use table by local hour.\n\n",
        f);
    fprintf(f, "%-24s %7s %7s %9s %9s %9s %6s %8s %9s %8s\n", "zone", "target", "mean", "load_MW",
            "wind_MW", "pv_MW", "base", "scale", "store_MW", "store_MWh");
    for (size_t i = 0; i < s->nzones; i++) {
        const struct cpn_gen_zone *z = &s->zones[i];
        fprintf(f, "%-24s %7.3f %7.3f %9.1f %9.1f %9.1f %6.2f %8.3f %9.1f %8.1f\n", z->zone,
                z->target_green, z->mean_green, z->load_mw, z->wind_mw, z->pv_mw, z->base_share,
                z->scale, z->storage_mw, z->storage_mwh);
    }
    if (ferror(f))
        rc = -EIO;
    if (fclose(f) != 0 && !rc)
        rc = -errno;
    if (rc)
        return cpn_errorf(err, rc, "%s: write failed: %s", path, cpn_strerror(rc));
    return 0;
}

int cpn_gen_signals_write(const struct cpn_gen_signals *s, const char *dir, struct cpn_error *err)
{
    int rc;
    for (size_t i = 0; i < s->nzones; i++) {
        const struct cpn_gen_zone *z = &s->zones[i];
        if ((rc = write_series(s, dir, z, "ci", z->ci, 2, err)) ||
            (rc = write_series(s, dir, z, "green", z->green, 4, err)) ||
            (rc = write_series(s, dir, z, "price", z->price, 4, err)))
            return rc;
    }
    return write_readme(s, dir, err);
}
