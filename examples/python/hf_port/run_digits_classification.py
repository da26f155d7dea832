#!/usr/bin/env python
"""HF's image-classification example script, ported to swifttrain.

The shape is that of transformers' ``examples/pytorch/image-classification/
run_image_classification.py``: arguments → ``TrainingArguments`` → ``Trainer(model, args,
train_dataset, eval_dataset, compute_metrics, data_collator, callbacks)`` →
``train(resume_from_checkpoint)`` → ``save_model`` / ``log_metrics`` / ``save_metrics`` /
``save_state`` → ``evaluate``. What changed from an HF script:

- the imports (``transformers`` / ``torch`` → ``swifttrain``);
- the model: a small CNN over ``swifttrain.nn`` in place of ``AutoModelForImageClassification``;
- the data: the 8x8 digits shipped in ``data/digits`` in place of ``datasets.load_dataset``,
  as lists of examples with ``pixel_values`` and ``label``, batched by the script's
  ``collate_fn`` as HF's is;
- ``argparse`` in place of ``HfArgumentParser`` (its few options are the script's own).

It also shows a custom callback (the evaluations written to ``eval_log.jsonl``),
``compute_metrics``, early stopping, ``load_best_model_at_end``, ``save_total_limit``,
resuming, and a ``compute_loss`` override (class-weighted cross-entropy, as HF's docs show):

    python examples/python/hf_port/run_digits_classification.py --output_dir runs/digits
    python examples/python/hf_port/run_digits_classification.py --output_dir runs/digits \\
        --num_train_epochs 8 --resume_from_checkpoint
"""

import argparse
import json
import logging
import os
import sys
from pathlib import Path

import numpy as np

import swifttrain.functional as F
from swifttrain import (EarlyStoppingCallback, Trainer, TrainerCallback, TrainingArguments, nn,
                        tensor)

logger = logging.getLogger(__name__)

DIGITS = Path(__file__).resolve().parents[3] / "data" / "digits"


def load_split(name):
    """The examples of one split: ``pixel_values`` [1, 8, 8] in [0, 1] and an int ``label``."""
    table = np.loadtxt(DIGITS / f"{name}.csv", delimiter=",", dtype=np.int64)
    pixels = (table[:, :64] / 16).astype(np.float32).reshape(-1, 1, 8, 8)
    return [{"pixel_values": p, "label": int(label)} for p, label in zip(pixels, table[:, 64])]


class DigitsCNN(nn.Module):
    """Conv(1→8, 3x3) - ReLU - MaxPool(2) - Linear(128 → 10)."""

    def __init__(self, num_labels=10):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.classifier = nn.Linear(8 * 4 * 4, num_labels)
        self.num_labels = num_labels

    def forward(self, pixel_values):
        hidden = self.pool(F.relu(self.conv(pixel_values)))
        return {"logits": self.classifier(hidden.flatten(1))}


def collate_fn(examples):
    pixel_values = np.stack([example["pixel_values"] for example in examples])
    labels = np.array([example["label"] for example in examples], dtype=np.int64)
    return {"pixel_values": pixel_values, "labels": labels}


def compute_metrics(eval_pred):
    """Accuracy, and the number of digits misread (HF's scripts use evaluate.load)."""
    predictions, labels = eval_pred
    wrong = int((np.argmax(predictions, axis=1) != labels).sum())
    return {"accuracy": 1 - wrong / len(labels), "misread": wrong}


class EvalLogCallback(TrainerCallback):
    """Appends every evaluation's metrics, with its step, to ``output_dir/eval_log.jsonl``."""

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if state.is_world_process_zero:
            os.makedirs(args.output_dir, exist_ok=True)
            with open(os.path.join(args.output_dir, "eval_log.jsonl"), "a") as f:
                f.write(json.dumps({"step": state.global_step, **metrics}) + "\n")


class WeightedLossTrainer(Trainer):
    """Cross-entropy with a weight per class (HF's docs' compute_loss override)."""

    compute_loss_calls = 0

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        logits = outputs.get("logits")
        weight = tensor([1.0] * 8 + [1.5, 1.5])  # 8 and 9 are read wrong most often
        loss = F.cross_entropy(logits.view(-1, model.num_labels), labels.view(-1), weight=weight)
        WeightedLossTrainer.compute_loss_calls += 1
        return (loss, outputs) if return_outputs else loss


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output_dir", default="runs/hf_port_digits")
    parser.add_argument("--num_train_epochs", type=float, default=6)
    parser.add_argument("--learning_rate", type=float, default=5e-3)
    parser.add_argument("--resume_from_checkpoint", action="store_true",
                        help="continue from the newest checkpoint in output_dir")
    parser.add_argument("--early_stopping_patience", type=int, default=2)
    return parser.parse_args(argv)


def main(argv=None):
    options = parse_args(argv)
    logging.basicConfig(format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
                        handlers=[logging.StreamHandler(sys.stdout)], level=logging.INFO)
    training_args = TrainingArguments(
        output_dir=options.output_dir,
        num_train_epochs=options.num_train_epochs,
        learning_rate=options.learning_rate,
        per_device_train_batch_size=32,
        per_device_eval_batch_size=128,
        eval_strategy="epoch",
        save_strategy="epoch",
        logging_steps=20,
        load_best_model_at_end=True,
        metric_for_best_model="accuracy",
        save_total_limit=2,
        remove_unused_columns=False,
        seed=42,
    )
    logger.info(f"Training/evaluation parameters {training_args}")

    train_dataset, eval_dataset = load_split("train"), load_split("test")
    model = DigitsCNN(num_labels=10)

    trainer = WeightedLossTrainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        compute_metrics=compute_metrics,
        data_collator=collate_fn,
        callbacks=[EvalLogCallback(),
                   EarlyStoppingCallback(early_stopping_patience=options.early_stopping_patience)],
    )

    # Training
    checkpoint = True if options.resume_from_checkpoint else None
    train_result = trainer.train(resume_from_checkpoint=checkpoint)
    trainer.save_model()
    trainer.log_metrics("train", train_result.metrics)
    trainer.save_metrics("train", train_result.metrics)
    trainer.save_state()

    # Evaluation
    metrics = trainer.evaluate()
    trainer.log_metrics("eval", metrics)
    trainer.save_metrics("eval", metrics)
    return trainer


if __name__ == "__main__":
    main()
