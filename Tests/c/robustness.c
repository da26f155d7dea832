/* Robustness of the C ABI against hostile and extreme arguments: the library must never take
 * the host process down. Every call here passes a value at the edge of its type (INT64_MAX,
 * INT64_MIN, SIZE_MAX, NaN, +-INFINITY, 1e300, shapes whose products overflow, sizes that
 * would need terabytes), a handle of the wrong kind, a freed or never-created handle, or
 * calls back into the library from a callback. The expectation is a status, never a signal:
 *
 *   - a value the library cannot honour gives an ST_E* status with a non-empty message;
 *   - where an extreme value has a sensible answer (an empty result, a clamped count), that
 *     answer is accepted too, and then it must be consistent (no negative dimension, the
 *     element count equals the product of the shape);
 *   - nothing allocates terabytes: the library refuses before allocating.
 *
 * Each case is its own ctest test (one process), so a case that traps (SIGILL / SIGTRAP from
 * a Swift overflow or precondition), aborts (an allocation Swift cannot satisfy) or faults
 * (SIGSEGV from a write through a wrapped size) fails alone. Every case is fast; an alarm
 * turns a hang (a loop over a wrapped, negative count) into a failure. Comments name the
 * Swift code each case exercises. */
#define _POSIX_C_SOURCE 200809L

#include "check.h"
#include "swifttrain.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers ----------------------------------------------------------------------------- */

#define POW2(k) ((int64_t)1 << (k))

/** The call must fail (any ST_E* code) with a message mentioning `needle` (NULL: any
 *  non-empty message). */
#define CHECK_FAILS(call, needle) check_fails((call), (needle), __FILE__, __LINE__, #call)

static int check_fails(int status, const char *needle, const char *file, int line,
                       const char *expr) {
    if (status < 0) return check_status(status, status, needle, file, line, expr);
    return check_true(0, file, line, expr, "returned %d (%s), expected an error", status,
                      st_status_string(status));
}

/** The call may succeed or fail; a failure must be an ST_E* code with a message. Evaluates
 *  to the status. For arguments that are extreme but have a sensible answer. */
#define SURVIVES(call) survives((call), __FILE__, __LINE__, #call)

static int survives(int status, const char *file, int line, const char *expr) {
    if (status == ST_OK) return status;
    if (status < 0) check_status(status, status, NULL, file, line, expr);
    else check_true(0, file, line, expr, "returned %d, which is not a status", status);
    return status;
}

/* Zeros of a shape the library may legitimately refuse (an empty tensor with enormous other
 * dimensions): NULL without a failed check when it does. */
static st_tensor *zeros_or_refused(st_dtype dtype, size_t ndim, const int64_t *shape) {
    st_tensor *t = NULL;
    if (SURVIVES(st_tensor_zeros(&t, shape, ndim, dtype)) != ST_OK) return NULL;
    return track(t);
}

static st_tensor *vec(const float *values, int64_t n) {
    st_tensor *t = NULL;
    CHECK_OK(st_tensor_create(&t, values, &n, 1, ST_FLOAT32, ST_DATA_COPY));
    return track(t);
}

static st_tensor *ivec(const int64_t *values, int64_t n) {
    st_tensor *t = NULL;
    CHECK_OK(st_tensor_create(&t, values, &n, 1, ST_INT64, ST_DATA_COPY));
    return track(t);
}

/** A tensor the library handed out is consistent: no negative dimension, and numel equals
 *  the product of the shape (which must fit in int64: such a tensor cannot exist otherwise). */
static int consistent(const st_tensor *t, const char *what) {
    size_t ndim = 0, i;
    int64_t shape[ST_MAX_DIMS], numel = -1, product = 1;
    int overflow = 0, zero = 0;
    if (!CHECK_OK(st_tensor_ndim(&ndim, t)) || !CHECK_OK(st_tensor_shape(shape, ST_MAX_DIMS, t)) ||
        !CHECK_OK(st_tensor_numel(&numel, t)))
        return 0;
    for (i = 0; i < ndim; i++) {
        if (!CHECK(shape[i] >= 0, "%s: dimension %zu is %lld", what, i, (long long)shape[i]))
            return 0;
        if (shape[i] == 0) zero = 1;
        else if (product > INT64_MAX / shape[i]) overflow = 1;
        else product *= shape[i];
    }
    if (zero) product = 0;
    if (!CHECK(zero || !overflow, "%s: the shape's element count does not fit in int64", what))
        return 0;
    return CHECK(numel == product, "%s: numel is %lld but the shape holds %lld elements", what,
                 (long long)numel, (long long)product);
}

/* The small problem of bad_input.c: Linear(4, 3) on 8 rows of 4 features, labels 0..2. */
#define ROWS 8
#define FEATURES 4
#define CLASSES 3

static const float features[ROWS * FEATURES] = {
    0.1f, 0.2f, 0.3f, 0.4f, 0.9f, 0.1f, 0.0f, 0.2f, 0.3f, 0.8f, 0.1f, 0.0f, 0.5f, 0.5f, 0.5f, 0.5f,
    0.0f, 0.1f, 0.9f, 0.3f, 0.7f, 0.2f, 0.2f, 0.1f, 0.2f, 0.6f, 0.4f, 0.0f, 0.4f, 0.3f, 0.8f, 0.6f};
static const int64_t labels[ROWS] = {0, 1, 2, 0, 1, 2, 0, 1};

/* ---- allocations: the library refuses sizes it cannot allocate instead of aborting ------- */

/* 2^40 elements pass Tensor.checkShape's limit, but 4 TiB cannot be allocated:
 * BufferPool.take -> UnsafeMutableRawPointer.allocate aborts ("Could not allocate memory"). */
static void test_zeros_of_2_pow_40_elements(void) {
    st_tensor *out = NULL;
    CHECK_FAILS(st_tensor_zeros(&out, (const int64_t[]){POW2(40)}, 1, ST_FLOAT32), NULL);
    CHECK(out == NULL, "a failed call left a handle");
    st_tensor_free(out);
}

/* LayerNorm's normalized_shape passes the same 2^40 check; Init.constant allocates 4 TiB. */
static void test_layer_norm_create_2_pow_40(void) {
    st_module *m = NULL;
    CHECK_FAILS(st_layer_norm_create(&m, (const int64_t[]){POW2(40)}, 1, 1e-5f, true, true), NULL);
    st_module_free(m);
}

/* Each size is within positive()'s 2^31, their product is not: [2^31, 2^31] floats is 2^64
 * bytes (Storage.init's byteCount wraps) and Init.normal writes 2^62 floats. */
static void test_embedding_create_huge_table(void) {
    st_module *m = NULL;
    CHECK_FAILS(st_embedding_create(&m, POW2(31), POW2(31), ST_NO_INDEX), NULL);
    st_module_free(m);
}

/* Conv2d: fan_in = in_channels / groups * kh * kw overflows (2^93), and so does the weight's
 * element count (Layers/Convolution.swift). */
static void test_conv2d_create_huge_fan_in(void) {
    st_module *m = NULL;
    CHECK_FAILS(st_conv2d_create(&m, POW2(31), 1, POW2(31), POW2(31), NULL, true), NULL);
    st_module_free(m);
}

/* A 2^31 x 2^31 kernel: 2^62 weights, 2^64 bytes. */
static void test_conv2d_create_huge_kernel(void) {
    st_module *m = NULL;
    CHECK_FAILS(st_conv2d_create(&m, 1, 1, POW2(31), POW2(31), NULL, false), NULL);
    st_module_free(m);
}

/* in_proj_weight is [3 E, E]: 3 * 2^62 elements for E = 2^31 (negative as an Int). */
static void test_multihead_attention_create_huge(void) {
    st_module *m = NULL;
    CHECK_FAILS(st_multihead_attention_create(&m, POW2(31), 1, 0.0f, true, false), NULL);
    st_module_free(m);
}

static void test_transformer_create_huge_d_model(void) {
    st_transformer_options o;
    st_module *m = NULL;
    st_transformer_options_init(&o, POW2(31), 1);
    o.dim_feedforward = 1;
    CHECK_FAILS(st_transformer_encoder_layer_create(&m, &o), NULL);
    st_module_free(m);
}

/* num_samples * num_features does not overflow (INT64_MAX x 1), so Dataset.check passes and
 * Dataset.copy allocates INT64_MAX floats. The library must refuse before reading the
 * caller's buffer (which holds 8 rows). */
static void test_dataset_copy_absurd_rows(void) {
    st_dataset *d = NULL;
    CHECK_FAILS(st_dataset_create(&d, features, INT64_MAX, 1, NULL, ST_DATA_COPY), NULL);
    CHECK(d == NULL, "a failed call left a handle");
    st_dataset_free(d);
}

/* The same size borrowed: nothing is allocated at creation, but every use builds
 * DataLoader.order = Array(0..<num_samples). The library must refuse at creation or at use;
 * only the first row is ever needed by st_trainer_num_outputs. */
static void test_dataset_borrow_absurd_rows(void) {
    st_dataset *d = NULL;
    st_module *model = NULL;
    st_trainer *trainer = NULL;
    st_training_args args;
    int64_t outputs = 0;
    if (SURVIVES(st_dataset_create(&d, features, INT64_MAX, 1, NULL, ST_DATA_BORROW)) != ST_OK)
        goto done; /* refused at creation: fine */
    REQUIRE_OK(st_linear_create(&model, 1, 2, true));
    REQUIRE_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION));
    REQUIRE_OK(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args));
    CHECK_FAILS(st_trainer_num_outputs(&outputs, trainer, d), NULL);
done:
    st_trainer_free(trainer);
    st_module_free(model);
    st_dataset_free(d);
}

/* Padding just under convOptions' 2^20 on a 1x1 image: a (2^21 - 1)^2 output, 2^42 floats. */
static void test_conv2d_huge_padding_output(void) {
    st_conv2d_options o;
    st_tensor *x = zeros(ST_FLOAT32, 4, (const int64_t[]){1, 1, 1, 1});
    st_tensor *w = zeros(ST_FLOAT32, 4, (const int64_t[]){1, 1, 1, 1}), *out = NULL;
    REQUIRE(x && w, "inputs");
    st_conv2d_options_init(&o);
    o.padding[0] = o.padding[1] = POW2(20) - 1;
    CHECK_FAILS(st_conv2d(&out, x, w, NULL, &o), NULL);
    track(out);
done:
    free_tracked();
}

/* An empty batch of tall images: the result is empty, but conv2d allocates its im2col buffer
 * (kh * kw * C x outH * outW = 2^40 floats) before looking at the batch size. */
static void test_conv2d_empty_batch_tall_image(void) {
    st_tensor *x = zeros_or_refused(ST_FLOAT32, 4, (const int64_t[]){0, 1, POW2(40), 1});
    st_tensor *w = zeros(ST_FLOAT32, 4, (const int64_t[]){1, 1, 1, 1}), *out = NULL;
    if (!x || !w) goto done;
    if (SURVIVES(st_conv2d(&out, x, w, NULL, NULL)) == ST_OK) consistent(track(out), "conv2d");
done:
    free_tracked();
}

