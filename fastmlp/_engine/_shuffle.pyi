# Stub for mypy: the signatures the Python layer calls (the module is Cython).
from typing import Any

from numpy.typing import NDArray

def shuffle_rows(random_state: Any, rows: NDArray[Any]) -> None: ...
