"""Option dicts as the library's ``"key=value,..."`` strings.

``lr_scheduler_kwargs``, ``momentum_scheduler_kwargs`` and ``get_scheduler``'s
``scheduler_specific_kwargs`` reach the library as such strings (``optim_args`` already is
one, as in HF). The library parses them and reports unknown keys and bad values; this only
spells the values: numbers as Python writes them, bools as ``true``/``false``, ``None`` as
``None``, strings as they are.
"""

from __future__ import annotations

import json
import numbers
from typing import Any, Mapping, Optional, Union

import numpy as np

__all__ = ["options_text", "spelled"]


def spelled(value: Any) -> Optional[str]:
    """A value as the library parses it: numbers as Python writes them, bools as
    ``true``/``false``, ``None`` as ``None``, strings as they are; None for other types."""
    if value is None:
        return "None"
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    return value if isinstance(value, str) else None


def _value_text(owner: str, key: str, value: Any) -> str:
    if isinstance(value, str) and ("," in value or "=" in value):
        raise ValueError(f"{owner}: the value of {key!r} ({value!r}) may not contain ',' or '='")
    text = spelled(value)
    if text is None:
        raise TypeError(f"{owner}: the value of {key!r} must be a number, a bool, a string or "
                        f"None, got {type(value).__name__} {value!r}")
    return text


def options_text(owner: str, options: Union[None, str, Mapping[str, Any]]) -> Optional[str]:
    """``{"num_cycles": 2, "power": 1.5}`` -> ``"num_cycles=2,power=1.5"``. A string is
    taken as JSON when it starts with ``{`` (as HF reads dict arguments given as strings),
    else passed through as ``"key=value,..."``. None gives None."""
    if options is None:
        return None
    if isinstance(options, str):
        if not options.lstrip().startswith("{"):
            return options
        try:
            options = json.loads(options)
        except json.JSONDecodeError as error:
            raise ValueError(f"{owner}: {options!r} is not valid JSON ({error})") from None
    if not isinstance(options, Mapping):
        raise TypeError(f"{owner} must be a dict (or a JSON string of one), got "
                        f"{type(options).__name__}")
    parts = []
    for key, value in options.items():
        if not isinstance(key, str) or not key or "," in key or "=" in key:
            raise ValueError(f"{owner}: {key!r} is not a valid option name")
        parts.append(f"{key}={_value_text(owner, key, value)}")
    return ",".join(parts)
