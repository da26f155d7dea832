/* Every example config of examples/configs/ trains from C (st_trainer_create_from_config) to
 * the metric docs/configs.md states for it, as the command line and Python do. The files are
 * read as shipped; the overrides only point the data at the source tree and the output into
 * the case's directory. The .npz files the npz examples read are written here (a stored zip of
 * .npy files, no NumPy needed).
 *
 *     example_configs [CASE]              the cases (ctest runs each on its own)
 *     example_configs --write-npz DIR     writes DIR/digits.npz and DIR/sequences.npz (cli_test.sh) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "digits_data.h"
#include "swifttrain.h"

/* ---- a .npz writer: an uncompressed zip (stored entries) of .npy version 1.0 files ---------- */

typedef struct npy_array {
    const char *name;  /* the array's name in the archive (np.load(...)[name]) */
    const char *descr; /* NumPy's dtype string: "<f8", "<f4", "<i8", "<i4" */
    size_t item_size;
    int ndim;
    int64_t shape[4];
    const void *data; /* C order, little-endian (the machines the library runs on) */
} npy_array;

static uint32_t crc32_update(uint32_t crc, const void *bytes, size_t n) {
    const unsigned char *p = bytes;
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static void put16(FILE *f, unsigned v) {
    fputc((int)(v & 0xFF), f);
    fputc((int)((v >> 8) & 0xFF), f);
}

static void put32(FILE *f, uint32_t v) {
    put16(f, v & 0xFFFF);
    put16(f, v >> 16);
}

/* The .npy header of `a` into `out` (magic, version 1.0, length, the dict padded with spaces and
 * a newline to a multiple of 64 bytes, as NumPy writes it); returns its size. */
static size_t npy_header(char *out, size_t size, const npy_array *a) {
    char dict[256], shape[128] = "(";
    for (int i = 0; i < a->ndim; i++)
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%lld%s", (long long)a->shape[i],
                 a->ndim == 1 ? ",)" : i + 1 < a->ndim ? ", " : ")");
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", a->descr, shape);
    size_t total = (10 + (size_t)n + 1 + 63) / 64 * 64; /* magic(6) version(2) length(2) dict '\n' */
    if (total > size) return 0;
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (char)((total - 10) & 0xFF);
    out[9] = (char)((total - 10) >> 8);
    memset(out + 10, ' ', total - 10);
    memcpy(out + 10, dict, (size_t)n);
    out[total - 1] = '\n';
    return total;
}

static size_t npy_data_size(const npy_array *a) {
    size_t n = a->item_size;
    for (int i = 0; i < a->ndim; i++) n *= (size_t)a->shape[i];
    return n;
}

/* Writes the arrays as an np.savez archive; 1 on success (else a failed check). */
static int write_npz(const char *path, const npy_array *arrays, int count) {
    char headers[8][128], names[8][64];
    size_t header_size[8];
    uint32_t crc[8], offset[8], pos = 0;
    FILE *f = fopen(path, "wb");
    if (!CHECK(f != NULL && count <= 8, "cannot write %s", path)) return 0;
    for (int i = 0; i < count; i++) { /* local headers, each followed by its .npy file */
        const npy_array *a = &arrays[i];
        size_t data = npy_data_size(a);
        snprintf(names[i], sizeof names[i], "%s.npy", a->name);
        header_size[i] = npy_header(headers[i], sizeof headers[i], a);
        crc[i] = crc32_update(crc32_update(0, headers[i], header_size[i]), a->data, data);
        uint32_t size = (uint32_t)(header_size[i] + data), name_length = (uint32_t)strlen(names[i]);
        offset[i] = pos;
        put32(f, 0x04034b50); /* local file header */
        put16(f, 20);         /* version needed: 2.0 */
        put16(f, 0);          /* flags */
        put16(f, 0);          /* stored */
        put16(f, 0);          /* time 00:00 */
        put16(f, 0x21);       /* date 1980-01-01 */
        put32(f, crc[i]);
        put32(f, size); /* compressed size: stored, the same */
        put32(f, size);
        put16(f, name_length);
        put16(f, 0); /* extra field length */
        fwrite(names[i], 1, name_length, f);
        fwrite(headers[i], 1, header_size[i], f);
        fwrite(a->data, 1, data, f);
        pos += 30 + name_length + size;
    }
    uint32_t directory = pos;
    for (int i = 0; i < count; i++) { /* the central directory */
        uint32_t size = (uint32_t)(header_size[i] + npy_data_size(&arrays[i]));
        uint32_t name_length = (uint32_t)strlen(names[i]);
        put32(f, 0x02014b50);
        put16(f, 20); /* version made by */
        put16(f, 20); /* version needed */
        put16(f, 0);
        put16(f, 0);
        put16(f, 0);
        put16(f, 0x21);
        put32(f, crc[i]);
        put32(f, size);
        put32(f, size);
        put16(f, name_length);
        put16(f, 0); /* extra */
        put16(f, 0); /* comment */
        put16(f, 0); /* disk */
        put16(f, 0); /* internal attributes */
        put32(f, 0); /* external attributes */
        put32(f, offset[i]);
        fwrite(names[i], 1, name_length, f);
        pos += 46 + name_length;
    }
    put32(f, 0x06054b50); /* end of central directory */
    put16(f, 0);
    put16(f, 0);
    put16(f, (unsigned)count);
    put16(f, (unsigned)count);
    put32(f, pos - directory);
    put32(f, directory);
    put16(f, 0);
    return CHECK(fclose(f) == 0, "cannot write %s", path);
}

