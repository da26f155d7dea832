"""C paths of the extension the other tests do not reach: EventData.log and its errors, every
EventData getter, and the runtime functions."""

import pytest

import swifttrain as st
from swifttrain import _swifttrain as C
from swifttrain import nn


def _trainer(args, digits, silent, callbacks):
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 10))
    return silent(st.Trainer(model, args, train_dataset=digits.train, callbacks=callbacks))


def test_event_data_log_reaches_the_history_and_refuses_what_is_not_a_dict_of_numbers(
        digits, quiet_args, silent):
    seen = {}

    class Logs(st.TrainerCallback):
        def on_step_end(self, args, state, control, event_data=None, **kwargs):
            event_data.log({"from_event_data": float(state.global_step)})
            for bad, kind in (([("a", 1.0)], TypeError), ({1: 1.0}, TypeError),
                              ({"a": "x"}, TypeError)):
                with pytest.raises(kind):
                    event_data.log(bad)
            seen["event"] = event_data.event
            seen["error"] = event_data.error
            seen["outputs"] = sorted(event_data.outputs)

    trainer = _trainer(quiet_args(max_steps=2, save_strategy="no"), digits, silent, [Logs()])
    trainer.train()
    logged = [h["from_event_data"] for h in trainer.state.log_history if "from_event_data" in h]
    assert logged == [1.0, 2.0]
    assert seen == {"event": "on_step_end", "error": None, "outputs": ["logits"]}


def test_runtime_functions():
    assert C.version_string().count(".") == 2
    major, minor, patch = (int(p) for p in C.version_string().split("."))
    assert C.version_number() == major * 10000 + minor * 100 + patch
    assert "ST_EINVAL" in C.status_string(-2)
    assert C.event_name(10**6) is None and isinstance(C.event_name(0), str)
    with pytest.raises(OverflowError):
        C.event_name(2**40)
    assert isinstance(C.blas_config(), str) and isinstance(C.blas_corename(), str)
    assert C.blas_init() is None
    assert C.version_string.__text_signature__ == "($module, /)"
    with pytest.raises(st.InvalidArgumentError):
        C.TrainingArgs().set("learning_rate", "nope")
    assert isinstance(C.TrainingArgs().as_dict(), dict)
