/* Checkpoints through the C header: a run interrupted by a callback and resumed in a new
 * trainer equals the uninterrupted run bit for bit; callback state saved as bytes comes back;
 * save_model / load_safetensors; the safetensors reader and writer; damaged checkpoints are
 * refused or passed over; a failing disk leaves the earlier checkpoints whole; and a training
 * process killed with SIGKILL in the middle of its saves, again and again, always resumes
 * from a complete checkpoint and ends with the weights of the run that was never killed.
 *
 * DIGITS_DIR (a compile definition) is the directory holding train.csv and test.csv. The
 * kill test runs this program again as a worker: `checkpoints --worker <output_dir>`. */
#define _XOPEN_SOURCE 700 /* mkdtemp, nanosleep, kill, fork, exec, setrlimit */
#include "check.h"
#include "digits_data.h"
#include "swifttrain.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *program_path;
static digits_data train_rows;

static int load_digits(void) {
    if (train_rows.num_samples) return 1;
    return CHECK(digits_load(&train_rows, DIGITS_DIR, "train.csv") == 0, "the digits load from %s",
                 DIGITS_DIR);
}

/* Linear(64,32)-ReLU-Dropout(0.2)-Linear(32,10) from `seed`: dropout makes the random
 * generator part of what a resume must restore. */
static st_module *make_model(uint64_t seed) {
    st_module *layers[4] = {NULL, NULL, NULL, NULL};
    st_module *model = NULL;
    int i;
    st_manual_seed(seed);
    if (CHECK_OK(st_linear_create(&layers[0], DIGITS_NUM_FEATURES, 32, true)) &&
        CHECK_OK(st_relu_create(&layers[1])) && CHECK_OK(st_dropout_create(&layers[2], 0.2f)) &&
        CHECK_OK(st_linear_create(&layers[3], 32, DIGITS_NUM_CLASSES, true)))
        CHECK_OK(st_sequential_create(&model, layers, 4));
    for (i = 0; i < 4; i++) st_module_free(layers[i]);
    return model;
}

/* 300 rows in batches of 16 with accumulation 2: 10 updates per epoch, 3 epochs. */
static int init_args(st_training_args *args, const char *output_dir) {
    return CHECK_OK(st_training_args_init(args, ST_TRAINING_ARGS_VERSION)) &&
           CHECK_OK(st_training_args_set(args, "output_dir", output_dir)) &&
           CHECK_OK(st_training_args_set(args, "learning_rate", "3e-3")) &&
           CHECK_OK(st_training_args_set(args, "per_device_train_batch_size", "16")) &&
           CHECK_OK(st_training_args_set(args, "gradient_accumulation_steps", "2")) &&
           CHECK_OK(st_training_args_set(args, "num_train_epochs", "3")) &&
           CHECK_OK(st_training_args_set(args, "logging_steps", "1")) &&
           CHECK_OK(st_training_args_set(args, "save_steps", "4"));
}

/* Trains on the first `rows` rows; evaluates on the 100 after them. */
static st_trainer *make_trainer(const st_training_args *args, uint64_t seed, int64_t rows) {
    st_module *model = make_model(seed);
    st_dataset *data = NULL, *eval = NULL;
    st_trainer *trainer = NULL;
    if (model &&
        CHECK_OK(st_dataset_create(&data, train_rows.features, rows, DIGITS_NUM_FEATURES,
                                   train_rows.labels, ST_DATA_BORROW)) &&
        CHECK_OK(st_dataset_create(&eval, train_rows.features + rows * DIGITS_NUM_FEATURES, 100,
                                   DIGITS_NUM_FEATURES, train_rows.labels + rows, ST_DATA_BORROW)) &&
        CHECK_OK(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, args)) &&
        CHECK_OK(st_trainer_set_train_dataset(trainer, data)))
        CHECK_OK(st_trainer_set_eval_dataset(trainer, eval));
    st_dataset_free(data);
    st_dataset_free(eval);
    st_module_free(model);
    return trainer;
}

/* The bytes of a file, or NULL; *size receives its length. */
static unsigned char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    unsigned char *bytes = NULL;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        bytes = malloc((size_t)n + 1);
        if (bytes && fread(bytes, 1, (size_t)n, f) != (size_t)n) {
            free(bytes);
            bytes = NULL;
        }
        *size = (size_t)n;
    }
    fclose(f);
    return bytes;
}

static int write_file(const char *path, const unsigned char *bytes, size_t size) {
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(bytes, 1, size, f) == size;
    if (f) ok = (fclose(f) == 0) && ok;
    return ok;
}

