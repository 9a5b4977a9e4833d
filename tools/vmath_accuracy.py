"""Measure the error of fastmlp/_engine/vmath.h's functions in ulp.

float32: every one of the 2**32 inputs, against the float64 result of NumPy /
SciPy (whose own error, ~2**-52 relative, is 2**-29 of a float32 ulp), and a
count of the places where the result decreases although the true function
increases. float64: random samples (uniform over the whole range and
log-uniform in magnitude) plus dense sweeps around every split point, against
80-bit long double libm (exp, expm1, log1p, tanh and the two composites) and
mpmath (erf, and a subsample of the others to check long double itself).

The error in ulp is |y - f(x)| / ulp(f(x)), where ulp(v) = 2**(e - p + 1) for
v in [2**e, 2**(e+1)) (p = 24, 53), floored at the smallest subnormal. A
result that overflows counts 0 when it is inf as the correctly rounded value is.

    PYTHONPATH=. python tools/vmath_accuracy.py            # both, ~10 min
    PYTHONPATH=. python tools/vmath_accuracy.py --quick    # 2**26-point float32 subsample
"""
import argparse
import sys
import time

import mpmath as mp
import numpy as np
from scipy import special

# gauss: e^-(x^2), the second result of v_erf_gauss
NAMES = ["exp", "expm1", "log1p", "tanh", "erf", "gauss", "logistic", "softplus"]

REFERENCE64 = {  # float64 references for float32 inputs
    "exp": np.exp,
    "expm1": np.expm1,
    "log1p": np.log1p,
    "tanh": np.tanh,
    "erf": special.erf,
    "gauss": lambda x: np.exp(-x * x),  # x * x exact for a float32 x
    "logistic": special.expit,
    "softplus": lambda x: np.logaddexp(0.0, x),
}

L = np.longdouble
REFERENCE_LONG = {  # long double references for float64 inputs (erf: mpmath)
    "exp": np.exp,
    "expm1": np.expm1,
    "log1p": np.log1p,
    "tanh": np.tanh,
    "gauss": lambda x: np.exp(-x * x),
    "logistic": lambda x: 1 / (1 + np.exp(-x)),
    "softplus": lambda x: np.logaddexp(L(0), x),
}

MPMATH = {
    "exp": mp.exp,
    "expm1": mp.expm1,
    "log1p": mp.log1p,
    "tanh": mp.tanh,
    "erf": mp.erf,
    "gauss": lambda x: mp.exp(-x * x),
    "logistic": lambda x: 1 / (1 + mp.exp(-x)),
    "softplus": lambda x: mp.log1p(mp.exp(x)),
}

# places where a formula, a polynomial or a clamp changes
SPLITS = {
    "exp": [0.0, 0.34657359, 88.72283, 709.782712893384, -87.33654, -103.97208,
            -708.3964185322641, -745.1332191019411],
    "expm1": [0.0, 0.34657359, -0.34657359, 2.0**-25, 2.0**-54, -17.32868, -37.42994,
              88.72283, 709.782712893384],
    "log1p": [0.0, -1.0, 0.41421356, -0.29289322, 1.0, 2.0**-25, 2.0**-54],
    "tanh": [0.0, 0.55, 9.01, 19.06],
    "erf": [0.0, 0.875, 0.75, 1.5, 3.92, 5.93],
    "gauss": [0.0, 9.3443, 10.1966, 10.5, 26.6159, 27.2972, 27.5],
    "logistic": [0.0, -87.3, -103.97, -708.4, -745.1],
    "softplus": [0.0, 4.0, -87.3, -103.97, -708.4, -745.1],
}


def vmath(name, x):
    from fastmlp._engine._testing import _vmath_memview  # the build on the path

    y = np.empty_like(x)
    _vmath_memview(name, x, y)
    return y


def ulp_error(y, ref, dtype):
    """|y - ref| in ulp of ref (ref in a wider type); NaN where both are NaN."""
    wide = ref.dtype.type
    p, emin = (24, -149) if dtype == np.float32 else (53, -1074)
    if wide is np.float64:
        # ulp from the exponent bits: frexp and ldexp take seconds per 2**24
        biased = (ref.view(np.uint64) >> np.uint64(52)) & np.uint64(0x7FF)
        exponent = np.maximum(biased.astype(np.int64) - (p - 1), 1023 + emin)
        ulp = (exponent.astype(np.uint64) << np.uint64(52)).view(np.float64)
    else:
        _, e = np.frexp(ref)
        ulp = np.ldexp(wide(1), np.maximum(e - p, emin))
    with np.errstate(all="ignore"):
        err = np.abs(y.astype(wide) - ref) / ulp
        rounded = ref.astype(dtype)
    err = err.astype(np.float64)
    overflow = np.isinf(rounded)
    err[overflow] = np.where(y[overflow] == rounded[overflow], 0.0, np.inf)
    both_nan = np.isnan(ref) & np.isnan(y)
    err[both_nan] = 0.0
    err[np.isnan(ref) != np.isnan(y)] = np.inf
    return err


