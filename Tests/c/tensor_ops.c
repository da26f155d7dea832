/* The tensor section of the C API used from C as the header documents it: tensors over the
 * caller's buffers (copied or borrowed), queries, factories, small computation graphs whose
 * values and gradients are worked out by hand below, autograd switches, splitting,
 * comparisons, reductions with indices, cross-entropy, named tensors and state dicts, module
 * modes, a small CNN and attention with a causal mask.
 *
 * Values are chosen so that most expected results are exact in float32; where they are not
 * (1/6, logarithms, library kernels) the tolerance is stated at the check. */
#include "check.h"
#include "swifttrain.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ----------------------------------------------------------------------------- */

/* A float32 tensor copied from `data`, or NULL (after a failed check). */
static st_tensor *f32(const float *data, const int64_t *shape, size_t ndim) {
    st_tensor *t = NULL;
    CHECK_OK(st_tensor_create(&t, data, shape, ndim, ST_FLOAT32, ST_DATA_COPY));
    return track(t);
}

/* The same, requiring gradients (a leaf, like a parameter). */
static st_tensor *leaf(const float *data, const int64_t *shape, size_t ndim) {
    st_tensor *t = f32(data, shape, ndim);
    if (t) CHECK_OK(st_tensor_set_requires_grad(t, true));
    return t;
}

static st_tensor *i64(const int64_t *data, const int64_t *shape, size_t ndim) {
    st_tensor *t = NULL;
    CHECK_OK(st_tensor_create(&t, data, shape, ndim, ST_INT64, ST_DATA_COPY));
    return track(t);
}

static int shape_is(const st_tensor *t, const int64_t *expected, size_t ndim, const char *what) {
    int64_t shape[ST_MAX_DIMS];
    size_t got_ndim = 99, i;
    if (!CHECK(t != NULL, "%s: no tensor", what) || !CHECK_OK(st_tensor_ndim(&got_ndim, t)))
        return 0;
    if (!CHECK(got_ndim == ndim, "%s: ndim %zu, expected %zu", what, got_ndim, ndim)) return 0;
    if (!CHECK_OK(st_tensor_shape(shape, ST_MAX_DIMS, t))) return 0;
    for (i = 0; i < ndim; i++)
        if (!CHECK(shape[i] == expected[i], "%s: dimension %zu is %lld, expected %lld", what, i,
                   (long long)shape[i], (long long)expected[i]))
            return 0;
    return 1;
}

static int dtype_is(const st_tensor *t, st_dtype expected, const char *what) {
    st_dtype dtype = (st_dtype)-1;
    return CHECK(t != NULL, "%s: no tensor", what) && CHECK_OK(st_tensor_dtype(&dtype, t)) &&
           CHECK(dtype == expected, "%s: dtype %d, expected %d", what, (int)dtype, (int)expected);
}

/* Copies a float32 tensor of exactly n elements into `out` (n <= 4096). */
static int read_f32(float *out, size_t n, const st_tensor *t, const char *what) {
    int64_t numel = -1;
    if (!dtype_is(t, ST_FLOAT32, what) || !CHECK_OK(st_tensor_numel(&numel, t))) return 0;
    if (!CHECK(numel == (int64_t)n, "%s: %lld elements, expected %zu", what, (long long)numel, n))
        return 0;
    return CHECK_OK(st_tensor_copy_to(out, n * sizeof(float), t));
}

/* Checks a float32 tensor's values element by element to within `tolerance`. */
static int values_are(const st_tensor *t, const float *expected, size_t n, double tolerance,
                      const char *what) {
    float got[4096];
    size_t i;
    if (!CHECK(n <= COUNT(got), "%s: too many values to compare", what) ||
        !read_f32(got, n, t, what))
        return 0;
    for (i = 0; i < n; i++)
        if (!CHECK(fabs((double)got[i] - (double)expected[i]) <= tolerance,
                   "%s[%zu] = %.9g, expected %.9g (tolerance %g)", what, i, (double)got[i],
                   (double)expected[i], tolerance))
            return 0;
    return 1;
}

static int int64_values_are(const st_tensor *t, const int64_t *expected, size_t n,
                            const char *what) {
    int64_t got[64], numel = -1;
    size_t i;
    if (!dtype_is(t, ST_INT64, what) || !CHECK_OK(st_tensor_numel(&numel, t)) ||
        !CHECK(numel == (int64_t)n && n <= COUNT(got), "%s: %lld elements, expected %zu", what,
               (long long)numel, n) ||
        !CHECK_OK(st_tensor_copy_to(got, n * sizeof(int64_t), t)))
        return 0;
    for (i = 0; i < n; i++)
        if (!CHECK(got[i] == expected[i], "%s[%zu] = %lld, expected %lld", what, i,
                   (long long)got[i], (long long)expected[i]))
            return 0;
    return 1;
}

static int bool_values_are(const st_tensor *t, const uint8_t *expected, size_t n,
                           const char *what) {
    uint8_t got[64];
    int64_t numel = -1;
    size_t i;
    if (!dtype_is(t, ST_BOOL, what) || !CHECK_OK(st_tensor_numel(&numel, t)) ||
        !CHECK(numel == (int64_t)n && n <= COUNT(got), "%s: %lld elements, expected %zu", what,
               (long long)numel, n) ||
        !CHECK_OK(st_tensor_copy_to(got, n, t)))
        return 0;
    for (i = 0; i < n; i++)
        if (!CHECK(got[i] == expected[i], "%s[%zu] = %u, expected %u", what, i,
                   (unsigned)got[i], (unsigned)expected[i]))
            return 0;
    return 1;
}

/* The gradient accumulated in `t`, checked against `expected`. */
static int grad_is(const st_tensor *t, const float *expected, size_t n, double tolerance,
                   const char *what) {
    st_tensor *grad = NULL;
    int ok;
    if (!CHECK_OK(st_tensor_grad(&grad, t)) || !CHECK(grad != NULL, "%s: no gradient", what))
        return 0;
    ok = values_are(grad, expected, n, tolerance, what);
    st_tensor_free(grad);
    return ok;
}

static int has_no_grad(const st_tensor *t, const char *what) {
    st_tensor *grad = NULL;
    int ok = CHECK_OK(st_tensor_grad(&grad, t)) &&
             CHECK(grad == NULL, "%s has a gradient, expected none", what);
    st_tensor_free(grad);
    return ok;
}

static int requires_grad_is(const st_tensor *t, bool expected, const char *what) {
    bool got = !expected;
    return CHECK_OK(st_tensor_requires_grad(&got, t)) &&
           CHECK(got == expected, "%s: requires_grad %d, expected %d", what, (int)got,
                 (int)expected);
}

static double item(const st_tensor *t) {
    double value = NAN;
    CHECK_OK(st_tensor_item(&value, t));
    return value;
}

/* Largest absolute difference between two float32 tensors of n elements (INFINITY when they
 * cannot be read). */
static double max_difference(const st_tensor *a, const st_tensor *b, size_t n) {
    static float x[4096], y[4096];
    double worst = 0;
    size_t i;
    if (n > COUNT(x) || !read_f32(x, n, a, "a") || !read_f32(y, n, b, "b")) return INFINITY;
    for (i = 0; i < n; i++)
        if (fabs((double)x[i] - (double)y[i]) > worst) worst = fabs((double)x[i] - (double)y[i]);
    return worst;
}

/* The named entry of a list as a new tracked handle, or NULL. */
static st_tensor *named_entry(const st_named_tensors *list, const char *name) {
    size_t i, n = st_named_tensors_count(list);
    for (i = 0; i < n; i++) {
        const char *entry_name = NULL;
        st_tensor *t = NULL;
        if (!CHECK_OK(st_named_tensors_entry(&entry_name, &t, list, i))) return NULL;
        if (strcmp(entry_name, name) == 0) return track(t);
        st_tensor_free(t);
    }
    CHECK(0, "no entry named \"%s\"", name);
    return NULL;
}

/* ---- tensors over caller buffers --------------------------------------------------------- */

static void test_create_copy_and_borrow(void) {
    float buffer[6] = {1, 2, 3, 4, 5, 6};
    const int64_t shape[2] = {2, 3};
    st_tensor *copied = NULL, *borrowed = NULL, *plus_one = NULL;
    void *memory = NULL;
    REQUIRE_OK(st_tensor_create(&copied, buffer, shape, 2, ST_FLOAT32, ST_DATA_COPY));
    track(copied);
    REQUIRE_OK(st_tensor_create(&borrowed, buffer, shape, 2, ST_FLOAT32, ST_DATA_BORROW));
    track(borrowed);
    /* The caller writes after creating both: only the borrowed tensor sees it. */
    buffer[0] = 100;
    buffer[5] = -6;
    {
        const float original[6] = {1, 2, 3, 4, 5, 6};
        const float updated[6] = {100, 2, 3, 4, 5, -6};
        const float updated_plus_one[6] = {101, 3, 4, 5, 6, -5};
        values_are(copied, original, 6, 0, "copied tensor after the caller's write");
        values_are(borrowed, updated, 6, 0, "borrowed tensor after the caller's write");
        /* Borrowing reads in place: no copy is made. */
        if (CHECK_OK(st_tensor_data(&memory, borrowed)))
            CHECK(memory == (void *)buffer, "st_tensor_data of a borrowed tensor is %p, not the "
                  "caller's buffer %p", memory, (void *)buffer);
        if (CHECK_OK(st_tensor_data(&memory, copied)))
            CHECK(memory != (void *)buffer, "st_tensor_data of a copied tensor is the caller's "
                  "buffer");
        REQUIRE_OK(st_add_scalar(&plus_one, borrowed, 1));
        track(plus_one);
        values_are(plus_one, updated_plus_one, 6, 0, "borrowed + 1");
    }
    shape_is(copied, shape, 2, "copied");
    shape_is(borrowed, shape, 2, "borrowed");
done:
    free_tracked();
}

