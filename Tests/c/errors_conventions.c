/* Errors of the header's conventions and its "Status codes and errors" section, which every
 * section shares: st_status_string names every status; *_free(NULL) is a no-op that leaves the
 * last error alone; a freed handle (freed once or twice), a handle of another kind and a value
 * that never was a handle give a status, never a crash, whatever the function; size_t counts
 * at and above 2^63 are refused everywhere.
 *
 * Each case is its own ctest test, c.errors_conventions.<case>, in its own process: a case that
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

/* One handle of every kind. */
typedef struct all_kinds {
    st_tensor *tensor;
    st_module *module;
    st_dataset *dataset;
    st_trainer *trainer;
    st_metrics *metrics;
    st_named_tensors *list;
    st_optim *optim;
    st_lr_schedule *schedule;
    st_plateau *plateau;
} all_kinds;

static int make_all_kinds(all_kinds *k) {
    st_training_args args;
    st_optim_options o;
    const float zero = 0;
    int64_t one = 1;
    memset(k, 0, sizeof *k);
    return CHECK_OK(st_tensor_create(&k->tensor, &zero, &one, 1, ST_FLOAT32, ST_DATA_COPY)) &&
           CHECK_OK(st_tensor_set_requires_grad(k->tensor, true)) &&
           CHECK_OK(st_linear_create(&k->module, SMALL_FEATURES, SMALL_CLASSES, true)) &&
           CHECK_OK(st_dataset_create(&k->dataset, small_features, SMALL_ROWS, SMALL_FEATURES,
                                      small_labels, ST_DATA_COPY)) &&
           CHECK_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION)) &&
           CHECK_OK(st_trainer_create(&k->trainer, k->module, ST_LOSS_CROSS_ENTROPY, &args)) &&
           CHECK_OK(st_trainer_evaluate(&k->metrics, k->trainer, k->dataset)) &&
           CHECK_OK(st_named_tensors_create(&k->list)) &&
           CHECK_OK(st_optim_options_init(&o, ST_OPTIM_SGD)) &&
           CHECK_OK(st_optim_create(&k->optim, ST_OPTIM_SGD, &k->tensor, 1, &o)) &&
           CHECK_OK(st_lr_schedule_create(&k->schedule, ST_LR_LINEAR, 0, 10, NULL, 1e-3)) &&
           CHECK_OK(st_plateau_create(&k->plateau, NULL));
}

static void free_all_kinds(all_kinds *k) {
    st_plateau_free(k->plateau);
    st_lr_schedule_free(k->schedule);
    st_optim_free(k->optim);
    st_named_tensors_free(k->list);
    st_metrics_free(k->metrics);
    st_trainer_free(k->trainer);
    st_dataset_free(k->dataset);
    st_module_free(k->module);
    st_tensor_free(k->tensor);
}

/* Every kind freed twice (the second free is harmless), and every use after the free is
 * ST_EMISUSE. */
static void test_double_free_and_use_after_free(void) {
    all_kinds k;
    int64_t n = 0;
    size_t count = 0;
    double value = 0;
    double rates[1] = {1e-3};
    const char *name = NULL;
    st_tensor *out = NULL;
    st_metrics *m = NULL;
    if (!make_all_kinds(&k)) {
        free_all_kinds(&k);
        return;
    }
    free_all_kinds(&k);
    free_all_kinds(&k);
    CHECK_ERROR(st_tensor_numel(&n, k.tensor), ST_EMISUSE, "freed");
    CHECK_ERROR(st_module_num_parameters(&n, k.module), ST_EMISUSE, "freed");
    CHECK_ERROR(st_dataset_num_samples(&n, k.dataset), ST_EMISUSE, "freed");
    CHECK_ERROR(st_trainer_log_history_count(&count, k.trainer), ST_EMISUSE, "freed");
    CHECK_ERROR(st_trainer_train(&m, k.trainer), ST_EMISUSE, "freed");
    CHECK_ERROR(st_metrics_get(&value, k.metrics, "eval_loss"), ST_EMISUSE, "freed");
    CHECK_ERROR(st_metrics_entry(&name, &value, k.metrics, 0), ST_EMISUSE, "freed");
    CHECK(st_metrics_count(k.metrics) == 0, "count of freed metrics");
    CHECK_ERROR(st_named_tensors_entry(&name, &out, k.list, 0), ST_EMISUSE, "freed");
    CHECK_ERROR(st_optim_step(k.optim), ST_EMISUSE, "freed");
    CHECK_ERROR(st_lr_schedule_factor(&value, k.schedule, 0), ST_EMISUSE, "freed");
    CHECK_ERROR(st_plateau_step(k.plateau, 1.0, rates, 1), ST_EMISUSE, "freed");
    CHECK(out == NULL && m == NULL, "failed calls left handles");
}

