"""Writes Tests/fixtures/hf_trainer/methods.json: every public name of HF transformers'
``Trainer`` with its kind and, for methods, its parameter names in order (what
Tests/python/test_trainer_surface.py checks swifttrain's Trainer against).

    /tmp/peers/bin/python tools/make_hf_trainer_fixture.py   # needs transformers
"""

import inspect
import json
from pathlib import Path

import transformers

OUT = Path(__file__).resolve().parents[1] / "Tests" / "fixtures" / "hf_trainer" / "methods.json"


def main():
    names = {}
    for name in sorted(dir(transformers.Trainer)):
        if name.startswith("_"):
            continue
        value = inspect.getattr_static(transformers.Trainer, name)
        if isinstance(value, property):
            names[name] = {"kind": "property"}
        elif callable(value) or isinstance(value, (staticmethod, classmethod)):
            function = getattr(transformers.Trainer, name)
            parameters = [p for p in inspect.signature(function).parameters if p != "self"]
            names[name] = {"kind": "method", "parameters": parameters}
        else:
            names[name] = {"kind": "attribute"}
    constructor = [p for p in inspect.signature(transformers.Trainer.__init__).parameters if p != "self"]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"transformers": transformers.__version__, "constructor": constructor,
                               "names": names}, indent=1) + "\n")
    print(f"{OUT}: {len(names)} names")


if __name__ == "__main__":
    main()
