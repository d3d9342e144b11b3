"""What a speech model card says in words: the recipes' descriptions, the corpora's licences, and the
figures of ``avemotion evaluate`` reports merged in (:func:`with_cv_metrics`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

RAVDESS_LICENCE = (
    "CC BY-NC-SA 4.0: weights trained on RAVDESS (Livingstone & Russo 2018, "
    "doi:10.1371/journal.pone.0196391); non-commercial research use, attribute, share alike"
)


CORPUS_LICENCES = {
    "ravdess": RAVDESS_LICENCE,
    "casia": "CASIA Chinese emotional speech (public 1200-clip subset): non-commercial research use",
    "emovo": "EMOVO (Costantini et al., LREC 2014, Fondazione Ugo Bordoni): research use",
    "nemo": "nEMO (Christop, LREC-COLING 2024): CC BY-NC-SA 4.0, non-commercial research use, share alike",
    "ased": (
        "ASED v1 (Retta et al., ACM TALLIP 2022, doi:10.1145/3529759): freely available for research, cite the paper"
    ),
}


def corpus_licence(corpora: Sequence[str]) -> str:
    """The terms the training corpora put on weights trained on them (the strictest all apply)."""
    return "; ".join(CORPUS_LICENCES.get(c, f"{c}: see the corpus's licence") for c in corpora)


CNN_TEXT = (
    "log-mel CNN: 4 blocks of 2x(conv3x3+BN+ReLU) and 2x2 max-pool (widths 16/32/64/128), per-utterance "
    "band-mean normalisation, mean+max pooling over time, dense 128, softmax"
)


#: ``{what}``: "three softmax regressions" (the speaker-adapted variant) or the four members of ``speech``.
ENCODER_TEXT = (
    "equal-weight average of {what} trained on several corpora at once, each clip's "
    "loss over the classes its corpus has (calm, RAVDESS's alone, still counted as a wrong answer for the "
    "other corpora's clips) and every (corpus, class) cell weighted alike: (1) on 1,536 "
    "statistics of a pretrained voice encoder (mean and std over time of each of the 3 LSTM layers "
    "of Resemblyzer's GE2E speaker encoder, models/voice_encoder.onnx), (2) on 680 of the 4,040 "
    "functionals (those of 17 descriptors of spectral shape, energy, voicing and pitch), (3) on 2,048 "
    "statistics of Whisper base's audio encoder (mean and std over time of transformer blocks 2 and 3, "
    "models/whisper_encoder.onnx)"
)
#: The fourth member of ``speech`` (not of the speaker-adapted variant), after :data:`ENCODER_TEXT`.
ATTENTION_TEXT = (
    "; and (4) a small network trained the same way on the same two Whisper blocks frame by frame (25 "
    "frames a second, 1,024 wide): each frame projected to 32 units, pooled over time by a learned "
    "attention and by the mean, then a linear layer (AttentionPooling)"
)
#: What the codec copies add to :data:`ENCODER_TEXT` (the speaker-adapted variant trains without them);
#: ``{held}``: the members with a codec-consistency penalty, by number ("1, 2 and 4").
ENCODER_CODEC_TEXT = (
    "; members {held} also held to read the same from a clip and its Opus copy "
    "(a penalty on the change of their logits)"
)


LINEAR_TEXT = (
    "functionals (4,040: 101 frame descriptors and their deltas x 20 statistics), standardised, "
    "ridge classifier (alpha 3000) with sigmoid calibration, bagged over 5 internal folds; trained on "
    "the clips and their speed-perturbed copies (x0.9, x1.1)"
)


def with_cv_metrics(card: dict, cv_metrics: str | Path | Sequence[str | Path]) -> dict:
    """The card with the figures of `avemotion evaluate` metrics.json files added.

    A speaker-folds report fills ``metrics`` (and ``per_corpus`` where corpora were pooled); a
    leave-one-corpus-out report fills ``metrics.leave_one_corpus_out`` — the first one given; a later
    one measured with speaker adaptation over K other clips goes to
    ``metrics.leave_one_corpus_out_{K+1}_segments`` beside it.
    """
    card = dict(card)
    files = [cv_metrics] if isinstance(cv_metrics, (str, Path)) else list(cv_metrics)
    for f in files:
        cv = json.loads(Path(f).read_text())
        if "corpora" in cv:
            key = "leave_one_corpus_out"
            if key in card.get("metrics", {}) and cv.get("adapt"):
                key = f"leave_one_corpus_out_{cv['adapt'] + 1}_segments"
            card.setdefault("metrics", {})[key] = {
                "protocol": cv["protocol"],
                "segments_of_each_voice": cv["adapt"] + 1 if cv.get("adapt") else None,
                "mean_unweighted_accuracy": cv["mean_unweighted_accuracy"],
                "min_unweighted_accuracy": cv["min_unweighted_accuracy"],
                "mean_expected_calibration_error": cv["mean_expected_calibration_error"],
                "held_out": {
                    c: {
                        "trained_on": r["train_corpora"],
                        **{
                            k: r["metrics"][k]
                            for k in (
                                "n",
                                "unweighted_accuracy",
                                "weighted_accuracy",
                                "macro_f1",
                                "expected_calibration_error",
                                "per_class_recall",
                            )
                        },
                    }
                    for c, r in cv["corpora"].items()
                },
            }
            continue
        m = cv["metrics"]
        card["metrics"] = {
            **card.get("metrics", {}),
            "protocol": cv.get("protocol"),
            "unweighted_accuracy": m["unweighted_accuracy"],
            "weighted_accuracy": m["weighted_accuracy"],
            "macro_f1": m["macro_f1"],
            "per_class_recall": m["per_class_recall"],
            "fold_metrics": cv.get("fold_metrics"),
            "members": {
                k: {k2: v[k2] for k2 in ("unweighted_accuracy", "weighted_accuracy", "macro_f1")}
                for k, v in (cv.get("members") or {}).items()
            },
            "headline": f"UA {m['unweighted_accuracy']:.3f} speaker-independent",
        }
        if cv.get("per_corpus"):
            card["metrics"]["per_corpus"] = cv["per_corpus"]
            rav = cv["per_corpus"].get("ravdess")
            if rav:
                card["metrics"]["headline"] = (
                    f"UA {rav['unweighted_accuracy']:.3f} on RAVDESS, speaker-independent (pooled folds)"
                )
        if cv.get("train_metrics"):
            card["metrics"]["training_data_unweighted_accuracy"] = cv["train_metrics"]["unweighted_accuracy"]
    loco = card.get("metrics", {}).get("leave_one_corpus_out")
    if loco:
        segments = loco.get("segments_of_each_voice")
        parts = [
            f"UA {loco['mean_unweighted_accuracy']:.3f} on corpora it never heard (leave one corpus out, mean of "
            f"{len(loco['held_out'])}" + (f"; {segments} segments of each voice" if segments else "") + ")",
            card["metrics"].get("headline", ""),
        ]
        card["metrics"]["headline"] = "; ".join(p for p in parts if p)
    return card