/* [2^20, 0] x [0, 2^20]: 2^40 zeros, 4 TiB. */
static void test_matmul_result_2_pow_40(void) {
    st_tensor *a = zeros(ST_FLOAT32, 2, (const int64_t[]){POW2(20), 0});
    st_tensor *b = zeros(ST_FLOAT32, 2, (const int64_t[]){0, POW2(20)}), *out = NULL;
    REQUIRE(a && b, "inputs");
    CHECK_FAILS(st_matmul(&out, a, b), NULL);
    track(out);
done:
    free_tracked();
}

/* [2^40, 0] x [0, 2^40]: the result would have 2^80 elements. The library refuses the empty
 * [2^40, 0] operands already (an empty dimension does not lift the size limit of the others);
 * if it ever accepts them, the product must fail cleanly or be consistent. */
static void test_matmul_result_overflows(void) {
    const int64_t sa[2] = {POW2(40), 0}, sb[2] = {0, POW2(40)};
    st_tensor *a = NULL, *b = NULL, *out = NULL;
    int created = st_tensor_zeros(&a, sa, 2, ST_FLOAT32) == ST_OK;
    CHECK(created || st_last_error_message()[0] != '\0', "refusing [2^40, 0] must say why");
    created = created && st_tensor_zeros(&b, sb, 2, ST_FLOAT32) == ST_OK;
    track(a);
    track(b);
    if (created && CHECK_FAILS(st_matmul(&out, a, b), NULL) == 0 && out) consistent(track(out), "matmul");
    free_tracked();
}

/* Causal attention over 2^20 positions with an empty batch: the result is empty, but the
 * causal mask [L, S] (2^40 bools) is built first (Tensor+Attention.swift). */
static void test_attention_causal_empty_batch(void) {
    const int64_t shape[3] = {0, POW2(20), 1};
    st_tensor *q = zeros(ST_FLOAT32, 3, shape), *out = NULL;
    REQUIRE(q != NULL, "input");
    if (SURVIVES(st_scaled_dot_product_attention(&out, q, q, q, NULL, true, 0.0f)) == ST_OK)
        consistent(track(out), "scaled_dot_product_attention");
done:
    free_tracked();
}

/* The same through MultiheadAttention (Transformer.swift builds its own causal mask). */
static void test_multihead_attention_causal_empty_batch(void) {
    st_module *mha = NULL;
    st_tensor *q = zeros(ST_FLOAT32, 3, (const int64_t[]){POW2(20), 0, 4}), *out = NULL;
    REQUIRE(q != NULL, "input");
    REQUIRE_OK(st_multihead_attention_create(&mha, 4, 1, 0.0f, true, false));
    if (SURVIVES(st_attention_forward(&out, NULL, mha, q, NULL, NULL, NULL, true)) == ST_OK)
        consistent(track(out), "attention_forward");
done:
    st_module_free(mha);
    free_tracked();
}

/* expand has no size check of its own (shapeArgument skips checkShape with allow -1). */
static void test_expand_to_2_pow_40(void) {
    st_tensor *a = zeros(ST_FLOAT32, 1, (const int64_t[]){1}), *out = NULL;
    REQUIRE(a != NULL, "input");
    CHECK_FAILS(st_expand(&out, a, (const int64_t[]){POW2(40)}, 1), NULL);
    track(out);
done:
    free_tracked();
}

/* ---- integer overflow: shapes and counts computed from caller values --------------------- */

/* Tensor.reshape: resolved.reduce(1, *) overflows; wrapped, INT64_MAX^2 is 1, equal to the
 * element count, and a [INT64_MAX, INT64_MAX] view of one float comes back. */
static void test_reshape_overflowing_shape(void) {
    st_tensor *a = zeros(ST_FLOAT32, 1, (const int64_t[]){1}), *out = NULL;
    REQUIRE(a != NULL, "input");
    if (CHECK_FAILS(st_reshape(&out, a, (const int64_t[]){INT64_MAX, INT64_MAX}, 2), NULL) == 0 &&
        out)
        consistent(track(out), "reshape");
done:
    free_tracked();
}

/* Tensor.reshape with -1: the product of the known dimensions overflows. */
static void test_reshape_minus_one_overflowing_rest(void) {
    st_tensor *a = zeros(ST_FLOAT32, 1, (const int64_t[]){1}), *out = NULL;
    REQUIRE(a != NULL, "input");
    if (CHECK_FAILS(st_reshape(&out, a, (const int64_t[]){-1, INT64_MAX, INT64_MAX}, 3), NULL) ==
            0 &&
        out)
        consistent(track(out), "reshape");
done:
    free_tracked();
}

/* Tensor.expand: the target's element count overflows (Tensor(uninitialized:)). */
static void test_expand_overflowing_shape(void) {
    st_tensor *a = zeros(ST_FLOAT32, 1, (const int64_t[]){1}), *out = NULL;
    REQUIRE(a != NULL, "input");
    if (CHECK_FAILS(st_expand(&out, a, (const int64_t[]){INT64_MAX, 2}, 2), NULL) == 0 && out)
        consistent(track(out), "expand");
done:
    free_tracked();
}

/* -1 ("keep") in a new leading dimension has nothing to keep (PyTorch refuses it); Tensor.expand
 * keeps the -1 and makes a tensor of shape [-1, 3] with -3 elements. */
static void test_expand_leading_minus_one(void) {
    st_tensor *a = zeros(ST_FLOAT32, 1, (const int64_t[]){3}), *out = NULL;
    REQUIRE(a != NULL, "input");
    if (CHECK_FAILS(st_expand(&out, a, (const int64_t[]){-1, 3}, 2), NULL) == 0 && out)
        consistent(track(out), "expand");
done:
    free_tracked();
}

/* ... and what using such a tensor does: a loop over 0..<-3 elements. */
static void test_expand_leading_minus_one_then_use(void) {
    st_tensor *a = zeros(ST_FLOAT32, 1, (const int64_t[]){3}), *e = NULL, *out = NULL;
    REQUIRE(a != NULL, "input");
    if (SURVIVES(st_expand(&e, a, (const int64_t[]){-1, 3}, 2)) != ST_OK) goto done;
    track(e);
    SURVIVES(st_relu(&out, e));
    track(out);
done:
    free_tracked();
}

/* Tensor.checkShape accepts any dimensions after a 0 (the running product is 0), so an empty
 * tensor can have dimensions whose products overflow. Results that drop the 0 cannot exist. */
static const int64_t empty_huge[3] = {0, INT64_MAX, INT64_MAX};

/* sum over the empty dimension: the result would be zeros of [INT64_MAX, INT64_MAX]. */
static void test_empty_tensor_sum_over_empty_dim(void) {
    st_tensor *a = zeros_or_refused(ST_FLOAT32, 3, empty_huge), *out = NULL;
    if (!a) goto done;
    if (CHECK_FAILS(st_sum(&out, a, (const int64_t[]){0}, 1, false), NULL) == 0 && out)
        consistent(track(out), "sum");
done:
    free_tracked();
}

/* cat along a dimension of size INT64_MAX: the sizes' sum overflows (Tensor+Shape.swift cat). */
static void test_empty_tensor_cat_overflowing_dim(void) {
    st_tensor *a = zeros_or_refused(ST_FLOAT32, 2, (const int64_t[]){0, INT64_MAX}), *out = NULL;
    st_tensor *list[2];
    if (!a) goto done;
    list[0] = list[1] = a;
    if (CHECK_FAILS(st_cat(&out, list, 2, 1), NULL) == 0 && out) consistent(track(out), "cat");
done:
    free_tracked();
}

/* flatten of the two huge dimensions: their product overflows (Tensor.flatten). */
static void test_empty_tensor_flatten_overflowing_dims(void) {
    st_tensor *a = zeros_or_refused(ST_FLOAT32, 3, empty_huge), *out = NULL;
    if (!a) goto done;
    if (CHECK_FAILS(st_flatten(&out, a, 1, 2), NULL) == 0 && out) consistent(track(out), "flatten");
done:
    free_tracked();
}

/* The following have a sensible (empty) answer; they compute products of the huge
 * dimensions on the way (strides, inner sizes), which trap in a build with overflow checks. */
static void test_empty_tensor_transpose(void) {
    st_tensor *a = zeros_or_refused(ST_FLOAT32, 3, empty_huge), *out = NULL;
    if (!a) goto done;
    if (SURVIVES(st_transpose(&out, a, 0, 2)) == ST_OK) consistent(track(out), "transpose");
done:
    free_tracked();
}

static void test_empty_tensor_softmax_over_empty_dim(void) {
    st_tensor *a = zeros_or_refused(ST_FLOAT32, 3, empty_huge), *out = NULL;
    if (!a) goto done;
    if (SURVIVES(st_softmax(&out, a, 0)) == ST_OK) consistent(track(out), "softmax");
done:
    free_tracked();
}

static void test_empty_tensor_max_dim(void) {
    st_tensor *a = zeros_or_refused(ST_FLOAT32, 3, empty_huge), *values = NULL, *indices = NULL;
    if (!a) goto done;
    if (SURVIVES(st_max_dim(&values, &indices, a, 0, false)) == ST_OK) {
        consistent(track(values), "max_dim values");
        consistent(track(indices), "max_dim indices");
    }
done:
    free_tracked();
}

static void test_empty_tensor_slice(void) {
    st_tensor *a = zeros_or_refused(ST_FLOAT32, 3, empty_huge), *out = NULL;
    if (!a) goto done;
    if (SURVIVES(st_slice(&out, a, 0, 0, 1, 1)) == ST_OK) consistent(track(out), "slice");
done:
    free_tracked();
}

static void test_empty_tensor_gather(void) {
    st_tensor *a = zeros_or_refused(ST_FLOAT32, 3, empty_huge), *out = NULL;
    st_tensor *index = zeros(ST_INT64, 3, (const int64_t[]){0, 1, 1});
    if (!a || !index) goto done;
    if (SURVIVES(st_gather(&out, a, 0, index)) == ST_OK) consistent(track(out), "gather");
done:
    free_tracked();
}

static void test_empty_tensor_index_select(void) {
    st_tensor *a = zeros_or_refused(ST_FLOAT32, 3, empty_huge), *out = NULL;
    st_tensor *index = zeros(ST_INT64, 1, (const int64_t[]){0});
    if (!a || !index) goto done;
    if (SURVIVES(st_index_select(&out, a, 0, index)) == ST_OK) consistent(track(out), "index_select");
done:
    free_tracked();
}

static void test_empty_tensor_where(void) {
    st_tensor *a = zeros_or_refused(ST_FLOAT32, 3, empty_huge), *out = NULL;
    st_tensor *c = zeros(ST_BOOL, 1, (const int64_t[]){1}), *b = zeros(ST_FLOAT32, 1, (const int64_t[]){1});
    if (!a || !c || !b) goto done;
    if (SURVIVES(st_where(&out, c, a, b)) == ST_OK) consistent(track(out), "where");
done:
    free_tracked();
}

