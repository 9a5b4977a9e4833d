"""Does fit release the GIL? Two fits in two threads vs one after the other.

BLAS (and OpenMP) are limited to one thread (threadpoolctl) so that any speed-up comes from
the two Python threads running at once, which they can only do if the fit
releases the GIL. Issue 3's target for fastmlp: threaded / sequential <= 0.6.
scikit-learn is measured beside it for reference.
"""
import dataclasses
import threading
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from benchmarks import cases as cases_mod
from benchmarks.report import table

LIBS = ("fastmlp", "sklearn")


def _case(quick):
    """A mid-sized fit: the large case's data, fewer rows, one layer."""
    large = cases_mod.cases(quick)["large"]
    return dataclasses.replace(large, name="threads", hidden=(128,),
                               epochs=1 if quick else 3)


def _two_fits(peer, case, X, y, threaded):
    """Seconds to fit two estimators (different seeds), threaded or not."""
    ests = [peer.make(case, random_state=seed) for seed in (0, 1)]
    start = time.perf_counter()
    if threaded:
        workers = [threading.Thread(target=e.fit, args=(X, y)) for e in ests]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    else:
        for e in ests:
            e.fit(X, y)
    return time.perf_counter() - start


def measure(peers, dtype, repeats, quick, log=print):
    """Markdown body of the threads check (or why it was skipped).

    Parameters
    ----------
    peers : dict of str to peer
    dtype : str
    repeats : int
        Timed rounds after one warm-up; each round runs both variants.
    quick : bool
    log : callable
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return "Skipped: threadpoolctl is not installed (pip install threadpoolctl)."
    case = _case(quick)
    X, y = cases_mod.load(case)
    n_rows = 2000 if quick else 20_000
    X = cases_mod.as_dtype(X[:n_rows], np.dtype(dtype))
    y = y[:n_rows]
    rows = []
    # Filters are set once, outside the threads: catch_warnings is not thread-safe.
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name in LIBS:
            if name not in peers:
                continue
            log(f"  threads: {name}")
            peer = peers[name]
            _two_fits(peer, case, X, y, threaded=True)  # warm-up
            seq, par = [], []
            for r in range(repeats):
                # Alternate which variant goes first.
                for threaded in ((False, True) if r % 2 == 0 else (True, False)):
                    (par if threaded else seq).append(
                        _two_fits(peer, case, X, y, threaded))
            s, p = float(np.median(seq)), float(np.median(par))
            rows.append([name, f"{s:.3f} s", f"{p:.3f} s", f"{p / s:.2f}"])
    body = table(["library", "sequential (2 fits)", "2 threads", "threads / sequential"],
                 rows)
    return (body + f"\n\nTwo fits of {n_rows} x {X.shape[1]} {dtype}, hidden "
            f"{case.hidden}, max_iter={case.epochs}, BLAS and OpenMP limited to 1 thread; "
            f"medians of {repeats}. Below 1 means the fits overlapped "
            "(target for fastmlp: <= 0.6).")
