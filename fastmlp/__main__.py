"""Demo: ``python -m fastmlp``.

Trains fastmlp's and scikit-learn's MLPClassifier with the same settings on
scikit-learn's bundled digits data and prints accuracy and fit time of each.
"""
import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier

from . import MLPClassifier


def _best_fit_time(cls, params, X, y, repeats):
    times = []
    for _ in range(repeats):
        model = cls(**params)
        start = time.perf_counter()
        model.fit(X, y)
        times.append(time.perf_counter() - start)
    return model, min(times)


def main(argv=None):
    """Run the demo.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (``--repeats``, ``--dtype``).
    """
    parser = argparse.ArgumentParser(prog="python -m fastmlp", description=__doc__)
    parser.add_argument("--repeats", type=int, default=3,
                        help="fits per library; the fastest is reported")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(args.dtype)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    params = dict(hidden_layer_sizes=(100,), max_iter=50, random_state=0)
    print(f"digits: {X_train.shape[0]} training rows, {X.shape[1]} features, "
          f"10 classes, {args.dtype}; MLPClassifier({params})")
    print(f"{'library':<14}{'fit time':>12}{'test accuracy':>16}")
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, cls in [("fastmlp", MLPClassifier), ("scikit-learn", SklearnMLPClassifier)]:
            model, seconds = _best_fit_time(cls, params, X_train, y_train, args.repeats)
            accuracy = model.score(X_test, y_test)
            results[name] = (model, seconds)
            print(f"{name:<14}{seconds * 1000:>10.1f}ms{accuracy:>16.4f}")
    fast, slow = results["fastmlp"], results["scikit-learn"]
    agree = np.mean(fast[0].predict(X_test) == slow[0].predict(X_test))
    print(f"fastmlp is {slow[1] / fast[1]:.1f}x faster; the two models agree on "
          f"{agree:.1%} of test predictions")


if __name__ == "__main__":
    main()
