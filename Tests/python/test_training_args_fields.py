"""Every field of HF's TrainingArguments against swifttrain's (issue 16).

Tests/fixtures/hf_training_args.json is HF's field list (transformers 5.25, written by
tools/hf_training_args_fields.py): each field is honoured, accepted with no effect, or refused
at any value but HF's default with a reason; none is unknown. The training_args.json a
checkpoint holds has only HF's names, with values of HF's types and enums (that file was loaded
with transformers.TrainingArguments(**json) once: tools/hf_training_args_fields.py --check).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

import swifttrain as st
from swifttrain import _swifttrain as _C
from swifttrain import nn

FIXTURE = json.loads((Path(__file__).resolve().parent.parent / "fixtures" / "hf_training_args.json").read_text())
HF = {f["name"]: f for f in FIXTURE["fields"]}
TABLE = {f["name"]: f for f in _C.TrainingArgs.fields()}
DEFAULTS = {f.name: f for f in dataclasses.fields(st.TrainingArguments)}

# Fields whose None HF resolves when the arguments are made, as the library does.
RESOLVED = {"output_dir": "trainer_output", "label_names": ["labels"]}


def same(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return not isinstance(b, bool) and math.isclose(a, b)
    return a == b


def default_of(field: dataclasses.Field):
    return field.default_factory() if field.default is dataclasses.MISSING else field.default


def test_no_hf_field_is_unknown_and_each_has_hfs_default():
    assert [f["name"] for f in FIXTURE["fields"]] == [name for name, f in TABLE.items() if f["hf"]]
    for name, hf in HF.items():
        assert name in DEFAULTS, name
        assert same(default_of(DEFAULTS[name]), hf["default"]), name
        assert TABLE[name]["category"] in ("honoured", "no_effect", "refused"), name
        assert TABLE[name]["note"], name
    assert list(DEFAULTS)[0] == "output_dir"  # positional as HF: TrainingArguments("out")
    assert st.TrainingArguments("out").output_dir == "out"


@pytest.mark.parametrize("name", [n for n in HF if TABLE[n]["category"] != "refused"])
def test_accepted_fields_take_hfs_default_and_the_library_holds_it(name):
    args = st.TrainingArguments(**{name: HF[name]["default"]})
    held = args.to_core().as_dict()[name]
    assert same(held, RESOLVED.get(name, HF[name]["default"])), (name, held)


# A value other than HF's default for each kind, for the fields without rules of their own.
OTHER = {"bool": lambda d: not d if isinstance(d, bool) else True, "int": lambda d: 3, "float": lambda d: 0.5,
         "str": lambda d: "something", "list": lambda d: ["inputs"], "dict": lambda d: {"a": 1}}
CHOICES = FIXTURE["choices"]


@pytest.mark.parametrize("name", [n for n in HF if TABLE[n]["category"] == "no_effect"]
                         + ["run_name", "do_train", "do_eval", "do_predict", "resume_from_checkpoint",
                            "remove_unused_columns"])
def test_fields_with_no_effect_keep_any_value_of_their_type(name):
    value = CHOICES[name][0] if name in CHOICES else OTHER[TABLE[name]["kind"]](HF[name]["default"])
    args = st.TrainingArguments(**{name: value})
    assert getattr(args, name) == value
    assert args.to_core().as_dict()[name] == value  # kept: training_args.json holds it


@pytest.mark.parametrize("name", [n for n in HF if TABLE[n]["category"] == "refused"])
def test_refused_fields_take_hfs_default_and_say_why_otherwise(name):
    st.TrainingArguments(**{name: HF[name]["default"]})  # e.g. fp16=False
    value = OTHER[TABLE[name]["kind"]](HF[name]["default"])
    with pytest.raises(ValueError) as error:
        st.TrainingArguments(**{name: value})
    assert str(error.value).startswith(name) and TABLE[name]["note"] in str(error.value)


def test_fp16_says_what_to_do():
    with pytest.raises(st.InvalidArgumentError, match="fp16=true: swifttrain trains in float32 on the CPU; remove it"):
        st.TrainingArguments(fp16=True)
    assert st.TrainingArguments(fp16=False, bf16=False, include_num_input_tokens_seen=False).to_core()


def test_unknown_names_raise_type_error_with_the_nearest_name():
    with pytest.raises(TypeError, match="did you mean 'learning_rate'"):
        st.TrainingArguments(learnin_rate=1e-3)
    with pytest.raises(TypeError, match="did you mean 'per_device_train_batch_size'"):
        st.TrainingArguments(per_device_train_batchsize=4)
    with pytest.raises(TypeError, match="not a field of HF's TrainingArguments"):
        st.TrainingArguments(frobnicate_the_model=True)


def test_hf_optimizer_names_and_ours_as_aliases():
    for name in ("adamw_torch", "adamw_torch_fused", "sgd", "adagrad", "rmsprop", "lion_32bit"):
        assert name in CHOICES["optim"]
        st.TrainingArguments(optim=name)
    assert st.TrainingArguments().optim == "adamw_torch_fused" == HF["optim"]["default"]
    assert st.TrainingArguments(optim="adamw").to_core().as_dict()["optim"] == "adamw_torch_fused"
    assert st.TrainingArguments(optim="lion").to_core().as_dict()["optim"] == "lion_32bit"
    with pytest.raises(ValueError, match="optim: unknown value 'adafactor'"):
        st.TrainingArguments(optim="adafactor")


def matches(value, type_text: str) -> bool:
    """Whether `value` (from JSON) is of the HF type spelt `type_text`."""
    for t in (part.strip() for part in type_text.replace("typing.Union[", "").rstrip("]").split("|" if "|" in type_text
                                                                                           else ",")):
        if t in ("None", "NoneType") and value is None:
            return True
        if t == "bool" and isinstance(value, bool):
            return True
        if t == "int" and isinstance(value, int) and not isinstance(value, bool):
            return True
        if t == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if (t == "str" or t.endswith("Strategy") or t in ("SchedulerType", "OptimizerNames")) and isinstance(value, str):
            return True
        if t.startswith("list") and isinstance(value, list) and all(isinstance(v, str) for v in value):
            return True
        if t.startswith("dict") and isinstance(value, dict):
            return True
    return False


def test_saved_training_args_json_holds_only_what_hf_loads(tmp_path, digits):
    args = st.TrainingArguments(output_dir=str(tmp_path), max_steps=2, save_steps=2, disable_tqdm=True,
                                optim="sgd", lr_scheduler_type="cosine", lr_scheduler_kwargs={"num_cycles": 0.5},
                                report_to="all", run_name="fields", dataloader_num_workers=2,
                                label_names=["labels"], ema_decay=0.5, max_micro_batch_size=4)
    X, y = digits.train
    trainer = st.Trainer(nn.Sequential(nn.Linear(64, 10)), args, train_dataset=(X[:32], y[:32]))
    trainer.train()
    checkpoint = tmp_path / "checkpoint-2"
    saved = json.loads((checkpoint / "training_args.json").read_text())
    assert set(saved) <= set(HF), set(saved) - set(HF)
    for name, value in saved.items():
        assert matches(value, HF[name]["type"]), (name, value, HF[name]["type"])
        if name in CHOICES and value is not None and name != "ddp_backend":
            assert value in CHOICES[name], (name, value)
    assert (saved["optim"], saved["report_to"], saved["run_name"]) == ("sgd", "all", "fields")
    assert saved["lr_scheduler_kwargs"] == {"num_cycles": 0.5} and saved["dataloader_num_workers"] == 2
    additions = json.loads((checkpoint / "swifttrain_args.json").read_text())
    assert (additions["ema_decay"], additions["max_micro_batch_size"]) == (0.5, 4)
    assert not set(additions) & set(saved)
    # both files read back into the same arguments
    again = st.TrainingArguments(**{k: v for k, v in {**saved, **additions}.items()})
    assert again.to_core().as_dict() == args.to_core().as_dict()


def test_log_level_sets_the_swifttrain_logger():
    import logging
    logger = logging.getLogger("swifttrain")
    before = logger.level
    try:
        st.TrainingArguments(log_level="error")
        assert logger.level == logging.ERROR
        assert st.TrainingArguments(log_level="passive").get_process_log_level() == -1
    finally:
        logger.setLevel(before)
    with pytest.raises(ValueError, match="log_level: unknown value 'loud'"):
        st.TrainingArguments(log_level="loud")


def test_the_documentation_table_is_the_librarys():
    import subprocess
    import sys
    tool = Path(__file__).resolve().parents[2] / "tools" / "training_arguments_doc.py"
    result = subprocess.run([sys.executable, str(tool), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_hf_v4_and_allennlp_names_set_the_fields_they_stand_for():
    args = st.TrainingArguments(output_dir="unused", evaluation_strategy="epoch", patience=2)
    assert (args.eval_strategy, args.early_stopping_patience) == ("epoch", 2)
    args = st.TrainingArguments(output_dir="unused", eval_strategy="epoch", validation_metric="+accuracy")
    assert (args.metric_for_best_model, args.greater_is_better) == ("accuracy", True)
    with pytest.raises(ValueError, match="evaluation_strategy: unknown value 'bogus'"):
        st.TrainingArguments(output_dir="unused", evaluation_strategy="bogus")

