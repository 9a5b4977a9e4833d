"""Dropout in the engine (issue 13): Philox-4x32-10 gives Random123's known
answers; masks are its words in 16-bit slices; masks drop at their rate (within binomial bounds), differ between
steps and layers, and are a function of the row's index, not of the part or
thread that draws them; the loss under a fixed mask is the reference's, and
its gradient that of finite differences."""
import platform
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.special import expit

from fastmlp._engine._dropout import (keep_scales, philox4x32_10, philox_blocks,
                                      philox_vectorised)
from engine_specs import engine, make_spec, problem, random_params

# Random123's kat_vectors for philox4x32_10
KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("counter, key, expected", KNOWN_ANSWERS)
def test_philox_gives_the_known_answers(counter, key, expected):
    assert philox4x32_10(counter, key) == expected


@settings(max_examples=40, deadline=None)
@given(first=st.sampled_from([0, 1, 7, 0xFFFFFFF0, 0xFFFFFFFF]), n_blocks=st.integers(0, 37),
       rest=st.tuples(*[st.integers(0, 0xFFFFFFFF)] * 3),
       key=st.tuples(*[st.integers(0, 0xFFFFFFFF)] * 2), vector=st.booleans())
def test_blocks_of_counters_are_philox_of_each_counter(first, n_blocks, rest, key, vector):
    # the vector code (AVX2, eight blocks per vector) and the scalar code
    # (four interleaved) both give each block's words; counters wrap at 2**32
    words = philox_blocks(first, n_blocks, rest, key, vector)
    expected = [w for b in range(n_blocks)
                for w in philox4x32_10(((first + b) & 0xFFFFFFFF, *rest), key)]
    assert words.tolist() == expected


def test_the_vector_code_runs_where_the_cpu_has_avx2():
    # so that the test above compares the two codes here, not the scalar twice
    flags = open("/proc/cpuinfo").read() if sys.platform == "linux" else ""
    if " avx2" not in flags or platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("not an x86-64 CPU with AVX2")
    assert philox_vectorised()


@pytest.mark.parametrize("rate", [0.05, 0.2, 0.5, 0.9])
def test_masks_drop_at_their_rate(rate):
    M = keep_scales(400, 37, 0, 1, rate, 12345, 678, 3)
    dropped = (M == 0).mean()
    n = M.size
    # five standard deviations of a binomial proportion
    assert abs(dropped - rate) < 5 * np.sqrt(rate * (1 - rate) / n)
    np.testing.assert_array_equal(np.unique(M), [0, 1 / (1 - rate)])


def test_masks_differ_between_steps_layers_and_keys_and_repeat_otherwise():
    base = keep_scales(50, 20, 0, 1, 0.5, 1, 2, 7)
    np.testing.assert_array_equal(base, keep_scales(50, 20, 0, 1, 0.5, 1, 2, 7))
    for other in (keep_scales(50, 20, 0, 1, 0.5, 1, 2, 8),     # next step
                  keep_scales(50, 20, 0, 2, 0.5, 1, 2, 7),     # another layer
                  keep_scales(50, 20, 0, 1, 0.5, 3, 2, 7)):    # another seed
        agree = (other == base).mean()
        # independent masks agree on half of their entries
        assert 0.4 < agree < 0.6


