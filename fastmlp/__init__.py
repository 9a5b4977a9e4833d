"""fastmlp: scikit-learn's multilayer perceptrons with a Cython engine."""
from ._classifier import MLPClassifier
from ._regressor import MLPRegressor

__version__ = "0.1.0"
__all__ = ["MLPClassifier", "MLPRegressor", "__version__"]
