/* The trainer's optimizer-side arguments (ST_TRAINING_ARGS_VERSION 2) on the digits, through
 * the C header only:
 *   - gradient accumulation and micro-batching give the same update as the whole batch,
 *     including a ragged last window;
 *   - every optimizer and every lr_scheduler_type name trains, lowers the loss, and the
 *     learning rate the trainer reports follows st_lr_schedule_factor;
 *   - ema_decay: evaluation uses the averaged weights, the model keeps the raw ones;
 *   - bad values are refused with ST_EINVAL naming the argument;
 *   - a NaN in the data: nonfinite_grad_norm "error" stops, "skip" leaves the weights alone.
 *
 * The model is Linear(64,64)-ReLU-Linear(64,10) from st_manual_seed(0); the digits training
 * set has 1438 rows, so batch 32 makes 45 steps per epoch (44 full batches and one of 30).
 * DIGITS_DIR (a compile definition) is the directory holding train.csv and test.csv. */
#include "check.h"
#include "digits_data.h"
#include "swifttrain.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STEPS_PER_EPOCH_32 45 /* ceil(1438 / 32) */

/* ---- fixtures ---------------------------------------------------------------------------- */

static digits_data train_rows, test_rows;

static int load_digits(void) {
    return CHECK(digits_load_fixture(&train_rows, &test_rows, DIGITS_DIR), "the digits fixture");
}

/* A borrowed view of the first `num_samples` rows of `features` / `labels`. */
static st_dataset *make_dataset(const float *features, const int64_t *labels,
                                int64_t num_samples) {
    st_dataset *dataset = NULL;
    CHECK_OK(st_dataset_create(&dataset, features, num_samples, DIGITS_NUM_FEATURES, labels,
                               ST_DATA_BORROW));
    return dataset;
}

/* Linear(64,64)-ReLU-Linear(64,10), seeded so every model starts from the same weights. */
static st_module *make_model(void) {
    st_module *layers[3] = {NULL, NULL, NULL};
    st_module *model = NULL;
    int i;
    st_manual_seed(0);
    if (CHECK_OK(st_linear_create(&layers[0], DIGITS_NUM_FEATURES, 64, true)) &&
        CHECK_OK(st_relu_create(&layers[1])) &&
        CHECK_OK(st_linear_create(&layers[2], 64, DIGITS_NUM_CLASSES, true)))
        CHECK_OK(st_sequential_create(&model, layers, 3));
    for (i = 0; i < 3; i++) st_module_free(layers[i]);
    return model;
}

#define NUM_WEIGHTS (64 * 64 + 64 + 64 * 10 + 10)

/* Every value of the model's state dict, in its order, into out[NUM_WEIGHTS]. */
static int read_weights(float *out, const st_module *model) {
    return read_module_weights(out, NUM_WEIGHTS, model);
}

/* Compares two weight vectors value by value: |a - b| <= rel * max(|a|, |b|, 1e-3) (rel 0:
 * equal). The floor: a weight near zero (one crossing zero) has no meaningful relative error,
 * so values below 1e-3 in magnitude are compared at 1e-3's scale; the weights start uniform in
 * +-0.125 and are mostly ~0.05. Prints the largest difference found. */
static int weights_match(const float *a, const float *b, double rel, const char *what) {
    size_t i, bad = 0, worst = 0;
    double worst_ratio = 0;
    for (i = 0; i < NUM_WEIGHTS; i++) {
        double x = a[i], y = b[i], d = fabs(x - y), scale = fmax(fmax(fabs(x), fabs(y)), 1e-3);
        if (d > rel * scale) bad++;
        if (d / scale > worst_ratio) {
            worst_ratio = d / scale;
            worst = i;
        }
    }
    printf("%s: largest relative difference %.3g (value %zu: %.9g vs %.9g)\n", what, worst_ratio,
           worst, (double)a[worst], (double)b[worst]);
    return CHECK(bad == 0, "%s: %zu of %d values differ by more than %g relative; the worst, "
                 "value %zu: %.9g vs %.9g", what, bad, NUM_WEIGHTS, rel, worst,
                 (double)a[worst], (double)b[worst]);
}

