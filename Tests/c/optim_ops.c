/* The optimizer and schedule section of the C API ("Optimizers and learning-rate schedules"),
 * used from a loop written by hand: PyTorch's default hyper-parameters per kind, update rules
 * checked against trajectories worked out by hand below, parameter groups, the state dict and
 * a save -> load round trip, HF's schedule formulas and ReduceLROnPlateau.
 *
 * Gradients are set exactly: loss = sum(w * c) has d(loss)/dw = c, whatever w is, so every
 * step sees the same gradient c. Values are chosen to be exact in float32 where the update
 * rule allows (lr 0.25, gradients 1, 2, -4, 0.5); where it does not (momentum 0.9, Adam's
 * square roots) the tolerance is stated at the check. */
#include "check.h"
#include "swifttrain.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- helpers ----------------------------------------------------------------------------- */

/* A 1-D float32 tensor copied from values[0..n); a parameter (requires grad) when `param`. */
static st_tensor *vec(const float *values, int64_t n, bool param) {
    st_tensor *t = NULL;
    if (!CHECK_OK(st_tensor_create(&t, values, &n, 1, ST_FLOAT32, ST_DATA_COPY))) return NULL;
    if (param) CHECK_OK(st_tensor_set_requires_grad(t, true));
    return track(t);
}

/* Gives `param` the gradient c (adds c to it): backward of sum(param * c). */
static int set_grad(st_tensor *param, st_tensor *c) {
    st_tensor *product = NULL, *loss = NULL;
    int ok = CHECK_OK(st_mul(&product, param, c)) &&
             CHECK_OK(st_sum(&loss, product, NULL, 0, false)) &&
             CHECK_OK(st_tensor_backward(loss, NULL));
    st_tensor_free(loss);
    st_tensor_free(product);
    return ok;
}

/* Copies exactly n float32 values out of t. */
static int read_values(float *out, size_t n, const st_tensor *t, const char *what) {
    int64_t numel = -1;
    if (!CHECK(t != NULL, "%s: no tensor", what) || !CHECK_OK(st_tensor_numel(&numel, t)) ||
        !CHECK(numel == (int64_t)n, "%s: %lld elements, expected %zu", what, (long long)numel,
               n))
        return 0;
    return CHECK_OK(st_tensor_copy_to(out, n * sizeof(float), t));
}

/* Checks t's values against expected[0..n) to within `tolerance` (absolute). */
static int values_are(const st_tensor *t, const double *expected, size_t n, double tolerance,
                      const char *what) {
    float got[16];
    size_t i;
    if (!CHECK(n <= COUNT(got), "%s: too many values", what) || !read_values(got, n, t, what))
        return 0;
    for (i = 0; i < n; i++)
        if (!CHECK(fabs((double)got[i] - expected[i]) <= tolerance,
                   "%s[%zu] = %.9g, expected %.9g (tolerance %g)", what, i, (double)got[i],
                   expected[i], tolerance))
            return 0;
    return 1;
}

/* The entry `name` of a list as a new tracked handle, or NULL (without a failed check when
 * `must_exist` is false). */
static st_tensor *entry_named(const st_named_tensors *list, const char *name, bool must_exist) {
    size_t i, n = st_named_tensors_count(list);
    for (i = 0; i < n; i++) {
        const char *entry_name = NULL;
        st_tensor *t = NULL;
        if (!CHECK_OK(st_named_tensors_entry(&entry_name, &t, list, i))) return NULL;
        if (strcmp(entry_name, name) == 0) return track(t);
        st_tensor_free(t);
    }
    if (must_exist) CHECK(0, "the state dict has no entry \"%s\"", name);
    return NULL;
}

/* The gradients every case uses, and weights to start from. */
static const float grad_c[4] = {1.0f, 2.0f, -4.0f, 0.5f};
static const float start_w[4] = {1.0f, -2.0f, 0.5f, 4.0f};

/* ---- defaults ---------------------------------------------------------------------------- */

