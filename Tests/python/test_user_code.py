"""The Trainer's contract with user code (HF's): models with a forward written in Python,
their own loss, datasets of any kind with a data collator."""

from __future__ import annotations

import math
import numpy as np
import pytest

import swifttrain as st
import swifttrain.functional as F
from swifttrain import nn


def _args(tmp_path=None, **overrides):
    values = dict(output_dir=str(tmp_path) if tmp_path else "unused", save_strategy="no",
                  max_steps=30, per_device_train_batch_size=32, learning_rate=1e-2,
                  logging_strategy="no", disable_tqdm=True)
    values.update(overrides)
    return st.TrainingArguments(**values)


def _weights(model):
    return {name: np.array(value.detach()) for name, value in model.state_dict().items()}


def _assert_same(a, b, atol=0.0):
    assert list(a) == list(b)
    for name in a:
        if atol:
            np.testing.assert_allclose(a[name], b[name], atol=atol, err_msg=name)
        else:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


class Net(nn.Module):
    """The digits MLP with a forward of its own."""

    def __init__(self, own_loss=False):
        super().__init__()
        self.body = nn.ModuleList([nn.Linear(64, 32), nn.ReLU()])
        self.head = nn.Linear(32, 10)
        self.own_loss = own_loss

    def forward(self, x, labels=None):
        for layer in self.body:
            x = layer(x)
        logits = self.head(x)
        if self.own_loss and labels is not None:
            return {"loss": F.cross_entropy(logits, labels), "logits": logits}
        return logits


def _sequential():
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def test_registration_and_names_follow_torch():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(st.ones(3))
            self.register_buffer("steps", st.zeros(1))
            self.register_buffer("cache", st.zeros(2), persistent=False)
            self.blocks = nn.ModuleList([nn.Linear(3, 3) for _ in range(2)])
            self.heads = nn.ModuleDict({"a": nn.Linear(3, 1), "b": nn.Linear(3, 2)})
            self.plain = st.ones(3, requires_grad=True)  # as torch: not a parameter

    m = Model()
    assert list(m.state_dict()) == ["scale", "steps", "blocks.0.weight", "blocks.0.bias",
                                    "blocks.1.weight", "blocks.1.bias", "heads.a.weight",
                                    "heads.a.bias", "heads.b.weight", "heads.b.bias"]
    assert [n for n, _ in m.named_parameters()][:1] == ["scale"]
    assert isinstance(m.scale, nn.Parameter) and m.scale.requires_grad
    assert m.num_parameters() == 3 + 2 * 12 + 4 + 8
    assert len(m.blocks) == 2 and "a" in m.heads and m.heads["b"].out_features == 2
    with pytest.raises(TypeError, match="Parameter or None expected"):
        m.scale = st.ones(3)
    m.load_state_dict({k: np.full(v.shape, 2.0, np.float32) for k, v in m.state_dict().items()})
    assert float(m.blocks[1].bias.detach().numpy()[0]) == 2.0
    assert m.scale.tolist() == [2.0, 2.0, 2.0]


def test_python_forward_trains_like_the_same_builtin_model(digits):
    st.manual_seed(7)
    built = _sequential()
    st.manual_seed(7)
    custom = Net()
    a = st.Trainer(built, _args(), train_dataset=digits.train).train()
    b = st.Trainer(custom, _args(), train_dataset=digits.train).train()
    assert a.training_loss == b.training_loss
    assert list(_weights(custom)) == ["body.0.weight", "body.0.bias", "head.weight", "head.bias"]
    for x, y in zip(_weights(built).values(), _weights(custom).values()):
        np.testing.assert_array_equal(x, y)


def test_a_model_returning_its_loss_trains_as_the_builtin_loss(digits):
    st.manual_seed(3)
    plain = Net()
    st.manual_seed(3)
    own = Net(own_loss=True)
    args = _args(gradient_accumulation_steps=3, max_micro_batch_size=16)
    st.Trainer(plain, args, train_dataset=digits.train).train()
    st.Trainer(own, args, train_dataset=digits.train).train()
    _assert_same(_weights(plain), _weights(own), atol=1e-5)


