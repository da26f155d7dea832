/* Trains a small convolutional network on handwritten digits with the swifttrain C API and
 * prints its accuracy on held-out images: the convolutional counterpart of train_digits.c.
 *
 *     cnn_digits [data_dir]        (data_dir defaults to data/digits)
 *
 * Each row of train.csv and test.csv holds the 64 pixels of an 8x8 image (0..16) and the digit.
 * The datasets read each row as a [1, 8, 8] image (st_dataset_set_sample_shape), so batches are
 * [batch, 1, 8, 8], and the model is
 *
 *     Conv2d(1, 32, 3, padding 1) - ReLU - MaxPool2d(2)      -> [batch, 32, 4, 4]
 *     Conv2d(32, 64, 3, padding 1) - ReLU - MaxPool2d(2)     -> [batch, 64, 2, 2]
 *     Flatten - Linear(256, 10)                              -> [batch, 10]
 *
 * trained with AdamW (lr 5e-3, batch 32) for 20 epochs; held-out accuracy is about 98%.
 * The program exits with status 1 if a call fails or the accuracy is below 95%. */
#include "digits_example.h"

#include <stdio.h>
#include <stdlib.h>

#define IMAGE_SIZE 8
#define EPOCHS 20
#define MIN_ACCURACY 0.95

/* Prints the evaluation metrics after every 5th epoch. */
static int print_evaluation(st_event event, const st_trainer_state *state,
                            st_trainer_control *control, void *user_data) {
    double loss, accuracy;
    (void)event;
    (void)control;
    (void)user_data;
    if ((int64_t)(state->epoch + 0.5) % 5 == 0 &&
        st_metrics_get(&loss, state->metrics, "eval_loss") == ST_OK &&
        st_metrics_get(&accuracy, state->metrics, "eval_accuracy") == ST_OK)
        printf("epoch %2.0f  step %4lld  eval_loss %.4f  eval_accuracy %.4f\n", state->epoch,
               (long long)state->global_step, loss, accuracy);
    return 0;
}

#define NUM_LAYERS 8

/* The network above; the sequential keeps its own references to the layers. */
static int make_model(st_module **model) {
    st_module *layers[NUM_LAYERS] = {NULL};
    st_conv2d_options conv;
    st_pool2d_options pool;
    int i, status = 1;

    st_conv2d_options_init(&conv);
    conv.padding[0] = conv.padding[1] = 1;
    st_pool2d_options_init(&pool, 2, 2);
    if (!failed(st_conv2d_create(&layers[0], 1, 32, 3, 3, &conv, true), "st_conv2d_create") &&
        !failed(st_relu_create(&layers[1]), "st_relu_create") &&
        !failed(st_max_pool2d_create(&layers[2], &pool), "st_max_pool2d_create") &&
        !failed(st_conv2d_create(&layers[3], 32, 64, 3, 3, &conv, true), "st_conv2d_create") &&
        !failed(st_relu_create(&layers[4]), "st_relu_create") &&
        !failed(st_max_pool2d_create(&layers[5], &pool), "st_max_pool2d_create") &&
        !failed(st_flatten_create(&layers[6], 1, -1), "st_flatten_create") &&
        !failed(st_linear_create(&layers[7], 64 * 2 * 2, NUM_CLASSES, true), "st_linear_create") &&
        !failed(st_sequential_create(model, layers, NUM_LAYERS), "st_sequential_create"))
        status = 0;
    for (i = 0; i < NUM_LAYERS; i++) st_module_free(layers[i]);
    return status;
}