/* Handles of one kind where another is expected (a cast through void *): ST_EINVAL naming the
 * expected kind, never a crash or a misread object. */
static void test_wrong_handle_kind_everywhere(void) {
    all_kinds k;
    int64_t n = 0;
    size_t count = 0;
    double value = 0;
    double rates[1] = {1e-3};
    st_tensor *out = NULL;
    st_trainer *made = NULL;
    st_metrics *evaluated = NULL;
    st_training_args args;
    void *t;
    if (!make_all_kinds(&k)) goto done;
    t = k.tensor;
    CHECK_ERROR(st_module_num_parameters(&n, (st_module *)t), ST_EINVAL, "st_module");
    CHECK_ERROR(st_module_forward(&out, (st_module *)t, k.tensor), ST_EINVAL, "st_module");
    CHECK_ERROR(st_dataset_num_samples(&n, (st_dataset *)t), ST_EINVAL, "st_dataset");
    CHECK_ERROR(st_trainer_log_history_count(&count, (st_trainer *)t), ST_EINVAL, "st_trainer");
    CHECK_ERROR(st_metrics_get(&value, (st_metrics *)t, "x"), ST_EINVAL, "st_metrics");
    CHECK(st_metrics_count((st_metrics *)t) == 0, "metrics count of a tensor handle");
    CHECK_ERROR(st_named_tensors_add((st_named_tensors *)t, "x", k.tensor), ST_EINVAL,
                "st_named_tensors");
    CHECK(st_named_tensors_count((st_named_tensors *)t) == 0, "list count of a tensor handle");
    CHECK_ERROR(st_optim_step((st_optim *)t), ST_EINVAL, "st_optim");
    CHECK_ERROR(st_lr_schedule_factor(&value, (st_lr_schedule *)t, 0), ST_EINVAL, "st_lr_schedule");
    CHECK_ERROR(st_plateau_step((st_plateau *)t, 1.0, rates, 1), ST_EINVAL, "st_plateau");
    /* and the other way round */
    CHECK_ERROR(st_tensor_numel(&n, (st_tensor *)(void *)k.module), ST_EINVAL, "st_tensor");
    CHECK_ERROR(st_tensor_numel(&n, (st_tensor *)(void *)k.trainer), ST_EINVAL, "st_tensor");
    CHECK_ERROR(st_relu(&out, (st_tensor *)(void *)k.metrics), ST_EINVAL, "st_tensor");
    CHECK_ERROR(st_module_forward(&out, (st_module *)(void *)k.optim, k.tensor), ST_EINVAL,
                "st_module");
    CHECK_ERROR(st_optim_step((st_optim *)(void *)k.schedule), ST_EINVAL, "st_optim");
    REQUIRE_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION));
    CHECK_ERROR(st_trainer_create(&made, (st_module *)(void *)k.dataset, ST_LOSS_MSE, &args),
                ST_EINVAL, "st_module");
    CHECK_ERROR(st_trainer_set_train_dataset(k.trainer, (st_dataset *)(void *)k.trainer),
                ST_EINVAL, "st_dataset");
    CHECK_ERROR(st_trainer_evaluate(&evaluated, k.trainer, (st_dataset *)(void *)k.list),
                ST_EINVAL, "st_dataset");
    CHECK(out == NULL && made == NULL && evaluated == NULL, "failed calls left handles");
