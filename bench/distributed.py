"""Data-parallel throughput on this machine (docs/distributed.md): a workload of
shared/bench/WORKLOADS.md (W1: 784-256-256-10, AdamW, a global batch of 128; W3:
1024-2048-2048-10, a global batch of 256) trained by one process (2 BLAS threads) and by two
processes under mpirun (1 BLAS thread each, half the batch each), through the Python
Trainer; prints steps per second of each, the ratio, and the all-reduce volume of a step.
With --bucket-cap-mb A,B the two-process run is repeated for each ddp_bucket_cap_mb
(interleaved): below the model's gradient size each gradient is summed during the backward
pass (overlapped), above it all are summed in one message after it.

    python bench/distributed.py [W1|W3] [--steps 300] [--repeats 3] [--bucket-cap-mb 4,64]

Run with an interpreter that has the package installed, and Open MPI's mpirun on PATH.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

WORKLOADS = {"W1": ([784, 256, 256, 10], 128), "W3": ([1024, 2048, 2048, 10], 256)}
WORKER = r"""
import sys, time, numpy as np, swifttrain as st
from swifttrain import nn
sizes = [int(n) for n in sys.argv[1].split(",")]
batch, cap, steps = int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(0)
x = rng.uniform(-1.7, 1.7, size=(4 * batch * 2, sizes[0])).astype(np.float32)
y = rng.integers(0, sizes[-1], size=len(x), dtype=np.int64)
st.manual_seed(0)
layers = []
for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
    layers += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(sizes) - 2 else [])
model = nn.Sequential(*layers)
args = st.TrainingArguments(max_steps=steps, per_device_train_batch_size=batch, optim="adamw_torch",
                            learning_rate=1e-3, save_strategy="no", logging_strategy="no",
                            disable_tqdm=True, max_grad_norm=0.0, lr_scheduler_type="constant",
                            ddp_bucket_cap_mb=cap or None)
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
    parser.add_argument("workload", nargs="?", default="W1", choices=sorted(WORKLOADS))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--bucket-cap-mb", default="0", help="ddp_bucket_cap_mb values (0: the default)")
    options = parser.parse_args()
    sizes, batch = WORKLOADS[options.workload]
    layout = ",".join(map(str, sizes))
    caps = [float(c) for c in options.bucket_cap_mb.split(",")]
    mpi = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_btl_vader_single_copy_mechanism": "none"}
    runs = {"one": []} | {cap: [] for cap in caps}
    commands = [("one", [sys.executable, "-c", WORKER, layout, str(batch), "0"], {"OPENBLAS_NUM_THREADS": "2"}, 1)]
    commands += [(cap, ["mpirun", "--oversubscribe", "-np", "2", "-x", "OPENBLAS_NUM_THREADS=1",
                        sys.executable, "-c", WORKER, layout, str(batch // 2), str(cap)], mpi, 2) for cap in caps]
    for _ in range(options.repeats):  # interleaved; the difference of a long and a short run
        for key, command, env, size in commands:
            (long, world), (short, _) = (seconds(command + [str(options.steps)], env),
                                         seconds(command + [str(options.steps // 10)], env))
            runs[key].append((options.steps - options.steps // 10) / (long - short))
            assert world == size, world
    parameters = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    a = statistics.median(runs["one"])
    for cap in caps:
        b = statistics.median(runs[cap])
        print(f"RESULT workload={options.workload} global_batch={batch} ddp_bucket_cap_mb={cap or 'default'} "
              f"one_process_steps_per_s={a:.2f} two_processes_steps_per_s={b:.2f} ratio={b / a:.3f} "
              f"parameters={parameters} allreduce_mb_per_step={parameters * 4 / 1e6:.3f}")


if __name__ == "__main__":
    main()
