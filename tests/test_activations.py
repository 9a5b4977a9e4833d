"""The hidden activations' kernels (fastmlp/_engine/_activations): each
activation and its derivative (written from the output, or evaluated in the
forward pass and kept) against a NumPy one-liner and against
torch.nn.functional, in both dtypes, with NaN and infinities."""
import numpy as np
import pytest
from scipy.special import expit

from fastmlp._engine._activations import DERIVATIVE_FROM_OUTPUT, DERIVATIVE_IN_FORWARD
from fastmlp._engine._common import Activation
from kernel_twins import (
    _activation_derivative_memview,
    _bias_activation_derivative_memview,
    _bias_activation_memview,
    _outer_activation_derivative_memview,
)
from fastmlp._registry import ACTIVATION_PARAMS, ACTIVATIONS
from numpy_reference import DEFAULT_PARAMS, HIDDEN, TORCH

DTYPES = [np.float32, np.float64]
# float32 kernels against a float64 reference; float64 within a few ulp of
# vmath.h's (4 ulp) and libm's results, summed over a few operations
RTOL = {np.float32: 1e-5, np.float64: 1e-12}


def _cases():
    """(name, parameters) of every activation with its defaults, and the
    parameter values that change what a layer keeps or where a piece ends."""
    variants = {"leaky_relu": [{"negative_slope": -0.3}, {"negative_slope": 1.5}],
                "elu": [{"elu_alpha": -0.5}, {"elu_alpha": 0.5}],
                # beta a power of 2: beta z is exact, so z and the
                # reference agree on the side of the threshold
                "softplus": [{"softplus_beta": 2.0, "softplus_threshold": 1.0}]}
    for name in ACTIVATIONS:
        for changed in [{}] + variants.get(name, []):
            yield pytest.param(name, {**DEFAULT_PARAMS, **changed},
                               id="-".join([name] + [f"{k}={v}" for k, v in changed.items()]))


CASES = list(_cases())


def _engine_params(name, p):
    """The activation's parameters as the engine takes them (p0, p1)."""
    values = [p[param] for param in ACTIVATIONS[name].params]
    return tuple(values + [0.0] * (2 - len(values)))


def _keeps_z(name, p):
    return not ACTIVATIONS[name].derivative_from_output(
        {param: p[param] for param in ACTIVATIONS[name].params})


def _data(dtype, shape=(13, 7), scale=3.0, seed=0):
    return (scale * np.random.RandomState(seed).randn(*shape)).astype(dtype)


def _wide(dtype):
    """Values over the whole range the kernels split at (erf's and tanh's
    pieces, exp's underflow), both signs, and 0."""
    z = np.concatenate([np.linspace(-30, 30, 121), [0.0, -0.0, 1e-30, -1e-30, 1e-3,
                                                    -1e-3, 85.0, -85.0, 300.0, -300.0]])
    return z.reshape(-1, 1).repeat(3, axis=1).astype(dtype)


def _code(name):
    return Activation[name.upper()]


# the activations whose layers may keep f'(z) from the forward pass
NEEDS_FORWARD = [name for name in ACTIVATIONS if _code(name) in DERIVATIVE_IN_FORWARD]


@pytest.mark.parametrize("name, p", CASES)
def test_the_engine_has_kernels_for_the_source_the_registry_names(name, p):
    assert _code(name) in (DERIVATIVE_IN_FORWARD if _keeps_z(name, p)
                           else DERIVATIVE_FROM_OUTPUT)


def test_every_activation_has_kernels():
    assert DERIVATIVE_IN_FORWARD | DERIVATIVE_FROM_OUTPUT == {int(code) for code in Activation}


def test_every_activation_has_its_references():
    # a new activation needs its NumPy one-liners and torch's equivalent
    assert set(HIDDEN) == set(TORCH) == set(ACTIVATIONS)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, p", CASES)
