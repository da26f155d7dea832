/* Every kind of error the tensor section of the C API reports, one case each: the call must
 * return the documented status (ST_EINVAL for a value wrong in itself, ST_ESHAPE for sizes
 * that do not fit together, ST_EMISUSE for a call the object's state forbids), a failed call
 * sets its handle out-parameter to NULL, st_last_error_message() names what is wrong (the
 * operation, the shapes, the key, the argument), and the process survives. */
#include "check.h"
#include "swifttrain.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- helpers ----------------------------------------------------------------------------- */

/** A call that must fail (with any ST_E* code, for errors whose exact code the header leaves
 *  open) with a message mentioning `needle` (NULL: any non-empty message). */
#define CHECK_FAILS(call, needle) check_fails((call), (needle), __FILE__, __LINE__, #call)

static int check_fails(int status, const char *needle, const char *file, int line,
                       const char *expr) {
    if (status < 0) return check_status(status, status, needle, file, line, expr);
    return check_true(0, file, line, expr, "returned %d (%s), expected an error", status,
                      st_status_string(status));
}

/** The last error message also mentions `needle` (messages name every part of the problem:
 *  the operation and both shapes, every offending key). */
#define MESSAGE_HAS(needle)                                                            \
    CHECK(check_contains(st_last_error_message(), (needle)),                           \
          "the message \"%s\" does not mention \"%s\"", st_last_error_message(), (needle))

/** A handle out-parameter is NULL after a failed call (it held a live handle before). */
#define RESET_TO_NULL(out, call_name) \
    CHECK((out) == NULL, "%s failed but left its out-parameter set", (call_name))

static st_tensor *zeros2(int64_t d0, int64_t d1) {
    const int64_t shape[2] = {d0, d1};
    return zeros(ST_FLOAT32, 2, shape);
}

static st_tensor *zeros1(int64_t d0) {
    const int64_t shape[1] = {d0};
    return zeros(ST_FLOAT32, 1, shape);
}

static st_tensor *requiring_grad(st_tensor *t) {
    if (t) CHECK_OK(st_tensor_set_requires_grad(t, true));
    return t;
}

static st_tensor *int64s(const int64_t *values, size_t n) {
    const int64_t shape[1] = {(int64_t)n};
    st_tensor *t = NULL;
    CHECK_OK(st_tensor_create(&t, values, shape, 1, ST_INT64, ST_DATA_COPY));
    return track(t);
}

/* Linear(4, 3) - ReLU - Linear(3, 2), parameters "0.weight" [3, 4], "0.bias" [3],
 * "2.weight" [2, 3], "2.bias" [2]. */
static st_module *make_mlp(uint64_t seed) {
    st_module *layers[3] = {NULL, NULL, NULL}, *model = NULL;
    int i;
    st_manual_seed(seed);
    if (CHECK_OK(st_linear_create(&layers[0], 4, 3, true)) && CHECK_OK(st_relu_create(&layers[1])) &&
        CHECK_OK(st_linear_create(&layers[2], 3, 2, true)))
        CHECK_OK(st_sequential_create(&model, layers, 3));
    for (i = 0; i < 3; i++) st_module_free(layers[i]);
    return model;
}

/* ---- shapes ------------------------------------------------------------------------------ */

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

/* ---- dtypes ------------------------------------------------------------------------------ */

static void test_dtype_mismatch(void) {
    const int64_t six[1] = {6}, two[1] = {2};
    st_tensor *ints = NULL, *flags = zeros(ST_BOOL, 1, six), *floats = zeros1(6), *out = NULL;
    st_tensor *logits = zeros2(2, 3), *float_targets = zeros1(2), *index = zeros(ST_FLOAT32, 1, two);
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
    st_tensor *big = int64s(too_big, 2), *neg = int64s(negative, 2), *long_target = int64s(three, 3);
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

/* ---- autograd misuse --------------------------------------------------------------------- */

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

/* ---- handles ----------------------------------------------------------------------------- */

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
    CHECK_ERROR(st_tensor_create(&out, NULL, shape, 2, ST_FLOAT32, ST_DATA_COPY), ST_EINVAL, "data");
    RESET_TO_NULL(out, "st_tensor_create with NULL data");
    CHECK_ERROR(st_tensor_create(&out, data, NULL, 2, ST_FLOAT32, ST_DATA_COPY), ST_EINVAL, "shape");
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

/* ---- unknown enum values, dimensions ----------------------------------------------------- */

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

/* ---- dims and indices out of range ------------------------------------------------------- */

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
    REQUIRE(CHECK_OK(st_named_tensors_create(&list)) && CHECK_OK(st_named_tensors_add(list, "a", a)),
            "list");
    got = a;
    if (CHECK_ERROR(st_named_tensors_entry(&name, &got, list, 1), ST_EINVAL, "index"))
        MESSAGE_HAS("1");
    RESET_TO_NULL(got, "st_named_tensors_entry out of range");
done:
    st_named_tensors_free(list);
    free_tracked();
}