static void test_empty_tensor_mean_over_huge_dims(void) {
    st_tensor *a = zeros_or_refused(ST_FLOAT32, 3, empty_huge), *out = NULL;
    if (!a) goto done;
    if (SURVIVES(st_mean(&out, a, (const int64_t[]){1, 2}, 2, false)) == ST_OK)
        consistent(track(out), "mean");
done:
    free_tracked();
}

static void test_empty_tensor_batch_norm(void) {
    st_tensor *x = zeros_or_refused(ST_FLOAT32, 4, (const int64_t[]){0, 1, INT64_MAX, INT64_MAX});
    st_tensor *mean = zeros(ST_FLOAT32, 1, (const int64_t[]){1}), *var = zeros(ST_FLOAT32, 1, (const int64_t[]){1});
    st_tensor *out = NULL;
    if (!x || !mean || !var) goto done;
    if (SURVIVES(st_batch_norm(&out, x, mean, var, NULL, NULL, false, 0.1f, 1e-5f)) == ST_OK)
        consistent(track(out), "batch_norm");
done:
    free_tracked();
}

static void test_empty_tensor_avg_pool(void) {
    st_tensor *x = zeros_or_refused(ST_FLOAT32, 4, (const int64_t[]){0, 1, POW2(40), POW2(40)});
    st_tensor *out = NULL;
    st_pool2d_options o;
    if (!x) goto done;
    st_pool2d_options_init(&o, 1, 1);
    if (SURVIVES(st_avg_pool2d(&out, x, &o)) == ST_OK) consistent(track(out), "avg_pool2d");
done:
    free_tracked();
}

/* torch.var divides by N - correction; with correction INT64_MIN that subtraction overflows
 * (Tensor.variance). The answer is 0 (or an error), not infinity. */
static void test_var_correction_int64_min(void) {
    const float values[3] = {1, 2, 3};
    st_tensor *x = vec(values, 3), *out = NULL;
    double v = -1;
    REQUIRE(x != NULL, "input");
    if (SURVIVES(st_var(&out, x, NULL, 0, INT64_MIN, false)) == ST_OK) {
        track(out);
        REQUIRE_OK(st_tensor_item(&v, out));
        CHECK(isfinite(v) && fabs(v) < 1e-6, "var with correction INT64_MIN is %g, expected ~0", v);
    }
    out = NULL;
    if (SURVIVES(st_std(&out, x, NULL, 0, INT64_MIN, false)) == ST_OK) {
        track(out);
        REQUIRE_OK(st_tensor_item(&v, out));
        CHECK(isfinite(v) && fabs(v) < 1e-3, "std with correction INT64_MIN is %g, expected ~0", v);
    }
done:
    free_tracked();
}

/* Tensor.chunk: (size + chunks - 1) / chunks overflows for chunks near INT64_MAX. The answer
 * is 4 pieces of one element (or an error). */
static void test_chunk_int64_max(void) {
    st_tensor *a = zeros(ST_FLOAT32, 1, (const int64_t[]){4}), *outs[8] = {NULL};
    size_t n = 0, i;
    REQUIRE(a != NULL, "input");
    if (SURVIVES(st_chunk(outs, 8, &n, a, INT64_MAX, 0)) == ST_OK) {
        CHECK(n == 4, "chunk(INT64_MAX) of 4 elements gave %zu pieces", n);
        for (i = 0; i < n && i < 8; i++) consistent(track(outs[i]), "chunk piece");
    }
done:
    free_tracked();
}

/* Tensor.arange: Int(((end - start) / step).rounded(.up)) of -1e30 (out of Int's range). The
 * answer is an empty tensor (as for arange(0, -5, 1)) or an error. */
static void test_arange_huge_negative_span(void) {
    st_tensor *out = NULL;
    int64_t numel = -1;
    if (SURVIVES(st_tensor_arange(&out, 0, -1e30, 1, ST_FLOAT32)) != ST_OK) return;
    track(out);
    if (CHECK_OK(st_tensor_numel(&numel, out))) CHECK(numel == 0, "numel %lld", (long long)numel);
    free_tracked();
}

/* Tensor.arange int64: Int64(start + i * step) of 1e19 (beyond INT64_MAX). */
static void test_arange_int64_values_out_of_range(void) {
    st_tensor *out = NULL;
    int64_t value = 0;
    if (CHECK_FAILS(st_tensor_arange(&out, 1e19, 2e19, 1e19, ST_INT64), NULL) == 0 && out) {
        track(out);
        if (CHECK_OK(st_tensor_copy_to(&value, sizeof value, out)))
            CHECK(0, "arange(1e19) as int64 holds %lld", (long long)value);
    }
    free_tracked();
}

/* Tensor + Float on int64: Int64(c) for a whole-valued float outside int64 (1e30, infinity).
 * PyTorch promotes to float; an error is fine too; a wrapped int64 is not. */
static void scalar_on_int64(int (*op)(st_tensor **, const st_tensor *, float), float c,
                            double expected) {
    const int64_t values[1] = {1};
    st_tensor *a = ivec(values, 1), *out = NULL;
    st_dtype dtype = ST_INT64;
    double got = 0;
    REQUIRE(a != NULL, "input");
    if (SURVIVES(op(&out, a, c)) != ST_OK) goto done;
    track(out);
    REQUIRE_OK(st_tensor_dtype(&dtype, out));
    REQUIRE_OK(st_tensor_item(&got, out));
    CHECK(dtype == ST_FLOAT32 && (got == expected || fabs(got - expected) <= 1e-6 * fabs(expected)),
          "1 (int64) op %g gave %s %g, expected float32 %g", (double)c,
          dtype == ST_INT64 ? "int64" : "float32", got, expected);
done:
    free_tracked();
}

static void test_add_scalar_int64_huge(void) { scalar_on_int64(st_add_scalar, 1e30f, 1e30); }
static void test_mul_scalar_int64_infinity(void) {
    scalar_on_int64(st_mul_scalar, INFINITY, INFINITY);
}

/* abs(INT64_MIN) overflows in the C layer's range checks (Layers.swift). */
static void test_flatten_create_int64_min(void) {
    st_module *m = NULL;
    CHECK_FAILS(st_flatten_create(&m, INT64_MIN, -1), NULL);
    st_module_free(m);
    m = NULL;
    CHECK_FAILS(st_flatten_create(&m, 1, INT64_MIN), NULL);
    st_module_free(m);
}

static void test_softmax_create_int64_min(void) {
    st_module *m = NULL;
    CHECK_FAILS(st_softmax_create(&m, INT64_MIN, false), NULL);
    st_module_free(m);
}

/* Extreme dims and indices on ordinary tensors: all out of range, all reported. */
static void test_extreme_dims_and_indices(void) {
    const int64_t extremes[4] = {INT64_MIN, INT64_MIN + 1, INT64_MAX, INT64_MAX - 1};
    st_tensor *a = zeros(ST_FLOAT32, 2, (const int64_t[]){2, 3}), *out = NULL, *idx = NULL;
    st_tensor *pieces[4] = {NULL};
    st_module *emb = NULL;
    size_t i, n = 0;
    REQUIRE(a != NULL, "input");
    for (i = 0; i < COUNT(extremes); i++) {
        int64_t d = extremes[i];
        CHECK_FAILS(st_softmax(&out, a, d), NULL);
        CHECK_FAILS(st_log_softmax(&out, a, d), NULL);
        CHECK_FAILS(st_sum(&out, a, &d, 1, false), NULL);
        CHECK_FAILS(st_max_dim(&out, &idx, a, d, false), NULL);
        CHECK_FAILS(st_flatten(&out, a, d, -1), NULL);
        CHECK_FAILS(st_unsqueeze(&out, a, d), NULL);
        CHECK_FAILS(st_transpose(&out, a, 0, d), NULL);
        CHECK_FAILS(st_permute(&out, a, (const int64_t[]){d, 0}, 2), NULL);
        CHECK_FAILS(st_select(&out, a, 0, d), NULL);
        CHECK_FAILS(st_select(&out, a, d, 0), NULL);
        CHECK_FAILS(st_split(pieces, 4, &n, a, 1, d), NULL);
        CHECK_FAILS(st_chunk(pieces, 4, &n, a, 2, d), NULL);
        if (d != ST_NO_INDEX) CHECK_FAILS(st_argmax(&out, a, d, false), NULL);
        CHECK_FAILS(st_slice(&out, a, d, 0, 1, 1), NULL);
        CHECK_FAILS(st_embedding_create(&emb, 4, 2, d == ST_NO_INDEX ? INT64_MAX : d), NULL);
        st_module_free(emb);
        emb = NULL;
    }
    /* Bounds that Python slicing clips, steps that are not positive. */
    if (SURVIVES(st_slice(&out, a, 1, INT64_MIN, INT64_MAX, INT64_MAX)) == ST_OK)
        consistent(track(out), "slice");
    if (SURVIVES(st_slice(&out, a, 1, INT64_MAX, INT64_MIN, 1)) == ST_OK)
        consistent(track(out), "slice");
    CHECK_FAILS(st_slice(&out, a, 1, 0, 3, INT64_MIN), NULL);
    CHECK_FAILS(st_slice(&out, a, 1, 0, 3, 0), NULL);
    CHECK_FAILS(st_split(pieces, 4, &n, a, INT64_MIN, 0), NULL);
    CHECK_FAILS(st_chunk(pieces, 4, &n, a, INT64_MIN, 0), NULL);
    if (SURVIVES(st_split(pieces, 4, &n, a, INT64_MAX, 1)) == ST_OK) {
        CHECK(n == 1, "split by INT64_MAX gave %zu pieces", n);
        for (i = 0; i < n && i < 4; i++) consistent(track(pieces[i]), "split piece");
    }
done:
    free_tracked();
}

