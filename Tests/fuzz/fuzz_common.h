/* What the fuzz targets share: the contract every call is held to (a status the header defines,
 * a message with every failure), a reader that turns the fuzzer's bytes into choices, a scratch
 * directory per process, and small file helpers.
 *
 * A broken contract calls fuzz_fail, which prints why and aborts: libFuzzer reports the abort
 * as a crash and saves the input. */
#ifndef SWIFTTRAIN_FUZZ_COMMON_H
#define SWIFTTRAIN_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "swifttrain.h"

/** Prints "fuzz: <what>" and the last error message, then aborts. */
void fuzz_fail(const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;

/** Checks what the header promises of every status: ST_OK or a defined ST_E* code, and a
 *  non-empty message with every failure. Returns the status. */
int fuzz_status(int status, const char *call);
#define FUZZ(call) fuzz_status((call), #call)

/** The fuzzer's bytes read front to back as choices; reads past the end give zeros. */
typedef struct fuzz_reader {
    const uint8_t *data;
    size_t size;
    size_t pos;
} fuzz_reader;

uint8_t fuzz_byte(fuzz_reader *r);
/** A number in [0, n) (n >= 1). */
size_t fuzz_below(fuzz_reader *r, size_t n);
/** A float from four bytes (NaN, inf and denormals included) or, mostly, a small value. */
float fuzz_float(fuzz_reader *r);
/** Whether any bytes are left. */
int fuzz_more(const fuzz_reader *r);

/** Splits `data` at every occurrence of FUZZ_SEPARATOR into at most `capacity` parts (the
 *  last part takes the rest): part i is data[offsets[i], offsets[i] + sizes[i]). Returns the
 *  number of parts (>= 1). */
#define FUZZ_SEPARATOR "\n--8<--\n"
size_t fuzz_split(const uint8_t *data, size_t size, size_t *offsets, size_t *sizes,
                  size_t capacity);

/** A NUL-terminated copy of `size` bytes (malloc'd; the caller frees it). */
char *fuzz_strndup(const uint8_t *data, size_t size);

/** A directory of this process's own (made once, under $TMPDIR or /tmp, removed at exit):
 *  what the targets and the library write goes there. */
const char *fuzz_scratch_dir(void);
/** `name` inside the scratch directory, in a buffer of `size` bytes. */
const char *fuzz_scratch_path(char *buffer, size_t size, const char *name);
/** Runs `body(argument)` with the scratch directory as the working directory (for configs whose
 *  relative paths start there), then returns to the directory the process started in. */
void fuzz_in_scratch(void (*body)(void *), void *argument);
/** Writes `size` bytes to `path` (replacing it); aborts when that fails. */
void fuzz_write_file(const char *path, const void *data, size_t size);

/** One thread, so a run is reproducible and the fuzzer's CPU is its own; makes the scratch
 *  directory. Called by every target's LLVMFuzzerInitialize. */
void fuzz_init_library(void);

/* libFuzzer's entry points, which each target defines. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** Defines LLVMFuzzerInitialize for a target with nothing to set up but the library. */
#define FUZZ_INITIALIZE_LIBRARY_ONLY                          \
    int LLVMFuzzerInitialize(int *argc, char ***argv) {       \
        (void)argc;                                           \
        (void)argv;                                           \
        fuzz_init_library();                                  \
        return 0;                                             \
    }

#endif
