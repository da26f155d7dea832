/* Loads data/digits/{train,test}.csv for the C tests: each row is 64 pixel values (integers
 * 0..16) then the class label (0..9). */
#ifndef SWIFTTRAIN_TESTS_DIGITS_DATA_H
#define SWIFTTRAIN_TESTS_DIGITS_DATA_H

#include <stdint.h>

#define DIGITS_NUM_FEATURES 64
#define DIGITS_NUM_CLASSES 10

typedef struct digits_data {
    float *features;      /**< [num_samples, 64], pixel / 16, so in [0, 1] */
    int64_t *labels;      /**< [num_samples], 0..9 */
    int64_t num_samples;
} digits_data;

/** Reads `dir`/`file_name`. Returns 0, or prints why and returns -1 (then `out` holds no
 *  memory). */
int digits_load(digits_data *out, const char *dir, const char *file_name);

/** The fixture of the test programs: loads `dir`/train.csv and test.csv once (later calls return
 *  at once) and checks that the training set has the 1438 rows the cases are written for.
 *  Returns 1, or prints why and returns 0. */
int digits_load_fixture(digits_data *train, digits_data *test, const char *dir);

/** Frees what digits_load() allocated. */
void digits_free(digits_data *data);

#endif
