/* A steady-state training step allocates nothing on the heap (issue 13's target): the program
 * defines malloc and its relatives itself, so every allocation the library makes (the Swift
 * runtime's objects as well as buffers) comes through them and is counted, and a callback on
 * STEP_BEGIN reads the count between steps.
 *
 * "Steady state": after the first steps (the optimizer creates its state, the library its
 * buffers) and between the steps that log, evaluate or save (the second case crosses an
 * epoch's end: the new epoch's shuffled order reuses the last one's memory). The models are sequences of linear layers and element-wise
 * activations with cross-entropy, which the trainer runs through its planned step
 * (docs/performance.md); a callback on one of the step's tensor events sends a step down the
 * general path, which allocates, and the last case checks that the counter sees it. No
 * timing is measured.
 *
 * DIGITS_DIR (a compile definition) is the directory holding train.csv and test.csv. */
#include "check.h"
#include "digits_data.h"
#include "swifttrain.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

/* ---- counting allocations ---------------------------------------------------------------- */

/* glibc's own entry points, which the definitions below forward to. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *pointer);

static int counting;
static uint64_t allocations;

static void count_one(void) {
    if (__atomic_load_n(&counting, __ATOMIC_RELAXED))
        __atomic_fetch_add(&allocations, 1, __ATOMIC_RELAXED);
}

void *malloc(size_t size) {
    count_one();
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    count_one();
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    count_one();
    return __libc_realloc(pointer, size);
}

void *memalign(size_t alignment, size_t size) {
    count_one();
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    count_one();
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    void *p;
    count_one();
    p = __libc_memalign(alignment, size);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

void free(void *pointer) { __libc_free(pointer); }

/* ---- the runs ---------------------------------------------------------------------------- */

static digits_data train_rows, test_rows;

/* Counted steps: the allocations between STEP_BEGIN of step `from` and STEP_BEGIN of step
 * `to` (global_step counts the steps done). */
typedef struct window {
    int64_t from, to;
    uint64_t per_step[64];
    uint64_t at_last_step_begin;
} window;

static int on_step_begin(st_event event, const st_trainer_state *state,
                         st_trainer_control *control, void *user_data) {
    window *w = user_data;
    int64_t step = state->global_step;
    uint64_t now = __atomic_load_n(&allocations, __ATOMIC_RELAXED);
    (void)event;
    (void)control;
    if (step > w->from && step <= w->to && step - w->from - 1 < 64)
        w->per_step[step - w->from - 1] = now - w->at_last_step_begin;
    w->at_last_step_begin = now;
    __atomic_store_n(&counting, step >= w->from && step < w->to, __ATOMIC_RELAXED);
    return 0;
}

static int on_after_backward(st_event event, const st_trainer_state *state,
                             st_trainer_control *control, void *user_data) {
    (void)event;
    (void)state;
    (void)control;
    (void)user_data;
    return 0;
}

/* Trains Linear(64,64)-ReLU-Linear(64,64)-Tanh-Linear(64,10) on the digits with `optim`, batch 32
 * (`accumulation` batches a step; with `general_path`, a callback on AFTER_BACKWARD), for
 * 40 steps (an epoch is 45), nothing logged, evaluated or saved in between; returns the sum of
 * the allocations of steps 6..35 (UINT64_MAX when the run failed) and prints them per step. */
