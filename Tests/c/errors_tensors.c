/* Errors of the "Tensors" section proper (creation, queries, autograd, conversions, handles):
 * the call must return the documented status (ST_EINVAL for a value wrong in itself,
 * ST_ESHAPE for sizes that do not fit together, ST_EMISUSE for a call the object's state
 * forbids), a failed call sets its handle out-parameter to NULL, st_last_error_message() names
 * what is wrong, and the process survives: NULL, freed and wrong-kind handles, unknown enum
 * values, too many, negative or overflowing dimensions, tensors of 2^40 elements, bad aranges,
 * backward misuse, and an autograd chain long enough to overflow a recursive free.
 *
 * Each case is its own ctest test, c.errors_tensors.<case>, in its own process: a case that
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

static void test_backward_misuse(void) {
    const int64_t three[1] = {3};
    st_tensor *w = requiring_grad(zeros1(3)), *x = zeros1(3), *y = NULL, *s = NULL;
    st_tensor *wrong_shape = zeros1(2), *wrong_dtype = zeros(ST_INT64, 1, three);
    REQUIRE(w && x && wrong_shape && wrong_dtype, "inputs");
    REQUIRE(CHECK_OK(st_mul_scalar(&y, w, 2)), "2w");
    track(y);
    /* A non-scalar needs its gradient. */
    if (CHECK_FAILS(st_tensor_backward(y, NULL), "[3]")) MESSAGE_HAS("backward");
    /* The gradient must match the tensor. */
    if (CHECK_ERROR(st_tensor_backward(y, wrong_shape), ST_ESHAPE, "[2]")) MESSAGE_HAS("[3]");
    CHECK_ERROR(st_tensor_backward(y, wrong_dtype), ST_EINVAL, "int64");
    /* Nothing requires gradients. */
    REQUIRE(CHECK_OK(st_sum(&s, x, NULL, 0, false)), "sum(x)");
    track(s);
    CHECK_ERROR(st_tensor_backward(s, NULL), ST_EMISUSE, "require");
done:
    free_tracked();
}

static void test_backward_twice(void) {
    st_tensor *w = requiring_grad(zeros1(3)), *y = NULL, *s = NULL;
    REQUIRE(w != NULL, "input");
    REQUIRE(CHECK_OK(st_mul(&y, w, w)), "w * w");
    track(y);
    REQUIRE(CHECK_OK(st_sum(&s, y, NULL, 0, false)), "sum");
    track(s);
    CHECK_OK(st_tensor_backward(s, NULL));
    /* The graph was released by the first backward. */
    CHECK_ERROR(st_tensor_backward(s, NULL), ST_EMISUSE, "released");
done:
    free_tracked();
}

/* y = w * w is shared by a = sum(y) and b = sum(3y). After a's backward released the graph,
 * b's backward must either be refused (PyTorch: "Trying to backward through the graph a second
 * time", here ST_EMISUSE) or give the right gradient: dw = 2w from a plus 6w from b = 8w.
 * What it must not do is succeed with part of the gradient silently missing. */
