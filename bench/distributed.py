"""Data-parallel throughput on this machine (docs/distributed.md): workload W1 of
shared/bench/WORKLOADS.md (784-256-256-10, AdamW) with a global batch of 128, trained by one
process (2 BLAS threads) and by two processes under mpirun (1 BLAS thread each, 64 samples
each), through the Python Trainer; prints steps per second of each, the ratio, and the
all-reduce volume of a step.

    python bench/distributed.py [--steps 300] [--repeats 3]

Run with an interpreter that has the package installed, and Open MPI's mpirun on PATH.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

SIZES = [784, 256, 256, 10]
WORKER = r"""
import sys, time, numpy as np, swifttrain as st
from swifttrain import nn
batch, steps = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
x = rng.uniform(-1.7, 1.7, size=(1024, 784)).astype(np.float32)
y = rng.integers(0, 10, size=1024, dtype=np.int64)
st.manual_seed(0)
model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
args = st.TrainingArguments(max_steps=steps, per_device_train_batch_size=batch, optim="adamw_torch",
                            learning_rate=1e-3, save_strategy="no", logging_strategy="no",
                            disable_tqdm=True, max_grad_norm=0.0, lr_scheduler_type="constant")
trainer = st.Trainer(model, args, train_dataset=(x, y))
trainer.remove_callback(st.PrinterCallback)
start = time.perf_counter()
trainer.train()
if trainer.is_world_process_zero():
    print(f"SECONDS {time.perf_counter() - start} WORLD {trainer.state.world_size}")
"""


def seconds(command, env):
    out = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env}, check=True)
    line = next(line for line in out.stdout.splitlines() if line.startswith("SECONDS"))
    return float(line.split()[1]), int(line.split()[3])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    mpi = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    one, two = [], []
    for _ in range(options.repeats):  # interleaved; the difference of a long and a short run
        for runs, command, env in (
                (one, [sys.executable, "-c", WORKER, "128"], {"OPENBLAS_NUM_THREADS": "2"}),
                (two, ["mpirun", "--oversubscribe", "-np", "2", "-x", "OPENBLAS_NUM_THREADS=1",
                       sys.executable, "-c", WORKER, "64"], mpi)):
            (long, world), (short, _) = (seconds(command + [str(options.steps)], env),
                                         seconds(command + [str(options.steps // 10)], env))
            runs.append((options.steps - options.steps // 10) / (long - short))
            assert world == (1 if runs is one else 2), world
    parameters = sum(a * b + b for a, b in zip(SIZES, SIZES[1:]))
    a, b = statistics.median(one), statistics.median(two)
    print(f"RESULT workload=W1 global_batch=128 one_process_steps_per_s={a:.1f} "
          f"two_processes_steps_per_s={b:.1f} ratio={b / a:.3f} parameters={parameters} "
          f"allreduce_mb_per_step={parameters * 4 / 1e6:.3f}")


if __name__ == "__main__":
    main()
