"""Is a recording one voice? Checked before its segments are standardised against each other.

Speaker adaptation reads every segment as a departure from the recording's own mean and spread,
which is right for one voice and wrong for a conversation: two voices standardised as one turn the
difference between them into emotion. The shipped ``voice_id`` model projects each segment's voice
statistics to a speaker embedding (:mod:`avemotion.training.voice_id`); the segments are split in
two along their main direction, and the cosine between the halves' centroids is the score (1: no
second voice). Below the card's threshold the recording is not adapted, and the result says so.
"""

from __future__ import annotations

import numpy as np


def one_voice_score(embeddings: np.ndarray) -> float:
    """Cosine between the centroids of the two halves of ``embeddings``, split along their first
    principal direction."""
    z = np.asarray(embeddings, dtype=np.float64)
    if len(z) < 2:
        return 1.0
    centred = z - z.mean(0)
    direction = np.linalg.svd(centred, full_matrices=False)[2][0]
    side = centred @ direction > 0
    if side.all() or not side.any():
        return 1.0
    a, b = z[side].mean(0), z[~side].mean(0)
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))


def voice_id():
    """The shipped speaker projection (``voice_id``), loaded once per process; None where it is not installed."""
    from ..bundles import MODELS_DIR, shared_bundle

    return shared_bundle("voice_id") if (MODELS_DIR / "voice_id.onnx").exists() else None


def check_one_voice(statistics: np.ndarray) -> tuple[bool, float | None]:
    """(one voice?, score) for the voice statistics (N, 1536) of a recording's segments.

    Without the ``voice_id`` model nothing can be checked: (True, None), as before it existed.
    """
    bundle = voice_id()
    if bundle is None:
        return True, None
    z = np.asarray(bundle.run_feeds({"statistics": np.asarray(statistics, np.float32)}))
    score = one_voice_score(z)
    return score >= float(bundle.card["one_voice"]["threshold"]), round(score, 4)
