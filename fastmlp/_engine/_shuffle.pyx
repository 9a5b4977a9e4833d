"""The epoch's row order: numpy's legacy RandomState.shuffle, draw for draw.

scikit-learn shuffles each epoch's rows with RandomState.shuffle, and the same
seed must give the same minibatches here. That loop spends most of its time
in calls: one into the bit generator per draw (which loads and stores the
Mersenne Twister's position each time) and three memcpy per swap. This one
makes the same draws the same way (numpy's random_interval: masked rejection)
and the same swaps, reading the Twister's words in a local loop when the bit
generator is numpy's MT19937 (its state layout checked once, at import), and
through the bit generator's C interface otherwise.
"""
import numpy as np

from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.stdint cimport uint32_t, uint64_t
from numpy.random cimport bitgen_t


cdef enum:
    MT_WORDS = 624


cdef struct _MTState:
    # numpy's mt19937_state (numpy/random/src/mt19937/mt19937.h)
    uint32_t key[MT_WORDS]
    int pos


cdef inline bitgen_t* _bitgen(bit_generator) except NULL:
    return <bitgen_t*>PyCapsule_GetPointer(bit_generator.capsule, "BitGenerator")


def _mt_layout_matches():
    """Whether numpy's MT19937 state is laid out as _MTState: read one
    through it and compare with what get_state() reports."""
    rs = np.random.RandomState(20261122)
    rs.randint(1 << 30, size=7)   # the position away from a block's end
    name, key, pos = rs.get_state()[:3]
    cdef _MTState* st = <_MTState*>_bitgen(rs._bit_generator).state
    return (name == "MT19937" and st.pos == pos
            and all(st.key[i] == key[i] for i in range(MT_WORDS)))


_MT_LAYOUT_OK = _mt_layout_matches()


cdef extern from *:
    int __builtin_clzll(unsigned long long x) nogil


cdef inline uint64_t _smear(uint64_t m) noexcept nogil:
    """The smallest all-ones bit mask >= m (m >= 1): numpy's six shift-ors in
    two instructions, which matters on the draw loop's dependency chain"""
    return (<uint64_t>0xffffffffffffffffULL) >> __builtin_clzll(m)


cdef inline uint64_t _interval(bitgen_t* bitgen, uint64_t high) noexcept nogil:
    """A draw in [0, high]: numpy's random_interval (masked rejection, 32-bit
    draws below 2**32), which RandomState.shuffle uses"""
    cdef uint64_t mask, value
    if high == 0:
        return 0
    mask = _smear(high)
    if high <= <uint64_t>0xffffffffU:
        value = bitgen.next_uint32(bitgen.state) & mask
        while value > high:
            value = bitgen.next_uint32(bitgen.state) & mask
    else:
        value = bitgen.next_uint64(bitgen.state) & mask
        while value > high:
            value = bitgen.next_uint64(bitgen.state) & mask
    return value


cdef void _shuffle(bitgen_t* bitgen, Py_ssize_t* x, Py_ssize_t n) noexcept nogil:
    """Fisher-Yates from the end, as numpy does: x[i] swaps with x[j], j a
    draw in [0, i], for i = n - 1 down to 1"""
    cdef Py_ssize_t i, j, swap
    for i in range(n - 1, 0, -1):
        j = <Py_ssize_t>_interval(bitgen, <uint64_t>i)
        swap = x[i]
        x[i] = x[j]
        x[j] = swap


cdef enum:
    MT_SHIFT = 397   # the Twister's M: word i mixes with word i + M


