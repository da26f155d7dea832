/* Trains a model of your own on the handwritten digits: its forward is a C function, its layers
 * are library modules it declares as children, and its data comes from a provider that copies
 * the rows the trainer asks for (a PyTorch nn.Module with its own forward and a map-style
 * Dataset, in C).
 *
 *     custom_model [data_dir]        (data_dir defaults to data/digits)
 *
 * The model is a residual MLP: h = relu(fc1(x)); h = h + relu(fc2(h)); logits = head(h).
 * Autograd stays in the library: the forward only combines st_* operations. The program prints
 * the held-out accuracy and exits with status 1 when it is not above 90%. */
#include "digits_example.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIDDEN 64
#define EPOCHS 30

/* The forward's user_data: the handles of the layers the model declared. The module calls
 * free_residual_mlp when it is freed (after the trainer is freed too). */
typedef struct residual_mlp {
    st_module *fc1, *fc2, *head;
} residual_mlp;

static void free_residual_mlp(void *user_data) {
    residual_mlp *net = user_data;
    st_module_free(net->fc1);
    st_module_free(net->fc2);
    st_module_free(net->head);
    free(net);
}

/* Called once per batch with its named tensors ("input" [batch, 64], "labels" [batch]); sets
 * "logits". The trainer applies the loss (it would use a "loss" output instead, if we set one).
 * A non-zero return stops training with ST_EUSER and the message of the call that failed. */
static int forward(st_outputs *outputs, const st_batch *batch, bool training, void *user_data) {
    const residual_mlp *net = user_data;
    st_tensor *x = NULL, *a = NULL, *h = NULL, *b = NULL, *c = NULL, *sum = NULL, *logits = NULL;
    int rc = 1;
    (void)training; /* no dropout here; the children follow the module's training mode anyway */
    if (st_batch_get(&x, batch, "input") == ST_OK && st_module_forward(&a, net->fc1, x) == ST_OK &&
        st_relu(&h, a) == ST_OK && st_module_forward(&b, net->fc2, h) == ST_OK &&
        st_relu(&c, b) == ST_OK && st_add(&sum, h, c) == ST_OK &&
        st_module_forward(&logits, net->head, sum) == ST_OK &&
        st_outputs_set(outputs, "logits", logits) == ST_OK) /* the outputs keep their own reference */
        rc = 0;
    st_tensor_free(x);
    st_tensor_free(a);
    st_tensor_free(h);
    st_tensor_free(b);
    st_tensor_free(c);
    st_tensor_free(sum);
    st_tensor_free(logits);
    return rc;
}

/* The model: three Linear layers declared as children "fc1", "fc2" and "head", so its state
 * dict names are torch's ("fc1.weight", ...). */
static st_module *create_model(void) {
    st_module *model = NULL;
    residual_mlp *net = calloc(1, sizeof *net);
    if (!net) return NULL;
    if (failed(st_linear_create(&net->fc1, NUM_FEATURES, HIDDEN, true), "st_linear_create") ||
        failed(st_linear_create(&net->fc2, HIDDEN, HIDDEN, true), "st_linear_create") ||
        failed(st_linear_create(&net->head, HIDDEN, NUM_CLASSES, true), "st_linear_create") ||
        failed(st_module_create_custom(&model, "ResidualMLP", forward, net, free_residual_mlp),
               "st_module_create_custom")) {
        free_residual_mlp(net); /* not handed over: there is no module to free it */
        return NULL;
    }
    if (failed(st_module_add_child(model, "fc1", net->fc1), "st_module_add_child") ||
        failed(st_module_add_child(model, "fc2", net->fc2), "st_module_add_child") ||
        failed(st_module_add_child(model, "head", net->head), "st_module_add_child")) {
        st_module_free(model);
        return NULL;
    }
    return model;
}

/* The data provider: the rows `indices` of one split (the trainer's sampler picks them, shuffled
 * every epoch), copied into the batch as "input" and "labels". */
static int fetch_rows(st_batch *batch, const int64_t *indices, size_t count, void *user_data) {
    const digits *split = user_data;
    float *x = malloc(count * NUM_FEATURES * sizeof(float));
    int64_t *y = malloc(count * sizeof(int64_t));
    const int64_t x_shape[2] = {(int64_t)count, NUM_FEATURES}, y_shape[1] = {(int64_t)count};
    size_t i;
    int rc = 1;
    if (x && y) {
        for (i = 0; i < count; i++) {
            memcpy(x + i * NUM_FEATURES, split->features + indices[i] * NUM_FEATURES,
                   NUM_FEATURES * sizeof(float));
            y[i] = split->labels[indices[i]];
        }
        rc = st_batch_add(batch, "input", x, x_shape, 2, ST_FLOAT32) != ST_OK ||
             st_batch_add(batch, "labels", y, y_shape, 1, ST_INT64) != ST_OK; /* (copied) */
    }
    free(x);
    free(y);
    return rc;
}

int main(int argc, char **argv) {
    const char *data_dir = argc > 1 ? argv[1] : "data/digits";
    static digits train, test;
    st_module *model = NULL;
    st_dataset *train_set = NULL, *test_set = NULL;
    st_training_args args;
    st_trainer *trainer = NULL;
    st_metrics *metrics = NULL;
    int64_t num_parameters = 0;
    double accuracy = 0, loss = 0;
    int exit_code = 1;

    if (load_digits(&train, data_dir, "train.csv") || load_digits(&test, data_dir, "test.csv"))
        return 1;
    st_manual_seed(0);
    if (!(model = create_model()) ||
        failed(st_module_num_parameters(&num_parameters, model), "st_module_num_parameters"))
        goto done;
    printf("ResidualMLP: %lld parameters; %lld training and %lld test images\n",
           (long long)num_parameters, (long long)train.count, (long long)test.count);

    /* Map-style providers: the arrays they read outlive the datasets and the trainer. */
    if (failed(st_dataset_create_indexed(&train_set, train.count, fetch_rows, &train, NULL),
               "st_dataset_create_indexed") ||
        failed(st_dataset_create_indexed(&test_set, test.count, fetch_rows, &test, NULL),
               "st_dataset_create_indexed"))
        goto done;

    if (failed(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION), "st_training_args_init"))
        goto done;
    args.learning_rate = 1e-3;
    args.num_train_epochs = EPOCHS;
    args.per_device_train_batch_size = 32;
    args.per_device_eval_batch_size = 128;
    args.logging_strategy = ST_STRATEGY_NO;
    args.save_strategy = ST_SAVE_NO;

    if (failed(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args), "st_trainer_create") ||
        failed(st_trainer_set_train_dataset(trainer, train_set), "st_trainer_set_train_dataset") ||
        failed(st_trainer_train(NULL, trainer), "st_trainer_train") ||
        failed(st_trainer_evaluate(&metrics, trainer, test_set), "st_trainer_evaluate") ||
        failed(st_metrics_get(&accuracy, metrics, "eval_accuracy"), "st_metrics_get") ||
        failed(st_metrics_get(&loss, metrics, "eval_loss"), "st_metrics_get"))
        goto done;
    printf("after %d epochs: eval_loss %.4f, held-out accuracy %.2f%%\n", EPOCHS, loss,
           100.0 * accuracy);
    exit_code = accuracy > 0.9 ? 0 : 1;
    if (exit_code) fprintf(stderr, "accuracy %.4f is not above 0.9\n", accuracy);

done:
    st_metrics_free(metrics);
    st_trainer_free(trainer);
    st_dataset_free(test_set);
    st_dataset_free(train_set);
    st_module_free(model); /* the last reference: free_residual_mlp runs now */
    return exit_code;
}
