"""Export torch classifiers to ONNX with a softmax head, the form every avemotion model ships in."""

from __future__ import annotations

from pathlib import Path

import torch


class WithSoftmax(torch.nn.Module):
    """Wrap a logits network so the exported graph outputs probabilities."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(x), dim=1)


def export_classifier(model: torch.nn.Module, example: torch.Tensor, path: Path, input_name: str,
                      dynamic: dict[int, str]) -> Path:
    """Write ``model`` as ONNX (opset 17): ``input_name`` → ``probabilities`` (batch, classes).

    ``dynamic`` names the input's dynamic axes, e.g. ``{0: "batch", 3: "frames"}``.
    """
    torch.onnx.export(WithSoftmax(model).eval(), (example,), str(path), input_names=[input_name],
                      output_names=["probabilities"],
                      dynamic_axes={input_name: dynamic, "probabilities": {0: "batch"}},
                      opset_version=17, dynamo=False)
    return path
