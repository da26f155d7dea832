"""How the extension calls Python callbacks (issue 13: "the Python face adds nothing"): the
one TrainerState updated at every event, the control flags in both directions, EventData and
the optimizer= / lr_scheduler= objects reused between events but never while a callback keeps
them, and default callbacks that have nothing to do at a step receiving no step event."""

import copy
import io
import pickle

import pytest

import swifttrain as st


def _args(quiet_args, **kwargs):
    kwargs.setdefault("max_steps", 6)
    return quiet_args(per_device_train_batch_size=32, save_strategy="no", **kwargs)


def test_a_kept_state_is_the_trainers_one_object_with_the_latest_values(digits, mlp, quiet_args,
                                                                       silent):
    """As HF's: the state a callback keeps is the trainer's, updated at every event, so it
    reads the latest values; copy.deepcopy keeps the values of the moment."""
    kept, snapshots = [], []

    class Keep(st.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            kept.append(state)
            snapshots.append(copy.deepcopy(state))

    trainer = silent(st.Trainer(mlp, _args(quiet_args), train_dataset=digits.train, callbacks=[Keep]))
    trainer.train()
    assert all(state is trainer.state for state in kept)
    assert kept[0].global_step == 6
    assert [s.global_step for s in snapshots] == [1, 2, 3, 4, 5, 6]
    assert all(isinstance(s.loss, float) and s.loss == s.loss for s in snapshots)
    assert snapshots[0].max_steps == 6 and snapshots[0].train_batch_size == 32
    assert snapshots[2].epoch < snapshots[3].epoch
    assert type(snapshots[0]) is st.TrainerState


def test_a_value_assigned_to_the_state_lasts_until_the_next_event(digits, mlp, quiet_args, silent):
    seen = []

    class Assign(st.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            state.global_step = 1000
            state.note = "mine"  # HF's state is a plain object: attributes of one's own stay

    class Read(st.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            seen.append(("step_end", state.global_step))

        def on_step_begin(self, args, state, control, **kwargs):
            seen.append(("step_begin", state.global_step, state.note if state.global_step else None))

    trainer = silent(st.Trainer(mlp, _args(quiet_args, max_steps=2), train_dataset=digits.train,
                                callbacks=[Assign, Read]))
    trainer.train()
    assert seen == [("step_begin", 0, None), ("step_end", 1000), ("step_begin", 1, "mine"),
                    ("step_end", 1000)]
    assert trainer.state.global_step == 2  # the library's again once train() returned


def test_trainer_state_made_by_hand_copies_and_pickles():
    state = st.TrainerState(global_step=7, epoch=1.5, best_metric=0.25)
    state.extra = [1, 2]
    for clone in (copy.deepcopy(state), pickle.loads(pickle.dumps(state))):
        assert (clone.global_step, clone.epoch, clone.best_metric, clone.extra) == (7, 1.5, 0.25, [1, 2])
        assert clone.loss is None and clone.max_steps == 0 and clone.best_model_checkpoint is None
    bare = st.TrainerState.__new__(st.TrainerState)
    with pytest.raises(AttributeError, match="global_step"):
        bare.global_step


def test_event_data_kept_past_its_event_raises_and_is_never_given_again(digits, mlp, quiet_args,
                                                                      silent):
    kept, given = [], []

    class Keep(st.TrainerCallback):
        def on_step_end(self, args, state, control, event_data=None, optimizer=None,
                        lr_scheduler=None, **kwargs):
            given.append(id(event_data))  # not the object: keeping it would keep it from reuse
            if state.global_step == 2:
                kept.append((event_data, optimizer, lr_scheduler))
            if state.global_step > 2:  # a later event: the kept one is still past its event
                with pytest.raises(RuntimeError, match="used after its callback returned"):
                    kept[0][0].event
                assert event_data is not kept[0][0] and event_data.event == "on_step_end"

    trainer = silent(st.Trainer(mlp, _args(quiet_args, max_steps=4), train_dataset=digits.train,
                                callbacks=[Keep]))
    trainer.train()
    event_data, optimizer, lr_scheduler = kept[0]
    with pytest.raises(RuntimeError, match="EventData used after its callback returned; copy what you need"):
        event_data.event
    with pytest.raises(RuntimeError, match="used after its callback returned"):
        optimizer.param_groups
    with pytest.raises(RuntimeError, match="used after its callback returned"):
        lr_scheduler.get_last_lr()
    # one that nobody kept is given again (its number of references tells)
    assert given[0] == given[1]


def test_flags_go_both_ways_between_callbacks_and_the_library(digits, mlp, quiet_args, silent):
    """A flag one callback sets in place is seen by the next callback of the event and acted
    on by the library, which resets should_save before the next step; a returned control
    replaces the trainer's."""
    seen = []
    replacement = st.TrainerControl()

    class Set(st.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 2:
                control.should_save = True
            if state.global_step == 3:
                return replacement

    class Look(st.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            seen.append((state.global_step, control.should_save, control is replacement))

        def on_save(self, args, state, control, **kwargs):
            seen.append(("saved", state.global_step))

    trainer = silent(st.Trainer(mlp, _args(quiet_args, max_steps=4), train_dataset=digits.train,
                                callbacks=[Set, Look]))
    trainer.train()
    assert seen == [(1, False, False), (2, True, False), ("saved", 2), (3, False, True),
                    (4, False, True)]
    assert trainer.control is replacement


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("terminal", [False, True])
def test_a_progress_callback_with_no_bar_gets_no_step_event(digits, mlp, quiet_args, silent,
                                                            terminal):
    """Python runs at a step only for a callback with something to do: the default
    ProgressCallback writing to a file or a pipe draws no bar, so the library skips its
    on_step_end and on_prediction_step."""
    progress = st.ProgressCallback(stream=_Terminal() if terminal else io.StringIO())
    calls = []
    progress.on_step_end = lambda *args, **kwargs: calls.append("step")  # counts what arrives
    progress.on_prediction_step = lambda *args, **kwargs: calls.append("batch")
    args = quiet_args(disable_tqdm=False, max_steps=3, per_device_train_batch_size=16, per_device_eval_batch_size=128,
                      save_strategy="no")
    trainer = silent(st.Trainer(mlp, args, train_dataset=digits.train))
    trainer.add_callback(progress)
    trainer.train()
    trainer.evaluate(digits.test)
    if terminal:
        assert calls.count("step") == 3 and calls.count("batch") > 0
    else:
        assert calls == []


def test_a_subclass_s_own_step_method_always_runs(digits, mlp, quiet_args, silent):
    steps = []

    class Counting(st.ProgressCallback):
        def on_step_end(self, args, state, control, **kwargs):
            steps.append(state.global_step)

    args = quiet_args(disable_tqdm=False, max_steps=3, per_device_train_batch_size=16, per_device_eval_batch_size=128,
                      save_strategy="no")
    trainer = silent(st.Trainer(mlp, args, train_dataset=digits.train))
    trainer.add_callback(Counting(stream=io.StringIO()))
    trainer.train()
    assert steps == [1, 2, 3]


def test_a_trainer_state_of_another_type_is_refused_with_what_to_use(digits, mlp, quiet_args, silent):
    class Step(st.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            pass

    trainer = silent(st.Trainer(mlp, _args(quiet_args, max_steps=2), train_dataset=digits.train,
                                callbacks=[Step]))
    trainer.state = {"global_step": 0}
    with pytest.raises(TypeError, match="state must be a swifttrain.TrainerState, got dict"):
        trainer.train()