static uint64_t steady_allocations(const char *optim, int accumulation, int general_path) {
    st_module *layers[5] = {NULL, NULL, NULL, NULL, NULL}, *model = NULL;
    st_dataset *data = NULL;
    st_training_args args;
    st_trainer *trainer = NULL;
    window w = {5, 35, {0}, 0};
    uint64_t total = 0;
    int64_t i;
    int ok = 0;
    if (!CHECK(digits_load_fixture(&train_rows, &test_rows, DIGITS_DIR), "the digits fixture"))
        return UINT64_MAX;
    st_manual_seed(0);
    REQUIRE_OK(st_linear_create(&layers[0], DIGITS_NUM_FEATURES, 64, true));
    REQUIRE_OK(st_relu_create(&layers[1]));
    REQUIRE_OK(st_linear_create(&layers[2], 64, 64, true));
    REQUIRE_OK(st_activation_create(&layers[3], ST_ACTIVATION_TANH));
    REQUIRE_OK(st_linear_create(&layers[4], 64, DIGITS_NUM_CLASSES, true));
    REQUIRE_OK(st_sequential_create(&model, layers, 5));
    REQUIRE_OK(st_dataset_create(&data, train_rows.features, train_rows.num_samples,
                                 DIGITS_NUM_FEATURES, train_rows.labels, ST_DATA_BORROW));
    REQUIRE_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION));
    REQUIRE_OK(st_training_args_set(&args, "optim", optim));
    REQUIRE_OK(st_training_args_set(&args, "save_strategy", "no"));
    REQUIRE_OK(st_training_args_set(&args, "report_to", "none"));
    args.per_device_train_batch_size = 32;
    args.gradient_accumulation_steps = accumulation;
    args.max_steps = 40;
    args.logging_steps = 1000;
    args.max_grad_norm = 1.0;
    REQUIRE_OK(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args));
    REQUIRE_OK(st_trainer_set_train_dataset(trainer, data));
    REQUIRE_OK(st_trainer_add_callback(trainer, on_step_begin, &w,
                                       ST_EVENT_MASK(ST_EVENT_STEP_BEGIN)));
    if (general_path)
        REQUIRE_OK(st_trainer_add_callback(trainer, on_after_backward, NULL,
                                           ST_EVENT_MASK(ST_EVENT_AFTER_BACKWARD)));
    REQUIRE_OK(st_trainer_train(NULL, trainer));
    printf("%s, accumulation %d, %s path: allocations in steps %lld..%lld:", optim, accumulation,
           general_path ? "general" : "planned", (long long)w.from + 1, (long long)w.to);
    for (i = 0; i < w.to - w.from; i++) {
        printf(" %llu", (unsigned long long)w.per_step[i]);
        total += w.per_step[i];
    }
    printf("\n");
    ok = 1;
done:
    __atomic_store_n(&counting, 0, __ATOMIC_RELAXED);
    st_trainer_free(trainer);
    st_dataset_free(data);
    st_module_free(model);
    for (i = 0; i < 5; i++) st_module_free(layers[i]);
    return ok ? total : UINT64_MAX;
}

static void test_adamw_steps_allocate_nothing(void) {
    uint64_t total = steady_allocations("adamw_torch", 1, 0);
    CHECK(total == 0, "%llu heap allocations in 30 steady-state AdamW steps; expected none",
          (unsigned long long)total);
}

static void test_sgd_with_accumulation_allocates_nothing(void) {
    uint64_t total = steady_allocations("sgd", 2, 0);
    CHECK(total == 0, "%llu heap allocations in 30 steady-state SGD steps of 2 batches each; "
          "expected none", (unsigned long long)total);
}

/* The counter works: the general path (a callback on AFTER_BACKWARD, which sees the step's
 * tensors) builds an autograd graph of objects every step. */
static void test_the_general_path_is_counted(void) {
    uint64_t total = steady_allocations("adamw_torch", 1, 1);
    CHECK(total != UINT64_MAX && total >= 30, "the general path made %llu allocations in 30 "
          "steps; the counter does not see the library's allocations", (unsigned long long)total);
}

int main(int argc, char **argv) {
    /* ctest registers one test per entry (Tests/c/CMakeLists.txt reads this table). */
    static const test_case cases[] = {
        {"adamw_steps_allocate_nothing", test_adamw_steps_allocate_nothing},
        {"sgd_with_accumulation_allocates_nothing", test_sgd_with_accumulation_allocates_nothing},
        {"the_general_path_is_counted", test_the_general_path_is_counted},
    };
    int status = run_test_cases(cases, sizeof cases / sizeof cases[0], argc, argv);
    digits_free(&train_rows);
    digits_free(&test_rows);
    return status;
}
