/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the series loader (cpn_series_parse) in both CSV formats. Each input is
 * resampled to 15-minute and hourly slots; a loaded series must start on the slot grid and hold
 * only finite values, and lookups at any time must be safe. Built by `make fuzz`. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "cpnet/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t steps[] = { 900, 3600 };
    for (size_t k = 0; k < 2; k++) {
        struct cpn_series s = { 0 };
        struct cpn_error err;
        if (cpn_series_parse((const char *)data, size, "fuzz.csv", steps[k], &s, &err) != 0)
            continue;
        if (s.n == 0 || s.step_s != steps[k] || s.t0 % steps[k] != 0)
            abort();
        for (size_t i = 0; i < s.n; i++)
            if (!isfinite(s.v[i]))
                abort();
        (void)cpn_series_at(&s, INT64_MIN);
        (void)cpn_series_at(&s, INT64_MAX);
        (void)cpn_series_at(&s, s.t0 + (int64_t)s.n * s.step_s / 2);
        cpn_series_free(&s);
    }
    return 0;
}