/* AdamW, lr 1e-3, the given batch size and epochs; no logging unless a case asks. */
static int init_args(st_training_args *args, const char *batch_size, const char *epochs) {
    return CHECK_OK(st_training_args_init(args, ST_TRAINING_ARGS_VERSION)) &&
           CHECK_OK(st_training_args_set(args, "optim", "adamw")) &&
           CHECK_OK(st_training_args_set(args, "learning_rate", "1e-3")) &&
           CHECK_OK(st_training_args_set(args, "per_device_train_batch_size", batch_size)) &&
           CHECK_OK(st_training_args_set(args, "per_device_eval_batch_size", "256")) &&
           CHECK_OK(st_training_args_set(args, "num_train_epochs", epochs)) &&
           CHECK_OK(st_training_args_set(args, "logging_strategy", "no"));
}

/* ---- recording callback ------------------------------------------------------------------ */

#define MAX_STEPS 128

typedef struct recorder {
    double step_losses[MAX_STEPS]; /* "loss" of each step-log LOG event, in order */
    size_t num_step_logs;
    double lr_after[MAX_STEPS + 1]; /* state->learning_rate at STEP_END of step k (1-based) */
    int64_t last_step;
} recorder;

static int record(st_event event, const st_trainer_state *state, st_trainer_control *control,
                  void *user_data) {
    recorder *r = (recorder *)user_data;
    double value;
    (void)control;
    if (event == ST_EVENT_STEP_END && state->global_step >= 1 && state->global_step <= MAX_STEPS) {
        r->lr_after[state->global_step] = state->learning_rate;
        r->last_step = state->global_step;
    }
    if (event == ST_EVENT_LOG && state->metrics &&
        st_metrics_get(&value, state->metrics, "loss") == ST_OK && r->num_step_logs < MAX_STEPS)
        r->step_losses[r->num_step_logs++] = value;
    return 0;
}

/* Trains `model` on `train` (and `eval`, may be NULL) with `args`; when r is not NULL it
 * records the run. Returns 1 when training succeeded. */
static int train(st_module *model, const st_training_args *args, st_dataset *train_set,
                 st_dataset *eval_set, recorder *r) {
    st_trainer *trainer = NULL;
    int ok = CHECK_OK(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, args)) &&
             CHECK_OK(st_trainer_set_train_dataset(trainer, train_set)) &&
             (!eval_set || CHECK_OK(st_trainer_set_eval_dataset(trainer, eval_set))) &&
             (!r || CHECK_OK(st_trainer_add_callback(trainer, record, r, ST_EVENT_MASK_ALL))) &&
             CHECK_OK(st_trainer_train(NULL, trainer));
    st_trainer_free(trainer);
    return ok;
}

/* Trains a fresh model with `args` on the whole training set; its weights into `weights`. */
static int train_fresh(float *weights, const st_training_args *args) {
    st_module *model = make_model();
    st_dataset *data = make_dataset(train_rows.features, train_rows.labels,
                                    train_rows.num_samples);
    int ok = model && data && train(model, args, data, NULL, NULL) &&
             read_weights(weights, model);
    st_dataset_free(data);
    st_module_free(model);
    return ok;
}

/* ---- accumulation and micro-batches ------------------------------------------------------ */

static float weights_a[NUM_WEIGHTS], weights_b[NUM_WEIGHTS], weights_0[NUM_WEIGHTS];

/* Batch 32 vs batch 8 with gradient_accumulation_steps 4, two epochs: the same 45 updates per
 * epoch over the same rows, so the same weights. The last window is ragged, 8 + 8 + 8 + 6 rows
 * against one batch of 30: the loss of each micro-batch must count by its rows (6/30 for the
 * last), not as a quarter. Float sums in another order: relative tolerance 2e-5. */
static void test_accumulation_matches_full_batch(void) {
    st_training_args full, accumulated;
    st_module *initial;
    if (!load_digits() || !init_args(&full, "32", "2") || !init_args(&accumulated, "8", "2") ||
        !CHECK_OK(st_training_args_set(&accumulated, "gradient_accumulation_steps", "4")))
        return;
    CHECK(accumulated.gradient_accumulation_steps == 4, "gradient_accumulation_steps is %lld",
          (long long)accumulated.gradient_accumulation_steps);
    if (!train_fresh(weights_a, &full) || !train_fresh(weights_b, &accumulated)) return;
    weights_match(weights_a, weights_b, 2e-5, "batch 32 vs batch 8 x 4 accumulation steps");

    /* The comparison means something only if training moved the weights. */
    initial = make_model();
    if (initial && read_weights(weights_0, initial))
        CHECK(fabs((double)weights_a[5] - (double)weights_0[5]) > 1e-4,
              "training did not change weight 5 (%.9g)", (double)weights_a[5]);
    st_module_free(initial);
}

