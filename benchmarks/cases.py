"""The benchmark cases of issue 3: data sets and model settings.

Every case builds its data once in float64 (``make_data``) and is cast per
dtype by :func:`as_dtype`, so all libraries and both dtypes see the same
numbers. ``--quick`` swaps in tiny sizes that only prove the harness runs.
"""
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

# Peers in the order of the table; "gemm" is the BLAS-only bound, not a library.
ALL_PEERS = ("fastmlp", "sklearn", "torch")

FIT, PREDICT_ONE, PREDICT_PROBA = "fit", "predict_one", "predict_proba"


@dataclass(frozen=True)
class Case:
    """One benchmark case.

    Parameters
    ----------
    name : str
        Key used by ``--cases``.
    title : str
        Short description for the table.
    kind : {"fit", "predict_one", "predict_proba"}
        What is timed: a whole fit, ``predict`` of one row, or
        ``predict_proba`` of all rows.
    task : {"classification", "regression"}
        Chooses MLPClassifier or MLPRegressor.
    data : str
        Name of the data generator in :data:`DATA`.
    n_rows : int or None
        Rows kept from the generated data (None keeps all).
    hidden : tuple of int
        ``hidden_layer_sizes``.
    epochs : int
        ``max_iter``: epochs for adam, iterations for lbfgs. For the predict
        cases, the epochs of the fit that makes the model to predict with.
    solver : {"adam", "lbfgs", "adamw"}
    batch_size : int
    fit_rows : int or None
        Predict cases only: rows used to fit the model (weights do not
        change inference cost, so a short fit is enough).
    n_calls : int
        ``predict_one`` only: calls timed per repeat.
    peers : tuple of str
        Libraries that run this case.
    skip_notes : dict
        Why a library of :data:`ALL_PEERS` does not run this case.
    activation : str
        The hidden layers' activation (benchmarks/activations.py varies it).
    loss : str or None
        The estimators' ``loss`` (None: the task's default, scikit-learn's);
        the PyTorch loop uses the same loss.
    training : dict
        fastmlp parameters beyond scikit-learn's (solver, schedule, warm-up,
        clipping); the PyTorch loop sets up the same (torch_loop.py).
    """

    name: str
    title: str
    kind: str
    task: str
    data: str
    n_rows: int | None
    hidden: tuple
    epochs: int
    solver: str = "adam"
    batch_size: int = 200
    fit_rows: int | None = None
    n_calls: int = 0
    peers: tuple = ALL_PEERS
    skip_notes: dict = field(default_factory=dict)
    activation: str = "relu"
    loss: str | None = None
    training: dict = field(default_factory=dict)


@lru_cache(maxsize=None)
def _moons(n_rows):
    from sklearn.datasets import make_moons

    return make_moons(n_rows, noise=0.2, random_state=0)


@lru_cache(maxsize=None)
def _digits(n_rows):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    # Pixels are 0..16; the case scales them to [0, 1].
    return X[:n_rows] / 16.0, y[:n_rows]


@lru_cache(maxsize=None)
def _classification(n_rows):
    from sklearn.datasets import make_classification

    return make_classification(
        n_rows, n_features=100, n_informative=50, n_classes=10, random_state=0
    )


@lru_cache(maxsize=None)
def _regression(n_rows):
    from sklearn.datasets import make_regression

    X, y = make_regression(n_rows, n_features=50, noise=1.0, random_state=0)
    # make_regression's targets have a std of ~100; standardising them keeps
    # adam at lr 1e-3 in its useful range so R2 says something after 20 epochs.
    return X, (y - y.mean()) / y.std()


