/* Errors of the "Datasets" section: NULL arguments, non-positive and absurd sizes (rows of
 * INT64_MAX, copied or borrowed), an unknown ownership, and sample shapes that do not hold a
 * row's features.
 *
 * Each case is its own ctest test, c.errors_datasets.<case>, in its own process: a case that
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

static void test_null_dataset_arguments(void) {
    st_dataset *data = NULL, *valid = NULL;
    int64_t count = 0;
    CHECK_ERROR(st_dataset_create(NULL, small_features, SMALL_ROWS, SMALL_FEATURES, small_labels,
                                  ST_DATA_COPY),
                ST_EINVAL, "out");
    CHECK_ERROR(st_dataset_create(&data, NULL, SMALL_ROWS, SMALL_FEATURES, small_labels,
                                  ST_DATA_COPY), ST_EINVAL,
                "features");
    CHECK_ERROR(st_dataset_create_regression(NULL, small_features, SMALL_ROWS, SMALL_FEATURES,
                                             small_targets, 1,
                                             ST_DATA_COPY),
                ST_EINVAL, "out");
    CHECK_ERROR(st_dataset_create_regression(&data, NULL, SMALL_ROWS, SMALL_FEATURES,
                                             small_targets, 1,
                                             ST_DATA_COPY),
                ST_EINVAL, "features");
    if (CHECK_OK(st_dataset_create(&valid, small_features, SMALL_ROWS, SMALL_FEATURES,
                                   small_labels, ST_DATA_COPY)))
        CHECK_ERROR(st_dataset_num_samples(NULL, valid), ST_EINVAL, "out");
    CHECK_ERROR(st_dataset_num_samples(&count, NULL), ST_EINVAL, "dataset");
    st_dataset_free(valid);
    st_dataset_free(data);
}

static void test_bad_dataset_sizes(void) {
    st_dataset *data = NULL;
    CHECK_ERROR(st_dataset_create(&data, small_features, 0, SMALL_FEATURES, small_labels,
                                  ST_DATA_COPY), ST_EINVAL,
                "num_samples");
    CHECK_ERROR(st_dataset_create(&data, small_features, -5, SMALL_FEATURES, small_labels,
                                  ST_DATA_COPY),
                ST_EINVAL, "num_samples");
    CHECK_ERROR(st_dataset_create(&data, small_features, SMALL_ROWS, 0, small_labels,
                                  ST_DATA_COPY), ST_EINVAL,
                "num_features");
    CHECK_ERROR(st_dataset_create(&data, small_features, SMALL_ROWS, -1, small_labels,
                                  ST_DATA_BORROW), ST_EINVAL,
                "num_features");
    CHECK_ERROR(st_dataset_create_regression(&data, small_features, 0, SMALL_FEATURES,
                                             small_targets, 1,
                                             ST_DATA_COPY),
                ST_EINVAL, "num_samples");
    CHECK_ERROR(st_dataset_create_regression(&data, small_features, SMALL_ROWS, SMALL_FEATURES,
                                             small_targets, 0,
                                             ST_DATA_COPY),
                ST_EINVAL, "num_targets");
    /* num_samples * num_features overflows int64: must be refused, not trap. */
    CHECK_FAILS(st_dataset_create(&data, small_features, INT64_MAX / 2, SMALL_FEATURES,
                                  small_labels,
                                  ST_DATA_BORROW),
                NULL);
    st_dataset_free(data);
}

static void test_unknown_ownership(void) {
    st_dataset *data = NULL;
    CHECK_ERROR(st_dataset_create(&data, small_features, SMALL_ROWS, SMALL_FEATURES, small_labels,
                                  (st_data_ownership)7),
                ST_EINVAL, "ownership");
    CHECK_ERROR(st_dataset_create_regression(&data, small_features, SMALL_ROWS, SMALL_FEATURES,
                                             small_targets, 1,
                                             (st_data_ownership)-1),
                ST_EINVAL, "ownership");
    st_dataset_free(data);
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

/* num_samples * num_features does not overflow (INT64_MAX x 1), so Dataset.check passes and
 * Dataset.copy allocates INT64_MAX floats. The library must refuse before reading the
 * caller's buffer (which holds 8 rows). */
static void test_dataset_copy_absurd_rows(void) {
    st_dataset *d = NULL;
    CHECK_FAILS(st_dataset_create(&d, small_features, INT64_MAX, 1, NULL, ST_DATA_COPY), NULL);
    CHECK(d == NULL, "a failed call left a handle");
    st_dataset_free(d);
}

/* The same size borrowed: nothing is allocated at creation, but every use builds
 * DataLoader.order = Array(0..<num_samples). The library must refuse at creation or at use;
 * only the first row is ever needed by st_trainer_num_outputs. */
static void test_dataset_borrow_absurd_rows(void) {
    st_dataset *d = NULL;
    st_module *model = NULL;
    st_trainer *trainer = NULL;
    st_training_args args;
    int64_t outputs = 0;
    if (SURVIVES(st_dataset_create(&d, small_features, INT64_MAX, 1, NULL,
                                   ST_DATA_BORROW)) != ST_OK)
        goto done; /* refused at creation: fine */
    REQUIRE_OK(st_linear_create(&model, 1, 2, true));
    REQUIRE_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION));
    REQUIRE_OK(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args));
    CHECK_FAILS(st_trainer_num_outputs(&outputs, trainer, d), NULL);
done:
    st_trainer_free(trainer);
    st_module_free(model);
    st_dataset_free(d);
}

/* Sizes at their extremes (INT64_MIN, -1, 0, INT64_MAX): refused with a status, no handle. */
static void test_dataset_create_extremes(void) {
    static const int64_t sizes[4] = {INT64_MIN, -1, 0, INT64_MAX};
    st_dataset *d = NULL;
    size_t i;
    for (i = 0; i < COUNT(sizes); i++) {
        int64_t v = sizes[i];
        CHECK_FAILS(st_dataset_create_regression(&d, small_features, SMALL_ROWS, SMALL_FEATURES,
                                                 small_features, v, ST_DATA_COPY), NULL);
        CHECK_FAILS(st_dataset_create(&d, small_features, v, SMALL_FEATURES, small_labels,
                                      ST_DATA_BORROW), NULL);
        CHECK_FAILS(st_dataset_create(&d, small_features, v == INT64_MAX ? 2 : v, v, small_labels,
                                      ST_DATA_BORROW), NULL);
    }
    CHECK_FAILS(st_dataset_create_regression(&d, small_features, INT64_MAX / 2, 1, small_features,
                                             3, ST_DATA_BORROW), NULL);
    CHECK(d == NULL, "failed calls left handles");
}

int main(int argc, char **argv) {
    /* ctest registers one test per entry (Tests/c/CMakeLists.txt reads this table). */
    static const test_case cases[] = {
        {"null_dataset_arguments", test_null_dataset_arguments},
        {"bad_dataset_sizes", test_bad_dataset_sizes},
        {"unknown_ownership", test_unknown_ownership},
        {"dataset_sample_shape_errors", test_dataset_sample_shape_errors},
        {"dataset_copy_absurd_rows", test_dataset_copy_absurd_rows},
        {"dataset_borrow_absurd_rows", test_dataset_borrow_absurd_rows},
        {"dataset_create_extremes", test_dataset_create_extremes},
    };
    if (argc == 2) fail_if_hung(60);
    return run_test_cases(cases, COUNT(cases), argc, argv);
}