/* max_micro_batch_size 5 with batch 32: each batch runs as 5+5+5+5+5+5+2 (the last of each
 * epoch, 30 rows, as six of 5) and must give the update of the whole batch. */
static void test_micro_batches_match_full_batch(void) {
    st_training_args full, split;
    if (!load_digits() || !init_args(&full, "32", "2") || !init_args(&split, "32", "2") ||
        !CHECK_OK(st_training_args_set(&split, "max_micro_batch_size", "5")))
        return;
    CHECK(split.max_micro_batch_size == 5, "max_micro_batch_size is %lld",
          (long long)split.max_micro_batch_size);
    if (!train_fresh(weights_a, &full) || !train_fresh(weights_b, &split)) return;
    weights_match(weights_a, weights_b, 2e-5, "batch 32 vs batch 32 in micro-batches of 5");
}

/* ---- every optimizer and schedule -------------------------------------------------------- */

typedef struct run_config {
    const char *optim, *optim_args, *learning_rate;
    const char *scheduler, *scheduler_kwargs;
    st_lr_scheduler kind; /* the same schedule, for st_lr_schedule_create */
    int64_t warmup_steps;
} run_config;

/* One epoch (45 steps) on the digits, logging every 5 steps: training succeeds, the logged
 * loss of steps 41-45 is below that of steps 1-5, and the learning rate the trainer reports
 * after step k is learning_rate * st_lr_schedule_factor(k) (the next step's). With
 * reduce_lr_on_plateau, evaluation runs at the end of the epoch and the rate stays put
 * (one evaluation cannot stall). */
static void check_run(const run_config *c) {
    st_training_args args;
    st_module *model = NULL;
    st_dataset *data = NULL, *eval = NULL;
    st_lr_schedule *schedule = NULL;
    recorder *r = NULL;
    char warmup[32];
    int plateau = c->kind == ST_LR_REDUCE_ON_PLATEAU;
    double lr0 = atof(c->learning_rate);
    int64_t k;

    if (!load_digits() || !init_args(&args, "32", "1")) return;
    snprintf(warmup, sizeof warmup, "%lld", (long long)c->warmup_steps);
    if (!(CHECK_OK(st_training_args_set(&args, "optim", c->optim)) &&
          CHECK_OK(st_training_args_set(&args, "optim_args", c->optim_args)) &&
          CHECK_OK(st_training_args_set(&args, "learning_rate", c->learning_rate)) &&
          CHECK_OK(st_training_args_set(&args, "lr_scheduler_type", c->scheduler)) &&
          CHECK_OK(st_training_args_set(&args, "lr_scheduler_kwargs", c->scheduler_kwargs)) &&
          CHECK_OK(st_training_args_set(&args, "warmup_steps", warmup)) &&
          CHECK_OK(st_training_args_set(&args, "logging_strategy", "steps")) &&
          CHECK_OK(st_training_args_set(&args, "logging_steps", "5")) &&
          CHECK_OK(st_training_args_set(&args, "eval_strategy", plateau ? "epoch" : "no"))))
        return;
    CHECK(args.lr_scheduler_type == c->kind, "lr_scheduler_type \"%s\" set %d, expected %d",
          c->scheduler, (int)args.lr_scheduler_type, (int)c->kind);
    r = calloc(1, sizeof *r);
    model = make_model();
    data = make_dataset(train_rows.features, train_rows.labels, train_rows.num_samples);
    if (plateau) eval = make_dataset(test_rows.features, test_rows.labels, test_rows.num_samples);
    if (!CHECK(r != NULL, "out of memory") || !model || !data || (plateau && !eval) ||
        !train(model, &args, data, eval, r))
        goto done;

    CHECK(r->last_step == STEPS_PER_EPOCH_32, "%lld steps, expected %d", (long long)r->last_step,
          STEPS_PER_EPOCH_32);
    if (CHECK(r->num_step_logs == STEPS_PER_EPOCH_32 / 5, "%zu step logs, expected %d",
              r->num_step_logs, STEPS_PER_EPOCH_32 / 5)) {
        double first = r->step_losses[0], last = r->step_losses[r->num_step_logs - 1];
        printf("optim %s [%s], lr_scheduler_type %s [%s]: loss %.4f -> %.4f\n", c->optim,
               c->optim_args, c->scheduler, c->scheduler_kwargs, first, last);
        CHECK(isfinite(first) && isfinite(last) && last < first,
              "%s/%s: loss of the last logged steps %.6g is not below the first %.6g", c->optim,
              c->scheduler, last, first);
    }

    if (plateau) {
        for (k = 1; k <= r->last_step && k <= MAX_STEPS; k++)
            if (!CHECK(r->lr_after[k] == lr0, "reduce_lr_on_plateau: lr %.9g after step %lld, "
                       "expected %.9g", r->lr_after[k], (long long)k, lr0))
                break;
    } else if (CHECK_OK(st_lr_schedule_create(&schedule, c->kind, c->warmup_steps,
                                              STEPS_PER_EPOCH_32, c->scheduler_kwargs, lr0))) {
        for (k = 1; k <= r->last_step && k <= MAX_STEPS; k++) {
            double factor = NAN;
            if (!CHECK_OK(st_lr_schedule_factor(&factor, schedule, k))) break;
            if (!CHECK(fabs(r->lr_after[k] - lr0 * factor) <= 1e-12 * lr0,
                       "%s: lr %.12g after step %lld, st_lr_schedule_factor gives %.12g x %g",
                       c->scheduler, r->lr_after[k], (long long)k, factor, lr0))
                break;
        }
    }
done:
    st_lr_schedule_free(schedule);
    st_dataset_free(eval);
    st_dataset_free(data);
    st_module_free(model);
    free(r);
}

