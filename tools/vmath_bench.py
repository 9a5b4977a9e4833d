"""ns per element of vmath.h's functions beside libm's, in plain C loops.

Compiles one shared library per flag set (setup.py's flags: SSE2 only on
x86-64; then with -march=x86-64-v3, i.e. AVX2 + FMA) from loops of the form
`for (i...) y[i] = f(x[i])`, loads it with ctypes and times each loop over an
array of 256 * 200 elements (a 256-unit layer on a 200-row minibatch), best of
`--repeats` runs of `--inner` calls, in thread CPU time (so time spent
descheduled on a busy machine does not count). relu (`x > 0 ? x : 0`) is the floor an
activation cannot beat. libm's loop stays scalar: GCC vectorises libm calls
only through libmvec, under -ffast-math.

    python tools/vmath_bench.py [--repeats 30] [--inner 20] [--cc gcc]
    python tools/vmath_bench.py --instructions    # valgrind's count instead

Times depend on the machine and its load: compare ratios from one run.
--instructions counts the instructions each loop executes per element under
valgrind (callgrind), which no load changes (but which weighs a division like
an addition).
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
    # the activations that need them, forward and derivative from the
    # pre-activation z, written as PyTorch defines them
    "gelu": ("vm_geluf", "vm_gelu", "libm_geluf", "libm_gelu"),
    "gelu'": ("vm_gelu_gradf", "vm_gelu_grad", "libm_gelu_gradf", "libm_gelu_grad"),
    "silu": ("vm_siluf", "vm_silu", "libm_siluf", "libm_silu"),
    "silu'": ("vm_silu_gradf", "vm_silu_grad", "libm_silu_gradf", "libm_silu_grad"),
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
#define K 0.70710678118654752440  /* 1 / sqrt(2) */
#define G 0.39894228040143267794  /* 1 / sqrt(2 pi) */
static inline float vm_geluf(float z) { return 0.5f * z * (1.0f + vm_erff(z * (float)K)); }
static inline double vm_gelu(double z) { return 0.5 * z * (1.0 + vm_erf(z * K)); }
static inline float libm_geluf(float z) { return 0.5f * z * (1.0f + erff(z * (float)K)); }
static inline double libm_gelu(double z) { return 0.5 * z * (1.0 + erf(z * K)); }
static inline float vm_gelu_gradf(float z) { float g, e = vm_erf_gaussf(z * (float)K, &g); return 0.5f * (1.0f + e) + z * (float)G * g; }
static inline double vm_gelu_grad(double z) { double g, e = vm_erf_gauss(z * K, &g); return 0.5 * (1.0 + e) + z * G * g; }
static inline float libm_gelu_gradf(float z) { return 0.5f * (1.0f + erff(z * (float)K)) + z * (float)G * expf(-0.5f * z * z); }
static inline double libm_gelu_grad(double z) { return 0.5 * (1.0 + erf(z * K)) + z * G * exp(-0.5 * z * z); }
static inline float vm_siluf(float z) { return z * vm_logisticf(z); }
static inline double vm_silu(double z) { return z * vm_logistic(z); }
static inline float libm_siluf(float z) { return z * libm_logisticf(z); }
static inline double libm_silu(double z) { return z * libm_logistic(z); }
static inline float vm_silu_gradf(float z) { float s = vm_logisticf(z); return s * (1.0f + z * (1.0f - s)); }
static inline double vm_silu_grad(double z) { double s = vm_logistic(z); return s * (1.0 + z * (1.0 - s)); }
static inline float libm_silu_gradf(float z) { float s = libm_logisticf(z); return s * (1.0f + z * (1.0f - s)); }
static inline double libm_silu_grad(double z) { double s = libm_logistic(z); return s * (1.0 + z * (1.0 - s)); }
"""


