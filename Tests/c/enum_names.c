/* st_enum_from_name and st_enum_names: the header's enums by the names users write. The
 * values must be the header's constants, every kind must list what st_enum_from_name
 * accepts, and bad input must give the documented status and a message that helps. */
#include "check.h"
#include "swifttrain.h"

#include <stddef.h>
#include <string.h>

typedef struct named_value {
    const char *kind;
    const char *name;
    int value;
} named_value;

/* A few names per kind (aliases included) and the header constant each must give. */
static const named_value known[] = {
    {"dtype", "float32", ST_FLOAT32},
    {"dtype", "int64", ST_INT64},
    {"dtype", "bool", ST_BOOL},
    {"reduction", "none", ST_REDUCTION_NONE},
    {"reduction", "mean", ST_REDUCTION_MEAN},
    {"reduction", "sum", ST_REDUCTION_SUM},
    {"reduction", "batchmean", ST_REDUCTION_BATCHMEAN},
    {"comparison", "eq", ST_EQ},
    {"comparison", "ne", ST_NE},
    {"comparison", "lt", ST_LT},
    {"comparison", "le", ST_LE},
    {"comparison", "gt", ST_GT},
    {"comparison", "ge", ST_GE},
    {"activation", "relu", ST_ACTIVATION_RELU},
    {"activation", "gelu", ST_ACTIVATION_GELU},
    {"activation", "gelu_tanh", ST_ACTIVATION_GELU_TANH},
    {"activation", "silu", ST_ACTIVATION_SILU},
    {"activation", "tanh", ST_ACTIVATION_TANH},
    {"activation", "sigmoid", ST_ACTIVATION_SIGMOID},
    {"optimizer", "adamw", ST_OPTIM_ADAMW},
    {"optimizer", "adamw_torch", ST_OPTIM_ADAMW},
    {"optimizer", "adamw_torch_fused", ST_OPTIM_ADAMW},
    {"optimizer", "sgd", ST_OPTIM_SGD},
    {"optimizer", "adam", ST_OPTIM_ADAM},
    {"optimizer", "adagrad", ST_OPTIM_ADAGRAD},
    {"optimizer", "rmsprop", ST_OPTIM_RMSPROP},
    {"optimizer", "adadelta", ST_OPTIM_ADADELTA},
    {"optimizer", "lion", ST_OPTIM_LION},
    {"optimizer", "lion_32bit", ST_OPTIM_LION},
    {"lr_scheduler", "linear", ST_LR_LINEAR},
    {"lr_scheduler", "constant", ST_LR_CONSTANT},
    {"lr_scheduler", "cosine", ST_LR_COSINE},
    {"lr_scheduler", "reduce_lr_on_plateau", ST_LR_REDUCE_ON_PLATEAU},
    {"lr_scheduler", "warmup_stable_decay", ST_LR_WARMUP_STABLE_DECAY},
    {"lr_scheduler", "step", ST_LR_STEP},
    {"lr_scheduler", "exponential", ST_LR_EXPONENTIAL},
    {"nonfinite_policy", "error", ST_NONFINITE_ERROR},
    {"nonfinite_policy", "skip", ST_NONFINITE_SKIP},
    {"momentum_scheduler", "none", ST_MOMENTUM_NONE},
    {"momentum_scheduler", "inverted_triangular", ST_MOMENTUM_INVERTED_TRIANGULAR},
    {"interval_strategy", "no", ST_STRATEGY_NO},
    {"interval_strategy", "steps", ST_STRATEGY_STEPS},
    {"interval_strategy", "epoch", ST_STRATEGY_EPOCH},
    {"loss", "cross_entropy", ST_LOSS_CROSS_ENTROPY},
    {"loss", "mse", ST_LOSS_MSE},
    {"loss", "nll", ST_LOSS_NLL},
    {"loss", "kl_div", ST_LOSS_KL_DIV},
    {"save_strategy", "no", ST_SAVE_NO},
    {"save_strategy", "steps", ST_SAVE_STEPS},
    {"save_strategy", "epoch", ST_SAVE_EPOCH},
    {"save_strategy", "best", ST_SAVE_BEST},
    {"metrics_format", "jsonl", ST_METRICS_JSONL},
    {"metrics_format", "csv", ST_METRICS_CSV},
};

/* Every kind, with the number of (name, value) pairs it has. */
static const struct {
    const char *kind;
    size_t count;
} kinds[] = {
    {"dtype", 3},
    {"reduction", 4},
    {"comparison", 6},
    {"activation", 6},
    {"optimizer", 10},
    {"lr_scheduler", 12},
    {"nonfinite_policy", 2},
    {"momentum_scheduler", 2},
    {"interval_strategy", 3},
    {"loss", 8},
    {"save_strategy", 4},
    {"metrics_format", 2},
};

static void test_names_give_header_constants(void) {
    for (size_t i = 0; i < COUNT(known); i++) {
        int value = -1;
        if (CHECK_OK(st_enum_from_name(&value, known[i].kind, known[i].name)))
            CHECK(value == known[i].value, "%s \"%s\" gave %d, expected %d", known[i].kind,
                  known[i].name, value, known[i].value);
    }
}

