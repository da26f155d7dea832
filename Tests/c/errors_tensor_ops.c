/* Errors of the tensor operations (the "element-wise", "activations", "reductions", "shape
 * operations", "linear algebra and neural-network functions" and "losses" parts of the Tensors
 * section): shapes, sizes and dtypes that do not fit together, dims and indices out of range
 * (INT64_MIN, INT64_MAX too), split capacities, pooling and convolution options, results of
 * 2^40 elements or more, empty tensors with enormous other dimensions, and non-finite float
 * arguments. A status every time, or, where an extreme value has a sensible answer, a
 * consistent result (no negative dimension, numel equal to the shape's product).
 *
 * Each case is its own ctest test, c.errors_tensor_ops.<case>, in its own process: a case that
 * traps, aborts or faults fails alone, and an alarm turns a hang into a failure. The helpers
 * (CHECK_FAILS, SURVIVES, the small problem, ...) are shared, in check.h. */
#include "check.h"
#include "swifttrain.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void test_matmul_shape_mismatch(void) {
    st_tensor *a = zeros2(2, 3), *b = zeros2(4, 5), *v3 = zeros1(3), *v4 = zeros1(4);
    st_tensor *out = a;
    REQUIRE(a && b && v3 && v4, "inputs");
    if (CHECK_ERROR(st_matmul(&out, a, b), ST_ESHAPE, "[2, 3]")) {
        MESSAGE_HAS("[4, 5]");
        MESSAGE_HAS("matmul");
    }
    RESET_TO_NULL(out, "st_matmul");
    if (CHECK_ERROR(st_matmul(&out, v3, v4), ST_ESHAPE, "[3]")) MESSAGE_HAS("[4]");
    {
        /* Batch dimensions 2 and 3 do not broadcast. */
        const int64_t left[3] = {2, 2, 3}, right[3] = {3, 3, 2};
        st_tensor *l = zeros(ST_FLOAT32, 3, left), *r = zeros(ST_FLOAT32, 3, right);
        if (l && r && CHECK_ERROR(st_matmul(&out, l, r), ST_ESHAPE, "[2, 2, 3]"))
            MESSAGE_HAS("[3, 3, 2]");
    }
    /* linear: x [2, 3] with a weight for 5 inputs. */
    if (CHECK_ERROR(st_linear(&out, a, b, NULL), ST_ESHAPE, "[2, 3]")) {
        MESSAGE_HAS("[4, 5]");
        MESSAGE_HAS("linear");
    }
done:
    free_tracked();
}

static void test_broadcast_shape_mismatch(void) {
    st_tensor *a = zeros2(2, 3), *b = zeros1(4), *c = zeros2(3, 2), *out = NULL;
    REQUIRE(a && b && c, "inputs");
    out = a;
    if (CHECK_ERROR(st_add(&out, a, b), ST_ESHAPE, "[2, 3]")) {
        MESSAGE_HAS("[4]");
        MESSAGE_HAS("add");
    }
    RESET_TO_NULL(out, "st_add");
    if (CHECK_ERROR(st_mul(&out, a, c), ST_ESHAPE, "[2, 3]")) {
        MESSAGE_HAS("[3, 2]");
        MESSAGE_HAS("mul");
    }
    if (CHECK_ERROR(st_sub(&out, b, a), ST_ESHAPE, "[4]")) MESSAGE_HAS("sub");
    if (CHECK_ERROR(st_div(&out, a, b), ST_ESHAPE, "[2, 3]")) MESSAGE_HAS("div");
    if (CHECK_ERROR(st_maximum(&out, a, c), ST_ESHAPE, "[3, 2]")) MESSAGE_HAS("maximum");
    if (CHECK_ERROR(st_compare(&out, a, ST_LT, b), ST_ESHAPE, "[2, 3]")) MESSAGE_HAS("[4]");
    if (CHECK_ERROR(st_mse_loss(&out, a, c, ST_REDUCTION_MEAN), ST_ESHAPE, "[2, 3]"))
        MESSAGE_HAS("[3, 2]");
    {
        const int64_t four[1] = {4};
        st_tensor *condition = zeros(ST_BOOL, 1, four);
        if (condition && CHECK_ERROR(st_where(&out, condition, a, a), ST_ESHAPE, "[4]"))
            MESSAGE_HAS("[2, 3]");
    }
done:
    free_tracked();
}

