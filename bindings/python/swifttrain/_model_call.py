"""How the library runs a model written in Python: once per micro-batch it calls a
:class:`ModelCall` with the batch's tensors by name; this calls the model as HF's Trainer
does (``model(**inputs)``, or the Trainer's ``compute_loss`` when a subclass overrides it)
and hands back the outputs by name: ``"logits"``, and ``"loss"`` when the model computes
its own. The library then applies its loss (or takes the model's), backpropagates, steps.
"""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from . import _swifttrain as _C


class ModelOutput(dict):
    """A model's outputs by name, readable as ``outputs["logits"]`` or ``outputs.logits``
    (HF's ``ModelOutput``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"the model's outputs have no {name!r}; they have "
                                 f"{list(self)}") from None

    def to_tuple(self) -> Tuple[Any, ...]:
        return tuple(self.values())


def output_pairs(result: Any, model_name: str, labels_given: bool = False) -> List[Tuple[str, Any]]:
    """What a forward returned, by name: a tensor is the logits; a dict (or HF ModelOutput,
    or dataclass) gives its names; a tuple is ``(loss, logits, ...)`` when labels were passed
    to the forward and its first item is a one-element tensor (HF's models), else
    ``(logits, ...)``."""
    if isinstance(result, _C.Tensor):
        pairs = [("logits", result)]
    elif isinstance(result, Mapping) or (hasattr(result, "keys") and hasattr(result, "__getitem__")):
        pairs = [(k, result[k]) for k in result.keys()]
    elif dataclasses.is_dataclass(result) and not isinstance(result, type):
        pairs = [(f.name, getattr(result, f.name)) for f in dataclasses.fields(result)]
    elif isinstance(result, (tuple, list)) and result:
        first = result[0]
        names = (["loss", "logits"] if labels_given and len(result) > 1 and isinstance(first, _C.Tensor)
                 and first.is_floating_point() and first.numel() == 1 else ["logits"])
        names += [f"output_{i}" for i in range(len(names), len(result))]
        pairs = list(zip(names, result))
    else:
        raise TypeError(f"{model_name}.forward returned {type(result).__name__}; return a "
                        f"Tensor (the logits), a dict with 'logits' and optionally 'loss', or "
                        f"a tuple (loss, logits, ...)")
    pairs = [(str(k), v) for k, v in pairs if v is not None]
    for name, value in pairs:
        if not isinstance(value, _C.Tensor):
            raise TypeError(f"{model_name}.forward returned {type(value).__name__} as "
                            f"{name!r}; outputs must be swifttrain tensors computed with "
                            f"swifttrain operations (autograd runs in the library)")
    if not pairs:
        raise TypeError(f"{model_name}.forward returned no tensors")
    return pairs


class ForwardSignature:
    """Which batch entries a model's forward takes, by name (HF: columns the forward does
    not accept are dropped, remove_unused_columns)."""

    def __init__(self, forward: Callable[..., Any]) -> None:
        try:
            parameters = list(inspect.signature(forward).parameters.values())
        except (TypeError, ValueError):
            parameters = []
        kinds = inspect.Parameter
        self.takes_any = any(p.kind == kinds.VAR_KEYWORD for p in parameters)
        self.names = [p.name for p in parameters
                      if p.kind in (kinds.POSITIONAL_OR_KEYWORD, kinds.KEYWORD_ONLY)]
        positional = [p for p in parameters
                      if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)]
        self.first = positional[0].name if positional else None
        self.first_positional_only = bool(positional) and positional[0].kind == kinds.POSITIONAL_ONLY

    def arguments(self, batch: Mapping[str, Any]) -> Tuple[Tuple[Any, ...], Dict[str, Any]]:
        """``(args, kwargs)`` for the forward: entries by name; an in-memory dataset's
        features ("input") go first, positionally, when the forward has no parameter of
        that name."""
        kwargs = {k: v for k, v in batch.items() if self.takes_any or k in self.names}
        args: Tuple[Any, ...] = ()
        if "input" in batch and "input" not in self.names and not self.takes_any:
            if self.first is None:
                raise TypeError("the model's forward takes no argument for the batch's 'input'")
            args = (batch["input"],)
            kwargs.pop(self.first, None)
        elif "input" in batch and self.first_positional_only:
            args = (kwargs.pop("input"),)
        return args, kwargs


class ModelCall:
    """The callable the library's custom module runs per micro-batch:
    ``call(batch, training, num_items) -> [(name, Tensor), ...]``."""

    def __init__(self, model: Any, compute_loss: Optional[Callable[..., Any]] = None,
                 remove_unused_columns: bool = True,
                 global_step: Optional[Callable[[], int]] = None,
                 label_names: Sequence[str] = ("labels",), withheld: Sequence[str] = ()) -> None:
        self.model = model
        self.label_names = tuple(label_names)
        self.withheld = tuple(withheld)  # labels kept from the forward (HF pops them)
        #: (module, name, registered tensor) of the model's Python buffers (see after_forward)
        self.buffers: List[Tuple[Any, str, Any]] = []
        self.compute_loss = compute_loss
        self.global_step = global_step or (lambda: 0)
        self.signature = ForwardSignature(model.forward)
        self.remove_unused_columns = remove_unused_columns
        self.name = type(model).__name__
        from .model_interfaces import ComposerModel, ModuleInterface  # (they import this module)
        self.seed_interface = isinstance(model, (ComposerModel, ModuleInterface))

    def run_model(self, inputs: Mapping[str, Any]) -> ModelOutput:
        """``model(**inputs)`` with the entries its forward takes, as a ModelOutput."""
        if self.withheld:
            inputs = {k: v for k, v in inputs.items() if k not in self.withheld}
        if self.remove_unused_columns or "input" in inputs:
            args, kwargs = self.signature.arguments(inputs)
        else:
            args, kwargs = (), dict(inputs)
        labels_given = any(name in kwargs for name in self.label_names)
        outputs = ModelOutput(output_pairs(self.model(*args, **kwargs), self.name, labels_given))
        self.after_forward()
        return outputs

    def after_forward(self) -> None:
        """A buffer the forward replaced (torch's ``self.count = self.count + 1``) has its
        values copied into the tensor registered with the library, which checkpoints save,
        and is registered again."""
        for module, name, registered in self.buffers:
            current = module._buffers.get(name)
            if current is registered or current is None:
                continue
            if tuple(current.shape) != tuple(registered.shape) or current.dtype != registered.dtype:
                raise ValueError(f"{type(module).__name__}.{name}: a buffer was replaced by a tensor of "
                                 f"another shape or dtype ({tuple(current.shape)} {current.dtype!r}, "
                                 f"registered {tuple(registered.shape)} {registered.dtype!r})")
            np.copyto(np.asarray(registered.detach()), np.asarray(current.detach()))
            module._buffers[name] = registered

    def __call__(self, batch: Dict[str, Any], training: bool, num_items: int) -> List[Tuple[str, Any]]:
        model = self.model
        if model.training != training:
            model.train(training)
        if self.compute_loss is None:
            if self.seed_interface:
                pairs = model._library_call(batch, training, self.global_step)
                self.after_forward()
                return pairs
            return list(self.run_model(batch).items())
        # as HF: training_step asks for the loss alone, prediction_step for (loss, outputs)
        result = self.compute_loss(model, batch, return_outputs=not training,
                                   num_items_in_batch=num_items or None)
        if training and not isinstance(result, tuple):
            loss, outputs = result, None
        elif isinstance(result, tuple) and len(result) == 2:
            loss, outputs = result
        else:
            raise TypeError(f"compute_loss(..., return_outputs={not training}) must return "
                            + ("the loss or " if training else "") + "(loss, outputs)")
        self.after_forward()
        if not isinstance(loss, _C.Tensor):
            raise TypeError(f"compute_loss returned {type(loss).__name__} as the loss; return a "
                            f"swifttrain Tensor")
        rest = [] if outputs is None else output_pairs(outputs, self.name)
        return [("loss", loss)] + [(k, v) for k, v in rest if k != "loss"]

    def batch_keys(self, label_names: Sequence[str]) -> Optional[List[str]]:
        """The sample keys a dataset should keep (HF's remove_unused_columns), or None for
        all of them."""
        if not self.remove_unused_columns or self.signature.takes_any or self.seed_interface:
            return None
        return list(self.signature.names) + list(label_names) + ["input"]