/* ---- the examples' data -------------------------------------------------------------------- */

/* What digits_npz.json reads, as Tests/python/test_config_data.py's make_digits_npz: x_train
 * [1438, 1, 8, 8] float64 pixels 0..16, y_train int64, x_test float32, y_test int32. */
static int write_digits_npz(const char *path) {
    digits_data train = {0}, test = {0};
    int ok = 0;
    if (digits_load(&train, DIGITS_DIR, "train.csv") == 0 && digits_load(&test, DIGITS_DIR, "test.csv") == 0) {
        int64_t n = train.num_samples, m = test.num_samples;
        double *x_train = malloc((size_t)n * 64 * sizeof *x_train);
        float *x_test = malloc((size_t)m * 64 * sizeof *x_test);
        int32_t *y_test = malloc((size_t)m * sizeof *y_test);
        if (CHECK(x_train && x_test && y_test, "out of memory")) {
            for (int64_t i = 0; i < n * 64; i++) x_train[i] = (double)train.features[i] * 16; /* (exact) */
            for (int64_t i = 0; i < m * 64; i++) x_test[i] = test.features[i] * 16;
            for (int64_t i = 0; i < m; i++) y_test[i] = (int32_t)test.labels[i];
            npy_array arrays[] = {{"x_train", "<f8", 8, 4, {n, 1, 8, 8}, x_train},
                                  {"y_train", "<i8", 8, 1, {n}, train.labels},
                                  {"x_test", "<f4", 4, 4, {m, 1, 8, 8}, x_test},
                                  {"y_test", "<i4", 4, 1, {m}, y_test}};
            ok = write_npz(path, arrays, 4);
        }
        free(x_train);
        free(x_test);
        free(y_test);
    }
    CHECK(train.num_samples > 0 && test.num_samples > 0, "the digits in %s", DIGITS_DIR);
    digits_free(&train);
    digits_free(&test);
    return ok;
}