static void test_create_other_dtypes_and_scalars(void) {
    const int64_t ids[3] = {5, -7, (int64_t)1 << 40};
    const uint8_t flags[4] = {1, 0, 1, 1};
    const float scalar_value = 2.5f;
    const int64_t ids_shape[1] = {3}, flags_shape[2] = {2, 2};
    st_tensor *ints = NULL, *bools = NULL, *scalar = NULL;
    size_t ndim = 99;
    int64_t numel = -1;
    REQUIRE_OK(st_tensor_create(&ints, ids, ids_shape, 1, ST_INT64, ST_DATA_COPY));
    track(ints);
    int64_values_are(ints, ids, 3, "int64 tensor");
    REQUIRE_OK(st_tensor_create(&bools, flags, flags_shape, 2, ST_BOOL, ST_DATA_COPY));
    track(bools);
    bool_values_are(bools, flags, 4, "bool tensor");
    shape_is(bools, flags_shape, 2, "bool tensor");
    /* A scalar: ndim 0 (shape may be NULL then), one element. */
    REQUIRE_OK(st_tensor_create(&scalar, &scalar_value, NULL, 0, ST_FLOAT32, ST_DATA_COPY));
    track(scalar);
    if (CHECK_OK(st_tensor_ndim(&ndim, scalar))) CHECK(ndim == 0, "scalar ndim %zu", ndim);
    if (CHECK_OK(st_tensor_numel(&numel, scalar)))
        CHECK(numel == 1, "scalar numel %lld", (long long)numel);
    CHECK(item(scalar) == 2.5, "scalar item %g", item(scalar));
    {
        const int64_t one[1] = {1};
        st_tensor *last = NULL;
        /* st_tensor_item of an int64 element converts exactly. */
        if (CHECK_OK(st_slice(&last, ints, 0, 2, 3, 1))) {
            track(last);
            shape_is(last, one, 1, "ints[2:3]");
            CHECK(item(last) == 1099511627776.0, "item of int64 2^40 is %.17g", item(last));
        }
    }
done:
    free_tracked();
}

static void test_queries_copy_to_and_data(void) {
    const int64_t shape[3] = {2, 3, 4};
    int64_t got_shape[3] = {0, 0, 0}, numel = -1;
    st_tensor *t = NULL, *empty = NULL;
    size_t ndim = 99, i;
    st_dtype dtype = ST_BOOL;
    float values[24];
    float *memory = NULL;
    REQUIRE_OK(st_tensor_zeros(&t, shape, 3, ST_FLOAT32));
    track(t);
    if (CHECK_OK(st_tensor_ndim(&ndim, t))) CHECK(ndim == 3, "ndim %zu", ndim);
    /* A capacity of exactly ndim is enough. */
    if (CHECK_OK(st_tensor_shape(got_shape, 3, t)))
        CHECK(got_shape[0] == 2 && got_shape[1] == 3 && got_shape[2] == 4,
              "shape [%lld, %lld, %lld]", (long long)got_shape[0], (long long)got_shape[1],
              (long long)got_shape[2]);
    if (CHECK_OK(st_tensor_numel(&numel, t))) CHECK(numel == 24, "numel %lld", (long long)numel);
    if (CHECK_OK(st_tensor_dtype(&dtype, t))) CHECK(dtype == ST_FLOAT32, "dtype %d", (int)dtype);
    /* st_tensor_data is the tensor's memory: writing through it changes the tensor. */
    REQUIRE_OK(st_tensor_data((void **)&memory, t));
    REQUIRE(memory != NULL, "st_tensor_data gave NULL");
    for (i = 0; i < 24; i++) memory[i] = (float)i * 0.5f;
    REQUIRE_OK(st_tensor_copy_to(values, sizeof values, t));
    for (i = 0; i < 24; i++)
        if (!CHECK(values[i] == (float)i * 0.5f, "value %zu is %g after writing through "
                   "st_tensor_data", i, (double)values[i]))
            break;
    {
        /* An element in the middle: [1, 2, 3] is flat index 1*12 + 2*4 + 3 = 23 (row-major). */
        st_tensor *row = NULL, *element = NULL;
        if (CHECK_OK(st_select(&row, t, 0, 1)) && track(row) &&
            CHECK_OK(st_slice(&element, row, 0, 2, 3, 1)) && track(element)) {
            float last[4];
            if (read_f32(last, 4, element, "t[1, 2, :]"))
                CHECK(last[3] == 11.5f, "t[1, 2, 3] = %g, expected 11.5", (double)last[3]);
        }
    }
    /* Zero elements are allowed. */
    {
        const int64_t empty_shape[2] = {0, 3};
        if (CHECK_OK(st_tensor_zeros(&empty, empty_shape, 2, ST_FLOAT32))) {
            track(empty);
            if (CHECK_OK(st_tensor_numel(&numel, empty)))
                CHECK(numel == 0, "numel of [0, 3] is %lld", (long long)numel);
            shape_is(empty, empty_shape, 2, "[0, 3] tensor");
        }
    }
done:
    free_tracked();
}

static void test_factories(void) {
    const int64_t shape[2] = {2, 2}, three[1] = {3}, many[1] = {10000};
    st_tensor *t = NULL, *u1 = NULL, *u2 = NULL, *u3 = NULL, *n1 = NULL, *n2 = NULL, *n3 = NULL;
    static float a[10000], b[10000];
    size_t i;
    {
        const float zeros[4] = {0, 0, 0, 0}, filled[4] = {1.5f, 1.5f, 1.5f, 1.5f};
        const int64_t int_zeros[3] = {0, 0, 0};
        const uint8_t bool_zeros[4] = {0, 0, 0, 0};
        if (CHECK_OK(st_tensor_zeros(&t, shape, 2, ST_FLOAT32)))
            values_are(track(t), zeros, 4, 0, "zeros float32");
        if (CHECK_OK(st_tensor_zeros(&t, three, 1, ST_INT64)))
            int64_values_are(track(t), int_zeros, 3, "zeros int64");
        if (CHECK_OK(st_tensor_zeros(&t, shape, 2, ST_BOOL)))
            bool_values_are(track(t), bool_zeros, 4, "zeros bool");
        if (CHECK_OK(st_tensor_full(&t, shape, 2, 1.5f))) {
            values_are(track(t), filled, 4, 0, "full 1.5");
            shape_is(t, shape, 2, "full 1.5");
        }
    }
    {
        const float to_five[5] = {0, 1, 2, 3, 4}, quarters[4] = {1, 1.25f, 1.5f, 1.75f};
        const int64_t by_three[4] = {0, 3, 6, 9}, down[3] = {5, 3, 1};
        const int64_t five[1] = {5};
        if (CHECK_OK(st_tensor_arange(&t, 0, 5, 1, ST_FLOAT32))) {
            values_are(track(t), to_five, 5, 0, "arange(0, 5)");
            shape_is(t, five, 1, "arange(0, 5)");
        }
        if (CHECK_OK(st_tensor_arange(&t, 1, 2, 0.25, ST_FLOAT32)))
            values_are(track(t), quarters, 4, 0, "arange(1, 2, 0.25)");
        if (CHECK_OK(st_tensor_arange(&t, 0, 10, 3, ST_INT64)))
            int64_values_are(track(t), by_three, 4, "arange(0, 10, 3) int64");
        if (CHECK_OK(st_tensor_arange(&t, 5, 0, -2, ST_INT64)))
            int64_values_are(track(t), down, 3, "arange(5, 0, -2) int64");
    }
    /* Uniform: in [low, high), reproducible from the seed, different for another seed. */
    REQUIRE_OK(st_tensor_uniform(&u1, many, 1, -2.0f, 3.0f, 7));
    track(u1);
    REQUIRE_OK(st_tensor_uniform(&u2, many, 1, -2.0f, 3.0f, 7));
    track(u2);
    REQUIRE_OK(st_tensor_uniform(&u3, many, 1, -2.0f, 3.0f, 8));
    track(u3);
    if (read_f32(a, 10000, u1, "uniform seed 7") && read_f32(b, 10000, u2, "uniform seed 7")) {
        double sum = 0;
        CHECK(memcmp(a, b, sizeof a) == 0, "two uniform tensors from seed 7 differ");
        for (i = 0; i < 10000; i++) {
            if (!CHECK(a[i] >= -2.0f && a[i] < 3.0f, "uniform value %zu is %g, outside [-2, 3)",
                       i, (double)a[i]))
                break;
            sum += a[i];
        }
        CHECK(fabs(sum / 10000 - 0.5) < 0.1, "mean of U(-2, 3) is %g, expected about 0.5",
              sum / 10000);
        if (read_f32(b, 10000, u3, "uniform seed 8"))
            CHECK(memcmp(a, b, sizeof a) != 0, "uniform tensors from seeds 7 and 8 are equal");
    }
    /* Normal: reproducible, mean and standard deviation as asked. */
    REQUIRE_OK(st_tensor_normal(&n1, many, 1, 1.0f, 2.0f, 7));
    track(n1);
    REQUIRE_OK(st_tensor_normal(&n2, many, 1, 1.0f, 2.0f, 7));
    track(n2);
    REQUIRE_OK(st_tensor_normal(&n3, many, 1, 1.0f, 2.0f, 9));
    track(n3);
    if (read_f32(a, 10000, n1, "normal seed 7") && read_f32(b, 10000, n2, "normal seed 7")) {
        double sum = 0, squares = 0, mean, std;
        CHECK(memcmp(a, b, sizeof a) == 0, "two normal tensors from seed 7 differ");
        for (i = 0; i < 10000; i++) sum += a[i];
        mean = sum / 10000;
        for (i = 0; i < 10000; i++) squares += (a[i] - mean) * (a[i] - mean);
        std = sqrt(squares / 9999);
        CHECK(fabs(mean - 1.0) < 0.1, "mean of N(1, 2^2) is %g", mean);
        CHECK(fabs(std - 2.0) < 0.1, "std of N(1, 2^2) is %g", std);
        if (read_f32(b, 10000, n3, "normal seed 9"))
            CHECK(memcmp(a, b, sizeof a) != 0, "normal tensors from seeds 7 and 9 are equal");
    }
done:
    free_tracked();
}

