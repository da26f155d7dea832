"""The GIL is released while the library trains, and the trainer refuses unsafe reentry."""

from __future__ import annotations

import sys
import threading

import pytest

import swifttrain as st


def test_other_threads_run_while_training(digits, mlp, quiet_args, silent):
    """Another thread gets the GIL during train() without any callback giving it up.

    The switch interval is raised so that the main thread never hands the GIL over on its
    own while it runs Python (the callbacks below do no I/O and never block). The helper
    thread can therefore only run if train() releases the GIL; training goes on until the
    helper has run, and gives up after max_steps (then the test fails)."""
    go, done = threading.Event(), threading.Event()
    seen = {}

    def helper():
        go.wait()
        seen["global_step"] = trainer.state.global_step
        seen["running"] = trainer._core.running
        done.set()

    class Watch(st.TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            go.set()

        def on_step_end(self, args, state, control, **kwargs):
            if done.is_set():
                control.should_training_stop = True

    max_steps = 20_000
    trainer = silent(st.Trainer(mlp, quiet_args(max_steps=max_steps),
                                train_dataset=digits.train, callbacks=[Watch]))
    thread = threading.Thread(target=helper)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        thread.start()
        trainer.train()
    finally:
        sys.setswitchinterval(interval)
        go.set()
        thread.join()
    assert seen["running"] is True, "the helper thread ran only after train() returned"
    assert trainer.state.global_step < max_steps


def test_train_from_a_callback_is_refused(digits, mlp, quiet_args, silent):
    class Nested(st.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            trainer.train()

    trainer = silent(st.Trainer(mlp, quiet_args(max_steps=5), train_dataset=digits.train,
                                callbacks=[Nested]))
    with pytest.raises(st.MisuseError, match="from one of its callbacks"):
        trainer.train()


def test_second_thread_cannot_use_a_running_trainer(digits, mlp, quiet_args, silent):
    errors = []

    def evaluate_elsewhere():
        try:
            trainer.evaluate(digits.test)
        except st.MisuseError as error:
            errors.append(error)

    class Meddle(st.TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            other = threading.Thread(target=evaluate_elsewhere)
            other.start()
            other.join()

    trainer = silent(st.Trainer(mlp, quiet_args(max_steps=5), train_dataset=digits.train,
                                callbacks=[Meddle]))
    trainer.train()
    assert len(errors) == 1 and "another thread" in str(errors[0])
    assert 0.0 <= trainer.evaluate(digits.test)["eval_accuracy"] <= 1.0


def test_reading_state_from_a_callback_is_allowed(digits, mlp, quiet_args, silent):
    lengths = []

    class ReadHistory(st.TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            lengths.append(len(state.log_history))

    trainer = silent(st.Trainer(mlp, quiet_args(max_steps=6, logging_steps=2),
                                train_dataset=digits.train, callbacks=[ReadHistory]))
    trainer.train()
    assert lengths == [1, 2, 3, 4]  # the entry of a log is in the history when on_log runs
