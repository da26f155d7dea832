/* HF's overridable Trainer methods through the C header (what Python's Trainer sets when a
 * subclass overrides log or evaluate, or optimizers= is given):
 *   - st_trainer_set_log_function receives every log in place of the history, and
 *     st_trainer_log from inside it records at once;
 *   - st_trainer_set_evaluate_function runs every evaluation during training, nested
 *     st_trainer_evaluate evaluates at once, and its metrics drive metric_for_best_model;
 *   - st_trainer_set_optimizer trains with the given optimizer and schedule, bit for bit as
 *     the trainer's own from st_trainer_optimizer_options / st_trainer_parameter_decays /
 *     st_trainer_create_schedule;
 *   - each refuses what it cannot do, with a message.
 * The small problem of check.h: Linear(4, 3) on 8 rows, batch 2, one epoch (4 steps). */
#include "check.h"
#include "swifttrain.h"

#include <string.h>

static int set(st_training_args *args, const char *name, const char *value) {
    return CHECK_OK(st_training_args_set(args, name, value));
}

/* A trainer over p's model and data with p's arguments plus `count` (name, value) pairs. */
static st_trainer *trainer_with(small_problem *p, const char *const *pairs, size_t count) {
    st_training_args args = p->args;
    st_trainer *trainer = NULL;
    for (size_t i = 0; i + 1 < count; i += 2)
        if (!set(&args, pairs[i], pairs[i + 1])) return NULL;
    if (CHECK_OK(st_trainer_create(&trainer, p->model, ST_LOSS_CROSS_ENTROPY, &args)) &&
        CHECK_OK(st_trainer_set_train_dataset(trainer, p->data)))
        return trainer;
    st_trainer_free(trainer);
    return NULL;
}

#define MAX_ENTRIES 32

/* The entries of `metrics`, then (name, value), into names[MAX_ENTRIES] / values[MAX_ENTRIES];
 * returns their number, or 0 when they do not fit or cannot be read. */
static size_t with_entry(const char **names, double *values, const st_metrics *metrics, const char *name,
                         double value) {
    size_t count = st_metrics_count(metrics);
    if (count + 1 > MAX_ENTRIES) return 0;
    for (size_t i = 0; i < count; i++)
        if (st_metrics_entry(&names[i], &values[i], metrics, i) != ST_OK) return 0;
    names[count] = name;
    values[count] = value;
    return count + 1;
}

typedef struct log_calls {
    st_trainer *trainer;
    int calls, with_loss;
} log_calls;

/* Passes on every log with "extra" = 1 added, except train's summary. */
static int log_function(const st_metrics *logs, void *user_data) {
    log_calls *seen = user_data;
    double value = 0;
    seen->calls++;
    if (st_metrics_get(&value, logs, "loss") == ST_OK) seen->with_loss++;
    if (st_metrics_get(&value, logs, "train_runtime") == ST_OK) return 0;  /* not recorded */
    const char *names[MAX_ENTRIES];
    double values[MAX_ENTRIES];
    size_t count = with_entry(names, values, logs, "extra", 1);
    return count > 0 && st_trainer_log(seen->trainer, names, values, count) == ST_OK ? 0 : 1;
}

static void test_log_function_gets_every_log(void) {
    small_problem p;
    static const char *const pairs[] = {"logging_steps", "1"};
    st_trainer *trainer = NULL;
    if (!small_problem_create(&p) || (trainer = trainer_with(&p, pairs, COUNT(pairs))) == NULL) goto done;
    log_calls seen = {trainer, 0, 0};
    REQUIRE_OK(st_trainer_set_log_function(trainer, log_function, &seen));
    REQUIRE_OK(st_trainer_train(NULL, trainer));
    CHECK(seen.calls == 5 && seen.with_loss == 4, "%d logs, %d with a loss: 4 steps and the summary",
          seen.calls, seen.with_loss);
    size_t entries = 0;
    CHECK_OK(st_trainer_log_history_count(&entries, trainer));
    CHECK(entries == 4, "%zu entries recorded: the 4 passed on", entries);
    for (size_t i = 0; i < entries; i++) {
        st_metrics *entry = NULL;
        double extra = 0;
        if (CHECK_OK(st_trainer_log_history_entry(&entry, trainer, i)))
            CHECK_OK(st_metrics_get(&extra, entry, "extra"));
        st_metrics_free(entry);
    }
    /* removed: the history (a new one per run) records every log again */
    REQUIRE_OK(st_trainer_set_log_function(trainer, NULL, NULL));
    REQUIRE_OK(st_trainer_train(NULL, trainer));
    CHECK_OK(st_trainer_log_history_count(&entries, trainer));
    CHECK(entries == 5, "%zu entries after a second run without the function", entries);
done:
    st_trainer_free(trainer);
    small_problem_free(&p);
}

