"""The speech evaluation protocols: speaker-independent folds and leave one corpus out.

Both retrain a recipe of :mod:`avemotion.training.speech` on part of the data and score it on the
rest, so they need the ``train`` extra. :func:`cross_validate` runs speaker-independent K-fold
(GroupKFold over speakers: no speaker is in both train and test); :func:`leave_one_corpus_out` holds
each corpus out in turn, the situation of a user whose recordings no corpus resembles.
:func:`cross_validate_report` writes what ``avemotion evaluate speech`` prints.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..datasets import Item
from ..errors import AvemotionError
from ..taxonomy import SPEECH_EMOTIONS
from ..training.speech import (
    ADAPT_CALIBRATE,
    ADAPT_SHRINK,
    MODEL_FEATURES,
    CNNConfig,
    adapted_features,
    calibrate_across_corpora,
    cnn_config,
    corpus_masks,
    fit_predict,
    make_baseline,
    model_features,
    with_temperature,
)
from . import score, speaker_keys

log = logging.getLogger(__name__)


@dataclass
class CVResult:
    """What :func:`cross_validate` measured."""

    model: str
    folds: int
    metrics: dict
    fold_metrics: list[dict]
    train_metrics: dict | None = None
    fold_speakers: list[list[str]] = field(default_factory=list)
    seconds: float = 0.0
    probabilities: list[list[float]] = field(default_factory=list)
    members: dict = field(default_factory=dict)
    member_probabilities: dict = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        return asdict(self)


def cross_validate(
    items: Sequence[Item],
    model: str = "ensemble",
    folds: int = 6,
    cfg: CNNConfig | None = None,
    seed: int = 0,
    cache_dir="default",
    progress: bool = True,
) -> CVResult:
    """Speaker-independent K-fold CV (speakers grouped) of a speech model kind.

    Kinds: ``baseline`` (the seed), ``linear`` (functionals + calibrated ridge, with speed-perturbed
    training copies), ``cnn``
    (log-mel CNN), ``ensemble`` (the mean of cnn and linear probabilities; its members are
    scored too, in ``members``).
    """
    from sklearn.model_selection import GroupKFold

    if model not in MODEL_FEATURES:
        raise ValueError(f"unknown speech model {model!r}; choose from {sorted(MODEL_FEATURES)}")
    t0 = time.time()
    cfg = cfg or CNNConfig(seed=seed)
    labels = list(SPEECH_EMOTIONS)
    y = np.array([labels.index(it.label) for it in items])
    groups = np.array([it.speaker for it in items])
    feats = model_features(items, model, cache_dir, progress)
    masks = corpus_masks(items)
    corpus = np.array([it.corpus for it in items])
    probs: dict[str, np.ndarray] = {}
    fold_metrics, fold_speakers = [], []
    for k, (tr, te) in enumerate(GroupKFold(n_splits=folds).split(np.zeros(len(y)), y, groups)):
        assert not set(groups[tr]) & set(groups[te]), "a speaker is in train and test"
        for name, p in fit_predict(model, feats, y, tr, te, cfg, seed, len(labels), masks, corpus).items():
            probs.setdefault(name, np.zeros((len(items), len(labels)), np.float32))[te] = p
        m = score(y[te], probs[model][te].argmax(1), labels)
        fold_metrics.append({k2: m[k2] for k2 in ("n", "unweighted_accuracy", "weighted_accuracy", "macro_f1")})
        fold_speakers.append(sorted(set(groups[te].tolist())))
        log.info("fold %d/%d speakers %s: UA %.4f", k + 1, folds, ",".join(fold_speakers[-1]), m["unweighted_accuracy"])
    metrics = score(y, probs[model].argmax(1), labels)
    members = {
        name: {k2: v for k2, v in score(y, p.argmax(1), labels).items() if k2 != "confusion_matrix"}
        for name, p in probs.items()
        if name != model
    }
    train_metrics = None
    if model == "baseline":
        x = np.stack(feats["baseline"])
        clf = make_baseline(seed).fit(x, y)
        train_metrics = score(y, clf.predict(x), labels)
    result = CVResult(
        model,
        folds,
        metrics,
        fold_metrics,
        train_metrics,
        fold_speakers,
        round(time.time() - t0, 1),
        probs[model].round(5).tolist(),
    )
    result.members = members
    result.member_probabilities = {k: v for k, v in probs.items() if k != model}
    return result


def _score_held_out(
    probs: dict[str, np.ndarray], model: str, y_train: np.ndarray, y_test: np.ndarray, temperature: float
) -> dict:
    """A held-out corpus's figures, over the classes it shares with the training corpora (a class they
    lack folded into its parent; clips of a class with no parent there skipped and counted)."""
    from ..evaluation import expected_calibration_error
    from ..taxonomy import align, modelled, target_of

    labels = list(SPEECH_EMOTIONS)
    trained = [labels[i] for i in sorted(set(y_train.tolist()))]
    target = modelled(trained, sorted({labels[i] for i in y_test}))
    truth = [target_of(labels[i], target) for i in y_test]
    keep = np.array([t is not None for t in truth])
    yt = np.array([target.index(t) for t in truth if t is not None])
    result: dict = {"skipped": int((~keep).sum()), "temperature": round(temperature, 3)}
    for name, p in probs.items():
        q = align(with_temperature(p, temperature) if name == model else p, labels, target)[keep]
        m = score(yt, q.argmax(1), target)
        m["expected_calibration_error"] = round(expected_calibration_error(q, yt), 4)
        if name == model:
            result["metrics"] = m
        else:
            result.setdefault("members", {})[name] = {k: m[k] for k in ("unweighted_accuracy", "macro_f1")}
    return result


def _loco_protocol(adapt: int | None) -> str:
    protocol = (
        "leave one corpus out: train on the other corpora, test on the held-out one, UA over the classes "
        "it shares with them (calm counted as neutral where the training corpora lack calm)"
    )
    if adapt:
        protocol += (
            f"; speaker adaptation: each held-out clip standardised with {adapt} other unlabelled clips of "
            f"its speaker (variance shrunk, weight {ADAPT_SHRINK:g}), training clips by their speaker"
        )
    return protocol


def _temperature(
    feats: dict,
    y: np.ndarray,
    corpus: np.ndarray,
    masks: np.ndarray,
    tr: np.ndarray,
    model: str,
    cfg: CNNConfig,
    seed: int,
) -> float:
    """The temperature fitted on the training corpora alone (1.0 with a single one: nothing to fit on)."""
    if len(set(corpus[tr].tolist())) < 2:
        return 1.0
    return calibrate_across_corpora(
        {k: [v[i] for i in tr] for k, v in feats.items()}, y[tr], corpus[tr], masks[tr], model, cfg, seed
    )


def leave_one_corpus_out(
    items: Sequence[Item],
    model: str = "encoder",
    seed: int = 0,
    cfg: CNNConfig | None = None,
    calibrate: bool = True,
    cache_dir="default",
    progress: bool = True,
    adapt: int | None = None,
    steady: bool = False,
) -> dict:
    """Train on all corpora but one, test on that one, for each corpus in turn.

    Each held-out corpus is scored over the classes it shares with the training corpora, through
    the taxonomy: a class the training corpora lack is folded into its parent (RAVDESS's calm is
    counted as neutral when CASIA and EMOVO train), and clips of a class with no parent there
    are skipped and counted. With ``calibrate`` the temperature is fitted on the training
    corpora alone (:func:`calibrate_across_corpora`), never on the held-out one. Reports UA, WA,
    macro-F1, per-class recall and expected calibration error per corpus, and their mean and min;
    ``probabilities`` holds every clip's held-out distribution over the speech labels (row i = items[i]).

    ``adapt=K`` (``encoder`` only) measures speaker adaptation: training clips standardised by their
    speaker's statistics, each held-out clip by ``K`` other unlabelled clips of its speaker (a
    recording of K+1 segments of one voice), as ``speech_adaptive`` is used. ``steady`` builds those
    recordings from clips of the same emotion only (a voice that holds one emotion throughout, the
    case adaptation can erase); otherwise the K clips are of any emotion (a mixed recording).
    """
    corpus = np.array([it.corpus for it in items])
    corpora = sorted(set(corpus.tolist()))
    if len(corpora) < 2:
        raise AvemotionError("leave-one-corpus-out needs at least two corpora (give several DATA folders)")
    t0 = time.time()
    cfg = cfg or CNNConfig(seed=seed)
    labels = list(SPEECH_EMOTIONS)
    y = np.array([labels.index(it.label) for it in items])
    masks = corpus_masks(items)
    all_feats = model_features(items, model, cache_dir, progress, codec=not adapt)
    if adapt and model != "encoder":
        raise AvemotionError("speaker adaptation (adapt) is measured for the encoder recipe only")
    speakers = speaker_keys(items)
    recordings = np.array([f"{s}|{it.label}" for s, it in zip(speakers, items, strict=True)]) if steady else speakers
    per: dict[str, dict] = {}
    held_out = np.zeros((len(items), len(labels)), np.float32)
    for c in corpora:
        te, tr = np.flatnonzero(corpus == c), np.flatnonzero(corpus != c)
        # held-out clips are read in recordings, training clips standardised by their speaker
        keys = np.where(corpus == c, recordings, speakers)
        feats = adapted_features(all_feats, keys, tr, te, adapt, seed) if adapt else all_feats
        probs = fit_predict(model, feats, y, tr, te, cfg, seed, len(labels), masks, corpus)
        fit_t = calibrate and (ADAPT_CALIBRATE or not adapt)
        temperature = _temperature(feats, y, corpus, masks, tr, model, cfg, seed) if fit_t else 1.0
        result: dict[str, Any] = {"train_corpora": sorted(set(corpus[tr].tolist())), "n_test": int(len(te))}
        result |= _score_held_out(probs, model, y[tr], y[te], temperature)
        held_out[te] = with_temperature(probs[model], temperature)
        per[c] = result
        log.info(
            "held out %s: UA %.4f (ECE %.3f)",
            c,
            result["metrics"]["unweighted_accuracy"],
            result["metrics"]["expected_calibration_error"],
        )
    uas = [r["metrics"]["unweighted_accuracy"] for r in per.values()]
    eces = [r["metrics"]["expected_calibration_error"] for r in per.values()]
    return {
        "model": model + ("_adaptive" if adapt else ""),
        "protocol": _loco_protocol(adapt)
        + ("; steady recordings: the other clips share the clip's emotion" if adapt and steady else ""),
        "steady": bool(adapt and steady),
        "adapt": adapt,
        "corpora": per,
        "mean_unweighted_accuracy": round(float(np.mean(uas)), 4),
        "min_unweighted_accuracy": round(float(np.min(uas)), 4),
        "mean_expected_calibration_error": round(float(np.mean(eces)), 4),
        "probabilities": held_out,
        "data": {c: int((corpus == c).sum()) for c in corpora},
        "seconds": round(time.time() - t0, 1),
    }


def cross_validate_report(
    items: Sequence[Item], model: str, folds: int, seed: int, out: Path, epochs: int | None = None
) -> dict:
    """Run :func:`cross_validate` and write ``metrics.json`` and ``confusion.png`` into ``out``."""
    from ..evaluation import plot_confusion
    from ..files import write_json

    result = cross_validate(items, model, folds, cnn_config(seed, epochs), seed)
    report = result.to_dict()
    report.pop("probabilities")
    report.pop("member_probabilities")
    report["protocol"] = (
        f"speaker-independent {folds}-fold cross-validation (GroupKFold over speakers; "
        "no speaker in both train and test), fixed seed"
    )
    report["data"] = {
        "n": len(items),
        "speakers": len({it.speaker for it in items}),
        "corpus": sorted({it.corpus for it in items}),
    }
    corpus = np.array([it.corpus for it in items])
    if len(set(corpus.tolist())) > 1:  # pooled corpora: each one's share of the same folds, scored apart
        labels = list(SPEECH_EMOTIONS)
        y = np.array([labels.index(it.label) for it in items])
        p = np.asarray(result.probabilities)
        report["per_corpus"] = {
            c: {
                k: v
                for k, v in score(y[corpus == c], p[corpus == c].argmax(1), labels).items()
                if k in ("n", "unweighted_accuracy", "weighted_accuracy", "macro_f1", "per_class_recall")
            }
            for c in sorted(set(corpus.tolist()))
        }
    if model in ("cnn", "ensemble"):
        report["config"] = asdict(cnn_config(seed, epochs))
    out.mkdir(parents=True, exist_ok=True)
    # Out-of-fold probabilities, row i = items[i]: for later ensembling or calibration studies.
    np.save(out / "oof_probabilities.npy", np.asarray(result.probabilities, dtype=np.float32))
    for name, p in result.member_probabilities.items():
        np.save(out / f"oof_probabilities_{name}.npy", p)
    write_json(report, out / "metrics.json")
    m = result.metrics
    title = f"{model}, speaker-independent {folds}-fold: UA {m['unweighted_accuracy']:.3f}"
    plot_confusion(m["confusion_matrix"], m["labels"], out / "confusion.png", title)
    return report