/* Extreme indices in int64 index tensors and ignore_index values. */
static void test_extreme_index_values(void) {
    const int64_t bad[2] = {INT64_MIN, INT64_MAX}, all_min[2] = {INT64_MIN, INT64_MIN};
    st_tensor *w = zeros(ST_FLOAT32, 2, (const int64_t[]){4, 2}), *idx = ivec(bad, 2), *out = NULL;
    st_tensor *ignored = ivec(all_min, 2);
    st_tensor *logits = zeros(ST_FLOAT32, 2, (const int64_t[]){2, 4});
    st_tensor *gidx = zeros(ST_INT64, 2, (const int64_t[]){2, 1});
    int64_t *data = NULL;
    REQUIRE(w && idx && ignored && logits && gidx, "inputs");
    CHECK_FAILS(st_embedding(&out, idx, w, ST_NO_INDEX), NULL);
    CHECK_FAILS(st_embedding(&out, idx, w, INT64_MAX), NULL);
    CHECK_FAILS(st_index_select(&out, w, 0, idx), NULL);
    CHECK_FAILS(st_cross_entropy(&out, logits, idx, NULL, -100, ST_REDUCTION_MEAN, 0.0f), NULL);
    CHECK_FAILS(st_cross_entropy(&out, logits, idx, NULL, -100, ST_REDUCTION_SUM, 0.5f), NULL);
    CHECK_FAILS(st_nll_loss(&out, logits, idx, NULL, INT64_MAX, ST_REDUCTION_MEAN), NULL);
    REQUIRE_OK(st_tensor_data((void **)&data, gidx));
    data[0] = INT64_MIN;
    data[1] = INT64_MAX;
    CHECK_FAILS(st_gather(&out, logits, 1, gidx), NULL);
    /* Every target ignored, with extreme ignore_index values: a NaN mean, never a trap. */
    if (SURVIVES(st_cross_entropy(&out, logits, ignored, NULL, INT64_MIN, ST_REDUCTION_MEAN,
                                  0.0f)) == ST_OK)
        track(out);
    if (SURVIVES(st_cross_entropy(&out, logits, ignored, NULL, INT64_MIN, ST_REDUCTION_MEAN,
                                  0.5f)) == ST_OK)
        track(out);
done:
    free_tracked();
}

/* Float arguments that are NaN or infinite where a size, probability or bound is meant. */
static void test_non_finite_float_arguments(void) {
    const float nans[3] = {NAN, INFINITY, -INFINITY};
    st_tensor *a = zeros(ST_FLOAT32, 2, (const int64_t[]){2, 3}), *out = NULL;
    st_module *m = NULL;
    size_t i;
    REQUIRE(a != NULL, "input");
    for (i = 0; i < COUNT(nans); i++) {
        float v = nans[i];
        CHECK_FAILS(st_dropout(&out, a, v, true), NULL);
        CHECK_FAILS(st_dropout_create(&m, v), NULL);
        CHECK_FAILS(st_multihead_attention_create(&m, 4, 2, v, true, false), NULL);
        if (SURVIVES(st_clamp(&out, a, v, v)) == ST_OK) track(out);
        if (SURVIVES(st_leaky_relu(&out, a, v)) == ST_OK) track(out);
        if (SURVIVES(st_pow_scalar(&out, a, v)) == ST_OK) track(out);
        if (SURVIVES(st_softplus(&out, a, v, v)) == ST_OK) track(out);
        if (SURVIVES(st_layer_norm(&out, a, (const int64_t[]){3}, 1, NULL, NULL, v)) == ST_OK)
            track(out);
        if (SURVIVES(st_smooth_l1_loss(&out, a, a, v, ST_REDUCTION_MEAN)) == ST_OK) track(out);
        if (SURVIVES(st_huber_loss(&out, a, a, v, ST_REDUCTION_MEAN)) == ST_OK) track(out);
        CHECK_FAILS(st_tensor_arange(&out, 0, v, 1, ST_FLOAT32), NULL);
        CHECK_FAILS(st_tensor_arange(&out, 0, 1, v, ST_INT64), NULL);
    }
    CHECK_FAILS(st_tensor_arange(&out, 0, 1e300, 1e-300, ST_FLOAT32), NULL);
    CHECK_FAILS(st_tensor_arange(&out, -1e308, 1e308, 1, ST_FLOAT32), NULL);
done:
    free_tracked();
}

/* Constructors and functions with size, kind and option arguments at their extremes: each
 * is refused with a status (Layers.swift positive(), convOptions, PoolArguments). */
static void test_layer_constructor_extremes(void) {
    static const int64_t sizes[4] = {INT64_MIN, -1, 0, INT64_MAX};
    st_module *m = NULL;
    st_transformer_options t;
    st_dataset *d = NULL;
    size_t i;
    for (i = 0; i < COUNT(sizes); i++) {
        int64_t v = sizes[i];
        CHECK_FAILS(st_linear_create(&m, v, 3, true), NULL);
        CHECK_FAILS(st_linear_create(&m, 3, v, true), NULL);
        CHECK_FAILS(st_conv2d_create(&m, v, 1, 1, 1, NULL, true), NULL);
        CHECK_FAILS(st_conv2d_create(&m, 1, 1, 1, v, NULL, true), NULL);
        CHECK_FAILS(st_embedding_create(&m, v, 2, ST_NO_INDEX), NULL);
        CHECK_FAILS(st_embedding_create(&m, 2, v, ST_NO_INDEX), NULL);
        CHECK_FAILS(st_batch_norm1d_create(&m, v, 1e-5f, 0.1f, true, true), NULL);
        CHECK_FAILS(st_batch_norm2d_create(&m, v, 1e-5f, 0.1f, true, true), NULL);
        CHECK_FAILS(st_multihead_attention_create(&m, v, 1, 0.0f, true, false), NULL);
        CHECK_FAILS(st_multihead_attention_create(&m, 4, v, 0.0f, true, false), NULL);
        st_transformer_options_init(&t, 4, 2);
        t.nhead = v;
        CHECK_FAILS(st_transformer_encoder_layer_create(&m, &t), NULL);
        st_transformer_options_init(&t, 4, 2);
        t.dim_feedforward = v;
        CHECK_FAILS(st_transformer_encoder_layer_create(&m, &t), NULL);
        CHECK_FAILS(st_layer_norm_create(&m, &v, 1, 1e-5f, true, true), NULL);
        CHECK_FAILS(st_dataset_create_regression(&d, features, ROWS, FEATURES, features, v,
                                                 ST_DATA_COPY), NULL);
        CHECK_FAILS(st_dataset_create(&d, features, v, FEATURES, labels, ST_DATA_BORROW), NULL);
        CHECK_FAILS(st_dataset_create(&d, features, v == INT64_MAX ? 2 : v, v, labels,
                                      ST_DATA_BORROW), NULL);
    }
    CHECK_FAILS(st_dataset_create_regression(&d, features, INT64_MAX / 2, 1, features, 3,
                                             ST_DATA_BORROW), NULL);
    CHECK_FAILS(st_activation_create(&m, (st_activation)-1), NULL);
    CHECK_FAILS(st_activation_create(&m, (st_activation)0x7fffffff), NULL);
    st_transformer_options_init(&t, 4, 2);
    t.activation = (st_activation)INT32_MIN;
    CHECK_FAILS(st_transformer_encoder_layer_create(&m, &t), NULL);
    CHECK_FAILS(st_blas_set_num_threads(INT32_MIN), NULL);
    CHECK_FAILS(st_blas_set_num_threads(INT32_MAX), NULL);
    CHECK_FAILS(st_blas_set_num_threads(0), NULL);
    CHECK(m == NULL && d == NULL, "failed calls left handles");
}

static void test_pool_and_conv_option_extremes(void) {
    static const int64_t extremes[4] = {INT64_MIN, -1, POW2(40), INT64_MAX};
    st_tensor *x = zeros(ST_FLOAT32, 4, (const int64_t[]){1, 1, 4, 4});
    st_tensor *w = zeros(ST_FLOAT32, 4, (const int64_t[]){1, 1, 1, 1}), *out = NULL;
    st_pool2d_options p;
    st_conv2d_options c;
    st_module *m = NULL;
    size_t i;
    REQUIRE(x && w, "inputs");
    for (i = 0; i < COUNT(extremes); i++) {
        int64_t v = extremes[i];
        st_pool2d_options_init(&p, v, 2);
        CHECK_FAILS(st_max_pool2d(&out, x, &p), NULL);
        CHECK_FAILS(st_avg_pool2d(&out, x, &p), NULL);
        CHECK_FAILS(st_max_pool2d_create(&m, &p), NULL);
        CHECK_FAILS(st_avg_pool2d_create(&m, &p), NULL);
        st_pool2d_options_init(&p, 2, 2);
        p.stride[1] = v;
        CHECK_FAILS(st_max_pool2d(&out, x, &p), NULL);
        st_pool2d_options_init(&p, 2, 2);
        p.padding[0] = v;
        CHECK_FAILS(st_avg_pool2d(&out, x, &p), NULL);
        st_pool2d_options_init(&p, 2, 2);
        p.dilation[0] = v;
        CHECK_FAILS(st_max_pool2d(&out, x, &p), NULL);
        st_pool2d_options_init(&p, 2, 2);
        p.divisor_override = v;
        if (v > 0 && v < POW2(20)) {
            if (SURVIVES(st_avg_pool2d(&out, x, &p)) == ST_OK) track(out);
        } else {
            CHECK_FAILS(st_avg_pool2d(&out, x, &p), NULL);
        }
        st_conv2d_options_init(&c);
        c.stride[0] = v;
        CHECK_FAILS(st_conv2d(&out, x, w, NULL, &c), NULL);
        CHECK_FAILS(st_conv2d_create(&m, 1, 1, 1, 1, &c, true), NULL);
        st_conv2d_options_init(&c);
        c.padding[1] = v;
        CHECK_FAILS(st_conv2d(&out, x, w, NULL, &c), NULL);
        st_conv2d_options_init(&c);
        c.dilation[1] = v;
        CHECK_FAILS(st_conv2d(&out, x, w, NULL, &c), NULL);
        st_conv2d_options_init(&c);
        c.groups = v;
        CHECK_FAILS(st_conv2d(&out, x, w, NULL, &c), NULL);
        CHECK_FAILS(st_conv2d_create(&m, 1, 1, 1, 1, &c, true), NULL);
    }
    /* The largest accepted stride and dilation on a 4x4 image: a 1x1 result or "does not fit". */
    st_conv2d_options_init(&c);
    c.stride[0] = c.stride[1] = POW2(20);
    if (SURVIVES(st_conv2d(&out, x, w, NULL, &c)) == ST_OK) consistent(track(out), "conv2d");
    st_pool2d_options_init(&p, 2, 2);
    p.dilation[0] = p.dilation[1] = POW2(20) - 1;
    CHECK_FAILS(st_max_pool2d(&out, x, &p), NULL);
    CHECK(m == NULL, "a failed call left a handle");
done:
    free_tracked();
}

/* ---- training arguments ------------------------------------------------------------------ */

typedef struct int_field {
    const char *name;
    size_t offset;
    int64_t value;
} int_field;

typedef struct double_field {
    const char *name;
    size_t offset;
    double value;
} double_field;

#define INT_FIELD(f, v) {#f, offsetof(st_training_args, f), (v)}
#define DOUBLE_FIELD(f, v) {#f, offsetof(st_training_args, f), (v)}

/* Every integer and floating-point field at an extreme: st_training_args_validate and
 * st_trainer_create report it (TrainingArguments.validate); nothing traps converting it. */