static void test_backward_through_released_subgraph(void) {
    const float w_values[3] = {1, 2, 3};
    const int64_t three[1] = {3};
    st_tensor *w = NULL, *y = NULL, *y3 = NULL, *a = NULL, *b = NULL, *grad = NULL;
    float g[3];
    int status;
    REQUIRE(CHECK_OK(st_tensor_create(&w, w_values, three, 1, ST_FLOAT32, ST_DATA_COPY)), "w");
    track(requiring_grad(w));
    REQUIRE(CHECK_OK(st_mul(&y, w, w)), "w * w");
    track(y);
    REQUIRE(CHECK_OK(st_mul_scalar(&y3, y, 3)), "3y");
    track(y3);
    REQUIRE(CHECK_OK(st_sum(&a, y, NULL, 0, false)), "sum(y)");
    track(a);
    REQUIRE(CHECK_OK(st_sum(&b, y3, NULL, 0, false)), "sum(3y)");
    track(b);
    REQUIRE(CHECK_OK(st_tensor_backward(a, NULL)), "a.backward");
    status = st_tensor_backward(b, NULL);
    if (status != ST_OK) {
        CHECK_ERROR(status, ST_EMISUSE, "released");
        goto done;
    }
    REQUIRE(CHECK_OK(st_tensor_grad(&grad, w)) && grad != NULL, "w has a gradient");
    track(grad);
    REQUIRE(CHECK_OK(st_tensor_copy_to(g, sizeof g, grad)), "copy");
    CHECK(g[0] == 8 && g[1] == 16 && g[2] == 24,
          "the second backward through the released y returned ST_OK but dw = [%g, %g, %g]; "
          "expected [8, 16, 24] (2w + 6w) or ST_EMISUSE",
          (double)g[0], (double)g[1], (double)g[2]);
done:
    free_tracked();
}

static void test_freed_handles(void) {
    st_tensor *t = NULL, *live = zeros1(2), *out = NULL;
    st_module *relu = NULL;
    st_named_tensors *list = NULL;
    const char *name = NULL;
    int64_t numel = 0;
    REQUIRE(live != NULL, "input");
    REQUIRE(CHECK_OK(st_tensor_zeros(&t, (const int64_t[]){2}, 1, ST_FLOAT32)), "zeros");
    st_tensor_free(t);
    /* t is dangling now: every use is reported, none crashes. */
    if (CHECK_ERROR(st_tensor_numel(&numel, t), ST_EMISUSE, "freed")) MESSAGE_HAS("tensor");
    out = live;
    if (CHECK_ERROR(st_add(&out, live, t), ST_EMISUSE, "freed")) MESSAGE_HAS("st_add");
    RESET_TO_NULL(out, "st_add with a freed operand");
    CHECK_ERROR(st_relu(&out, t), ST_EMISUSE, "freed");
    CHECK_ERROR(st_tensor_backward(t, NULL), ST_EMISUSE, "freed");
    CHECK_ERROR(st_tensor_set_requires_grad(t, true), ST_EMISUSE, "freed");
    st_tensor_free(t); /* a second free is harmless */

    REQUIRE(CHECK_OK(st_relu_create(&relu)), "relu");
    st_module_free(relu);
    CHECK_ERROR(st_module_forward(&out, relu, live), ST_EMISUSE, "freed");
    CHECK_ERROR(st_module_train(relu, false), ST_EMISUSE, "freed");
    st_module_free(relu);

    REQUIRE(CHECK_OK(st_named_tensors_create(&list)), "list");
    st_named_tensors_free(list);
    CHECK_ERROR(st_named_tensors_entry(&name, &out, list, 0), ST_EMISUSE, "freed");
    CHECK_ERROR(st_named_tensors_add(list, "x", live), ST_EMISUSE, "freed");
    CHECK(st_named_tensors_count(list) == 0, "count of a freed list is %zu",
          st_named_tensors_count(list));
    st_named_tensors_free(list);
done:
    free_tracked();
}

/* A handle of another kind where a tensor is expected (only possible with a cast). */
static void test_wrong_handle_kind(void) {
    st_module *relu = NULL;
    st_tensor *out = NULL, *live = zeros1(2);
    int64_t numel = 0;
    REQUIRE(live && CHECK_OK(st_relu_create(&relu)), "inputs");
    CHECK_FAILS(st_tensor_numel(&numel, (const st_tensor *)(const void *)relu), "st_tensor");
    CHECK_FAILS(st_add(&out, live, (const st_tensor *)(const void *)relu), "st_tensor");
    CHECK_FAILS(st_module_forward(&out, (st_module *)(void *)live, live), "st_module");
done:
    st_module_free(relu);
    free_tracked();
}