cdef void _mt_twist(uint32_t* key) noexcept nogil:
    """The next block of state words, as numpy's mt19937_gen makes it: in
    three loops whose reads run ahead of their writes (the second reads words
    the first wrote, 227 back), so each vectorises"""
    cdef int i
    cdef uint32_t y
    for i in range(MT_WORDS - MT_SHIFT):
        y = (key[i] & 0x80000000U) | (key[i + 1] & 0x7fffffffU)
        key[i] = key[i + MT_SHIFT] ^ (y >> 1) ^ (-(y & 1) & 0x9908b0dfU)
    for i in range(MT_WORDS - MT_SHIFT, MT_WORDS - 1):
        y = (key[i] & 0x80000000U) | (key[i + 1] & 0x7fffffffU)
        key[i] = key[i + MT_SHIFT - MT_WORDS] ^ (y >> 1) ^ (-(y & 1) & 0x9908b0dfU)
    y = (key[MT_WORDS - 1] & 0x80000000U) | (key[0] & 0x7fffffffU)
    key[MT_WORDS - 1] = key[MT_SHIFT - 1] ^ (y >> 1) ^ (-(y & 1) & 0x9908b0dfU)


cdef void _mt_temper(const uint32_t* key, uint32_t* out, int start) noexcept nogil:
    """out[i] = the Twister's output of key[i], for i in start:624; one
    vectorised pass, off the draw loop"""
    cdef int i
    cdef uint32_t y
    for i in range(start, MT_WORDS):
        y = key[i]
        y ^= y >> 11
        y ^= (y << 7) & 0x9d2c5680U
        y ^= (y << 15) & 0xefc60000U
        y ^= y >> 18
        out[i] = y


cdef void _shuffle_mt(bitgen_t* bitgen, Py_ssize_t* x, Py_ssize_t n) noexcept nogil:
    """_shuffle for numpy's MT19937 with n <= 2**32: its next_uint32, with
    each block of state words twisted (when the position reaches its end, as
    numpy does) and tempered in bulk, and the position in a register.

    i runs down through bands [low, 2 * low) that share one mask, so a draw's
    dependency on the previous one is a compare and a subtract; and a
    rejected draw swaps x[i] with itself and keeps i, so no branch depends on
    a draw (one would be mispredicted about a quarter of the time).
    """
    cdef _MTState* st = <_MTState*>bitgen.state
    cdef uint32_t words[MT_WORDS]
    cdef int pos = st.pos
    cdef Py_ssize_t i = n - 1, j, low, xi, xj
    cdef uint32_t value, mask
    cdef bint ok
    if i > 0 and pos < MT_WORDS:
        _mt_temper(st.key, words, pos)
    while i > 0:
        mask = <uint32_t>_smear(<uint64_t>i)
        low = (mask >> 1) + 1
        while i >= low:
            if pos == MT_WORDS:
                _mt_twist(st.key)
                _mt_temper(st.key, words, 0)
                pos = 0
            value = words[pos] & mask
            pos += 1
            ok = value <= <uint32_t>i
            # j = value if ok else i, in arithmetic: GCC makes a branch of a select
            j = i + ((<Py_ssize_t>value - i) & -<Py_ssize_t>ok)
            xi = x[i]
            xj = x[j]
            x[j] = xi
            x[i] = xj
            i -= ok
    st.pos = pos


def shuffle_rows(random_state, Py_ssize_t[::1] rows):
    """Shuffle `rows` in place exactly as ``random_state.shuffle(rows)`` would.

    Parameters
    ----------
    random_state : numpy.random.RandomState
        Its bit generator advances as RandomState.shuffle would advance it.
        Any other object with a ``shuffle`` method is asked to shuffle.
    rows : ndarray of intp, 1-D, C-contiguous
    """
    cdef Py_ssize_t n = rows.shape[0]
    cdef Py_ssize_t* x = &rows[0] if n > 0 else NULL
    cdef bitgen_t* bitgen
    cdef bint mt
    bit_generator = getattr(random_state, "_bit_generator", None)
    if type(random_state) is not np.random.RandomState or bit_generator is None:
        random_state.shuffle(np.asarray(rows))
        return
    bitgen = _bitgen(bit_generator)
    mt = (_MT_LAYOUT_OK and type(bit_generator) is np.random.MT19937
          and n - 1 <= <Py_ssize_t>0xffffffff)
    # RandomState.shuffle holds its bit generator's lock the same way
    with bit_generator.lock:
        with nogil:
            if mt:
                _shuffle_mt(bitgen, x, n)
            else:
                _shuffle(bitgen, x, n)
