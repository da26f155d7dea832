"""The ``swifttrain`` command (``pip install`` puts it on the PATH): the library's command
line, the same implementation the C program runs (``st_cli_main``; docs/configs.md)::

    swifttrain train examples/configs/digits_mlp.json -s runs/mlp
    swifttrain describe examples/configs/digits_mlp.json
"""

import sys

from . import _swifttrain as _C


def main() -> int:
    return _C.cli_main(["swifttrain"] + sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