/* Whether two trainers' models have bitwise equal state dicts. */
static int same_weights(st_trainer *a_trainer, st_trainer *b_trainer, const char *a_dir, const char *b_dir) {
    char a_path[512], b_path[512];
    size_t a_size = 0, b_size = 0;
    unsigned char *a, *b;
    int same;
    if (!CHECK_OK(st_trainer_save_model(a_trainer, a_dir)) || !CHECK_OK(st_trainer_save_model(b_trainer, b_dir)))
        return 0;
    snprintf(a_path, sizeof a_path, "%s/model.safetensors", a_dir);
    snprintf(b_path, sizeof b_path, "%s/model.safetensors", b_dir);
    a = read_file(a_path, &a_size);
    b = read_file(b_path, &b_size);
    same = a && b && a_size == b_size && memcmp(a, b, a_size) == 0;
    free(a);
    free(b);
    return same;
}

/* The logged training losses, as doubles, compared bit for bit. */
static int same_losses(st_trainer *a, st_trainer *b) {
    size_t n = 0, m = 0, i;
    int same = 1;
    if (!CHECK_OK(st_trainer_log_history_count(&n, a)) || !CHECK_OK(st_trainer_log_history_count(&m, b)) || n != m)
        return 0;
    for (i = 0; i < n && same; i++) {
        st_metrics *x = NULL, *y = NULL;
        double u = 0, v = 0;
        if (CHECK_OK(st_trainer_log_history_entry(&x, a, i)) && CHECK_OK(st_trainer_log_history_entry(&y, b, i))) {
            int has_u = st_metrics_get(&u, x, "loss") == ST_OK, has_v = st_metrics_get(&v, y, "loss") == ST_OK;
            same = has_u == has_v && memcmp(&u, &v, sizeof u) == 0;
            if (st_metrics_get(&u, x, "learning_rate") == ST_OK && st_metrics_get(&v, y, "learning_rate") == ST_OK)
                same = same && memcmp(&u, &v, sizeof u) == 0;
        } else {
            same = 0;
        }
        st_metrics_free(x);
        st_metrics_free(y);
    }
    return same;
}

/* ---- exact resume ------------------------------------------------------------------------ */

static int fail_at_step_begin(st_event event, const st_trainer_state *state, st_trainer_control *control,
                              void *user_data) {
    (void)event;
    (void)control;
    return state->global_step == *(const int64_t *)user_data ? 1 : 0;
}

/* Trains uninterrupted, then interrupted at STEP_BEGIN of `stop_at` and resumed in a new
 * trainer with other weights and random state; both runs must agree bit for bit. `extra` is
 * a NULL-terminated list of (name, value) argument pairs. */
static void check_exact_resume(int64_t stop_at, const char *expected_checkpoint, const char *const *extra) {
    char ref_dir[64], run_dir[64], ref_out[64], run_out[64];
    st_training_args ref_args, args;
    st_trainer *reference = NULL, *interrupted = NULL, *resumed = NULL;
    char report[1024];
    size_t length = 0;
    if (!load_digits() || !make_temp_dir(ref_dir, sizeof ref_dir, "reference") || !make_temp_dir(run_dir, sizeof run_dir, "run") ||
        !make_temp_dir(ref_out, sizeof ref_out, "ref-model") || !make_temp_dir(run_out, sizeof run_out, "run-model") ||
        !init_args(&ref_args, ref_dir) || !init_args(&args, run_dir))
        return;
    for (; extra && extra[0]; extra += 2)
        if (!CHECK_OK(st_training_args_set(&ref_args, extra[0], extra[1])) ||
            !CHECK_OK(st_training_args_set(&args, extra[0], extra[1])))
            return;
    reference = make_trainer(&ref_args, 7, 300);
    REQUIRE(reference, "trainer");
    REQUIRE_OK(st_trainer_train(NULL, reference));
    interrupted = make_trainer(&args, 7, 300);
    REQUIRE(interrupted, "trainer");
    REQUIRE_OK(st_trainer_add_callback(interrupted, fail_at_step_begin, &stop_at, ST_EVENT_MASK(ST_EVENT_STEP_BEGIN)));
    CHECK_ERROR(st_trainer_train(NULL, interrupted), ST_EUSER, "returned 1");

    st_manual_seed(999); /* the resumed "process" has other random state */
    resumed = make_trainer(&args, 1234, 300);
    REQUIRE(resumed, "trainer");
    REQUIRE_OK(st_trainer_resume(NULL, resumed, NULL));
    REQUIRE_OK(st_trainer_resumed_from(report, sizeof report, &length, resumed));
    CHECK(check_contains(report, expected_checkpoint) && !check_contains(report, "passed over"),
          "resumed from \"%s\", expected %s", report, expected_checkpoint);
    CHECK(same_losses(reference, resumed), "the resumed run logs the uninterrupted run's losses and rates");
    CHECK(same_weights(reference, resumed, ref_out, run_out), "the final weights are bitwise equal");
    REQUIRE_OK(st_trainer_resumed_from(report, sizeof report, &length, reference));
    CHECK(length == 0, "a fresh run reports \"%s\"", report);
done:
    st_trainer_free(reference);
    st_trainer_free(interrupted);
    st_trainer_free(resumed);
}

