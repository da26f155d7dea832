"""Callbacks that change and watch a run, written against ``event_data`` (issue 12's event
data: the batch, the outputs and the loss a callback may read and, where Composer's algorithms
may, replace).

- ``LabelSmoothing``: the loss recomputed from the outputs with smoothed targets (equals
  ``TrainingArguments(label_smoothing_factor=...)``).
- ``Mixup``: Composer's MixUp: each batch mixed with a shuffled copy of itself, the loss
  mixed with the same weight.
- ``GradientNormLogger``: the gradient norm of every parameter, logged every N steps.
- ``EpochMetricsWriter``: AllenNLP's ``metrics_epoch_N.json`` files (training and validation
  metrics of each epoch) in a directory.
- ``LRFinder``: a learning-rate range test that changes the rate through HF's ``optimizer``
  keyword.

Run it to train the digits MLP with mixup, gradient-norm logging and the epoch files, then
run the learning-rate finder:

    python examples/python/callbacks.py [--epochs N] [--out DIR]

The callbacks assume one micro-batch per step (no ``max_micro_batch_size`` splitting).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

import swifttrain as st
from swifttrain import functional as F
from swifttrain import nn

DATA = Path(__file__).resolve().parents[2] / "data" / "digits"


class LabelSmoothing(st.TrainerCallback):
    """Cross-entropy against targets smoothed by ``epsilon``, in place of the built-in loss."""

    def __init__(self, epsilon: float = 0.1) -> None:
        self.epsilon = epsilon

    def on_after_loss(self, args, state, control, event_data=None, **kwargs):
        logits, labels = event_data.outputs["logits"], event_data.batch["labels"]
        event_data.loss = F.cross_entropy(logits, labels, label_smoothing=self.epsilon)


class Mixup(st.TrainerCallback):
    """MixUp (Zhang et al., 2018): inputs ``lam * x + (1 - lam) * x[perm]`` with ``lam`` drawn
    from Beta(alpha, alpha) per batch, and the loss ``lam * CE(y) + (1 - lam) * CE(y[perm])``."""

    def __init__(self, alpha: float = 0.2, seed: int = 0) -> None:
        self.alpha = alpha
        self.rng = np.random.default_rng(seed)
        self._mix = None  # (lam, permutation) of the batch in progress

    def on_after_dataloader(self, args, state, control, event_data=None, **kwargs):
        x = np.asarray(event_data.batch["input"])
        lam = float(self.rng.beta(self.alpha, self.alpha))
        perm = self.rng.permutation(len(x))
        event_data.set_batch("input", st.tensor(lam * x + (1 - lam) * x[perm]))
        self._mix = (lam, perm)

    def on_after_loss(self, args, state, control, event_data=None, **kwargs):
        lam, perm = self._mix
        logits, labels = event_data.outputs["logits"], event_data.batch["labels"]
        shuffled = st.tensor(np.asarray(labels)[perm])
        event_data.loss = (F.cross_entropy(logits, labels) * lam
                           + F.cross_entropy(logits, shuffled) * (1 - lam))


class GradientNormLogger(st.TrainerCallback):
    """Logs ``grad_norm/<parameter>`` (the L2 norm of each parameter's gradient, before
    clipping) every ``every`` steps, from the gradients after backward."""

    def __init__(self, every: int = 10) -> None:
        self.every = every

    def on_pre_optimizer_step(self, args, state, control, model=None, event_data=None, **kwargs):
        if (state.global_step + 1) % self.every:
            return
        norms = {}
        for name, parameter in model.named_parameters():
            if parameter.grad is not None:
                norms[f"grad_norm/{name}"] = float(np.linalg.norm(np.asarray(parameter.grad)))
        event_data.log(norms)


class EpochMetricsWriter(st.TrainerCallback):
    """AllenNLP's per-epoch metrics files: ``metrics_epoch_<n>.json`` with the epoch, the
    mean training loss of the epoch (``training_loss``) and the evaluation's metrics
    (``validation_loss``, ``validation_accuracy``, ...), written at ``on_epoch_checkpoint``:
    after the epoch's evaluation (``eval_strategy="epoch"``), as AllenNLP's EpochCallback."""

    def __init__(self, directory) -> None:
        self.directory = Path(directory)
        self._losses = []

    def on_step_end(self, args, state, control, **kwargs):
        self._losses.append(state.loss)

    def on_epoch_checkpoint(self, args, state, control, metrics, **kwargs):
        if not metrics:  # an epoch without an evaluation
            return
        epoch = math.ceil(state.epoch) - 1
        entry = {"epoch": epoch, "training_loss": float(np.mean(self._losses)) if self._losses else None}
        for name, value in metrics.items():
            if name.startswith("eval_"):
                entry["validation_" + name[len("eval_"):]] = value
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / f"metrics_epoch_{epoch}.json").write_text(json.dumps(entry, indent=2))
        self._losses = []


class LRFinder(st.TrainerCallback):
    """A learning-rate finder (Smith's range test, as fastai's ``lr_find``): the learning rate
    rises geometrically from ``start`` to ``end`` over ``steps`` steps, set through HF's
    ``optimizer`` keyword at ``on_pre_optimizer_step`` (after the schedule has set the step's
    rate); the smoothed loss is recorded at ``on_step_end``, and training stops once it has
    blown up. ``suggestion()`` is a tenth of the rate at the smoothed loss's minimum."""

    def __init__(self, start: float = 1e-6, end: float = 10.0, steps: int = 100) -> None:
        self.start, self.end, self.steps = start, end, steps
        self.rates, self.losses = [], []

    def rate(self, step: int) -> float:
        return self.start * (self.end / self.start) ** (step / (self.steps - 1))

    def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        for group in optimizer.param_groups:
            group["lr"] = self.rate(state.global_step)

    def on_step_end(self, args, state, control, **kwargs):
        smoothed = state.loss if not self.losses else 0.9 * self.losses[-1] + 0.1 * state.loss
        self.rates.append(self.rate(state.global_step - 1))
        self.losses.append(smoothed)
        if not math.isfinite(smoothed) or smoothed > 4 * min(self.losses) \
                or len(self.losses) == self.steps:
            control.should_training_stop = True

    def suggestion(self) -> float:
        return self.rates[int(np.argmin(self.losses))] / 10