static void test_training_args_extreme_fields(void) {
    static const int_field ints[] = {
        INT_FIELD(max_steps, INT64_MAX),
        INT_FIELD(max_steps, INT64_MIN),
        INT_FIELD(max_steps, 0),
        INT_FIELD(per_device_train_batch_size, INT64_MAX),
        INT_FIELD(per_device_train_batch_size, INT64_MIN),
        INT_FIELD(per_device_train_batch_size, 0),
        INT_FIELD(per_device_eval_batch_size, INT64_MAX),
        INT_FIELD(per_device_eval_batch_size, -1),
        INT_FIELD(gradient_accumulation_steps, INT64_MAX),
        INT_FIELD(gradient_accumulation_steps, 0),
        INT_FIELD(max_micro_batch_size, INT64_MAX),
        INT_FIELD(max_micro_batch_size, INT64_MIN),
        INT_FIELD(data_seed, INT64_MIN),
    };
    static const double_field doubles[] = {
        DOUBLE_FIELD(num_train_epochs, NAN),
        DOUBLE_FIELD(num_train_epochs, INFINITY),
        DOUBLE_FIELD(num_train_epochs, -INFINITY),
        DOUBLE_FIELD(num_train_epochs, 1e300),
        DOUBLE_FIELD(num_train_epochs, 0),
        DOUBLE_FIELD(num_train_epochs, -1),
        DOUBLE_FIELD(learning_rate, NAN),
        DOUBLE_FIELD(learning_rate, INFINITY),
        DOUBLE_FIELD(weight_decay, NAN),
        DOUBLE_FIELD(adam_beta1, NAN),
        DOUBLE_FIELD(adam_beta2, 1),
        DOUBLE_FIELD(adam_epsilon, NAN),
        DOUBLE_FIELD(sgd_momentum, INFINITY),
        DOUBLE_FIELD(max_grad_norm, NAN),
        DOUBLE_FIELD(max_grad_value, INFINITY),
        DOUBLE_FIELD(warmup_steps, NAN),
        DOUBLE_FIELD(warmup_steps, INFINITY),
        DOUBLE_FIELD(warmup_steps, 1e300),
        DOUBLE_FIELD(warmup_steps, -1),
        DOUBLE_FIELD(warmup_steps, 1.5),
        DOUBLE_FIELD(warmup_ratio, NAN),
        DOUBLE_FIELD(warmup_ratio, 1),
        DOUBLE_FIELD(ema_decay, NAN),
        DOUBLE_FIELD(ema_decay, 1),
        DOUBLE_FIELD(logging_steps, 9.3e18),
        DOUBLE_FIELD(logging_steps, -9.3e18),
        DOUBLE_FIELD(logging_steps, 0),
        DOUBLE_FIELD(logging_steps, NAN),
        DOUBLE_FIELD(logging_steps, 2.5),
        DOUBLE_FIELD(eval_steps, 9.3e18),
        DOUBLE_FIELD(eval_steps, -9.3e18),
        DOUBLE_FIELD(eval_steps, INFINITY),
        DOUBLE_FIELD(eval_delay, -1),
        DOUBLE_FIELD(eval_delay, NAN),
        DOUBLE_FIELD(early_stopping_threshold, NAN),
    };
    st_training_args args;
    st_module *model = NULL;
    st_trainer *trainer = NULL;
    size_t i;
    REQUIRE_OK(st_linear_create(&model, FEATURES, CLASSES, true));
    for (i = 0; i < COUNT(ints); i++) {
        REQUIRE_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION));
        memcpy((char *)&args + ints[i].offset, &ints[i].value, sizeof(int64_t));
        if (!CHECK_FAILS(st_training_args_validate(&args), ints[i].name))
            fprintf(stderr, "    %s = %lld\n", ints[i].name, (long long)ints[i].value);
        CHECK_FAILS(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args), ints[i].name);
        st_trainer_free(trainer);
        trainer = NULL;
    }
    for (i = 0; i < COUNT(doubles); i++) {
        REQUIRE_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION));
        memcpy((char *)&args + doubles[i].offset, &doubles[i].value, sizeof(double));
        if (!CHECK_FAILS(st_training_args_validate(&args), doubles[i].name))
            fprintf(stderr, "    %s = %g\n", doubles[i].name, doubles[i].value);
        CHECK_FAILS(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args),
                    doubles[i].name);
        st_trainer_free(trainer);
        trainer = NULL;
    }
    /* Enum fields with values outside their enums. */
    REQUIRE_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION));
    args.optim = (st_optimizer)-1;
    CHECK_FAILS(st_training_args_validate(&args), "optim");
    REQUIRE_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION));
    args.lr_scheduler_type = (st_lr_scheduler)0x7fffffff;
    CHECK_FAILS(st_training_args_validate(&args), "lr_scheduler_type");
    REQUIRE_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION));
    args.version = 0xffffffffu;
    CHECK_FAILS(st_training_args_validate(&args), "version");
    /* Option strings without their terminating NUL. */
    REQUIRE_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION));
    memset(args.optim_args, 'x', sizeof args.optim_args);
    CHECK_FAILS(st_training_args_validate(&args), "optim_args");
done:
    st_module_free(model);
}

/* The same extremes as strings through st_training_args_set: the set either fails or stores a
 * value that validation then reports; the struct stays valid after a failed set. */
static void test_training_args_set_extreme_strings(void) {
    static const char *int_names[] = {"max_steps", "per_device_train_batch_size",
                                      "per_device_eval_batch_size", "gradient_accumulation_steps",
                                      "max_micro_batch_size", "logging_steps", "eval_steps",
                                      "seed", "data_seed"};
    static const char *double_names[] = {"num_train_epochs", "learning_rate", "warmup_steps",
                                         "warmup_ratio", "ema_decay", "max_grad_norm",
                                         "adam_epsilon"};
    static const char *values[] = {"9223372036854775807", "-9223372036854775808",
                                   "99999999999999999999999", "1e300", "-1e300", "1e15", "nan",
                                   "inf", "-inf", "1e309", "0x7fffffffffffffff", " ", ""};
    st_training_args args;
    size_t i, j;
    for (i = 0; i < COUNT(int_names) + COUNT(double_names); i++) {
        const char *name = i < COUNT(int_names) ? int_names[i] : double_names[i - COUNT(int_names)];
        for (j = 0; j < COUNT(values); j++) {
            int rc;
            REQUIRE_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION));
            rc = SURVIVES(st_training_args_set(&args, name, values[j]));
            if (rc == ST_OK) SURVIVES(st_training_args_validate(&args));
            else CHECK_OK(st_training_args_validate(&args));
        }
    }
done:
    return;
}

/* Values at the top of each accepted range on the 8-row problem: one optimizer step,
 * evaluation on the same data, nothing overflows (batches of 2^40 are cut to the data). */
static void test_train_with_accepted_extremes(void) {
    st_module *model = NULL;
    st_dataset *data = NULL;
    st_trainer *trainer = NULL;
    st_metrics *metrics = NULL;
    st_training_args args;
    st_trainer_state state;
    REQUIRE_OK(st_linear_create(&model, FEATURES, CLASSES, true));
    REQUIRE_OK(st_dataset_create(&data, features, ROWS, FEATURES, labels, ST_DATA_COPY));
    REQUIRE_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION));
    args.num_train_epochs = 1e-300; /* rounds up to one step */
    args.per_device_train_batch_size = POW2(40);
    args.per_device_eval_batch_size = POW2(40);
    args.gradient_accumulation_steps = POW2(40);
    args.max_micro_batch_size = POW2(40);
    args.logging_steps = POW2(40);
    args.eval_steps = POW2(40);
    args.eval_strategy = ST_STRATEGY_STEPS;
    args.seed = INT64_MIN;
    args.data_seed = INT64_MAX;
    args.logging_first_step = true;
    REQUIRE_OK(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args));
    REQUIRE_OK(st_trainer_set_train_dataset(trainer, data));
    REQUIRE_OK(st_trainer_set_eval_dataset(trainer, data));
    REQUIRE_OK(st_trainer_train(&metrics, trainer));
    memset(&state, 0, sizeof state);
    state.struct_size = sizeof state;
    REQUIRE_OK(st_trainer_get_state(&state, trainer));
    CHECK(state.global_step == 1, "global_step %lld", (long long)state.global_step);
done:
    st_metrics_free(metrics);
    st_trainer_free(trainer);
    st_dataset_free(data);
    st_module_free(model);
}

/* max_steps set: num_train_epochs is not used, so NaN or 1e300 there is accepted (HF) or
 * refused; either way no conversion of it traps. */
static void test_train_max_steps_with_non_finite_epochs(void) {
    const double epochs[3] = {NAN, 1e300, -INFINITY};
    st_module *model = NULL;
    st_dataset *data = NULL;
    st_trainer *trainer = NULL;
    st_training_args args;
    size_t i;
    REQUIRE_OK(st_linear_create(&model, FEATURES, CLASSES, true));
    REQUIRE_OK(st_dataset_create(&data, features, ROWS, FEATURES, labels, ST_DATA_COPY));
    for (i = 0; i < COUNT(epochs); i++) {
        REQUIRE_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION));
        args.num_train_epochs = epochs[i];
        args.max_steps = 3;
        args.per_device_train_batch_size = 2;
        if (SURVIVES(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args)) != ST_OK)
            continue;
        if (CHECK_OK(st_trainer_set_train_dataset(trainer, data)))
            SURVIVES(st_trainer_train(NULL, trainer));
        st_trainer_free(trainer);
        trainer = NULL;
    }
done:
    st_dataset_free(data);
    st_module_free(model);
}

/* ---- schedules, plateau, optimizers ------------------------------------------------------ */

