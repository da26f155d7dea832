/* Callbacks that change and watch a run, in C (st_trainer_add_event_callback):
 *   - label smoothing: at AFTER_LOSS the loss is recomputed from the outputs with smoothed
 *     targets (st_event_data_set_loss); it equals label_smoothing_factor, which is checked;
 *   - MixUp (Composer's algorithm): at AFTER_DATALOADER the batch's inputs are mixed with a
 *     permutation of themselves (st_batch_set), at AFTER_LOSS the loss is mixed the same way;
 *   - gradient-norm logging: at PRE_OPTIMIZER_STEP the norm of every parameter's gradient is
 *     logged with st_trainer_log, every 100 steps;
 *   - AllenNLP's epoch files: at EPOCH_CHECKPOINT (after the epoch's evaluation),
 *     metrics_epoch_<n>.json with the evaluation's metrics;
 *   - a learning-rate finder (Smith's range test, as fastai's lr_find): at PRE_OPTIMIZER_STEP
 *     (after the schedule has set this step's rate) the optimizer's learning rate is raised
 *     geometrically through data->optimizer, at STEP_END the loss is recorded, and training
 *     stops once the loss has blown up.
 *
 *     callbacks <data/digits> [output directory]
 *
 * Exits 0 when the smoothed run reaches 90% held-out accuracy and equals the built-in
 * smoothing, and the finder suggests a learning rate in a range that trains (1e-4 to 1e-1). */
#include "digits_example.h"

#include <math.h>
#include <string.h>

static digits train_data, test_data;

/* ---- label smoothing ---------------------------------------------------------------------- */

static int smooth_labels(st_event_data *data, const st_trainer_state *state, st_trainer_control *control,
                         void *user_data) {
    (void)state, (void)control;
    float epsilon = *(const float *)user_data;
    st_tensor *logits = NULL, *labels = NULL, *loss = NULL;
    int rc = failed(st_outputs_get(&logits, data->outputs, "logits"), "st_outputs_get") ||
             failed(st_batch_get(&labels, data->batch, "labels"), "st_batch_get") ||
             failed(st_cross_entropy(&loss, logits, labels, NULL, -100, ST_REDUCTION_MEAN, epsilon),
                    "st_cross_entropy") ||
             failed(st_event_data_set_loss(data, loss), "st_event_data_set_loss");
    st_tensor_free(loss); /* the library keeps its own reference */
    st_tensor_free(labels);
    st_tensor_free(logits);
    return rc;
}

/* ---- MixUp --------------------------------------------------------------------------------- */

/* The batch in progress: its mixing weight and permutation (an int64 tensor). */
typedef struct mixup {
    double alpha;
    uint64_t seed;
    float lam;
    st_tensor *perm;
} mixup;