/* ---- computation graphs, checked by hand ------------------------------------------------- */

/* s = sum(relu(x W^T + b)) with
 *   x = [[1, 2, 3], [-1, 0, -3]], W = [[1, 0, -1], [0.5, 0.5, 0.5]], b = [0.5, 1]:
 *   x W^T + b = [[1 - 3 + 0.5, 0.5 + 1 + 1.5 + 1], [-1 + 3 + 0.5, -0.5 - 1.5 + 1]]
 *             = [[-1.5, 4], [2.5, -1]],  relu = [[0, 4], [2.5, 0]],  s = 6.5.
 * ds/dy is the relu mask m = [[0, 1], [1, 0]], so
 *   dW = m^T x = [x[1]; x[0]] = [[-1, 0, -3], [1, 2, 3]],  db = column sums of m = [1, 1],
 *   dx = m W = [W[1]; W[0]] = [[0.5, 0.5, 0.5], [1, 0, -1]]. */
static void test_linear_relu_sum_graph(void) {
    const float x_values[6] = {1, 2, 3, -1, 0, -3};
    const float w_values[6] = {1, 0, -1, 0.5f, 0.5f, 0.5f};
    const float b_values[2] = {0.5f, 1};
    const int64_t x_shape[2] = {2, 3}, w_shape[2] = {2, 3}, b_shape[1] = {2}, y_shape[2] = {2, 2};
    const float y_expected[4] = {-1.5f, 4, 2.5f, -1}, r_expected[4] = {0, 4, 2.5f, 0};
    const float dw[6] = {-1, 0, -3, 1, 2, 3}, db[2] = {1, 1}, dx[6] = {0.5f, 0.5f, 0.5f, 1, 0, -1};
    st_tensor *x = leaf(x_values, x_shape, 2), *w = leaf(w_values, w_shape, 2);
    st_tensor *b = leaf(b_values, b_shape, 1), *y = NULL, *r = NULL, *s = NULL;
    size_t ndim = 99;
    REQUIRE(x && w && b, "inputs");
    REQUIRE_OK(st_linear(&y, x, w, b));
    track(y);
    shape_is(y, y_shape, 2, "linear");
    values_are(y, y_expected, 4, 0, "linear");
    requires_grad_is(y, true, "linear of leaves requiring gradients");
    REQUIRE_OK(st_relu(&r, y));
    track(r);
    values_are(r, r_expected, 4, 0, "relu");
    REQUIRE_OK(st_sum(&s, r, NULL, 0, false));
    track(s);
    if (CHECK_OK(st_tensor_ndim(&ndim, s))) CHECK(ndim == 0, "sum over all is %zu-D", ndim);
    CHECK(item(s) == 6.5, "sum = %g, expected 6.5", item(s));
    REQUIRE_OK(st_tensor_backward(s, NULL));
    grad_is(w, dw, 6, 0, "dW");
    grad_is(b, db, 2, 0, "db");
    grad_is(x, dx, 6, 0, "dx");
done:
    free_tracked();
}

/* m = mean(A @ B + c) with A = [[1, 2], [3, 4]], B = [[1, 0, 2], [-1, 3, 4]], c = [0.5, -0.5, 1]
 * (c broadcast over the rows):
 *   A @ B = [[-1, 6, 10], [-1, 12, 22]],  + c = [[-0.5, 5.5, 11], [-0.5, 11.5, 23]],  m = 50/6.
 * With g = 1/6 everywhere:  dA = g * (row sums of B) per column = [[0.5, 1], [0.5, 1]],
 *   dB = g * (column sums of A) per row = [[2/3, 2/3, 2/3], [1, 1, 1]],  dc = 2g = 1/3. */
static void test_matmul_broadcast_mean_graph(void) {
    const float a_values[4] = {1, 2, 3, 4}, b_values[6] = {1, 0, 2, -1, 3, 4};
    const float c_values[3] = {0.5f, -0.5f, 1};
    const int64_t a_shape[2] = {2, 2}, b_shape[2] = {2, 3}, c_shape[1] = {3};
    const float product[6] = {-1, 6, 10, -1, 12, 22}, shifted[6] = {-0.5f, 5.5f, 11, -0.5f, 11.5f, 23};
    const float da[4] = {0.5f, 1, 0.5f, 1};
    const float db[6] = {2.0f / 3, 2.0f / 3, 2.0f / 3, 1, 1, 1};
    const float dc[3] = {1.0f / 3, 1.0f / 3, 1.0f / 3};
    st_tensor *a = leaf(a_values, a_shape, 2), *b = leaf(b_values, b_shape, 2);
    st_tensor *c = leaf(c_values, c_shape, 1), *p = NULL, *q = NULL, *m = NULL;
    REQUIRE(a && b && c, "inputs");
    REQUIRE_OK(st_matmul(&p, a, b));
    track(p);
    shape_is(p, b_shape, 2, "A @ B");
    values_are(p, product, 6, 0, "A @ B");
    REQUIRE_OK(st_add(&q, p, c));
    track(q);
    shape_is(q, b_shape, 2, "A @ B + c");
    values_are(q, shifted, 6, 0, "A @ B + c");
    {
        /* Reductions over some dimensions, kept and dropped, negative indices. */
        const int64_t row_dim[1] = {1}, first_dim[1] = {-2}, kept[2] = {2, 1}, three[1] = {3};
        const float row_means[2] = {16.0f / 3, 34.0f / 3}, column_sums[3] = {-1, 17, 34};
        st_tensor *means = NULL, *sums = NULL;
        if (CHECK_OK(st_mean(&means, q, row_dim, 1, true))) {
            shape_is(track(means), kept, 2, "mean over dim 1, keepdim");
            values_are(means, row_means, 2, 1e-5, "mean over dim 1");
        }
        if (CHECK_OK(st_sum(&sums, q, first_dim, 1, false))) {
            shape_is(track(sums), three, 1, "sum over dim -2");
            values_are(sums, column_sums, 3, 0, "sum over dim -2");
        }
    }
    REQUIRE_OK(st_mean(&m, q, NULL, 0, false));
    track(m);
    CHECK(fabs(item(m) - 50.0 / 6) < 1e-5, "mean = %.9g, expected %.9g", item(m), 50.0 / 6);
    REQUIRE_OK(st_tensor_backward(m, NULL));
    grad_is(a, da, 4, 1e-6, "dA");
    grad_is(b, db, 6, 1e-6, "dB");
    grad_is(c, dc, 3, 1e-6, "dc");
done:
    free_tracked();
}

/* f = sum(a * b + a / b + a^2) with a = [1, 2, 4], b = [2, 4, 8]:
 *   a * b = [2, 8, 32], a / b = [0.5, 0.5, 0.5], a^2 = [1, 4, 16],  f = 42 + 1.5 + 21 = 64.5,
 *   df/da = b + 1/b + 2a = [4.5, 8.25, 16.125],  df/db = a - a/b^2 = [0.75, 1.875, 3.9375]. */
