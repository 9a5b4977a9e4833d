"""A smoke test of an installed fastmlp wheel: python tools/wheel_smoke.py

Run by .ci/run (in a clean virtual environment without a compiler) and by
cibuildwheel (pyproject.toml's test-command), from outside the source tree,
so that `import fastmlp` finds the installed package. Checks that fastmlp is
imported from site-packages, that the wheel holds no generated C, no test-only
module and no build leftovers, and that both estimators fit and predict.
FASTMLP_EXPECT_OPENMP=0 expects a build without OpenMP (one thread).
"""
import os
import sys
import sysconfig
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor
from fastmlp._engine._team import OPENMP


def check_installed_package():
    package = Path(fastmlp.__file__).resolve().parent
    site = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}
    assert package.parent in site, f"fastmlp imported from {package}, not from {site}"
    files = [p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file()]
    unwanted = [f for f in files
                if f.endswith((".c", ".o")) or "_testing" in f.rsplit("/", 1)[-1]]
    assert not unwanted, f"the wheel holds {unwanted}"
    assert "py.typed" in files, "the wheel lacks py.typed"
    engines = [f for f in files if f.startswith("_engine/") and f.endswith((".so", ".pyd"))]
    assert engines, "the wheel holds no compiled engine"
    return package, len(files)


def check_fits():
    X, y = make_classification(n_samples=400, n_features=10, n_informative=6,
                               n_classes=3, class_sep=2.0, random_state=0)
    clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=300, random_state=0).fit(X, y)
    accuracy = clf.score(X, y)
    assert accuracy > 0.9, f"training accuracy {accuracy}"
    proba = clf.predict_proba(X)
    assert np.allclose(proba.sum(axis=1), 1.0)
    X, y = make_regression(n_samples=400, n_features=8, noise=0.1, random_state=0)
    reg = MLPRegressor(hidden_layer_sizes=(32,), solver="lbfgs", max_iter=500,
                       random_state=0).fit(X, y / y.std())
    r2 = reg.score(X, y / y.std())
    assert r2 > 0.95, f"training R^2 {r2}"
    return accuracy, r2


def main():
    warnings.simplefilter("ignore", ConvergenceWarning)
    expect_openmp = os.environ.get("FASTMLP_EXPECT_OPENMP", "1") != "0"
    assert OPENMP == expect_openmp, f"built with OpenMP: {OPENMP}, expected {expect_openmp}"
    package, n_files = check_installed_package()
    accuracy, r2 = check_fits()
    print(f"fastmlp {fastmlp.__version__} from {package} ({n_files} files, OpenMP: {OPENMP}) "
          f"on Python {sys.version.split()[0]}: accuracy {accuracy:.3f}, R^2 {r2:.3f}")


if __name__ == "__main__":
    main()
