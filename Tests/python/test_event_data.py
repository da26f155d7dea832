"""Callbacks that see and change the run (issue 12): ``event_data`` (the batch, the outputs,
the loss, the error), ``Trainer.log``, priorities, and teardown that reaches every callback."""

import numpy as np
import pytest

import swifttrain as st
from swifttrain import functional as F
from swifttrain import nn


def _sgd(quiet_args, lr, **kwargs):
    return quiet_args(max_steps=12, optim="sgd", learning_rate=lr, max_grad_norm=0.0,
                      lr_scheduler_type="constant", per_device_train_batch_size=32,
                      save_strategy="no", **kwargs)


def _trainer(args, digits, silent, callbacks=()):
    st.manual_seed(42)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    return silent(st.Trainer(model, args, train_dataset=digits.train, callbacks=list(callbacks)))


def _weights(trainer):
    return [np.array(p) for p in trainer.model.parameters()]


class DoubleTheLoss(st.TrainerCallback):
    def __init__(self):
        self.calls = 0

    def on_after_loss(self, args, state, control, event_data=None, **kwargs):
        event_data.loss = event_data.loss * 2
        self.calls += 1


def test_doubling_the_loss_equals_doubling_the_learning_rate_under_sgd(digits, quiet_args, silent):
    doubler = DoubleTheLoss()
    scaled = _trainer(_sgd(quiet_args, 0.05), digits, silent, [doubler])
    scaled.train()
    doubled = _trainer(_sgd(quiet_args, 0.1), digits, silent)
    doubled.train()
    assert doubler.calls == 12
    for a, b in zip(_weights(scaled), _weights(doubled)):
        np.testing.assert_allclose(a, b, atol=1e-6)


class SmoothLabels(st.TrainerCallback):
    def on_after_loss(self, args, state, control, event_data=None, **kwargs):
        event_data.loss = F.cross_entropy(event_data.outputs["logits"], event_data.batch["labels"],
                                          label_smoothing=0.1)


