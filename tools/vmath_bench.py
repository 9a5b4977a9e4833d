"""ns per element of vmath.h's functions beside libm's, in plain C loops.

Compiles one shared library per flag set (setup.py's flags: SSE2 only on
x86-64; then with -march=x86-64-v3, i.e. AVX2 + FMA) from loops of the form
`for (i...) y[i] = f(x[i])`, loads it with ctypes and times each loop over an
array of 256 * 200 elements (a 256-unit layer on a 200-row minibatch), best of
`--repeats` runs of `--inner` calls. relu (`x > 0 ? x : 0`) is the floor an
activation cannot beat. libm's loop stays scalar: GCC vectorises libm calls
only through libmvec, under -ffast-math.

    python tools/vmath_bench.py [--repeats 30] [--inner 20] [--cc gcc]

Numbers depend on the machine and its load: compare ratios from one run.
"""
import argparse
import ctypes
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
INCLUDE = os.path.join(HERE, "..", "fastmlp", "_engine")
SETUP_FLAGS = ["-O3", "-fno-math-errno", "-fno-trapping-math"]
FLAG_SETS = {"default": [], "x86-64-v3": ["-march=x86-64-v3"]}

# name -> (vmath float, vmath double, libm float, libm double)
FUNCTIONS = {
    "exp": ("vm_expf", "vm_exp", "expf", "exp"),
    "expm1": ("vm_expm1f", "vm_expm1", "expm1f", "expm1"),
    "log1p": ("vm_log1pf", "vm_log1p", "log1pf", "log1p"),
    "tanh": ("vm_tanhf", "vm_tanh", "tanhf", "tanh"),
    "erf": ("vm_erff", "vm_erf", "erff", "erf"),
    "logistic": ("vm_logisticf", "vm_logistic", "libm_logisticf", "libm_logistic"),
    "softplus": ("vm_softplusf", "vm_softplus", "libm_softplusf", "libm_softplus"),
}

PRELUDE = r"""
#include <math.h>
/* without it GCC sees that the repeated passes store the same values and
   runs only one (it does for libm's const functions) */
#define BARRIER(p) __asm__ __volatile__("" : : "r"(p) : "memory")
#include "vmath.h"
static inline float reluf(float x) { return x > 0.0f ? x : 0.0f; }
static inline double relu(double x) { return x > 0.0 ? x : 0.0; }
/* today's _activations.logistic and a libm softplus */
static inline float libm_logisticf(float x) { float e = expf(-fabsf(x)); return (x >= 0 ? 1.0f : e) / (1.0f + e); }
static inline double libm_logistic(double x) { double e = exp(-fabs(x)); return (x >= 0 ? 1.0 : e) / (1.0 + e); }
static inline float libm_softplusf(float x) { return (x > 0 ? x : 0.0f) + log1pf(expf(-fabsf(x))); }
static inline double libm_softplus(double x) { return (x > 0 ? x : 0.0) + log1p(exp(-fabs(x))); }
"""


def _source():
    lines = [PRELUDE]
    funcs = ["reluf", "relu"] + [f for names in FUNCTIONS.values() for f in names]
    for f in funcs:
        t = "float" if f.endswith("f") else "double"
        lines.append(
            f"void loop_{f}(const {t} *restrict x, {t} *restrict y, long n, int inner)"
            f" {{ for (int k = 0; k < inner; k++) {{ for (long i = 0; i < n; i++)"
            f" y[i] = {f}(x[i]); BARRIER(y); }} }}")
    return "\n".join(lines) + "\n"


def _build(cc, flags, workdir, tag):
    src = os.path.join(workdir, "loops.c")
    with open(src, "w") as f:
        f.write(_source())
    lib = os.path.join(workdir, f"loops_{tag}.so")
    subprocess.run([cc, *SETUP_FLAGS, *flags, "-fPIC", "-shared", "-I", INCLUDE,
                    src, "-o", lib, "-lm"], check=True)
    return ctypes.CDLL(lib)


def _time(lib, func, x, y, repeats, inner):
    loop = getattr(lib, f"loop_{func}")
    ptr = ctypes.c_void_p
    args = (ptr(x.ctypes.data), ptr(y.ctypes.data), ctypes.c_long(x.size), ctypes.c_int(inner))
    loop(*args)  # warm up
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter_ns()
        loop(*args)
        best = min(best, (time.perf_counter_ns() - t) / (inner * x.size))
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--inner", type=int, default=20)
    parser.add_argument("--cc", default=os.environ.get("CC", "gcc"))
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n = 256 * 200
    with tempfile.TemporaryDirectory() as workdir:
        libs = {tag: _build(args.cc, flags, workdir, tag) for tag, flags in FLAG_SETS.items()}
        print(f"ns/element, {n} elements, best of {args.repeats} x {args.inner} calls; "
              f"load average {os.getloadavg()[0]:.2f} at start")
        for dtype, col in ((np.float32, 0), (np.float64, 1)):
            x = rng.normal(0.0, 3.0, n).astype(dtype)
            y = np.empty_like(x)
            print(f"\n{np.dtype(dtype).name}\n")
            print("| function | vmath (SSE2, setup.py flags) | vmath (-march=x86-64-v3) "
                  "| libm | libm / vmath SSE2 | libm / vmath v3 |")
            print("|---|---|---|---|---|---|")
            relu = "reluf" if col == 0 else "relu"
            r0 = _time(libs["default"], relu, x, y, args.repeats, args.inner)
            r3 = _time(libs["x86-64-v3"], relu, x, y, args.repeats, args.inner)
            print(f"| relu (floor) | {r0:.3f} | {r3:.3f} | | | |")
            for name, funcs in FUNCTIONS.items():
                vm, libm = funcs[col], funcs[2 + col]
                x_in = np.abs(x) if name == "log1p" else x
                v0 = _time(libs["default"], vm, x_in, y, args.repeats, args.inner)
                v3 = _time(libs["x86-64-v3"], vm, x_in, y, args.repeats, args.inner)
                lm = _time(libs["default"], libm, x_in, y, args.repeats, args.inner)
                print(f"| {name} | {v0:.3f} | {v3:.3f} | {lm:.3f} | {lm / v0:.1f}x "
                      f"| {lm / v3:.1f}x |", flush=True)
        print(f"\nload average {os.getloadavg()[0]:.2f} at end", file=sys.stderr)


if __name__ == "__main__":
    main()
