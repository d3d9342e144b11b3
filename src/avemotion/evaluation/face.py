"""Scoring a face model (ONNX) on a folder-per-class set of face crops; no torch.

Class folders are mapped through the taxonomy (``anger``, ``sadness``, ``happiness``… work);
classes the model cannot produce (e.g. ``contempt`` for a FER2013 model) are skipped and
reported in ``skipped``. Each image is treated as one face (no detection), through the same
:func:`~avemotion.face.preprocess.crop_face` as training.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..datasets import Item, ferplus_majorities, find_ferplus, read_class_folders
from ..errors import AvemotionError
from ..face.classify import FaceClassifier
from ..face.preprocess import crop_face
from ..files import write_json
from ..media import IMAGE_EXTENSIONS, read_image
from . import expected_calibration_error, plot_confusion, score


def labelled_items(data: str | Path, labels: str, classes: Sequence[str]) -> tuple[list[Item], list[Item], list[str]]:
    """The images of a folder-per-class set under a labelling: ``folders`` or ``ferplus``.

    Returns ``(items with the label scored, the same items with their folder's label, ignored folders)``.
    With ``ferplus`` the label is FER+'s majority (``ferplus.csv`` in the folder or its parent), and
    only images whose majority is one of ``classes`` are kept: FER+ leaves some without one.
    """
    items, unknown = read_class_folders(Path(data), IMAGE_EXTENSIONS)
    if not items:
        raise AvemotionError("no class folders with images found", data)
    if labels == "folders":
        return items, items, unknown
    if labels != "ferplus":
        raise AvemotionError(f"unknown labels {labels!r}: choose folders or ferplus", data)
    majority = ferplus_majorities([it.path for it in items], find_ferplus(data), classes)
    kept = [(it, m) for it, m in zip(items, majority) if m is not None]
    if not kept:
        raise AvemotionError("no image here has a FER+ majority among the model's classes", data)
    return [replace(it, label=m) for it, m in kept], [it for it, _ in kept], unknown


def evaluate_faces(
    data: str | Path,
    model: str,
    out: Path,
    tta: bool | None = None,
    progress: Callable[[int, int], None] | None = None,
    labels: str = "folders",
) -> dict:
    """Accuracy, UA, macro-F1, per-class recall, ECE and confusion matrix of ``model`` on ``data``.

    ``labels="ferplus"`` scores against FER+'s majority (the images with one), and also reports the
    same images scored against their folders' (FER2013's) labels under ``metrics_folder_labels``.
    ``progress(done, total)`` is called after each image is read.
    """
    fc = FaceClassifier(model, tta=tta)
    items, folder_items, unknown = labelled_items(data, labels, fc.labels)
    skipped = Counter(it.label for it in items if it.label not in fc.labels)
    kept = [it for it in items if it.label in fc.labels]
    folder_label = {it.path: it.label for it in folder_items}
    crops, y, y_folder, errors = [], [], [], []
    for k, it in enumerate(kept):
        if progress:
            progress(k + 1, len(kept))
        try:
            crops.append(crop_face(read_image(it.path), size=fc.size))
        except AvemotionError as exc:
            errors.append({"path": it.path, "error": exc.reason})
            continue
        y.append(fc.labels.index(it.label))
        y_folder.append(fc.labels.index(folder_label[it.path]) if folder_label[it.path] in fc.labels else -1)
    probs = fc.predict_proba(np.stack(crops))
    metrics = _metrics(y, probs, fc.labels)
    report = {
        "model": fc.bundle.name,
        "data": str(data),
        "labels": labels,
        "tta": fc.tta,
        "metrics": metrics,
        "skipped_classes": dict(skipped),
        "ignored_folders": unknown,
        "errors": errors,
        "classes_scored": [lab for lab in fc.labels if lab in {it.label for it in kept}],
    }
    if labels != "folders":
        rows = [i for i, v in enumerate(y_folder) if v >= 0]
        report["metrics_folder_labels"] = _metrics([y_folder[i] for i in rows], probs[rows], fc.labels)
    out.mkdir(parents=True, exist_ok=True)
    write_json(report, out / "metrics.json")
    plot_confusion(
        metrics["confusion_matrix"],
        fc.labels,
        out / "confusion.png",
        f"{fc.bundle.name}: accuracy {metrics['accuracy']:.3f}",
    )
    return report


def _metrics(y: Sequence[int], probs: np.ndarray, labels: Sequence[str]) -> dict:
    """score() of the top class, with accuracy named as such and the ECE beside it."""
    metrics = score(y, probs.argmax(1).tolist(), labels)
    metrics["accuracy"] = metrics["weighted_accuracy"]
    metrics["expected_calibration_error"] = round(expected_calibration_error(probs, y), 4)
    return metrics
