# Stub for mypy: the signatures the Python layer calls (the module is Cython).
from typing import Callable, TypeVar

_T = TypeVar("_T")

OPENMP: bool

def on_threads(n_threads: int, fn: Callable[[], _T]) -> _T: ...
def _solo_count() -> int: ...
