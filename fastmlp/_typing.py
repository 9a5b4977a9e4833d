"""Aliases for the public API's annotations."""
import scipy.sparse as sp
from numpy.typing import ArrayLike

# X: anything scikit-learn's validation turns into a 2-D array (lists, NumPy
# arrays, DataFrames), or a scipy sparse matrix or array
MatrixLike = ArrayLike | sp.spmatrix | sp.sparray
