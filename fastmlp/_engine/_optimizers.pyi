# Stub for mypy: the signatures the Python layer calls (the module is Cython).
from typing import Any

from numpy.typing import NDArray

class StepSettings:
    def __init__(self, rule: int, learning_rate: float, alpha: float, momentum: float = 0, *,
                 nesterov: bool = False, beta_1: float = 0, beta_2: float = 0,
                 epsilon: float = 0, weight_decay: float = 0, momentum_decay: float = 0,
                 rho: float = 0, max_grad_norm: float = 0, t: int = 0,
                 mu_product: float = 1.0, decay: int = ..., warmup: int = 0,
                 warmup_start: float = 1.0, step_size: int = 1, gamma: float = 1.0,
                 t_max: int = 1, eta_min: float = 0.0) -> None: ...
    @property
    def t(self) -> int: ...
    @property
    def mu_product(self) -> float: ...
    def begin(self) -> float: ...
    def step(self, rate: float, params: NDArray[Any], grads: NDArray[Any],
             moment_1: NDArray[Any], moment_2: NDArray[Any], n_coefs: int,
             sw_sum: float = 1.0) -> Any: ...