@pytest.mark.parametrize("n_units", [1, 7, 8, 37, 512, 1030])
def test_masks_are_philox_words_in_16_bit_slices(n_units):
    # unit j of row `row`: slice j % 2 (low first) of word (j % 8) // 2 of the
    # block whose counter is (j // 8, row, step, layer and high bits); the
    # engine draws four blocks at a time and 512 units per chunk, which must
    # not change a word
    rate, key, step, layer, row_start = 0.3, (99, 7), 5, 2, 2**32 - 3
    M = keep_scales(4, n_units, row_start, layer, rate, *key, step)
    threshold = int(rate * 65536 + 0.5)
    expected = np.empty_like(M)
    for r in range(4):
        row = row_start + r
        c3 = layer ^ ((row >> 32) << 8) ^ ((step >> 32) << 20)
        for j in range(n_units):
            words = philox4x32_10((j // 8, row & 0xFFFFFFFF, step, c3), key)
            half = (words[(j % 8) // 2] >> (16 * (j % 2))) & 0xFFFF
            expected[r, j] = 1 / (1 - rate) if half >= threshold else 0
    np.testing.assert_array_equal(M, expected)


def test_a_rows_mask_depends_on_its_index_only():
    whole = keep_scales(30, 9, 100, 0, 0.3, 4, 4, 1)
    np.testing.assert_array_equal(whole[10:20], keep_scales(10, 9, 110, 0, 0.3, 4, 4, 1))


def reference_loss(spec, params, X, Y, key, step):
    """The dropout network's squared-error loss in NumPy, with the engine's
    masks (keep_scales) and no batch norm."""
    A = X
    coefs = spec.groups("coef")
    intercepts = spec.groups("intercept")
    for l in range(spec.n_layers):
        W = params[coefs[l].start:coefs[l].stop].reshape(coefs[l].shape)
        Z = A @ W + params[intercepts[l].start:intercepts[l].stop]
        if l == spec.n_layers - 1:
            break
        A = {"tanh": np.tanh, "logistic": expit}[spec.hidden[l].activation](Z)
        if spec.hidden[l].dropout:
            A = A * keep_scales(X.shape[0], A.shape[1], 0, l, spec.hidden[l].dropout, *key,
                                step)
    return 0.5 * ((Z - Y) ** 2).mean(1).mean()


@pytest.mark.parametrize("n_parts", [1, 3])
def test_loss_under_a_mask_is_the_references(n_parts):
    rng = np.random.RandomState(0)
    units = [4, 9, 7, 2]
    spec = make_spec(units, [False, False], "tanh", dropout=[0.4, 0.25])
    params = random_params(spec, rng)
    X, Y = problem(rng, 30, units, "squared_error")
    loss, _ = engine(spec, params, X, Y, n_parts=n_parts, dropout_key=(3, 4), step=5)
    np.testing.assert_allclose(loss, reference_loss(spec, params, X, Y, (3, 4), 5),
                               rtol=1e-12)
    # and the masks do act: another step is another loss
    assert engine(spec, params, X, Y, n_parts=n_parts, dropout_key=(3, 4), step=6)[0] != loss


@st.composite
def dropout_problems(draw):
    n_hidden = draw(st.integers(1, 3))
    units = [draw(st.integers(1, 5))] + [draw(st.integers(1, 7)) for _ in range(n_hidden)] \
        + [draw(st.integers(2, 3))]
    rates = [draw(st.sampled_from([0.0, 0.2, 0.5])) for _ in range(n_hidden)]
    batch_norm = [draw(st.booleans()) for _ in range(n_hidden)]
    loss = draw(st.sampled_from(["squared_error", "log_loss"]))
    rng = np.random.RandomState(draw(st.integers(0, 2**31 - 1)))
    X, Y = problem(rng, draw(st.integers(2, 12)), units, loss)
    # gelu and silu keep f'(Z) from the forward pass, selu writes it from
    # its output with a parameter: the masks compose with both
    activation = draw(st.sampled_from(["tanh", "logistic", "gelu", "silu", "selu"]))
    return dict(spec=make_spec(units, batch_norm, activation, loss, dropout=rates),
                rng=rng, X=X, Y=Y, n_parts=draw(st.integers(1, 3)),
                key=(draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 2**32 - 1))),
                step=draw(st.integers(0, 2**40)))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dropout_problems())
def test_gradient_under_a_fixed_mask_matches_finite_differences(p):
    spec = p["spec"]
    params = random_params(spec, p["rng"])
    kwargs = dict(n_parts=p["n_parts"], dropout_key=p["key"], step=p["step"])
    loss, grad = engine(spec, params.copy(), p["X"], p["Y"], alpha=0.1, **kwargs)
    # the log-loss clips probabilities at eps (scikit-learn's rule), where it
    # is flat while its gradient p - y is not: masks scaling by 2 per layer
    # can push a row there (-log eps = 36 of loss, the data term being at
    # most the mean loss times the rows)
    assume(spec.loss != "log_loss" or loss * p["X"].shape[0] < 30)
    h = 1e-6
    numeric = np.empty_like(grad)
    for i in range(grad.shape[0]):
        step = np.zeros_like(params)
        step[i] = h
        numeric[i] = (engine(spec, params + step, p["X"], p["Y"], alpha=0.1, **kwargs)[0]
                      - engine(spec, params - step, p["X"], p["Y"], alpha=0.1, **kwargs)[0]
                      ) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6 + 1e-8 * abs(loss))
