/* Fused optimizer updates: one pass over a parameter tensor that reads p, g and the state
 * once (the Swift loops they replace made three). Compiled for AVX-512, AVX2 and the
 * baseline, chosen at load time by the CPU (target_clones). The arithmetic is written in the
 * order of the PyTorch formulas the tests check, with contraction into FMA turned off, so
 * every CPU gives the same bits. */
#include "PlatformShims.h"

#pragma clang fp contract(off)

#if defined(__x86_64__) && defined(__clang__)
#define KERNEL __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define KERNEL
#endif

KERNEL
void stx_adam_update(float *restrict p, const float *restrict g, float *restrict m, float *restrict v,
                     float *restrict v_max, size_t n, const stx_adam_coefficients *k)
{
    const float decay = k->decay, coupled = k->coupled, w1 = k->w1, b2 = k->b2, w2 = k->w2;
    const float step_size = k->step_size, bias2_sqrt = k->bias2_sqrt, eps = k->eps;
    if (v_max == NULL) {
        for (size_t j = 0; j < n; j++) {
            float pj = p[j] * decay;
            float gj = g[j] + coupled * pj;
            float mj = m[j] + w1 * (gj - m[j]);
            float vj = v[j] * b2 + w2 * gj * gj;
            m[j] = mj;
            v[j] = vj;
            p[j] = pj - step_size * (mj / (__builtin_sqrtf(vj) / bias2_sqrt + eps));
        }
    } else {
        for (size_t j = 0; j < n; j++) {
            float pj = p[j] * decay;
            float gj = g[j] + coupled * pj;
            float mj = m[j] + w1 * (gj - m[j]);
            float vj = v[j] * b2 + w2 * gj * gj;
            float vm = vj >= v_max[j] ? vj : v_max[j]; /* Swift.max's rule */
            m[j] = mj;
            v[j] = vj;
            v_max[j] = vm;
            p[j] = pj - step_size * (mj / (__builtin_sqrtf(vm) / bias2_sqrt + eps));
        }
    }
}

/* The sum of squares of x[0..n), for gradient norms: 16 float partial sums (vector lanes, in
 * a fixed order, so every CPU gives the same bits) added in double. The serial loop it
 * replaces waited on one addition per element. */
KERNEL
double stx_sum_squares(const float *restrict x, size_t n)
{
    float lanes[16] = {0};
    size_t j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++)
            lanes[l] += x[j + l] * x[j + l];
    double total = 0;
    for (int l = 0; l < 16; l++)
        total += lanes[l];
    for (; j < n; j++)
        total += (double)x[j] * x[j];
    return total;
}

/* x[0..n) *= c (gradient clipping). */
KERNEL
void stx_scale(float *restrict x, size_t n, float c)
{
    for (size_t j = 0; j < n; j++)
        x[j] *= c;
}
