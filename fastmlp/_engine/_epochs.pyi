# Stub for mypy: the signatures the Python layer calls (the module is Cython).
from typing import Any

from numpy.typing import NDArray

from ._network import Network
from ._optimizers import StepSettings

class Epochs:
    def __init__(self, network: Network, params: NDArray[Any], grads: NDArray[Any],
                 moment_1: NDArray[Any], moment_2: NDArray[Any], work: NDArray[Any],
                 X: NDArray[Any], X_data: NDArray[Any], X_indices: NDArray[Any],
                 X_indptr: NDArray[Any], Y: NDArray[Any], sample_weight: NDArray[Any],
                 order: NDArray[Any], batch_size: int, gather: bool, n_parts: int,
                 n_threads: int, running_stats: NDArray[Any] | None = None,
                 dropout_key: tuple[int, int] = (0, 0)) -> None: ...
    @property
    def n_threads(self) -> int: ...
    def jobs_run(self) -> Any: ...
    def slow_thread(self, tid: int, seconds: float, mid_job: bool) -> None: ...
    def run(self, settings: StepSettings) -> Any: ...