@pytest.mark.parametrize("data", [_data, _wide])
def test_bias_activation(dtype, name, p, data):
    Z = data(dtype)
    b = _data(dtype, (Z.shape[1],), scale=0.5, seed=1)
    z = (Z + b).astype(np.float64)  # the sum rounds in the dtype, as in the engine
    with np.errstate(over="ignore"):
        expected = HIDDEN[name][0](z, p)
    got = Z.copy()
    _bias_activation_memview(got, b, _code(name), *_engine_params(name, p))
    np.testing.assert_allclose(got, expected, rtol=RTOL[dtype], atol=RTOL[dtype])
    if name in NEEDS_FORWARD:
        # training's forward pass gives predictions' activations bit for bit,
        # and the derivative beside them
        A, D = Z.copy(), np.full_like(Z, np.nan)
        _bias_activation_derivative_memview(A, D, b, _code(name), *_engine_params(name, p))
        np.testing.assert_array_equal(A, got)
        np.testing.assert_allclose(D, HIDDEN[name][1](z, p), rtol=RTOL[dtype],
                                   atol=RTOL[dtype])


def test_logistic_is_finite_for_extreme_inputs():
    Z = np.array([[-1e4, -800.0, 0.0, 800.0, 1e4]])
    _bias_activation_memview(Z, np.zeros(5), Activation.LOGISTIC)
    np.testing.assert_array_equal(Z, [[0.0, expit(-800.0), 0.5, 1.0, 1.0]])


