"""vmath.h built by another compiler or for another CPU, checked for accuracy.

Compiles a C driver that applies every vmath.h function to the same inputs (a
sweep of the whole range plus the neighbourhoods of the split points) with the
compiler, flags and runner given, reads the results back and reports the max
ulp error against the references of tools/vmath_accuracy.py, and whether GCC
reported the loops vectorised. For example:

    python tools/vmath_crosscheck.py                                  # gcc, SSE2
    python tools/vmath_crosscheck.py --flags=-march=x86-64-v3
    python tools/vmath_crosscheck.py --cc clang
    python tools/vmath_crosscheck.py --cc aarch64-linux-gnu-gcc \\
        --run "qemu-aarch64 -L /usr/aarch64-linux-gnu"

Needs mpmath (float64 erf reference) and, for a foreign CPU, its emulator.
"""
import argparse
import os
import shlex
import subprocess
import sys
import tempfile

import mpmath as mp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmath_accuracy import MPMATH, REFERENCE64, REFERENCE_LONG, SPLITS, L, ulp_error  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
INCLUDE = os.path.join(HERE, "..", "fastmlp", "_engine")
SETUP_FLAGS = ["-O3", "-fno-math-errno", "-fno-trapping-math"]
NAMES = ["exp", "expm1", "log1p", "tanh", "erf", "gauss", "logistic", "softplus"]

DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include "vmath.h"
static inline float vm_gaussf(float x) { float g; vm_erf_gaussf(x, &g); return g; }
static inline double vm_gauss(double x) { double g; vm_erf_gauss(x, &g); return g; }
#define LOOP(name, T, f) \
    static void name(const T *restrict x, T *restrict y, long n) \
    { for (long i = 0; i < n; i++) y[i] = f(x[i]); }
%(loops)s
static void *slurp(const char *path, long bytes)
{
    void *p = malloc(bytes);
    FILE *f = fopen(path, "rb");
    if (!f || fread(p, 1, bytes, f) != (size_t)bytes) exit(1);
    fclose(f);
    return p;
}
int main(int argc, char **argv)
{
    long n32 = atol(argv[1]), n64 = atol(argv[2]);
    float *x32 = slurp(argv[3], n32 * 4), *y32 = malloc(n32 * 4);
    double *x64 = slurp(argv[4], n64 * 8), *y64 = malloc(n64 * 8);
    FILE *out = fopen(argv[5], "wb");
%(calls)s
    fclose(out);
    return 0;
}
"""


def _driver():
    loops, calls = [], []
    for name in NAMES:
        loops.append(f"LOOP(loop_{name}f, float, vm_{name}f)")
        loops.append(f"LOOP(loop_{name}, double, vm_{name})")
        calls.append(f"    loop_{name}f(x32, y32, n32); fwrite(y32, 4, n32, out);")
        calls.append(f"    loop_{name}(x64, y64, n64); fwrite(y64, 8, n64, out);")
    return DRIVER % {"loops": "\n".join(loops), "calls": "\n".join(calls)}


def _inputs(dtype, n_line, n_split):
    finfo = np.finfo(dtype)
    mags = np.logspace(np.log10(float(finfo.smallest_subnormal)), np.log10(float(finfo.max)) - 1e-9,
                       n_line)
    parts = [np.linspace(-800, 800, n_line), np.linspace(-10, 10, n_line), mags, -mags,
             [0.0, -0.0, np.inf, -np.inf, np.nan]]
    x = np.concatenate(parts).astype(dtype)
    points = sorted({abs(p) for ps in SPLITS.values() for p in ps})
    near = [np.nextafter(dtype(p), dtype(np.inf)) for p in points]
    steps = []
    for p in points:
        around = dtype(p) + np.arange(-n_split, n_split + 1) * np.spacing(dtype(p) if p else
                                                                          finfo.smallest_subnormal)
        steps += [around, -around]
    return np.concatenate([x, np.array(near, dtype=dtype), *[s.astype(dtype) for s in steps]])


def _float64_errors(name, x, y):
    if name in REFERENCE_LONG and np.finfo(L).nmant >= 63:
        with np.errstate(all="ignore"):
            return ulp_error(y, REFERENCE_LONG[name](x.astype(L)), np.float64)
    errors = np.zeros(x.size)
    f = MPMATH[name]
    with mp.workprec(160):
        for i, (xi, yi) in enumerate(zip(x.tolist(), y.tolist())):
            if np.isnan(xi):
                errors[i] = 0.0 if np.isnan(yi) else np.inf
                continue
            ref = f(mp.mpf(xi))
            if not mp.isfinite(ref) or ref == 0 or abs(ref) >= mp.mpf(2) ** 1024:
                errors[i] = 0.0 if yi == float(ref) else np.inf
                continue
            ulp = mp.ldexp(1, max(mp.frexp(ref)[1] - 53, -1074))
            errors[i] = float(abs(mp.mpf(yi) - ref) / ulp)
    return errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cc", default="gcc")
    parser.add_argument("--flags", default="", help="extra compiler flags")
    parser.add_argument("--run", default="", help="emulator to run the driver with")
    args = parser.parse_args()
    x32 = _inputs(np.float32, 100_000, 300)
    x64 = _inputs(np.float64, 20_000, 30)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "driver.c")
        with open(src, "w") as f:
            f.write(_driver())
        exe = os.path.join(tmp, "driver")
        gnu = "clang" not in args.cc
        build = subprocess.run([args.cc, *SETUP_FLAGS, *shlex.split(args.flags), "-I", INCLUDE,
                                "-fopt-info-vec-optimized" if gnu else "-Rpass=loop-vectorize",
                                src, "-o", exe, "-lm"], capture_output=True, text=True)
        if build.returncode:
            sys.exit(build.stderr)
        vectorised = {line.split(":")[1] for line in build.stderr.splitlines()
                      if "loop vectorized" in line or "vectorized loop" in line}
        paths = [os.path.join(tmp, n) for n in ("x32.bin", "x64.bin", "y.bin")]
        x32.tofile(paths[0])
        x64.tofile(paths[1])
        subprocess.run([*shlex.split(args.run), exe, str(x32.size), str(x64.size), *paths],
                       check=True)
        raw = np.fromfile(paths[2], dtype=np.uint8)
    print(f"{args.cc} {args.flags} {args.run}".strip())
    print(f"loops the compiler reports vectorised: {len(vectorised)} "
          f"(of {2 * len(NAMES)})")
    print("| function | float32 max ulp | float64 max ulp |")
    print("|---|---|---|")
    offset = 0
    for name in NAMES:
        y32 = raw[offset:offset + 4 * x32.size].view(np.float32)
        offset += 4 * x32.size
        y64 = raw[offset:offset + 8 * x64.size].view(np.float64)
        offset += 8 * x64.size
        keep32 = ~np.isnan(x32) & ((x32 >= -1) if name == "log1p" else True)
        keep64 = ~np.isnan(x64) & ((x64 >= -1) if name == "log1p" else True)
        with np.errstate(all="ignore"):
            e32 = ulp_error(y32[keep32], REFERENCE64[name](x32[keep32].astype(np.float64)),
                            np.float32)
        e64 = _float64_errors(name, x64[keep64], y64[keep64])
        nan_ok = np.isnan(y32[np.isnan(x32)]).all() and np.isnan(y64[np.isnan(x64)]).all()
        print(f"| {name} | {e32.max():.3f} | {e64.max():.3f} |"
              + ("" if nan_ok else " NaN lost |"), flush=True)


if __name__ == "__main__":
    main()
