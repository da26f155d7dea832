/* Errors of the "Trainer, events and callbacks" section: NULL arguments, predict buffers of
 * the wrong size, datasets that do not fit the model or the loss (features, labels out of
 * range, no labels), training without a dataset, callbacks that abort or call back into their
 * trainer (ST_EMISUSE), extreme but accepted arguments, event names out of range, and the
 * argument errors of st_trainer_request_stop and st_trainer_remove_callback.
 *
 * Each case is its own ctest test, c.errors_trainer.<case>, in its own process: a case that
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

static int do_nothing(st_event event, const st_trainer_state *state, st_trainer_control *control,
                      void *user_data) {
    (void)event;
    (void)state;
    (void)control;
    (void)user_data;
    return 0;
}

/* A callback returning non-zero at the end of step 2 aborts training at once with ST_EUSER. */
typedef struct abort_state {
    int aborted;
    int steps_begun_after_abort;
} abort_state;

static int abort_at_step_2(st_event event, const st_trainer_state *state,
                           st_trainer_control *control, void *user_data) {
    abort_state *s = (abort_state *)user_data;
    (void)control;
    if (s->aborted && event == ST_EVENT_STEP_BEGIN) s->steps_begun_after_abort++;
    if (event == ST_EVENT_STEP_END && state->global_step == 2) {
        s->aborted = 1;
        return 1;
    }
    return 0;
}

/* train, evaluate and predict on the trainer whose callback is running: ST_EMISUSE. */
typedef struct reentry {
    small_problem *problem;
    int tried;
} reentry;

static int call_back_into_trainer(st_event event, const st_trainer_state *state,
                                  st_trainer_control *control, void *user_data) {
    reentry *r = (reentry *)user_data;
    st_metrics *metrics = NULL;
    float out[SMALL_ROWS * SMALL_CLASSES];
    (void)state;
    (void)control;
    if (event != ST_EVENT_STEP_END || r->tried) return 0;
    r->tried = 1;
    CHECK_ERROR(st_trainer_train(NULL, r->problem->trainer), ST_EMISUSE, "callback");
    CHECK_ERROR(st_trainer_evaluate(&metrics, r->problem->trainer, r->problem->data),
                ST_EMISUSE, "callback");
    CHECK_ERROR(st_trainer_predict(out, SMALL_ROWS * SMALL_CLASSES, NULL, r->problem->trainer,
                                   r->problem->data),
                ST_EMISUSE, "callback");
    st_metrics_free(metrics);
    return 0;
}

