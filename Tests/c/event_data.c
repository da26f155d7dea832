/* Event callbacks (st_trainer_add_event_callback) and what they see and change through
 * st_event_data, through the C header only:
 *   - replacing the loss with twice itself at AFTER_LOSS gives, under plain SGD, the weights
 *     of twice the learning rate (Composer's loss scaling);
 *   - st_trainer_log from a callback: the values reach the log history and LOG callbacks;
 *   - one order for every callback: by ascending priority, ties in registration order,
 *     st_trainer_add_callback at priority 0;
 *   - the batch replaced at AFTER_DATALOADER (st_batch_set) is the one forwarded;
 *   - the limits: the loss only at AFTER_LOSS / BEFORE_BACKWARD and only a float32 scalar,
 *     the batch read-only elsewhere; the EXCEPTION event carries the error's message.
 * The problem is check.h's small one: Linear(4, 3) on 8 rows, batches of 2. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include "check.h"
#include "swifttrain.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NUM_WEIGHTS (SMALL_FEATURES * SMALL_CLASSES + SMALL_CLASSES)

typedef struct run {
    st_module *model;
    st_dataset *data;
    st_trainer *trainer;
} run;

/* Plain SGD at `lr` (no clipping, constant rate), 6 steps of 2 rows. */
static int run_create(run *r, const char *lr) {
    st_training_args args;
    memset(r, 0, sizeof *r);
    st_manual_seed(5);
    return CHECK_OK(st_linear_create(&r->model, SMALL_FEATURES, SMALL_CLASSES, true)) &&
           CHECK_OK(st_dataset_create(&r->data, small_features, SMALL_ROWS, SMALL_FEATURES,
                                      small_labels, ST_DATA_COPY)) &&
           CHECK_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION)) &&
           CHECK_OK(st_training_args_set(&args, "per_device_train_batch_size", "2")) &&
           CHECK_OK(st_training_args_set(&args, "max_steps", "6")) &&
           CHECK_OK(st_training_args_set(&args, "optim", "sgd")) &&
           CHECK_OK(st_training_args_set(&args, "learning_rate", lr)) &&
           CHECK_OK(st_training_args_set(&args, "lr_scheduler_type", "constant")) &&
           CHECK_OK(st_training_args_set(&args, "max_grad_norm", "0")) &&
           CHECK_OK(st_training_args_set(&args, "logging_steps", "1")) &&
           CHECK_OK(st_training_args_set(&args, "save_strategy", "no")) &&
           CHECK_OK(st_trainer_create(&r->trainer, r->model, ST_LOSS_CROSS_ENTROPY, &args)) &&
           CHECK_OK(st_trainer_set_train_dataset(r->trainer, r->data));
}

static void run_free(run *r) {
    st_trainer_free(r->trainer);
    st_dataset_free(r->data);
    st_module_free(r->model);
}

/* ---- the loss ---------------------------------------------------------------------------- */

static int double_the_loss(st_event_data *data, const st_trainer_state *state,
                           st_trainer_control *control, void *user_data) {
    (void)state, (void)control;
    int *calls = user_data;
    st_tensor *doubled = NULL;
    if (data->loss == NULL || st_mul_scalar(&doubled, data->loss, 2.0f) != ST_OK) return 1;
    int rc = st_event_data_set_loss(data, doubled) == ST_OK ? 0 : 1;
    st_tensor_free(doubled); /* the library keeps its own reference */
    (*calls)++;
    return rc;
}

