"""Progress output (issue 16, part 5): tqdm.auto's bars when tqdm is installed (a notebook
gets its widget), else the built-in bar cut to the terminal's width; a log line is always a
line of its own, never glued to a bar."""

from __future__ import annotations

import io
import re

import pytest

import swifttrain as st
from swifttrain import _progress_bar


class Terminal(io.StringIO):
    def isatty(self):
        return True


def _segments(text):
    """What stays visible of each line: the part after its last carriage return, without the
    terminal's control sequences (erase line, cursor up)."""
    return [re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", line.split("\r")[-1]) for line in text.split("\n")]


def _trainer(digits, mlp, quiet_args, silent, screen, **overrides):
    values = dict(disable_tqdm=False, max_steps=4, logging_steps=2, per_device_train_batch_size=16,
                  per_device_eval_batch_size=100, save_strategy="no")
    values.update(overrides)
    trainer = silent(st.Trainer(mlp, quiet_args(**values), train_dataset=digits.train,
                                eval_dataset=digits.test))
    trainer.add_callback(st.ProgressCallback(stream=screen))
    return trainer


@pytest.mark.parametrize("columns", [40, 20, 80])
def test_the_builtin_bar_fits_the_terminal_and_never_wraps(builtin_bar, monkeypatch, columns, digits, mlp,
                                                           quiet_args, silent):
    monkeypatch.setenv("COLUMNS", str(columns))  # what shutil.get_terminal_size reads first
    screen = Terminal()
    _trainer(digits, mlp, quiet_args, silent, screen).train()
    drawn = [part for line in screen.getvalue().split("\n") for part in line.split("\r")
             if "%" in part and "{" not in part]
    assert drawn and all(len(part) <= columns - 1 for part in drawn), max(drawn, key=len)
    assert any("4/4" in part for part in drawn) or columns < 30  # (cut off at 20 columns)
    logs = [segment for segment in _segments(screen.getvalue()) if segment.startswith("{'loss'")]
    assert len(logs) == 2 and all(log.endswith("}") for log in logs)  # logs are never cut


def test_the_builtin_bar_drops_its_cells_before_its_numbers():
    bar = _progress_bar.ProgressBar(1350, io.StringIO(), desc="train")
    bar.n = 567
    assert re.fullmatch(r"train  42%\|█+[▏▎▍▌▋▊▉]? *\| 567/1350 \[.*\]", bar.render(80))
    narrow = bar.render(40)
    assert len(narrow) == 39 and narrow.startswith("train  42%| 567/1350 [") and "█" not in narrow


@pytest.mark.parametrize("terminal", [True, False])
def test_a_standalone_evaluate_prints_its_logs_on_a_line_of_their_own(builtin_bar, terminal, digits, mlp,
                                                                      quiet_args, silent):
    screen = Terminal() if terminal else io.StringIO()
    _trainer(digits, mlp, quiet_args, silent, screen).evaluate()
    segments = _segments(screen.getvalue())
    logged = [segment for segment in segments if "eval_loss" in segment]
    assert len(logged) == 1 and logged[0].startswith("{'eval_loss'") and "%|" not in logged[0]
    if terminal:
        assert segments[-2].startswith("eval 100%|")  # the bar, finished, below the logs
    else:
        assert "%|" not in screen.getvalue()  # no bar in a file or a pipe


def test_tqdm_draws_the_bars_when_installed(digits, mlp, quiet_args, silent):
    pytest.importorskip("tqdm")
    assert _progress_bar._tqdm is not None
    screen = Terminal()
    trainer = _trainer(digits, mlp, quiet_args, silent, screen, eval_strategy="steps", eval_steps=4)
    trainer.train()
    trainer.evaluate()
    text = screen.getvalue()
    assert "train: 100%|" in text and "4/4 [" in text  # tqdm's format ("desc: ")
    assert "eval: 100%|" in text
    segments = _segments(text)
    logs = [segment for segment in segments if segment.startswith("{")]
    assert [log[:7] for log in logs] == ["{'loss'", "{'loss'", "{'eval_", "{'train", "{'eval_"]
    assert not any("%|" in segment and "{'" in segment for segment in segments)


def test_a_notebook_gets_tqdms_widget_whatever_the_stream(monkeypatch):
    made = []

    class NotebookBar:  # what tqdm.auto is in a notebook kernel
        def __init__(self, **kwargs):
            made.append(kwargs)
            self.n = 0

    NotebookBar.__module__ = "tqdm.notebook"
    monkeypatch.setattr(_progress_bar, "_tqdm", NotebookBar)
    assert _progress_bar.bars_shown(io.StringIO())  # (no terminal: a notebook's output)
    _progress_bar.make_bar(10, io.StringIO(), "train")
    assert made == [{"total": 10, "desc": "train", "file": None, "dynamic_ncols": True}]
