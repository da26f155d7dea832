/* Errors of the "Metrics" section: NULL arguments, an index out of range and an unknown name
 * (ST_ENOTFOUND) on the metrics a training returns.
 *
 * Each case is its own ctest test, c.errors_metrics.<case>, in its own process: a case that
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

int main(int argc, char **argv) {
    /* ctest registers one test per entry (Tests/c/CMakeLists.txt reads this table). */
    static const test_case cases[] = {
        {"metrics_arguments", test_metrics_arguments},
    };
    if (argc == 2) fail_if_hung(60);
    return run_test_cases(cases, COUNT(cases), argc, argv);
}