static void test_exact_resume(void) {
    check_exact_resume(14, "checkpoint-12", NULL); /* mid-epoch 2 */
}

static void test_exact_resume_ema_plateau_accumulation(void) {
    static const char *const extra[] = {
        "ema_decay", "0.9", "lr_scheduler_type", "reduce_lr_on_plateau",
        "lr_scheduler_kwargs", "patience=0,factor=0.5", "eval_strategy", "steps", "eval_steps", "2",
        "gradient_accumulation_steps", "3", NULL}; /* 7 updates per epoch, the last of one batch */
    check_exact_resume(17, "checkpoint-16", extra);
}

/* ---- callback state ---------------------------------------------------------------------- */

typedef struct counter_state {
    int32_t steps;
    double last_loss;
} counter_state;

typedef struct counter {
    counter_state state;
    int loads;
    int32_t steps_at_train_begin;
} counter;

static int count_steps(st_event event, const st_trainer_state *state, st_trainer_control *control, void *user_data) {
    counter *c = user_data;
    (void)control;
    if (event == ST_EVENT_TRAIN_BEGIN) c->steps_at_train_begin = c->state.steps;
    if (event == ST_EVENT_STEP_END) {
        c->state.steps++;
        c->state.last_loss = state->loss;
    }
    return event == ST_EVENT_STEP_END && state->global_step == 10 && c->loads == 0 ? 7 : 0;
}

static int save_counter(void *user_data, const void **data, size_t *size) {
    counter *c = user_data;
    *data = &c->state;
    *size = sizeof c->state;
    return 0;
}

static int load_counter(void *user_data, const void *data, size_t size) {
    counter *c = user_data;
    if (size != sizeof c->state) return 1;
    memcpy(&c->state, data, size);
    c->loads++;
    return 0;
}

static int save_huge(void *user_data, const void **data, size_t *size) {
    (void)user_data;
    *data = "x";
    *size = (size_t)-1;
    return 0;
}

static int refuse_load(void *user_data, const void *data, size_t size) {
    (void)user_data;
    (void)data;
    (void)size;
    return 5;
}

static void test_callback_state(void) {
    char dir[64];
    st_training_args args;
    st_trainer *first = NULL, *second = NULL, *third = NULL;
    counter a, b;
    const uint32_t mask = ST_EVENT_MASK(ST_EVENT_STEP_END) | ST_EVENT_MASK(ST_EVENT_TRAIN_BEGIN);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    if (!load_digits() || !make_temp_dir(dir, sizeof dir, "state") || !init_args(&args, dir)) return;
    first = make_trainer(&args, 7, 300);
    REQUIRE(first, "trainer");
    REQUIRE_OK(st_trainer_add_callback(first, count_steps, &a, mask));
    REQUIRE_OK(st_trainer_add_callback_state(first, "counter", save_counter, load_counter, &a));
    CHECK_ERROR(st_trainer_add_callback_state(first, "counter", save_counter, load_counter, &a), ST_EINVAL,
                "already used");
    CHECK_ERROR(st_trainer_add_callback_state(first, "x", NULL, load_counter, &a), ST_EINVAL, "save");
    CHECK_ERROR(st_trainer_train(NULL, first), ST_EUSER, "returned 7");

    second = make_trainer(&args, 7, 300);
    REQUIRE(second, "trainer");
    REQUIRE_OK(st_trainer_add_callback(second, count_steps, &b, mask));
    REQUIRE_OK(st_trainer_add_callback_state(second, "counter", save_counter, load_counter, &b));
    REQUIRE_OK(st_trainer_resume(NULL, second, NULL));
    CHECK(b.loads == 1 && b.steps_at_train_begin == 8, "the state saved at step 8 is back before TRAIN_BEGIN "
          "(loads %d, steps %d)", b.loads, (int)b.steps_at_train_begin);
    CHECK(b.state.steps == 30, "the counter continued to %d, expected 30", (int)b.state.steps);

    /* A save function that reports an impossible size fails the save, it does not crash. */
    {
        st_trainer *huge = make_trainer(&args, 7, 300);
        REQUIRE(huge, "trainer");
        REQUIRE_OK(st_trainer_add_callback_state(huge, "huge", save_huge, load_counter, &b));
        CHECK_ERROR(st_trainer_train(NULL, huge), ST_EINVAL, "size");
        st_trainer_free(huge);
    }
    CHECK_ERROR(st_trainer_add_callback_state(second, "__metadata__", save_counter, load_counter, &b), ST_EINVAL,
                "reserved");

    /* A load function that fails stops the resume with ST_EUSER. */
    third = make_trainer(&args, 7, 300);
    REQUIRE(third, "trainer");
    REQUIRE_OK(st_trainer_add_callback_state(third, "counter", save_counter, refuse_load, &b));
    CHECK_ERROR(st_trainer_resume(NULL, third, NULL), ST_EUSER, "counter");
done:
    st_trainer_free(first);
    st_trainer_free(second);
    st_trainer_free(third);
}

