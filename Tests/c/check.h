/* What the C tests share, in one place: assertion helpers (CHECK, CHECK_OK, CHECK_ERROR,
 * CHECK_FAILS, SURVIVES, MESSAGE_HAS, ...), the case runner, tensors tracked per case, the
 * small problem of the error tests, temporary directories and the hang alarm. (The digits
 * data loader is digits_data.h.)
 *
 * A failed check prints file:line, the expression and why it failed, and is counted; the
 * remaining checks still run. A test program is a table of named cases; ctest runs each case
 * in its own process (`<program> <case>`), and with no argument the program runs them all. */
#ifndef SWIFTTRAIN_TESTS_CHECK_H
#define SWIFTTRAIN_TESTS_CHECK_H

#include <stddef.h>

#include "swifttrain.h"

/** Checks a condition; the message (a printf format and its arguments) says what was
 *  expected. Evaluates to 1 when the condition holds, 0 otherwise. */
#define CHECK(cond, ...) check_true((cond) ? 1 : 0, __FILE__, __LINE__, #cond, __VA_ARGS__)

/** Checks that a call returned ST_OK; on failure prints the status and
 *  st_last_error_message(). Evaluates to 1 on ST_OK. */
#define CHECK_OK(call) check_status((call), 0, NULL, __FILE__, __LINE__, #call)

/** Checks that a call returned exactly `expected` (an ST_E* code) and that
 *  st_last_error_message() is not empty and contains `needle` (case-insensitive). */
#define CHECK_ERROR(call, expected, needle) \
    check_status((call), (expected), (needle), __FILE__, __LINE__, #call)

int check_true(int ok, const char *file, int line, const char *expr, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
int check_status(int got, int expected, const char *needle, const char *file, int line,
                 const char *expr);

/** Case-insensitive substring search; 1 when `needle` occurs in `haystack`. */
int check_contains(const char *haystack, const char *needle);

/** Checks that a call failed (any ST_E* code, for errors whose exact code the header leaves
 *  open) with a message mentioning `needle` (NULL: any non-empty message). The point is that
 *  the library does not crash. */
#define CHECK_FAILS(call, needle) check_fails((call), (needle), __FILE__, __LINE__, #call)
int check_fails(int status, const char *needle, const char *file, int line, const char *expr);

/** The call may succeed or fail; a failure must be an ST_E* code with a message. Evaluates
 *  to the status. For arguments that are extreme but have a sensible answer. */
#define SURVIVES(call) survives((call), __FILE__, __LINE__, #call)
int survives(int status, const char *file, int line, const char *expr);

/** The last error message also mentions `needle` (messages name every part of the problem:
 *  the operation and both shapes, every offending key). */
#define MESSAGE_HAS(needle)                                                            \
    CHECK(check_contains(st_last_error_message(), (needle)),                           \
          "the message \"%s\" does not mention \"%s\"", st_last_error_message(), (needle))

/** A handle out-parameter is NULL after a failed call (it held a live handle before). */
#define RESET_TO_NULL(out, call_name) \
    CHECK((out) == NULL, "%s failed but left its out-parameter set", (call_name))

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

#define POW2(k) ((int64_t)1 << (k))

/* Leave the case (through its `done:` label) when a check it depends on fails. */
#define REQUIRE_OK(call)                \
    do {                                \
        if (!CHECK_OK(call)) goto done; \
    } while (0)
#define REQUIRE(cond, ...)                        \
    do {                                          \
        if (!CHECK(cond, __VA_ARGS__)) goto done; \
    } while (0)

/* Tensors a case makes, freed together at its end: track(t) returns t (NULL stays NULL). */
#define MAX_TRACKED 256
st_tensor *track(st_tensor *t);
void free_tracked(void);
/* Zeros of a shape, tracked; NULL (and a failed check) when the library refuses. */
st_tensor *zeros(st_dtype dtype, size_t ndim, const int64_t *shape);
/* Float32 zeros [d0] and [d0, d1], tracked. */
st_tensor *zeros1(int64_t d0);
st_tensor *zeros2(int64_t d0, int64_t d1);
/* A 1-D float32 / int64 tensor holding a copy of `values`, tracked (NULL after a failed check). */
st_tensor *floats(const float *values, int64_t n);
st_tensor *int64s(const int64_t *values, size_t n);
/* Makes `t` require gradients (checked) and returns it; NULL stays NULL. */
st_tensor *requiring_grad(st_tensor *t);
/* Every value of the model's state dict (float32), in its order, into out[0..count): 1 when
 * the state dict holds exactly `count` values, else 0 after a failed check. */
int read_module_weights(float *out, size_t count, const st_module *model);
/** A tensor the library handed out is consistent: no negative dimension, and numel equals
 *  the product of the shape (which must fit in int64: such a tensor cannot exist otherwise). */
int consistent(const st_tensor *t, const char *what);

/* The small problem of the error tests: Linear(SMALL_FEATURES, SMALL_CLASSES) on SMALL_ROWS
 * rows of 4 features with labels 0..2 (small_labels) or one float target each
 * (small_targets). */
#define SMALL_ROWS 8
#define SMALL_FEATURES 4
#define SMALL_CLASSES 3
extern const float small_features[SMALL_ROWS * SMALL_FEATURES];
extern const int64_t small_labels[SMALL_ROWS];
extern const float small_targets[SMALL_ROWS];

typedef struct small_problem {
    st_module *model;      /* Linear(SMALL_FEATURES, SMALL_CLASSES) */
    st_dataset *data;      /* SMALL_ROWS x SMALL_FEATURES with labels */
    st_training_args args; /* batch 2, one epoch: 4 steps */
    st_trainer *trainer;   /* cross-entropy, data as the training set */
} small_problem;

/* Builds the problem (checked); 1 on success. small_problem_free frees what was made either way. */
int small_problem_create(small_problem *p);
void small_problem_free(small_problem *p);

/* A new directory named `prefix`-XXXXXX under the working directory (ctest gives each case its
 * own) written into `buffer`; returns buffer, or NULL after a failed check. */
const char *make_temp_dir(char *buffer, size_t size, const char *prefix);
/* Deletes a directory tree (what make_temp_dir made), ignoring errors. */
void remove_tree(const char *path);
/* 1 when `path` names an existing directory. */
int is_directory(const char *path);

/* Makes the process fail (SIGALRM) after `seconds`: a case that hangs (a loop over a wrapped
 * count) fails instead of waiting for ctest's timeout. */
void fail_if_hung(unsigned seconds);

typedef struct test_case {
    const char *name;
    void (*run)(void);
} test_case;

/** Runs the case named by argv[1], or every case when there is no argument. Returns the
 *  process exit status: 0 when every check passed, 1 when one failed, 2 for a bad name. */
int run_test_cases(const test_case *cases, size_t count, int argc, char **argv);

#endif