/* st_optim_options_init gives torch.optim's defaults for each kind (and Lion's paper's). */
static void test_options_defaults(void) {
    static const struct {
        st_optimizer kind;
        const char *name;
        double lr, weight_decay, momentum, beta2, eps, alpha, rho;
    } expected[] = {
        /* kind              name        lr    wd    mom  beta2  eps    alpha rho */
        {ST_OPTIM_SGD, "SGD", 1e-3, 0, 0, -1, -1, -1, -1},
        {ST_OPTIM_ADAM, "Adam", 1e-3, 0, 0.9, 0.999, 1e-8, -1, -1},
        {ST_OPTIM_ADAMW, "AdamW", 1e-3, 1e-2, 0.9, 0.999, 1e-8, -1, -1},
        {ST_OPTIM_RMSPROP, "RMSprop", 1e-2, 0, 0, -1, 1e-8, 0.99, -1},
        {ST_OPTIM_ADAGRAD, "Adagrad", 1e-2, 0, -1, -1, 1e-10, -1, -1},
        {ST_OPTIM_ADADELTA, "Adadelta", 1.0, 0, -1, -1, 1e-6, -1, 0.9},
        {ST_OPTIM_LION, "Lion", 1e-4, 0, 0.9, 0.99, -1, -1, -1},
    };
    size_t i;
    st_optim_options o;
    for (i = 0; i < COUNT(expected); i++) {
        /* -1 in the table: a field the kind does not use, not checked. */
        memset(&o, 0xA5, sizeof o);
        if (!CHECK_OK(st_optim_options_init(&o, expected[i].kind))) continue;
        CHECK(o.lr == expected[i].lr, "%s lr %g, expected %g", expected[i].name, o.lr,
              expected[i].lr);
        CHECK(o.weight_decay == expected[i].weight_decay, "%s weight_decay %g, expected %g",
              expected[i].name, o.weight_decay, expected[i].weight_decay);
        if (expected[i].momentum >= 0)
            CHECK(o.momentum == expected[i].momentum, "%s momentum/beta1 %g, expected %g",
                  expected[i].name, o.momentum, expected[i].momentum);
        if (expected[i].beta2 >= 0)
            CHECK(o.beta2 == expected[i].beta2, "%s beta2 %g, expected %g", expected[i].name,
                  o.beta2, expected[i].beta2);
        if (expected[i].eps >= 0)
            CHECK(o.eps == expected[i].eps, "%s eps %g, expected %g", expected[i].name, o.eps,
                  expected[i].eps);
        if (expected[i].alpha >= 0)
            CHECK(o.alpha == expected[i].alpha, "%s alpha %g, expected %g", expected[i].name,
                  o.alpha, expected[i].alpha);
        if (expected[i].rho >= 0)
            CHECK(o.rho == expected[i].rho, "%s rho %g, expected %g", expected[i].name, o.rho,
                  expected[i].rho);
        /* Switches are off and the remaining knobs are 0 for every kind (torch's defaults). */
        CHECK(!o.nesterov && !o.amsgrad && !o.centered, "%s: nesterov %d amsgrad %d centered %d",
              expected[i].name, (int)o.nesterov, (int)o.amsgrad, (int)o.centered);
        CHECK(o.dampening == 0 && o.lr_decay == 0 && o.initial_accumulator_value == 0,
              "%s: dampening %g lr_decay %g initial_accumulator_value %g", expected[i].name,
              o.dampening, o.lr_decay, o.initial_accumulator_value);
    }
    CHECK_ERROR(st_optim_options_init(&o, (st_optimizer)99), ST_EINVAL, "optimizer");
    CHECK_ERROR(st_optim_options_init(NULL, ST_OPTIM_SGD), ST_EINVAL, "options");
}

/* ---- update rules ------------------------------------------------------------------------ */

/* SGD, lr 0.25, momentum 0.9 (dampening 0), constant gradient g = c (torch.optim.SGD):
 *   step 1: buf = g                          w1 = w0 - 0.25 * g
 *   step 2: buf = 0.9 g + g     = 1.9 g      w2 = w1 - 0.475 g
 *   step 3: buf = 0.9 * 1.9 g + g = 2.71 g   w3 = w2 - 0.6775 g
 * so w1 = w0 - 0.25 c, w2 = w0 - 0.725 c, w3 = w0 - 1.4025 c. The first step is exact in
 * float32; the others carry 0.9's rounding (tolerance 2e-6 on values up to 9.6). Then
 * nesterov: the same three steps move by lr * (g + 0.9 buf) = 0.25 * {1.9, 2.71, 3.439} g,
 * so w - w0 = -{0.475, 1.1525, 2.01225} c. */
