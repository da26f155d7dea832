/* Writes the seed corpora of the fuzz targets (Tests/fuzz/corpus/<target>/), run by hand:
 *
 *     make_seeds <corpus dir>
 *
 * Real files from a tiny run (fuzz_problem.h: checkpoints at steps 2 and 4): its checkpoints
 * joined with FUZZ_SEPARATOR (with and without manifest.json), its safetensors files, its
 * trainer_state.json; the configs of examples/configs (EXAMPLES_DIR); training arguments by
 * name; and random programs for the sequence target. Minimised corpora of longer runs are
 * added to the same directories (Tests/fuzz/README.md). */
#define _XOPEN_SOURCE 700
#include "fuzz_common.h"
#include "fuzz_problem.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *corpus;

static unsigned char *read_file(const char *path, size_t *size) {
    FILE *file = fopen(path, "rb");
    unsigned char *bytes;
    long length;
    if (file == NULL || fseek(file, 0, SEEK_END) != 0 || (length = ftell(file)) < 0 ||
        fseek(file, 0, SEEK_SET) != 0)
        fuzz_fail("cannot read %s", path);
    bytes = malloc((size_t)length + 1);
    if (bytes == NULL || fread(bytes, 1, (size_t)length, file) != (size_t)length)
        fuzz_fail("cannot read %s", path);
    fclose(file);
    *size = (size_t)length;
    return bytes;
}

/* corpus/<target>/<name>: `prefix` (may be NULL) then the bytes. */
static void seed(const char *target, const char *name, const char *prefix, const void *data,
                 size_t size) {
    char path[4096];
    size_t prefix_size = prefix ? strlen(prefix) : 0;
    unsigned char *bytes = malloc(prefix_size + size + 1);
    if (bytes == NULL) fuzz_fail("out of memory");
    snprintf(path, sizeof path, "%s/%s", corpus, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", corpus, target, name);
    if (prefix_size) memcpy(bytes, prefix, prefix_size);
    if (size) memcpy(bytes + prefix_size, data, size);
    fuzz_write_file(path, bytes, prefix_size + size);
    free(bytes);
}

static void checkpoint_seeds(const char *dir, const char *name) {
    char path[4096], seed_name[64];
    size_t total = 0, used = 0, sizes[CHECKPOINT_FILE_COUNT], i;
    unsigned char *files[CHECKPOINT_FILE_COUNT], *joined;
    for (i = 0; i < CHECKPOINT_FILE_COUNT; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, checkpoint_files[i]);
        files[i] = read_file(path, &sizes[i]);
        total += sizes[i] + strlen(FUZZ_SEPARATOR);
    }
    joined = malloc(total);
    if (joined == NULL) fuzz_fail("out of memory");
    for (i = 0; i < CHECKPOINT_FILE_COUNT; i++) {
        if (i) {
            memcpy(joined + used, FUZZ_SEPARATOR, strlen(FUZZ_SEPARATOR));
            used += strlen(FUZZ_SEPARATOR);
        }
        if (i == CHECKPOINT_FILE_COUNT - 1) {  /* without the manifest: the target writes it */
            snprintf(seed_name, sizeof seed_name, "%s", name);
            seed("checkpoint", seed_name, NULL, joined, used - strlen(FUZZ_SEPARATOR));
        }
        memcpy(joined + used, files[i], sizes[i]);
        used += sizes[i];
    }
    snprintf(seed_name, sizeof seed_name, "%s-manifest", name);
    seed("checkpoint", seed_name, NULL, joined, used);
    for (i = 0; i < CHECKPOINT_FILE_COUNT; i++) {
        if (strstr(checkpoint_files[i], ".safetensors")) {
            snprintf(seed_name, sizeof seed_name, "%s-%s", name, checkpoint_files[i]);
            seed("safetensors", seed_name, NULL, files[i], sizes[i]);
        }
        if (strcmp(checkpoint_files[i], "trainer_state.json") == 0) {
            snprintf(seed_name, sizeof seed_name, "%s-trainer_state", name);
            seed("json", seed_name, "0", files[i], sizes[i]);
        }
        free(files[i]);
    }
    free(joined);
}

