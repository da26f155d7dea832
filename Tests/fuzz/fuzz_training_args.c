/* libFuzzer target: the training arguments by name (st_training_args_set, _update, _validate,
 * _json) and the option strings parsed with them (lr_scheduler_kwargs, ReduceLROnPlateau's),
 * with names and values from the input.
 *
 * The input is name NUL value NUL name NUL value ...; each pair is set in turn. The header's
 * promises are checked: a refused set leaves the struct unchanged, st_training_args_update
 * of all the pairs is all or nothing and agrees with setting them one by one and validating,
 * and arguments that validate have a training_args.json whose length the size query told. */
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>

FUZZ_INITIALIZE_LIBRARY_ONLY

#define MAX_PAIRS 16

/* training_args.json of valid arguments, asked for its size first. */
static void check_json(const st_training_args *args) {
    size_t length = 0, again = 0;
    char *text;
    int status = FUZZ(st_training_args_json(NULL, 0, &length, args));
    if (status != ST_ESHAPE) fuzz_fail("training_args_json with capacity 0 returned %d", status);
    text = malloc(length + 1);
    if (text == NULL) fuzz_fail("out of memory");
    if (FUZZ(st_training_args_json(text, length + 1, &again, args)) != ST_OK || again != length ||
        strlen(text) != length)
        fuzz_fail("training_args_json: %zu bytes asked for, %zu written", length, again);
    free(text);
}

/* The option strings of the arguments through the parsers that read them alone. */
static void check_options(const st_training_args *args) {
    st_lr_schedule *schedule = NULL;
    st_plateau *plateau = NULL;
    if (args->lr_scheduler_type == ST_LR_REDUCE_ON_PLATEAU) {
        if (FUZZ(st_plateau_create(&plateau, args->lr_scheduler_kwargs)) == ST_OK) {
            double rates[2] = {1e-3, 1e-2};
            FUZZ(st_plateau_step(plateau, 0.5, rates, 2));
        }
        st_plateau_free(plateau);
        return;
    }
    if (FUZZ(st_lr_schedule_create(&schedule, args->lr_scheduler_type, 3, 10,
                                   args->lr_scheduler_kwargs, args->learning_rate)) == ST_OK) {
        double factor = 0;
        int64_t step;
        for (step = 0; step < 12; step += 5) FUZZ(st_lr_schedule_factor(&factor, schedule, step));
    }
    st_lr_schedule_free(schedule);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static st_training_args one, before, all;
    const char *names[MAX_PAIRS], *values[MAX_PAIRS];
    char *text = fuzz_strndup(data, size), *p = text, *end = text + size;
    size_t count = 0, i;
    int every_set_ok = 1, status;

    while (count < MAX_PAIRS && p < end) {
        names[count] = p;
        p += strlen(p) + 1;
        values[count] = p < end ? p : "";
        p += p < end ? strlen(p) + 1 : 0;
        count++;
    }
    if (FUZZ(st_training_args_init(&one, ST_TRAINING_ARGS_VERSION)) != ST_OK)
        fuzz_fail("st_training_args_init failed");
    all = one;
    for (i = 0; i < count; i++) {
        before = one;
        if (FUZZ(st_training_args_set(&one, names[i], values[i])) != ST_OK) {
            every_set_ok = 0;
            if (memcmp(&before, &one, sizeof one) != 0)
                fuzz_fail("a refused st_training_args_set(\"%s\", \"%s\") changed the arguments",
                          names[i], values[i]);
        }
    }
    status = every_set_ok ? FUZZ(st_training_args_validate(&one)) : ST_EINVAL;
    before = all;
    if (FUZZ(st_training_args_update(&all, names, values, count)) == ST_OK) {
        if (status != ST_OK) fuzz_fail("update accepted pairs that set one by one are refused");
        if (memcmp(&all, &one, sizeof all) != 0)
            fuzz_fail("update and set one by one give different arguments");
        check_json(&all);
        check_options(&all);
    } else {
        if (status == ST_OK) fuzz_fail("update refused pairs that set one by one validate");
        if (memcmp(&before, &all, sizeof all) != 0) fuzz_fail("a refused update changed the arguments");
    }
    free(text);
    return 0;
}
