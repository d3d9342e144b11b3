"""Evaluation: the metrics every avemotion evaluation reports (here), and the protocols beside them.

Modules: :mod:`.face` (a face model on a folder-per-class test set), :mod:`.speech` (a trained
speech model on a held-out corpus), :mod:`.robustness` (FER2013 through the real detection path
under what video does to a face). Cross-validation and leave-one-corpus-out train models, so they
live in :mod:`avemotion.training.speech`. Nothing in face/ or speech/ imports this package.

Unweighted accuracy (UA, the mean of per-class recalls; what speech-emotion papers report),
weighted accuracy (WA, plain accuracy), macro-F1 and per-class recall, from scikit-learn.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def speaker_keys(items: Sequence) -> np.ndarray:
    """One key per item naming its voice: ``corpus:speaker`` (speaker ids repeat across corpora)."""
    return np.array([f"{it.corpus}:{it.speaker}" for it in items])


def enrolment(speakers: np.ndarray, k: int, seed: int = 0) -> list[np.ndarray]:
    """For each row, the rows it is read with under speaker adaptation: up to ``k`` other rows of
    its speaker, drawn at random (seeded), then itself last — a recording of ``k + 1`` segments of
    one voice. Used alike where it is measured (training.speech) and where a model is scored
    (evaluation.speech); no label is read."""
    rng = np.random.default_rng(seed)
    idx = np.arange(len(speakers))
    out = []
    for i in idx:
        others = idx[(speakers == speakers[i]) & (idx != i)]
        out.append(np.append(rng.choice(others, size=min(k, len(others)), replace=False), i).astype(int))
    return out


def score(y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray, labels: Sequence[str]) -> dict:
    """Metrics for integer predictions over ``labels`` (index i = labels[i])."""
    from ..errors import require

    require("sklearn", "eval", "scoring an evaluation")
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        confusion_matrix,
        f1_score,
        recall_score,
    )

    idx = list(range(len(labels)))
    present = sorted({int(v) for v in y_true})
    recalls = recall_score(y_true, y_pred, labels=idx, average=None, zero_division=0)
    return {
        "n": int(len(y_true)),
        "unweighted_accuracy": round(float(balanced_accuracy_score(y_true, y_pred)), 4),
        "weighted_accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "macro_f1": round(float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)), 4),
        "per_class_recall": {labels[i]: round(float(recalls[i]), 4) for i in present},
        "labels": list(labels),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=idx).tolist(),
    }


def expected_calibration_error(probs: np.ndarray, y_true: Sequence[int] | np.ndarray, bins: int = 15) -> float:
    """Top-label expected calibration error: how far confidence is from accuracy, on average.

    Predictions are put in ``bins`` equal-width bins by their top probability; ECE is the
    share-weighted mean over bins of |accuracy - mean confidence| (Guo et al. 2017). 0 is a
    perfectly calibrated model; fusion weights each modality by its confidence, so this matters.
    """
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y_true)
    if len(y) == 0:
        return 0.0
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(ece)


def plot_confusion(
    matrix: Sequence[Sequence[int]], labels: Sequence[str], path: str | os.PathLike[str], title: str = ""
) -> Path:
    """Save a row-normalised confusion matrix (recall per true class) as a PNG."""
    from ..report.plots import _plt

    plt = _plt()

    m = np.asarray(matrix, dtype=float)
    keep = [i for i in range(len(labels)) if m[i].sum() > 0 or m[:, i].sum() > 0]
    m = m[np.ix_(keep, keep)]
    names = [labels[i] for i in keep]
    norm = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * len(names), 0.8 + 0.7 * len(names)), dpi=110)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(
                j,
                i,
                f"{norm[i, j]:.2f}\n({int(m[i, j])})",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if norm[i, j] > 0.6 else "black",
            )
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
