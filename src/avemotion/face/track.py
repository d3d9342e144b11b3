"""Following faces across video frames by box overlap (IoU), and smoothing a running state.

IoU matching is enough at a few frames a second for the faces of one video: each new detection
joins the live track whose last box it overlaps most (above ``min_iou``), or starts a track; a
track not seen for ``max_gap`` seconds ends. The main subject of a video is its most present track.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .detect import iou


@dataclass
class Track:
    """One face followed through time: its frames' times, boxes and probabilities."""

    id: int
    times: list[float] = field(default_factory=list)
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    probabilities: list[np.ndarray] = field(default_factory=list)

    @property
    def start(self) -> float:
        return self.times[0]

    @property
    def end(self) -> float:
        return self.times[-1]


class IoUTracker:
    """Greedy IoU association, frame by frame; :meth:`update` returns each face's track id."""

    def __init__(self, min_iou: float = 0.3, max_gap: float = 1.0) -> None:
        self.min_iou, self.max_gap = min_iou, max_gap
        self.tracks: list[Track] = []

    def update(self, time: float, boxes: list[tuple[int, int, int, int]], probs: list[np.ndarray]) -> list[int]:
        live = [t for t in self.tracks if time - t.end <= self.max_gap]
        ids = [-1] * len(boxes)
        if live and boxes:
            overlap = iou(np.array([t.boxes[-1] for t in live], np.float32), np.array(boxes, np.float32))
            for _ in range(min(len(live), len(boxes))):
                ti, bi = (int(v) for v in np.unravel_index(np.argmax(overlap), overlap.shape))
                if overlap[ti, bi] < self.min_iou:
                    break
                ids[bi] = live[ti].id
                self._append(live[ti], time, boxes[bi], probs[bi])
                overlap[ti, :] = -1
                overlap[:, bi] = -1
        for bi, box in enumerate(boxes):
            if ids[bi] < 0:
                track = Track(len(self.tracks))
                self.tracks.append(track)
                self._append(track, time, box, probs[bi])
                ids[bi] = track.id
        return ids

    @staticmethod
    def _append(track: Track, time: float, box, p) -> None:
        track.times.append(time)
        x, y, w, h = (int(v) for v in box)
        track.boxes.append((x, y, w, h))
        track.probabilities.append(np.asarray(p, np.float32))

    def main_track(self) -> Track | None:
        """The most present track (most frames; the earlier one on a tie)."""
        return max(self.tracks, key=lambda t: (len(t.times), -t.id), default=None)


class Smoother:
    """Exponential moving average of a distribution with a time constant in seconds.

    The live view's running state: it follows a change of expression within about ``tau``
    seconds without flickering frame to frame. A gap (no face) longer than ``reset_after``
    forgets the old state.
    """

    def __init__(self, tau: float = 1.0, reset_after: float = 2.0) -> None:
        from ..errors import check_number

        self.tau = check_number("smoothing time constant (s)", tau, 0.01, 600.0)
        self.reset_after = reset_after
        self.state: np.ndarray | None = None
        self.last: float | None = None

    def update(self, time: float, p: np.ndarray | None) -> np.ndarray | None:
        if p is None:
            if self.last is not None and time - self.last > self.reset_after:
                self.state, self.last = None, None
            return self.state
        p = np.asarray(p, np.float64)
        if self.state is None or self.last is None:
            self.state = p
        else:
            alpha = 1 - np.exp(-max(time - self.last, 0.0) / self.tau)
            self.state = (1 - alpha) * self.state + alpha * p
        self.last = time
        return self.state


def smooth_over_time(times: np.ndarray, probs: np.ndarray, sigma: float) -> np.ndarray:
    """One track's distributions smoothed over time: a Gaussian-weighted mean of log-probabilities.

    Each frame takes the mean of the track's log-probabilities within ±3 ``sigma`` seconds,
    weighted by a Gaussian of the time apart, then a softmax. The window is centred (the file
    is analysed whole, so the future is known): it does not lag a change of expression, it blurs
    it over about ``sigma`` on both sides, and a one-frame misreading between steady frames is
    outvoted. ``times`` must be increasing (a track's frames in order). Averaging log-probabilities
    (a geometric mean) lets frames that agree reinforce each other. ``sigma <= 0`` returns ``probs`` unchanged.
    """
    p = np.asarray(probs, np.float64)
    if sigma <= 0 or len(p) < 2:
        return p.astype(np.float32)
    t = np.asarray(times, np.float64)
    logp = np.log(np.clip(p, 1e-6, 1.0))
    out = np.empty_like(p)
    # Rows in blocks, each against only the frames within 3 sigma of it (times are sorted): memory
    # stays at a block's band, not frames x frames, so a two-hour video costs what a minute does.
    lo = np.searchsorted(t, t - 3 * sigma, side="left")
    hi = np.searchsorted(t, t + 3 * sigma, side="right")
    for s in range(0, len(t), 256):
        e = min(s + 256, len(t))
        a, b = lo[s], hi[e - 1]
        d = t[s:e, None] - t[None, a:b]
        w = np.where(np.abs(d) <= 3 * sigma, np.exp(-0.5 * (d / sigma) ** 2), 0.0)
        out[s:e] = (w @ logp[a:b]) / w.sum(axis=1, keepdims=True)
    out -= out.max(axis=1, keepdims=True)
    ex = np.exp(out)
    return (ex / ex.sum(axis=1, keepdims=True)).astype(np.float32)
