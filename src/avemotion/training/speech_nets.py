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