static void test_sgd_momentum_trajectory(void) {
    static const double total[3] = {0.25, 0.725, 1.4025};
    static const double nesterov_total[3] = {0.475, 1.1525, 2.01225};
    st_tensor *w, *c, *buf;
    st_optim *optim = NULL;
    st_named_tensors *state = NULL;
    st_optim_options o;
    double expected[4];
    int nesterov, step;
    size_t j;

    c = vec(grad_c, 4, false);
    for (nesterov = 0; nesterov <= 1; nesterov++) {
        REQUIRE((w = vec(start_w, 4, true)) != NULL && c != NULL, "tensors");
        REQUIRE_OK(st_optim_options_init(&o, ST_OPTIM_SGD));
        o.lr = 0.25;
        o.momentum = 0.9;
        o.nesterov = nesterov != 0;
        REQUIRE_OK(st_optim_create(&optim, ST_OPTIM_SGD, &w, 1, &o));
        for (step = 0; step < 3; step++) {
            char what[64];
            REQUIRE_OK(st_optim_zero_grad(optim));
            REQUIRE(set_grad(w, c), "gradient");
            REQUIRE_OK(st_optim_step(optim));
            for (j = 0; j < 4; j++)
                expected[j] = start_w[j] - (nesterov ? nesterov_total : total)[step] * grad_c[j];
            snprintf(what, sizeof what, "%s w after step %d", nesterov ? "nesterov" : "sgd",
                     step + 1);
            values_are(w, expected, 4, step == 0 && !nesterov ? 0.0 : 2e-6, what);
        }
        /* After step 3: buf = 2.71 c (torch's "momentum_buffer"). */
        REQUIRE_OK(st_optim_state_dict(&state, optim));
        if ((buf = entry_named(state, "0.momentum_buffer", true)) != NULL) {
            for (j = 0; j < 4; j++) expected[j] = 2.71 * grad_c[j];
            values_are(buf, expected, 4, 2e-6, "0.momentum_buffer after 3 steps");
        }
        st_named_tensors_free(state);
        state = NULL;
        st_optim_free(optim);
        optim = NULL;
    }
done:
    st_named_tensors_free(state);
    st_optim_free(optim);
    free_tracked();
}

/* The first step of every adaptive kind, from zero state, gradient g (torch's formulas):
 *   Adam:     m = 0.1 g, v = 0.001 g^2, bias-corrected m^ = g, v^ = g^2,
 *             w -= lr * g / (|g| + eps) = lr * sign(g) (to 1e-8 / |g| relative)
 *   AdamW:    first w *= 1 - lr * wd (1 - 1e-5), then the Adam step
 *   Lion:     c = 0.9 * 0 + 0.1 g; w -= lr * sign(c) = lr * sign(g), exactly
 *   Adagrad:  sum = g^2; w -= lr * g / (|g| + 1e-10) = lr * sign(g)
 *   RMSprop:  v = 0.01 g^2; w -= lr * g / (0.1 |g| + 1e-8) = 10 lr * sign(g) = 0.1 sign(g)
 *   Adadelta: v = 0.1 g^2; delta = sqrt(0 + 1e-6) / sqrt(v + 1e-6) * g; w -= lr * delta
 * Every kind with its default options (lr 1e-3, 1e-3, 1e-4, 1e-2, 1e-2, 1). Float32 values
 * up to 4 carry rounding of 4.8e-7: tolerance 1e-6. */
static void test_first_step_each_kind(void) {
    static const struct {
        st_optimizer kind;
        const char *name;
    } kinds[] = {{ST_OPTIM_ADAM, "Adam"},       {ST_OPTIM_ADAMW, "AdamW"},
                 {ST_OPTIM_LION, "Lion"},       {ST_OPTIM_ADAGRAD, "Adagrad"},
                 {ST_OPTIM_RMSPROP, "RMSprop"}, {ST_OPTIM_ADADELTA, "Adadelta"}};
    st_tensor *w, *c = vec(grad_c, 4, false);
    st_optim *optim = NULL;
    st_optim_options o;
    double expected[4];
    size_t i, j;

    for (i = 0; i < COUNT(kinds); i++) {
        REQUIRE((w = vec(start_w, 4, true)) != NULL && c != NULL, "tensors");
        REQUIRE_OK(st_optim_options_init(&o, kinds[i].kind));
        REQUIRE_OK(st_optim_create(&optim, kinds[i].kind, &w, 1, &o));
        REQUIRE(set_grad(w, c), "gradient");
        REQUIRE_OK(st_optim_step(optim));
        for (j = 0; j < 4; j++) {
            double g = grad_c[j], sign = g > 0 ? 1.0 : -1.0, w0 = start_w[j];
            switch (kinds[i].kind) {
            case ST_OPTIM_ADAMW: expected[j] = w0 * (1 - 1e-3 * 1e-2) - 1e-3 * sign; break;
            case ST_OPTIM_RMSPROP: expected[j] = w0 - 0.1 * sign; break;
            case ST_OPTIM_ADADELTA:
                expected[j] = w0 - sqrt(1e-6) / sqrt(0.1 * g * g + 1e-6) * g;
                break;
            default: expected[j] = w0 - o.lr * sign; break; /* Adam, Lion, Adagrad */
            }
        }
        values_are(w, expected, 4, 1e-6, kinds[i].name);
        st_optim_free(optim);
        optim = NULL;
    }
done:
    st_optim_free(optim);
    free_tracked();
}

