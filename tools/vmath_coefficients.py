"""Minimax (Remez) coefficients of the polynomials in fastmlp/_engine/vmath.h.

Each approximation is fitted in 60-digit arithmetic with the Remez exchange
algorithm, then every coefficient is rounded to the target precision (float or
double) and the error of the rounded polynomial is measured on a dense grid.
Run it to regenerate the constants block that vmath.h holds:

    python tools/vmath_coefficients.py            # prints the C #defines
    python tools/vmath_coefficients.py --report   # also the fitting errors
    python tools/vmath_coefficients.py --write fastmlp/_engine/vmath.h

Needs mpmath (a dependency of sympy; `pip install mpmath` otherwise).

Each fit is "g(t) ~ sum_k c_k t**k" on [a, b] minimising max |w(t) (g - p)|,
where w turns an error in g into the relative error of the function vmath.h
returns (so a fit's reported error is in units of the result, about 2**-24 or
2**-53 per float or double ulp).
"""
import argparse
import struct
import sys

import mpmath as mp

mp.mp.dps = 60

TINY = mp.mpf("1e-30")  # fits avoid t == 0, where the g below are 0/0


def _solve_reference(g, w, powers, ref):
    """Coefficients and levelled error E with w(t_i) (g - p)(t_i) = (-1)^i E."""
    n = len(powers)
    A = mp.matrix(n + 1, n + 1)
    rhs = mp.matrix(n + 1, 1)
    for i, t in enumerate(ref):
        for k, p in enumerate(powers):
            A[i, k] = t**p
        A[i, n] = (-1) ** i / w(t)
        rhs[i] = g(t)
    sol = mp.lu_solve(A, rhs)
    return [sol[k] for k in range(n)], sol[n]


def _poly(coefs, powers, t):
    return mp.fsum(c * t**p for c, p in zip(coefs, powers))


def _local_extrema(err, grid):
    """One point per run of equal sign: the one of largest |err|."""
    values = [err(t) for t in grid]
    runs = []
    for t, e in zip(grid, values):
        if e == 0:
            continue
        if runs and (runs[-1][1] > 0) == (e > 0):
            if abs(e) > abs(runs[-1][1]):
                runs[-1] = (t, e)
        else:
            runs.append((t, e))
    return runs


def _refine(err, t, lo, hi, steps=30):
    """Golden-section search for the largest |err| near t, within [lo, hi]."""
    f = lambda s: -abs(err(s))
    a, b = lo, hi
    gr = (mp.sqrt(5) - 1) / 2
    c, d = b - gr * (b - a), a + gr * (b - a)
    for _ in range(steps):
        if f(c) < f(d):
            b = d
        else:
            a = c
        c, d = b - gr * (b - a), a + gr * (b - a)
    best = (a + b) / 2
    return best if abs(err(best)) > abs(err(t)) else t


def remez(g, w, a, b, powers, n_grid=3000, iterations=100, ref=None):
    """Minimax coefficients of sum_k c_k t**powers[k] for g on [a, b], weight w,
    and the final reference points (to start a related fit from).

    The best coefficients met on the way are returned.
    """
    a, b = mp.mpf(a), mp.mpf(b)
    n = len(powers)
    if ref is None:
        # Chebyshev extrema as the first reference
        ref = [(a + b) / 2 - (b - a) / 2 * mp.cos(mp.pi * i / n) for i in range(n + 1)]
    grid = [(a + b) / 2 - (b - a) / 2 * mp.cos(mp.pi * i / (n_grid - 1))
            for i in range(n_grid)]
    grid = [t if abs(t) > TINY else TINY for t in grid]
    ref = [t if abs(t) > TINY else TINY for t in ref]
    spacing = (b - a) / n_grid * 4
    best, best_error, best_ref = None, mp.inf, ref
    for _ in range(iterations):
        coefs, E = _solve_reference(g, w, powers, ref)
        err = lambda t: w(t) * (g(t) - _poly(coefs, powers, t))
        runs = _local_extrema(err, grid)
        worst_on_grid = max(abs(e) for _, e in runs)
        if worst_on_grid < best_error:
            best, best_error, best_ref = coefs, worst_on_grid, ref
        # keep n + 1 alternating extrema around the largest one
        while len(runs) > n + 1:
            drop = 0 if abs(runs[0][1]) < abs(runs[-1][1]) else -1
            runs.pop(drop)
        if len(runs) < n + 1:
            break
        ref = [_refine(err, t, max(a, t - spacing), min(b, t + spacing)) for t, _ in runs]
        ref = [t if abs(t) > TINY else TINY for t in ref]
        worst = max(abs(err(t)) for t in ref)
        if worst <= abs(E) * (1 + mp.mpf("1e-6")):
            break
    return best, best_ref


