/* SPDX-License-Identifier: Apache-2.0 */
/* What only the generators' files share: the parameter tables fitted once to public traces
 * (src/gen/gen_params.c, printed by scripts/derive-demand-params.py), sampling from an empirical
 * quantile table, and small helpers. The tables are constant data; nothing here is mutable. */
#ifndef CPN_GEN_INT_H
#define CPN_GEN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "cpnet/gen.h"

/* Empirical quantile tables have 21 points at the levels below (0.5 %, 5 %, 10 %, ..., 95 %,
 * 99.5 %); index 10 is the median. */
#define CPN_GEN_QN      21
#define CPN_GEN_QMEDIAN 10
extern const double cpn__gen_qlevels[CPN_GEN_QN];

/* Durations in seconds and sizes (cpus), fitted to ../shared/traces (see gen_params.c). */
extern const double cpn__q_philly_runtime_s[CPN_GEN_QN];
extern const double cpn__q_pai1k_length_s[CPN_GEN_QN];
extern const double cpn__q_pai100k_length_s[CPN_GEN_QN];
extern const double cpn__q_azure100k_length_s[CPN_GEN_QN];
extern const double cpn__q_pai100k_cpus[CPN_GEN_QN];
extern const double cpn__q_azure100k_cpus[CPN_GEN_QN];
/* GPUs per pod (Alibaba openb): values and probabilities. */
#define CPN_GEN_OPENB_N 4
extern const int cpn__openb_gpu_k[CPN_GEN_OPENB_N];
extern const double cpn__openb_gpu_p[CPN_GEN_OPENB_N];
/* Wind shape fitted to GB and FR generation 2020: monthly and diurnal factors (mean 1), the
 * relative anomaly's standard deviation and its hourly AR(1) coefficient. */
extern const double cpn__wind_month[12];
extern const double cpn__wind_hour[24];
extern const double cpn__wind_anom_std;
extern const double cpn__wind_anom_phi;

/* The quantile at u in [0, 1): log-linear between table points, the end points beyond them. */
double cpn__gen_qsample(const double *q, double u);
/* The mean of the distribution the table describes (numerical integral of the quantile). */
double cpn__gen_qmean(const double *q);

/* The position of id's base in a table of names: "helinger-3" matches "helinger" when the copy
 * suffix "-<digits>" is the only difference. -1 when absent. */
int cpn__gen_base_lookup(const char *id, const char *const *names, size_t n);

#endif
