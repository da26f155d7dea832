"""One command for issue 13's table: swifttrain's workloads, their GEMM-only ceiling and
where a step's time goes, and the peers of ../shared/bench/ when their packages are
installed, interleaved in one run; medians of the runs.

    python bench/report.py [--runs 3] [--peer-python PATH] [--json bench/results.json]

Builds nothing: run `swift build -c release --product swifttrain-bench` first. Prints the
CPU and a markdown table (the one bench/README.md shows) and writes every number as JSON.
The peers run with the interpreter of --peer-python (a virtual environment with jax, optax
and/or torch); a peer whose package is missing is left out and said so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".build" / "release" / "swifttrain-bench"
PEERS = ROOT.parent / "shared" / "bench"
WORKLOADS = ("W1", "W2", "W3")
PEER_ENV = {"JAX_PLATFORMS": "cpu", "OMP_NUM_THREADS": "2",
            "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads=2"}


def allocation_counter():
    """bench/alloc_count.c built into a temporary directory (for LD_PRELOAD), or None without
    a C compiler."""
    import shutil
    import tempfile
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        print("no C compiler: allocations per step left out", file=sys.stderr)
        return None
    out = Path(tempfile.mkdtemp()) / "alloc_count.so"
    subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", str(out), str(ROOT / "bench" / "alloc_count.c"),
                    "-ldl"], check=True)
    return out


def results(command, env=None):
    """The key=value pairs of every RESULT line a command prints."""
    out = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{out.stdout}{out.stderr}")
    return [dict(item.split("=", 1) for item in line.split()[1:] if "=" in item)
            for line in out.stdout.splitlines() if line.startswith("RESULT ")]


def cpu_name():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def peers_available(python):
    found = []
    for name, module in (("jax", "jax"), ("torch", "torch")):
        ok = subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode == 0
        if ok:
            found.append(name)
        else:
            print(f"peer {name}: not installed for {python}; left out", file=sys.stderr)
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--peer-python", default=sys.executable)
    parser.add_argument("--json", default=str(ROOT / "bench" / "results.json"))
    options = parser.parse_args()
    if not BENCH.exists():
        sys.exit(f"{BENCH} is missing: swift build -c release --product swifttrain-bench")
    peers = peers_available(options.peer_python)
    counter = allocation_counter()
    phase_env = {"LD_PRELOAD": str(counter)} if counter else None
    samples = {}  # (framework, workload) -> [steps/s]
    phases = {w: [] for w in WORKLOADS}
    for run in range(options.runs):  # interleaved: every framework once per run
        for entry in results([BENCH, "PHASES"], env=phase_env):
            phases[entry["workload"].split("_")[1]].append(entry)
        for w in WORKLOADS:
            for entry in results([BENCH, w]):
                samples.setdefault(("swifttrain", w), []).append(float(entry["steps_per_s"]))
            for peer in peers:
                for entry in results([options.peer_python, PEERS / f"peer_{peer}.py", "--workload", w,
                                      "--run", str(run)], env=PEER_ENV):
                    samples.setdefault((entry["framework"], w), []).append(float(entry["steps_per_s"]))
    medians = {f"{f}/{w}": statistics.median(v) for (f, w), v in samples.items()}
    phase_medians = {w: {key: statistics.median(float(e[key]) for e in entries)
                         for key in entries[0] if key.endswith(("_us", "_per_s", "ceiling", "gflops", "_per_step"))
                         or key in ("us_per_step", "of_ceiling")}
                     for w, entries in phases.items() if entries}
    report = {"cpu": cpu_name(), "cores": os.cpu_count(), "runs": options.runs,
              "steps_per_s": medians, "phases": phase_medians}
    Path(options.json).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")

    frameworks = ["swifttrain"] + sorted({f for f, _ in samples} - {"swifttrain"})
    print(f"{report['cpu']}, {report['cores']} cores, medians of {options.runs} interleaved runs\n")
    print("| workload | " + " | ".join(f"{f} steps/s" for f in frameworks)
          + " | GEMM-only ceiling steps/s | swifttrain / ceiling |"
          + "".join(f" swifttrain / {f} |" for f in frameworks[1:]))
    print("|---" * (len(frameworks) + 3 + len(frameworks) - 1) + "|")
    for w in WORKLOADS:
        ours = medians.get(f"swifttrain/{w}")
        ceiling = phase_medians.get(w, {}).get("gemm_ceiling_steps_per_s")
        cells = [f"{medians[f'{f}/{w}']:.4g}" if f"{f}/{w}" in medians else "-" for f in frameworks]
        ratio = f"{ours / ceiling:.2f}" if ours and ceiling else "-"
        peer_ratios = [f"{ours / medians[f'{f}/{w}']:.2f}" if ours and f"{f}/{w}" in medians else "-"
                       for f in frameworks[1:]]
        print(f"| {w} | " + " | ".join(cells) + f" | {ceiling:.4g} | {ratio} |"
              + "".join(f" {r} |" for r in peer_ratios))
    names = ["data", "forward", "loss", "backward", "clip_schedule", "optimizer", "other", "gemm_only"]
    print("\nWhere a swifttrain step goes (µs per step: data, forward, loss and backward from the "
          "planned step's profile, clipping and the optimizer between two events; heap "
          "allocations per step counted by bench/alloc_count.c):\n")
    print("| workload | step | " + " | ".join(names) + " | allocations |")
    print("|---" * (len(names) + 3) + "|")
    for w, values in phase_medians.items():
        allocations = values.get("allocations_per_step")
        print(f"| {w} | {values['us_per_step']:.0f} | "
              + " | ".join(f"{values[n + '_us']:.0f}" for n in names)
              + (f" | {allocations:.0f} |" if allocations is not None else " | - |"))
    print(f"\n(written to {options.json})")


if __name__ == "__main__":
    main()