/* st_enum_names lists every pair st_enum_from_name accepts, each value once under its main
 * name (the first), and the names stay valid. */
static void test_names_list_every_pair(void) {
    for (size_t k = 0; k < COUNT(kinds); k++) {
        const char *names[32];
        int values[32];
        size_t count = 0;
        if (!CHECK_OK(st_enum_names(names, values, COUNT(names), &count, kinds[k].kind)))
            continue;
        CHECK(count == kinds[k].count, "%s: %zu names, expected %zu", kinds[k].kind, count,
              kinds[k].count);
        for (size_t i = 0; i < count && i < COUNT(names); i++) {
            int value = -1;
            CHECK(names[i] != NULL && names[i][0] != '\0', "%s: name %zu", kinds[k].kind, i);
            if (CHECK_OK(st_enum_from_name(&value, kinds[k].kind, names[i])))
                CHECK(value == values[i], "%s \"%s\": %d vs %d", kinds[k].kind, names[i], value,
                      values[i]);
            for (size_t j = 0; j < i; j++)
                CHECK(strcmp(names[i], names[j]) != 0, "%s: \"%s\" twice", kinds[k].kind,
                      names[i]);
        }
        /* The header's examples are all there, with their values. */
        for (size_t i = 0; i < COUNT(known); i++) {
            if (strcmp(known[i].kind, kinds[k].kind) != 0) continue;
            int found = 0;
            for (size_t j = 0; j < count && j < COUNT(names); j++)
                if (strcmp(names[j], known[i].name) == 0 && values[j] == known[i].value) found = 1;
            CHECK(found, "%s: \"%s\" not listed with %d", kinds[k].kind, known[i].name,
                  known[i].value);
        }
    }
    /* The main name comes first: "adamw" before "adamw_torch". */
    const char *names[16];
    int values[16];
    size_t count = 0;
    if (CHECK_OK(st_enum_names(names, values, COUNT(names), &count, "optimizer")) && count > 0)
        CHECK(strcmp(names[0], "adamw") == 0 && values[0] == ST_OPTIM_ADAMW, "first optimizer %s",
              names[0]);
    /* Static strings: the same pointers on every call. */
    const char *again[16];
    size_t count2 = 0;
    if (CHECK_OK(st_enum_names(again, values, COUNT(again), &count2, "optimizer")))
        CHECK(count2 == count && count > 0 && again[0] == names[0], "names are static");
}

/* st_training_args_set and st_loss_from_name accept the same names with the same values. */
static void test_names_match_the_other_parsers(void) {
    static const struct {
        const char *kind, *argument;
    } pairs[] = {{"optimizer", "optim"}, {"lr_scheduler", "lr_scheduler_type"},
                 {"interval_strategy", "eval_strategy"}, {"save_strategy", "save_strategy"},
                 {"nonfinite_policy", "nonfinite_grad_norm"},
                 {"momentum_scheduler", "momentum_scheduler_type"}};
    for (size_t p = 0; p < COUNT(pairs); p++) {
        const char *names[32];
        int values[32];
        size_t count = 0;
        if (!CHECK_OK(st_enum_names(names, values, COUNT(names), &count, pairs[p].kind))) continue;
        for (size_t i = 0; i < count; i++) {
            st_training_args args;
            if (!CHECK_OK(st_training_args_init(&args, ST_TRAINING_ARGS_VERSION)) ||
                !CHECK_OK(st_training_args_set(&args, pairs[p].argument, names[i])))
                continue;
            int got = -1;
            if (strcmp(pairs[p].argument, "optim") == 0) got = (int)args.optim;
            else if (strcmp(pairs[p].argument, "lr_scheduler_type") == 0) got = (int)args.lr_scheduler_type;
            else if (strcmp(pairs[p].argument, "eval_strategy") == 0) got = (int)args.eval_strategy;
            else if (strcmp(pairs[p].argument, "save_strategy") == 0) got = (int)args.save_strategy;
            else if (strcmp(pairs[p].argument, "nonfinite_grad_norm") == 0) got = (int)args.nonfinite_grad_norm;
            else got = (int)args.momentum_scheduler_type;
            CHECK(got == values[i], "%s=%s: %d, expected %d", pairs[p].argument, names[i], got,
                  values[i]);
        }
    }
    const char *names[16];
    int values[16];
    size_t count = 0;
    if (CHECK_OK(st_enum_names(names, values, COUNT(names), &count, "loss"))) {
        for (size_t i = 0; i < count; i++) {
            st_loss loss = ST_LOSS_CROSS_ENTROPY;
            if (CHECK_OK(st_loss_from_name(&loss, names[i])))
                CHECK((int)loss == values[i], "loss %s", names[i]);
        }
    }
}