/* A parameter without a gradient is skipped, and its state does not advance: Adam over {a, b},
 * step 1 with a gradient for a only leaves b exactly as it was; at step 2 both have gradients
 * and b's move is that of a *first* Adam step, lr * sign(g) = 1e-3 each. Had b's step count
 * advanced at step 1 (m = v = 0, t = 1), step 2 would move it by
 * lr * (0.1 g / 0.19) / sqrt(0.001 g^2 / 0.001999) = 0.744 lr. */
static void test_param_without_grad_is_skipped(void) {
    static const float b0[2] = {3.0f, -1.5f};
    static const float gb[2] = {2.0f, -0.25f};
    st_tensor *params[2], *ca, *cb;
    st_optim *optim = NULL;
    st_optim_options o;
    double b_same[2] = {3.0, -1.5}, b_moved[2] = {3.0 - 1e-3, -1.5 + 1e-3};

    params[0] = vec(start_w, 4, true);
    params[1] = vec(b0, 2, true);
    ca = vec(grad_c, 4, false);
    cb = vec(gb, 2, false);
    REQUIRE(params[0] && params[1] && ca && cb, "tensors");
    REQUIRE_OK(st_optim_options_init(&o, ST_OPTIM_ADAM));
    REQUIRE_OK(st_optim_create(&optim, ST_OPTIM_ADAM, params, 2, &o));

    REQUIRE(set_grad(params[0], ca), "gradient of a");
    REQUIRE_OK(st_optim_step(optim));
    values_are(params[1], b_same, 2, 0.0, "b after a step without its gradient");

    REQUIRE_OK(st_optim_zero_grad(optim));
    REQUIRE(set_grad(params[0], ca) && set_grad(params[1], cb), "gradients of a and b");
    REQUIRE_OK(st_optim_step(optim));
    values_are(params[1], b_moved, 2, 1e-6, "b after its first step with a gradient");
done:
    st_optim_free(optim);
    free_tracked();
}

/* ---- parameter groups -------------------------------------------------------------------- */

/* SGD without momentum: group 0 = {a} at lr 0.5, group 1 = {b} added at lr 0.25. One step
 * moves a by 0.5 c and b by 0.25 c (exact). Lowering group 1's lr to 0.125 with
 * st_optim_set_param_group changes lr but not initial_lr, and the next step moves b by
 * 0.125 c: b = b0 - 0.375 c. */
static void test_param_groups(void) {
    st_tensor *a = vec(start_w, 4, true), *b = vec(start_w, 4, true), *c = vec(grad_c, 4, false);
    st_optim *optim = NULL;
    st_optim_options o;
    st_param_group_info info;
    size_t groups = 0, j;
    double expected_a[4], expected_b[4];

    REQUIRE(a && b && c, "tensors");
    REQUIRE_OK(st_optim_options_init(&o, ST_OPTIM_SGD));
    o.lr = 0.5;
    REQUIRE_OK(st_optim_create(&optim, ST_OPTIM_SGD, &a, 1, &o));
    REQUIRE_OK(st_optim_add_param_group(optim, &b, 1, 0.25, 0.0, 0.0));
    REQUIRE_OK(st_optim_num_param_groups(&groups, optim));
    CHECK(groups == 2, "%zu parameter groups, expected 2", groups);

    memset(&info, 0, sizeof info);
    if (CHECK_OK(st_optim_get_param_group(&info, optim, 0)))
        CHECK(info.num_params == 1 && info.lr == 0.5 && info.initial_lr == 0.5 &&
                  info.weight_decay == 0 && info.momentum == 0,
              "group 0: %zu params, lr %g, initial_lr %g, weight_decay %g, momentum %g",
              info.num_params, info.lr, info.initial_lr, info.weight_decay, info.momentum);
    if (CHECK_OK(st_optim_get_param_group(&info, optim, 1)))
        CHECK(info.num_params == 1 && info.lr == 0.25 && info.initial_lr == 0.25,
              "group 1: %zu params, lr %g, initial_lr %g", info.num_params, info.lr,
              info.initial_lr);
    CHECK_ERROR(st_optim_get_param_group(&info, optim, 2), ST_EINVAL, "group");

    REQUIRE(set_grad(a, c) && set_grad(b, c), "gradients");
    REQUIRE_OK(st_optim_step(optim));
    for (j = 0; j < 4; j++) {
        expected_a[j] = start_w[j] - 0.5 * grad_c[j];
        expected_b[j] = start_w[j] - 0.25 * grad_c[j];
    }
    values_are(a, expected_a, 4, 0.0, "a after step 1 (lr 0.5)");
    values_are(b, expected_b, 4, 0.0, "b after step 1 (lr 0.25)");

    info.lr = 0.125;
    REQUIRE_OK(st_optim_set_param_group(optim, 1, &info));
    if (CHECK_OK(st_optim_get_param_group(&info, optim, 1)))
        CHECK(info.lr == 0.125 && info.initial_lr == 0.25,
              "group 1 after set: lr %g (expected 0.125), initial_lr %g (expected 0.25)",
              info.lr, info.initial_lr);
    CHECK_ERROR(st_optim_set_param_group(optim, 5, &info), ST_EINVAL, "group");

    REQUIRE_OK(st_optim_zero_grad(optim));
    REQUIRE(set_grad(b, c), "gradient of b");
    REQUIRE_OK(st_optim_step(optim));
    for (j = 0; j < 4; j++) expected_b[j] = start_w[j] - 0.375 * grad_c[j];
    values_are(b, expected_b, 4, 0.0, "b after step 2 (lr 0.125)");
    values_are(a, expected_a, 4, 0.0, "a after step 2 (no gradient: unchanged)");
done:
    st_optim_free(optim);
    free_tracked();
}