static void test_null_trainer_arguments(void) {
    small_problem p;
    st_trainer *trainer = NULL;
    st_trainer_state state = {0};
    state.struct_size = sizeof state;
    st_metrics *metrics = NULL;
    float out[SMALL_ROWS * SMALL_CLASSES];
    int64_t outputs = 0;
    size_t history = 0;
    if (!small_problem_create(&p)) goto done;
    CHECK_ERROR(st_trainer_create(NULL, p.model, ST_LOSS_CROSS_ENTROPY, &p.args), ST_EINVAL,
                "out");
    CHECK_ERROR(st_trainer_create(&trainer, NULL, ST_LOSS_CROSS_ENTROPY, &p.args), ST_EINVAL,
                "model");
    CHECK_ERROR(st_trainer_create(&trainer, p.model, ST_LOSS_CROSS_ENTROPY, NULL), ST_EINVAL,
                "args");
    CHECK_ERROR(st_trainer_set_train_dataset(NULL, p.data), ST_EINVAL, "trainer");
    CHECK_ERROR(st_trainer_set_train_dataset(p.trainer, NULL), ST_EINVAL, "dataset");
    CHECK_ERROR(st_trainer_set_eval_dataset(NULL, p.data), ST_EINVAL, "trainer");
    CHECK_OK(st_trainer_set_eval_dataset(p.trainer, NULL)); /* documented: clears */
    CHECK_ERROR(st_trainer_add_callback(NULL, do_nothing, NULL, ST_EVENT_MASK_ALL), ST_EINVAL,
                "trainer");
    CHECK_ERROR(st_trainer_add_callback(p.trainer, NULL, NULL, ST_EVENT_MASK_ALL), ST_EINVAL,
                "callback");
    CHECK_ERROR(st_trainer_train(NULL, NULL), ST_EINVAL, "trainer");
    CHECK_ERROR(st_trainer_get_state(NULL, p.trainer), ST_EINVAL, "out");
    CHECK_ERROR(st_trainer_get_state(&state, NULL), ST_EINVAL, "trainer");
    {
        st_trainer_state unsized = {0}; /* struct_size not set: the library must not write */
        CHECK_ERROR(st_trainer_get_state(&unsized, p.trainer), ST_EINVAL, "struct_size");
        CHECK(unsized.global_step == 0 && unsized.struct_size == 0,
              "st_trainer_get_state wrote into a struct whose struct_size was 0");
    }
    CHECK_ERROR(st_trainer_evaluate(NULL, p.trainer, p.data), ST_EINVAL, "out");
    CHECK_ERROR(st_trainer_evaluate(&metrics, NULL, p.data), ST_EINVAL, "trainer");
    CHECK_ERROR(st_trainer_predict(NULL, SMALL_ROWS * SMALL_CLASSES, NULL, p.trainer, p.data),
                ST_EINVAL,
                "out");
    CHECK_ERROR(st_trainer_predict(out, SMALL_ROWS * SMALL_CLASSES, NULL, NULL, p.data), ST_EINVAL,
                "trainer");
    CHECK_ERROR(st_trainer_predict(out, SMALL_ROWS * SMALL_CLASSES, NULL, p.trainer, NULL),
                ST_EINVAL,
                "dataset");
    CHECK_ERROR(st_trainer_num_outputs(NULL, p.trainer, p.data), ST_EINVAL, "out");
    CHECK_ERROR(st_trainer_num_outputs(&outputs, NULL, p.data), ST_EINVAL, "trainer");
    CHECK_ERROR(st_trainer_num_outputs(&outputs, p.trainer, NULL), ST_EINVAL, "dataset");
    CHECK_ERROR(st_trainer_log_history_count(NULL, p.trainer), ST_EINVAL, "out");
    CHECK_ERROR(st_trainer_log_history_count(&history, NULL), ST_EINVAL, "trainer");
    CHECK_ERROR(st_trainer_log_history_entry(NULL, p.trainer, 0), ST_EINVAL, "out");
    CHECK_ERROR(st_trainer_log_history_entry(&metrics, NULL, 0), ST_EINVAL, "trainer");
    /* A trainer that has not trained has an empty history. */
    CHECK_ERROR(st_trainer_log_history_entry(&metrics, p.trainer, 0), ST_EINVAL, "index");
done:
    st_metrics_free(metrics);
    st_trainer_free(trainer);
    small_problem_free(&p);
}

/* The message must name the wrong count (and what was needed). */
static void test_predict_wrong_out_count(void) {
    small_problem p;
    float out[SMALL_ROWS * SMALL_CLASSES + 1];
    if (small_problem_create(&p)) {
        CHECK_ERROR(st_trainer_predict(out, SMALL_ROWS * SMALL_CLASSES - 1, NULL, p.trainer,
                                       p.data),
                    ST_ESHAPE, "23");
        CHECK_ERROR(st_trainer_predict(out, SMALL_ROWS * SMALL_CLASSES + 1, NULL, p.trainer,
                                       p.data),
                    ST_ESHAPE, "25");
        CHECK_ERROR(st_trainer_predict(out, 0, NULL, p.trainer, p.data), ST_ESHAPE, "24");
        CHECK_OK(st_trainer_predict(out, SMALL_ROWS * SMALL_CLASSES, NULL, p.trainer, p.data));
    }
    small_problem_free(&p);
}

/* A 3-feature dataset for a 4-input model: refused when set or when training starts, and by
 * evaluate and predict. */
static void test_feature_count_mismatch(void) {
    small_problem p;
    st_dataset *narrow = NULL;
    st_metrics *metrics = NULL;
    float out[SMALL_ROWS * SMALL_CLASSES];
    int status;
    if (small_problem_create(&p) &&
        CHECK_OK(st_dataset_create(&narrow, small_features, SMALL_ROWS, SMALL_FEATURES - 1,
                                   small_labels,
                                   ST_DATA_COPY))) {
        status = st_trainer_set_train_dataset(p.trainer, narrow);
        if (status == ST_OK)
            CHECK_ERROR(st_trainer_train(NULL, p.trainer), ST_ESHAPE, "feature");
        else
            CHECK_ERROR(status, ST_ESHAPE, "feature");
        CHECK_ERROR(st_trainer_evaluate(&metrics, p.trainer, narrow), ST_ESHAPE, "feature");
        CHECK_ERROR(st_trainer_predict(out, SMALL_ROWS * SMALL_CLASSES, NULL, p.trainer, narrow),
                    ST_ESHAPE,
                    "feature");
    }
    st_metrics_free(metrics);
    st_dataset_free(narrow);
    small_problem_free(&p);
}

