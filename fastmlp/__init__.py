"""fastmlp: scikit-learn's multilayer perceptrons with a Cython engine."""
from ._classifier import MLPClassifier
from ._plots import DecisionRegionsDisplay, LossCurveDisplay
from ._regressor import MLPRegressor
# ONNX export; onnx and skl2onnx are imported when these run
from ._onnx import to_onnx
from ._onnx_skl2onnx import register_skl2onnx
from ._files import ModelFileError, load
from ._sklearn_interop import from_sklearn

__version__ = "0.1.0"
__all__ = ["MLPClassifier", "MLPRegressor", "ModelFileError", "from_sklearn", "load",
           "register_skl2onnx", "to_onnx", "LossCurveDisplay", "DecisionRegionsDisplay",
           "__version__"]