/* ---- state dict -------------------------------------------------------------------------- */

/* Adam over {w (4 values), u (2 values)}, two steps with gradients c and cu. The state has
 * torch's names, parameter-major: "0.exp_avg", "0.exp_avg_sq", "0.step", "1...." and after two
 * steps with the same gradient g:
 *   step = 2, exp_avg = 0.9 * 0.1 g + 0.1 g = 0.19 g,
 *   exp_avg_sq = 0.999 * 0.001 g^2 + 0.001 g^2 = 0.001999 g^2.
 * Saving it, loading it into a new Adam over copies of the weights and taking a third step on
 * both with the gradient -g gives the same weights, exactly. That third step is
 *   exp_avg = 0.9 * 0.19 g - 0.1 g = 0.071 g, bias-corrected 0.071 g / (1 - 0.9^3) = 0.071/0.271 g,
 *   exp_avg_sq = 0.999 * 0.001999 g^2 + 0.001 g^2 = 0.002997001 g^2 = (1 - 0.999^3) g^2,
 *   so w -= lr * (0.071 / 0.271) sign(g), and w3 = w0 - lr * (2 + 0.071 / 0.271) sign(g)
 * (steps 1 and 2 move by lr * sign(g) each). A new Adam without the state takes a first step
 * with -g instead: w += lr * sign(g), a different value, so the check sees the state. */
