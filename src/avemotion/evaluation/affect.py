"""How far the derived valence and arousal (:mod:`avemotion.affect`) can be trusted, where labels allow.

Arousal: RAVDESS actors spoke every emotion at two intensities, normal and strong; within an emotion,
the strong clips should read as more aroused. Scored as the AUC of the derived arousal separating the
two, per emotion, on held-out predictions (no model heard those voices). Valence: its sign against the
corpora's clearly positive (happy, calm) and negative (angry, disgust, fear, sad) emotions, per corpus;
surprise and neutral are left out (surprise's valence is disputed, neutral has none).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..affect import valence_arousal
from ..taxonomy import SPEECH_EMOTIONS

POSITIVE, NEGATIVE = ("happy", "calm"), ("angry", "disgust", "fear", "sad")
_RAVDESS = re.compile(r"(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)\.\w+$")


def _rows(held_out_csv: str | Path) -> list[dict]:
    """The held-out rows, each with its derived valence and arousal."""
    from . import read_held_out

    rows, probs = read_held_out(held_out_csv)
    for r, p in zip(rows, probs, strict=True):
        va = valence_arousal(dict(zip(SPEECH_EMOTIONS, p.tolist(), strict=True))) or {"valence": 0.0, "arousal": 0.0}
        r["valence"], r["arousal"] = va["valence"], va["arousal"]
    return rows


def arousal_auc(rows: list[dict]) -> dict:
    """Per RAVDESS emotion with both intensities: AUC of derived arousal, strong against normal."""
    from sklearn.metrics import roc_auc_score

    per = {}
    rav = [r for r in rows if r["corpus"] == "ravdess" and _RAVDESS.search(r["path"])]
    for emo in sorted({r["emotion"] for r in rav}):
        sel = [r for r in rav if r["emotion"] == emo]
        strong = [_RAVDESS.search(r["path"]).group(4) == "02" for r in sel]  # type: ignore[union-attr]
        if len(set(strong)) == 2:
            per[emo] = round(float(roc_auc_score(strong, [r["arousal"] for r in sel])), 4)
    return {"per_emotion": per, "mean": round(float(np.mean(list(per.values()))), 4) if per else None}


def valence_sign(rows: list[dict]) -> dict:
    """Per corpus: the share of positive- and negative-emotion clips whose derived valence has their sign."""
    out = {}
    for corpus in sorted({r["corpus"] for r in rows}):
        sel = [r for r in rows if r["corpus"] == corpus and r["emotion"] in POSITIVE + NEGATIVE]
        if sel:
            right = [(r["valence"] > 0) == (r["emotion"] in POSITIVE) for r in sel]
            out[corpus] = {"accuracy": round(float(np.mean(right)), 4), "clips": len(sel)}
    return out


def evaluate_affect(held_out_csv: str | Path) -> dict:
    """Arousal AUC (RAVDESS intensity, within emotion) and valence sign accuracy per corpus."""
    rows = _rows(held_out_csv)
    return {
        "voice": str(held_out_csv),
        "protocol": "held-out voice predictions (leave one corpus out); valence and arousal derived from them "
        "(avemotion.affect)",
        "arousal_auc_strong_vs_normal": arousal_auc(rows),
        "valence_sign_accuracy": valence_sign(rows),
    }