/* Learning rates that suit each optimizer on this problem (all with the linear schedule). */
static const run_config optimizer_runs[] = {
    {"adamw", "", "1e-3", "linear", "", ST_LR_LINEAR, 0},
    {"adam", "", "1e-3", "linear", "", ST_LR_LINEAR, 0},
    {"sgd", "momentum=0.9,nesterov=true", "0.05", "linear", "", ST_LR_LINEAR, 0},
    {"adagrad", "", "0.05", "linear", "", ST_LR_LINEAR, 0},
    {"rmsprop", "", "1e-3", "linear", "", ST_LR_LINEAR, 0},
    {"adadelta", "", "1.0", "linear", "", ST_LR_LINEAR, 0},
    {"lion", "", "1e-3", "linear", "", ST_LR_LINEAR, 0},
};

/* Every schedule with AdamW at 1e-3; warmup where the schedule has one. */
static const run_config scheduler_runs[] = {
    {"adamw", "", "1e-3", "linear", "", ST_LR_LINEAR, 5},
    {"adamw", "", "1e-3", "constant", "", ST_LR_CONSTANT, 0},
    {"adamw", "", "1e-3", "constant_with_warmup", "", ST_LR_CONSTANT_WITH_WARMUP, 5},
    {"adamw", "", "1e-3", "cosine", "", ST_LR_COSINE, 5},
    {"adamw", "", "1e-3", "cosine_with_restarts", "num_cycles=2", ST_LR_COSINE_WITH_RESTARTS, 5},
    {"adamw", "", "1e-3", "polynomial", "power=2.0,lr_end=1e-7", ST_LR_POLYNOMIAL, 5},
    {"adamw", "", "1e-3", "inverse_sqrt", "", ST_LR_INVERSE_SQRT, 5},
    {"adamw", "", "1e-3", "reduce_lr_on_plateau", "patience=1,factor=0.5",
     ST_LR_REDUCE_ON_PLATEAU, 0},
    {"adamw", "", "1e-3", "cosine_with_min_lr", "min_lr=1e-5", ST_LR_COSINE_WITH_MIN_LR, 5},
    {"adamw", "", "1e-3", "warmup_stable_decay", "num_decay_steps=10", ST_LR_WARMUP_STABLE_DECAY,
     5},
    {"adamw", "", "1e-3", "step", "step_size=10", ST_LR_STEP, 0},
    {"adamw", "", "1e-3", "exponential", "gamma=0.99", ST_LR_EXPONENTIAL, 0},
};

#define RUN_CASE(fn, table, index) \
    static void fn(void) { check_run(&table[index]); }
