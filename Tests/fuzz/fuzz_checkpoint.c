/* libFuzzer target: the checkpoint reader behind st_trainer_resume, on checkpoint directories
 * made from the input.
 *
 * The input is the files of a checkpoint of the tiny run (fuzz_problem.h) in the order of
 * checkpoint_files, separated by FUZZ_SEPARATOR; an empty part leaves that file out. With
 * fewer than ten parts the target writes the manifest itself, with the sizes and SHA-256 of the
 * files it wrote, so the fuzzed bytes get past the hash check to the readers behind it; a
 * tenth part is the manifest as given. The resumed run trains the steps left (to step 4) and
 * writes nothing. Whatever the files hold, resuming returns a status with a message, and a
 * checkpoint refused as damaged (ST_ECORRUPT) leaves the trainer as it was: at step 0. */
#define _XOPEN_SOURCE 700 /* mkdir, unlink */
#include "fuzz_common.h"
#include "fuzz_problem.h"
#include "sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char checkpoint_dir[4096];

static st_trainer *trainer_for_resume(void) {
    char out[4096];
    st_trainer *trainer = fuzz_problem_trainer(fuzz_scratch_path(out, sizeof out, "out"), 0, 4);
    if (trainer == NULL) fuzz_fail("the tiny run cannot be made");
    return trainer;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_init_library();
    fuzz_scratch_path(checkpoint_dir, sizeof checkpoint_dir, "ckpt");
    if (mkdir(checkpoint_dir, 0700) != 0) fuzz_fail("cannot make %s", checkpoint_dir);
    return 0;
}

/* Writes the checkpoint directory from the parts. */
static void write_checkpoint(const uint8_t *data, const size_t *offsets, const size_t *sizes,
                             size_t parts) {
    char path[4200], entry[256];
    char *manifest = malloc(4096);
    size_t used, i;
    if (manifest == NULL) fuzz_fail("out of memory");
    for (i = 0; i < CHECKPOINT_FILE_COUNT; i++) {
        snprintf(path, sizeof path, "%s/%s", checkpoint_dir, checkpoint_files[i]);
        unlink(path);
    }
    used = (size_t)snprintf(manifest, 4096, "{\"format\": \"swifttrain-checkpoint\", "
                                            "\"format_version\": 1, \"files\": {");
    for (i = 0; i < parts && i < CHECKPOINT_FILE_COUNT - 1; i++) {
        char hex[65];
        if (sizes[i] == 0) continue;
        snprintf(path, sizeof path, "%s/%s", checkpoint_dir, checkpoint_files[i]);
        fuzz_write_file(path, data + offsets[i], sizes[i]);
        sha256_hex(hex, data + offsets[i], sizes[i]);
        snprintf(entry, sizeof entry, "%s\"%s\": {\"bytes\": %zu, \"sha256\": \"%s\"}",
                 used > 70 ? ", " : "", checkpoint_files[i], sizes[i], hex);
        used += (size_t)snprintf(manifest + used, 4096 - used, "%s", entry);
    }
    snprintf(manifest + used, 4096 - used, "}}\n");
    snprintf(path, sizeof path, "%s/manifest.json", checkpoint_dir);
    if (parts == CHECKPOINT_FILE_COUNT)
        fuzz_write_file(path, data + offsets[parts - 1], sizes[parts - 1]);
    else
        fuzz_write_file(path, manifest, strlen(manifest));
    free(manifest);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t offsets[CHECKPOINT_FILE_COUNT], sizes[CHECKPOINT_FILE_COUNT];
    size_t parts = fuzz_split(data, size, offsets, sizes, CHECKPOINT_FILE_COUNT);
    st_trainer *trainer = trainer_for_resume();
    st_metrics *metrics = NULL;
    st_trainer_state state;
    int status;

    write_checkpoint(data, offsets, sizes, parts);
    status = FUZZ(st_trainer_resume(&metrics, trainer, checkpoint_dir));
    if (status != ST_OK && metrics != NULL) fuzz_fail("a failed resume returned metrics");
    if (status == ST_ECORRUPT) {
        memset(&state, 0, sizeof state);
        state.struct_size = sizeof state;
        if (FUZZ(st_trainer_get_state(&state, trainer)) != ST_OK)
            fuzz_fail("the state of a trainer whose resume was refused cannot be read");
        if (state.global_step != 0)
            fuzz_fail("a refused resume left global_step %lld", (long long)state.global_step);
    }
    st_metrics_free(metrics);
    st_trainer_free(trainer);
    return 0;
}
