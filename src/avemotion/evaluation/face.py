"""Scoring a face model (ONNX) on a folder-per-class set of face crops; no torch.

Class folders are mapped through the taxonomy (``anger``, ``sadness``, ``happiness``… work);
classes the model cannot produce (e.g. ``contempt`` for a FER2013 model) are skipped and
reported in ``skipped``. Each image is treated as one face (no detection), through the same
:func:`~avemotion.face.preprocess.crop_face` as training.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..datasets import read_class_folders
from ..errors import AvemotionError
from . import expected_calibration_error, plot_confusion, score, write_json
from ..media import IMAGE_EXTENSIONS, read_image
from ..face.classify import FaceClassifier
from ..face.preprocess import crop_face


def evaluate_faces(data: str | Path, model: str, out: Path, tta: bool | None = None,
                   progress: Callable[[int, int], None] | None = None) -> dict:
    """Accuracy, macro-F1, per-class recall and confusion matrix of ``model`` on ``data``.

    ``progress(done, total)`` is called after each image is read.
    """
    fc = FaceClassifier(model, tta=tta)
    items, unknown = read_class_folders(Path(data), IMAGE_EXTENSIONS)
    if not items:
        raise AvemotionError("no class folders with images found", data)
    labels = [lab for lab in fc.labels if any(it.label == lab for it in items)]
    skipped = Counter(it.label for it in items if it.label not in fc.labels)
    kept = [it for it in items if it.label in fc.labels]
    crops, y, errors = [], [], []
    for k, it in enumerate(kept):
        if progress:
            progress(k + 1, len(kept))
        try:
            crops.append(crop_face(read_image(it.path), size=fc.size))
            y.append(fc.labels.index(it.label))
        except AvemotionError as exc:
            errors.append({"path": it.path, "error": exc.reason})
    probs = fc.predict_proba(np.stack(crops))
    metrics = score(y, probs.argmax(1).tolist(), fc.labels)
    metrics["accuracy"] = metrics["weighted_accuracy"]
    metrics["expected_calibration_error"] = round(expected_calibration_error(probs, y), 4)
    report = {"model": fc.bundle.name, "data": str(data), "tta": fc.tta, "metrics": metrics,
              "skipped_classes": dict(skipped), "ignored_folders": unknown, "errors": errors,
              "classes_scored": labels}
    out.mkdir(parents=True, exist_ok=True)
    write_json(report, out / "metrics.json")
    plot_confusion(metrics["confusion_matrix"], fc.labels, out / "confusion.png",
                   f"{fc.bundle.name}: accuracy {metrics['accuracy']:.3f}")
    return report
