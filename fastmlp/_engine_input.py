"""X as the engine reads it: a C-contiguous dense array, or CSR arrays."""
import numpy as np
import scipy.sparse as sp

_NO_INDEX = np.zeros(1, dtype=np.intp)


def engine_input(X, dtype):
    """The arguments (X_dense, data, indices, indptr) the engine takes for X.

    Dense X is passed as is when it is already C-contiguous in `dtype` (no
    copy); sparse X becomes CSR with intp indices, and the dense slot gets an
    empty (0, 0) array, which is how the engine tells the two apart. The
    engine checks the CSR arrays against the network before it reads them;
    the index arrays are always copies, so that no one else (another thread
    holding X) can change them once checked.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Sparse X must have a valid structure (_checks.check_sparse_structure).
    dtype : {np.float32, np.float64}

    Returns
    -------
    X_dense : ndarray of shape (n_samples, n_features) or (0, 0)
    data : ndarray of shape (nnz,)
    indices : ndarray of shape (nnz,) of intp
    indptr : ndarray of shape (n_samples + 1,) of intp
    """
    if sp.issparse(X):
        X = X.tocsr()
        # scipy allows arrays longer than the last row pointer: the rest is unused
        nnz = int(X.indptr[-1])
        data = np.ascontiguousarray(X.data[:nnz], dtype=dtype)
        indices = X.indices[:nnz].astype(np.intp)
        indptr = X.indptr.astype(np.intp)
        return np.empty((0, 0), dtype=dtype), data, indices, indptr
    X = np.ascontiguousarray(X, dtype=dtype)
    return X, np.zeros(1, dtype=dtype), _NO_INDEX, _NO_INDEX
