# Stub for mypy: the signatures the Python layer calls (the module is Cython).
from typing import Any

from numpy.typing import NDArray

from ._network import Network

def loss_gradient(network: Network, params: NDArray[Any], grads: NDArray[Any],
                  work: NDArray[Any], X: NDArray[Any], X_data: NDArray[Any],
                  X_indices: NDArray[Any], X_indptr: NDArray[Any], Y: NDArray[Any],
                  sample_weight: NDArray[Any], chunk_rows: int, n_parts: int,
                  n_threads: int, alpha: float, delta_scale: float,
                  running_stats: NDArray[Any] | None = None, momentum: float = 1.0,
                  dropout_key: tuple[int, int] | None = None,
                  dropout_step: int = 0) -> float: ...
def forward_loss(network: Network, params: NDArray[Any], work: NDArray[Any],
                 X: NDArray[Any], X_data: NDArray[Any], X_indices: NDArray[Any],
                 X_indptr: NDArray[Any], Y: NDArray[Any], sample_weight: NDArray[Any],
                 chunk_rows: int, n_parts: int, n_threads: int, alpha: float,
                 l2_divisor: float, l2_params: NDArray[Any] | None = None) -> float: ...
