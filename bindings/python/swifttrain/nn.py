"""Layers, spelled like ``torch.nn``: thin handles over the library's modules.

Each class creates one library module (``st_linear_create``, ``st_relu_create``,
``st_sequential_create``) and keeps its handle; the library owns the parameters and does
all the computing. Build a model and hand it to :class:`swifttrain.Trainer`::

    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    model.num_parameters()  # 4810

Parameters are initialised like PyTorch from the generator seeded by
:func:`swifttrain.manual_seed`.
"""

from __future__ import annotations

from typing import Iterator

from . import _swifttrain as _C

__all__ = ["Module", "Linear", "ReLU", "Sequential"]


class Module:
    """Base class of the layers: holds one library module handle.

    Layers are defined by the library; this class is not meant to be subclassed with a
    ``forward`` of your own.
    """

    def __init__(self, handle: _C.Module) -> None:
        self._handle = handle

    def num_parameters(self) -> int:
        """Number of scalar parameters (weights and biases) in the module and its children."""
        return self._handle.num_parameters()

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class Linear(Module):
    """``y = x W^T + b`` with ``W`` of shape ``[out_features, in_features]``, as
    ``torch.nn.Linear``; initialised uniformly in ``+-1/sqrt(in_features)``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__(_C.linear_create(in_features, out_features, bool(bias)))
        self.in_features = in_features
        self.out_features = out_features
        self.bias = bool(bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias}")


class ReLU(Module):
    """Element-wise ``max(x, 0)``. No parameters."""

    def __init__(self) -> None:
        super().__init__(_C.relu_create())


class Sequential(Module):
    """Runs its modules in order; children are named ``"0"``, ``"1"``, ... A module may
    appear only once."""

    def __init__(self, *modules: Module) -> None:
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: argument {index} is a {type(module).__name__}, "
                                f"not a swifttrain.nn.Module (e.g. nn.Linear(64, 10))")
        super().__init__(_C.sequential_create([module._handle for module in modules]))
        self._modules = tuple(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __getitem__(self, index: int) -> Module:
        return self._modules[index]

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules)

    def __repr__(self) -> str:
        lines = [f"  ({index}): {module!r}".replace("\n", "\n  ")
                 for index, module in enumerate(self._modules)]
        return "Sequential(\n" + "\n".join(lines) + "\n)" if lines else "Sequential()"
