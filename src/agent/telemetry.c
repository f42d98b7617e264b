/* SPDX-License-Identifier: Apache-2.0 */
/* The numbers behind a telemetry report, as pure functions the tests drive by table: whether a
 * report goes out this period (damping with a heartbeat, so that a quiet cluster still shows it is
 * alive), the backoff after failed calls, the utilisation of the pools and the estimated power of
 * their power model. Also the measured power of a host from Intel RAPL counters, read from sysfs
 * when the host exposes them (they are often root-only; then the estimate stands). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_int.h"

bool agt_damp_send(const struct cpn_agent_pool *sent,
                   const struct cpn_agent_pool *cur,
                   size_t n,
                   double sent_util,
                   double cur_util,
                   double damping,
                   int periods_since,
                   int heartbeat)
{
    if (!sent || damping <= 0 || periods_since >= heartbeat)
        return true;
    if (fabs(cur_util - sent_util) > damping)
        return true;
    for (size_t i = 0; i < n; i++) {
        double moved = fabs((double)(cur[i].available - sent[i].available));
        if (cur[i].total != sent[i].total || strcmp(cur[i].id, sent[i].id))
            return true;
        if (moved > damping * (double)cur[i].total)
            return true;
    }
    return false;
}

double agt_backoff_s(int failures, double jitter01)
{
    double base = 0.5, d;
    if (failures <= 0)
        return 0;
    for (int i = 1; i < failures && base < 30; i++)
        base *= 2;
    if (base > 30)
        base = 30;
    if (jitter01 < 0)
        jitter01 = 0;
    if (jitter01 > 1)
        jitter01 = 1;
    d = base * (0.75 + 0.5 * jitter01);
    return d < 0.5 ? 0.5 : d > 30 ? 30 : d;
}

double agt_utilisation(const struct cpn_agent_pool *pools, size_t n)
{
    double total = 0, busy = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t avail = pools[i].available;
        if (pools[i].total <= 0)
            continue;
        if (avail < 0)
            avail = 0;
        if (avail > pools[i].total)
            avail = pools[i].total;
        total += (double)pools[i].total;
        busy += (double)(pools[i].total - avail);
    }
    return total > 0 ? busy / total : 0;
}

double agt_power_estimate_kw(const struct cpn_agent_pool *pools, size_t n, double pue)
{
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        double u = agt_utilisation(&pools[i], 1);
        w += (double)pools[i].total *
             (pools[i].watts_idle + (pools[i].watts_busy - pools[i].watts_idle) * u);
    }
    return w * (pue >= 1 ? pue : 1) / 1000.0;
}

/* ---- RAPL ------------------------------------------------------------------------------------ */

static int read_u64(const char *path, uint64_t *out)
{
    FILE *f = fopen(path, "r");
    char line[64];
    char *end;
    int rc = -EIO;
    if (!f)
        return -errno;
    if (fgets(line, sizeof line, f)) {
        unsigned long long v;
        errno = 0;
        v = strtoull(line, &end, 10);
        if (!errno && end != line) {
            *out = (uint64_t)v;
            rc = 0;
        }
    }
    fclose(f);
    return rc;
}

int agt_rapl_open(struct agt_rapl *r, const char *root)
{
    DIR *d;
    struct dirent *e;
    memset(r, 0, sizeof *r);
    if (!root)
        root = "/sys/class/powercap";
    d = opendir(root);
    if (!d)
        return -ENOENT;
    while ((e = readdir(d)) != NULL && r->n < AGT_RAPL_MAX) {
        const char *name = e->d_name;
        char path[320], range[340];
        uint64_t v;
        /* package domains are intel-rapl:N; intel-rapl:N:M are parts of them (core, dram) */
        if (strncmp(name, "intel-rapl:", 11) || strchr(name + 11, ':') || !name[11])
            continue;
        if ((size_t)snprintf(path, sizeof path, "%s/%s/energy_uj", root, name) >= sizeof path)
            continue;
        if (read_u64(path, &v))
            continue;
        snprintf(range, sizeof range, "%s/%s/max_energy_range_uj", root, name);
        if (read_u64(range, &r->range_uj[r->n]))
            r->range_uj[r->n] = 0;
        memcpy(r->path[r->n], path, sizeof path);
        r->n++;
    }
    closedir(d);
    return r->n ? 0 : -ENOENT;
}

int agt_rapl_watts(struct agt_rapl *r, int64_t now_ns, double *watts)
{
    uint64_t cur[AGT_RAPL_MAX] = { 0 };
    double joules = 0;
    bool primed = r->primed;
    for (size_t i = 0; i < r->n; i++) {
        int rc = read_u64(r->path[i], &cur[i]);
        if (rc)
            return rc;
    }
    for (size_t i = 0; primed && i < r->n; i++) {
        uint64_t delta = cur[i] >= r->last_uj[i] ? cur[i] - r->last_uj[i]
                         : r->range_uj[i]        ? r->range_uj[i] - r->last_uj[i] + cur[i]
                                                 : 0;
        joules += (double)delta / 1e6;
    }
    memcpy(r->last_uj, cur, sizeof cur[0] * r->n);
    if (primed && now_ns <= r->last_ns)
        return 0;
    if (primed)
        *watts = joules / ((double)(now_ns - r->last_ns) / 1e9);
    r->last_ns = now_ns;
    r->primed = true;
    return primed ? 1 : 0;
}
