/* Data-parallel training through the C header, run by Tests/mpi/mpi_test.sh under mpirun and
 * alone:
 *
 *     data_parallel RESULTS OUTPUT_DIR BATCH STEPS [resume] [stop-at S] [fail-rank R] [hidden H]
 *                   [accumulate A] [micro M] [general] [bucket-cap MB] [hang-rank R] [timeout S]
 *
 * trains Linear(64,H)-ReLU-Linear(H,10) (H 32 by default) from st_manual_seed(0) on the
 * digits with AdamW and per-device batch BATCH for STEPS steps, checkpoints every 4 steps into
 * OUTPUT_DIR ("%r" in it: the MPI rank, so each process can have its own; "resume": continues
 * from its newest checkpoint; "stop-at S": stops after step S), and writes its final
 * weights as text into RESULTS/weights-<process_index>.txt with world_size and
 * process_index from the trainer's state, the last loss and the evaluation's loss and accuracy
 * on the held-out digits. "fail-rank R": process R's callback fails at step
 * 3. "accumulate A" / "micro M": gradient_accumulation_steps / max_micro_batch_size; "general":
 * a callback on AFTER_BACKWARD (the general path instead of the planned step). "bucket-cap MB":
 * ddp_bucket_cap_mb (below the model's 0.01 MB: each gradient summed during the backward pass).
 * "hang-rank R": process R's callback sleeps for 10 minutes at step 5 (a hung process);
 * "timeout S": ddp_timeout. Exit code 0 when training succeeded. DIGITS_DIR is a compile definition. */
#include "digits_data.h"
#include "swifttrain.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail_rank = -1, stop_at = -1, hang_rank = -1;

static int on_step_end(st_event event, const st_trainer_state *state, st_trainer_control *control,
                       void *user_data) {
    (void)event;
    (void)user_data;
    if (state->global_step == stop_at) control->should_training_stop = true;
    if (state->process_index == fail_rank && state->global_step == 3) {
        fprintf(stderr, "process %lld: failing on purpose at step 3\n", (long long)state->process_index);
        return 1;
    }
    if (state->process_index == hang_rank && state->global_step == 5) {
        fprintf(stderr, "process %lld: hanging on purpose at step 5\n", (long long)state->process_index);
        sleep(600);
    }
    return 0;
}

static int ok(st_status status, const char *what) {
    if (status == ST_OK) return 1;
    fprintf(stderr, "%s: %s\n", what, st_last_error_message());
    return 0;
}