/* ---- state dicts ------------------------------------------------------------------------- */

/* A list with the state of `model` except the entries named in `skip` (NULL-terminated). */
static st_named_tensors *state_without(const st_module *model, const char *const *skip) {
    st_named_tensors *full = NULL, *list = NULL;
    size_t i, n;
    if (!CHECK_OK(st_module_state_dict(&full, model)) || !CHECK_OK(st_named_tensors_create(&list))) {
        st_named_tensors_free(full);
        return NULL;
    }
    n = st_named_tensors_count(full);
    for (i = 0; i < n; i++) {
        const char *name = NULL;
        st_tensor *t = NULL;
        const char *const *s;
        int skipped = 0;
        if (!CHECK_OK(st_named_tensors_entry(&name, &t, full, i))) continue;
        for (s = skip; s && *s; s++) skipped |= strcmp(*s, name) == 0;
        if (!skipped) CHECK_OK(st_named_tensors_add(list, name, t));
        st_tensor_free(t);
    }
    st_named_tensors_free(full);
    return list;
}

/* The first weight of `model`, copied out, to see whether a failed load changed it. */
static int first_weight(float out[12], const st_module *model) {
    st_named_tensors *parameters = NULL;
    const char *name = NULL;
    st_tensor *t = NULL;
    int ok = CHECK_OK(st_module_named_parameters(&parameters, model)) &&
             CHECK_OK(st_named_tensors_entry(&name, &t, parameters, 0)) &&
             CHECK(strcmp(name, "0.weight") == 0, "first parameter is %s", name) &&
             CHECK_OK(st_tensor_copy_to(out, 12 * sizeof(float), t));
    st_tensor_free(t);
    st_named_tensors_free(parameters);
    return ok;
}

static void test_load_state_dict_keys(void) {
    static const char *const no_bias[] = {"2.bias", NULL};
    static const char *const no_first_bias[] = {"0.bias", NULL};
    st_module *model = make_mlp(1), *source = make_mlp(2);
    st_named_tensors *missing = NULL, *unexpected = NULL, *both = NULL, *misshaped = NULL;
    st_tensor *extra = zeros1(2), *wrong = zeros2(4, 3), *ints = NULL;
    st_named_tensors *wrong_dtype = NULL;
    float before[12], after[12];
    REQUIRE(model && source && extra && wrong, "inputs");
    REQUIRE(first_weight(before, model), "weights");

    /* Missing "2.bias": an error with strict, named in the message; fine without. */
    missing = state_without(source, no_bias);
    REQUIRE(missing != NULL, "state");
    if (CHECK_FAILS(st_module_load_state_dict(model, missing, true), "2.bias"))
        MESSAGE_HAS("missing");
    if (first_weight(after, model))
        CHECK(memcmp(before, after, sizeof before) == 0, "a refused strict load changed "
              "0.weight");

    /* An unexpected key. */
    unexpected = state_without(source, NULL);
    REQUIRE(unexpected && CHECK_OK(st_named_tensors_add(unexpected, "3.weight", extra)), "state");
    if (CHECK_FAILS(st_module_load_state_dict(model, unexpected, true), "3.weight"))
        MESSAGE_HAS("unexpected");

    /* Both at once: every offending key is named. */
    both = state_without(source, no_first_bias);
    REQUIRE(both && CHECK_OK(st_named_tensors_add(both, "0.bais", extra)), "state");
    if (CHECK_FAILS(st_module_load_state_dict(model, both, true), "0.bias"))
        MESSAGE_HAS("0.bais");

    /* A mis-shaped key is an error even without strict; nothing is changed. */
    misshaped = state_without(source, no_bias);
    REQUIRE(misshaped, "state");
    {
        /* "2.bias" of shape [4, 3] instead of [2]; every other key is fine and would change
         * 0.weight if the load went ahead. */
        REQUIRE(CHECK_OK(st_named_tensors_add(misshaped, "2.bias", wrong)), "add");
        if (CHECK_ERROR(st_module_load_state_dict(model, misshaped, false), ST_ESHAPE, "2.bias")) {
            MESSAGE_HAS("[4, 3]");
            MESSAGE_HAS("[2]");
        }
        CHECK_ERROR(st_module_load_state_dict(model, misshaped, true), ST_ESHAPE, "2.bias");
        if (first_weight(after, model))
            CHECK(memcmp(before, after, sizeof before) == 0, "a refused load (mis-shaped "
                  "2.bias) changed 0.weight");
    }
    /* A key of the wrong dtype. */
    wrong_dtype = state_without(source, no_bias);
    REQUIRE(wrong_dtype && CHECK_OK(st_tensor_zeros(&ints, (const int64_t[]){2}, 1, ST_INT64)),
            "state");
    track(ints);
    REQUIRE(CHECK_OK(st_named_tensors_add(wrong_dtype, "2.bias", ints)), "add");
    if (CHECK_FAILS(st_module_load_state_dict(model, wrong_dtype, false), "2.bias"))
        MESSAGE_HAS("int64");

    /* Without strict, missing and unexpected keys are ignored and the rest is loaded. */
    CHECK_OK(st_module_load_state_dict(model, missing, false));
    CHECK_OK(st_module_load_state_dict(model, unexpected, false));
    if (first_weight(after, model))
        CHECK(memcmp(before, after, sizeof before) != 0, "a non-strict load did not load "
              "0.weight");
done:
    st_named_tensors_free(wrong_dtype);
    st_named_tensors_free(misshaped);
    st_named_tensors_free(both);
    st_named_tensors_free(unexpected);
    st_named_tensors_free(missing);
    st_module_free(source);
    st_module_free(model);
    free_tracked();
}