static void test_loss_times_two_is_lr_times_two(void) {
    run scaled, doubled;
    float a[NUM_WEIGHTS], b[NUM_WEIGHTS];
    int calls = 0;
    if (run_create(&scaled, "0.05") && run_create(&doubled, "0.1") &&
        CHECK_OK(st_trainer_add_event_callback(scaled.trainer, double_the_loss, &calls,
                                               ST_EVENT_MASK(ST_EVENT_AFTER_LOSS), 0)) &&
        CHECK_OK(st_trainer_train(NULL, scaled.trainer)) && CHECK_OK(st_trainer_train(NULL, doubled.trainer)) &&
        read_module_weights(a, NUM_WEIGHTS, scaled.model) && read_module_weights(b, NUM_WEIGHTS, doubled.model)) {
        CHECK(calls == 6, "the callback ran %d times", calls);
        for (int i = 0; i < NUM_WEIGHTS; i++)
            if (!CHECK(a[i] - b[i] < 1e-6f && b[i] - a[i] < 1e-6f, "weight %d: %g (loss x2) vs %g (lr x2)", i,
                       (double)a[i], (double)b[i]))
                break;
    }
    run_free(&scaled);
    run_free(&doubled);
}

typedef struct limits {
    int wrong_event, not_scalar, read_only_batch, checked;
} limits;

static int try_the_limits(st_event_data *data, const st_trainer_state *state,
                          st_trainer_control *control, void *user_data) {
    (void)state, (void)control;
    limits *l = user_data;
    if (data->event == ST_EVENT_STEP_END && data->loss != NULL && !l->checked) {
        l->checked = 1;
        l->wrong_event = st_event_data_set_loss(data, data->loss);
        st_tensor *t = zeros1(2);
        l->read_only_batch = data->batch != NULL ? st_batch_set(data->batch, "input", t) : ST_OK;
    }
    if (data->event == ST_EVENT_AFTER_LOSS && l->not_scalar == ST_OK) {
        l->not_scalar = st_event_data_set_loss(data, zeros1(2));
    }
    return 0;
}

static void test_replacement_limits(void) {
    run r;
    limits l = {ST_OK, ST_OK, ST_OK, 0};
    if (run_create(&r, "0.1") &&
        CHECK_OK(st_trainer_add_event_callback(r.trainer, try_the_limits, &l,
                                               ST_EVENT_MASK(ST_EVENT_AFTER_LOSS) | ST_EVENT_MASK(ST_EVENT_STEP_END), 0)) &&
        CHECK_OK(st_trainer_train(NULL, r.trainer))) {
        CHECK(l.checked, "STEP_END saw no loss");
        CHECK(l.wrong_event == ST_EMISUSE, "set_loss at STEP_END gave %d", l.wrong_event);
        CHECK(l.not_scalar == ST_EINVAL, "a [2] loss gave %d", l.not_scalar);
        CHECK(l.read_only_batch == ST_EMISUSE, "st_batch_set at STEP_END gave %d", l.read_only_batch);
    }
    CHECK_ERROR(st_event_data_set_loss(NULL, NULL), ST_EINVAL, "data");
    free_tracked();
    run_free(&r);
}

/* ---- the batch --------------------------------------------------------------------------- */

static int zero_the_inputs(st_event_data *data, const st_trainer_state *state,
                           st_trainer_control *control, void *user_data) {
    (void)state, (void)control, (void)user_data;
    st_tensor *zero = zeros2(2, SMALL_FEATURES);
    return data->batch != NULL && st_batch_set(data->batch, "input", zero) == ST_OK ? 0 : 1;
}

static int record_logits(st_event_data *data, const st_trainer_state *state,
                         st_trainer_control *control, void *user_data) {
    (void)state, (void)control;
    int *same_rows = user_data;
    st_tensor *logits = NULL;
    float values[2 * SMALL_CLASSES];
    if (data->outputs == NULL || st_outputs_get(&logits, data->outputs, "logits") != ST_OK) return 1;
    int rc = st_tensor_copy_to(values, sizeof values, logits) == ST_OK ? 0 : 1;
    st_tensor_free(logits);
    if (rc == 0 && memcmp(values, values + SMALL_CLASSES, SMALL_CLASSES * sizeof(float)) == 0) (*same_rows)++;
    return rc;
}

