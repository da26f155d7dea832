#include "check.h"

#include "swifttrain.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
