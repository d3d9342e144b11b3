"""Export torch classifiers to ONNX with a softmax head, the form every avemotion model ships in."""

from __future__ import annotations

from pathlib import Path

import torch


class WithSoftmax(torch.nn.Module):
    """Wrap a logits network so the exported graph outputs probabilities."""

    def __init__(self, net: torch.nn.Module, temperature: float = 1.0) -> None:
        super().__init__()
        self.net = net
        self.temperature = float(temperature)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.net(x)
        return torch.softmax(logits / self.temperature if self.temperature != 1.0 else logits, dim=1)


def fit_temperature(logits, labels, groups=None, target: str = "nll") -> float:
    """The temperature T that calibrates softmax(logits / T) best on held-out data (Guo et al. 2017).

    One scalar fitted on held-out data (a validation split): the ranking of classes, hence the
    accuracy, is unchanged; only how confident the probabilities are. ``groups`` (one per row,
    e.g. the corpus): each group weighs alike, so that a large group does not set the confidence
    for all. ``target``: ``"nll"`` minimises the (group-averaged) negative log-likelihood, the
    usual choice; ``"ece"`` the mean over groups of the expected calibration error
    (:func:`avemotion.evaluation.expected_calibration_error`, the figure the speech protocols
    report), which the likelihood trades against groups whose accuracy differs from the rest.
    """
    import numpy as np

    z = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    _, g = np.unique(np.zeros(len(y)) if groups is None else np.asarray(groups), return_inverse=True)
    grid = torch.exp(torch.linspace(np.log(0.25), np.log(4.0), 401, dtype=torch.float64))
    if target == "ece":
        from ..evaluation import expected_calibration_error

        yn = np.asarray(labels)
        in_group = [g == k for k in range(g.max() + 1)]

        def cost(t: torch.Tensor) -> float:
            p = torch.softmax(z / t, dim=1).numpy()
            return float(np.mean([expected_calibration_error(p[m], yn[m]) for m in in_group]))

        costs = torch.tensor([cost(t) for t in grid])
    elif target == "nll":
        w = 1.0 / np.bincount(g)[g]
        wt = torch.as_tensor(w / w.sum(), dtype=torch.float64)
        costs = torch.stack([(torch.nn.functional.cross_entropy(z / t, y, reduction="none") * wt).sum() for t in grid])
    else:
        raise ValueError(f"unknown calibration target {target!r} (nll or ece)")
    return float(grid[int(costs.argmin())])


def export_classifier(
    model: torch.nn.Module,
    example: torch.Tensor,
    path: Path,
    input_name: str,
    dynamic: dict[int, str],
    temperature: float = 1.0,
) -> Path:
    """Write ``model`` as ONNX (opset 17): ``input_name`` → ``probabilities`` (batch, classes).

    ``dynamic`` names the input's dynamic axes, e.g. ``{0: "batch", 3: "frames"}``; logits are
    divided by ``temperature`` (see :func:`fit_temperature`) before the softmax.
    """
    torch.onnx.export(
        WithSoftmax(model, temperature).eval(),
        (example,),
        str(path),
        input_names=[input_name],
        output_names=["probabilities"],
        dynamic_axes={input_name: dynamic, "probabilities": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    return path


def export_encoder(
    net: torch.nn.Module,
    example: torch.Tensor,
    path: Path,
    input_name: str,
    output_name: str,
    dynamic: dict[int, str],
    atol: float = 1e-3,
) -> Path:
    """Write a pretrained encoder as ONNX (opset 17), ``input_name`` → ``output_name`` (batch first),
    and check that onnxruntime gives what torch gives on ``example`` (AssertionError otherwise)."""
    import numpy as np
    import onnxruntime as ort

    net = net.eval()
    torch.onnx.export(
        net,
        (example,),
        str(path),
        input_names=[input_name],
        output_names=[output_name],
        dynamic_axes={input_name: dynamic, output_name: {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {input_name: example.numpy()})[
        0
    ]
    with torch.no_grad():
        want = net(example).numpy()
    assert got.shape == want.shape and np.abs(got - want).max() < atol, f"{path.name}: ONNX and torch disagree"
    return path