done:
    free_all_kinds(&k);
}

/* Freeing with the *_free of another kind (a cast through void *) must not crash; whether it
 * frees the handle is left open, but the handle then either still works or is ST_EMISUSE. */
static void test_free_with_wrong_kind(void) {
    st_tensor *t = NULL;
    int64_t n = 0;
    int rc;
    if (!CHECK_OK(st_tensor_zeros(&t, (const int64_t[]){2}, 1, ST_FLOAT32))) return;
    st_module_free((st_module *)(void *)t);
    st_dataset_free((st_dataset *)(void *)t);
    st_trainer_free((st_trainer *)(void *)t);
    st_metrics_free((st_metrics *)(void *)t);
    rc = st_tensor_numel(&n, t);
    CHECK(rc == ST_OK || rc == ST_EMISUSE, "st_tensor_numel after a wrong-kind free: %d", rc);
    st_tensor_free(t);
}

/* Values that never were handles: ST_EMISUSE (not in the handle table), never a dereference. */
static void test_never_created_handles(void) {
    static const uintptr_t bogus[] = {1, 0x10, 0x1000, 0x1234, 0xdeadbeef,
                                      (uintptr_t)-1, (uintptr_t)-16};
    int64_t n = 0;
    size_t i;
    st_tensor *out = NULL;
    int local = 0;
    for (i = 0; i < COUNT(bogus); i++) {
        void *h = (void *)bogus[i];
        CHECK_ERROR(st_tensor_numel(&n, (st_tensor *)h), ST_EMISUSE, NULL);
        CHECK_ERROR(st_relu(&out, (st_tensor *)h), ST_EMISUSE, NULL);
        CHECK_ERROR(st_module_num_parameters(&n, (st_module *)h), ST_EMISUSE, NULL);
        CHECK_ERROR(st_dataset_num_samples(&n, (st_dataset *)h), ST_EMISUSE, NULL);
        CHECK_ERROR(st_optim_step((st_optim *)h), ST_EMISUSE, NULL);
        CHECK(st_metrics_count((st_metrics *)h) == 0, "metrics count of a bogus handle");
        st_tensor_free((st_tensor *)h);
        st_trainer_free((st_trainer *)h);
    }
    CHECK_ERROR(st_tensor_numel(&n, (st_tensor *)(void *)&local), ST_EMISUSE, NULL);
    CHECK(out == NULL, "a failed call left a handle");
}

