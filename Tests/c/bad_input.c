/* Every kind of bad input the C API names, one case each: the call must return the documented
 * status, st_last_error_message() must say what was wrong, and the process must survive.
 *
 * Most cases use a small problem: Linear(4, 3) on 8 rows of 4 features with labels 0..2. */
#include "check.h"
#include "swifttrain.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/** Checks that a call failed (any ST_E* code) with a message mentioning `needle`; for inputs
 *  whose exact code the header leaves open. The point is that the library does not crash. */
#define CHECK_FAILS(call, needle) check_fails((call), (needle), __FILE__, __LINE__, #call)

static int check_fails(int status, const char *needle, const char *file, int line,
                       const char *expr) {
    if (status < 0) return check_status(status, status, needle, file, line, expr);
    return check_true(0, file, line, expr, "returned %d (%s), expected an error", status,
                      st_status_string(status));
}

/* ---- the small problem ------------------------------------------------------------------- */

#define ROWS 8
#define FEATURES 4
#define CLASSES 3

static const float features[ROWS * FEATURES] = {
    0.1f, 0.2f, 0.3f, 0.4f, 0.9f, 0.1f, 0.0f, 0.2f, 0.3f, 0.8f, 0.1f, 0.0f, 0.5f, 0.5f, 0.5f, 0.5f,
    0.0f, 0.1f, 0.9f, 0.3f, 0.7f, 0.2f, 0.2f, 0.1f, 0.2f, 0.6f, 0.4f, 0.0f, 0.4f, 0.3f, 0.8f, 0.6f};
static const int64_t labels[ROWS] = {0, 1, 2, 0, 1, 2, 0, 1};
static const float targets[ROWS] = {0.5f, 1.0f, 0.0f, 0.25f, 0.75f, 0.5f, 0.1f, 0.9f};

typedef struct small_problem {
    st_module *model;      /* Linear(FEATURES, CLASSES) */
    st_dataset *data;      /* ROWS x FEATURES with labels */
    st_training_args args; /* batch 2, one epoch: 4 steps */
    st_trainer *trainer;   /* cross-entropy, data as the training set */
} small_problem;

static int small_problem_create(small_problem *p) {
    memset(p, 0, sizeof *p);
    return CHECK_OK(st_linear_create(&p->model, FEATURES, CLASSES, true)) &&
           CHECK_OK(st_dataset_create(&p->data, features, ROWS, FEATURES, labels,
                                      ST_DATA_COPY)) &&
           CHECK_OK(st_training_args_init(&p->args, ST_TRAINING_ARGS_VERSION)) &&
           CHECK_OK(st_training_args_set(&p->args, "per_device_train_batch_size", "2")) &&
           CHECK_OK(st_training_args_set(&p->args, "num_train_epochs", "1")) &&
           CHECK_OK(st_trainer_create(&p->trainer, p->model, ST_LOSS_CROSS_ENTROPY, &p->args)) &&
           CHECK_OK(st_trainer_set_train_dataset(p->trainer, p->data));
}

static void small_problem_free(small_problem *p) {
    st_trainer_free(p->trainer);
    st_dataset_free(p->data);
    st_module_free(p->model);
}

/* ---- status codes and freeing ------------------------------------------------------------ */

static void test_status_strings(void) {
    static const struct {
        int code;
        const char *name;
    } codes[] = {{ST_OK, "ST_OK"},         {ST_ERROR, "ST_ERROR"},   {ST_EINVAL, "ST_EINVAL"},
                 {ST_ESHAPE, "ST_ESHAPE"}, {ST_ENOMEM, "ST_ENOMEM"}, {ST_EMISUSE, "ST_EMISUSE"},
                 {ST_EUSER, "ST_EUSER"},   {ST_EBLAS, "ST_EBLAS"},   {ST_ENOTFOUND, "ST_ENOTFOUND"},
                 {ST_EIO, "ST_EIO"},       {ST_ECORRUPT, "ST_ECORRUPT"}};
    static const int unknown[] = {1, 100, -11, -1000, INT32_MIN};
    size_t i;
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *text = st_status_string(codes[i].code);
        CHECK(text != NULL && check_contains(text, codes[i].name),
              "st_status_string(%d) is \"%s\", expected it to name %s", codes[i].code,
              text ? text : "(null)", codes[i].name);
    }
    for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *text = st_status_string(unknown[i]);
        CHECK(text != NULL && strcmp(text, "unknown status") == 0,
              "st_status_string(%d) is \"%s\", expected \"unknown status\"", unknown[i],
              text ? text : "(null)");
    }
}