/* A uniform draw in [0, 1) (splitmix64: portable C99, no POSIX generator needed). */
static double uniform(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

/* Beta(alpha, alpha) from two Gamma(alpha) draws (alpha < 1: Gamma(alpha + 1) * U^(1/alpha)),
 * Marsaglia and Tsang's method for the Gamma. */
static double gamma_draw(double alpha, uint64_t *seed) {
    if (alpha < 1) return gamma_draw(alpha + 1, seed) * pow(uniform(seed), 1 / alpha);
    const double two_pi = 6.283185307179586;
    double d = alpha - 1.0 / 3, c = 1 / sqrt(9 * d);
    for (;;) {
        double u1 = uniform(seed), u2 = uniform(seed);
        double x = sqrt(-2 * log(u1 + 1e-300)) * cos(two_pi * u2), v = pow(1 + c * x, 3);
        if (v > 0 && log(uniform(seed) + 1e-300) < 0.5 * x * x + d - d * v + d * log(v)) return d * v;
    }
}

static int mix(st_tensor **out, const st_tensor *a, const st_tensor *perm, float lam) {
    st_tensor *shuffled = NULL, *left = NULL, *right = NULL;
    int rc = failed(st_index_select(&shuffled, a, 0, perm), "st_index_select") ||
             failed(st_mul_scalar(&left, a, lam), "st_mul_scalar") ||
             failed(st_mul_scalar(&right, shuffled, 1 - lam), "st_mul_scalar") ||
             failed(st_add(out, left, right), "st_add");
    st_tensor_free(shuffled);
    st_tensor_free(left);
    st_tensor_free(right);
    return rc;
}

static int mixup_batch(st_event_data *data, const st_trainer_state *state, st_trainer_control *control,
                       void *user_data) {
    (void)state, (void)control;
    mixup *m = user_data;
    st_tensor *input = NULL, *mixed = NULL, *logits = NULL, *labels = NULL, *shuffled = NULL;
    st_tensor *a = NULL, *b = NULL, *loss = NULL;
    int rc;
    if (data->event == ST_EVENT_AFTER_DATALOADER) {
        int64_t rows = 0, order[4096];
        rc = failed(st_batch_size(&rows, data->batch), "st_batch_size") || rows > 4096;
        for (int64_t i = 0; i < rows && rc == 0; i++) order[i] = i;
        for (int64_t i = rows - 1; i > 0 && rc == 0; i--) { /* Fisher-Yates */
            int64_t j = (int64_t)(uniform(&m->seed) * (double)(i + 1)), t = order[i];
            order[i] = order[j], order[j] = t;
        }
        double g1 = gamma_draw(m->alpha, &m->seed), g2 = gamma_draw(m->alpha, &m->seed);
        m->lam = (float)(g1 / (g1 + g2));
        st_tensor_free(m->perm);
        m->perm = NULL;
        rc = rc || failed(st_tensor_create(&m->perm, order, &rows, 1, ST_INT64, ST_DATA_COPY), "st_tensor_create") ||
             failed(st_batch_get(&input, data->batch, "input"), "st_batch_get") ||
             mix(&mixed, input, m->perm, m->lam) ||
             failed(st_batch_set(data->batch, "input", mixed), "st_batch_set");
    } else { /* AFTER_LOSS: lam * CE(y) + (1 - lam) * CE(y[perm]) */
        rc = failed(st_outputs_get(&logits, data->outputs, "logits"), "st_outputs_get") ||
             failed(st_batch_get(&labels, data->batch, "labels"), "st_batch_get") ||
             failed(st_index_select(&shuffled, labels, 0, m->perm), "st_index_select") ||
             failed(st_cross_entropy(&a, logits, labels, NULL, -100, ST_REDUCTION_MEAN, 0), "st_cross_entropy") ||
             failed(st_cross_entropy(&b, logits, shuffled, NULL, -100, ST_REDUCTION_MEAN, 0), "st_cross_entropy") ||
             failed(st_mul_scalar(&mixed, a, m->lam), "st_mul_scalar") ||
             failed(st_mul_scalar(&input, b, 1 - m->lam), "st_mul_scalar") ||
             failed(st_add(&loss, mixed, input), "st_add") ||
             failed(st_event_data_set_loss(data, loss), "st_event_data_set_loss");
    }
    st_tensor_free(input);
    st_tensor_free(mixed);
    st_tensor_free(logits);
    st_tensor_free(labels);
    st_tensor_free(shuffled);
    st_tensor_free(a);
    st_tensor_free(b);
    st_tensor_free(loss);
    return rc;
}

/* ---- gradient norms ----------------------------------------------------------------------- */

static int log_gradient_norms(st_event_data *data, const st_trainer_state *state,
                              st_trainer_control *control, void *user_data) {
    (void)control, (void)user_data;
    if ((state->global_step + 1) % 100 != 0) return 0;
    st_named_tensors *parameters = NULL;
    if (failed(st_module_named_parameters(&parameters, data->model), "st_module_named_parameters")) return 1;
    enum { MAX_LOGGED = 16 };
    char names[MAX_LOGGED][96];
    const char *name_pointers[MAX_LOGGED];
    double norms[MAX_LOGGED];
    size_t logged = 0, count = st_named_tensors_count(parameters);
    int rc = 0;
    for (size_t i = 0; i < count && logged < MAX_LOGGED && rc == 0; i++) {
        const char *name = NULL;
        st_tensor *parameter = NULL, *grad = NULL;
        float values[128 * 64];
        int64_t n = 0;
        rc = failed(st_named_tensors_entry(&name, &parameter, parameters, i), "st_named_tensors_entry") ||
             failed(st_tensor_grad(&grad, parameter), "st_tensor_grad");
        if (rc == 0 && grad != NULL && st_tensor_numel(&n, grad) == ST_OK && n <= (int64_t)(sizeof values / sizeof *values) &&
            st_tensor_copy_to(values, (size_t)n * sizeof(float), grad) == ST_OK) {
            double sum = 0;
            for (int64_t j = 0; j < n; j++) sum += (double)values[j] * values[j];
            snprintf(names[logged], sizeof names[logged], "grad_norm/%s", name);
            name_pointers[logged] = names[logged];
            norms[logged++] = sqrt(sum);
        }
        st_tensor_free(grad);
        st_tensor_free(parameter);
    }
    st_named_tensors_free(parameters);
    return rc || failed(st_trainer_log(data->trainer, name_pointers, norms, logged), "st_trainer_log");
}

/* ---- AllenNLP's epoch files --------------------------------------------------------------- */

static int write_epoch_metrics(st_event_data *data, const st_trainer_state *state,
                               st_trainer_control *control, void *user_data) {
    (void)control;
    const char *directory = user_data;
    char path[1024];
    int epoch = (int)ceil(state->epoch) - 1;
    if (data->metrics == NULL) return 0; /* an epoch without an evaluation */
    snprintf(path, sizeof path, "%s/metrics_epoch_%d.json", directory, epoch);
    FILE *file = fopen(path, "w");
    if (file == NULL) {
        perror(path);
        return 1;
    }
    fprintf(file, "{\n  \"epoch\": %d", epoch);
    for (size_t i = 0; i < st_metrics_count(data->metrics); i++) {
        const char *name = NULL;
        double value = 0;
        if (st_metrics_entry(&name, &value, data->metrics, i) == ST_OK && strncmp(name, "eval_", 5) == 0)
            fprintf(file, ",\n  \"validation_%s\": %.17g", name + 5, value);
    }
    fprintf(file, "\n}\n");
    return fclose(file) == 0 ? 0 : 1;
}

/* The digits MLP, 64-64-10, from the seed 0: its layers and the Sequential holding them. */
static int create_mlp(st_module *layers[3], st_module **model) {
    st_manual_seed(0);
    return failed(st_linear_create(&layers[0], NUM_FEATURES, 64, true), "st_linear_create") ||
           failed(st_relu_create(&layers[1]), "st_relu_create") ||
           failed(st_linear_create(&layers[2], 64, NUM_CLASSES, true), "st_linear_create") ||
           failed(st_sequential_create(model, layers, 3), "st_sequential_create");
}

/* ---- a learning-rate finder --------------------------------------------------------------- */

enum { FINDER_STEPS = 100 };

typedef struct lr_finder {
    double start, end;              /* the range, swept geometrically over FINDER_STEPS steps */
    double rates[FINDER_STEPS], losses[FINDER_STEPS];
    int recorded;
    double best;                    /* the smoothed loss's minimum so far */
    double smoothed;
} lr_finder;

static double finder_rate(const lr_finder *f, int64_t step) {
    return f->start * pow(f->end / f->start, (double)step / (FINDER_STEPS - 1));
}

static int find_learning_rate(st_event_data *data, const st_trainer_state *state, st_trainer_control *control,
                              void *user_data) {
    lr_finder *f = user_data;
    if (data->event == ST_EVENT_PRE_OPTIMIZER_STEP) { /* this step's rate, for every group */
        size_t groups = 0;
        if (failed(st_optim_num_param_groups(&groups, data->optimizer), "st_optim_num_param_groups")) return 1;
        for (size_t g = 0; g < groups; g++) {
            st_param_group_info info;
            if (failed(st_optim_get_param_group(&info, data->optimizer, g), "st_optim_get_param_group")) return 1;
            info.lr = finder_rate(f, state->global_step);
            if (failed(st_optim_set_param_group(data->optimizer, g, &info), "st_optim_set_param_group")) return 1;
        }
        return 0;
    }
    /* STEP_END: the loss of the step just taken, smoothed as fastai does */
    int i = f->recorded++;
    f->smoothed = i == 0 ? state->loss : 0.9 * f->smoothed + 0.1 * state->loss;
    f->rates[i] = finder_rate(f, state->global_step - 1);
    f->losses[i] = f->smoothed;
    if (i == 0 || f->smoothed < f->best) f->best = f->smoothed;
    if (f->smoothed > 4 * f->best || !isfinite(f->smoothed) || f->recorded == FINDER_STEPS)
        control->should_training_stop = true;
    return 0;
}

/* The rate a tenth of the one at the smoothed loss's minimum (a common reading of the curve). */
static double suggested_rate(const lr_finder *f) {
    int at = 0;
    for (int i = 1; i < f->recorded; i++)
        if (f->losses[i] < f->losses[at]) at = i;
    return f->rates[at] / 10;
}

static int run_finder(const char *output_dir, double *suggestion) {
    st_module *layers[3] = {NULL, NULL, NULL}, *model = NULL;
    st_dataset *train_set = NULL;
    st_trainer *trainer = NULL;
    st_training_args args;
    lr_finder finder = {.start = 1e-6, .end = 10};
    int rc = create_mlp(layers, &model) ||
             failed(st_dataset_create(&train_set, train_data.features, train_data.count, NUM_FEATURES,
                                      train_data.labels, ST_DATA_BORROW), "st_dataset_create") ||
             failed(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION), "st_training_args_init") ||
             failed(st_training_args_set(&args, "max_steps", "100"), "max_steps") ||
             failed(st_training_args_set(&args, "per_device_train_batch_size", "32"), "batch size") ||
             failed(st_training_args_set(&args, "lr_scheduler_type", "constant"), "lr_scheduler_type") ||
             failed(st_training_args_set(&args, "save_strategy", "no"), "save_strategy") ||
             failed(st_training_args_set(&args, "nonfinite_grad_norm", "skip"), "nonfinite_grad_norm") ||
             failed(st_training_args_set(&args, "output_dir", output_dir), "output_dir") ||
             failed(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args), "st_trainer_create") ||
             failed(st_trainer_set_train_dataset(trainer, train_set), "set_train_dataset") ||
             failed(st_trainer_add_event_callback(trainer, find_learning_rate, &finder,
                                                  ST_EVENT_MASK(ST_EVENT_PRE_OPTIMIZER_STEP) | ST_EVENT_MASK(ST_EVENT_STEP_END), 0),
                    "add the finder") ||
             failed(st_trainer_train(NULL, trainer), "st_trainer_train");
    if (rc == 0) {
        *suggestion = suggested_rate(&finder);
        printf("learning-rate finder: %d steps from %.0e, loss %.3f at its lowest; suggested rate %.2e\n",
               finder.recorded, finder.start, finder.best, *suggestion);
    }
    st_trainer_free(trainer);
    st_dataset_free(train_set);
    st_module_free(model);
    for (int i = 0; i < 3; i++) st_module_free(layers[i]);
    return rc;
}

