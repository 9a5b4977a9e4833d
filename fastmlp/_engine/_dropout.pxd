# Dropout's masks, from a counter-based generator: Philox-4x32-10 (Salmon et
# al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), the one
# cuRAND and PyTorch's CUDA dropout use. A mask entry is a function of the
# key (from random_state), the optimizer's step, the layer, the row's index
# in the training data and the unit, never of a stream's position: any
# thread may draw any row's mask, in any order, and the same fit draws the
# same masks on any number of threads or row parts.
from cython cimport floating

cdef extern from *:
    """
    #include <stdint.h>

    /* Philox-4x32-10: the counter (c0..c3) under the key (k0, k1) to four
       random words (out). */
    static inline void fastmlp_philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2,
                                             uint32_t c3, uint32_t k0, uint32_t k1,
                                             uint32_t* out) {
        int i;
        for (i = 0; i < 10; i++) {
            uint64_t p0 = (uint64_t)0xD2511F53u * c0;
            uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
            uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
            uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
            c1 = (uint32_t)p1;
            c3 = (uint32_t)p0;
            c0 = n0;
            c2 = n2;
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
    }
    """
    void fastmlp_philox4x32_10(unsigned c0, unsigned c1, unsigned c2, unsigned c3,
                               unsigned k0, unsigned k1, unsigned* out) noexcept nogil


cdef unsigned keep_threshold(double rate) noexcept nogil

cdef void draw_keep_scale(floating* M, Py_ssize_t n_rows, Py_ssize_t n_units,
                          const Py_ssize_t* rows, Py_ssize_t row_start,
                          Py_ssize_t layer, double rate, unsigned key0, unsigned key1,
                          unsigned long long step) noexcept nogil
