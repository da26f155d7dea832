/* Small assertion helpers and a case runner shared by the C tests.
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

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

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

typedef struct test_case {
    const char *name;
    void (*run)(void);
} test_case;

/** Runs the case named by argv[1], or every case when there is no argument. Returns the
 *  process exit status: 0 when every check passed, 1 when one failed, 2 for a bad name. */
int run_test_cases(const test_case *cases, size_t count, int argc, char **argv);

#endif
