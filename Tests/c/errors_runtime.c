/* Errors of the "Version and runtime" section: st_blas_set_num_threads refuses thread counts
 * below 1 and absurd ones.
 *
 * Each case is its own ctest test, c.errors_runtime.<case>, in its own process: a case that
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

static void test_bad_blas_thread_count(void) {
    CHECK_ERROR(st_blas_set_num_threads(0), ST_EINVAL, "num_threads");
    CHECK_ERROR(st_blas_set_num_threads(-3), ST_EINVAL, "num_threads");
}

/* Thread counts at the extremes of int. */
static void test_blas_thread_count_extremes(void) {
    CHECK_FAILS(st_blas_set_num_threads(INT32_MIN), NULL);
    CHECK_FAILS(st_blas_set_num_threads(INT32_MAX), NULL);
    CHECK_FAILS(st_blas_set_num_threads(0), NULL);
}

int main(int argc, char **argv) {
    /* ctest registers one test per entry (Tests/c/CMakeLists.txt reads this table). */
    static const test_case cases[] = {
        {"bad_blas_thread_count", test_bad_blas_thread_count},
        {"blas_thread_count_extremes", test_blas_thread_count_extremes},
    };
    if (argc == 2) fail_if_hung(60);
    return run_test_cases(cases, COUNT(cases), argc, argv);
}