/* Sizes that do not fit: reshape, copy_to, shape capacity, item. */
static void test_size_mismatches(void) {
    st_tensor *a = zeros2(2, 3), *out = NULL;
    const int64_t four[1] = {4};
    float buffer[8];
    int64_t shape[1];
    double value;
    REQUIRE(a != NULL, "input");
    out = a;
    if (CHECK_ERROR(st_reshape(&out, a, four, 1), ST_ESHAPE, "[4]")) MESSAGE_HAS("[2, 3]");
    RESET_TO_NULL(out, "st_reshape");
    /* 6 floats are 24 bytes. */
    if (CHECK_ERROR(st_tensor_copy_to(buffer, 20, a), ST_ESHAPE, "20")) MESSAGE_HAS("24");
    if (CHECK_ERROR(st_tensor_copy_to(buffer, 32, a), ST_ESHAPE, "32")) MESSAGE_HAS("24");
    CHECK_ERROR(st_tensor_shape(shape, 1, a), ST_ESHAPE, "capacity");
    CHECK_FAILS(st_tensor_item(&value, a), "6");
done:
    free_tracked();
}

static void test_dtype_mismatch(void) {
    const int64_t six[1] = {6}, two[1] = {2};
    st_tensor *ints = NULL, *flags = zeros(ST_BOOL, 1, six), *floats = zeros1(6), *out = NULL;
    st_tensor *logits = zeros2(2, 3), *float_targets = zeros1(2), *index = zeros(ST_FLOAT32, 1,
                                                                                 two);
    st_tensor *table = zeros2(5, 3), *int_targets = zeros(ST_INT64, 1, two);
    REQUIRE(flags && floats && logits && float_targets && index && table && int_targets, "inputs");
    REQUIRE(CHECK_OK(st_tensor_arange(&ints, 0, 6, 1, ST_INT64)), "arange");
    track(ints);
    /* A float operation on int64 and bool tensors. */
    out = floats;
    if (CHECK_ERROR(st_exp(&out, ints), ST_EINVAL, "int64")) MESSAGE_HAS("exp");
    RESET_TO_NULL(out, "st_exp");
    if (CHECK_ERROR(st_relu(&out, flags), ST_EINVAL, "bool")) MESSAGE_HAS("relu");
    if (CHECK_ERROR(st_softmax(&out, ints, 0), ST_EINVAL, "int64")) MESSAGE_HAS("softmax");
    /* Only float32 tensors can require gradients. */
    if (CHECK_ERROR(st_tensor_set_requires_grad(ints, true), ST_EINVAL, "int64"))
        MESSAGE_HAS("float32");
    /* cross_entropy wants int64 class indices. */
    if (CHECK_ERROR(st_cross_entropy(&out, logits, float_targets, NULL, -100, ST_REDUCTION_MEAN,
                                     0),
                    ST_EINVAL, "target"))
        MESSAGE_HAS("int64");
    if (CHECK_ERROR(st_nll_loss(&out, logits, float_targets, NULL, -100, ST_REDUCTION_MEAN),
                    ST_EINVAL, "target"))
        MESSAGE_HAS("int64");
    /* ... and mse_loss float targets. */
    if (CHECK_ERROR(st_mse_loss(&out, float_targets, int_targets, ST_REDUCTION_MEAN), ST_EINVAL,
                    "int64"))
        MESSAGE_HAS("mse");
    /* where wants a bool condition; indices must be int64. */
    CHECK_ERROR(st_where(&out, floats, floats, floats), ST_EINVAL, "bool");
    if (CHECK_ERROR(st_embedding(&out, index, table, ST_NO_INDEX), ST_EINVAL, "int64"))
        MESSAGE_HAS("indices");
    if (CHECK_ERROR(st_index_select(&out, table, 0, index), ST_EINVAL, "int64"))
        MESSAGE_HAS("index");
done:
    free_tracked();
}

