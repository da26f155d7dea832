/* The thread-count setting (st_set_num_threads, st_get_num_threads, the older
 * st_blas_set_num_threads) and its default from the environment, and an optimizer step that
 * gives the same bits with 1 and 2 threads through the C API.
 *
 * Each case runs in its own process (ctest, see CMakeLists.txt), so a case that sets the
 * environment before its first call sees the default the library reads from it. */
#define _GNU_SOURCE /* sched_getaffinity, setenv */
#include "check.h"
#include "swifttrain.h"

#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void clear_environment(void) {
    unsetenv("SWIFTTRAIN_NUM_THREADS");
    unsetenv("OPENBLAS_NUM_THREADS");
    unsetenv("OMP_NUM_THREADS");
}

static void test_round_trip(void) {
    CHECK(st_get_num_threads() >= 1, "default %d", st_get_num_threads());
    const int counts[] = {1, 3, 2};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        CHECK_OK(st_set_num_threads(counts[i]));
        CHECK(st_get_num_threads() == counts[i], "set %d, got %d", counts[i], st_get_num_threads());
    }
    CHECK_OK(st_blas_set_num_threads(1)); /* the older name sets the same count */
    CHECK(st_get_num_threads() == 1, "after st_blas_set_num_threads(1): %d", st_get_num_threads());
}

static void test_bad_counts(void) {
    CHECK_OK(st_set_num_threads(2));
    const int bad[] = {0, -1, INT_MIN, ST_MAX_NUM_THREADS + 1, INT_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_ERROR(st_set_num_threads(bad[i]), ST_EINVAL, "num_threads must be between 1 and 1024");
        CHECK_ERROR(st_blas_set_num_threads(bad[i]), ST_EINVAL, "num_threads");
        CHECK(st_get_num_threads() == 2, "a refused %d changed the count to %d", bad[i], st_get_num_threads());
    }
}

/* The largest count is accepted (nothing computes with it here). */
static void test_largest_count(void) {
    CHECK_OK(st_set_num_threads(ST_MAX_NUM_THREADS));
    CHECK(st_get_num_threads() == ST_MAX_NUM_THREADS, "got %d", st_get_num_threads());
    CHECK_OK(st_set_num_threads(1));
}

static void test_default_is_the_cpus_of_the_process(void) {
    clear_environment();
    cpu_set_t cpus;
    CHECK(sched_getaffinity(0, sizeof cpus, &cpus) == 0, "sched_getaffinity");
    CHECK(st_get_num_threads() == CPU_COUNT(&cpus), "%d threads, %d CPUs", st_get_num_threads(), CPU_COUNT(&cpus));
}

static void test_swifttrain_variable_comes_first(void) {
    clear_environment();
    setenv("SWIFTTRAIN_NUM_THREADS", "3", 1);
    setenv("OPENBLAS_NUM_THREADS", "2", 1);
    setenv("OMP_NUM_THREADS", "5", 1);
    CHECK(st_get_num_threads() == 3, "got %d", st_get_num_threads());
    CHECK_OK(st_set_num_threads(1)); /* a call overrides the environment */
    CHECK(st_get_num_threads() == 1, "got %d", st_get_num_threads());
}

static void test_openblas_then_omp_variable(void) {
    clear_environment();
    setenv("SWIFTTRAIN_NUM_THREADS", "many", 1); /* not a number: ignored */
    setenv("OPENBLAS_NUM_THREADS", "0", 1);      /* out of range: ignored */
    setenv("OMP_NUM_THREADS", "1", 1);
    CHECK(st_get_num_threads() == 1, "got %d", st_get_num_threads());
}

static void test_openblas_variable(void) {
    clear_environment();
    setenv("OPENBLAS_NUM_THREADS", "3", 1);
    setenv("OMP_NUM_THREADS", "1", 1);
    CHECK(st_get_num_threads() == 3, "got %d", st_get_num_threads());
}

/* AdamW on a parameter of 300001 elements (5 chunks of the pool): the same bits after two
 * steps with 1 and with 2 threads. */
static int adamw_steps(float *out, size_t n, int threads) {
    float *start = malloc(n * sizeof *start), *ones = malloc(n * sizeof *ones);
    for (size_t j = 0; j < n; j++) {
        start[j] = (float)((int)(j % 1000) - 500) / 1000.0f;
        ones[j] = (float)(j % 3) - 1.0f;
    }
    int64_t shape = (int64_t)n;
    st_tensor *p = NULL, *c = NULL, *product = NULL, *loss = NULL;
    st_optim *optim = NULL;
    st_optim_options options;
    int ok = CHECK_OK(st_set_num_threads(threads)) &&
             CHECK_OK(st_tensor_create(&p, start, &shape, 1, ST_FLOAT32, ST_DATA_COPY)) &&
             CHECK_OK(st_tensor_create(&c, ones, &shape, 1, ST_FLOAT32, ST_DATA_COPY)) &&
             CHECK_OK(st_tensor_set_requires_grad(p, true)) &&
             CHECK_OK(st_optim_options_init(&options, ST_OPTIM_ADAMW)) &&
             CHECK_OK(st_optim_create(&optim, ST_OPTIM_ADAMW, &p, 1, &options)) &&
             CHECK_OK(st_mul(&product, p, c)) && CHECK_OK(st_sum(&loss, product, NULL, 0, false)) &&
             CHECK_OK(st_tensor_backward(loss, NULL)) && CHECK_OK(st_optim_step(optim)) &&
             CHECK_OK(st_optim_step(optim)) && CHECK_OK(st_tensor_copy_to(out, n * sizeof *out, p));
    st_optim_free(optim);
    st_tensor_free(loss);
    st_tensor_free(product);
    st_tensor_free(c);
    st_tensor_free(p);
    free(ones);
    free(start);
    return ok;
}

static void test_optimizer_step_does_not_depend_on_threads(void) {
    const size_t n = 300001;
    float *one = malloc(n * sizeof *one), *two = malloc(n * sizeof *two);
    if (adamw_steps(one, n, 1) && adamw_steps(two, n, 2)) {
        CHECK(memcmp(one, two, n * sizeof *one) == 0, "1 and 2 threads give different parameters");
        CHECK(one[0] != -0.5f, "the steps changed the parameters (%g)", one[0]);
    }
    free(two);
    free(one);
}

int main(int argc, char **argv) {
    /* ctest registers one test per entry (Tests/c/CMakeLists.txt reads this table). */
    static const test_case cases[] = {
        {"round_trip", test_round_trip},
        {"bad_counts", test_bad_counts},
        {"largest_count", test_largest_count},
        {"default_is_the_cpus_of_the_process", test_default_is_the_cpus_of_the_process},
        {"swifttrain_variable_comes_first", test_swifttrain_variable_comes_first},
        {"openblas_then_omp_variable", test_openblas_then_omp_variable},
        {"openblas_variable", test_openblas_variable},
        {"optimizer_step_does_not_depend_on_threads", test_optimizer_step_does_not_depend_on_threads},
    };
    if (argc == 2) fail_if_hung(60);
    return run_test_cases(cases, COUNT(cases), argc, argv);
}
