"""Scoring a trained speech model (ONNX) on a labelled corpus: no torch, no training.

For held-out corpora (CREMA-D, TESS, SAVEE, EmoDB, your own manifest). Classes are aligned
through the taxonomy: the model's classes that the corpus lacks pass their probability to their
parent (``calm`` → ``neutral``), and clips whose label the model cannot produce (``boredom``
for an 8-class RAVDESS model has a parent, ``neutral``; anything without one) are skipped and
counted in ``skipped``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..datasets import Item
from ..errors import AvemotionError
from . import expected_calibration_error, plot_confusion, score, write_json
from ..taxonomy import align, modelled
from ..speech.analyzer import SpeechAnalyzer


def evaluate_model(items: Sequence[Item], model: str, out: Path,
                   progress: Callable[[int, int], None] | None = None) -> dict:
    """Score ``model`` on ``items``; writes ``metrics.json`` and ``confusion.png`` into ``out``.

    ``progress(done, total)`` is called after each clip (the CLI draws a bar from it).
    """
    sa = SpeechAnalyzer(model, vad=False)
    corpus_labels = sorted({it.label for it in items})
    target = modelled(sa.labels, corpus_labels)
    skipped = Counter(it.label for it in items if it.label not in target)
    y_true, y_pred, probs, errors = [], [], [], []
    for k, it in enumerate(items):
        if progress:
            progress(k + 1, len(items))
        if it.label not in target:
            continue
        try:
            p = sa.analyze_file(it.path)
        except AvemotionError as exc:
            errors.append({"path": it.path, "error": exc.reason})
            continue
        seg_probs = np.array([p.probabilities[k] for k in sa.labels]) if p.probabilities else None
        if seg_probs is None:
            errors.append({"path": it.path, "error": "no speech found"})
            continue
        q = align(seg_probs, sa.labels, target)
        y_true.append(target.index(it.label))
        y_pred.append(int(np.argmax(q)))
        probs.append(q)
    if not y_true:
        raise AvemotionError("no clip could be scored (labels the model cannot produce, or unreadable files)")
    metrics = score(y_true, y_pred, target)
    metrics["expected_calibration_error"] = round(expected_calibration_error(np.stack(probs), y_true), 4)
    report = {"model": sa.bundle.name, "protocol": "held-out corpus, model trained elsewhere", "metrics": metrics,
              "skipped_labels": dict(skipped), "errors": errors}
    out.mkdir(parents=True, exist_ok=True)
    write_json(report, out / "metrics.json")
    plot_confusion(metrics["confusion_matrix"], target, out / "confusion.png",
                   f"{sa.bundle.name}: UA {metrics['unweighted_accuracy']:.3f}")
    return report