def remez_steep(g, w, a, b, powers, stages=(0, 0.25, 0.5, 0.75, 1)):
    """remez with a weight that spans many decades (erfc's exp(-x^2)): fit with
    w**s for growing s, each stage starting from the previous reference (from
    Chebyshev points the exchange loses its alternation before it levels)."""
    ref = None
    for s in stages:
        coefs, ref = remez(g, lambda t: w(t) ** s, a, b, powers, ref=ref)
    return coefs


def to_float32(x):
    return mp.mpf(struct.unpack("f", struct.pack("f", float(x)))[0])


def to_float64(x):
    return mp.mpf(float(x))


def max_error(g, w, a, b, powers, coefs, n=4000):
    a, b = mp.mpf(a), mp.mpf(b)
    pts = [a + (b - a) * i / (n - 1) for i in range(n)]
    pts = [t if abs(t) > TINY else TINY for t in pts]
    return max(abs(w(t) * (g(t) - _poly(coefs, powers, t))) for t in pts)


# --- the approximations ------------------------------------------------------

LN2 = mp.log(2)
# r = x - n ln2 with n = round(x / ln2) lies in [-ln2/2, ln2/2]; the margin covers
# the rounding of x / ln2
R_EXP = LN2 / 2 * mp.mpf("1.0001")
# log1p's s = f / (2 + f), f in [sqrt(2)/2 - 1, sqrt(2) - 1]
S_LOG = (mp.sqrt(2) - 1) / (mp.sqrt(2) + 1) * mp.mpf("1.0001")
TANH_SMALL = mp.mpf("0.55")    # float tanh: polynomial below, expm1 form above
# erf: x + x P(x^2) below ERF_SMALL; 1 - exp(-x^2) Q(x - ERF_LARGE) from
# ERF_LARGE on; double has a middle piece, ERF_MID_C + M(x - ERF_MID) (near
# 1.5, x + x P rounds a term of -0.53 and 1 - exp(-x^2) Q one of 0.2: each
# errs by an ulp, the steps between neighbouring results go backwards)
ERF_SMALL = {"float": mp.mpf("0.875"), "double": mp.mpf("0.75")}
ERF_LARGE = {"float": mp.mpf("0.875"), "double": mp.mpf("1.5")}
ERF_MID = mp.mpf("1.125")


def _expm1_tail(t):
    # (expm1(t) - t) / t**2, the part of expm1 past its first term
    return (mp.expm1(t) - t) / t**2


def _log_tail(z):
    # R(z) / z with 2 atanh(s) = 2 s + s R(s^2): R(z) = sum 2 z^k / (2k + 1)
    s = mp.sqrt(z)
    return (2 * mp.atanh(s) - 2 * s) / (s * z)


def _tanh_tail(z):
    # (tanh(x) - x) / x**3 as a function of z = x**2
    x = mp.sqrt(z)
    return (mp.tanh(x) - x) / (x * z)


def _erf_small(z):
    # erf(x) / x as a function of z = x**2
    x = mp.sqrt(z)
    return mp.erf(x) / x


def _erfc_scaled(x):
    # erfc(x) exp(x**2), smooth and slowly varying away from 0
    return mp.erfc(x) * mp.exp(x * x)