static void test_null_arguments(void) {
    const float data[6] = {1, 2, 3, 4, 5, 6};
    const int64_t shape[2] = {2, 3};
    st_tensor *a = zeros2(2, 3), *out = NULL, *outs[4] = {NULL, NULL, NULL, NULL};
    st_module *relu = NULL, *made = NULL;
    st_named_tensors *list = NULL;
    st_dataset *dataset = NULL;
    const char *name = NULL;
    size_t ndim = 0, count = 0;
    int64_t numel = 0;
    st_dtype dtype;
    bool flag;
    void *memory = NULL;
    double value;
    st_pool2d_options pool;
    REQUIRE(a && CHECK_OK(st_relu_create(&relu)) && CHECK_OK(st_named_tensors_create(&list)),
            "inputs");
    st_pool2d_options_init(&pool, 2, 2);

    CHECK_ERROR(st_tensor_create(NULL, data, shape, 2, ST_FLOAT32, ST_DATA_COPY), ST_EINVAL, "out");
    out = a;
    CHECK_ERROR(st_tensor_create(&out, NULL, shape, 2, ST_FLOAT32, ST_DATA_COPY), ST_EINVAL,
                "data");
    RESET_TO_NULL(out, "st_tensor_create with NULL data");
    CHECK_ERROR(st_tensor_create(&out, data, NULL, 2, ST_FLOAT32, ST_DATA_COPY), ST_EINVAL,
                "shape");
    CHECK_ERROR(st_tensor_zeros(NULL, shape, 2, ST_FLOAT32), ST_EINVAL, "out");
    CHECK_ERROR(st_tensor_zeros(&out, NULL, 2, ST_FLOAT32), ST_EINVAL, "shape");
    CHECK_ERROR(st_tensor_full(NULL, shape, 2, 1), ST_EINVAL, "out");
    CHECK_ERROR(st_tensor_arange(NULL, 0, 3, 1, ST_FLOAT32), ST_EINVAL, "out");
    CHECK_ERROR(st_tensor_uniform(NULL, shape, 2, 0, 1, 1), ST_EINVAL, "out");
    CHECK_ERROR(st_tensor_normal(NULL, shape, 2, 0, 1, 1), ST_EINVAL, "out");

    CHECK_ERROR(st_tensor_ndim(NULL, a), ST_EINVAL, "out");
    CHECK_ERROR(st_tensor_ndim(&ndim, NULL), ST_EINVAL, "tensor");
    CHECK_ERROR(st_tensor_shape(NULL, ST_MAX_DIMS, a), ST_EINVAL, "out");
    CHECK_ERROR(st_tensor_numel(NULL, a), ST_EINVAL, "out");
    CHECK_ERROR(st_tensor_numel(&numel, NULL), ST_EINVAL, "tensor");
    CHECK_ERROR(st_tensor_dtype(NULL, a), ST_EINVAL, "out");
    CHECK_ERROR(st_tensor_dtype(&dtype, NULL), ST_EINVAL, "tensor");
    CHECK_ERROR(st_tensor_copy_to(NULL, 24, a), ST_EINVAL, "out");
    CHECK_ERROR(st_tensor_data(NULL, a), ST_EINVAL, "out");
    CHECK_ERROR(st_tensor_data(&memory, NULL), ST_EINVAL, "tensor");
    CHECK_ERROR(st_tensor_item(NULL, a), ST_EINVAL, "out");
    CHECK_ERROR(st_tensor_item(&value, NULL), ST_EINVAL, "tensor");
    CHECK_ERROR(st_tensor_requires_grad(NULL, a), ST_EINVAL, "out");
    CHECK_ERROR(st_tensor_requires_grad(&flag, NULL), ST_EINVAL, "tensor");
    CHECK_ERROR(st_tensor_set_requires_grad(NULL, true), ST_EINVAL, "tensor");
    CHECK_ERROR(st_tensor_grad(NULL, a), ST_EINVAL, "out");
    CHECK_ERROR(st_tensor_grad(&out, NULL), ST_EINVAL, "tensor");
    CHECK_ERROR(st_tensor_zero_grad(NULL), ST_EINVAL, "tensor");
    CHECK_ERROR(st_tensor_backward(NULL, NULL), ST_EINVAL, "tensor");
    CHECK_ERROR(st_tensor_detach(NULL, a), ST_EINVAL, "out");
    CHECK_ERROR(st_tensor_detach(&out, NULL), ST_EINVAL, "tensor");

    CHECK_ERROR(st_add(NULL, a, a), ST_EINVAL, "out");
    out = a;
    CHECK_ERROR(st_add(&out, NULL, a), ST_EINVAL, "NULL");
    RESET_TO_NULL(out, "st_add with a NULL operand");
    CHECK_ERROR(st_add(&out, a, NULL), ST_EINVAL, "NULL");
    CHECK_ERROR(st_exp(&out, NULL), ST_EINVAL, "NULL");
    CHECK_ERROR(st_sum(&out, a, NULL, 1, false), ST_EINVAL, "dims");
    CHECK_ERROR(st_reshape(&out, a, NULL, 2), ST_EINVAL, "shape");
    CHECK_ERROR(st_permute(&out, a, NULL, 2), ST_EINVAL, "dims");
    CHECK_ERROR(st_cat(&out, NULL, 2, 0), ST_EINVAL, "tensors");
    CHECK_ERROR(st_split(NULL, 4, &count, a, 1, 0), ST_EINVAL, "outs");
    CHECK_ERROR(st_split(outs, 4, NULL, a, 1, 0), ST_EINVAL, "out_count");
    CHECK_ERROR(st_max_dim(NULL, &out, a, 0, false), ST_EINVAL, "out_values");
    CHECK_ERROR(st_max_dim(&out, NULL, a, 0, false), ST_EINVAL, "out_indices");
    CHECK_ERROR(st_cross_entropy(&out, a, NULL, NULL, -100, ST_REDUCTION_MEAN, 0), ST_EINVAL,
                "target");
    CHECK_ERROR(st_max_pool2d(&out, a, NULL), ST_EINVAL, "options");
    CHECK_ERROR(st_linear(&out, a, NULL, NULL), ST_EINVAL, "weight");
    CHECK_ERROR(st_conv2d(&out, NULL, a, NULL, NULL), ST_EINVAL, "x");
    CHECK_ERROR(st_layer_norm(&out, a, NULL, 1, NULL, NULL, 1e-5f), ST_EINVAL,
                "normalized_shape");

    CHECK_ERROR(st_named_tensors_create(NULL), ST_EINVAL, "out");
    CHECK_ERROR(st_named_tensors_add(NULL, "x", a), ST_EINVAL, "list");
    CHECK_ERROR(st_named_tensors_add(list, NULL, a), ST_EINVAL, "name");
    CHECK_ERROR(st_named_tensors_add(list, "x", NULL), ST_EINVAL, "tensor");
    CHECK_ERROR(st_named_tensors_entry(NULL, &out, list, 0), ST_EINVAL, "out_name");
    CHECK_ERROR(st_named_tensors_entry(&name, NULL, list, 0), ST_EINVAL, "out_tensor");
    CHECK_ERROR(st_named_tensors_entry(&name, &out, NULL, 0), ST_EINVAL, "list");
    CHECK(st_named_tensors_count(NULL) == 0, "count of NULL is %zu", st_named_tensors_count(NULL));

    CHECK_ERROR(st_module_forward(NULL, relu, a), ST_EINVAL, "out");
    out = a;
    CHECK_ERROR(st_module_forward(&out, NULL, a), ST_EINVAL, "module");
    RESET_TO_NULL(out, "st_module_forward with a NULL module");
    CHECK_ERROR(st_module_forward(&out, relu, NULL), ST_EINVAL, "input");
    CHECK_ERROR(st_module_train(NULL, true), ST_EINVAL, "module");
    CHECK_ERROR(st_module_named_parameters(NULL, relu), ST_EINVAL, "out");
    CHECK_ERROR(st_module_state_dict(NULL, relu), ST_EINVAL, "out");
    CHECK_ERROR(st_module_state_dict(&list, NULL), ST_EINVAL, "module");
    CHECK_ERROR(st_module_load_state_dict(relu, NULL, true), ST_EINVAL, "state");
    CHECK_ERROR(st_module_load_state_dict(NULL, list, true), ST_EINVAL, "module");
    CHECK_ERROR(st_module_zero_grad(NULL), ST_EINVAL, "module");
    CHECK_ERROR(st_conv2d_create(NULL, 1, 1, 3, 3, NULL, true), ST_EINVAL, "out");
    CHECK_ERROR(st_max_pool2d_create(NULL, &pool), ST_EINVAL, "out");
    CHECK_ERROR(st_max_pool2d_create(&made, NULL), ST_EINVAL, "options");
    CHECK_ERROR(st_transformer_encoder_layer_create(&made, NULL), ST_EINVAL, "options");
    CHECK_ERROR(st_attention_forward(NULL, NULL, relu, a, NULL, NULL, NULL, false), ST_EINVAL,
                "out");
    CHECK_ERROR(st_attention_forward(&out, NULL, NULL, a, NULL, NULL, NULL, false), ST_EINVAL,
                "module");
    CHECK_ERROR(st_dataset_set_sample_shape(NULL, shape, 2), ST_EINVAL, "dataset");
    if (CHECK_OK(st_dataset_create(&dataset, data, 1, 6, NULL, ST_DATA_COPY)))
        CHECK_ERROR(st_dataset_set_sample_shape(dataset, NULL, 2), ST_EINVAL, "shape");
    CHECK(made == NULL, "a failed create left a module handle");
    /* Freeing NULL is a no-op. */
    st_tensor_free(NULL);
    st_named_tensors_free(NULL);
done:
    st_dataset_free(dataset);
    st_named_tensors_free(list);
    st_module_free(relu);
    free_tracked();
}