@lru_cache(maxsize=None)
def _tfidf(n_rows, n_cols=4000, density=0.01, n_classes=4):
    from sklearn.feature_extraction.text import TfidfTransformer

    rng = np.random.default_rng(0)
    counts = sp.random(
        n_rows, n_cols, density=density, format="csr", random_state=rng,
        data_rvs=lambda k: rng.integers(1, 6, size=k).astype(np.float64),
    )
    X = TfidfTransformer().fit_transform(counts).tocsr()
    # Labels from a random linear map of the features, so there is signal to learn.
    y = np.asarray(X @ rng.standard_normal((n_cols, n_classes))).argmax(axis=1)
    return X, y


DATA = {
    "moons": _moons,
    "digits": _digits,
    "classification": _classification,
    "regression": _regression,
    "tfidf": _tfidf,
}


def load(case):
    """Return ``(X, y)`` of a case in float64 (cached across dtypes)."""
    return DATA[case.data](case.n_rows)


def as_dtype(X, dtype):
    """Cast dense or sparse ``X`` to ``dtype``, C-contiguous / CSR."""
    if sp.issparse(X):
        return X.astype(dtype).tocsr()
    return np.ascontiguousarray(X, dtype=dtype)


def cases(quick=False):
    """All cases, keyed by name, at full or ``--quick`` sizes.

    Parameters
    ----------
    quick : bool
        Tiny sizes and epochs, for CI.

    Returns
    -------
    dict of str to Case
    """
    q = quick
    no_lbfgs = {"torch": "no plain-loop equivalent of scikit-learn's L-BFGS-B"}
    # issue 12: AdamW, per-step linear warm-up then cosine decay, clipping;
    # 100k rows in batches of 200 are 500 steps per epoch
    n_steps = 10 if q else 500 * 3
    modern = dict(solver="adamw", weight_decay=1e-2, learning_rate="cosine",
                  lr_schedule_unit="step", warmup_iters=n_steps // 10,
                  lr_t_max=n_steps - n_steps // 10, max_grad_norm=1.0)
    all_cases = [
        Case("tiny", "make_moons(2000), (16,)", FIT, "classification", "moons",
             400 if q else 2000, (16,), 5 if q else 200),
        Case("small", "digits [0,1], (100,)", FIT, "classification", "digits",
             500 if q else None, (100,), 3 if q else 50),
        Case("large", "classification 100k x 100, (256,256)", FIT,
             "classification", "classification", 2000 if q else 100_000,
             (256, 256), 1 if q else 3),
        Case("large_adamw", "large, adamw + warm-up + cosine + clipping", FIT,
             "classification", "classification", 2000 if q else 100_000,
             (256, 256), 1 if q else 3, solver="adamw", peers=("fastmlp", "torch"),
             skip_notes={"sklearn": "no AdamW, warm-up, cosine or clipping"},
             training=modern),
        Case("regression", "make_regression 20000 x 50, (64,64)", FIT,
             "regression", "regression", 1000 if q else 20_000, (64, 64),
             2 if q else 20),
        Case("huber", "make_regression 20000 x 50, (64,64), huber", FIT,
             "regression", "regression", 1000 if q else 20_000, (64, 64),
             2 if q else 20, loss="huber", peers=("fastmlp", "torch"),
             skip_notes={"sklearn": "scikit-learn's MLPRegressor has no Huber loss"}),
        Case("lbfgs", "digits [0,1], (100,), lbfgs", FIT, "classification",
             "digits", 500 if q else None, (100,), 5 if q else 200,
             solver="lbfgs", peers=("fastmlp", "sklearn"), skip_notes=no_lbfgs),
        Case("sparse", "TF-IDF CSR 1% dense, (100,)", FIT, "classification",
             "tfidf", 500 if q else 5000, (100,), 2 if q else 10),
        Case("predict_one", "predict 1 row, digits (100,)", PREDICT_ONE,
             "classification", "digits", None, (100,), 1 if q else 5,
             n_calls=50 if q else 1000),
        Case("predict_proba", "predict_proba 100k x 100, (256,256)",
             PREDICT_PROBA, "classification", "classification",
             2000 if q else 100_000, (256, 256), 1, fit_rows=2000),
    ]
    return {c.name: c for c in all_cases}