static void test_batch_replaced_after_the_dataloader(void) {
    run r;
    int same_rows = 0;
    if (run_create(&r, "0.1") &&
        CHECK_OK(st_trainer_add_event_callback(r.trainer, zero_the_inputs, NULL,
                                               ST_EVENT_MASK(ST_EVENT_AFTER_DATALOADER), 0)) &&
        CHECK_OK(st_trainer_add_event_callback(r.trainer, record_logits, &same_rows,
                                               ST_EVENT_MASK(ST_EVENT_AFTER_FORWARD), 0)) &&
        CHECK_OK(st_trainer_train(NULL, r.trainer)))
        CHECK(same_rows == 6, "%d of 6 forwards saw the zeroed batch (equal rows)", same_rows);
    free_tracked();
    run_free(&r);
}

/* ---- logging, order, errors -------------------------------------------------------------- */

static int log_a_metric(st_event_data *data, const st_trainer_state *state,
                        st_trainer_control *control, void *user_data) {
    (void)control, (void)user_data;
    const char *names[] = {"my_metric"};
    double values[] = {(double)state->global_step * 10};
    return st_trainer_log(data->trainer, names, values, 1) == ST_OK ? 0 : 1;
}

static int count_my_metric(st_event_data *data, const st_trainer_state *state,
                           st_trainer_control *control, void *user_data) {
    (void)state, (void)control;
    int *seen = user_data;
    double value = 0;
    if (data->metrics != NULL && st_metrics_get(&value, data->metrics, "my_metric") == ST_OK) (*seen)++;
    return 0;
}

static void test_logged_metrics_reach_history_and_on_log(void) {
    run r;
    int seen = 0;
    char json[1 << 16];
    size_t length = 0;
    if (run_create(&r, "0.1") &&
        CHECK_OK(st_trainer_add_event_callback(r.trainer, log_a_metric, NULL, ST_EVENT_MASK(ST_EVENT_STEP_END), 0)) &&
        CHECK_OK(st_trainer_add_event_callback(r.trainer, count_my_metric, &seen, ST_EVENT_MASK(ST_EVENT_LOG), 0)) &&
        CHECK_OK(st_trainer_train(NULL, r.trainer)) &&
        CHECK_OK(st_trainer_state_json(json, sizeof json, &length, r.trainer))) {
        CHECK(seen == 6, "LOG saw my_metric %d times", seen);
        int count = 0;
        for (const char *p = json; (p = strstr(p, "\"my_metric\": ")) != NULL; p++) count++;
        CHECK(count == 6, "log_history has my_metric %d times", count);
        CHECK(strstr(json, "\"my_metric\": 60") != NULL, "no my_metric 60 (step 6) in the history");
    }
    const char *empty[] = {""};
    double zero[] = {0};
    CHECK_ERROR(st_trainer_log(r.trainer, empty, zero, 1), ST_EINVAL, "empty");
    run_free(&r);
}

typedef struct order {
    char seen[64];
} order;

static int record_event(st_event_data *data, const st_trainer_state *state,
                        st_trainer_control *control, void *user_data, char mark) {
    (void)data, (void)control;
    order *o = user_data;
    if (state->global_step == 1) strncat(o->seen, (char[]){mark, 0}, sizeof o->seen - strlen(o->seen) - 1);
    return 0;
}
static int mark_a(st_event_data *d, const st_trainer_state *s, st_trainer_control *c, void *u) { return record_event(d, s, c, u, 'a'); }
static int mark_b(st_event_data *d, const st_trainer_state *s, st_trainer_control *c, void *u) { return record_event(d, s, c, u, 'b'); }
static int mark_c(st_event_data *d, const st_trainer_state *s, st_trainer_control *c, void *u) { return record_event(d, s, c, u, 'c'); }
static int mark_plain(st_event event, const st_trainer_state *s, st_trainer_control *c, void *u) {
    (void)event;
    return record_event(NULL, s, c, u, 'p');
}

