"""Drawing results on images (kept apart from inference, as insightface's draw_on is)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

COLOURS = {  # BGR
    "angry": (40, 40, 220),
    "disgust": (40, 140, 60),
    "fear": (150, 60, 150),
    "happy": (30, 200, 240),
    "neutral": (180, 180, 180),
    "sad": (200, 120, 40),
    "surprise": (60, 160, 250),
    "calm": (160, 200, 120),
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
                cv2.putText(
                    out,
                    lab,
                    (bx + bar_w + 4, by + row - 1),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    0.35 * scale * 1.3,
                    (255, 255, 255),
                    1,
                    cv2.LINE_AA,
                )
    return out


def draw_live(image: np.ndarray, result) -> np.ndarray:
    """A live frame (:class:`~avemotion.live.LiveResult`) drawn: every face, and the running label."""
    import cv2

    out = draw_faces(image, [f.face for f in result.faces])
    if result.label:
        cv2.putText(
            out, f"running: {result.label}", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2, cv2.LINE_AA
        )
    return out


# ---------------------------------------------------------------------------------------------
# timeline.png, drawn with OpenCV: milliseconds, where matplotlib's import alone takes seconds


def _viridis(values: np.ndarray) -> np.ndarray:
    """BGR colours of values in [0, 1] through OpenCV's viridis map, shape (..., 3)."""
    import cv2

    idx = np.clip(np.nan_to_num(values) * 255, 0, 255).astype(np.uint8)
    return cv2.applyColorMap(idx.reshape(-1, 1), cv2.COLORMAP_VIRIDIS).reshape(*values.shape, 3)


