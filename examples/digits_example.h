/* What the C examples share: reading data/digits and reporting a failed call. Header-only,
 * so each example still builds from its own .c file:  cc -I include example.c -lswifttrain */
#ifndef SWIFTTRAIN_EXAMPLES_DIGITS_EXAMPLE_H
#define SWIFTTRAIN_EXAMPLES_DIGITS_EXAMPLE_H

#include <swifttrain.h>

#include <stdio.h>

#define NUM_FEATURES 64
#define NUM_CLASSES 10
#define MAX_ROWS 2000

/* Pixels scaled to [0, 1] and integer labels, read from one CSV file. */
typedef struct digits {
    float features[MAX_ROWS * NUM_FEATURES];
    int64_t labels[MAX_ROWS];
    int64_t count;
} digits;

static int load_digits(digits *out, const char *dir, const char *name) {
    char path[1024];
    FILE *file;
    int value, column = 0;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!(file = fopen(path, "r"))) {
        perror(path);
        return -1;
    }
    out->count = 0;
    while (out->count < MAX_ROWS && fscanf(file, "%d,", &value) == 1) {
        if (column < NUM_FEATURES)
            out->features[out->count * NUM_FEATURES + column++] = (float)value / 16.0f;
        else {
            out->labels[out->count++] = value;
            column = 0;
        }
    }
    fclose(file);
    if (out->count == 0 || column != 0) {
        fprintf(stderr, "%s: expected rows of 64 pixels and a label\n", path);
        return -1;
    }
    return 0;
}

/* Reports a failed call and returns 1; returns 0 for ST_OK. */
static int failed(int status, const char *call) {
    if (status == ST_OK) return 0;
    fprintf(stderr, "%s failed: %s (%s)\n", call, st_last_error_message(),
            st_status_string(status));
    return 1;
}

#endif
