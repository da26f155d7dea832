/* Whole-gradient passes of a step: the sum of squares (gradient norms) and scaling (clipping),
 * split across the pool's threads for large tensors. Same conventions as
 * optimizer_kernels.c: target_clones, no FMA contraction, the same bits on every CPU and for
 * every thread count. */
#include "kernels.h"

/* The sum of squares of x[0..n) for n <= STX_KERNEL_GRAIN: 16 float partial sums (vector
 * lanes, in a fixed order, so every CPU gives the same bits) added in double. */
KERNEL
static double sum_squares_chunk(const float *restrict x, size_t n) {
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

enum { BLOCK = 256 }; /* chunks per parallel loop: the partial sums live on the stack */

typedef struct {
    const float *x;   /* the block's first element */
    size_t n;
    double *partial;  /* one per chunk */
} sum_args;

static void sum_range(void *ctx, size_t b, size_t e) {
    const sum_args *a = ctx;
    for (size_t start = b; start < e; start += STX_KERNEL_GRAIN) {
        size_t count = e - start < STX_KERNEL_GRAIN ? e - start : STX_KERNEL_GRAIN;
        a->partial[start / STX_KERNEL_GRAIN] = sum_squares_chunk(a->x + start, count);
    }
}

/* Chunks of STX_KERNEL_GRAIN elements, each summed as above, their sums added in chunk order
 * (in double): 1 and N threads give the same bits; for n <= STX_KERNEL_GRAIN the value is that
 * of the single-chunk kernel. */
double stx_sum_squares(const float *x, size_t n) {
    double partial[BLOCK], total = 0;
    const size_t block = (size_t)BLOCK * STX_KERNEL_GRAIN;
    for (size_t start = 0; start < n; start += block) {
        size_t count = n - start < block ? n - start : block;
        sum_args a = {x + start, count, partial};
        stx_parallel_for(count, STX_KERNEL_GRAIN, sum_range, &a);
        size_t chunks = count / STX_KERNEL_GRAIN + (count % STX_KERNEL_GRAIN != 0);
        for (size_t c = 0; c < chunks; c++)
            total += partial[c];
    }
    return total;
}

typedef struct {
    float *x;
    float c;
} scale_args;

KERNEL static void scale_range(void *ctx, size_t b, size_t e) {
    const scale_args *a = ctx;
    float *restrict x = a->x;
    const float c = a->c;
    for (size_t j = b; j < e; j++)
        x[j] *= c;
}

void stx_scale(float *x, size_t n, float c) {
    scale_args a = {x, c};
    stx_parallel_for(n, STX_KERNEL_GRAIN, scale_range, &a);
}