/* ---- saving models and safetensors files ------------------------------------------------- */

static void test_save_model_and_load(void) {
    char dir[64], path[128];
    st_training_args args;
    st_trainer *trainer = NULL;
    st_module *fresh = NULL;
    st_safetensors *file = NULL;
    st_named_tensors *state = NULL, *loaded = NULL;
    st_safetensors_entry entry;
    const char *key = NULL, *value = NULL;
    size_t i;
    if (!load_digits() || !make_temp_dir(dir, sizeof dir, "save") || !init_args(&args, dir)) return;
    REQUIRE_OK(st_training_args_set(&args, "save_strategy", "no"));
    REQUIRE_OK(st_training_args_set(&args, "num_train_epochs", "1"));
    trainer = make_trainer(&args, 7, 300);
    REQUIRE(trainer, "trainer");
    REQUIRE_OK(st_trainer_train(NULL, trainer));
    REQUIRE_OK(st_trainer_save_model(trainer, NULL)); /* output_dir */
    snprintf(path, sizeof path, "%s/model.safetensors", dir);

    REQUIRE_OK(st_safetensors_open(&file, path));
    REQUIRE(st_safetensors_count(file) == 4, "%zu tensors, expected 4", st_safetensors_count(file));
    REQUIRE(st_safetensors_metadata_count(file) == 1, "one metadata pair");
    REQUIRE_OK(st_safetensors_metadata_at(&key, &value, file, 0));
    CHECK(strcmp(key, "format") == 0 && strcmp(value, "pt") == 0, "metadata %s=%s, expected format=pt", key, value);
    for (i = 0; i < 4; i++) {
        REQUIRE_OK(st_safetensors_entry_at(&entry, file, i));
        CHECK(strcmp(entry.dtype, "F32") == 0, "%s is %s", entry.name, entry.dtype);
        if (strcmp(entry.name, "0.weight") == 0)
            CHECK(entry.ndim == 2 && entry.shape[0] == 32 && entry.shape[1] == 64 && entry.nbytes == 32 * 64 * 4,
                  "0.weight has the shape of Linear(64, 32)");
    }
    CHECK_ERROR(st_safetensors_entry_at(&entry, file, 4), ST_EINVAL, "out of range");

    /* The weights load into a differently initialised model and agree with the trainer's. */
    fresh = make_model(99);
    REQUIRE(fresh, "model");
    REQUIRE_OK(st_module_load_safetensors(fresh, path, true));
    {
        REQUIRE_OK(st_module_state_dict(&state, fresh));
        REQUIRE_OK(st_safetensors_tensors(&loaded, file));
        REQUIRE(st_named_tensors_count(state) == st_named_tensors_count(loaded), "same count");
        for (i = 0; i < st_named_tensors_count(state); i++) {
            const char *a_name, *b_name;
            st_tensor *a = NULL, *b = NULL;
            float x[32 * 64], y[32 * 64];
            int64_t n = 0;
            if (CHECK_OK(st_named_tensors_entry(&a_name, &a, state, i)) &&
                CHECK_OK(st_named_tensors_entry(&b_name, &b, loaded, i)) && CHECK_OK(st_tensor_numel(&n, a)) &&
                CHECK_OK(st_tensor_copy_to(x, (size_t)n * sizeof(float), a)) &&
                CHECK_OK(st_tensor_copy_to(y, (size_t)n * sizeof(float), b)))
                CHECK(strcmp(a_name, b_name) == 0 && memcmp(x, y, (size_t)n * sizeof(float)) == 0,
                      "%s equals the file's %s", a_name, b_name);
            st_tensor_free(a);
            st_tensor_free(b);
        }
    }
    /* A file with the wrong names is refused in strict mode, naming the keys. */
    {
        st_module *other = NULL;
        REQUIRE_OK(st_linear_create(&other, 64, 10, true));
        CHECK_ERROR(st_module_load_safetensors(other, path, true), ST_EINVAL, "unexpected keys");
        st_module_free(other);
    }
    CHECK_ERROR(st_module_load_safetensors(fresh, "no/such/file.safetensors", true), ST_EIO, "no/such/file");
done:
    st_safetensors_free(file);
    st_named_tensors_free(state);
    st_named_tensors_free(loaded);
    st_module_free(fresh);
    st_trainer_free(trainer);
}

