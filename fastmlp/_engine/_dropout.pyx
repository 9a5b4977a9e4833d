"""Dropout's masks (see _dropout.pxd): inverted dropout keeps a unit with
probability 1 - rate and scales it by 1 / (1 - rate), so a layer's expected
output is the same in training and in predictions, which use no mask."""
import numpy as np


from ._common cimport IDENTITY, LOGISTIC, TANH, RELU
from ._activations cimport identity_derivative, logistic_derivative, tanh_derivative, \
    relu_derivative

# Units whose Philox words draw_keep_scale's loop draws at once, into a
# stack buffer of _CHUNK_WORDS (two units per word).
cdef enum:
    _CHUNK_UNITS = 512
    _CHUNK_WORDS = 256


cdef unsigned keep_threshold(double rate) noexcept nogil:
    """A unit's 16-bit draw h keeps it when h >= rate 2**16 (rounded): the
    probability of a drop is the rate rounded to a multiple of 2**-16
    (eight units per Philox block: its 128 bits in 16-bit slices)"""
    return <unsigned>(rate * 65536.0 + 0.5)


cdef void draw_keep_scale(floating* M,    # OUT (n_rows, n_units): 0 or 1 / (1 - rate)
                          Py_ssize_t n_rows, Py_ssize_t n_units,
                          const Py_ssize_t* rows,  # IN the rows' indices in the
                                                   # data, or NULL: row_start + r
                          Py_ssize_t row_start, Py_ssize_t layer, double rate,
                          unsigned key0, unsigned key1,
                          unsigned long long step) noexcept nogil:
    """M[r, j] = keep(r, j) / (1 - rate): unit j of a row is 16-bit slice
    j % 2 (low first) of word (j % 8) // 2 of the Philox block whose counter
    is (j // 8, row index, step, layer and the row index's and step's high
    bits)"""
    cdef Py_ssize_t r, w, c, n, row
    cdef unsigned words[_CHUNK_WORDS]
    cdef unsigned threshold = keep_threshold(rate), c3, word
    cdef floating scale = <floating>(1.0 / (1.0 - rate))
    cdef floating* m
    for r in range(n_rows):
        row = rows[r] if rows != NULL else row_start + r
        c3 = (<unsigned>layer ^ (<unsigned>(<unsigned long long>row >> 32) << 8)
              ^ (<unsigned>(step >> 32) << 20))
        m = M + r * n_units
        c = 0
        while c < n_units:
            n = min(<Py_ssize_t>_CHUNK_UNITS, n_units - c)
            fastmlp_philox_blocks(<unsigned>(c // 8), <unsigned>((n + 7) // 8),
                                  <unsigned>row, <unsigned>step, c3, key0, key1, words, 1)
            # a word's two units at a time: a loop the compiler vectorises
            # (selects, no branch to mispredict on random bits)
            for w in range(n // 2):
                word = words[w]
                m[c + 2 * w] = scale if (word & 0xFFFF) >= threshold else 0
                m[c + 2 * w + 1] = scale if (word >> 16) >= threshold else 0
            if n % 2:
                m[c + n - 1] = scale if (words[n // 2] & 0xFFFF) >= threshold else 0
            c += _CHUNK_UNITS


cdef bint mask_outputs(floating* A,   # IN f(Z), OUT masked: A S
                       floating* M,   # IN the keep scales S, OUT S f'(Z)
                       Py_ssize_t n, int activation) noexcept nogil:
    """M = S f'(Z) (f' written from the output A before it is masked), A *= S:
    one pass, for scikit-learn's four activations; False (nothing done) for
    the others, whose f' takes parameters or is kept from the forward pass"""
    cdef Py_ssize_t i
    cdef floating s, a
    if activation == RELU:
        for i in range(n):
            s, a = M[i], A[i]
            M[i] = relu_derivative(s, a)
            A[i] = a * s
    elif activation == TANH:
        for i in range(n):
            s, a = M[i], A[i]
            M[i] = tanh_derivative(s, a)
            A[i] = a * s
    elif activation == LOGISTIC:
        for i in range(n):
            s, a = M[i], A[i]
            M[i] = logistic_derivative(s, a)
            A[i] = a * s
    elif activation == IDENTITY:
        for i in range(n):
            s, a = M[i], A[i]
            M[i] = identity_derivative(s, a)
            A[i] = a * s
    else:
        return False
    return True


def philox4x32_10(counter, key):
    """For the tests: Philox-4x32-10 of a counter (4 words) under a key (2)."""
    cdef unsigned out[4]
    fastmlp_philox4x32_10(counter[0], counter[1], counter[2], counter[3], key[0], key[1],
                          out)
    return tuple(out)


def philox_blocks(unsigned first, unsigned n_blocks, counter_rest, key, bint vector):
    """For the tests: the words of Philox blocks first..first + n_blocks - 1
    (counter (first + b, *counter_rest)), by the vector code where the CPU
    has it (vector) or the scalar code."""
    cdef unsigned[::1] out = np.zeros(4 * n_blocks, dtype=np.uint32)
    if n_blocks:
        fastmlp_philox_blocks(first, n_blocks, counter_rest[0], counter_rest[1],
                              counter_rest[2], key[0], key[1], &out[0], vector)
    return np.asarray(out)


def philox_vectorised():
    """Whether this CPU draws Philox blocks with vector instructions."""
    return bool(fastmlp_philox_vectorised())


def keep_scales(Py_ssize_t n_rows, Py_ssize_t n_units, Py_ssize_t row_start,
                Py_ssize_t layer, double rate, unsigned key0, unsigned key1,
                unsigned long long step):
    """For the tests: the mask scales of rows row_start:row_start + n_rows."""
    cdef double[:, ::1] M = np.empty((n_rows, n_units))
    if n_rows and n_units:
        draw_keep_scale(&M[0, 0], n_rows, n_units, NULL, row_start, layer, rate, key0,
                        key1, step)
    return np.asarray(M)
