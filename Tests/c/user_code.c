/* User code in the training loop, through the C header only: models whose forward is a C
 * function (st_module_create_custom, with parameters, buffers and children of their own),
 * losses of one's own (a "loss" output, st_trainer_set_compute_loss, every built-in st_loss),
 * and data the library does not hold (st_dataset_create_indexed, st_dataset_create_stream).
 *
 * What a user relies on, and what each case checks:
 *   - a custom forward over built-in children trains bit for bit as the same st_sequential;
 *   - parameters and buffers declared by hand train (parameters) or stay (buffers);
 *   - a forward's "loss" output and a compute-loss function give the built-in loss's update,
 *     every built-in st_loss trains as its st_* function, label_names renames the labels;
 *   - a forward can run another model on its batch (st_module_forward_batch);
 *   - a map-style provider gives the in-memory dataset's run bit for bit (shuffled), a
 *     streaming one the unshuffled run, and a resumed run with a provider is exact;
 *   - token ids of varying length train an embedding model;
 *   - every mistake in user code is a status and a message naming where it happened, and the
 *     user's data is freed exactly once (never when a create call fails);
 *   - st_module_adopt keeps a built-in model's names, training and training mode;
 *   - a compute-loss function can enumerate the outputs (st_outputs_count / st_outputs_entry);
 *   - st_trainer_predict_tensors gives token-level [N, T, V] outputs padded with -100 (map-style
 *     and streams), which compute-metrics sees with their shapes; a stream has no
 *     st_trainer_num_outputs / st_trainer_predict;
 *   - st_trainer_builtin_loss is st_cross_entropy (flattened tokens, label smoothing).
 *
 * The digits training set has 1438 rows: batch 32 makes 45 batches per epoch (44 of 32 and
 * one of 30). DIGITS_DIR (a compile definition) is the directory holding train.csv and
 * test.csv. */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include "check.h"
#include "digits_data.h"
#include "swifttrain.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCHES_PER_EPOCH_32 45 /* ceil(1438 / 32) */

/* ---- fixtures ---------------------------------------------------------------------------- */

static digits_data train_rows, test_rows;

static int load_digits(void) {
    return CHECK(digits_load_fixture(&train_rows, &test_rows, DIGITS_DIR), "the digits fixture");
}

/* The first `rows` rows of `data`, borrowed. */
static st_dataset *in_memory(const digits_data *data, int64_t rows) {
    st_dataset *dataset = NULL;
    CHECK_OK(st_dataset_create(&dataset, data->features, rows, DIGITS_NUM_FEATURES, data->labels,
                               ST_DATA_BORROW));
    return dataset;
}

/* No checkpoints, no logging; max_steps steps of batch 32 with AdamW at lr 1e-2. */
static int init_args(st_training_args *args, int64_t max_steps) {
    if (!CHECK_OK(st_training_args_init(args, ST_TRAINING_ARGS_VERSION))) return 0;
    args->save_strategy = ST_SAVE_NO;
    args->logging_strategy = ST_STRATEGY_NO;
    args->max_steps = max_steps;
    args->per_device_train_batch_size = 32;
    args->per_device_eval_batch_size = 256;
    args->learning_rate = 1e-2;
    return 1;
}

/* A trainer of `model` on `data`; trained when `train` is set. NULL (and failed checks) when a
 * call fails. */
static st_trainer *make_trainer(st_module *model, st_dataset *data, st_loss loss,
                                const st_training_args *args, st_loss_fn compute_loss,
                                void *loss_data, int train) {
    st_trainer *trainer = NULL;
    if (!CHECK_OK(st_trainer_create(&trainer, model, loss, args)) ||
        !CHECK_OK(st_trainer_set_train_dataset(trainer, data)) ||
        (compute_loss && !CHECK_OK(st_trainer_set_compute_loss(trainer, compute_loss, loss_data))) ||
        (train && !CHECK_OK(st_trainer_train(NULL, trainer)))) {
        st_trainer_free(trainer);
        return NULL;
    }
    return trainer;
}

/* ---- weights ------------------------------------------------------------------------------ */

/* Every float of a module's state dict, in its order. */
typedef struct weights {
    float *values;
    size_t count;
} weights;

static void free_weights(weights *w) {
    free(w->values);
    w->values = NULL;
    w->count = 0;
}

static int read_weights(weights *out, const st_module *model) {
    st_named_tensors *state = NULL;
    size_t i, n;
    int ok = CHECK_OK(st_module_state_dict(&state, model));
    out->values = NULL;
    out->count = 0;
    n = ok ? st_named_tensors_count(state) : 0;
    for (i = 0; ok && i < n; i++) {
        const char *name = NULL;
        st_tensor *t = NULL;
        int64_t numel = 0;
        st_dtype dtype = ST_FLOAT32;
        float *grown;
        ok = CHECK_OK(st_named_tensors_entry(&name, &t, state, i)) &&
             CHECK_OK(st_tensor_numel(&numel, t)) && CHECK_OK(st_tensor_dtype(&dtype, t)) &&
             CHECK(dtype == ST_FLOAT32, "state dict entry %s is not float32", name);
        grown = ok ? realloc(out->values, (out->count + (size_t)numel + 1) * sizeof(float)) : NULL;
        ok = ok && CHECK(grown != NULL, "out of memory");
        if (grown) out->values = grown;
        ok = ok && CHECK_OK(st_tensor_copy_to(out->values + out->count, (size_t)numel * sizeof(float), t));
        out->count += ok ? (size_t)numel : 0;
        st_tensor_free(t);
    }
    st_named_tensors_free(state);
    if (!ok) free_weights(out);
    return ok;
}

static int same_bits(const weights *a, const weights *b) {
    return a->count == b->count && a->count > 0 &&
           memcmp(a->values, b->values, a->count * sizeof(float)) == 0;
}

/* Largest |a - b|, or INFINITY when the sizes differ. */
static double max_difference(const weights *a, const weights *b) {
    double worst = 0;
    size_t i;
    if (a->count != b->count || a->count == 0) return INFINITY;
    for (i = 0; i < a->count; i++) worst = fmax(worst, fabs((double)a->values[i] - b->values[i]));
    return worst;
}

/* Whether a module's state dict (with_buffers) or parameters have exactly these names, in order. */
static int has_names(const st_module *model, int with_buffers, const char *const *names, size_t count) {
    st_named_tensors *list = NULL;
    size_t i, n;
    int ok = with_buffers ? CHECK_OK(st_module_state_dict(&list, model))
                          : CHECK_OK(st_module_named_parameters(&list, model));
    n = ok ? st_named_tensors_count(list) : 0;
    ok = ok && CHECK(n == count, "%zu names, expected %zu", n, count);
    for (i = 0; ok && i < n; i++) {
        const char *name = NULL;
        st_tensor *t = NULL;
        ok = CHECK_OK(st_named_tensors_entry(&name, &t, list, i)) &&
             CHECK(strcmp(name, names[i]) == 0, "name %zu is \"%s\", expected \"%s\"", i, name, names[i]);
        st_tensor_free(t);
    }
    st_named_tensors_free(list);
    return ok;
}

static double metric(const st_metrics *metrics, const char *name) {
    double value = NAN;
    CHECK_OK(st_metrics_get(&value, metrics, name));
    return value;
}

/* ---- the digits MLP as a model of one's own ------------------------------------------------ */

/* Linear(64, hidden) - ReLU - [dropout] - Linear(hidden, 10), with the two Linear layers
 * declared as children "fc1" and "fc2". The struct is the forward's user_data; it holds the
 * caller's handles to the children and is freed (handles and all) with the module. */
typedef struct mlp {
    st_module *fc1, *fc2;
    int return_loss;     /* also set "loss": cross entropy (smoothed by `smoothing`) vs "labels" */
    float smoothing;
    float dropout;       /* after the ReLU, when training; 0: none */
    int log_softmax;     /* return log-probabilities (for ST_LOSS_NLL / ST_LOSS_KL_DIV) */
} mlp;

static int mlp_frees; /* how many mlp structs free_mlp has freed */

static void free_mlp(void *user_data) {
    mlp *net = user_data;
    mlp_frees++;
    st_module_free(net->fc1);
    st_module_free(net->fc2);
    free(net);
}

static int mlp_forward(st_outputs *outputs, const st_batch *batch, bool training, void *user_data) {
    const mlp *net = user_data;
    st_tensor *x = NULL, *h = NULL, *r = NULL, *d = NULL, *y = NULL, *logits = NULL;
    st_tensor *labels = NULL, *loss = NULL;
    int rc = 1;
    if (st_batch_get(&x, batch, "input") != ST_OK || st_module_forward(&h, net->fc1, x) != ST_OK ||
        st_relu(&r, h) != ST_OK)
        goto done;
    if (net->dropout > 0 && st_dropout(&d, r, net->dropout, training) != ST_OK) goto done;
    if (st_module_forward(&y, net->fc2, d ? d : r) != ST_OK) goto done;
    if (net->log_softmax) {
        if (st_log_softmax(&logits, y, 1) != ST_OK) goto done;
    } else {
        logits = y;
        y = NULL;
    }
    if (st_outputs_set(outputs, "logits", logits) != ST_OK) goto done;
    /* (a batch without labels, for prediction, gets no loss) */
    if (net->return_loss && st_batch_get(&labels, batch, "labels") == ST_OK &&
        (st_cross_entropy(&loss, logits, labels, NULL, -100, ST_REDUCTION_MEAN, net->smoothing) != ST_OK ||
         st_outputs_set(outputs, "loss", loss) != ST_OK))
        goto done;
    rc = 0;
done:
    st_tensor_free(x);
    st_tensor_free(h);
    st_tensor_free(r);
    st_tensor_free(d);
    st_tensor_free(y);
    st_tensor_free(logits);
    st_tensor_free(labels);
    st_tensor_free(loss);
    return rc;
}

/* The custom MLP from st_manual_seed(seed), with the options of `options` (NULL: none); fc1 is
 * created before fc2, as in make_sequential. */
static st_module *make_mlp(uint64_t seed, int64_t hidden, const mlp *options) {
    st_module *model = NULL;
    mlp *net = calloc(1, sizeof *net);
    if (!CHECK(net != NULL, "out of memory")) return NULL;
    if (options) *net = *options;
    net->fc1 = net->fc2 = NULL;
    st_manual_seed(seed);
    if (!CHECK_OK(st_linear_create(&net->fc1, DIGITS_NUM_FEATURES, hidden, true)) ||
        !CHECK_OK(st_linear_create(&net->fc2, hidden, DIGITS_NUM_CLASSES, true)) ||
        !CHECK_OK(st_module_create_custom(&model, "DigitsMLP", mlp_forward, net, free_mlp))) {
        free_mlp(net); /* (not handed over: the module was not created) */
        return NULL;
    }
    if (!CHECK_OK(st_module_add_child(model, "fc1", net->fc1)) ||
        !CHECK_OK(st_module_add_child(model, "fc2", net->fc2))) {
        st_module_free(model);
        return NULL;
    }
    return model;
}

/* Linear(64, hidden) - ReLU - Linear(hidden, 10) as st_sequential, from st_manual_seed(seed). */
static st_module *make_sequential(uint64_t seed, int64_t hidden) {
    st_module *layers[3] = {NULL, NULL, NULL}, *model = NULL;
    int i;
    st_manual_seed(seed);
    if (CHECK_OK(st_linear_create(&layers[0], DIGITS_NUM_FEATURES, hidden, true)) &&
        CHECK_OK(st_relu_create(&layers[1])) &&
        CHECK_OK(st_linear_create(&layers[2], hidden, DIGITS_NUM_CLASSES, true)))
        CHECK_OK(st_sequential_create(&model, layers, 3));
    for (i = 0; i < 3; i++) st_module_free(layers[i]);
    return model;
}

/* ---- a map-style provider over digits arrays ----------------------------------------------- */

typedef struct digits_provider {
    const digits_data *data;
    int64_t rows;
    const char *label_name;  /* "labels" unless a case renames them */
    int short_by_one;        /* fill one row fewer than asked (a bug to be reported) */
    int64_t calls, samples;  /* fetch calls and rows fetched */
    int64_t *order;          /* when not NULL: the indices of every call after the first */
    int64_t order_length, order_capacity;
    int frees;
} digits_provider;

static int fetch_digits(st_batch *batch, const int64_t *indices, size_t count, void *user_data) {
    digits_provider *p = user_data;
    float *x = malloc(count * DIGITS_NUM_FEATURES * sizeof(float));
    int64_t *y = malloc(count * sizeof(int64_t));
    size_t i, rows = p->short_by_one ? count - 1 : count;
    int64_t x_shape[2] = {(int64_t)rows, DIGITS_NUM_FEATURES}, y_shape[1] = {(int64_t)rows};
    int rc = 1;
    if (!x || !y) goto done;
    for (i = 0; i < count; i++) {
        if (indices[i] < 0 || indices[i] >= p->rows) goto done; /* (fails the test: ST_EUSER) */
        memcpy(x + i * DIGITS_NUM_FEATURES, p->data->features + indices[i] * DIGITS_NUM_FEATURES,
               DIGITS_NUM_FEATURES * sizeof(float));
        y[i] = p->data->labels[indices[i]];
        if (p->order && p->calls > 0 && p->order_length < p->order_capacity)
            p->order[p->order_length++] = indices[i];
    }
    p->calls++;
    p->samples += (int64_t)count;
    if (st_batch_add(batch, "input", x, x_shape, 2, ST_FLOAT32) != ST_OK ||
        st_batch_add(batch, p->label_name ? p->label_name : "labels", y, y_shape, 1, ST_INT64) != ST_OK)
        goto done;
    rc = 0;
done:
    free(x);
    free(y);
    return rc;
}

static void count_provider_free(void *user_data) { ((digits_provider *)user_data)->frees++; }

static st_dataset *make_provider(digits_provider *p, const digits_data *data, int64_t rows) {
    st_dataset *dataset = NULL;
    memset(p, 0, sizeof *p);
    p->data = data;
    p->rows = rows;
    CHECK_OK(st_dataset_create_indexed(&dataset, rows, fetch_digits, p, count_provider_free));
    return dataset;
}

/* ---- a: a custom forward over built-in children ------------------------------------------- */