static void test_safetensors_round_trip(void) {
    /* F16 ones (0x3c00), an I64 scalar and an empty F32 tensor, with metadata. */
    const uint16_t halves[3] = {0x3c00, 0x3c00, 0x3c00};
    const int64_t scalar = -5;
    const int64_t half_shape[1] = {3}, empty_shape[2] = {0, 4};
    const st_safetensors_entry entries[3] = {
        {"h", "F16", half_shape, 1, halves, sizeof halves},
        {"s", "I64", NULL, 0, &scalar, sizeof scalar},
        {"e", "F32", empty_shape, 2, NULL, 0},
    };
    const char *metadata[4] = {"format", "np", "note", "caf\xc3\xa9"};
    unsigned char buffer[512];
    size_t length = 0, i;
    st_safetensors *file = NULL;
    st_named_tensors *tensors = NULL;
    const char *key, *value;
    int seen = 0;

    CHECK_ERROR(st_safetensors_serialize(buffer, 8, &length, entries, 3, metadata, 2), ST_ESHAPE, "needs");
    REQUIRE(length > 8 && length <= sizeof buffer, "the size is reported (%zu)", length);
    REQUIRE_OK(st_safetensors_serialize(buffer, sizeof buffer, &length, entries, 3, metadata, 2));
    CHECK(((size_t)buffer[0] | (size_t)buffer[1] << 8) % 8 == 0, "the header length is a multiple of 8");
    REQUIRE_OK(st_safetensors_open_memory(&file, buffer, length));
    REQUIRE(st_safetensors_count(file) == 3 && st_safetensors_metadata_count(file) == 2, "3 tensors, 2 pairs");
    REQUIRE_OK(st_safetensors_metadata_at(&key, &value, file, 1));
    CHECK(strcmp(key, "note") == 0 && strcmp(value, "caf\xc3\xa9") == 0, "metadata keeps order and UTF-8");
    for (i = 0; i < 3; i++) {
        st_safetensors_entry e;
        REQUIRE_OK(st_safetensors_entry_at(&e, file, i));
        if (strcmp(e.name, "h") == 0) {
            seen++;
            CHECK(strcmp(e.dtype, "F16") == 0 && e.ndim == 1 && e.shape[0] == 3 && e.nbytes == 6 &&
                      memcmp(e.data, halves, 6) == 0, "h comes back as three F16 ones");
        } else if (strcmp(e.name, "s") == 0) {
            seen++;
            CHECK(e.ndim == 0 && e.nbytes == 8 && memcmp(e.data, &scalar, 8) == 0, "s comes back as -5");
        } else if (strcmp(e.name, "e") == 0) {
            seen++;
            CHECK(e.ndim == 2 && e.shape[0] == 0 && e.shape[1] == 4 && e.nbytes == 0, "e is empty [0, 4]");
        }
    }
    CHECK(seen == 3, "every name came back");
    CHECK_ERROR(st_safetensors_tensors(&tensors, file), ST_EINVAL, "F16");

    /* Bad entries are refused with the entry named. */
    {
        const st_safetensors_entry wrong_size[1] = {{"h", "F16", half_shape, 1, halves, 4}};
        const st_safetensors_entry unknown[1] = {{"h", "F12", half_shape, 1, halves, 6}};
        const st_safetensors_entry twice[2] = {{"a", "I64", NULL, 0, &scalar, 8}, {"a", "I64", NULL, 0, &scalar, 8}};
        CHECK_ERROR(st_safetensors_serialize(buffer, sizeof buffer, &length, wrong_size, 1, NULL, 0), ST_ESHAPE, "4 bytes");
        CHECK_ERROR(st_safetensors_serialize(buffer, sizeof buffer, &length, unknown, 1, NULL, 0), ST_EINVAL, "F12");
        CHECK_ERROR(st_safetensors_serialize(buffer, sizeof buffer, &length, twice, 2, NULL, 0), ST_EINVAL, "unique");
        CHECK_ERROR(st_safetensors_save(NULL, entries, 3, NULL, 0), ST_EINVAL, "path");
    }
    /* Saved to a file and opened again. */
    REQUIRE_OK(st_safetensors_save("round.safetensors", entries, 3, metadata, 2));
    st_safetensors_free(file);
    file = NULL;
    REQUIRE_OK(st_safetensors_open(&file, "round.safetensors"));
    CHECK(st_safetensors_count(file) == 3, "the file has 3 tensors");
done:
    st_safetensors_free(file);
    st_named_tensors_free(tensors);
}

