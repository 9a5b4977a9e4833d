"""fastmlp: scikit-learn's multilayer perceptrons with a Cython engine."""
from typing import TYPE_CHECKING

from ._classifier import MLPClassifier
from ._regressor import MLPRegressor
# ONNX export; onnx and skl2onnx are imported when these run
from ._onnx import to_onnx
from ._onnx_skl2onnx import register_skl2onnx
from ._files import ModelFileError, load
from ._sklearn_interop import from_sklearn

if TYPE_CHECKING:
    from ._plots import DecisionRegionsDisplay, LossCurveDisplay

__version__ = "0.1.0"
__all__ = ["MLPClassifier", "MLPRegressor", "ModelFileError", "from_sklearn", "load",
           "register_skl2onnx", "to_onnx", "LossCurveDisplay", "DecisionRegionsDisplay",
           "__version__"]

# The Displays subclass scikit-learn's DecisionBoundaryDisplay, whose module
# imports scikit-learn's ensembles and trees: loaded at first use, so that
# importing fastmlp does not pay for them
_PLOTS = ("LossCurveDisplay", "DecisionRegionsDisplay")


def __getattr__(name):
    if name in _PLOTS:
        from . import _plots

        return getattr(_plots, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_PLOTS))