static void test_elementwise_graph(void) {
    const float a_values[3] = {1, 2, 4}, b_values[3] = {2, 4, 8};
    const int64_t shape[1] = {3};
    const float da[3] = {4.5f, 8.25f, 16.125f}, db[3] = {0.75f, 1.875f, 3.9375f};
    st_tensor *a = leaf(a_values, shape, 1), *b = leaf(b_values, shape, 1);
    st_tensor *product = NULL, *quotient = NULL, *square = NULL, *t1 = NULL, *t2 = NULL, *f = NULL;
    REQUIRE(a && b, "inputs");
    REQUIRE_OK(st_mul(&product, a, b));
    track(product);
    REQUIRE_OK(st_div(&quotient, a, b));
    track(quotient);
    REQUIRE_OK(st_pow_scalar(&square, a, 2));
    track(square);
    REQUIRE_OK(st_add(&t1, product, quotient));
    track(t1);
    REQUIRE_OK(st_add(&t2, t1, square));
    track(t2);
    REQUIRE_OK(st_sum(&f, t2, NULL, 0, false));
    track(f);
    CHECK(item(f) == 64.5, "f = %g, expected 64.5", item(f));
    REQUIRE_OK(st_tensor_backward(f, NULL));
    grad_is(a, da, 3, 0, "df/da");
    grad_is(b, db, 3, 0, "df/db");
done:
    free_tracked();
}

/* s = sum(w * x): ds/dw = x. Gradients add up over backward calls until zero_grad drops
 * them; an explicit output gradient weights the elements. */
static void test_gradient_accumulation(void) {
    const float w_values[3] = {1, 2, 3}, x_values[3] = {0.5f, -1, 2};
    const float once[3] = {0.5f, -1, 2}, twice[3] = {1, -2, 4}, weighted[3] = {0.5f, -10, 200};
    const float output_gradient[3] = {1, 10, 100};
    const int64_t shape[1] = {3};
    st_tensor *w = leaf(w_values, shape, 1), *x = f32(x_values, shape, 1);
    st_tensor *y = NULL, *s = NULL, *g = f32(output_gradient, shape, 1);
    int round;
    REQUIRE(w && x && g, "inputs");
    has_no_grad(w, "w before any backward");
    for (round = 0; round < 2; round++) {
        REQUIRE_OK(st_mul(&y, w, x));
        track(y);
        REQUIRE_OK(st_sum(&s, y, NULL, 0, false));
        track(s);
        REQUIRE_OK(st_tensor_backward(s, NULL));
    }
    grad_is(w, twice, 3, 0, "dw after two backward calls");
    has_no_grad(x, "x (does not require gradients)");
    REQUIRE_OK(st_tensor_zero_grad(w));
    has_no_grad(w, "w after st_tensor_zero_grad");
    REQUIRE_OK(st_mul(&y, w, x));
    track(y);
    REQUIRE_OK(st_sum(&s, y, NULL, 0, false));
    track(s);
    REQUIRE_OK(st_tensor_backward(s, NULL));
    grad_is(w, once, 3, 0, "dw after zero_grad and one backward");
    /* Backward from a non-scalar with its gradient given. */
    REQUIRE_OK(st_tensor_zero_grad(w));
    REQUIRE_OK(st_mul(&y, w, x));
    track(y);
    REQUIRE_OK(st_tensor_backward(y, g));
    grad_is(w, weighted, 3, 0, "dw from backward(w * x, [1, 10, 100])");
done:
    free_tracked();
}

static void test_grad_enabled_switch(void) {
    const float w_values[3] = {1, 2, 3}, doubled[3] = {2, 4, 6};
    const int64_t shape[1] = {3};
    st_tensor *w = leaf(w_values, shape, 1), *y = NULL, *z = NULL;
    bool previous;
    REQUIRE(w != NULL, "input");
    previous = st_set_grad_enabled(false);
    CHECK(previous == true, "recording was off before the first st_set_grad_enabled(false)");
    CHECK(st_set_grad_enabled(false) == false, "st_set_grad_enabled(false) twice: the second "
          "call did not return the previous setting false");
    if (CHECK_OK(st_mul_scalar(&y, w, 2))) {
        track(y);
        values_are(y, doubled, 3, 0, "2w under no_grad");
        requires_grad_is(y, false, "2w computed with recording off");
        CHECK_ERROR(st_tensor_backward(y, w), ST_EMISUSE, NULL);
    }
    previous = st_set_grad_enabled(true);
    CHECK(previous == false, "st_set_grad_enabled(true) returned %d, expected the previous "
          "setting 0", (int)previous);
    CHECK(st_set_grad_enabled(true) == true, "st_set_grad_enabled(true) twice: the second call "
          "did not return true");
    if (CHECK_OK(st_mul_scalar(&z, w, 2))) {
        track(z);
        requires_grad_is(z, true, "2w computed with recording back on");
    }
    has_no_grad(w, "w (nothing was backpropagated)");
done:
    st_set_grad_enabled(true);
    free_tracked();
}

/* y = 3w, d = detach(y), loss = sum(d * w): d is a constant, so dloss/dw = d = 3w
 * (it would be 6w if d still depended on w). */
static void test_detach(void) {
    const float w_values[2] = {1, 2}, tripled[2] = {3, 6};
    const int64_t shape[1] = {2};
    st_tensor *w = leaf(w_values, shape, 1), *y = NULL, *d = NULL, *p = NULL, *loss = NULL;
    void *y_memory = NULL, *d_memory = NULL;
    REQUIRE(w != NULL, "input");
    REQUIRE_OK(st_mul_scalar(&y, w, 3));
    track(y);
    REQUIRE_OK(st_tensor_detach(&d, y));
    track(d);
    requires_grad_is(y, true, "3w");
    requires_grad_is(d, false, "detach(3w)");
    values_are(d, tripled, 2, 0, "detach(3w)");
    /* It shares the values. */
    if (CHECK_OK(st_tensor_data(&y_memory, y)) && CHECK_OK(st_tensor_data(&d_memory, d)))
        CHECK(y_memory == d_memory, "detach copied the values (%p vs %p)", y_memory, d_memory);
    REQUIRE_OK(st_mul(&p, d, w));
    track(p);
    REQUIRE_OK(st_sum(&loss, p, NULL, 0, false));
    track(loss);
    REQUIRE_OK(st_tensor_backward(loss, NULL));
    grad_is(w, tripled, 2, 0, "d sum(detach(3w) * w) / dw");
done:
    free_tracked();
}

/* ---- shape operations, comparisons, reductions with indices ------------------------------ */