/* ---- damaged checkpoints ----------------------------------------------------------------- */

static void test_damaged_checkpoints(void) {
    char dir[64], path[256], report[2048];
    st_training_args args;
    st_trainer *trainer = NULL, *resumed = NULL;
    unsigned char *bytes = NULL;
    size_t size = 0, length = 0;
    st_trainer_state state;
    if (!load_digits() || !make_temp_dir(dir, sizeof dir, "damaged") || !init_args(&args, dir)) return;
    REQUIRE_OK(st_training_args_set(&args, "num_train_epochs", "1")); /* saves at 4, 8, 10 */
    trainer = make_trainer(&args, 7, 300);
    REQUIRE(trainer, "trainer");
    REQUIRE_OK(st_trainer_train(NULL, trainer));

    snprintf(path, sizeof path, "%s/checkpoint-10/optimizer.safetensors", dir);
    bytes = read_file(path, &size);
    REQUIRE(bytes && size > 100, "read %s", path);
    bytes[size - 1] ^= 1;
    REQUIRE(write_file(path, bytes, size), "write %s", path);
    snprintf(path, sizeof path, "%s/checkpoint-10", dir);
    resumed = make_trainer(&args, 7, 300);
    REQUIRE(resumed, "trainer");
    CHECK_ERROR(st_trainer_resume(NULL, resumed, path), ST_ECORRUPT, "optimizer.safetensors");
    snprintf(path, sizeof path, "%s/checkpoint-8/trainer_state.json", dir);
    REQUIRE(write_file(path, (const unsigned char *)"{", 1), "truncate %s", path);
    REQUIRE_OK(st_training_args_set(&args, "num_train_epochs", "2"));
    st_trainer_free(resumed);
    resumed = make_trainer(&args, 7, 300);
    REQUIRE(resumed, "trainer");
    REQUIRE_OK(st_trainer_resume(NULL, resumed, NULL));
    REQUIRE_OK(st_trainer_resumed_from(report, sizeof report, &length, resumed));
    CHECK(check_contains(report, "checkpoint-4") && check_contains(report, "passed over") &&
              check_contains(report, "checkpoint-10") && check_contains(report, "checkpoint-8"),
          "the report names the checkpoint used and the ones passed over: %s", report);
    state.struct_size = sizeof state;
    REQUIRE_OK(st_trainer_get_state(&state, resumed));
    CHECK(state.global_step == 20, "trained on to step %lld", (long long)state.global_step);
    CHECK_ERROR(st_trainer_resume(NULL, resumed, "no-such-checkpoint"), ST_ENOTFOUND, "no-such-checkpoint");
done:
    free(bytes);
    st_trainer_free(trainer);
    st_trainer_free(resumed);
}

/* ---- a failing disk ---------------------------------------------------------------------- */

static int limit_file_size_after_first_save(st_event event, const st_trainer_state *state,
                                            st_trainer_control *control, void *user_data) {
    struct rlimit limit;
    (void)event;
    (void)control;
    (void)user_data;
    if (state->global_step != 4) return 0;
    getrlimit(RLIMIT_FSIZE, &limit);
    limit.rlim_cur = 4096; /* model.safetensors is about 10 kB */
    return setrlimit(RLIMIT_FSIZE, &limit) == 0 ? 0 : 1;
}

