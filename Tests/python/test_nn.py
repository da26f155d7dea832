"""swifttrain.nn as a PyTorch user expects it: layers callable on tensors, parameters and
state dicts sharing memory, train/eval, Python-defined models, and a small CNN trained by
the Trainer on images."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import swifttrain as st
import swifttrain.functional as F
from swifttrain import nn


def test_layers_are_callable_and_share_parameters():
    st.manual_seed(0)
    layer = nn.Linear(3, 2)
    x = st.randn(4, 3, seed=1)
    expected = np.asarray(x) @ np.asarray(layer.weight.detach()).T + np.asarray(layer.bias.detach())
    np.testing.assert_allclose(np.asarray(layer(x).detach()), expected, rtol=1e-5, atol=1e-6)
    with st.no_grad():
        layer.weight.zero_()  # the tensor is the module's own memory
    assert np.all(np.asarray(layer(x).detach()) == np.asarray(layer.bias.detach()))
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert all(p.requires_grad and p.is_leaf for p in layer.parameters())
    assert nn.Linear(3, 2, bias=False).bias is None


def test_state_dict_and_load_state_dict_round_trip():
    st.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
                          nn.Linear(8, 3))
    state = model.state_dict()
    assert isinstance(state, collections.OrderedDict)
    assert list(state) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                           "1.running_var", "1.num_batches_tracked", "4.weight", "4.bias"]
    assert state["1.num_batches_tracked"].dtype is st.int64
    st.manual_seed(2)
    other = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
                          nn.Linear(8, 3))
    x = st.randn(2, 1, 4, 4, seed=3)
    model.eval(), other.eval()
    assert not np.allclose(np.asarray(model(x).detach()), np.asarray(other(x).detach()))
    other.load_state_dict({k: np.asarray(v.detach()) for k, v in state.items()})
    np.testing.assert_array_equal(np.asarray(model(x).detach()), np.asarray(other(x).detach()))


def test_train_and_eval_modes():
    st.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    assert model.training and model[1].training
    x = st.ones(8, 4)
    assert model.eval() is model and not model.training and not model[1].training
    np.testing.assert_array_equal(np.asarray(model(x).detach()), np.asarray(model(x).detach()))
    model.train()
    dropped = np.asarray(model(x).detach())
    assert (dropped == 0).any() and model[1].training


def test_batch_norm_updates_running_statistics_in_training_only():
    norm = nn.BatchNorm1d(3)
    x = st.randn(16, 3, seed=4) * 2 + 5
    norm(x)
    mean = np.asarray(norm.running_mean)
    np.testing.assert_allclose(mean, 0.1 * np.asarray(x).mean(axis=0), rtol=1e-4)
    assert norm.num_batches_tracked.item() == 1
    norm.eval()
    norm(x)
    np.testing.assert_array_equal(np.asarray(norm.running_mean), mean)


def test_reprs_read_like_torch():
    assert repr(nn.Conv2d(1, 32, 3, padding=1)) == \
        "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert repr(nn.MaxPool2d(2)) == \
        "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.Embedding(10, 3, padding_idx=0)) == "Embedding(10, 3, padding_idx=0)"
    assert repr(nn.LayerNorm(8)) == "LayerNorm((8,), eps=1e-05, elementwise_affine=True)"
    assert repr(nn.BatchNorm2d(4)) == \
        "BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
    assert repr(nn.GELU(approximate="tanh")) == "GELU(approximate='tanh')"
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"
    text = repr(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)))
    assert text.splitlines() == ["Sequential(", "  (0): Flatten(start_dim=1, end_dim=-1)",
                                 "  (1): Linear(in_features=4, out_features=2, bias=True)", ")"]


def test_reprs_of_the_other_layers_read_like_torch():
    assert repr(nn.AvgPool2d(2)) == "AvgPool2d(kernel_size=2, stride=2, padding=0)"
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.Softplus()) == "Softplus(beta=1.0, threshold=20.0)"
    assert repr(nn.LogSoftmax(dim=0)) == "LogSoftmax(dim=0)"
    assert repr(nn.ReLU()) == "ReLU()" and repr(nn.Tanh()) == "Tanh()"
    assert repr(nn.Flatten(0, 2)) == "Flatten(start_dim=0, end_dim=2)"


def test_deleting_registered_attributes_unregisters_them():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(st.ones(2))
            self.register_buffer("count", st.zeros(1))
            self.head = nn.Linear(2, 2)
            self.plain = 3

    net = Net()
    assert list(net.state_dict()) == ["scale", "count", "head.weight", "head.bias"]
    del net.scale, net.count, net.head, net.plain
    assert list(net.state_dict()) == [] and list(net.children()) == []
    with pytest.raises(AttributeError):
        net.scale
    with pytest.raises(AttributeError):
        del net.plain


def test_activation_modules_match_functional():
    x = st.randn(3, 5, seed=6)
    for module, function in [(nn.ReLU(), F.relu), (nn.GELU(), F.gelu), (nn.SiLU(), F.silu),
                             (nn.Tanh(), F.tanh), (nn.Sigmoid(), F.sigmoid),
                             (nn.LeakyReLU(0.2), lambda t: F.leaky_relu(t, 0.2)),
                             (nn.Softplus(beta=2.0), lambda t: F.softplus(t, beta=2.0)),
                             (nn.Softmax(dim=1), lambda t: F.softmax(t, dim=1)),
                             (nn.LogSoftmax(dim=0), lambda t: F.log_softmax(t, dim=0))]:
        np.testing.assert_allclose(np.asarray(module(x)), np.asarray(function(x)), rtol=1e-6,
                                   err_msg=repr(module))


def test_pool_modules_honour_ceil_mode_as_the_functionals():
    """nn.MaxPool2d / nn.AvgPool2d pass ceil_mode (and count_include_pad, divisor_override)
    to the library's modules: on an odd-sized input they give F's shape and values."""
    x = st.tensor(np.arange(2 * 3 * 5 * 7, dtype=np.float32).reshape(2, 3, 5, 7) % 11 - 5)
    pooled = nn.MaxPool2d(2, ceil_mode=True)(x)
    expected = F.max_pool2d(x, 2, ceil_mode=True)
    assert tuple(pooled.shape) == tuple(expected.shape) == (2, 3, 3, 4)
    np.testing.assert_array_equal(np.asarray(pooled), np.asarray(expected))
    assert tuple(nn.MaxPool2d(2)(x).shape) == (2, 3, 2, 3)  # floor without it
    pooled = nn.MaxPool2d(3, stride=2, padding=1, dilation=1, ceil_mode=True)(x)
    expected = F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True)
    assert tuple(pooled.shape) == tuple(expected.shape)
    np.testing.assert_array_equal(np.asarray(pooled), np.asarray(expected))
    for kwargs in [{}, {"count_include_pad": False}, {"divisor_override": 3}]:
        module = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, **kwargs)
        pooled = module(x)
        expected = F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, **kwargs)
        assert tuple(pooled.shape) == tuple(expected.shape), kwargs
        np.testing.assert_allclose(np.asarray(pooled), np.asarray(expected), rtol=1e-6,
                                   err_msg=str(kwargs))
    pooled = nn.AvgPool2d(2, ceil_mode=True)(x)
    assert tuple(pooled.shape) == tuple(F.avg_pool2d(x, 2, ceil_mode=True).shape) == (2, 3, 3, 4)
    module = nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False, divisor_override=2)
    assert (module.ceil_mode, module.count_include_pad, module.divisor_override) == (True, False, 2)


def test_attention_layers():
    st.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    x = st.randn(2, 5, 8, seed=7)
    output, weights = mha(x, x, x)
    assert output.shape == (2, 5, 8) and weights.shape == (2, 5, 5)
    np.testing.assert_allclose(np.asarray(weights.detach()).sum(-1), 1.0, rtol=1e-5)
    causal = st.tensor(np.triu(np.ones((5, 5), dtype=bool), k=1))  # True = blocked
    _, masked = mha(x, x, x, attn_mask=causal)
    assert np.all(np.asarray(masked.detach())[:, 0, 1:] == 0)
    _, none = mha(x, x, x, need_weights=False)
    assert none is None
    assert [n for n, _ in mha.named_parameters()] == ["in_proj_weight", "in_proj_bias",
                                                      "out_proj.weight", "out_proj.bias"]
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
    y = layer(x, src_mask=causal)
    assert y.shape == (2, 5, 8)
    # Position 0 sees only itself under the causal mask: changing later tokens leaves it.
    x2 = st.tensor(np.concatenate([np.asarray(x)[:, :1], np.zeros((2, 4, 8), np.float32)], 1))
    np.testing.assert_allclose(np.asarray(layer(x2, src_mask=causal).detach())[:, 0],
                               np.asarray(y.detach())[:, 0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(layer(x, is_causal=True, src_mask=causal).detach()),
                               np.asarray(y.detach()), rtol=1e-5, atol=1e-6)


def test_python_defined_module():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
            self.head = nn.Linear(8, 2)

        def forward(self, x):
            return self.head(self.body(x))

    st.manual_seed(3)
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["body.0.weight", "body.0.bias",
                                                      "head.weight", "head.bias"]
    assert net.num_parameters() == 4 * 8 + 8 + 8 * 2 + 2
    assert [type(c).__name__ for c in net.children()] == ["Sequential", "Linear"]
    loss = F.cross_entropy(net(st.randn(3, 4, seed=1)), st.tensor([0, 1, 1]))
    loss.backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    state = {k: np.asarray(v.detach()) * 0 for k, v in net.state_dict().items()}
    net.load_state_dict(state)
    assert np.all(np.asarray(net(st.ones(1, 4)).detach()) == 0)
    with pytest.raises(st.StateDictError, match="head.bias"):
        net.load_state_dict({k: v for k, v in state.items() if k != "head.bias"})
    assert net.eval() is net and not net.head.training and not net.body[0].training


def test_small_cnn_on_digit_images(digits, quiet_args, silent):
    """The Swift test's recipe (held-out 0.978-0.981 over 4 seeds) through Python, with the
    images as (N, 1, 8, 8) arrays."""
    (X, y), (Xv, yv) = digits.train, digits.test
    images, held_out = X.reshape(-1, 1, 8, 8), Xv.reshape(-1, 1, 8, 8)
    st.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # [N, 32, 4, 4]
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # [N, 64, 2, 2]
        nn.Flatten(), nn.Linear(256, 10))
    args = quiet_args(num_train_epochs=20, per_device_train_batch_size=32,
                      per_device_eval_batch_size=128, learning_rate=5e-3)
    trainer = silent(st.Trainer(model, args, train_dataset=(images, y),
                                eval_dataset=(held_out, yv)))
    trainer.train()
    accuracy = trainer.evaluate()["eval_accuracy"]
    assert accuracy >= 0.97, accuracy
    # The trained model is usable directly as well, and agrees with predict().
    model.eval()
    with st.no_grad():
        logits = model(st.tensor(held_out))
    predictions = trainer.predict(held_out).predictions
    np.testing.assert_allclose(np.asarray(logits), predictions, rtol=1e-4, atol=1e-4)
    assert float(np.mean(predictions.argmax(1) == yv)) == pytest.approx(accuracy)


def test_state_dict_values_are_detached_and_share_memory_as_torchs():
    model = nn.Sequential(nn.Linear(2, 2))
    state = model.state_dict()
    assert not any(v.requires_grad for v in state.values())
    arrays = {k: v.numpy() for k, v in state.items()}  # torch users write this
    assert set(arrays) == {"0.weight", "0.bias"}
    state["0.bias"].fill_(5)
    np.testing.assert_array_equal(model[0].bias.detach().numpy(), [5, 5])


def test_replacing_a_builtin_layers_parameter_is_refused_not_ignored():
    # torch's forward would use the new tensor; a built-in layer's lives in the library
    lin = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="Linear.weight lives in the library.*copy_"):
        lin.weight = nn.Parameter(st.ones(2, 3))
    with st.no_grad():
        lin.weight.copy_(st.ones(2, 3))
        lin.bias.fill_(0)
    np.testing.assert_allclose(lin(st.ones(1, 3)).detach().numpy(), [[3, 3]])
