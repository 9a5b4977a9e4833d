"""The hidden activations beyond scikit-learn's (issue 11): the small and large
cases with gelu, silu, elu and leaky_relu, fastmlp beside the PyTorch loop
with the same layers, loss, optimizer and epochs, and beside fastmlp's own
relu fit of the same case, timed in the same interleaved rounds.

Issue 11's targets: >= 3x PyTorch on small, >= 1.5x PyTorch on large
float32, and on large float32 no activation more than 1.25x the relu fit.
scikit-learn has none of these activations, so it does not run here.
"""
import copy
import dataclasses
import time

import numpy as np

from benchmarks import cases as cases_mod
from benchmarks.cases import as_dtype, load
from benchmarks.measure import _rounds, _warm_up
from benchmarks.report import fmt_time, table

ACTIVATIONS = ("gelu", "silu", "elu", "leaky_relu")
BASES = ("small", "large")
RELU = "fastmlp relu"


def _isa():
    """Which build of fastmlp's activation loops runs (avx512, avx2, baseline)."""
    try:
        from fastmlp._engine import _activations
    except ImportError:
        return "unknown"
    return getattr(_activations, "ISA", "baseline")


def measure(peers, dtypes, repeats, quick, log=print):
    """Time every activation case; returns the section's markdown.

    Parameters
    ----------
    peers : dict of str to peer
        The loaded libraries (fastmlp, and torch if installed).
    dtypes : list of str
    repeats : int
        Timed rounds after one warm-up.
    quick : bool
        Tiny sizes (the cases' --quick sizes).
    """
    all_cases = cases_mod.cases(quick)
    fastmlp, torch = peers["fastmlp"], peers.get("torch")
    rows = []
    for base_name in BASES:
        base = all_cases[base_name]
        for dtype in dtypes:
            X, y = load(base)
            X = as_dtype(X, np.dtype(dtype))
            for activation in ACTIVATIONS:
                case = dataclasses.replace(base, name=f"{base_name} {activation}",
                                           activation=activation)
                log(f"{case.name} {dtype}")
                models, cpu = {}, {}
                tasks = {"fastmlp": _fit_task(fastmlp, case, X, y, models, cpu)}
                relu = copy.copy(fastmlp)
                relu.name = RELU
                tasks[RELU] = _fit_task(relu, base, X, y, models, cpu)
                if torch is not None:
                    tasks["torch"] = _fit_task(torch, case, X, y, models, cpu)
                _warm_up(tasks, log)
                for times in cpu.values():
                    times.clear()
                times = _rounds(tasks, repeats, log)
                rows.append(_row(case, dtype, times, cpu, models, fastmlp, torch, X, y))
    header = ["case", "dtype", "time fm", "time fm relu", "fm/relu", "cpu fm/relu",
              "time torch", "torch/fm", "cpu torch/fm", "score fm", "score fm relu",
              "score torch"]
    notes = (
        f"fastmlp's activation loops ran in their `{_isa()}` build "
        "(`fastmlp._engine._activations.ISA`). Medians over the repeats; `fm relu` "
        "is fastmlp's fit of the same case with relu, timed in the same rounds: "
        "`fm/relu` above 1 means the activation costs that much more than relu. "
        "`torch/fm` above 1: fastmlp is faster. `cpu` ratios divide the process's CPU "
        "time instead (all its threads): on a shared machine they drift less than "
        "wall time, but count threads that spin while waiting. PyTorch's loop uses "
        "nn.GELU, nn.SiLU, nn.ELU, nn.LeakyReLU with their defaults, which are "
        "fastmlp's.")
    if torch is None:
        notes += " torch is not installed: its columns are empty."
    return table(header, rows) + "\n\n" + notes


def _fit_task(peer, case, X, y, models, cpu):
    """A fit of `peer`: returns its wall time, appends its CPU time to
    cpu[peer.name]."""
    cpu[peer.name] = []

    def task():
        wall, start = time.perf_counter(), time.process_time()
        models[peer.name] = peer.fit(case, X, y)
        cpu[peer.name].append(time.process_time() - start)
        return time.perf_counter() - wall
    return task


def _median(times):
    return float(np.median(times)) if times else None


def _ratio(numerator, denominator):
    return "-" if numerator is None or denominator is None else f"{numerator / denominator:.2f}x"


def _row(case, dtype, times, cpu, models, fastmlp, torch, X, y):
    fm, relu, th = (_median(times.get(name, [])) for name in ("fastmlp", RELU, "torch"))
    cpu_fm, cpu_relu, cpu_th = (_median(cpu.get(name, []))
                                for name in ("fastmlp", RELU, "torch"))
    score_torch = "-" if torch is None else f"{torch.score(models['torch'], X, y):.4f}"
    return [case.name, dtype, fmt_time(fm), fmt_time(relu), _ratio(fm, relu),
            _ratio(cpu_fm, cpu_relu), fmt_time(th), _ratio(th, fm), _ratio(cpu_th, cpu_fm),
            f"{fastmlp.score(models['fastmlp'], X, y):.4f}",
            f"{fastmlp.score(models[RELU], X, y):.4f}", score_torch]
