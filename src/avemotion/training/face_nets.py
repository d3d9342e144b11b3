"""Torch modules for facial expression: the original system's CNN and a compact VGG-style net.

Both normalise their own input (per-image standardisation) so the ONNX file takes raw grey
pixels in 0..255 and is robust to the exposure and contrast of real cameras.
"""

from __future__ import annotations

import torch
from torch import nn

from .speech_nets import conv_block


class ImageStandardize(nn.Module):
    """(x - mean) / std per image: lighting and contrast of the camera stop mattering."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), keepdim=True).clamp_min(1.0)
        return (x - mean) / std


class BaselineFaceCNN(nn.Module):
    """The original system's network: conv 64 3x3, 128 5x5, 512 3x3, 512 3x3 (each BN, ReLU, max-pool,
    dropout), dense 256 and 512, 7 classes."""

    def __init__(self, n_classes: int = 7, dropout: float = 0.25) -> None:
        super().__init__()

        def block(cin, cout, k):
            return nn.Sequential(
                nn.Conv2d(cin, cout, k, padding=k // 2),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
                nn.Dropout(dropout),
            )

        self.norm = ImageStandardize()
        self.features = nn.Sequential(block(1, 64, 3), block(64, 128, 5), block(128, 512, 3), block(512, 512, 3))
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(512 * 3 * 3, 256),
            nn.BatchNorm1d(256),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(256, 512),
            nn.BatchNorm1d(512),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(512, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(self.norm(x)))


class VGGFace(nn.Module):
    """Four stages of two 3x3 conv+BN+ReLU and a max-pool (48→3), global pooling, one linear layer."""

    def __init__(self, n_classes: int = 7, widths: tuple[int, ...] = (32, 64, 128, 256), dropout: float = 0.4) -> None:
        super().__init__()
        layers, cin = [], 1
        for w in widths:
            layers += list(conv_block(cin, w, (2, 2)))  # flat: the state dict's keys stay features.N
            cin = w
        self.norm = ImageStandardize()
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(cin, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(self.norm(x)))


ARCHS = {
    "baseline": "the original system's CNN, 4.5 M parameters",
    "vgg": "compact VGG-style, widths 32-256, 1.2 M parameters, ~118 M multiply-adds a face",
    "vgg-s": "narrower VGG-style, widths 24-192, 0.66 M parameters, ~67 M multiply-adds a face",
}


def build(arch: str, n_classes: int = 7) -> nn.Module:
    """A network by name (see :data:`ARCHS`)."""
    if arch == "baseline":
        return BaselineFaceCNN(n_classes)
    if arch == "vgg":
        return VGGFace(n_classes)
    if arch == "vgg-s":
        return VGGFace(n_classes, widths=(24, 48, 96, 192))
    raise ValueError(f"unknown face architecture {arch!r}; choose one of {', '.join(ARCHS)}")
