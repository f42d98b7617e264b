/* SPDX-License-Identifier: Apache-2.0 */
/* Parameters of the synthetic generators, fitted once to public traces by
 * scripts/derive-demand-params.py (run from the project root on ../shared; its output is pasted
 * here) and the samplers that use them. Only aggregates are kept: 21-point quantile tables,
 * probabilities, factors, a deviation and a correlation; no trace row is copied. Sources:
 * ../shared/traces/gaia (GAIA, Hanafy et al., ASPLOS 2024: pai_1k, pai-100k, azure-100k),
 * ../shared/traces/alibaba-gpu (Alibaba cluster-trace-gpu-v2023 openb pods; Philly runtimes from
 * cluster-trace-gpu-v2020) and ../shared/validation/lwa (ENTSO-E GB and FR generation, 2020). */
#include <math.h>
#include <string.h>

#include "gen/gen_int.h"

const double cpn__gen_qlevels[CPN_GEN_QN] = { 0.005, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30,
                                              0.35,  0.40, 0.45, 0.50, 0.55, 0.60, 0.65,
                                              0.70,  0.75, 0.80, 0.85, 0.90, 0.95, 0.995 };

/* Philly DL job runtimes (alibaba-gpu/philly_runtime.csv), runtime > 0: n=83152, median 1186.0 s,
 * mean 14613.7 s, lognormal fit mu=6.8459 sigma=2.1814 */
const double cpn__q_philly_runtime_s[CPN_GEN_QN] = { 12,      48,      61,    68,   76,     131,
                                                     229,     428,     630,   889,  1186,   1500,
                                                     1871,    2242.15, 2590,  3342, 4699.8, 6300.7,
                                                     12859.8, 49950.8, 484501 };

/* GAIA pai_1k.csv job lengths (seconds): n=1000, median 3019.5 s, mean 9066.1 s, lognormal fit
 * mu=8.0209 sigma=1.4840 */
const double cpn__q_pai1k_length_s[CPN_GEN_QN] = {
    306.995, 341,    414.8,   502.95, 626.6,   837,   1115.5,  1462.3,  1990.6,  2365.1, 3019.5,
    3765.9,  4721.4, 5768.15, 6833.3, 8476.75, 11470, 16471.4, 23580.2, 38970.2, 116266
};

/* GAIA pai-100k.csv job lengths (hours -> s): n=99998, median 2392.0 s, mean 8160.6 s, lognormal
 * fit mu=7.8950 sigma=1.4448 */
const double cpn__q_pai100k_length_s[CPN_GEN_QN] = { 306,     352,     425,    523,  638,  787.25,
                                                     969,     1183,    1492,   1862, 2392, 3070,
                                                     3818,    4745,    5958.9, 7558, 9963, 13502,
                                                     19931.8, 34332.4, 129870 };

/* GAIA azure-100k.csv job lengths (hours -> s): n=99988, median 2100.0 s, mean 13778.2 s,
 * lognormal fit mu=8.0831 sigma=1.5454 */
const double cpn__q_azure100k_length_s[CPN_GEN_QN] = { 600,   600,   600,   600,  900,   900,
                                                       1200,  1200,  1500,  1800, 2100,  2400,
                                                       3000,  3900,  5400,  7800, 12900, 23400,
                                                       40800, 72000, 216620 };

/* GAIA pai-100k.csv cpus per job: n=99998, median 1.0 cpus, mean 3.4 cpus, lognormal fit mu=0.4838
 * sigma=0.9353 */
const double cpn__q_pai100k_cpus[CPN_GEN_QN] = { 1, 1, 1, 1, 1, 1, 1, 1, 1,  1, 1,
                                                 1, 1, 1, 1, 2, 3, 5, 8, 16, 50 };

/* GAIA azure-100k.csv cpus per job: n=99988, median 2.0 cpus, mean 4.0 cpus, lognormal fit
 * mu=1.1088 sigma=0.6082 */
const double cpn__q_azure100k_cpus[CPN_GEN_QN] = { 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
                                                   2, 4, 4, 4, 4, 4, 4, 8, 8, 24 };