static void test_size_t_counts_above_int64_max(void) {
    static const size_t sizes[2] = {SIZE_MAX, (size_t)INT64_MAX + 1};
    const float data[4] = {0};
    st_tensor *a = zeros(ST_FLOAT32, 1, (const int64_t[]){4}), *out = NULL, *list[1];
    st_module *model = NULL, *seq = NULL;
    st_dataset *d = NULL;
    st_trainer *trainer = NULL;
    st_training_args args;
    st_named_tensors *names = NULL;
    st_metrics *metrics = NULL, *entry = NULL;
    st_optim *opt = NULL, *made = NULL;
    st_optim_options o;
    st_param_group_info info;
    const char *name = NULL;
    double value = 0;
    float predictions[SMALL_ROWS * SMALL_CLASSES];
    const int64_t shape[8] = {4, 1, 1, 1, 1, 1, 1, 1};
    size_t i;
    REQUIRE(a != NULL, "input");
    list[0] = a;
    REQUIRE_OK(st_tensor_set_requires_grad(a, true));
    REQUIRE_OK(st_linear_create(&model, SMALL_FEATURES, SMALL_CLASSES, true));
    REQUIRE_OK(st_dataset_create(&d, small_features, SMALL_ROWS, SMALL_FEATURES, small_labels,
                                 ST_DATA_COPY));
    REQUIRE_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION));
    REQUIRE_OK(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args));
    REQUIRE_OK(st_trainer_evaluate(&metrics, trainer, d));
    REQUIRE_OK(st_named_tensors_create(&names));
    REQUIRE_OK(st_named_tensors_add(names, "a", a));
    REQUIRE_OK(st_optim_options_init(&o, ST_OPTIM_SGD));
    REQUIRE_OK(st_optim_create(&opt, ST_OPTIM_SGD, list, 1, &o));
    REQUIRE_OK(st_optim_get_param_group(&info, opt, 0));
    for (i = 0; i < COUNT(sizes); i++) {
        size_t n = sizes[i];
        CHECK_FAILS(st_tensor_create(&out, data, shape, n, ST_FLOAT32, ST_DATA_COPY), NULL);
        CHECK_FAILS(st_tensor_zeros(&out, shape, n, ST_FLOAT32), NULL);
        CHECK_FAILS(st_tensor_full(&out, shape, n, 1.0f), NULL);
        CHECK_FAILS(st_reshape(&out, a, shape, n), NULL);
        CHECK_FAILS(st_expand(&out, a, shape, n), NULL);
        CHECK_FAILS(st_sum(&out, a, shape, n, false), NULL);
        CHECK_FAILS(st_permute(&out, a, shape, n), NULL);
        CHECK_FAILS(st_layer_norm(&out, a, shape, n, NULL, NULL, 1e-5f), NULL);
        CHECK_FAILS(st_cat(&out, list, n, 0), NULL);
        CHECK_FAILS(st_stack(&out, list, n, 0), NULL);
        CHECK_FAILS(st_tensor_copy_to(predictions, n, a), NULL);
        CHECK_FAILS(st_sequential_create(&seq, &model, n), NULL);
        CHECK_FAILS(st_dataset_set_sample_shape(d, shape, n), NULL);
        CHECK_FAILS(st_trainer_predict(predictions, n, NULL, trainer, d), NULL);
        CHECK_FAILS(st_trainer_log_history_entry(&entry, trainer, n), NULL);
        CHECK_FAILS(st_metrics_entry(&name, &value, metrics, n), NULL);
        CHECK_FAILS(st_named_tensors_entry(&name, &out, names, n), NULL);
        CHECK_FAILS(st_optim_create(&made, ST_OPTIM_SGD, list, n, &o), NULL);
        CHECK_FAILS(st_optim_add_param_group(opt, list, n, 1e-3, 0, 0), NULL);
        CHECK_FAILS(st_optim_get_param_group(&info, opt, n), NULL);
        CHECK_FAILS(st_optim_set_param_group(opt, n, &info), NULL);
    }
    CHECK(out == NULL && seq == NULL && entry == NULL && made == NULL, "failed calls left handles");
done:
    st_optim_free(opt);
    st_named_tensors_free(names);
    st_metrics_free(metrics);
    st_trainer_free(trainer);
    st_dataset_free(d);
    st_module_free(model);
    free_tracked();
}

int main(int argc, char **argv) {
    /* ctest registers one test per entry (Tests/c/CMakeLists.txt reads this table). */
    static const test_case cases[] = {
        {"status_strings", test_status_strings},
        {"free_null_is_noop", test_free_null_is_noop},
        {"double_free_and_use_after_free", test_double_free_and_use_after_free},
        {"wrong_handle_kind_everywhere", test_wrong_handle_kind_everywhere},
        {"free_with_wrong_kind", test_free_with_wrong_kind},
        {"never_created_handles", test_never_created_handles},
        {"size_t_counts_above_int64_max", test_size_t_counts_above_int64_max},
    };
    if (argc == 2) fail_if_hung(60);
    return run_test_cases(cases, COUNT(cases), argc, argv);
}