int main(int argc, char **argv) {
    const char *data_dir = argc > 1 ? argv[1] : "data/digits";
    const int64_t image_shape[3] = {1, IMAGE_SIZE, IMAGE_SIZE};
    static digits train, test;
    static float logits[MAX_ROWS * NUM_CLASSES];
    st_module *model = NULL;
    st_dataset *train_set = NULL, *test_set = NULL;
    st_training_args args;
    st_trainer *trainer = NULL;
    st_metrics *metrics = NULL;
    int64_t row, correct = 0, num_parameters = 0;
    double accuracy, runtime = 0;
    int exit_code = 1;

    if (load_digits(&train, data_dir, "train.csv") || load_digits(&test, data_dir, "test.csv"))
        return 1;
    printf("swifttrain %s, OpenBLAS core %s; %lld training and %lld test images\n",
           st_version_string(), st_blas_corename(), (long long)train.count,
           (long long)test.count);

    st_manual_seed(0);
    if (make_model(&model) ||
        failed(st_module_num_parameters(&num_parameters, model), "st_module_num_parameters"))
        goto done;
    printf("model: %lld parameters\n", (long long)num_parameters);

    /* The data, read in place (the arrays outlive the datasets and the trainer), each row
     * seen as a one-channel 8x8 image. */
    if (failed(st_dataset_create(&train_set, train.features, train.count, NUM_FEATURES,
                                 train.labels, ST_DATA_BORROW), "st_dataset_create") ||
        failed(st_dataset_create(&test_set, test.features, test.count, NUM_FEATURES,
                                 test.labels, ST_DATA_BORROW), "st_dataset_create") ||
        failed(st_dataset_set_sample_shape(train_set, image_shape, 3),
               "st_dataset_set_sample_shape") ||
        failed(st_dataset_set_sample_shape(test_set, image_shape, 3),
               "st_dataset_set_sample_shape"))
        goto done;

    if (failed(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION), "st_training_args_init") ||
        failed(st_training_args_set(&args, "optim", "adamw_torch"), "st_training_args_set") ||
        failed(st_training_args_set(&args, "eval_strategy", "epoch"), "st_training_args_set") ||
        failed(st_training_args_set(&args, "logging_strategy", "epoch"), "st_training_args_set"))
        goto done;
    args.learning_rate = 5e-3;
    args.num_train_epochs = EPOCHS;
    args.per_device_train_batch_size = 32;
    args.per_device_eval_batch_size = 128;

    if (failed(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args),
               "st_trainer_create") ||
        failed(st_trainer_set_train_dataset(trainer, train_set), "st_trainer_set_train_dataset") ||
        failed(st_trainer_set_eval_dataset(trainer, test_set), "st_trainer_set_eval_dataset") ||
        failed(st_trainer_add_callback(trainer, print_evaluation, NULL,
                                       ST_EVENT_MASK(ST_EVENT_EVALUATE)),
               "st_trainer_add_callback") ||
        failed(st_trainer_train(&metrics, trainer), "st_trainer_train"))
        goto done;
    st_metrics_get(&runtime, metrics, "train_runtime");
    printf("trained %d epochs in %.2f s\n", EPOCHS, runtime);

    /* Logits for every test image, row-major [count, 10]; the prediction is the argmax. */
    if (failed(st_trainer_predict(logits, (size_t)(test.count * NUM_CLASSES), NULL, trainer,
                                  test_set), "st_trainer_predict"))
        goto done;
    for (row = 0; row < test.count; row++) {
        const float *scores = logits + row * NUM_CLASSES;
        int64_t best = 0, k;
        for (k = 1; k < NUM_CLASSES; k++)
            if (scores[k] > scores[best]) best = k;
        correct += best == test.labels[row];
    }
    accuracy = (double)correct / (double)test.count;
    printf("held-out accuracy: %.4f (%lld of %lld test images)\n", accuracy, (long long)correct,
           (long long)test.count);
    if (accuracy < MIN_ACCURACY)
        fprintf(stderr, "accuracy %.4f is below %.2f\n", accuracy, MIN_ACCURACY);
    else
        exit_code = 0;

done:
    st_metrics_free(metrics);
    st_trainer_free(trainer);
    st_dataset_free(test_set);
    st_dataset_free(train_set);
    st_module_free(model);
    return exit_code;
}