static void test_unknown_kind_and_name(void) {
    int value = 7;
    /* An unknown kind: the message lists the kinds. */
    CHECK_ERROR(st_enum_from_name(&value, "optimiser", "adamw"), ST_EINVAL, "optimiser");
    CHECK(check_contains(st_last_error_message(), "lr_scheduler") &&
              check_contains(st_last_error_message(), "metrics_format"),
          "the kinds are listed: %s", st_last_error_message());
    CHECK(value == 7, "out unchanged on error, got %d", value);
    size_t count = 99;
    CHECK_ERROR(st_enum_names(NULL, NULL, 0, &count, "colour"), ST_EINVAL, "colour");
    CHECK(check_contains(st_last_error_message(), "reduction"), "the kinds are listed: %s",
          st_last_error_message());
    /* An unknown name: the message names it and lists the names of the kind. */
    CHECK_ERROR(st_enum_from_name(&value, "reduction", "average"), ST_EINVAL, "average");
    CHECK(check_contains(st_last_error_message(), "none, mean, sum, batchmean"),
          "the names are listed: %s", st_last_error_message());
    CHECK_ERROR(st_enum_from_name(&value, "optimizer", "adamw_8bit"), ST_EINVAL, "adamw_torch");
    CHECK_ERROR(st_enum_from_name(&value, "comparison", "EQ"), ST_EINVAL, "EQ");
    CHECK_ERROR(st_enum_from_name(&value, "metrics_format", "txt"), ST_EINVAL, "jsonl, csv");
    CHECK_ERROR(st_enum_from_name(&value, "activation", ""), ST_EINVAL, "gelu_tanh");
    CHECK_ERROR(st_enum_from_name(&value, "", "relu"), ST_EINVAL, "kind");
    CHECK(value == 7, "out unchanged on error, got %d", value);
}

static void test_capacity_protocol(void) {
    const char *names[16] = {NULL};
    int values[16] = {0};
    size_t count = 0;
    /* Capacity 0 asks for the count; names and values may be NULL. */
    CHECK_OK(st_enum_names(NULL, NULL, 0, &count, "comparison"));
    CHECK(count == 6, "comparison count %zu", count);
    count = 0;
    CHECK_OK(st_enum_names(names, values, 0, &count, "reduction"));
    CHECK(count == 4 && names[0] == NULL, "capacity 0 writes nothing (count %zu)", count);
    /* Too small: ST_ESHAPE, nothing written, the count still told. */
    count = 0;
    CHECK_ERROR(st_enum_names(names, values, 3, &count, "reduction"), ST_ESHAPE, "capacity");
    CHECK(count == 4 && names[0] == NULL, "too small writes nothing (count %zu)", count);
    /* Exactly enough. */
    count = 0;
    if (CHECK_OK(st_enum_names(names, values, 4, &count, "reduction"))) {
        CHECK(count == 4, "count %zu", count);
        CHECK(names[0] != NULL && strcmp(names[0], "none") == 0 &&
                  values[0] == ST_REDUCTION_NONE,
              "first reduction");
        CHECK(names[3] != NULL && strcmp(names[3], "batchmean") == 0 &&
                  values[3] == ST_REDUCTION_BATCHMEAN,
              "last reduction");
    }
    /* SIZE_MAX is plenty. */
    CHECK_OK(st_enum_names(names, values, (size_t)-1, &count, "dtype"));
    CHECK(count == 3, "dtype count %zu", count);
}

static void test_null_arguments(void) {
    int value = 0;
    const char *names[16];
    int values[16];
    size_t count = 0;
    CHECK_ERROR(st_enum_from_name(NULL, "reduction", "mean"), ST_EINVAL, "out");
    CHECK_ERROR(st_enum_from_name(&value, NULL, "mean"), ST_EINVAL, "kind");
    CHECK_ERROR(st_enum_from_name(&value, "reduction", NULL), ST_EINVAL, "name");
    CHECK_ERROR(st_enum_names(names, values, COUNT(names), NULL, "reduction"), ST_EINVAL,
                "count");
    CHECK_ERROR(st_enum_names(names, values, COUNT(names), &count, NULL), ST_EINVAL, "kind");
    CHECK_ERROR(st_enum_names(NULL, values, COUNT(names), &count, "reduction"), ST_EINVAL,
                "names");
    CHECK_ERROR(st_enum_names(names, NULL, COUNT(names), &count, "reduction"), ST_EINVAL,
                "values");
}

int main(int argc, char **argv) {
    /* ctest registers one test per entry (Tests/c/CMakeLists.txt reads this table). */
    static const test_case cases[] = {
        {"names_give_header_constants", test_names_give_header_constants},
        {"names_list_every_pair", test_names_list_every_pair},
        {"names_match_the_other_parsers", test_names_match_the_other_parsers},
        {"unknown_kind_and_name", test_unknown_kind_and_name},
        {"capacity_protocol", test_capacity_protocol},
        {"null_arguments", test_null_arguments},
    };
    return run_test_cases(cases, sizeof cases / sizeof cases[0], argc, argv);
}
