"""fastmlp: scikit-learn's multilayer perceptrons with a Cython engine."""
from ._classifier import MLPClassifier
from ._regressor import MLPRegressor
# ONNX export; onnx is imported when it runs
from ._onnx import to_onnx

__version__ = "0.1.0"
__all__ = ["MLPClassifier", "MLPRegressor", "to_onnx", "__version__"]
