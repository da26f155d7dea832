/* Trains a small classifier on handwritten digits with the swifttrain C API and prints its
 * accuracy on held-out images: the C counterpart of examples/train_digits.py.
 *
 *     train_digits [--resume] [data_dir]        (data_dir defaults to data/digits)
 *
 * Each row of train.csv and test.csv holds the 64 pixels of an 8x8 image (0..16) and the digit.
 * The model is Linear(64, 64) - ReLU - Linear(64, 10) trained with AdamW (lr 1e-3, batch 32)
 * for 100 epochs; a callback prints the evaluation metrics every 10 epochs, and the final
 * accuracy is computed from the logits st_trainer_predict() writes into our own buffer.
 * A checkpoint is written every 10 epochs into runs/digits-c/checkpoint-<step>/ (the two
 * newest are kept); with --resume the run continues from the newest one, exactly as if it
 * had never stopped. */
#include "digits_example.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPOCHS 100

/* Called by the trainer after every evaluation (once per epoch): print every 10th. */
static int print_evaluation(st_event event, const st_trainer_state *state,
                            st_trainer_control *control, void *user_data) {
    double loss, accuracy;
    (void)event;
    (void)control;
    (void)user_data;
    if ((int64_t)state->epoch % 10 == 0 &&
        st_metrics_get(&loss, state->metrics, "eval_loss") == ST_OK &&
        st_metrics_get(&accuracy, state->metrics, "eval_accuracy") == ST_OK)
        printf("epoch %3.0f  step %4lld  eval_loss %.4f  eval_accuracy %.4f\n", state->epoch,
               (long long)state->global_step, loss, accuracy);
    return 0;
}

int main(int argc, char **argv) {
    const int resume = argc > 1 && strcmp(argv[1], "--resume") == 0;
    const char *data_dir = argc > 1 + resume ? argv[1 + resume] : "data/digits";
    static digits train, test;
    st_module *layers[3] = {NULL, NULL, NULL}, *model = NULL;
    st_dataset *train_set = NULL, *test_set = NULL;
    st_training_args args;
    st_trainer *trainer = NULL;
    static float logits[MAX_ROWS * NUM_CLASSES];
    int64_t row, correct = 0;
    int i, exit_code = 1;

    if (load_digits(&train, data_dir, "train.csv") || load_digits(&test, data_dir, "test.csv"))
        return 1;
    printf("swifttrain %s, OpenBLAS core %s; %lld training and %lld test images\n",
           st_version_string(), st_blas_corename(), (long long)train.count,
           (long long)test.count);

    /* The model. The sequential keeps its own references to the layers. */
    st_manual_seed(0);
    if (failed(st_linear_create(&layers[0], NUM_FEATURES, 64, true), "st_linear_create") ||
        failed(st_relu_create(&layers[1]), "st_relu_create") ||
        failed(st_linear_create(&layers[2], 64, NUM_CLASSES, true), "st_linear_create") ||
        failed(st_sequential_create(&model, layers, 3), "st_sequential_create"))
        goto done;

    /* The data, read in place (the arrays outlive the datasets and the trainer). */
    if (failed(st_dataset_create(&train_set, train.features, train.count, NUM_FEATURES,
                                 train.labels, ST_DATA_BORROW), "st_dataset_create") ||
        failed(st_dataset_create(&test_set, test.features, test.count, NUM_FEATURES,
                                 test.labels, ST_DATA_BORROW), "st_dataset_create"))
        goto done;

    /* HuggingFace TrainingArguments names, set by name or directly. */
    if (failed(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION), "st_training_args_init") ||
        failed(st_training_args_set(&args, "optim", "adamw_torch"), "st_training_args_set") ||
        failed(st_training_args_set(&args, "eval_strategy", "epoch"), "st_training_args_set") ||
        failed(st_training_args_set(&args, "logging_strategy", "epoch"), "st_training_args_set") ||
        failed(st_training_args_set(&args, "output_dir", "runs/digits-c"), "st_training_args_set") ||
        failed(st_training_args_set(&args, "save_steps", "450"), "st_training_args_set") ||
        failed(st_training_args_set(&args, "save_total_limit", "2"), "st_training_args_set"))
        goto done;
    args.learning_rate = 1e-3;
    args.num_train_epochs = EPOCHS;
    args.per_device_train_batch_size = 32;

    if (failed(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args),
               "st_trainer_create") ||
        failed(st_trainer_set_train_dataset(trainer, train_set), "st_trainer_set_train_dataset") ||
        failed(st_trainer_set_eval_dataset(trainer, test_set), "st_trainer_set_eval_dataset") ||
        failed(st_trainer_add_callback(trainer, print_evaluation, NULL,
                                       ST_EVENT_MASK(ST_EVENT_EVALUATE)),
               "st_trainer_add_callback") ||
        failed(resume ? st_trainer_resume(NULL, trainer, NULL) : st_trainer_train(NULL, trainer),
               resume ? "st_trainer_resume" : "st_trainer_train"))
        goto done;
    if (resume) {
        char from[1024];
        size_t length = 0;
        if (st_trainer_resumed_from(from, sizeof from, &length, trainer) == ST_OK)
            printf("resumed from %s\n", from);
    }

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
    printf("held-out accuracy: %.2f%% (%lld of %lld test images)\n",
           100.0 * (double)correct / (double)test.count, (long long)correct,
           (long long)test.count);
    exit_code = 0;

done:
    st_trainer_free(trainer);
    st_dataset_free(test_set);
    st_dataset_free(train_set);
    st_module_free(model);
    for (i = 0; i < 3; i++) st_module_free(layers[i]);
    return exit_code;
}
