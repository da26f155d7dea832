#define _XOPEN_SOURCE 700 /* mkdtemp, nftw, alarm */
#include "check.h"

#include "swifttrain.h"

#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures;

int check_true(int ok, const char *file, int line, const char *expr, const char *fmt, ...) {
    va_list ap;
    if (ok) return 1;
    failures++;
    fprintf(stderr, "%s:%d: CHECK(%s) failed: ", file, line, expr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 0;
}

int check_contains(const char *haystack, const char *needle) {
    size_t n = strlen(needle);
    for (; *haystack; haystack++) {
        size_t i = 0;
        while (i < n && haystack[i] &&
               tolower((unsigned char)haystack[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n) return 1;
    }
    return n == 0;
}

int check_status(int got, int expected, const char *needle, const char *file, int line,
                 const char *expr) {
    const char *message = st_last_error_message();
    if (got != expected) {
        failures++;
        fprintf(stderr, "%s:%d: %s\n    returned %d (%s), expected %d (%s)\n", file, line, expr,
                got, st_status_string(got), expected, st_status_string(expected));
        if (got != ST_OK) fprintf(stderr, "    last error message: \"%s\"\n", message);
        return 0;
    }
    if (expected == ST_OK) return 1;
    if (message == NULL || message[0] == '\0') {
        failures++;
        fprintf(stderr, "%s:%d: %s\n    returned %s as expected but st_last_error_message() is "
                        "empty\n", file, line, expr, st_status_string(got));
        return 0;
    }
    if (needle != NULL && !check_contains(message, needle)) {
        failures++;
        fprintf(stderr, "%s:%d: %s\n    returned %s as expected, but the message does not "
                        "mention \"%s\": \"%s\"\n", file, line, expr, st_status_string(got),
                needle, message);
        return 0;
    }
    return 1;
}

static int run_one(const test_case *c) {
    int before = failures;
    printf("[ RUN  ] %s\n", c->name);
    fflush(stdout);
    c->run();
    printf("[ %s ] %s\n", failures == before ? " OK " : "FAIL", c->name);
    fflush(stdout);
    return failures == before;
}

int run_test_cases(const test_case *cases, size_t count, int argc, char **argv) {
    size_t i;
    if (argc > 2) {
        fprintf(stderr, "usage: %s [case]\n", argv[0]);
        return 2;
    }
    if (argc == 2) {
        for (i = 0; i < count; i++)
            if (strcmp(cases[i].name, argv[1]) == 0) return run_one(&cases[i]) ? 0 : 1;
        fprintf(stderr, "%s: no test case named \"%s\"; the cases are:\n", argv[0], argv[1]);
        for (i = 0; i < count; i++) fprintf(stderr, "  %s\n", cases[i].name);
        return 2;
    }
    for (i = 0; i < count; i++) run_one(&cases[i]);
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}

static st_tensor *tracked[MAX_TRACKED];
static size_t num_tracked;

st_tensor *track(st_tensor *t) {
    if (t && CHECK(num_tracked < MAX_TRACKED, "more than %d tensors in one case", MAX_TRACKED))
        tracked[num_tracked++] = t;
    return t;
}

void free_tracked(void) {
    while (num_tracked) st_tensor_free(tracked[--num_tracked]);
}

st_tensor *zeros(st_dtype dtype, size_t ndim, const int64_t *shape) {
    st_tensor *t = NULL;
    CHECK_OK(st_tensor_zeros(&t, shape, ndim, dtype));
    return track(t);
}

st_tensor *zeros1(int64_t d0) {
    const int64_t shape[1] = {d0};
    return zeros(ST_FLOAT32, 1, shape);
}

st_tensor *zeros2(int64_t d0, int64_t d1) {
    const int64_t shape[2] = {d0, d1};
    return zeros(ST_FLOAT32, 2, shape);
}

st_tensor *floats(const float *values, int64_t n) {
    st_tensor *t = NULL;
    CHECK_OK(st_tensor_create(&t, values, &n, 1, ST_FLOAT32, ST_DATA_COPY));
    return track(t);
}

st_tensor *int64s(const int64_t *values, size_t n) {
    const int64_t shape[1] = {(int64_t)n};
    st_tensor *t = NULL;
    CHECK_OK(st_tensor_create(&t, values, shape, 1, ST_INT64, ST_DATA_COPY));
    return track(t);
}

st_tensor *requiring_grad(st_tensor *t) {
    if (t) CHECK_OK(st_tensor_set_requires_grad(t, true));
    return t;
}

int consistent(const st_tensor *t, const char *what) {
    size_t ndim = 0, i;
    int64_t shape[ST_MAX_DIMS], numel = -1, product = 1;
    int overflow = 0, zero = 0;
    if (!CHECK_OK(st_tensor_ndim(&ndim, t)) || !CHECK_OK(st_tensor_shape(shape, ST_MAX_DIMS, t)) ||
        !CHECK_OK(st_tensor_numel(&numel, t)))
        return 0;
    for (i = 0; i < ndim; i++) {
        if (!CHECK(shape[i] >= 0, "%s: dimension %zu is %lld", what, i, (long long)shape[i]))
            return 0;
        if (shape[i] == 0) zero = 1;
        else if (product > INT64_MAX / shape[i]) overflow = 1;
        else product *= shape[i];
    }
    if (zero) product = 0;
    if (!CHECK(zero || !overflow, "%s: the shape's element count does not fit in int64", what))
        return 0;
    return CHECK(numel == product, "%s: numel is %lld but the shape holds %lld elements", what,
                 (long long)numel, (long long)product);
}

int read_module_weights(float *out, size_t count, const st_module *model) {
    st_named_tensors *state = NULL;
    size_t i, n, filled = 0;
    int ok = CHECK_OK(st_module_state_dict(&state, model));
    n = ok ? st_named_tensors_count(state) : 0;
    for (i = 0; ok && i < n; i++) {
        const char *name = NULL;
        st_tensor *t = NULL;
        int64_t numel = 0;
        ok = CHECK_OK(st_named_tensors_entry(&name, &t, state, i)) &&
             CHECK_OK(st_tensor_numel(&numel, t)) &&
             CHECK(filled + (size_t)numel <= count, "state dict larger than %zu values", count) &&
             CHECK_OK(st_tensor_copy_to(out + filled, (size_t)numel * sizeof(float), t));
        filled += (size_t)numel;
        st_tensor_free(t);
    }
    st_named_tensors_free(state);
    return ok && CHECK(filled == count, "state dict has %zu values, expected %zu", filled, count);
}

int check_fails(int status, const char *needle, const char *file, int line, const char *expr) {
    if (status < 0) return check_status(status, status, needle, file, line, expr);
    return check_true(0, file, line, expr, "returned %d (%s), expected an error", status,
                      st_status_string(status));
}

int survives(int status, const char *file, int line, const char *expr) {
    if (status == ST_OK) return status;
    if (status < 0) check_status(status, status, NULL, file, line, expr);
    else check_true(0, file, line, expr, "returned %d, which is not a status", status);
    return status;
}

/* ---- the small problem ------------------------------------------------------------------- */

const float small_features[SMALL_ROWS * SMALL_FEATURES] = {
    0.1f, 0.2f, 0.3f, 0.4f, 0.9f, 0.1f, 0.0f, 0.2f, 0.3f, 0.8f, 0.1f, 0.0f, 0.5f, 0.5f, 0.5f, 0.5f,
    0.0f, 0.1f, 0.9f, 0.3f, 0.7f, 0.2f, 0.2f, 0.1f, 0.2f, 0.6f, 0.4f, 0.0f, 0.4f, 0.3f, 0.8f, 0.6f};
const int64_t small_labels[SMALL_ROWS] = {0, 1, 2, 0, 1, 2, 0, 1};
const float small_targets[SMALL_ROWS] = {0.5f, 1.0f, 0.0f, 0.25f, 0.75f, 0.5f, 0.1f, 0.9f};

int small_problem_create(small_problem *p) {
    memset(p, 0, sizeof *p);
    return CHECK_OK(st_linear_create(&p->model, SMALL_FEATURES, SMALL_CLASSES, true)) &&
           CHECK_OK(st_dataset_create(&p->data, small_features, SMALL_ROWS, SMALL_FEATURES,
                                      small_labels, ST_DATA_COPY)) &&
           CHECK_OK(st_training_args_init(&p->args, ST_TRAINING_ARGS_VERSION)) &&
           CHECK_OK(st_training_args_set(&p->args, "per_device_train_batch_size", "2")) &&
           CHECK_OK(st_training_args_set(&p->args, "num_train_epochs", "1")) &&
           CHECK_OK(st_trainer_create(&p->trainer, p->model, ST_LOSS_CROSS_ENTROPY, &p->args)) &&
           CHECK_OK(st_trainer_set_train_dataset(p->trainer, p->data));
}

void small_problem_free(small_problem *p) {
    st_trainer_free(p->trainer);
    st_dataset_free(p->data);
    st_module_free(p->model);
}

/* ---- files and processes ----------------------------------------------------------------- */

const char *make_temp_dir(char *buffer, size_t size, const char *prefix) {
    snprintf(buffer, size, "%s-XXXXXX", prefix);
    return CHECK(mkdtemp(buffer) != NULL, "mkdtemp(%s): %s", buffer, strerror(errno)) ? buffer : NULL;
}

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path);
}

void remove_tree(const char *path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

int is_directory(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

void fail_if_hung(unsigned seconds) { alarm(seconds); }
