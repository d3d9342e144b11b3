"""The canonical emotion names, each corpus's labels mapped onto them, and label-set alignment.

Every model and corpus in avemotion speaks the same names: the seven of FER2013 (``angry``,
``disgust``, ``fear``, ``happy``, ``neutral``, ``sad``, ``surprise``) plus ``calm`` (RAVDESS),
``boredom`` (EmoDB) and ``contempt`` (CK+/AffectNet-style face sets).

Rule for classes a model lacks (used by :func:`align` and by evaluation):

* A source class that the target label set has keeps its probability.
* A source class that the target lacks passes its probability to its *parent* (``calm`` and
  ``boredom`` to ``neutral``, ``contempt`` to ``disgust``) when the target has that parent;
  otherwise it is dropped and the rest renormalised.
* A target class that the source lacks gets probability 0 and is reported as not modelled
  (see :func:`modelled`). Fusion never reads such a zero as evidence against that emotion.

Evaluation on a corpus whose classes a model cannot produce (e.g. ``contempt`` for a face model)
skips those clips and says so, rather than counting them wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from .errors import AvemotionError

#: The seven classes of FER2013, in the order the face models output them.
FACE_EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
#: The eight classes of RAVDESS speech, in the order the speech models output them.
SPEECH_EMOTIONS: tuple[str, ...] = (*FACE_EMOTIONS, "calm")
#: Every canonical name avemotion knows.
EMOTIONS: tuple[str, ...] = (*SPEECH_EMOTIONS, "boredom", "contempt")

#: Where a class goes when the target label set lacks it.
PARENT: dict[str, str] = {"calm": "neutral", "boredom": "neutral", "contempt": "disgust"}

#: Synonyms seen in folder names and corpus labels, mapped to canonical names.
SYNONYMS: dict[str, str] = {
    "anger": "angry",
    "angry": "angry",
    "mad": "angry",
    "disgust": "disgust",
    "disgusted": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "afraid": "fear",
    "scared": "fear",
    "happy": "happy",
    "happiness": "happy",
    "joy": "happy",
    "neutral": "neutral",
    "sad": "sad",
    "sadness": "sad",
    "surprise": "surprise",
    "surprised": "surprise",
    "ps": "surprise",
    "pleasant_surprise": "surprise",
    "pleasant_surprised": "surprise",
    "calm": "calm",
    "boredom": "boredom",
    "bored": "boredom",
    "contempt": "contempt",
}

#: Each corpus's own codes, mapped to canonical names.
CORPUS_LABELS: dict[str, dict[str, str]] = {
    # RAVDESS file names, third field: 8 classes including calm.
    "ravdess": {
        "01": "neutral",
        "02": "calm",
        "03": "happy",
        "04": "sad",
        "05": "angry",
        "06": "fear",
        "07": "disgust",
        "08": "surprise",
    },
    # FER2013 csv `emotion` column: 7 classes.
    "fer2013": {"0": "angry", "1": "disgust", "2": "fear", "3": "happy", "4": "sad", "5": "surprise", "6": "neutral"},
    # CREMA-D file names, third field: 6 classes.
    "cremad": {"ANG": "angry", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"},
    # TESS file names, last field: 7 classes (ps = pleasant surprise).
    "tess": {
        "angry": "angry",
        "disgust": "disgust",
        "fear": "fear",
        "happy": "happy",
        "neutral": "neutral",
        "ps": "surprise",
        "sad": "sad",
    },
    # SAVEE file-name prefixes: 7 classes.
    "savee": {"a": "angry", "d": "disgust", "f": "fear", "h": "happy", "n": "neutral", "sa": "sad", "su": "surprise"},
    # EmoDB file names, sixth character (German initials): 7 classes including boredom.
    "emodb": {"W": "angry", "L": "boredom", "E": "disgust", "A": "fear", "F": "happy", "T": "sad", "N": "neutral"},
}


def canonical(label: str) -> str:
    """Return the canonical name for a label or synonym (case-insensitive)."""
    key = str(label).strip().lower().replace("-", "_").replace(" ", "_")
    if key not in SYNONYMS:
        raise AvemotionError(f"unknown emotion label {label!r}; known: {', '.join(EMOTIONS)}")
    return SYNONYMS[key]


def try_canonical(label: str) -> str | None:
    """Like :func:`canonical`, but ``None`` for an unknown label."""
    try:
        return canonical(label)
    except AvemotionError:
        return None


def target_of(label: str, target: Sequence[str]) -> str | None:
    """Where probability of ``label`` goes in the label set ``target`` (None: dropped)."""
    if label in target:
        return label
    parent = PARENT.get(label)
    return parent if parent in target else None


def alignment_matrix(source: Sequence[str], target: Sequence[str]) -> np.ndarray:
    """A (len(source), len(target)) 0/1 matrix that moves probability from source to target."""
    m = np.zeros((len(source), len(target)), dtype=np.float32)
    for i, lab in enumerate(source):
        t = target_of(lab, target)
        if t is not None:
            m[i, target.index(t)] = 1.0
    return m


def align(probs: np.ndarray, source: Sequence[str], target: Sequence[str]) -> np.ndarray:
    """Re-express probabilities over ``source`` labels as probabilities over ``target`` labels.

    Works on a vector or on rows of a 2-D array; rows are renormalised to sum to 1 (a row whose
    mass was all dropped stays all zero).
    """
    p = np.asarray(probs, dtype=np.float32)
    out = p @ alignment_matrix(source, target)
    total = out.sum(axis=-1, keepdims=True)
    return np.divide(out, total, out=np.zeros_like(out), where=total > 0)


def modelled(source: Iterable[str], target: Sequence[str]) -> list[str]:
    """The target labels that the source label set can put probability on."""
    hits = {target_of(lab, target) for lab in source}
    return [t for t in target if t in hits]


def top_label(probs: Mapping[str, float] | None) -> str | None:
    """The most probable emotion of a distribution; None for no distribution (nothing to read)."""
    return max(probs, key=lambda k: probs[k]) if probs else None


def as_dict(probs: np.ndarray, labels: Sequence[str]) -> dict[str, float]:
    """Map label → probability, rounded for printing and JSON."""
    return {lab: round(float(p), 6) for lab, p in zip(labels, np.asarray(probs).ravel())}
