"""HF's Trainer methods for a run's results, with HF's output and files:
``metrics_format``, ``log_metrics`` (the ``***** train metrics *****`` table),
``save_metrics`` (``{split}_results.json``, merged into ``all_results.json``) and
``save_state`` (``trainer_state.json`` in ``output_dir``). In data-parallel training only
process 0 prints and writes, as in HF."""

from __future__ import annotations

import datetime
import json
import os
from typing import Any, Dict, Mapping


def _secs2timedelta(secs: float) -> str:
    """Seconds as h:mm:ss.cc (HF's)."""
    msec = int(abs(secs - int(secs)) * 100)
    return f"{datetime.timedelta(seconds=int(secs))}.{msec:02d}"


def metrics_format(metrics: Mapping[str, Any]) -> Dict[str, Any]:
    """HF's ``metrics_format``: runtimes as h:mm:ss.cc, memory as MB, ``total_flos`` as
    GF, other floats rounded to 4 decimals."""
    formatted = dict(metrics)
    for key, value in formatted.items():
        if "_mem_" in key:
            formatted[key] = f"{int(value) >> 20}MB"
        elif "_runtime" in key:
            formatted[key] = _secs2timedelta(value)
        elif key == "total_flos":
            formatted[key] = f"{int(value) >> 30}GF"
        elif isinstance(value, float):
            formatted[key] = round(value, 4)
    return formatted


class TrainerResults:
    """The Trainer's results methods (mixed into :class:`swifttrain.Trainer`)."""

    args: Any
    state: Any
    is_world_process_zero: Any  # (the Trainer's)

    metrics_format = staticmethod(metrics_format)

    def log_metrics(self, split: str, metrics: Mapping[str, Any]) -> None:
        """Prints ``metrics`` as HF does: a ``***** {split} metrics *****`` header, then one
        aligned ``key = value`` line per metric, sorted, formatted by :meth:`metrics_format`."""
        if not self.is_world_process_zero():
            return
        print(f"***** {split} metrics *****")
        formatted = metrics_format(metrics)
        if not formatted:
            return
        key_width = max(len(str(key)) for key in formatted)
        value_width = max(len(str(value)) for value in formatted.values())
        for key in sorted(formatted):
            print(f"  {key: <{key_width}} = {formatted[key]:>{value_width}}")

    def save_metrics(self, split: str, metrics: Mapping[str, Any], combined: bool = True) -> None:
        """Writes ``metrics`` to ``output_dir/{split}_results.json`` and, with ``combined``,
        merges them into ``output_dir/all_results.json`` (HF's files, indent 4, sorted keys)."""
        if not self.is_world_process_zero():
            return
        os.makedirs(self.args.output_dir, exist_ok=True)
        path = os.path.join(self.args.output_dir, f"{split}_results.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(dict(metrics), f, indent=4, sort_keys=True)
        if combined:
            path = os.path.join(self.args.output_dir, "all_results.json")
            every: Dict[str, Any] = {}
            if os.path.exists(path):
                with open(path, encoding="utf-8") as f:
                    every = json.load(f)
            every.update(metrics)
            with open(path, "w", encoding="utf-8") as f:
                json.dump(every, f, indent=4, sort_keys=True)

    def save_state(self) -> None:
        """Writes ``trainer.state`` to ``output_dir/trainer_state.json`` (HF's format; HF's
        ``TrainerState.load_from_json`` reads it)."""
        if not self.is_world_process_zero():
            return
        os.makedirs(self.args.output_dir, exist_ok=True)
        self.state.save_to_json(os.path.join(self.args.output_dir, "trainer_state.json"))
