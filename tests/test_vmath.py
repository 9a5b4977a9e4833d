"""fastmlp/_engine/vmath.h against high-precision references.

float32 results are checked against float64 NumPy/SciPy (whose error is far
below a float32 ulp), float64 results against mpmath at 160 bits. Bounds: 2
ulp (float32) and 4 ulp (float64) over sweeps of the whole range, the
neighbourhoods of every split point and hypothesis-drawn values; special values
as libm; results never decrease where the function increases; and the
vectorised main loop, its scalar tail and a one-element call agree bit for bit.
tools/vmath_accuracy.py measures the same errors over all 2**32 float32 inputs.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from kernel_twins import _vmath_memview

mp = pytest.importorskip("mpmath")

# gauss: e^-(x^2), the second result of v_erf_gauss
NAMES = ["exp", "expm1", "log1p", "tanh", "erf", "gauss", "logistic", "softplus"]
DTYPES = [np.float32, np.float64]
MAX_ULP = {np.float32: 2.0, np.float64: 4.0}

REFERENCE_FLOAT64 = {  # for float32 inputs
    "exp": np.exp,
    "expm1": np.expm1,
    "log1p": np.log1p,
    "tanh": np.tanh,
    "erf": special.erf,
    "gauss": lambda x: np.exp(-x * x),  # x * x is exact for a float32 x
    "logistic": special.expit,
    "softplus": lambda x: np.logaddexp(0.0, x),
}

REFERENCE_MPMATH = {  # for float64 inputs
    "exp": mp.exp,
    "expm1": mp.expm1,
    "log1p": mp.log1p,
    "tanh": mp.tanh,
    "erf": mp.erf,
    "gauss": lambda x: mp.exp(-x * x),
    "logistic": lambda x: 1 / (1 + mp.exp(-x)),
    "softplus": lambda x: mp.log1p(mp.exp(x)),
}

# where a formula, a polynomial or a clamp changes, or the result over- or
# underflows (see vmath.h), in float32 and float64
SPLITS = {
    "exp": [0.0, 0.34657359, 1.03972077, 88.72283, 709.782712893384, -87.33654,
            -103.97208, -708.3964185322641, -745.1332191019411],
    "expm1": [0.0, 0.34657359, -0.34657359, 2.0**-25, 2.0**-54, -17.32868,
              -37.42994, 88.72283, 709.782712893384],
    "log1p": [0.0, -1.0, 0.41421356, -0.29289322, 1.0, 2.0**-25, 2.0**-54, 2.0**24],
    "tanh": [0.0, 0.55, -0.55, 9.01, 19.06],
    "erf": [0.0, 0.875, -0.875, 1.5, -1.5, 3.92, 5.93],
    "gauss": [0.0, 9.3443, 10.1966, 10.5, 26.6159, 27.2972, 27.5],
    "logistic": [0.0, -87.3, -103.97, -708.4, -745.1, 16.6, 36.7],
    "softplus": [0.0, 4.0, -87.3, -103.97, -708.4, -745.1, 16.6, 36.7],
}


def vmath(name, x):
    x = np.ascontiguousarray(x)
    y = np.empty_like(x)
    _vmath_memview(name, x, y)
    return y


def _neighbours(point, dtype, n):
    """The n floats of dtype on each side of point (and point)."""
    x = np.array([point], dtype=dtype)
    bits = x.view(np.int32 if dtype == np.float32 else np.int64)[0]
    if point == 0:
        steps = np.arange(0, n + 1)
        pos = steps.astype(bits.dtype).view(dtype)
        return np.concatenate([-pos[::-1], pos])
    steps = bits + np.arange(-n, n + 1, dtype=bits.dtype)
    return steps.view(dtype)


def _in_domain(name, x):
    return x[x >= -1] if name == "log1p" else x


def sweep(name, dtype, n_line, n_log, n_split):
    """Uniform over the interesting range, log-uniform over every magnitude and
    both signs, and the neighbourhoods of the splits."""
    top = np.finfo(dtype).max
    line = np.linspace(-800, 800, n_line)
    with np.errstate(over="ignore"):
        magnitudes = np.logspace(np.log10(np.finfo(dtype).smallest_subnormal),
                                 np.log10(top), n_log)
    magnitudes = np.minimum(magnitudes, top)
    parts = [line, magnitudes, -magnitudes, np.linspace(-10, 10, n_line)]
    parts = [p.astype(dtype) for p in parts]
    parts += [_neighbours(p, dtype, n_split) for p in SPLITS[name]
              if np.isfinite(dtype(p))]
    return np.unique(_in_domain(name, np.concatenate(parts)))


def float32_errors(name, x):
    """|y - f(x)| in float32 ulp of f(x), f(x) in float64; 0 where the
    correctly rounded result overflows and y is that inf."""
    y = vmath(name, x)
    with np.errstate(over="ignore", divide="ignore"):
        ref = REFERENCE_FLOAT64[name](x.astype(np.float64))
        rounded = ref.astype(np.float32)
    _, e = np.frexp(ref)
    ulp = np.ldexp(1.0, np.where(ref == 0, -149, np.maximum(e - 24, -149)))
    with np.errstate(invalid="ignore"):
        err = np.abs(y.astype(np.float64) - ref) / ulp
    inf = np.isinf(rounded)
    err[inf] = np.where(y[inf] == rounded[inf], 0.0, np.inf)
    return err


def float64_errors(name, x):
    """|y - f(x)| in float64 ulp, f(x) by mpmath at 160 bits."""
    y = vmath(name, x)
    f = REFERENCE_MPMATH[name]
    errors = np.empty(x.size)
    with mp.workprec(160):
        for i, (xi, yi) in enumerate(zip(x.tolist(), y.tolist())):
            ref = f(mp.mpf(xi))
            rounded = float(ref) if abs(ref) < 2**1024 else np.copysign(np.inf, float(ref))
            if rounded in (np.inf, -np.inf) or ref == 0:
                errors[i] = 0.0 if yi == rounded else np.inf
                continue
            ulp = mp.ldexp(1, max(mp.frexp(ref)[1] - 53, -1074))
            errors[i] = float(abs(mp.mpf(yi) - ref) / ulp)
    return errors


def _assert_within(errors, x, bound):
    worst = int(np.argmax(errors))
    assert errors[worst] <= bound, f"{errors[worst]:.3f} ulp at x = {x[worst]!r}"


@pytest.mark.parametrize("name", NAMES)
def test_float32_ulp_error_over_sweep(name):
    x = sweep(name, np.float32, 200_001, 200_000, 2000)
    _assert_within(float32_errors(name, x), x, MAX_ULP[np.float32])


@pytest.mark.parametrize("name", NAMES)
def test_float64_ulp_error_over_sweep(name):
    x = sweep(name, np.float64, 301, 600, 20)
    _assert_within(float64_errors(name, x), x, MAX_ULP[np.float64])


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(width=32, allow_nan=False), min_size=1, max_size=40))
def test_float32_ulp_error_hypothesis(name, values):
    x = _in_domain(name, np.array(values, dtype=np.float32))
    if x.size:
        _assert_within(float32_errors(name, x), x, MAX_ULP[np.float32])


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.floats(allow_nan=False), min_size=1, max_size=20))
def test_float64_ulp_error_hypothesis(name, values):
    x = _in_domain(name, np.array(values, dtype=np.float64))
    if x.size:
        _assert_within(float64_errors(name, x), x, MAX_ULP[np.float64])


INF = np.inf
# name -> [(x, f(x))] exactly, for both dtypes
SPECIAL = {
    "exp": [(INF, INF), (-INF, 0.0), (0.0, 1.0), (-0.0, 1.0), (1000.0, INF), (-1000.0, 0.0)],
    "expm1": [(INF, INF), (-INF, -1.0), (0.0, 0.0), (-0.0, -0.0), (1000.0, INF),
              (-1000.0, -1.0)],
    "log1p": [(INF, INF), (-INF, np.nan), (0.0, 0.0), (-0.0, -0.0), (-1.0, -INF),
              (-1.5, np.nan)],
    "tanh": [(INF, 1.0), (-INF, -1.0), (0.0, 0.0), (-0.0, -0.0), (30.0, 1.0), (-30.0, -1.0)],
    "erf": [(INF, 1.0), (-INF, -1.0), (0.0, 0.0), (-0.0, -0.0), (10.0, 1.0), (-10.0, -1.0)],
    "gauss": [(INF, 0.0), (-INF, 0.0), (0.0, 1.0), (-0.0, 1.0), (30.0, 0.0), (-30.0, 0.0)],
    "logistic": [(INF, 1.0), (-INF, 0.0), (0.0, 0.5), (-0.0, 0.5), (-1000.0, 0.0),
                 (1000.0, 1.0)],
    "softplus": [(INF, INF), (-INF, 0.0), (-1000.0, 0.0), (1000.0, 1000.0)],
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_special_values(name, dtype):
    x, expected = np.array(SPECIAL[name], dtype=dtype).T
    y = vmath(name, x)
    # assert_array_equal treats NaN as equal to NaN; signs of zero are compared
    np.testing.assert_array_equal(y, expected)
    np.testing.assert_array_equal(np.signbit(y), np.signbit(expected))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_nan_propagates_in_every_lane(name, dtype):
    # 37 elements: every position of the vector loop and of the scalar tail
    low = -0.9 if name == "log1p" else -3
    for i in range(37):
        x = np.linspace(low, 3, 37).astype(dtype)
        x[i] = np.nan
        y = vmath(name, x)
        assert np.isnan(y[i])
        assert not np.isnan(np.delete(y, i)).any()


@pytest.mark.parametrize("dtype", DTYPES)
def test_overflow_and_underflow_thresholds(dtype):
    """exp and expm1 overflow exactly where the correctly rounded result does;
    exp's subnormal results are not flushed to zero."""
    finfo = np.finfo(dtype)
    last = dtype(np.log(np.float64(finfo.max)) if dtype == np.float32 else 709.782712893384)
    for name in ("exp", "expm1"):
        x = _neighbours(last, dtype, 50)
        y = vmath(name, x)
        if dtype == np.float32:
            with np.errstate(over="ignore"):
                expected_inf = np.isinf(np.exp(x.astype(np.float64)).astype(np.float32))
        else:
            with mp.workprec(160):
                # the rounding boundary: DBL_MAX plus half its ulp
                boundary = mp.mpf(2) ** 1024 - mp.mpf(2) ** 970
                expected_inf = np.array([mp.exp(mp.mpf(float(v))) >= boundary for v in x])
        np.testing.assert_array_equal(np.isinf(y), expected_inf)
        assert expected_inf.any() and not expected_inf.all()
    x = np.array([np.log(finfo.smallest_normal) - 1, np.log(finfo.smallest_subnormal)],
                 dtype=dtype)
    y = vmath("exp", x)
    assert (0 < y).all() and (y < finfo.smallest_normal).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["expm1", "log1p", "tanh", "erf"])