/* ---- split capacity ---------------------------------------------------------------------- */

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

/* ---- convolution and pooling options ----------------------------------------------------- */

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

/* ---- modules: hyper-parameters, attention, datasets -------------------------------------- */

static void test_bad_layer_hyperparameters(void) {
    st_module *made = NULL;
    st_transformer_options options;
    st_tensor *x = zeros1(4), *out = NULL;
    REQUIRE(x != NULL, "input");
    CHECK_ERROR(st_dropout_create(&made, 1.5f), ST_EINVAL, "1.5");
    CHECK_ERROR(st_dropout_create(&made, -0.1f), ST_EINVAL, "-0.1");
    CHECK_ERROR(st_dropout(&out, x, 1.5f, true), ST_EINVAL, "1.5");
    CHECK_ERROR(st_multihead_attention_create(&made, 8, 3, 0, true, true), ST_EINVAL, "num_heads");
    /* d_model 8 is not divisible by 3 heads: the message names both numbers. */
    st_transformer_options_init(&options, 8, 3);
    if (CHECK_ERROR(st_transformer_encoder_layer_create(&made, &options), ST_EINVAL, "heads"))
        MESSAGE_HAS("3");
    st_transformer_options_init(&options, 8, 2);
    options.dropout = 2;
    CHECK_ERROR(st_transformer_encoder_layer_create(&made, &options), ST_EINVAL, "dropout");
    CHECK_ERROR(st_embedding_create(&made, 5, 3, 7), ST_EINVAL, "padding");
    CHECK_ERROR(st_batch_norm2d_create(&made, 0, 1e-5f, 0.1f, true, true), ST_EINVAL,
                "num_features");
    CHECK(made == NULL, "a failed create left a module handle");
done:
    st_module_free(made);
    free_tracked();
}

