"""Interleaved, repeated timing of one case at one dtype.

Every round runs each library once (and the GEMM-only bound once), in an order
that rotates from round to round, so drifts of a shared machine (another
build, frequency changes) spread over all libraries instead of biasing one.
One untimed warm-up run of each comes first; the table reports medians.
"""
import gc
import time
from dataclasses import dataclass, field

import numpy as np

from benchmarks.cases import FIT, PREDICT_ONE, as_dtype, load
from benchmarks.gemm_bound import GemmBound, fit_flops, layer_sizes

BOUND = "gemm"


@dataclass
class PeerResult:
    """Timings and quality of one library on one case and dtype.

    ``times`` holds seconds per fit (or per ``predict_proba`` call), or per
    single-row ``predict`` call for the latency case.
    """

    times: list = field(default_factory=list)
    score: float | None = None
    n_iter: int | None = None
    flops: float | None = None

    @property
    def median(self):
        return float(np.median(self.times)) if self.times else None

    @property
    def gflops(self):
        if not self.flops or not self.times:
            return None
        return self.flops / self.median / 1e9


@dataclass
class CaseResult:
    """All libraries' results on one case and dtype."""

    case: object
    dtype: str
    peers: dict
    bound: PeerResult | None = None
    notes: list = field(default_factory=list)


_SETTLE_SECONDS = 0.25


def _warm_up(tasks, log):
    """Run every task once, untimed: imports, caches, first-call costs."""
    for task in tasks.values():
        gc.collect()
        task()
    log("    warm-up done")


def _rounds(tasks, repeats, log):
    """Run ``tasks`` (name -> callable returning seconds, or a list of them)
    for ``repeats`` rounds, interleaved in a rotating order."""
    names = list(tasks)
    times = {name: [] for name in names}
    for r in range(repeats):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()  # a collection owed by the previous task must not land here
            # BLAS and OpenMP worker threads spin for up to ~0.1 s after their
            # last call (OpenBLAS: 2**28 cycles): let the previous library's
            # go to sleep before timing the next one on the same cores.
            time.sleep(_SETTLE_SECONDS)
            elapsed = tasks[name]()
            if isinstance(elapsed, list):
                times[name].extend(elapsed)
            else:
                times[name].append(elapsed)
        log(f"    round {r + 1}/{repeats}")
    return times


def _fit_task(peer, case, X, y, models):
    def task():
        start = time.perf_counter()
        models[peer.name] = peer.fit(case, X, y)
        return time.perf_counter() - start
    return task


def _predict_one_task(peer, model, x_one, n_calls):
    def task():
        calls = []
        for _ in range(n_calls):
            start = time.perf_counter_ns()
            peer.predict(model, x_one)
            calls.append((time.perf_counter_ns() - start) * 1e-9)
        return calls
    return task


def _predict_proba_task(peer, model, X):
    def task():
        start = time.perf_counter()
        peer.predict_proba(model, X)
        return time.perf_counter() - start
    return task


def run_case(case, dtype, peers, repeats, log=print):
    """Measure one case at one dtype.

    Parameters
    ----------
    case : Case
    dtype : {"float32", "float64"}
    peers : dict of str to peer
        Loaded libraries; those not in ``case.peers`` are skipped.
    repeats : int
        Timed rounds after the warm-up.
    log : callable
        Progress sink.

    Returns
    -------
    CaseResult
    """
    X, y = load(case)
    X = as_dtype(X, np.dtype(dtype))
    sizes = layer_sizes(case, X, y)
    active = {n: p for n, p in peers.items() if n in case.peers}
    result = CaseResult(case, dtype, {n: PeerResult() for n in active})
    for name, why in case.skip_notes.items():
        if name in peers:
            result.notes.append(f"{name} skipped: {why}")

    models = {}
    if case.kind == FIT:
        tasks = {n: _fit_task(p, case, X, y, models) for n, p in active.items()}
    else:
        # The model to predict with: a short fit, not timed.
        X_fit, y_fit = X[:case.fit_rows], y[:case.fit_rows]
        models = {n: p.fit(case, X_fit, y_fit) for n, p in active.items()}
        if case.kind == PREDICT_ONE:
            x_one = np.ascontiguousarray(X[:1])
            tasks = {n: _predict_one_task(p, models[n], x_one, case.n_calls)
                     for n, p in active.items()}
        else:
            tasks = {n: _predict_proba_task(p, models[n], X)
                     for n, p in active.items()}

    _warm_up(tasks, log)
    # Passes the bound replays: the epochs (or lbfgs iterations) fastmlp ran.
    n_passes = case.epochs
    if case.kind == FIT and "fastmlp" in active:
        n_passes = active["fastmlp"].n_iter(models["fastmlp"])
    if case.kind != PREDICT_ONE:
        bound = GemmBound(case, X, sizes, n_passes)
        bound.run()  # warm-up
        tasks[BOUND] = bound.run

    times = _rounds(tasks, repeats, log)
    for name, peer in active.items():
        res = result.peers[name]
        res.times = times[name]
        if case.kind == FIT:
            model = models[name]
            res.score = peer.score(model, X, y)
            res.n_iter = peer.n_iter(model)
            res.flops = fit_flops(case, X, sizes, res.n_iter)
        else:
            res.flops = fit_flops(case, X, sizes, 1)
    if BOUND in times:
        result.bound = PeerResult(times=times[BOUND],
                                  flops=fit_flops(case, X, sizes, n_passes))
    _check_agreement(result)
    return result


def _check_agreement(result):
    """Note where fastmlp's work or model differs from scikit-learn's."""
    fm, sk = result.peers.get("fastmlp"), result.peers.get("sklearn")
    if fm is None or sk is None or fm.score is None:
        return
    if fm.n_iter != sk.n_iter:
        result.notes.append(
            f"iterations differ: fastmlp {fm.n_iter}, sklearn {sk.n_iter}")
    # Same settings and seed give the same model in float64 (issue 2).
    if result.dtype == "float64" and abs(fm.score - sk.score) > 0.01:
        result.notes.append(
            f"scores differ: fastmlp {fm.score:.4f}, sklearn {sk.score:.4f}")