static void test_lr_schedule_extreme_arguments(void) {
    static const struct {
        st_lr_scheduler kind;
        const char *kwargs;
    } bad[] = {
        {ST_LR_STEP, "step_size=1e300"},
        {ST_LR_STEP, "step_size=nan"},
        {ST_LR_STEP, "step_size=-inf"},
        {ST_LR_INVERSE_SQRT, "timescale=-1e300"},
        {ST_LR_INVERSE_SQRT, "timescale=inf"},
        {ST_LR_WARMUP_STABLE_DECAY, "num_decay_steps=nan"},
        {ST_LR_WARMUP_STABLE_DECAY, "num_decay_steps=1e300"},
        {ST_LR_WARMUP_STABLE_DECAY, "num_decay_steps=1,num_stable_steps=-9e18"},
    };
    static const struct {
        st_lr_scheduler kind;
        const char *kwargs;
    } extreme[] = {
        {ST_LR_WARMUP_STABLE_DECAY, "num_decay_steps=999999999999999,num_stable_steps=999999999999999"},
        {ST_LR_COSINE_WITH_RESTARTS, "num_cycles=1e308"},
        {ST_LR_COSINE, "num_cycles=nan"},
        {ST_LR_POLYNOMIAL, "power=1e308,lr_end=-1e308"},
        {ST_LR_COSINE_WITH_MIN_LR, "min_lr=nan"},
        {ST_LR_STEP, "step_size=1,gamma=inf"},
        {ST_LR_EXPONENTIAL, "gamma=-1e308"},
        {ST_LR_INVERSE_SQRT, "timescale=999999999999999"},
    };
    static const int64_t steps[4] = {0, 1, POW2(40), POW2(50) - 1};
    st_lr_schedule *s = NULL;
    double f = 0;
    size_t i, j;
    CHECK_FAILS(st_lr_schedule_create(&s, ST_LR_LINEAR, INT64_MAX, 10, NULL, 1e-3), NULL);
    CHECK_FAILS(st_lr_schedule_create(&s, ST_LR_LINEAR, INT64_MIN, 10, NULL, 1e-3), NULL);
    CHECK_FAILS(st_lr_schedule_create(&s, ST_LR_LINEAR, 0, INT64_MAX, NULL, 1e-3), NULL);
    CHECK_FAILS(st_lr_schedule_create(&s, ST_LR_LINEAR, 0, INT64_MIN, NULL, 1e-3), NULL);
    CHECK_FAILS(st_lr_schedule_create(&s, ST_LR_LINEAR, 0, 10, NULL, NAN), NULL);
    CHECK_FAILS(st_lr_schedule_create(&s, ST_LR_LINEAR, 0, 10, NULL, INFINITY), NULL);
    CHECK_FAILS(st_lr_schedule_create(&s, (st_lr_scheduler)-1, 0, 10, NULL, 1e-3), NULL);
    for (i = 0; i < COUNT(bad); i++)
        CHECK_FAILS(st_lr_schedule_create(&s, bad[i].kind, 0, 10, bad[i].kwargs, 1e-3), NULL);
    for (i = 0; i < COUNT(extreme); i++) {
        if (SURVIVES(st_lr_schedule_create(&s, extreme[i].kind, POW2(40) - 1, POW2(40),
                                           extreme[i].kwargs, 1e-3)) != ST_OK)
            continue;
        for (j = 0; j < COUNT(steps); j++) SURVIVES(st_lr_schedule_factor(&f, s, steps[j]));
        CHECK_FAILS(st_lr_schedule_factor(&f, s, INT64_MAX), NULL);
        CHECK_FAILS(st_lr_schedule_factor(&f, s, INT64_MIN), NULL);
        st_lr_schedule_free(s);
        s = NULL;
    }
}

static void test_plateau_extreme_arguments(void) {
    static const char *bad[] = {"patience=1e300", "patience=nan", "cooldown=-inf",
                                "cooldown=1e300", "factor=nan", "factor=inf"};
    double rates[2] = {1e-3, 1e-2};
    st_plateau *p = NULL;
    size_t i;
    for (i = 0; i < COUNT(bad); i++) CHECK_FAILS(st_plateau_create(&p, bad[i]), NULL);
    if (!CHECK_OK(st_plateau_create(&p, "patience=0,cooldown=999999999999999,min_lr=1e308")))
        return;
    SURVIVES(st_plateau_step(p, NAN, rates, 2));
    SURVIVES(st_plateau_step(p, INFINITY, rates, 2));
    SURVIVES(st_plateau_step(p, -INFINITY, rates, 2));
    SURVIVES(st_plateau_step(p, 1.0, rates, 0));
    CHECK_FAILS(st_plateau_step(p, 1.0, rates, SIZE_MAX), NULL);
    CHECK_FAILS(st_plateau_step(p, 1.0, rates, (size_t)INT64_MAX), NULL);
    st_plateau_free(p);
}

/* Optimizer state dicts with extreme indices and steps (Optimizer.loadStateDict, the C
 * layer's "<index>.<field>" parsing). */
static void test_optim_state_dict_extreme_entries(void) {
    static const char *bad_names[] = {"9223372036854775807.step", "-9223372036854775808.step",
                                      "99999999999999999999.step", "-1.step", ".step", "step",
                                      "0."};
    static const float bad_steps[] = {1e30f, NAN, INFINITY, -1.0f};
    const float zero = 0, one = 1;
    st_tensor *p = vec(&zero, 1), *t = NULL;
    st_optim *opt = NULL;
    st_optim_options o;
    st_named_tensors *state = NULL;
    size_t i;
    REQUIRE(p != NULL, "parameter");
    REQUIRE_OK(st_tensor_set_requires_grad(p, true));
    REQUIRE_OK(st_optim_options_init(&o, ST_OPTIM_ADAM));
    REQUIRE_OK(st_optim_create(&opt, ST_OPTIM_ADAM, &p, 1, &o));
    t = vec(&one, 1);
    REQUIRE(t != NULL, "step tensor");
    for (i = 0; i < COUNT(bad_names); i++) {
        REQUIRE_OK(st_named_tensors_create(&state));
        REQUIRE_OK(st_named_tensors_add(state, bad_names[i], t));
        CHECK_FAILS(st_optim_load_state_dict(opt, state), NULL);
        st_named_tensors_free(state);
        state = NULL;
    }
    for (i = 0; i < COUNT(bad_steps); i++) {
        st_tensor *s = vec(&bad_steps[i], 1);
        REQUIRE(s != NULL, "step");
        REQUIRE_OK(st_named_tensors_create(&state));
        REQUIRE_OK(st_named_tensors_add(state, "0.step", s));
        CHECK_FAILS(st_optim_load_state_dict(opt, state), NULL);
        st_named_tensors_free(state);
        state = NULL;
    }
done:
    st_named_tensors_free(state);
    st_optim_free(opt);
    free_tracked();
}

/* ---- handles ----------------------------------------------------------------------------- */

/* One handle of every kind. */
typedef struct all_kinds {
    st_tensor *tensor;
    st_module *module;
    st_dataset *dataset;
    st_trainer *trainer;
    st_metrics *metrics;
    st_named_tensors *list;
    st_optim *optim;
    st_lr_schedule *schedule;
    st_plateau *plateau;
} all_kinds;

static int make_all_kinds(all_kinds *k) {
    st_training_args args;
    st_optim_options o;
    const float zero = 0;
    int64_t one = 1;
    memset(k, 0, sizeof *k);
    return CHECK_OK(st_tensor_create(&k->tensor, &zero, &one, 1, ST_FLOAT32, ST_DATA_COPY)) &&
           CHECK_OK(st_tensor_set_requires_grad(k->tensor, true)) &&
           CHECK_OK(st_linear_create(&k->module, FEATURES, CLASSES, true)) &&
           CHECK_OK(st_dataset_create(&k->dataset, features, ROWS, FEATURES, labels, ST_DATA_COPY)) &&
           CHECK_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION)) &&
           CHECK_OK(st_trainer_create(&k->trainer, k->module, ST_LOSS_CROSS_ENTROPY, &args)) &&
           CHECK_OK(st_trainer_evaluate(&k->metrics, k->trainer, k->dataset)) &&
           CHECK_OK(st_named_tensors_create(&k->list)) &&
           CHECK_OK(st_optim_options_init(&o, ST_OPTIM_SGD)) &&
           CHECK_OK(st_optim_create(&k->optim, ST_OPTIM_SGD, &k->tensor, 1, &o)) &&
           CHECK_OK(st_lr_schedule_create(&k->schedule, ST_LR_LINEAR, 0, 10, NULL, 1e-3)) &&
           CHECK_OK(st_plateau_create(&k->plateau, NULL));
}

static void free_all_kinds(all_kinds *k) {
    st_plateau_free(k->plateau);
    st_lr_schedule_free(k->schedule);
    st_optim_free(k->optim);
    st_named_tensors_free(k->list);
    st_metrics_free(k->metrics);
    st_trainer_free(k->trainer);
    st_dataset_free(k->dataset);
    st_module_free(k->module);
    st_tensor_free(k->tensor);
}

/* Every kind freed twice (the second free is harmless), and every use after the free is
 * ST_EMISUSE. */
static void test_double_free_and_use_after_free(void) {
    all_kinds k;
    int64_t n = 0;
    size_t count = 0;
    double value = 0;
    double rates[1] = {1e-3};
    const char *name = NULL;
    st_tensor *out = NULL;
    st_metrics *m = NULL;
    if (!make_all_kinds(&k)) {
        free_all_kinds(&k);
        return;
    }
    free_all_kinds(&k);
    free_all_kinds(&k);
    CHECK_ERROR(st_tensor_numel(&n, k.tensor), ST_EMISUSE, "freed");
    CHECK_ERROR(st_module_num_parameters(&n, k.module), ST_EMISUSE, "freed");
    CHECK_ERROR(st_dataset_num_samples(&n, k.dataset), ST_EMISUSE, "freed");
    CHECK_ERROR(st_trainer_log_history_count(&count, k.trainer), ST_EMISUSE, "freed");
    CHECK_ERROR(st_trainer_train(&m, k.trainer), ST_EMISUSE, "freed");
    CHECK_ERROR(st_metrics_get(&value, k.metrics, "eval_loss"), ST_EMISUSE, "freed");
    CHECK_ERROR(st_metrics_entry(&name, &value, k.metrics, 0), ST_EMISUSE, "freed");
    CHECK(st_metrics_count(k.metrics) == 0, "count of freed metrics");
    CHECK_ERROR(st_named_tensors_entry(&name, &out, k.list, 0), ST_EMISUSE, "freed");
    CHECK_ERROR(st_optim_step(k.optim), ST_EMISUSE, "freed");
    CHECK_ERROR(st_lr_schedule_factor(&value, k.schedule, 0), ST_EMISUSE, "freed");
    CHECK_ERROR(st_plateau_step(k.plateau, 1.0, rates, 1), ST_EMISUSE, "freed");
    CHECK(out == NULL && m == NULL, "failed calls left handles");
}

/* Handles of one kind where another is expected (a cast through void *): ST_EINVAL naming the
 * expected kind, never a crash or a misread object. */
static void test_wrong_handle_kind_everywhere(void) {
    all_kinds k;
    int64_t n = 0;
    size_t count = 0;
    double value = 0;
    double rates[1] = {1e-3};
    st_tensor *out = NULL;
    st_trainer *made = NULL;
    st_metrics *evaluated = NULL;
    st_training_args args;
    void *t;
    if (!make_all_kinds(&k)) goto done;
    t = k.tensor;
    CHECK_ERROR(st_module_num_parameters(&n, (st_module *)t), ST_EINVAL, "st_module");
    CHECK_ERROR(st_module_forward(&out, (st_module *)t, k.tensor), ST_EINVAL, "st_module");
    CHECK_ERROR(st_dataset_num_samples(&n, (st_dataset *)t), ST_EINVAL, "st_dataset");
    CHECK_ERROR(st_trainer_log_history_count(&count, (st_trainer *)t), ST_EINVAL, "st_trainer");
    CHECK_ERROR(st_metrics_get(&value, (st_metrics *)t, "x"), ST_EINVAL, "st_metrics");
    CHECK(st_metrics_count((st_metrics *)t) == 0, "metrics count of a tensor handle");
    CHECK_ERROR(st_named_tensors_add((st_named_tensors *)t, "x", k.tensor), ST_EINVAL,
                "st_named_tensors");
    CHECK(st_named_tensors_count((st_named_tensors *)t) == 0, "list count of a tensor handle");
    CHECK_ERROR(st_optim_step((st_optim *)t), ST_EINVAL, "st_optim");
    CHECK_ERROR(st_lr_schedule_factor(&value, (st_lr_schedule *)t, 0), ST_EINVAL, "st_lr_schedule");
    CHECK_ERROR(st_plateau_step((st_plateau *)t, 1.0, rates, 1), ST_EINVAL, "st_plateau");
    /* and the other way round */
    CHECK_ERROR(st_tensor_numel(&n, (st_tensor *)(void *)k.module), ST_EINVAL, "st_tensor");
    CHECK_ERROR(st_tensor_numel(&n, (st_tensor *)(void *)k.trainer), ST_EINVAL, "st_tensor");
    CHECK_ERROR(st_relu(&out, (st_tensor *)(void *)k.metrics), ST_EINVAL, "st_tensor");
    CHECK_ERROR(st_module_forward(&out, (st_module *)(void *)k.optim, k.tensor), ST_EINVAL,
                "st_module");
    CHECK_ERROR(st_optim_step((st_optim *)(void *)k.schedule), ST_EINVAL, "st_optim");
    REQUIRE_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION));
    CHECK_ERROR(st_trainer_create(&made, (st_module *)(void *)k.dataset, ST_LOSS_MSE, &args),
                ST_EINVAL, "st_module");
    CHECK_ERROR(st_trainer_set_train_dataset(k.trainer, (st_dataset *)(void *)k.trainer),
                ST_EINVAL, "st_dataset");
    CHECK_ERROR(st_trainer_evaluate(&evaluated, k.trainer, (st_dataset *)(void *)k.list),
                ST_EINVAL, "st_dataset");
    CHECK(out == NULL && made == NULL && evaluated == NULL, "failed calls left handles");