int main(int argc, char **argv) {
    static digits_data train, test;
    st_module *layers[3] = {NULL, NULL, NULL}, *model = NULL;
    st_dataset *data = NULL, *eval = NULL;
    st_metrics *metrics = NULL;
    double eval_loss = NAN, eval_accuracy = NAN;
    st_training_args args;
    st_trainer *trainer = NULL;
    st_trainer_state state;
    st_named_tensors *weights = NULL;
    size_t count = 0, i;
    int hidden = 32, resume = 0, code = 1, a, accumulate = 1, micro = 0, general = 0;
    double bucket_cap = 0, timeout = -1;
    char path[4096], output_dir[4096];
    const char *rank = getenv("OMPI_COMM_WORLD_RANK"), *mark;
    FILE *out = NULL;
    if (argc < 5) {
        fprintf(stderr, "usage: data_parallel RESULTS OUTPUT_DIR BATCH STEPS [resume] [stop-at S] [fail-rank R] "
                        "[hidden H]\n");
        return 2;
    }
    for (a = 5; a < argc; a++) {
        if (strcmp(argv[a], "resume") == 0) resume = 1;
        else if (strcmp(argv[a], "fail-rank") == 0 && a + 1 < argc) fail_rank = atoi(argv[++a]);
        else if (strcmp(argv[a], "stop-at") == 0 && a + 1 < argc) stop_at = atoi(argv[++a]);
        else if (strcmp(argv[a], "accumulate") == 0 && a + 1 < argc) accumulate = atoi(argv[++a]);
        else if (strcmp(argv[a], "micro") == 0 && a + 1 < argc) micro = atoi(argv[++a]);
        else if (strcmp(argv[a], "general") == 0) general = 1;
        else if (strcmp(argv[a], "hidden") == 0 && a + 1 < argc) hidden = atoi(argv[++a]);
        else if (strcmp(argv[a], "bucket-cap") == 0 && a + 1 < argc) bucket_cap = atof(argv[++a]);
        else if (strcmp(argv[a], "hang-rank") == 0 && a + 1 < argc) hang_rank = atoi(argv[++a]);
        else if (strcmp(argv[a], "timeout") == 0 && a + 1 < argc) timeout = atof(argv[++a]);
        else {
            fprintf(stderr, "unknown option %s\n", argv[a]);
            return 2;
        }
    }
    mark = strstr(argv[2], "%r");
    if (mark)
        snprintf(output_dir, sizeof output_dir, "%.*s%s%s", (int)(mark - argv[2]), argv[2], rank ? rank : "0", mark + 2);
    else
        snprintf(output_dir, sizeof output_dir, "%s", argv[2]);
    if (digits_load(&train, DIGITS_DIR, "train.csv") != 0 || digits_load(&test, DIGITS_DIR, "test.csv") != 0)
        return 1;
    st_manual_seed(0);
    if (!ok(st_linear_create(&layers[0], DIGITS_NUM_FEATURES, hidden, true), "linear") ||
        !ok(st_relu_create(&layers[1]), "relu") ||
        !ok(st_linear_create(&layers[2], hidden, DIGITS_NUM_CLASSES, true), "linear") ||
        !ok(st_sequential_create(&model, layers, 3), "sequential") ||
        !ok(st_dataset_create(&data, train.features, train.num_samples, DIGITS_NUM_FEATURES, train.labels,
                              ST_DATA_BORROW), "dataset") ||
        !ok(st_dataset_create(&eval, test.features, test.num_samples, DIGITS_NUM_FEATURES, test.labels,
                              ST_DATA_BORROW), "eval dataset") ||
        !ok(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION), "args"))
        goto done;
    args.per_device_train_batch_size = atoi(argv[3]);
    args.max_steps = atoi(argv[4]);
    args.learning_rate = 3e-3;
    args.gradient_accumulation_steps = accumulate;
    args.max_micro_batch_size = micro;
    args.logging_steps = 1;
    args.save_steps = 4;
    args.ddp_bucket_cap_mb = bucket_cap;
    if (timeout >= 0) args.ddp_timeout = timeout;
    if (!ok(st_training_args_set(&args, "optim", "adamw_torch"), "optim") ||
        !ok(st_training_args_set(&args, "save_strategy", "steps"), "save_strategy") ||
        !ok(st_training_args_set(&args, "output_dir", output_dir), "output_dir") ||
        !ok(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args), "trainer") ||
        !ok(st_trainer_set_train_dataset(trainer, data), "train dataset") ||
        !ok(st_trainer_add_callback(trainer, on_step_end, NULL, ST_EVENT_MASK(ST_EVENT_STEP_END)), "callback") ||
        (general && !ok(st_trainer_add_callback(trainer, on_step_end, NULL, ST_EVENT_MASK(ST_EVENT_AFTER_BACKWARD)),
                        "after_backward callback")))
        goto done;
    if (!ok(resume ? st_trainer_resume(NULL, trainer, NULL) : st_trainer_train(NULL, trainer), "train"))
        goto done;
    /* evaluated by every process, each on its share of the set, the sums added up */
    if (!ok(st_trainer_evaluate(&metrics, trainer, eval), "evaluate") ||
        !ok(st_metrics_get(&eval_loss, metrics, "eval_loss"), "eval_loss") ||
        !ok(st_metrics_get(&eval_accuracy, metrics, "eval_accuracy"), "eval_accuracy"))
        goto done;
    memset(&state, 0, sizeof state);
    state.struct_size = sizeof state;
    if (!ok(st_trainer_get_state(&state, trainer), "state")) goto done;
    snprintf(path, sizeof path, "%s/weights-%lld.txt", argv[1], (long long)state.process_index);
    if (!(out = fopen(path, "w"))) {
        perror(path);
        goto done;
    }
    fprintf(out, "world_size %lld process_index %lld global_step %lld loss %.9g eval_loss %.9g eval_accuracy %.9g\n",
            (long long)state.world_size, (long long)state.process_index, (long long)state.global_step, state.loss,
            eval_loss, eval_accuracy);
    if (!ok(st_module_state_dict(&weights, model), "state dict")) goto done;
    count = st_named_tensors_count(weights);
    for (i = 0; i < count; i++) {
        const char *name = NULL;
        st_tensor *t = NULL;
        void *values = NULL;
        int64_t n = 0, j;
        if (!ok(st_named_tensors_entry(&name, &t, weights, i), "entry") || !ok(st_tensor_numel(&n, t), "numel") ||
            !ok(st_tensor_data(&values, t), "data")) {
            st_tensor_free(t);
            goto done;
        }
        for (j = 0; j < n; j++) fprintf(out, "%.9g\n", (double)((const float *)values)[j]);
        st_tensor_free(t);
    }
    code = 0;
done:
    if (out) fclose(out);
    st_metrics_free(metrics);
    st_dataset_free(eval);
    st_named_tensors_free(weights);
    st_trainer_free(trainer);
    st_dataset_free(data);
    st_module_free(model);
    for (i = 0; i < 3; i++) st_module_free(layers[i]);
    digits_free(&train);
    digits_free(&test);
    return code;
}