static void test_labels_out_of_range(void) {
    static const int64_t too_big[SMALL_ROWS] = {0, 1, 2, 0, SMALL_CLASSES, 2, 0, 1};
    static const int64_t negative[SMALL_ROWS] = {0, 1, 2, -1, 1, 2, 0, 1};
    const int64_t *const bad[2] = {too_big, negative};
    int i;
    for (i = 0; i < 2; i++) {
        small_problem p;
        st_dataset *data = NULL;
        st_metrics *metrics = NULL;
        if (small_problem_create(&p) &&
            CHECK_OK(st_dataset_create(&data, small_features, SMALL_ROWS, SMALL_FEATURES, bad[i],
                                       ST_DATA_COPY)) &&
            CHECK_OK(st_trainer_set_train_dataset(p.trainer, data))) {
            CHECK_ERROR(st_trainer_train(NULL, p.trainer), ST_EINVAL, "label");
            CHECK_ERROR(st_trainer_evaluate(&metrics, p.trainer, data), ST_EINVAL, "label");
        }
        st_metrics_free(metrics);
        st_dataset_free(data);
        small_problem_free(&p);
    }
}

/* Labels are optional (prediction only): training on such a dataset is refused, predicting
 * works and gives no metrics. */
static void test_unlabeled_dataset(void) {
    small_problem p;
    st_dataset *unlabeled = NULL;
    st_metrics *metrics = NULL;
    float out[SMALL_ROWS * SMALL_CLASSES];
    if (small_problem_create(&p) &&
        CHECK_OK(st_dataset_create(&unlabeled, small_features, SMALL_ROWS, SMALL_FEATURES, NULL,
                                   ST_DATA_COPY))) {
        int status = st_trainer_set_train_dataset(p.trainer, unlabeled);
        if (status == ST_OK)
            CHECK_FAILS(st_trainer_train(NULL, p.trainer), "label");
        else
            CHECK_FAILS(status, "label");
        CHECK_FAILS(st_trainer_evaluate(&metrics, p.trainer, unlabeled), "label");
        st_metrics_free(metrics);
        metrics = NULL;
        if (CHECK_OK(st_trainer_predict(out, SMALL_ROWS * SMALL_CLASSES, &metrics, p.trainer,
                                        unlabeled)))
            CHECK(metrics == NULL, "predict on a dataset without labels returned metrics");
    }
    st_metrics_free(metrics);
    st_dataset_free(unlabeled);
    small_problem_free(&p);
}

/* Cross-entropy needs labels, MSE needs targets: the other kind of dataset is refused. */
static void test_loss_dataset_mismatch(void) {
    small_problem p;
    st_dataset *regression = NULL;
    st_trainer *mse = NULL;
    if (small_problem_create(&p) &&
        CHECK_OK(st_dataset_create_regression(&regression, small_features, SMALL_ROWS,
                                              SMALL_FEATURES, small_targets, 1,
                                              ST_DATA_COPY))) {
        int status = st_trainer_set_train_dataset(p.trainer, regression);
        if (status == ST_OK)
            CHECK_FAILS(st_trainer_train(NULL, p.trainer), "label");
        else
            CHECK_FAILS(status, "label");
        if (CHECK_OK(st_trainer_create(&mse, p.model, ST_LOSS_MSE, &p.args))) {
            status = st_trainer_set_train_dataset(mse, p.data);
            if (status == ST_OK)
                CHECK_FAILS(st_trainer_train(NULL, mse), "target");
            else
                CHECK_FAILS(status, "target");
        }
    }
    st_trainer_free(mse);
    st_dataset_free(regression);
    small_problem_free(&p);
}

static void test_callback_error_stops_training(void) {
    small_problem p;
    abort_state s = {0, 0};
    st_trainer_state state = {0};
    state.struct_size = sizeof state;
    if (small_problem_create(&p) &&
        CHECK_OK(st_trainer_add_callback(p.trainer, abort_at_step_2, &s, ST_EVENT_MASK_ALL))) {
        CHECK_ERROR(st_trainer_train(NULL, p.trainer), ST_EUSER, "callback");
        CHECK(s.aborted, "the callback never saw STEP_END at global_step 2");
        CHECK(s.steps_begun_after_abort == 0, "%d steps began after the callback returned 1",
              s.steps_begun_after_abort);
        if (CHECK_OK(st_trainer_get_state(&state, p.trainer)))
            CHECK(state.global_step == 2, "global_step %lld after the abort, expected 2",
                  (long long)state.global_step);
    }
    small_problem_free(&p);
}