done:
    free_all_kinds(&k);
}

/* Freeing with the *_free of another kind (a cast through void *) must not crash; whether it
 * frees the handle is left open, but the handle then either still works or is ST_EMISUSE. */
static void test_free_with_wrong_kind(void) {
    st_tensor *t = NULL;
    int64_t n = 0;
    int rc;
    if (!CHECK_OK(st_tensor_zeros(&t, (const int64_t[]){2}, 1, ST_FLOAT32))) return;
    st_module_free((st_module *)(void *)t);
    st_dataset_free((st_dataset *)(void *)t);
    st_trainer_free((st_trainer *)(void *)t);
    st_metrics_free((st_metrics *)(void *)t);
    rc = st_tensor_numel(&n, t);
    CHECK(rc == ST_OK || rc == ST_EMISUSE, "st_tensor_numel after a wrong-kind free: %d", rc);
    st_tensor_free(t);
}

/* Values that never were handles: ST_EMISUSE (not in the handle table), never a dereference. */
static void test_never_created_handles(void) {
    static const uintptr_t bogus[] = {1, 0x10, 0x1000, 0x1234, 0xdeadbeef,
                                      (uintptr_t)-1, (uintptr_t)-16};
    int64_t n = 0;
    size_t i;
    st_tensor *out = NULL;
    int local = 0;
    for (i = 0; i < COUNT(bogus); i++) {
        void *h = (void *)bogus[i];
        CHECK_ERROR(st_tensor_numel(&n, (st_tensor *)h), ST_EMISUSE, NULL);
        CHECK_ERROR(st_relu(&out, (st_tensor *)h), ST_EMISUSE, NULL);
        CHECK_ERROR(st_module_num_parameters(&n, (st_module *)h), ST_EMISUSE, NULL);
        CHECK_ERROR(st_dataset_num_samples(&n, (st_dataset *)h), ST_EMISUSE, NULL);
        CHECK_ERROR(st_optim_step((st_optim *)h), ST_EMISUSE, NULL);
        CHECK(st_metrics_count((st_metrics *)h) == 0, "metrics count of a bogus handle");
        st_tensor_free((st_tensor *)h);
        st_trainer_free((st_trainer *)h);
    }
    CHECK_ERROR(st_tensor_numel(&n, (st_tensor *)(void *)&local), ST_EMISUSE, NULL);
    CHECK(out == NULL, "a failed call left a handle");
}

/* A callback that calls back into its own trainer: train / evaluate / predict are
 * ST_EMISUSE, freeing the metrics it was lent and freeing the trainer itself (both documented
 * as not allowed) do not crash the training that is running. */
typedef struct misuse_state {
    st_trainer *trainer;
    st_dataset *data;
    int calls;
    int freed_trainer;
} misuse_state;

static int misusing_callback(st_event event, const st_trainer_state *state,
                             st_trainer_control *control, void *user_data) {
    misuse_state *s = (misuse_state *)user_data;
    st_metrics *m = NULL;
    float predictions[ROWS * CLASSES];
    (void)control;
    s->calls++;
    if (event == ST_EVENT_STEP_END && state->global_step == 1) {
        CHECK_ERROR(st_trainer_train(NULL, s->trainer), ST_EMISUSE, NULL);
        CHECK_ERROR(st_trainer_evaluate(&m, s->trainer, s->data), ST_EMISUSE, NULL);
        CHECK_ERROR(st_trainer_predict(predictions, ROWS * CLASSES, NULL, s->trainer, s->data),
                    ST_EMISUSE, NULL);
    }
    if (event == ST_EVENT_LOG && state->metrics) st_metrics_free((st_metrics *)state->metrics);
    if (event == ST_EVENT_STEP_END && state->global_step == 2 && !s->freed_trainer) {
        s->freed_trainer = 1;
        st_trainer_free(s->trainer);
    }
    return 0;
}

static void test_callback_misuse(void) {
    st_module *model = NULL;
    st_training_args args;
    st_metrics *metrics = NULL;
    misuse_state s;
    size_t count = 0;
    memset(&s, 0, sizeof s);
    REQUIRE_OK(st_linear_create(&model, FEATURES, CLASSES, true));
    REQUIRE_OK(st_dataset_create(&s.data, features, ROWS, FEATURES, labels, ST_DATA_COPY));
    REQUIRE_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION));
    args.per_device_train_batch_size = 2;
    args.num_train_epochs = 2;
    args.logging_steps = 1;
    REQUIRE_OK(st_trainer_create(&s.trainer, model, ST_LOSS_CROSS_ENTROPY, &args));
    REQUIRE_OK(st_trainer_set_train_dataset(s.trainer, s.data));
    REQUIRE_OK(st_trainer_add_callback(s.trainer, misusing_callback, &s, ST_EVENT_MASK_ALL));
    SURVIVES(st_trainer_train(&metrics, s.trainer));
    CHECK(s.calls > 10, "the callback ran %d times", s.calls);
    if (s.freed_trainer)
        CHECK_ERROR(st_trainer_log_history_count(&count, s.trainer), ST_EMISUSE, "freed");
done:
    st_metrics_free(metrics);
    if (!s.freed_trainer) st_trainer_free(s.trainer);
    st_dataset_free(s.data);
    st_module_free(model);
}

/* ---- size_t arguments at and above 2^63 (negative as Swift Ints) ------------------------- */

static void test_size_t_counts_above_int64_max(void) {
    static const size_t sizes[2] = {SIZE_MAX, (size_t)INT64_MAX + 1};
    const float data[4] = {0};
    st_tensor *a = zeros(ST_FLOAT32, 1, (const int64_t[]){4}), *out = NULL, *list[1];
    st_module *model = NULL, *seq = NULL;
    st_dataset *d = NULL;
    st_trainer *trainer = NULL;
    st_training_args args;
    st_named_tensors *names = NULL;
    st_metrics *metrics = NULL, *entry = NULL;
    st_optim *opt = NULL, *made = NULL;
    st_optim_options o;
    st_param_group_info info;
    const char *name = NULL;
    double value = 0;
    float predictions[ROWS * CLASSES];
    const int64_t shape[8] = {4, 1, 1, 1, 1, 1, 1, 1};
    size_t i;
    REQUIRE(a != NULL, "input");
    list[0] = a;
    REQUIRE_OK(st_tensor_set_requires_grad(a, true));
    REQUIRE_OK(st_linear_create(&model, FEATURES, CLASSES, true));
    REQUIRE_OK(st_dataset_create(&d, features, ROWS, FEATURES, labels, ST_DATA_COPY));
    REQUIRE_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION));
    REQUIRE_OK(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args));
    REQUIRE_OK(st_trainer_evaluate(&metrics, trainer, d));
    REQUIRE_OK(st_named_tensors_create(&names));
    REQUIRE_OK(st_named_tensors_add(names, "a", a));
    REQUIRE_OK(st_optim_options_init(&o, ST_OPTIM_SGD));
    REQUIRE_OK(st_optim_create(&opt, ST_OPTIM_SGD, list, 1, &o));
    REQUIRE_OK(st_optim_get_param_group(&info, opt, 0));
    for (i = 0; i < COUNT(sizes); i++) {
        size_t n = sizes[i];
        CHECK_FAILS(st_tensor_create(&out, data, shape, n, ST_FLOAT32, ST_DATA_COPY), NULL);
        CHECK_FAILS(st_tensor_zeros(&out, shape, n, ST_FLOAT32), NULL);
        CHECK_FAILS(st_tensor_full(&out, shape, n, 1.0f), NULL);
        CHECK_FAILS(st_reshape(&out, a, shape, n), NULL);
        CHECK_FAILS(st_expand(&out, a, shape, n), NULL);
        CHECK_FAILS(st_sum(&out, a, shape, n, false), NULL);
        CHECK_FAILS(st_permute(&out, a, shape, n), NULL);
        CHECK_FAILS(st_layer_norm(&out, a, shape, n, NULL, NULL, 1e-5f), NULL);
        CHECK_FAILS(st_cat(&out, list, n, 0), NULL);
        CHECK_FAILS(st_stack(&out, list, n, 0), NULL);
        CHECK_FAILS(st_tensor_copy_to(predictions, n, a), NULL);
        CHECK_FAILS(st_sequential_create(&seq, &model, n), NULL);
        CHECK_FAILS(st_dataset_set_sample_shape(d, shape, n), NULL);
        CHECK_FAILS(st_trainer_predict(predictions, n, NULL, trainer, d), NULL);
        CHECK_FAILS(st_trainer_log_history_entry(&entry, trainer, n), NULL);
        CHECK_FAILS(st_metrics_entry(&name, &value, metrics, n), NULL);
        CHECK_FAILS(st_named_tensors_entry(&name, &out, names, n), NULL);
        CHECK_FAILS(st_optim_create(&made, ST_OPTIM_SGD, list, n, &o), NULL);
        CHECK_FAILS(st_optim_add_param_group(opt, list, n, 1e-3, 0, 0), NULL);
        CHECK_FAILS(st_optim_get_param_group(&info, opt, n), NULL);
        CHECK_FAILS(st_optim_set_param_group(opt, n, &info), NULL);
    }
    CHECK(out == NULL && seq == NULL && entry == NULL && made == NULL, "failed calls left handles");
done:
    st_optim_free(opt);
    st_named_tensors_free(names);
    st_metrics_free(metrics);
    st_trainer_free(trainer);
    st_dataset_free(d);
    st_module_free(model);
    free_tracked();
}

