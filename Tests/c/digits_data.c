#include "digits_data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses one CSV row into 64 scaled pixels and a label. Returns 0, or -1 on a bad row. */
static int parse_row(const char *line, float *features, int64_t *label) {
    const char *p = line;
    int column;
    for (column = 0; column <= DIGITS_NUM_FEATURES; column++) {
        char *end;
        long value;
        errno = 0;
        value = strtol(p, &end, 10);
        if (end == p || errno != 0) return -1;
        if (column < DIGITS_NUM_FEATURES) {
            if (value < 0 || value > 16 || *end != ',') return -1;
            features[column] = (float)value / 16.0f;
            p = end + 1;
        } else {
            if (value < 0 || value >= DIGITS_NUM_CLASSES) return -1;
            if (*end != '\0' && *end != '\n' && *end != '\r') return -1;
            *label = value;
        }
    }
    return 0;
}

int digits_load(digits_data *out, const char *dir, const char *file_name) {
    char path[4096];
    char line[1024];
    FILE *file;
    int64_t capacity = 0;
    long line_number = 0;

    memset(out, 0, sizeof *out);
    if (snprintf(path, sizeof path, "%s/%s", dir, file_name) >= (int)sizeof path) {
        fprintf(stderr, "digits_load: path too long: %s/%s\n", dir, file_name);
        return -1;
    }
    file = fopen(path, "r");
    if (!file) {
        fprintf(stderr, "digits_load: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, file)) {
        line_number++;
        if (line[0] == '\n' || line[0] == '\0') continue;
        if (out->num_samples == capacity) {
            int64_t new_capacity = capacity ? 2 * capacity : 512;
            float *features = realloc(out->features, (size_t)new_capacity *
                                                         DIGITS_NUM_FEATURES * sizeof(float));
            int64_t *labels;
            if (features) out->features = features;
            labels = realloc(out->labels, (size_t)new_capacity * sizeof(int64_t));
            if (labels) out->labels = labels;
            if (!features || !labels) {
                fprintf(stderr, "digits_load: out of memory reading %s\n", path);
                goto fail;
            }
            capacity = new_capacity;
        }
        if (parse_row(line, out->features + out->num_samples * DIGITS_NUM_FEATURES,
                      out->labels + out->num_samples) != 0) {
            fprintf(stderr, "digits_load: %s:%ld: expected 64 integers 0..16 and a label 0..9\n",
                    path, line_number);
            goto fail;
        }
        out->num_samples++;
    }
    if (ferror(file) || out->num_samples == 0) {
        fprintf(stderr, "digits_load: %s: %s\n", path,
                ferror(file) ? "read error" : "no rows");
        goto fail;
    }
    fclose(file);
    return 0;

fail:
    fclose(file);
    digits_free(out);
    return -1;
}

void digits_free(digits_data *data) {
    free(data->features);
    free(data->labels);
    memset(data, 0, sizeof *data);
}

int digits_load_fixture(digits_data *train, digits_data *test, const char *dir) {
    if (train->num_samples) return 1;
    if (digits_load(train, dir, "train.csv") != 0 || digits_load(test, dir, "test.csv") != 0) {
        fprintf(stderr, "the digits data does not load from %s\n", dir);
        return 0;
    }
    if (train->num_samples != 1438) {
        fprintf(stderr, "the digits training set has %lld rows; these cases are written for 1438\n",
                (long long)train->num_samples);
        return 0;
    }
    return 1;
}