static void test_attention_arguments(void) {
    const int64_t x_shape[3] = {1, 4, 8}, narrow_shape[3] = {1, 4, 6}, mask3[2] = {3, 3};
    const int64_t mask4[2] = {4, 4};
    st_transformer_options options;
    st_module *layer = NULL, *linear = NULL, *mha = NULL;
    st_tensor *x = zeros(ST_FLOAT32, 3, x_shape), *narrow = zeros(ST_FLOAT32, 3, narrow_shape);
    st_tensor *small_mask = zeros(ST_BOOL, 2, mask3), *int_mask = zeros(ST_INT64, 2, mask4);
    st_tensor *out = NULL, *weights = NULL;
    REQUIRE(x && narrow && small_mask && int_mask, "inputs");
    st_transformer_options_init(&options, 8, 2);
    options.dim_feedforward = 16;
    options.batch_first = true;
    REQUIRE(CHECK_OK(st_transformer_encoder_layer_create(&layer, &options)) &&
                CHECK_OK(st_linear_create(&linear, 8, 8, true)),
            "modules");
    /* A TransformerEncoderLayer does self-attention only. */
    out = x;
    CHECK_ERROR(st_attention_forward(&out, NULL, layer, x, x, x, NULL, false), ST_EINVAL, "key");
    RESET_TO_NULL(out, "st_attention_forward with a key");
    /* Not an attention module. */
    CHECK_ERROR(st_attention_forward(&out, NULL, linear, x, NULL, NULL, NULL, false), ST_EINVAL,
                "module");
    /* A 3x3 mask for 4 positions; an int64 mask; 6 features for d_model 8. */
    if (CHECK_ERROR(st_attention_forward(&out, NULL, layer, x, NULL, NULL, small_mask, false),
                    ST_ESHAPE, "[3, 3]"))
        MESSAGE_HAS("mask");
    if (CHECK_ERROR(st_attention_forward(&out, NULL, layer, x, NULL, NULL, int_mask, false),
                    ST_EINVAL, "mask"))
        MESSAGE_HAS("int64");
    CHECK_ERROR(st_attention_forward(&out, NULL, layer, narrow, NULL, NULL, NULL, false),
                ST_ESHAPE, "[1, 4, 6]");
    /* out_weights is for MultiheadAttention only. */
    CHECK_ERROR(st_attention_forward(&out, &weights, layer, x, NULL, NULL, NULL, false),
                ST_EINVAL, "weights");
    /* A failed MultiheadAttention call clears both outputs. */
    REQUIRE(CHECK_OK(st_multihead_attention_create(&mha, 8, 2, 0, true, true)), "mha");
    out = x;
    weights = x;
    CHECK_ERROR(st_attention_forward(&out, &weights, mha, narrow, NULL, NULL, NULL, false),
                ST_ESHAPE, "[1, 4, 6]");
    CHECK(out == NULL && weights == NULL, "a failed attention call left its outputs set");
done:
    st_module_free(mha);
    st_module_free(linear);
    st_module_free(layer);
    free_tracked();
}

static void test_dataset_sample_shape_errors(void) {
    static float features[2 * 64];
    const int64_t fifty_six[3] = {1, 8, 7}, negative[3] = {-1, 8, -8};
    const int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 64};
    st_dataset *dataset = NULL;
    REQUIRE(CHECK_OK(st_dataset_create(&dataset, features, 2, 64, NULL, ST_DATA_COPY)), "dataset");
    /* 1 * 8 * 7 = 56 is not the 64 features of a row. */
    if (CHECK_ERROR(st_dataset_set_sample_shape(dataset, fifty_six, 3), ST_ESHAPE, "64"))
        MESSAGE_HAS("[1, 8, 7]");
    CHECK_ERROR(st_dataset_set_sample_shape(dataset, negative, 3), ST_EINVAL, "-1");
    CHECK_ERROR(st_dataset_set_sample_shape(dataset, nine, 9), ST_EINVAL, "9");
done:
    st_dataset_free(dataset);
}

int main(int argc, char **argv) {
    /* ctest registers one test per entry (Tests/c/CMakeLists.txt reads this table). */
    static const test_case cases[] = {
        {"matmul_shape_mismatch", test_matmul_shape_mismatch},
        {"broadcast_shape_mismatch", test_broadcast_shape_mismatch},
        {"size_mismatches", test_size_mismatches},
        {"dtype_mismatch", test_dtype_mismatch},
        {"cross_entropy_targets", test_cross_entropy_targets},
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
        {"dims_and_indices_out_of_range", test_dims_and_indices_out_of_range},
        {"load_state_dict_keys", test_load_state_dict_keys},
        {"split_capacity_too_small", test_split_capacity_too_small},
        {"bad_pool_and_conv_options", test_bad_pool_and_conv_options},
        {"bad_layer_hyperparameters", test_bad_layer_hyperparameters},
        {"attention_arguments", test_attention_arguments},
        {"dataset_sample_shape_errors", test_dataset_sample_shape_errors},
    };
    return run_test_cases(cases, sizeof cases / sizeof cases[0], argc, argv);
}
