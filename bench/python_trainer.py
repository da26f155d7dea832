"""What the Python front end adds (issue 13: "the Python face adds nothing"): the workloads of
shared/bench/WORKLOADS.md through swifttrain.Trainer next to the Swift front end
(swifttrain-bench), and the cost of a Python callback per delivered event.

    python bench/python_trainer.py [W1 W2 W3] [--repeats 3]

Run with an interpreter that has the package installed, after
`swift build -c release --product swifttrain-bench`. Steps per second of the Python
`Trainer` are measured as the difference between a run of warm-up + timed steps and a run of
the warm-up steps alone (set-up costs cancel), with its default callbacks (the printer of
disable_tqdm=True logs nothing here: logging_strategy "no"), interleaved with the Swift front
end's runs, medians of the repeats. Events: W2 with no Python callback, with a no-op Python
callback on on_step_end only, and on the step's events (on_step_begin, on_pre_optimizer_step,
on_optimizer_step, on_step_end, none of which sends the step off the planned path), and the
same callback muted (registered, so the library delivers the events to the extension's C
trampoline, which returns before taking the GIL: the library's share); µs per delivered event
= (every - none) / events, split into the library's (muted - none) and Python's (every -
muted), from wall time and from the CPU time of the thread
that trains (time.thread_time: the library trains in the calling thread, so this counts the
work of the step and of the events but not the time other processes of a shared machine take
the core away). Prints RESULT lines and the ratios, and the spread (min-max) of the repeats.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import numpy as np  # noqa: E402

import swifttrain as st  # noqa: E402
# the workloads and the layer-built MLP, as python_forward.py has them (one table for both)
from python_forward import WORKLOADS, builtin_mlp as mlp  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".build" / "release" / "swifttrain-bench"
STEP_EVENTS = ("on_step_begin", "on_pre_optimizer_step", "on_optimizer_step", "on_step_end")


def data_for(w):
    rng = np.random.default_rng(0)
    n = 8 * w["batch"]  # 8 pre-made batches, as the peers use
    return (rng.uniform(-1.7, 1.7, size=(n, w["sizes"][0])).astype(np.float32),
            rng.integers(0, w["sizes"][-1], size=n, dtype=np.int64))


def seconds(w, data, steps, events=(), muted=False):
    """(wall, thread CPU) seconds of a Python Trainer run of `steps` steps, with a no-op
    callback on `events` (`muted`: one whose events are all idle, so no Python runs)."""
    st.manual_seed(0)
    args = st.TrainingArguments(max_steps=steps, per_device_train_batch_size=w["batch"],
                                optim=w["optim"], learning_rate=w["lr"], weight_decay=w["wd"],
                                sgd_momentum=w["momentum"], save_strategy="no",
                                logging_strategy="no", disable_tqdm=True, max_grad_norm=0.0,
                                lr_scheduler_type="constant", report_to="none")
    callbacks = []
    if events:
        def noop(self, args, state, control, **kwargs):
            return None
        methods = {e: noop for e in events}
        if muted:  # the protocol ProgressCallback uses when it has no bar to draw
            methods["_idle_events"] = lambda self, args: tuple(events)
        callbacks.append(type("NoOp", (st.TrainerCallback,), methods)())
    trainer = st.Trainer(mlp(w["sizes"]), args, train_dataset=data, callbacks=callbacks)
    trainer.remove_callback(st.PrinterCallback)
    start, cpu = time.perf_counter(), time.thread_time()
    trainer.train()
    return time.perf_counter() - start, time.thread_time() - cpu


def rates(w, data, events=(), muted=False):
    """Steps per second of wall time and of the training thread's CPU time."""
    timed = seconds(w, data, w["warmup"] + w["steps"], events, muted)
    warm = seconds(w, data, w["warmup"], events, muted)
    return tuple(w["steps"] / max(t - s, 1e-9) for t, s in zip(timed, warm))


def rate(w, data):
    return rates(w, data)[0]


def spread(values):
    return f"{min(values):.2f}-{max(values):.2f}"


def swift_rate(wid):
    out = subprocess.run([str(BENCH), wid], capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    return float(dict(item.split("=", 1) for item in line.split()[1:])["steps_per_s"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workloads", nargs="*", default=list(WORKLOADS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--event-steps", type=int, default=10000,
                        help="timed W2 steps of each EVENTS run (more: less noise)")
    options = parser.parse_args()
    if not BENCH.exists():
        raise SystemExit(f"{BENCH} is missing: swift build -c release --product swifttrain-bench")
    print(f"# OpenBLAS kernels: {st.blas_corename()}; threads: {os.environ['OPENBLAS_NUM_THREADS']}")
    for wid in options.workloads:
        w = WORKLOADS[wid]
        data = data_for(w)
        python, swift = [], []
        for _ in range(options.repeats):  # interleaved
            python.append(rate(w, data))
            swift.append(swift_rate(wid))
        p, s = statistics.median(python), statistics.median(swift)
        print(f"RESULT framework=swifttrain-python workload={wid} steps_per_s={p:.1f} "
              f"swift_steps_per_s={s:.1f} python_over_swift={p / s:.3f}")
        print(f"# {wid} spread of {options.repeats}: python {spread(python)} swift {spread(swift)} steps/s")
    w = dict(WORKLOADS["W2"], steps=options.event_steps)
    data = data_for(w)
    n = len(STEP_EVENTS)
    variants = {"none": ((), False), "step_end": (("on_step_end",), False),
                "muted": (STEP_EVENTS, True), "every": (STEP_EVENTS, False)}
    clocks = {"wall": {k: [] for k in variants}, "thread_cpu": {k: [] for k in variants}}
    for _ in range(options.repeats):  # interleaved
        for name, (events, muted) in variants.items():
            wall, cpu = rates(w, data, events, muted)
            clocks["wall"][name].append(1e6 / wall)
            clocks["thread_cpu"][name].append(1e6 / cpu)
    for clock, runs in clocks.items():
        us = {k: statistics.median(v) for k, v in runs.items()}
        per_event = [(e - z) / n for e, z in zip(runs["every"], runs["none"])]
        print(f"RESULT framework=swifttrain-python workload=EVENTS base=W2 clock={clock} "
              f"us_per_step_no_callback={us['none']:.2f} us_per_step_step_end={us['step_end']:.2f} "
              f"us_per_step_4_muted={us['muted']:.2f} us_per_step_4_events={us['every']:.2f} "
              f"us_per_delivered_event={(us['every'] - us['none']) / n:.3f} "
              f"library_us_per_event={(us['muted'] - us['none']) / n:.3f} "
              f"python_us_per_event={(us['every'] - us['muted']) / n:.3f}")
        print(f"# spread of {options.repeats} ({clock}): no callback {spread(runs['none'])}, "
              f"muted {spread(runs['muted'])}, 4 events {spread(runs['every'])} µs/step; "
              f"per delivered event, run by run: {spread(per_event)} µs")


if __name__ == "__main__":
    main()