/* ---- a run -------------------------------------------------------------------------------- */

/* Trains a fresh MLP for 20 epochs, either with the smoothing callback or with
 * label_smoothing_factor; the held-out accuracy into *accuracy and the first weights into
 * `weights`. */
enum { BY_ARGUMENT = 0, BY_CALLBACK = 1, WITH_MIXUP = 2 };

static int train(const char *output_dir, int by_callback, double *accuracy, float *weights, size_t count) {
    float epsilon = 0.1f;
    mixup mixer = {.alpha = 0.2, .seed = 1};
    st_module *layers[3] = {NULL, NULL, NULL}, *model = NULL;
    st_dataset *train_set = NULL, *test_set = NULL;
    st_trainer *trainer = NULL;
    st_metrics *metrics = NULL;
    st_named_tensors *parameters = NULL;
    st_tensor *first = NULL;
    const char *first_name = NULL;
    st_training_args args;
    int rc = create_mlp(layers, &model) ||
             failed(st_dataset_create(&train_set, train_data.features, train_data.count, NUM_FEATURES,
                                      train_data.labels, ST_DATA_BORROW), "st_dataset_create") ||
             failed(st_dataset_create(&test_set, test_data.features, test_data.count, NUM_FEATURES,
                                      test_data.labels, ST_DATA_BORROW), "st_dataset_create") ||
             failed(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION), "st_training_args_init") ||
             failed(st_training_args_set(&args, "num_train_epochs", "20"), "num_train_epochs") ||
             failed(st_training_args_set(&args, "per_device_train_batch_size", "32"), "batch size") ||
             failed(st_training_args_set(&args, "learning_rate", "3e-3"), "learning_rate") ||
             failed(st_training_args_set(&args, "eval_strategy", "epoch"), "eval_strategy") ||
             failed(st_training_args_set(&args, "save_strategy", "no"), "save_strategy") ||
             failed(st_training_args_set(&args, "label_smoothing_factor", by_callback == BY_ARGUMENT ? "0.1" : "0"),
                    "smoothing") ||
             failed(st_training_args_set(&args, "output_dir", output_dir), "output_dir") ||
             failed(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args), "st_trainer_create") ||
             failed(st_trainer_set_train_dataset(trainer, train_set), "set_train_dataset") ||
             failed(st_trainer_set_eval_dataset(trainer, test_set), "set_eval_dataset");
    if (rc == 0 && by_callback == WITH_MIXUP)
        rc = failed(st_trainer_add_event_callback(trainer, mixup_batch, &mixer,
                                                  ST_EVENT_MASK(ST_EVENT_AFTER_DATALOADER) | ST_EVENT_MASK(ST_EVENT_AFTER_LOSS), 0),
                    "add mixup");
    else if (rc == 0 && by_callback == BY_CALLBACK)
        rc = failed(st_trainer_add_event_callback(trainer, smooth_labels, &epsilon,
                                                  ST_EVENT_MASK(ST_EVENT_AFTER_LOSS), 0), "add smoothing") ||
             failed(st_trainer_add_event_callback(trainer, log_gradient_norms, NULL,
                                                  ST_EVENT_MASK(ST_EVENT_PRE_OPTIMIZER_STEP), 0), "add norms") ||
             failed(st_trainer_add_event_callback(trainer, write_epoch_metrics, (void *)output_dir,
                                                  ST_EVENT_MASK(ST_EVENT_EPOCH_CHECKPOINT), 0), "add epoch files");
    rc = rc || failed(st_trainer_train(NULL, trainer), "st_trainer_train") ||
         failed(st_trainer_evaluate(&metrics, trainer, NULL), "st_trainer_evaluate") ||
         failed(st_metrics_get(accuracy, metrics, "eval_accuracy"), "eval_accuracy") ||
         failed(st_module_named_parameters(&parameters, model), "named_parameters") ||
         failed(st_named_tensors_entry(&first_name, &first, parameters, 0), "0.weight") ||
         failed(st_tensor_copy_to(weights, count * sizeof(float), first), "copy weights");
    st_tensor_free(mixer.perm);
    st_tensor_free(first);
    st_named_tensors_free(parameters);
    st_metrics_free(metrics);
    st_trainer_free(trainer);
    st_dataset_free(test_set);
    st_dataset_free(train_set);
    st_module_free(model);
    for (int i = 0; i < 3; i++) st_module_free(layers[i]);
    return rc;
}

