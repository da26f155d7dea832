/* The registry of config types, extended from C (st_config_register_model,
 * st_config_register_callback): a model type and a callback type used in a config and
 * trained, through st_trainer_create_from_config, st_config_build + st_config_add_callbacks and
 * st_cli_main in this process; and its errors (a duplicate or built-in name, a factory's
 * failure with its message and key path, an unknown type listing the registered ones). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "swifttrain.h"

/* The integer argument `key` of a factory's JSON arguments, or `fallback`. */
static long json_int(const char *json, const char *key, long fallback) {
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\"", key);
    const char *at = strstr(json, quoted);
    if (at == NULL || (at = strchr(at + strlen(quoted), ':')) == NULL) return fallback;
    return strtol(at + 1, NULL, 10);
}

/* "digits_mlp": Linear(64, hidden), ReLU, Linear(hidden, 10); "hidden" must be positive. */
static st_status make_digits_mlp(st_module **out, const char *args_json, void *user_data) {
    int *calls = user_data;
    st_module *layers[3] = {NULL, NULL, NULL};
    long hidden = json_int(args_json, "hidden", 32);
    st_status rc;
    ++*calls;
    if (hidden <= 0 || hidden > 4096) {
        char message[96];
        snprintf(message, sizeof message, "hidden must be in [1, 4096], got %ld", hidden);
        st_set_last_error_message(message);
        return ST_EINVAL;
    }
    if ((rc = st_linear_create(&layers[0], 64, hidden, true)) == ST_OK && (rc = st_relu_create(&layers[1])) == ST_OK &&
        (rc = st_linear_create(&layers[2], hidden, 10, true)) == ST_OK)
        rc = st_sequential_create(out, layers, 3);
    for (int i = 0; i < 3; i++) st_module_free(layers[i]);
    return rc;
}

/* "step_counter": counts the training steps into the int user_data points at. */
static int count_step(st_event event, const st_trainer_state *state, st_trainer_control *control, void *user_data) {
    (void)event, (void)state, (void)control;
    ++*(int *)user_data;
    return 0;
}

static st_status make_step_counter(st_trainer *trainer, const char *args_json, void *user_data) {
    if (json_int(args_json, "fail", 0)) {
        st_set_last_error_message("asked to fail");
        return ST_EINVAL;
    }
    return st_trainer_add_callback(trainer, count_step, user_data, ST_EVENT_MASK(ST_EVENT_STEP_END));
}

static int model_calls, steps;

/* Registers both types afresh (each case may run in one process with the others). */
static int register_both(void) {
    st_config_unregister_model("digits_mlp");
    st_config_unregister_callback("step_counter");
    model_calls = steps = 0;
    return CHECK_OK(st_config_register_model("digits_mlp", make_digits_mlp, &model_calls)) &&
           CHECK_OK(st_config_register_callback("step_counter", make_step_counter, &steps));
}

#define CONFIG                                                                                                      \
    "{\"model\": {\"type\": \"digits_mlp\", \"hidden\": 32},"                                                     \
    " \"train_data\": {\"type\": \"csv\", \"path\": \"" DIGITS_DIR "/train.csv\", \"feature_scale\": 0.0625},"      \
    " \"validation_data\": {\"type\": \"csv\", \"path\": \"" DIGITS_DIR "/test.csv\", \"feature_scale\": 0.0625}," \
    " \"callbacks\": [{\"type\": \"step_counter\"}],"                                                               \
    " \"trainer\": {\"num_train_epochs\": 10, \"learning_rate\": 0.003, \"per_device_train_batch_size\": 32,"          \
    "             \"save_strategy\": \"no\","                                                                     \
    "             \"logging_strategy\": \"no\", \"disable_tqdm\": true}}"

/* The accuracy a trained trainer reaches on the validation data (checked), or -1. */
static double accuracy_of(st_trainer *trainer) {
    st_metrics *metrics = NULL;
    double accuracy = -1;
    if (CHECK_OK(st_trainer_evaluate(&metrics, trainer, NULL))) CHECK_OK(st_metrics_get(&accuracy, metrics, "eval_accuracy"));
    st_metrics_free(metrics);
    return accuracy;
}