def test_a_label_smoothing_callback_equals_label_smoothing_factor(digits, quiet_args, silent):
    by_callback = _trainer(quiet_args(max_steps=10, save_strategy="no"), digits, silent, [SmoothLabels()])
    by_callback.train()
    by_argument = _trainer(quiet_args(max_steps=10, save_strategy="no", label_smoothing_factor=0.1),
                           digits, silent)
    by_argument.train()
    assert by_callback.state.loss == pytest.approx(by_argument.state.loss, abs=1e-6)
    for a, b in zip(_weights(by_callback), _weights(by_argument)):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_metrics_a_callback_logs_reach_the_history_and_on_log(digits, quiet_args, silent):
    seen = []

    class LogsItsOwn(st.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            trainer.log({"my_metric": state.global_step * 10.0})

        def on_log(self, args, state, control, logs=None, **kwargs):
            if "my_metric" in logs:
                seen.append(logs["my_metric"])

    trainer = _trainer(quiet_args(max_steps=4, save_strategy="no"), digits, silent, [LogsItsOwn()])
    trainer.train()
    mine = [(h["step"], h["my_metric"]) for h in trainer.state.log_history if "my_metric" in h]
    assert mine == [(1, 10.0), (2, 20.0), (3, 30.0), (4, 40.0)]
    epochs = [h["epoch"] for h in trainer.state.log_history if "my_metric" in h]  # HF adds it
    assert epochs == sorted(epochs) and 0 < epochs[0] <= epochs[-1]
    assert seen == [10.0, 20.0, 30.0, 40.0]


def test_the_batch_can_be_replaced_after_the_dataloader(digits, quiet_args, silent):
    rows = []

    class ZeroInputs(st.TrainerCallback):
        def on_after_dataloader(self, args, state, control, event_data=None, **kwargs):
            x = event_data.batch["input"]
            event_data.set_batch("input", st.zeros(*x.shape))

        def on_after_forward(self, args, state, control, event_data=None, **kwargs):
            logits = np.array(event_data.outputs["logits"])
            rows.append(np.all(logits == logits[0]))

    _trainer(quiet_args(max_steps=3, save_strategy="no"), digits, silent, [ZeroInputs()]).train()
    assert rows == [True, True, True]


def test_callbacks_run_by_priority_then_registration(digits, quiet_args, silent):
    order = []

    def marker(name, priority=None):
        class Mark(st.TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                if state.global_step == 1:
                    order.append(name)
        if priority is not None:
            Mark.priority = priority
        return Mark()

    _trainer(quiet_args(max_steps=1, save_strategy="no"), digits, silent,
             [marker("late", 5), marker("plain"), marker("early", -1), marker("plain2", 0)]).train()
    assert order == ["early", "plain", "plain2", "late"]


def test_when_a_callback_raises_every_other_one_gets_on_exception_with_it_and_on_close(
        digits, quiet_args, silent):
    class Boom(Exception):
        pass

    seen = []

    class Raises(st.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 2:
                raise Boom("at step 2")

    class Watches(st.TrainerCallback):
        def __init__(self, name):
            self.name = name

        def on_exception(self, args, state, control, event_data=None, **kwargs):
            seen.append((self.name, "exception", type(event_data.error).__name__))

        def on_close(self, args, state, control, **kwargs):
            seen.append((self.name, "close"))

        def on_post_close(self, args, state, control, **kwargs):
            seen.append((self.name, "post_close"))

    trainer = _trainer(quiet_args(max_steps=5, save_strategy="no"), digits, silent,
                       [Watches("before"), Raises(), Watches("after")])
    with pytest.raises(Boom, match="at step 2"):
        trainer.train()
    assert seen == [("before", "exception", "Boom"), ("after", "exception", "Boom"),
                    ("before", "close"), ("after", "close"),
                    ("before", "post_close"), ("after", "post_close")]


def test_run_event_is_the_one_dispatch_point(digits, quiet_args, silent):
    """Composer's run_event: overriding it receives every event by name, and the default
    calls the method of that name."""
    names = []

    class Everything(st.TrainerCallback):
        def run_event(self, event, args, state, control, **kwargs):
            names.append(event)
            return super().run_event(event, args, state, control, **kwargs)

        def on_step_end(self, args, state, control, **kwargs):
            names.append("handled step end")

    _trainer(quiet_args(max_steps=2, save_strategy="no"), digits, silent, [Everything()]).train()
    assert names[:4] == ["on_init_end", "on_train_begin", "on_epoch_begin", "on_step_begin"]
    assert names[names.index("on_step_end") + 1] == "handled step end"
    assert {"on_before_train_batch", "on_step_checkpoint", "on_epoch_checkpoint",
            "on_close", "on_post_close"} <= set(names)
    assert names[-1] == "on_post_close"


def test_epoch_checkpoint_carries_the_epoch_s_evaluation(digits, quiet_args, silent):
    """AllenNLP's epoch callback: after the epoch's evaluation, with its metrics."""
    seen = []

    class EpochEnd(st.TrainerCallback):
        def on_epoch_checkpoint(self, args, state, control, metrics, **kwargs):
            seen.append((round(state.epoch), metrics.get("eval_loss")))

    args = quiet_args(num_train_epochs=2, eval_strategy="epoch", per_device_train_batch_size=64,
                      save_strategy="no")
    st.manual_seed(42)
    model = nn.Sequential(nn.Linear(64, 10))
    trainer = silent(st.Trainer(model, args, train_dataset=digits.train, eval_dataset=digits.test,
                                callbacks=[EpochEnd()]))
    trainer.train()
    evaluations = [h["eval_loss"] for h in trainer.state.log_history if "eval_loss" in h]
    assert seen == [(1, evaluations[0]), (2, evaluations[1])]


def test_event_data_limits(digits, quiet_args, silent):
    kept = {}

    class Tries(st.TrainerCallback):
        def on_step_end(self, args, state, control, event_data=None, **kwargs):
            if state.global_step == 1:
                kept["data"] = event_data
                with pytest.raises(st.MisuseError):
                    event_data.loss = event_data.loss  # not at on_step_end
                with pytest.raises(TypeError):
                    event_data.loss = 2.0

    _trainer(quiet_args(max_steps=1, save_strategy="no"), digits, silent, [Tries()]).train()
    with pytest.raises(RuntimeError, match="after its callback"):
        kept["data"].loss


def _native_api():
    """What a C extension uses, through ctypes: the library, PyCapsule_GetPointer, the
    st_event_callback_fn type and st_trainer_add_event_callback."""
    import ctypes
    from pathlib import Path

    library = ctypes.CDLL(str(Path(st.__file__).parent / "libswifttrain.so.0"))
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype, get_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    event_fn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                ctypes.c_void_p)
    add = library.st_trainer_add_event_callback
    add.restype = ctypes.c_int
    add.argtypes = [ctypes.c_void_p, event_fn, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int]
    return library, get_pointer, event_fn, add


def test_native_callbacks_added_through_the_capsule_run_in_one_order_with_python_ones(
        digits, quiet_args, silent):
    """A C extension can add callbacks to a trainer Python made (Trainer.c_trainer); they run
    in the one priority order with the Python callbacks. The native callbacks here are
    function pointers made with ctypes and registered through the C API."""
    library, get_pointer, event_fn, add = _native_api()
    sequence = []

    def native(name):
        def call(data, state, control, user_data):
            if len(sequence) < 5:
                sequence.append(name)
            return 0
        return event_fn(call)

    def python(name, priority):
        class Mark(st.TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                if len(sequence) < 5:
                    sequence.append(name)
        Mark.priority = priority
        return Mark()

    trainer = _trainer(quiet_args(max_steps=1, save_strategy="no"), digits, silent,
                       [python("python 2", 2), python("python 0", 0)])
    pointer = get_pointer(trainer.c_trainer, b"swifttrain.st_trainer")
    from swifttrain._callback_handler import EVENT_NAMES
    mask = 1 << EVENT_NAMES.index("on_step_end")
    first, last = native("native -1"), native("native 5")  # kept alive during training
    assert add(pointer, first, None, mask, -1) == 0
    assert add(pointer, last, None, mask, 5) == 0
    trainer.train()
    assert sequence == ["native -1", "python 0", "python 2", "native 5"]


def test_a_raising_python_callback_lets_native_callbacks_see_the_teardown(digits, quiet_args, silent):
    """When a Python callback raises, a C callback on the same trainer still gets EXCEPTION
    (with the error's message), CLOSE and POST_CLOSE; the Python exception comes out."""
    import ctypes

    from swifttrain._callback_handler import EVENT_NAMES

    library, get_pointer, event_fn, add = _native_api()
    name_of = library.st_event_name
    name_of.restype, name_of.argtypes = ctypes.c_char_p, [ctypes.c_int]
    seen = []

    def native(data, state, control, user_data):
        event = ctypes.cast(data, ctypes.POINTER(ctypes.c_uint32))[1]  # after struct_size
        seen.append(name_of(event).decode())
        return 0

    class Boom(Exception):
        pass

    class Raises(st.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            raise Boom("from Python")

    trainer = _trainer(quiet_args(max_steps=3, save_strategy="no"), digits, silent, [Raises()])
    pointer = get_pointer(trainer.c_trainer, b"swifttrain.st_trainer")
    mask = sum(1 << EVENT_NAMES.index(name) for name in ("on_exception", "on_close", "on_post_close"))
    callback = event_fn(native)  # kept alive during training
    assert add(pointer, callback, None, mask, 0) == 0
    with pytest.raises(Boom, match="from Python"):
        trainer.train()
    assert seen == ["on_exception", "on_close", "on_post_close"]


def test_on_init_end_comes_from_the_library_at_the_end_of_init(digits, quiet_args, silent):
    seen = []

    class Init(st.TrainerCallback):
        def on_init_end(self, args, state, control, event_data=None, **kwargs):
            seen.append(event_data.event)

    trainer = _trainer(quiet_args(max_steps=1, save_strategy="no"), digits, silent, [Init()])
    assert seen == ["on_init_end"]  # fired by the library (event_data) during __init__
    trainer.train()
    trainer.evaluate(digits.test)
    assert seen == ["on_init_end"]  # once


def test_an_exception_in_on_init_end_comes_out_of_the_constructor(digits, quiet_args, silent):
    class Boom(Exception):
        pass

    class Init(st.TrainerCallback):
        def on_init_end(self, args, state, control, **kwargs):
            raise Boom("in on_init_end")

    with pytest.raises(Boom, match="in on_init_end"):
        _trainer(quiet_args(max_steps=1, save_strategy="no"), digits, silent, [Init()])


def test_a_replaced_batch_that_shares_a_numpy_array_stays_valid_for_the_step(digits, quiet_args, silent):
    """st.tensor(array) shares the array (as torch.from_numpy); handed to the library by
    set_batch, it must stay alive until the step ends although the callback drops it: the run
    equals one without the callback."""
    class SameValuesNewArrays(st.TrainerCallback):
        def on_after_dataloader(self, args, state, control, event_data=None, **kwargs):
            fresh = np.array(event_data.batch["input"])  # a new array with the same values
            event_data.set_batch("input", st.tensor(fresh))
            del fresh
            np.zeros((256, 1024), dtype=np.float32)  # churn the allocator

    replaced = _trainer(quiet_args(max_steps=30, save_strategy="no"), digits, silent, [SameValuesNewArrays()])
    replaced.train()
    plain = _trainer(quiet_args(max_steps=30, save_strategy="no"), digits, silent)
    plain.train()
    for a, b in zip(_weights(replaced), _weights(plain)):
        np.testing.assert_array_equal(a, b)


def test_memory_shared_with_numpy_stays_valid_as_long_as_the_library_reads_it(digits, quiet_args, silent):
    """A forward whose result's graph reaches an st.tensor(array) it does not keep: the
    library owns a view of the array until backward is done (no use after free); the run
    equals one with library-made ones."""
    class Net(nn.Module):
        def __init__(self, shared):
            super().__init__()
            st.manual_seed(42)
            self.a, self.b = nn.Linear(64, 32), nn.Linear(32, 10)
            self.shared = shared

        def forward(self, input, labels=None):
            logits = self.b(F.relu(self.a(input)))
            n = logits.shape[0]
            scale = st.tensor(np.ones((n, 10), np.float32)) if self.shared else st.ones(n, 10)
            np.full((512, 512), 7.0, np.float32)  # churn the allocator
            return logits * scale

    args = quiet_args(max_steps=10, save_strategy="no")
    shared = silent(st.Trainer(Net(True), args, train_dataset=digits.train))
    shared.train()
    plain = silent(st.Trainer(Net(False), args, train_dataset=digits.train))
    plain.train()
    for a, b in zip(_weights(shared), _weights(plain)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_on_exception_that_raises_does_not_hide_the_run_s_error(digits, quiet_args, silent):
    class Raises(st.TrainerCallback):
        def on_exception(self, args, state, control, **kwargs):
            raise ValueError("from on_exception")

    bad = (digits.train[0][:, :7].copy(), digits.train[1])  # 7 features for a 64-input model
    trainer = _trainer(quiet_args(max_steps=3, save_strategy="no"), digits, silent, [Raises()])
    trainer.train_dataset = bad
    with pytest.raises(st.ShapeError):
        trainer.train()


def test_log_outside_a_run_raises_what_on_log_raised_and_leaves_the_trainer_usable(
        digits, quiet_args, silent):
    class Boom(Exception):
        pass

    class Fails(st.TrainerCallback):
        def __init__(self):
            self.armed = True

        def on_log(self, args, state, control, logs=None, **kwargs):
            if self.armed and "mine" in logs:
                raise Boom("on_log")

    fails = Fails()
    trainer = _trainer(quiet_args(max_steps=2, save_strategy="no"), digits, silent, [fails])
    with pytest.raises(Boom):
        trainer.log({"mine": 1.0})
    fails.armed = False
    trainer.train()  # not poisoned by the earlier exception
    assert trainer.state.global_step == 2


def test_log_from_another_thread_during_training_is_refused(digits, quiet_args, silent):
    import threading
    errors = []
    started = threading.Event()

    class Slow(st.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            started.set()
            if state.global_step == 1:
                worker.join(timeout=30)

    def log_from_elsewhere():
        started.wait(30)
        try:
            trainer.log({"bg": 1.0})
        except st.MisuseError as error:
            errors.append(error)

    worker = threading.Thread(target=log_from_elsewhere)
    trainer = _trainer(quiet_args(max_steps=2, save_strategy="no"), digits, silent, [Slow()])
    worker.start()
    trainer.train()
    assert len(errors) == 1 and "another thread" in str(errors[0])


def test_the_optimizer_s_groups_are_there_and_a_learning_rate_set_before_the_step_is_used(
        digits, quiet_args, silent):
    """HF's optimizer= keyword: param_groups as torch's; lr 0 set at on_pre_optimizer_step
    for every step leaves the weights as they were; outside training there is none."""
    seen = []

    class Freeze(st.TrainerCallback):
        def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
            groups = optimizer.param_groups
            seen.append([round(g["lr"], 12) for g in groups])
            for group in groups:
                group["lr"] = 0.0
            assert [g["lr"] for g in optimizer.param_groups] == [0.0] * len(groups)

        def on_evaluate_begin(self, args, state, control, optimizer=None, **kwargs):
            with pytest.raises(RuntimeError, match="during training only"):
                optimizer.param_groups

    trainer = _trainer(_sgd(quiet_args, 0.1), digits, silent, [Freeze()])
    before = _weights(trainer)
    trainer.train()
    trainer.evaluate(digits.test)
    assert len(seen) == 12 and seen[0] == [0.1, 0.1]  # two groups (HF's: no decay for biases)
    for a, b in zip(before, _weights(trainer)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(KeyError, match="cannot be set"):
        class SetNumParams(st.TrainerCallback):
            def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
                optimizer.param_groups[0]["num_params"] = 3
        _trainer(_sgd(quiet_args, 0.1), digits, silent, [SetNumParams()]).train()


def test_allennlp_result_of_train(digits, quiet_args, silent):
    args = quiet_args(num_train_epochs=2, eval_strategy="epoch", per_device_train_batch_size=64,
                      save_strategy="no", logging_steps=5)
    st.manual_seed(42)
    trainer = silent(st.Trainer(nn.Sequential(nn.Linear(64, 10)), args, train_dataset=digits.train,
                                eval_dataset=digits.test))
    trainer.train()
    result = trainer.allennlp_metrics()
    losses = [h["eval_loss"] for h in trainer.state.log_history if "eval_loss" in h]
    assert result["epoch"] == 1
    assert result["validation_loss"] == losses[-1]
    assert result["best_epoch"] == int(np.argmin(losses))
    assert result["best_validation_loss"] == min(losses)
    assert result["training_duration"].startswith("0:00:")
    assert "validation_runtime" not in result and "training_loss" in result


def test_a_refused_group_value_leaves_the_group_as_it_was(digits, quiet_args, silent):
    seen = []

    class Negative(st.TrainerCallback):
        def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
            group = optimizer.param_groups[0]
            with pytest.raises(ValueError):
                group["lr"] = -1.0
            seen.append(group["lr"])
            group.update(lr=0.05)
            seen.append(optimizer.param_groups[0]["lr"])

    _trainer(_sgd(quiet_args, 0.1), digits, silent, [Negative()]).train()
    assert seen[:2] == [0.1, 0.05]


def test_a_prediction_batch_must_keep_its_number_of_samples(digits, quiet_args, silent):
    class Doubles(st.TrainerCallback):
        def on_predict_before_forward(self, args, state, control, event_data=None, **kwargs):
            x = event_data.batch["input"]
            event_data.set_batch("input", st.cat([x, x], 0))

    trainer = _trainer(_sgd(quiet_args, 0.1), digits, silent, [Doubles()])
    X, _ = digits.test
    with pytest.raises(ValueError, match="keep its number of samples"):
        trainer.predict(X)


def test_the_lr_scheduler_keyword_gives_the_rates_and_the_schedule(digits, quiet_args, silent):
    seen = []

    class Watch(st.TrainerCallback):
        def on_step_begin(self, args, state, control, lr_scheduler=None, **kwargs):
            seen.append((lr_scheduler.get_last_lr()[0], lr_scheduler.factor(state.global_step)))

    args = quiet_args(max_steps=10, learning_rate=0.1, lr_scheduler_type="linear",
                      per_device_train_batch_size=32, save_strategy="no")
    _trainer(args, digits, silent, [Watch()]).train()
    assert [round(f, 6) for _, f in seen] == [round(1 - s / 10, 6) for s in range(10)]
    assert [round(lr, 6) for lr, _ in seen] == [round(0.1 * (1 - s / 10), 6) for s in range(10)]