static void test_unknown_enum_values(void) {
    const float data[2] = {1, 2};
    const int64_t two[1] = {2};
    const int64_t labels[2] = {0, 1};
    st_tensor *a = zeros1(2), *logits = zeros2(2, 3), *target = int64s(labels, 2), *out = NULL;
    st_module *made = NULL;
    st_transformer_options options;
    REQUIRE(a && logits && target, "inputs");
    if (CHECK_ERROR(st_tensor_zeros(&out, two, 1, (st_dtype)99), ST_EINVAL, "dtype"))
        MESSAGE_HAS("99");
    CHECK_ERROR(st_tensor_create(&out, data, two, 1, (st_dtype)99, ST_DATA_COPY), ST_EINVAL,
                "dtype");
    CHECK_ERROR(st_tensor_arange(&out, 0, 3, 1, (st_dtype)99), ST_EINVAL, "dtype");
    if (CHECK_ERROR(st_tensor_create(&out, data, two, 1, ST_FLOAT32, (st_data_ownership)7),
                    ST_EINVAL, "ownership"))
        MESSAGE_HAS("7");
    if (CHECK_ERROR(st_mse_loss(&out, a, a, (st_reduction)42), ST_EINVAL, "reduction"))
        MESSAGE_HAS("42");
    CHECK_ERROR(st_cross_entropy(&out, logits, target, NULL, -100, (st_reduction)42, 0), ST_EINVAL,
                "reduction");
    /* BATCHMEAN belongs to st_kl_div only. */
    CHECK_ERROR(st_mse_loss(&out, a, a, ST_REDUCTION_BATCHMEAN), ST_EINVAL, "reduction");
    if (CHECK_ERROR(st_compare(&out, a, (st_comparison)17, a), ST_EINVAL, "17"))
        MESSAGE_HAS("comparison");
    if (CHECK_ERROR(st_activation_create(&made, (st_activation)9), ST_EINVAL, "activation"))
        MESSAGE_HAS("9");
    st_transformer_options_init(&options, 8, 2);
    options.activation = (st_activation)9;
    CHECK_ERROR(st_transformer_encoder_layer_create(&made, &options), ST_EINVAL, "activation");
    CHECK(made == NULL, "a failed create left a module handle");
done:
    st_module_free(made);
    free_tracked();
}