def fits(dtype):
    """(name, g, w, a, b, powers, comment) of every polynomial of one dtype."""
    single = dtype == "float"
    small, large = ERF_SMALL[dtype], ERF_LARGE[dtype]
    big = mp.mpf("3.95") if single else mp.mpf("6.0")  # erf rounds to 1 above
    table = [
        # expm1(r) = r + r^2 P(r); w turns P's error relative to expm1(r)
        ("EXPM1", _expm1_tail, lambda t: t * t / mp.expm1(t), -R_EXP, R_EXP,
         6 if single else 11, "expm1(r) = r + r^2 P(r), |r| <= ln2/2"),
        ("LOG", _log_tail, lambda z: z / 2, TINY, S_LOG**2,
         3 if single else 7, "log(1+f) = 2s + s z P(z), s = f/(2+f), z = s^2"),
        # the fit keeps 2/sqrt(pi) - 1 (not 2/sqrt(pi)) as the constant term, so
        # its rounding costs little: erf(x) = x + x P(x^2)
        ("ERF", lambda z: _erf_small(z) - 1, lambda z: mp.sqrt(z) / mp.erf(mp.sqrt(z)),
         TINY, small**2, 7 if single else 12,
         f"erf(x) = x + x P(x^2), |x| < {small}"),
        # the error of Q counts in erf's absolute error: scaled by exp(-x^2)
        ("ERFC", lambda t: _erfc_scaled(t + large), lambda t: mp.exp(-(t + large) ** 2),
         0, big - large, 9 if single else 18,
         f"erfc(x) exp(x^2) = Q(x - {large}), {large} <= x < {big}"),
    ]
    if not single:
        mid_c = to_float64(mp.erf(ERF_MID))
        table.append(("ERFM", lambda t: mp.erf(ERF_MID + t) - mid_c,
                      lambda t: 1 / mp.erf(ERF_MID + t), small - ERF_MID, large - ERF_MID, 16,
                      f"erf(x) = C + M(x - {ERF_MID}), C = {mp.nstr(mid_c, 17)} = "
                      f"{float(mid_c).hex()}, {small} <= x < {large}"))
    if single:
        # double tanh is expm1(2x) / (expm1(2x) + 2) throughout
        table.append(("TANH", _tanh_tail, lambda z: z, TINY, TANH_SMALL**2, 5,
                      f"tanh(x) = x + x^3 P(x^2), |x| < {TANH_SMALL}"))
    return [(name, g, w, a, b, list(range(n)), comment)
            for name, g, w, a, b, n, comment in table]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="print each fit's error")
    parser.add_argument("--only", help="fit only this name (EXPM1, LOG, ...)")
    parser.add_argument("--write", metavar="HEADER",
                        help="replace the coefficient block of this header")
    args = parser.parse_args()
    lines = []
    for dtype in ("float", "double"):
        rnd = to_float32 if dtype == "float" else to_float64
        for name, g, w, a, b, powers, comment in fits(dtype):
            if args.only and name != args.only:
                continue
            fit = remez_steep if name == "ERFC" else lambda *args: remez(*args)[0]
            coefs = fit(g, w, a, b, powers)
            rounded = [rnd(c) for c in coefs]
            lines.append(f"/* {comment}; {dtype} */")
            suffix = "f" if dtype == "float" else ""
            for k, c in zip(powers, rounded):
                lines.append(f"#define VM_{name}_{'F' if dtype == 'float' else 'D'}{k} "
                             f"{_c_hex(c, dtype)}{suffix}")
            if name == "ERFM":
                lines.append(f"#define VM_ERFM_C {_c_hex(to_float64(mp.erf(ERF_MID)), dtype)}")
                lines.append(f"#define VM_ERFM_X0 {_c_hex(ERF_MID, dtype)}")
            if args.report:
                e = max_error(g, w, a, b, powers, rounded)
                print(f"  max weighted error {mp.nstr(e, 3)} "
                      f"(= {mp.nstr(e / mp.mpf(2) ** (-24 if dtype == 'float' else -53), 3)} "
                      f"units of 2^{-24 if dtype == 'float' else -53})", file=sys.stderr)
    if args.write:
        _write_block(args.write, lines)
    else:
        print("\n".join(lines))


BEGIN = "/* BEGIN coefficients"
END = "/* END coefficients */"


def _c_hex(c, dtype):
    """Shortest exact hex literal (float's has no trailing zero digits)."""
    text = float(c).hex()
    mantissa, exponent = text.split("p")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}p{exponent}"


def _write_block(path, lines):
    with open(path) as f:
        text = f.read()
    start = text.index(BEGIN)
    start = text.index("\n", start) + 1
    stop = text.index(END)
    with open(path, "w") as f:
        f.write(text[:start] + "\n".join(lines) + "\n" + text[stop:])


if __name__ == "__main__":
    main()
