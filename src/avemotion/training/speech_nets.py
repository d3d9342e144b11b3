"""Torch modules for speech emotion: a compact CNN over log-mel spectrograms, the pretrained encoders'
pooled statistics (a speaker encoder, Whisper's lower blocks), and the heads exported beside them.

The CNN normalises its own input (per-utterance, per-band mean removal and global scale), so the
ONNX file takes raw log-mel frames of any length and no statistics travel beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
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


def conv_block(cin: int, cout: int, pool: tuple[int, int]) -> nn.Sequential:
    """Two 3x3 conv + BN + ReLU, then a max-pool: the VGG stage both the speech CNN and the face net use."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(pool),
    )


class SpeechCNN(nn.Module):
    """Four conv blocks over (mel, time), then mean+max pooling over time and a small head.

    Any number of frames goes in (global pooling over time); 64 mel bands are expected.
    """

    def __init__(
        self, n_classes: int = 8, n_mels: int = 64, widths: tuple[int, ...] = (16, 32, 64, 128), dropout: float = 0.3
    ) -> None:
        super().__init__()
        self.norm = UtteranceNorm()
        layers, cin = [], 1
        for w in widths:
            layers.append(conv_block(cin, w, (2, 2)))
            cin = w
        self.features = nn.Sequential(*layers)
        freq = n_mels // (2 ** len(widths))
        self.head = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(2 * cin * freq, 128),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(128, n_classes),
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
        self.layers = nn.ModuleList(
            nn.LSTM(n_mels if i == 0 else hidden, hidden, 1, batch_first=True) for i in range(layers)
        )

    @classmethod
    def from_resemblyzer(cls, state: dict) -> VoiceEncoderStats:
        """Build from Resemblyzer's ``model_state`` (one 3-layer ``lstm``; its ``linear`` head is dropped)."""
        net = cls()
        for i, lstm in enumerate(net.layers):
            lstm.load_state_dict(
                {
                    k.replace("lstm.", "").replace(f"_l{i}", "_l0"): v
                    for k, v in state.items()
                    if k.startswith("lstm.") and k.endswith(f"_l{i}")
                }
            )
        return net

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, T, 40)
        out = []
        for lstm in self.layers:
            x, _ = lstm(x)
            out += [x.mean(dim=1), x.std(dim=1)]
        return torch.cat(out, dim=1)