typedef struct evaluate_calls {
    st_trainer *trainer;
    int calls;
} evaluate_calls;

/* Evaluates (nested) and adds eval_custom = the call's number: the best is the last. */
static int evaluate_function(st_metrics **out, void *user_data) {
    evaluate_calls *seen = user_data;
    st_metrics *metrics = NULL;
    if (st_trainer_evaluate(&metrics, seen->trainer, NULL) != ST_OK) return 1;
    const char *names[MAX_ENTRIES];
    double values[MAX_ENTRIES];
    size_t count = with_entry(names, values, metrics, "eval_custom", ++seen->calls);
    int status = count > 0 ? st_metrics_create(out, names, values, count) : ST_EINVAL;
    st_metrics_free(metrics);
    return status == ST_OK ? 0 : 1;
}

static void test_evaluate_function_runs_evaluations_in_training(void) {
    small_problem p;
    static const char *const pairs[] = {"eval_strategy", "steps", "eval_steps", "2",
                                        "metric_for_best_model", "eval_custom",
                                        "greater_is_better", "true", "save_strategy", "no"};
    st_trainer *trainer = NULL;
    if (!small_problem_create(&p) || (trainer = trainer_with(&p, pairs, COUNT(pairs))) == NULL) goto done;
    REQUIRE_OK(st_trainer_set_eval_dataset(trainer, p.data));
    evaluate_calls seen = {trainer, 0};
    REQUIRE_OK(st_trainer_set_evaluate_function(trainer, evaluate_function, &seen));
    REQUIRE_OK(st_trainer_train(NULL, trainer));
    st_trainer_state state = {.struct_size = sizeof state};
    CHECK_OK(st_trainer_get_state(&state, trainer));
    CHECK(seen.calls == 2, "%d evaluations (steps 2 and 4)", seen.calls);
    CHECK(state.best_metric == 2 && state.best_global_step == 4, "best %g at step %lld",
          state.best_metric, (long long)state.best_global_step);
    /* the function is for training: a standalone evaluation runs as before */
    st_metrics *metrics = NULL;
    CHECK_OK(st_trainer_evaluate(&metrics, trainer, NULL));
    CHECK(seen.calls == 2, "evaluate() did not call the function (%d calls)", seen.calls);
    st_metrics_free(metrics);
done:
    st_trainer_free(trainer);
    small_problem_free(&p);
}

static int failing_evaluate(st_metrics **out, void *user_data) {
    (void)out;
    (void)user_data;
    return 0;  /* success, but no metrics */
}

static void test_evaluate_function_without_metrics_fails(void) {
    small_problem p;
    static const char *const pairs[] = {"eval_strategy", "epoch", "save_strategy", "no"};
    st_trainer *trainer = NULL;
    if (!small_problem_create(&p) || (trainer = trainer_with(&p, pairs, COUNT(pairs))) == NULL) goto done;
    REQUIRE_OK(st_trainer_set_eval_dataset(trainer, p.data));
    REQUIRE_OK(st_trainer_set_evaluate_function(trainer, failing_evaluate, NULL));
    CHECK_ERROR(st_trainer_train(NULL, trainer), ST_EINVAL, "set no metrics");
done:
    st_trainer_free(trainer);
    small_problem_free(&p);
}

/* The trainer's weights after one run, into out[15] (Linear(4, 3): weight, bias). */
static int run_and_read(st_trainer *trainer, const st_module *model, float *out) {
    return CHECK_OK(st_trainer_train(NULL, trainer)) && read_module_weights(out, 15, model);
}

