"""Writes Tests/fixtures/safetensors/torch_mlp.safetensors with PyTorch's own writer
(safetensors.torch.save_file of a torch.nn.Sequential's state_dict) and
torch_mlp_expected.json: an input batch and the model's outputs on it, so the tests can check
that swifttrain loads PyTorch's weights by name and computes the same function.

Run once, with torch and safetensors installed (never needed by the tests):
    python -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch numpy safetensors
    /tmp/torchvenv/bin/python scripts/make_safetensors_fixture.py
"""

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parents[1] / "Tests" / "fixtures" / "safetensors"


def main() -> None:
    torch.manual_seed(2024)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    x = torch.rand(4, 64)
    with torch.no_grad():
        y = model(x)
    OUT.mkdir(parents=True, exist_ok=True)
    save_file(model.state_dict(), str(OUT / "torch_mlp.safetensors"))
    (OUT / "torch_mlp_expected.json").write_text(json.dumps({
        "model": "Sequential(Linear(64, 32), ReLU(), Linear(32, 10))",
        "input": x.tolist(),
        "output": y.tolist(),
    }, indent=1) + "\n")


if __name__ == "__main__":
    main()