def test_compute_loss_as_a_callable_and_as_a_subclass_override(digits):
    st.manual_seed(5)
    reference = Net()
    st.manual_seed(5)
    as_callable = Net()
    st.manual_seed(5)
    as_override = Net()
    st.manual_seed(5)
    as_func = Net()
    st.Trainer(reference, _args(label_smoothing_factor=0.1), train_dataset=digits.train).train()

    seen = []

    def smoothed(model, inputs, return_outputs=False, num_items_in_batch=None):
        seen.append(num_items_in_batch)
        logits = model(inputs["input"])
        loss = F.cross_entropy(logits, inputs["labels"], label_smoothing=0.1)
        return (loss, {"logits": logits}) if return_outputs else loss

    st.Trainer(as_callable, _args(), train_dataset=digits.train, compute_loss=smoothed).train()

    class SmoothingTrainer(st.Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            return smoothed(model, inputs, return_outputs, num_items_in_batch)

    SmoothingTrainer(as_override, _args(), train_dataset=digits.train).train()
    st.Trainer(as_func, _args(), train_dataset=digits.train,
               compute_loss_func=lambda outputs, labels, n: F.cross_entropy(
                   outputs.logits, labels, label_smoothing=0.1)).train()
    assert seen[-1] == 32  # HF's num_items_in_batch: the labels of the step
    for model in (as_callable, as_override, as_func):
        _assert_same(_weights(reference), _weights(model), atol=1e-6)


def test_compute_loss_is_asked_for_the_loss_alone_in_training_as_in_hf(digits):
    # HF's training_step calls compute_loss(..., return_outputs=False) and takes a bare loss;
    # its prediction_step asks for (loss, outputs)
    asked = []

    class LossOnly(st.Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            asked.append((model.training, return_outputs))
            loss = F.cross_entropy(model(inputs["input"]), inputs["labels"])
            return (loss, {"logits": model(inputs["input"])}) if return_outputs else loss

    trainer = LossOnly(_sequential(), _args(), train_dataset=digits.train, eval_dataset=digits.test)
    trainer.train()
    assert (True, False) in asked and (True, True) not in asked
    asked.clear()
    assert math.isfinite(trainer.evaluate()["eval_loss"])
    assert asked and all(flag for _, flag in asked)


def test_super_compute_loss_is_the_builtin_loss(digits):
    calls = []

    class Counting(st.Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            calls.append(sorted(inputs))
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

    st.manual_seed(1)
    a = _sequential()
    st.manual_seed(1)
    b = _sequential()
    st.Trainer(a, _args(), train_dataset=digits.train).train()
    Counting(b, _args(), train_dataset=digits.train).train()
    assert calls[0] == ["input", "labels"] and len(calls) >= 30  # (and the first-sample check)
    _assert_same(_weights(a), _weights(b), atol=1e-6)
    assert list(_weights(b)) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # names kept



def test_default_compute_loss_follows_the_library_rule():
    """Trainer.compute_loss is the library's rule (st_trainer_default_loss): the model's loss,
    except that label_smoothing_factor replaces it with the smoothed built-in loss (HF)."""
    st.manual_seed(3)
    model = Net(own_loss=True)
    x = st.randn(6, 64)
    labels = st.tensor([0, 1, 2, 3, 4, 5])
    logits = model(x, labels)["logits"].detach()
    inputs = {"x": x, "labels": labels}
    plain = st.Trainer(model, _args())
    loss, outputs = plain.compute_loss(model, inputs, return_outputs=True)
    np.testing.assert_allclose(float(loss), float(F.cross_entropy(logits, labels)), rtol=1e-6)
    assert sorted(outputs) == ["logits", "loss"]
    smoothing = st.Trainer(model, _args(label_smoothing_factor=0.2))
    np.testing.assert_allclose(
        float(smoothing.compute_loss(model, inputs)),
        float(F.cross_entropy(logits, labels, label_smoothing=0.2)), rtol=1e-6)
    # no loss and no labels: the library says what the batch holds
    with pytest.raises(ValueError, match=r"no labels.*x float32 \[6, 64\]"):
        plain.compute_loss(Net(), {"x": x})

class Sentences:
    """A map-style dataset of variable-length token sequences: the label is whether token 1
    occurs (HF-style dict samples with Python lists)."""

    def __init__(self, n, seed):
        rng = np.random.default_rng(seed)
        self.samples = []
        for _ in range(n):
            ids = rng.integers(2, 8, size=rng.integers(3, 9)).tolist()
            if rng.random() < 0.5:
                ids[rng.integers(len(ids))] = 1
            self.samples.append({"input_ids": ids, "label": int(1 in ids), "text": "unused"})

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        return self.samples[i]


class TextClassifier(nn.Module):
    """The issue's example: Embedding -> TransformerEncoderLayer -> masked mean -> Linear."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(8, 16, padding_idx=0)
        self.encoder = nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.0,
                                                  batch_first=True)
        self.head = nn.Linear(16, 2)

    def forward(self, input_ids, attention_mask):
        mask = attention_mask.float().unsqueeze(2)
        hidden = self.encoder(self.embedding(input_ids))
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1)
        return self.head(pooled)


def test_a_text_classifier_trains_on_padded_token_sequences():
    st.manual_seed(11)
    model = TextClassifier()
    collator = st.DataCollatorWithPadding(pad_token_id=0)
    trainer = st.Trainer(model, _args(max_steps=120, learning_rate=3e-3,
                                      per_device_train_batch_size=16),
                         data_collator=collator, train_dataset=Sentences(400, 1),
                         eval_dataset=Sentences(200, 2))
    before = trainer.evaluate()
    trainer.train()
    after = trainer.evaluate()
    assert after["eval_loss"] < before["eval_loss"]
    assert after["eval_accuracy"] > 0.85
    out = trainer.predict(Sentences(10, 3))
    assert out.predictions.shape == (10, 2) and out.label_ids.shape == (10,)
    assert set(out.metrics) >= {"test_loss", "test_accuracy"}


def test_padding_collator():
    collator = st.DataCollatorWithPadding(pad_token_id=9)
    batch = collator([{"input_ids": [1, 2, 3], "labels": [5, 6, 7], "label_x": 1},
                      {"input_ids": [4], "labels": [8], "label_x": 0}])
    assert batch["input_ids"].tolist() == [[1, 2, 3], [4, 9, 9]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [[5, 6, 7], [8, -100, -100]]
    assert batch["input_ids"].dtype == np.int64
    assert st.default_data_collator([{"x": 1.5, "label": 2}])["labels"].tolist() == [2]
    with pytest.raises(ValueError, match="DataCollatorWithPadding"):
        st.default_data_collator([{"input_ids": [1, 2]}, {"input_ids": [1]}])


class CharLM(nn.Module):
    """Next-character prediction: logits [B, T, V] against labels [B, T] (-100 at padding)."""

    def __init__(self, vocab):
        super().__init__()
        self.embedding = nn.Embedding(vocab, 16)
        self.head = nn.Linear(16, vocab)

    def forward(self, input_ids, labels=None):
        return {"logits": self.head(self.embedding(input_ids))}


def test_token_level_logits_evaluate_and_predict_with_padding():
    text = "abcdeabcdeabcde" * 20
    vocab = sorted(set(text))
    ids = [vocab.index(c) for c in text]
    samples = [{"input_ids": ids[i:i + n], "labels": ids[i + 1:i + 1 + n]}
               for i, n in zip(range(0, 200, 5), [3, 4, 5, 6] * 10)]
    st.manual_seed(2)
    trainer = st.Trainer(CharLM(len(vocab)), _args(max_steps=150, learning_rate=5e-2,
                                                   per_device_eval_batch_size=2),
                         data_collator=st.DataCollatorWithPadding(), train_dataset=samples)
    trainer.train()
    metrics = trainer.evaluate(samples)
    assert metrics["eval_accuracy"] == 1.0  # padding (-100) is not counted
    out = trainer.predict(samples)
    assert out.predictions.shape == (40, 6, len(vocab))  # batches padded to the longest (HF)
    assert out.label_ids.shape == (40, 6)
    assert out.label_ids[0].tolist()[3:] == [-100, -100, -100]
    assert np.all(out.predictions[0, 4:] == -100)  # its batch was 4 long: padded to 6 after
    assert not np.any(out.predictions[0, :4] == -100)


class Stream:
    """An iterable dataset (no length): the digits in order."""

    def __init__(self, X, y):
        self.X, self.y, self.epochs = X, y, []

    def set_epoch(self, epoch):
        self.epochs.append(epoch)

    def __iter__(self):
        for i in range(len(self.X)):
            yield self.X[i], self.y[i]


def test_an_iterable_dataset_needs_max_steps_and_matches_the_unshuffled_arrays(digits):
    X, y = digits.train
    with pytest.raises(ValueError, match="set max_steps"):
        st.Trainer(Net(), _args(max_steps=-1), train_dataset=Stream(X, y)).train()
    st.manual_seed(4)
    streamed = Net()
    stream = Stream(X, y)
    args = _args(max_steps=100, dataloader_shuffle=False)
    out = st.Trainer(streamed, args, train_dataset=stream).train()
    st.manual_seed(4)
    arrays = Net()
    st.Trainer(arrays, args, train_dataset=digits.train).train()
    _assert_same(_weights(streamed), _weights(arrays))
    assert out.global_step == 100 and stream.epochs == [0, 1, 2]  # 45 batches an epoch


def test_resume_is_exact_with_a_map_style_dataset(tmp_path):
    args = _args(tmp_path, max_steps=40, per_device_train_batch_size=16, save_strategy="steps",
                 save_steps=15, learning_rate=3e-3)
    collator = st.DataCollatorWithPadding()
    st.manual_seed(9)
    whole = TextClassifier()
    st.Trainer(whole, args, data_collator=collator, train_dataset=Sentences(200, 5)).train()
    st.manual_seed(123)
    resumed = TextClassifier()
    trainer = st.Trainer(resumed, args, data_collator=collator, train_dataset=Sentences(200, 5))
    trainer.train(resume_from_checkpoint=str(tmp_path / "checkpoint-30"))
    _assert_same(_weights(whole), _weights(resumed))


def test_model_safetensors_of_a_python_model_has_torch_names(tmp_path, digits):
    model = Net()
    trainer = st.Trainer(model, _args(tmp_path), train_dataset=digits.train)
    trainer.save_model()
    saved = st.safetensors.load_file(str(tmp_path / "model.safetensors"))
    assert sorted(saved) == sorted(_weights(model))


def test_bad_user_code_raises_what_a_python_user_expects(digits):
    class Broken(Net):
        def forward(self, x):
            raise KeyError("boom")

    with pytest.raises(KeyError, match="boom") as caught:
        st.Trainer(Broken(), _args(), train_dataset=digits.train).train()
    assert any("Broken.forward" in n for n in caught.value.__notes__)

    class NotScalar(Net):
        def forward(self, x):
            logits = self.head(self.body[1](self.body[0](x)))
            return {"loss": logits, "logits": logits}

    with pytest.raises(st.ShapeError, match="float32 scalar"):
        st.Trainer(NotScalar(), _args(), train_dataset=digits.train).train()

    missing = [{"input_ids": [1, 2], "label": 0}, {"label": 1}]
    with pytest.raises(ValueError, match="different keys"):
        st.Trainer(TextClassifier(), _args(max_steps=1), data_collator=st.DataCollatorWithPadding(),
                   train_dataset=missing).train()

    def failing(samples):
        raise RuntimeError("collator failed")

    with pytest.raises(RuntimeError, match="collator failed") as caught:
        st.Trainer(TextClassifier(), _args(), data_collator=failing,
                   train_dataset=Sentences(40, 1)).train()
    assert any("batch 0" in n for n in caught.value.__notes__)


def test_a_failure_mid_run_leaves_the_checkpoints_resumable(tmp_path, digits):
    calls = {"n": 0}

    class FailsLater(Net):
        def forward(self, x):
            calls["n"] += 1
            if calls["n"] > 25:
                raise RuntimeError("out of luck")
            return super().forward(x)

    args = _args(tmp_path, max_steps=30, save_strategy="steps", save_steps=10)
    with pytest.raises(RuntimeError, match="out of luck"):
        st.Trainer(FailsLater(), args, train_dataset=digits.train).train()
    resumed = st.Trainer(Net(), args, train_dataset=digits.train)
    out = resumed.train(resume_from_checkpoint=True)
    assert out.global_step == 30 and "checkpoint-20" in resumed.resumed_from_checkpoint


def test_every_builtin_loss_trains():
    rng = np.random.default_rng(0)
    X = rng.random((64, 4), dtype=np.float32)
    t = (X.sum(axis=1, keepdims=True) > 2).astype(np.float32)
    for loss in ["mse", "l1", "smooth_l1", "huber", "bce_with_logits"]:
        st.manual_seed(1)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
        trainer = st.Trainer(model, _args(max_steps=60, per_device_train_batch_size=16,
                                          learning_rate=3e-2), train_dataset=(X, t), loss=loss)
        before = trainer.evaluate((X, t))["eval_loss"]
        trainer.train()
        assert trainer.evaluate((X, t))["eval_loss"] < before, loss
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        st.Trainer(nn.Linear(4, 1), _args(), loss="hinge")


def test_composer_and_pymarlin_models_train_as_the_same_model(digits):
    class Composer(st.ComposerModel):
        def __init__(self):
            super().__init__()
            self.net = _sequential()

        def forward(self, batch):
            return self.net(batch["input"])

        def loss(self, outputs, batch):
            return F.cross_entropy(outputs, batch["labels"])

    steps = []

    class Marlin(st.ModuleInterface):
        def __init__(self):
            super().__init__()
            self.net = _sequential()

        def train_step(self, global_step, batch, device):
            steps.append(global_step)
            return F.cross_entropy(self.net(batch["input"]), batch["labels"])

        def val_step(self, global_step, batch, device):
            return self.net(batch["input"])

    st.manual_seed(8)
    reference = _sequential()
    st.manual_seed(8)
    composer = Composer()
    st.manual_seed(8)
    marlin = Marlin()
    st.Trainer(reference, _args(), train_dataset=digits.train).train()
    st.Trainer(composer, _args(), train_dataset=digits.train).train()
    trainer = st.Trainer(marlin, _args(), train_dataset=digits.train)
    trainer.train()
    for model in (composer, marlin):
        np.testing.assert_allclose(np.concatenate([w.ravel() for w in _weights(reference).values()]),
                                   np.concatenate([w.ravel() for w in _weights(model).values()]),
                                   atol=1e-6)
    assert steps[:3] == [0, 1, 2] and steps[-1] == 29  # PyMarlin's global_step
    metrics = trainer.evaluate(digits.test)
    assert metrics["eval_accuracy"] > 0.6 and metrics["eval_loss"] < 2.0  # (from ln 10 = 2.3)


def test_ctrl_c_inside_a_python_forward_stops_gracefully_and_resumes_exactly(tmp_path, digits):
    """Ctrl-C while the library runs the model's Python forward: as anywhere else in
    train(), the step finishes, it is saved, train() raises KeyboardInterrupt, and resuming
    gives the weights of a run never interrupted."""
    import signal

    class Interrupted(Net):
        calls = 0

        def forward(self, x):
            Interrupted.calls += 1
            if Interrupted.calls == 12:  # (the first call is the check of the first sample)
                signal.raise_signal(signal.SIGINT)  # KeyboardInterrupt inside the forward
            return super().forward(x)

    args = _args(tmp_path, max_steps=30, save_strategy="steps", save_steps=100)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        st.manual_seed(3)
        model = Interrupted()
        trainer = st.Trainer(model, args, train_dataset=digits.train)
        with pytest.raises(KeyboardInterrupt):
            trainer.train()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert trainer.state.global_step == 11  # the step in progress finished
    assert (tmp_path / "checkpoint-11" / "manifest.json").exists()
    st.Trainer(model, args, train_dataset=digits.train).train(resume_from_checkpoint=True)
    st.manual_seed(3)
    whole = Net()
    st.Trainer(whole, _args(max_steps=30), train_dataset=digits.train).train()
    _assert_same(_weights(whole), _weights(model))


def test_an_iterable_dataset_resumes_by_skipping_the_batches_it_used(tmp_path, digits):
    X, y = digits.train
    args = _args(tmp_path, max_steps=60, save_strategy="steps", save_steps=50)
    st.manual_seed(6)
    whole = Net()
    st.Trainer(whole, args, train_dataset=Stream(X, y)).train()  # (epoch 1 starts at step 46)
    st.manual_seed(99)
    resumed = Net()
    stream = Stream(X, y)
    st.Trainer(resumed, args, train_dataset=stream).train(
        resume_from_checkpoint=str(tmp_path / "checkpoint-50"))
    _assert_same(_weights(whole), _weights(resumed))
    assert stream.epochs == [1]  # resumed inside epoch 1, its first 4 batches skipped
    # HF's ignore_data_skip: the epoch starts over instead, so the weights differ
    st.manual_seed(99)
    again = Net()
    st.Trainer(again, _args(tmp_path, max_steps=60, save_strategy="steps", save_steps=50,
                            ignore_data_skip=True),
               train_dataset=Stream(X, y)).train(resume_from_checkpoint=str(tmp_path / "checkpoint-50"))
    assert not np.array_equal(_weights(again)["head.weight"], _weights(whole)["head.weight"])


def test_bool_entries_reach_the_model():
    class Masked(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x, keep):
            assert keep.dtype == st.bool
            return self.fc(st.where(keep, x, st.zeros_like(x)))

    rng = np.random.default_rng(0)
    samples = [{"x": rng.random(4, dtype=np.float32), "keep": rng.random(4) > 0.5,
                "labels": int(i % 2)} for i in range(64)]
    trainer = st.Trainer(Masked(), _args(max_steps=5, per_device_train_batch_size=8),
                         train_dataset=samples)
    assert trainer.train().global_step == 5


def test_best_model_early_stopping_and_ema_apply_to_a_python_model(tmp_path, digits):
    trainer = st.Trainer(Net(), _args(tmp_path, max_steps=200, eval_strategy="steps",
                                      eval_steps=20, load_best_model_at_end=True,
                                      save_strategy="steps", save_steps=20,
                                      early_stopping_patience=2, learning_rate=5e-2),
                         train_dataset=digits.train, eval_dataset=digits.test)
    trainer.train()
    best = trainer.state.best_metric
    assert best is not None and trainer.state.best_model_checkpoint is not None
    assert trainer.evaluate()["eval_loss"] == pytest.approx(best, rel=1e-6)  # best weights back
    averaged = st.Trainer(Net(), _args(ema_decay=0.9, eval_strategy="steps", eval_steps=10),
                          train_dataset=digits.train, eval_dataset=digits.test)
    averaged.train()
    assert len([h for h in averaged.state.log_history if "eval_loss" in h]) == 3


# ---- found in review: each of these once crashed or silently did the wrong thing ------------


def test_bool_labels_and_int64_logits_reach_compute_metrics_correctly():
    class Composer(st.ComposerModel):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 1)

        def forward(self, batch):
            return self.fc(batch["input"])

        def loss(self, outputs, batch):
            return F.binary_cross_entropy_with_logits(outputs, batch["labels"].float())

        def eval_forward(self, batch, outputs=None):
            return (self.forward(batch) > 0).long()  # int64 "logits"

    rng = np.random.default_rng(0)
    seen = {}

    def metrics(p):
        seen["labels"], seen["predictions"] = p.label_ids, p.predictions
        return {"n": float(len(p.label_ids))}

    X = rng.random((10, 3), dtype=np.float32)
    samples = [{"input": X[i], "labels": np.array([i % 2 == 0])} for i in range(10)]
    trainer = st.Trainer(Composer(), _args(max_steps=2, per_device_train_batch_size=4),
                         train_dataset=samples, compute_metrics=metrics)
    trainer.train()
    assert trainer.evaluate(samples)["eval_n"] == 10
    assert seen["labels"].dtype == np.int64 and seen["labels"].ravel().tolist() == [1, 0] * 5
    assert seen["predictions"].dtype == np.float32 and set(np.unique(seen["predictions"])) <= {0.0, 1.0}


def test_an_enormous_dataset_length_is_an_error_not_an_abort():
    class Huge:
        def __len__(self):
            return 2 ** 34

        def __getitem__(self, i):
            return {"input": np.zeros(4, np.float32), "labels": 0}

    with pytest.raises(ValueError, match="2\\^28"):
        st.Trainer(nn.Linear(4, 2), _args(), train_dataset=Huge()).train()


def test_evaluation_of_a_large_vocabulary_is_linear_in_the_classes():
    class Big(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(50257, 4)

        def forward(self, input_ids):
            return self.embedding(input_ids) @ self.embedding.weight.T  # [B, T, 50257]

    samples = [{"input_ids": [1, 2, 3], "labels": [2, 3, -100]} for _ in range(4)]
    metrics = st.Trainer(Big(), _args()).evaluate(samples)
    assert 0 <= metrics["eval_accuracy"] <= 1  # (a confusion matrix would need 20 GB)


def test_a_frozen_parameter_stays_frozen(digits):
    class Scaled(Net):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(st.ones(10), requires_grad=False)

        def forward(self, x):
            return super().forward(x) * self.scale

    model = Scaled()
    st.Trainer(model, _args(), train_dataset=digits.train).train()
    assert not model.scale.requires_grad and model.scale.tolist() == [1.0] * 10


def test_changing_the_model_after_creating_the_trainer_is_refused(tmp_path, digits):
    model = Net()
    trainer = st.Trainer(model, _args(tmp_path), train_dataset=digits.train)
    model.head = nn.Linear(32, 10)
    with pytest.raises(ValueError, match="head \\(replaced\\).*create the Trainer after"):
        trainer.train()
    with pytest.raises(ValueError, match="changed after the Trainer was created"):
        trainer.save_model()


def test_a_buffer_the_forward_replaces_is_what_checkpoints_save(tmp_path, digits):
    class Counting(Net):
        def __init__(self):
            super().__init__()
            self.register_buffer("seen", st.zeros(1))

        def forward(self, x):
            self.seen = self.seen + x.shape[0]  # torch's idiom: a new tensor each call
            return super().forward(x)

    model = Counting()
    trainer = st.Trainer(model, _args(tmp_path, max_steps=3), train_dataset=digits.train)
    trainer.train()
    trainer.save_model()
    saved = st.safetensors.load_file(str(tmp_path / "model.safetensors"))
    assert saved["seen"].tolist() == model.seen.tolist() == [1 + 3 * 32]  # (1: the check)


def test_a_tuple_is_loss_first_only_when_labels_were_passed():
    class Regressor(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 1)

        def forward(self, x):
            prediction = self.fc(x)
            return prediction, prediction.relu()  # (prediction, hidden), no labels taken

    X = np.ones((9, 2), np.float32)
    y = np.ones((9, 1), np.float32)
    trainer = st.Trainer(Regressor(), _args(max_steps=4, per_device_train_batch_size=8,
                                            logging_strategy="steps", logging_steps=1),
                         train_dataset=(X, y), loss="mse")
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert all(loss >= 0 for loss in losses)  # an MSE, never the prediction itself
    assert trainer.predict(X).predictions.shape == (9, 1)


def test_ctrl_c_in_a_generator_or_a_dropout_forward_still_resumes_exactly(tmp_path, digits):
    import signal
    X, y = digits.train

    class Interrupting(Stream):
        def __iter__(self):
            for i, sample in enumerate(super().__iter__()):
                if i == 100 and not hasattr(self, "done"):
                    self.done = True
                    signal.raise_signal(signal.SIGINT)
                yield sample

    class Dropping(Net):
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(0.3)

        def forward(self, x):
            return super().forward(self.drop(x))

    args = _args(tmp_path, max_steps=12, save_strategy="steps", save_steps=100)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        st.manual_seed(4)
        model = Dropping()
        with pytest.raises(KeyboardInterrupt):
            st.Trainer(model, args, train_dataset=Interrupting(X, y)).train()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert (tmp_path / "checkpoint-4" / "manifest.json").exists()  # sample 100 is in step 4
    st.Trainer(model, args, train_dataset=Stream(X, y)).train(resume_from_checkpoint=True)
    st.manual_seed(4)
    whole = Dropping()
    st.Trainer(whole, _args(max_steps=12), train_dataset=Stream(X, y)).train()
    _assert_same(_weights(whole), _weights(model))


def test_compute_loss_func_is_used_as_hf_uses_it_under_accumulation(digits):
    st.manual_seed(2)
    reference = Net()
    st.manual_seed(2)
    custom = Net()
    args = _args(gradient_accumulation_steps=2)
    st.Trainer(reference, args, train_dataset=digits.train).train()
    st.Trainer(custom, args, train_dataset=digits.train,
               compute_loss_func=lambda outputs, labels, n: F.cross_entropy(
                   outputs["logits"], labels, reduction="sum") / (n or labels.shape[0])).train()
    # (HF passes num_items_in_batch=None outside training, as here in the first-sample check)
    _assert_same(_weights(reference), _weights(custom), atol=1e-6)


def test_label_smoothing_replaces_the_model_loss_as_hf_label_smoother(digits):
    st.manual_seed(1)
    plain = Net()
    st.manual_seed(1)
    own = Net(own_loss=True)
    args = _args(label_smoothing_factor=0.2)
    st.Trainer(plain, args, train_dataset=digits.train).train()
    st.Trainer(own, args, train_dataset=digits.train).train()
    _assert_same(_weights(plain), _weights(own), atol=1e-6)


def test_a_list_of_dicts_as_eval_dataset():
    samples = [{"input_ids": [1, 2, 3][: 1 + i % 3], "label": i % 2} for i in range(20)]
    trainer = st.Trainer(TextClassifier(), _args(eval_strategy="steps", eval_steps=5, max_steps=5),
                         data_collator=st.DataCollatorWithPadding(), train_dataset=samples,
                         eval_dataset=samples)
    trainer.train()
    assert any("eval_loss" in h for h in trainer.state.log_history)


def test_padding_collator_follows_hf():
    collator = st.DataCollatorWithPadding(pad_to_multiple_of=4)
    batch = collator([{"input_ids": [1, 2, 3], "labels": [1, 2, 3], "text": "a b c"},
                      {"input_ids": [4, 5, 6], "labels": [4, 5, 6], "text": "d e f"}])
    assert "text" not in batch  # text columns are left out
    assert batch["input_ids"].shape == batch["labels"].shape == (2, 4)
    assert batch["labels"][:, 3].tolist() == [-100, -100]
    longest = st.DataCollatorWithPadding(max_length=2)([{"input_ids": [1, 2, 3]}])
    assert longest["input_ids"].tolist() == [[1, 2, 3]]  # never truncates
    with pytest.raises(ValueError, match="longer than max_length"):
        st.DataCollatorWithPadding(padding="max_length", max_length=2)([{"input_ids": [1, 2, 3]}])
    assert st.default_data_collator([{"x": 1, "name": "a"}]).keys() == {"x"}


def test_label_names_and_a_torch_style_tuple_dataset(digits):
    X, y = digits.train

    class Pairs:  # torch.utils.data.TensorDataset's shape: (x, y) tuples
        def __len__(self):
            return len(X)

        def __getitem__(self, i):
            return X[i], y[i]

    class Named:  # the label under another name
        def __len__(self):
            return len(X)

        def __getitem__(self, i):
            return {"pixels": X[i], "digit": y[i]}

    class ByName(Net):
        def forward(self, pixels):
            return super().forward(pixels)

    st.manual_seed(12)
    a = Net()
    st.manual_seed(12)
    b = ByName()
    st.Trainer(a, _args(), train_dataset=Pairs()).train()
    trainer = st.Trainer(b, _args(label_names=["digit"]), train_dataset=Named())
    trainer.train()
    _assert_same(_weights(a), _weights(b))
    assert trainer.evaluate(Named())["eval_accuracy"] > 0.5


def test_batched_access_is_used_when_the_dataset_has_it(digits):
    X, y = digits.train
    calls = []

    class Batched:
        def __len__(self):
            return len(X)

        def __getitem__(self, i):
            raise AssertionError("__getitems__ should be used")

        def __getitems__(self, indices):
            calls.append(len(indices))
            return [{"input": X[i], "labels": y[i]} for i in indices]

    st.Trainer(Net(), _args(max_steps=3), train_dataset=Batched()).train()
    assert calls == [1, 32, 32, 32]  # the first-sample check, then one call per batch
