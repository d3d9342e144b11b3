"""Fitting the learned fusion rule: a small regularised model over both lanes' distributions and evidence.

The rule (:func:`avemotion.fusion.learned_fusion`) reads, per window, each lane's log-probabilities
over the seven face labels scaled by the lane's coverage, the coverages themselves, whether each
lane is there and the voice's log-probability of calm (a quiet voice is evidence, folding it into
neutral lost it), and gives a softmax over the seven labels. It is fitted here by multinomial logistic
regression (L2) on pairs that no scored pair shares: FER2013 ``val/`` faces (the scored faces are
``test/``) with held-out voice clips, under the same kinds of degraded evidence as the scoring
conditions, drawn at random. ``cross_fitted`` scores it honestly: the voices are split in two by
speaker, a rule is fitted on each half and scores the other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from ..evaluation.fusion import LABELS, face_probabilities, folded, pair_faces, read_faces, read_voice
from ..fusion import learned_features

#: Degraded evidence drawn for each training pair: (probability, what happens).
#: (A window with one lane is that lane's distribution: the rule only sees pairs.)
P_PARTIAL = 0.4
#: The L2 strength, chosen on val/ faces alone (two halves of the val faces crossed with the two speaker
#: halves of the voices, each fitted on one and scored on the other; clean pairs UA): C 0.1 0.856,
#: 0.5 0.858, 2 0.860, 10 0.860. Adding each lane's peakedness, alone or gating its log p, did not help
#: clean pairs there (0.857, 0.855); the voice's calm as a feature of its own did (0.866, and every
#: degraded condition up by 0.004-0.018) (docs/fusion.md).
C = 2.0


def _augmented(face: dict, voice: np.ndarray, vy: np.ndarray, fy: np.ndarray, seed: int) -> tuple:
    """Features and labels of training pairs under randomly degraded evidence (several draws per voice)."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for draw in range(3):
        idx = pair_faces(vy, fy, seed + 1000 * (draw + 1))
        kinds = rng.choice(list(face), size=len(vy))
        u = rng.random((len(vy), 4))
        for i in range(len(vy)):
            cf = rng.uniform(0.1, 1.0) if u[i, 2] < P_PARTIAL else 1.0
            cv = rng.uniform(0.1, 1.0) if u[i, 3] < P_PARTIAL else 1.0
            xs.append(learned_features(face[kinds[i]][idx[i]], cf, voice[i], cv))
            ys.append(vy[i])
    return np.asarray(xs), np.asarray(ys)


def fit_rule(face: dict, fy: np.ndarray, voice: np.ndarray, vy: np.ndarray, seed: int = 0):
    """Multinomial logistic regression (L2, ``C``) on augmented pairs; returns the fitted estimator."""
    from sklearn.linear_model import LogisticRegression

    x, y = _augmented(face, voice, vy, fy, seed)
    return LogisticRegression(C=C, max_iter=2000).fit(x, y)


def speaker_halves(rows: Sequence[dict]) -> np.ndarray:
    """0 or 1 for each voice clip, by a hash of its speaker: every speaker wholly in one half."""
    return np.array([int(hashlib.sha1(r["speaker"].encode()).hexdigest(), 16) % 2 for r in rows])


def face_sets(crops: np.ndarray, model: str) -> dict:
    """The face model's distributions for crops as they are and blurred and small (the training draws)."""
    return {t: face_probabilities(crops, model, None if t == "clean" else t) for t in ("clean", "blur", "small")}


def rule_card(clf, data: dict) -> dict:
    """The shipped data file: coefficients and what a card says."""
    return {
        "name": "fusion_learned",
        "task": "fusion",
        "labels": LABELS,
        "features": "per lane: coverage x log p over the labels (7; the voice's calm folded into neutral), coverage, "
        "present (1/0); face then voice; then the voice's coverage x log p(calm)",
        "coef": np.round(clf.coef_, 6).tolist(),
        "intercept": np.round(clf.intercept_, 6).tolist(),
        "architecture": f"multinomial logistic regression, L2 (C={C}), over {clf.coef_.shape[1]} features",
        "training": {
            "pairs": "each held-out voice clip with FER2013 val/ faces of its FER+ majority emotion, three draws, "
            f"evidence degraded at random (partial coverage of each lane with probability {P_PARTIAL:g}, drawn "
            "from 0.1-1; faces clean, blurred or small alike); a window with one lane is that lane's distribution",
            **data,
        },
    }


def train_rule(held_out_csv: str, fer_val: str, model: str = "face", seed: int = 0) -> dict:
    """The rule fitted on every voice clip and the val faces: the shipped ``fusion_learned.json``."""
    voice, vy, rows = read_voice(held_out_csv, keep_calm=True)
    crops, fy = read_faces(fer_val)
    clf = fit_rule(face_sets(crops, model), fy, voice, vy, seed)
    return rule_card(
        clf,
        {
            "voices": len(vy),
            "voice_corpora": sorted({r["corpus"] for r in rows}),
            "faces": len(fy),
            "face_model": model,
            "seed": seed,
        },
    )


def cross_fitted(fer_val: str, model: str = "face", seed: int = 0):
    """For :func:`avemotion.evaluation.fusion.evaluate_fusion`: the learned rule fitted twice, on the val
    faces with each half of the voices (split by speaker), each half's pairs scored by the other's."""

    def fit(voice: np.ndarray, vy: np.ndarray, rows: list[dict]) -> dict:
        crops, fy = read_faces(fer_val)
        faces = face_sets(crops, model)
        halves = speaker_halves(rows)
        clfs = {h: fit_rule(faces, fy, voice[halves != h], vy[halves != h], seed) for h in (0, 1)}

        def fused(face: np.ndarray | None, voice_p: np.ndarray | None, cond) -> np.ndarray:
            if face is None or voice_p is None:  # one lane: its own distribution, as the shipped rule does
                return np.asarray(folded(voice_p) if face is None else face)  # type: ignore[arg-type]
            n = len(vy)
            x = np.stack(
                [learned_features(face[i], cond.face_coverage, voice_p[i], cond.voice_coverage) for i in range(n)]
            )
            out = np.zeros((n, len(LABELS)), np.float32)
            for h in (0, 1):
                out[halves == h] = clfs[h].predict_proba(x[halves == h])
            return out

        return {"learned (cross-fitted)": fused}

    return fit