static void test_reentrant_calls_from_callback(void) {
    small_problem p;
    reentry r;
    r.problem = &p;
    r.tried = 0;
    if (small_problem_create(&p) &&
        CHECK_OK(st_trainer_add_callback(p.trainer, call_back_into_trainer, &r,
                                         ST_EVENT_MASK(ST_EVENT_STEP_END)))) {
        CHECK_OK(st_trainer_train(NULL, p.trainer));
        CHECK(r.tried, "the callback never ran");
    }
    small_problem_free(&p);
}

static void test_train_without_dataset(void) {
    small_problem p;
    st_trainer *bare = NULL, *wants_eval = NULL;
    st_metrics *metrics = NULL;
    st_training_args eval_args;
    if (small_problem_create(&p) &&
        CHECK_OK(st_trainer_create(&bare, p.model, ST_LOSS_CROSS_ENTROPY, &p.args))) {
        CHECK_ERROR(st_trainer_train(NULL, bare), ST_EMISUSE, "dataset");
        /* No dataset argument and no evaluation dataset set. */
        CHECK_ERROR(st_trainer_evaluate(&metrics, bare, NULL), ST_EMISUSE, "dataset");
        /* eval_strategy = epoch without an evaluation dataset. */
        eval_args = p.args;
        eval_args.eval_strategy = ST_STRATEGY_EPOCH;
        if (CHECK_OK(st_trainer_create(&wants_eval, p.model, ST_LOSS_CROSS_ENTROPY,
                                       &eval_args)) &&
            CHECK_OK(st_trainer_set_train_dataset(wants_eval, p.data)))
            CHECK_FAILS(st_trainer_train(NULL, wants_eval), "eval");
    }
    st_metrics_free(metrics);
    st_trainer_free(wants_eval);
    st_trainer_free(bare);
    small_problem_free(&p);
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
    float predictions[SMALL_ROWS * SMALL_CLASSES];
    (void)control;
    s->calls++;
    if (event == ST_EVENT_STEP_END && state->global_step == 1) {
        CHECK_ERROR(st_trainer_train(NULL, s->trainer), ST_EMISUSE, NULL);
        CHECK_ERROR(st_trainer_evaluate(&m, s->trainer, s->data), ST_EMISUSE, NULL);
        CHECK_ERROR(st_trainer_predict(predictions, SMALL_ROWS * SMALL_CLASSES, NULL, s->trainer,
                                       s->data),
                    ST_EMISUSE, NULL);
    }
    if (event == ST_EVENT_LOG && state->metrics) st_metrics_free((st_metrics *)state->metrics);
    if (event == ST_EVENT_STEP_END && state->global_step == 2 && !s->freed_trainer) {
        s->freed_trainer = 1;
        st_trainer_free(s->trainer);
    }
    return 0;
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

/* Values at the top of each accepted range on the 8-row problem: one optimizer step,
 * evaluation on the same data, nothing overflows (batches of 2^40 are cut to the data). */
static void test_train_with_accepted_extremes(void) {
    st_module *model = NULL;
    st_dataset *data = NULL;
    st_trainer *trainer = NULL;
    st_metrics *metrics = NULL;
    st_training_args args;
    st_trainer_state state;
    REQUIRE_OK(st_linear_create(&model, SMALL_FEATURES, SMALL_CLASSES, true));
    REQUIRE_OK(st_dataset_create(&data, small_features, SMALL_ROWS, SMALL_FEATURES, small_labels,
                                 ST_DATA_COPY));
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
    REQUIRE_OK(st_linear_create(&model, SMALL_FEATURES, SMALL_CLASSES, true));
    REQUIRE_OK(st_dataset_create(&data, small_features, SMALL_ROWS, SMALL_FEATURES, small_labels,
                                 ST_DATA_COPY));
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

static void test_callback_misuse(void) {
    st_module *model = NULL;
    st_training_args args;
    st_metrics *metrics = NULL;
    misuse_state s;
    size_t count = 0;
    memset(&s, 0, sizeof s);
    REQUIRE_OK(st_linear_create(&model, SMALL_FEATURES, SMALL_CLASSES, true));
    REQUIRE_OK(st_dataset_create(&s.data, small_features, SMALL_ROWS, SMALL_FEATURES, small_labels,
                                 ST_DATA_COPY));
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

static void test_event_names_out_of_range(void) {
    static const int events[] = {INT32_MIN, -1, ST_EVENT_COUNT, ST_EVENT_COUNT + 1, 63, 64,
                                 INT32_MAX};
    size_t i;
    int e;
    for (e = 0; e < ST_EVENT_COUNT; e++)
        CHECK(st_event_name(e) != NULL, "st_event_name(%d) is NULL", e);
    for (i = 0; i < COUNT(events); i++) {
        CHECK(st_event_name(events[i]) == NULL, "st_event_name(%d) is not NULL", events[i]);
        CHECK(!st_event_is_teardown(events[i]), "st_event_is_teardown(%d) for no event", events[i]);
    }
    for (e = 0; e < ST_EVENT_COUNT; e++)
        CHECK(st_event_is_teardown(e) == (e == ST_EVENT_EXCEPTION || e == ST_EVENT_CLOSE || e == ST_EVENT_POST_CLOSE),
              "st_event_is_teardown(%s)", st_event_name(e));
}

static void test_callback_aborts_every_event(void) {
    st_module *model = NULL;
    st_dataset *data = NULL;
    st_trainer *trainer = NULL;
    st_metrics *metrics = NULL;
    st_training_args args;
    float predictions[SMALL_ROWS * SMALL_CLASSES];
    int calls = 0;
    REQUIRE_OK(st_linear_create(&model, SMALL_FEATURES, SMALL_CLASSES, true));
    REQUIRE_OK(st_dataset_create(&data, small_features, SMALL_ROWS, SMALL_FEATURES, small_labels,
                                 ST_DATA_COPY));
    REQUIRE_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION));
    REQUIRE_OK(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args));
    REQUIRE_OK(st_trainer_set_train_dataset(trainer, data));
    REQUIRE_OK(st_trainer_add_callback(trainer, always_abort, &calls, ST_EVENT_MASK_ALL));
    CHECK_ERROR(st_trainer_train(&metrics, trainer), ST_EUSER, NULL);
    CHECK_ERROR(st_trainer_train(&metrics, trainer), ST_EUSER, NULL);
    CHECK_ERROR(st_trainer_evaluate(&metrics, trainer, data), ST_EUSER, NULL);
    CHECK_ERROR(st_trainer_predict(predictions, SMALL_ROWS * SMALL_CLASSES, &metrics, trainer,
                                   data), ST_EUSER,
                NULL);
    CHECK(calls > 0 && calls < 1000, "the callback ran %d times", calls);
    CHECK(metrics == NULL, "a failed call left metrics");
done:
    st_metrics_free(metrics);
    st_trainer_free(trainer);
    st_dataset_free(data);
    st_module_free(model);
}

