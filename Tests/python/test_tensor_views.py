"""Views and the copies that stand for torch's strided views, their messages and memory;
einsum's refusals; nn.utils importable as torch's. (Values against torch are in
test_tensor_semantics.py.)"""

import gc
import weakref

import numpy as np
import pytest

import swifttrain as st
from swifttrain import nn


def test_a_write_into_a_strided_copy_says_why_and_what_to_do():
    t = st.zeros(3, 4)
    column = t[:, 1]
    for write in (lambda: column.fill_(1), lambda: column.add_(1), lambda: column.copy_(st.ones(3)),
                  lambda: column.__setitem__(0, 1.0), lambda: column.__iadd__(1)):
        with pytest.raises(st.MisuseError, match=r"copy of elements 1\.\.<2 step 1 of dimension 1 of a "
                                                 r"tensor of shape \[3, 4\].*t\[:, 1\] = value.*clone\(\)"):
            write()
    assert isinstance(st.MisuseError("x"), RuntimeError)
    with pytest.raises(st.MisuseError, match=r"permutation \[1, 0\]"):
        t.T.zero_()
    assert not t.any()
    column.clone().fill_(1)  # a clone is its own tensor
    assert not t.any()


def test_numpy_sees_strided_copies_as_read_only_and_views_as_writable():
    t = st.arange(6.0).reshape(2, 3)
    assert not np.asarray(t[:, 0]).flags.writeable
    assert not t.T.numpy().flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        np.asarray(t[:, 0])[0] = 1
    assert memoryview(t[:, 0]).readonly and not memoryview(t[1]).readonly
    row = np.asarray(t[1])
    row[0] = 30
    assert t[1, 0].item() == 30.0


def test_a_view_keeps_a_shared_array_alive():
    array = np.arange(6, dtype=np.float32).reshape(3, 2)
    ref = weakref.ref(array)
    t = st.from_numpy(array)
    rows = t[1:]
    del array, t
    gc.collect()
    assert ref() is not None
    rows[0][1] = 9
    assert rows.tolist() == [[2.0, 9.0], [4.0, 5.0]]
    del rows
    gc.collect()
    assert ref() is None


def test_views_of_a_tensor_that_requires_grad_follow_the_no_grad_rule():
    w = st.zeros(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w[0].add_(1)
    with st.no_grad():
        w[0].add_(1)
    assert w.detach()[0].tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("equation, shapes, message", [
    ("...ij,jk->ik", [(2, 3), (3, 4)], r"'\.\.\.'"),
    ("ii->i", [(3, 3)], "repeats in operand 0"),
    ("ij,jk->ik", [(2, 3)], "names 2 operands, but 1"),
    ("ij,jk->iz", [(2, 3), (3, 4)], "'z'"),
    ("ijk->i", [(2, 3)], "2 dimensions"),
    ("i1->i", [(2, 3)], "letters"),
])
def test_einsum_refuses_what_it_does_not_support(equation, shapes, message):
    with pytest.raises(ValueError, match=message):
        st.einsum(equation, *[st.ones(*s) for s in shapes])


def test_einsum_takes_a_list_and_refuses_non_tensors():
    a = st.ones(2, 3)
    assert st.einsum("ij,kj->ik", [a, a]).tolist() == [[3.0, 3.0], [3.0, 3.0]]
    with pytest.raises(TypeError, match="operand 1 must be a Tensor"):
        st.einsum("ij,kj->ik", a, np.ones((2, 3)))


def test_nn_utils_imports_as_torchs():
    import swifttrain.nn.utils
    from swifttrain.nn.utils import clip_grad_norm_, clip_grad_value_

    assert swifttrain.nn.utils is nn.utils and clip_grad_norm_ is nn.utils.clip_grad_norm_
    p = st.zeros(3, requires_grad=True)
    (p * st.tensor([2.0, -2.0, 1.0])).sum().backward()
    assert clip_grad_norm_(p, max_norm=10).item() == pytest.approx(3.0)  # one tensor is allowed
    assert clip_grad_norm_([], max_norm=1).item() == 0.0
    clip_grad_value_([p], 1.5)
    assert p.grad.tolist() == [1.5, -1.5, 1.0]
    with pytest.raises(TypeError, match="item 0 is a list"):
        clip_grad_norm_([[p]], 1.0)
    with pytest.raises(ValueError, match="norm_type must be positive"):
        clip_grad_norm_([p], 1.0, norm_type=0)
    with pytest.raises(ValueError, match="clip_value must be non-negative"):
        clip_grad_value_([p], -1)


def test_double_int_half_name_the_types_there_are():
    t = st.tensor([1.0])
    with pytest.raises(TypeError, match=r"no float64.*\.float\(\)"):
        t.double()
    with pytest.raises(TypeError, match=r"no int32.*\.long\(\)"):
        t.int()
    with pytest.raises(TypeError, match=r"no float16"):
        t.half()