static void test_given_optimizer_trains_as_the_trainers_own(void) {
    static const char *const pairs[] = {"optim", "sgd", "learning_rate", "0.5", "weight_decay", "0.1",
                                        "sgd_momentum", "0.9", "lr_scheduler_type", "cosine",
                                        "save_strategy", "no"};
    small_problem a, b;
    st_trainer *own = NULL, *given = NULL;
    st_optim *optim = NULL;
    st_lr_schedule *schedule = NULL;
    float expected[15], got[15];
    st_manual_seed(3);
    if (!small_problem_create(&a) || (own = trainer_with(&a, pairs, COUNT(pairs))) == NULL) goto done;
    st_manual_seed(3);
    if (!small_problem_create(&b) || (given = trainer_with(&b, pairs, COUNT(pairs))) == NULL) goto done;
    /* the optimizer the arguments describe: SGD, the weight decaying, the bias not */
    st_optimizer kind;
    st_optim_options options = {.struct_size = sizeof options};
    REQUIRE_OK(st_trainer_optimizer_options(&kind, &options, given));
    CHECK(kind == ST_OPTIM_SGD && options.lr == 0.5 && options.momentum == 0.9 && options.weight_decay == 0.1,
          "kind %d lr %g momentum %g weight_decay %g", (int)kind, options.lr, options.momentum, options.weight_decay);
    bool decays = false;
    CHECK_OK(st_trainer_parameter_decays(&decays, given, "weight"));
    CHECK(decays, "weight decays");
    CHECK_OK(st_trainer_parameter_decays(&decays, given, "bias"));
    CHECK(!decays, "bias does not decay");
    CHECK_ERROR(st_trainer_parameter_decays(&decays, given, "nope"), ST_ENOTFOUND, "nope");
    st_named_tensors *params = NULL;
    st_tensor *weight = NULL, *bias = NULL;
    const char *name = NULL;
    REQUIRE_OK(st_module_named_parameters(&params, b.model));
    REQUIRE_OK(st_named_tensors_entry(&name, &weight, params, 0));  /* Linear: weight, bias */
    REQUIRE_OK(st_named_tensors_entry(&name, &bias, params, 1));
    REQUIRE_OK(st_optim_create(&optim, kind, &weight, 1, &options));
    REQUIRE_OK(st_optim_add_param_group(optim, &bias, 1, options.lr, 0, options.momentum));
    REQUIRE_OK(st_trainer_create_schedule(&schedule, given, 4));
    REQUIRE_OK(st_trainer_set_optimizer(given, optim, schedule));
    st_tensor_free(weight);
    st_tensor_free(bias);
    st_named_tensors_free(params);
    if (run_and_read(own, a.model, expected) && run_and_read(given, b.model, got))
        CHECK(memcmp(expected, got, sizeof got) == 0, "the given optimizer's weights equal the trainer's own");
done:
    st_optim_free(optim);
    st_lr_schedule_free(schedule);
    st_trainer_free(own);
    st_trainer_free(given);
    small_problem_free(&a);
    small_problem_free(&b);
}

typedef struct optimizer_calls {
    st_optim *optim;
    st_lr_schedule *schedule;
    int64_t steps;
} optimizer_calls;

static int optimizer_function(st_optim **optimizer, st_lr_schedule **schedule, int64_t steps, void *user_data) {
    optimizer_calls *made = user_data;
    made->steps = steps;
    *optimizer = made->optim;
    *schedule = made->schedule;
    return 0;
}

static void test_optimizer_function_gets_the_runs_steps(void) {
    static const char *const pairs[] = {"optim", "sgd", "learning_rate", "0.5", "lr_scheduler_type", "linear",
                                        "save_strategy", "no"};
    small_problem a, b;
    st_trainer *own = NULL, *given = NULL;
    optimizer_calls made = {NULL, NULL, 0};
    float expected[15], got[15];
    st_manual_seed(4);
    if (!small_problem_create(&a) || (own = trainer_with(&a, pairs, COUNT(pairs))) == NULL) goto done;
    st_manual_seed(4);
    if (!small_problem_create(&b) || (given = trainer_with(&b, pairs, COUNT(pairs))) == NULL) goto done;
    st_named_tensors *params = NULL;
    st_tensor *tensors[2] = {NULL, NULL};
    const char *name = NULL;
    st_optimizer kind;
    st_optim_options options = {.struct_size = sizeof options};
    REQUIRE_OK(st_trainer_optimizer_options(&kind, &options, given));
    REQUIRE_OK(st_module_named_parameters(&params, b.model));
    REQUIRE_OK(st_named_tensors_entry(&name, &tensors[0], params, 0));
    REQUIRE_OK(st_named_tensors_entry(&name, &tensors[1], params, 1));
    REQUIRE_OK(st_optim_create(&made.optim, kind, tensors, 2, &options));
    st_tensor_free(tensors[0]);
    st_tensor_free(tensors[1]);
    st_named_tensors_free(params);
    REQUIRE_OK(st_trainer_create_schedule(&made.schedule, given, 4));
    REQUIRE_OK(st_trainer_set_optimizer_function(given, optimizer_function, &made));
    if (run_and_read(own, a.model, expected) && run_and_read(given, b.model, got)) {
        CHECK(made.steps == 4, "the function got %lld steps: 8 rows in batches of 2", (long long)made.steps);
        CHECK(memcmp(expected, got, sizeof got) == 0, "what it gave trains as the trainer's own");
    }
done:
    st_optim_free(made.optim);
    st_lr_schedule_free(made.schedule);
    st_trainer_free(own);
    st_trainer_free(given);
    small_problem_free(&a);
    small_problem_free(&b);
}

