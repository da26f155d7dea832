"""Optimization in training on the digits (1438 training rows, 359 held out): gradient
accumulation, EMA of the weights, and a PyTorch-style loop of your own with
``swifttrain.optim`` and ``get_scheduler``."""

from __future__ import annotations

import numpy as np
import pytest

import swifttrain as st
import swifttrain.functional as F
from swifttrain import nn, optim


def _weights(model):
    return {name: value.detach().numpy().copy() for name, value in model.state_dict().items()}


def _train(digits, quiet_args, silent, eval_dataset=None, **kwargs):
    st.manual_seed(42)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    kwargs = {"num_train_epochs": 2, "learning_rate": 1e-3, "seed": 7, **kwargs}
    trainer = silent(st.Trainer(model, quiet_args(**kwargs), train_dataset=digits.train,
                                eval_dataset=eval_dataset))
    trainer.train()
    return trainer, model


@pytest.mark.parametrize("variant", [
    {"per_device_train_batch_size": 8, "gradient_accumulation_steps": 4},
    {"per_device_train_batch_size": 32, "max_micro_batch_size": 5},
], ids=["accumulate_8x4", "micro_batches_of_5"])
def test_accumulated_gradients_equal_one_big_batch(variant, digits, quiet_args, silent):
    # 1438 rows: 44 windows of 32 and a ragged last one of 30 (3 batches of 8 and one of 6).
    big_trainer, big = _train(digits, quiet_args, silent, per_device_train_batch_size=32)
    trainer, small = _train(digits, quiet_args, silent, **variant)
    assert trainer.state.global_step == big_trainer.state.global_step == 2 * 45
    expected, got = _weights(big), _weights(small)
    assert got.keys() == expected.keys()
    for name in expected:
        # atol for the few weights near zero, where float32 summation order shows.
        np.testing.assert_allclose(got[name], expected[name], rtol=2e-5, atol=1e-7,
                                   err_msg=name)


def test_ema_weights_are_used_for_evaluation_only(digits, quiet_args, silent):
    ema = dict(ema_decay=0.99, per_device_train_batch_size=32, learning_rate=5e-3)
    trainer, model = _train(digits, quiet_args, silent, eval_dataset=digits.test, **ema)
    raw = _weights(model)
    with_ema = trainer.evaluate()

    st.manual_seed(0)
    plain = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    plain.load_state_dict(raw)
    without_ema = silent(st.Trainer(plain, quiet_args(), eval_dataset=digits.test)).evaluate()
    assert with_ema["eval_loss"] != pytest.approx(without_ema["eval_loss"], rel=1e-4)

    # Training continues from the raw weights: evaluating during training changes nothing,
    # and neither does the average itself.
    evaluated, evaluated_model = _train(digits, quiet_args, silent, eval_dataset=digits.test,
                                        eval_strategy="epoch", **ema)
    assert any("eval_loss" in entry for entry in evaluated.state.log_history)
    _, no_ema_model = _train(digits, quiet_args, silent, **dict(ema, ema_decay=0.0))
    for other in (evaluated_model, no_ema_model, model):  # model: evaluate() kept them too
        weights = _weights(other)
        for name, value in raw.items():
            np.testing.assert_array_equal(weights[name], value, err_msg=name)


def test_hand_written_loop_with_adamw_and_cosine_schedule(digits):
    (X, y), (Xv, yv) = digits.train, digits.test
    st.manual_seed(42)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    epochs, batch_size = 20, 32
    steps = epochs * -(-len(X) // batch_size)
    optimizer = optim.AdamW(model.parameters(), lr=5e-3)
    scheduler = st.get_scheduler("cosine", optimizer, num_warmup_steps=20,
                                 num_training_steps=steps)
    features, labels = st.tensor(X), st.tensor(y)
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(epochs):
        order = st.tensor(rng.permutation(len(X)))
        for start in range(0, len(X), batch_size):
            rows = order[start:start + batch_size]
            loss = F.cross_entropy(model(features[rows]), labels[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
    assert scheduler.last_epoch == steps and scheduler.get_last_lr() == [0.0]
    assert np.mean(losses[-45:]) < np.mean(losses[:45]) / 10
    model.eval()
    with st.no_grad():
        predictions = model(st.tensor(Xv)).argmax(dim=1).numpy()
    assert np.mean(predictions == yv) >= 0.95