static void test_custom_forward_equals_builtin(void) {
    static const char *const names[] = {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"};
    st_module *builtin = NULL, *custom = NULL;
    st_dataset *data = NULL;
    st_trainer *a = NULL, *b = NULL;
    st_training_args args;
    st_metrics *ma = NULL, *mb = NULL;
    weights before = {NULL, 0}, wa = {NULL, 0}, wb = {NULL, 0};
    int64_t na = 0, nb = 0;
    REQUIRE(load_digits() && init_args(&args, 30), "fixtures");
    REQUIRE((builtin = make_sequential(7, 64)) && (custom = make_mlp(7, 64, NULL)), "models");
    CHECK(has_names(custom, 1, names, COUNT(names)), "the children's parameters are fc1.* and fc2.*");
    REQUIRE_OK(st_module_num_parameters(&na, builtin));
    REQUIRE_OK(st_module_num_parameters(&nb, custom));
    CHECK(na == nb && nb == 64 * 64 + 64 + 64 * 10 + 10, "%lld vs %lld parameters", (long long)na, (long long)nb);
    REQUIRE(read_weights(&before, custom) && read_weights(&wa, builtin), "weights");
    REQUIRE(same_bits(&before, &wa), "the same seed gives the same initial weights");
    free_weights(&wa);

    REQUIRE((data = in_memory(&train_rows, train_rows.num_samples)), "dataset");
    REQUIRE((a = make_trainer(builtin, data, ST_LOSS_CROSS_ENTROPY, &args, NULL, NULL, 0)), "trainer");
    REQUIRE((b = make_trainer(custom, data, ST_LOSS_CROSS_ENTROPY, &args, NULL, NULL, 0)), "trainer");
    REQUIRE_OK(st_trainer_train(&ma, a));
    REQUIRE_OK(st_trainer_train(&mb, b));
    REQUIRE(read_weights(&wa, builtin) && read_weights(&wb, custom), "weights");
    CHECK(!same_bits(&before, &wb), "training changed the custom module's weights");
    CHECK(same_bits(&wa, &wb), "the custom forward trains bit for bit as st_sequential (largest "
          "difference %g)", max_difference(&wa, &wb));
    CHECK(metric(ma, "train_loss") == metric(mb, "train_loss"), "train_loss %.9g vs %.9g",
          metric(ma, "train_loss"), metric(mb, "train_loss"));
done:
    free_weights(&before);
    free_weights(&wa);
    free_weights(&wb);
    st_metrics_free(ma);
    st_metrics_free(mb);
    st_trainer_free(a);
    st_trainer_free(b);
    st_dataset_free(data);
    st_module_free(builtin);
    st_module_free(custom);
}

/* ---- b: parameters and a buffer declared by hand ------------------------------------------ */

/* Softmax regression written out: logits = (x * scale) W^T + b. */
typedef struct affine {
    st_tensor *weight, *bias, *scale; /* the caller's handles; the module holds its own */
} affine;

static int affine_forward(st_outputs *outputs, const st_batch *batch, bool training, void *user_data) {
    const affine *net = user_data;
    st_tensor *x = NULL, *xs = NULL, *wt = NULL, *xw = NULL, *logits = NULL;
    int rc = 1;
    (void)training;
    if (st_batch_get(&x, batch, "input") == ST_OK && st_mul(&xs, x, net->scale) == ST_OK &&
        st_transpose(&wt, net->weight, 0, 1) == ST_OK && st_matmul(&xw, xs, wt) == ST_OK &&
        st_add(&logits, xw, net->bias) == ST_OK && st_outputs_set(outputs, "logits", logits) == ST_OK)
        rc = 0;
    st_tensor_free(x);
    st_tensor_free(xs);
    st_tensor_free(wt);
    st_tensor_free(xw);
    st_tensor_free(logits);
    return rc;
}

static void test_forward_with_parameters(void) {
    static const char *const params[] = {"weight", "bias"};
    static const char *const state[] = {"weight", "bias", "scale"};
    const int64_t w_shape[2] = {DIGITS_NUM_CLASSES, DIGITS_NUM_FEATURES}, b_shape[1] = {DIGITS_NUM_CLASSES};
    affine net = {NULL, NULL, NULL};
    st_module *model = NULL;
    st_dataset *data = NULL, *test = NULL;
    st_trainer *trainer = NULL;
    st_training_args args;
    st_metrics *m0 = NULL, *m1 = NULL;
    float w0[DIGITS_NUM_CLASSES * DIGITS_NUM_FEATURES], w1[DIGITS_NUM_CLASSES * DIGITS_NUM_FEATURES];
    float b1[DIGITS_NUM_CLASSES], scale = 0;
    bool requires_grad = false;
    REQUIRE(load_digits() && init_args(&args, 100), "fixtures");
    REQUIRE_OK(st_tensor_uniform(&net.weight, w_shape, 2, -0.125f, 0.125f, 1));
    REQUIRE_OK(st_tensor_zeros(&net.bias, b_shape, 1, ST_FLOAT32));
    REQUIRE_OK(st_tensor_full(&net.scale, NULL, 0, 1.0f));
    REQUIRE_OK(st_module_create_custom(&model, "Affine", affine_forward, &net, NULL));
    REQUIRE_OK(st_module_add_parameter(model, "weight", net.weight));
    REQUIRE_OK(st_module_add_parameter(model, "bias", net.bias));
    REQUIRE_OK(st_module_add_buffer(model, "scale", net.scale));
    REQUIRE_OK(st_tensor_requires_grad(&requires_grad, net.weight));
    CHECK(requires_grad, "a declared parameter is made to require gradients");
    CHECK(has_names(model, 0, params, COUNT(params)), "the parameters are weight and bias");
    CHECK(has_names(model, 1, state, COUNT(state)), "the state dict adds the buffer");
    REQUIRE_OK(st_tensor_copy_to(w0, sizeof w0, net.weight));

    REQUIRE((data = in_memory(&train_rows, train_rows.num_samples)) &&
            (test = in_memory(&test_rows, test_rows.num_samples)), "datasets");
    REQUIRE((trainer = make_trainer(model, data, ST_LOSS_CROSS_ENTROPY, &args, NULL, NULL, 0)), "trainer");
    REQUIRE_OK(st_trainer_evaluate(&m0, trainer, test));
    REQUIRE_OK(st_trainer_train(NULL, trainer));
    REQUIRE_OK(st_trainer_evaluate(&m1, trainer, test));
    printf("eval_loss %.4f -> %.4f, eval_accuracy %.4f\n", metric(m0, "eval_loss"),
           metric(m1, "eval_loss"), metric(m1, "eval_accuracy"));
    CHECK(metric(m1, "eval_loss") < 0.6 * metric(m0, "eval_loss"), "the held-out loss falls from "
          "%g to %g, expected below 60%%", metric(m0, "eval_loss"), metric(m1, "eval_loss"));
    CHECK(metric(m1, "eval_accuracy") > 0.85, "eval_accuracy %g", metric(m1, "eval_accuracy"));
    /* The caller's handles see the trained values: the module trains these very tensors. */
    REQUIRE_OK(st_tensor_copy_to(w1, sizeof w1, net.weight));
    REQUIRE_OK(st_tensor_copy_to(b1, sizeof b1, net.bias));
    REQUIRE_OK(st_tensor_copy_to(&scale, sizeof scale, net.scale));
    CHECK(memcmp(w0, w1, sizeof w0) != 0, "the weight changed");
    CHECK(b1[0] != 0 || b1[1] != 0, "the bias changed from zero");
    CHECK(scale == 1.0f, "the buffer is not trained (%g)", (double)scale);
done:
    st_metrics_free(m0);
    st_metrics_free(m1);
    st_trainer_free(trainer);
    st_dataset_free(data);
    st_dataset_free(test);
    st_module_free(model);
    st_tensor_free(net.weight);
    st_tensor_free(net.bias);
    st_tensor_free(net.scale);
}

/* ---- c, d: the model's own loss, a compute-loss function ----------------------------------- */

/* Trains the custom MLP (seed 3, options `net`) for 30 steps with `accumulation` and the
 * label_smoothing_factor given, and optionally a compute-loss function; *out receives the final
 * weights and *eval_loss the loss st_trainer_evaluate reports on the training set. */
static int train_mlp(weights *out, double *eval_loss, const mlp *net, int64_t accumulation,
                     double label_smoothing_factor, st_loss_fn compute_loss, void *loss_data) {
    st_module *model = make_mlp(3, 64, net);
    st_dataset *data = in_memory(&train_rows, train_rows.num_samples);
    st_trainer *trainer = NULL;
    st_training_args args;
    st_metrics *metrics = NULL;
    int ok = 0;
    if (model && data && init_args(&args, 30)) {
        args.gradient_accumulation_steps = accumulation;
        args.label_smoothing_factor = label_smoothing_factor;
        ok = (trainer = make_trainer(model, data, ST_LOSS_CROSS_ENTROPY, &args, compute_loss, loss_data, 1)) &&
             read_weights(out, model) && CHECK_OK(st_trainer_evaluate(&metrics, trainer, data));
        if (ok) *eval_loss = metric(metrics, "eval_loss");
    }
    st_metrics_free(metrics);
    st_trainer_free(trainer);
    st_dataset_free(data);
    st_module_free(model);
    return ok;
}

static void test_model_returns_loss(void) {
    mlp with_loss, smoothed;
    weights builtin = {NULL, 0}, own = {NULL, 0}, other = {NULL, 0};
    double builtin_eval = 0, own_eval = 0, other_eval = 0;
    memset(&with_loss, 0, sizeof with_loss);
    with_loss.return_loss = 1;
    smoothed = with_loss;
    smoothed.smoothing = 0.3f;
    REQUIRE(load_digits(), "fixtures");
    REQUIRE(train_mlp(&builtin, &builtin_eval, NULL, 2, 0, NULL, NULL), "built-in loss");
    REQUIRE(train_mlp(&own, &own_eval, &with_loss, 2, 0, NULL, NULL), "the model's loss");
    printf("largest weight difference %.3g; eval_loss %.9g vs %.9g\n", max_difference(&builtin, &own),
           builtin_eval, own_eval);
    CHECK(max_difference(&builtin, &own) <= 1e-5, "the model's cross entropy trains as the built-in "
          "one with accumulation 2 (largest difference %g)", max_difference(&builtin, &own));
    CHECK(fabs(builtin_eval - own_eval) <= 1e-5 * builtin_eval, "evaluation uses the model's loss: "
          "eval_loss %.9g vs %.9g", builtin_eval, own_eval);
    /* The "loss" output is what is minimised: a different loss gives different weights. */
    REQUIRE(train_mlp(&other, &other_eval, &smoothed, 2, 0, NULL, NULL), "a smoothed loss");
    CHECK(max_difference(&builtin, &other) > 1e-4, "a label-smoothed \"loss\" output changes the "
          "update (largest difference %g)", max_difference(&builtin, &other));
    CHECK(other_eval > builtin_eval + 0.01, "and evaluation reports it: %g vs %g", other_eval, builtin_eval);
done:
    free_weights(&builtin);
    free_weights(&own);
    free_weights(&other);
}

/* A compute-loss function: cross entropy of the outputs' logits and the batch's labels, with
 * label smoothing; records the batch sizes and st_batch_num_items it sees in training. */
typedef struct loss_probe {
    float smoothing;
    int64_t training_calls, other_calls;
    int64_t sizes_seen[4], items_seen[4]; /* distinct (size, num_items) pairs met in training */
    size_t pairs;
} loss_probe;

/* HF's compute_loss_func contract: the micro-batch's summed loss over num_items (the labels of
 * the whole step), used as it is; outside training (num_items 0) the mean. */
static int cross_entropy_loss(st_tensor **loss, const st_outputs *outputs, const st_batch *batch,
                              void *user_data) {
    loss_probe *probe = user_data;
    st_tensor *logits = NULL, *labels = NULL, *sum = NULL;
    int64_t size = 0, items = -1;
    size_t i;
    int rc = 1;
    if (st_outputs_get(&logits, outputs, "logits") != ST_OK || st_batch_get(&labels, batch, "labels") != ST_OK ||
        st_batch_size(&size, batch) != ST_OK || st_batch_num_items(&items, batch) != ST_OK)
        goto done;
    if (items == 0 ? st_cross_entropy(loss, logits, labels, NULL, -100, ST_REDUCTION_MEAN, probe->smoothing) != ST_OK
                   : st_cross_entropy(&sum, logits, labels, NULL, -100, ST_REDUCTION_SUM, probe->smoothing) != ST_OK ||
                         st_mul_scalar(loss, sum, 1.0f / (float)items) != ST_OK)
        goto done;
    if (items == 0) {
        probe->other_calls++; /* the trainer's check of the first sample, evaluation */
    } else {
        probe->training_calls++;
        for (i = 0; i < probe->pairs; i++)
            if (probe->sizes_seen[i] == size && probe->items_seen[i] == items) break;
        if (i == probe->pairs && i < COUNT(probe->sizes_seen)) {
            probe->sizes_seen[i] = size;
            probe->items_seen[i] = items;
            probe->pairs++;
        }
    }
    rc = 0;
done:
    st_tensor_free(logits);
    st_tensor_free(labels);
    st_tensor_free(sum);
    return rc;
}

static void test_compute_loss_fn(void) {
    loss_probe probe;
    mlp with_loss;
    weights builtin = {NULL, 0}, custom = {NULL, 0};
    double builtin_eval = 0, custom_eval = 0;
    memset(&probe, 0, sizeof probe);
    REQUIRE(load_digits(), "fixtures");
    REQUIRE(train_mlp(&builtin, &builtin_eval, NULL, 1, 0, NULL, NULL), "built-in loss");
    REQUIRE(train_mlp(&custom, &custom_eval, NULL, 1, 0, cross_entropy_loss, &probe), "compute_loss");
    CHECK(max_difference(&builtin, &custom) <= 1e-6, "a compute-loss cross entropy trains as the "
          "built-in loss (largest difference %g)", max_difference(&builtin, &custom));
    CHECK(fabs(builtin_eval - custom_eval) <= 1e-6 * builtin_eval, "eval_loss %.9g vs %.9g",
          builtin_eval, custom_eval);
    CHECK(probe.training_calls == 30, "called once per training step: %lld", (long long)probe.training_calls);
    CHECK(probe.pairs == 1 && probe.sizes_seen[0] == 32 && probe.items_seen[0] == 32,
          "st_batch_num_items is the step's 32 labels (saw %zu pairs, the first %lld samples / %lld items)",
          probe.pairs, (long long)probe.sizes_seen[0], (long long)probe.items_seen[0]);
    free_weights(&builtin);
    free_weights(&custom);

    /* Label smoothing, accumulation 2, and a model that returns a loss of its own: the
     * compute-loss function wins over the model's "loss", and its num_items is the whole step's
     * (two batches of 32). The built-in loss smooths by label_smoothing_factor. */
    memset(&probe, 0, sizeof probe);
    memset(&with_loss, 0, sizeof with_loss);
    with_loss.return_loss = 1;
    probe.smoothing = 0.1f;
    REQUIRE(train_mlp(&builtin, &builtin_eval, NULL, 2, 0.1, NULL, NULL), "built-in loss");
    REQUIRE(train_mlp(&custom, &custom_eval, &with_loss, 2, 0, cross_entropy_loss, &probe), "compute_loss");
    CHECK(max_difference(&builtin, &custom) <= 1e-5, "label_smoothing_factor 0.1 equals a compute-loss "
          "with label_smoothing 0.1 (largest difference %g)", max_difference(&builtin, &custom));
    /* Epoch 0 is 22 windows of two batches of 32 and one of the last batch (30 rows) alone;
     * steps 24..30 take 14 batches of epoch 1. */
    CHECK(probe.training_calls == 45 + 14, "called per micro-batch: %lld", (long long)probe.training_calls);
    CHECK(probe.pairs == 2 && probe.sizes_seen[0] == 32 && probe.items_seen[0] == 64 &&
          probe.sizes_seen[1] == 30 && probe.items_seen[1] == 30,
          "with accumulation 2, num_items counts the labels of the step's window: 64 for two batches "
          "of 32, 30 for the epoch's last batch alone (saw %zu pairs: %lld/%lld, %lld/%lld)", probe.pairs,
          (long long)probe.sizes_seen[0], (long long)probe.items_seen[0], (long long)probe.sizes_seen[1],
          (long long)probe.items_seen[1]);
done:
    free_weights(&builtin);
    free_weights(&custom);
}

/* ---- e: a map-style provider ----------------------------------------------------------------- */

static void test_indexed_provider_equals_in_memory(void) {
    digits_provider provider;
    st_module *a = NULL, *b = NULL;
    st_dataset *data = NULL, *indexed = NULL;
    st_trainer *ta = NULL, *tb = NULL;
    st_training_args args;
    weights wa = {NULL, 0}, wb = {NULL, 0};
    int64_t n = 0, i, in_order = 0, order[2 * 1438];
    static unsigned char seen[1438];
    REQUIRE(load_digits() && init_args(&args, 60), "fixtures"); /* 60 steps: two shuffled epochs */
    REQUIRE((data = in_memory(&train_rows, train_rows.num_samples)), "dataset");
    REQUIRE((indexed = make_provider(&provider, &train_rows, train_rows.num_samples)), "provider");
    provider.order = order;
    provider.order_capacity = (int64_t)COUNT(order);
    REQUIRE_OK(st_dataset_num_samples(&n, indexed));
    CHECK(n == 1438, "st_dataset_num_samples of a provider: %lld", (long long)n);
    REQUIRE((a = make_sequential(11, 64)) && (b = make_sequential(11, 64)), "models");
    REQUIRE((ta = make_trainer(a, data, ST_LOSS_CROSS_ENTROPY, &args, NULL, NULL, 1)), "in-memory run");
    REQUIRE((tb = make_trainer(b, indexed, ST_LOSS_CROSS_ENTROPY, &args, NULL, NULL, 1)), "provider run");
    REQUIRE(read_weights(&wa, a) && read_weights(&wb, b), "weights");
    CHECK(same_bits(&wa, &wb), "a provider of the same rows trains bit for bit as st_dataset_create "
          "(largest difference %g)", max_difference(&wa, &wb));
    /* The trainer's sampler: the first epoch asks for every row once, shuffled. */
    CHECK(provider.order_length == 1438 + 15 * 32, "%lld rows fetched in 60 steps", (long long)provider.order_length);
    REQUIRE(provider.order_length >= 1438, "a whole epoch fetched");
    for (i = 0; i < 1438; i++) {
        seen[order[i]]++;
        in_order += order[i] == i;
    }
    for (i = 0; i < 1438 && seen[i] == 1; i++) {}
    CHECK(i == 1438, "row %lld is fetched %d times in the first epoch", (long long)i, i < 1438 ? seen[i] : 0);
    CHECK(in_order < 50, "the rows come shuffled (%lld in place)", (long long)in_order);
    CHECK(memcmp(order, order + 1438, 15 * 32 * sizeof(int64_t)) != 0, "each epoch has its own order");
done:
    free_weights(&wa);
    free_weights(&wb);
    st_trainer_free(ta);
    st_trainer_free(tb);
    st_dataset_free(data);
    st_dataset_free(indexed);
    st_module_free(a);
    st_module_free(b);
}

/* ---- f: a streaming provider ---------------------------------------------------------------- */

typedef struct digits_stream {
    const digits_data *data;
    int64_t epochs_begun[8];  /* the epoch of each call for batch 0 */
    size_t num_epochs_begun;
    int64_t ends;             /* ST_DATA_END returned */
    int64_t max_seen_batch_size;
} digits_stream;

static int next_digits(st_batch *batch, int64_t epoch, int64_t index, int64_t batch_size, void *user_data) {
    digits_stream *s = user_data;
    int64_t start = index * batch_size, rows;
    int64_t x_shape[2], y_shape[1];
    if (index == 0 && s->num_epochs_begun < COUNT(s->epochs_begun)) s->epochs_begun[s->num_epochs_begun++] = epoch;
    if (batch_size > s->max_seen_batch_size) s->max_seen_batch_size = batch_size;
    if (start >= s->data->num_samples) {
        s->ends++;
        return ST_DATA_END;
    }
    rows = s->data->num_samples - start < batch_size ? s->data->num_samples - start : batch_size;
    x_shape[0] = y_shape[0] = rows;
    x_shape[1] = DIGITS_NUM_FEATURES;
    return st_batch_add(batch, "input", s->data->features + start * DIGITS_NUM_FEATURES, x_shape, 2, ST_FLOAT32) ||
           st_batch_add(batch, "labels", s->data->labels + start, y_shape, 1, ST_INT64);
}

static void test_stream_provider(void) {
    digits_stream stream;
    st_module *a = NULL, *b = NULL;
    st_dataset *data = NULL, *streamed = NULL;
    st_trainer *ta = NULL, *tb = NULL;
    st_training_args args;
    st_trainer_state state;
    weights wa = {NULL, 0}, wb = {NULL, 0};
    int64_t n = 0;
    memset(&stream, 0, sizeof stream);
    stream.data = &train_rows;
    REQUIRE(load_digits() && init_args(&args, -1), "fixtures");
    REQUIRE_OK(st_dataset_create_stream(&streamed, next_digits, &stream, NULL));
    CHECK_ERROR(st_dataset_num_samples(&n, streamed), ST_EINVAL, "iterable");
    REQUIRE((a = make_mlp(4, 64, NULL)) && (b = make_mlp(4, 64, NULL)), "models");

    /* An iterable dataset has no length: the number of steps must be given. */
    REQUIRE((tb = make_trainer(b, streamed, ST_LOSS_CROSS_ENTROPY, &args, NULL, NULL, 0)), "trainer");
    CHECK_ERROR(st_trainer_train(NULL, tb), ST_EINVAL, "max_steps");
    st_trainer_free(tb);
    tb = NULL;
    CHECK(stream.num_epochs_begun == 0, "nothing was read before the refusal");

    /* 100 steps cross two epoch ends (45 batches each); in order, as the unshuffled in-memory run. */
    args.max_steps = 100;
    args.dataloader_shuffle = false;
    REQUIRE((data = in_memory(&train_rows, train_rows.num_samples)), "dataset");
    REQUIRE((ta = make_trainer(a, data, ST_LOSS_CROSS_ENTROPY, &args, NULL, NULL, 1)), "in-memory run");
    REQUIRE((tb = make_trainer(b, streamed, ST_LOSS_CROSS_ENTROPY, &args, NULL, NULL, 1)), "streamed run");
    REQUIRE(read_weights(&wa, a) && read_weights(&wb, b), "weights");
    CHECK(same_bits(&wa, &wb), "the stream trains bit for bit as the unshuffled in-memory dataset "
          "(largest difference %g)", max_difference(&wa, &wb));
    state.struct_size = sizeof state;
    REQUIRE_OK(st_trainer_get_state(&state, tb));
    CHECK(state.global_step == 100, "global_step %lld", (long long)state.global_step);
    CHECK(stream.num_epochs_begun == 3 && stream.epochs_begun[0] == 0 && stream.epochs_begun[1] == 1 &&
          stream.epochs_begun[2] == 2, "epochs 0, 1, 2 begin (%zu begun)", stream.num_epochs_begun);
    CHECK(stream.ends == 2, "ST_DATA_END ends epochs 0 and 1 (%lld ends)", (long long)stream.ends);
    CHECK(stream.max_seen_batch_size == 32, "asked for batches of %lld", (long long)stream.max_seen_batch_size);
done:
    free_weights(&wa);
    free_weights(&wb);
    st_trainer_free(ta);
    st_trainer_free(tb);
    st_dataset_free(data);
    st_dataset_free(streamed);
    st_module_free(a);
    st_module_free(b);
}

/* ---- g: token ids ------------------------------------------------------------------------------ */

#define TOKENS_VOCAB 13   /* 0 is padding; class c uses tokens 1 + 4c .. 4 + 4c, plus noise */
#define TOKENS_MAX_LEN 9
#define TOKENS_CLASSES 3
#define TOKENS_MAX_SEQUENCES 512

typedef struct token_data {
    int64_t tokens[TOKENS_MAX_SEQUENCES][TOKENS_MAX_LEN];
    int64_t lengths[TOKENS_MAX_SEQUENCES];
    int64_t labels[TOKENS_MAX_SEQUENCES];
    int64_t count;
    int widths_seen[TOKENS_MAX_LEN + 1]; /* batches by padded length */
} token_data;

static uint32_t lcg(uint32_t *state) {
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

static void make_tokens(token_data *d, int64_t count, uint32_t seed) {
    int64_t i, j;
    memset(d, 0, sizeof *d);
    d->count = count;
    for (i = 0; i < count; i++) {
        d->labels[i] = lcg(&seed) % TOKENS_CLASSES;
        d->lengths[i] = 2 + lcg(&seed) % (TOKENS_MAX_LEN - 1); /* 2 .. 9 */
        for (j = 0; j < d->lengths[i]; j++)
            d->tokens[i][j] = lcg(&seed) % 5 == 0 ? 1 + lcg(&seed) % 12 : 1 + 4 * d->labels[i] + lcg(&seed) % 4;
    }
}

/* "input_ids" [count, T] padded with 0 to the batch's longest sequence, and "labels". */
static int fetch_tokens(st_batch *batch, const int64_t *indices, size_t count, void *user_data) {
    token_data *d = user_data;
    int64_t ids[64 * TOKENS_MAX_LEN], labels[64], width = 0, shape[2], label_shape[1];
    size_t i;
    int64_t j;
    if (count > 64) return 1;
    for (i = 0; i < count; i++)
        if (d->lengths[indices[i]] > width) width = d->lengths[indices[i]];
    for (i = 0; i < count; i++) {
        for (j = 0; j < width; j++) ids[i * (size_t)width + (size_t)j] = j < d->lengths[indices[i]] ? d->tokens[indices[i]][j] : 0;
        labels[i] = d->labels[indices[i]];
    }
    d->widths_seen[width]++;
    shape[0] = label_shape[0] = (int64_t)count;
    shape[1] = width;
    return st_batch_add(batch, "input_ids", ids, shape, 2, ST_INT64) ||
           st_batch_add(batch, "labels", labels, label_shape, 1, ST_INT64);
}

/* Embedding -> mean over the tokens -> Linear. */
typedef struct bag_of_tokens {
    st_module *embedding, *head;
} bag_of_tokens;

static int bag_forward(st_outputs *outputs, const st_batch *batch, bool training, void *user_data) {
    const bag_of_tokens *net = user_data;
    const int64_t tokens_dim[1] = {1};
    st_tensor *ids = NULL, *e = NULL, *pooled = NULL, *logits = NULL;
    int rc = 1;
    (void)training;
    if (st_batch_get(&ids, batch, "input_ids") == ST_OK && st_module_forward(&e, net->embedding, ids) == ST_OK &&
        st_mean(&pooled, e, tokens_dim, 1, false) == ST_OK && st_module_forward(&logits, net->head, pooled) == ST_OK &&
        st_outputs_set(outputs, "logits", logits) == ST_OK)
        rc = 0;
    st_tensor_free(ids);
    st_tensor_free(e);
    st_tensor_free(pooled);
    st_tensor_free(logits);
    return rc;
}

static void test_token_inputs(void) {
    static const char *const names[] = {"embedding.weight", "head.weight", "head.bias"};
    static token_data train_tokens, eval_tokens;
    bag_of_tokens net = {NULL, NULL};
    st_module *model = NULL;
    st_dataset *train = NULL, *eval = NULL;
    st_trainer *trainer = NULL;
    st_training_args args;
    st_metrics *m0 = NULL, *m1 = NULL;
    int widths = 0, w;
    make_tokens(&train_tokens, 400, 1);
    make_tokens(&eval_tokens, 200, 2);
    st_manual_seed(5);
    REQUIRE_OK(st_embedding_create(&net.embedding, TOKENS_VOCAB, 16, 0));
    REQUIRE_OK(st_linear_create(&net.head, 16, TOKENS_CLASSES, true));
    REQUIRE_OK(st_module_create_custom(&model, "BagOfTokens", bag_forward, &net, NULL));
    REQUIRE_OK(st_module_add_child(model, "embedding", net.embedding));
    REQUIRE_OK(st_module_add_child(model, "head", net.head));
    CHECK(has_names(model, 1, names, COUNT(names)), "the children's parameters");
    REQUIRE_OK(st_dataset_create_indexed(&train, train_tokens.count, fetch_tokens, &train_tokens, NULL));
    REQUIRE_OK(st_dataset_create_indexed(&eval, eval_tokens.count, fetch_tokens, &eval_tokens, NULL));
    REQUIRE(init_args(&args, 100), "args");
    args.per_device_train_batch_size = 16;
    args.per_device_eval_batch_size = 32;
    args.learning_rate = 2e-2;
    REQUIRE((trainer = make_trainer(model, train, ST_LOSS_CROSS_ENTROPY, &args, NULL, NULL, 0)), "trainer");
    REQUIRE_OK(st_trainer_evaluate(&m0, trainer, eval));
    REQUIRE_OK(st_trainer_train(NULL, trainer));
    REQUIRE_OK(st_trainer_evaluate(&m1, trainer, eval));
    printf("eval_loss %.4f -> %.4f, eval_accuracy %.4f -> %.4f\n", metric(m0, "eval_loss"), metric(m1, "eval_loss"),
           metric(m0, "eval_accuracy"), metric(m1, "eval_accuracy"));
    CHECK(metric(m1, "eval_loss") < 0.5 * metric(m0, "eval_loss"), "the evaluation loss falls from %g to %g",
          metric(m0, "eval_loss"), metric(m1, "eval_loss"));
    CHECK(metric(m1, "eval_accuracy") > 0.9, "eval_accuracy %g", metric(m1, "eval_accuracy"));
    for (w = 0; w <= TOKENS_MAX_LEN; w++) widths += train_tokens.widths_seen[w] > 0;
    CHECK(widths >= 2, "batches came in %d different lengths", widths);
done:
    st_metrics_free(m0);
    st_metrics_free(m1);
    st_trainer_free(trainer);
    st_dataset_free(train);
    st_dataset_free(eval);
    st_module_free(model);
    st_module_free(net.embedding);
    st_module_free(net.head);
}

/* ---- h: mistakes in user code ----------------------------------------------------------------- */

enum fault {
    FAULT_NONE,
    FAULT_RETURN,          /* the forward returns 7 at its third training call */
    FAULT_BAD_NAME,        /* asks the batch for "pixels": st_batch_get fails, the forward returns 1 */
    FAULT_NO_OUTPUTS,      /* returns 0 without setting anything */
    FAULT_LOSS_NOT_SCALAR, /* sets "loss" to the logits, in training (the check of the first
                              sample, in evaluation mode, passes) */
    FAULT_PROBE            /* checks every argument error of the batch and outputs, then works */
};

typedef struct faulty {
    st_module *fc;
    enum fault fault;
    int training_calls;
    int probed;
    const st_batch *kept; /* the batch of the last call, kept past it (which is wrong) */
} faulty;

/* Every NULL or misplaced argument to the batch and outputs functions, from inside a forward. */
static void probe_forward_arguments(st_outputs *outputs, const st_batch *batch, st_tensor *logits) {
    static int not_a_handle;
    const int64_t shape[1] = {1};
    const float value = 0;
    const char *name = NULL;
    st_tensor *t = NULL;
    int64_t n = 0;
    CHECK(st_batch_count(NULL) == 0, "st_batch_count(NULL) is 0");
    CHECK(st_batch_count(batch) == 2, "the in-memory batch has input and labels: %zu entries", st_batch_count(batch));
    if (CHECK_OK(st_batch_entry(&name, &t, batch, 0)))
        CHECK(strcmp(name, "input") == 0, "entry 0 is \"%s\"", name);
    st_tensor_free(t);
    t = NULL;
    if (CHECK_OK(st_batch_entry(&name, &t, batch, 1)))
        CHECK(strcmp(name, "labels") == 0, "entry 1 is \"%s\"", name);
    st_tensor_free(t);
    t = NULL;
    CHECK_ERROR(st_batch_entry(&name, &t, batch, 2), ST_EINVAL, "out of range");
    CHECK_ERROR(st_batch_entry(NULL, &t, batch, 0), ST_EINVAL, "NULL");
    CHECK_ERROR(st_batch_entry(&name, NULL, batch, 0), ST_EINVAL, "NULL");
    CHECK_ERROR(st_batch_entry(&name, &t, NULL, 0), ST_EINVAL, "NULL");
    CHECK_ERROR(st_batch_get(&t, batch, "pixels"), ST_ENOTFOUND, "input");
    CHECK(t == NULL, "a failed st_batch_get sets *out to NULL");
    CHECK_ERROR(st_batch_get(NULL, batch, "input"), ST_EINVAL, "NULL");
    CHECK_ERROR(st_batch_get(&t, NULL, "input"), ST_EINVAL, "NULL");
    CHECK_ERROR(st_batch_get(&t, batch, NULL), ST_EINVAL, "NULL");
    CHECK_ERROR(st_batch_size(NULL, batch), ST_EINVAL, "NULL");
    CHECK_ERROR(st_batch_size(&n, NULL), ST_EINVAL, "NULL");
    CHECK_ERROR(st_batch_num_items(NULL, batch), ST_EINVAL, "NULL");
    CHECK_ERROR(st_batch_num_items(&n, NULL), ST_EINVAL, "NULL");
    /* The batch a forward receives is the trainer's: it cannot be changed. */
    CHECK_ERROR(st_batch_add((st_batch *)batch, "extra", &value, shape, 1, ST_FLOAT32), ST_EMISUSE, "read-only");
    CHECK_ERROR(st_batch_add_tensor((st_batch *)batch, "extra", logits), ST_EMISUSE, "read-only");
    CHECK(st_batch_count(batch) == 2, "and stays as it was");
    CHECK_ERROR(st_outputs_set(NULL, "logits", logits), ST_EINVAL, "NULL");
    CHECK_ERROR(st_outputs_set(outputs, NULL, logits), ST_EINVAL, "NULL");
    CHECK_ERROR(st_outputs_set(outputs, "", logits), ST_EINVAL, "empty");
    CHECK_ERROR(st_outputs_set(outputs, "logits", NULL), ST_EINVAL, "NULL");
    /* A NULL out is EINVAL before the name is looked up, for a name that is absent too. */
    CHECK_ERROR(st_batch_get(NULL, batch, "absent"), ST_EINVAL, "out is NULL");
    CHECK_ERROR(st_outputs_get(NULL, outputs, "absent"), ST_EINVAL, "out is NULL");
    CHECK_ERROR(st_outputs_get(NULL, outputs, "logits"), ST_EINVAL, "out is NULL");
    t = (st_tensor *)&not_a_handle; /* (a failed call must overwrite it with NULL) */
    CHECK_ERROR(st_outputs_get(&t, outputs, "logits"), ST_ENOTFOUND, "no output is set yet");
    CHECK(t == NULL, "a failed st_outputs_get sets *out to NULL");
    CHECK_ERROR(st_outputs_get(&t, outputs, "absent"), ST_ENOTFOUND, "no output is set yet");
    /* "logits" is the output so named, else the first that is not the loss (HF). */
    if (CHECK_OK(st_outputs_set(outputs, "scores", logits)) && CHECK_OK(st_outputs_get(&t, outputs, "logits")))
        st_tensor_free(t);
    t = NULL;
    /* Once something is set, an absent name is ENOTFOUND naming what there is. */
    CHECK_ERROR(st_outputs_get(&t, outputs, "absent"), ST_ENOTFOUND, "scores");
    CHECK_ERROR(st_outputs_get(NULL, outputs, "absent"), ST_EINVAL, "out is NULL");
    CHECK_ERROR(st_outputs_get(NULL, outputs, "logits"), ST_EINVAL, "NULL");
    CHECK_ERROR(st_outputs_get(&t, NULL, "logits"), ST_EINVAL, "NULL");
    CHECK_ERROR(st_outputs_get(&t, outputs, NULL), ST_EINVAL, "NULL");
    /* Handles of the wrong kind. */
    CHECK_ERROR(st_batch_size(&n, (const st_batch *)outputs), ST_EINVAL, "st_batch");
    CHECK_ERROR(st_outputs_set((st_outputs *)batch, "logits", logits), ST_EINVAL, "st_outputs");
}

static int faulty_forward(st_outputs *outputs, const st_batch *batch, bool training, void *user_data) {
    faulty *f = user_data;
    st_tensor *x = NULL, *logits = NULL;
    int rc = 1;
    f->kept = batch;
    if (training) f->training_calls++;
    if (f->fault == FAULT_RETURN && training && f->training_calls == 3) return 7;
    if (st_batch_get(&x, batch, f->fault == FAULT_BAD_NAME ? "pixels" : "input") != ST_OK ||
        st_module_forward(&logits, f->fc, x) != ST_OK)
        goto done;
    if (f->fault == FAULT_PROBE && !f->probed) {
        f->probed = 1;
        probe_forward_arguments(outputs, batch, logits);
    }
    if (f->fault != FAULT_NO_OUTPUTS &&
        (st_outputs_set(outputs, "logits", logits) != ST_OK ||
         (f->fault == FAULT_LOSS_NOT_SCALAR && training && st_outputs_set(outputs, "loss", logits) != ST_OK)))
        goto done;
    rc = 0;
done:
    st_tensor_free(x);
    st_tensor_free(logits);
    return rc;
}

/* Trains a Linear(64, 10) inside a custom module with `fault` on the digits for 5 steps and
 * returns the status; *f receives the forward's record. */
static int train_faulty(faulty *f, enum fault fault, st_dataset *data) {
    st_module *model = NULL;
    st_trainer *trainer = NULL;
    st_training_args args;
    int rc = ST_ERROR;
    memset(f, 0, sizeof *f);
    f->fault = fault;
    if (!init_args(&args, 5) || !CHECK_OK(st_linear_create(&f->fc, DIGITS_NUM_FEATURES, DIGITS_NUM_CLASSES, true)) ||
        !CHECK_OK(st_module_create_custom(&model, "Faulty", faulty_forward, f, NULL)) ||
        !CHECK_OK(st_module_add_child(model, "fc", f->fc)) ||
        !CHECK_OK(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args)) ||
        !CHECK_OK(st_trainer_set_train_dataset(trainer, data)))
        goto done;
    rc = st_trainer_train(NULL, trainer);
    if (rc != ST_OK) printf("%s: %s\n", st_status_string(rc), st_last_error_message());
done:
    st_trainer_free(trainer);
    st_module_free(model);
    st_module_free(f->fc);
    f->fc = NULL;
    return rc;
}

/* Every NULL or misplaced argument to a data provider's (writable) batch. */
typedef struct probing_provider {
    digits_provider rows;
    int probed;
} probing_provider;

static int probing_fetch(st_batch *batch, const int64_t *indices, size_t count, void *user_data) {
    probing_provider *p = user_data;
    if (!p->probed) {
        const int64_t shape[2] = {(int64_t)count, DIGITS_NUM_FEATURES}, wrong[1] = {(int64_t)count + 1};
        const int64_t big[1] = {INT64_MAX};
        static const float zeros_row[1] = {0};
        float *x = calloc(count * DIGITS_NUM_FEATURES + 1, sizeof(float));
        st_tensor *t = NULL;
        p->probed = 1;
        CHECK_ERROR(st_batch_add(NULL, "input", x, shape, 2, ST_FLOAT32), ST_EINVAL, "NULL");
        CHECK_ERROR(st_batch_add(batch, NULL, x, shape, 2, ST_FLOAT32), ST_EINVAL, "NULL");
        CHECK_ERROR(st_batch_add(batch, "input", NULL, shape, 2, ST_FLOAT32), ST_EINVAL, "NULL");
        CHECK_ERROR(st_batch_add(batch, "input", x, NULL, 2, ST_FLOAT32), ST_EINVAL, "");
        CHECK_ERROR(st_batch_add(batch, "input", x, shape, 0, ST_FLOAT32), ST_ESHAPE, "first dimension");
        CHECK_ERROR(st_batch_add(batch, "input", x, shape, 2, (st_dtype)42), ST_EINVAL, "");
        CHECK(st_batch_add(batch, "input", zeros_row, big, 1, ST_FLOAT32) != ST_OK, "INT64_MAX rows are refused");
        CHECK_ERROR(st_batch_add_tensor(NULL, "input", NULL), ST_EINVAL, "NULL");
        CHECK_ERROR(st_batch_add_tensor(batch, "input", NULL), ST_EINVAL, "NULL");
        CHECK(st_batch_count(batch) == 0, "nothing was added by the refused calls");
        /* Entries must agree on the batch dimension. */
        if (CHECK_OK(st_batch_add(batch, "input", x, shape, 2, ST_FLOAT32)) &&
            CHECK_OK(st_tensor_zeros(&t, wrong, 1, ST_INT64)))
            CHECK(st_batch_add_tensor(batch, "labels", t) != ST_OK, "labels of %lld rows for %zu samples are refused",
                  (long long)wrong[0], count);
        st_tensor_free(t);
        free(x);
        CHECK(st_batch_count(batch) == 1, "the batch holds what was accepted");
        return 1; /* fail this fetch: the trainer reports it */
    }
    return fetch_digits(batch, indices, count, &p->rows);
}

/* A stream that misbehaves: `fault` 1 yields more rows than the batch size, 2 yields an empty
 * batch, 3 ends its first epoch before any batch. */
static int bad_next(st_batch *batch, int64_t epoch, int64_t index, int64_t batch_size, void *user_data) {
    const int fault = *(const int *)user_data;
    const int64_t shape[2] = {batch_size + 1, DIGITS_NUM_FEATURES}, label_shape[1] = {batch_size + 1};
    (void)epoch;
    (void)index;
    if (fault == 3) return ST_DATA_END;
    if (fault == 2) return 0;
    return st_batch_add(batch, "input", train_rows.features, shape, 2, ST_FLOAT32) ||
           st_batch_add(batch, "labels", train_rows.labels, label_shape, 1, ST_INT64);
}

/* A compute-loss function that fails, or succeeds without a loss. */
static int failing_loss(st_tensor **loss, const st_outputs *outputs, const st_batch *batch, void *user_data) {
    (void)loss;
    (void)outputs;
    (void)batch;
    return *(const int *)user_data;
}

static int entry_point_never_called(st_outputs *outputs, const st_batch *batch, bool training, void *user_data) {
    (void)outputs;
    (void)batch;
    (void)training;
    (void)user_data;
    return 1;
}

static int fetch_never_called(st_batch *batch, const int64_t *indices, size_t count, void *user_data) {
    (void)batch;
    (void)indices;
    (void)count;
    (void)user_data;
    return 1;
}

static int next_never_called(st_batch *batch, int64_t epoch, int64_t index, int64_t batch_size, void *user_data) {
    (void)batch;
    (void)epoch;
    (void)index;
    (void)batch_size;
    (void)user_data;
    return 1;
}

static void test_errors(void) {
    const int64_t shape[2] = {2, 3};
    faulty f;
    digits_provider provider;
    probing_provider probing;
    st_dataset *data = NULL, *short_rows = NULL, *probed = NULL, *d = NULL;
    st_module *linear = NULL, *custom = NULL, *m = NULL, *model = NULL;
    static int sentinel;
    st_module *refused = (st_module *)&sentinel; /* a failed create must set it to NULL */
    st_tensor *w = NULL, *ids = NULL, *sum = NULL, *out = NULL, *loss = NULL;
    st_trainer *trainer = NULL;
    st_training_args args;
    int64_t n = 0;
    int rc, one = 1, zero = 0, frees_before, fault;
    REQUIRE(load_digits() && (data = in_memory(&train_rows, train_rows.num_samples)), "fixtures");

    /* A forward that returns non-zero: ST_EUSER naming the epoch and batch (its third training
     * call is batch 2; the trainer's check of the first sample is not a training call). */
    rc = train_faulty(&f, FAULT_RETURN, data);
    CHECK_ERROR(rc, ST_EUSER, "epoch 0, batch 2");
    CHECK(check_contains(st_last_error_message(), "returned 7") && check_contains(st_last_error_message(), "Faulty"),
          "the message says the forward of Faulty returned 7: %s", st_last_error_message());
    /* ... with the message of the st_* call that failed inside it. */
    CHECK_ERROR(train_faulty(&f, FAULT_BAD_NAME, data), ST_EUSER, "pixels");
    /* A forward that sets nothing. */
    rc = train_faulty(&f, FAULT_NO_OUTPUTS, data);
    CHECK(rc != ST_OK && check_contains(st_last_error_message(), "no outputs"),
          "a forward without outputs fails saying so: %s (%s)", st_status_string(rc), st_last_error_message());
    /* A "loss" that is not a scalar, in the first step. */
    CHECK_ERROR(train_faulty(&f, FAULT_LOSS_NOT_SCALAR, data), ST_ESHAPE, "must be a float32 scalar");
    CHECK(check_contains(st_last_error_message(), "epoch 0, batch 0"), "the message names the batch: %s",
          st_last_error_message());
    /* The batch and outputs functions, from inside a forward; the batch does not outlive the call. */
    CHECK_OK(train_faulty(&f, FAULT_PROBE, data));
    CHECK(f.kept != NULL, "the forward ran");
    CHECK_ERROR(st_batch_size(&n, f.kept), ST_EMISUSE, "not a live");

    /* A provider that fills one row fewer than it was asked for. */
    REQUIRE((short_rows = make_provider(&provider, &train_rows, train_rows.num_samples)), "provider");
    provider.short_by_one = 1;
    REQUIRE(init_args(&args, 5), "args");
    REQUIRE((m = make_sequential(1, 16)), "model");
    REQUIRE_OK(st_trainer_create(&trainer, m, ST_LOSS_CROSS_ENTROPY, &args));
    REQUIRE_OK(st_trainer_set_train_dataset(trainer, short_rows));
    CHECK_ERROR(st_trainer_train(NULL, trainer), ST_ESHAPE, "filled 0 samples for 1");
    /* The writable batch's argument errors; a provider returning non-zero is ST_EUSER. */
    memset(&probing, 0, sizeof probing);
    probing.rows.data = &train_rows;
    probing.rows.rows = train_rows.num_samples;
    REQUIRE_OK(st_dataset_create_indexed(&probed, train_rows.num_samples, probing_fetch, &probing, NULL));
    REQUIRE_OK(st_trainer_set_train_dataset(trainer, probed));
    CHECK_ERROR(st_trainer_train(NULL, trainer), ST_EUSER, "data provider returned 1");
    CHECK(probing.probed, "the provider ran");
    /* A stream: too many rows, an empty batch, no batch at all. */
    for (fault = 1; fault <= 3; fault++) {
        static const char *const needles[] = {"", "more than the batch size", "empty batch", "no batch"};
        st_dataset *stream = NULL;
        REQUIRE_OK(st_dataset_create_stream(&stream, bad_next, &fault, NULL));
        REQUIRE_OK(st_trainer_set_train_dataset(trainer, stream));
        st_dataset_free(stream);
        rc = st_trainer_train(NULL, trainer);
        CHECK(rc != ST_OK && check_contains(st_last_error_message(), needles[fault]),
              "a stream that %s fails saying so: %s (%s)", needles[fault], st_status_string(rc), st_last_error_message());
    }
    /* A compute-loss function that fails, or gives no loss. */
    REQUIRE_OK(st_trainer_set_train_dataset(trainer, data));
    REQUIRE_OK(st_trainer_set_compute_loss(trainer, failing_loss, &one));
    CHECK_ERROR(st_trainer_train(NULL, trainer), ST_EUSER, "compute-loss function returned 1");
    REQUIRE_OK(st_trainer_set_compute_loss(trainer, failing_loss, &zero));
    CHECK_ERROR(st_trainer_train(NULL, trainer), ST_EINVAL, "no loss");
    REQUIRE_OK(st_trainer_set_compute_loss(trainer, NULL, NULL));
    CHECK_OK(st_trainer_train(NULL, trainer));

    /* Declarations: only a custom module declares; names are unique and undotted; a parameter is
     * a float32 leaf; no cycles. */
    REQUIRE_OK(st_linear_create(&linear, 3, 2, true));
    REQUIRE_OK(st_tensor_zeros(&w, shape, 2, ST_FLOAT32));
    CHECK_ERROR(st_module_add_parameter(linear, "extra", w), ST_EINVAL, "built-in");
    CHECK_ERROR(st_module_add_buffer(linear, "extra", w), ST_EINVAL, "built-in");
    CHECK_ERROR(st_module_add_child(linear, "extra", linear), ST_EINVAL, "built-in");
    REQUIRE_OK(st_module_create_custom(&custom, "Net", entry_point_never_called, NULL, NULL));
    CHECK_ERROR(st_module_add_parameter(custom, "a.b", w), ST_EINVAL, "'.'");
    CHECK_ERROR(st_module_add_parameter(custom, "", w), ST_EINVAL, "name");
    REQUIRE_OK(st_module_add_parameter(custom, "w", w));
    CHECK_ERROR(st_module_add_parameter(custom, "w", w), ST_EINVAL, "taken");
    CHECK_ERROR(st_module_add_parameter(custom, "w2", w), ST_EINVAL, "already");
    CHECK_ERROR(st_module_add_buffer(custom, "w", w), ST_EINVAL, "taken");
    REQUIRE_OK(st_tensor_zeros(&ids, shape, 2, ST_INT64));
    CHECK_ERROR(st_module_add_parameter(custom, "ids", ids), ST_EINVAL, "float32");
    CHECK_OK(st_module_add_buffer(custom, "ids", ids)); /* a buffer may be of any type */
    REQUIRE_OK(st_sum(&sum, w, NULL, 0, false));
    CHECK_ERROR(st_module_add_parameter(custom, "sum", sum), ST_EINVAL, "leaf");
    CHECK_ERROR(st_module_add_child(custom, "self", custom), ST_EINVAL, "cycle");
    CHECK_OK(st_module_add_child(custom, "linear", linear));
    CHECK_ERROR(st_module_add_child(custom, "linear", linear), ST_EINVAL, "taken");

    /* NULL arguments to every new function: a status, never a crash. */
    CHECK_ERROR(st_module_create_custom(NULL, "Net", entry_point_never_called, NULL, NULL), ST_EINVAL, "NULL");
    CHECK_ERROR(st_module_create_custom(&refused, NULL, entry_point_never_called, NULL, NULL), ST_EINVAL, "NULL");
    CHECK(refused == NULL, "a failed create sets *out to NULL");
    CHECK_ERROR(st_module_create_custom(&refused, "Net", NULL, NULL, NULL), ST_EINVAL, "NULL");
    CHECK_ERROR(st_module_create_custom(&refused, "", entry_point_never_called, NULL, NULL), ST_EINVAL, "empty");
    CHECK_ERROR(st_module_add_parameter(NULL, "p", w), ST_EINVAL, "NULL");
    CHECK_ERROR(st_module_add_parameter(custom, NULL, w), ST_EINVAL, "NULL");
    CHECK_ERROR(st_module_add_parameter(custom, "p", NULL), ST_EINVAL, "NULL");
    CHECK_ERROR(st_module_add_buffer(NULL, "p", w), ST_EINVAL, "NULL");
    CHECK_ERROR(st_module_add_buffer(custom, NULL, w), ST_EINVAL, "NULL");
    CHECK_ERROR(st_module_add_buffer(custom, "p", NULL), ST_EINVAL, "NULL");
    CHECK_ERROR(st_module_add_child(NULL, "c", linear), ST_EINVAL, "NULL");
    CHECK_ERROR(st_module_add_child(custom, NULL, linear), ST_EINVAL, "NULL");
    CHECK_ERROR(st_module_add_child(custom, "c", NULL), ST_EINVAL, "NULL");
    out = loss = (st_tensor *)&sentinel;
    CHECK_ERROR(st_module_forward_batch(&out, &loss, custom, NULL), ST_EINVAL, "NULL");
    CHECK_ERROR(st_module_forward_batch(&out, &loss, NULL, NULL), ST_EINVAL, "NULL");
    CHECK_ERROR(st_module_forward_batch(NULL, NULL, custom, NULL), ST_EINVAL, "NULL");
    CHECK(out == NULL && loss == NULL, "failed forward_batch sets its outputs to NULL");
    CHECK(st_batch_count(NULL) == 0, "st_batch_count(NULL)");
    CHECK_ERROR(st_batch_entry(NULL, NULL, NULL, 0), ST_EINVAL, "NULL");
    CHECK_ERROR(st_batch_get(NULL, NULL, NULL), ST_EINVAL, "NULL");
    CHECK_ERROR(st_batch_size(NULL, NULL), ST_EINVAL, "NULL");
    CHECK_ERROR(st_batch_num_items(NULL, NULL), ST_EINVAL, "NULL");
    CHECK_ERROR(st_batch_add(NULL, NULL, NULL, NULL, 0, ST_FLOAT32), ST_EINVAL, "NULL");
    CHECK_ERROR(st_batch_add_tensor(NULL, NULL, NULL), ST_EINVAL, "NULL");
    CHECK_ERROR(st_outputs_set(NULL, NULL, NULL), ST_EINVAL, "NULL");
    CHECK_ERROR(st_outputs_get(NULL, NULL, NULL), ST_EINVAL, "NULL");
    d = (st_dataset *)&sentinel;
    CHECK_ERROR(st_dataset_create_indexed(NULL, 10, fetch_never_called, NULL, NULL), ST_EINVAL, "NULL");
    CHECK_ERROR(st_dataset_create_indexed(&d, 10, NULL, NULL, NULL), ST_EINVAL, "NULL");
    CHECK_ERROR(st_dataset_create_indexed(&d, 0, fetch_never_called, NULL, NULL), ST_EINVAL, "num_samples");
    CHECK_ERROR(st_dataset_create_stream(NULL, next_never_called, NULL, NULL), ST_EINVAL, "NULL");
    CHECK_ERROR(st_dataset_create_stream(&d, NULL, NULL, NULL), ST_EINVAL, "NULL");
    CHECK(d == NULL, "a failed create sets *out to NULL");
    CHECK_ERROR(st_trainer_set_compute_loss(NULL, failing_loss, NULL), ST_EINVAL, "NULL");
    /* Handles of the wrong kind. */
    CHECK_ERROR(st_module_add_child(custom, "data", (st_module *)data), ST_EINVAL, "st_module");
    CHECK_ERROR(st_trainer_set_compute_loss((st_trainer *)custom, failing_loss, NULL), ST_EINVAL, "st_trainer");

    /* free_user_data: once, when the last reference goes (the trainer's, here). */
    frees_before = mlp_frees;
    REQUIRE((model = make_mlp(2, 16, NULL)), "model");
    REQUIRE((d = make_provider(&provider, &train_rows, train_rows.num_samples)), "provider");
    st_trainer_free(trainer);
    trainer = NULL;
    REQUIRE((trainer = make_trainer(model, d, ST_LOSS_CROSS_ENTROPY, &args, NULL, NULL, 1)), "trainer");
    st_module_free(model);
    model = NULL;
    st_dataset_free(d);
    d = NULL;
    CHECK(mlp_frees == frees_before && provider.frees == 0, "the trainer still holds the module and the "
          "provider: their user data is not freed yet (%d, %d)", mlp_frees - frees_before, provider.frees);
    st_trainer_free(trainer);
    trainer = NULL;
    CHECK(mlp_frees == frees_before + 1, "the module's user data is freed once: %d", mlp_frees - frees_before);
    CHECK(provider.frees == 1, "the provider's user data is freed once: %d", provider.frees);
done:
    st_trainer_free(trainer);
    st_dataset_free(data);
    st_dataset_free(short_rows);
    st_dataset_free(probed);
    st_dataset_free(d);
    st_module_free(linear);
    st_module_free(custom);
    st_module_free(m);
    st_module_free(model);
    st_tensor_free(w);
    st_tensor_free(ids);
    st_tensor_free(sum);
    st_tensor_free(out);
    st_tensor_free(loss);
}

/* ---- i: exact resume with a provider and a custom model ------------------------------------ */

static int exists(const char *dir, const char *name) {
    char path[256];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s/model.safetensors", dir, name);
    f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

static void test_resume_exact_with_provider(void) {
    char dir_a[32] = "resume-a-XXXXXX", dir_b[32] = "resume-b-XXXXXX", checkpoint[64], report[512];
    int made_a = 0, made_b = 0;
    mlp options;
    digits_provider pa, pb;
    st_module *a = NULL, *b = NULL;
    st_dataset *da = NULL, *db = NULL;
    st_trainer *ta = NULL, *tb = NULL;
    st_training_args args;
    weights wa = {NULL, 0}, wb = {NULL, 0};
    size_t length = 0;
    memset(&options, 0, sizeof options);
    options.dropout = 0.1f; /* the random generator is part of what the resume restores */
    REQUIRE(load_digits() && init_args(&args, 60), "fixtures");
    REQUIRE((made_a = mkdtemp(dir_a) != NULL) && (made_b = mkdtemp(dir_b) != NULL), "temporary directories");
    /* 300 rows in batches of 16: 19 steps an epoch, so checkpoint-50 is in the middle of epoch 2. */
    args.per_device_train_batch_size = 16;
    args.save_strategy = ST_SAVE_STEPS;
    args.save_steps = 25;
    REQUIRE_OK(st_training_args_set(&args, "output_dir", dir_a));
    REQUIRE((a = make_mlp(9, 32, &options)) && (da = make_provider(&pa, &train_rows, 300)), "run a");
    REQUIRE((ta = make_trainer(a, da, ST_LOSS_CROSS_ENTROPY, &args, NULL, NULL, 1)), "the uninterrupted run");
    CHECK(exists(dir_a, "checkpoint-25") && exists(dir_a, "checkpoint-50") && exists(dir_a, "checkpoint-60"),
          "checkpoints 25, 50 and 60 were written to %s", dir_a);

    /* A new "process": other random state, other initial weights, a new provider. */
    st_manual_seed(999);
    REQUIRE_OK(st_training_args_set(&args, "output_dir", dir_b));
    REQUIRE((b = make_mlp(1234, 32, &options)) && (db = make_provider(&pb, &train_rows, 300)), "run b");
    REQUIRE((tb = make_trainer(b, db, ST_LOSS_CROSS_ENTROPY, &args, NULL, NULL, 0)), "trainer");
    snprintf(checkpoint, sizeof checkpoint, "%s/checkpoint-50", dir_a);
    REQUIRE_OK(st_trainer_resume(NULL, tb, checkpoint));
    REQUIRE_OK(st_trainer_resumed_from(report, sizeof report, &length, tb));
    CHECK(check_contains(report, "checkpoint-50"), "resumed from \"%s\"", report);
    REQUIRE(read_weights(&wa, a) && read_weights(&wb, b), "weights");
    CHECK(same_bits(&wa, &wb), "the resumed run ends with the uninterrupted run's weights bit for bit "
          "(largest difference %g)", max_difference(&wa, &wb));
    /* No batch replayed: the first-sample check, then steps 51..60 (57 ends epoch 2 with 12 rows). */
    CHECK(pb.calls == 11 && pb.samples == 1 + 9 * 16 + 12, "the resumed run fetched %lld batches, %lld rows; "
          "expected 11 and %d", (long long)pb.calls, (long long)pb.samples, 1 + 9 * 16 + 12);
done:
    free_weights(&wa);
    free_weights(&wb);
    st_trainer_free(ta);
    st_trainer_free(tb);
    st_dataset_free(da);
    st_dataset_free(db);
    st_module_free(a);
    st_module_free(b);
    if (made_a) remove_tree(dir_a);
    if (made_b) remove_tree(dir_b);
}

/* ---- st_module_forward_batch: a forward that runs another model on its batch ---------------- */

typedef struct wrapper {
    st_module *inner;
    int64_t calls, losses_passed;
} wrapper;

static int wrapper_forward(st_outputs *outputs, const st_batch *batch, bool training, void *user_data) {
    wrapper *w = user_data;
    st_tensor *logits = NULL, *loss = NULL;
    int rc = 1;
    (void)training;
    w->calls++;
    if (st_module_forward_batch(&logits, &loss, w->inner, batch) == ST_OK &&
        st_outputs_set(outputs, "logits", logits) == ST_OK && (!loss || st_outputs_set(outputs, "loss", loss) == ST_OK))
        rc = 0;
    w->losses_passed += loss != NULL;
    st_tensor_free(logits);
    st_tensor_free(loss);
    return rc;
}

/* Trains `direct` and a wrapper around `inner` (made from the same seed); both must end equal. */
static void check_wrapper(st_module *direct, st_module *inner, const char *first_name, int expect_loss) {
    wrapper w = {NULL, 0, 0};
    st_module *outer = NULL;
    st_dataset *data = NULL;
    st_trainer *ta = NULL, *tb = NULL;
    st_training_args args;
    st_named_tensors *names = NULL;
    weights wa = {NULL, 0}, wb = {NULL, 0};
    const char *name = NULL;
    st_tensor *t = NULL;
    w.inner = inner;
    REQUIRE(init_args(&args, 20) && (data = in_memory(&train_rows, train_rows.num_samples)), "fixtures");
    REQUIRE_OK(st_module_create_custom(&outer, "Wrapper", wrapper_forward, &w, NULL));
    REQUIRE_OK(st_module_add_child(outer, "body", inner));
    REQUIRE_OK(st_module_state_dict(&names, outer));
    REQUIRE_OK(st_named_tensors_entry(&name, &t, names, 0));
    CHECK(strcmp(name, first_name) == 0, "the first parameter is \"%s\", expected \"%s\"", name, first_name);
    REQUIRE((ta = make_trainer(direct, data, ST_LOSS_CROSS_ENTROPY, &args, NULL, NULL, 1)), "direct run");
    REQUIRE((tb = make_trainer(outer, data, ST_LOSS_CROSS_ENTROPY, &args, NULL, NULL, 1)), "wrapped run");
    REQUIRE(read_weights(&wa, direct) && read_weights(&wb, outer), "weights");
    CHECK(same_bits(&wa, &wb), "the wrapper trains bit for bit as the model it wraps (largest difference %g)",
          max_difference(&wa, &wb));
    CHECK(w.calls == 21, "the wrapper ran once per step and once for the check: %lld", (long long)w.calls);
    CHECK(expect_loss ? w.losses_passed == w.calls : w.losses_passed == 0,
          "st_module_forward_batch returned a loss %lld times of %lld", (long long)w.losses_passed, (long long)w.calls);
done:
    free_weights(&wa);
    free_weights(&wb);
    st_tensor_free(t);
    st_named_tensors_free(names);
    st_trainer_free(ta);
    st_trainer_free(tb);
    st_dataset_free(data);
    st_module_free(outer);
}

static void test_forward_batch(void) {
    mlp with_loss;
    st_module *direct = NULL, *inner = NULL;
    memset(&with_loss, 0, sizeof with_loss);
    with_loss.return_loss = 1;
    REQUIRE(load_digits(), "fixtures");
    /* A built-in model takes the batch's one input ("input"; labels aside). */
    REQUIRE((direct = make_sequential(8, 32)) && (inner = make_sequential(8, 32)), "models");
    check_wrapper(direct, inner, "body.0.weight", 0);
    st_module_free(direct);
    st_module_free(inner);
    /* A custom model's "loss" comes back as out_loss. */
    REQUIRE((direct = make_mlp(8, 32, &with_loss)) && (inner = make_mlp(8, 32, &with_loss)), "models");
    check_wrapper(direct, inner, "body.fc1.weight", 1);
done:
    st_module_free(direct);
    st_module_free(inner);
}

/* ---- every built-in loss equals its st_* function ------------------------------------------- */

static int functional_loss(st_tensor **loss, const st_outputs *outputs, const st_batch *batch, void *user_data) {
    const st_loss kind = *(const st_loss *)user_data;
    st_tensor *x = NULL, *y = NULL;
    int rc = 1;
    if (st_outputs_get(&x, outputs, "logits") != ST_OK || st_batch_get(&y, batch, "labels") != ST_OK) goto done;
    switch (kind) {
    case ST_LOSS_CROSS_ENTROPY: rc = st_cross_entropy(loss, x, y, NULL, -100, ST_REDUCTION_MEAN, 0); break;
    case ST_LOSS_MSE: rc = st_mse_loss(loss, x, y, ST_REDUCTION_MEAN); break;
    case ST_LOSS_NLL: rc = st_nll_loss(loss, x, y, NULL, -100, ST_REDUCTION_MEAN); break;
    case ST_LOSS_L1: rc = st_l1_loss(loss, x, y, ST_REDUCTION_MEAN); break;
    case ST_LOSS_SMOOTH_L1: rc = st_smooth_l1_loss(loss, x, y, 1.0f, ST_REDUCTION_MEAN); break;
    case ST_LOSS_HUBER: rc = st_huber_loss(loss, x, y, 1.0f, ST_REDUCTION_MEAN); break;
    case ST_LOSS_BCE_WITH_LOGITS: rc = st_binary_cross_entropy_with_logits(loss, x, y, NULL, NULL, ST_REDUCTION_MEAN); break;
    case ST_LOSS_KL_DIV: rc = st_kl_div(loss, x, y, ST_REDUCTION_BATCHMEAN, false); break;
    }
done:
    st_tensor_free(x);
    st_tensor_free(y);
    return rc != ST_OK;
}

static void test_builtin_losses(void) {
    static const st_loss kinds[] = {ST_LOSS_CROSS_ENTROPY, ST_LOSS_MSE, ST_LOSS_NLL, ST_LOSS_L1, ST_LOSS_SMOOTH_L1,
                                    ST_LOSS_HUBER, ST_LOSS_BCE_WITH_LOGITS, ST_LOSS_KL_DIV};
    static const char *const kind_names[] = {"cross_entropy", "mse", "nll", "l1", "smooth_l1", "huber",
                                             "bce_with_logits", "kl_div"};
    enum { ROWS = 512 };
    static float one_hot[ROWS * DIGITS_NUM_CLASSES];
    st_dataset *classes = NULL, *targets = NULL;
    size_t k;
    int64_t i;
    REQUIRE(load_digits(), "fixtures");
    for (i = 0; i < ROWS; i++) one_hot[i * DIGITS_NUM_CLASSES + train_rows.labels[i]] = 1;
    REQUIRE((classes = in_memory(&train_rows, ROWS)), "dataset");
    REQUIRE_OK(st_dataset_create_regression(&targets, train_rows.features, ROWS, DIGITS_NUM_FEATURES, one_hot,
                                            DIGITS_NUM_CLASSES, ST_DATA_BORROW));
    for (k = 0; k < COUNT(kinds); k++) {
        const st_loss kind = kinds[k];
        const int log_probabilities = kind == ST_LOSS_NLL || kind == ST_LOSS_KL_DIV;
        st_dataset *data = kind == ST_LOSS_CROSS_ENTROPY || kind == ST_LOSS_NLL ? classes : targets;
        st_loss parsed = ST_LOSS_CROSS_ENTROPY;
        mlp options;
        st_module *a = NULL, *b = NULL;
        st_trainer *ta = NULL, *tb = NULL;
        st_training_args args;
        st_metrics *m0 = NULL, *m1 = NULL;
        weights wa = {NULL, 0}, wb = {NULL, 0};
        memset(&options, 0, sizeof options);
        options.log_softmax = log_probabilities;
        CHECK_OK(st_loss_from_name(&parsed, kind_names[k]));
        CHECK(parsed == kind, "st_loss_from_name(\"%s\")", kind_names[k]);
        if (init_args(&args, 20) && (a = make_mlp(6, 32, &options)) && (b = make_mlp(6, 32, &options)) &&
            (ta = make_trainer(a, data, kind, &args, NULL, NULL, 0)) &&
            (tb = make_trainer(b, data, kind, &args, functional_loss, (void *)&kinds[k], 0)) &&
            CHECK_OK(st_trainer_evaluate(&m0, ta, data)) && CHECK_OK(st_trainer_train(NULL, ta)) &&
            CHECK_OK(st_trainer_train(NULL, tb)) && CHECK_OK(st_trainer_evaluate(&m1, ta, data)) &&
            read_weights(&wa, a) && read_weights(&wb, b)) {
            printf("%-16s eval_loss %.5f -> %.5f, largest difference from its st_* function %.3g\n", kind_names[k],
                   metric(m0, "eval_loss"), metric(m1, "eval_loss"), max_difference(&wa, &wb));
            CHECK(metric(m1, "eval_loss") < metric(m0, "eval_loss"), "%s: training lowers the loss", kind_names[k]);
            CHECK(max_difference(&wa, &wb) <= 1e-6, "%s: the built-in loss trains as its st_* function "
                  "(largest difference %g)", kind_names[k], max_difference(&wa, &wb));
        }
        free_weights(&wa);
        free_weights(&wb);
        st_metrics_free(m0);
        st_metrics_free(m1);
        st_trainer_free(ta);
        st_trainer_free(tb);
        st_module_free(a);
        st_module_free(b);
    }
done:
    st_dataset_free(classes);
    st_dataset_free(targets);
}

/* ---- label_names ------------------------------------------------------------------------------ */

static void test_label_names(void) {
    digits_provider renamed;
    st_dataset *data = NULL, *provider = NULL;
    st_module *a = NULL, *b = NULL;
    st_trainer *ta = NULL, *tb = NULL;
    st_training_args args, with_names;
    weights wa = {NULL, 0}, wb = {NULL, 0};
    REQUIRE(load_digits() && init_args(&args, 20), "fixtures");
    REQUIRE((provider = make_provider(&renamed, &train_rows, train_rows.num_samples)), "provider");
    renamed.label_name = "digit";
    REQUIRE((a = make_sequential(12, 32)) && (b = make_sequential(12, 32)), "models");
    /* Without label_names, "digit" is not a label: the batch has two inputs and no labels. */
    REQUIRE((tb = make_trainer(b, provider, ST_LOSS_CROSS_ENTROPY, &args, NULL, NULL, 0)), "trainer");
    CHECK(st_trainer_train(NULL, tb) != ST_OK, "a batch without \"labels\" does not train");
    printf("without label_names: %s\n", st_last_error_message());
    st_trainer_free(tb);
    tb = NULL;
    with_names = args;
    REQUIRE_OK(st_training_args_set(&with_names, "label_names", "digit"));
    CHECK(strcmp(with_names.label_names, "digit") == 0, "label_names is \"%s\"", with_names.label_names);
    REQUIRE((data = in_memory(&train_rows, train_rows.num_samples)), "dataset");
    REQUIRE((ta = make_trainer(a, data, ST_LOSS_CROSS_ENTROPY, &args, NULL, NULL, 1)), "in-memory run");
    REQUIRE((tb = make_trainer(b, provider, ST_LOSS_CROSS_ENTROPY, &with_names, NULL, NULL, 1)), "renamed run");
    REQUIRE(read_weights(&wa, a) && read_weights(&wb, b), "weights");
    CHECK(same_bits(&wa, &wb), "labels named by label_names train as \"labels\" (largest difference %g)",
          max_difference(&wa, &wb));
done:
    free_weights(&wa);
    free_weights(&wb);
    st_trainer_free(ta);
    st_trainer_free(tb);
    st_dataset_free(data);
    st_dataset_free(provider);
    st_module_free(a);
    st_module_free(b);
}

/* ---- free_user_data: never when a create call fails, once when the last reference goes ------- */

static void count_free(void *user_data) { (*(int *)user_data)++; }

static void test_free_user_data(void) {
    static int sentinel;
    int frees = 0;
    st_module *m = NULL, *custom = NULL, *holder = NULL, *linear = NULL;
    st_dataset *d = NULL, *indexed = NULL, *stream = NULL;
    st_trainer *trainer = NULL;
    st_training_args args;
    REQUIRE(init_args(&args, 1), "args");

    /* st_module_create_custom: every failure leaves the user data alone and *out NULL. */
    CHECK_ERROR(st_module_create_custom(NULL, "Net", entry_point_never_called, &frees, count_free), ST_EINVAL, "NULL");
    m = (st_module *)&sentinel;
    CHECK_ERROR(st_module_create_custom(&m, NULL, entry_point_never_called, &frees, count_free), ST_EINVAL, "type_name");
    CHECK(m == NULL, "a NULL type_name sets *out to NULL");
    m = (st_module *)&sentinel;
    CHECK_ERROR(st_module_create_custom(&m, "", entry_point_never_called, &frees, count_free), ST_EINVAL, "empty");
    CHECK(m == NULL, "an empty type_name sets *out to NULL");
    m = (st_module *)&sentinel;
    CHECK_ERROR(st_module_create_custom(&m, "Net", NULL, &frees, count_free), ST_EINVAL, "forward");
    CHECK(m == NULL, "a NULL forward sets *out to NULL");
    m = (st_module *)&sentinel;
    CHECK_ERROR(st_module_create_custom(&m, NULL, NULL, &frees, count_free), ST_EINVAL, "NULL");
    CHECK(m == NULL, "NULL type_name and forward set *out to NULL");
    CHECK_ERROR(st_module_create_custom(NULL, NULL, NULL, &frees, count_free), ST_EINVAL, "NULL");
    CHECK(frees == 0, "a failed st_module_create_custom never calls free_user_data (%d calls)", frees);

    /* st_dataset_create_indexed: NULL out, NULL fetch, num_samples 0, negative or too large. */
    CHECK_ERROR(st_dataset_create_indexed(NULL, 10, fetch_never_called, &frees, count_free), ST_EINVAL, "NULL");
    d = (st_dataset *)&sentinel;
    CHECK_ERROR(st_dataset_create_indexed(&d, 10, NULL, &frees, count_free), ST_EINVAL, "fetch");
    CHECK(d == NULL, "a NULL fetch sets *out to NULL");
    d = (st_dataset *)&sentinel;
    CHECK_ERROR(st_dataset_create_indexed(&d, 0, fetch_never_called, &frees, count_free), ST_EINVAL, "num_samples");
    CHECK(d == NULL, "num_samples 0 sets *out to NULL");
    d = (st_dataset *)&sentinel;
    CHECK_ERROR(st_dataset_create_indexed(&d, -1, fetch_never_called, &frees, count_free), ST_EINVAL, "num_samples");
    CHECK(d == NULL, "num_samples -1 sets *out to NULL");
    d = (st_dataset *)&sentinel;
    CHECK_ERROR(st_dataset_create_indexed(&d, INT64_MIN, fetch_never_called, &frees, count_free), ST_EINVAL,
                "num_samples");
    CHECK(d == NULL, "num_samples INT64_MIN sets *out to NULL");
    d = (st_dataset *)&sentinel;
    CHECK_ERROR(st_dataset_create_indexed(&d, INT64_MAX, fetch_never_called, &frees, count_free), ST_EINVAL,
                "num_samples");
    CHECK(d == NULL, "num_samples INT64_MAX sets *out to NULL");
    d = (st_dataset *)&sentinel;
    CHECK_ERROR(st_dataset_create_indexed(&d, 0, NULL, &frees, count_free), ST_EINVAL, "");
    CHECK(d == NULL, "num_samples 0 with a NULL fetch sets *out to NULL");
    CHECK_ERROR(st_dataset_create_indexed(NULL, -5, NULL, &frees, count_free), ST_EINVAL, "NULL");
    CHECK(frees == 0, "a failed st_dataset_create_indexed never calls free_user_data (%d calls)", frees);

    /* st_dataset_create_stream: NULL out, NULL next. */
    CHECK_ERROR(st_dataset_create_stream(NULL, next_never_called, &frees, count_free), ST_EINVAL, "NULL");
    d = (st_dataset *)&sentinel;
    CHECK_ERROR(st_dataset_create_stream(&d, NULL, &frees, count_free), ST_EINVAL, "next");
    CHECK(d == NULL, "a NULL next sets *out to NULL");
    CHECK_ERROR(st_dataset_create_stream(NULL, NULL, &frees, count_free), ST_EINVAL, "NULL");
    CHECK(frees == 0, "a failed st_dataset_create_stream never calls free_user_data (%d calls)", frees);
    d = NULL;

    /* Success: exactly once, when the last reference goes. The module's handle is freed first,
     * while a trainer still holds it. */
    REQUIRE_OK(st_module_create_custom(&custom, "Net", entry_point_never_called, &frees, count_free));
    REQUIRE_OK(st_dataset_create_indexed(&indexed, 10, fetch_never_called, &frees, count_free));
    REQUIRE_OK(st_trainer_create(&trainer, custom, ST_LOSS_CROSS_ENTROPY, &args));
    REQUIRE_OK(st_trainer_set_train_dataset(trainer, indexed));
    st_module_free(custom);
    custom = NULL;
    st_dataset_free(indexed);
    indexed = NULL;
    CHECK(frees == 0, "the trainer still holds the module and the dataset: %d frees", frees);
    st_trainer_free(trainer);
    trainer = NULL;
    CHECK(frees == 2, "freeing the trainer frees the module's and the dataset's user data once each: %d frees", frees);

    /* A stream held by a trainer; the trainer freed first, then the handle. */
    frees = 0;
    REQUIRE_OK(st_dataset_create_stream(&stream, next_never_called, &frees, count_free));
    REQUIRE_OK(st_linear_create(&linear, 2, 2, true));
    REQUIRE_OK(st_trainer_create(&trainer, linear, ST_LOSS_CROSS_ENTROPY, &args));
    REQUIRE_OK(st_trainer_set_train_dataset(trainer, stream));
    st_trainer_free(trainer);
    trainer = NULL;
    CHECK(frees == 0, "the caller still holds the stream: %d frees", frees);
    st_dataset_free(stream);
    stream = NULL;
    CHECK(frees == 1, "the stream's user data is freed once: %d frees", frees);

    /* A custom module held by a sequential and a trainer: freed when the last of the three goes. */
    frees = 0;
    REQUIRE_OK(st_module_create_custom(&custom, "Net", entry_point_never_called, &frees, count_free));
    REQUIRE_OK(st_sequential_create(&holder, &custom, 1));
    REQUIRE_OK(st_trainer_create(&trainer, holder, ST_LOSS_CROSS_ENTROPY, &args));
    st_module_free(custom);
    custom = NULL;
    st_module_free(holder);
    holder = NULL;
    CHECK(frees == 0, "the trainer holds the sequential that holds the module: %d frees", frees);
    st_trainer_free(trainer);
    trainer = NULL;
    CHECK(frees == 1, "freed once with the last reference: %d frees", frees);
    st_module_free(NULL);
    st_dataset_free(NULL);
    CHECK(frees == 1, "and never again: %d frees", frees);
done:
    st_trainer_free(trainer);
    st_module_free(custom);
    st_module_free(holder);
    st_module_free(linear);
    st_dataset_free(indexed);
    st_dataset_free(stream);
}

/* ---- a stream has no length: num_outputs and predict point to st_trainer_predict_tensors ---- */

/* The shape of a tensor as a string "[a, b, c]" (for messages), and a check of it. */
static int has_shape(const st_tensor *t, const int64_t *shape, size_t ndim) {
    int64_t got[ST_MAX_DIMS];
    size_t n = 0, i;
    char text[128] = "";
    if (!CHECK(t != NULL, "a tensor") || !CHECK_OK(st_tensor_ndim(&n, t)) || !CHECK(n <= ST_MAX_DIMS, "%zu dims", n) ||
        !CHECK_OK(st_tensor_shape(got, ST_MAX_DIMS, t)))
        return 0;
    for (i = 0; i < n; i++) {
        size_t used = strlen(text);
        snprintf(text + used, sizeof text - used, "%s%lld", i ? ", " : "", (long long)got[i]);
    }
    for (i = 0; i < n && i < ndim && got[i] == shape[i]; i++) {}
    return CHECK(n == ndim && i == ndim, "the tensor's shape is [%s]; expected %zu dimensions starting %lld", text, ndim,
                 ndim ? (long long)shape[0] : -1LL);
}

static void test_stream_predictions(void) {
    enum { ROWS = 300 };
    static float expected[ROWS * DIGITS_NUM_CLASSES], buffer[ROWS * DIGITS_NUM_CLASSES];
    const int64_t prediction_shape[2] = {ROWS, DIGITS_NUM_CLASSES}, label_shape[1] = {ROWS};
    digits_data rows;
    digits_stream stream;
    st_module *model = NULL;
    st_dataset *memory = NULL, *streamed = NULL;
    st_trainer *trainer = NULL;
    st_training_args args;
    st_metrics *expected_metrics = NULL, *metrics = NULL;
    st_tensor *predictions = NULL, *labels = NULL;
    int64_t n = -1;
    st_dtype dtype = ST_BOOL;
    int rc;
    void *data = NULL;
    REQUIRE(load_digits() && init_args(&args, 10), "fixtures");
    args.per_device_eval_batch_size = 64; /* 300 rows: 4 batches of 64 and one of 44 */
    rows = train_rows;
    rows.num_samples = ROWS;
    memset(&stream, 0, sizeof stream);
    stream.data = &rows;
    REQUIRE((memory = in_memory(&train_rows, ROWS)), "dataset");
    REQUIRE_OK(st_dataset_create_stream(&streamed, next_digits, &stream, NULL));
    REQUIRE((model = make_sequential(13, 32)), "model");
    REQUIRE((trainer = make_trainer(model, memory, ST_LOSS_CROSS_ENTROPY, &args, NULL, NULL, 1)), "trainer");

    REQUIRE_OK(st_trainer_num_outputs(&n, trainer, memory));
    CHECK(n == DIGITS_NUM_CLASSES, "an in-memory dataset: %lld outputs", (long long)n);
    n = -1;
    CHECK_ERROR(st_trainer_num_outputs(&n, trainer, streamed), ST_EINVAL, "st_trainer_predict_tensors");
    CHECK(n == -1, "a failed st_trainer_num_outputs leaves *out alone: %lld", (long long)n);
    metrics = (st_metrics *)&stream;
    rc = st_trainer_predict(buffer, COUNT(buffer), &metrics, trainer, streamed);
    CHECK(rc != ST_OK && check_contains(st_last_error_message(), "st_trainer_predict_tensors"),
          "st_trainer_predict on a stream fails pointing to st_trainer_predict_tensors: %s (%s)", st_status_string(rc),
          st_last_error_message());
    CHECK(rc == ST_EINVAL, "an iterable dataset in st_trainer_predict is ST_EINVAL: %s", st_status_string(rc));
    CHECK(metrics == NULL, "a failed st_trainer_predict sets *out_metrics to NULL");
    metrics = NULL;
    CHECK(stream.num_epochs_begun == 0, "neither call read the stream (%zu epochs begun)", stream.num_epochs_begun);

    /* st_trainer_predict_tensors reads the stream's epoch 0 to its end: the in-memory rows' predictions. */
    REQUIRE_OK(st_trainer_predict(expected, COUNT(expected), &expected_metrics, trainer, memory));
    REQUIRE_OK(st_trainer_predict_tensors(&predictions, &labels, &metrics, trainer, streamed));
    CHECK(stream.num_epochs_begun == 1 && stream.epochs_begun[0] == 0 && stream.ends == 1,
          "one pass over epoch 0 (%zu epochs begun, the first %lld; %lld ends)", stream.num_epochs_begun,
          (long long)stream.epochs_begun[0], (long long)stream.ends);
    CHECK(stream.max_seen_batch_size == 64, "in batches of per_device_eval_batch_size: %lld",
          (long long)stream.max_seen_batch_size);
    if (has_shape(predictions, prediction_shape, 2) && CHECK_OK(st_tensor_dtype(&dtype, predictions)) &&
        CHECK(dtype == ST_FLOAT32, "float32 predictions") && CHECK_OK(st_tensor_data(&data, predictions)))
        CHECK(memcmp(data, expected, sizeof expected) == 0, "the stream's predictions are the in-memory rows' bit for bit");
    if (has_shape(labels, label_shape, 1) && CHECK_OK(st_tensor_dtype(&dtype, labels)) &&
        CHECK(dtype == ST_INT64, "int64 labels") && CHECK_OK(st_tensor_data(&data, labels)))
        CHECK(memcmp(data, train_rows.labels, ROWS * sizeof(int64_t)) == 0, "the stream's labels, in order");
    if (CHECK(metrics != NULL, "test metrics for a stream with labels")) {
        CHECK(metric(metrics, "test_loss") == metric(expected_metrics, "test_loss"), "test_loss %.9g vs %.9g",
              metric(metrics, "test_loss"), metric(expected_metrics, "test_loss"));
        CHECK(metric(metrics, "test_accuracy") == metric(expected_metrics, "test_accuracy"), "test_accuracy %.9g vs %.9g",
              metric(metrics, "test_accuracy"), metric(expected_metrics, "test_accuracy"));
    }
done:
    st_metrics_free(expected_metrics);
    st_metrics_free(metrics);
    st_tensor_free(predictions);
    st_tensor_free(labels);
    st_trainer_free(trainer);
    st_dataset_free(memory);
    st_dataset_free(streamed);
    st_module_free(model);
}

/* ---- nothing to predict: an error, never a trap --------------------------------------------- */

static int empty_stream(st_batch *batch, int64_t epoch, int64_t index, int64_t batch_size, void *user_data) {
    (void)batch, (void)epoch, (void)index, (void)batch_size, (void)user_data;
    return ST_DATA_END;
}

/* Two unlabelled rows per batch, then the end of the epoch after two batches. */
static int unlabelled_stream(st_batch *batch, int64_t epoch, int64_t index, int64_t batch_size, void *user_data) {
    static const float x[4] = {1, 2, 3, 4};
    const int64_t shape[2] = {2, 2};
    (void)epoch, (void)batch_size, (void)user_data;
    return index >= 2 ? ST_DATA_END : st_batch_add(batch, "input", x, shape, 2, ST_FLOAT32);
}

static int loss_only_forward(st_outputs *outputs, const st_batch *batch, bool training, void *user_data) {
    st_tensor *x = NULL, *loss = NULL;
    int rc;
    (void)training, (void)user_data;
    rc = st_batch_get(&x, batch, "input") || st_mean(&loss, x, NULL, 0, false) || st_outputs_set(outputs, "loss", loss);
    st_tensor_free(x);
    st_tensor_free(loss);
    return rc;
}

static void test_nothing_to_predict(void) {
    st_module *linear = NULL, *loss_only = NULL;
    st_dataset *empty = NULL, *unlabelled = NULL;
    st_trainer *trainer = NULL, *loss_trainer = NULL;
    st_training_args args;
    st_tensor *predictions = NULL, *labels = NULL;
    st_metrics *metrics = NULL;
    int rc;
    REQUIRE(init_args(&args, 10), "training arguments");
    REQUIRE_OK(st_linear_create(&linear, 2, 3, true));
    REQUIRE_OK(st_dataset_create_stream(&empty, empty_stream, NULL, NULL));
    REQUIRE_OK(st_dataset_create_stream(&unlabelled, unlabelled_stream, NULL, NULL));
    REQUIRE_OK(st_trainer_create(&trainer, linear, ST_LOSS_CROSS_ENTROPY, &args));
    rc = st_trainer_predict_tensors(&predictions, &labels, &metrics, trainer, empty);
    CHECK(rc == ST_EINVAL && strstr(st_last_error_message(), "no batch"),
          "an empty stream cannot be predicted: %d %s", rc, st_last_error_message());
    CHECK(predictions == NULL && labels == NULL && metrics == NULL, "nothing is returned on failure");
    rc = st_trainer_evaluate(&metrics, trainer, empty);
    CHECK(rc == ST_EINVAL && metrics == NULL, "nor evaluated: %d %s", rc, st_last_error_message());
    /* a stream without labels: predictions, but no test metrics (as a map-style dataset) */
    REQUIRE_OK(st_trainer_predict_tensors(&predictions, &labels, &metrics, trainer, unlabelled));
    CHECK(predictions != NULL && labels == NULL && metrics == NULL,
          "an unlabelled stream gives predictions only (labels %p, metrics %p)", (void *)labels, (void *)metrics);
    /* a model that returns only a loss has nothing to predict */
    REQUIRE_OK(st_module_create_custom(&loss_only, "LossOnly", loss_only_forward, NULL, NULL));
    REQUIRE_OK(st_trainer_create(&loss_trainer, loss_only, ST_LOSS_CROSS_ENTROPY, &args));
    st_tensor_free(predictions);
    predictions = NULL;
    rc = st_trainer_predict_tensors(&predictions, NULL, NULL, loss_trainer, unlabelled);
    CHECK(rc == ST_EINVAL && strstr(st_last_error_message(), "no logits"),
          "a loss-only model: %d %s", rc, st_last_error_message());
done:
    st_tensor_free(predictions);
    st_tensor_free(labels);
    st_metrics_free(metrics);
    st_trainer_free(trainer);
    st_trainer_free(loss_trainer);
    st_dataset_free(empty);
    st_dataset_free(unlabelled);
    st_module_free(linear);
    st_module_free(loss_only);
}

/* ---- st_module_adopt: a forward of one's own around a built-in model -------------------------- */

/* Runs `inner` on "input"; with `with_loss`, also sets "loss": cross entropy against "labels". */
typedef struct adopter {
    st_module *inner;
    int with_loss;
    int64_t calls;
} adopter;

static int adopter_forward(st_outputs *outputs, const st_batch *batch, bool training, void *user_data) {
    adopter *a = user_data;
    st_tensor *x = NULL, *logits = NULL, *labels = NULL, *loss = NULL;
    int rc = 1;
    (void)training;
    a->calls++;
    if (st_batch_get(&x, batch, "input") != ST_OK || st_module_forward(&logits, a->inner, x) != ST_OK ||
        st_outputs_set(outputs, "logits", logits) != ST_OK)
        goto done;
    if (a->with_loss && st_batch_get(&labels, batch, "labels") == ST_OK &&
        (st_cross_entropy(&loss, logits, labels, NULL, -100, ST_REDUCTION_MEAN, 0) != ST_OK ||
         st_outputs_set(outputs, "loss", loss) != ST_OK))
        goto done;
    rc = 0;
done:
    st_tensor_free(x);
    st_tensor_free(logits);
    st_tensor_free(labels);
    st_tensor_free(loss);
    return rc;
}

/* Whether the safetensors file at `path` holds exactly the tensors `names` (in any order). */
static int file_has_names(const char *path, const char *const *names, size_t count) {
    st_safetensors *file = NULL;
    size_t i, j, n;
    int ok = CHECK_OK(st_safetensors_open(&file, path));
    n = ok ? st_safetensors_count(file) : 0;
    ok = ok && CHECK(n == count, "%s holds %zu tensors, expected %zu", path, n, count);
    for (i = 0; ok && i < n; i++) {
        st_safetensors_entry entry;
        ok = CHECK_OK(st_safetensors_entry_at(&entry, file, i));
        for (j = 0; ok && j < count && strcmp(entry.name, names[j]) != 0; j++) {}
        ok = ok && CHECK(j < count, "%s holds \"%s\", not one of the sequential's names", path, entry.name);
    }
    st_safetensors_free(file);
    return ok;
}

/* Whether two float32 tensors hold the same bits. */
static int same_tensor(const st_tensor *a, const st_tensor *b) {
    int64_t na = -1, nb = -2;
    void *pa = NULL, *pb = NULL;
    return a && b && st_tensor_numel(&na, a) == ST_OK && st_tensor_numel(&nb, b) == ST_OK && na == nb &&
           st_tensor_data(&pa, (st_tensor *)a) == ST_OK && st_tensor_data(&pb, (st_tensor *)b) == ST_OK &&
           memcmp(pa, pb, (size_t)na * sizeof(float)) == 0;
}

static void test_adopt(void) {
    static const char *const names[] = {"0.weight", "0.bias", "2.weight", "2.bias"};
    const int64_t w_shape[2] = {2, 2}, x_shape[2] = {8, 64};
    char dir[32] = "adopt-XXXXXX", path[128];
    int made = 0;
    adopter wrapped = {NULL, 1, 0}, dropping = {NULL, 0, 0}, seq_dropping = {NULL, 0, 0};
    st_module *reference = NULL, *inner = NULL, *custom = NULL, *loaded = NULL;
    st_module *other = NULL, *declared = NULL, *looped = NULL, *outer = NULL, *linear = NULL, *free_custom = NULL;
    st_module *dropout = NULL, *drop_custom = NULL, *seq_dropout = NULL, *seq_custom = NULL, *d2 = NULL;
    st_dataset *data = NULL;
    st_trainer *ta = NULL, *tb = NULL;
    st_training_args args, saving;
    st_metrics *ma = NULL, *mb = NULL;
    st_tensor *w = NULL, *x = NULL, *y_train = NULL, *y_eval = NULL, *y_again = NULL, *y_seq = NULL;
    weights wa = {NULL, 0}, wb = {NULL, 0}, wi = {NULL, 0}, wl = {NULL, 0};
    int64_t na = 0, nb = 0;
    REQUIRE(load_digits() && init_args(&args, 20), "fixtures");
    REQUIRE((made = mkdtemp(dir) != NULL), "a temporary directory");

    /* The same seed: the reference sequential and the adopted one start equal. */
    REQUIRE((reference = make_sequential(21, 32)) && (inner = make_sequential(21, 32)), "models");
    wrapped.inner = inner;
    REQUIRE_OK(st_module_create_custom(&custom, "WithLoss", adopter_forward, &wrapped, NULL));
    REQUIRE_OK(st_module_adopt(custom, inner));
    CHECK(has_names(custom, 1, names, COUNT(names)), "the adopting module has the sequential's state-dict names");
    CHECK(has_names(custom, 0, names, COUNT(names)), "and its parameter names");
    REQUIRE_OK(st_module_num_parameters(&na, reference));
    REQUIRE_OK(st_module_num_parameters(&nb, custom));
    CHECK(na == nb, "%lld vs %lld parameters", (long long)na, (long long)nb);

    /* Adopting again, or after declaring, is refused; so is a cycle and a built-in adopter. */
    REQUIRE_OK(st_linear_create(&other, 2, 2, true));
    CHECK_ERROR(st_module_adopt(custom, other), ST_EMISUSE, "once");
    CHECK_ERROR(st_module_adopt(custom, inner), ST_EMISUSE, "once");
    CHECK(has_names(custom, 1, names, COUNT(names)), "a refused adopt changes nothing");
    REQUIRE_OK(st_module_create_custom(&declared, "Declared", entry_point_never_called, NULL, NULL));
    REQUIRE_OK(st_tensor_zeros(&w, w_shape, 2, ST_FLOAT32));
    REQUIRE_OK(st_module_add_parameter(declared, "w", w));
    CHECK_ERROR(st_module_adopt(declared, other), ST_EMISUSE, "before declaring");
    REQUIRE_OK(st_module_create_custom(&looped, "Looped", entry_point_never_called, NULL, NULL));
    REQUIRE_OK(st_sequential_create(&outer, &looped, 1));
    CHECK_ERROR(st_module_adopt(looped, outer), ST_EINVAL, "contains");
    CHECK_ERROR(st_module_adopt(looped, looped), ST_EINVAL, "contains");
    CHECK_OK(st_module_adopt(looped, other)); /* the refusals left it free to adopt */
    REQUIRE_OK(st_linear_create(&linear, 2, 2, true));
    REQUIRE_OK(st_module_create_custom(&free_custom, "Free", entry_point_never_called, NULL, NULL));
    CHECK_ERROR(st_module_adopt(linear, free_custom), ST_EINVAL, "built-in");
    CHECK_ERROR(st_module_adopt(outer, linear), ST_EINVAL, "built-in");
    CHECK_ERROR(st_module_adopt(NULL, linear), ST_EINVAL, "NULL");
    CHECK_ERROR(st_module_adopt(free_custom, NULL), ST_EINVAL, "NULL");
    CHECK_ERROR(st_module_adopt(free_custom, (st_module *)w), ST_EINVAL, "st_module");

    /* Training: the adopting module with its own cross entropy trains bit for bit as the
     * sequential with the built-in loss; its checkpoint has the sequential's names. */
    REQUIRE((data = in_memory(&train_rows, train_rows.num_samples)), "dataset");
    saving = args;
    saving.save_strategy = ST_SAVE_STEPS;
    saving.save_steps = 20;
    saving.save_only_model = true;
    REQUIRE_OK(st_training_args_set(&saving, "output_dir", dir));
    REQUIRE((ta = make_trainer(reference, data, ST_LOSS_CROSS_ENTROPY, &args, NULL, NULL, 0)), "trainer");
    REQUIRE((tb = make_trainer(custom, data, ST_LOSS_CROSS_ENTROPY, &saving, NULL, NULL, 0)), "trainer");
    REQUIRE_OK(st_trainer_train(&ma, ta));
    REQUIRE_OK(st_trainer_train(&mb, tb));
    CHECK(wrapped.calls == 21, "the forward ran once per step and once for the check: %lld", (long long)wrapped.calls);
    REQUIRE(read_weights(&wa, reference) && read_weights(&wb, custom) && read_weights(&wi, inner), "weights");
    CHECK(same_bits(&wa, &wb), "the adopting module trains bit for bit as the sequential (largest difference %g)",
          max_difference(&wa, &wb));
    CHECK(same_bits(&wb, &wi), "it trains the adopted sequential's own tensors");
    CHECK(metric(ma, "train_loss") == metric(mb, "train_loss"), "train_loss %.9g vs %.9g", metric(ma, "train_loss"),
          metric(mb, "train_loss"));
    snprintf(path, sizeof path, "%s/checkpoint-20/model.safetensors", dir);
    CHECK(file_has_names(path, names, COUNT(names)), "the checkpoint's model.safetensors has the sequential's names");
    snprintf(path, sizeof path, "%s/adopted.safetensors", dir);
    REQUIRE_OK(st_module_save_safetensors(custom, path));
    CHECK(file_has_names(path, names, COUNT(names)), "st_module_save_safetensors writes the sequential's names");
    /* ... so a plain sequential loads it strictly. */
    REQUIRE((loaded = make_sequential(99, 32)), "model");
    CHECK_OK(st_module_load_safetensors(loaded, path, true));
    CHECK(read_weights(&wl, loaded) && same_bits(&wl, &wb), "the sequential loads the adopting module's weights");

    /* Training mode passes on to the adopted module: dropout is the identity in evaluation. */
    REQUIRE_OK(st_tensor_full(&x, x_shape, 2, 1.0f));
    REQUIRE_OK(st_dropout_create(&dropout, 0.5f));
    dropping.inner = dropout;
    REQUIRE_OK(st_module_create_custom(&drop_custom, "Dropping", adopter_forward, &dropping, NULL));
    REQUIRE_OK(st_module_adopt(drop_custom, dropout));
    st_manual_seed(3);
    REQUIRE_OK(st_module_forward(&y_train, drop_custom, x));
    CHECK(!same_tensor(y_train, x), "in training mode (the default) the adopted dropout drops");
    REQUIRE_OK(st_module_train(drop_custom, false));
    REQUIRE_OK(st_module_forward(&y_eval, drop_custom, x));
    CHECK(same_tensor(y_eval, x), "st_module_train(custom, false) makes the adopted dropout the identity");
    REQUIRE_OK(st_module_train(drop_custom, true));
    REQUIRE_OK(st_module_forward(&y_again, drop_custom, x));
    CHECK(!same_tensor(y_again, x), "and st_module_train(custom, true) makes it drop again");
    /* ... and to the children of an adopted sequential. */
    REQUIRE_OK(st_dropout_create(&d2, 0.5f));
    REQUIRE_OK(st_sequential_create(&seq_dropout, &d2, 1));
    seq_dropping.inner = seq_dropout;
    REQUIRE_OK(st_module_create_custom(&seq_custom, "SeqDropping", adopter_forward, &seq_dropping, NULL));
    REQUIRE_OK(st_module_adopt(seq_custom, seq_dropout));
    REQUIRE_OK(st_module_train(seq_custom, false));
    REQUIRE_OK(st_module_forward(&y_seq, seq_custom, x));
    CHECK(same_tensor(y_seq, x), "an adopted sequential's dropout child follows st_module_train(custom, false)");
done:
    free_weights(&wa);
    free_weights(&wb);
    free_weights(&wi);
    free_weights(&wl);
    st_metrics_free(ma);
    st_metrics_free(mb);
    st_trainer_free(ta);
    st_trainer_free(tb);
    st_dataset_free(data);
    st_tensor_free(w);
    st_tensor_free(x);
    st_tensor_free(y_train);
    st_tensor_free(y_eval);
    st_tensor_free(y_again);
    st_tensor_free(y_seq);
    st_module_free(reference);
    st_module_free(inner);
    st_module_free(custom);
    st_module_free(loaded);
    st_module_free(other);
    st_module_free(declared);
    st_module_free(looped);
    st_module_free(outer);
    st_module_free(linear);
    st_module_free(free_custom);
    st_module_free(dropout);
    st_module_free(drop_custom);
    st_module_free(d2);
    st_module_free(seq_dropout);
    st_module_free(seq_custom);
    if (made) remove_tree(dir);
}

/* ---- st_outputs_count / st_outputs_entry in a compute-loss function --------------------------- */

/* Linear(64, 10) giving "logits", then "aux" (the logits' ReLU). */
typedef struct two_outputs {
    st_module *fc;
} two_outputs;

static int two_outputs_forward(st_outputs *outputs, const st_batch *batch, bool training, void *user_data) {
    const two_outputs *net = user_data;
    st_tensor *x = NULL, *logits = NULL, *aux = NULL;
    int rc = 1;
    (void)training;
    if (st_batch_get(&x, batch, "input") == ST_OK && st_module_forward(&logits, net->fc, x) == ST_OK &&
        st_relu(&aux, logits) == ST_OK && st_outputs_set(outputs, "logits", logits) == ST_OK &&
        st_outputs_set(outputs, "aux", aux) == ST_OK)
        rc = 0;
    st_tensor_free(x);
    st_tensor_free(logits);
    st_tensor_free(aux);
    return rc;
}

typedef struct outputs_probe {
    int64_t calls, good_calls;
    int probed;
} outputs_probe;

static int enumerating_loss(st_tensor **loss, const st_outputs *outputs, const st_batch *batch, void *user_data) {
    static const char *const expected[] = {"logits", "aux"};
    static int not_a_handle;
    outputs_probe *probe = user_data;
    st_tensor *entries[2] = {NULL, NULL}, *t = NULL, *labels = NULL;
    const char *name = NULL;
    int64_t size = 0, shape[ST_MAX_DIMS];
    size_t i, ndim = 0;
    int good = 1, rc = 1;
    probe->calls++;
    good = st_outputs_count(outputs) == 2 && st_batch_size(&size, batch) == ST_OK;
    for (i = 0; good && i < 2; i++) {
        name = NULL;
        good = st_outputs_entry(&name, &entries[i], outputs, i) == ST_OK && name && strcmp(name, expected[i]) == 0 &&
               st_tensor_ndim(&ndim, entries[i]) == ST_OK && ndim == 2 &&
               st_tensor_shape(shape, ST_MAX_DIMS, entries[i]) == ST_OK && shape[0] == size &&
               shape[1] == DIGITS_NUM_CLASSES;
    }
    probe->good_calls += good;
    if (!probe->probed) {
        probe->probed = 1;
        CHECK(st_outputs_count(outputs) == 2, "two outputs: %zu", st_outputs_count(outputs));
        if (CHECK_OK(st_outputs_entry(&name, &t, outputs, 0)))
            CHECK(strcmp(name, "logits") == 0, "output 0 is \"%s\", expected \"logits\" (the order they were set)", name);
        st_tensor_free(t);
        t = NULL;
        if (CHECK_OK(st_outputs_entry(&name, &t, outputs, 1)))
            CHECK(strcmp(name, "aux") == 0, "output 1 is \"%s\", expected \"aux\"", name);
        st_tensor_free(t);
        t = (st_tensor *)&not_a_handle;
        CHECK_ERROR(st_outputs_entry(&name, &t, outputs, 2), ST_EINVAL, "out of range");
        CHECK(t == NULL, "a failed st_outputs_entry sets *out_tensor to NULL");
        CHECK_ERROR(st_outputs_entry(&name, &t, outputs, (size_t)-1), ST_EINVAL, "");
        CHECK(st_outputs_count(NULL) == 0, "st_outputs_count(NULL) is 0");
        CHECK_ERROR(st_outputs_entry(NULL, &t, outputs, 0), ST_EINVAL, "NULL");
        CHECK_ERROR(st_outputs_entry(&name, NULL, outputs, 0), ST_EINVAL, "NULL");
        CHECK_ERROR(st_outputs_entry(&name, &t, NULL, 0), ST_EINVAL, "NULL");
        CHECK_ERROR(st_outputs_entry(NULL, NULL, NULL, 0), ST_EINVAL, "NULL");
        CHECK(t == NULL, "no handle from the failed calls");
        /* A batch is not an st_outputs. */
        CHECK(st_outputs_count((const st_outputs *)batch) == 0, "st_outputs_count of a batch is 0");
        CHECK_ERROR(st_outputs_entry(&name, &t, (const st_outputs *)batch, 0), ST_EINVAL, "st_outputs");
        /* By name, both are there; "logits" is the first entry. */
        if (CHECK_OK(st_outputs_get(&t, outputs, "aux"))) CHECK(same_tensor(t, entries[1]), "\"aux\" by name is entry 1");
        st_tensor_free(t);
        t = NULL;
        if (CHECK_OK(st_outputs_get(&t, outputs, "logits")))
            CHECK(same_tensor(t, entries[0]), "\"logits\" by name is entry 0");
        st_tensor_free(t);
        t = NULL;
    }
    if (entries[0] && st_batch_get(&labels, batch, "labels") == ST_OK &&
        st_cross_entropy(loss, entries[0], labels, NULL, -100, ST_REDUCTION_MEAN, 0) == ST_OK)
        rc = 0;
    st_tensor_free(entries[0]);
    st_tensor_free(entries[1]);
    st_tensor_free(labels);
    return rc;
}

static void test_outputs_in_compute_loss(void) {
    two_outputs net = {NULL};
    outputs_probe probe = {0, 0, 0};
    st_module *model = NULL;
    st_dataset *data = NULL;
    st_trainer *trainer = NULL;
    st_training_args args;
    st_metrics *metrics = NULL;
    REQUIRE(load_digits() && init_args(&args, 3), "fixtures");
    REQUIRE((data = in_memory(&train_rows, 256)), "dataset");
    REQUIRE_OK(st_linear_create(&net.fc, DIGITS_NUM_FEATURES, DIGITS_NUM_CLASSES, true));
    REQUIRE_OK(st_module_create_custom(&model, "TwoOutputs", two_outputs_forward, &net, NULL));
    REQUIRE_OK(st_module_add_child(model, "fc", net.fc));
    REQUIRE((trainer = make_trainer(model, data, ST_LOSS_CROSS_ENTROPY, &args, enumerating_loss, &probe, 1)), "training");
    REQUIRE_OK(st_trainer_evaluate(&metrics, trainer, data));
    CHECK(probe.probed, "the compute-loss function ran");
    /* the check of the first sample, 3 steps, one evaluation batch */
    CHECK(probe.calls >= 4 && probe.good_calls == probe.calls, "in every call (%lld of %lld) the outputs are "
          "\"logits\" then \"aux\", each [batch, 10]", (long long)probe.good_calls, (long long)probe.calls);
done:
    st_metrics_free(metrics);
    st_trainer_free(trainer);
    st_dataset_free(data);
    st_module_free(model);
    st_module_free(net.fc);
}

/* ---- st_trainer_predict_tensors and compute-metrics on token-level outputs -------------------- */

#define SEQ_COUNT 40
#define SEQ_MAX_LEN 9
#define SEQ_VOCAB 11   /* token ids 1..10; 0 pads input_ids */
#define SEQ_CLASSES 5  /* a token's label is its id mod 5 */
#define SEQ_BATCH 8    /* per_device_eval_batch_size: 5 batches */

typedef struct seq_data {
    int64_t tokens[SEQ_COUNT][SEQ_MAX_LEN];
    int64_t lengths[SEQ_COUNT];
    int with_labels;
    int64_t epochs_begun, last_epoch, ends; /* the stream's record */
} seq_data;

static void make_sequences(seq_data *d) {
    int64_t i, t;
    memset(d, 0, sizeof *d);
    d->with_labels = 1;
    d->last_epoch = -1;
    for (i = 0; i < SEQ_COUNT; i++) {
        /* the first batch is at most 4 long; samples 12, 20, 28, 36 are 9 long */
        d->lengths[i] = i < SEQ_BATCH ? 2 + i % 3 : 2 + (i * 5 + 3) % 8;
        for (t = 0; t < d->lengths[i]; t++) d->tokens[i][t] = 1 + (i * 7 + t * 3) % 10;
    }
}

static int64_t seq_label(const seq_data *d, int64_t i, int64_t t) {
    return t < d->lengths[i] ? d->tokens[i][t] % SEQ_CLASSES : -100;
}

/* The longest sequence among samples [first, first + count). */
static int64_t seq_width(const seq_data *d, int64_t first, int64_t count) {
    int64_t i, width = 0;
    for (i = first; i < first + count; i++)
        if (d->lengths[i] > width) width = d->lengths[i];
    return width;
}

/* "input_ids" [count, T] padded with 0 and (with_labels) "labels" [count, T] padded with -100,
 * T the batch's longest sequence. */
static int fill_sequences(st_batch *batch, const seq_data *d, const int64_t *indices, size_t count) {
    int64_t ids[SEQ_COUNT * SEQ_MAX_LEN], labels[SEQ_COUNT * SEQ_MAX_LEN], width = 0, shape[2];
    size_t i;
    int64_t t;
    if (count > SEQ_COUNT) return 1;
    for (i = 0; i < count; i++)
        if (d->lengths[indices[i]] > width) width = d->lengths[indices[i]];
    for (i = 0; i < count; i++)
        for (t = 0; t < width; t++) {
            ids[i * (size_t)width + (size_t)t] = t < d->lengths[indices[i]] ? d->tokens[indices[i]][t] : 0;
            labels[i * (size_t)width + (size_t)t] = seq_label(d, indices[i], t);
        }
    shape[0] = (int64_t)count;
    shape[1] = width;
    return st_batch_add(batch, "input_ids", ids, shape, 2, ST_INT64) ||
           (d->with_labels && st_batch_add(batch, "labels", labels, shape, 2, ST_INT64));
}

static int fetch_sequences(st_batch *batch, const int64_t *indices, size_t count, void *user_data) {
    return fill_sequences(batch, user_data, indices, count);
}

static int next_sequences(st_batch *batch, int64_t epoch, int64_t index, int64_t batch_size, void *user_data) {
    seq_data *d = user_data;
    int64_t indices[SEQ_COUNT], i, start = index * batch_size;
    if (epoch != d->last_epoch) {
        d->epochs_begun++;
        d->last_epoch = epoch;
    }
    if (start >= SEQ_COUNT) {
        d->ends++;
        return ST_DATA_END;
    }
    for (i = 0; i < batch_size && start + i < SEQ_COUNT; i++) indices[i] = start + i;
    return fill_sequences(batch, d, indices, (size_t)i);
}

/* Embedding(11, 6) -> Linear(6, 5) per token: logits [count, T, 5]. */
typedef struct tagger {
    st_module *embedding, *head;
} tagger;

static int tagger_forward(st_outputs *outputs, const st_batch *batch, bool training, void *user_data) {
    const tagger *net = user_data;
    st_tensor *ids = NULL, *e = NULL, *logits = NULL;
    int rc = 1;
    (void)training;
    if (st_batch_get(&ids, batch, "input_ids") == ST_OK && st_module_forward(&e, net->embedding, ids) == ST_OK &&
        st_module_forward(&logits, net->head, e) == ST_OK && st_outputs_set(outputs, "logits", logits) == ST_OK)
        rc = 0;
    st_tensor_free(ids);
    st_tensor_free(e);
    st_tensor_free(logits);
    return rc;
}

/* What a compute-metrics function saw; it returns "labelled_tokens" (labels other than -100). */
typedef struct metrics_probe {
    int64_t calls;
    size_t prediction_ndim, label_ndim;
    int64_t prediction_shape[ST_MAX_DIMS], label_shape[ST_MAX_DIMS];
    int64_t num_samples, num_outputs;
    int label_shape_null, label_ids_null, first_row_padded;
    char prefix[32];
} metrics_probe;

static int token_metrics(st_metric_value *out, size_t capacity, size_t *out_count, const st_eval_prediction *p,
                         void *user_data) {
    metrics_probe *probe = user_data;
    int64_t labelled = 0, i, total;
    size_t d;
    probe->calls++;
    probe->prediction_ndim = p->prediction_ndim;
    probe->label_ndim = p->label_ndim;
    for (d = 0; d < p->prediction_ndim && d < ST_MAX_DIMS; d++) probe->prediction_shape[d] = p->prediction_shape[d];
    for (d = 0; p->label_shape && d < p->label_ndim && d < ST_MAX_DIMS; d++) probe->label_shape[d] = p->label_shape[d];
    probe->label_shape_null = p->label_shape == NULL;
    probe->label_ids_null = p->label_ids == NULL;
    probe->num_samples = p->num_samples;
    probe->num_outputs = p->num_outputs;
    snprintf(probe->prefix, sizeof probe->prefix, "%s", p->metric_key_prefix ? p->metric_key_prefix : "(null)");
    /* sample 0 is in the first batch (4 long): positions 4..8 of its row are padding */
    probe->first_row_padded = p->prediction_ndim == 3 && p->prediction_shape[1] == SEQ_MAX_LEN &&
                              p->predictions[4 * SEQ_CLASSES] == -100.0f &&
                              p->predictions[SEQ_MAX_LEN * SEQ_CLASSES - 1] == -100.0f;
    total = 1;
    for (d = 0; p->label_shape && d < p->label_ndim; d++) total *= p->label_shape[d];
    for (i = 0; p->label_ids && i < total; i++) labelled += p->label_ids[i] != -100;
    if (capacity < 1) return 1;
    out[0].name = "labelled_tokens";
    out[0].value = (double)labelled;
    *out_count = 1;
    return 0;
}

/* Checks predictions [SEQ_COUNT, SEQ_MAX_LEN, SEQ_CLASSES]: per batch, positions before the
 * batch's width are the model's logits for the padded ids, later ones -100. */
static void check_token_predictions(st_tensor *predictions, const seq_data *d, const tagger *net) {
    const int64_t shape[3] = {SEQ_COUNT, SEQ_MAX_LEN, SEQ_CLASSES};
    int64_t b, i, t, c, padded_batches = 0;
    float *p = NULL;
    double worst = 0;
    int pads_ok = 1, compared = 1;
    void *data = NULL;
    st_dtype dtype = ST_BOOL;
    if (!has_shape(predictions, shape, 3) || !CHECK_OK(st_tensor_dtype(&dtype, predictions)) ||
        !CHECK(dtype == ST_FLOAT32, "float32 predictions") || !CHECK_OK(st_tensor_data(&data, predictions)))
        return;
    p = data;
    for (b = 0; b < SEQ_COUNT / SEQ_BATCH; b++) {
        const int64_t width = seq_width(d, b * SEQ_BATCH, SEQ_BATCH), ids_shape[2] = {SEQ_BATCH, width};
        int64_t ids[SEQ_BATCH * SEQ_MAX_LEN];
        st_tensor *ids_t = NULL, *e = NULL, *logits = NULL;
        float *expected = NULL;
        void *ev = NULL;
        padded_batches += width < SEQ_MAX_LEN;
        for (i = 0; i < SEQ_BATCH; i++)
            for (t = 0; t < width; t++)
                ids[i * width + t] = t < d->lengths[b * SEQ_BATCH + i] ? d->tokens[b * SEQ_BATCH + i][t] : 0;
        /* the model on this batch, as the trainer ran it (evaluation: no dropout in it anyway) */
        if (st_tensor_create(&ids_t, ids, ids_shape, 2, ST_INT64, ST_DATA_COPY) == ST_OK &&
            st_module_forward(&e, net->embedding, ids_t) == ST_OK && st_module_forward(&logits, net->head, e) == ST_OK &&
            st_tensor_data(&ev, logits) == ST_OK) {
            expected = ev;
            for (i = 0; i < SEQ_BATCH; i++)
                for (t = 0; t < SEQ_MAX_LEN; t++)
                    for (c = 0; c < SEQ_CLASSES; c++) {
                        const float got = p[((b * SEQ_BATCH + i) * SEQ_MAX_LEN + t) * SEQ_CLASSES + c];
                        if (t >= width)
                            pads_ok &= got == -100.0f;
                        else
                            worst = fmax(worst, fabs((double)got - expected[(i * width + t) * SEQ_CLASSES + c]));
                    }
        } else {
            compared = 0;
        }
        st_tensor_free(ids_t);
        st_tensor_free(e);
        st_tensor_free(logits);
    }
    CHECK(compared, "the expected logits were computed: %s", st_last_error_message());
    CHECK(padded_batches >= 1, "at least one batch is shorter than the longest (%lld)", (long long)padded_batches);
    CHECK(pads_ok, "positions past a batch's own length are padded with -100");
    CHECK(worst <= 1e-6, "the other positions are the model's logits for the batch (largest difference %g)", worst);
}

static void test_predict_tensors_token_level(void) {
    static const char *const names[] = {"embedding.weight", "head.weight", "head.bias"};
    static seq_data seqs, unlabelled, streamed;
    const int64_t label_shape[2] = {SEQ_COUNT, SEQ_MAX_LEN};
    const int64_t flat_logits[2] = {SEQ_COUNT * SEQ_MAX_LEN, SEQ_CLASSES}, flat_labels[1] = {SEQ_COUNT * SEQ_MAX_LEN};
    static int sentinel;
    tagger net = {NULL, NULL};
    metrics_probe probe;
    st_module *model = NULL;
    st_dataset *labelled = NULL, *bare = NULL, *stream = NULL;
    st_trainer *trainer = NULL;
    st_training_args args;
    st_metrics *metrics = NULL, *bare_metrics = NULL, *stream_metrics = NULL, *eval = NULL;
    st_tensor *predictions = NULL, *labels = NULL, *bare_predictions = NULL, *bare_labels = NULL;
    st_tensor *stream_predictions = NULL, *stream_labels = NULL, *x = NULL, *y = NULL, *ce = NULL;
    int64_t i, t, c, labelled_tokens = 0, correct = 0, calls_before;
    double expected_loss = NAN, expected_accuracy;
    st_dtype dtype = ST_BOOL;
    void *data = NULL;
    memset(&probe, 0, sizeof probe);
    make_sequences(&seqs);
    unlabelled = seqs;
    unlabelled.with_labels = 0;
    streamed = seqs;
    st_manual_seed(17);
    REQUIRE_OK(st_embedding_create(&net.embedding, SEQ_VOCAB, 6, ST_NO_INDEX));
    REQUIRE_OK(st_linear_create(&net.head, 6, SEQ_CLASSES, true));
    REQUIRE_OK(st_module_create_custom(&model, "Tagger", tagger_forward, &net, NULL));
    REQUIRE_OK(st_module_add_child(model, "embedding", net.embedding));
    REQUIRE_OK(st_module_add_child(model, "head", net.head));
    CHECK(has_names(model, 1, names, COUNT(names)), "the tagger's names");
    REQUIRE_OK(st_dataset_create_indexed(&labelled, SEQ_COUNT, fetch_sequences, &seqs, NULL));
    REQUIRE_OK(st_dataset_create_indexed(&bare, SEQ_COUNT, fetch_sequences, &unlabelled, NULL));
    REQUIRE_OK(st_dataset_create_stream(&stream, next_sequences, &streamed, NULL));
    REQUIRE(init_args(&args, 5), "args");
    args.per_device_train_batch_size = SEQ_BATCH;
    args.per_device_eval_batch_size = SEQ_BATCH;
    REQUIRE((trainer = make_trainer(model, labelled, ST_LOSS_CROSS_ENTROPY, &args, NULL, NULL, 1)), "token-level training");
    REQUIRE_OK(st_trainer_set_compute_metrics(trainer, token_metrics, &probe));
    for (i = 0; i < SEQ_COUNT; i++) labelled_tokens += seqs.lengths[i];

    /* With labels: padded predictions, padded labels, test metrics. */
    REQUIRE_OK(st_trainer_predict_tensors(&predictions, &labels, &metrics, trainer, labelled));
    check_token_predictions(predictions, &seqs, &net);
    if (has_shape(labels, label_shape, 2) && CHECK_OK(st_tensor_dtype(&dtype, labels)) &&
        CHECK(dtype == ST_INT64, "int64 labels") && CHECK_OK(st_tensor_data(&data, labels))) {
        const int64_t *l = data;
        int labels_ok = 1;
        for (i = 0; i < SEQ_COUNT; i++)
            for (t = 0; t < SEQ_MAX_LEN; t++) labels_ok &= l[i * SEQ_MAX_LEN + t] == seq_label(&seqs, i, t);
        CHECK(labels_ok, "the labels are the provider's, padded with -100 to [%d, %d]", SEQ_COUNT, SEQ_MAX_LEN);
    }
    /* test_loss is the cross entropy of every labelled token; test_accuracy their argmax accuracy. */
    if (predictions && labels && CHECK_OK(st_reshape(&x, predictions, flat_logits, 2)) &&
        CHECK_OK(st_reshape(&y, labels, flat_labels, 1)) &&
        CHECK_OK(st_cross_entropy(&ce, x, y, NULL, -100, ST_REDUCTION_MEAN, 0)))
        CHECK_OK(st_tensor_item(&expected_loss, ce));
    if (predictions && labels && CHECK_OK(st_tensor_data(&data, predictions))) {
        const float *p = data;
        for (i = 0; i < SEQ_COUNT; i++)
            for (t = 0; t < seqs.lengths[i]; t++) {
                const float *row = p + (i * SEQ_MAX_LEN + t) * SEQ_CLASSES;
                int64_t best = 0;
                for (c = 1; c < SEQ_CLASSES; c++)
                    if (row[c] > row[best]) best = c;
                correct += best == seq_label(&seqs, i, t);
            }
    }
    expected_accuracy = (double)correct / (double)labelled_tokens;
    if (CHECK(metrics != NULL, "test metrics for a dataset with labels")) {
        printf("token level: test_loss %.6f (expected %.6f), test_accuracy %.4f (expected %.4f)\n",
               metric(metrics, "test_loss"), expected_loss, metric(metrics, "test_accuracy"), expected_accuracy);
        CHECK(fabs(metric(metrics, "test_loss") - expected_loss) <= 1e-5 * fabs(expected_loss),
              "test_loss %.9g is the cross entropy of the labelled tokens %.9g", metric(metrics, "test_loss"), expected_loss);
        CHECK(fabs(metric(metrics, "test_accuracy") - expected_accuracy) <= 1e-12, "test_accuracy %.9g vs %.9g",
              metric(metrics, "test_accuracy"), expected_accuracy);
        CHECK(metric(metrics, "test_labelled_tokens") == (double)labelled_tokens,
              "compute-metrics' metric is in the test metrics: %g labelled tokens of %lld",
              metric(metrics, "test_labelled_tokens"), (long long)labelled_tokens);
    }
    CHECK(probe.calls == 1 && strcmp(probe.prefix, "test") == 0, "compute-metrics ran once for predict (%lld calls, "
          "prefix %s)", (long long)probe.calls, probe.prefix);

    /* Evaluation: compute-metrics sees the padded token-level shapes. */
    memset(&probe, 0, sizeof probe);
    REQUIRE_OK(st_trainer_evaluate(&eval, trainer, labelled));
    CHECK(probe.calls == 1 && strcmp(probe.prefix, "eval") == 0, "compute-metrics ran once (%lld calls, prefix %s)",
          (long long)probe.calls, probe.prefix);
    CHECK(probe.prediction_ndim == 3 && probe.prediction_shape[0] == SEQ_COUNT &&
              probe.prediction_shape[1] == SEQ_MAX_LEN && probe.prediction_shape[2] == SEQ_CLASSES,
          "prediction_shape is [%d, %d, %d]: ndim %zu, [%lld, %lld, %lld]", SEQ_COUNT, SEQ_MAX_LEN, SEQ_CLASSES,
          probe.prediction_ndim, (long long)probe.prediction_shape[0], (long long)probe.prediction_shape[1],
          (long long)probe.prediction_shape[2]);
    CHECK(!probe.label_shape_null && probe.label_ndim == 2 && probe.label_shape[0] == SEQ_COUNT &&
              probe.label_shape[1] == SEQ_MAX_LEN,
          "label_shape is [%d, %d]: ndim %zu, [%lld, %lld]", SEQ_COUNT, SEQ_MAX_LEN, probe.label_ndim,
          (long long)probe.label_shape[0], (long long)probe.label_shape[1]);
    CHECK(probe.num_samples == SEQ_COUNT && probe.num_outputs == SEQ_MAX_LEN * SEQ_CLASSES,
          "num_samples %lld, num_outputs %lld (the values per sample)", (long long)probe.num_samples,
          (long long)probe.num_outputs);
    CHECK(!probe.label_ids_null && probe.first_row_padded, "the predictions it sees are padded with -100 too");
    CHECK(metric(eval, "eval_labelled_tokens") == (double)labelled_tokens, "eval_labelled_tokens %g, expected %lld",
          metric(eval, "eval_labelled_tokens"), (long long)labelled_tokens);
    CHECK(fabs(metric(eval, "eval_loss") - expected_loss) <= 1e-5 * fabs(expected_loss), "eval_loss %.9g vs %.9g",
          metric(eval, "eval_loss"), expected_loss);

    /* Without labels: no labels, no metrics, compute-metrics not called; the same predictions. */
    calls_before = probe.calls;
    bare_labels = (st_tensor *)&sentinel;
    bare_metrics = (st_metrics *)&sentinel;
    REQUIRE_OK(st_trainer_predict_tensors(&bare_predictions, &bare_labels, &bare_metrics, trainer, bare));
    CHECK(bare_labels == NULL, "out_labels is NULL for a dataset without labels");
    CHECK(bare_metrics == NULL, "out_metrics is NULL for a dataset without labels");
    if (bare_labels == (st_tensor *)&sentinel) bare_labels = NULL;
    if (bare_metrics == (st_metrics *)&sentinel) bare_metrics = NULL;
    CHECK(probe.calls == calls_before, "compute-metrics does not run without labels");
    CHECK(same_tensor(bare_predictions, predictions), "the same predictions as with labels");
    st_tensor_free(bare_predictions);
    bare_predictions = NULL;
    /* out_labels and out_metrics may be NULL. */
    CHECK_OK(st_trainer_predict_tensors(&bare_predictions, NULL, NULL, trainer, labelled));
    CHECK(same_tensor(bare_predictions, predictions), "the same predictions with NULL out_labels and out_metrics");

    /* A stream: every sample of its epoch 0, as the map-style dataset gives them. */
    REQUIRE_OK(st_trainer_predict_tensors(&stream_predictions, &stream_labels, &stream_metrics, trainer, stream));
    CHECK(streamed.epochs_begun == 1 && streamed.last_epoch == 0 && streamed.ends == 1,
          "the stream was read once, epoch 0 to its end (%lld epochs, the last %lld, %lld ends)",
          (long long)streamed.epochs_begun, (long long)streamed.last_epoch, (long long)streamed.ends);
    CHECK(same_tensor(stream_predictions, predictions), "the stream's predictions equal the map-style dataset's");
    CHECK(has_shape(stream_labels, label_shape, 2) && same_tensor(stream_labels, labels),
          "the stream's labels equal the map-style dataset's");
    if (CHECK(stream_metrics != NULL, "test metrics for a stream with labels"))
        CHECK(metric(stream_metrics, "test_loss") == metric(metrics, "test_loss"), "test_loss %.9g vs %.9g",
              metric(stream_metrics, "test_loss"), metric(metrics, "test_loss"));

    /* Argument errors: a status, the outputs NULL. */
    st_tensor_free(bare_predictions);
    bare_predictions = (st_tensor *)&sentinel;
    bare_labels = (st_tensor *)&sentinel;
    bare_metrics = (st_metrics *)&sentinel;
    CHECK_ERROR(st_trainer_predict_tensors(&bare_predictions, &bare_labels, &bare_metrics, trainer, NULL), ST_EINVAL,
                "NULL");
    CHECK(bare_predictions == NULL && bare_labels == NULL && bare_metrics == NULL,
          "a failed st_trainer_predict_tensors sets its outputs to NULL");
    CHECK_ERROR(st_trainer_predict_tensors(NULL, NULL, NULL, trainer, labelled), ST_EINVAL, "NULL");
    CHECK_ERROR(st_trainer_predict_tensors(&bare_predictions, NULL, NULL, NULL, labelled), ST_EINVAL, "NULL");
    bare_predictions = NULL;
    bare_labels = NULL;
    bare_metrics = NULL;
done:
    st_metrics_free(metrics);
    st_metrics_free(bare_metrics);
    st_metrics_free(stream_metrics);
    st_metrics_free(eval);
    st_tensor_free(predictions);
    st_tensor_free(labels);
    st_tensor_free(bare_predictions);
    st_tensor_free(bare_labels);
    st_tensor_free(stream_predictions);
    st_tensor_free(stream_labels);
    st_tensor_free(x);
    st_tensor_free(y);
    st_tensor_free(ce);
    st_trainer_free(trainer);
    st_dataset_free(labelled);
    st_dataset_free(bare);
    st_dataset_free(stream);
    st_module_free(model);
    st_module_free(net.embedding);
    st_module_free(net.head);
}

/* ---- st_trainer_builtin_loss equals st_cross_entropy ------------------------------------------ */

/* *out = st_trainer_builtin_loss(logits, labels) and the gradient it gives `logits` (which
 * requires gradients), as values. */
static int builtin_loss_and_grad(double *value, float *grad, size_t grad_bytes, st_trainer *trainer, st_tensor *logits,
                                 const st_tensor *labels) {
    st_tensor *loss = NULL, *g = NULL;
    int ok = CHECK_OK(st_tensor_zero_grad(logits)) && CHECK_OK(st_trainer_builtin_loss(&loss, trainer, logits, labels)) &&
             CHECK_OK(st_tensor_item(value, loss)) && CHECK_OK(st_tensor_backward(loss, NULL)) &&
             CHECK_OK(st_tensor_grad(&g, logits)) && CHECK(g != NULL, "a gradient") &&
             CHECK_OK(st_tensor_copy_to(grad, grad_bytes, g));
    st_tensor_free(loss);
    st_tensor_free(g);
    return ok;
}

/* st_cross_entropy of `logits` viewed as [rows, classes] against `labels` viewed as [rows]. */
static int reference_loss_and_grad(double *value, float *grad, size_t grad_bytes, st_tensor *logits,
                                   const st_tensor *labels, int64_t rows, int64_t classes, float smoothing) {
    const int64_t x_shape[2] = {rows, classes}, y_shape[1] = {rows};
    st_tensor *x = NULL, *y = NULL, *loss = NULL, *g = NULL;
    int ok = CHECK_OK(st_tensor_zero_grad(logits)) && CHECK_OK(st_reshape(&x, logits, x_shape, 2)) &&
             CHECK_OK(st_reshape(&y, labels, y_shape, 1)) &&
             CHECK_OK(st_cross_entropy(&loss, x, y, NULL, -100, ST_REDUCTION_MEAN, smoothing)) &&
             CHECK_OK(st_tensor_item(value, loss)) && CHECK_OK(st_tensor_backward(loss, NULL)) &&
             CHECK_OK(st_tensor_grad(&g, logits)) && CHECK(g != NULL, "a gradient") &&
             CHECK_OK(st_tensor_copy_to(grad, grad_bytes, g));
    st_tensor_free(x);
    st_tensor_free(y);
    st_tensor_free(loss);
    st_tensor_free(g);
    return ok;
}

static void test_builtin_loss(void) {
    enum { N = 6, T = 5, C = 4 };
    static const int64_t labels_2d[N] = {0, 3, 1, 2, 3, 0};
    static const int64_t labels_3d[N * T] = {0, 1, 2, 3, -100, 3, 2, 1, -100, -100, 1, 1, 0, 0, 2,
                                             -100, -100, -100, -100, -100, 2, 3, 0, 1, 2, 3, -100, 0, 1, 2};
    const int64_t shape_2d[2] = {N, C}, shape_3d[3] = {N, T, C}, label_shape_2d[1] = {N}, label_shape_3d[2] = {N, T};
    const int64_t wrong_rows[1] = {N + 1}, out_of_range[1] = {1}, one_row[2] = {1, C};
    static int sentinel;
    const int64_t bad_label = C + 3;
    const float smoothings[2] = {0.0f, 0.1f};
    st_module *model = NULL;
    st_trainer *trainers[2] = {NULL, NULL}, *mse = NULL;
    st_training_args args;
    st_tensor *logits2 = NULL, *logits3 = NULL, *y2 = NULL, *y3 = NULL, *out = NULL, *ref = NULL;
    st_tensor *wrong = NULL, *float_labels = NULL, *targets = NULL, *big = NULL, *one = NULL;
    float ga[N * T * C], gb[N * T * C];
    double a = 0, b = 0;
    size_t k;
    int rc;
    REQUIRE(init_args(&args, 1) && (model = make_sequential(1, 8)), "fixtures");
    for (k = 0; k < 2; k++) {
        st_training_args with = args;
        with.label_smoothing_factor = smoothings[k];
        REQUIRE_OK(st_trainer_create(&trainers[k], model, ST_LOSS_CROSS_ENTROPY, &with));
    }
    REQUIRE_OK(st_tensor_normal(&logits2, shape_2d, 2, 0, 2, 5));
    REQUIRE_OK(st_tensor_normal(&logits3, shape_3d, 3, 0, 2, 6));
    REQUIRE_OK(st_tensor_set_requires_grad(logits2, true));
    REQUIRE_OK(st_tensor_set_requires_grad(logits3, true));
    REQUIRE_OK(st_tensor_create(&y2, labels_2d, label_shape_2d, 1, ST_INT64, ST_DATA_COPY));
    REQUIRE_OK(st_tensor_create(&y3, labels_3d, label_shape_3d, 2, ST_INT64, ST_DATA_COPY));
    for (k = 0; k < 2; k++) {
        /* [N, C] with [N] */
        if (builtin_loss_and_grad(&a, ga, N * C * sizeof(float), trainers[k], logits2, y2) &&
            reference_loss_and_grad(&b, gb, N * C * sizeof(float), logits2, y2, N, C, smoothings[k])) {
            CHECK(a == b, "label smoothing %g, [N, C]: the built-in loss %.9g equals st_cross_entropy %.9g",
                  (double)smoothings[k], a, b);
            CHECK(memcmp(ga, gb, N * C * sizeof(float)) == 0, "label smoothing %g, [N, C]: and so does its gradient",
                  (double)smoothings[k]);
        }
        /* [N, T, C] with [N, T] and -100: the flattened [N*T, C] with [N*T] */
        if (builtin_loss_and_grad(&a, ga, sizeof ga, trainers[k], logits3, y3) &&
            reference_loss_and_grad(&b, gb, sizeof gb, logits3, y3, N * T, C, smoothings[k])) {
            CHECK(a == b, "label smoothing %g, [N, T, C]: the built-in loss %.9g equals st_cross_entropy on the "
                  "flattened tokens %.9g", (double)smoothings[k], a, b);
            CHECK(memcmp(ga, gb, sizeof ga) == 0, "label smoothing %g, [N, T, C]: and so does its gradient",
                  (double)smoothings[k]);
        }
    }
    /* The smoothing is the trainer's: 0.1 differs from none. */
    if (CHECK_OK(st_trainer_builtin_loss(&out, trainers[0], logits2, y2)) && CHECK_OK(st_tensor_item(&a, out)) &&
        CHECK_OK(st_trainer_builtin_loss(&ref, trainers[1], logits2, y2)) && CHECK_OK(st_tensor_item(&b, ref)))
        CHECK(a != b, "label_smoothing_factor 0.1 changes the loss (%.9g vs %.9g)", a, b);
    st_tensor_free(out);
    st_tensor_free(ref);
    out = ref = NULL;

    /* Shapes that do not fit, labels of the wrong type or range, NULLs: a status and a message. */
    REQUIRE_OK(st_tensor_zeros(&wrong, wrong_rows, 1, ST_INT64));
    REQUIRE_OK(st_tensor_zeros(&float_labels, label_shape_2d, 1, ST_FLOAT32));
    out = (st_tensor *)&sentinel;
    rc = st_trainer_builtin_loss(&out, trainers[0], logits2, wrong);
    CHECK((rc == ST_ESHAPE || rc == ST_EINVAL) && st_last_error_message()[0] != '\0',
          "logits [6, 4] with labels [7]: %s (%s)", st_status_string(rc), st_last_error_message());
    CHECK(out == NULL, "a failed st_trainer_builtin_loss sets *out to NULL");
    out = NULL;
    rc = st_trainer_builtin_loss(&out, trainers[0], logits3, y2);
    CHECK((rc == ST_ESHAPE || rc == ST_EINVAL) && st_last_error_message()[0] != '\0',
          "logits [6, 5, 4] with labels [6]: %s (%s)", st_status_string(rc), st_last_error_message());
    st_tensor_free(out);
    out = NULL;
    rc = st_trainer_builtin_loss(&out, trainers[0], logits2, y3);
    CHECK((rc == ST_ESHAPE || rc == ST_EINVAL) && st_last_error_message()[0] != '\0',
          "logits [6, 4] with labels [6, 5]: %s (%s)", st_status_string(rc), st_last_error_message());
    st_tensor_free(out);
    out = NULL;
    CHECK_ERROR(st_trainer_builtin_loss(&out, trainers[0], logits2, float_labels), ST_EINVAL, "int64");
    REQUIRE_OK(st_tensor_create(&big, &bad_label, out_of_range, 1, ST_INT64, ST_DATA_COPY));
    REQUIRE_OK(st_tensor_zeros(&one, one_row, 2, ST_FLOAT32));
    rc = st_trainer_builtin_loss(&out, trainers[0], one, big);
    CHECK(rc != ST_OK && st_last_error_message()[0] != '\0', "a label outside [0, 4): %s (%s)", st_status_string(rc),
          st_last_error_message());
    st_tensor_free(out);
    out = NULL;
    CHECK_ERROR(st_trainer_builtin_loss(NULL, trainers[0], logits2, y2), ST_EINVAL, "NULL");
    CHECK_ERROR(st_trainer_builtin_loss(&out, NULL, logits2, y2), ST_EINVAL, "NULL");
    CHECK_ERROR(st_trainer_builtin_loss(&out, trainers[0], NULL, y2), ST_EINVAL, "NULL");
    CHECK_ERROR(st_trainer_builtin_loss(&out, trainers[0], logits2, NULL), ST_EINVAL, "NULL");
    CHECK_ERROR(st_trainer_builtin_loss(&out, (st_trainer *)model, logits2, y2), ST_EINVAL, "st_trainer");

    /* Another built-in loss: ST_LOSS_MSE is st_mse_loss (mean). */
    REQUIRE_OK(st_trainer_create(&mse, model, ST_LOSS_MSE, &args));
    REQUIRE_OK(st_tensor_normal(&targets, shape_2d, 2, 0, 1, 7));
    if (CHECK_OK(st_trainer_builtin_loss(&out, mse, logits2, targets)) && CHECK_OK(st_tensor_item(&a, out)) &&
        CHECK_OK(st_mse_loss(&ref, logits2, targets, ST_REDUCTION_MEAN)) && CHECK_OK(st_tensor_item(&b, ref)))
        CHECK(a == b, "ST_LOSS_MSE: %.9g vs st_mse_loss %.9g", a, b);
done:
    st_trainer_free(trainers[0]);
    st_trainer_free(trainers[1]);
    st_trainer_free(mse);
    st_module_free(model);
    st_tensor_free(logits2);
    st_tensor_free(logits3);
    st_tensor_free(y2);
    st_tensor_free(y3);
    st_tensor_free(out);
    st_tensor_free(ref);
    st_tensor_free(wrong);
    st_tensor_free(float_labels);
    st_tensor_free(targets);
    st_tensor_free(big);
    st_tensor_free(one);
}

/* ---- st_trainer_default_loss: HF's default compute_loss, the rule training applies ---------------- */

static st_named_tensors *named(const char *name1, st_tensor *t1, const char *name2, st_tensor *t2) {
    st_named_tensors *list = NULL;
    if (st_named_tensors_create(&list) != ST_OK || st_named_tensors_add(list, name1, t1) != ST_OK ||
        (name2 != NULL && st_named_tensors_add(list, name2, t2) != ST_OK)) {
        st_named_tensors_free(list);
        return NULL;
    }
    return list;
}

static void test_default_loss(void) {
    enum { N = 4, C = 3 };
    static const int64_t labels[N] = {0, 2, 1, 2};
    const int64_t shape[2] = {N, C}, label_shape[1] = {N}, scalar_shape[1] = {1};
    const float own_loss = 7.5f;
    st_module *model = NULL;
    st_trainer *plain = NULL, *smoothing = NULL;
    st_training_args args;
    st_tensor *logits = NULL, *y = NULL, *given = NULL, *out = NULL, *ref = NULL;
    st_named_tensors *with_loss = NULL, *logits_only = NULL, *inputs = NULL, *no_labels = NULL;
    double a = 0, b = 0;
    REQUIRE(init_args(&args, 1) && (model = make_sequential(1, 8)), "fixtures");
    REQUIRE_OK(st_trainer_create(&plain, model, ST_LOSS_CROSS_ENTROPY, &args));
    args.label_smoothing_factor = 0.1;
    REQUIRE_OK(st_trainer_create(&smoothing, model, ST_LOSS_CROSS_ENTROPY, &args));
    REQUIRE_OK(st_tensor_normal(&logits, shape, 2, 0, 2, 9));
    REQUIRE_OK(st_tensor_create(&y, labels, label_shape, 1, ST_INT64, ST_DATA_COPY));
    REQUIRE_OK(st_tensor_create(&given, &own_loss, scalar_shape, 1, ST_FLOAT32, ST_DATA_COPY));
    REQUIRE((with_loss = named("logits", logits, "loss", given)) && (logits_only = named("logits", logits, NULL, NULL)) &&
            (inputs = named("input", logits, "labels", y)) && (no_labels = named("input", logits, NULL, NULL)),
            "named tensors");
    /* the model's loss (a [1] tensor becomes a scalar) */
    if (CHECK_OK(st_trainer_default_loss(&out, plain, with_loss, inputs)) && CHECK_OK(st_tensor_item(&a, out)))
        CHECK(a == own_loss, "the model's loss is the loss: %g", a);
    st_tensor_free(out);
    out = NULL;
    /* no loss: the built-in loss of the logits against the labels */
    if (CHECK_OK(st_trainer_default_loss(&out, plain, logits_only, inputs)) && CHECK_OK(st_tensor_item(&a, out)) &&
        CHECK_OK(st_trainer_builtin_loss(&ref, plain, logits, y)) && CHECK_OK(st_tensor_item(&b, ref)))
        CHECK(a == b, "without a loss output, the built-in loss: %.9g vs %.9g", a, b);
    st_tensor_free(out);
    st_tensor_free(ref);
    out = ref = NULL;
    /* label smoothing replaces the model's loss with the smoothed built-in loss (HF's label smoother) */
    if (CHECK_OK(st_trainer_default_loss(&out, smoothing, with_loss, inputs)) && CHECK_OK(st_tensor_item(&a, out)) &&
        CHECK_OK(st_trainer_builtin_loss(&ref, smoothing, logits, y)) && CHECK_OK(st_tensor_item(&b, ref)))
        CHECK(a == b && a != own_loss, "label_smoothing_factor: the smoothed built-in loss %.9g (%.9g)", a, b);
    st_tensor_free(out);
    st_tensor_free(ref);
    out = ref = NULL;
    /* nothing to fall back on: a message naming what the batch holds */
    CHECK_ERROR(st_trainer_default_loss(&out, plain, logits_only, no_labels), ST_EINVAL, "input float32 [4, 3]");
    CHECK(out == NULL, "a failed st_trainer_default_loss sets *out to NULL");
    CHECK_ERROR(st_trainer_default_loss(&out, plain, NULL, inputs), ST_EINVAL, "NULL");
    CHECK_ERROR(st_trainer_default_loss(&out, plain, logits_only, NULL), ST_EINVAL, "NULL");
    CHECK_ERROR(st_trainer_default_loss(&out, NULL, logits_only, inputs), ST_EINVAL, "NULL");
    CHECK_ERROR(st_trainer_default_loss(NULL, plain, logits_only, inputs), ST_EINVAL, "NULL");
done:
    st_named_tensors_free(with_loss);
    st_named_tensors_free(logits_only);
    st_named_tensors_free(inputs);
    st_named_tensors_free(no_labels);
    st_tensor_free(logits);
    st_tensor_free(y);
    st_tensor_free(given);
    st_tensor_free(out);
    st_tensor_free(ref);
    st_trainer_free(plain);
    st_trainer_free(smoothing);
    st_module_free(model);
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"custom_forward_equals_builtin", test_custom_forward_equals_builtin},
        {"nothing_to_predict", test_nothing_to_predict},
        {"forward_with_parameters", test_forward_with_parameters},
        {"model_returns_loss", test_model_returns_loss},
        {"compute_loss_fn", test_compute_loss_fn},
        {"indexed_provider_equals_in_memory", test_indexed_provider_equals_in_memory},
        {"stream_provider", test_stream_provider},
        {"token_inputs", test_token_inputs},
        {"errors", test_errors},
        {"resume_exact_with_provider", test_resume_exact_with_provider},
        {"forward_batch", test_forward_batch},
        {"builtin_losses", test_builtin_losses},
        {"label_names", test_label_names},
        {"free_user_data", test_free_user_data},
        {"stream_predictions", test_stream_predictions},
        {"adopt", test_adopt},
        {"outputs_in_compute_loss", test_outputs_in_compute_loss},
        {"predict_tensors_token_level", test_predict_tensors_token_level},
        {"builtin_loss", test_builtin_loss},
        {"default_loss", test_default_loss},
    };
    int status = run_test_cases(cases, COUNT(cases), argc, argv);
    digits_free(&train_rows);
    digits_free(&test_rows);
    free_tracked();
    return status;
}
