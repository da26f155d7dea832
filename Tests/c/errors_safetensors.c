/* Errors of the "safetensors files" section: hostile bytes (a header length of 2^62, data
 * past the end of the file, a file shorter than its length prefix) are ST_ECORRUPT without
 * allocating what they claim; NULL arguments are ST_EINVAL.
 *
 * Each case is its own ctest test, c.errors_safetensors.<case>, in its own process: a case that
 * traps, aborts or faults fails alone, and an alarm turns a hang into a failure. The helpers
 * (CHECK_FAILS, SURVIVES, the small problem, ...) are shared, in check.h. */
#include "check.h"
#include "swifttrain.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void test_hostile_safetensors(void) {
    /* Header length 2^62: must be refused without allocating it. */
    unsigned char huge[16] = {0, 0, 0, 0, 0, 0, 0, 0x40, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
    /* A tensor whose data runs past the end of the file. */
    const char *header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}";
    unsigned char past[128];
    size_t n = strlen(header);
    st_safetensors *file = NULL;
    memset(past, 0, sizeof past);
    past[0] = (unsigned char)n;
    memcpy(past + 8, header, n);
    CHECK_ERROR(st_safetensors_open_memory(&file, huge, sizeof huge), ST_ECORRUPT, "header length");
    CHECK(file == NULL, "no handle on failure");
    CHECK_ERROR(st_safetensors_open_memory(&file, past, 8 + n + 8), ST_ECORRUPT, "truncated");
    CHECK_ERROR(st_safetensors_open_memory(&file, past, 4), ST_ECORRUPT, "8-byte");
    CHECK_ERROR(st_safetensors_open_memory(&file, NULL, 10), ST_EINVAL, "data");
    CHECK_ERROR(st_safetensors_open_memory(NULL, past, 8 + n + 16), ST_EINVAL, "out");
    CHECK_OK(st_safetensors_open_memory(&file, past, 8 + n + 16));
    CHECK(st_safetensors_count(NULL) == 0, "NULL has no tensors");
    st_safetensors_free(file);
    st_safetensors_free(NULL);
    CHECK_ERROR(st_safetensors_entry_at(NULL, NULL, 0), ST_EINVAL, "file");
}

int main(int argc, char **argv) {
    /* ctest registers one test per entry (Tests/c/CMakeLists.txt reads this table). */
    static const test_case cases[] = {
        {"hostile_safetensors", test_hostile_safetensors},
    };
    if (argc == 2) fail_if_hung(60);
    return run_test_cases(cases, COUNT(cases), argc, argv);
}