static void test_failing_disk_keeps_earlier_checkpoints(void) {
    char dir[64], entry_path[256];
    st_training_args args;
    st_trainer *trainer = NULL, *resumed = NULL;
    struct rlimit limit;
    struct stat info;
    void (*previous)(int) = signal(SIGXFSZ, SIG_IGN); /* a write past the limit fails with EFBIG */
    getrlimit(RLIMIT_FSIZE, &limit);
    if (!load_digits() || !make_temp_dir(dir, sizeof dir, "disk") || !init_args(&args, dir)) return;
    trainer = make_trainer(&args, 7, 300);
    REQUIRE(trainer, "trainer");
    REQUIRE_OK(st_trainer_add_callback(trainer, limit_file_size_after_first_save, NULL, ST_EVENT_MASK(ST_EVENT_SAVE)));
    CHECK_ERROR(st_trainer_train(NULL, trainer), ST_EIO, "model.safetensors");
    CHECK(check_contains(st_last_error_message(), "too large"), "the message says why: %s", st_last_error_message());
    setrlimit(RLIMIT_FSIZE, &limit);
    snprintf(entry_path, sizeof entry_path, "%s/checkpoint-8", dir);
    CHECK(stat(entry_path, &info) != 0, "no checkpoint-8 appeared");
    /* Nothing half-written is left beside checkpoint-4, and it resumes. */
    resumed = make_trainer(&args, 7, 300);
    REQUIRE(resumed, "trainer");
    REQUIRE_OK(st_trainer_resume(NULL, resumed, NULL));
done:
    setrlimit(RLIMIT_FSIZE, &limit);
    signal(SIGXFSZ, previous);
    st_trainer_free(trainer);
    st_trainer_free(resumed);
}

/* ---- SIGKILL during saves ---------------------------------------------------------------- */

/* Appends what the run resumed from to <dir>/resumes.txt at TRAIN_BEGIN (one write, so a
 * kill leaves whole lines). */
static int log_resume(st_event event, const st_trainer_state *state, st_trainer_control *control, void *user_data) {
    char line[4096], path[512];
    size_t length = 0;
    FILE *log;
    (void)event;
    (void)state;
    (void)control;
    if (st_trainer_resumed_from(line, sizeof line - 1, &length, ((void **)user_data)[0]) != ST_OK) return 1;
    if (length == 0) strcpy(line, "(fresh)");
    snprintf(path, sizeof path, "%s/resumes.txt", (const char *)((void **)user_data)[1]);
    if ((log = fopen(path, "a")) == NULL) return 1;
    setvbuf(log, NULL, _IOFBF, 8192);
    fprintf(log, "%s\n", line);
    return fclose(log) == 0 ? 0 : 1;
}

/* The worker: trains 300 rows for 6 epochs with a checkpoint after every step (keeping 3),
 * resuming from the newest checkpoint when there is one, then writes the final weights to
 * <dir>/final/model.safetensors. */
static int run_worker(const char *dir) {
    st_training_args args;
    st_trainer *trainer;
    char final_dir[512];
    void *context[2];
    int rc;
    if (!load_digits() || !init_args(&args, dir) || !CHECK_OK(st_training_args_set(&args, "save_steps", "1")) ||
        !CHECK_OK(st_training_args_set(&args, "save_total_limit", "3")) ||
        !CHECK_OK(st_training_args_set(&args, "num_train_epochs", "6")))
        return 3;
    trainer = make_trainer(&args, 7, 300);
    if (!trainer) return 3;
    context[0] = trainer;
    context[1] = (void *)dir;
    if (!CHECK_OK(st_trainer_add_callback(trainer, log_resume, context, ST_EVENT_MASK(ST_EVENT_TRAIN_BEGIN)))) return 3;
    rc = st_trainer_resume(NULL, trainer, NULL);
    if (rc == ST_ENOTFOUND) rc = st_trainer_train(NULL, trainer);
    if (rc != ST_OK) {
        fprintf(stderr, "worker: %s\n", st_last_error_message());
        return 4;
    }
    snprintf(final_dir, sizeof final_dir, "%s/final", dir);
    rc = st_trainer_save_model(trainer, final_dir);
    st_trainer_free(trainer);
    return rc == ST_OK ? 0 : 5;
}

/* Whether process `pid` is writing a checkpoint in `dir` (.tmp-checkpoint-<name>-<pid>-<n>);
 * its directory name goes into `name`. */
static int save_in_progress(const char *dir, pid_t pid, char *name, size_t size) {
    DIR *d = opendir(dir);
    struct dirent *entry;
    char mark[32];
    int found = 0;
    if (!d) return 0;
    snprintf(mark, sizeof mark, "-%ld-", (long)pid);
    while (!found && (entry = readdir(d)) != NULL) {
        found = strncmp(entry->d_name, ".tmp-checkpoint-", 16) == 0 && strstr(entry->d_name, mark) != NULL;
        if (found) snprintf(name, size, "%s", entry->d_name);
    }
    closedir(d);
    return found;
}

/* Runs a worker on `dir`. With `kill_during_save`, watches `dir`, lets 0 to 3 saves (at
 * random) go by, and once the next one is in progress waits 0 to 2 ms at random and kills the
 * worker with SIGKILL. Returns the worker's exit status, or -1 when it was killed. */