static void test_free_null_is_noop(void) {
    char before[512];
    CHECK_ERROR(st_relu_create(NULL), ST_EINVAL, "out");
    snprintf(before, sizeof before, "%s", st_last_error_message());
    st_module_free(NULL);
    st_dataset_free(NULL);
    st_metrics_free(NULL);
    st_trainer_free(NULL);
    CHECK(strcmp(st_last_error_message(), before) == 0,
          "freeing NULL changed the last error message from \"%s\" to \"%s\"", before,
          st_last_error_message());
}

/* ---- modules ----------------------------------------------------------------------------- */

static void test_null_module_arguments(void) {
    st_module *relu = NULL, *model = NULL;
    st_module *with_null[2];
    int64_t count = 0;
    if (!CHECK_OK(st_relu_create(&relu))) return;
    with_null[0] = relu;
    with_null[1] = NULL;
    CHECK_ERROR(st_linear_create(NULL, 4, 3, true), ST_EINVAL, "out");
    CHECK_ERROR(st_relu_create(NULL), ST_EINVAL, "out");
    CHECK_ERROR(st_sequential_create(NULL, &relu, 1), ST_EINVAL, "out");
    CHECK_ERROR(st_sequential_create(&model, NULL, 1), ST_EINVAL, "modules");
    CHECK_ERROR(st_sequential_create(&model, with_null, 2), ST_EINVAL, "modules");
    CHECK_ERROR(st_module_num_parameters(NULL, relu), ST_EINVAL, "out");
    CHECK_ERROR(st_module_num_parameters(&count, NULL), ST_EINVAL, "module");
    st_module_free(model);
    st_module_free(relu);
}

static void test_bad_module_sizes(void) {
    st_module *model = NULL, *relu = NULL;
    st_module *twice[2];
    CHECK_ERROR(st_linear_create(&model, 0, 3, true), ST_EINVAL, "in_features");
    CHECK_ERROR(st_linear_create(&model, -4, 3, true), ST_EINVAL, "in_features");
    CHECK_ERROR(st_linear_create(&model, 4, 0, true), ST_EINVAL, "out_features");
    CHECK_ERROR(st_linear_create(&model, 4, -3, true), ST_EINVAL, "out_features");
    /* in * out overflows int64: must be refused, not trap. */
    CHECK_FAILS(st_linear_create(&model, INT64_MAX / 2, 4, true), NULL);
    if (CHECK_OK(st_relu_create(&relu))) {
        twice[0] = twice[1] = relu;
        CHECK_ERROR(st_sequential_create(&model, twice, 2), ST_EINVAL, NULL);
    }
    st_module_free(relu);
    st_module_free(model);
}

/* Linear(4, 5) then Linear(3, 2): refused when the sequential is built or when training
 * starts, never a crash in the middle of a matrix product. */
static void test_mismatched_layers(void) {
    st_module *layers[2] = {NULL, NULL}, *model = NULL;
    st_dataset *data = NULL;
    st_training_args args;
    st_trainer *trainer = NULL;
    int status;
    if (!(CHECK_OK(st_linear_create(&layers[0], FEATURES, 5, true)) &&
          CHECK_OK(st_linear_create(&layers[1], 3, 2, true))))
        goto done;
    status = st_sequential_create(&model, layers, 2);
    if (status != ST_OK) {
        CHECK_ERROR(status, ST_ESHAPE, "feature");
        goto done;
    }
    if (CHECK_OK(st_dataset_create(&data, features, ROWS, FEATURES, labels, ST_DATA_COPY)) &&
        CHECK_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION)) &&
        CHECK_OK(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args)) &&
        CHECK_OK(st_trainer_set_train_dataset(trainer, data)))
        CHECK_ERROR(st_trainer_train(NULL, trainer), ST_ESHAPE, "feature");
done:
    st_trainer_free(trainer);
    st_dataset_free(data);
    st_module_free(model);
    st_module_free(layers[0]);
    st_module_free(layers[1]);
}

