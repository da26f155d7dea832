#!/usr/bin/env python3
"""Trains a small classifier on handwritten digits with swifttrain and checks its accuracy.

    pip install .                        # from the repository root
    python examples/train_digits.py      # --epochs, --learning-rate, --seed to experiment
    python examples/train_digits.py --resume   # continue from the newest checkpoint

Each row of data/digits/{train,test}.csv holds the 64 pixels of an 8x8 image (0..16) and the
digit. The model is Linear(64, 64) - ReLU - Linear(64, 10), trained with AdamW (batch 32,
linear learning-rate decay) on the 1438 training images, evaluated on the 359 held-out images
after every epoch (with a progress bar on a terminal). A checkpoint is written after every
epoch into runs/digits/checkpoint-<step>/ (the two newest are kept); `--resume` continues
from the newest, exactly as if the run had not stopped. The script prints the final held-out
accuracy and exits with status 1 if it is below 0.95.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import swifttrain as st
from swifttrain import nn

DATA = Path(__file__).resolve().parent.parent / "data" / "digits"
REQUIRED_ACCURACY = 0.95


def load(name: str):
    """Pixels scaled to [0, 1] (float32 [n, 64]) and the digits (int64 [n])."""
    table = np.loadtxt(DATA / f"{name}.csv", delimiter=",", dtype=np.int64)
    return (table[:, :64] / 16).astype(np.float32), np.ascontiguousarray(table[:, 64])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=float, default=30)
    parser.add_argument("--learning-rate", type=float, default=5e-3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--output-dir", default="runs/digits")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the newest checkpoint in --output-dir")
    options = parser.parse_args()

    train, test = load("train"), load("test")
    st.manual_seed(options.seed)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    args = st.TrainingArguments(output_dir=options.output_dir, num_train_epochs=options.epochs,
                                per_device_train_batch_size=32,
                                learning_rate=options.learning_rate, optim="adamw_torch",
                                seed=options.seed, logging_strategy="epoch",
                                eval_strategy="epoch", save_strategy="epoch",
                                save_total_limit=2)
    trainer = st.Trainer(model=model, args=args, train_dataset=train, eval_dataset=test,
                         loss="cross_entropy")
    print(f"{model.num_parameters()} parameters, {len(train[1])} training and "
          f"{len(test[1])} held-out images, OpenBLAS kernels: {st.blas_corename()}")

    start = time.monotonic()
    out = trainer.train(resume_from_checkpoint=True if options.resume else None)
    if options.resume:
        print(f"resumed from {trainer.resumed_from_checkpoint}")
    seconds = time.monotonic() - start
    accuracy = trainer.evaluate()["eval_accuracy"]
    print(f"trained {out.global_step} steps in {seconds:.2f} s, final training loss "
          f"{out.training_loss:.4f}")
    print(f"held-out accuracy: {accuracy:.4f}")
    if accuracy < REQUIRED_ACCURACY:
        print(f"below the required {REQUIRED_ACCURACY}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
