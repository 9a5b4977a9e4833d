"""Matrix-product work of a case: its flop count and its BLAS-only time.

The GEMM-only bound is the time the matrix products of a fit take alone: the
same shapes (minibatch-sized), the same number of calls as the epoch loop
makes, through the same BLAS fastmlp calls (scipy's, via
``scipy.linalg.blas``), on arrays allocated beforehand, in the same run. A
fit cannot beat it by more than noise; fit time / bound says how much of a
fit is spent outside matrix products.

Per layer of fan-in ``i`` and fan-out ``o`` and a batch of ``b`` rows, one
minibatch does three products: forward ``Z = A @ W`` (``2*b*i*o`` flops),
weight gradient ``G = A.T @ D`` (``2*b*i*o``) and the back-propagated delta
``P = D @ W.T`` (``2*b*i*o``), the last skipped for the input layer. With a
sparse X the input layer's two products are sparse ones (``2*nnz*o`` each),
timed through ``scipy.sparse`` since no BLAS does them.
"""
import time
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from scipy.linalg import blas

from benchmarks.cases import PREDICT_ONE, PREDICT_PROBA

# Rows per product in the predict bound: large enough for the BLAS's peak
# speed, small enough that the bound does not need gigabytes of buffers.
PREDICT_CHUNK = 8192


def layer_sizes(case, X, y):
    """Units per layer, input to output, as scikit-learn builds them."""
    if case.task == "regression":
        n_outputs = 1 if np.ndim(y) == 1 else y.shape[1]
    else:
        n_classes = len(np.unique(y))
        # Two classes use one logistic unit, more use softmax over all.
        n_outputs = 1 if n_classes == 2 else n_classes
    return [X.shape[1], *case.hidden, n_outputs]


def _layer_flops(n_rows, nnz, sizes, backward):
    """Flops of one pass over ``n_rows`` rows (``nnz`` set when X is sparse)."""
    flops = 0
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        dense = 2.0 * n_rows * fan_in * fan_out
        forward = 2.0 * nnz * fan_out if layer == 0 and nnz is not None else dense
        flops += forward
        if backward:
            flops += forward  # weight gradient, same shape as the forward
            if layer > 0:
                flops += dense  # delta to the layer below; none into X
    return flops


def fit_flops(case, X, sizes, n_passes):
    """Matrix-product flops of a fit (or of a predict call).

    Parameters
    ----------
    case : Case
    X : ndarray or sparse matrix
        The data the case runs on.
    sizes : list of int
        From :func:`layer_sizes`.
    n_passes : int
        Epochs (adam), loss+gradient evaluations (lbfgs), 1 for predict.

    Returns
    -------
    float
    """
    nnz = X.nnz if sp.issparse(X) else None
    if case.kind == PREDICT_PROBA:
        return _layer_flops(X.shape[0], nnz, sizes, backward=False)
    if case.kind == PREDICT_ONE:
        return _layer_flops(1, None, sizes, backward=False)
    return n_passes * _layer_flops(X.shape[0], nnz, sizes, backward=True)


def _gemm(dtype):
    return blas.sgemm if dtype == np.float32 else blas.dgemm


@lru_cache(maxsize=None)
def call_overhead(dtype):
    """Seconds the Python wrapper adds to one gemm call (best of 5 loops).

    fastmlp calls BLAS from C, so the bound must not pay the f2py wrapper's
    ~1-3 us per call that dominates tiny products; it is measured on 1x1
    operands and subtracted.
    """
    gemm = _gemm(dtype)
    a = np.ones((1, 1), dtype=dtype)
    c = np.empty((1, 1), dtype=dtype, order="F")
    n_calls, best = 2000, np.inf
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n_calls):
            gemm(1.0, a, a, beta=0.0, c=c, overwrite_c=1)
        best = min(best, (time.perf_counter() - start) / n_calls)
    return best


class _Layer:
    """Preallocated operands of one layer for one batch size."""

    def __init__(self, rng, n_rows, fan_in, fan_out, dtype):
        def rand(*shape):
            return rng.standard_normal(shape).astype(dtype)

        self.A, self.W = rand(n_rows, fan_in), rand(fan_in, fan_out)
        self.D = rand(n_rows, fan_out)
        self.Z = np.empty((n_rows, fan_out), dtype=dtype)
        self.G = np.empty((fan_in, fan_out), dtype=dtype)
        self.P = np.empty((n_rows, fan_in), dtype=dtype)


class GemmBound:
    """The matrix products of one fit (or predict), ready to be timed.

    Row-major products go to the column-major BLAS transposed (the ``.T`` of
    a C array is an F array), so no operand is copied: ``Z = A @ W`` is
    ``Z.T = W.T @ A.T``.

    Parameters
    ----------
    case : Case
    X : ndarray or sparse matrix
        The case's data in the dtype being measured.
    sizes : list of int
        From :func:`layer_sizes`.
    n_passes : int
        Epochs or loss evaluations to replay.
    """

    def __init__(self, case, X, sizes, n_passes):
        self.dtype = X.dtype.type
        self.n_passes = n_passes
        self.forward_only = case.kind != "fit"
        n_samples = X.shape[0]
        if case.kind == PREDICT_ONE:
            batch = 1
        elif case.kind == PREDICT_PROBA:
            batch = min(n_samples, PREDICT_CHUNK)
        elif case.solver == "lbfgs":
            batch = n_samples  # each evaluation is one pass over all rows
        else:
            batch = min(case.batch_size, n_samples)
        n_rows = n_samples if case.kind != PREDICT_ONE else 1
        self.batches = [min(batch, n_rows - s) for s in range(0, n_rows, batch)]
        rng = np.random.default_rng(0)
        self.layers = {
            b: [_Layer(rng, b, i, o, self.dtype)
                for i, o in zip(sizes[:-1], sizes[1:])]
            for b in set(self.batches)
        }
        self.sparse_batches = None
        if sp.issparse(X):
            # Slice the minibatches once; the bound times products only.
            perm = rng.permutation(n_samples)
            self.sparse_batches = [
                X[perm[s:s + batch]] for s in range(0, n_samples, batch)]

    def n_blas_calls(self):
        """BLAS calls one replay makes (for the overhead correction)."""
        n_layers = len(next(iter(self.layers.values())))
        per_batch = n_layers if self.forward_only else 3 * n_layers - 1
        if self.sparse_batches is not None:
            per_batch -= 1 if self.forward_only else 2
        return self.n_passes * len(self.batches) * per_batch

    def run(self):
        """Replay the products; return seconds, wrapper overhead removed."""
        gemm = _gemm(self.dtype)
        sparse = self.sparse_batches
        start = time.perf_counter()
        for _ in range(self.n_passes):
            for k, b in enumerate(self.batches):
                for j, L in enumerate(self.layers[b]):
                    if j == 0 and sparse is not None:
                        sparse[k] @ L.W
                        if not self.forward_only:
                            sparse[k].T @ L.D
                        continue
                    gemm(1.0, L.W.T, L.A.T, beta=0.0, c=L.Z.T, overwrite_c=1)
                    if self.forward_only:
                        continue
                    gemm(1.0, L.D.T, L.A.T, trans_b=1, beta=0.0, c=L.G.T,
                         overwrite_c=1)
                    if j > 0:
                        gemm(1.0, L.W.T, L.D.T, trans_a=1, beta=0.0, c=L.P.T,
                             overwrite_c=1)
        elapsed = time.perf_counter() - start
        corrected = elapsed - self.n_blas_calls() * call_overhead(self.dtype)
        # Never report less than a tenth of the raw time (noise guard).
        return max(corrected, 0.1 * elapsed)
