"""What scikit-learn's callbacks cost a fit (issue 12): the small case
(digits, (100,), 50 epochs) without callbacks, with a ProgressBar, and with
a callback that stops nothing and asks for nothing (the hooks' own cost).

Variants take turns within each round, so load on a shared machine falls
on all of them alike. Issue 12's target: a ProgressBar fit within 1.05x of
the fit without.
"""
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from benchmarks import cases as cases_mod
from benchmarks.report import table


class _Silent:
    """A callback with hooks that do nothing and ask for no argument."""

    def setup(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass


def _variants():
    """(name, callbacks or None) of what can be measured here, and notes."""
    from sklearn.callback import ProgressBar

    variants = [("no callbacks", None), ("hooks that do nothing", _Silent)]
    notes = []
    try:
        import rich  # noqa: F401
    except ImportError:
        notes.append("ProgressBar skipped: rich is not installed (pip install rich).")
    else:
        variants.append(("ProgressBar", ProgressBar))
    return variants, notes


def _fit_seconds(case, X, y, make_callback):
    from fastmlp import MLPClassifier

    est = MLPClassifier(hidden_layer_sizes=case.hidden, max_iter=case.epochs,
                        batch_size=case.batch_size, random_state=0, tol=0.0,
                        n_iter_no_change=np.inf)
    if make_callback is not None:
        est.set_callbacks(make_callback())
    start = time.perf_counter()
    est.fit(X, y)
    return time.perf_counter() - start


def measure(dtype, repeats, quick, log=print):
    """Markdown body of the callbacks check."""
    variants, notes = _variants()
    case = cases_mod.cases(quick)["small"]
    X, y = cases_mod.load(case)
    X = cases_mod.as_dtype(X, np.dtype(dtype))
    times = {name: [] for name, _ in variants}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, make in variants:  # warm-up
            _fit_seconds(case, X, y, make)
        for r in range(repeats):
            order = variants if r % 2 == 0 else variants[::-1]
            for name, make in order:
                log(f"  callbacks: {name}, round {r + 1}")
                times[name].append(_fit_seconds(case, X, y, make))
    base = float(np.median(times["no callbacks"]))
    rows = []
    for name, _ in variants:
        t = float(np.median(times[name]))
        rows.append([name, f"{t * 1e3:.1f} ms", f"{t / base:.3f}"])
    body = table(["callbacks", "fit", "/ no callbacks"], rows)
    return (body + f"\n\nThe {case.title} fit, {dtype}, medians of {repeats} rounds "
            "(variants alternate within each round). Target: ProgressBar <= 1.05. "
            + " ".join(notes))