RUN_CASE(test_optim_adamw, optimizer_runs, 0)
RUN_CASE(test_optim_adam, optimizer_runs, 1)
RUN_CASE(test_optim_sgd_nesterov, optimizer_runs, 2)
RUN_CASE(test_optim_adagrad, optimizer_runs, 3)
RUN_CASE(test_optim_rmsprop, optimizer_runs, 4)
RUN_CASE(test_optim_adadelta, optimizer_runs, 5)
RUN_CASE(test_optim_lion, optimizer_runs, 6)
RUN_CASE(test_schedule_linear, scheduler_runs, 0)
RUN_CASE(test_schedule_constant, scheduler_runs, 1)
RUN_CASE(test_schedule_constant_with_warmup, scheduler_runs, 2)
RUN_CASE(test_schedule_cosine, scheduler_runs, 3)
RUN_CASE(test_schedule_cosine_with_restarts, scheduler_runs, 4)
RUN_CASE(test_schedule_polynomial, scheduler_runs, 5)
RUN_CASE(test_schedule_inverse_sqrt, scheduler_runs, 6)
RUN_CASE(test_schedule_reduce_lr_on_plateau, scheduler_runs, 7)
RUN_CASE(test_schedule_cosine_with_min_lr, scheduler_runs, 8)
RUN_CASE(test_schedule_warmup_stable_decay, scheduler_runs, 9)
RUN_CASE(test_schedule_step, scheduler_runs, 10)
RUN_CASE(test_schedule_exponential, scheduler_runs, 11)

/* ---- moving average of the weights ------------------------------------------------------- */

static double eval_loss_of(st_trainer *trainer, st_dataset *dataset) {
    st_metrics *metrics = NULL;
    double loss = NAN;
    if (CHECK_OK(st_trainer_evaluate(&metrics, trainer, dataset)))
        CHECK_OK(st_metrics_get(&loss, metrics, "eval_loss"));
    st_metrics_free(metrics);
    return loss;
}

/* ema_decay 0.9, two epochs. Run A evaluates every epoch, run B never: evaluation swaps the
 * averaged weights in and out, so both end with identical raw weights (bit for bit), and
 * st_trainer_evaluate afterwards gives the same eval_loss for both, equal to A's last
 * evaluation during training. A third model loaded with those raw weights and evaluated by a
 * trainer without EMA gives a different eval_loss: evaluation used the averaged weights. */