static void test_too_many_dimensions(void) {
    const int64_t nine_ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    const float one = 1;
    st_tensor *a = zeros1(1), *eight = zeros(ST_FLOAT32, ST_MAX_DIMS, nine_ones), *out = NULL;
    REQUIRE(a && eight, "inputs (8 dimensions are allowed)");
    if (CHECK_ERROR(st_tensor_zeros(&out, nine_ones, ST_MAX_DIMS + 1, ST_FLOAT32), ST_EINVAL, "9"))
        MESSAGE_HAS("8");
    CHECK_ERROR(st_tensor_create(&out, &one, nine_ones, 9, ST_FLOAT32, ST_DATA_COPY), ST_EINVAL,
                "9");
    CHECK_ERROR(st_tensor_full(&out, nine_ones, 9, 1), ST_EINVAL, "9");
    CHECK_ERROR(st_tensor_zeros(&out, nine_ones, SIZE_MAX, ST_FLOAT32), ST_EINVAL, NULL);
    CHECK_ERROR(st_reshape(&out, a, nine_ones, 9), ST_EINVAL, "9");
    /* An 8-D tensor cannot grow a ninth dimension. */
    CHECK_FAILS(st_unsqueeze(&out, eight, 0), "8");
    st_tensor_free(out);
    out = NULL;
done:
    free_tracked();
}

