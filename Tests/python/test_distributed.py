"""Data-parallel training from Python under mpirun (examples/python/train_distributed.py):
2 processes of batch 16 end with the weights of one process of batch 32, only process 0
writes files, a 2-process run resumes from its checkpoint, and a process that raises ends
the job within 30 s. Open MPI is installed by the test command (scripts/bootstrap.sh)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parent.parent.parent / "examples" / "python" / "train_distributed.py"
# CI runs as root, which Open MPI refuses without these.
# (and containers may forbid the cross-memory attach of its shared-memory transport)
ENV = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
       "OMPI_MCA_btl_vader_single_copy_mechanism": "none"}


def mpirun(*args, timeout=300):
    if shutil.which("mpirun") is None:
        pytest.fail("mpirun not found: install Open MPI (Debian: apt-get install openmpi-bin)")
    return subprocess.run(["mpirun", "--oversubscribe", "-np", "2", sys.executable, *map(str, args)],
                          env=ENV, capture_output=True, text=True, timeout=timeout)


def alone(*args):
    return subprocess.run([sys.executable, *map(str, args)], env=ENV, capture_output=True, text=True,
                          timeout=300)


def test_two_processes_train_as_one_with_the_whole_batch(tmp_path):
    one = alone(EXAMPLE, "--batch-size", 32, "--steps", 20, "--out", tmp_path / "one")
    assert one.returncode == 0, one.stderr
    two = mpirun(EXAMPLE, "--batch-size", 16, "--steps", 20, "--out", tmp_path / "two")
    assert two.returncode == 0, two.stderr + two.stdout
    assert "2 process(es): step 20" in two.stdout and two.stdout.count("process(es)") == 1  # process 0 prints
    a, b = np.loadtxt(tmp_path / "two" / "weights.txt"), np.loadtxt(tmp_path / "one" / "weights.txt")
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    # the only files are process 0's: one set of checkpoints, one weights file
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["checkpoint-10", "checkpoint-20", "weights.txt"]


def test_gradients_summed_during_the_backward_pass_give_the_same_weights(tmp_path):
    # ddp_bucket_cap_mb below the model's 0.01 MB of gradients: each is summed on the
    # communication thread as the backward pass makes it, instead of in one message after it
    one = alone(EXAMPLE, "--batch-size", 32, "--steps", 20, "--out", tmp_path / "one")
    assert one.returncode == 0, one.stderr
    two = mpirun(EXAMPLE, "--batch-size", 16, "--steps", 20, "--out", tmp_path / "two", "--bucket-cap-mb", 0.001)
    assert two.returncode == 0, two.stderr + two.stdout
    np.testing.assert_allclose(np.loadtxt(tmp_path / "two" / "weights.txt"),
                               np.loadtxt(tmp_path / "one" / "weights.txt"), rtol=1e-4, atol=1e-6)


def test_a_two_process_run_resumes_from_its_checkpoint(tmp_path):
    whole = mpirun(EXAMPLE, "--batch-size", 16, "--steps", 20, "--out", tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr
    first = mpirun(EXAMPLE, "--batch-size", 16, "--steps", 10, "--out", tmp_path / "cut")
    assert first.returncode == 0, first.stderr
    second = mpirun(EXAMPLE, "--batch-size", 16, "--steps", 20, "--out", tmp_path / "cut", "--resume")
    assert second.returncode == 0, second.stderr
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "cut" / "weights.txt"),
                                  np.loadtxt(tmp_path / "whole" / "weights.txt"))


def test_a_process_that_raises_ends_the_job_within_30_seconds(tmp_path):
    script = tmp_path / "raising.py"
    script.write_text(
        "import os, swifttrain as st\n"
        "from swifttrain import nn\n"
        "import numpy as np\n"
        "class Boom(st.TrainerCallback):\n"
        "    def on_step_end(self, args, state, control, **kwargs):\n"
        "        if state.process_index == 1 and state.global_step == 3:\n"
        "            raise RuntimeError('process 1 fails on purpose')\n"
        "x = np.random.default_rng(0).standard_normal((256, 8)).astype(np.float32)\n"
        "y = (x[:, 0] > 0).astype(np.int64)\n"
        "model = nn.Sequential(nn.Linear(8, 2))\n"
        f"args = st.TrainingArguments(output_dir={str(tmp_path / 'out')!r}, max_steps=10000, "
        "per_device_train_batch_size=8, save_strategy='no', disable_tqdm=True)\n"
        "st.Trainer(model, args, train_dataset=(x, y), callbacks=[Boom()]).train()\n")
    start = time.monotonic()
    result = mpirun(script, timeout=120)
    elapsed = time.monotonic() - start
    assert result.returncode != 0
    assert "process 1 fails on purpose" in result.stderr
    assert elapsed < 30, f"the job took {elapsed:.0f} s to stop"


def test_a_process_that_hangs_ends_the_job_after_ddp_timeout(tmp_path):
    script = tmp_path / "hanging.py"
    script.write_text(
        "import time, swifttrain as st\n"
        "from swifttrain import nn\n"
        "import numpy as np\n"
        "class Hang(st.TrainerCallback):\n"
        "    def on_step_end(self, args, state, control, **kwargs):\n"
        "        if state.process_index == 1 and state.global_step == 3:\n"
        "            time.sleep(600)\n"
        "x = np.random.default_rng(0).standard_normal((256, 8)).astype(np.float32)\n"
        "y = (x[:, 0] > 0).astype(np.int64)\n"
        "model = nn.Sequential(nn.Linear(8, 2))\n"
        f"args = st.TrainingArguments(output_dir={str(tmp_path / 'out')!r}, max_steps=10000, ddp_timeout=3, "
        "per_device_train_batch_size=8, save_strategy='no', disable_tqdm=True)\n"
        "st.Trainer(model, args, train_dataset=(x, y), callbacks=[Hang()]).train()\n")
    start = time.monotonic()
    result = mpirun(script, timeout=120)
    elapsed = time.monotonic() - start
    assert result.returncode != 0
    assert "rank 0 of 2" in result.stderr and "(ddp_timeout)" in result.stderr, result.stderr
    assert elapsed < 30, f"the job took {elapsed:.0f} s to stop"
