#!/usr/bin/env python3
"""Data-parallel training of the digits classifier over MPI: the same script alone or under
mpirun, with the same result (docs/distributed.md).

    python examples/python/train_distributed.py --batch-size 32 --out runs/one
    mpirun -np 2 python examples/python/train_distributed.py --batch-size 16 --out runs/two

Each process holds the whole model and trains on its slice of every batch (batch-size per
process, as HF's per_device_train_batch_size: 2 processes of 16 train with batches of 32);
the gradients are summed across processes before every update, so every process takes the
step one process would take with the whole batch. Only process 0 prints and writes files:
checkpoints into --out and, at the end, the weights as text into --out/weights.txt (the tests
compare them with a run alone). Nothing here names MPI: `ddp_backend` is left to its default,
which trains over MPI when mpirun started more than one process.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import swifttrain as st
from swifttrain import nn

DATA = Path(__file__).resolve().parent.parent.parent / "data" / "digits"


def load(name: str):
    table = np.loadtxt(DATA / f"{name}.csv", delimiter=",", dtype=np.int64)
    return (table[:, :64] / 16).astype(np.float32), np.ascontiguousarray(table[:, 64])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32, help="per process")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--out", default="runs/distributed")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint")
    parser.add_argument("--bucket-cap-mb", type=float, default=None,
                        help="ddp_bucket_cap_mb: gradients above it are summed during the backward pass")
    options = parser.parse_args()

    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    args = st.TrainingArguments(output_dir=options.out, per_device_train_batch_size=options.batch_size,
                                max_steps=options.steps, learning_rate=3e-3, lr_scheduler_type="constant",
                                save_strategy="steps",
                                save_steps=10, logging_steps=10, eval_strategy="steps", eval_steps=20,
                                disable_tqdm=True, ddp_bucket_cap_mb=options.bucket_cap_mb)
    trainer = st.Trainer(model, args, train_dataset=load("train"), eval_dataset=load("test"))
    trainer.train(resume_from_checkpoint=True if options.resume else None)
    metrics = trainer.evaluate()
    if trainer.is_world_process_zero():
        print(f"{trainer.state.world_size} process(es): step {trainer.state.global_step}, "
              f"eval_accuracy {metrics['eval_accuracy']:.4f}")
        weights = np.concatenate([np.asarray(t).ravel() for t in model.state_dict().values()])
        np.savetxt(Path(options.out) / "weights.txt", weights)


if __name__ == "__main__":
    main()
