"""A fit/predict/partial_fit cycle through every engine path, small enough
for valgrind (tools/valgrind_check.sh): dense float64 and float32, CSR and
CSC, adam/sgd/lbfgs, every output type, early stopping, warm_start,
partial_fit, one-row and chunked prediction, a diverging fit and bad input.
"""
import warnings

import numpy as np
import scipy.sparse as sp

from fastmlp import MLPClassifier, MLPRegressor

warnings.simplefilter("ignore")
ACTIVATIONS = ("relu", "logistic", "tanh", "identity")
rng = np.random.RandomState(0)
X = rng.randn(60, 5)
X[rng.rand(60, 5) < 0.3] = 0
y_class = np.arange(60) % 3
y_binary = (X[:, 0] > 0).astype(int)
y_multilabel = np.c_[y_binary, X[:, 1] > 0]
y_reg = np.c_[X[:, 0] - X[:, 1], X[:, 2]]

for dtype in (np.float64, np.float32):
    for make_X in (np.asarray, sp.csr_matrix, sp.csc_matrix, np.asfortranarray):
        Xd = make_X(X.astype(dtype))
        for solver in ("adam", "sgd", "lbfgs"):
            for i, y in enumerate((y_class, y_binary, y_multilabel)):
                activation = ACTIVATIONS[(i + len(solver)) % 4]
                clf = MLPClassifier(hidden_layer_sizes=(7, 3), activation=activation,
                                    solver=solver, max_iter=2, batch_size=16,
                                    early_stopping=solver != "lbfgs" and y is y_class,
                                    random_state=0)
                clf.fit(Xd, y, sample_weight=np.linspace(0.5, 1.5, 60))
                clf.predict_proba(Xd)
                clf.predict(X[:1].astype(dtype))
            reg = MLPRegressor(hidden_layer_sizes=(4,), activation=ACTIVATIONS[len(solver) % 4],
                               solver=solver, max_iter=2, random_state=0, warm_start=True)
            reg.fit(Xd, y_reg).fit(Xd, y_reg)
            reg.predict(Xd)
            MLPRegressor(loss="poisson", solver=solver, hidden_layer_sizes=(), max_iter=2,
                         random_state=0).fit(Xd, np.abs(y_reg[:, 0])).predict(Xd)
        pf = MLPClassifier(hidden_layer_sizes=(6,), random_state=0)
        pf.partial_fit(Xd[:20], y_class[:20], classes=[0, 1, 2])
        for i in range(5):
            pf.partial_fit(Xd[10 * i:10 * i + 10], y_class[10 * i:10 * i + 10])
        pf.predict(Xd)

# faults: divergence (restored), bad input (refused)
reg = MLPRegressor(hidden_layer_sizes=(4,), solver="sgd", learning_rate_init=1e300, random_state=0)
for bad in (lambda: reg.fit(X, y_reg),
            lambda: MLPClassifier().fit(X, np.zeros(60)),
            lambda: MLPClassifier(hidden_layer_sizes=(10**12,)).fit(X, y_class)):
    try:
        bad()
    except (ValueError, MemoryError):
        pass
print("workload done")
