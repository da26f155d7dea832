"""The rest of HF's Trainer surface: small methods with HF's behaviour, and the methods a
CPU trainer whose loops run in the library cannot honour, which raise NotImplementedError
saying why and what to use instead (docs/hf-trainer.md has the whole table)."""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Dict, List, Optional, Union

# HF's methods that raise here, and why.
_LOOP = "the library runs the training and evaluation loops and loads the batches itself"
_WHY: Dict[str, str] = {
    "get_train_dataloader": f"{_LOOP}, so there is no DataLoader to return; the data is "
                            "trainer.train_dataset, batched by trainer.data_collator",
    "get_eval_dataloader": f"{_LOOP}, so there is no DataLoader to return; the data is "
                           "trainer.eval_dataset",
    "get_test_dataloader": f"{_LOOP}, so there is no DataLoader to return; pass the dataset to predict()",
    "get_batch_samples": f"{_LOOP}; a callback's on_after_dataloader sees (and may replace) each batch",
    "get_resumed_dataloader": f"{_LOOP}; train(resume_from_checkpoint=...) skips the batches already seen",
    "evaluation_loop": f"{_LOOP}; call evaluate() or predict()",
    "hyperparameter_search": "it needs optuna, ray or wandb driving model_init, which swifttrain does "
                             "not have; loop over TrainingArguments yourself, one Trainer per trial",
    "call_model_init": "model_init is not supported; build the model and pass it as model=",
    "create_accelerator_and_postprocess": "there is no accelerate: training runs on the CPU in the library",
    "floating_point_ops": "swifttrain does not count floating-point operations (no total_flos)",
    "store_flos": "swifttrain does not count floating-point operations (no total_flos)",
    "push_to_hub": "swifttrain does not talk to the Hugging Face Hub; save_model() writes "
                   "model.safetensors, which huggingface_hub can upload",
    "init_hf_repo": "swifttrain does not talk to the Hugging Face Hub",
    "create_model_card": "swifttrain does not talk to the Hugging Face Hub",
    "set_initial_training_values": f"{_LOOP}; the library computes the steps, epochs and batch sizes",
    "get_optimizer_cls_and_kwargs": "the library builds the optimizer from the arguments; "
                                    "trainer.create_optimizer() returns it as a swifttrain.optim object",
}


def _raises(name: str) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"Trainer.{name} is not supported: {_WHY[name]}")
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Not supported (HF's ``{name}``): {_WHY[name]}."
    return method


class TrainerSurface:
    """Mixed into :class:`swifttrain.Trainer`."""

    args: Any
    model: Any
    optimizer: Any
    state: Any
    _core: Any

    def num_examples(self, dataloader: Any) -> int:
        """HF's: the number of samples of ``dataloader.dataset``, or of a dataset given
        itself (an ``(X, y)`` tuple counts ``len(X)``)."""
        dataset = getattr(dataloader, "dataset", dataloader)
        if isinstance(dataset, tuple) and dataset:
            dataset = dataset[0]
        try:
            return len(dataset)
        except TypeError:
            return len(dataloader) * self.args.per_device_train_batch_size

    def get_decay_parameter_names(self, model: Any) -> List[str]:
        """HF's: the names of ``model``'s parameters that get weight decay (not biases, not
        normalisation layers'), by the library's rule."""
        return [name for name, _ in model.named_parameters() if self._core.parameter_decays(name)]

    def get_num_trainable_parameters(self) -> int:
        """HF's: the number of values in the parameters that require a gradient."""
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)

    def _require_optimizer(self) -> Any:
        if self.optimizer is None:  # (HF's message)
            raise ValueError("Trainer optimizer is None, please make sure you have setup the optimizer before.")
        return self.optimizer

    def get_learning_rates(self) -> List[float]:
        """HF's: each optimizer group's learning rate."""
        return [group["lr"] for group in self._require_optimizer().param_groups]

    def get_optimizer_group(self, param: Optional[Any] = None) -> Union[Dict[str, Any], List[Any]]:
        """HF's: the optimizer group holding ``param``, else every group's parameters."""
        groups = self._require_optimizer().param_groups
        if param is not None:
            for group in groups:
                if any(p is param for p in group["params"]):
                    return group
        return [group["params"] for group in groups]

    def compute_loss_context_manager(self) -> Any:
        """HF's: a context for the loss computation; there is no autocast on swifttrain's
        float32 CPU trainer, so it does nothing."""
        return contextlib.nullcontext()

    def autocast_smart_context_manager(self, cache_enabled: Optional[bool] = True) -> Any:
        """HF's: no autocast on swifttrain's float32 CPU trainer, so it does nothing."""
        return contextlib.nullcontext()

    def get_total_train_batch_size(self, args: Any) -> int:
        """HF's: the samples of one optimizer step across every process: the batch size
        times the accumulation steps times the processes training together."""
        return args.per_device_train_batch_size * args.gradient_accumulation_steps * self.state.world_size

    def end(self) -> None:
        """HF's: finishes the trackers and the distributed process group. Does nothing here:
        swifttrain's loggers write as they go, and its data-parallel processes finish at exit."""

    def get_cp_size(self) -> int:
        """HF's context-parallel size: 1 (swifttrain parallelises data only)."""
        return 1

    def get_sp_size(self) -> int:
        """HF's sequence-parallel size: 1 (swifttrain parallelises data only)."""
        return 1

    def get_tp_size(self) -> int:
        """HF's tensor-parallel size: 1 (swifttrain parallelises data only)."""
        return 1


for _name in _WHY:
    setattr(TrainerSurface, _name, _raises(_name))
