/* The tiny run behind the checkpoint target and its seeds: Linear(4, 3) on the 8 rows of the C
 * tests' small problem (Tests/c/check.h), batches of 2, one stateful callback, checkpoints every
 * 2 steps. make_seeds trains it to write real checkpoints; the target resumes it from fuzzed
 * ones. */
#ifndef SWIFTTRAIN_FUZZ_PROBLEM_H
#define SWIFTTRAIN_FUZZ_PROBLEM_H

#include "swifttrain.h"

/** The files of a checkpoint of this run, in the order the checkpoint corpus holds them
 *  (manifest.json last). */
#define CHECKPOINT_FILE_COUNT 10
extern const char *const checkpoint_files[CHECKPOINT_FILE_COUNT];

/** A trainer of the tiny run writing checkpoints to `output_dir` every `save_steps` steps (0:
 *  never) and training `max_steps`; NULL, after printing why, when it cannot be made. */
st_trainer *fuzz_problem_trainer(const char *output_dir, int save_steps, int max_steps);

#endif