static void test_cross_entropy_targets(void) {
    const int64_t too_big[2] = {0, 3}, negative[2] = {-1, 0}, three[3] = {0, 1, 2};
    const int64_t valid[2] = {0, 2};
    st_tensor *logits = zeros2(2, 3), *out = NULL, *weight = zeros1(2);
    st_tensor *big = int64s(too_big, 2), *neg = int64s(negative, 2), *long_target = int64s(three,
                                                                                           3);
    st_tensor *good = int64s(valid, 2);
    REQUIRE(logits && weight && big && neg && long_target && good, "inputs");
    /* A class index outside [0, 3) is a value wrong in itself. */
    if (CHECK_ERROR(st_cross_entropy(&out, logits, big, NULL, -100, ST_REDUCTION_MEAN, 0),
                    ST_EINVAL, "3"))
        MESSAGE_HAS("target");
    if (CHECK_ERROR(st_cross_entropy(&out, logits, neg, NULL, -100, ST_REDUCTION_MEAN, 0),
                    ST_EINVAL, "-1"))
        MESSAGE_HAS("target");
    /* Three targets for two rows; two class weights for three classes. */
    if (CHECK_ERROR(st_cross_entropy(&out, logits, long_target, NULL, -100, ST_REDUCTION_MEAN, 0),
                    ST_ESHAPE, "[3]"))
        MESSAGE_HAS("[2, 3]");
    if (CHECK_ERROR(st_cross_entropy(&out, logits, good, weight, -100, ST_REDUCTION_MEAN, 0),
                    ST_ESHAPE, "weight"))
        MESSAGE_HAS("[2]");
    CHECK_ERROR(st_cross_entropy(&out, logits, good, NULL, -100, ST_REDUCTION_MEAN, 1.5f),
                ST_EINVAL, "label_smoothing");
done:
    free_tracked();
}

static void test_dims_and_indices_out_of_range(void) {
    const int64_t dim2[1] = {2};
    st_tensor *a = zeros2(2, 3), *out = NULL, *indices = NULL, *got = NULL;
    st_named_tensors *list = NULL;
    const char *name = NULL;
    REQUIRE(a != NULL, "input");
    CHECK_ERROR(st_sum(&out, a, dim2, 1, false), ST_EINVAL, "dim");
    CHECK_ERROR(st_softmax(&out, a, 2), ST_EINVAL, "dim");
    CHECK_ERROR(st_softmax(&out, a, -3), ST_EINVAL, "dim");
    CHECK_ERROR(st_transpose(&out, a, 0, 7), ST_EINVAL, "7");
    CHECK_ERROR(st_max_dim(&out, &indices, a, 2, false), ST_EINVAL, "dim");
    CHECK(out == NULL && indices == NULL, "st_max_dim failed but left its out-parameters set");
    if (CHECK_ERROR(st_select(&out, a, 0, 5), ST_EINVAL, "5")) MESSAGE_HAS("index");
    CHECK_ERROR(st_select(&out, a, 3, 0), ST_EINVAL, "dim");
    REQUIRE(CHECK_OK(st_named_tensors_create(&list)) && CHECK_OK(st_named_tensors_add(list, "a",
                                                                                      a)),
            "list");
    got = a;
    if (CHECK_ERROR(st_named_tensors_entry(&name, &got, list, 1), ST_EINVAL, "index"))
        MESSAGE_HAS("1");
    RESET_TO_NULL(got, "st_named_tensors_entry out of range");
done:
    st_named_tensors_free(list);
    free_tracked();
}

