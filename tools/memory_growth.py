"""Does memory grow over many fits? (issue 4)

Runs 1,000 consecutive fits (adam, sgd and lbfgs, dense and sparse, with
predictions) and 10,000 partial_fit calls in one process, and measures the
resident set size after a warm-up and at the end. A leaked parameter, work
or prediction buffer per call would add megabytes (each is >= 10 KiB here);
the bound leaves room for allocator noise only.

    python tools/memory_growth.py [--fits N] [--partial-fits N]

Prints the figures and a last line starting with OK or FAIL (exit 1).
"""
import argparse
import gc
import os
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp

from fastmlp import MLPClassifier, MLPRegressor

BOUND_MIB = 8.0


def rss_mib():
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=1000)
    parser.add_argument("--partial-fits", type=int, default=10_000)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    rng = np.random.RandomState(0)
    X = rng.randn(300, 20)
    X_sparse = sp.csr_matrix(np.where(np.abs(X) > 1, X, 0))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 1)
    y_reg = X[:, :3].sum(axis=1)
    settings = [
        (MLPClassifier, dict(solver="adam"), X, y),
        (MLPClassifier, dict(solver="sgd", early_stopping=True), X, y),
        (MLPRegressor, dict(solver="lbfgs"), X, y_reg),
        (MLPRegressor, dict(solver="adam"), X_sparse, y_reg),
        (MLPClassifier, dict(solver="adam"), X.astype(np.float32), y),
    ]

    def one_fit(i):
        Est, params, Xs, ys = settings[i % len(settings)]
        model = Est(hidden_layer_sizes=(64,), max_iter=3, random_state=i, **params)
        model.fit(Xs, ys)
        model.predict(Xs[:50])
        model.predict(Xs[:1])

    warm_up = max(1, args.fits // 5)
    for i in range(warm_up):
        one_fit(i)
    gc.collect()
    start_rss, start = rss_mib(), time.perf_counter()
    for i in range(args.fits):
        one_fit(i)
    gc.collect()
    fits_growth = rss_mib() - start_rss
    print(f"{args.fits} fits (after {warm_up} warm-up): RSS {start_rss:.1f} -> "
          f"{rss_mib():.1f} MiB, growth {fits_growth:+.2f} MiB "
          f"({time.perf_counter() - start:.1f} s)")

    model = MLPClassifier(hidden_layer_sizes=(64,), random_state=0)
    classes = np.unique(y)
    warm_up = max(1, args.partial_fits // 5)
    for i in range(warm_up):
        model.partial_fit(X[i % 10 * 30:(i % 10 + 1) * 30], y[i % 10 * 30:(i % 10 + 1) * 30],
                          classes=classes)
    # loss_curve_ gains a float per call, as in scikit-learn: 10,000 calls
    # make it ~0.3 MiB, which the bound allows
    gc.collect()
    start_rss, start = rss_mib(), time.perf_counter()
    for i in range(args.partial_fits):
        model.partial_fit(X[i % 10 * 30:(i % 10 + 1) * 30], y[i % 10 * 30:(i % 10 + 1) * 30])
        if i % 100 == 0:
            model.predict(X[:5])
    gc.collect()
    partial_growth = rss_mib() - start_rss
    print(f"{args.partial_fits} partial_fit calls (after {warm_up} warm-up): RSS "
          f"{start_rss:.1f} -> {rss_mib():.1f} MiB, growth {partial_growth:+.2f} MiB "
          f"({time.perf_counter() - start:.1f} s)")

    worst = max(fits_growth, partial_growth)
    verdict = "OK" if worst < BOUND_MIB else "FAIL"
    print(f"{verdict}: largest growth {worst:+.2f} MiB (bound {BOUND_MIB} MiB)")
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
