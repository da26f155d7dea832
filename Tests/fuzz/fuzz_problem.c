#include "fuzz_problem.h"

#include "check.h"

#include <stdio.h>

const char *const checkpoint_files[CHECKPOINT_FILE_COUNT] = {
    "model.safetensors", "optimizer.safetensors", "optimizer.json", "scheduler.json",
    "rng_state.json", "progress.json", "trainer_state.json", "training_args.json",
    "callback_states.safetensors", "manifest.json"};

/* The stateful callback: saves 4 bytes, accepts whatever comes back. */
static unsigned char callback_bytes[4] = {1, 2, 3, 4};

static int save_state(void *user_data, const void **data, size_t *size) {
    (void)user_data;
    *data = callback_bytes;
    *size = sizeof callback_bytes;
    return 0;
}

static int load_state(void *user_data, const void *data, size_t size) {
    (void)user_data;
    (void)data;
    (void)size;
    return 0;
}

st_trainer *fuzz_problem_trainer(const char *output_dir, int save_steps, int max_steps) {
    st_module *model = NULL;
    st_dataset *data = NULL;
    st_trainer *trainer = NULL;
    st_training_args args;
    char steps[32], save[32];
    snprintf(steps, sizeof steps, "%d", max_steps);
    snprintf(save, sizeof save, "%d", save_steps);
    st_manual_seed(7);
    if (st_linear_create(&model, SMALL_FEATURES, SMALL_CLASSES, true) != ST_OK ||
        st_dataset_create(&data, small_features, SMALL_ROWS, SMALL_FEATURES, small_labels,
                          ST_DATA_COPY) != ST_OK ||
        st_training_args_init(&args, ST_TRAINING_ARGS_VERSION) != ST_OK ||
        st_training_args_set(&args, "per_device_train_batch_size", "2") != ST_OK ||
        st_training_args_set(&args, "max_steps", steps) != ST_OK ||
        st_training_args_set(&args, "learning_rate", "0.1") != ST_OK ||
        st_training_args_set(&args, "logging_steps", "1") != ST_OK ||
        st_training_args_set(&args, "output_dir", output_dir) != ST_OK ||
        st_training_args_set(&args, "save_strategy", save_steps ? "steps" : "no") != ST_OK ||
        (save_steps && st_training_args_set(&args, "save_steps", save) != ST_OK) ||
        st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args) != ST_OK ||
        st_trainer_set_train_dataset(trainer, data) != ST_OK ||
        st_trainer_add_callback_state(trainer, "bytes", save_state, load_state, NULL) != ST_OK) {
        fprintf(stderr, "fuzz: the tiny run cannot be made: %s\n", st_last_error_message());
        st_trainer_free(trainer);
        trainer = NULL;
    }
    st_dataset_free(data);
    st_module_free(model);
    return trainer;
}