static void test_trained_from_a_config(void) {
    st_trainer *trainer = NULL;
    char dir[64];
    REQUIRE(register_both() && make_temp_dir(dir, sizeof dir, "run") != NULL, "registered");
    char overrides[256];
    snprintf(overrides, sizeof overrides, "{\"trainer\": {\"output_dir\": \"%s\"}}", dir);
    REQUIRE_OK(st_trainer_create_from_config(&trainer, CONFIG, overrides));
    CHECK(model_calls == 1 && steps == 0, "the model factory ran once (%d), no step yet (%d)", model_calls, steps);
    REQUIRE_OK(st_trainer_train(NULL, trainer));
    CHECK(steps == 450, "the registered callback saw %d steps, expected 10 epochs of 45", steps);
    double accuracy = accuracy_of(trainer);
    CHECK(accuracy > 0.9, "the registered model trains to %.4f accuracy", accuracy);
done:
    st_trainer_free(trainer);
}

/* A host building its own trainer: st_config_build, then st_config_add_callbacks. */
static void test_pieces_and_add_callbacks(void) {
    st_module *model = NULL;
    st_dataset *train = NULL, *validation = NULL;
    st_training_args args;
    st_loss loss;
    st_trainer *trainer = NULL;
    REQUIRE(register_both(), "registered");
    REQUIRE_OK(st_config_build(&model, &train, &validation, &args, &loss, CONFIG, "{\"trainer\": {\"num_train_epochs\": 2}}"));
    CHECK(steps == 0, "st_config_build adds no callbacks (%d steps)", steps);
    REQUIRE_OK(st_trainer_create(&trainer, model, loss, &args));
    REQUIRE_OK(st_trainer_set_train_dataset(trainer, train));
    REQUIRE_OK(st_config_add_callbacks(trainer, CONFIG, NULL));
    REQUIRE_OK(st_trainer_train(NULL, trainer));
    CHECK(steps == 90, "the callback added to the host's trainer saw %d steps, expected 2 epochs of 45", steps);
    CHECK_ERROR(st_config_add_callbacks(trainer, CONFIG, "{\"callbacks\": [{\"type\": \"step_counter\", \"fail\": 1}]}"),
                ST_EINVAL, "callbacks[0]: the factory of \"step_counter\" failed");
    MESSAGE_HAS("asked to fail");
    CHECK_ERROR(st_config_add_callbacks(NULL, CONFIG, NULL), ST_EINVAL, "trainer");
done:
    st_trainer_free(trainer);
    st_module_free(model);
    st_dataset_free(train);
    st_dataset_free(validation);
}

