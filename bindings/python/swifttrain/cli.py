"""The ``swifttrain`` command (``pip install`` puts it on the PATH): the library's command
line, the same implementation the C program runs (``st_cli_main``; docs/configs.md)::

    swifttrain train examples/configs/digits_mlp.json -s runs/mlp
    swifttrain describe examples/configs/digits_mlp.json
"""

import signal
import sys

from . import _swifttrain as _C


def main() -> int:
    # The library handles the first Ctrl-C (the step is saved) and then puts the previous
    # action back: the default one, so that a second Ctrl-C ends the process as it does for
    # the C program (Python's own handler could not run while the library trains).
    previous = signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        return _C.cli_main(["swifttrain"] + sys.argv[1:])
    finally:
        signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    raise SystemExit(main())