static void test_refusals(void) {
    small_problem p, other;
    static const char *const plateau[] = {"lr_scheduler_type", "reduce_lr_on_plateau"};
    st_trainer *trainer = NULL;
    st_optim *foreign = NULL;
    st_lr_schedule *schedule = NULL;
    st_metrics *metrics = NULL;
    if (!small_problem_create(&p) || !small_problem_create(&other) ||
        (trainer = trainer_with(&p, plateau, COUNT(plateau))) == NULL)
        goto done;
    st_named_tensors *params = NULL;
    st_tensor *weight = NULL;
    const char *name = NULL;
    st_optim_options options;
    REQUIRE_OK(st_module_named_parameters(&params, other.model));
    REQUIRE_OK(st_named_tensors_entry(&name, &weight, params, 0));
    REQUIRE_OK(st_optim_options_init(&options, ST_OPTIM_SGD));
    REQUIRE_OK(st_optim_create(&foreign, ST_OPTIM_SGD, &weight, 1, &options));
    st_tensor_free(weight);
    st_named_tensors_free(params);
    CHECK_ERROR(st_trainer_set_optimizer(trainer, foreign, NULL), ST_EINVAL, "not a parameter of the trainer's model");
    CHECK_ERROR(st_trainer_create_schedule(&schedule, trainer, 4), ST_EINVAL, "reduce_lr_on_plateau");
    CHECK(schedule == NULL, "no schedule on failure");
    REQUIRE_OK(st_lr_schedule_create(&schedule, ST_LR_LINEAR, 0, 4, NULL, 0.1));
    CHECK_ERROR(st_trainer_set_optimizer(trainer, NULL, schedule), ST_EINVAL, "reduce_lr_on_plateau");
    st_lr_schedule *none = NULL;
    CHECK_ERROR(st_trainer_create_schedule(&none, p.trainer, 0), ST_EINVAL, "num_training_steps");
    static const char *names[] = {"a", "a"};
    static const double values[] = {1, 2};
    CHECK_ERROR(st_metrics_create(&metrics, names, values, 2), ST_EINVAL, "repeated");
    CHECK(metrics == NULL, "no metrics on failure");
    REQUIRE_OK(st_metrics_create(&metrics, names, values, 1));
    CHECK(st_metrics_count(metrics) == 1, "one metric");
    CHECK_ERROR(st_trainer_set_log_function(NULL, log_function, NULL), ST_EINVAL, "NULL");
done:
    st_metrics_free(metrics);
    st_lr_schedule_free(schedule);
    st_optim_free(foreign);
    st_trainer_free(trainer);
    small_problem_free(&p);
    small_problem_free(&other);
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"log_function_gets_every_log", test_log_function_gets_every_log},
        {"evaluate_function_runs_evaluations_in_training", test_evaluate_function_runs_evaluations_in_training},
        {"evaluate_function_without_metrics_fails", test_evaluate_function_without_metrics_fails},
        {"given_optimizer_trains_as_the_trainers_own", test_given_optimizer_trains_as_the_trainers_own},
        {"optimizer_function_gets_the_runs_steps", test_optimizer_function_gets_the_runs_steps},
        {"refusals", test_refusals},
    };
    return run_test_cases(cases, COUNT(cases), argc, argv);
}
