"""The progress bars of ProgressCallback: tqdm's (``tqdm.auto``: a widget in a notebook, text
in a terminal) when tqdm is installed, else a one-line terminal bar of our own, cut to the
terminal's width::

    train  42%|██████▎        | 567/1350 [00:01<00:02, 410.25it/s]
"""

from __future__ import annotations

import shutil
import time
from typing import Any, Optional

try:
    from tqdm.auto import tqdm as _tqdm
except ImportError:  # tqdm is optional
    _tqdm = None


def _in_notebook() -> bool:
    """Whether tqdm.auto chose its notebook widget (an IPython kernel with ipywidgets)."""
    return _tqdm is not None and _tqdm.__module__.startswith("tqdm.notebook")


def bars_shown(stream: Any) -> bool:
    """Whether bars are drawn: on a terminal, or in a notebook with tqdm; elsewhere (a file,
    a pipe, a captured test) the logs are printed one per line and no bar is drawn."""
    return ProgressBar.is_terminal(stream) or _in_notebook()


def make_bar(total: int, stream: Any, desc: str) -> Any:
    """A bar with ProgressBar's methods: tqdm's when tqdm is installed, else ours."""
    if _tqdm is not None:
        return TqdmBar(total, stream, desc)
    return ProgressBar(total, stream, desc=desc)


class TqdmBar:
    """tqdm.auto's bar behind ProgressBar's methods (``update`` sets the count)."""

    def __init__(self, total: int, stream: Any, desc: str) -> None:
        self.stream = None if _in_notebook() else stream
        self.bar = _tqdm(total=max(int(total), 0), desc=desc, file=self.stream, dynamic_ncols=True)

    @property
    def n(self) -> int:
        return self.bar.n

    def update(self, n: int) -> None:
        self.bar.update(n - self.bar.n)

    def write(self, text: str) -> None:
        self.bar.write(text, file=self.stream)

    def close(self, leave: bool = True) -> None:
        self.bar.leave = leave
        self.bar.close()

    def refresh(self) -> None:
        self.bar.refresh()


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


class ProgressBar:
    """Redraws itself at most every ``min_interval`` seconds; ``write`` prints a line above
    the bar."""

    _BLOCKS = " ▏▎▍▌▋▊▉█"

    def __init__(self, total: int, stream, desc: str = "", min_interval: float = 0.1) -> None:
        self.total = max(int(total), 0)
        self.n = 0
        self.desc = desc
        self.stream = stream
        self.min_interval = min_interval
        self.start = time.monotonic()
        self._last_draw = 0.0
        self._draw()

    @staticmethod
    def is_terminal(stream) -> bool:
        isatty = getattr(stream, "isatty", None)
        try:
            return bool(isatty and isatty())
        except ValueError:  # closed stream
            return False

    def update(self, n: int) -> None:
        """Sets the count to ``n`` (the global step) and redraws if it is time to."""
        self.n = n
        if self.n >= self.total or time.monotonic() - self._last_draw >= self.min_interval:
            self._draw()

    def write(self, text: str) -> None:
        self.stream.write("\r\x1b[K" + text + "\n")
        self._draw()

    def close(self, leave: bool = True) -> None:
        """Draws the final state and moves below it, or with ``leave=False`` erases it (a bar
        shown on top of another one, which then redraws with ``refresh``)."""
        if leave:
            self._draw()
            self.stream.write("\n")
        else:
            self.stream.write("\r\x1b[K")
        self.stream.flush()

    def refresh(self) -> None:
        self._draw()

    def render(self, width: int) -> str:
        """The bar's line, at most ``width - 1`` characters (a full line would wrap on some
        terminals): the bar takes the room left; with less than 4 cells of it there is no
        bar, and then the text is cut."""
        elapsed = time.monotonic() - self.start
        rate = self.n / elapsed if elapsed > 0 else 0.0
        remaining = (self.total - self.n) / rate if rate > 0 else 0.0
        fraction = min(self.n / self.total, 1.0) if self.total else 1.0
        left = f"{self.desc} {fraction * 100:3.0f}%|"
        right = (f"| {self.n}/{self.total} [{_clock(elapsed)}<{_clock(remaining)}, "
                 f"{rate:.2f}it/s]")
        room = max(width - 1, 1)
        cells = room - len(left) - len(right)
        if cells < 4:
            return (left + right[1:])[:room]
        filled, partial = divmod(int(fraction * cells * 8), 8)
        bar = "█" * filled + (self._BLOCKS[partial] if filled < cells else "")
        return left + bar.ljust(cells) + right

    def _draw(self) -> None:
        self._last_draw = time.monotonic()
        width = shutil.get_terminal_size((80, 20)).columns
        self.stream.write("\r" + self.render(width))
        self.stream.flush()