/* st_trainer_request_stop: ST_ENOTFOUND for NULL, a freed trainer, a handle of another kind
 * and a value that never was a handle, without touching the last error message (it must be
 * safe in a signal handler: no error text). */
static void test_request_stop_bad_handles(void) {
    small_problem p;
    st_trainer *freed = NULL;
    st_module *module = NULL;
    st_training_args args;
    char before[512];
    if (!CHECK_OK(st_relu_create(&module)) ||
        !CHECK_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION)) ||
        !CHECK_OK(st_trainer_create(&freed, module, ST_LOSS_CROSS_ENTROPY, &args)))
        goto done;
    st_trainer_free(freed);
    CHECK_ERROR(st_relu_create(NULL), ST_EINVAL, "out"); /* a known last error message */
    snprintf(before, sizeof before, "%s", st_last_error_message());
    CHECK(st_trainer_request_stop(NULL, true) == ST_ENOTFOUND, "NULL is not a trainer");
    CHECK(st_trainer_request_stop(NULL, false) == ST_ENOTFOUND, "NULL is not a trainer");
    CHECK(st_trainer_request_stop(freed, true) == ST_ENOTFOUND, "a freed trainer is not live");
    CHECK(st_trainer_request_stop(freed, false) == ST_ENOTFOUND, "a freed trainer is not live");
    CHECK(st_trainer_request_stop((st_trainer *)(void *)module, true) == ST_ENOTFOUND,
          "a module is not a trainer");
    CHECK(st_trainer_request_stop((st_trainer *)(uintptr_t)0x1234, true) == ST_ENOTFOUND,
          "a value that never was a handle is not a trainer");
    CHECK(strcmp(st_last_error_message(), before) == 0,
          "st_trainer_request_stop changed the last error message from \"%s\" to \"%s\"", before,
          st_last_error_message());
    /* A live trainer still takes requests (and a freed one stays refused after new trainers). */
    if (small_problem_create(&p)) {
        CHECK_OK(st_trainer_request_stop(p.trainer, true));
        CHECK(st_trainer_request_stop(freed, true) == ST_ENOTFOUND, "a freed trainer is not live");
    }
    small_problem_free(&p);
