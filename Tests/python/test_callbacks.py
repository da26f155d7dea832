"""HF callback semantics: event order, kwargs, control flags, errors, registration."""

from __future__ import annotations

import io
import os
import signal
import threading
import traceback
from pathlib import Path

import numpy as np
import pytest

import swifttrain as st
from swifttrain import nn
from swifttrain._callback_handler import EVENT_NAMES, event_mask

ALL_EVENTS = [name for name in dir(st.TrainerCallback) if name.startswith("on_")]


class Recorder(st.TrainerCallback):
    """Records (event, global_step, kwargs) for every HF event."""

    def __init__(self):
        self.events = []


def _recording_method(name):
    def method(self, args, state, control, **kwargs):
        self.events.append((name, state.global_step, kwargs))
    return method


for _name in ALL_EVENTS:
    setattr(Recorder, _name, _recording_method(_name))


@pytest.fixture
def small_data():
    rng = np.random.default_rng(0)
    X = rng.random((64, 8), dtype=np.float32)
    y = rng.integers(0, 3, 64)
    return X, y


@pytest.fixture
def small_model():
    st.manual_seed(1)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))


ONE_STEP = ["on_step_begin", "on_before_dataloader", "on_after_dataloader",
            "on_before_train_batch", "on_before_forward", "on_after_forward", "on_before_loss", "on_after_loss", "on_before_backward",
            "on_after_backward", "on_pre_optimizer_step", "on_optimizer_step", "on_step_end"]


def expected_training_events(epochs, steps_per_epoch, logging_steps, eval_batches):
    """The order documented in include/swifttrain.h for logging every `logging_steps` and
    evaluating at every epoch end (without gradient accumulation), with HF's default
    save_strategy "steps": the last step saves a checkpoint."""
    events, step = ["on_train_begin"], 0
    for _ in range(epochs):
        events.append("on_epoch_begin")
        for _ in range(steps_per_epoch):
            step += 1
            events += ONE_STEP
            if step % logging_steps == 0:
                events.append("on_log")
            if step == epochs * steps_per_epoch:
                events.append("on_save")
            events.append("on_step_checkpoint")
        events += ["on_epoch_end"] + evaluation_events(eval_batches, all_datasets=True)
        events.append("on_epoch_checkpoint")
    return events + ["on_log", "on_train_end", "on_close", "on_post_close"]


def evaluation_events(batches, all_datasets=False, predict=False):
    """One evaluation (or prediction) of `batches` batches, as include/swifttrain.h orders it."""
    kind = "predict" if predict else "evaluate"
    events = [f"on_{kind}_begin"] + [f"on_{kind}_batch_begin", f"on_{kind}_before_forward",
                                       f"on_{kind}_after_forward", "on_prediction_step"] * batches
    events += ["on_predict"] if predict else ["on_log", "on_evaluate"]
    return ["on_evaluate_before_all"] + events + ["on_evaluate_after_all"] if all_datasets \
        else events