def find_learning_rate(out: str) -> float:
    """Runs the range test on a fresh MLP and returns the suggested learning rate."""
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    finder = LRFinder()
    args = st.TrainingArguments(output_dir=out, max_steps=finder.steps, per_device_train_batch_size=32,
                                lr_scheduler_type="constant", save_strategy="no",
                                nonfinite_grad_norm="skip", logging_strategy="no", disable_tqdm=True)
    st.Trainer(model, args, train_dataset=load("train"), callbacks=[finder]).train()
    return finder.suggestion()


def load(name: str):
    table = np.loadtxt(DATA / f"{name}.csv", delimiter=",", dtype=np.int64)
    return (table[:, :64] / 16).astype(np.float32), np.ascontiguousarray(table[:, 64])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", default="runs/callbacks")
    options = parser.parse_args()
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    args = st.TrainingArguments(output_dir=options.out, num_train_epochs=options.epochs,
                                per_device_train_batch_size=32, learning_rate=3e-3,
                                eval_strategy="epoch", save_strategy="no", logging_steps=50,
                                disable_tqdm=True)
    trainer = st.Trainer(model, args, train_dataset=load("train"), eval_dataset=load("test"),
                         callbacks=[Mixup(alpha=0.2), GradientNormLogger(every=100),
                                    EpochMetricsWriter(Path(options.out) / "metrics")])
    trainer.train()
    accuracy = trainer.evaluate()["eval_accuracy"]
    logged = sum(1 for entry in trainer.state.log_history if "grad_norm/0.weight" in entry)
    print(f"held-out accuracy: {accuracy:.4f}; gradient norms logged {logged} times; "
          f"epoch files in {Path(options.out) / 'metrics'}")
    suggestion = find_learning_rate(options.out)
    print(f"learning-rate finder: suggested rate {suggestion:.2e}")
    # (mixup trades some of the 30 epochs for regularisation)
    return 0 if accuracy >= 0.94 and 1e-4 <= suggestion <= 1e-1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
