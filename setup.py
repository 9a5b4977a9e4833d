"""Build the Cython engine.

Directives are set once here for every module. FASTMLP_DEBUG=1 builds with
bounds checking and without -O3, for the debug test run.
tests/test_build.py cythonizes every module with these directives and fails
on any warning Cython gives (this module is importable for that: it builds
only when run as a script, as pip and `python setup.py` run it).
"""
import os

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("FASTMLP_DEBUG", "0") not in ("", "0")

MODULES = [
    "_common",
    "_blas",
    "_activations",
    "_losses",
    "_optimizers",
    "_sparse",
    "_narrow",
    "_shuffle",
    "_network",
    "_part",
    "_team",
    "_epochs",
    "_full_batch",
    "_inference",
    "_testing",
    "_fastmlp_threads",
]


def compiler_directives(debug):
    """Cython's directives for every module: indexing unchecked unless debug."""
    return {
        "language_level": 3,
        "boundscheck": debug,
        "wraparound": False,
        "cdivision": True,
        "initializedcheck": debug,
        "embedsignature": True,
    }


# -fno-math-errno lets sqrt vectorise and -fno-trapping-math lets selects
# (relu) vectorise; neither changes a result: errno is never read and no FP
# trap is enabled.
compile_args = ["-O0", "-g"] if DEBUG else ["-O3", "-fno-math-errno", "-fno-trapping-math"]

# Modules with OpenMP regions: a fit's team of threads, inference's chunks
OPENMP_MODULES = {"_team", "_inference"}

extensions = [
    Extension(
        f"fastmlp._engine.{name}",
        [f"fastmlp/_engine/{name}.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
        extra_compile_args=compile_args + (["-fopenmp"] if name in OPENMP_MODULES else []),
        extra_link_args=["-fopenmp"] if name in OPENMP_MODULES else [],
    )
    for name in MODULES
]

if __name__ == "__main__":
    # every core, for Cython and for the C compiler: a build compiles each
    # module once per Python in CI, and a user's pip builds it too
    n_jobs = os.cpu_count() or 1
    setup(ext_modules=cythonize(extensions, compiler_directives=compiler_directives(DEBUG),
                                nthreads=n_jobs),
          options={"build_ext": {"parallel": n_jobs}})
