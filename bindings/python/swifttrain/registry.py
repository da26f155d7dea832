"""Model and callback types of configs registered from Python, as AllenNLP's
``@Model.register("name")``: the library's one registry (docs/configs.md), which
``Trainer.from_config`` and the library's config builder read.

    @swifttrain.register_model("two_layer")
    def two_layer(hidden=64):
        return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))

    @swifttrain.register_callback("print_epochs")
    class PrintEpochs(TrainerCallback):
        def __init__(self, prefix="epoch"): ...

    Trainer.from_config({"model": {"type": "two_layer", "hidden": 32}, ...,
                         "callbacks": [{"type": "print_epochs", "prefix": ">"}]})

A factory receives the config object's other keys as keyword arguments. A model factory
returns an ``nn.Module`` made of the library's layers (the config's model runs in the
library); a callback factory (a ``TrainerCallback`` class or a function) returns a
``TrainerCallback``, which ``Trainer.from_config`` adds to the trainer (the ``swifttrain``
program, a process of its own, knows only the built-in types). An exception a factory raises
becomes the config's error (``InvalidArgumentError``, a ``ValueError``, naming the key path)
with the exception as its ``__cause__``.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from . import _swifttrain as _C

__all__ = ["register_model", "register_callback", "unregister_model", "unregister_callback"]

F = TypeVar("F", bound=Callable)


def register_model(name: str) -> Callable[[F], F]:
    """A decorator registering a model (layer) type of configs named ``name``: the factory
    gets the config object's arguments as keywords and returns an ``nn.Module``. A name
    already registered or a built-in type's (``linear``, ...) raises ``InvalidArgumentError``."""
    def register(factory: F) -> F:
        _C.config_register_model(name, factory)
        return factory
    return register


def register_callback(name: str) -> Callable[[F], F]:
    """A decorator registering a callback type of configs' ``"callbacks"`` named ``name``: the
    factory (a ``TrainerCallback`` class or a function) gets the entry's arguments as keywords
    and returns a ``TrainerCallback``."""
    def register(factory: F) -> F:
        _C.config_register_callback(name, factory)
        return factory
    return register


def unregister_model(name: str) -> None:
    """Removes a model type registered from Python or C (``NotFoundError`` when there is none)."""
    _C.config_unregister_model(name)


def unregister_callback(name: str) -> None:
    """Removes a callback type registered from Python or C (``NotFoundError`` when there is none)."""
    _C.config_unregister_callback(name)