/* A negative size is a value wrong in itself (ST_EINVAL, like st_linear_create's). */
static void test_negative_dimensions(void) {
    const int64_t negative[2] = {2, -3}, two_minus_one[2] = {-1, -1}, minus_two[2] = {-2, 3};
    const float data[6] = {0};
    st_tensor *a = zeros2(2, 3), *out = NULL;
    REQUIRE(a != NULL, "input");
    CHECK_ERROR(st_tensor_zeros(&out, negative, 2, ST_FLOAT32), ST_EINVAL, "-3");
    CHECK_ERROR(st_tensor_create(&out, data, negative, 2, ST_FLOAT32, ST_DATA_COPY), ST_EINVAL,
                "-3");
    CHECK_ERROR(st_tensor_full(&out, negative, 2, 1), ST_EINVAL, "-3");
    CHECK_ERROR(st_tensor_uniform(&out, negative, 2, 0, 1, 1), ST_EINVAL, "-3");
    CHECK_ERROR(st_tensor_normal(&out, negative, 2, 0, 1, 1), ST_EINVAL, "-3");
    /* reshape allows one -1, nothing else negative. */
    CHECK_FAILS(st_reshape(&out, a, minus_two, 2), "-2");
    CHECK_FAILS(st_reshape(&out, a, two_minus_one, 2), "-1");
done:
    free_tracked();
}

/* Shapes whose element count or byte count overflows: refused, never a trap or a read past
 * the caller's buffer. */
static void test_huge_shapes(void) {
    const int64_t overflowing[2] = {INT64_MAX / 2, 4}, huge[2] = {(int64_t)1 << 40, (int64_t)1 << 40};
    const int64_t too_many_bytes[2] = {(int64_t)1 << 31, (int64_t)1 << 31};
    const float data[4] = {0};
    st_tensor *out = NULL;
    CHECK_FAILS(st_tensor_zeros(&out, overflowing, 2, ST_FLOAT32), NULL);
    CHECK_FAILS(st_tensor_zeros(&out, huge, 2, ST_FLOAT32), NULL);
    CHECK_FAILS(st_tensor_zeros(&out, too_many_bytes, 2, ST_FLOAT32), NULL);
    CHECK_FAILS(st_tensor_full(&out, overflowing, 2, 1), NULL);
    CHECK_FAILS(st_tensor_full(&out, huge, 2, 1), NULL);
    CHECK_FAILS(st_tensor_uniform(&out, huge, 2, 0, 1, 1), NULL);
    CHECK_FAILS(st_tensor_normal(&out, huge, 2, 0, 1, 1), NULL);
    CHECK_FAILS(st_tensor_create(&out, data, too_many_bytes, 2, ST_FLOAT32, ST_DATA_COPY), NULL);
    CHECK(out == NULL, "a failed call left a tensor handle");
}

