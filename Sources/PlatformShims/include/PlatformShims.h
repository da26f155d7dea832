/* PlatformShims: internal C helpers of the Swift core. No stable API: nothing here is exported
 * from libswifttrain.so (the linker version script keeps only st_* symbols). */
#ifndef SWIFTTRAIN_CSUPPORT_H
#define SWIFTTRAIN_CSUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "mpi_shims.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- OpenBLAS, loaded at run time (see blas_loader.c) ---- */

/** Loads OpenBLAS once (thread-safe). 0 on success, -1 on failure (see stx_blas_error). */
int stx_blas_load(void);
/** Why loading failed; "" when it did not. */
const char *stx_blas_error(void);
/** openblas_get_corename(), or "unavailable". */
const char *stx_blas_corename(void);
/** openblas_get_config(), or "unavailable". */
const char *stx_blas_config(void);
/** The OPENBLAS_CORETYPE swifttrain chose, or "" when the user's value (or OpenBLAS's own
 *  detection) was kept. */
const char *stx_blas_chosen_coretype(void);
/** Gives OpenBLAS the library's thread count (stx_num_threads) if it is loaded; loading
 *  applies it too. */
void stx_blas_apply_num_threads(void);

/** Row-major C = alpha * op(A) * op(B) + beta * C. Requires stx_blas_load() == 0. */
void stx_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
               const float *a, int lda, const float *b, int ldb, float beta,
               float *c, int ldc);

/* ---- per-thread state ---- */

/** Copies `message` into this thread's error buffer. */
void stx_set_last_error(const char *message);
/** This thread's last error message; never NULL. */
const char *stx_last_error(void);

/** Whether operations on this thread record the autograd graph (default 1). */
int stx_grad_enabled(void);
void stx_set_grad_enabled(int enabled);

/** This thread's graph-release queue (an object of the Swift core), or NULL. */
void *stx_release_queue(void);
/** Sets it; `destroy` is called with it when the thread exits. -1 when the process has no
 *  thread-specific key left (then there is no queue). */
int stx_set_release_queue(void *queue, void (*destroy)(void *));

/** Whether the processor has the SHA extensions (and SSE4.1, SSSE3). */
int stx_sha256_ni_available(void);
/** Compresses `blocks` 64-byte blocks into the SHA-256 state with them (only when available);
 *  `k` is the 64 round constants (the Swift code's table). */
void stx_sha256_ni_blocks(uint32_t state[8], const void *data, size_t blocks, const uint32_t k[64]);

/* ---- threads (thread_pool.c) ---- */

/** The largest thread count the library accepts. */
#define STX_MAX_THREADS 1024

/** The library's thread count: OpenBLAS's threads and the pool's (the calling thread
 *  included). Until stx_set_num_threads is called: SWIFTTRAIN_NUM_THREADS, else
 *  OPENBLAS_NUM_THREADS, else OMP_NUM_THREADS (each read once, the first that holds a number
 *  in [1, STX_MAX_THREADS]), else the CPUs this process may run on (sched_getaffinity). */
int stx_num_threads(void);
/** Which of those gave the default ("SWIFTTRAIN_NUM_THREADS", ..., "sched_getaffinity"). */
const char *stx_num_threads_default_source(void);
/** Sets the thread count of the pool and of OpenBLAS. -1 (nothing changes) unless
 *  1 <= n <= STX_MAX_THREADS. */
int stx_set_num_threads(int n);

/** Runs fn(ctx, begin, end) over [0, n) split into chunks of `grain` elements
 *  ([k * grain, min(n, (k + 1) * grain))), on the calling thread and the pool's workers, and
 *  returns when every chunk is done. Each call of fn covers whole chunks; which thread runs
 *  which chunk varies, so a chunk's result must not depend on it. Runs fn(ctx, 0, n) inline
 *  when there is one chunk, one thread, or the pool is busy (another thread's loop, or a call
 *  from inside fn). Allocates nothing; fn must not throw or longjmp out. Choose `grain` so
 *  that a chunk takes at least ~20 µs: waking the workers costs a few µs. */
void stx_parallel_for(size_t n, size_t grain, void (*fn)(void *ctx, size_t begin, size_t end), void *ctx);

/* ---- fused optimizer updates (optimizer_kernels.c) ---- */

/** Elements per chunk of the kernels below when they are split across threads (a chunk of
 *  Adam reads and writes ~1 MB: 30-60 µs on one core). */
#define STX_KERNEL_GRAIN 65536

/** Adam / AdamW per-step constants (see Adam.swift). `decay` is 1 - lr * weight_decay for
 *  AdamW (1 otherwise); `coupled` is Adam's L2 weight decay (0 for AdamW). */