static void test_one_order_by_priority(void) {
    run r;
    order o = {{0}};
    uint32_t step_end = ST_EVENT_MASK(ST_EVENT_STEP_END);
    if (run_create(&r, "0.1") &&
        CHECK_OK(st_trainer_add_event_callback(r.trainer, mark_a, &o, step_end, 5)) &&
        CHECK_OK(st_trainer_add_callback(r.trainer, mark_plain, &o, step_end)) &&
        CHECK_OK(st_trainer_add_event_callback(r.trainer, mark_b, &o, step_end, 0)) &&
        CHECK_OK(st_trainer_add_event_callback(r.trainer, mark_c, &o, step_end, -1)) &&
        CHECK_OK(st_trainer_train(NULL, r.trainer)))
        CHECK(strcmp(o.seen, "cpba") == 0, "order %s, expected cpba (priority -1, 0 in registration order, 5)",
              o.seen);
    CHECK_OK(st_trainer_remove_event_callback(r.trainer, mark_a, &o));
    CHECK_ERROR(st_trainer_remove_event_callback(r.trainer, mark_a, &o), ST_ENOTFOUND, "no event callback");
    run_free(&r);
}

static int fail_at_step_two(st_event event, const st_trainer_state *s, st_trainer_control *c, void *u) {
    (void)event, (void)c, (void)u;
    return s->global_step == 2 ? 7 : 0;
}

static int keep_the_error(st_event_data *data, const st_trainer_state *s, st_trainer_control *c, void *u) {
    (void)s, (void)c;
    char *message = u;
    if (data->event == ST_EVENT_EXCEPTION && data->error != NULL)
        snprintf(message, 256, "%s", data->error);
    return 0;
}

static void test_exception_carries_the_error(void) {
    run r;
    char message[256] = "";
    if (run_create(&r, "0.1") &&
        CHECK_OK(st_trainer_add_callback(r.trainer, fail_at_step_two, NULL, ST_EVENT_MASK(ST_EVENT_STEP_END))) &&
        CHECK_OK(st_trainer_add_event_callback(r.trainer, keep_the_error, message,
                                               ST_EVENT_MASK(ST_EVENT_EXCEPTION), 0))) {
        CHECK_ERROR(st_trainer_train(NULL, r.trainer), ST_EUSER, "returned 7");
        CHECK(strstr(message, "returned 7") != NULL, "EXCEPTION saw '%s'", message);
    }
    run_free(&r);
}

static int count_init_end(st_event event, const st_trainer_state *s, st_trainer_control *c, void *u) {
    (void)s, (void)c;
    if (event == ST_EVENT_INIT_END) (*(int *)u)++;
    return 0;
}

static void test_init_end_fires_once_when_asked(void) {
    run r;
    int fired = 0;
    if (run_create(&r, "0.1") &&
        CHECK_OK(st_trainer_add_callback(r.trainer, count_init_end, &fired, ST_EVENT_MASK(ST_EVENT_INIT_END))) &&
        CHECK_OK(st_trainer_init_end(r.trainer))) {
        CHECK(fired == 1, "INIT_END fired %d times after st_trainer_init_end", fired);
        CHECK_OK(st_trainer_init_end(r.trainer));
        CHECK_OK(st_trainer_train(NULL, r.trainer));
        CHECK(fired == 1, "INIT_END fired %d times in all", fired);
    }
    CHECK_ERROR(st_trainer_init_end(NULL), ST_EINVAL, "trainer");
    run_free(&r);
}

static void count_release(void *user_data) { (*(int *)user_data)++; }

/* st_tensor_create_lent: release runs exactly once, when nothing reads the memory any more
 * (a view outlives the tensor), and on a failed creation; never for a NULL release. */