static void test_split_and_chunk(void) {
    st_tensor *ten = NULL, *twelve = NULL, *matrix = NULL;
    st_tensor *outs[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    size_t count = 99, i;
    const int64_t matrix_shape[2] = {2, 6}, four[1] = {4}, two[1] = {2}, two_by_two[2] = {2, 2};
    REQUIRE_OK(st_tensor_arange(&ten, 0, 10, 1, ST_FLOAT32));
    track(ten);
    /* Pieces of 4: [0..3], [4..7], [8, 9]; room for 6, so outs[3..5] stay untouched. */
    REQUIRE_OK(st_split(outs, 6, &count, ten, 4, 0));
    REQUIRE(count == 3, "split 10 by 4 gave %zu pieces, expected 3", count);
    for (i = 0; i < count; i++) track(outs[i]);
    CHECK(outs[3] == NULL && outs[4] == NULL && outs[5] == NULL,
          "st_split wrote past the pieces it made");
    {
        const float p0[4] = {0, 1, 2, 3}, p1[4] = {4, 5, 6, 7}, p2[2] = {8, 9};
        shape_is(outs[0], four, 1, "split piece 0");
        values_are(outs[0], p0, 4, 0, "split piece 0");
        values_are(outs[1], p1, 4, 0, "split piece 1");
        shape_is(outs[2], two, 1, "split piece 2");
        values_are(outs[2], p2, 2, 0, "split piece 2");
    }
    /* Exactly enough capacity. */
    memset(outs, 0, sizeof outs);
    count = 99;
    if (CHECK_OK(st_split(outs, 3, &count, ten, 4, 0))) {
        for (i = 0; i < count && i < 3; i++) track(outs[i]);
        CHECK(count == 3, "split with capacity 3 gave %zu pieces", count);
    }
    /* chunk(10, 3): torch makes pieces of ceil(10 / 3) = 4: sizes 4, 4, 2. */
    memset(outs, 0, sizeof outs);
    count = 99;
    if (CHECK_OK(st_chunk(outs, 6, &count, ten, 3, 0))) {
        for (i = 0; i < count && i < 6; i++) track(outs[i]);
        if (CHECK(count == 3, "chunk(10 elements, 3) gave %zu pieces, expected 3", count)) {
            shape_is(outs[0], four, 1, "chunk 0");
            shape_is(outs[1], four, 1, "chunk 1");
            shape_is(outs[2], two, 1, "chunk 2");
        }
    }
    /* Along the last dimension of a matrix. */
    REQUIRE_OK(st_tensor_arange(&twelve, 0, 12, 1, ST_FLOAT32));
    track(twelve);
    REQUIRE_OK(st_reshape(&matrix, twelve, matrix_shape, 2));
    track(matrix);
    memset(outs, 0, sizeof outs);
    count = 99;
    if (CHECK_OK(st_chunk(outs, 3, &count, matrix, 3, -1))) {
        const float middle[4] = {2, 3, 8, 9};
        for (i = 0; i < count && i < 3; i++) track(outs[i]);
        if (CHECK(count == 3, "chunk([2, 6], 3, dim -1) gave %zu pieces", count)) {
            shape_is(outs[1], two_by_two, 2, "chunk 1 of [2, 6]");
            values_are(outs[1], middle, 4, 0, "chunk 1 of [2, 6]");
        }
    }
done:
    free_tracked();
}

static void test_comparisons_are_bool(void) {
    const float a_values[3] = {1, 2, 3}, b_values[3] = {3, 2, 1}, two = 2;
    const int64_t shape[1] = {3};
    static const struct {
        st_comparison op;
        const char *name;
        uint8_t expected[3];
    } cases[] = {{ST_EQ, "EQ", {0, 1, 0}}, {ST_NE, "NE", {1, 0, 1}}, {ST_LT, "LT", {1, 0, 0}},
                 {ST_LE, "LE", {1, 1, 0}}, {ST_GT, "GT", {0, 0, 1}}, {ST_GE, "GE", {0, 1, 1}}};
    st_tensor *a = leaf(a_values, shape, 1), *b = f32(b_values, shape, 1), *scalar = NULL;
    st_tensor *result = NULL, *picked = NULL;
    size_t i;
    REQUIRE(a && b, "inputs");
    for (i = 0; i < COUNT(cases); i++) {
        char what[64];
        snprintf(what, sizeof what, "[1, 2, 3] %s [3, 2, 1]", cases[i].name);
        if (!CHECK_OK(st_compare(&result, a, cases[i].op, b))) continue;
        track(result);
        shape_is(result, shape, 1, what);
        bool_values_are(result, cases[i].expected, 3, what);
        requires_grad_is(result, false, what);
    }
    /* Broadcasting against a 0-D tensor. */
    REQUIRE_OK(st_tensor_create(&scalar, &two, NULL, 0, ST_FLOAT32, ST_DATA_COPY));
    track(scalar);
    if (CHECK_OK(st_compare(&result, a, ST_GT, scalar))) {
        const uint8_t expected[3] = {0, 0, 1};
        bool_values_are(track(result), expected, 3, "[1, 2, 3] > 2");
    }
    /* int64 operands give bool too. */
    {
        const int64_t x[3] = {4, 5, 6}, y[3] = {4, 0, 6};
        const uint8_t expected[3] = {1, 0, 1};
        st_tensor *xi = i64(x, shape, 1), *yi = i64(y, shape, 1);
        if (xi && yi && CHECK_OK(st_compare(&result, xi, ST_EQ, yi)))
            bool_values_are(track(result), expected, 3, "int64 EQ");
    }
    /* A comparison result works as a where() condition: a < b ? a : b = [1, 2, 1]. */
    if (CHECK_OK(st_compare(&result, a, ST_LT, b)) && track(result) &&
        CHECK_OK(st_where(&picked, result, a, b))) {
        const float expected[3] = {1, 2, 1};
        values_are(track(picked), expected, 3, 0, "where(a < b, a, b)");
    }
done:
    free_tracked();
}

/* a = [[1, 5, 5], [7, 0, -2]]: max along dim 1 = [5, 7] at [1, 0] (first of the tie), min
 * = [1, -2] at [0, 2]; the flattened argmax is 3. */
static void test_max_dim_indices_are_int64(void) {
    const float values[6] = {1, 5, 5, 7, 0, -2};
    const int64_t shape[2] = {2, 3}, two[1] = {2}, kept[2] = {2, 1};
    const float max_values[2] = {5, 7}, min_values[2] = {1, -2};
    const int64_t max_indices[2] = {1, 0}, min_indices[2] = {0, 2}, flat_argmax[1] = {3};
    const int64_t column_argmax[3] = {1, 0, 0};
    st_tensor *a = f32(values, shape, 2), *v = NULL, *ix = NULL;
    REQUIRE(a != NULL, "input");
    if (CHECK_OK(st_max_dim(&v, &ix, a, 1, false))) {
        track(v);
        track(ix);
        shape_is(v, two, 1, "max values");
        shape_is(ix, two, 1, "max indices");
        values_are(v, max_values, 2, 0, "max values");
        int64_values_are(ix, max_indices, 2, "max indices");
    }
    if (CHECK_OK(st_max_dim(&v, &ix, a, -1, true))) {
        track(v);
        track(ix);
        shape_is(v, kept, 2, "max values, keepdim");
        shape_is(ix, kept, 2, "max indices, keepdim");
        int64_values_are(ix, max_indices, 2, "max indices, keepdim");
    }
    if (CHECK_OK(st_min_dim(&v, &ix, a, 1, false))) {
        track(v);
        track(ix);
        values_are(v, min_values, 2, 0, "min values");
        int64_values_are(ix, min_indices, 2, "min indices");
    }
    if (CHECK_OK(st_argmax(&ix, a, ST_NO_INDEX, false)))
        int64_values_are(track(ix), flat_argmax, 1, "argmax of the flattened tensor");
    if (CHECK_OK(st_argmax(&ix, a, 0, false)))
        int64_values_are(track(ix), column_argmax, 3, "argmax along dim 0");
    if (CHECK_OK(st_max(&v, a))) CHECK(item(track(v)) == 7, "max %g", item(v));
    if (CHECK_OK(st_min(&v, a))) CHECK(item(track(v)) == -2, "min %g", item(v));
done:
    free_tracked();
}

/* Logits [[0, 0, 0], [1, 2, 3]], targets [1, 2]:
 *   l0 = log 3,  l1 = log(e + e^2 + e^3) - 3,  mean = (l0 + l1) / 2.
 * d mean / d logits = (softmax - one_hot) / 2. */
static void test_cross_entropy_by_hand(void) {
    const float logits_values[6] = {0, 0, 0, 1, 2, 3};
    const int64_t logits_shape[2] = {2, 3}, target_shape[1] = {2};
    const int64_t targets[2] = {1, 2}, first_ignored[2] = {-100, 2};
    const double l0 = log(3.0), total = exp(1.0) + exp(2.0) + exp(3.0);
    const double l1 = log(total) - 3.0;
    float expected_grad[6], per_sample[2];
    st_tensor *logits = leaf(logits_values, logits_shape, 2), *target = i64(targets, target_shape, 1);
    st_tensor *ignored = i64(first_ignored, target_shape, 1), *loss = NULL;
    int k;
    REQUIRE(logits && target && ignored, "inputs");
    for (k = 0; k < 3; k++) {
        expected_grad[k] = (float)((1.0 / 3 - (k == 1)) / 2);
        expected_grad[3 + k] = (float)((exp(k + 1.0) / total - (k == 2)) / 2);
    }
    per_sample[0] = (float)l0;
    per_sample[1] = (float)l1;
    if (CHECK_OK(st_cross_entropy(&loss, logits, target, NULL, -100, ST_REDUCTION_NONE, 0))) {
        shape_is(track(loss), target_shape, 1, "cross_entropy, reduction none");
        values_are(loss, per_sample, 2, 1e-6, "cross_entropy, reduction none");
    }
    if (CHECK_OK(st_cross_entropy(&loss, logits, target, NULL, -100, ST_REDUCTION_SUM, 0)))
        CHECK(fabs(item(track(loss)) - (l0 + l1)) < 1e-5, "sum = %.9g, expected %.9g",
              item(loss), l0 + l1);
    /* ignore_index: the ignored sample takes no part in the mean. */
    if (CHECK_OK(st_cross_entropy(&loss, logits, ignored, NULL, -100, ST_REDUCTION_MEAN, 0)))
        CHECK(fabs(item(track(loss)) - l1) < 1e-5, "mean with sample 0 ignored = %.9g, expected "
              "%.9g", item(loss), l1);
    REQUIRE_OK(st_cross_entropy(&loss, logits, target, NULL, -100, ST_REDUCTION_MEAN, 0));
    track(loss);
    CHECK(fabs(item(loss) - (l0 + l1) / 2) < 1e-5, "mean = %.9g, expected %.9g", item(loss),
          (l0 + l1) / 2);
    REQUIRE_OK(st_tensor_backward(loss, NULL));
    grad_is(logits, expected_grad, 6, 1e-6, "d cross_entropy / d logits");
done:
    free_tracked();
}

/* ---- named tensors and state dicts ------------------------------------------------------- */

static void test_named_tensors_round_trip(void) {
    const float first_values[2] = {1, 2}, second_values[3] = {3, 4, 5};
    const int64_t two[1] = {2}, three[1] = {3};
    st_named_tensors *list = NULL;
    st_tensor *first = NULL, *second = NULL, *got = NULL;
    const char *name = NULL;
    char name_buffer[16] = "alpha";
    void *first_memory = NULL, *got_memory = NULL;
    REQUIRE_OK(st_named_tensors_create(&list));
    CHECK(st_named_tensors_count(list) == 0, "a new list has %zu entries",
          st_named_tensors_count(list));
    REQUIRE_OK(st_tensor_create(&first, first_values, two, 1, ST_FLOAT32, ST_DATA_COPY));
    REQUIRE_OK(st_tensor_create(&second, second_values, three, 1, ST_FLOAT32, ST_DATA_COPY));
    REQUIRE_OK(st_tensor_data(&first_memory, first));
    REQUIRE_OK(st_named_tensors_add(list, name_buffer, first));
    REQUIRE_OK(st_named_tensors_add(list, "beta", second));
    /* The list copied the name and keeps its own references. */
    strcpy(name_buffer, "XXXXX");
    st_tensor_free(first);
    st_tensor_free(second);
    first = second = NULL;
    CHECK(st_named_tensors_count(list) == 2, "count %zu, expected 2",
          st_named_tensors_count(list));
    if (CHECK_OK(st_named_tensors_entry(&name, &got, list, 0))) {
        track(got);
        CHECK(name && strcmp(name, "alpha") == 0, "entry 0 is named \"%s\"", name ? name : "");
        values_are(got, first_values, 2, 0, "entry 0");
        /* It is the tensor that was added, not a copy. */
        if (CHECK_OK(st_tensor_data(&got_memory, got)))
            CHECK(got_memory == first_memory, "entry 0 does not share the added tensor's memory");
    }
    if (CHECK_OK(st_named_tensors_entry(&name, &got, list, 1))) {
        track(got);
        CHECK(name && strcmp(name, "beta") == 0, "entry 1 is named \"%s\"", name ? name : "");
        shape_is(got, three, 1, "entry 1");
        values_are(got, second_values, 3, 0, "entry 1");
    }
done:
    st_tensor_free(first);
    st_tensor_free(second);
    st_named_tensors_free(list);
    free_tracked();
}

/* Linear(4, 3) - BatchNorm1d(3) - ReLU - Linear(3, 2), from a given seed. */
static st_module *make_mlp(uint64_t seed) {
    st_module *layers[4] = {NULL, NULL, NULL, NULL}, *model = NULL;
    int i;
    st_manual_seed(seed);
    if (CHECK_OK(st_linear_create(&layers[0], 4, 3, true)) &&
        CHECK_OK(st_batch_norm1d_create(&layers[1], 3, 1e-5f, 0.1f, true, true)) &&
        CHECK_OK(st_relu_create(&layers[2])) && CHECK_OK(st_linear_create(&layers[3], 3, 2, true)))
        CHECK_OK(st_sequential_create(&model, layers, 4));
    for (i = 0; i < 4; i++) st_module_free(layers[i]);
    return model;
}

static void test_state_dict_round_trip(void) {
    static const char *const parameter_names[6] = {"0.weight", "0.bias", "1.weight",
                                                   "1.bias",   "3.weight", "3.bias"};
    static const char *const state_names[8] = {"0.weight", "0.bias",        "1.weight",
                                               "1.bias",   "1.running_mean", "1.running_var",
                                               "3.weight", "3.bias"};
    const int64_t x_shape[2] = {5, 4};
    st_module *a = make_mlp(1), *b = make_mlp(2);
    st_named_tensors *state = NULL, *parameters = NULL;
    st_tensor *x = NULL, *ya = NULL, *yb = NULL, *ya2 = NULL, *yb2 = NULL, *w = NULL;
    float *w_memory = NULL;
    size_t i;
    REQUIRE(a && b, "models");
    REQUIRE_OK(st_tensor_uniform(&x, x_shape, 2, -1, 1, 3));
    track(x);
    /* One training-mode forward moves A's running statistics away from their defaults. */
    REQUIRE_OK(st_module_train(a, true));
    REQUIRE_OK(st_module_forward(&ya, a, x));
    track(ya);
    REQUIRE_OK(st_module_train(a, false));
    REQUIRE_OK(st_module_train(b, false));

    REQUIRE_OK(st_module_named_parameters(&parameters, a));
    if (CHECK(st_named_tensors_count(parameters) == 6, "%zu named parameters, expected 6",
              st_named_tensors_count(parameters)))
        for (i = 0; i < 6; i++) {
            const char *name = NULL;
            st_tensor *t = NULL;
            if (CHECK_OK(st_named_tensors_entry(&name, &t, parameters, i)))
                CHECK(strcmp(name, parameter_names[i]) == 0, "parameter %zu is \"%s\", expected "
                      "\"%s\"", i, name, parameter_names[i]);
            st_tensor_free(t);
        }
    REQUIRE_OK(st_module_state_dict(&state, a));
    CHECK(st_named_tensors_count(state) >= 8, "the state dict has %zu entries, expected at least "
          "the 6 parameters and 2 running statistics", st_named_tensors_count(state));
    for (i = 0; i < 8; i++) named_entry(state, state_names[i]);

    REQUIRE_OK(st_module_forward(&ya, a, x));
    track(ya);
    REQUIRE_OK(st_module_forward(&yb, b, x));
    track(yb);
    CHECK(max_difference(ya, yb, 10) > 1e-3, "models from seeds 1 and 2 agree before loading");
    REQUIRE_OK(st_module_load_state_dict(b, state, true));
    REQUIRE_OK(st_module_forward(&yb, b, x));
    track(yb);
    CHECK(max_difference(ya, yb, 10) == 0, "after loading A's state dict, B's outputs differ "
          "from A's by %g", max_difference(ya, yb, 10));

    /* Named parameters share memory with the module; the load copied values into B. */
    w = named_entry(parameters, "0.weight");
    REQUIRE(w != NULL, "0.weight");
    REQUIRE_OK(st_tensor_data((void **)&w_memory, w));
    w_memory[0] += 1.0f;
    REQUIRE_OK(st_module_forward(&ya2, a, x));
    track(ya2);
    REQUIRE_OK(st_module_forward(&yb2, b, x));
    track(yb2);
    CHECK(max_difference(ya, ya2, 10) > 1e-4, "writing A's 0.weight through its named parameter "
          "did not change A's output");
    CHECK(max_difference(yb, yb2, 10) == 0, "writing A's 0.weight changed B's output: the state "
          "dict load shared memory instead of copying");
done:
    st_named_tensors_free(parameters);
    st_named_tensors_free(state);
    st_module_free(a);
    st_module_free(b);
    free_tracked();
}

/* ---- module modes ------------------------------------------------------------------------ */

static void test_train_false_disables_dropout(void) {
    const int64_t shape[1] = {1000}, batch[2] = {4, 8};
    st_module *dropout = NULL, *layers[2] = {NULL, NULL}, *model = NULL;
    st_tensor *ones = NULL, *y = NULL, *x = NULL, *y1 = NULL, *y2 = NULL;
    float values[1000];
    size_t i, zeros = 0, doubled = 0;
    REQUIRE_OK(st_tensor_full(&ones, shape, 1, 1.0f));
    track(ones);
    REQUIRE_OK(st_dropout_create(&dropout, 0.5f));
    /* Training: elements are zeroed or scaled by 1 / (1 - p) = 2. */
    REQUIRE_OK(st_module_train(dropout, true));
    REQUIRE_OK(st_module_forward(&y, dropout, ones));
    track(y);
    if (read_f32(values, 1000, y, "dropout in training")) {
        for (i = 0; i < 1000; i++) {
            zeros += values[i] == 0.0f;
            doubled += values[i] == 2.0f;
        }
        CHECK(zeros + doubled == 1000, "dropout(0.5) in training gave values other than 0 and 2");
        CHECK(zeros > 350 && zeros < 650, "dropout(0.5) zeroed %zu of 1000", zeros);
    }
    /* Evaluation: the identity. */
    REQUIRE_OK(st_module_train(dropout, false));
    REQUIRE_OK(st_module_forward(&y, dropout, ones));
    track(y);
    CHECK(max_difference(y, ones, 1000) == 0, "dropout after st_module_train(false) is not the "
          "identity");

    /* The mode reaches the children of a container. */
    st_manual_seed(5);
    REQUIRE_OK(st_linear_create(&layers[0], 8, 8, true));
    REQUIRE_OK(st_dropout_create(&layers[1], 0.5f));
    REQUIRE_OK(st_sequential_create(&model, layers, 2));
    REQUIRE_OK(st_tensor_uniform(&x, batch, 2, -1, 1, 11));
    track(x);
    REQUIRE_OK(st_module_train(model, true));
    REQUIRE_OK(st_module_forward(&y1, model, x));
    track(y1);
    REQUIRE_OK(st_module_forward(&y2, model, x));
    track(y2);
    CHECK(max_difference(y1, y2, 32) > 0, "two training-mode forwards through dropout agree");
    REQUIRE_OK(st_module_train(model, false));
    REQUIRE_OK(st_module_forward(&y1, model, x));
    track(y1);
    REQUIRE_OK(st_module_forward(&y2, model, x));
    track(y2);
    CHECK(max_difference(y1, y2, 32) == 0, "Sequential(Linear, Dropout) after "
          "st_module_train(false) still drops");
done:
    st_module_free(model);
    for (i = 0; i < 2; i++) st_module_free(layers[i]);
    st_module_free(dropout);
    free_tracked();
}

/* ---- convolution, pooling, a CNN --------------------------------------------------------- */

static void test_conv_and_pool_values(void) {
    st_tensor *nine = NULL, *x = NULL, *w = NULL, *b = NULL, *y = NULL, *sixteen = NULL, *p = NULL;
    const int64_t x_shape[4] = {1, 1, 3, 3}, w_shape[4] = {1, 1, 2, 2}, one[1] = {1};
    const int64_t y_shape[4] = {1, 1, 2, 2}, grid_shape[4] = {1, 1, 4, 4};
    const float ones[4] = {1, 1, 1, 1}, half[1] = {0.5f};
    st_pool2d_options pool;
    st_conv2d_options conv;
    REQUIRE_OK(st_tensor_arange(&nine, 0, 9, 1, ST_FLOAT32));
    track(nine);
    REQUIRE_OK(st_reshape(&x, nine, x_shape, 4));
    track(x);
    w = f32(ones, w_shape, 4);
    b = f32(half, one, 1);
    REQUIRE(w && b, "weights");
    /* 2x2 windows of [[0, 1, 2], [3, 4, 5], [6, 7, 8]], summed, plus 0.5. */
    if (CHECK_OK(st_conv2d(&y, x, w, b, NULL))) {
        const float expected[4] = {8.5f, 12.5f, 20.5f, 24.5f};
        shape_is(track(y), y_shape, 4, "conv2d");
        values_are(y, expected, 4, 0, "conv2d");
    }
    /* Padding 1, stride 2, no bias: windows at (-1, -1), (-1, 1), (1, -1), (1, 1). */
    st_conv2d_options_init(&conv);
    CHECK(conv.stride[0] == 1 && conv.stride[1] == 1 && conv.padding[0] == 0 &&
          conv.dilation[0] == 1 && conv.groups == 1, "st_conv2d_options_init defaults");
    conv.padding[0] = conv.padding[1] = 1;
    conv.stride[0] = conv.stride[1] = 2;
    if (CHECK_OK(st_conv2d(&y, x, w, NULL, &conv))) {
        const float expected[4] = {0, 1 + 2, 3 + 6, 4 + 5 + 7 + 8};
        shape_is(track(y), y_shape, 4, "conv2d, padding 1, stride 2");
        values_are(y, expected, 4, 0, "conv2d, padding 1, stride 2");
    }
    /* Two groups of one channel: x = [1, 2] (1x1 images), w = [3, 5] gives [3, 10]. */
    {
        const float gx[2] = {1, 2}, gw[2] = {3, 5}, expected[2] = {3, 10};
        const int64_t gx_shape[4] = {1, 2, 1, 1}, gw_shape[4] = {2, 1, 1, 1};
        st_tensor *grouped_x = f32(gx, gx_shape, 4), *grouped_w = f32(gw, gw_shape, 4);
        st_conv2d_options_init(&conv);
        conv.groups = 2;
        if (grouped_x && grouped_w && CHECK_OK(st_conv2d(&y, grouped_x, grouped_w, NULL, &conv)))
            values_are(track(y), expected, 2, 0, "grouped conv2d");
    }
    /* Pooling 2x2 over [[0..3], [4..7], [8..11], [12..15]]. */
    REQUIRE_OK(st_tensor_arange(&sixteen, 0, 16, 1, ST_FLOAT32));
    track(sixteen);
    REQUIRE_OK(st_reshape(&x, sixteen, grid_shape, 4));
    track(x);
    st_pool2d_options_init(&pool, 2, 2);
    CHECK(pool.kernel[0] == 2 && pool.kernel[1] == 2 && pool.stride[0] == 0 &&
          pool.padding[0] == 0 && pool.dilation[0] == 1 && !pool.ceil_mode &&
          pool.count_include_pad && pool.divisor_override == 0, "st_pool2d_options_init defaults");
    if (CHECK_OK(st_max_pool2d(&p, x, &pool))) {
        const float expected[4] = {5, 7, 13, 15};
        shape_is(track(p), y_shape, 4, "max_pool2d");
        values_are(p, expected, 4, 0, "max_pool2d");
    }
    if (CHECK_OK(st_avg_pool2d(&p, x, &pool))) {
        const float expected[4] = {2.5f, 4.5f, 10.5f, 12.5f};
        values_are(track(p), expected, 4, 0, "avg_pool2d");
    }
done:
    free_tracked();
}

/* Conv2d(1, 4, 3, padding 1) - ReLU - MaxPool2d(2) - Flatten - Linear(64, 10). */
static st_module *make_cnn(void) {
    st_module *layers[5] = {NULL, NULL, NULL, NULL, NULL}, *model = NULL;
    st_conv2d_options conv;
    st_pool2d_options pool;
    int i;
    st_conv2d_options_init(&conv);
    conv.padding[0] = conv.padding[1] = 1;
    st_pool2d_options_init(&pool, 2, 2);
    st_manual_seed(21);
    if (CHECK_OK(st_conv2d_create(&layers[0], 1, 4, 3, 3, &conv, true)) &&
        CHECK_OK(st_relu_create(&layers[1])) && CHECK_OK(st_max_pool2d_create(&layers[2], &pool)) &&
        CHECK_OK(st_flatten_create(&layers[3], 1, -1)) &&
        CHECK_OK(st_linear_create(&layers[4], 4 * 4 * 4, 10, true)))
        CHECK_OK(st_sequential_create(&model, layers, 5));
    for (i = 0; i < 5; i++) st_module_free(layers[i]);
    return model;
}

static void test_cnn_forward(void) {
    const int64_t x_shape[4] = {2, 1, 8, 8}, out_shape[2] = {2, 10};
    const int64_t conv_weight_shape[4] = {4, 1, 3, 3};
    st_module *model = make_cnn();
    st_named_tensors *parameters = NULL;
    st_tensor *x = NULL, *y = NULL, *c = NULL, *r = NULL, *p = NULL, *f = NULL, *z = NULL;
    st_tensor *s = NULL, *w0 = NULL, *b0 = NULL, *w4 = NULL, *b4 = NULL;
    st_conv2d_options conv;
    st_pool2d_options pool;
    int64_t count = 0;
    REQUIRE(model != NULL, "model");
    if (CHECK_OK(st_module_num_parameters(&count, model)))
        CHECK(count == 4 * 9 + 4 + 64 * 10 + 10, "%lld parameters, expected 690",
              (long long)count);
    REQUIRE_OK(st_tensor_uniform(&x, x_shape, 4, 0, 1, 5));
    track(x);
    REQUIRE_OK(st_module_forward(&y, model, x));
    track(y);
    shape_is(y, out_shape, 2, "CNN output");

    /* The same computation through the functional API and the module's own parameters. */
    REQUIRE_OK(st_module_named_parameters(&parameters, model));
    w0 = named_entry(parameters, "0.weight");
    b0 = named_entry(parameters, "0.bias");
    w4 = named_entry(parameters, "4.weight");
    b4 = named_entry(parameters, "4.bias");
    REQUIRE(w0 && b0 && w4 && b4, "parameters 0.weight, 0.bias, 4.weight, 4.bias");
    shape_is(w0, conv_weight_shape, 4, "0.weight");
    st_conv2d_options_init(&conv);
    conv.padding[0] = conv.padding[1] = 1;
    st_pool2d_options_init(&pool, 2, 2);
    REQUIRE_OK(st_conv2d(&c, x, w0, b0, &conv));
    track(c);
    REQUIRE_OK(st_relu(&r, c));
    track(r);
    REQUIRE_OK(st_max_pool2d(&p, r, &pool));
    track(p);
    REQUIRE_OK(st_flatten(&f, p, 1, -1));
    track(f);
    REQUIRE_OK(st_linear(&z, f, w4, b4));
    track(z);
    CHECK(max_difference(y, z, 20) < 1e-5, "the module and the functional ops differ by %g",
          max_difference(y, z, 20));

    /* Gradients reach the first layer's weight. */
    REQUIRE_OK(st_sum(&s, y, NULL, 0, false));
    track(s);
    REQUIRE_OK(st_tensor_backward(s, NULL));
    {
        st_tensor *grad = NULL;
        if (CHECK_OK(st_tensor_grad(&grad, w0)) &&
            CHECK(grad != NULL, "0.weight has no gradient after backward")) {
            float g[36];
            size_t i, nonzero = 0;
            shape_is(grad, conv_weight_shape, 4, "0.weight gradient");
            if (read_f32(g, 36, grad, "0.weight gradient"))
                for (i = 0; i < 36; i++) nonzero += g[i] != 0.0f;
            CHECK(nonzero > 0, "the conv weight gradient is all zeros");
        }
        st_tensor_free(grad);
    }
done:
    st_named_tensors_free(parameters);
    st_module_free(model);
    free_tracked();
}

/* A dataset of 8x8 images read as [1, 8, 8] samples feeds a CNN. */
static void test_dataset_sample_shape(void) {
    static float images[4 * 64];
    const int64_t labels[4] = {0, 1, 2, 3}, sample_shape[3] = {1, 8, 8};
    st_module *model = make_cnn();
    st_dataset *data = NULL;
    st_training_args args;
    st_trainer *trainer = NULL;
    st_metrics *metrics = NULL;
    int64_t outputs = 0;
    float logits[4 * 10];
    size_t i;
    for (i = 0; i < 4 * 64; i++) images[i] = (float)(i % 17) / 16.0f;
    REQUIRE(model != NULL, "model");
    REQUIRE_OK(st_dataset_create(&data, images, 4, 64, labels, ST_DATA_COPY));
    REQUIRE_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION));
    args.per_device_train_batch_size = 2;
    args.num_train_epochs = 1;
    REQUIRE_OK(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args));
    /* Rows of 64 features do not fit a convolution: refused with a reason. */
    CHECK(st_trainer_num_outputs(&outputs, trainer, data) != ST_OK,
          "a CNN accepted flat 64-feature samples");
    REQUIRE_OK(st_dataset_set_sample_shape(data, sample_shape, 3));
    if (CHECK_OK(st_trainer_num_outputs(&outputs, trainer, data)))
        CHECK(outputs == 10, "the CNN has %lld outputs per sample, expected 10",
              (long long)outputs);
    REQUIRE_OK(st_trainer_set_train_dataset(trainer, data));
    CHECK_OK(st_trainer_train(&metrics, trainer));
    CHECK_OK(st_trainer_predict(logits, 40, NULL, trainer, data));