static void test_split_capacity_too_small(void) {
    st_tensor *ten = NULL, *outs[2] = {NULL, NULL};
    size_t count = 0;
    REQUIRE(CHECK_OK(st_tensor_arange(&ten, 0, 10, 1, ST_FLOAT32)), "arange");
    track(ten);
    /* Three pieces of at most 4 do not fit in 2. */
    if (CHECK_ERROR(st_split(outs, 2, &count, ten, 4, 0), ST_ESHAPE, "capacity")) MESSAGE_HAS("3");
    CHECK(outs[0] == NULL && outs[1] == NULL, "st_split wrote handles although it failed");
    if (CHECK_ERROR(st_chunk(outs, 2, &count, ten, 5, 0), ST_ESHAPE, "capacity")) MESSAGE_HAS("5");
    CHECK(outs[0] == NULL && outs[1] == NULL, "st_chunk wrote handles although it failed");
    CHECK_ERROR(st_split(outs, 0, &count, ten, 4, 0), ST_ESHAPE, "capacity");
    /* Nonsense piece sizes and dims. */
    CHECK_ERROR(st_split(outs, 2, &count, ten, 0, 0), ST_EINVAL, "size");
    CHECK_ERROR(st_chunk(outs, 2, &count, ten, 0, 0), ST_EINVAL, "chunks");
    CHECK_ERROR(st_split(outs, 2, &count, ten, 5, 1), ST_EINVAL, "dim");
    CHECK(outs[0] == NULL && outs[1] == NULL, "a failed split wrote handles");
done:
    free_tracked();
}

static void test_bad_pool_and_conv_options(void) {
    const int64_t image[4] = {1, 4, 8, 8}, weight_shape[4] = {6, 4, 3, 3}, flat[2] = {4, 64};
    st_tensor *x = zeros(ST_FLOAT32, 4, image), *w = zeros(ST_FLOAT32, 4, weight_shape);
    st_tensor *x2 = zeros(ST_FLOAT32, 2, flat), *out = NULL;
    st_module *made = NULL;
    st_pool2d_options pool;
    st_conv2d_options conv;
    REQUIRE(x && w && x2, "inputs");

    st_pool2d_options_init(&pool, 0, 2);
    CHECK_ERROR(st_max_pool2d(&out, x, &pool), ST_EINVAL, "kernel");
    CHECK_ERROR(st_avg_pool2d(&out, x, &pool), ST_EINVAL, "kernel");
    CHECK_ERROR(st_max_pool2d_create(&made, &pool), ST_EINVAL, "kernel");
    CHECK_ERROR(st_avg_pool2d_create(&made, &pool), ST_EINVAL, "kernel");
    st_pool2d_options_init(&pool, 2, 2);
    pool.stride[0] = -1;
    CHECK_ERROR(st_max_pool2d_create(&made, &pool), ST_EINVAL, "stride");
    st_pool2d_options_init(&pool, 2, 2);
    pool.padding[0] = 2; /* more than half the kernel, as PyTorch refuses */
    CHECK_ERROR(st_max_pool2d(&out, x, &pool), ST_EINVAL, "padding");
    /* A kernel bigger than the (padded) input leaves no output. */
    st_pool2d_options_init(&pool, 9, 9);
    CHECK_FAILS(st_max_pool2d(&out, x, &pool), "9");
    /* Pooling needs [N, C, H, W] (or [C, H, W]). */
    st_pool2d_options_init(&pool, 2, 2);
    CHECK_FAILS(st_max_pool2d(&out, x2, &pool), "[4, 64]");

    CHECK_ERROR(st_conv2d_create(&made, 4, 6, 0, 3, NULL, true), ST_EINVAL, "kernel");
    CHECK_ERROR(st_conv2d_create(&made, 0, 6, 3, 3, NULL, true), ST_EINVAL, "in_channels");
    st_conv2d_options_init(&conv);
    conv.groups = 3; /* does not divide 4 input channels */
    if (CHECK_ERROR(st_conv2d_create(&made, 4, 6, 3, 3, &conv, true), ST_EINVAL, "groups"))
        MESSAGE_HAS("4");
    conv.groups = 4; /* divides 4 inputs but not 6 outputs */
    if (CHECK_ERROR(st_conv2d_create(&made, 4, 6, 3, 3, &conv, true), ST_EINVAL, "groups"))
        MESSAGE_HAS("6");
    conv.groups = 0;
    CHECK_ERROR(st_conv2d_create(&made, 4, 6, 3, 3, &conv, true), ST_EINVAL, "groups");
    st_conv2d_options_init(&conv);
    conv.stride[1] = 0;
    CHECK_ERROR(st_conv2d_create(&made, 4, 6, 3, 3, &conv, true), ST_EINVAL, "stride");
    st_conv2d_options_init(&conv);
    conv.padding[0] = -1;
    CHECK_ERROR(st_conv2d(&out, x, w, NULL, &conv), ST_EINVAL, "padding");
    /* In the functional form, groups that do not divide the input's channels make the
     * input and the weight not fit together. */
    st_conv2d_options_init(&conv);
    conv.groups = 3;
    if (CHECK_ERROR(st_conv2d(&out, x, w, NULL, &conv), ST_ESHAPE, "groups"))
        MESSAGE_HAS("[1, 4, 8, 8]");
    /* The functional form: weight [6, 4, 3, 3] for an input of 4 channels is fine, for a
     * 2-D input it is not. */
    CHECK_OK(st_conv2d(&out, x, w, NULL, NULL));
    track(out);
    CHECK_FAILS(st_conv2d(&out, x2, w, NULL, NULL), "[4, 64]");
    CHECK(made == NULL, "a failed create left a module handle");
done:
    st_module_free(made);
    free_tracked();
}