int main(int argc, char **argv) {
    static float by_callback[64 * NUM_FEATURES], by_argument[64 * NUM_FEATURES];
    static float mixed_weights[64 * NUM_FEATURES];
    double accuracy = 0, reference = 0, largest = 0, suggestion = 0, mixed = 0;
    const char *output_dir = argc > 2 ? argv[2] : ".";
    if (argc < 2) {
        fprintf(stderr, "usage: %s <data/digits> [output directory]\n", argv[0]);
        return 2;
    }
    if (load_digits(&train_data, argv[1], "train.csv") || load_digits(&test_data, argv[1], "test.csv") ||
        train(output_dir, BY_CALLBACK, &accuracy, by_callback, 64 * NUM_FEATURES) ||
        train(output_dir, BY_ARGUMENT, &reference, by_argument, 64 * NUM_FEATURES) ||
        train(output_dir, WITH_MIXUP, &mixed, mixed_weights, 64 * NUM_FEATURES) || run_finder(output_dir, &suggestion))
        return 1;
    for (int i = 0; i < 64 * NUM_FEATURES; i++) {
        double d = fabs((double)by_callback[i] - by_argument[i]);
        if (d > largest) largest = d;
    }
    printf("held-out accuracy %.4f with the smoothing callback, %.4f with label_smoothing_factor; "
           "largest weight difference %.2g; epoch files in %s\n", accuracy, reference, largest, output_dir);
    printf("held-out accuracy %.4f with MixUp\n", mixed);
    return accuracy > 0.9 && largest < 1e-4 && mixed > 0.9 && suggestion >= 1e-4 && suggestion <= 1e-1 ? 0 : 1;
}