/* The same for tensors over the caller's buffers, in a case of its own so that a crash
 * cannot hide the other checks. */
static void test_create_with_overflowing_shape(void) {
    const int64_t overflowing[2] = {INT64_MAX / 2, 4}, huge[2] = {(int64_t)1 << 40, (int64_t)1 << 40};
    const float data[4] = {0};
    st_tensor *out = NULL;
    CHECK_FAILS(st_tensor_create(&out, data, overflowing, 2, ST_FLOAT32, ST_DATA_COPY), NULL);
    CHECK_FAILS(st_tensor_create(&out, data, huge, 2, ST_FLOAT32, ST_DATA_BORROW), NULL);
    CHECK(out == NULL, "a failed call left a tensor handle");
}

static void test_bad_arange(void) {
    st_tensor *out = NULL;
    CHECK_ERROR(st_tensor_arange(&out, 0, 5, 0, ST_FLOAT32), ST_EINVAL, "step");
    CHECK_FAILS(st_tensor_arange(&out, NAN, 5, 1, ST_FLOAT32), "start");
    CHECK_ERROR(st_tensor_arange(&out, 0, 5, 1, ST_BOOL), ST_EINVAL, "bool");
    CHECK(out == NULL, "a failed call left a tensor handle");
}

/* A long chain of recorded operations (an RNN unrolled, a long loop of updates) freed without
 * a backward pass: releasing it must not recurse once per node (stack overflow). */
#define CHAIN_LENGTH 200000

/* 2^40 elements pass Tensor.checkShape's limit, but 4 TiB cannot be allocated:
 * BufferPool.take -> UnsafeMutableRawPointer.allocate aborts ("Could not allocate memory"). */
static void test_zeros_of_2_pow_40_elements(void) {
    st_tensor *out = NULL;
    CHECK_FAILS(st_tensor_zeros(&out, (const int64_t[]){POW2(40)}, 1, ST_FLOAT32), NULL);
    CHECK(out == NULL, "a failed call left a handle");
    st_tensor_free(out);
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

int main(int argc, char **argv) {
    /* ctest registers one test per entry (Tests/c/CMakeLists.txt reads this table). */
    static const test_case cases[] = {
        {"backward_misuse", test_backward_misuse},
        {"backward_twice", test_backward_twice},
        {"backward_through_released_subgraph", test_backward_through_released_subgraph},
        {"freed_handles", test_freed_handles},
        {"wrong_handle_kind", test_wrong_handle_kind},
        {"null_arguments", test_null_arguments},
        {"unknown_enum_values", test_unknown_enum_values},
        {"too_many_dimensions", test_too_many_dimensions},
        {"negative_dimensions", test_negative_dimensions},
        {"huge_shapes", test_huge_shapes},
        {"create_with_overflowing_shape", test_create_with_overflowing_shape},
        {"bad_arange", test_bad_arange},
        {"zeros_of_2_pow_40_elements", test_zeros_of_2_pow_40_elements},
        {"arange_huge_negative_span", test_arange_huge_negative_span},
        {"arange_int64_values_out_of_range", test_arange_int64_values_out_of_range},
        {"size_t_capacity_above_int64_max", test_size_t_capacity_above_int64_max},
        {"deep_autograd_chain_free", test_deep_autograd_chain_free},
    };
    if (argc == 2) fail_if_hung(60);
    return run_test_cases(cases, COUNT(cases), argc, argv);
}