static void test_lent_memory_is_released_once_when_unused(void) {
    float values[6] = {1, 2, 3, 4, 5, 6};
    int64_t shape[2] = {2, 3}, flat[1] = {6};
    int released = 0, failed_released = 0;
    st_tensor *t = NULL, *view = NULL;
    if (CHECK_OK(st_tensor_create_lent(&t, values, shape, 2, ST_FLOAT32, count_release, &released)) &&
        CHECK_OK(st_reshape(&view, t, flat, 1))) {
        st_tensor_free(t);
        CHECK(released == 0, "released while a view still reads it");
        float back[6] = {0};
        CHECK_OK(st_tensor_copy_to(back, sizeof back, view));
        CHECK(back[5] == 6.0f, "the view reads %g", (double)back[5]);
        st_tensor_free(view);
        CHECK(released == 1, "released %d times after the last reader went", released);
    }
    int64_t bad[1] = {-1};
    CHECK_ERROR(st_tensor_create_lent(&t, values, bad, 1, ST_FLOAT32, count_release, &failed_released),
                ST_EINVAL, NULL);
    CHECK(failed_released == 1, "a failed creation released %d times", failed_released);
    CHECK_ERROR(st_tensor_create_lent(&t, values, shape, 2, ST_FLOAT32, NULL, NULL), ST_EINVAL, "release");
}

/* ---- evaluation: outputs replaced at EVALUATE_AFTER_FORWARD; AllenNLP's result ------------- */

static int zero_the_logits(st_event_data *data, const st_trainer_state *state, st_trainer_control *control,
                           void *user_data) {
    (void)state, (void)control;
    int *calls = user_data;
    st_tensor *logits = NULL, *zeros = NULL;
    int64_t shape[2];
    int rc = st_outputs_get(&logits, data->outputs, "logits") != ST_OK ||
             st_tensor_shape(shape, 2, logits) != ST_OK || st_tensor_zeros(&zeros, shape, 2, ST_FLOAT32) != ST_OK ||
             st_outputs_set(data->outputs, "logits", zeros) != ST_OK;
    st_tensor_free(zeros);
    st_tensor_free(logits);
    (*calls)++;
    return rc;
}

static void test_evaluation_outputs_replaced_and_allennlp_result(void) {
    run r;
    int calls = 0;
    st_metrics *metrics = NULL;
    double loss = 0;
    char text[4096], small[8];
    size_t length = 0, needed = 0;
    if (!run_create(&r, "0.1")) goto done;
    REQUIRE_OK(st_trainer_train(NULL, r.trainer));
    REQUIRE_OK(st_trainer_add_event_callback(r.trainer, zero_the_logits, &calls,
                                             ST_EVENT_MASK(ST_EVENT_EVALUATE_AFTER_FORWARD), 0));
    REQUIRE_OK(st_trainer_evaluate(&metrics, r.trainer, r.data));
    /* zero logits over 3 classes: the cross entropy of a uniform guess */
    if (CHECK_OK(st_metrics_get(&loss, metrics, "eval_loss")))
        CHECK(calls > 0 && loss > 1.0986 && loss < 1.0987,
              "%d calls, eval_loss %.6f of zeroed logits (ln 3 expected)", calls, loss);
    /* AllenNLP's result: the size first, then the text */
    CHECK_ERROR(st_trainer_allennlp_metrics_json(NULL, 0, &needed, r.trainer), ST_ESHAPE, "needs");
    CHECK_ERROR(st_trainer_allennlp_metrics_json(small, sizeof small, &length, r.trainer), ST_ESHAPE, "needs");
    CHECK(needed > 0 && length == needed, "the size, %zu, is given with ST_ESHAPE (%zu)", needed, length);
    if (CHECK_OK(st_trainer_allennlp_metrics_json(text, sizeof text, &length, r.trainer)))
        CHECK(length == needed && strstr(text, "\"best_epoch\": 1") /* 6 steps of 4 per epoch */ && strstr(text, "\"validation_loss\"") &&
              strstr(text, "\"training_duration\": \"0:00:") && strstr(text, "\"epoch\": 1"),
              "AllenNLP's result: %s", text);
    CHECK_ERROR(st_trainer_allennlp_metrics_json(text, sizeof text, &length, NULL), ST_EINVAL, "NULL");
done:
    st_metrics_free(metrics);
    run_free(&r);
}

/* ---- report_to tensorboard: an event file under logging_dir ---------------------------------- */