def test_subnormal_inputs(name, dtype):
    """f(x) ~ f'(0) x for subnormal x: kept, not flushed (the sweeps bound
    the error; here: nonzero with x's sign, and a multiple of f'(0))."""
    tiny = np.finfo(dtype).smallest_subnormal
    x = np.array([tiny, -tiny, 1000 * tiny, -1000 * tiny], dtype=dtype)
    y = vmath(name, x)
    slope = 2 / np.sqrt(np.pi) if name == "erf" else 1.0
    np.testing.assert_allclose(y, slope * x.astype(np.float64), rtol=2e-3, atol=tiny)
    np.testing.assert_array_equal(np.sign(y), np.sign(x))


# Where two rounded terms meet, a result can step back by one ulp although
# the function increases: logistic (y0 plus its correction, across a power of
# two) and float64 tanh where t / (t + 2) hands over to 1 - 2 / (t + 2) at
# |x| = 0.55. Everything else never steps back (float32: over every 16th of
# the 2**32 inputs too, by tools/vmath_accuracy.py).
ONE_ULP_STEPS = {("logistic", np.float32), ("logistic", np.float64), ("tanh", np.float64)}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_monotone(name, dtype):
    x = sweep(name, dtype, 400_001, 100_000, 5000)
    if name == "gauss":  # decreasing in |x|: an increasing function of -|x|
        x = np.unique(-np.abs(x))
    y = vmath(name, x)
    with np.errstate(invalid="ignore"):  # inf - inf where the result overflows
        steps = np.diff(y)
    if (name, dtype) in ONE_ULP_STEPS:
        ulp = np.maximum(np.abs(np.spacing(y[1:])), np.abs(np.spacing(y[:-1])))
        bad = np.flatnonzero(steps < -ulp)
        assert bad.size == 0, f"decreases by more than an ulp at x = {x[bad[:5]]}"
    else:
        bad = np.flatnonzero(steps < 0)
        assert bad.size == 0, f"decreases at x = {x[bad[:5]]}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_same_bits_whatever_the_length_and_alignment(name, dtype):
    """Each element's result does not depend on where it falls: the packed
    main loop, the scalar tail and a one-element call agree bit for bit."""
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.normal(0, 4, 150), rng.normal(0, 400, 50),
                        [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-300]])
    if name == "log1p":
        x = np.abs(x) - 0.999
    x = x.astype(dtype)
    whole = vmath(name, x)
    uint = np.uint32 if dtype == np.float32 else np.uint64
    one_by_one = np.array([vmath(name, x[i:i + 1])[0] for i in range(x.size)], dtype=dtype)
    np.testing.assert_array_equal(whole.view(uint), one_by_one.view(uint))
    for offset in range(8):  # unaligned starts
        for length in (1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100):
            part = x[offset:offset + length]
            np.testing.assert_array_equal(vmath(name, part).view(uint),
                                          whole[offset:offset + length].view(uint))


def test_unknown_name_is_refused():
    x = np.zeros(3)
    with pytest.raises(ValueError, match="unknown vmath function"):
        _vmath_memview("sin", x, np.empty_like(x))