static int spawn_worker(const char *dir, int kill_during_save) {
    int status = 0, saves_to_skip = rand() % 4;
    char seen[256] = "", name[256];
    pid_t pid = fork();
    if (pid == 0) {
        execl(program_path, program_path, "--worker", dir, (char *)NULL);
        _exit(127);
    }
    if (pid < 0) return -2;
    while (kill_during_save) {
        struct timespec poll = {0, 100000};
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
        if (done < 0) return -2;
        if (save_in_progress(dir, pid, name, sizeof name) && strcmp(name, seen) != 0) { /* a new save */
            snprintf(seen, sizeof seen, "%s", name);
            if (saves_to_skip-- == 0) {
                struct timespec delay = {0, (long)((double)rand() / RAND_MAX * 2e6)};
                nanosleep(&delay, NULL);
                kill(pid, SIGKILL);
                break;
            }
        }
        nanosleep(&poll, NULL);
    }
    if (waitpid(pid, &status, 0) != pid) return -2;
    if (WIFSIGNALED(status)) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
}

static void test_sigkill_during_saves(void) {
    char reference[64], killed[64], a[512], b[512], log_path[512], line[4096];
    unsigned seed = (unsigned)time(NULL);
    int kills = 0, attempts = 0, rc = -1, fresh_starts = 0, resumes = 0;
    size_t a_size = 0, b_size = 0;
    unsigned char *x = NULL, *y = NULL;
    FILE *log;
    if (!make_temp_dir(reference, sizeof reference, "uninterrupted") || !make_temp_dir(killed, sizeof killed, "killed")) return;
    REQUIRE(spawn_worker(reference, 0) == 0, "the uninterrupted worker succeeds");
    printf("kill seed %u\n", seed);
    srand(seed);
    /* Twenty workers killed in the middle of a save (each resuming from what the last one
     * left), then one left to finish. */
    while (kills < 20 && attempts < 200) {
        attempts++;
        rc = spawn_worker(killed, 1);
        if (rc == -1) kills++;
        else if (rc == 0) break; /* finished before a kill landed: start over below */
        else break;
    }
    printf("%d kills in %d attempts\n", kills, attempts);
    REQUIRE(rc == -1 || rc == 0, "a killed worker failed otherwise (status %d)", rc);
    CHECK(kills >= 10, "the run was killed %d times during saves; expected at least 10", kills);
    if (rc == -1) rc = spawn_worker(killed, 0);
    CHECK(rc == 0, "the last worker succeeded (status %d)", rc);
    snprintf(a, sizeof a, "%s/final/model.safetensors", reference);
    snprintf(b, sizeof b, "%s/final/model.safetensors", killed);
    x = read_file(a, &a_size);
    y = read_file(b, &b_size);
    CHECK(x && y && a_size == b_size && memcmp(x, y, a_size) == 0,
          "the final weights equal the uninterrupted run's");
    /* Every resume took the newest checkpoint: none was ever found damaged. */
    snprintf(log_path, sizeof log_path, "%s/resumes.txt", killed);
    log = fopen(log_path, "r");
    REQUIRE(log != NULL, "%s exists", log_path);
    while (fgets(line, sizeof line, log)) {
        if (strncmp(line, "(fresh)", 7) == 0) fresh_starts++;
        else resumes++;
        CHECK(!check_contains(line, "passed over"), "a resume passed over a damaged checkpoint: %s", line);
    }
    fclose(log);
    printf("%d fresh starts, %d resumes\n", fresh_starts, resumes);
    CHECK(resumes >= 10, "%d workers resumed; expected at least 10", resumes);
done:
    free(x);
    free(y);
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"exact_resume", test_exact_resume},
        {"exact_resume_ema_plateau_accumulation", test_exact_resume_ema_plateau_accumulation},
        {"callback_state", test_callback_state},
        {"save_model_and_load", test_save_model_and_load},
        {"safetensors_round_trip", test_safetensors_round_trip},
        {"damaged_checkpoints", test_damaged_checkpoints},
        {"failing_disk_keeps_earlier_checkpoints", test_failing_disk_keeps_earlier_checkpoints},
        {"sigkill_during_saves", test_sigkill_during_saves},
    };
    int status;
    program_path = argv[0];
    if (argc == 3 && strcmp(argv[1], "--worker") == 0) {
        status = run_worker(argv[2]);
        digits_free(&train_rows);
        return status;
    }
    status = run_test_cases(cases, COUNT(cases), argc, argv);
    digits_free(&train_rows);
    return status;
}
