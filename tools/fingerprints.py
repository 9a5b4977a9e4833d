"""Fingerprints of fitted models, to show a refactoring changes no model bit.

Fits a matrix of settings (every solver, hidden activation and output type,
both dtypes, dense and sparse X, sample weights, early stopping, warm start,
partial_fit, several row parts) and prints one line per fit: a hash of the
parameters' bytes, of the loss curve and of the predictions. Run it before
and after a change, in the same environment and thread count, and diff:

    python tools/fingerprints.py > before.txt
    ... change ...
    python tools/fingerprints.py > after.txt && diff before.txt after.txt

A refactoring that claims "every model bit for bit unchanged" must give no
diff. Run it with OMP_NUM_THREADS=1 too: the row parts then run serially.
"""
import hashlib
import itertools
import sys
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_digits, make_multilabel_classification, make_regression

from fastmlp import MLPClassifier, MLPRegressor


def _digest(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _data():
    X, y = load_digits(return_X_y=True)
    X = X[:600] / 16.0
    y = y[:600]
    Xr, yr = make_regression(n_samples=400, n_features=12, n_targets=2, noise=0.3,
                             random_state=0)
    yr = yr / yr.std(axis=0)
    Xm, ym = make_multilabel_classification(n_samples=300, n_features=10, n_classes=3,
                                            random_state=0)
    rng = np.random.RandomState(1)
    Xs = sp.random(500, 300, density=0.03, format="csr", random_state=rng)
    ys = rng.randint(0, 4, 500)
    sw = rng.uniform(0.2, 2.0, 600)
    return {
        "digits": (X, y, sw),
        "binary": (X, (y > 4).astype(int), sw),
        "multilabel": (Xm, ym, None),
        "regression": (Xr, yr, None),
        "poisson": (Xr, np.exp(yr[:, 0] / 2), None),
        "sparse": (Xs, ys, None),
    }


def _fits():
    data = _data()
    activations = ["identity", "logistic", "tanh", "relu"]
    for dtype, activation, solver, name in itertools.product(
            (np.float64, np.float32), activations, ("adam", "sgd", "lbfgs"),
            ("digits", "binary", "multilabel", "regression", "poisson", "sparse")):
        X, y, sw = data[name]
        X = X.astype(dtype)
        Est = MLPRegressor if name in ("regression", "poisson") else MLPClassifier
        params = dict(hidden_layer_sizes=(24, 12), activation=activation, solver=solver,
                      random_state=0, max_iter=4 if solver != "lbfgs" else 15,
                      batch_size=64)
        if name == "poisson":
            params["loss"] = "poisson"
        yield f"{name} {dtype.__name__} {activation} {solver}", Est(**params), X, y, None
        if name == "digits" and activation == "relu":
            yield f"{name} {dtype.__name__} {solver} weighted", Est(**params), X, y, sw
            if solver != "lbfgs":
                yield (f"{name} {dtype.__name__} {solver} early_stopping",
                       Est(**params, early_stopping=True, n_iter_no_change=2), X, y, None)
                yield (f"{name} {dtype.__name__} {solver} big batch",
                       Est(**{**params, "batch_size": 600, "hidden_layer_sizes": (200,)}),
                       X, y, None)


def main():
    warnings.simplefilter("ignore")
    for label, est, X, y, sw in _fits():
        est.fit(X, y, sample_weight=sw)
        if est.solver != "lbfgs":
            # warm start and partial_fit go on from the fitted model
            est.set_params(warm_start=True, max_iter=2)
            est.fit(X, y, sample_weight=sw)
            if not est.early_stopping:
                est.partial_fit(X, y)
        curve = np.asarray(getattr(est, "loss_curve_", [est.loss_]), dtype=float)
        out = (est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X))
        print(f"{label:45s} params {_digest(*est.coefs_, *est.intercepts_)} "
              f"curve {_digest(curve)} out {_digest(out)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