/* Zeros of a shape the library may legitimately refuse (an empty tensor with enormous other
 * dimensions): NULL without a failed check when it does. */
static st_tensor *zeros_or_refused(st_dtype dtype, size_t ndim, const int64_t *shape) {
    st_tensor *t = NULL;
    if (SURVIVES(st_tensor_zeros(&t, shape, ndim, dtype)) != ST_OK) return NULL;
    return track(t);
}

/* Tensor.checkShape accepts any dimensions after a 0 (the running product is 0), so an empty
 * tensor can have dimensions whose products overflow. Results that drop the 0 cannot exist. */
static const int64_t empty_huge[3] = {0, INT64_MAX, INT64_MAX};

/* Tensor + Float on int64: Int64(c) for a whole-valued float outside int64 (1e30, infinity).
 * PyTorch promotes to float; an error is fine too; a wrapped int64 is not. */
static void scalar_on_int64(int (*op)(st_tensor **, const st_tensor *, float), float c,
                            double expected) {
    const int64_t values[1] = {1};
    st_tensor *a = int64s(values, 1), *out = NULL;
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
    if (created && CHECK_FAILS(st_matmul(&out, a, b), NULL) == 0 && out) consistent(track(out),
                                                                                    "matmul");
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

/* expand has no size check of its own (shapeArgument skips checkShape with allow -1). */
static void test_expand_to_2_pow_40(void) {
    st_tensor *a = zeros(ST_FLOAT32, 1, (const int64_t[]){1}), *out = NULL;
    REQUIRE(a != NULL, "input");
    CHECK_FAILS(st_expand(&out, a, (const int64_t[]){POW2(40)}, 1), NULL);
    track(out);
done:
    free_tracked();
}

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
    if (SURVIVES(st_index_select(&out, a, 0, index)) == ST_OK) consistent(track(out),
                                                                          "index_select");
done:
    free_tracked();
}

