"""swifttrain: a small training library with PyTorch-style tensors and layers and a
HuggingFace-style Trainer.

    import swifttrain as st
    import swifttrain.functional as F
    from swifttrain import nn

    x = st.tensor([[1.0, 2.0]], requires_grad=True)
    F.softmax(x @ x.T, dim=-1).sum().backward()    # x.grad


    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    args = st.TrainingArguments(output_dir="runs/digits", num_train_epochs=30,
                                per_device_train_batch_size=32, learning_rate=1e-3)
    trainer = st.Trainer(model=model, args=args, train_dataset=(X, y), eval_dataset=(Xv, yv))
    trainer.train()
    trainer.evaluate()  # {"eval_loss": ..., "eval_accuracy": ..., ...}

    optimizer = st.optim.AdamW(model.parameters(), lr=5e-3)      # or a loop of your own
    scheduler = st.get_scheduler("cosine", optimizer, num_warmup_steps=10,
                                 num_training_steps=1000)

The computing happens in libswifttrain (Swift and OpenBLAS), reached through its C API;
this package translates. Every error it reports derives from :class:`SwiftTrainError`;
:class:`ShapeError` is also a ``RuntimeError``, as PyTorch raises for shapes.
"""

import operator

from . import _swifttrain as _C
from ._swifttrain import (
    BlasError,
    InternalError,
    InvalidArgumentError,
    MisuseError,
    NotFoundError,
    FileError,
    CorruptFileError,
    CheckpointNotFoundError,
    OutOfMemoryError,
    ShapeError,
    StateDictError,
    SwiftTrainError,
    TrainingAbortedError,
)

# OpenBLAS is loaded at run time (the library picks its kernels first), so a machine without it
# fails here, with what to install, instead of at the first matrix product.
try:
    _C.blas_init()
except BlasError as _error:
    raise ImportError(f"swifttrain cannot be used without OpenBLAS: {_error}") from None

from . import _tensor
from ._tensor import *  # noqa: F401,F403 - Tensor, tensor, zeros, no_grad, float32, ...
from ._tensor import Tensor, max_return as _max_return  # noqa: F401
from ._einsum import einsum
from . import functional
from . import nn
from . import optim
from . import safetensors
from .callbacks import (
    PrinterCallback,
    EarlyStoppingCallback,
    TerminateOnNaNCallback,
    MetricsLoggerCallback,
    ProgressCallback,
    TrainerCallback,
    TrainerControl,
    TrainerState,
)
from .data_collator import DataCollatorWithPadding, default_data_collator
from ._model_call import ModelOutput
from .model_interfaces import ComposerModel, ModuleInterface
from .optimization import SchedulerType, get_scheduler
from .registry import register_callback, register_model, unregister_callback, unregister_model
from .trainer import EvalPrediction, PredictionOutput, Trainer, TrainOutput
from .training_args import TrainingArguments

__version__ = _C.version_string()


def manual_seed(seed: int) -> None:
    """Seeds the generator that initialises new modules' parameters and draws dropout
    masks, like ``torch.manual_seed``: modules created afterwards in the same order get the
    same parameters. It also restarts the seeds of :func:`rand` / :func:`randn` calls made
    without ``seed=``. ``seed`` is an int in ``[0, 2**64)``."""
    _C.manual_seed(seed)
    _tensor._reseed(seed)


def blas_corename() -> str:
    """The OpenBLAS kernel set in use (e.g. ``"Haswell"``, ``"SkylakeX"``), or
    ``"unavailable"`` when OpenBLAS could not be loaded."""
    return _C.blas_corename()


def set_num_threads(num_threads: int) -> None:
    """Sets how many threads the library computes with, like ``torch.set_num_threads``:
    OpenBLAS's threads and the library's own pool for element-wise work (optimizer updates,
    gradient norms), the calling thread included. Process-wide.

    Until it is called the count is ``SWIFTTRAIN_NUM_THREADS``, else ``OPENBLAS_NUM_THREADS``,
    else ``OMP_NUM_THREADS``, else the CPUs this process may run on. Raises
    :class:`InvalidArgumentError` (a ``ValueError``) for a count outside the accepted range,
    ``OverflowError`` for an int beyond a C int, ``TypeError`` for a non-integer."""
    _C.set_num_threads(operator.index(num_threads))


def get_num_threads() -> int:
    """The library's thread count (see :func:`set_num_threads`), like
    ``torch.get_num_threads``."""
    return _C.get_num_threads()


__all__ = [
    "Trainer", "TrainingArguments", "TrainerCallback", "TrainerState", "TrainerControl",
    "ProgressCallback", "PrinterCallback", "EarlyStoppingCallback", "TerminateOnNaNCallback", "MetricsLoggerCallback", "TrainOutput", "PredictionOutput", "EvalPrediction", "nn",
    "functional", "optim", "get_scheduler", "SchedulerType", "manual_seed", "blas_corename",
    "set_num_threads", "get_num_threads", "__version__",
    "SwiftTrainError", "InvalidArgumentError", "ShapeError", "OutOfMemoryError",
    "MisuseError", "InternalError", "TrainingAbortedError", "BlasError", "NotFoundError", "FileError",
    "CorruptFileError", "CheckpointNotFoundError", "StateDictError", "safetensors",
    "einsum",
] + _tensor.__all__