/* ---- datasets ---------------------------------------------------------------------------- */

static void test_null_dataset_arguments(void) {
    st_dataset *data = NULL, *valid = NULL;
    int64_t count = 0;
    CHECK_ERROR(st_dataset_create(NULL, features, ROWS, FEATURES, labels, ST_DATA_COPY),
                ST_EINVAL, "out");
    CHECK_ERROR(st_dataset_create(&data, NULL, ROWS, FEATURES, labels, ST_DATA_COPY), ST_EINVAL,
                "features");
    CHECK_ERROR(st_dataset_create_regression(NULL, features, ROWS, FEATURES, targets, 1,
                                             ST_DATA_COPY),
                ST_EINVAL, "out");
    CHECK_ERROR(st_dataset_create_regression(&data, NULL, ROWS, FEATURES, targets, 1,
                                             ST_DATA_COPY),
                ST_EINVAL, "features");
    if (CHECK_OK(st_dataset_create(&valid, features, ROWS, FEATURES, labels, ST_DATA_COPY)))
        CHECK_ERROR(st_dataset_num_samples(NULL, valid), ST_EINVAL, "out");
    CHECK_ERROR(st_dataset_num_samples(&count, NULL), ST_EINVAL, "dataset");
    st_dataset_free(valid);
    st_dataset_free(data);
}

static void test_bad_dataset_sizes(void) {
    st_dataset *data = NULL;
    CHECK_ERROR(st_dataset_create(&data, features, 0, FEATURES, labels, ST_DATA_COPY), ST_EINVAL,
                "num_samples");
    CHECK_ERROR(st_dataset_create(&data, features, -5, FEATURES, labels, ST_DATA_COPY),
                ST_EINVAL, "num_samples");
    CHECK_ERROR(st_dataset_create(&data, features, ROWS, 0, labels, ST_DATA_COPY), ST_EINVAL,
                "num_features");
    CHECK_ERROR(st_dataset_create(&data, features, ROWS, -1, labels, ST_DATA_BORROW), ST_EINVAL,
                "num_features");
    CHECK_ERROR(st_dataset_create_regression(&data, features, 0, FEATURES, targets, 1,
                                             ST_DATA_COPY),
                ST_EINVAL, "num_samples");
    CHECK_ERROR(st_dataset_create_regression(&data, features, ROWS, FEATURES, targets, 0,
                                             ST_DATA_COPY),
                ST_EINVAL, "num_targets");
    /* num_samples * num_features overflows int64: must be refused, not trap. */
    CHECK_FAILS(st_dataset_create(&data, features, INT64_MAX / 2, FEATURES, labels,
                                  ST_DATA_BORROW),
                NULL);
    st_dataset_free(data);
}

static void test_unknown_ownership(void) {
    st_dataset *data = NULL;
    CHECK_ERROR(st_dataset_create(&data, features, ROWS, FEATURES, labels,
                                  (st_data_ownership)7),
                ST_EINVAL, "ownership");
    CHECK_ERROR(st_dataset_create_regression(&data, features, ROWS, FEATURES, targets, 1,
                                             (st_data_ownership)-1),
                ST_EINVAL, "ownership");
    st_dataset_free(data);
}

/* ---- metrics ----------------------------------------------------------------------------- */

static void test_metrics_arguments(void) {
    small_problem p;
    st_metrics *metrics = NULL;
    const char *name = NULL;
    double value = 0;
    if (small_problem_create(&p) && CHECK_OK(st_trainer_train(&metrics, p.trainer))) {
        size_t count = st_metrics_count(metrics);
        CHECK(count > 0, "the train metrics are empty");
        CHECK(st_metrics_count(NULL) == 0, "st_metrics_count(NULL) is %zu",
              st_metrics_count(NULL));
        CHECK_ERROR(st_metrics_entry(NULL, &value, metrics, 0), ST_EINVAL, "out_name");
        CHECK_ERROR(st_metrics_entry(&name, NULL, metrics, 0), ST_EINVAL, "out_value");
        CHECK_ERROR(st_metrics_entry(&name, &value, NULL, 0), ST_EINVAL, "metrics");
        CHECK_ERROR(st_metrics_entry(&name, &value, metrics, count), ST_EINVAL, "index");
        CHECK_ERROR(st_metrics_get(NULL, metrics, "train_loss"), ST_EINVAL, "out_value");
        CHECK_ERROR(st_metrics_get(&value, NULL, "train_loss"), ST_EINVAL, "metrics");
        CHECK_ERROR(st_metrics_get(&value, metrics, NULL), ST_EINVAL, "name");
        CHECK_ERROR(st_metrics_get(&value, metrics, "no_such_metric"), ST_ENOTFOUND,
                    "no_such_metric");
    }
    st_metrics_free(metrics);
    small_problem_free(&p);
}

