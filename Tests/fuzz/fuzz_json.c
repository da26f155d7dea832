/* libFuzzer target: the JSON the library parses from callers: experiment configs
 * (st_config_build, st_trainer_create_from_config, overrides merged into a config) and trainer
 * states (st_trainer_state_json_format).
 *
 * The first byte chooses the call ('0' to '3', modulo 4), the rest is the text:
 *   0  st_trainer_state_json_format(text): its output, formatted again, is the same text;
 *   1  st_config_build(text, NULL): every piece freed;
 *   2  st_config_build(a small valid config, overrides = text);
 *   3  st_trainer_create_from_config(text, NULL), then freed.
 * The calls run in a scratch directory holding data/digits/{train,test}.csv (16 rows each), so
 * the example configs build. A config may ask for layers of up to 2^28 weights, which is
 * allowed; to keep executions fast, texts with a number above 4096 are skipped. */
#define _XOPEN_SOURCE 700 /* mkdir */
#include "fuzz_common.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char small_config[] =
    "{\"model\": {\"type\": \"sequential\", \"layers\": [{\"type\": \"linear\", \"in_features\": 64,"
    " \"out_features\": 8}, {\"type\": \"relu\"}, {\"type\": \"linear\", \"in_features\": 8,"
    " \"out_features\": 10}]},"
    " \"train_data\": {\"type\": \"csv\", \"path\": \"data/digits/train.csv\"},"
    " \"loss\": \"cross_entropy\", \"trainer\": {\"max_steps\": 2}}";

/* 16 rows of 64 pixels (0..16) and a label (0..9). */
static void write_digits(const char *path) {
    FILE *file = fopen(path, "w");
    int row, column;
    if (file == NULL) fuzz_fail("cannot write %s", path);
    for (row = 0; row < 16; row++) {
        for (column = 0; column < 64; column++) fprintf(file, "%d,", (row * 7 + column * 3) % 17);
        fprintf(file, "%d\n", row % 10);
    }
    if (fclose(file) != 0) fuzz_fail("cannot write %s", path);
}

static void write_data(void *unused) {
    (void)unused;
    mkdir("data", 0700);
    mkdir("data/digits", 0700);
    write_digits("data/digits/train.csv");
    write_digits("data/digits/test.csv");
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_init_library();
    fuzz_in_scratch(write_data, NULL);
    return 0;
}

/* Whether the text holds a number above 4096 in magnitude (see the top of the file). */
static int has_large_number(const char *text) {
    const char *p;
    for (p = text; *p; p++) {
        if (isdigit((unsigned char)*p) && (p == text || !isalnum((unsigned char)p[-1]))) {
            char *end;
            double value = strtod(p, &end);
            if (!(fabs(value) <= 4096)) return 1;
            p = end > p ? end - 1 : p;
        }
    }
    return 0;
}

static void format_state(const char *text) {
    size_t length = 0, again = 0;
    char *first, *second;
    int status = FUZZ(st_trainer_state_json_format(NULL, 0, &length, text));
    if (status != ST_ESHAPE) return;
    first = malloc(length + 1);
    second = malloc(length + 1);
    if (first == NULL || second == NULL) fuzz_fail("out of memory");
    if (FUZZ(st_trainer_state_json_format(first, length + 1, &again, text)) != ST_OK ||
        again != length)
        fuzz_fail("the state's size was %zu, then the call wrote %zu", length, again);
    if (FUZZ(st_trainer_state_json_format(second, length + 1, &again, first)) != ST_OK ||
        again != length || strcmp(first, second) != 0)
        fuzz_fail("a formatted state formats to something else:\n%s\n---\n%s", first, second);
    free(first);
    free(second);
}

static void build(const char *config, const char *overrides) {
    st_module *model = NULL;
    st_dataset *train = NULL, *validation = NULL;
    st_training_args args;
    st_loss loss;
    if (FUZZ(st_config_build(&model, &train, &validation, &args, &loss, config, overrides)) ==
        ST_OK) {
        if (model == NULL || train == NULL) fuzz_fail("a config built without a model or data");
        FUZZ(st_training_args_validate(&args));
    } else if (model != NULL || train != NULL || validation != NULL) {
        fuzz_fail("a failed st_config_build left a handle set");
    }
    st_module_free(model);
    st_dataset_free(train);
    st_dataset_free(validation);
}

typedef struct call {
    int kind;
    const char *text;
} call;

static void run(void *argument) {
    const call *c = argument;
    switch (c->kind) {
    case 0:
        format_state(c->text);
        break;
    case 1:
        build(c->text, NULL);
        break;
    case 2:
        build(small_config, c->text);
        break;
    default: {
        st_trainer *trainer = NULL;
        FUZZ(st_trainer_create_from_config(&trainer, c->text, NULL));
        st_trainer_free(trainer);
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    call c;
    char *text;
    if (size == 0) return 0;
    text = fuzz_strndup(data + 1, size - 1);
    c.kind = data[0] % 4;
    c.text = text;
    if (!has_large_number(text)) fuzz_in_scratch(run, &c);
    free(text);
    return 0;
}
