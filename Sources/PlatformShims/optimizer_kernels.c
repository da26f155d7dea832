/* Fused optimizer updates: one pass over a parameter tensor that reads p, g and the state
 * once, split across the pool's threads for large tensors (stx_parallel_for: chunks of
 * STX_KERNEL_GRAIN elements; every element's arithmetic is independent of the split, so any
 * thread count gives the same bits). Compiled for AVX-512, AVX2 and the baseline, chosen at
 * load time by the CPU (target_clones). The arithmetic is written in the order of the PyTorch
 * formulas the tests check (and of the Swift loops these replaced), with contraction into FMA
 * turned off, so every CPU gives the same bits. */
#include "kernels.h"
#define INLINE static inline __attribute__((always_inline))

/* ---- Adam / AdamW ---- */

typedef struct {
    float *p, *m, *v, *v_max;
    const float *g;
    const stx_adam_coefficients *k;
} adam_args;

INLINE void adam_body(float *restrict p, const float *restrict g, float *restrict m, float *restrict v,
                      float *restrict v_max, size_t n, const stx_adam_coefficients *k, const int amsgrad) {
    const float decay = k->decay, coupled = k->coupled, w1 = k->w1, b2 = k->b2, w2 = k->w2;
    const float step_size = k->step_size, bias2_sqrt = k->bias2_sqrt, eps = k->eps;
    for (size_t j = 0; j < n; j++) {
        float pj = p[j] * decay;
        float gj = g[j] + coupled * pj;
        float mj = m[j] + w1 * (gj - m[j]);
        float vj = v[j] * b2 + w2 * gj * gj;
        m[j] = mj;
        v[j] = vj;
        if (amsgrad) {
            float vm = vj >= v_max[j] ? vj : v_max[j]; /* Swift.max's rule */
            v_max[j] = vm;
            vj = vm;
        }
        p[j] = pj - step_size * (mj / (__builtin_sqrtf(vj) / bias2_sqrt + eps));
    }
}

KERNEL static void adam_chunk(void *ctx, size_t b, size_t e) {
    const adam_args *a = ctx;
    if (a->v_max)
        adam_body(a->p + b, a->g + b, a->m + b, a->v + b, a->v_max + b, e - b, a->k, 1);
    else
        adam_body(a->p + b, a->g + b, a->m + b, a->v + b, NULL, e - b, a->k, 0);
}

void stx_adam_update(float *p, const float *g, float *m, float *v, float *v_max, size_t n,
                     const stx_adam_coefficients *k) {
    adam_args a = {p, m, v, v_max, g, k};
    stx_parallel_for(n, STX_KERNEL_GRAIN, adam_chunk, &a);
}

/* ---- SGD ---- */

typedef struct {
    float *p, *buf;
    const float *g;
    const stx_sgd_coefficients *k;
} sgd_args;

/* kind 0: no momentum; 1: the first step (buf = d); 2: buf = momentum buf + keep d. */
INLINE void sgd_body(float *restrict p, const float *restrict g, float *restrict buf, size_t n,
                     const stx_sgd_coefficients *k, const int kind, const int nesterov) {
    const float lr = k->lr, wd = k->weight_decay, mu = k->momentum, keep = k->keep;
    for (size_t j = 0; j < n; j++) {
        float d = g[j] + wd * p[j];
        if (kind == 0) {
            p[j] = p[j] - lr * d;
            continue;
        }
        float bj = kind == 1 ? d : mu * buf[j] + keep * d;
        buf[j] = bj;
        p[j] = p[j] - lr * (nesterov ? d + mu * bj : bj);
    }
}

KERNEL static void sgd_chunk(void *ctx, size_t b, size_t e) {
    const sgd_args *a = ctx;
    float *p = a->p + b, *buf = a->buf ? a->buf + b : NULL;
    const float *g = a->g + b;
    size_t n = e - b;
    if (!buf) sgd_body(p, g, NULL, n, a->k, 0, 0);
    else if (a->k->first) a->k->nesterov ? sgd_body(p, g, buf, n, a->k, 1, 1) : sgd_body(p, g, buf, n, a->k, 1, 0);
    else a->k->nesterov ? sgd_body(p, g, buf, n, a->k, 2, 1) : sgd_body(p, g, buf, n, a->k, 2, 0);
}

void stx_sgd_update(float *p, const float *g, float *momentum_buffer, size_t n, const stx_sgd_coefficients *k) {
    sgd_args a = {p, momentum_buffer, g, k};
    stx_parallel_for(n, STX_KERNEL_GRAIN, sgd_chunk, &a);
}

/* ---- RMSprop ---- */

typedef struct {
    float *p, *square_avg, *buf, *grad_avg;
    const float *g;
    const stx_rmsprop_coefficients *k;
} rmsprop_args;

INLINE void rmsprop_body(float *restrict p, const float *restrict g, float *restrict sq, float *restrict buf,
                         float *restrict avg_g, size_t n, const stx_rmsprop_coefficients *k,
                         const int centered, const int momentum) {
    const float lr = k->lr, wd = k->weight_decay, mu = k->momentum, alpha = k->alpha, w = k->w;
    const float eps = k->eps;
    for (size_t j = 0; j < n; j++) {
        float gj = g[j] + wd * p[j];
        float s = sq[j] * alpha + w * gj * gj;
        sq[j] = s;
        float avg;
        if (centered) {
            float ag = avg_g[j] + w * (gj - avg_g[j]);
            avg_g[j] = ag;
            avg = __builtin_sqrtf(s - ag * ag);
        } else {
            avg = __builtin_sqrtf(s);
        }
        avg = avg + eps;
        if (momentum) {
            float bj = buf[j] * mu + gj / avg;
            buf[j] = bj;
            p[j] = p[j] - lr * bj;
        } else {
            p[j] = p[j] - lr * (gj / avg);
        }
    }
}

