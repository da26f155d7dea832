/* Errors of the "Optimizers and learning-rate schedules" section: refused optimizer options
 * (*out set to NULL), schedule kwargs no schedule reads, unknown kinds, and schedules,
 * plateaus and optimizer state dicts with extreme arguments and entries.
 *
 * Each case is its own ctest test, c.errors_optim.<case>, in its own process: a case that
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

static const float start_w[4] = {1.0f, -2.0f, 0.5f, 4.0f};

/* Refused options: ST_EINVAL naming what is wrong, and *out set to NULL (the header's rule
 * for handle out-parameters). torch.optim refuses a negative lr ("Invalid learning rate"),
 * nesterov without momentum ("Nesterov momentum requires a momentum and zero dampening") and
 * a parameter in two groups ("some parameters appear in more than one parameter group"). */
static void test_optim_create_errors(void) {
    st_tensor *w = requiring_grad(floats(start_w, 4));
    st_optim *optim = NULL, *refused = NULL;
    st_optim_options o;
    REQUIRE(w != NULL, "tensor");

    /* `refused` starts as a non-NULL dummy (never used as a handle) to see it cleared. */
    REQUIRE_OK(st_optim_options_init(&o, ST_OPTIM_SGD));
    refused = (st_optim *)&refused;
    CHECK_ERROR(st_optim_create(&refused, (st_optimizer)99, &w, 1, &o), ST_EINVAL, "optimizer");
    CHECK(refused == NULL, "st_optim_create (unknown kind) failed but did not set *out to NULL");

    o.lr = -1;
    refused = (st_optim *)&refused;
    CHECK_ERROR(st_optim_create(&refused, ST_OPTIM_SGD, &w, 1, &o), ST_EINVAL, "lr");
    CHECK(refused == NULL, "st_optim_create (lr -1) failed but did not set *out to NULL");

    REQUIRE_OK(st_optim_options_init(&o, ST_OPTIM_SGD));
    o.nesterov = true;
    refused = (st_optim *)&refused;
    CHECK_ERROR(st_optim_create(&refused, ST_OPTIM_SGD, &w, 1, &o), ST_EINVAL, "nesterov");
    CHECK(refused == NULL, "st_optim_create (nesterov, momentum 0) failed but did not set *out "
          "to NULL");

    REQUIRE_OK(st_optim_options_init(&o, ST_OPTIM_SGD));
    REQUIRE_OK(st_optim_create(&optim, ST_OPTIM_SGD, &w, 1, &o));
    CHECK_ERROR(st_optim_add_param_group(optim, &w, 1, 0.1, 0, 0), ST_EINVAL, NULL);
done:
    st_optim_free(optim);
    free_tracked();
}

/* A key no schedule reads is ST_EINVAL naming the key, and *out is NULL. So is a schedule
 * kind that does not exist, and ReduceLROnPlateau, which is not a function of the step. */
static void test_schedule_errors(void) {
    st_lr_schedule *schedule = (st_lr_schedule *)&schedule;
    double f = 0;
    CHECK_ERROR(st_lr_schedule_create(&schedule, ST_LR_POLYNOMIAL, 0, 50,
                                      "power=2.0,warmup_typo=3", 1e-3),
                ST_EINVAL, "warmup_typo");
    CHECK(schedule == NULL, "st_lr_schedule_create failed but did not set *out to NULL");
    CHECK_ERROR(st_lr_schedule_create(&schedule, ST_LR_COSINE, 0, 50, "num_cycles", 1e-3),
                ST_EINVAL, "num_cycles");
    CHECK_ERROR(st_lr_schedule_create(&schedule, (st_lr_scheduler)99, 0, 50, NULL, 1e-3),
                ST_EINVAL, NULL);
    CHECK_ERROR(st_lr_schedule_factor(&f, NULL, 0), ST_EINVAL, "schedule");
}

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
    st_tensor *p = floats(&zero, 1), *t = NULL;
    st_optim *opt = NULL;
    st_optim_options o;
    st_named_tensors *state = NULL;
    size_t i;
    REQUIRE(p != NULL, "parameter");
    REQUIRE_OK(st_tensor_set_requires_grad(p, true));
    REQUIRE_OK(st_optim_options_init(&o, ST_OPTIM_ADAM));
    REQUIRE_OK(st_optim_create(&opt, ST_OPTIM_ADAM, &p, 1, &o));
    t = floats(&one, 1);
    REQUIRE(t != NULL, "step tensor");
    for (i = 0; i < COUNT(bad_names); i++) {
        REQUIRE_OK(st_named_tensors_create(&state));
        REQUIRE_OK(st_named_tensors_add(state, bad_names[i], t));
        CHECK_FAILS(st_optim_load_state_dict(opt, state), NULL);
        st_named_tensors_free(state);
        state = NULL;
    }
    for (i = 0; i < COUNT(bad_steps); i++) {
        st_tensor *s = floats(&bad_steps[i], 1);
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

int main(int argc, char **argv) {
    /* ctest registers one test per entry (Tests/c/CMakeLists.txt reads this table). */
    static const test_case cases[] = {
        {"optim_create_errors", test_optim_create_errors},
        {"schedule_errors", test_schedule_errors},
        {"lr_schedule_extreme_arguments", test_lr_schedule_extreme_arguments},
        {"plateau_extreme_arguments", test_plateau_extreme_arguments},
        {"optim_state_dict_extreme_entries", test_optim_state_dict_extreme_entries},
    };
    if (argc == 2) fail_if_hung(60);
    return run_test_cases(cases, COUNT(cases), argc, argv);
}
