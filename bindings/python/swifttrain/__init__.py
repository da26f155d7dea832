"""swifttrain: a small training library with a HuggingFace-style Python interface.

    import swifttrain as st
    from swifttrain import nn

    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    args = st.TrainingArguments(output_dir="runs/digits", num_train_epochs=30,
                                per_device_train_batch_size=32, learning_rate=1e-3)
    trainer = st.Trainer(model=model, args=args, train_dataset=(X, y), eval_dataset=(Xv, yv))
    trainer.train()
    trainer.evaluate()  # {"eval_loss": ..., "eval_accuracy": ..., ...}

The computing happens in libswifttrain (Swift and OpenBLAS), reached through its C API;
this package translates. Every error it reports derives from :class:`SwiftTrainError`.
"""

from . import _swifttrain as _C
from ._swifttrain import (
    BlasError,
    InternalError,
    InvalidArgumentError,
    MisuseError,
    NotFoundError,
    OutOfMemoryError,
    ShapeError,
    SwiftTrainError,
    TrainingAbortedError,
)
from . import nn
from .callbacks import (
    PrinterCallback,
    ProgressCallback,
    TrainerCallback,
    TrainerControl,
    TrainerState,
)
from .trainer import PredictionOutput, Trainer, TrainOutput
from .training_args import TrainingArguments

__version__ = _C.version_string()


def manual_seed(seed: int) -> None:
    """Seeds the generator that initialises new modules' parameters, like
    ``torch.manual_seed``: modules created afterwards in the same order get the same
    parameters. ``seed`` is an int in ``[0, 2**64)``."""
    _C.manual_seed(seed)


def blas_corename() -> str:
    """The OpenBLAS kernel set in use (e.g. ``"Haswell"``, ``"SkylakeX"``), or
    ``"unavailable"`` when OpenBLAS could not be loaded."""
    return _C.blas_corename()


__all__ = [
    "Trainer", "TrainingArguments", "TrainerCallback", "TrainerState", "TrainerControl",
    "ProgressCallback", "PrinterCallback", "TrainOutput", "PredictionOutput", "nn",
    "manual_seed", "blas_corename", "__version__",
    "SwiftTrainError", "InvalidArgumentError", "ShapeError", "OutOfMemoryError",
    "MisuseError", "InternalError", "TrainingAbortedError", "BlasError", "NotFoundError",
]