static void test_state_dict_round_trip(void) {
    static const float u0[2] = {0.25f, -0.75f};
    static const float gu[2] = {-1.0f, 4.0f};
    static const char *const names[6] = {"0.exp_avg", "0.exp_avg_sq", "0.step",
                                         "1.exp_avg", "1.exp_avg_sq", "1.step"};
    static const float neg_c[4] = {-1.0f, -2.0f, 4.0f, -0.5f};
    static const float neg_u[2] = {1.0f, -4.0f};
    st_tensor *orig[2], *copy[2], *fresh[2], *cw, *cu, *nw, *nu, *t;
    st_optim *optim = NULL, *loaded = NULL, *unloaded = NULL;
    st_named_tensors *state = NULL;
    st_optim_options o;
    float w_orig[4], w_loaded[4], w_fresh[4], u_orig[2], u_loaded[2];
    double expected[4], value = -1;
    size_t i, j;
    int step;

    orig[0] = vec(start_w, 4, true);
    orig[1] = vec(u0, 2, true);
    cw = vec(grad_c, 4, false);
    cu = vec(gu, 2, false);
    nw = vec(neg_c, 4, false);
    nu = vec(neg_u, 2, false);
    REQUIRE(orig[0] && orig[1] && cw && cu && nw && nu, "tensors");
    REQUIRE_OK(st_optim_options_init(&o, ST_OPTIM_ADAM));
    REQUIRE_OK(st_optim_create(&optim, ST_OPTIM_ADAM, orig, 2, &o));
    for (step = 0; step < 2; step++) {
        REQUIRE_OK(st_optim_zero_grad(optim));
        REQUIRE(set_grad(orig[0], cw) && set_grad(orig[1], cu), "gradients");
        REQUIRE_OK(st_optim_step(optim));
    }
    REQUIRE_OK(st_optim_state_dict(&state, optim));
    CHECK(st_named_tensors_count(state) == 6, "%zu state entries, expected 6 (3 per parameter)",
          st_named_tensors_count(state));
    for (i = 0; i < 6; i++) entry_named(state, names[i], true);
    if ((t = entry_named(state, "0.step", false)) != NULL && CHECK_OK(st_tensor_item(&value, t)))
        CHECK(value == 2.0, "0.step = %g, expected 2", value);
    if ((t = entry_named(state, "0.exp_avg", false)) != NULL) {
        for (j = 0; j < 4; j++) expected[j] = 0.19 * grad_c[j];
        values_are(t, expected, 4, 1e-7, "0.exp_avg after 2 steps");
    }
    if ((t = entry_named(state, "0.exp_avg_sq", false)) != NULL) {
        for (j = 0; j < 4; j++) expected[j] = 0.001999 * grad_c[j] * grad_c[j];
        values_are(t, expected, 4, 1e-8, "0.exp_avg_sq after 2 steps");
    }

    /* The new optimizers work on copies of the current weights. */
    REQUIRE(read_values(w_orig, 4, orig[0], "w") && read_values(u_orig, 2, orig[1], "u"),
            "weights");
    copy[0] = vec(w_orig, 4, true);
    copy[1] = vec(u_orig, 2, true);
    fresh[0] = vec(w_orig, 4, true);
    fresh[1] = vec(u_orig, 2, true);
    REQUIRE(copy[0] && copy[1] && fresh[0] && fresh[1], "copies");
    REQUIRE_OK(st_optim_create(&loaded, ST_OPTIM_ADAM, copy, 2, &o));
    REQUIRE_OK(st_optim_load_state_dict(loaded, state));
    REQUIRE_OK(st_optim_create(&unloaded, ST_OPTIM_ADAM, fresh, 2, &o));

    REQUIRE_OK(st_optim_zero_grad(optim));
    REQUIRE(set_grad(orig[0], nw) && set_grad(orig[1], nu) && set_grad(copy[0], nw) &&
                set_grad(copy[1], nu) && set_grad(fresh[0], nw) && set_grad(fresh[1], nu),
            "gradients");
    REQUIRE_OK(st_optim_step(optim));
    REQUIRE_OK(st_optim_step(loaded));
    REQUIRE_OK(st_optim_step(unloaded));
    REQUIRE(read_values(w_orig, 4, orig[0], "w") && read_values(u_orig, 2, orig[1], "u") &&
                read_values(w_loaded, 4, copy[0], "w copy") &&
                read_values(u_loaded, 2, copy[1], "u copy") &&
                read_values(w_fresh, 4, fresh[0], "w fresh"),
            "weights after step 3");
    for (j = 0; j < 4; j++)
        CHECK(w_loaded[j] == w_orig[j], "w[%zu]: %.9g after the loaded optimizer's step, %.9g "
              "after the original's", j, (double)w_loaded[j], (double)w_orig[j]);
    for (j = 0; j < 2; j++)
        CHECK(u_loaded[j] == u_orig[j], "u[%zu]: %.9g after the loaded optimizer's step, %.9g "
              "after the original's", j, (double)u_loaded[j], (double)u_orig[j]);
    for (j = 0; j < 4; j++) {
        double sign = grad_c[j] > 0 ? 1.0 : -1.0;
        CHECK(fabs((double)w_orig[j] - (start_w[j] - 1e-3 * (2 + 0.071 / 0.271) * sign)) <= 1e-6,
              "w[%zu] after 3 steps %.9g, expected %.9g", j, (double)w_orig[j],
              start_w[j] - 1e-3 * (2 + 0.071 / 0.271) * sign);
        /* w2 + lr sign(g) = w0 - lr sign(g) */
        CHECK(fabs((double)w_fresh[j] - (start_w[j] - 1e-3 * sign)) <= 1e-6,
              "w[%zu] after a first step (no state) from the weights of step 2: %.9g, expected "
              "%.9g", j, (double)w_fresh[j], start_w[j] - 1e-3 * sign);
    }

    /* The state dict holds copies: the third step did not change what was saved. */
    if ((t = entry_named(state, "0.step", false)) != NULL && CHECK_OK(st_tensor_item(&value, t)))
        CHECK(value == 2.0, "saved 0.step = %g after another step, expected still 2", value);
done:
    st_named_tensors_free(state);
    st_optim_free(optim);
    st_optim_free(loaded);
    st_optim_free(unloaded);
    free_tracked();
}

