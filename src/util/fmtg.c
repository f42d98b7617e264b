/* SPDX-License-Identifier: Apache-2.0 */
/* printf's "%.Pg" without printf for the numbers the service writes on every request (costs,
 * carbon, latencies): glibc formats a double through multi-precision arithmetic, a fifth of the
 * service's time per submission. The fast path covers what %g prints in fixed notation (decimal
 * exponent -4 .. P-1) with an exact product v x 10^k (FMA gives its rounding error), rounded half
 * to even like glibc; everything else (exponent notation, zero, non-finite) goes to snprintf. The
 * output is byte for byte that of snprintf, which tests/util/test_util.c checks on millions of
 * values. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "cpnet/util.h"

static const double pow10_exact[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

/* round(v x 10^k) exactly, half to even, for 0 <= k <= 22 and a result below 2^53; -1 when the
 * product is out of that range. */
static int64_t scaled_round(double v, int k)
{
    double s = pow10_exact[k], p = v * s, err = fma(v, s, -p), r, d;
    if (!(p < 9007199254740992.0))
        return -1;
    r = nearbyint(p); /* p - r is exact below 2^53 */
    d = (p - r) + err;
    /* the exact product is r + (p - r) + err; adjust r to the nearest integer, ties to even */
    if (d > 0.5 || (d == 0.5 && fmod(r, 2.0) != 0))
        r += 1;
    else if (d < -0.5 || (d == -0.5 && fmod(r, 2.0) != 0))
        r -= 1;
    return (int64_t)r;
}

/* Fixed notation of the P significant digits m (10^(P-1) <= m < 10^P) with decimal exponent e,
 * trailing zeros and a trailing point removed, as %g does. */
static int write_fixed(char *out, bool neg, int64_t m, int prec, int e)
{
    char dig[24] = { 0 };
    int n = 0, len = 0, last;
    for (int i = prec - 1; i >= 0; i--) {
        dig[i] = (char)('0' + m % 10);
        m /= 10;
    }
    if (neg)
        out[len++] = '-';
    if (e >= 0) {
        for (; n <= e; n++)
            out[len++] = dig[n];
    } else {
        out[len++] = '0';
    }
    last = prec - 1;
    while (last >= n && dig[last] == '0')
        last--;
    if (last >= n || e < 0) {
        out[len++] = '.';
        for (int z = -1; z > e; z--)
            out[len++] = '0';
        for (; n <= last; n++)
            out[len++] = dig[n];
    }
    out[len] = '\0';
    return len;
}

int cpn_fmt_g(char out[CPN_FMT_G_MAX], double v, int prec)
{
    double a = fabs(v);
    int e;
    int64_t m, lo, hi;
    if (prec < 1 || prec > 15 || !isfinite(v) || a == 0 || a < 1e-4 || a >= 1e15)
        return snprintf(out, CPN_FMT_G_MAX, "%.*g", prec, v);
    e = (int)floor(log10(a));
    lo = (int64_t)pow10_exact[prec - 1];
    hi = (int64_t)pow10_exact[prec];
    /* log10 may be one off near powers of ten: settle e by the rounded digits themselves */
    for (int tries = 0; tries < 3; tries++) {
        int k = prec - 1 - e;
        if (k < 0 || k > 22)
            break;
        m = scaled_round(a, k);
        if (m < 0)
            break;
        if (m >= hi) {
            e++;
            continue;
        }
        if (m < lo) {
            e--;
            continue;
        }
        if (e < -4 || e >= prec)
            break; /* exponent notation */
        return write_fixed(out, v < 0, m, prec, e);
    }
    return snprintf(out, CPN_FMT_G_MAX, "%.*g", prec, v);
}

int cpn_buf_g(struct cpn_buf *b, double v, int prec)
{
    char t[CPN_FMT_G_MAX];
    int n = cpn_fmt_g(t, v, prec);
    return cpn_buf_append(b, t, (size_t)n);
}