/* ---- training arguments ------------------------------------------------------------------ */

static void test_null_training_args_arguments(void) {
    st_training_args args;
    st_loss loss;
    CHECK_ERROR(st_training_args_init(NULL, ST_TRAINING_ARGS_VERSION), ST_EINVAL, "args");
    if (!CHECK_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION))) return;
    CHECK_ERROR(st_training_args_set(NULL, "learning_rate", "1e-3"), ST_EINVAL, "args");
    CHECK_ERROR(st_training_args_set(&args, NULL, "1e-3"), ST_EINVAL, "name");
    CHECK_ERROR(st_training_args_set(&args, "learning_rate", NULL), ST_EINVAL, "value");
    CHECK_ERROR(st_training_args_validate(NULL), ST_EINVAL, "args");
    CHECK_ERROR(st_loss_from_name(NULL, "mse"), ST_EINVAL, "out");
    CHECK_ERROR(st_loss_from_name(&loss, NULL), ST_EINVAL, "name");
}

static void test_training_args_version(void) {
    st_training_args args;
    st_module *model = NULL;
    st_trainer *trainer = NULL;
    CHECK_ERROR(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION + 1), ST_EINVAL, "version");
    CHECK_ERROR(st_training_args_init(&args, 0), ST_EINVAL, "version");
    if (!(CHECK_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION)) &&
          CHECK_OK(st_linear_create(&model, FEATURES, CLASSES, true))))
        goto done;
    args.version = ST_TRAINING_ARGS_VERSION + 1;
    CHECK_ERROR(st_training_args_validate(&args), ST_EINVAL, "version");
    CHECK_ERROR(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args), ST_EINVAL,
                "version");
done:
    st_trainer_free(trainer);
    st_module_free(model);
}

/* Unknown names and unparsable values are refused, naming the argument, and leave `args`
 * exactly as it was. */
static void test_bad_training_args_names_and_values(void) {
    static const struct {
        const char *name, *value, *needle;
    } bad[] = {
        {"learning_rat", "1e-3", "learning_rat"},
        {"", "1", NULL},
        {"learning_rate", "fast", "learning_rate"},
        {"learning_rate", "", "learning_rate"},
        {"learning_rate", "1e-3x", "learning_rate"},
        {"per_device_train_batch_size", "3.5", "per_device_train_batch_size"},
        {"per_device_train_batch_size", "99999999999999999999999", "per_device_train_batch_size"},
        {"optim", "adamax", "optim"},
        {"lr_scheduler_type", "cosine_with_bumps", "lr_scheduler_type"},
        {"eval_strategy", "sometimes", "eval_strategy"},
        {"logging_first_step", "maybe", "logging_first_step"},
    };
    st_training_args args, before;
    size_t i;
    memset(&args, 0, sizeof args);
    if (!CHECK_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION))) return;
    before = args;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (!CHECK_ERROR(st_training_args_set(&args, bad[i].name, bad[i].value), ST_EINVAL,
                         bad[i].needle))
            fprintf(stderr, "    with name \"%s\", value \"%s\"\n", bad[i].name, bad[i].value);
        CHECK(memcmp(&args, &before, sizeof args) == 0,
              "st_training_args_set(\"%s\", \"%s\") failed but changed args", bad[i].name,
              bad[i].value);
        args = before;
    }
}

/* An args struct with one bad field: st_training_args_validate() and st_trainer_create() must
 * both refuse it with ST_EINVAL naming the field. */
