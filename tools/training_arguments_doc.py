"""Writes docs/training-arguments.md from the library's table of arguments.

    .venv/bin/python tools/training_arguments_doc.py           # writes the page
    .venv/bin/python tools/training_arguments_doc.py --check   # exit 1 when it is out of date

The table is the library's (st_training_args_fields, Sources/SwiftTrain/Arguments/
HFArgumentFields.swift); this only lays it out, after the hand-written introduction below.
Tests/python/test_training_args_fields.py runs the check.
"""

import json
import pathlib
import sys

from swifttrain import _swifttrain as _C

PAGE = pathlib.Path(__file__).resolve().parent.parent / "docs" / "training-arguments.md"

INTRODUCTION = """# Training arguments

`TrainingArguments` (Python), `st_training_args` with `st_training_args_set` (C) and a config's
`"trainer"` object take every field of HuggingFace's `transformers.TrainingArguments` (5.25, 114
fields), by HF's name and with HF's default, plus swifttrain's additions. Each HF field is one of:

- **honoured**: used as HF uses it, by the trainer, by the Python package (`disable_tqdm`,
  `remove_unused_columns`, `log_level`) or, as in HF, by scripts only (`do_train`, `do_eval`,
  `do_predict`, `resume_from_checkpoint`, `run_name`: HF's Trainer does not read them either);
- **no effect**: accepted with any value of its type and kept (the saved `training_args.json`
  holds it), but it changes nothing on a CPU (`dataloader_pin_memory`, `torch_compile`, ...);
- **refused**: accepted at HF's default only (`fp16=False` is fine); another value is an error
  saying why and what to do (`fp16=true: swifttrain trains in float32 on the CPU; remove it`).

A name that is none of these is an error naming the nearest one (`unknown training argument
'learnin_rate'; did you mean 'learning_rate'?`); Python raises `TypeError` for it, as for any
unexpected keyword, and `ValueError` (`swifttrain.InvalidArgumentError`) for a refused value.

## Where swifttrain differs from HF on purpose

- `optim`: HF's names `adamw_torch_fused` (HF's default), `adamw_torch`, `sgd`, `adagrad`,
  `rmsprop` and `lion_32bit`, plus swifttrain's `adam` and `adadelta` (HF has neither) and the
  aliases `adamw` and `lion`. The update rules are PyTorch's (docs/optimization.md);
  `adamw_torch` and `adamw_torch_fused` are the same AdamW. HF's other optimizers (Adafactor,
  8-bit, GaLore, schedule-free, ...) are refused, naming the ones there are.
- `lr_scheduler_type`: HF's schedules except `cosine_warmup_with_min_lr` and `greedy`, plus
  PyTorch's `step` and `exponential`.
- `report_to="all"` means every integration swifttrain has: TensorBoard (event files written by
  the library). Other integrations (wandb, mlflow, trackio, ...) are refused by name.
- `train_sampling_strategy="sequential"` is the addition `dataloader_shuffle=False`;
  `"group_by_length"` is refused.
- `log_level` is set on the Python logger `"swifttrain"` when the arguments are made (HF sets
  transformers' verbosity when the Trainer is made).
- `restore_callback_states_from_checkpoint`: a resume always restores the stateful callbacks'
  states (HF's `True`); the field is kept but changes nothing.
- `prediction_loss_only=True` is refused: evaluation always reports its metrics.
- HF v5 removed `warmup_ratio`, `logging_dir` and `evaluation_strategy`; swifttrain still takes
  them (`warmup_ratio` and `logging_dir` as additions, `evaluation_strategy` as an alias).

## The saved arguments

A checkpoint holds `training_args.json`: HF's fields only, each value of HF's type (None as
null, `label_names` and `report_to` lists as JSON lists, `lr_scheduler_kwargs` as a JSON object,
`optim` as HF spells it), so `transformers.TrainingArguments(**json.load(f))` loads it
(tools/hf_training_args_fields.py --check did, with transformers 5.25). swifttrain's additions, and
a value HF has no name for (`optim="adam"`, `lr_scheduler_type="step"`, `ddp_backend="none"`),
go to `swifttrain_args.json` beside it. Setting every key of both files by name gives the same
arguments back. (`ddp_backend="mpi"` loads in HF only where torch's MPI process group can start.)
"""

CATEGORY = {"honoured": "honoured", "no_effect": "no effect", "refused": "refused"}


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def table(fields: list, hf: bool) -> str:
    rows = ["| name | default | category | what it does / why not |", "|---|---|---|---|"]
    for f in fields:
        if f["hf"] != hf:
            continue
        default = json.dumps(f["default"])
        rows.append(f"| `{f['name']}` | `{cell(default)}` | {CATEGORY[f['category']]} | {cell(f['note'])} |")
    return "\n".join(rows) + "\n"


def page() -> str:
    fields = _C.TrainingArgs.fields()
    return (INTRODUCTION + "\n## HF's fields, in HF's order\n\n" + table(fields, True)
            + "\n## swifttrain's additions\n\n"
            + "Written to `swifttrain_args.json`, not `training_args.json` (HF would refuse them).\n\n"
            + table(fields, False))


def main() -> None:
    text = page()
    if sys.argv[1:] == ["--check"]:
        if PAGE.read_text() != text:
            sys.exit(f"{PAGE} is out of date: run tools/training_arguments_doc.py")
        return
    PAGE.write_text(text)
    print(f"wrote {PAGE}", file=sys.stderr)


if __name__ == "__main__":
    main()
