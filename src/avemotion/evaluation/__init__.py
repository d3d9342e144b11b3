"""Evaluation: the metrics every avemotion evaluation reports (here), and the protocols beside them.

Modules: :mod:`.face` (a face model on a folder-per-class test set), :mod:`.speech` (a trained
speech model on a held-out corpus), :mod:`.robustness` (FER2013 through the real detection path
under what video does to a face), :mod:`.protocols` (speaker folds and leave one corpus out, which
retrain a recipe: the ``train`` extra), :mod:`.fusion` and :mod:`.affect` (on held-out predictions,
written and read here: :func:`write_held_out`, :func:`read_held_out`). Nothing in face/ or speech/
imports this package.

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


#: The first columns of ``held_out.csv``; the speech labels' probabilities follow.
HELD_OUT_COLUMNS = ("path", "corpus", "speaker", "emotion")


def write_held_out(path: Path, items: Sequence, probabilities: np.ndarray) -> Path:
    """Every clip's held-out distribution over the speech labels, a row each (``evaluate speech --protocol
    loco`` writes it; ``evaluate fusion`` and ``evaluate affect`` read it): no clip was heard by its model."""
    import csv

    from ..taxonomy import SPEECH_EMOTIONS

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([*HELD_OUT_COLUMNS, *SPEECH_EMOTIONS])
        for it, p in zip(items, probabilities, strict=True):
            w.writerow([it.path, it.corpus, it.speaker, it.label, *(f"{v:.5f}" for v in p)])
    return path


def read_held_out(path: str | os.PathLike[str]) -> tuple[list[dict], np.ndarray]:
    """The rows of a ``held_out.csv`` (path, corpus, speaker, emotion) and their (N, 8) distributions over
    the speech labels; a one-line :class:`~avemotion.errors.AvemotionError` if it is not such a file."""
    import csv

    from ..errors import AvemotionError
    from ..taxonomy import SPEECH_EMOTIONS

    columns = [*HELD_OUT_COLUMNS, *SPEECH_EMOTIONS]
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise AvemotionError(
                    f"not a held_out.csv of `evaluate speech --protocol loco`: no {missing[0]!r} column", path
                )
            rows = list(reader)
        probs = np.array([[float(r[lab]) for lab in SPEECH_EMOTIONS] for r in rows], np.float32).reshape(-1, 8)
    except (OSError, UnicodeDecodeError) as exc:
        raise AvemotionError(f"cannot read it ({getattr(exc, 'strerror', None) or exc})".lower(), path) from None
    except ValueError:
        raise AvemotionError("a probability there is not a number", path) from None
    if not rows:
        raise AvemotionError("holds no clips", path)
    return [{c: r[c] for c in HELD_OUT_COLUMNS} for r in rows], probs