def _text(
    img: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.45, colour=(40, 40, 40), anchor: str = "left"
) -> None:
    import cv2

    # OpenCV's Hershey fonts draw ASCII only, and a file name that is not valid UTF-8 (surrogate
    # escapes) crashes the interpreter inside putText: anything else becomes "?"
    text = text.encode("ascii", "replace").decode("ascii")
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x = org[0] - tw if anchor == "right" else org[0] - tw // 2 if anchor == "centre" else org[0]
    cv2.putText(img, text, (int(x), int(org[1] + th // 2)), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)


def _lane_matrix(result, lane: str, labels: Sequence[str]) -> np.ndarray:
    m = np.full((len(labels), len(result.timeline)), np.nan)
    for j, w in enumerate(result.timeline):
        d = w.fused if lane == "fused" else getattr(w, lane).probabilities
        if d:
            m[:, j] = [d.get(lab, np.nan) for lab in labels]
    return m


@dataclass(frozen=True)
class _TimeAxis:
    """Where the timeline's plots sit horizontally and how seconds map to pixels."""

    left: int
    right: int
    t0: float
    t1: float

    def x(self, t: float) -> int:
        return int(round(self.left + (t - self.t0) / (self.t1 - self.t0) * (self.right - self.left)))


def draw_timeline(result, width: int = 1100, height: int = 650) -> np.ndarray:
    """Fused emotion over time (stacked areas) above a face lane and a voice lane (heat maps), BGR.

    Gaps (no face, no speech, a missing track) stay blank and are labelled, never filled in.
    """
    img = np.full((height, width, 3), 255, np.uint8)
    top = 34
    windows = result.timeline
    t0 = windows[0].start if windows else 0.0
    t1 = windows[-1].end if windows else 1.0
    axis = _TimeAxis(125, width - 130, t0, t1 if t1 > t0 else t0 + 1.0)
    title = (
        f"{Path(result.path).name}: {result.label or 'nothing to read'}   "
        f"(face: {result.status['face']}, voice: {result.status['voice']})"
    )
    _text(img, title, (axis.left, 14), 0.5)
    free = height - top - 40
    heights = [int(free * r / 5.7) for r in (2.2, 1.3, 1.5, 0.7)]
    y = top
    _draw_fused(img, result, axis, y, heights[0] - 10)
    y += heights[0]
    for lane, lh in zip(("face", "voice"), heights[1:3], strict=True):
        _draw_lane(img, result, axis, lane, list(result.models.get(f"{lane}_labels", [])), y, lh - 10)
        y += lh
    _draw_affect(img, result, axis, y, heights[3] - 10)
    y += heights[3]
    _draw_time_axis(img, axis, y)
    return img


def _draw_affect(img: np.ndarray, result, axis: _TimeAxis, y: int, h: int) -> None:
    """The fused distribution's valence and arousal (derived: :mod:`avemotion.affect`), -1 to 1, two lines."""
    import cv2

    from ..affect import valence_arousal

    cv2.line(img, (axis.left, y + h // 2), (axis.right, y + h // 2), (210, 210, 210), 1)
    for k, (dim, colour) in enumerate((("valence", (119, 170, 34)), ("arousal", (0, 85, 204)))):
        pts = [
            (axis.x((w.start + w.end) / 2), int(round(y + h * (1 - va[dim]) / 2)))
            for w in result.timeline
            if (va := valence_arousal(w.fused))
        ]
        if len(pts) > 1:
            cv2.polylines(img, [np.array(pts, np.int32)], False, colour, 2, cv2.LINE_AA)
        elif pts:
            cv2.circle(img, pts[0], 3, colour, -1, cv2.LINE_AA)
        _text(img, f"{dim} (derived)", (axis.right + 12, y + 8 + 16 * k), 0.4, colour)
    cv2.rectangle(img, (axis.left, y), (axis.right, y + h), (90, 90, 90), 1)
    _text(img, "affect", (10, y + h // 2), 0.5)


def _draw_fused(img: np.ndarray, result, axis: _TimeAxis, y: int, h: int) -> None:
    """The fused lane: stacked areas over the windows' centres, with its legend on the right."""
    import cv2

    windows, labels = result.timeline, result.fused_labels
    fused = np.nan_to_num(_lane_matrix(result, "fused", labels))
    if windows and fused.any():
        # each window's value at its centre, held flat to the outer edges of the first and last
        xs = np.array([axis.x(axis.t0)] + [axis.x((w.start + w.end) / 2) for w in windows] + [axis.x(axis.t1)])
        fused = np.hstack([fused[:, :1], fused, fused[:, -1:]])
        cum = np.vstack([np.zeros(fused.shape[1]), np.cumsum(fused, axis=0)])
        for k, lab in enumerate(labels):
            upper = np.stack([xs, y + h - cum[k + 1] * h], axis=1)
            lower = np.stack([xs, y + h - cum[k] * h], axis=1)[::-1]
            polygon = np.vstack([upper, lower]).round().astype(np.int32)
            cv2.fillPoly(img, [polygon], COLOURS.get(lab, (128, 128, 128)), cv2.LINE_AA)
        for k, lab in enumerate(labels):
            ly = y + 8 + k * 16
            colour = COLOURS.get(lab, (128, 128, 128))
            cv2.rectangle(img, (axis.right + 12, ly - 5), (axis.right + 24, ly + 5), colour, -1)
            _text(img, lab, (axis.right + 30, ly), 0.42)
    else:
        centre = ((axis.left + axis.right) // 2, y + h // 2)
        _text(img, "nothing to fuse: no face and no speech", centre, 0.5, (128,) * 3, "centre")
    cv2.rectangle(img, (axis.left, y), (axis.right, y + h), (90, 90, 90), 1)
    _text(img, "fused", (10, y + h // 2), 0.5)


def _draw_lane(img: np.ndarray, result, axis: _TimeAxis, lane: str, labels: list[str], y: int, lh: int) -> None:
    """A face or voice lane: a heat map, one cell per window and emotion; a gap says why."""
    import cv2

    windows = result.timeline
    if labels and windows:
        m = _lane_matrix(result, lane, labels)
        colours = _viridis(m)
        row_h = lh / len(labels)
        for j, w in enumerate(windows):
            xa, xb = axis.x(w.start), max(axis.x(w.end), axis.x(w.start) + 1)
            for i in range(len(labels)):
                if np.isfinite(m[i, j]):
                    ya, yb = int(y + i * row_h), int(y + (i + 1) * row_h)
                    cv2.rectangle(img, (xa, ya), (xb - 1, yb - 1), tuple(int(c) for c in colours[i, j]), -1)
        for i, lab in enumerate(labels):
            _text(img, lab, (axis.left - 6, int(y + (i + 0.5) * row_h)), 0.36, anchor="right")
    if result.status[lane] != "ok":
        _text(img, result.status[lane], ((axis.left + axis.right) // 2, y + lh // 2), 0.5, (128,) * 3, "centre")
    cv2.rectangle(img, (axis.left, y), (axis.right, y + lh), (90, 90, 90), 1)
    _text(img, lane, (10, y + lh // 2), 0.5)


def _draw_time_axis(img: np.ndarray, axis: _TimeAxis, y: int) -> None:
    """Ticks at a round step (about eight of them) and the axis's name."""
    import cv2

    step = _nice_step((axis.t1 - axis.t0) / 8)
    tick = np.ceil(axis.t0 / step) * step
    while tick <= axis.t1 + 1e-9:
        x = axis.x(tick)
        cv2.line(img, (x, y - 10), (x, y - 5), (90, 90, 90), 1)
        _text(img, f"{tick:g}", (x, y + 4), 0.4, anchor="centre")
        tick += step
    _text(img, "time (s)", ((axis.left + axis.right) // 2, y + 22), 0.45, anchor="centre")


def _nice_step(raw: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``raw``."""
    if raw <= 0:
        return 1.0
    power = 10 ** np.floor(np.log10(raw))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))