def _source():
    lines = [PRELUDE]
    funcs = ["reluf", "relu"] + [f for names in FUNCTIONS.values() for f in names]
    for f in funcs:
        t = "float" if f.endswith("f") and f != "erf" else "double"
        lines.append(
            f"__attribute__((noinline)) void loop_{f}(const {t} *restrict x, {t} *restrict y, long n, int inner)"
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
        t = time.thread_time_ns()
        loop(*args)
        best = min(best, (time.thread_time_ns() - t) / (inner * x.size))
    return best


DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
static void *load(const char *path, long bytes)
{
    void *p = malloc(bytes);
    FILE *f = fopen(path, "rb");
    if (!f || fread(p, 1, bytes, f) != (size_t)bytes) exit(1);
    fclose(f);
    return p;
}
int main(int argc, char **argv)
{
    long n = atol(argv[1]);
    float *xf = load(argv[2], n * 4), *xfa = load(argv[3], n * 4), *yf = malloc(n * 4);
    double *xd = load(argv[4], n * 8), *xda = load(argv[5], n * 8), *yd = malloc(n * 8);
%s
    return 0;
}
"""


def _instructions(cc, n, x32, x64):
    """Instructions per element of every loop, per flag set, from callgrind."""
    funcs = ["reluf", "relu"] + [f for names in FUNCTIONS.values() for f in names]
    calls = []
    for f in funcs:
        double = not (f.endswith("f") and f != "erf")
        x = "xd" if double else "xf"
        if f in ("vm_log1pf", "vm_log1p", "log1pf", "log1p"):
            x += "a"
        calls.append(f"    loop_{f}({x}, {'yd' if double else 'yf'}, n, 1);")
    counts = {}
    with tempfile.TemporaryDirectory() as workdir:
        paths = []
        for i, arr in enumerate((x32, np.abs(x32), x64, np.abs(x64))):
            paths.append(os.path.join(workdir, f"x{i}.bin"))
            arr.tofile(paths[-1])
        src = os.path.join(workdir, "driver.c")
        with open(src, "w") as f:
            f.write(_source() + DRIVER % "\n".join(calls))
        for tag, flags in FLAG_SETS.items():
            exe = os.path.join(workdir, f"driver_{tag}")
            subprocess.run([cc, *SETUP_FLAGS, *flags,
                            "-I", INCLUDE, src, "-o", exe, "-lm"], check=True)
            out = os.path.join(workdir, f"cg_{tag}.out")
            subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                            exe, str(n), *paths], check=True, capture_output=True)
            report = subprocess.run(["callgrind_annotate", "--inclusive=yes",
                                     "--threshold=100", out],
                                    check=True, capture_output=True, text=True).stdout
            for line in report.splitlines():
                parts = line.split()
                hits = [p for p in parts if ":loop_" in p]
                if hits:
                    name = hits[0].split(":loop_")[1]
                    counts[(tag, name)] = int(parts[0].replace(",", "")) / n
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--inner", type=int, default=20)
    parser.add_argument("--cc", default=os.environ.get("CC", "gcc"))
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions per element under valgrind instead")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n = 256 * 200
    if args.instructions:
        x = rng.normal(0.0, 3.0, n)
        counts = _instructions(args.cc, n, x.astype(np.float32), x)
        print(f"instructions per element, {n} elements (callgrind)")
        for col, dtype in ((0, "float32"), (1, "float64")):
            print(f"\n{dtype}\n")
            print("| function | vmath (SSE2, setup.py flags) | vmath (-march=x86-64-v3) "
                  "| libm (setup.py flags) |")
            print("|---|---|---|---|")
            relu = "reluf" if col == 0 else "relu"
            print(f"| relu (floor) | {counts[('default', relu)]:.1f} "
                  f"| {counts[('x86-64-v3', relu)]:.1f} | |")
            for name, funcs in FUNCTIONS.items():
                vm, libm = funcs[col], funcs[2 + col]
                print(f"| {name} | {counts[('default', vm)]:.1f} "
                      f"| {counts[('x86-64-v3', vm)]:.1f} | {counts[('default', libm)]:.1f} |")
        return
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
