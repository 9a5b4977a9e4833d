/* Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
   3", SC 2011): dropout's counter-based generator (_dropout.pxd).

   fastmlp_philox_blocks draws many blocks of consecutive counters; on
   x86-64 CPUs with AVX2 it runs eight blocks per vector (the 32x32->64-bit
   products of even and odd lanes, then their halves merged), elsewhere four
   interleaved scalar blocks. Both give the same words: the generator is
   integer arithmetic, exact in any order. */
#ifndef FASTMLP_PHILOX_H
#define FASTMLP_PHILOX_H

#include <stdint.h>

#define FASTMLP_PHILOX_M0 0xD2511F53u
#define FASTMLP_PHILOX_M1 0xCD9E8D57u
#define FASTMLP_PHILOX_W0 0x9E3779B9u
#define FASTMLP_PHILOX_W1 0xBB67AE85u

/* The counter (c0..c3) under the key (k0, k1) to four random words (out). */
static inline void fastmlp_philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2,
                                         uint32_t c3, uint32_t k0, uint32_t k1,
                                         uint32_t* out) {
    int i;
    for (i = 0; i < 10; i++) {
        uint64_t p0 = (uint64_t)FASTMLP_PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)FASTMLP_PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += FASTMLP_PHILOX_W0;
        k1 += FASTMLP_PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* The blocks of counters (first + b, c1, c2, c3), b < n_blocks, into
   out[4 b .. 4 b + 3], four at a time: one block's ten rounds are a chain
   of dependent multiplies (latency bound), four chains fill the
   multiplier. */
static inline void fastmlp_philox_blocks_scalar(uint32_t first, uint32_t n_blocks,
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
                uint64_t p0 = (uint64_t)FASTMLP_PHILOX_M0 * x0[l];
                uint64_t p1 = (uint64_t)FASTMLP_PHILOX_M1 * x2[l];
                uint32_t n0 = (uint32_t)(p1 >> 32) ^ x1[l] ^ ka;
                uint32_t n2 = (uint32_t)(p0 >> 32) ^ x3[l] ^ kb;
                x1[l] = (uint32_t)p1;
                x3[l] = (uint32_t)p0;
                x0[l] = n0;
                x2[l] = n2;
            }
            ka += FASTMLP_PHILOX_W0;
            kb += FASTMLP_PHILOX_W1;
        }
        for (l = 0; l < 4 && b + l < n_blocks; l++) {
            out[4 * (b + l)] = x0[l];
            out[4 * (b + l) + 1] = x1[l];
            out[4 * (b + l) + 2] = x2[l];
            out[4 * (b + l) + 3] = x3[l];
        }
    }
}

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define FASTMLP_PHILOX_AVX2 1
#include <immintrin.h>

/* lo and hi: the low and high words of each lane's product x * m */
__attribute__((target("avx2")))
static inline void fastmlp_philox_mul_avx2(__m256i x, __m256i m, __m256i* lo, __m256i* hi) {
    __m256i even = _mm256_mul_epu32(x, m);                          /* lanes 0, 2, ... */
    __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), m);    /* lanes 1, 3, ... */
    *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

__attribute__((target("avx2")))
static void fastmlp_philox_blocks_avx2(uint32_t first, uint32_t n_blocks,
                                       uint32_t c1, uint32_t c2, uint32_t c3,
                                       uint32_t k0, uint32_t k1, uint32_t* out) {
    const __m256i m0 = _mm256_set1_epi64x(FASTMLP_PHILOX_M0);
    const __m256i m1 = _mm256_set1_epi64x(FASTMLP_PHILOX_M1);
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    uint32_t b, l, w0[8], w1[8], w2[8], w3[8];
    int i;
    for (b = 0; b < n_blocks; b += 8) {
        __m256i x0 = _mm256_add_epi32(_mm256_set1_epi32((int)(first + b)), lanes);
        __m256i x1 = _mm256_set1_epi32((int)c1);
        __m256i x2 = _mm256_set1_epi32((int)c2);
        __m256i x3 = _mm256_set1_epi32((int)c3);
        __m256i lo0, hi0, lo1, hi1;
        uint32_t ka = k0, kb = k1;
        for (i = 0; i < 10; i++) {
            fastmlp_philox_mul_avx2(x0, m0, &lo0, &hi0);
            fastmlp_philox_mul_avx2(x2, m1, &lo1, &hi1);
            x0 = _mm256_xor_si256(_mm256_xor_si256(hi1, x1), _mm256_set1_epi32((int)ka));
            x2 = _mm256_xor_si256(_mm256_xor_si256(hi0, x3), _mm256_set1_epi32((int)kb));
            x1 = lo1;
            x3 = lo0;
            ka += FASTMLP_PHILOX_W0;
            kb += FASTMLP_PHILOX_W1;
        }
        _mm256_storeu_si256((__m256i*)w0, x0);
        _mm256_storeu_si256((__m256i*)w1, x1);
        _mm256_storeu_si256((__m256i*)w2, x2);
        _mm256_storeu_si256((__m256i*)w3, x3);
        for (l = 0; l < 8 && b + l < n_blocks; l++) {
            out[4 * (b + l)] = w0[l];
            out[4 * (b + l) + 1] = w1[l];
            out[4 * (b + l) + 2] = w2[l];
            out[4 * (b + l) + 3] = w3[l];
        }
    }
}
#endif

/* The widest of the two the CPU runs (vector 0: the scalar one, for the
   tests). */
static inline void fastmlp_philox_blocks(uint32_t first, uint32_t n_blocks,
                                         uint32_t c1, uint32_t c2, uint32_t c3,
                                         uint32_t k0, uint32_t k1, uint32_t* out,
                                         int vector) {
#ifdef FASTMLP_PHILOX_AVX2
    if (vector && __builtin_cpu_supports("avx2")) {
        fastmlp_philox_blocks_avx2(first, n_blocks, c1, c2, c3, k0, k1, out);
        return;
    }
#endif
    fastmlp_philox_blocks_scalar(first, n_blocks, c1, c2, c3, k0, k1, out);
}

/* Whether fastmlp_philox_blocks has a vector version for this CPU */
static inline int fastmlp_philox_vectorised(void) {
#ifdef FASTMLP_PHILOX_AVX2
    return __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}

#endif