def _derivative_inputs(name, p, dtype, data):
    """z, the engine's A = f(z), and D = f'(z) where the layer keeps it
    (else None)."""
    z = data(dtype)
    A, bias = z.copy(), np.zeros(z.shape[1], dtype)
    if not _keeps_z(name, p):
        _bias_activation_memview(A, bias, _code(name), *_engine_params(name, p))
        return z, A, None
    D = np.empty_like(z)
    _bias_activation_derivative_memview(A, D, bias, _code(name), *_engine_params(name, p))
    return z, A, D


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, p", CASES)
@pytest.mark.parametrize("data", [_data, _wide])
def test_activation_derivative(dtype, name, p, data):
    z, A, D = _derivative_inputs(name, p, dtype, data)
    delta = _data(dtype, z.shape, seed=2)
    expected = delta * HIDDEN[name][1](z.astype(np.float64), p)
    _activation_derivative_memview(delta, A, D, _code(name), *_engine_params(name, p))
    np.testing.assert_allclose(delta, expected, rtol=RTOL[dtype], atol=RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, p", CASES)
@pytest.mark.parametrize("data", [_data, _wide])
def test_outer_activation_derivative(dtype, name, p, data):
    z, A, D = _derivative_inputs(name, p, dtype, data)
    d, w = _data(dtype, (z.shape[0],), seed=3), _data(dtype, (z.shape[1],), seed=4)
    expected = np.outer(d, w) * HIDDEN[name][1](z.astype(np.float64), p)
    delta = np.full_like(A, np.nan)
    _outer_activation_derivative_memview(delta, d, w, A, D, _code(name),
                                         *_engine_params(name, p))
    np.testing.assert_allclose(delta, expected, rtol=RTOL[dtype], atol=RTOL[dtype])


# -- NaN and infinities ----------------------------------------------------------------

# scikit-learn's derivatives written from the output keep delta for a NaN a
# (relu's delta[a == 0] = 0, identity's delta): a NaN reaches a layer's
# derivative only after it has reached the output and the loss
KEEP_DELTA_FOR_NAN = {"identity", "relu"}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, p", CASES)
def test_nan_propagates(dtype, name, p):
    # issue 10: a NaN pre-activation gives NaN, never 0 (relu once hid a
    # layer gone bad from predict's output check). NaN in every lane of a
    # vector and in the scalar tail.
    z = np.full((3, 9), np.nan, dtype)
    z[1, ::2] = 1.0
    nan = np.isnan(z)
    _, A, D = _derivative_inputs(name, p, dtype, lambda dtype: z)
    assert np.array_equal(np.isnan(A), nan)
    expected = np.zeros_like(nan) if name in KEEP_DELTA_FOR_NAN else nan
    if D is not None:
        assert np.array_equal(np.isnan(D), nan)
    delta = np.ones_like(z)
    _activation_derivative_memview(delta, A, D, _code(name), *_engine_params(name, p))
    assert np.array_equal(np.isnan(delta), expected)
    delta = np.empty_like(z)
    _outer_activation_derivative_memview(delta, np.ones(3, dtype), np.ones(9, dtype), A, D,
                                         _code(name), *_engine_params(name, p))
    assert np.array_equal(np.isnan(delta), expected)


# the infinities, signed zeros, and values whose activations saturate
SPECIAL = np.array([np.inf, -np.inf, 0.0, -0.0, 1.5, -1.5, 1e30, -1e30])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, p", CASES)
def test_infinities_follow_the_formula(dtype, name, p):
    # f(+-inf) is the formula's in IEEE arithmetic: the limit where a piece
    # has one, NaN where it is 0 * inf (gelu, silu at -inf, as torch's).
    # (torch's float32 gelu gives NaN at +inf too; the formula gives inf.)
    z = np.tile(SPECIAL, (3, 1)).astype(dtype)
    _, A, _ = _derivative_inputs(name, p, dtype, lambda dtype: z)
    with np.errstate(invalid="ignore", over="ignore"):
        expected = HIDDEN[name][0](z.astype(np.float64), p)
    np.testing.assert_allclose(A, expected, rtol=RTOL[dtype], atol=RTOL[dtype])
    # the derivatives at the finite ones, the saturated pieces among them
    finite = np.ascontiguousarray(z[:, 2:])
    _, A, D = _derivative_inputs(name, p, dtype, lambda dtype: finite)
    delta = np.tile(np.linspace(-2, 2, finite.shape[1]), (3, 1)).astype(dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        expected = delta * HIDDEN[name][1](finite.astype(np.float64), p)
    _activation_derivative_memview(delta, A, D, _code(name), *_engine_params(name, p))
    np.testing.assert_allclose(delta, expected, rtol=RTOL[dtype], atol=RTOL[dtype])


# -- torch.nn.functional -------------------------------------------------------------

try:
    import torch
except ImportError:  # pragma: no cover - torch is an optional test peer
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, p", CASES)
def test_against_torch(dtype, name, p):
    z, A, D = _derivative_inputs(name, p, dtype, _data)
    delta = _data(dtype, z.shape, seed=2)
    zt = torch.from_numpy(z.copy()).requires_grad_(True)
    out = TORCH[name](torch, zt, p)
    out.backward(torch.from_numpy(delta))
    tol = dict(rtol=RTOL[dtype] * 10, atol=RTOL[dtype])
    np.testing.assert_allclose(A, out.detach().numpy(), **tol)
    _activation_derivative_memview(delta, A, D, _code(name), *_engine_params(name, p))
    np.testing.assert_allclose(delta, zt.grad.numpy(), **tol)


# -- builds for wider vectors ----------------------------------------------------------

_DIGEST = r"""
import hashlib, sys
import numpy as np
sys.path[:0] = [{tests!r}]
from fastmlp._engine import _activations
from test_activations import CASES, _code, _data, _derivative_inputs, _engine_params, _wide
from fastmlp._engine._testing import (_activation_derivative_memview,
                                     _outer_activation_derivative_memview)
h = hashlib.sha256()
for case in CASES:
    name, p = case.values
    for dtype in (np.float32, np.float64):
        for data in (_data, _wide):
            z, A, D = _derivative_inputs(name, p, dtype, data)
            delta = _data(dtype, z.shape, seed=2)
            _activation_derivative_memview(delta, A, D, _code(name), *_engine_params(name, p))
            outer = np.empty_like(A)
            _outer_activation_derivative_memview(outer, _data(dtype, (z.shape[0],), seed=3),
                                                 _data(dtype, (z.shape[1],), seed=4), A, D,
                                                 _code(name), *_engine_params(name, p))
            for array in (A, D, delta, outer):
                if array is not None:
                    h.update(array.tobytes())
print(_activations.ISA, h.hexdigest())
"""


def test_every_build_of_the_loops_gives_the_same_bits():
    # setup.py builds the loops again for AVX2 and AVX-512 (x86-64); each
    # build this CPU runs must give the baseline's results bit for bit
    import os
    import subprocess
    import sys

    from fastmlp._engine import _activations

    script = _DIGEST.format(tests=os.path.dirname(__file__))
    results = {}
    for isa in ("baseline", "avx2", "avx512"):
        env = {**os.environ, "FASTMLP_ISA": isa}
        out = subprocess.run([sys.executable, "-c", script], env=env, check=True,
                             capture_output=True, text=True).stdout.split()
        results[out[0]] = out[1]
    assert "baseline" in results
    assert _activations.ISA in results   # the default is the widest one
    assert len(set(results.values())) == 1, results
