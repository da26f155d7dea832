"""A one-line terminal progress bar (no dependency on tqdm)::

    train  42%|██████▎        | 567/1350 [00:01<00:02, 410.25it/s]
"""

from __future__ import annotations

import shutil
import time


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
        elapsed = time.monotonic() - self.start
        rate = self.n / elapsed if elapsed > 0 else 0.0
        remaining = (self.total - self.n) / rate if rate > 0 else 0.0
        fraction = min(self.n / self.total, 1.0) if self.total else 1.0
        left = f"{self.desc} {fraction * 100:3.0f}%|"
        right = (f"| {self.n}/{self.total} [{_clock(elapsed)}<{_clock(remaining)}, "
                 f"{rate:.2f}it/s]")
        cells = max(width - len(left) - len(right) - 1, 1)
        filled, partial = divmod(int(fraction * cells * 8), 8)
        bar = "█" * filled + (self._BLOCKS[partial] if filled < cells else "")
        return left + bar.ljust(cells) + right

    def _draw(self) -> None:
        self._last_draw = time.monotonic()
        width = shutil.get_terminal_size((80, 20)).columns
        self.stream.write("\r" + self.render(width))
        self.stream.flush()
