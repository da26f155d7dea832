"""The cost of a model whose forward is written in Python, next to the same model built from
layers (which runs wholly in the library), through swifttrain.Trainer on the workloads of
shared/bench/WORKLOADS.md (W1 by default).

    python bench/python_forward.py [W1 W2 W3] [--repeats 3]

Both models are the same MLP with the same initial weights; the Python one is an nn.Module
subclass whose forward calls the layers, so each micro-batch takes the GIL once and calls
three Linear and two ReLU modules from Python. Steps per second are measured as the
difference between a run of warm-up + timed steps and a run of the warm-up steps alone
(so set-up costs cancel), interleaved, median of the repeats. Prints one RESULT line per
(workload, model) and the ratio, with the CPU and the OpenBLAS kernels.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import numpy as np  # noqa: E402

import swifttrain as st  # noqa: E402
from swifttrain import nn  # noqa: E402

WORKLOADS = {
    "W1": dict(sizes=[784, 256, 256, 10], batch=128, optim="adam", lr=1e-3, wd=0.0,
               momentum=0.0, warmup=20, steps=200),
    "W2": dict(sizes=[32, 64, 64, 4], batch=32, optim="sgd", lr=1e-2, wd=0.0, momentum=0.9,
               warmup=100, steps=2000),
    "W3": dict(sizes=[1024, 2048, 2048, 10], batch=256, optim="adamw", lr=1e-3, wd=1e-2,
               momentum=0.0, warmup=10, steps=50),
}


class PythonMLP(nn.Module):
    """The MLP with a forward written in Python."""

    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = x.relu()
        return x


def builtin_mlp(sizes):
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def seconds(kind: str, w: dict, data, steps: int) -> float:
    st.manual_seed(0)
    model = builtin_mlp(w["sizes"]) if kind == "builtin" else PythonMLP(w["sizes"])
    args = st.TrainingArguments(max_steps=steps, per_device_train_batch_size=w["batch"],
                                optim=w["optim"], learning_rate=w["lr"], weight_decay=w["wd"],
                                sgd_momentum=w["momentum"], save_strategy="no",
                                logging_strategy="no", disable_tqdm=True, max_grad_norm=0.0,
                                lr_scheduler_type="constant", dataloader_shuffle=False)
    trainer = st.Trainer(model, args, train_dataset=data)
    trainer.remove_callback(st.PrinterCallback)
    start = time.perf_counter()
    trainer.train()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workloads", nargs="*", default=["W1"])
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    print(f"# CPU: {cpu_name()}; OpenBLAS kernels: {st.blas_corename()}; "
          f"threads: {os.environ['OPENBLAS_NUM_THREADS']}")
    for wid in options.workloads:
        w = WORKLOADS[wid]
        rng = np.random.default_rng(0)
        n = 8 * w["batch"]  # 8 pre-made batches, as the peers use
        data = (rng.standard_normal((n, w["sizes"][0]), dtype=np.float32),
                rng.integers(0, w["sizes"][-1], size=n, dtype=np.int64))
        rates = {"builtin": [], "python": []}
        for _ in range(options.repeats):
            for kind in rates:  # interleaved
                timed = seconds(kind, w, data, w["warmup"] + w["steps"])
                warm = seconds(kind, w, data, w["warmup"])
                rates[kind].append(w["steps"] / max(timed - warm, 1e-9))
        medians = {kind: statistics.median(values) for kind, values in rates.items()}
        for kind, rate in medians.items():
            print(f"RESULT framework=swifttrain-{kind}-forward workload={wid} "
                  f"steps_per_s={rate:.1f} us_per_step={1e6 / rate:.1f}")
        print(f"# {wid}: Python forward / built-in = {medians['python'] / medians['builtin']:.3f} "
              f"(extra {1e6 / medians['python'] - 1e6 / medians['builtin']:.1f} us per step)")


if __name__ == "__main__":
    main()
