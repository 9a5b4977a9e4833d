"""scikit-learn's estimator checks on both estimators (issue 2: drop-in replacement).

The settings follow scikit-learn's own common tests for its MLPs (max_iter=100,
sklearn/utils/_test_common/instance_generator.py), with a fixed random_state, and
cover each solver family: adam (default), sgd, and lbfgs (the full-batch path,
and the regressor without partial_fit). No check is expected to fail.

scikit-learn itself skips a few checks for its own MLPs, and so for ours: the
array-API checks (they need SCIPY_ARRAY_API=1 and an estimator that declares
array-API support, which neither does) and the decision_function check of the
classifier (there is no decision_function in scikit-learn's MLPClassifier).
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastmlp import MLPClassifier, MLPRegressor

ESTIMATORS = [
    MLPClassifier(max_iter=100, random_state=0),
    MLPRegressor(max_iter=100, random_state=0),
    MLPClassifier(solver="lbfgs", max_iter=100, random_state=0),
    MLPRegressor(solver="lbfgs", max_iter=100, random_state=0),
    MLPClassifier(solver="sgd", max_iter=100, random_state=0),
    MLPRegressor(solver="sgd", max_iter=100, random_state=0),
]


# max_iter=100 does not converge on every check's data, as in scikit-learn's run.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
