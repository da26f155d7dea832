/* Compiles include/swifttrain.h with the strictest warnings, as C99 (this file) and as C++17
 * (the build copies this file to headertest.cpp), and checks that the version the program was
 * compiled against is the version of the library it loaded.
 *
 * HEADERTEST_EXPECTED_VERSION_NUMBER comes from CMake, which read the version macros of the
 * header independently, so the static assertions below compare two derivations. */
#include "swifttrain.h"
#include "swifttrain.h" /* twice: the include guard must hold */

#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
#define HEADERTEST_STATIC_ASSERT(cond, name) static_assert(cond, #name)
#else
#define HEADERTEST_STATIC_ASSERT(cond, name) typedef char headertest_##name[(cond) ? 1 : -1]
#endif

HEADERTEST_STATIC_ASSERT(SWIFTTRAIN_VERSION_NUMBER ==
                             SWIFTTRAIN_VERSION_MAJOR * 10000 + SWIFTTRAIN_VERSION_MINOR * 100 +
                                 SWIFTTRAIN_VERSION_PATCH,
                         version_number_formula);
HEADERTEST_STATIC_ASSERT(SWIFTTRAIN_VERSION_NUMBER == HEADERTEST_EXPECTED_VERSION_NUMBER,
                         version_number_matches_cmake);
HEADERTEST_STATIC_ASSERT(ST_OK == 0 && ST_EINVAL == -2 && ST_ENOTFOUND == -8, status_values);
HEADERTEST_STATIC_ASSERT(ST_EVENT_COUNT == ST_EVENT_POST_CLOSE + 1, event_count);
HEADERTEST_STATIC_ASSERT(ST_EVENT_MASK(ST_EVENT_LOG) == 16u, event_mask);
HEADERTEST_STATIC_ASSERT(ST_TRAINING_ARGS_VERSION == 8, training_args_version);
HEADERTEST_STATIC_ASSERT(ST_MAX_NUM_THREADS == 1024, max_num_threads);

/* The callback type can be formed from an ordinary function. */
static int headertest_callback(st_event event, const st_trainer_state *state,
                               st_trainer_control *control, void *user_data) {
    (void)event;
    (void)state;
    (void)control;
    (void)user_data;
    return 0;
}

int main(void) {
    char expected_string[32];
    st_callback_fn callback = headertest_callback;
    int failed = 0;
    (void)callback;

    snprintf(expected_string, sizeof expected_string, "%d.%d.%d", SWIFTTRAIN_VERSION_MAJOR,
             SWIFTTRAIN_VERSION_MINOR, SWIFTTRAIN_VERSION_PATCH);
    if (st_version_number() != SWIFTTRAIN_VERSION_NUMBER) {
        fprintf(stderr, "compiled against %d, loaded st_version_number() %d\n",
                SWIFTTRAIN_VERSION_NUMBER, st_version_number());
        failed = 1;
    }
    if (strcmp(st_version_string(), expected_string) != 0) {
        fprintf(stderr, "compiled against \"%s\", loaded st_version_string() \"%s\"\n",
                expected_string, st_version_string());
        failed = 1;
    }
    if (strcmp(st_status_string(ST_OK), "") == 0) {
        fprintf(stderr, "st_status_string(ST_OK) is empty\n");
        failed = 1;
    }
    printf("swifttrain %s (%d)\n", st_version_string(), st_version_number());
    return failed;
}
