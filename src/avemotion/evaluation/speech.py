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
from ..files import write_json
from ..speech.analyzer import SpeechAnalyzer
from ..taxonomy import align, modelled
from . import enrolment, expected_calibration_error, plot_confusion, score, speaker_keys


def evaluate_model(
    items: Sequence[Item],
    model: str,
    out: Path,
    progress: Callable[[int, int], None] | None = None,
    adapt: int | None = None,
    seed: int = 0,
) -> dict:
    """Score ``model`` on ``items``; writes ``metrics.json`` and ``confusion.png`` into ``out``.

    ``progress(done, total)`` is called after each clip (the CLI draws a bar from it). ``adapt=K``
    scores the model's speaker-adapted variant instead: each clip is read in one batch with ``K``
    other clips of its speaker, drawn at random (seeded), as the analyser reads the segments of
    a recording of one voice; their labels are never used.
    """
    sa = SpeechAnalyzer(model, vad=False, adapt=bool(adapt))
    if adapt:
        if sa.adaptive is None:
            raise AvemotionError(f"model {sa.bundle.name!r} has no speaker-adapted variant to evaluate (--adapt)")
        if adapt < 1:
            raise AvemotionError("--adapt needs at least 1 other clip of the speaker")
        return _evaluate_adapted(sa, items, adapt, out, progress, seed)
    corpus_labels = sorted({it.label for it in items})
    target = modelled(sa.labels, corpus_labels)
    skipped = Counter(it.label for it in items if it.label not in target)
    y_true: list[int] = []
    y_pred: list[int] = []
    probs: list[np.ndarray] = []
    errors: list[dict] = []
    for it, p in _each_read(items, target, sa.analyze_file, errors, progress):
        seg_probs = np.array([p.probabilities[k] for k in sa.labels]) if p.probabilities else None
        if seg_probs is None:
            errors.append({"path": it.path, "error": "no speech found"})
            continue
        q = align(seg_probs, sa.labels, target)
        y_true.append(target.index(it.label))
        y_pred.append(int(np.argmax(q)))
        probs.append(q)
    return _report(
        sa.bundle.name, "held-out corpus, model trained elsewhere", target, y_true, y_pred, probs, skipped, errors, out
    )


def _each_read(
    items: Sequence[Item],
    target: list[str],
    read: Callable,
    errors: list[dict],
    progress: Callable[[int, int], None] | None,
):
    """``(item, read(item.path))`` for each clip whose label the model can score; a file that cannot
    be read is recorded in ``errors`` and the rest go on."""
    for n, it in enumerate(items):
        if progress:
            progress(n + 1, len(items))
        if it.label not in target:
            continue
        try:
            value = read(it.path)
        except AvemotionError as exc:
            errors.append({"path": it.path, "error": exc.reason})
            continue
        yield it, value


def _report(
    name: str,
    protocol: str,
    target: list[str],
    y_true: list,
    y_pred: list,
    probs: list,
    skipped: Counter,
    errors: list,
    out: Path,
    **extra,
) -> dict:
    if not y_true:
        raise AvemotionError("no clip could be scored (labels the model cannot produce, or unreadable files)")
    metrics = score(y_true, y_pred, target)
    metrics["expected_calibration_error"] = round(expected_calibration_error(np.stack(probs), y_true), 4)
    report = {
        "model": name,
        "protocol": protocol,
        **extra,
        "metrics": metrics,
        "skipped_labels": dict(skipped),
        "errors": errors,
    }
    out.mkdir(parents=True, exist_ok=True)
    write_json(report, out / "metrics.json")
    plot_confusion(
        metrics["confusion_matrix"], target, out / "confusion.png", f"{name}: UA {metrics['unweighted_accuracy']:.3f}"
    )
    return report


def _evaluate_adapted(
    sa: SpeechAnalyzer, items: Sequence[Item], k: int, out: Path, progress: Callable[[int, int], None] | None, seed: int
) -> dict:
    """:func:`evaluate_model` through the speaker-adapted variant (each clip with ``k`` others of its speaker)."""
    from ..media import load_audio

    adaptive = sa.adaptive
    assert adaptive is not None, "evaluate_model checks that the model has an adaptive variant"
    target = modelled(sa.labels, sorted({it.label for it in items}))
    skipped = Counter(it.label for it in items if it.label not in target)
    errors: list[dict] = []
    kept, feeds = [], []
    for it, f in _each_read(items, target, lambda path: sa.features(load_audio(path)), errors, progress):
        kept.append(it)
        feeds.append(f)
    y_true, y_pred, probs = [], [], []
    for it, rows in zip(kept, enrolment(speaker_keys(kept), k, seed), strict=True):
        if len(rows) < 2:
            errors.append({"path": it.path, "error": "no other clip of this speaker to adapt with"})
            continue
        batch = {name: np.concatenate([feeds[r][name] for r in rows]) for name in adaptive.card["inputs"]}
        q = align(np.asarray(adaptive.run_feeds(batch))[-1], sa.labels, target)
        y_true.append(target.index(it.label))
        y_pred.append(int(np.argmax(q)))
        probs.append(q)
    return _report(
        adaptive.name,
        f"held-out corpus, model trained elsewhere; speaker adaptation: each clip read "
        f"with {k} other unlabelled clips of its speaker",
        target,
        y_true,
        y_pred,
        probs,
        skipped,
        errors,
        out,
        adapt=k,
    )