static void test_empty_tensor_where(void) {
    st_tensor *a = zeros_or_refused(ST_FLOAT32, 3, empty_huge), *out = NULL;
    st_tensor *c = zeros(ST_BOOL, 1, (const int64_t[]){1}), *b = zeros(ST_FLOAT32, 1,
                                                                       (const int64_t[]){1});
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
    st_tensor *mean = zeros(ST_FLOAT32, 1, (const int64_t[]){1});
    st_tensor *var = zeros(ST_FLOAT32, 1, (const int64_t[]){1});
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
    st_tensor *x = floats(values, 3), *out = NULL;
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

static void test_add_scalar_int64_huge(void) { scalar_on_int64(st_add_scalar, 1e30f, 1e30); }

static void test_mul_scalar_int64_infinity(void) {
    scalar_on_int64(st_mul_scalar, INFINITY, INFINITY);
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

/* Operations that read a dimension's size, on a 0-dimensional tensor (found by
 * Tests/fuzz/fuzz_sequence: st_slice trapped with "Index out of range"): ST_EINVAL saying so,
 * as PyTorch refuses them. Reductions and softmax still take dim 0 / -1 for a scalar. */
static void test_scalar_dimension_ops(void) {
    const int64_t zero = 0;
    st_tensor *s = NULL, *index = NULL, *index0 = NULL, *out = NULL, *values = NULL;
    st_tensor *pieces[4] = {NULL};
    st_tensor *pair[2];
    size_t n = 0;
    REQUIRE_OK(st_tensor_full(&s, NULL, 0, 2.0f));
    track(s);
    index = int64s(&zero, 1);
    REQUIRE_OK(st_tensor_create(&index0, &zero, NULL, 0, ST_INT64, ST_DATA_COPY));
    track(index0);
    pair[0] = s, pair[1] = s;
    CHECK_ERROR(st_slice(&out, s, 0, 0, 1, 1), ST_EINVAL, "0-dimensional");
    CHECK_ERROR(st_select(&out, s, -1, 0), ST_EINVAL, "0-dimensional");
    CHECK_ERROR(st_split(pieces, 4, &n, s, 1, 0), ST_EINVAL, "0-dimensional");
    CHECK_ERROR(st_chunk(pieces, 4, &n, s, 1, 0), ST_EINVAL, "0-dimensional");
    CHECK_ERROR(st_index_select(&out, s, 0, index), ST_EINVAL, "0-dimensional");
    CHECK_ERROR(st_gather(&out, s, 0, index0), ST_EINVAL, "0-dimensional");
    CHECK_ERROR(st_cat(&out, pair, 2, 0), ST_EINVAL, "0-dimensional");
    if (CHECK_OK(st_softmax(&out, s, 0))) track(out);
    if (CHECK_OK(st_max_dim(&out, &values, s, -1, false))) track(out), track(values);
done:
    free_tracked();
}

/* Extreme indices in int64 index tensors and ignore_index values. */
static void test_extreme_index_values(void) {
    const int64_t bad[2] = {INT64_MIN, INT64_MAX}, all_min[2] = {INT64_MIN, INT64_MIN};
    st_tensor *w = zeros(ST_FLOAT32, 2, (const int64_t[]){4, 2}), *idx = int64s(bad,
                                                                                2), *out = NULL;
    st_tensor *ignored = int64s(all_min, 2);
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

int main(int argc, char **argv) {
    /* ctest registers one test per entry (Tests/c/CMakeLists.txt reads this table). */
    static const test_case cases[] = {
        {"matmul_shape_mismatch", test_matmul_shape_mismatch},
        {"broadcast_shape_mismatch", test_broadcast_shape_mismatch},
        {"size_mismatches", test_size_mismatches},
        {"dtype_mismatch", test_dtype_mismatch},
        {"cross_entropy_targets", test_cross_entropy_targets},
        {"dims_and_indices_out_of_range", test_dims_and_indices_out_of_range},
        {"split_capacity_too_small", test_split_capacity_too_small},
        {"bad_pool_and_conv_options", test_bad_pool_and_conv_options},
        {"conv2d_huge_padding_output", test_conv2d_huge_padding_output},
        {"conv2d_empty_batch_tall_image", test_conv2d_empty_batch_tall_image},
        {"matmul_result_2_pow_40", test_matmul_result_2_pow_40},
        {"matmul_result_overflows", test_matmul_result_overflows},
        {"attention_causal_empty_batch", test_attention_causal_empty_batch},
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
        {"add_scalar_int64_huge", test_add_scalar_int64_huge},
        {"mul_scalar_int64_infinity", test_mul_scalar_int64_infinity},
        {"extreme_dims_and_indices", test_extreme_dims_and_indices},
        {"scalar_dimension_ops", test_scalar_dimension_ops},
        {"extreme_index_values", test_extreme_index_values},
        {"non_finite_float_arguments", test_non_finite_float_arguments},
        {"pool_and_conv_option_extremes", test_pool_and_conv_option_extremes},
    };
    if (argc == 2) fail_if_hung(60);
    return run_test_cases(cases, COUNT(cases), argc, argv);
}