/* ---- schedules --------------------------------------------------------------------------- */

/* The factor at each step, checked to 1e-12. */
typedef struct factor_point {
    int64_t step;
    double factor;
} factor_point;

static void check_schedule(st_lr_scheduler kind, int64_t warmup, int64_t total,
                           const char *kwargs, double initial_lr, const factor_point *points,
                           size_t n, const char *what) {
    st_lr_schedule *schedule = NULL;
    size_t i;
    if (!CHECK_OK(st_lr_schedule_create(&schedule, kind, warmup, total, kwargs, initial_lr)))
        return;
    for (i = 0; i < n; i++) {
        double f = NAN;
        if (CHECK_OK(st_lr_schedule_factor(&f, schedule, points[i].step)))
            CHECK(fabs(f - points[i].factor) <= 1e-12, "%s: factor at step %lld is %.15g, "
                  "expected %.15g", what, (long long)points[i].step, f, points[i].factor);
    }
    st_lr_schedule_free(schedule);
}

/* HF's get_scheduler formulas:
 *   linear, warmup 10, total 50: step/10 before 10, then (50 - step) / 40:
 *     0 -> 0, 5 -> 0.5, 10 -> 1, 30 -> 0.5, 50 -> 0.
 *   cosine, warmup 0, total 50, num_cycles 0.5: 0.5 (1 + cos(pi * 2 * 0.5 * step / 50)):
 *     0 -> 1, 25 -> 0.5 (cos(pi/2) = 0), 50 -> 0.
 *   constant_with_warmup, warmup 4: step/4 before 4, then 1: 0 -> 0, 1 -> 0.25, 4 -> 1.
 *   constant: 1 everywhere. */
static void test_schedule_linear_cosine_constant(void) {
    static const factor_point linear[] = {{0, 0.0}, {5, 0.5}, {10, 1.0}, {30, 0.5}, {50, 0.0}};
    static const factor_point cosine[] = {{0, 1.0}, {25, 0.5}, {50, 0.0}};
    static const factor_point warmup[] = {{0, 0.0}, {1, 0.25}, {2, 0.5}, {4, 1.0}, {40, 1.0}};
    static const factor_point constant[] = {{0, 1.0}, {7, 1.0}, {49, 1.0}};
    check_schedule(ST_LR_LINEAR, 10, 50, NULL, 1e-3, linear, COUNT(linear), "linear");
    check_schedule(ST_LR_COSINE, 0, 50, NULL, 1e-3, cosine, COUNT(cosine), "cosine");
    check_schedule(ST_LR_CONSTANT_WITH_WARMUP, 4, 50, "", 1e-3, warmup, COUNT(warmup),
                   "constant_with_warmup");
    check_schedule(ST_LR_CONSTANT, 0, 50, NULL, 1e-3, constant, COUNT(constant), "constant");
}

/* HF polynomial, initial lr 1e-3, "power=2.0,lr_end=1e-7", warmup 10, total 110:
 *   warmup: step/10 (5 -> 0.5);
 *   then ((1e-3 - 1e-7) * (1 - (step - 10) / 100)^2 + 1e-7) / 1e-3:
 *     10 -> 1; 60 -> (0.9999 * 0.25 + 1e-4) = 0.250075; 110 -> 1e-4;
 *   after total: lr_end / lr_init = 1e-4 (200 -> 1e-4). */
static void test_schedule_polynomial_kwargs(void) {
    static const factor_point points[] = {
        {5, 0.5}, {10, 1.0}, {60, 0.250075}, {110, 1e-4}, {200, 1e-4}};
    check_schedule(ST_LR_POLYNOMIAL, 10, 110, "power=2.0,lr_end=1e-7", 1e-3, points,
                   COUNT(points), "polynomial power=2 lr_end=1e-7");
}

/* ---- ReduceLROnPlateau ------------------------------------------------------------------- */

/* "patience=1,factor=0.5", mode min, threshold 1e-4 rel (torch's defaults): metric 1.0 sets
 * the best; a second 1.0 is one bad evaluation (not more than the patience: rates kept); a
 * third is two bad evaluations: every rate is halved in place (0.5 -> 0.25, 0.25 -> 0.125,
 * exact). The count restarts: an improvement (0.5) keeps the rates, then two more stalls halve
 * them again. */
