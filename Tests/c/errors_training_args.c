/* Errors of the "Training arguments" section: NULL arguments, a wrong struct version, unknown
 * names and unparsable values in st_training_args_set, unknown enum values and nonsense
 * hyper-parameters (st_training_args_validate and st_trainer_create name the argument), every
 * integer and floating-point field at an extreme, and extreme strings.
 *
 * Each case is its own ctest test, c.errors_training_args.<case>, in its own process: a case that
 * traps, aborts or faults fails alone, and an alarm turns a hang into a failure. The helpers
 * (CHECK_FAILS, SURVIVES, the small problem, ...) are shared, in check.h. */
#include "check.h"
#include "swifttrain.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An args struct with one bad field: st_training_args_validate() and st_trainer_create() must
 * both refuse it with ST_EINVAL naming the field. */
static void expect_args_rejected(const st_training_args *args, const char *field,
                                 const char *description) {
    st_module *model = NULL;
    st_trainer *trainer = NULL;
    if (!CHECK_ERROR(st_training_args_validate(args), ST_EINVAL, field))
        fprintf(stderr, "    with %s\n", description);
    if (CHECK_OK(st_linear_create(&model, SMALL_FEATURES, SMALL_CLASSES, true))) {
        if (!CHECK_ERROR(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, args),
                         ST_EINVAL, field))
            fprintf(stderr, "    with %s\n", description);
        CHECK(trainer == NULL, "st_trainer_create failed but returned a trainer (%s)",
              description);
    }
    st_trainer_free(trainer);
    st_module_free(model);
}

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
          CHECK_OK(st_linear_create(&model, SMALL_FEATURES, SMALL_CLASSES, true))))
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

    if (CHECK_OK(st_linear_create(&model, SMALL_FEATURES, SMALL_CLASSES, true)))
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
    REQUIRE_OK(st_linear_create(&model, SMALL_FEATURES, SMALL_CLASSES, true));
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
                                      "seed", "data_seed", "dataloader_num_workers",
                                      "ddp_timeout"};
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

/* Every field of HF's TrainingArguments is a name: kept ones round-trip through the JSON,
 * refused ones are accepted at HF's default only and say why otherwise, a misspelt name gets
 * the nearest one, and a damaged other_fields is refused naming it. */
static void test_hf_fields(void) {
    st_training_args args, before;
    char json[16384];
    size_t length = 0;
    REQUIRE_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION));
    CHECK(strcmp(args.other_fields, "{}") == 0, "fresh other_fields is \"%s\"", args.other_fields);
    CHECK_OK(st_training_args_set(&args, "fp16", "False"));
    CHECK_OK(st_training_args_set(&args, "run_name", "baseline"));
    CHECK_OK(st_training_args_set(&args, "dataloader_num_workers", "4"));
    CHECK_OK(st_training_args_validate(&args));
    before = args;
    CHECK_ERROR(st_training_args_set(&args, "fp16", "true"), ST_EINVAL, "float32 on the CPU; remove it");
    CHECK_ERROR(st_training_args_set(&args, "learnin_rate", "1e-3"), ST_EINVAL,
                "did you mean 'learning_rate'?");
    CHECK_ERROR(st_training_args_set(&args, "dataloader_num_workers", "four"), ST_EINVAL,
                "dataloader_num_workers");
    CHECK(memcmp(&args, &before, sizeof args) == 0, "a failed set changed args");
    if (CHECK_OK(st_training_args_json(json, sizeof json, &length, &args))) {
        CHECK(strstr(json, "\"run_name\": \"baseline\"") != NULL, "run_name not in %s", json);
        CHECK(strstr(json, "\"dataloader_num_workers\": 4") != NULL, "workers not in %s", json);
        CHECK(strstr(json, "\"fp16\": false") != NULL, "fp16 not in %s", json);
    }
    CHECK_ERROR(st_training_args_fields(NULL, 0, NULL), ST_EINVAL, "length");
    CHECK_ERROR(st_training_args_fields(NULL, 0, &length), ST_ESHAPE, "needs");
    CHECK(length > 1000, "st_training_args_fields wants %zu bytes", length);
    {
        char *fields = malloc(length + 1), *name, *start;
        if (CHECK(fields != NULL, "malloc") && CHECK_OK(st_training_args_fields(fields, length + 1, &length)) &&
            CHECK((name = strstr(fields, "\"name\": \"fp16\"")) != NULL, "no fp16 in the fields")) {
            for (start = name; start > fields && *start != '{'; start--) {}
            *name = 0;  /* fp16's entry before its name: its category (keys are sorted) */
            CHECK(strstr(start, "\"category\": \"refused\"") != NULL, "fp16 is not refused: %s", start);
        }
        free(fields);
    }
    strcpy(args.other_fields, "not json");
    CHECK_ERROR(st_training_args_validate(&args), ST_EINVAL, "other_fields");
    strcpy(args.other_fields, "{\"learning_rate\": 1}");
    CHECK_ERROR(st_training_args_validate(&args), ST_EINVAL, "other_fields");
    strcpy(args.other_fields, "{\"fp16\": true}");
    CHECK_ERROR(st_training_args_validate(&args), ST_EINVAL, "fp16");
done:
    return;
}

/* st_training_args_update checks every value as st_training_args_set does, also one that a
 * later pair of the same name replaces (found by Tests/fuzz/fuzz_training_args: a 300-byte
 * label_names followed by a short one was accepted), and validates what it stores as
 * st_training_args_validate does (the fuzzer again: report_to "   None"). */
static void test_update_checks_every_value(void) {
    static char long_value[301];
    st_training_args args, before;
    const char *names[2] = {"label_names", "label_names"}, *values[2] = {long_value, "y"};
    memset(long_value, 'a', 300);
    REQUIRE_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION));
    before = args;
    CHECK_ERROR(st_training_args_set(&args, "label_names", long_value), ST_EINVAL, "label_names");
    CHECK_ERROR(st_training_args_update(&args, names, values, 2), ST_EINVAL, "label_names");
    CHECK(memcmp(&args, &before, sizeof args) == 0, "a refused update changed the arguments");
    /* A value _set normalises validates alike through _update (report_to "   None"). */
    names[0] = "report_to";
    values[0] = "   None";
    CHECK_OK(st_training_args_set(&before, "report_to", "   None"));
    CHECK_OK(st_training_args_validate(&before));
    CHECK_OK(st_training_args_update(&args, names, values, 1));
done:
    return;
}

int main(int argc, char **argv) {
    /* ctest registers one test per entry (Tests/c/CMakeLists.txt reads this table). */
    static const test_case cases[] = {
        {"null_training_args_arguments", test_null_training_args_arguments},
        {"training_args_version", test_training_args_version},
        {"bad_training_args_names_and_values", test_bad_training_args_names_and_values},
        {"unknown_enum_values", test_unknown_enum_values},
        {"nonsense_hyperparameters", test_nonsense_hyperparameters},
        {"training_args_extreme_fields", test_training_args_extreme_fields},
        {"training_args_set_extreme_strings", test_training_args_set_extreme_strings},
        {"hf_fields", test_hf_fields},
        {"update_checks_every_value", test_update_checks_every_value},
    };
    if (argc == 2) fail_if_hung(60);
    return run_test_cases(cases, COUNT(cases), argc, argv);
}
