"""The ``swifttrain`` command installed by pip: the library's command line (st_cli_main)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "examples" / "configs" / "digits_mlp.json"
PROGRAM = Path(sys.executable).parent / "swifttrain"


def run(*args):
    return subprocess.run([str(PROGRAM), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_the_console_script_trains_a_config(tmp_path):
    assert PROGRAM.exists(), "pip install puts swifttrain beside the interpreter"
    out = run("train", str(CONFIG), "-s", str(tmp_path / "run"),
              "-o", '{"trainer": {"num_train_epochs": 3, "save_strategy": "no"}}')
    assert out.returncode == 0, out.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["epoch"] == 2 and metrics["best_validation_accuracy"] > 0.85
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["trainer"]["num_train_epochs"] == 3 and config["trainer"]["adam_beta1"] == 0.9


def test_errors_name_the_key_path_and_exit_with_sysexits_codes(tmp_path):
    out = run("describe", str(CONFIG), "-o", '{"trainer": {"learning_rate": "fast"}}')
    assert out.returncode == 65 and "trainer.learning_rate" in out.stderr
    assert run("describe", str(tmp_path / "missing.json")).returncode == 66
    assert run("launch").returncode == 64
    out = run("describe", str(CONFIG))
    assert out.returncode == 0 and "parameters: 4810" in out.stdout


def test_trainer_from_config_builds_what_the_command_line_builds(silent, tmp_path, monkeypatch):
    import swifttrain as st
    monkeypatch.chdir(ROOT)  # the config's data paths start at the working directory
    trainer = silent(st.Trainer.from_config(CONFIG, overrides={"trainer": {
        "num_train_epochs": 12, "save_strategy": "no", "output_dir": str(tmp_path)}}))
    assert isinstance(trainer.model, st.nn.Module)
    assert list(trainer.model.state_dict())[:2] == ["0.weight", "0.bias"]
    assert trainer.args.learning_rate == 0.003 and trainer.args.num_train_epochs == 12
    trainer.train()
    assert trainer.evaluate()["eval_accuracy"] > 0.9
    import pytest
    with pytest.raises(ValueError, match=r"model\.layers\[0\]\.type: unknown layer type"):
        st.Trainer.from_config(CONFIG, overrides={"model": {"layers": [{"type": "linar"}]}})


def test_the_progress_bar_fits_a_narrow_terminal_and_never_wraps(tmp_path):
    """On a terminal (a pty 40 columns wide, stdout and stderr both on it), the core's bar is
    redrawn in place with \\r, every drawing at most 39 characters, the log lines above it."""
    import fcntl
    import os
    import pty
    import struct
    import termios
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 40, 0, 0))
    process = subprocess.Popen([str(PROGRAM), "train", str(CONFIG), "-s", str(tmp_path / "run"), "-o",
                                '{"trainer": {"num_train_epochs": 2, "save_strategy": "no"}}'],
                               cwd=ROOT, stdin=subprocess.DEVNULL, stdout=child, stderr=child)
    os.close(child)
    output = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the program ended and closed the pty
            break
        if not chunk:
            break
        output += chunk
    os.close(main)
    assert process.wait(timeout=300) == 0, output.decode(errors="replace")
    text = output.decode().replace("\x1b[K", "")
    drawings = [part for line in text.split("\n") for part in line.split("\r")
                if part.startswith(("train ", "eval "))]
    assert any("|" in d and "it/s" in d for d in drawings), text  # a bar was drawn
    assert all(len(d) <= 39 for d in drawings), [d for d in drawings if len(d) > 39]
    assert "\rtrain 100%" in text and "step 90: eval_loss=" in text


def test_disable_tqdm_of_a_config_reaches_the_python_trainer(silent, monkeypatch):
    import swifttrain as st
    monkeypatch.chdir(ROOT)
    assert st.Trainer.from_config(CONFIG).args.disable_tqdm is False
    quiet = st.Trainer.from_config(CONFIG, overrides={"trainer": {"disable_tqdm": True}})
    assert quiet.args.disable_tqdm is True