static void test_plateau_reduces_in_place(void) {
    static const struct {
        double metric, rate0, rate1;
    } steps[] = {{1.0, 0.5, 0.25},   {1.0, 0.5, 0.25},     {1.0, 0.25, 0.125},
                 {0.5, 0.25, 0.125}, {0.5, 0.25, 0.125},   {0.6, 0.125, 0.0625}};
    st_plateau *plateau = NULL;
    double rates[2] = {0.5, 0.25};
    size_t i;
    if (!CHECK_OK(st_plateau_create(&plateau, "patience=1,factor=0.5"))) return;
    for (i = 0; i < COUNT(steps); i++) {
        if (!CHECK_OK(st_plateau_step(plateau, steps[i].metric, rates, 2))) break;
        CHECK(rates[0] == steps[i].rate0 && rates[1] == steps[i].rate1,
              "after metric %zu (%g): rates {%g, %g}, expected {%g, %g}", i + 1, steps[i].metric,
              rates[0], rates[1], steps[i].rate0, steps[i].rate1);
    }
    st_plateau_free(plateau);

    plateau = (st_plateau *)&plateau;
    CHECK_ERROR(st_plateau_create(&plateau, "patients=1"), ST_EINVAL, "patients");
    CHECK(plateau == NULL, "st_plateau_create failed but did not set *out to NULL");
}

/* The counters round-trip: a plateau given another's state after two stalls reduces at the
 * same next metric; bad counters are refused and change nothing. */
static void test_plateau_state_round_trip(void) {
    st_plateau *a = NULL, *b = NULL;
    st_plateau_state state = {.struct_size = sizeof state}, fresh = {.struct_size = sizeof fresh},
                     bad = {sizeof bad, 1.0, -1, 0}, unsized = {0, 1.0, 0, 0};
    double ra[1] = {1.0}, rb[1] = {1.0};
    if (!CHECK_OK(st_plateau_create(&a, "patience=2,factor=0.5")) ||
        !CHECK_OK(st_plateau_create(&b, "patience=2,factor=0.5")))
        goto done;
    if (CHECK_OK(st_plateau_get_state(&fresh, b)))
        CHECK(isnan(fresh.best) && fresh.num_bad_epochs == 0, "fresh best %g, bad %lld",
              fresh.best, (long long)fresh.num_bad_epochs);
    CHECK_OK(st_plateau_step(a, 1.0, ra, 1));
    CHECK_OK(st_plateau_step(a, 1.0, ra, 1));
    CHECK_OK(st_plateau_step(a, 1.0, ra, 1));
    if (CHECK_OK(st_plateau_get_state(&state, a)))
        CHECK(state.best == 1.0 && state.num_bad_epochs == 2 && state.cooldown_counter == 0,
              "state {%g, %lld, %lld}", state.best, (long long)state.num_bad_epochs,
              (long long)state.cooldown_counter);
    CHECK_OK(st_plateau_set_state(b, &state));
    CHECK_OK(st_plateau_step(a, 1.0, ra, 1));
    CHECK_OK(st_plateau_step(b, 1.0, rb, 1));
    CHECK(ra[0] == 0.5 && rb[0] == 0.5, "rates after the third stall: %g and %g, expected 0.5",
          ra[0], rb[0]);
    CHECK_ERROR(st_plateau_set_state(b, &bad), ST_EINVAL, "num_bad_epochs");
    CHECK_ERROR(st_plateau_set_state(b, NULL), ST_EINVAL, "state");
    CHECK_ERROR(st_plateau_set_state(b, &unsized), ST_EINVAL, "struct_size");
    CHECK_ERROR(st_plateau_get_state(&unsized, b), ST_EINVAL, "struct_size");
    CHECK_ERROR(st_plateau_get_state(NULL, b), ST_EINVAL, "out");
done:
    st_plateau_free(a);
    st_plateau_free(b);
}

int main(int argc, char **argv) {
    /* ctest registers one test per entry (Tests/c/CMakeLists.txt reads this table). */
    static const test_case cases[] = {
        {"options_defaults", test_options_defaults},
        {"sgd_momentum_trajectory", test_sgd_momentum_trajectory},
        {"first_step_each_kind", test_first_step_each_kind},
        {"param_without_grad_is_skipped", test_param_without_grad_is_skipped},
        {"param_groups", test_param_groups},
        {"state_dict_round_trip", test_state_dict_round_trip},
        {"schedule_linear_cosine_constant", test_schedule_linear_cosine_constant},
        {"schedule_polynomial_kwargs", test_schedule_polynomial_kwargs},
        {"plateau_reduces_in_place", test_plateau_reduces_in_place},
        {"plateau_state_round_trip", test_plateau_state_round_trip},
    };
    return run_test_cases(cases, sizeof cases / sizeof cases[0], argc, argv);
}