static void test_ema_evaluates_average_keeps_raw_weights(void) {
    st_training_args with_eval, without_eval, plain;
    st_module *model_a = NULL, *model_b = NULL, *model_c = NULL;
    st_dataset *data = NULL, *test = NULL;
    st_trainer *trainer_a = NULL, *trainer_b = NULL, *trainer_c = NULL;
    st_named_tensors *state = NULL;
    st_metrics *entry = NULL;
    size_t history = 0;
    double loss_a, loss_b, loss_raw, loss_during = NAN;

    if (!load_digits() || !init_args(&with_eval, "32", "2") || !init_args(&plain, "32", "2") ||
        !CHECK_OK(st_training_args_set(&with_eval, "ema_decay", "0.9")))
        return;
    CHECK(with_eval.ema_decay == 0.9, "ema_decay is %g", with_eval.ema_decay);
    without_eval = with_eval;
    if (!CHECK_OK(st_training_args_set(&with_eval, "eval_strategy", "epoch"))) return;

    model_a = make_model();
    model_b = make_model();
    model_c = make_model();
    data = make_dataset(train_rows.features, train_rows.labels, train_rows.num_samples);
    test = make_dataset(test_rows.features, test_rows.labels, test_rows.num_samples);
    if (!(model_a && model_b && model_c && data && test) ||
        !CHECK_OK(st_trainer_create(&trainer_a, model_a, ST_LOSS_CROSS_ENTROPY, &with_eval)) ||
        !CHECK_OK(st_trainer_set_train_dataset(trainer_a, data)) ||
        !CHECK_OK(st_trainer_set_eval_dataset(trainer_a, test)) ||
        !CHECK_OK(st_trainer_train(NULL, trainer_a)) ||
        !CHECK_OK(st_trainer_create(&trainer_b, model_b, ST_LOSS_CROSS_ENTROPY, &without_eval)) ||
        !CHECK_OK(st_trainer_set_train_dataset(trainer_b, data)) ||
        !CHECK_OK(st_trainer_train(NULL, trainer_b)))
        goto done;

    /* The raw weights: evaluating during training left no trace. */
    if (!read_weights(weights_a, model_a) || !read_weights(weights_b, model_b)) goto done;
    weights_match(weights_a, weights_b, 0.0,
                  "EMA run evaluated every epoch vs EMA run never evaluated");

    /* A's last evaluation during training (log history: ..., eval at epoch 2, train). */
    if (CHECK_OK(st_trainer_log_history_count(&history, trainer_a)) &&
        CHECK(history >= 2, "log history has %zu entries", history) &&
        CHECK_OK(st_trainer_log_history_entry(&entry, trainer_a, history - 2)))
        CHECK_OK(st_metrics_get(&loss_during, entry, "eval_loss"));

    loss_a = eval_loss_of(trainer_a, test);
    loss_b = eval_loss_of(trainer_b, test);
    CHECK(loss_a == loss_b, "after training, eval_loss %.9g (run evaluated during training) vs "
          "%.9g (not): the same averaged weights should give the same loss", loss_a, loss_b);
    CHECK(loss_a == loss_during, "st_trainer_evaluate after training gives eval_loss %.9g, the "
          "evaluation at the end of the last epoch gave %.9g", loss_a, loss_during);

    /* Evaluating did not leave the averaged weights in the model either. */
    if (read_weights(weights_b, model_a))
        weights_match(weights_a, weights_b, 0.0, "model weights before vs after evaluate");

    /* The raw weights, evaluated without EMA. */
    if (!CHECK_OK(st_module_state_dict(&state, model_a)) ||
        !CHECK_OK(st_module_load_state_dict(model_c, state, true)) ||
        !CHECK_OK(st_trainer_create(&trainer_c, model_c, ST_LOSS_CROSS_ENTROPY, &plain)))
        goto done;
    loss_raw = eval_loss_of(trainer_c, test);
    printf("eval_loss with the averaged weights %.6f, with the raw weights %.6f\n", loss_a,
           loss_raw);
    CHECK(isfinite(loss_raw) && isfinite(loss_a) && fabs(loss_raw - loss_a) > 1e-6,
          "eval_loss with ema_decay 0.9 is %.9g, with the same raw weights and no EMA %.9g: "
          "evaluation did not use the averaged weights", loss_a, loss_raw);
done:
    st_metrics_free(entry);
    st_named_tensors_free(state);
    st_trainer_free(trainer_a);
    st_trainer_free(trainer_b);
    st_trainer_free(trainer_c);
    st_dataset_free(data);
    st_dataset_free(test);
    st_module_free(model_a);
    st_module_free(model_b);
    st_module_free(model_c);
}

/* ---- invalid values ---------------------------------------------------------------------- */

/* A trainer over a fresh model and the first 256 rows; ST_EINVAL from st_trainer_train
 * naming `needle`. */
static void check_train_fails(const st_training_args *args, const char *needle) {
    st_module *model = make_model();
    st_dataset *data = make_dataset(train_rows.features, train_rows.labels, 256);
    st_trainer *trainer = NULL;
    if (model && data &&
        CHECK_OK(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, args)) &&
        CHECK_OK(st_trainer_set_train_dataset(trainer, data)))
        CHECK_ERROR(st_trainer_train(NULL, trainer), ST_EINVAL, needle);
    st_trainer_free(trainer);
    st_dataset_free(data);
    st_module_free(model);
}

static void test_negative_learning_rate(void) {
    st_training_args args;
    st_module *model = make_model();
    st_trainer *trainer = (st_trainer *)&args;
    if (!init_args(&args, "32", "1")) return;
    args.learning_rate = -1e-3;
    CHECK_ERROR(st_training_args_validate(&args), ST_EINVAL, "learning_rate");
    if (model) {
        CHECK_ERROR(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args), ST_EINVAL,
                    "learning_rate");
        CHECK(trainer == NULL, "st_trainer_create failed but left *out set");
    }
    st_module_free(model);
}

static void test_adam_beta1_one(void) {
    st_training_args args;
    if (!init_args(&args, "32", "1")) return;
    args.adam_beta1 = 1.0;
    CHECK_ERROR(st_training_args_validate(&args), ST_EINVAL, "adam_beta1");
}