static void expect_args_rejected(const st_training_args *args, const char *field,
                                 const char *description) {
    st_module *model = NULL;
    st_trainer *trainer = NULL;
    if (!CHECK_ERROR(st_training_args_validate(args), ST_EINVAL, field))
        fprintf(stderr, "    with %s\n", description);
    if (CHECK_OK(st_linear_create(&model, FEATURES, CLASSES, true))) {
        if (!CHECK_ERROR(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, args),
                         ST_EINVAL, field))
            fprintf(stderr, "    with %s\n", description);
        CHECK(trainer == NULL, "st_trainer_create failed but returned a trainer (%s)",
              description);
    }
    st_trainer_free(trainer);
    st_module_free(model);
}

static void test_unknown_enum_values(void) {
    st_training_args defaults, args;
    st_module *model = NULL;
    st_trainer *trainer = NULL;
    st_loss loss;
    if (!CHECK_OK(st_training_args_init(&defaults, ST_TRAINING_ARGS_VERSION))) return;

    args = defaults;
    args.optim = (st_optimizer)99;
    expect_args_rejected(&args, "optim", "optim = 99");
    args = defaults;
    args.lr_scheduler_type = (st_lr_scheduler)42;
    expect_args_rejected(&args, "lr_scheduler_type", "lr_scheduler_type = 42");
    args = defaults;
    args.logging_strategy = (st_interval_strategy)9;
    expect_args_rejected(&args, "logging_strategy", "logging_strategy = 9");
    args = defaults;
    args.eval_strategy = (st_interval_strategy)-1;
    expect_args_rejected(&args, "eval_strategy", "eval_strategy = -1");

    if (CHECK_OK(st_linear_create(&model, FEATURES, CLASSES, true)))
        CHECK_ERROR(st_trainer_create(&trainer, model, (st_loss)42, &defaults), ST_EINVAL,
                    "loss");
    CHECK_ERROR(st_loss_from_name(&loss, "hinge"), ST_EINVAL, "hinge");
    CHECK_ERROR(st_loss_from_name(&loss, "MSE "), ST_EINVAL, "MSE");

    CHECK(st_event_name(99) == NULL, "st_event_name(99) is \"%s\"", st_event_name(99));
    CHECK(st_event_name(-1) == NULL, "st_event_name(-1) is \"%s\"", st_event_name(-1));
    CHECK(st_event_name(ST_EVENT_COUNT) == NULL, "st_event_name(ST_EVENT_COUNT) is \"%s\"",
          st_event_name(ST_EVENT_COUNT));
    CHECK(st_event_name(ST_EVENT_STEP_END) != NULL &&
              strcmp(st_event_name(ST_EVENT_STEP_END), "on_step_end") == 0,
          "st_event_name(ST_EVENT_STEP_END) is \"%s\"", st_event_name(ST_EVENT_STEP_END));
    st_trainer_free(trainer);
    st_module_free(model);
}

static void test_nonsense_hyperparameters(void) {
    /* field, its offset and type, and the nonsense value written there */
    typedef struct nonsense {
        const char *field;
        size_t offset;
        int is_double;
        double value;
    } nonsense;
#define DOUBLE_FIELD(f, v) {#f, offsetof(st_training_args, f), 1, (v)}
#define INT64_FIELD(f, v) {#f, offsetof(st_training_args, f), 0, (v)}
    const nonsense cases[] = {
        DOUBLE_FIELD(learning_rate, -1e-3),
        DOUBLE_FIELD(learning_rate, NAN),
        DOUBLE_FIELD(learning_rate, INFINITY),
        INT64_FIELD(per_device_train_batch_size, 0),
        INT64_FIELD(per_device_train_batch_size, -8),
        INT64_FIELD(per_device_eval_batch_size, 0),
        DOUBLE_FIELD(adam_beta1, 1.0),
        DOUBLE_FIELD(adam_beta1, -0.1),
        DOUBLE_FIELD(adam_beta2, 1.0),
        DOUBLE_FIELD(adam_epsilon, -1e-8),
        DOUBLE_FIELD(weight_decay, -0.01),
        DOUBLE_FIELD(sgd_momentum, -0.9),
        DOUBLE_FIELD(max_grad_norm, -1.0),
        DOUBLE_FIELD(max_grad_norm, NAN),
        DOUBLE_FIELD(num_train_epochs, -1.0),
        DOUBLE_FIELD(num_train_epochs, NAN),
        INT64_FIELD(warmup_steps, -1),
        INT64_FIELD(logging_steps, 0),
    };
#undef DOUBLE_FIELD
#undef INT64_FIELD
    st_training_args defaults, args;
    size_t i;
    if (!CHECK_OK(st_training_args_init(&defaults, ST_TRAINING_ARGS_VERSION))) return;
    CHECK_OK(st_training_args_validate(&defaults));
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char description[128];
        args = defaults;
        if (cases[i].is_double) {
            memcpy((char *)&args + cases[i].offset, &cases[i].value, sizeof(double));
        } else {
            int64_t value = (int64_t)cases[i].value;
            memcpy((char *)&args + cases[i].offset, &value, sizeof value);
        }
        snprintf(description, sizeof description, "%s = %g", cases[i].field, cases[i].value);
        expect_args_rejected(&args, cases[i].field, description);
    }
}