def test_event_order_matches_the_header(small_data, small_model, quiet_args, silent):
    recorder = Recorder()
    args = quiet_args(num_train_epochs=2, per_device_train_batch_size=16, logging_steps=3,
                      eval_strategy="epoch")
    trainer = silent(st.Trainer(small_model, args, train_dataset=small_data,
                                eval_dataset=small_data, callbacks=[recorder]))
    assert [e[0] for e in recorder.events] == ["on_init_end"]
    recorder.events.clear()

    trainer.train()
    assert [e[0] for e in recorder.events] == expected_training_events(2, 4, 3, 64 // 8)
    assert all(kwargs["model"] is small_model for _, _, kwargs in recorder.events)
    step_ends = [step for name, step, _ in recorder.events if name == "on_step_end"]
    assert step_ends == list(range(1, 9))

    recorder.events.clear()
    trainer.evaluate()
    assert [e[0] for e in recorder.events] == (["on_evaluate_standalone_begin"]
                                               + evaluation_events(8, all_datasets=True)
                                               + ["on_evaluate_standalone_end"])
    recorder.events.clear()
    trainer.evaluate(small_data)  # a dataset given: not the trainer's evaluation datasets
    assert [e[0] for e in recorder.events] == (["on_evaluate_standalone_begin"]
                                               + evaluation_events(8)
                                               + ["on_evaluate_standalone_end"])
    recorder.events.clear()
    trainer.predict(small_data[0])
    assert [e[0] for e in recorder.events] == evaluation_events(8, predict=True)


def test_on_log_gets_logs_and_log_history_has_them(digits, mlp, quiet_args, silent):
    logged = []

    class LogCatcher(st.TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            logged.append((state.global_step, dict(logs)))

    args = quiet_args(max_steps=40, per_device_train_batch_size=32, logging_steps=10)
    trainer = silent(st.Trainer(mlp, args, train_dataset=digits.train,
                                callbacks=[LogCatcher]))
    trainer.train()
    train_logs = [(step, logs) for step, logs in logged if "loss" in logs]
    assert [step for step, _ in train_logs] == [10, 20, 30, 40]
    for step, logs in train_logs:
        assert {"loss", "learning_rate", "epoch"} <= logs.keys()
        assert logs["epoch"] == pytest.approx(step / 45)

    history = trainer.state.log_history
    assert len(history) == len(logged)
    for (step, logs), entry in zip(logged, history):
        assert entry["step"] == step and isinstance(entry["step"], int)
        assert {key: entry[key] for key in logs} == logs
    assert "train_loss" in history[-1]


def test_on_evaluate_gets_metrics(digits, mlp, quiet_args, silent):
    seen = []

    class EvalCatcher(st.TrainerCallback):
        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            seen.append((state.epoch, dict(metrics)))

    args = quiet_args(num_train_epochs=2, per_device_train_batch_size=64, eval_strategy="epoch")
    trainer = silent(st.Trainer(mlp, args, train_dataset=digits.train,
                                eval_dataset=digits.test, callbacks=[EvalCatcher()]))
    trainer.train()
    assert [epoch for epoch, _ in seen] == [pytest.approx(1.0), pytest.approx(2.0)]
    for _, metrics in seen:
        assert {"eval_loss", "eval_accuracy"} <= metrics.keys()
        assert 0.0 <= metrics["eval_accuracy"] <= 1.0
    evaluations = [entry for entry in trainer.state.log_history if "eval_loss" in entry]
    assert [entry["eval_loss"] for entry in evaluations] == [m["eval_loss"] for _, m in seen]


class Boom(st.TrainerCallback):
    def __init__(self, error, at_step=3):
        self.error, self.at_step = error, at_step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.at_step:
            raise self.error


def test_callback_exception_comes_out_of_train_unchanged(digits, mlp, quiet_args, silent):
    error = LookupError("raised in a callback")
    trainer = silent(st.Trainer(mlp, quiet_args(max_steps=50), train_dataset=digits.train,
                                callbacks=[Boom(error)]))
    with pytest.raises(LookupError) as caught:
        trainer.train()
    assert caught.value is error
    frames = [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)]
    assert "on_step_end" in frames
    assert trainer.state.global_step == 3

    trainer.pop_callback(Boom)  # the trainer is usable again
    assert trainer.train().global_step == 50


def test_ctrl_c_during_training_stops_it(digits, mlp, quiet_args, silent):
    """A SIGINT that arrives while the library trains (no Python callback running) raises
    from train() at the next step."""

    class Interrupted(Exception):
        pass

    def on_sigint(signum, frame):
        raise Interrupted()

    started = threading.Event()

    class Started(st.TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            started.set()

    def interrupt():
        started.wait()
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    max_steps = 100_000  # seconds of training: far longer than a signal takes to arrive
    trainer = silent(st.Trainer(mlp, quiet_args(max_steps=max_steps),
                                train_dataset=digits.train, callbacks=[Started]))
    previous = signal.signal(signal.SIGINT, on_sigint)
    sender = threading.Thread(target=interrupt)
    try:
        sender.start()
        with pytest.raises(Interrupted):
            trainer.train()
    finally:
        sender.join()
        signal.signal(signal.SIGINT, previous)
    assert 0 < trainer.state.global_step < max_steps


def test_callbacks_may_be_classes(digits, mlp, quiet_args, silent):
    class StopAt7(st.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 7:
                control.should_training_stop = True

    trainer = silent(st.Trainer(mlp, quiet_args(max_steps=100), train_dataset=digits.train,
                                callbacks=[StopAt7]))
    assert any(isinstance(cb, StopAt7) for cb in trainer.callback_handler.callbacks)
    assert trainer.train().global_step == 7

    trainer.pop_callback(StopAt7)
    trainer.add_callback(StopAt7)
    assert trainer.train().global_step == 7


def test_add_pop_remove_callback(digits, mlp, quiet_args, silent):
    class Counter(st.TrainerCallback):
        def __init__(self):
            self.steps = 0

        def on_step_end(self, args, state, control, **kwargs):
            self.steps += 1

    first, second = Counter(), Counter()
    trainer = silent(st.Trainer(mlp, quiet_args(max_steps=5), train_dataset=digits.train,
                                callbacks=[first]))
    trainer.add_callback(second)
    trainer.train()
    assert (first.steps, second.steps) == (5, 5)

    assert trainer.pop_callback(second) is second
    trainer.remove_callback(Counter)  # by class: the first Counter left, i.e. `first`
    assert trainer.pop_callback(Counter) is None
    trainer.train()
    assert (first.steps, second.steps) == (5, 5)


def test_returned_control_replaces_the_trainers(digits, mlp, quiet_args, silent):
    class NewControl(st.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 4:
                return st.TrainerControl(should_training_stop=True)
            return None

    trainer = silent(st.Trainer(mlp, quiet_args(max_steps=100), train_dataset=digits.train,
                                callbacks=[NewControl]))
    before = trainer.control
    assert trainer.train().global_step == 4
    assert trainer.control is not before and trainer.control.should_training_stop


def test_stop_is_sticky_across_callbacks(digits, mlp, quiet_args, silent):
    class Stop(st.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 5:
                control.should_training_stop = True
            return control

    class Unstop(st.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            control.should_training_stop = False
            return control

    trainer = silent(st.Trainer(mlp, quiet_args(max_steps=100), train_dataset=digits.train,
                                callbacks=[Stop, Unstop]))
    assert trainer.train().global_step == 5


def test_callback_requests_log_and_evaluation(digits, mlp, quiet_args, silent):
    """A callback sets should_log / should_evaluate at step 3 and 7: the trainer logs and
    evaluates right after that step although logging_steps and eval_strategy would not."""
    seen = []

    class Request(st.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step in (3, 7):
                control.should_log = True
                control.should_evaluate = state.global_step == 7

        def on_log(self, args, state, control, logs=None, **kwargs):
            seen.append(("log", state.global_step, "eval_loss" in logs))

        def on_evaluate(self, args, state, control, **kwargs):
            seen.append(("evaluate", state.global_step))

    trainer = silent(st.Trainer(mlp, quiet_args(max_steps=10), train_dataset=digits.train,
                                eval_dataset=digits.test, callbacks=[Request]))
    trainer.train()
    assert seen == [("log", 3, False), ("log", 7, False), ("log", 7, True), ("evaluate", 7),
                    ("log", 10, False)]  # the last: the train summary


def test_wrong_return_value_is_reported(digits, mlp, quiet_args, silent):
    class ReturnsTrue(st.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            return True

    trainer = silent(st.Trainer(mlp, quiet_args(max_steps=10), train_dataset=digits.train,
                                callbacks=[ReturnsTrue]))
    with pytest.raises(TypeError, match=r"ReturnsTrue\.on_step_end returned True.*TrainerControl"):
        trainer.train()


def test_only_overridden_events_are_registered():
    assert EVENT_NAMES[0] == "on_train_begin" and "on_step_end" in EVENT_NAMES
    assert event_mask(st.TrainerCallback()) == 0

    class OnlyLog(st.TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            pass

    assert event_mask(OnlyLog()) == 1 << EVENT_NAMES.index("on_log")
    assert event_mask(st.PrinterCallback()) == 1 << EVENT_NAMES.index("on_log")
    progress = {"on_train_begin", "on_step_end", "on_log", "on_train_end",
                "on_evaluate_begin", "on_predict_begin", "on_prediction_step", "on_evaluate",
                "on_predict"}
    assert event_mask(st.ProgressCallback()) == sum(1 << EVENT_NAMES.index(n) for n in progress)


def test_on_predict_gets_metrics(small_data, small_model, quiet_args, silent):
    recorder = Recorder()
    trainer = silent(st.Trainer(small_model, quiet_args(), callbacks=[recorder]))
    trainer.predict(small_data)
    name, _, kwargs = recorder.events[-1]
    assert name == "on_predict"
    assert {"test_loss", "test_accuracy"} <= kwargs["metrics"].keys()


def test_default_callbacks(small_model, quiet_args):
    shown = st.Trainer(small_model, quiet_args(disable_tqdm=False))
    assert [type(cb) for cb in shown.callback_handler.callbacks] == [st.ProgressCallback]
    quiet = st.Trainer(small_model, quiet_args(disable_tqdm=True))
    assert [type(cb) for cb in quiet.callback_handler.callbacks] == [st.PrinterCallback]
    default = st.Trainer(small_model)
    assert default.args.output_dir == "trainer_output" and default.args.learning_rate == 5e-5


def test_progress_prints_plain_lines_when_not_a_terminal(small_data, small_model, quiet_args,
                                                         capsys):
    args = quiet_args(disable_tqdm=False, max_steps=4, logging_steps=2,
                      per_device_train_batch_size=16)
    st.Trainer(small_model, args, train_dataset=small_data).train()
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("{'loss'") for line in lines) == 2
    assert "train_loss" in lines[-1]
    assert not any("\r" in line or "%|" in line for line in lines)


def test_progress_draws_a_bar_on_a_terminal(small_data, small_model, quiet_args, silent, builtin_bar):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    args = quiet_args(disable_tqdm=False, max_steps=4, logging_steps=2,
                      per_device_train_batch_size=16)
    trainer = silent(st.Trainer(small_model, args, train_dataset=small_data))
    trainer.add_callback(st.ProgressCallback(stream=screen))
    trainer.train()
    text = screen.getvalue()
    assert "train 100%|" in text and "4/4" in text
    assert "\r\x1b[K{'loss'" in text  # logs are printed above the bar


def test_progress_draws_an_eval_bar_over_the_training_bar(digits, mlp, quiet_args, silent,
                                                           builtin_bar):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    seen = []

    class Lengths(st.TrainerCallback):
        def on_prediction_step(self, args, state, control, eval_dataloader=None, **kwargs):
            seen.append(len(eval_dataloader))

    X, y = digits.test
    args = quiet_args(disable_tqdm=False, max_steps=4, eval_strategy="steps", eval_steps=4,
                      per_device_eval_batch_size=100)
    trainer = silent(st.Trainer(mlp, args, train_dataset=digits.train, eval_dataset=(X, y),
                                callbacks=[Lengths]))
    trainer.add_callback(st.ProgressCallback(stream=screen))
    trainer.train()
    batches = -(-len(y) // 100)
    assert seen == [batches] * batches  # HF's len(eval_dataloader)
    text = screen.getvalue()
    assert f"eval 100%|" in text and f"{batches}/{batches}" in text
    assert text.rstrip("\n").split("\r")[-1].startswith("train 100%|")  # the training bar stays
    trainer.predict(X)
    assert f"eval 100%|" in screen.getvalue().split("train 100%|")[-1]


def test_progress_shows_nothing_when_disabled(small_data, small_model, quiet_args, silent):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    args = quiet_args(disable_tqdm=True, max_steps=4, logging_steps=2,
                      per_device_train_batch_size=16)
    trainer = silent(st.Trainer(small_model, args, train_dataset=small_data))
    trainer.add_callback(st.ProgressCallback(stream=screen))
    trainer.train()
    assert screen.getvalue() == ""


def test_printer_callback_prints_logs(small_data, small_model, quiet_args, capsys):
    args = quiet_args(disable_tqdm=True, max_steps=2, logging_steps=1,
                      per_device_train_batch_size=16)
    st.Trainer(small_model, args, train_dataset=small_data).train()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("{'loss': ") and len(lines) == 3


def test_ctrl_c_finishes_the_step_runs_train_end_and_raises_keyboard_interrupt(
        digits, mlp, quiet_args, silent):
    """Ctrl-C (the default SIGINT handler) during train(): the current step completes,
    on_train_end runs, and train() then raises KeyboardInterrupt; the state is consistent."""
    started = threading.Event()
    seen = []

    class Recorder(st.TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            started.set()

        def on_step_end(self, args, state, control, **kwargs):
            seen.append(("step_end", state.global_step))

        def on_train_end(self, args, state, control, **kwargs):
            seen.append(("train_end", state.global_step))

    def interrupt():
        started.wait()
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    max_steps = 100_000
    trainer = silent(st.Trainer(mlp, quiet_args(max_steps=max_steps),
                                train_dataset=digits.train, callbacks=[Recorder]))
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    sender = threading.Thread(target=interrupt)
    try:
        sender.start()
        with pytest.raises(KeyboardInterrupt):
            trainer.train()
    finally:
        sender.join()
        signal.signal(signal.SIGINT, previous)
    step = trainer.state.global_step
    assert 0 < step < max_steps
    assert seen[-1] == ("train_end", step) and seen[-2] == ("step_end", step)
    assert "train_runtime" in trainer.state.log_history[-1]
    # the step it stopped at was saved (HF's default save_strategy): the run can be resumed
    assert (Path("trainer_output") / f"checkpoint-{step}" / "manifest.json").exists()
    # the trainer is usable afterwards, and an evaluation is not affected by the old Ctrl-C
    assert "eval_loss" in trainer.evaluate(digits.test)
    st.manual_seed(5)
    again = silent(st.Trainer(nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)),
                              quiet_args(max_steps=step + 3, save_strategy="no"),
                              train_dataset=digits.train))
    again.train(resume_from_checkpoint=True)
    assert again.state.global_step == step + 3


def test_ctrl_c_does_not_hide_a_failure_of_the_stop_s_checkpoint(digits, mlp, quiet_args, silent):
    """When the checkpoint of the step Ctrl-C stopped at cannot be written, train() raises
    that error (with the KeyboardInterrupt as its __context__), not a bare KeyboardInterrupt
    that would let the user believe the run can be resumed."""
    Path("blocker").write_text("")  # output_dir below a regular file: saving fails

    class CtrlC(st.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 3:
                os.kill(os.getpid(), signal.SIGINT)

    trainer = silent(st.Trainer(mlp, quiet_args(max_steps=50, save_steps=1000, output_dir="blocker/out"),
                                train_dataset=digits.train, callbacks=[CtrlC]))
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(st.FileError, match="blocker") as raised:
            trainer.train()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert isinstance(raised.value.__context__, KeyboardInterrupt)
    assert trainer.state.global_step == 3


def test_ctrl_c_in_an_evaluation_callback_stops_it_there(digits, mlp, quiet_args, silent):
    X, y = digits.test
    seen = []

    class CtrlCAtTheSecondBatch(st.TrainerCallback):
        def on_prediction_step(self, args, state, control, **kwargs):
            seen.append(len(seen))
            if len(seen) == 2:
                os.kill(os.getpid(), signal.SIGINT)

    trainer = silent(st.Trainer(mlp, quiet_args(per_device_eval_batch_size=8),
                                callbacks=[CtrlCAtTheSecondBatch]))
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            trainer.evaluate((X, y))
    finally:
        signal.signal(signal.SIGINT, previous)
    assert len(seen) == 2  # not the evaluation's len(X) / 8 batches
    assert "eval_loss" in trainer.evaluate((X, y))


def test_terminate_on_nan_stops_with_the_last_good_weights(digits, mlp, quiet_args, silent):
    X, y = digits.train
    X = X.copy()
    X[100, 0] = np.nan
    trainer = silent(st.Trainer(mlp, quiet_args(max_steps=1000, nonfinite_grad_norm="skip"),
                                train_dataset=(X, y), callbacks=[st.TerminateOnNaNCallback]))
    trainer.train()
    # the bad sample comes within the first epoch (180 steps of 8); that step is skipped
    assert trainer.state.global_step <= 180 and np.isnan(trainer.state.loss)
    assert trainer.state.skipped_steps == 1
    assert all(np.isfinite(p.detach().numpy()).all() for p in mlp.parameters())


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_metrics_logger_writes_every_log_entry(digits, mlp, quiet_args, silent, tmp_path, fmt):
    import csv
    import json
    path = tmp_path / f"metrics.{fmt}"
    trainer = silent(st.Trainer(mlp, quiet_args(max_steps=20, logging_steps=5,
                                                eval_strategy="steps", eval_steps=10),
                                train_dataset=digits.train, eval_dataset=digits.test,
                                callbacks=[st.MetricsLoggerCallback(path, format=fmt)]))
    trainer.train()
    history = trainer.state.log_history
    if fmt == "jsonl":
        rows = [json.loads(line) for line in path.read_text().splitlines()]
    else:
        with open(path, newline="") as f:
            rows = [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]
    assert len(rows) == len(history) == 7  # 4 step logs, 2 evaluations, the train summary
    for row, entry in zip(rows, history):
        assert row == pytest.approx(entry, rel=0, abs=0)


def test_library_callbacks_run_no_python_per_event(digits, mlp, quiet_args, silent, tmp_path):
    """TerminateOnNaN and the metrics logger are the library's: no Python handler is
    registered for their events, and the library cannot unregister them."""
    import json
    log = 1 << EVENT_NAMES.index("on_log")
    nan_stop, logger = st.TerminateOnNaNCallback(), st.MetricsLoggerCallback(tmp_path / "m.jsonl")
    assert event_mask(nan_stop) == 0 and event_mask(logger) == 0
    trainer = silent(st.Trainer(mlp, quiet_args(max_steps=6, logging_steps=2),
                                train_dataset=digits.train, callbacks=[logger]))
    trainer.add_callback(nan_stop)  # after creation too
    assert trainer.callback_handler.callbacks == [logger, nan_stop]
    assert all(registration is None for _, registration in trainer.callback_handler._entries)
    assert not any(event_mask(c) & log for c in trainer.callback_handler.callbacks)
    for remove in (trainer.pop_callback, trainer.remove_callback):
        for callback in (logger, st.TerminateOnNaNCallback, st.MetricsLoggerCallback):
            with pytest.raises(ValueError, match="cannot unregister"):
                remove(callback)
    assert trainer.callback_handler.callbacks == [logger, nan_stop]
    trainer.train()
    rows = [json.loads(line) for line in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert rows == trainer.state.log_history and [r["step"] for r in rows] == [2, 4, 6, 6]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_metrics_logger_file_is_what_its_writer_gives(digits, mlp, quiet_args, silent, tmp_path,
                                                       fmt):
    """Byte for byte the file the Python callback wrote when it handed each on_log to the
    library's writer: the log entries, without "step", at their step."""
    trainer = silent(st.Trainer(mlp, quiet_args(max_steps=20, logging_steps=5, eval_strategy="steps",
                                                eval_steps=10),
                                train_dataset=digits.train, eval_dataset=digits.test,
                                callbacks=[st.MetricsLoggerCallback(tmp_path / f"m.{fmt}", format=fmt)]))
    trainer.train()
    replay = st._swifttrain.MetricsLogger(str(tmp_path / f"replay.{fmt}"), 0 if fmt == "jsonl" else 1)
    for entry in trainer.state.log_history:
        replay.write({k: v for k, v in entry.items() if k != "step"}, entry["step"])
    del replay
    assert (tmp_path / f"m.{fmt}").read_bytes() == (tmp_path / f"replay.{fmt}").read_bytes()


def test_terminate_on_nan_added_later_stops_as_before(digits, mlp, quiet_args, silent):
    X, y = digits.train
    X = X.copy()
    X[100, 0] = np.nan
    steps = []

    class Steps(st.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            steps.append((state.global_step, bool(np.isfinite(state.loss))))

    trainer = silent(st.Trainer(mlp, quiet_args(max_steps=1000, nonfinite_grad_norm="skip"),
                                train_dataset=(X, y), callbacks=[Steps]))
    trainer.add_callback(st.TerminateOnNaNCallback())
    trainer.train()
    # it stopped at the first step with a non-finite loss, which was the last
    assert steps[-1] == (trainer.state.global_step, False)
    assert all(finite for _, finite in steps[:-1])


def test_metrics_logger_errors(tmp_path):
    with pytest.raises(st.FileError, match="nonexistent"):
        st.MetricsLoggerCallback(tmp_path / "nonexistent" / "m.jsonl")
    with pytest.raises(OSError):
        st.MetricsLoggerCallback(tmp_path / "nonexistent" / "m.jsonl")
    with pytest.raises(ValueError, match="'jsonl' or 'csv'"):
        st.MetricsLoggerCallback(tmp_path / "m.txt", format="txt")


GOLDEN_EVENTS = (Path(__file__).resolve().parents[1] / "fixtures" / "events"
                 / "ga4_early_stopping.txt")


def test_golden_event_sequence_matches_swift_and_c(digits, quiet_args, silent):
    """The run of Tests/fixtures/events/README.md: the same (event, global_step, epoch)
    sequence the Swift and C tests see."""
    lines = []

    def record(name):
        def method(self, args, state, control, **kwargs):
            lines.append(f"{name} {state.global_step} {state.epoch:.4f}")
        return method

    Recorder = type("Recorder", (st.TrainerCallback,),
                    {name: record(name) for name in EVENT_NAMES})
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    X, y = digits.train
    Xt, yt = digits.test
    args = quiet_args(per_device_train_batch_size=8, per_device_eval_batch_size=10,
                      gradient_accumulation_steps=4, num_train_epochs=3, logging_steps=2,
                      eval_strategy="steps", eval_steps=4, early_stopping_patience=1,
                      early_stopping_threshold=100, save_steps=2)
    trainer = silent(st.Trainer(model, args, train_dataset=(X[:160], y[:160]),
                                eval_dataset=(Xt[:20], yt[:20]), callbacks=[Recorder]))
    trainer.train()
    assert sorted(p.name for p in Path("trainer_output").iterdir()) == [
        "checkpoint-2", "checkpoint-4", "checkpoint-6", "checkpoint-8"]
    golden = GOLDEN_EVENTS.read_text().splitlines()
    assert len(lines) == len(golden)
    for i, (got, expected) in enumerate(zip(lines, golden)):
        assert got == expected, f"line {i + 1}"


def test_hf_early_stopping_callback_configures_the_library(digits, mlp, quiet_args, silent):
    args = quiet_args(num_train_epochs=20, eval_strategy="epoch", per_device_train_batch_size=32)
    evaluations = []

    class Count(st.TrainerCallback):
        def on_evaluate(self, args, state, control, **kwargs):
            evaluations.append(state.global_step)

    # a threshold no evaluation meets: stop after `patience` evaluations past the first
    stopper = st.EarlyStoppingCallback(early_stopping_patience=2, early_stopping_threshold=10.0)
    trainer = silent(st.Trainer(mlp, args, train_dataset=digits.train, eval_dataset=digits.test,
                                callbacks=[stopper, Count]))
    trainer.train()
    assert evaluations == [45, 90, 135]
    losses = [h["eval_loss"] for h in trainer.state.log_history if "eval_loss" in h]
    assert trainer.state.best_metric == min(losses)  # best tracking ignores the threshold, as HF
    with pytest.raises(ValueError, match="pass it in Trainer"):
        trainer.add_callback(st.EarlyStoppingCallback)
    with pytest.raises(ValueError, match="pass it in Trainer"):
        trainer.pop_callback(stopper)
    with pytest.raises(ValueError, match="early_stopping_patience=0"):
        st.EarlyStoppingCallback(early_stopping_patience=0)
    # the threshold is the library's to check, when the trainer is created
    with pytest.raises(ValueError, match="early_stopping_threshold"):
        st.Trainer(mlp, args, train_dataset=digits.train, eval_dataset=digits.test,
                   callbacks=[st.EarlyStoppingCallback(early_stopping_threshold=-1.0)])
    # without evaluation there is nothing to stop on: refused before training
    with pytest.raises(ValueError, match="eval"):
        st.Trainer(mlp, quiet_args(), train_dataset=digits.train,
                   callbacks=[st.EarlyStoppingCallback])


def test_metrics_logger_write_survives_a_value_that_changes_the_dict(tmp_path):
    import json
    logs = {"a": 1.0}

    class Sneaky:
        def __float__(self):
            for i in range(200):
                logs[f"k{i}"] = 0.0
            logs.pop("a", None)
            return 2.0

    logs["b"] = Sneaky()
    logger = st._swifttrain.MetricsLogger(str(tmp_path / "m.jsonl"), 0)
    logger.write(logs, 3)  # the items as they were when write was called
    assert json.loads((tmp_path / "m.jsonl").read_text()) == {"step": 3, "a": 1.0, "b": 2.0}


def test_an_aborted_evaluation_does_not_leave_its_progress_bar_behind(digits, mlp, quiet_args,
                                                                     silent):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    X, y = digits.test
    failing = {"on": True}

    def compute_metrics(p):
        if failing["on"]:
            raise RuntimeError("boom")
        return {}

    trainer = silent(st.Trainer(mlp, quiet_args(disable_tqdm=False, per_device_eval_batch_size=100),
                                compute_metrics=compute_metrics))
    trainer.add_callback(st.ProgressCallback(stream=screen))
    with pytest.raises(RuntimeError, match="boom"):
        trainer.evaluate((X, y))
    failing["on"] = False
    trainer.evaluate((X[:150], y[:150]))
    # the second evaluation (150 rows, batches of 100) draws a fresh bar of 2 batches, not
    # the aborted one's 4 continued to 6/4
    assert "| 2/2 [" in screen.getvalue() and "6/4" not in screen.getvalue()
