"""Does putting a face and a voice together beat the better of the two? Scored on labelled pairs.

There is no audio-visual corpus with speech here, so the lanes are tested together on pairs: a
held-out voice clip (its leave-one-corpus-out prediction: no model heard that voice, or any voice of
its corpus) beside a FER2013 test face with the same FER+ majority emotion (a face no model was
trained or chosen on). The pair is two different people: it tests how two independent pieces of
evidence about the same emotion are combined, not how one person's face and voice go together.

Every fusion rule registered in :data:`avemotion.fusion.FUSION_RULES` is scored on the same pairs
as each lane alone, clean and under the degraded evidence a real video has (:data:`CONDITIONS`):
a face in only some frames, a short utterance, a blurred or small face, one lane missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..fusion import VOICE_FEATURE_LABELS
from ..taxonomy import FACE_EMOTIONS, SPEECH_EMOTIONS, align, target_of
from . import expected_calibration_error, score

LABELS = list(FACE_EMOTIONS)
#: The voice's distribution as the rules receive it (as in a video): the face labels and calm beside them.
VOICE_LABELS = list(VOICE_FEATURE_LABELS)


@dataclass(frozen=True)
class Condition:
    """What a video does to the evidence: each lane's coverage, a face transformation, a lane gone."""

    face_coverage: float = 1.0
    voice_coverage: float = 1.0
    face_transform: str | None = None  # a key of FACE_TRANSFORMS
    face: bool = True
    voice: bool = True


CONDITIONS = {
    "clean": Condition(),
    "face in 30 % of the window": Condition(face_coverage=0.3),
    "voice in 30 % of the window": Condition(voice_coverage=0.3),
    "blurred face": Condition(face_transform="blur"),
    "small face (16 px)": Condition(face_transform="small"),
    "no face": Condition(face=False),
    "no voice": Condition(voice=False),
}


def _blur(crop: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(crop, (0, 0), 1.2)


def _small(crop: np.ndarray) -> np.ndarray:
    import cv2

    tiny = cv2.resize(crop, (16, 16), interpolation=cv2.INTER_AREA)
    return cv2.resize(tiny, crop.shape[::-1], interpolation=cv2.INTER_LINEAR)


#: Transformations of a 48x48 face crop (about what sigma 2.5 px blur and a 40-px face do at video size).
FACE_TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"blur": _blur, "small": _small}


@dataclass
class Lane:
    """One lane's held-out distributions over :data:`LABELS` (row i = pair i) and the true labels."""

    probs: np.ndarray
    y: np.ndarray


def read_voice(held_out_csv: str | Path, keep_calm: bool = False) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Held-out voice predictions (:func:`avemotion.evaluation.read_held_out`): distributions over the face
    labels (calm folded into neutral; with ``keep_calm``, over :data:`VOICE_LABELS`, calm in its own
    column, as the fusion rules get a voice in a video), true labels, and each clip's row (path, corpus,
    speaker, emotion); clips of an emotion the face labels lack are left out."""
    from . import read_held_out

    rows, speech = read_held_out(held_out_csv)
    keep = [i for i, r in enumerate(rows) if target_of(r["emotion"], LABELS) is not None]
    probs = align(speech[keep], list(SPEECH_EMOTIONS), VOICE_LABELS if keep_calm else LABELS).astype(np.float32)
    y = np.array([LABELS.index(target_of(rows[i]["emotion"], LABELS)) for i in keep])  # type: ignore[arg-type]
    return probs, y, [rows[i] for i in keep]


def folded(voice: np.ndarray) -> np.ndarray:
    """Voice distributions over the face labels (calm folded into neutral), whichever set they are over."""
    return voice if voice.shape[1] == len(LABELS) else align(voice, VOICE_LABELS, LABELS)


def read_faces(fer_split: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Grey 48x48 crops of a FER2013 split's faces with a FER+ majority among :data:`LABELS`, and the labels."""
    from ..face.preprocess import crop_face
    from ..media import read_image
    from .face import labelled_items

    items, _, _ = labelled_items(fer_split, "ferplus", LABELS)
    crops = np.stack([crop_face(read_image(it.path), size=48) for it in items])
    return crops, np.array([LABELS.index(it.label) for it in items])


def face_probabilities(crops: np.ndarray, model: str = "face", transform: str | None = None) -> np.ndarray:
    """The face model's distributions over :data:`LABELS` for each crop (optionally transformed first)."""
    from ..face.classify import FaceClassifier

    fc = FaceClassifier(model)
    if transform:
        crops = np.stack([FACE_TRANSFORMS[transform](c) for c in crops])
    return align(fc.predict_proba(crops), list(fc.labels), LABELS).astype(np.float32)


def pair_faces(voice_y: np.ndarray, face_y: np.ndarray, seed: int = 0) -> np.ndarray:
    """For each voice clip, the index of a face with the same label (drawn with replacement, seeded)."""
    rng = np.random.default_rng(seed)
    by_label = {k: np.flatnonzero(face_y == k) for k in range(len(LABELS))}
    return np.array([rng.choice(by_label[int(k)]) for k in voice_y])


