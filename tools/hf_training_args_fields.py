"""Writes Tests/fixtures/hf_training_args.json: every field of transformers.TrainingArguments.

Run once with an environment that has HF transformers (the tests never import it):

    /tmp/peers/bin/python tools/hf_training_args_fields.py            # writes the fixture
    /tmp/peers/bin/python tools/hf_training_args_fields.py --check F  # F loads in HF?

The fixture holds, per field in HF's order, its name, its default as JSON (enums by value) and
its type as text, then the values HF's enums and `choices` allow (optim, lr_scheduler_type,
the strategies, log_level, ddp_backend) and the transformers version. `--check` loads a saved
training_args.json with `transformers.TrainingArguments(**json)`: what the Python test checks
against the fixture's names, types and values, done once against HF itself.
"""

import argparse
import dataclasses
import json
import pathlib
import sys

import transformers
from transformers import TrainingArguments
from transformers.trainer_utils import HubStrategy, IntervalStrategy, SaveStrategy, SchedulerType
from transformers.training_args import OptimizerNames, trainer_log_levels

FIXTURE = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "fixtures" / "hf_training_args.json"


def type_text(annotation) -> str:
    """`int`, `float | None`, `SchedulerType | str`, ... as HF's source spells the type."""
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("transformers.trainer_utils.", "").replace("transformers.training_args.", "")


def default_of(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        raise SystemExit(f"{f.name} has no default")
    return value.value if hasattr(value, "value") else value


def fields() -> list:
    return [{"name": f.name, "default": default_of(f), "type": type_text(f.type)}
            for f in dataclasses.fields(TrainingArguments) if f.init]


def choices() -> dict:
    metadata = {f.name: f.metadata for f in dataclasses.fields(TrainingArguments)}
    return {
        "optim": [e.value for e in OptimizerNames],
        "lr_scheduler_type": [e.value for e in SchedulerType],
        "eval_strategy": [e.value for e in IntervalStrategy],
        "logging_strategy": [e.value for e in IntervalStrategy],
        "save_strategy": [e.value for e in SaveStrategy],
        "hub_strategy": [e.value for e in HubStrategy],
        "log_level": list(trainer_log_levels.keys()),
        "log_level_replica": list(trainer_log_levels.keys()),
        "ddp_backend": list(metadata["ddp_backend"].get("choices", [])),
    }


def check(path: str) -> None:
    values = json.loads(pathlib.Path(path).read_text())
    args = TrainingArguments(**values)
    print(f"{path}: {len(values)} fields load in transformers {transformers.__version__} "
          f"(optim {args.optim.value}, lr_scheduler_type {args.lr_scheduler_type.value})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", metavar="TRAINING_ARGS_JSON", help="load this file in HF instead")
    options = parser.parse_args()
    if options.check:
        check(options.check)
        return
    data = {"transformers_version": transformers.__version__, "fields": fields(), "choices": choices()}
    lines = ",\n  ".join(json.dumps(f) for f in data["fields"])  # one field a line
    FIXTURE.write_text(f'{{"transformers_version": "{transformers.__version__}",\n "fields": [\n  {lines}\n ],\n'
                       f' "choices": {json.dumps(data["choices"], indent=2)}\n}}\n')
    print(f"wrote {FIXTURE}: {len(data['fields'])} fields", file=sys.stderr)


if __name__ == "__main__":
    main()
