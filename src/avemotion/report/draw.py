"""Drawing results on images (kept apart from inference, as insightface's draw_on is)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

COLOURS = {  # BGR
    "angry": (40, 40, 220), "disgust": (40, 140, 60), "fear": (150, 60, 150), "happy": (30, 200, 240),
    "neutral": (180, 180, 180), "sad": (200, 120, 40), "surprise": (60, 160, 250), "calm": (160, 200, 120),
}


def draw_faces(image: np.ndarray, faces: Sequence, bars: bool = True) -> np.ndarray:
    """A copy of ``image`` with each face's box, top label and (optionally) probability bars."""
    import cv2

    out = image.copy()
    h, w = out.shape[:2]
    scale = max(0.4, min(1.2, max(h, w) / 1200))
    thick = max(1, int(round(2 * scale)))
    for face in faces:
        x, y, bw, bh = face.box
        label = face.label
        colour = COLOURS.get(label, (255, 255, 255))
        cv2.rectangle(out, (x, y), (x + bw, y + bh), colour, thick)
        text = f"{label} {face.probabilities[label]:.2f}"
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, thick)
        ty = max(th + 4, y - 4)
        cv2.rectangle(out, (x, ty - th - 4), (x + tw + 4, ty + 2), colour, -1)
        cv2.putText(out, text, (x + 2, ty - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, (0, 0, 0), thick, cv2.LINE_AA)
        if bars:
            bar_w = max(40, int(bw * 0.8))
            row = max(8, int(12 * scale))
            bx = min(x + bw + 6, w - bar_w - 60)
            for i, (lab, p) in enumerate(sorted(face.probabilities.items(), key=lambda kv: -kv[1])[:4]):
                by = y + i * (row + 3)
                cv2.rectangle(out, (bx, by), (bx + int(bar_w * p), by + row), COLOURS.get(lab, (255, 255, 255)), -1)
                cv2.putText(out, lab, (bx + bar_w + 4, by + row - 1), cv2.FONT_HERSHEY_SIMPLEX, 0.35 * scale * 1.3,
                            (255, 255, 255), 1, cv2.LINE_AA)
    return out
