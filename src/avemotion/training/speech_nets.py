"""Torch modules for speech emotion: a compact CNN over log-mel spectrograms.

The network normalises its own input (per-utterance, per-band mean removal and global scale),
so the ONNX file takes raw log-mel frames of any length and no statistics travel beside it.
"""

from __future__ import annotations

import torch
from torch import nn


class UtteranceNorm(nn.Module):
    """Remove each mel band's mean over time and scale by the utterance's std (CMVN-like).

    Removing the band means takes out much of the microphone and speaker colouring, which is
    what a model trained on 24 actors must not learn.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, 1, M, T)
        x = x - x.mean(dim=3, keepdim=True)
        std = x.flatten(1).std(dim=1).clamp_min(1e-3)
        return x / std[:, None, None, None]


def _block(cin: int, cout: int, pool: tuple[int, int]) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.MaxPool2d(pool),
    )


class SpeechCNN(nn.Module):
    """Four conv blocks over (mel, time), then mean+max pooling over time and a small head.

    Any number of frames goes in (global pooling over time); 64 mel bands are expected.
    """

    def __init__(self, n_classes: int = 8, n_mels: int = 64, widths: tuple[int, ...] = (16, 32, 64, 128),
                 dropout: float = 0.3) -> None:
        super().__init__()
        self.norm = UtteranceNorm()
        layers, cin = [], 1
        for w in widths:
            layers.append(_block(cin, w, (2, 2)))
            cin = w
        self.features = nn.Sequential(*layers)
        freq = n_mels // (2 ** len(widths))
        self.head = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(2 * cin * freq, 128), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(128, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 1, M, T) -> logits (B, C)
        h = self.features(self.norm(x))  # (B, C, F, T')
        h = h.flatten(1, 2)  # (B, C*F, T')
        pooled = torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)
        return self.head(pooled)


class VoiceEncoderStats(nn.Module):
    """A pretrained speaker encoder's LSTM layers, pooled: mean and std of each layer over time.

    Three LSTM layers of 256 units over 40-band mel power frames (Resemblyzer's GE2E encoder).
    Every layer's output sequence is summarised by its mean and standard deviation over time:
    (N, T, 40) → (N, 1536). Lower layers keep more of the voice's sound, the top layer more of
    who speaks; the emotion models read all three.
    """

    def __init__(self, n_mels: int = 40, hidden: int = 256, layers: int = 3) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.LSTM(n_mels if i == 0 else hidden, hidden, 1, batch_first=True)
                                    for i in range(layers))

    @classmethod
    def from_resemblyzer(cls, state: dict) -> "VoiceEncoderStats":
        """Build from Resemblyzer's ``model_state`` (one 3-layer ``lstm``; its ``linear`` head is dropped)."""
        net = cls()
        for i, lstm in enumerate(net.layers):
            lstm.load_state_dict({k.replace("lstm.", "").replace(f"_l{i}", "_l0"): v for k, v in state.items()
                                  if k.startswith("lstm.") and k.endswith(f"_l{i}")})
        return net

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, T, 40)
        out = []
        for lstm in self.layers:
            x, _ = lstm(x)
            out += [x.mean(dim=1), x.std(dim=1)]
        return torch.cat(out, dim=1)


class StandardisedLinear(nn.Module):
    """Softmax regression with its feature standardisation built in: (x - mean) / scale → linear → softmax."""

    def __init__(self, mean, scale, coef, intercept) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))
        self.linear = nn.Linear(coef.shape[1], coef.shape[0])
        self.linear.weight.data.copy_(torch.as_tensor(coef, dtype=torch.float32))
        self.linear.bias.data.copy_(torch.as_tensor(intercept, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.linear((x - self.mean) / self.scale), dim=1)


class RecordingNorm(nn.Module):
    """Standardise each feature over the batch axis, which holds the segments of one recording (one
    voice): ``(x - mean) / sd``, with the variance shrunk towards the training voices':
    ``sd² = (n·var + shrink·reference_var) / (n + shrink)`` for ``n`` segments. Emotion is then read
    as a departure from this voice's own way of speaking, which is what differs least between
    corpora and languages."""

    def __init__(self, reference_var, shrink: float) -> None:
        super().__init__()
        self.register_buffer("reference_var", torch.as_tensor(reference_var, dtype=torch.float32))
        self.shrink = float(shrink)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (n segments, D)
        n = torch.ones_like(x[:, :1]).sum()  # a tensor, so that the exported graph keeps n dynamic
        mean = x.mean(dim=0, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=0, keepdim=True)
        sd = torch.sqrt((n * var + self.shrink * self.reference_var) / (n + self.shrink)).clamp_min(1e-6)
        return (x - mean) / sd


class AveragedMembers(nn.Module):
    """The mean of several members' probabilities, one input each, re-tempered by ``temperature``."""

    def __init__(self, members: dict[str, nn.Module], temperature: float = 1.0) -> None:
        super().__init__()
        self.names = list(members)
        self.members = nn.ModuleList(members.values())
        self.temperature = float(temperature)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        p = torch.stack([m(x) for m, x in zip(self.members, inputs)]).mean(dim=0)
        if self.temperature == 1.0:
            return p
        return torch.softmax(torch.log(p.clamp_min(1e-7)) / self.temperature, dim=1)