/* Alibaba openb_pod_list_default.csv: GPU pods n=7064; P(num_gpu = k); a fractional (shared) GPU
 * counts as one device */
const int cpn__openb_gpu_k[CPN_GEN_OPENB_N] = { 1, 2, 4, 8 };
const double cpn__openb_gpu_p[CPN_GEN_OPENB_N] = { 0.989383, 0.002265, 0.002123, 0.006229 };

/* Wind: hourly mean of all Wind* columns of lwa/gb_production.csv and lwa/fr_production.csv over
 * 2020. gb_production.csv: 28 isolated glitch hours replaced by the mean of their neighbours. GB
 * wind (onshore + offshore): 8784 hours of 2020; mean/p99.5 capacity proxy = 0.4601; relative
 * anomaly std 0.5355, autocorrelation lag 1 h 0.9377, lag 24 h 0.3579, phi = acf(24)^(1/24) =
 * 0.9581. FR wind (onshore): 8784 hours of 2020; mean/p99.5 capacity proxy = 0.3543; relative
 * anomaly std 0.6176, autocorrelation lag 1 h 0.9904, lag 24 h 0.4413, phi = acf(24)^(1/24) =
 * 0.9665. The factors below are the mean of the two countries: monthly (Jan..Dec) and diurnal
 * (hour of the timestamps, applied here by local solar hour) means relative to the annual mean,
 * the relative anomaly x / (mean x month x hour) - 1 and its hourly AR(1) coefficient taken as
 * acf(24 h)^(1/24): a single AR(1) cannot match both the 1-hour (0.964) and the 1-day correlation,
 * and the day scale decides whether work can wait for wind. */
const double cpn__wind_month[12] = { 1.2799, 1.6999, 1.2708, 0.7469, 0.7262, 0.6842,
                                     0.6816, 0.6735, 0.8166, 1.1798, 1.0388, 1.2241 };
const double cpn__wind_hour[24] = {
    1.0132, 0.9959, 0.9783, 0.9705, 0.9634, 0.9567, 0.9367, 0.9226, 0.9318, 0.9477, 0.9711, 0.9900,
    1.0084, 1.0154, 1.0248, 1.0437, 1.0525, 1.0503, 1.0283, 1.0356, 1.0439, 1.0486, 1.0430, 1.0275
};
const double cpn__wind_anom_std = 0.5765;
const double cpn__wind_anom_phi = 0.9623;

double cpn__gen_qsample(const double *q, double u)
{
    const double *L = cpn__gen_qlevels;
    size_t i = 0;
    double f;
    if (!(u > L[0]))
        return q[0];
    if (u >= L[CPN_GEN_QN - 1])
        return q[CPN_GEN_QN - 1];
    while (i + 2 < CPN_GEN_QN && u >= L[i + 1])
        i++;
    f = (u - L[i]) / (L[i + 1] - L[i]);
    if (q[i] <= 0 || q[i + 1] <= 0)
        return q[i] + f * (q[i + 1] - q[i]);
    return exp(log(q[i]) + f * (log(q[i + 1]) - log(q[i])));
}

double cpn__gen_qmean(const double *q)
{
    const int n = 4000;
    double s = 0;
    for (int k = 0; k < n; k++)
        s += cpn__gen_qsample(q, (k + 0.5) / n);
    return s / n;
}

int cpn__gen_base_lookup(const char *id, const char *const *names, size_t n)
{
    size_t len = strlen(id), cut = len;
    for (size_t i = 0; i < n; i++)
        if (strcmp(id, names[i]) == 0)
            return (int)i;
    /* strip one "-<digits>" suffix */
    while (cut > 0 && id[cut - 1] >= '0' && id[cut - 1] <= '9')
        cut--;
    if (cut == len || cut < 2 || id[cut - 1] != '-')
        return -1;
    cut--;
    for (size_t i = 0; i < n; i++)
        if (strlen(names[i]) == cut && strncmp(id, names[i], cut) == 0)
            return (int)i;
    return -1;
}
