"""The epoch's row order (fastmlp/_shuffle.pyx) is RandomState.shuffle's:
same permutation, same state of the random stream afterwards."""
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastmlp._engine._shuffle import _MT_LAYOUT_OK, shuffle_rows


def _both(random_state_factory, n, rounds):
    """Shuffle arange(n) `rounds` times with numpy and with shuffle_rows, from
    two random states made alike; return both arrays and states."""
    theirs, ours = random_state_factory(), random_state_factory()
    a = np.arange(n, dtype=np.intp)
    b = a.copy()
    for _ in range(rounds):
        theirs.shuffle(a)
        shuffle_rows(ours, b)
    return a, b, theirs, ours


def test_numpy_mt19937_layout_recognised():
    # Without it every shuffle takes the slower generic path: still right,
    # but this machine's numpy should be the one the fast path reads.
    assert _MT_LAYOUT_OK


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 5000), seed=st.integers(0, 2**32 - 1),
       rounds=st.integers(1, 3))
def test_same_permutation_and_stream_as_randomstate(n, seed, rounds):
    a, b, theirs, ours = _both(lambda: np.random.RandomState(seed), n, rounds)
    np.testing.assert_array_equal(a, b)
    # the stream is left where numpy leaves it, so later draws agree too
    assert theirs.randint(2**31, size=5).tolist() == ours.randint(2**31, size=5).tolist()


@pytest.mark.parametrize("n", [1, 2, 623, 624, 625, 1249, 100_003])
def test_across_mersenne_twister_block_ends(n):
    # 624-word blocks: the draws cross several regenerations
    a, b, theirs, ours = _both(lambda: np.random.RandomState(12), n, 2)
    np.testing.assert_array_equal(a, b)
    assert theirs.get_state()[2] == ours.get_state()[2]
    np.testing.assert_array_equal(theirs.get_state()[1], ours.get_state()[1])


@pytest.mark.parametrize("bit_generator", [np.random.PCG64, np.random.Philox,
                                           np.random.SFC64])
def test_other_bit_generators(bit_generator):
    # RandomState over another bit generator: the generic path
    a, b, theirs, ours = _both(lambda: np.random.RandomState(bit_generator(5)), 3000, 2)
    np.testing.assert_array_equal(a, b)
    assert theirs.randint(2**31) == ours.randint(2**31)


def test_a_shuffled_array_is_shuffled_the_same_way():
    # scikit-learn shuffles arange(n) and indexes; fastmlp shuffles its
    # current order in place: the same swaps, so the same result
    order = np.random.RandomState(3).permutation(1000).astype(np.intp)
    expected = order[_both(lambda: np.random.RandomState(9), 1000, 1)[0]]
    rs = np.random.RandomState(9)
    shuffle_rows(rs, order)
    np.testing.assert_array_equal(order, expected)


def test_objects_other_than_randomstate_shuffle_themselves():
    class Recorder:
        def __init__(self):
            self.calls = 0

        def shuffle(self, x):
            self.calls += 1
            x[:] = x[::-1]

    rec = Recorder()
    rows = np.arange(5, dtype=np.intp)
    shuffle_rows(rec, rows)
    assert rec.calls == 1
    np.testing.assert_array_equal(rows, [4, 3, 2, 1, 0])


def test_concurrent_shuffles_of_one_random_state_stay_consistent():
    # The bit generator's lock is held as RandomState.shuffle holds it: two
    # threads sharing one state draw disjoint stretches of its stream, so
    # the union of their work is what two sequential shuffles would draw.
    rs = np.random.RandomState(4)
    arrays = [np.arange(20000, dtype=np.intp) for _ in range(2)]
    threads = [threading.Thread(target=shuffle_rows, args=(rs, a)) for a in arrays]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ref = np.random.RandomState(4)
    first, second = np.arange(20000), np.arange(20000)
    ref.shuffle(first)
    ref.shuffle(second)
    got = sorted(map(tuple, arrays))
    assert got == sorted([tuple(first), tuple(second)])
    assert rs.randint(2**31) == ref.randint(2**31)
