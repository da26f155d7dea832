/* Links the installed libswifttrain through find_package(swifttrain) and trains a tiny
 * classifier for a few steps on a synthetic two-class problem: a model of its own (a C
 * forward around a Linear child) fed by a data provider. Exits 0 when every call succeeded. */
#include <swifttrain.h>

#include <stdio.h>

#define ROWS 16
#define STEPS 4

static float x[ROWS * 2];
static int64_t y[ROWS];

/* The forward of the custom model: its Linear child on the batch's "input". */
static int forward(st_outputs *outputs, const st_batch *batch, bool training, void *user_data) {
    st_tensor *input = NULL, *logits = NULL;
    int rc;
    (void)training;
    rc = st_batch_get(&input, batch, "input") || st_module_forward(&logits, (st_module *)user_data, input) ||
         st_outputs_set(outputs, "logits", logits);
    st_tensor_free(input);
    st_tensor_free(logits);
    return rc;
}

/* The data provider: the rows at `indices`, as "input" and "labels". */
static int fetch(st_batch *batch, const int64_t *indices, size_t count, void *user_data) {
    float rows[ROWS * 2];
    int64_t labels[ROWS];
    const int64_t input_shape[2] = {(int64_t)count, 2}, label_shape[1] = {(int64_t)count};
    size_t i;
    (void)user_data;
    for (i = 0; i < count; i++) {
        rows[2 * i] = x[2 * indices[i]];
        rows[2 * i + 1] = x[2 * indices[i] + 1];
        labels[i] = y[indices[i]];
    }
    return st_batch_add(batch, "input", rows, input_shape, 2, ST_FLOAT32) ||
           st_batch_add(batch, "labels", labels, label_shape, 1, ST_INT64);
}

static int failed(int status, const char *what) {
    if (status == ST_OK) return 0;
    fprintf(stderr, "%s: %s: %s\n", what, st_status_string(status), st_last_error_message());
    return 1;
}

int main(void) {
    st_module *linear = NULL, *model = NULL;
    st_dataset *data = NULL;
    st_training_args args;
    st_trainer *trainer = NULL;
    st_trainer_state state = {0};
    state.struct_size = sizeof state;
    int i, status = 1;

    printf("swifttrain %s (st_version_number() = %d, compiled against %d), OpenBLAS %s\n",
           st_version_string(), st_version_number(), SWIFTTRAIN_VERSION_NUMBER,
           st_blas_corename());
    if (st_version_number() != SWIFTTRAIN_VERSION_NUMBER) {
        fprintf(stderr, "the loaded library is not the version of the installed header\n");
        return 1;
    }

    /* Class 1 when the first feature is larger than the second. */
    for (i = 0; i < ROWS; i++) {
        x[2 * i] = (float)(i % 4) / 4.0f;
        x[2 * i + 1] = (float)(i / 4) / 4.0f;
        y[i] = x[2 * i] > x[2 * i + 1];
    }

    st_manual_seed(1);
    if (failed(st_linear_create(&linear, 2, 2, true), "st_linear_create") ||
        failed(st_module_create_custom(&model, "Classifier", forward, linear, NULL), "st_module_create_custom") ||
        failed(st_module_add_child(model, "fc", linear), "st_module_add_child") ||
        failed(st_dataset_create_indexed(&data, ROWS, fetch, NULL, NULL), "st_dataset_create_indexed") ||
        failed(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION), "st_training_args_init") ||
        failed(st_training_args_set(&args, "learning_rate", "0.1"), "st_training_args_set"))
        goto done;
    args.max_steps = STEPS;
    args.per_device_train_batch_size = 4;
    if (failed(st_training_args_validate(&args), "st_training_args_validate") ||
        failed(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args),
               "st_trainer_create") ||
        failed(st_trainer_set_train_dataset(trainer, data), "st_trainer_set_train_dataset") ||
        failed(st_trainer_train(NULL, trainer), "st_trainer_train") ||
        failed(st_trainer_get_state(&state, trainer), "st_trainer_get_state"))
        goto done;
    printf("trained %lld steps, last loss %.4f\n", (long long)state.global_step, state.loss);
    if (state.global_step != STEPS) {
        fprintf(stderr, "global_step is %lld, expected %d\n", (long long)state.global_step,
                STEPS);
        goto done;
    }
    status = 0;

done:
    st_trainer_free(trainer);
    st_dataset_free(data);
    st_module_free(model);
    st_module_free(linear);
    return status;
}