def float32_exhaustive(name, step=1):
    """Max ulp error, its input, and monotonicity violations over all floats
    (every step-th bit pattern): results that step back where the function
    increases (gauss: forward where it decreases, for x > 0)."""
    worst, worst_x, decreases = 0.0, None, 0
    chunk = 1 << 24
    # ascending values: negative floats from -inf up (bits descending), then
    # positive ones; the last result of a chunk carries into the next
    previous = -np.inf
    for sign in (1, 0):
        starts = range((1 << 31) - chunk, -1, -chunk) if sign else range(0, 1 << 31, chunk)
        for start in starts:
            bits = np.arange(start, start + chunk, step, dtype=np.uint32)
            if sign:
                bits = bits[::-1] | np.uint32(1 << 31)
            x = bits.view(np.float32)
            keep = ~np.isnan(x)
            if name == "log1p":
                keep &= x >= -1
            x = x[keep]
            if x.size == 0:
                continue
            y = vmath(name, x)
            err = ulp_error(y, REFERENCE64[name](x.astype(np.float64)), np.float32)
            i = int(np.argmax(err))
            if err[i] > worst:
                worst, worst_x = float(err[i]), float(x[i])
            if name == "gauss" and not sign:
                decreases += int(np.count_nonzero(np.diff(y) > 0))
            else:
                decreases += int(np.count_nonzero(np.diff(y) < 0)) + int(y[0] < previous)
            previous = y[-1]
    return worst, worst_x, decreases


def float64_samples(name, n, rng):
    lo, hi = {"log1p": (-1.0, 1e6)}.get(name, (-760.0, 760.0))
    parts = [
        rng.uniform(lo, hi, n),
        rng.uniform(-8, 8, n),
        np.sign(rng.standard_normal(n)) * np.exp(rng.uniform(-745, 7, n)),
        np.exp(rng.uniform(-745, 709, n)),
    ]
    for s in SPLITS[name]:  # the 1000 doubles on each side of each split
        for point in (s, -s):
            parts.append(point + np.arange(-1000, 1000) * np.spacing(point if point else 1e-300))
    x = np.concatenate(parts)
    if name == "log1p":
        x = x[x >= -1]
    return x


def float64_error(name, n, rng, n_mpmath):
    x = float64_samples(name, n, rng)
    y = vmath(name, x)
    worst, worst_x = 0.0, None
    if name in REFERENCE_LONG and np.finfo(L).nmant >= 63:
        err = ulp_error(y, REFERENCE_LONG[name](x.astype(L)), np.float64)
        i = int(np.argmax(err))
        worst, worst_x = float(err[i]), float(x[i])
    # mpmath on a subsample (the whole reference for erf)
    mp.mp.prec = 160
    sub = rng.choice(x.size, size=min(n_mpmath, x.size), replace=False)
    f = MPMATH[name]
    for i in sub:
        ref = f(mp.mpf(float(x[i])))
        if not mp.isfinite(ref):
            e = 0.0 if y[i] == float(ref) else np.inf
        elif ref == 0:
            e = 0.0 if y[i] == 0 else np.inf
        else:
            ulp = mp.ldexp(1, max(mp.frexp(ref)[1] - 53, -1074))
            e = float(abs(mp.mpf(float(y[i])) - ref) / ulp)
            if abs(float(ref)) == np.inf:
                e = 0.0 if y[i] == float(ref) else np.inf
        if e > worst:
            worst, worst_x = e, float(x[i])
    return worst, worst_x, x.size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="every 64th float32, fewer float64 samples")
    parser.add_argument("--names", default=",".join(NAMES))
    parser.add_argument("--step", type=int, default=1,
                        help="float32: every step-th bit pattern (1: all)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    names = args.names.split(",")
    step = 64 if args.quick else args.step
    n64, n_mp = (10**5, 2000) if args.quick else (10**6, 30000)
    print("| function | float32 max ulp (at x) | float32 decreases | "
          "float64 max ulp (at x) | float64 inputs |")
    print("|---|---|---|---|---|")
    for name in names:
        t = time.time()
        e32, x32, dec = float32_exhaustive(name, step)
        e64, x64, n = float64_error(name, n64, rng, n_mp if name != "erf" else 10 * n_mp)
        print(f"| {name} | {e32:.3f} ({x32:.9g}) | {dec} | {e64:.3f} ({x64:.17g}) | {n} |",
              flush=True)
        print(f"{name}: {time.time() - t:.0f} s", file=sys.stderr)
    print(f"\nfloat32: {f'every {step}th' if step > 1 else 'all'} of the 2**32 inputs; "
          f"float64: long double ({np.finfo(L).nmant + 1}-bit) and mpmath references")


if __name__ == "__main__":
    main()