/* ---- trainer ----------------------------------------------------------------------------- */

static int do_nothing(st_event event, const st_trainer_state *state, st_trainer_control *control,
                      void *user_data) {
    (void)event;
    (void)state;
    (void)control;
    (void)user_data;
    return 0;
}

static void test_null_trainer_arguments(void) {
    small_problem p;
    st_trainer *trainer = NULL;
    st_trainer_state state = {0};
    state.struct_size = sizeof state;
    st_metrics *metrics = NULL;
    float out[ROWS * CLASSES];
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
    CHECK_ERROR(st_trainer_predict(NULL, ROWS * CLASSES, NULL, p.trainer, p.data), ST_EINVAL,
                "out");
    CHECK_ERROR(st_trainer_predict(out, ROWS * CLASSES, NULL, NULL, p.data), ST_EINVAL,
                "trainer");
    CHECK_ERROR(st_trainer_predict(out, ROWS * CLASSES, NULL, p.trainer, NULL), ST_EINVAL,
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
    float out[ROWS * CLASSES + 1];
    if (small_problem_create(&p)) {
        CHECK_ERROR(st_trainer_predict(out, ROWS * CLASSES - 1, NULL, p.trainer, p.data),
                    ST_ESHAPE, "23");
        CHECK_ERROR(st_trainer_predict(out, ROWS * CLASSES + 1, NULL, p.trainer, p.data),
                    ST_ESHAPE, "25");
        CHECK_ERROR(st_trainer_predict(out, 0, NULL, p.trainer, p.data), ST_ESHAPE, "24");
        CHECK_OK(st_trainer_predict(out, ROWS * CLASSES, NULL, p.trainer, p.data));
    }
    small_problem_free(&p);
}

/* A 3-feature dataset for a 4-input model: refused when set or when training starts, and by
 * evaluate and predict. */
static void test_feature_count_mismatch(void) {
    small_problem p;
    st_dataset *narrow = NULL;
    st_metrics *metrics = NULL;
    float out[ROWS * CLASSES];
    int status;
    if (small_problem_create(&p) &&
        CHECK_OK(st_dataset_create(&narrow, features, ROWS, FEATURES - 1, labels,
                                   ST_DATA_COPY))) {
        status = st_trainer_set_train_dataset(p.trainer, narrow);
        if (status == ST_OK)
            CHECK_ERROR(st_trainer_train(NULL, p.trainer), ST_ESHAPE, "feature");
        else
            CHECK_ERROR(status, ST_ESHAPE, "feature");
        CHECK_ERROR(st_trainer_evaluate(&metrics, p.trainer, narrow), ST_ESHAPE, "feature");
        CHECK_ERROR(st_trainer_predict(out, ROWS * CLASSES, NULL, p.trainer, narrow), ST_ESHAPE,
                    "feature");
    }
    st_metrics_free(metrics);
    st_dataset_free(narrow);
    small_problem_free(&p);
}

static void test_labels_out_of_range(void) {
    static const int64_t too_big[ROWS] = {0, 1, 2, 0, CLASSES, 2, 0, 1};
    static const int64_t negative[ROWS] = {0, 1, 2, -1, 1, 2, 0, 1};
    const int64_t *const bad[2] = {too_big, negative};
    int i;
    for (i = 0; i < 2; i++) {
        small_problem p;
        st_dataset *data = NULL;
        st_metrics *metrics = NULL;
        if (small_problem_create(&p) &&
            CHECK_OK(st_dataset_create(&data, features, ROWS, FEATURES, bad[i], ST_DATA_COPY)) &&
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
    float out[ROWS * CLASSES];
    if (small_problem_create(&p) &&
        CHECK_OK(st_dataset_create(&unlabeled, features, ROWS, FEATURES, NULL, ST_DATA_COPY))) {
        int status = st_trainer_set_train_dataset(p.trainer, unlabeled);
        if (status == ST_OK)
            CHECK_FAILS(st_trainer_train(NULL, p.trainer), "label");
        else
            CHECK_FAILS(status, "label");
        CHECK_FAILS(st_trainer_evaluate(&metrics, p.trainer, unlabeled), "label");
        st_metrics_free(metrics);
        metrics = NULL;
        if (CHECK_OK(st_trainer_predict(out, ROWS * CLASSES, &metrics, p.trainer, unlabeled)))
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
        CHECK_OK(st_dataset_create_regression(&regression, features, ROWS, FEATURES, targets, 1,
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

/* train, evaluate and predict on the trainer whose callback is running: ST_EMISUSE. */
typedef struct reentry {
    small_problem *problem;
    int tried;
} reentry;

static int call_back_into_trainer(st_event event, const st_trainer_state *state,
                                  st_trainer_control *control, void *user_data) {
    reentry *r = (reentry *)user_data;
    st_metrics *metrics = NULL;
    float out[ROWS * CLASSES];
    (void)state;
    (void)control;
    if (event != ST_EVENT_STEP_END || r->tried) return 0;
    r->tried = 1;
    CHECK_ERROR(st_trainer_train(NULL, r->problem->trainer), ST_EMISUSE, "callback");
    CHECK_ERROR(st_trainer_evaluate(&metrics, r->problem->trainer, r->problem->data),
                ST_EMISUSE, "callback");
    CHECK_ERROR(st_trainer_predict(out, ROWS * CLASSES, NULL, r->problem->trainer,
                                   r->problem->data),
                ST_EMISUSE, "callback");
    st_metrics_free(metrics);
    return 0;
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

static void test_bad_blas_thread_count(void) {
    CHECK_ERROR(st_blas_set_num_threads(0), ST_EINVAL, "num_threads");
    CHECK_ERROR(st_blas_set_num_threads(-3), ST_EINVAL, "num_threads");
}

int main(int argc, char **argv) {
    /* ctest registers one test per entry (Tests/c/CMakeLists.txt reads this table). */
    static const test_case cases[] = {
        {"status_strings", test_status_strings},
        {"free_null_is_noop", test_free_null_is_noop},
        {"null_module_arguments", test_null_module_arguments},
        {"bad_module_sizes", test_bad_module_sizes},
        {"mismatched_layers", test_mismatched_layers},
        {"null_dataset_arguments", test_null_dataset_arguments},
        {"bad_dataset_sizes", test_bad_dataset_sizes},
        {"unknown_ownership", test_unknown_ownership},
        {"metrics_arguments", test_metrics_arguments},
        {"null_training_args_arguments", test_null_training_args_arguments},
        {"training_args_version", test_training_args_version},
        {"bad_training_args_names_and_values", test_bad_training_args_names_and_values},
        {"unknown_enum_values", test_unknown_enum_values},
        {"nonsense_hyperparameters", test_nonsense_hyperparameters},
        {"null_trainer_arguments", test_null_trainer_arguments},
        {"predict_wrong_out_count", test_predict_wrong_out_count},
        {"feature_count_mismatch", test_feature_count_mismatch},
        {"labels_out_of_range", test_labels_out_of_range},
        {"unlabeled_dataset", test_unlabeled_dataset},
        {"loss_dataset_mismatch", test_loss_dataset_mismatch},
        {"callback_error_stops_training", test_callback_error_stops_training},
        {"reentrant_calls_from_callback", test_reentrant_calls_from_callback},
        {"train_without_dataset", test_train_without_dataset},
        {"bad_blas_thread_count", test_bad_blas_thread_count},
    };
    return run_test_cases(cases, sizeof cases / sizeof cases[0], argc, argv);
}