def fuse_pairs(rule, face: np.ndarray | None, voice: np.ndarray | None, cond: Condition) -> np.ndarray:
    """The rule's fused distribution for every pair (uniform where it gives none)."""
    from ..fusion import FusionOptions, ModalityInput

    options = FusionOptions(labels=tuple(LABELS))
    present = face if face is not None else voice
    if present is None:
        raise ValueError("a pair needs at least one lane")
    n = len(present)
    out = np.full((n, len(LABELS)), 1.0 / len(LABELS), np.float32)
    for i in range(n):
        inputs = {
            "face": ModalityInput(_dist(face, i), cond.face_coverage),
            "voice": ModalityInput(_dist(voice, i), cond.voice_coverage),
        }
        fused = rule(inputs, options)
        if fused:
            out[i] = [fused[lab] for lab in LABELS]
    return out


def _dist(p: np.ndarray | None, i: int) -> dict[str, float] | None:
    if p is None:
        return None
    labels = LABELS if p.shape[1] == len(LABELS) else VOICE_LABELS
    return {lab: float(v) for lab, v in zip(labels, p[i], strict=True)}


def scores(probs: np.ndarray, y: np.ndarray) -> dict:
    """UA, accuracy and ECE of distributions against the labels."""
    m = score(y, probs.argmax(1), LABELS)
    return {
        "unweighted_accuracy": m["unweighted_accuracy"],
        "accuracy": m["weighted_accuracy"],
        "expected_calibration_error": round(expected_calibration_error(probs, y), 4),
    }


def score_condition(
    rules: dict, face: np.ndarray, voice: np.ndarray, y: np.ndarray, cond: Condition, fitted: dict | None = None
) -> dict[str, dict]:
    """Each lane alone and every rule on the same pairs under one condition; for each rule, how often it
    is wrong where the better lane alone is right (``lost``) and right where that lane is wrong (``won``).
    ``fitted`` adds rules given as ``fit(face, voice, condition) -> fused distributions``."""
    face_in, voice_in = (face if cond.face else None), (voice if cond.voice else None)
    lanes = {"face alone": face_in, "voice alone": None if voice_in is None else folded(voice_in)}
    out = {name: scores(p, y) for name, p in lanes.items() if p is not None}
    better = max(out, key=lambda k: out[k]["unweighted_accuracy"])
    better_right = lanes[better].argmax(1) == y  # type: ignore[union-attr]
    made = {name: fuse_pairs(rule, face_in, voice_in, cond) for name, rule in rules.items()}
    for name, fit in (fitted or {}).items():  # rules fitted here, each pair scored by one that never saw it
        made[name] = fit(face_in, voice_in, cond)
    for name, fused in made.items():
        right = fused.argmax(1) == y
        out[name] = scores(fused, y) | {
            "minus_better_lane": round(scores(fused, y)["unweighted_accuracy"] - out[better]["unweighted_accuracy"], 4),
            "lost": round(float((better_right & ~right).mean()), 4),
            "won": round(float((~better_right & right).mean()), 4),
        }
    return out


def evaluate_fusion(
    held_out_csv: str | Path,
    fer_test: str | Path,
    rules: dict | None = None,
    conditions: Sequence[str] | None = None,
    model: str = "face",
    seed: int = 0,
    cross_fit: Callable | None = None,
) -> dict:
    """The fusion table: for each condition, each lane alone and each rule (:func:`score_condition`).

    ``cross_fit(voice, y, rows)``, if given, returns ``{name: fit(face, voice, condition)}``: rules
    fitted on other data than each pair they score (:func:`avemotion.training.fusion.cross_fitted`).
    The shipped learned rule is left out of the registry's rules here: it was fitted on these voices."""
    from ..fusion import FUSION_RULES

    rules = dict(FUSION_RULES) if rules is None else rules
    rules = {k: r for k, r in rules.items() if not getattr(r, "over_time", False) and k != "learned"}
    voice, vy, rows = read_voice(held_out_csv, keep_calm=True)
    fitted = cross_fit(voice, vy, rows) if cross_fit else None
    crops, fy = read_faces(fer_test)
    idx = pair_faces(vy, fy, seed)
    face_by_transform: dict[str | None, np.ndarray] = {}
    table = {}
    for name in conditions or CONDITIONS:
        cond = CONDITIONS[name]
        if cond.face_transform not in face_by_transform:
            face_by_transform[cond.face_transform] = face_probabilities(crops, model, cond.face_transform)
        table[name] = score_condition(rules, face_by_transform[cond.face_transform][idx], voice, vy, cond, fitted)
    return {
        "pairs": len(vy),
        "protocol": (
            "each held-out voice clip (leave one corpus out) beside a FER2013 test face with the same FER+ "
            "majority emotion, drawn with replacement (seed " + str(seed) + "); two different people: independent "
            "evidence of one emotion, not one person's face and voice"
        ),
        "voice_corpora": sorted({r["corpus"] for r in rows}),
        "face_model": model,
        "classes": {lab: int((vy == k).sum()) for k, lab in enumerate(LABELS)},
        "conditions": table,
    }