/* A capacity of SIZE_MAX says "the buffer is large enough": the call succeeds (only as many
 * entries as there are get written). */
static void test_size_t_capacity_above_int64_max(void) {
    int64_t shape[ST_MAX_DIMS];
    st_tensor *a = zeros(ST_FLOAT32, 2, (const int64_t[]){4, 2}), *pieces[4] = {NULL};
    size_t n = 0, i;
    REQUIRE(a != NULL, "input");
    CHECK_OK(st_tensor_shape(shape, SIZE_MAX, a));
    if (CHECK_OK(st_split(pieces, SIZE_MAX, &n, a, 1, 0)))
        for (i = 0; i < n && i < 4; i++) track(pieces[i]);
done:
    free_tracked();
}

/* ---- deep structures --------------------------------------------------------------------- */

/* A long chain of recorded operations (an RNN unrolled, a long loop of updates) freed without
 * a backward pass: releasing it must not recurse once per node (stack overflow). */
#define CHAIN_LENGTH 200000

static void test_deep_autograd_chain_free(void) {
    const float one = 1;
    int64_t n = 1;
    st_tensor *x = NULL, *y = NULL, *z = NULL;
    int i;
    REQUIRE_OK(st_tensor_create(&x, &one, &n, 1, ST_FLOAT32, ST_DATA_COPY));
    REQUIRE_OK(st_tensor_set_requires_grad(x, true));
    REQUIRE_OK(st_add_scalar(&y, x, 1.0f));
    for (i = 0; i < CHAIN_LENGTH; i++) {
        REQUIRE_OK(st_add_scalar(&z, y, 1.0f));
        st_tensor_free(y);
        y = z;
        z = NULL;
    }
done:
    st_tensor_free(y); /* drops the whole chain */
    st_tensor_free(x);
}

/* Sequentials nested NESTING deep (a model built by a loop that wraps the previous one):
 * freeing, forward and the other walks over the nesting must not recurse once per level
 * (stack overflow), or the library must refuse such nesting when it is built. */
#define NESTING 100000

static st_module *nested_sequential(void) {
    st_module *inner = NULL, *outer = NULL;
    int i;
    if (!CHECK_OK(st_linear_create(&inner, 2, 2, true))) return NULL;
    for (i = 0; i < NESTING; i++) {
        if (SURVIVES(st_sequential_create(&outer, &inner, 1)) != ST_OK) break;
        st_module_free(inner);
        inner = outer;
        outer = NULL;
    }
    return inner;
}

static void test_deep_sequential_free(void) {
    st_module_free(nested_sequential()); /* drops the whole nesting */
}

static void test_deep_sequential_forward(void) {
    st_module *model = nested_sequential();
    st_tensor *x = zeros(ST_FLOAT32, 2, (const int64_t[]){1, 2}), *out = NULL;
    if (model && x && SURVIVES(st_module_forward(&out, model, x)) == ST_OK) track(out);
    free_tracked();
    /* the model is not freed: freeing is the case above */
}

/* ---- events ------------------------------------------------------------------------------ */

static void test_event_names_out_of_range(void) {
    static const int events[] = {INT32_MIN, -1, ST_EVENT_COUNT, ST_EVENT_COUNT + 1, 31, 32, 64,
                                 INT32_MAX};
    size_t i;
    int e;
    for (e = 0; e < ST_EVENT_COUNT; e++)
        CHECK(st_event_name(e) != NULL, "st_event_name(%d) is NULL", e);
    for (i = 0; i < COUNT(events); i++)
        CHECK(st_event_name(events[i]) == NULL, "st_event_name(%d) is not NULL", events[i]);
}

/* A callback that aborts at every event, including the exception and close events that an
 * abort itself fires: ST_EUSER from train, evaluate and predict, never a loop or a crash. */
static int always_abort(st_event event, const st_trainer_state *state,
                        st_trainer_control *control, void *user_data) {
    (void)event;
    (void)state;
    (void)control;
    ++*(int *)user_data;
    return INT32_MIN;
}

static void test_callback_aborts_every_event(void) {
    st_module *model = NULL;
    st_dataset *data = NULL;
    st_trainer *trainer = NULL;
    st_metrics *metrics = NULL;
    st_training_args args;
    float predictions[ROWS * CLASSES];
    int calls = 0;
    REQUIRE_OK(st_linear_create(&model, FEATURES, CLASSES, true));
    REQUIRE_OK(st_dataset_create(&data, features, ROWS, FEATURES, labels, ST_DATA_COPY));
    REQUIRE_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION));
    REQUIRE_OK(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args));
    REQUIRE_OK(st_trainer_set_train_dataset(trainer, data));
    REQUIRE_OK(st_trainer_add_callback(trainer, always_abort, &calls, ST_EVENT_MASK_ALL));
    CHECK_ERROR(st_trainer_train(&metrics, trainer), ST_EUSER, NULL);
    CHECK_ERROR(st_trainer_train(&metrics, trainer), ST_EUSER, NULL);
    CHECK_ERROR(st_trainer_evaluate(&metrics, trainer, data), ST_EUSER, NULL);
    CHECK_ERROR(st_trainer_predict(predictions, ROWS * CLASSES, &metrics, trainer, data), ST_EUSER,
                NULL);
    CHECK(calls > 0 && calls < 1000, "the callback ran %d times", calls);
    CHECK(metrics == NULL, "a failed call left metrics");
done:
    st_metrics_free(metrics);
    st_trainer_free(trainer);
    st_dataset_free(data);
    st_module_free(model);
}

int main(int argc, char **argv) {
    /* ctest registers one test per entry (Tests/c/CMakeLists.txt reads this table). */
    static const test_case cases[] = {
        {"zeros_of_2_pow_40_elements", test_zeros_of_2_pow_40_elements},
        {"layer_norm_create_2_pow_40", test_layer_norm_create_2_pow_40},
        {"embedding_create_huge_table", test_embedding_create_huge_table},
        {"conv2d_create_huge_fan_in", test_conv2d_create_huge_fan_in},
        {"conv2d_create_huge_kernel", test_conv2d_create_huge_kernel},
        {"multihead_attention_create_huge", test_multihead_attention_create_huge},
        {"transformer_create_huge_d_model", test_transformer_create_huge_d_model},
        {"dataset_copy_absurd_rows", test_dataset_copy_absurd_rows},
        {"dataset_borrow_absurd_rows", test_dataset_borrow_absurd_rows},
        {"conv2d_huge_padding_output", test_conv2d_huge_padding_output},
        {"conv2d_empty_batch_tall_image", test_conv2d_empty_batch_tall_image},
        {"matmul_result_2_pow_40", test_matmul_result_2_pow_40},
        {"matmul_result_overflows", test_matmul_result_overflows},
        {"attention_causal_empty_batch", test_attention_causal_empty_batch},
        {"multihead_attention_causal_empty_batch", test_multihead_attention_causal_empty_batch},
        {"expand_to_2_pow_40", test_expand_to_2_pow_40},
        {"reshape_overflowing_shape", test_reshape_overflowing_shape},
        {"reshape_minus_one_overflowing_rest", test_reshape_minus_one_overflowing_rest},
        {"expand_overflowing_shape", test_expand_overflowing_shape},
        {"expand_leading_minus_one", test_expand_leading_minus_one},
        {"expand_leading_minus_one_then_use", test_expand_leading_minus_one_then_use},
        {"empty_tensor_sum_over_empty_dim", test_empty_tensor_sum_over_empty_dim},
        {"empty_tensor_cat_overflowing_dim", test_empty_tensor_cat_overflowing_dim},
        {"empty_tensor_flatten_overflowing_dims", test_empty_tensor_flatten_overflowing_dims},
        {"empty_tensor_transpose", test_empty_tensor_transpose},
        {"empty_tensor_softmax_over_empty_dim", test_empty_tensor_softmax_over_empty_dim},
        {"empty_tensor_max_dim", test_empty_tensor_max_dim},
        {"empty_tensor_slice", test_empty_tensor_slice},
        {"empty_tensor_gather", test_empty_tensor_gather},
        {"empty_tensor_index_select", test_empty_tensor_index_select},
        {"empty_tensor_where", test_empty_tensor_where},
        {"empty_tensor_mean_over_huge_dims", test_empty_tensor_mean_over_huge_dims},
        {"empty_tensor_batch_norm", test_empty_tensor_batch_norm},
        {"empty_tensor_avg_pool", test_empty_tensor_avg_pool},
        {"var_correction_int64_min", test_var_correction_int64_min},
        {"chunk_int64_max", test_chunk_int64_max},
        {"arange_huge_negative_span", test_arange_huge_negative_span},
        {"arange_int64_values_out_of_range", test_arange_int64_values_out_of_range},
        {"add_scalar_int64_huge", test_add_scalar_int64_huge},
        {"mul_scalar_int64_infinity", test_mul_scalar_int64_infinity},
        {"flatten_create_int64_min", test_flatten_create_int64_min},
        {"softmax_create_int64_min", test_softmax_create_int64_min},
        {"extreme_dims_and_indices", test_extreme_dims_and_indices},
        {"extreme_index_values", test_extreme_index_values},
        {"non_finite_float_arguments", test_non_finite_float_arguments},
        {"layer_constructor_extremes", test_layer_constructor_extremes},
        {"pool_and_conv_option_extremes", test_pool_and_conv_option_extremes},
        {"training_args_extreme_fields", test_training_args_extreme_fields},
        {"training_args_set_extreme_strings", test_training_args_set_extreme_strings},
        {"train_with_accepted_extremes", test_train_with_accepted_extremes},
        {"train_max_steps_with_non_finite_epochs", test_train_max_steps_with_non_finite_epochs},
        {"lr_schedule_extreme_arguments", test_lr_schedule_extreme_arguments},
        {"plateau_extreme_arguments", test_plateau_extreme_arguments},
        {"optim_state_dict_extreme_entries", test_optim_state_dict_extreme_entries},
        {"double_free_and_use_after_free", test_double_free_and_use_after_free},
        {"wrong_handle_kind_everywhere", test_wrong_handle_kind_everywhere},
        {"free_with_wrong_kind", test_free_with_wrong_kind},
        {"never_created_handles", test_never_created_handles},
        {"callback_misuse", test_callback_misuse},
        {"size_t_counts_above_int64_max", test_size_t_counts_above_int64_max},
        {"size_t_capacity_above_int64_max", test_size_t_capacity_above_int64_max},
        {"deep_autograd_chain_free", test_deep_autograd_chain_free},
        {"deep_sequential_free", test_deep_sequential_free},
        {"deep_sequential_forward", test_deep_sequential_forward},
        {"event_names_out_of_range", test_event_names_out_of_range},
        {"callback_aborts_every_event", test_callback_aborts_every_event},
    };
    /* A case that hangs (a loop over a wrapped count) fails instead of waiting for ctest. */
    if (argc == 2) alarm(60);
    return run_test_cases(cases, sizeof cases / sizeof cases[0], argc, argv);
}
