# Stub for mypy: the signatures the Python layer calls (the module is Cython).
from typing import Any

from numpy.typing import NDArray

from ._network import Network

def predict_dense(network: Network, params: NDArray[Any], X: NDArray[Any], out: NDArray[Any],
                  chunk_rows: int, check_finite: bool, n_threads: int = 1) -> bool: ...
def predict_sparse(network: Network, params: NDArray[Any], data: NDArray[Any],
                   indices: NDArray[Any], indptr: NDArray[Any], out: NDArray[Any],
                   chunk_rows: int, n_threads: int = 1) -> Any: ...
def forward_layers(network: Network, params: NDArray[Any], X: NDArray[Any],
                   X_data: NDArray[Any], X_indices: NDArray[Any], X_indptr: NDArray[Any],
                   Z: NDArray[Any], A: NDArray[Any], chunk_rows: int) -> Any: ...
