"""HF's Trainer surface (issue 16, part 1): overrides the library calls, optimizers= and
create_optimizer / create_scheduler as swifttrain.optim objects training uses, the results
methods with HF's files, and the methods refused with why."""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path

import numpy as np
import pytest

import swifttrain as st
from swifttrain import nn, optim

# HF's Trainer's public names and signatures (tools/make_hf_trainer_fixture.py)
HF = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "hf_trainer" / "methods.json").read_text())
# HF's names swifttrain has not (docs/hf-trainer.md): a class attribute HF's loss scaling reads
ABSENT = {"loss_is_scaled_for_ga"}
# HF constructor parameters not accepted (docs/hf-trainer.md)
NOT_ACCEPTED = {"processing_class", "model_init", "optimizer_cls_and_kwargs", "preprocess_logits_for_metrics"}


def _args(tmp_path, **overrides):
    values = dict(output_dir=str(tmp_path), save_strategy="no", max_steps=20,
                  per_device_train_batch_size=32, learning_rate=1e-2, logging_steps=5,
                  disable_tqdm=True)
    values.update(overrides)
    return st.TrainingArguments(**values)


def _model(seed=1):
    st.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def _weights(model):
    return {name: np.array(value.detach()) for name, value in model.state_dict().items()}


def _assert_equal(a, b):
    assert list(a) == list(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


# ---- overrides the library calls ------------------------------------------------------------

def test_a_log_override_gets_every_log_and_records_what_it_passes_on(digits, tmp_path):
    seen = []

    class Tagging(st.Trainer):
        def log(self, logs, start_time=None):
            seen.append((self.state.global_step, dict(logs)))
            if "train_runtime" in logs:
                return  # not passed on: not recorded
            super().log({**logs, "tag": 1.0})

    trainer = Tagging(_model(), _args(tmp_path, eval_strategy="steps", eval_steps=10),
                      train_dataset=digits.train, eval_dataset=digits.test)
    trainer.train()
    kinds = ["eval" if "eval_loss" in logs else "train" if "train_loss" in logs else "loss"
             for _, logs in seen]
    assert kinds == ["loss", "loss", "eval", "loss", "loss", "eval", "train"]
    assert [step for step, _ in seen] == [5, 10, 10, 15, 20, 20, 20]  # the state is current
    history = trainer.state.log_history
    assert len(history) == 6 and all(entry["tag"] == 1.0 for entry in history)
    assert not any("train_runtime" in entry for entry in history)


def test_without_a_log_override_the_library_records_alone(digits, tmp_path):
    trainer = st.Trainer(_model(), _args(tmp_path), train_dataset=digits.train)
    trainer.train()
    assert len(trainer.state.log_history) == 5 and "tag" not in trainer.state.log_history[0]


def test_an_evaluate_override_runs_training_evaluations_and_its_metrics_pick_the_best(digits, tmp_path):
    calls = []

    class Scoring(st.Trainer):
        def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
            metrics = super().evaluate(eval_dataset, ignore_keys, metric_key_prefix)
            calls.append(self.state.global_step)
            metrics["eval_score"] = float(len(calls) % 2)  # best at the first evaluation
            return metrics

    trainer = Scoring(_model(), _args(tmp_path, eval_strategy="steps", eval_steps=5,
                                      metric_for_best_model="eval_score", greater_is_better=True),
                      train_dataset=digits.train, eval_dataset=digits.test)
    trainer.train()
    assert calls == [5, 10, 15, 20]
    assert trainer.state.best_metric == 1.0 and trainer.state.best_global_step == 5
    assert sum("eval_loss" in entry for entry in trainer.state.log_history) == 4
    trainer.evaluate()  # a call of one's own is the override itself
    assert len(calls) == 5


def test_an_exception_in_an_override_comes_out_of_train(digits, tmp_path):
    class Failing(st.Trainer):
        def log(self, logs, start_time=None):
            raise LookupError("from log")

    with pytest.raises(LookupError, match="from log"):
        Failing(_model(), _args(tmp_path), train_dataset=digits.train).train()


@pytest.mark.parametrize("name", ["training_step", "prediction_step"])
def test_overriding_a_loop_step_is_refused_at_construction(name, tmp_path):
    Sub = type("Sub", (st.Trainer,), {name: lambda self, *args, **kwargs: None})
    with pytest.raises(NotImplementedError, match=f"overriding Trainer.{name} is not supported.*"
                                                  f"override compute_loss"):
        Sub(_model(), _args(tmp_path))


def test_training_step_and_prediction_step_work_when_called(digits, tmp_path):
    model = _model()
    trainer = st.Trainer(model, _args(tmp_path))
    inputs = {"input": st.tensor(digits.train[0][:8].copy()), "labels": st.tensor(digits.train[1][:8].copy())}
    loss = trainer.training_step(model, inputs)
    first = model[0].weight.grad
    assert first is not None and float(abs(first).sum()) > 0 and not loss.requires_grad
    eval_loss, logits, labels = trainer.prediction_step(model, inputs, prediction_loss_only=False)
    np.testing.assert_allclose(float(eval_loss), float(loss), rtol=1e-6)
    assert tuple(logits.shape) == (8, 10) and labels is inputs["labels"]
    assert trainer.prediction_step(model, inputs, prediction_loss_only=True)[1:] == (None, None)


# ---- optimizers ---------------------------------------------------------------------------

def test_given_optimizer_and_schedule_train_as_the_arguments_would(digits, tmp_path):
    own = _model()
    st.Trainer(own, _args(tmp_path, optim="sgd", learning_rate=0.05, sgd_momentum=0.9,
                          lr_scheduler_type="cosine", warmup_steps=4),
               train_dataset=digits.train).train()
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched = st.get_scheduler("cosine", opt, num_warmup_steps=4, num_training_steps=20)
    trainer = st.Trainer(model, _args(tmp_path), train_dataset=digits.train, optimizers=(opt, sched))
    trainer.train()
    _assert_equal(_weights(own), _weights(model))
    assert trainer.optimizer is opt and trainer.lr_scheduler is sched
    assert sched.last_epoch == 20 and sched.get_last_lr() == [opt.param_groups[0]["lr"]]
    assert opt.state_dict()["state"]  # the library stepped this very optimizer


def test_create_optimizer_and_scheduler_are_what_training_uses(digits, tmp_path):
    args = _args(tmp_path, weight_decay=0.1, adam_beta2=0.99, lr_scheduler_type="linear")
    own = _model()
    st.Trainer(own, args, train_dataset=digits.train).train()
    model = _model()
    trainer = st.Trainer(model, args, train_dataset=digits.train)
    trainer.create_optimizer_and_scheduler(num_training_steps=20)
    opt = trainer.optimizer
    assert type(opt) is optim.AdamW and opt.defaults["betas"] == (0.9, 0.99)
    assert [len(g["params"]) for g in opt.param_groups] == [2, 2]
    assert [g["weight_decay"] for g in opt.param_groups] == [0.1, 0.0]
    assert trainer.get_decay_parameter_names(model) == ["0.weight", "2.weight"]
    trainer.train()
    _assert_equal(_weights(own), _weights(model))
    assert trainer.get_learning_rates() == [0.0, 0.0]  # linear, to 0 at the last step


def test_a_create_optimizer_override_is_called_by_train(digits, tmp_path):
    class HeadFaster(st.Trainer):
        def create_optimizer(self, model=None):
            if self.optimizer is None:
                body, head = self.model[0], self.model[2]
                self.optimizer = optim.SGD([{"params": body.parameters(), "lr": 0.0},
                                            {"params": head.parameters(), "lr": 0.1}])
            return self.optimizer

    model = _model()
    frozen = np.array(model[0].weight.detach())
    trainer = HeadFaster(model, _args(tmp_path, lr_scheduler_type="constant"), train_dataset=digits.train)
    trainer.train()
    np.testing.assert_array_equal(np.array(model[0].weight.detach()), frozen)  # its lr was 0
    assert trainer.get_learning_rates() == [0.0, 0.1]


def test_create_scheduler_overrides_get_the_runs_steps_when_training_starts(digits, tmp_path):
    seen = []

    class Halving(st.Trainer):
        def create_scheduler(self, num_training_steps, optimizer=None):
            seen.append(num_training_steps)
            if self.lr_scheduler is None:
                self.lr_scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
            return self.lr_scheduler

    trainer = Halving(_model(), _args(tmp_path, max_steps=-1, num_train_epochs=1, learning_rate=0.1,
                                      logging_steps=10), train_dataset=digits.train)
    trainer.train()
    assert seen == [45]  # ceil(1438 / 32) steps: HF's max_steps, known when training starts
    rates = [entry["learning_rate"] for entry in trainer.state.log_history if "learning_rate" in entry]
    assert rates == pytest.approx([0.05, 0.025, 0.0125, 0.00625])  # after steps 10, 20, 30, 40
    assert type(trainer.optimizer) is optim.AdamW and trainer.lr_scheduler.last_epoch == 45


def test_optimizers_refused_with_what_to_do(digits, tmp_path):
    model, other = _model(), _model(2)
    with pytest.raises(ValueError, match="not a parameter of the trainer's model"):
        st.Trainer(model, _args(tmp_path), optimizers=(optim.SGD(other.parameters(), lr=0.1), None))
    opt = optim.SGD(model.parameters(), lr=0.1)
    python_schedule = optim.lr_scheduler.LambdaLR(opt, lambda step: 0.5)
    with pytest.raises(NotImplementedError, match="get_scheduler"):
        st.Trainer(model, _args(tmp_path), optimizers=(opt, python_schedule))
    with pytest.raises(TypeError, match="optimizers must be a pair"):
        st.Trainer(model, _args(tmp_path), optimizers=opt)


def test_a_given_optimizer_resumes_exactly(digits, tmp_path):
    def run(directory, stop_at=None, resume=False):
        model = _model()
        opt = optim.AdamW(model.parameters(), lr=1e-2)
        sched = st.get_scheduler("linear", opt, num_warmup_steps=2, num_training_steps=20)
        trainer = st.Trainer(model, _args(directory, save_strategy="steps", save_steps=10),
                             train_dataset=digits.train, optimizers=(opt, sched))
        if stop_at:
            trainer.add_callback(_StopAt(stop_at))
        trainer.train(resume_from_checkpoint=True if resume else None)
        return _weights(model)

    whole = run(tmp_path / "whole")
    run(tmp_path / "parts", stop_at=10)
    _assert_equal(whole, run(tmp_path / "parts", resume=True))


class _StopAt(st.TrainerCallback):
    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            control.should_training_stop = True


# ---- results ------------------------------------------------------------------------------

def test_results_methods_write_hfs_files(digits, tmp_path, capsys):
    trainer = st.Trainer(_model(), _args(tmp_path), train_dataset=digits.train,
                         eval_dataset=digits.test)
    train_metrics = trainer.train().metrics
    capsys.readouterr()
    trainer.log_metrics("train", train_metrics)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "***** train metrics *****"
    assert [line.split("=")[0].strip() for line in printed[1:]] == sorted(train_metrics)
    runtime = next(line for line in printed if "train_runtime" in line)
    assert runtime.split("=")[1].strip().startswith("0:00:0")  # h:mm:ss.cc, as HF
    trainer.save_metrics("train", train_metrics)
    eval_metrics = trainer.evaluate()
    trainer.save_metrics("eval", eval_metrics)
    trainer.save_state()
    with open(tmp_path / "train_results.json") as f:
        assert json.load(f) == pytest.approx(train_metrics)
    with open(tmp_path / "all_results.json") as f:
        assert json.load(f) == pytest.approx({**train_metrics, **eval_metrics})
    state = st.TrainerState.load_from_json(tmp_path / "trainer_state.json")
    assert state.global_step == 20 and len(state.log_history) == len(trainer.state.log_history)
    assert st.Trainer.metrics_format({"eval_runtime": 3661.5, "loss": 0.123456}) == \
        {"eval_runtime": "1:01:01.50", "loss": 0.1235}


def test_refused_methods_say_why(tmp_path):
    trainer = st.Trainer(_model(), _args(tmp_path))
    for name in ("get_train_dataloader", "get_eval_dataloader", "hyperparameter_search",
                 "push_to_hub", "evaluation_loop", "floating_point_ops"):
        with pytest.raises(NotImplementedError, match=f"Trainer.{name} is not supported: .+"):
            getattr(trainer, name)()
    assert trainer.num_examples((np.zeros((7, 64), np.float32), np.zeros(7, np.int64))) == 7
    assert trainer.get_num_trainable_parameters() == 64 * 32 + 32 + 32 * 10 + 10
    with pytest.raises(ValueError, match="optimizer is None"):
        trainer.get_learning_rates()
    with pytest.raises(ValueError, match="ignore_keys names 'logits'"):
        trainer.evaluate(ignore_keys=["logits"])


def test_every_public_name_of_hfs_trainer_is_there_with_hfs_parameters():
    missing = sorted(name for name in HF["names"] if name not in ABSENT and not hasattr(st.Trainer, name))
    assert missing == []
    checked = 0
    for name, entry in HF["names"].items():
        if entry["kind"] != "method" or name in ABSENT:
            continue
        parameters = list(inspect.signature(getattr(st.Trainer, name)).parameters)
        if parameters[:1] == ["self"]:
            parameters = parameters[1:]
        if parameters == ["args", "kwargs"]:  # refused: NotImplementedError whatever is given
            continue
        hf = [p for p in entry["parameters"] if not p.startswith("_") and p not in ("kwargs", "trial",
                                                                                    "ignore_keys_for_eval")]
        assert parameters[:len(hf)] == hf, name
        checked += 1
    assert checked >= 30
    constructor = list(inspect.signature(st.Trainer).parameters)
    assert constructor[:5] == HF["constructor"][:5]  # model, args, data_collator, train/eval_dataset
    assert set(HF["constructor"]) - set(constructor) == NOT_ACCEPTED