done:
    st_metrics_free(metrics);
    st_trainer_free(trainer);
    st_dataset_free(data);
    st_module_free(model);
}

/* ---- attention --------------------------------------------------------------------------- */

/* A causal mask for 4 positions: true above the diagonal (may not attend), as bool or as a
 * float mask (-inf above the diagonal). */
static void causal_masks(st_tensor **as_bool, st_tensor **as_float) {
    uint8_t flags[16];
    float added[16];
    const int64_t shape[2] = {4, 4};
    int i, j;
    for (i = 0; i < 4; i++)
        for (j = 0; j < 4; j++) {
            flags[i * 4 + j] = j > i;
            added[i * 4 + j] = j > i ? -INFINITY : 0.0f;
        }
    *as_bool = NULL;
    *as_float = NULL;
    if (CHECK_OK(st_tensor_create(as_bool, flags, shape, 2, ST_BOOL, ST_DATA_COPY))) track(*as_bool);
    *as_float = f32(added, shape, 2);
}

/* Largest difference between rows [first, last) of two [1, 4, 8] outputs. */
static double row_difference(const st_tensor *a, const st_tensor *b, int first, int last) {
    float x[32], y[32];
    double worst = 0;
    int i;
    if (!read_f32(x, 32, a, "a") || !read_f32(y, 32, b, "b")) return INFINITY;
    for (i = first * 8; i < last * 8; i++)
        if (fabs((double)x[i] - (double)y[i]) > worst) worst = fabs((double)x[i] - (double)y[i]);
    return worst;
}