/* An unknown name is refused, the message names the argument and lists the valid names, and
 * the arguments are left unchanged. */
static void check_unknown_name(const char *name, const char *value,
                               const char *const *valid, size_t n) {
    st_training_args args, before;
    char message[2048];
    size_t i;
    if (!init_args(&args, "32", "1")) return;
    memcpy(&before, &args, sizeof args);
    if (!CHECK_ERROR(st_training_args_set(&args, name, value), ST_EINVAL, name)) return;
    snprintf(message, sizeof message, "%s", st_last_error_message());
    CHECK(check_contains(message, value), "the message does not quote \"%s\": \"%s\"", value,
          message);
    for (i = 0; i < n; i++)
        CHECK(check_contains(message, valid[i]), "the message does not list \"%s\": \"%s\"",
              valid[i], message);
    CHECK(memcmp(&before, &args, sizeof args) == 0, "a refused %s changed the arguments", name);
}

static void test_unknown_optimizer_name(void) {
    static const char *const valid[] = {"adamw", "adam", "sgd", "adagrad", "rmsprop",
                                        "adadelta", "lion"};
    check_unknown_name("optim", "adamax", valid, COUNT(valid));
}

static void test_unknown_scheduler_name(void) {
    static const char *const valid[] = {
        "linear", "constant", "constant_with_warmup", "cosine", "cosine_with_restarts",
        "polynomial", "inverse_sqrt", "reduce_lr_on_plateau", "cosine_with_min_lr",
        "warmup_stable_decay", "step", "exponential"};
    check_unknown_name("lr_scheduler_type", "cosine_annealing", valid, COUNT(valid));
}

/* warmup_steps 500 with max_steps 100: only known to be wrong when training starts. */
static void test_warmup_longer_than_training(void) {
    st_training_args args;
    if (!load_digits() || !init_args(&args, "32", "1") ||
        !CHECK_OK(st_training_args_set(&args, "warmup_steps", "500")) ||
        !CHECK_OK(st_training_args_set(&args, "max_steps", "100")))
        return;
    check_train_fails(&args, "warmup");
}

static void test_gradient_accumulation_steps_zero(void) {
    st_training_args args;
    if (!init_args(&args, "32", "1") ||
        !CHECK_OK(st_training_args_set(&args, "gradient_accumulation_steps", "0")))
        return;
    CHECK_ERROR(st_training_args_validate(&args), ST_EINVAL, "gradient_accumulation_steps");
}

/* ST_OPTIONS_CAPACITY includes the terminating NUL: 255 characters fit, 256 do not (and the
 * arguments are left unchanged). */
static void test_scheduler_kwargs_too_long(void) {
    char text[ST_OPTIONS_CAPACITY + 1];
    st_training_args args, before;
    if (!init_args(&args, "32", "1")) return;
    memset(text, 'a', ST_OPTIONS_CAPACITY - 1);
    text[ST_OPTIONS_CAPACITY - 1] = '\0';
    memcpy(text, "num_cycles=", 11);
    if (CHECK_OK(st_training_args_set(&args, "lr_scheduler_kwargs", text)))
        CHECK(strcmp(args.lr_scheduler_kwargs, text) == 0, "lr_scheduler_kwargs holds \"%s\"",
              args.lr_scheduler_kwargs);
    memcpy(&before, &args, sizeof args);
    text[ST_OPTIONS_CAPACITY - 1] = 'a';
    text[ST_OPTIONS_CAPACITY] = '\0';
    CHECK_ERROR(st_training_args_set(&args, "lr_scheduler_kwargs", text), ST_EINVAL,
                "lr_scheduler_kwargs");
    CHECK(memcmp(&before, &args, sizeof args) == 0,
          "a refused lr_scheduler_kwargs changed the arguments");
}

/* torch.optim.SGD refuses nesterov without momentum ("Nesterov momentum requires a momentum
 * and zero dampening"); sgd_momentum is 0 and optim_args has no momentum. */
static void test_nesterov_without_momentum(void) {
    st_training_args args;
    if (!load_digits() || !init_args(&args, "32", "1") ||
        !CHECK_OK(st_training_args_set(&args, "optim", "sgd")) ||
        !CHECK_OK(st_training_args_set(&args, "optim_args", "nesterov=true")))
        return;
    check_train_fails(&args, "nesterov");
}

