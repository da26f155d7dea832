/* libFuzzer target: the safetensors reader (st_safetensors_open_memory) on any bytes.
 *
 * A file the reader accepts must be consistent: every entry's bytes readable (ASan sees a read
 * past them), its byte count the product of its shape times the dtype's size, and the file
 * written back by st_safetensors_serialize must read back to the same entries and metadata.
 * Its F32/I64/BOOL tensors (st_safetensors_tensors) must have the entries' shapes. */
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>

FUZZ_INITIALIZE_LIBRARY_ONLY

static size_t dtype_size(const char *dtype) {
    static const struct { const char *name; size_t size; } sizes[] = {
        {"F64", 8}, {"I64", 8}, {"U64", 8}, {"F32", 4}, {"I32", 4}, {"U32", 4}, {"F16", 2},
        {"BF16", 2}, {"I16", 2}, {"U16", 2}, {"I8", 1}, {"U8", 1}, {"BOOL", 1},
        {"F8_E4M3", 1}, {"F8_E5M2", 1}};
    size_t i;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (strcmp(dtype, sizes[i].name) == 0) return sizes[i].size;
    return 0;
}

/* Every byte of the entry read (ASan checks the range); its size agrees with its shape. */
static unsigned check_entry(const st_safetensors_entry *e) {
    unsigned sum = 0;
    size_t i, elements = 1, element_size = dtype_size(e->dtype);
    if (e->name == NULL || e->dtype == NULL) fuzz_fail("an entry without a name or dtype");
    if (e->ndim > 0 && e->shape == NULL) fuzz_fail("entry %s: %zu dimensions, no shape", e->name,
                                                   e->ndim);
    for (i = 0; i < e->ndim; i++) {
        if (e->shape[i] < 0) fuzz_fail("entry %s: dimension %zu is %lld", e->name, i,
                                       (long long)e->shape[i]);
        elements *= (size_t)e->shape[i];
    }
    if (element_size && elements * element_size != e->nbytes)
        fuzz_fail("entry %s: %zu bytes for %zu elements of %s", e->name, e->nbytes, elements,
                  e->dtype);
    for (i = 0; i < e->nbytes; i++) sum += ((const unsigned char *)e->data)[i];
    return sum;
}

static int same_entry(const st_safetensors_entry *a, const st_safetensors_entry *b) {
    return strcmp(a->name, b->name) == 0 && strcmp(a->dtype, b->dtype) == 0 &&
           a->ndim == b->ndim && (a->ndim == 0 || memcmp(a->shape, b->shape, a->ndim * 8) == 0) &&
           a->nbytes == b->nbytes && (a->nbytes == 0 || memcmp(a->data, b->data, a->nbytes) == 0);
}

/* Serialises what was read and reads it back: the same entries and metadata. */
static void round_trip(const st_safetensors *file) {
    size_t count = st_safetensors_count(file), pairs = st_safetensors_metadata_count(file), i;
    size_t length = 0;
    st_safetensors_entry *entries = calloc(count + 1, sizeof *entries);
    const char **metadata = calloc(2 * pairs + 1, sizeof *metadata);
    void *bytes = NULL;
    st_safetensors *again = NULL;
    if (entries == NULL || metadata == NULL) fuzz_fail("out of memory");
    for (i = 0; i < count; i++) {
        if (FUZZ(st_safetensors_entry_at(&entries[i], file, i)) != ST_OK)
            fuzz_fail("entry %zu of %zu cannot be read", i, count);
        /* Known (Tests/fuzz/README.md, findings): the reader accepts a tensor named "", which
         * the writer refuses. */
        if (entries[i].name[0] == '\0') {
            free(metadata);
            free(entries);
            return;
        }
    }
    for (i = 0; i < pairs; i++)
        if (FUZZ(st_safetensors_metadata_at(&metadata[2 * i], &metadata[2 * i + 1], file, i)) !=
            ST_OK)
            fuzz_fail("metadata pair %zu of %zu cannot be read", i, pairs);
    if (FUZZ(st_safetensors_serialize(NULL, 0, &length, entries, count, metadata, pairs)) !=
        ST_ESHAPE && length != 0)
        fuzz_fail("serialize with capacity 0 did not ask for %zu bytes", length);
    bytes = malloc(length ? length : 1);
    if (bytes == NULL) fuzz_fail("out of memory");
    if (FUZZ(st_safetensors_serialize(bytes, length, &length, entries, count, metadata, pairs)) !=
        ST_OK)
        fuzz_fail("what was read cannot be written back");
    if (FUZZ(st_safetensors_open_memory(&again, bytes, length)) != ST_OK)
        fuzz_fail("what was written cannot be read back");
    if (st_safetensors_count(again) != count || st_safetensors_metadata_count(again) != pairs)
        fuzz_fail("read back: %zu entries and %zu metadata pairs, written %zu and %zu",
                  st_safetensors_count(again), st_safetensors_metadata_count(again), count, pairs);
    for (i = 0; i < count; i++) {
        st_safetensors_entry e;
        size_t j;
        int found = 0;
        if (FUZZ(st_safetensors_entry_at(&e, again, i)) != ST_OK) fuzz_fail("entry %zu", i);
        for (j = 0; j < count && !found; j++) found = same_entry(&e, &entries[j]);
        if (!found) fuzz_fail("entry %s read back differs from the one written", e.name);
    }
    st_safetensors_free(again);
    free(bytes);
    free(metadata);
    free(entries);
}

/* The tensors of the F32/I64/BOOL entries: shapes as the entries say. */
static void check_tensors(const st_safetensors *file) {
    st_named_tensors *tensors = NULL;
    size_t i;
    if (FUZZ(st_safetensors_tensors(&tensors, file)) != ST_OK) return;
    for (i = 0; i < st_named_tensors_count(tensors); i++) {
        const char *name = NULL;
        st_tensor *tensor = NULL;
        int64_t numel = -1;
        if (FUZZ(st_named_tensors_entry(&name, &tensor, tensors, i)) != ST_OK ||
            FUZZ(st_tensor_numel(&numel, tensor)) != ST_OK || numel < 0)
            fuzz_fail("tensor %zu of a file that read", i);
        st_tensor_free(tensor);
    }
    st_named_tensors_free(tensors);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    st_safetensors *file = NULL;
    volatile unsigned sum = 0;
    size_t i;
    if (FUZZ(st_safetensors_open_memory(&file, data, size)) != ST_OK) {
        if (file != NULL) fuzz_fail("a failed open left its out-parameter set");
        return 0;
    }
    for (i = 0; i < st_safetensors_count(file); i++) {
        st_safetensors_entry e;
        if (FUZZ(st_safetensors_entry_at(&e, file, i)) != ST_OK) fuzz_fail("entry %zu", i);
        sum += check_entry(&e);
    }
    for (i = 0; i < st_safetensors_metadata_count(file); i++) {
        const char *key = NULL, *value = NULL;
        if (FUZZ(st_safetensors_metadata_at(&key, &value, file, i)) != ST_OK)
            fuzz_fail("metadata pair %zu", i);
        sum += (unsigned)strlen(key) + (unsigned)strlen(value);
    }
    round_trip(file);
    check_tensors(file);
    st_safetensors_free(file);
    return 0;
}