done:
    st_module_free(module);
}

static int never_added(st_event event, const st_trainer_state *state, st_trainer_control *control,
                       void *user_data) {
    (void)event;
    (void)state;
    (void)control;
    (void)user_data;
    return 0;
}

/* st_trainer_remove_callback: ST_EINVAL for a NULL trainer or function, ST_ENOTFOUND for a
 * pair never added (the function with other user_data too), ST_EMISUSE for a freed trainer. */
static void test_remove_callback_errors(void) {
    small_problem p;
    int a = 0, b = 0;
    st_trainer *freed = NULL;
    if (!small_problem_create(&p)) goto done;
    CHECK_ERROR(st_trainer_remove_callback(NULL, do_nothing, &a), ST_EINVAL, "trainer");
    CHECK_ERROR(st_trainer_remove_callback(p.trainer, NULL, &a), ST_EINVAL, "callback");
    CHECK_ERROR(st_trainer_remove_callback(p.trainer, never_added, &a), ST_ENOTFOUND, "callback");
    REQUIRE_OK(st_trainer_add_callback(p.trainer, do_nothing, &a, ST_EVENT_MASK_ALL));
    CHECK_ERROR(st_trainer_remove_callback(p.trainer, do_nothing, &b), ST_ENOTFOUND, "callback");
    CHECK_ERROR(st_trainer_remove_callback(p.trainer, do_nothing, NULL), ST_ENOTFOUND, "callback");
    CHECK_ERROR(st_trainer_remove_callback(p.trainer, never_added, &a), ST_ENOTFOUND, "callback");
    CHECK_OK(st_trainer_remove_callback(p.trainer, do_nothing, &a));
    CHECK_ERROR(st_trainer_remove_callback(p.trainer, do_nothing, &a), ST_ENOTFOUND, "callback");
    /* NULL user_data is a key like any other. */
    REQUIRE_OK(st_trainer_add_callback(p.trainer, do_nothing, NULL, ST_EVENT_MASK_ALL));
    CHECK_OK(st_trainer_remove_callback(p.trainer, do_nothing, NULL));
    freed = p.trainer;
    st_trainer_free(p.trainer);
    p.trainer = NULL;
    CHECK_ERROR(st_trainer_remove_callback(freed, do_nothing, &a), ST_EMISUSE, "freed");
done:
    small_problem_free(&p);
}

int main(int argc, char **argv) {
    /* ctest registers one test per entry (Tests/c/CMakeLists.txt reads this table). */
    static const test_case cases[] = {
        {"null_trainer_arguments", test_null_trainer_arguments},
        {"predict_wrong_out_count", test_predict_wrong_out_count},
        {"feature_count_mismatch", test_feature_count_mismatch},
        {"labels_out_of_range", test_labels_out_of_range},
        {"unlabeled_dataset", test_unlabeled_dataset},
        {"loss_dataset_mismatch", test_loss_dataset_mismatch},
        {"callback_error_stops_training", test_callback_error_stops_training},
        {"reentrant_calls_from_callback", test_reentrant_calls_from_callback},
        {"train_without_dataset", test_train_without_dataset},
        {"train_with_accepted_extremes", test_train_with_accepted_extremes},
        {"train_max_steps_with_non_finite_epochs", test_train_max_steps_with_non_finite_epochs},
        {"callback_misuse", test_callback_misuse},
        {"event_names_out_of_range", test_event_names_out_of_range},
        {"callback_aborts_every_event", test_callback_aborts_every_event},
        {"request_stop_bad_handles", test_request_stop_bad_handles},
        {"remove_callback_errors", test_remove_callback_errors},
    };
    if (argc == 2) fail_if_hung(60);
    return run_test_cases(cases, COUNT(cases), argc, argv);
}