/* The command line of this process sees the types this process registered. */
static void test_command_line_in_this_process(void) {
    char dir[64], config_path[128], run[160];
    REQUIRE(register_both() && make_temp_dir(dir, sizeof dir, "cli") != NULL, "registered");
    snprintf(config_path, sizeof config_path, "%s/config.json", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    FILE *f = fopen(config_path, "w");
    REQUIRE(f != NULL && fputs(CONFIG, f) >= 0 && fclose(f) == 0, "cannot write %s", config_path);
    const char *argv[] = {"swifttrain", "train", config_path, "-s", run, "-o", "{\"trainer\": {\"num_train_epochs\": 1}}"};
    int code = st_cli_main((int)COUNT(argv), argv);
    CHECK(code == 0 && steps == 45, "swifttrain train in this process: exit %d, %d steps seen", code, steps);
done:
    remove_tree(dir);
}

static void test_errors(void) {
    st_trainer *trainer = (st_trainer *)&steps;
    REQUIRE(register_both(), "registered");
    CHECK_ERROR(st_config_register_model("digits_mlp", make_digits_mlp, NULL), ST_EINVAL,
                "model type \"digits_mlp\" is registered already");
    CHECK_ERROR(st_config_register_model("linear", make_digits_mlp, NULL), ST_EINVAL, "\"linear\" is a built-in model type");
    CHECK_ERROR(st_config_register_callback("metrics_logger", make_step_counter, NULL), ST_EINVAL,
                "\"metrics_logger\" is a built-in callback type");
    CHECK_ERROR(st_config_register_model("", make_digits_mlp, NULL), ST_EINVAL, "empty");
    CHECK_ERROR(st_config_register_model(NULL, make_digits_mlp, NULL), ST_EINVAL, "type is NULL");
    CHECK_ERROR(st_config_register_callback("x", NULL, NULL), ST_EINVAL, "make is NULL");
    /* a factory's failure: its message at the key path of the object */
    CHECK_ERROR(st_trainer_create_from_config(&trainer, CONFIG,
                                              "{\"model\": {\"type\": \"sequential\", \"layers\": [{\"type\": \"digits_mlp\","
                                              " \"hidden\": -3}]}}"),
                ST_EINVAL, "config: model.layers[0]: the factory of \"digits_mlp\" failed");
    MESSAGE_HAS("hidden must be in [1, 4096], got -3");
    CHECK(trainer == NULL, "a failed st_trainer_create_from_config sets *out to NULL");
    trainer = (st_trainer *)&steps;
    CHECK_ERROR(st_trainer_create_from_config(&trainer, CONFIG,
                                              "{\"callbacks\": [{\"type\": \"step_counter\"}, {\"type\": \"step_counter\","
                                              " \"fail\": 1}]}"),
                ST_EINVAL, "config: callbacks[1]: the factory of \"step_counter\" failed (ST_EINVAL");
    MESSAGE_HAS("asked to fail");
    CHECK(trainer == NULL, "a failed callback factory leaves no trainer");
    /* an unknown type lists the registered ones */
    CHECK_ERROR(st_trainer_create_from_config(&trainer, CONFIG, "{\"model\": {\"type\": \"digits_mpl\"}}"), ST_EINVAL,
                "model.type: unknown layer type \"digits_mpl\"; known: sequential, linear");
    MESSAGE_HAS("digits_mlp");
    CHECK_ERROR(st_trainer_create_from_config(&trainer, CONFIG, "{\"callbacks\": [{\"type\": \"step_countr\"}]}"), ST_EINVAL,
                "step_counter");
    /* unregistering */
    CHECK_ERROR(st_config_unregister_model("linear"), ST_EINVAL, "built-in");
    CHECK_OK(st_config_unregister_model("digits_mlp"));
    CHECK_ERROR(st_config_unregister_model("digits_mlp"), ST_ENOTFOUND, "no model type \"digits_mlp\" is registered");
    CHECK_ERROR(st_trainer_create_from_config(&trainer, CONFIG, NULL), ST_EINVAL, "unknown layer type \"digits_mlp\"");
    CHECK_OK(st_config_register_model("digits_mlp", make_digits_mlp, &model_calls)); /* again, once removed */
    CHECK_OK(st_config_unregister_callback("step_counter"));
    CHECK_ERROR(st_config_unregister_callback("step_counter"), ST_ENOTFOUND, "registered from C or Python: none");
    CHECK_ERROR(st_config_unregister_callback(NULL), ST_EINVAL, "type is NULL");
done:;
}

/* st_module_share: a second handle to the same module. */
static void test_module_share(void) {
    st_module *linear = NULL, *shared = NULL;
    int64_t a = 0;
    REQUIRE_OK(st_linear_create(&linear, 4, 3, true));
    REQUIRE_OK(st_module_share(&shared, linear));
    CHECK(shared != NULL && shared != linear, "a new handle");
    st_module_free(linear);
    linear = NULL;
    CHECK(st_module_num_parameters(&a, shared) == ST_OK && a == 15, "the module lives on through the second handle (%lld)",
          (long long)a);
    CHECK_ERROR(st_module_share(NULL, shared), ST_EINVAL, "out");
    CHECK_ERROR(st_module_share(&linear, NULL), ST_EINVAL, "module");
done:
    st_module_free(linear);
    st_module_free(shared);
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"trained_from_a_config", test_trained_from_a_config},
        {"pieces_and_add_callbacks", test_pieces_and_add_callbacks},
        {"command_line_in_this_process", test_command_line_in_this_process},
        {"errors", test_errors},
        {"module_share", test_module_share},
    };
    return run_test_cases(cases, COUNT(cases), argc, argv);
}
