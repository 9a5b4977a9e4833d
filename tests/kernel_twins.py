"""The engine kernels' Python twins (fastmlp/_engine/_testing), for the tests
that call kernels directly: ``from kernel_twins import _gemm_memview``.

A wheel leaves that test-only module out (setup.py), so against fastmlp
installed from a wheel the tests importing from here are skipped, saying why.
A source tree (an in-place build, an editable install, an unpacked sdist)
holds _testing.pyx and must have built it: there a missing module is an
error, never a skip, so CI cannot silently run fewer tests.
"""
import importlib
from pathlib import Path

import pytest

import fastmlp

if not (Path(fastmlp.__file__).parent / "_engine" / "_testing.pyx").exists():
    pytest.skip(
        f"fastmlp at {Path(fastmlp.__file__).parent} was installed from a wheel, which "
        "leaves out the test-only module fastmlp._engine._testing; run these tests "
        "against a source tree (pip install -e .)",
        allow_module_level=True,
    )

_testing = importlib.import_module("fastmlp._engine._testing")


def __getattr__(name):
    return getattr(_testing, name)