static void test_report_to_tensorboard_writes_an_event_file(void) {
    st_module *model = NULL;
    st_dataset *data = NULL;
    st_trainer *trainer = NULL;
    st_training_args args;
    char dir[] = "/tmp/swifttrain-tb-XXXXXX", path[512] = "";
    unsigned char header[12];
    if (!CHECK(mkdtemp(dir) != NULL, "mkdtemp")) return;
    st_manual_seed(5);
    REQUIRE_OK(st_linear_create(&model, SMALL_FEATURES, SMALL_CLASSES, true));
    REQUIRE_OK(st_dataset_create(&data, small_features, SMALL_ROWS, SMALL_FEATURES, small_labels, ST_DATA_COPY));
    REQUIRE_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION));
    REQUIRE(strcmp(args.report_to, "none") == 0 && args.logging_dir[0] == '\0', "defaults: report_to none, no logging_dir");
    REQUIRE_OK(st_training_args_set(&args, "max_steps", "4"));
    REQUIRE_OK(st_training_args_set(&args, "logging_steps", "1"));
    REQUIRE_OK(st_training_args_set(&args, "save_strategy", "no"));
    REQUIRE_OK(st_training_args_set(&args, "report_to", "tensorboard"));
    REQUIRE_OK(st_training_args_set(&args, "logging_dir", dir));
    REQUIRE_OK(st_training_args_set(&args, "report_to", "wandb"));
    CHECK_ERROR(st_training_args_validate(&args), ST_EINVAL, "report_to");
    REQUIRE_OK(st_training_args_set(&args, "report_to", "tensorboard"));
    REQUIRE_OK(st_trainer_create(&trainer, model, ST_LOSS_CROSS_ENTROPY, &args));
    REQUIRE_OK(st_trainer_set_train_dataset(trainer, data));
    REQUIRE_OK(st_trainer_train(NULL, trainer));
    DIR *listing = opendir(dir);
    struct dirent *entry;
    int files = 0;
    while (listing != NULL && (entry = readdir(listing)) != NULL)
        if (strncmp(entry->d_name, "events.out.tfevents.", 20) == 0) {
            files++;
            snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        }
    if (listing != NULL) closedir(listing);
    CHECK(files == 1, "%d event files in %s", files, dir);
    FILE *file = files == 1 ? fopen(path, "rb") : NULL;
    /* the first record: its 8-byte length, then the file_version event ("brain.Event:2") */
    if (CHECK(file != NULL && fread(header, 1, sizeof header, file) == sizeof header, "read %s", path)) {
        uint64_t length = 0;
        for (int i = 7; i >= 0; i--) length = length << 8 | header[i];
        CHECK(length > 13 && length < 64, "first record of %llu bytes", (unsigned long long)length);
    }
    if (file != NULL) fclose(file);
    if (path[0] != '\0') remove(path);
done:
    rmdir(dir);
    st_trainer_free(trainer);
    st_dataset_free(data);
    st_module_free(model);
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"loss_times_two_is_lr_times_two", test_loss_times_two_is_lr_times_two},
        {"replacement_limits", test_replacement_limits},
        {"batch_replaced_after_the_dataloader", test_batch_replaced_after_the_dataloader},
        {"logged_metrics_reach_history_and_on_log", test_logged_metrics_reach_history_and_on_log},
        {"one_order_by_priority", test_one_order_by_priority},
        {"exception_carries_the_error", test_exception_carries_the_error},
        {"init_end_fires_once_when_asked", test_init_end_fires_once_when_asked},
        {"lent_memory_is_released_once_when_unused", test_lent_memory_is_released_once_when_unused},
        {"evaluation_outputs_replaced_and_allennlp_result", test_evaluation_outputs_replaced_and_allennlp_result},
        {"report_to_tensorboard_writes_an_event_file", test_report_to_tensorboard_writes_an_event_file},
    };
    return run_test_cases(cases, COUNT(cases), argc, argv);
}
