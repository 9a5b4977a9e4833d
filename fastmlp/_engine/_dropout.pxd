# Dropout's masks, from a counter-based generator: Philox-4x32-10 (Salmon et
# al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), the one
# cuRAND and PyTorch's CUDA dropout use. A mask entry is a function of the
# key (from random_state), the optimizer's step, the layer, the row's index
# in the training data and the unit, never of a stream's position: any
# thread may draw any row's mask, in any order, and the same fit draws the
# same masks on any number of threads or row parts.
from cython cimport floating

cdef extern from "philox.h" nogil:
    void fastmlp_philox4x32_10(unsigned c0, unsigned c1, unsigned c2, unsigned c3,
                               unsigned k0, unsigned k1, unsigned* out) noexcept
    void fastmlp_philox_blocks(unsigned first, unsigned n_blocks, unsigned c1, unsigned c2,
                               unsigned c3, unsigned k0, unsigned k1, unsigned* out,
                               int vector) noexcept
    int fastmlp_philox_vectorised() noexcept


cdef unsigned keep_threshold(double rate) noexcept nogil

cdef void draw_keep_scale(floating* M, Py_ssize_t n_rows, Py_ssize_t n_units,
                          const Py_ssize_t* rows, Py_ssize_t row_start,
                          Py_ssize_t layer, double rate, unsigned key0, unsigned key1,
                          unsigned long long step) noexcept nogil

cdef bint mask_outputs(floating* A, floating* M, Py_ssize_t n, int activation) noexcept nogil