static void config_seeds(void) {
    DIR *dir = opendir(EXAMPLES_DIR);
    struct dirent *entry;
    char path[4096];
    if (dir == NULL) fuzz_fail("cannot list %s", EXAMPLES_DIR);
    while ((entry = readdir(dir)) != NULL) {
        size_t size, n = strlen(entry->d_name);
        unsigned char *text;
        if (n < 5 || strcmp(entry->d_name + n - 5, ".json") != 0) continue;
        snprintf(path, sizeof path, "%s/%s", EXAMPLES_DIR, entry->d_name);
        text = read_file(path, &size);
        seed("json", entry->d_name, "1", text, size);
        snprintf(path, sizeof path, "create-%s", entry->d_name);
        seed("json", path, "3", text, size);
        free(text);
    }
    closedir(dir);
    seed("json", "overrides.json", "2", "{\"trainer\": {\"learning_rate\": 0.1, \"optim\": \"sgd\"},"
         " \"model\": {\"layers\": [{\"type\": \"linear\", \"in_features\": 64, \"out_features\":"
         " 10}]}}", 105);
}

static void argument_seeds(void) {
    static const char *const pairs[][2] = {
        {"learning_rate", "1e-3"}, {"optim", "adamw_torch"}, {"eval_strategy", "epoch"},
        {"logging_first_step", "true"}, {"lr_scheduler_type", "reduce_lr_on_plateau"},
        {"lr_scheduler_kwargs", "mode=max,patience=2,factor=0.5"}, {"optim_args", "momentum=0.9"},
        {"lr_scheduler_type", "cosine_with_restarts"}, {"lr_scheduler_kwargs", "num_cycles=2"},
        {"warmup_steps", "0.1"}, {"metric_for_best_model", "accuracy"},
        {"save_strategy", "best"}, {"report_to", "tensorboard"}, {"label_names", "labels,y"},
        {"ddp_backend", "none"}, {"max_steps", "-1"}, {"patience", "3"},
        {"momentum_scheduler_type", "inverted_triangular"}, {"output_dir", "runs/x"}};
    size_t i;
    for (i = 0; i < sizeof pairs / sizeof pairs[0]; i += 2) {
        char bytes[512], name[32];
        size_t used = 0, j;
        for (j = i; j < i + 2 && j < sizeof pairs / sizeof pairs[0]; j++) {
            used += (size_t)snprintf(bytes + used, sizeof bytes - used, "%s", pairs[j][0]) + 1;
            used += (size_t)snprintf(bytes + used, sizeof bytes - used, "%s", pairs[j][1]) + 1;
        }
        snprintf(name, sizeof name, "pairs-%02zu", i / 2);
        seed("training_args", name, NULL, bytes, used);
    }
}

static void sequence_seeds(void) {
    uint64_t state = 0x9e3779b97f4a7c15u;
    int file, i;
    for (file = 0; file < 16; file++) {
        unsigned char bytes[256];
        char name[32];
        for (i = 0; i < 256; i++) {
            state ^= state << 13, state ^= state >> 7, state ^= state << 17;
            bytes[i] = (unsigned char)state;
        }
        snprintf(name, sizeof name, "random-%02d", file);
        seed("sequence", name, NULL, bytes, sizeof bytes);
    }
}

int main(int argc, char **argv) {
    char run[4096], checkpoint[4096];
    st_trainer *trainer;
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds <corpus directory>\n");
        return 64;
    }
    corpus = argv[1];
    mkdir(corpus, 0755);
    fuzz_init_library();
    trainer = fuzz_problem_trainer(fuzz_scratch_path(run, sizeof run, "run"), 2, 4);
    if (trainer == NULL || FUZZ(st_trainer_train(NULL, trainer)) != ST_OK) return 1;
    st_trainer_free(trainer);
    checkpoint_seeds(fuzz_scratch_path(checkpoint, sizeof checkpoint, "run/checkpoint-2"), "step2");
    checkpoint_seeds(fuzz_scratch_path(checkpoint, sizeof checkpoint, "run/checkpoint-4"), "step4");
    config_seeds();
    argument_seeds();
    sequence_seeds();
    return 0;
}
