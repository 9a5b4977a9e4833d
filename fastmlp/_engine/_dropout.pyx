"""Dropout's masks (see _dropout.pxd): inverted dropout keeps a unit with
probability 1 - rate and scales it by 1 / (1 - rate), so a layer's expected
output is the same in training and in predictions, which use no mask."""
import numpy as np


cdef unsigned keep_threshold(double rate) noexcept nogil:
    """A random word w keeps its unit when w >= rate 2**32 (rounded): the
    probability of a drop is rate to within 2**-32"""
    cdef double t = rate * 4294967296.0 + 0.5
    return <unsigned>min(t, 4294967295.0)


cdef void draw_keep_scale(floating* M,    # OUT (n_rows, n_units): 0 or 1 / (1 - rate)
                          Py_ssize_t n_rows, Py_ssize_t n_units,
                          const Py_ssize_t* rows,  # IN the rows' indices in the
                                                   # data, or NULL: row_start + r
                          Py_ssize_t row_start, Py_ssize_t layer, double rate,
                          unsigned key0, unsigned key1,
                          unsigned long long step) noexcept nogil:
    """M[r, j] = keep(r, j) / (1 - rate): one Philox block per four units of
    a row, its counter (units // 4, row index, step, layer and the row
    index's and step's high bits)"""
    cdef Py_ssize_t r, j, row
    cdef unsigned words[4]
    cdef unsigned threshold = keep_threshold(rate)
    cdef floating scale = <floating>(1.0 / (1.0 - rate))
    cdef floating* m
    for r in range(n_rows):
        row = rows[r] if rows != NULL else row_start + r
        m = M + r * n_units
        for j in range(n_units):
            if j % 4 == 0:
                fastmlp_philox4x32_10(<unsigned>(j // 4), <unsigned>row, <unsigned>step,
                                      <unsigned>layer
                                      ^ (<unsigned>(<unsigned long long>row >> 32) << 8)
                                      ^ (<unsigned>(step >> 32) << 20),
                                      key0, key1, words)
            m[j] = scale if words[j % 4] >= threshold else 0


def philox4x32_10(counter, key):
    """For the tests: Philox-4x32-10 of a counter (4 words) under a key (2)."""
    cdef unsigned out[4]
    fastmlp_philox4x32_10(counter[0], counter[1], counter[2], counter[3], key[0], key[1],
                          out)
    return tuple(out)


def keep_scales(Py_ssize_t n_rows, Py_ssize_t n_units, Py_ssize_t row_start,
                Py_ssize_t layer, double rate, unsigned key0, unsigned key1,
                unsigned long long step):
    """For the tests: the mask scales of rows row_start:row_start + n_rows."""
    cdef double[:, ::1] M = np.empty((n_rows, n_units))
    if n_rows and n_units:
        draw_keep_scale(&M[0, 0], n_rows, n_units, NULL, row_start, layer, rate, key0,
                        key1, step)
    return np.asarray(M)
