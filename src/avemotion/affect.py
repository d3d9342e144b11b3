"""Valence and arousal, derived from an emotion distribution through published coordinates.

Neither lane measures valence or arousal: each gives a distribution over emotion categories. Each
category has a place in the pleasure–arousal plane measured by Russell & Mehrabian (1977, "Evidence for
a three-factor theory of emotions", J. Research in Personality 11: 273–294; their pleasure is our
valence), and a distribution's valence and arousal are the expected coordinates under it. Neutral sits
at the origin. Calm, which they did not scale, is put in the direction Russell (1980, "A circumplex
model of affect") gives relaxation, 315°, at the mean distance of the six others from the origin.
Derived values, named so wherever they appear: they inherit every error of the categories.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

#: (valence, arousal) of each category, each in [-1, 1].
_RM1977 = {
    "angry": (-0.51, 0.59),
    "disgust": (-0.60, 0.35),
    "fear": (-0.64, 0.60),
    "happy": (0.81, 0.51),
    "sad": (-0.63, -0.27),
    "surprise": (0.40, 0.67),
}
_R = sum(math.hypot(v, a) for v, a in _RM1977.values()) / len(_RM1977)
COORDINATES: dict[str, tuple[float, float]] = {
    **_RM1977,
    "neutral": (0.0, 0.0),
    "calm": (round(_R * math.cos(math.radians(315)), 4), round(_R * math.sin(math.radians(315)), 4)),
}
SOURCE = (
    "derived: the expected (valence, arousal) of the distribution, each category placed by Russell & Mehrabian "
    "(1977) (pleasure, arousal), neutral at the origin, calm at Russell's (1980) relaxation direction"
)


def valence_arousal(probs: Mapping[str, float] | None) -> dict[str, float] | None:
    """``{"valence", "arousal"}`` of a distribution (over the categories that have coordinates), or None."""
    if not probs:
        return None
    known = {k: float(p) for k, p in probs.items() if k in COORDINATES}
    total = sum(known.values())
    if total <= 0:
        return None
    v = sum(p * COORDINATES[k][0] for k, p in known.items()) / total
    a = sum(p * COORDINATES[k][1] for k, p in known.items()) / total
    return {"valence": round(v, 4), "arousal": round(a, 4)}
