/* SHA-256 block compression with the x86 SHA extensions (SHA-NI), about six times the speed
 * of the portable Swift code in Checkpoint/SHA256.swift, which uses it when the processor
 * has them. The round structure is Intel's (SHA extensions reference, 2013). */
#include "PlatformShims.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <cpuid.h>
#include <immintrin.h>

int stx_sha256_ni_available(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 19)) || !(c & (1u << 9))) return 0; /* SSE4.1, SSSE3 */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 29) & 1; /* SHA */
}

__attribute__((target("sha,sse4.1,ssse3")))
void stx_sha256_ni_blocks(uint32_t state[8], const void *data, size_t blocks, const uint32_t k[64]) {
    const unsigned char *p = data;
    const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL); /* big-endian words */
    __m128i tmp = _mm_loadu_si128((const __m128i *)&state[0]);
    __m128i state1 = _mm_loadu_si128((const __m128i *)&state[4]);
    tmp = _mm_shuffle_epi32(tmp, 0xB1);                 /* CDAB */
    state1 = _mm_shuffle_epi32(state1, 0x1B);           /* EFGH */
    __m128i state0 = _mm_alignr_epi8(tmp, state1, 8);   /* ABEF */
    state1 = _mm_blend_epi16(state1, tmp, 0xF0);        /* CDGH */
    for (; blocks > 0; blocks--, p += 64) {
        const __m128i abef = state0, cdgh = state1;
        __m128i msg[4];
        for (int j = 0; j < 4; j++) msg[j] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * j)), swap);
        for (int i = 0; i < 16; i++) { /* four rounds each, on message words 4i .. 4i+3 */
            __m128i wk = _mm_add_epi32(msg[i & 3], _mm_loadu_si128((const __m128i *)&k[4 * i]));
            state1 = _mm_sha256rnds2_epu32(state1, state0, wk);
            if (i < 12) { /* words 4i+16 .. 4i+19 replace 4i .. 4i+3 */
                __m128i t = _mm_sha256msg1_epu32(msg[i & 3], msg[(i + 1) & 3]);
                t = _mm_add_epi32(t, _mm_alignr_epi8(msg[(i + 3) & 3], msg[(i + 2) & 3], 4));
                msg[i & 3] = _mm_sha256msg2_epu32(t, msg[(i + 3) & 3]);
            }
            state0 = _mm_sha256rnds2_epu32(state0, state1, _mm_shuffle_epi32(wk, 0x0E));
        }
        state0 = _mm_add_epi32(state0, abef);
        state1 = _mm_add_epi32(state1, cdgh);
    }
    tmp = _mm_shuffle_epi32(state0, 0x1B);              /* FEBA */
    state1 = _mm_shuffle_epi32(state1, 0xB1);           /* DCHG */
    state0 = _mm_blend_epi16(tmp, state1, 0xF0);        /* DCBA */
    state1 = _mm_alignr_epi8(state1, tmp, 8);           /* HGFE */
    _mm_storeu_si128((__m128i *)&state[0], state0);
    _mm_storeu_si128((__m128i *)&state[4], state1);
}
#else
int stx_sha256_ni_available(void) { return 0; }
void stx_sha256_ni_blocks(uint32_t state[8], const void *data, size_t blocks, const uint32_t k[64]) {
    (void)state, (void)data, (void)blocks, (void)k;
}
#endif