KERNEL static void rmsprop_chunk(void *ctx, size_t b, size_t e) {
    const rmsprop_args *a = ctx;
    float *p = a->p + b, *sq = a->square_avg + b;
    float *buf = a->buf ? a->buf + b : NULL, *ag = a->grad_avg ? a->grad_avg + b : NULL;
    const float *g = a->g + b;
    size_t n = e - b;
    if (ag && buf) rmsprop_body(p, g, sq, buf, ag, n, a->k, 1, 1);
    else if (ag) rmsprop_body(p, g, sq, NULL, ag, n, a->k, 1, 0);
    else if (buf) rmsprop_body(p, g, sq, buf, NULL, n, a->k, 0, 1);
    else rmsprop_body(p, g, sq, NULL, NULL, n, a->k, 0, 0);
}

void stx_rmsprop_update(float *p, const float *g, float *square_avg, float *momentum_buffer, float *grad_avg,
                        size_t n, const stx_rmsprop_coefficients *k) {
    rmsprop_args a = {p, square_avg, momentum_buffer, grad_avg, g, k};
    stx_parallel_for(n, STX_KERNEL_GRAIN, rmsprop_chunk, &a);
}

/* ---- Adagrad ---- */

typedef struct {
    float *p, *sum;
    const float *g;
    const stx_adagrad_coefficients *k;
} adagrad_args;

KERNEL static void adagrad_chunk(void *ctx, size_t b, size_t e) {
    const adagrad_args *a = ctx;
    float *restrict p = a->p + b, *restrict sum = a->sum + b;
    const float *restrict g = a->g + b;
    const float clr = a->k->clr, wd = a->k->weight_decay, eps = a->k->eps;
    for (size_t j = 0; j < e - b; j++) {
        float gj = g[j] + wd * p[j];
        float s = sum[j] + gj * gj;
        sum[j] = s;
        p[j] = p[j] - clr * (gj / (__builtin_sqrtf(s) + eps));
    }
}

void stx_adagrad_update(float *p, const float *g, float *sum, size_t n, const stx_adagrad_coefficients *k) {
    adagrad_args a = {p, sum, g, k};
    stx_parallel_for(n, STX_KERNEL_GRAIN, adagrad_chunk, &a);
}

/* ---- Adadelta ---- */

typedef struct {
    float *p, *square_avg, *acc_delta;
    const float *g;
    const stx_adadelta_coefficients *k;
} adadelta_args;

KERNEL static void adadelta_chunk(void *ctx, size_t b, size_t e) {
    const adadelta_args *a = ctx;
    float *restrict p = a->p + b, *restrict sq = a->square_avg + b, *restrict acc = a->acc_delta + b;
    const float *restrict g = a->g + b;
    const float lr = a->k->lr, wd = a->k->weight_decay, rho = a->k->rho, w = a->k->w, eps = a->k->eps;
    for (size_t j = 0; j < e - b; j++) {
        float gj = g[j] + wd * p[j];
        float s = sq[j] * rho + w * gj * gj;
        sq[j] = s;
        float std = __builtin_sqrtf(s + eps);
        float delta = __builtin_sqrtf(acc[j] + eps) / std * gj;
        acc[j] = acc[j] * rho + w * delta * delta;
        p[j] = p[j] - lr * delta;
    }
}

void stx_adadelta_update(float *p, const float *g, float *square_avg, float *acc_delta, size_t n,
                         const stx_adadelta_coefficients *k) {
    adadelta_args a = {p, square_avg, acc_delta, g, k};
    stx_parallel_for(n, STX_KERNEL_GRAIN, adadelta_chunk, &a);
}

/* ---- Lion ---- */

typedef struct {
    float *p, *m;
    const float *g;
    const stx_lion_coefficients *k;
} lion_args;

KERNEL static void lion_chunk(void *ctx, size_t b, size_t e) {
    const lion_args *a = ctx;
    float *restrict p = a->p + b, *restrict m = a->m + b;
    const float *restrict g = a->g + b;
    const float lr = a->k->lr, decay = a->k->decay, b1 = a->k->b1, w1 = a->k->w1, b2 = a->k->b2;
    const float w2 = a->k->w2;
    for (size_t j = 0; j < e - b; j++) {
        float pj = p[j] * decay; /* exact when decay is 1 */
        float c = b1 * m[j] + w1 * g[j];
        p[j] = pj - lr * (c > 0 ? 1.0f : (c < 0 ? -1.0f : 0.0f));
        m[j] = b2 * m[j] + w2 * g[j];
    }
}

void stx_lion_update(float *p, const float *g, float *exp_avg, size_t n, const stx_lion_coefficients *k) {
    lion_args a = {p, exp_avg, g, k};
    stx_parallel_for(n, STX_KERNEL_GRAIN, lion_chunk, &a);
}