class _WhisperBlock(nn.Module):
    """One pre-norm transformer block of Whisper's encoder (self-attention, then a GELU MLP)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.attn_norm, self.qkv, self.attn_out = (
            nn.LayerNorm(width),
            nn.Linear(width, 3 * width),
            nn.Linear(width, width),
        )
        self.mlp_norm, self.mlp_in, self.mlp_out = (
            nn.LayerNorm(width),
            nn.Linear(width, 4 * width),
            nn.Linear(4 * width, width),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, T, width)
        n, t, width = x.shape
        q, k, v = (
            z.reshape(n, t, self.heads, width // self.heads).transpose(1, 2)
            for z in self.qkv(self.attn_norm(x)).chunk(3, dim=-1)
        )
        att = torch.softmax(q @ k.transpose(-1, -2) / (width // self.heads) ** 0.5, dim=-1) @ v
        x = x + self.attn_out(att.transpose(1, 2).reshape(n, t, width))
        return x + self.mlp_out(nn.functional.gelu(self.mlp_in(self.mlp_norm(x))))


class WhisperEncoderStats(nn.Module):
    """The lower blocks of Whisper's audio encoder, pooled: mean and std over time of chosen blocks' outputs.

    Whisper (Radford et al. 2022) learned its encoder from 680,000 hours of speech in 97 languages;
    its middle blocks carry how something is said as well as what (prosody, voice quality), and,
    unlike an emotion corpus, they have heard every language avemotion will meet. Two convolutions
    (the second with stride 2) over 80-band log-mel frames, sinusoidal positions, then ``blocks``
    pre-norm transformer blocks; the residual stream after each block in ``pooled`` is summarised by
    its mean and standard deviation over time: (N, 80, T) → (N, 2 x 512 x len(pooled)). Blocks above
    the last pooled one are not kept (they add size and time, and read less of the voice).
    """

    positions: torch.Tensor  # a buffer

    def __init__(
        self,
        blocks: int = 3,
        pooled: tuple[int, ...] = (2, 3),
        width: int = 512,
        heads: int = 8,
        n_mels: int = 80,
        positions: int = 1500,
    ) -> None:
        super().__init__()
        self.pooled = tuple(pooled)
        self.conv1 = nn.Conv1d(n_mels, width, 3, padding=1)
        self.conv2 = nn.Conv1d(width, width, 3, stride=2, padding=1)
        self.register_buffer("positions", torch.zeros(positions, width))
        self.blocks = nn.ModuleList(_WhisperBlock(width, heads) for _ in range(blocks))

    @classmethod
    def from_ctranslate2(cls, weights: dict, blocks: int = 3, pooled: tuple[int, ...] = (2, 3)) -> WhisperEncoderStats:
        """Build from the ``encoder/...`` variables of a CTranslate2 Whisper ``model.bin`` (as numpy arrays)."""

        def w(name: str) -> torch.Tensor:
            return torch.from_numpy(np.asarray(weights[f"encoder/{name}"], dtype=np.float32).copy())

        net = cls(
            blocks, pooled, width=int(weights["encoder/conv1/weight"].shape[0]), heads=int(weights["encoder/num_heads"])
        )
        state = {
            "conv1.weight": w("conv1/weight"),
            "conv1.bias": w("conv1/bias"),
            "conv2.weight": w("conv2/weight"),
            "conv2.bias": w("conv2/bias"),
            "positions": w("position_encodings/encodings"),
        }
        names = {
            "attn_norm": "self_attention/layer_norm",
            "mlp_norm": "ffn/layer_norm",
            "qkv": "self_attention/linear_0",
            "attn_out": "self_attention/linear_1",
            "mlp_in": "ffn/linear_0",
            "mlp_out": "ffn/linear_1",
        }
        for i in range(blocks):
            for ours, theirs in names.items():
                norm = ours.endswith("norm")
                state[f"blocks.{i}.{ours}.weight"] = w(f"layer_{i}/{theirs}/{'gamma' if norm else 'weight'}")
                state[f"blocks.{i}.{ours}.bias"] = w(f"layer_{i}/{theirs}/{'beta' if norm else 'bias'}")
        net.load_state_dict(state)
        return net.eval()

    def forward(self, mel: torch.Tensor) -> torch.Tensor:  # (N, 80, T), T <= 2 x positions
        gelu = nn.functional.gelu
        x = gelu(self.conv2(gelu(self.conv1(mel)))).transpose(1, 2)
        x = x + self.positions[: x.shape[1]]
        out = []
        for i, block in enumerate(self.blocks, start=1):
            x = block(x)
            if i in self.pooled:
                out += [x.mean(dim=1), x.std(dim=1)]
        return torch.cat(out, dim=1)


class StandardisedLinear(nn.Module):
    """Softmax regression with its feature standardisation built in: (x - mean) / scale → linear → softmax."""

    mean: torch.Tensor  # a buffer
    scale: torch.Tensor  # a buffer

    def __init__(self, mean, scale, coef, intercept) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))
        self.linear = nn.Linear(coef.shape[1], coef.shape[0])
        self.linear.weight.data.copy_(torch.as_tensor(coef, dtype=torch.float32))
        self.linear.bias.data.copy_(torch.as_tensor(intercept, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.linear((x - self.mean) / self.scale), dim=1)


class AttentionPooling(nn.Module):
    """A small network over a clip's frames (Whisper's blocks 2 and 3, 25 a second): each frame
    standardised, projected to ``hidden`` units (ReLU), then pooled twice over time — by a learned
    attention (which frames carry the emotion) and by the plain mean — and read by a linear layer.
    (N, T, D) frames and an (N, T) mask of the real ones → (N, classes) logits; classes no training
    corpus had get a bias of -30 (never predicted). :meth:`probabilities` is the exported form
    (one clip, every frame real).
    """

    mean: torch.Tensor  # a buffer
    scale: torch.Tensor  # a buffer
    unseen: torch.Tensor  # a buffer

    def __init__(self, dim: int, hidden: int, n_classes: int, dropout: tuple[float, float] = (0.2, 0.3)) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))
        self.register_buffer("unseen", torch.zeros(n_classes))
        self.inp = nn.Dropout(dropout[0])
        self.proj = nn.Linear(dim, hidden)
        self.att = nn.Linear(hidden, 1)
        self.drop = nn.Dropout(dropout[1])
        self.out = nn.Linear(2 * hidden, n_classes)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h = torch.relu(self.proj(self.inp((x - self.mean) / self.scale)))
        score = self.att(torch.tanh(h)).squeeze(-1)
        if mask is None:  # every frame real (one clip, as exported)
            attended = (score.softmax(dim=1).unsqueeze(-1) * h).sum(dim=1)
            mean = h.mean(dim=1)
        else:
            a = score.masked_fill(~mask, -1e9).softmax(dim=1)
            attended = (a.unsqueeze(-1) * h).sum(dim=1)
            m = mask.unsqueeze(-1).to(h.dtype)
            mean = (h * m).sum(dim=1) / m.sum(dim=1).clamp_min(1.0)
        return self.out(self.drop(torch.cat([attended, mean], dim=1))) + self.unseen

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax over the classes for unpadded frames (N, T, D)."""
        return torch.softmax(self.forward(x), dim=1)


class AttentionProbabilities(nn.Module):
    """:class:`AttentionPooling` networks as one member of :class:`AveragedMembers` (frames in, the
    mean of their probabilities out)."""

    def __init__(self, nets: Sequence[AttentionPooling]) -> None:
        super().__init__()
        self.nets = nn.ModuleList(nets)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([cast(AttentionPooling, net).probabilities(x) for net in self.nets]).mean(dim=0)


class RecordingNorm(nn.Module):
    """Standardise each feature over the batch axis, which holds the segments of one recording (one
    voice): ``(x - mean) / sd``, with the variance shrunk towards the training voices':
    ``sd² = (n·var + shrink·reference_var) / (n + shrink)`` for ``n`` segments. Emotion is then read
    as a departure from this voice's own way of speaking, which is what differs least between
    corpora and languages."""

    reference_var: torch.Tensor  # a buffer

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
