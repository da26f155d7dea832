"""The other seed trainers' shapes of the model contract, as thin adapters over the one path
the library runs (a forward per micro-batch that may return a loss):

* :class:`ComposerModel` (MosaicML Composer): ``forward(batch)`` takes the whole batch and
  ``loss(outputs, batch)`` computes the loss.
* :class:`ModuleInterface` (PyMarlin): ``train_step(global_step, batch, device)`` returns the
  loss (or a tuple starting with it), ``val_step(global_step, batch, device)`` the outputs
  evaluation uses.

Both are ``nn.Module`` subclasses; give an instance to :class:`swifttrain.Trainer` as the
model. The batch is a dict of tensors by name (``"input"`` and ``"labels"`` for ``(X, y)``
arrays). Everything else the Trainer does (accumulation, clipping, schedules, checkpoints,
callbacks) applies unchanged.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

from . import _swifttrain as _C
from ._model_call import output_pairs
from .nn import Module

__all__ = ["ComposerModel", "ModuleInterface"]


class ComposerModel(Module):
    """Composer's ``ComposerModel``: implement ``forward(batch)`` and ``loss(outputs,
    batch)``. The Trainer calls both once per micro-batch (in evaluation too, for
    ``eval_loss``); ``eval_forward(batch, outputs)`` gives what prediction returns (the
    forward's outputs by default)."""

    def forward(self, batch: Dict[str, Any]) -> Any:  # type: ignore[override]
        raise NotImplementedError(f"{type(self).__name__} must implement forward(batch)")

    def loss(self, outputs: Any, batch: Dict[str, Any]) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement loss(outputs, batch)")

    def eval_forward(self, batch: Dict[str, Any], outputs: Any = None) -> Any:
        return outputs if outputs is not None else self.forward(batch)

    def _library_call(self, batch: Dict[str, Any], training: bool,
                      global_step: Callable[[], int]) -> List[Tuple[str, Any]]:
        outputs = self.forward(batch)
        loss = self.loss(outputs, batch)
        shown = outputs if training else self.eval_forward(batch, outputs)
        rest = output_pairs(shown, type(self).__name__)
        return [("loss", loss)] + [(k, v) for k, v in rest if k != "loss"]


class ModuleInterface(Module):
    """PyMarlin's ``ModuleInterface``: implement ``train_step(global_step, batch, device)``
    returning the loss (or ``(loss, ...)``) and ``val_step(global_step, batch, device)``
    returning the outputs of evaluation: a tensor (the logits), ``(loss, logits, ...)`` or
    a dict. ``device`` is always ``"cpu"``; ``global_step`` is the trainer's."""

    def train_step(self, global_step: int, batch: Dict[str, Any], device: str) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement train_step")

    def val_step(self, global_step: int, batch: Dict[str, Any], device: str) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement val_step")

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} runs through train_step / val_step")

    def _library_call(self, batch: Dict[str, Any], training: bool,
                      global_step: Callable[[], int]) -> List[Tuple[str, Any]]:
        if training:
            result = self.train_step(global_step(), batch, "cpu")
            loss = result[0] if isinstance(result, (tuple, list)) else result
            if not isinstance(loss, _C.Tensor):
                raise TypeError(f"{type(self).__name__}.train_step returned "
                                f"{type(loss).__name__}; return the loss tensor (or a tuple "
                                f"starting with it)")
            return [("loss", loss)]
        return output_pairs(self.val_step(global_step(), batch, "cpu"), type(self).__name__)
