"""Live analysis: frames from a webcam (OpenCV capture) or a file, one at a time, as they come.

The face path of :mod:`avemotion.pipeline` (the same detector, classifier and IoU tracker), with
a running state per the main subject smoothed over time (:class:`~avemotion.face.track.Smoother`),
so the answer follows a change of expression within about a second without flickering.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from .errors import AvemotionError
from .face.analyzer import Face
from .face.track import IoUTracker, Smoother
from .taxonomy import as_dict, top_label


@dataclass
class LiveFace:
    """A face of one live frame and the track it belongs to."""

    track: int
    face: Face


@dataclass
class LiveResult:
    """One live frame: its faces with their tracks, and the main subject's smoothed running state."""

    time: float
    faces: list[LiveFace] = field(default_factory=list)
    main_track: int | None = None
    state: dict[str, float] | None = None

    @property
    def label(self) -> str | None:
        return top_label(self.state)

    def to_dict(self) -> dict:
        """The JSON line of `avemotion live` and the WebSocket's answer."""
        return {
            "time": self.time,
            "faces": [{"track": f.track, **f.face.to_dict()} for f in self.faces],
            "main_track": self.main_track,
            "state": self.state,
            "label": self.label,
        }


class LiveAnalyzer:
    """Load once; :meth:`step` one BGR frame at its time (s) → a :class:`LiveResult`."""

    def __init__(self, model: str | None = None, detector: str | None = None, tau: float = 1.0, *, faces=None) -> None:
        """``model``/``detector``: as :class:`~avemotion.face.analyzer.FaceOptions` (None: its default)."""
        from .face.analyzer import FaceAnalyzer, FaceOptions

        model, detector = model or FaceOptions.model, detector or FaceOptions.detector

        # ``faces``: an already loaded FaceAnalyzer to share (the web server's live sockets do).
        self.faces = faces or FaceAnalyzer(model, detector=detector)
        self.tracker = IoUTracker(max_gap=1.0)
        self.smoother = Smoother(tau=tau)

    def step(self, image: np.ndarray, t: float) -> LiveResult:
        faces = self.faces.analyze(image)
        probs = [np.array([f.probabilities[lab] for lab in self.faces.labels]) for f in faces]
        ids = self.tracker.update(t, [f.box for f in faces], probs)
        main = self.tracker.main_track()
        current = next((p for i, p in zip(ids, probs, strict=True) if main is not None and i == main.id), None)
        state = self.smoother.update(t, current)
        return LiveResult(
            round(t, 3),
            [LiveFace(i, f) for i, f in zip(ids, faces, strict=True)],
            main.id if main is not None and current is not None else None,
            as_dict(state, self.faces.labels) if state is not None else None,
        )


def camera_frames(source: str | int, max_frames: int | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """(time, BGR frame) from a camera index or a file, through OpenCV's capture."""
    import cv2

    cap = cv2.VideoCapture(int(source) if str(source).isdigit() else str(source))
    if not cap.isOpened():
        what = f"camera {source}" if str(source).isdigit() else str(source)
        raise AvemotionError(f"cannot open {what} for capture (no such device or unreadable file)")
    is_file = not str(source).isdigit()
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    t0, n = time.perf_counter(), 0
    try:
        while max_frames is None or n < max_frames:
            ok, frame = cap.read()
            if not ok:
                return
            t = n / fps if is_file else time.perf_counter() - t0
            n += 1
            yield t, frame
    finally:
        cap.release()


def gui_available() -> bool:
    """Whether OpenCV can open a window here (a GUI build and a display)."""
    import os

    import cv2

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and os.name != "nt":
        return False
    try:
        cv2.namedWindow("avemotion")
        cv2.destroyWindow("avemotion")
        return True
    except cv2.error:
        return False
