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

    /* The blocks of counters (first + b, c1, c2, c3), b < n_blocks, into
       out[4 b .. 4 b + 3]: four blocks at a time, interleaved, because one
       block's ten rounds are a chain of dependent multiplies (latency
       bound) and four independent chains fill the multiplier. */
    static inline void fastmlp_philox_blocks(uint32_t first, uint32_t n_blocks,
                                             uint32_t c1, uint32_t c2, uint32_t c3,
                                             uint32_t k0, uint32_t k1, uint32_t* out) {
        uint32_t b, l;
        int i;
        for (b = 0; b < n_blocks; b += 4) {
            uint32_t x0[4], x1[4], x2[4], x3[4];
            uint32_t ka = k0, kb = k1;
            for (l = 0; l < 4; l++) {
                x0[l] = first + b + l; x1[l] = c1; x2[l] = c2; x3[l] = c3;
            }
            for (i = 0; i < 10; i++) {
                for (l = 0; l < 4; l++) {
                    uint64_t p0 = (uint64_t)0xD2511F53u * x0[l];
                    uint64_t p1 = (uint64_t)0xCD9E8D57u * x2[l];
                    uint32_t n0 = (uint32_t)(p1 >> 32) ^ x1[l] ^ ka;
                    uint32_t n2 = (uint32_t)(p0 >> 32) ^ x3[l] ^ kb;
                    x1[l] = (uint32_t)p1;
                    x3[l] = (uint32_t)p0;
                    x0[l] = n0;
                    x2[l] = n2;
                }
                ka += 0x9E3779B9u;
                kb += 0xBB67AE85u;
            }
            for (l = 0; l < 4 && b + l < n_blocks; l++) {
                out[4 * (b + l)] = x0[l];
                out[4 * (b + l) + 1] = x1[l];
                out[4 * (b + l) + 2] = x2[l];
                out[4 * (b + l) + 3] = x3[l];
            }
        }
    }
    """
    void fastmlp_philox4x32_10(unsigned c0, unsigned c1, unsigned c2, unsigned c3,
                               unsigned k0, unsigned k1, unsigned* out) noexcept nogil
    void fastmlp_philox_blocks(unsigned first, unsigned n_blocks, unsigned c1, unsigned c2,
                               unsigned c3, unsigned k0, unsigned k1,
                               unsigned* out) noexcept nogil


cdef unsigned keep_threshold(double rate) noexcept nogil

cdef void draw_keep_scale(floating* M, Py_ssize_t n_rows, Py_ssize_t n_units,
                          const Py_ssize_t* rows, Py_ssize_t row_start,
                          Py_ssize_t layer, double rate, unsigned key0, unsigned key1,
                          unsigned long long step) noexcept nogil

cdef bint mask_outputs(floating* A, floating* M, Py_ssize_t n, int activation) noexcept nogil
