"""Fits beside a busy neighbour: the same fit alone and while another process
busy-loops on a core, each on the libraries' threads and on one thread.

Users run fits beside other work (a build, another notebook, joblib or Dask
workers). Issue 10's goal for fastmlp: with one busy neighbour, no fit takes
more than 1.5x the median time of the same fit on one thread, and alone its
threads keep their speed. The neighbour is a child process the harness
starts and stops (``python -c "while True: pass"``); each round runs every
library and thread setting once alone and once beside it, in a rotating
order. The table gives median (min-max) per cell, so the worst fit shows.
"""
import subprocess
import sys
import time
from contextlib import contextmanager

import numpy as np

from benchmarks import cases as cases_mod
from benchmarks.report import fmt_time, table

CASES = ("tiny", "small", "sparse")
SETTINGS = ("threads", "one thread")
_SETTLE_SECONDS = 0.25
GOAL = 1.5


@contextmanager
def neighbour():
    """A process busy-looping on one core while the block runs."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)  # let it start looping
        yield
    finally:
        proc.kill()
        proc.wait()


@contextmanager
def _one_thread(name):
    """The library on one thread: BLAS, OpenMP and fastmlp's own limit
    through threadpoolctl; torch's intra-op pool through its own setter."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        if name != "torch":
            yield
            return
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)


@contextmanager
def _as_is():
    yield


def _fit_seconds(peer, case, X, y, setting):
    with _one_thread(peer.name) if setting == "one thread" else _as_is():
        start = time.perf_counter()
        peer.fit(case, X, y)
        return time.perf_counter() - start


def measure_case(case, dtype, peers, repeats, log=print):
    """Times of every (library, setting, alone/neighbour) of one case.

    Returns
    -------
    dict of (str, str, bool) to list of float
        Seconds per fit, keyed by (library, setting, beside a neighbour).
    """
    X, y = cases_mod.load(case)
    X = cases_mod.as_dtype(X, np.dtype(dtype))
    active = [p for name, p in peers.items() if name in case.peers]
    tasks = [(p, s) for p in active for s in SETTINGS]
    for peer, setting in tasks:  # warm-up: imports, caches, first-call costs
        _fit_seconds(peer, case, X, y, setting)
    times = {(p.name, s, busy): [] for p, s in tasks for busy in (False, True)}
    for r in range(repeats):
        for busy in ((False, True) if r % 2 == 0 else (True, False)):
            with neighbour() if busy else _as_is():
                shift = r % len(tasks)
                for peer, setting in tasks[shift:] + tasks[:shift]:
                    time.sleep(_SETTLE_SECONDS)
                    times[(peer.name, setting, busy)].append(
                        _fit_seconds(peer, case, X, y, setting))
        log(f"    contention {case.name}: round {r + 1}/{repeats}")
    return times


def _cell(seconds):
    return (f"{fmt_time(float(np.median(seconds)))} "
            f"({fmt_time(min(seconds))}-{fmt_time(max(seconds))})")


def measure(peers, dtype, repeats, quick, log=print):
    """Markdown body of the contention section.

    Parameters
    ----------
    peers : dict of str to peer
    dtype : str
    repeats : int
        Rounds; each runs every library and setting alone and beside the
        neighbour once.
    quick : bool
    log : callable
    """
    all_cases = cases_mod.cases(quick)
    rows = []
    for name in CASES:
        case = all_cases[name]
        log(f"  contention: {name}")
        times = measure_case(case, dtype, peers, repeats, log=log)
        for lib in [n for n in peers if n in case.peers]:
            t = {(s, busy): times[(lib, s, busy)] for s in SETTINGS for busy in (False, True)}
            worst = max(t[("threads", True)]) / float(np.median(t[("one thread", True)]))
            speedup = float(np.median(t[("one thread", False)])) / float(
                np.median(t[("threads", False)]))
            rows.append([name, lib, _cell(t[("threads", False)]),
                         _cell(t[("one thread", False)]), _cell(t[("threads", True)]),
                         _cell(t[("one thread", True)]), f"{worst:.2f}",
                         f"{speedup:.2f}"])
    body = table(["case", "library", "alone, threads", "alone, 1 thread",
                  "neighbour, threads", "neighbour, 1 thread",
                  "worst / 1 thread (neighbour)", "threads speed-up (alone)"], rows)
    return (body + f"\n\n{dtype}; median (min-max) of {repeats} fits per cell. The "
            "neighbour is one process busy-looping on a core (this harness starts "
            "and stops it). `worst / 1 thread (neighbour)`: the slowest fit on the "
            "library's threads beside the neighbour over the median fit on one "
            f"thread beside it (issue 10's goal for fastmlp: at most {GOAL}). "
            "`threads speed-up (alone)`: one thread's median over the threads' "
            "median, nothing else running. One thread means BLAS, OpenMP and "
            "fastmlp limited to one through threadpoolctl, and "
            "`torch.set_num_threads(1)`.")
