/* Views and copies, retained graphs, topk and gradient clipping through the C API: a slice of
 * one contiguous block shares memory (a write through st_tensor_data reaches the original); a
 * strided slice, a transpose and an expansion are copies that st_tensor_check_writable refuses
 * with a message; st_tensor_backward_retain keeps the graph for a second pass; st_topk and
 * st_clip_grad_norm / st_clip_grad_value give torch's numbers (worked out by hand below), and
 * their bad arguments are statuses. */
#include "check.h"
#include "swifttrain.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A [2, 3] float32 tensor 1..6 (a leaf). */
static st_tensor *matrix(void) {
    const float values[6] = {1, 2, 3, 4, 5, 6};
    const int64_t shape[2] = {2, 3};
    st_tensor *t = NULL;
    CHECK_OK(st_tensor_create(&t, values, shape, 2, ST_FLOAT32, ST_DATA_COPY));
    return track(t);
}

static void test_views_and_copies(void) {
    st_tensor *t = matrix(), *row = NULL, *column = NULL, *transposed = NULL, *expanded = NULL;
    const int64_t wide[3] = {2, 2, 3};
    float *data = NULL, check[6];
    REQUIRE(t != NULL, "input");
    REQUIRE_OK(st_select(&row, t, 0, 1)); /* t[1]: a view */
    track(row);
    CHECK_OK(st_tensor_check_writable(row));
    REQUIRE_OK(st_tensor_data((void **)&data, row));
    data[2] = 60;
    REQUIRE_OK(st_tensor_copy_to(check, sizeof check, t));
    CHECK(check[5] == 60, "a write into t[1] did not reach t: t[1][2] = %g", (double)check[5]);
    REQUIRE_OK(st_select(&column, t, 1, 0)); /* t[:, 0]: a copy */
    track(column);
    if (CHECK_ERROR(st_tensor_check_writable(column), ST_EMISUSE, "copy of")) MESSAGE_HAS("clone()");
    REQUIRE_OK(st_transpose(&transposed, t, 0, 1));
    track(transposed);
    if (CHECK_ERROR(st_tensor_check_writable(transposed), ST_EMISUSE, "permutation")) MESSAGE_HAS("[1, 0]");
    {
        st_tensor *unsqueezed = NULL;
        REQUIRE_OK(st_unsqueeze(&unsqueezed, t, 0));
        track(unsqueezed);
        CHECK_OK(st_tensor_check_writable(unsqueezed));
        REQUIRE_OK(st_expand(&expanded, unsqueezed, wide, 3));
        track(expanded);
        CHECK_ERROR(st_tensor_check_writable(expanded), ST_EMISUSE, "expansion");
    }
    CHECK_ERROR(st_tensor_check_writable(NULL), ST_EINVAL, "tensor");
done:
    free_tracked();
}

static void test_backward_retain(void) {
    st_tensor *w = requiring_grad(matrix()), *y = NULL, *s = NULL, *grad = NULL;
    float g[6];
    REQUIRE(w != NULL, "input");
    REQUIRE_OK(st_mul(&y, w, w));
    track(y);
    REQUIRE_OK(st_sum(&s, y, NULL, 0, false));
    track(s);
    CHECK_OK(st_tensor_backward_retain(s, NULL, true));
    CHECK_OK(st_tensor_backward_retain(s, NULL, false)); /* the graph was kept once */
    CHECK_ERROR(st_tensor_backward_retain(s, NULL, false), ST_EMISUSE, "retain_graph");
    REQUIRE_OK(st_tensor_grad(&grad, w));
    track(grad);
    REQUIRE_OK(st_tensor_copy_to(g, sizeof g, grad));
    CHECK(g[0] == 4 && g[5] == 24, "two passes of d(sum w^2)/dw = 2w each: got %g and %g", (double)g[0],
          (double)g[5]);
    CHECK_ERROR(st_tensor_backward_retain(NULL, NULL, true), ST_EINVAL, "tensor");
done:
    free_tracked();
}