static void test_attention_with_causal_mask(void) {
    const int64_t x_shape[3] = {1, 4, 8};
    st_transformer_options options;
    st_module *layer = NULL, *mha = NULL;
    st_tensor *x = NULL, *x2 = NULL, *mask = NULL, *float_mask = NULL;
    st_tensor *y = NULL, *y2 = NULL, *y_float = NULL, *y_hint = NULL, *unmasked = NULL;
    st_tensor *plain = NULL, *weights = NULL, *attended = NULL;
    float values[32];
    int i, j;
    st_transformer_options_init(&options, 8, 2);
    CHECK(options.d_model == 8 && options.nhead == 2 && options.dim_feedforward == 2048 &&
          fabsf(options.dropout - 0.1f) < 1e-7f && options.activation == ST_ACTIVATION_RELU &&
          fabsf(options.layer_norm_eps - 1e-5f) < 1e-10f && !options.batch_first &&
          !options.norm_first && options.bias, "st_transformer_options_init defaults");
    options.dim_feedforward = 16;
    options.batch_first = true;
    st_manual_seed(4);
    REQUIRE_OK(st_transformer_encoder_layer_create(&layer, &options));
    REQUIRE_OK(st_module_train(layer, false)); /* dropout 0.1 off */
    causal_masks(&mask, &float_mask);
    REQUIRE(mask && float_mask, "masks");
    REQUIRE_OK(st_tensor_normal(&x, x_shape, 3, 0, 1, 3));
    track(x);
    /* x2: x with the last position changed. */
    REQUIRE_OK(st_tensor_copy_to(values, sizeof values, x));
    for (i = 24; i < 32; i++) values[i] += 1.0f;
    x2 = f32(values, x_shape, 3);
    REQUIRE(x2 != NULL, "x2");

    REQUIRE_OK(st_attention_forward(&y, NULL, layer, x, NULL, NULL, mask, false));
    track(y);
    shape_is(y, x_shape, 3, "encoder layer output");
    REQUIRE_OK(st_attention_forward(&y2, NULL, layer, x2, NULL, NULL, mask, false));
    track(y2);
    /* With the causal mask, positions 0..2 cannot see position 3. */
    CHECK(row_difference(y, y2, 0, 3) < 1e-5, "changing the last position changed earlier "
          "outputs by %g under a causal mask", row_difference(y, y2, 0, 3));
    CHECK(row_difference(y, y2, 3, 4) > 1e-3, "changing the last position did not change its "
          "own output");
    /* Without a mask they can. */
    REQUIRE_OK(st_attention_forward(&unmasked, NULL, layer, x2, NULL, NULL, NULL, false));
    track(unmasked);
    CHECK(row_difference(y, unmasked, 0, 3) > 1e-3, "the mask made no difference to positions "
          "0..2");
    /* Without a mask, attention_forward is the module's forward. */
    REQUIRE_OK(st_module_forward(&plain, layer, x2));
    track(plain);
    CHECK(max_difference(plain, unmasked, 32) < 1e-6, "st_module_forward and "
          "st_attention_forward without a mask differ by %g", max_difference(plain, unmasked, 32));
    /* The float mask (-inf above the diagonal) means the same. */
    if (CHECK_OK(st_attention_forward(&y_float, NULL, layer, x, NULL, NULL, float_mask, false)))
        CHECK(max_difference(track(y_float), y, 32) < 1e-5, "float and bool causal masks differ "
              "by %g", max_difference(y_float, y, 32));
    /* is_causal with the causal mask is a correct hint: same result. */
    if (CHECK_OK(st_attention_forward(&y_hint, NULL, layer, x, NULL, NULL, mask, true)))
        CHECK(max_difference(track(y_hint), y, 32) < 1e-5, "is_causal with the causal mask "
              "changed the output by %g", max_difference(y_hint, y, 32));

    /* MultiheadAttention returns the weights averaged over heads: rows sum to 1 and nothing
     * above the diagonal. */
    st_manual_seed(6);
    REQUIRE_OK(st_multihead_attention_create(&mha, 8, 2, 0.0f, true, true));
    if (CHECK_OK(st_attention_forward(&attended, &weights, mha, x, NULL, NULL, mask, false))) {
        const int64_t weights_shape[3] = {1, 4, 4};
        float w[16];
        track(attended);
        track(weights);
        shape_is(attended, x_shape, 3, "multi-head attention output");
        if (shape_is(weights, weights_shape, 3, "attention weights") &&
            read_f32(w, 16, weights, "attention weights"))
            for (i = 0; i < 4; i++) {
                double sum = 0;
                for (j = 0; j < 4; j++) {
                    sum += w[i * 4 + j];
                    if (j > i)
                        CHECK(w[i * 4 + j] == 0.0f, "weight [%d, %d] = %g above the diagonal", i,
                              j, (double)w[i * 4 + j]);
                }
                CHECK(fabs(sum - 1) < 1e-5, "attention weights of row %d sum to %g", i, sum);
            }
    }
done:
    st_module_free(mha);
    st_module_free(layer);
    free_tracked();
}