/* splitmix64: the sequences' fixed-seed generator. */
static uint64_t next_random(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

#define SEQUENCE_LENGTH 12

/* `n` sequences of 12 tokens of 10 (int64), each labelled with how many are token 7 (capped at 3). */
static void make_sequences(int64_t *x, int64_t *y, int64_t n, uint64_t *state) {
    for (int64_t i = 0; i < n; i++) {
        y[i] = 0;
        for (int j = 0; j < SEQUENCE_LENGTH; j++) {
            x[i * SEQUENCE_LENGTH + j] = (int64_t)(next_random(state) % 10);
            y[i] += x[i * SEQUENCE_LENGTH + j] == 7;
        }
        if (y[i] > 3) y[i] = 3;
    }
}

/* What sequence_classifier.json reads (as make_sequences_npz: 2000 training and 500 test
 * sequences, here from splitmix64 with seed 0). */
static int write_sequences_npz(const char *path) {
    enum { TRAIN = 2000, TEST = 500 };
    static int64_t x_train[TRAIN * SEQUENCE_LENGTH], y_train[TRAIN], x_test[TEST * SEQUENCE_LENGTH], y_test[TEST];
    uint64_t state = 0;
    make_sequences(x_train, y_train, TRAIN, &state);
    make_sequences(x_test, y_test, TEST, &state);
    npy_array arrays[] = {{"x_train", "<i8", 8, 2, {TRAIN, SEQUENCE_LENGTH}, x_train},
                          {"y_train", "<i8", 8, 1, {TRAIN}, y_train},
                          {"x_test", "<i8", 8, 2, {TEST, SEQUENCE_LENGTH}, x_test},
                          {"y_test", "<i8", 8, 1, {TEST}, y_test}};
    return write_npz(path, arrays, 4);
}

/* ---- the examples ---------------------------------------------------------------------------- */

/* The text of examples/configs/`name`.json (malloc'd), or NULL after a failed check. */
static char *read_example(const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.json", EXAMPLES_DIR, name);
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long size = -1;
    if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (text = malloc((size_t)size + 1)) != NULL) {
        size_t got = fread(text, 1, (size_t)size, f);
        text[got] = '\0';
    }
    if (f != NULL) fclose(f);
    CHECK(text != NULL, "cannot read %s", path);
    return text;
}

/* Trains the example `name` from C with `overrides` (a JSON object's members, without braces;
 * the output directory is added) and checks that the evaluation's `metric` reaches `threshold`. */
static void train_example(const char *name, const char *overrides, const char *metric, double threshold) {
    char dir[64], all[4096];
    char *config = read_example(name);
    st_trainer *trainer = NULL;
    st_metrics *metrics = NULL;
    double value = -1;
    REQUIRE(config != NULL && make_temp_dir(dir, sizeof dir, "run") != NULL, "a config and a directory");
    snprintf(all, sizeof all, "{%s%s\"trainer\": {\"output_dir\": \"%s\"}}", overrides, *overrides ? ", " : "", dir);
    REQUIRE_OK(st_trainer_create_from_config(&trainer, config, all));
    REQUIRE_OK(st_trainer_train(NULL, trainer));
    REQUIRE_OK(st_trainer_evaluate(&metrics, trainer, NULL));
    REQUIRE_OK(st_metrics_get(&value, metrics, metric));
    CHECK(value >= threshold, "%s trains from C to %s %.4f, expected at least %.2f", name, metric, value, threshold);
done:
    st_metrics_free(metrics);
    st_trainer_free(trainer);
    remove_tree(dir);
    free(config);
}

/* The CSV examples read data/digits/ from the source tree (the working directory is the case's). */
#define DIGITS_CSV                                                                       \
    "\"train_data\": {\"path\": \"" DIGITS_DIR "/train.csv\"}, \"validation_data\": {\"path\": \"" DIGITS_DIR \
    "/test.csv\"}"

static void test_digits_mlp(void) { train_example("digits_mlp", DIGITS_CSV, "eval_accuracy", 0.93); }

static void test_digits_cnn(void) { train_example("digits_cnn", DIGITS_CSV, "eval_accuracy", 0.90); }

static void test_digits_regression(void) { train_example("digits_regression", DIGITS_CSV, "eval_r2", 0.6); }

/* The npz examples read their file from the working directory, the case's own. */
static void test_digits_npz(void) {
    if (write_digits_npz("digits.npz")) train_example("digits_npz", "", "eval_accuracy", 0.93);
}

static void test_sequence_classifier(void) {
    if (write_sequences_npz("sequences.npz")) train_example("sequence_classifier", "", "eval_accuracy", 0.95);
}

int main(int argc, char **argv) {
    static const test_case cases[] = {
        {"digits_mlp", test_digits_mlp},
        {"digits_cnn", test_digits_cnn},
        {"digits_regression", test_digits_regression},
        {"digits_npz", test_digits_npz},
        {"sequence_classifier", test_sequence_classifier},
    };
    if (argc == 3 && strcmp(argv[1], "--write-npz") == 0) {
        char digits[4096], sequences[4096];
        snprintf(digits, sizeof digits, "%s/digits.npz", argv[2]);
        snprintf(sequences, sizeof sequences, "%s/sequences.npz", argv[2]);
        return write_digits_npz(digits) && write_sequences_npz(sequences) ? 0 : 1;
    }
    return run_test_cases(cases, COUNT(cases), argc, argv);
}