static void test_topk(void) {
    st_tensor *t = matrix(), *values = NULL, *indices = NULL;
    float v[4];
    int64_t ix[4];
    REQUIRE(t != NULL, "input");
    REQUIRE_OK(st_topk(&values, &indices, t, 2, 1, false, true)); /* two smallest per row */
    track(values);
    track(indices);
    REQUIRE_OK(st_tensor_copy_to(v, sizeof v, values));
    REQUIRE_OK(st_tensor_copy_to(ix, sizeof ix, indices));
    CHECK(v[0] == 1 && v[1] == 2 && v[2] == 4 && v[3] == 5, "values %g %g %g %g", (double)v[0], (double)v[1],
          (double)v[2], (double)v[3]);
    CHECK(ix[0] == 0 && ix[1] == 1 && ix[2] == 0 && ix[3] == 1, "indices");
    values = indices = t;
    CHECK_ERROR(st_topk(&values, &indices, t, 4, 1, true, true), ST_ESHAPE, "k (4)");
    CHECK(values == NULL && indices == NULL, "a failed st_topk left its outputs set");
    CHECK_ERROR(st_topk(&values, &indices, t, -1, 1, true, true), ST_EINVAL, "k");
    CHECK_ERROR(st_topk(NULL, &indices, t, 1, 1, true, true), ST_EINVAL, "out_values");
done:
    free_tracked();
}

static void test_clip_grad(void) {
    st_tensor *w = requiring_grad(matrix()), *s = NULL, *grad = NULL;
    st_tensor *params[1];
    double norm = 0;
    float g[6];
    REQUIRE(w != NULL, "input");
    params[0] = w;
    REQUIRE_OK(st_sum(&s, w, NULL, 0, false)); /* every gradient 1: the 2-norm is sqrt(6) */
    track(s);
    REQUIRE_OK(st_tensor_backward(s, NULL));
    REQUIRE_OK(st_clip_grad_norm(&norm, params, 1, 1.0, 2.0, false));
    CHECK(fabs(norm - sqrt(6.0)) < 1e-12, "norm %g, expected sqrt(6)", norm);
    REQUIRE_OK(st_tensor_grad(&grad, w));
    track(grad);
    REQUIRE_OK(st_tensor_copy_to(g, sizeof g, grad));
    CHECK(fabs(g[3] - 1 / (sqrt(6.0) + 1e-6)) < 1e-7, "clipped gradient %g", (double)g[3]);
    REQUIRE_OK(st_clip_grad_value(params, 1, 0.25));
    REQUIRE_OK(st_tensor_copy_to(g, sizeof g, grad));
    CHECK(g[0] == 0.25f, "clip_grad_value: %g", (double)g[0]);
    REQUIRE_OK(st_clip_grad_norm(&norm, params, 1, 1.0, INFINITY, false));
    CHECK(norm == 0.25, "inf-norm %g", norm);
    CHECK_OK(st_clip_grad_norm(&norm, NULL, 0, 1.0, 2.0, false));
    CHECK(norm == 0, "the norm of no gradients is %g", norm);
    CHECK_ERROR(st_clip_grad_norm(&norm, params, 1, 1.0, -1, false), ST_EINVAL, "norm_type");
    CHECK_ERROR(st_clip_grad_norm(NULL, params, 1, 1.0, 2.0, false), ST_EINVAL, "out_norm");
    CHECK_ERROR(st_clip_grad_norm(&norm, NULL, 1, 1.0, 2.0, false), ST_EINVAL, "tensors");
    CHECK_ERROR(st_clip_grad_value(params, 1, -1), ST_EINVAL, "clip_value");
done:
    free_tracked();
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"views_and_copies", test_views_and_copies},
        {"backward_retain", test_backward_retain},
        {"topk", test_topk},
        {"clip_grad", test_clip_grad},
    };
    return run_test_cases(cases, sizeof cases / sizeof cases[0], argc, argv);
}