int main(int argc, char **argv) {
    /* ctest registers one test per entry (Tests/c/CMakeLists.txt reads this table). */
    static const test_case cases[] = {
        {"create_copy_and_borrow", test_create_copy_and_borrow},
        {"create_other_dtypes_and_scalars", test_create_other_dtypes_and_scalars},
        {"queries_copy_to_and_data", test_queries_copy_to_and_data},
        {"factories", test_factories},
        {"linear_relu_sum_graph", test_linear_relu_sum_graph},
        {"matmul_broadcast_mean_graph", test_matmul_broadcast_mean_graph},
        {"elementwise_graph", test_elementwise_graph},
        {"gradient_accumulation", test_gradient_accumulation},
        {"grad_enabled_switch", test_grad_enabled_switch},
        {"detach", test_detach},
        {"split_and_chunk", test_split_and_chunk},
        {"comparisons_are_bool", test_comparisons_are_bool},
        {"max_dim_indices_are_int64", test_max_dim_indices_are_int64},
        {"cross_entropy_by_hand", test_cross_entropy_by_hand},
        {"named_tensors_round_trip", test_named_tensors_round_trip},
        {"state_dict_round_trip", test_state_dict_round_trip},
        {"train_false_disables_dropout", test_train_false_disables_dropout},
        {"conv_and_pool_values", test_conv_and_pool_values},
        {"cnn_forward", test_cnn_forward},
        {"dataset_sample_shape", test_dataset_sample_shape},
        {"attention_with_causal_mask", test_attention_with_causal_mask},
    };
    return run_test_cases(cases, sizeof cases / sizeof cases[0], argc, argv);
}
