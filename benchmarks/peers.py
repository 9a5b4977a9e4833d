"""fastmlp and scikit-learn behind the small interface the harness times.

A peer turns a :class:`~benchmarks.cases.Case` into a fitted model and answers
``score``, ``predict``, ``predict_proba`` and ``n_iter`` for it. The PyTorch
peer lives in :mod:`benchmarks.torch_loop` with the same methods.
"""
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

def estimator_params(case):
    """Constructor parameters shared by fastmlp and scikit-learn for a case.

    ``tol=0`` and ``n_iter_no_change=inf`` make every fit run exactly
    ``max_iter`` epochs, so all libraries do the same work. A case's loss
    beyond scikit-learn's (huber) and its training settings beyond
    scikit-learn's (``Case.training``) are fastmlp's alone.
    """
    loss = {} if case.loss is None else {"loss": case.loss}
    params = dict(
        **loss,
        hidden_layer_sizes=case.hidden,
        activation=case.activation,
        solver=case.solver,
        alpha=1e-4,
        batch_size=case.batch_size,
        learning_rate_init=1e-3,
        max_iter=case.epochs,
        shuffle=True,
        random_state=0,
        tol=0.0,
        n_iter_no_change=np.inf,
        early_stopping=False,
    )
    # fastmlp's settings beyond scikit-learn's (the cases scikit-learn skips)
    return {**params, **case.training}


class EstimatorPeer:
    """A scikit-learn-API MLP library (fastmlp or scikit-learn itself).

    Parameters
    ----------
    name : str
        Column name in the table.
    classifier, regressor : type
        The library's MLPClassifier and MLPRegressor.
    """

    def __init__(self, name, classifier, regressor):
        self.name = name
        self._classes = {"classification": classifier, "regression": regressor}

    def make(self, case, **overrides):
        """A fresh, unfitted estimator with the case's settings."""
        return self._classes[case.task](**{**estimator_params(case), **overrides})

    def fit(self, case, X, y):
        """Fit a fresh estimator with the case's settings and return it."""
        est = self.make(case)
        with warnings.catch_warnings():
            # max_iter is the epoch budget here, not a sign of trouble.
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
        return est

    def score(self, model, X, y):
        """Accuracy (classifier) or R2 (regressor) on ``X, y``."""
        return model.score(X, y)

    def predict(self, model, X):
        return model.predict(X)

    def predict_proba(self, model, X):
        return model.predict_proba(X)

    def n_iter(self, model):
        return model.n_iter_


def load_fastmlp():
    """Return the fastmlp peer.

    Raises
    ------
    ImportError
        fastmlp is not importable; the harness exists to measure it, so it
        does not run without it.
    """
    from fastmlp import MLPClassifier, MLPRegressor

    return EstimatorPeer("fastmlp", MLPClassifier, MLPRegressor)


def load_sklearn():
    """Return the scikit-learn peer."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    return EstimatorPeer("sklearn", MLPClassifier, MLPRegressor)


def load_peers(names):
    """Load the peers named in ``names``.

    Returns
    -------
    peers : dict of str to peer
        The importable ones, in the order of ``names``.
    notes : list of str
        Why a named peer is missing (e.g. torch not installed).
    """
    peers, notes = {}, []
    for name in names:
        if name == "fastmlp":
            peers[name] = load_fastmlp()
        elif name == "sklearn":
            peers[name] = load_sklearn()
        elif name == "torch":
            from benchmarks import torch_loop

            peer = torch_loop.load()
            if peer is None:
                notes.append("torch is not installed: PyTorch columns skipped "
                             "(pip install 'fastmlp[bench]').")
            else:
                peers[name] = peer
    return peers, notes