/* ---- non-finite gradients ---------------------------------------------------------------- */

/* 64 rows with a NaN pixel in row 3, batch 64: every step's gradient norm is NaN. */
static void run_with_nan(const char *policy, int *status, float *before, float *after) {
    static float features[64 * DIGITS_NUM_FEATURES];
    st_training_args args;
    st_module *model = make_model();
    st_dataset *data = NULL;
    st_trainer *trainer = NULL;
    *status = 1;
    memcpy(features, train_rows.features, sizeof features);
    features[3 * DIGITS_NUM_FEATURES + 10] = NAN;
    data = make_dataset(features, train_rows.labels, 64);
    if (model && data && init_args(&args, "64", "2") &&
        CHECK_OK(st_training_args_set(&args, "nonfinite_grad_norm", policy)) &&
        read_weights(before, model) &&
        CHECK_OK(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args)) &&
        CHECK_OK(st_trainer_set_train_dataset(trainer, data))) {
        *status = st_trainer_train(NULL, trainer);
        read_weights(after, model);
    }
    st_trainer_free(trainer);
    st_dataset_free(data);
    st_module_free(model);
}

static void test_nonfinite_error(void) {
    int status = 1;
    if (!load_digits()) return;
    run_with_nan("error", &status, weights_0, weights_a);
    if (status != 1) CHECK_ERROR(status, ST_EINVAL, "nonfinite_grad_norm");
}

static void test_nonfinite_skip(void) {
    int status = 1;
    if (!load_digits()) return;
    run_with_nan("skip", &status, weights_0, weights_a);
    if (status != 1 && CHECK_OK(status))
        weights_match(weights_0, weights_a, 0.0, "weights before vs after two skipped steps");
}

int main(int argc, char **argv) {
    /* ctest registers one test per entry (Tests/c/CMakeLists.txt reads this table). */
    static const test_case cases[] = {
        {"accumulation_matches_full_batch", test_accumulation_matches_full_batch},
        {"micro_batches_match_full_batch", test_micro_batches_match_full_batch},
        {"optim_adamw", test_optim_adamw},
        {"optim_adam", test_optim_adam},
        {"optim_sgd_nesterov", test_optim_sgd_nesterov},
        {"optim_adagrad", test_optim_adagrad},
        {"optim_rmsprop", test_optim_rmsprop},
        {"optim_adadelta", test_optim_adadelta},
        {"optim_lion", test_optim_lion},
        {"schedule_linear", test_schedule_linear},
        {"schedule_constant", test_schedule_constant},
        {"schedule_constant_with_warmup", test_schedule_constant_with_warmup},
        {"schedule_cosine", test_schedule_cosine},
        {"schedule_cosine_with_restarts", test_schedule_cosine_with_restarts},
        {"schedule_polynomial", test_schedule_polynomial},
        {"schedule_inverse_sqrt", test_schedule_inverse_sqrt},
        {"schedule_reduce_lr_on_plateau", test_schedule_reduce_lr_on_plateau},
        {"schedule_cosine_with_min_lr", test_schedule_cosine_with_min_lr},
        {"schedule_warmup_stable_decay", test_schedule_warmup_stable_decay},
        {"schedule_step", test_schedule_step},
        {"schedule_exponential", test_schedule_exponential},
        {"ema_evaluates_average_keeps_raw_weights", test_ema_evaluates_average_keeps_raw_weights},
        {"negative_learning_rate", test_negative_learning_rate},
        {"adam_beta1_one", test_adam_beta1_one},
        {"unknown_optimizer_name", test_unknown_optimizer_name},
        {"unknown_scheduler_name", test_unknown_scheduler_name},
        {"warmup_longer_than_training", test_warmup_longer_than_training},
        {"gradient_accumulation_steps_zero", test_gradient_accumulation_steps_zero},
        {"scheduler_kwargs_too_long", test_scheduler_kwargs_too_long},
        {"nesterov_without_momentum", test_nesterov_without_momentum},
        {"nonfinite_error", test_nonfinite_error},
        {"nonfinite_skip", test_nonfinite_skip},
    };
    int status = run_test_cases(cases, sizeof cases / sizeof cases[0], argc, argv);
    digits_free(&train_rows);
    digits_free(&test_rows);
    return status;
}
