"""Figures with matplotlib (the ``plots`` extra, imported only when a figure is asked for)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np


def _plt():
    from ..errors import require

    matplotlib = require("matplotlib", "plots", "drawing this figure")

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_speech(y: np.ndarray, sr: int, result, path: str | os.PathLike[str]) -> Path:
    """Waveform (speech segments shaded, labelled) over the mel spectrogram, and the result bars.

    The original system's figures 1 and 2 (waveform, mel spectrogram) with the classification beside them.
    """
    from ..speech import dsp

    plt = _plt()
    fig = plt.figure(figsize=(11, 6), dpi=100)
    grid = fig.add_gridspec(2, 2, width_ratios=[3.2, 1], height_ratios=[1, 1.3], hspace=0.35, wspace=0.25)
    ax_w = fig.add_subplot(grid[0, 0])
    t = np.arange(y.size) / sr
    ax_w.plot(t, y, lw=0.5, color="#345")
    for seg in result.segments:
        ax_w.axvspan(seg.start, seg.end, color="#f4a261", alpha=0.25)
        ax_w.text(
            (seg.start + seg.end) / 2, 0.92, seg.label, transform=ax_w.get_xaxis_transform(), ha="center", fontsize=8
        )
    ax_w.set_xlim(0, max(t[-1] if t.size else 0, 1e-3))
    ax_w.set_title("waveform (shaded: speech found by VAD)", fontsize=9)
    ax_w.set_ylabel("amplitude")
    ax_m = fig.add_subplot(grid[1, 0], sharex=ax_w)
    mel = dsp.mel_filters(sr, 2048, 128) @ dsp.power_spectrogram(np.pad(y, (0, max(0, 2048 - y.size))), 2048, 256)
    db = 10 * np.log10(np.maximum(mel, 1e-10) / max(float(mel.max()), 1e-10))
    ax_m.imshow(
        np.maximum(db, -80),
        origin="lower",
        aspect="auto",
        cmap="magma",
        extent=(0, mel.shape[1] * 256 / sr, 0, mel.shape[0]),
    )
    ax_m.set_ylabel("mel band")
    ax_m.set_xlabel("time (s)")
    ax_m.set_title("mel spectrogram (dB)", fontsize=9)
    ax_b = fig.add_subplot(grid[:, 1])
    _bars(ax_b, result.probabilities, "whole file" if result.has_speech else "no speech found")
    fig.suptitle(Path(result.path).name if result.path else "", fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def _bars(ax, probs: Mapping[str, float] | None, title: str) -> None:
    ax.set_title(title, fontsize=9)
    if not probs:
        ax.text(0.5, 0.5, "–", ha="center", va="center", fontsize=20, transform=ax.transAxes)
        ax.set_axis_off()
        return
    labels = list(probs)
    values = [probs[k] for k in labels]
    best = int(np.argmax(values))
    colors = ["#2a9d8f" if i == best else "#8ab" for i in range(len(labels))]
    ax.barh(labels, values, color=colors)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    for i, v in enumerate(values):
        ax.text(min(v + 0.02, 0.8), i, f"{v:.2f}", va="center", fontsize=8)