typedef struct stx_adam_coefficients {
    float decay, coupled, w1, b2, w2, step_size, bias2_sqrt, eps;
} stx_adam_coefficients;

/** One Adam step over n elements: p, m, v (and v_max with amsgrad, else NULL) in place. */
void stx_adam_update(float *p, const float *g, float *m, float *v, float *v_max, size_t n,
                     const stx_adam_coefficients *k);

/** SGD's per-step constants (see SGD.swift): `keep` is 1 - dampening; `first` whether the
 *  momentum buffer was just created (buf = d); `nesterov` 0 or 1. */
typedef struct stx_sgd_coefficients {
    float lr, weight_decay, momentum, keep;
    int first, nesterov;
} stx_sgd_coefficients;

/** One SGD step: p (and the momentum buffer, NULL without momentum) in place. */
void stx_sgd_update(float *p, const float *g, float *momentum_buffer, size_t n, const stx_sgd_coefficients *k);

/** RMSprop's constants (see RMSprop.swift): `w` is 1 - alpha. */
typedef struct stx_rmsprop_coefficients {
    float lr, weight_decay, momentum, alpha, w, eps;
} stx_rmsprop_coefficients;

/** One RMSprop step; momentum_buffer NULL unless momentum > 0, grad_avg NULL unless centered. */
void stx_rmsprop_update(float *p, const float *g, float *square_avg, float *momentum_buffer, float *grad_avg,
                        size_t n, const stx_rmsprop_coefficients *k);

/** Adagrad's constants: `clr` is lr / (1 + (step - 1) lr_decay). */
typedef struct stx_adagrad_coefficients {
    float clr, weight_decay, eps;
} stx_adagrad_coefficients;

/** One Adagrad step: p and sum in place. */
void stx_adagrad_update(float *p, const float *g, float *sum, size_t n, const stx_adagrad_coefficients *k);

/** Adadelta's constants: `w` is 1 - rho. */
typedef struct stx_adadelta_coefficients {
    float lr, weight_decay, rho, w, eps;
} stx_adadelta_coefficients;

/** One Adadelta step: p, square_avg and acc_delta in place. */
void stx_adadelta_update(float *p, const float *g, float *square_avg, float *acc_delta, size_t n,
                         const stx_adadelta_coefficients *k);

/** Lion's constants: `decay` is 1 - lr weight_decay, w1 = 1 - b1 and w2 = 1 - b2 (in float). */
typedef struct stx_lion_coefficients {
    float lr, decay, b1, w1, b2, w2;
} stx_lion_coefficients;

/** One Lion step: p and exp_avg in place. */
void stx_lion_update(float *p, const float *g, float *exp_avg, size_t n, const stx_lion_coefficients *k);

/* ---- whole-gradient passes (gradient_kernels.c) ---- */

/** The sum of squares of x[0..n) in double: chunks of STX_KERNEL_GRAIN elements (16 float
 *  lanes each, in a fixed order) added in chunk order, so every CPU and thread count gives
 *  the same bits. */
double stx_sum_squares(const float *x, size_t n);
/** x[0..n) *= c. */
void stx_scale(float *x, size_t n, float c);

/* Ctrl-C for the command line (interrupt.c): install a SIGINT handler that sets a flag (and
 * restores the previous action, so a second Ctrl-C acts as before); restore; read the flag. */
int stx_interrupt_install(void);
void stx_interrupt_restore(void);
int stx_interrupted(void);

/* ---- the stop board (stop_board.c): lock-free stop requests, safe in signal handlers ---- */

/** Claims a slot for handle `id`; its index, or -1 when all 4096 are taken. */
int stx_stop_board_add(uintptr_t id);
/** Frees the slot of handle `id`, if it has one. */
void stx_stop_board_remove(uintptr_t id);
/** Raises the pending request of handle `id` to at least `request` (1 stop, 2 stop and
 *  save); -1 when no slot has that id. Lock-free, async-signal-safe. */
int stx_stop_board_request(uintptr_t id, int request);
/** Whether stx_stop_board_add ever found no free slot. */
int stx_stop_board_overflowed(void);
/** Drops the pending request of handle `id`, if any. */
void stx_stop_board_clear(uintptr_t id);
/** The slot's pending request (0 none), cleared. */
int stx_stop_board_take(int slot);

/** Exchanges two paths atomically (renameat2 RENAME_EXCHANGE); -1 with errno when the
 *  file system cannot. */
int stx_rename_exchange(const char *from, const char *to);

#ifdef __cplusplus
}
#endif
#endif
