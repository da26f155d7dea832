#define _XOPEN_SOURCE 700 /* mkdtemp, nftw, getcwd */
#include "fuzz_common.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void fuzz_fail(const char *format, ...) {
    va_list ap;
    fputs("fuzz: ", stderr);
    va_start(ap, format);
    vfprintf(stderr, format, ap);
    va_end(ap);
    fprintf(stderr, "\nfuzz: last error message: \"%s\"\n", st_last_error_message());
    abort();
}

int fuzz_status(int status, const char *call) {
    const char *message;
    if (status == ST_OK) return status;
    if (status > ST_OK || status < ST_ECORRUPT)
        fuzz_fail("%s returned %d, which is not an st_status", call, status);
    message = st_last_error_message();
    if (message == NULL || message[0] == '\0')
        fuzz_fail("%s returned %s without a message", call, st_status_string(status));
    return status;
}

uint8_t fuzz_byte(fuzz_reader *r) {
    return r->pos < r->size ? r->data[r->pos++] : 0;
}

size_t fuzz_below(fuzz_reader *r, size_t n) {
    size_t value = fuzz_byte(r);
    if (n > 256) value = value << 8 | fuzz_byte(r);
    return value % n;
}

float fuzz_float(fuzz_reader *r) {
    static const float small[8] = {0.0f, 1.0f, -1.0f, 0.5f, 2.0f, -0.25f, 1e-3f, 3.0f};
    uint8_t kind = fuzz_byte(r);
    if (kind < 224) return small[kind % 8];
    {
        uint32_t bits = 0;
        float value;
        int i;
        for (i = 0; i < 4; i++) bits = bits << 8 | fuzz_byte(r);
        memcpy(&value, &bits, sizeof value);
        return value;
    }
}

int fuzz_more(const fuzz_reader *r) {
    return r->pos < r->size;
}

size_t fuzz_split(const uint8_t *data, size_t size, size_t *offsets, size_t *sizes,
                  size_t capacity) {
    const size_t length = sizeof FUZZ_SEPARATOR - 1;
    size_t count = 0, start = 0, i = 0;
    while (count + 1 < capacity && i + length <= size) {
        if (memcmp(data + i, FUZZ_SEPARATOR, length) == 0) {
            offsets[count] = start;
            sizes[count] = i - start;
            count++;
            i += length;
            start = i;
        } else {
            i++;
        }
    }
    offsets[count] = start;
    sizes[count] = size - start;
    return count + 1;
}

char *fuzz_strndup(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (text == NULL) fuzz_fail("out of memory copying %zu bytes", size);
    if (size) memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path);
}

static char scratch[4096];

static void remove_scratch(void) {
    if (scratch[0]) nftw(scratch, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_scratch_dir(void) {
    if (scratch[0] == '\0') {
        const char *tmp = getenv("TMPDIR");
        snprintf(scratch, sizeof scratch, "%s/swifttrain-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (mkdtemp(scratch) == NULL) fuzz_fail("cannot make a scratch directory %s", scratch);
        atexit(remove_scratch);
    }
    return scratch;
}

const char *fuzz_scratch_path(char *buffer, size_t size, const char *name) {
    if ((size_t)snprintf(buffer, size, "%s/%s", fuzz_scratch_dir(), name) >= size)
        fuzz_fail("the path %s/%s is too long", fuzz_scratch_dir(), name);
    return buffer;
}

void fuzz_in_scratch(void (*body)(void *), void *argument) {
    static char start[4096];
    if (start[0] == '\0' && getcwd(start, sizeof start) == NULL)
        fuzz_fail("cannot read the working directory");
    if (chdir(fuzz_scratch_dir()) != 0) fuzz_fail("cannot enter %s", fuzz_scratch_dir());
    body(argument);
    if (chdir(start) != 0) fuzz_fail("cannot return to %s", start);
}

void fuzz_write_file(const char *path, const void *data, size_t size) {
    FILE *file = fopen(path, "wb");
    if (file == NULL || (size && fwrite(data, 1, size, file) != size) || fclose(file) != 0)
        fuzz_fail("cannot write %s", path);
}

void fuzz_init_library(void) {
    if (st_set_num_threads(1) != ST_OK) fuzz_fail("st_set_num_threads(1) failed");
    fuzz_scratch_dir();
}
