"""Face detectors: the original system's Haar cascade and MediaPipe's BlazeFace (ONNX), one interface.

``detector.detect(image_bgr) -> list[Detection]``, boxes in pixels of the given image.

* :class:`HaarDetector` — OpenCV's frontal-face Haar cascade, the original system's detector. Frontal,
  upright faces only; its "score" is the cascade's level weight squashed to 0..1.
* :class:`BlazeFaceDetector` — MediaPipe's BlazeFace full-range model (Apache-2.0), converted
  once to ONNX by ``scripts/convert_blazeface.py``. A single-shot detector that finds small,
  turned and partly hidden faces and gives each a real confidence and six key points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..bundles import shared_bundle


@dataclass
class Detection:
    """One face: box (x, y, w, h) in pixels, a 0..1 score, and key points if the detector has them."""

    box: tuple[int, int, int, int]
    score: float
    keypoints: list[tuple[float, float]] = field(default_factory=list)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU between boxes a (N, 4) and b (M, 4), both (x, y, w, h) → (N, M)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ax2, ay2, bx2, by2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, 0][:, None], b[:, 0][None]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, 1][:, None], b[:, 1][None]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


class HaarDetector:
    """OpenCV's Haar frontal-face cascade (the original system's detector)."""

    name = "haar"
    margin = 0.0  # its boxes already frame a face about as FER2013's crops do

    def __init__(self, scale_factor: float = 1.1, min_neighbors: int = 5, min_size: int = 24) -> None:
        import cv2

        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]
        self.cascade = cv2.CascadeClassifier(path)
        if self.cascade.empty():
            from ..errors import ModelError

            raise ModelError(f"OpenCV's Haar cascade is missing ({path}); install opencv-python-headless<5")
        self.scale_factor, self.min_neighbors, self.min_size = scale_factor, min_neighbors, min_size

    def detect(self, image: np.ndarray) -> list[Detection]:
        from .preprocess import to_grey

        grey = to_grey(image)
        if min(grey.shape[:2]) < self.min_size:
            return []
        boxes, _, weights = self.cascade.detectMultiScale3(
            grey,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size),
            outputRejectLevels=True,
        )
        out = []
        for (x, y, w, h), wt in zip(np.asarray(boxes).reshape(-1, 4), np.asarray(weights).reshape(-1), strict=True):
            out.append(Detection((int(x), int(y), int(w), int(h)), float(1 / (1 + np.exp(-float(wt))))))
        return sorted(out, key=lambda d: -d.score)


def _anchors(size: int, strides: list[int], per_cell: list[int]) -> np.ndarray:
    """SSD anchor centres (normalised) for BlazeFace: one grid per stride, ``per_cell`` anchors each."""
    out = []
    for stride, n in zip(strides, per_cell):
        cells = size // stride
        ys, xs = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
        centres = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], axis=-1).reshape(-1, 1, 2)
        out.append(np.repeat(centres, n, axis=1).reshape(-1, 2))
    return np.concatenate(out).astype(np.float32)


BLAZEFACE = {
    # file, input size, anchor grids (stride, anchors per cell)
    "full": ("blazeface_full.onnx", 192, [4], [1]),
    "short": ("blazeface_short.onnx", 128, [8, 16], [2, 6]),
}


# Lowest BlazeFace score kept by default: on the real clips, faces score 0.68-0.93 and the few
# false alarms of a face-free video (no_face.mp4, at 5 frames/s) 0.30-0.58 (benchmarks/face_detection.py).
DEFAULT_MIN_SCORE = 0.6


class BlazeFaceDetector:
    """MediaPipe BlazeFace run by onnxruntime: letterbox to the model's input, decode, weighted NMS.

    ``variant="full"`` (default) sees faces up to a few metres away; ``"short"`` is for
    selfie-distance faces and faster.
    """

    name = "blazeface"
    margin = 0.12  # added around the box so that crops frame the face as FER2013's do

    def __init__(
        self,
        variant: str = "full",
        min_score: float = DEFAULT_MIN_SCORE,
        iou_threshold: float = 0.3,
        tiles: bool = False,
        closeups: bool = True,
    ) -> None:
        # ``closeups``: where the whole image finds no face, look again with a border of half the
        # image's longer side around it. BlazeFace was trained on faces with context around them;
        # a face that fills the frame (a profile picture, a face crop, a webcam at arm's length)
        # is missed until it is made smaller than the frame (benchmarks/face_detection.py).
        self.closeups = closeups
        # ``tiles``: also look at the four overlapping quarters of a large image, where a face
        # of 40-60 px shrinks below what the 192-px model input can see (for photos; 5x the cost).
        self.tiles = tiles
        file, self.size, strides, per_cell = BLAZEFACE[variant]
        self.session = shared_bundle(file.removesuffix(".onnx")).session
        self.input_name = self.session.get_inputs()[0].name
        self.anchors = _anchors(self.size, strides, per_cell)
        self.min_score, self.iou_threshold = min_score, iou_threshold
        self.variant = variant

    def detect(self, image: np.ndarray) -> list[Detection]:
        import cv2

        img = np.asarray(image)
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        dets = self._detect(img)
        h, w = img.shape[:2]
        if not dets and self.closeups:
            dets = self._detect_padded(img)
        if not self.tiles or max(h, w) < 2 * self.size:
            return dets
        th, tw = int(h * 0.6), int(w * 0.6)
        for y0 in (0, h - th):
            for x0 in (0, w - tw):
                for d in self._detect(img[y0 : y0 + th, x0 : x0 + tw]):
                    x, y, bw, bh = d.box
                    dets.append(
                        Detection((x + x0, y + y0, bw, bh), d.score, [(px + x0, py + y0) for px, py in d.keypoints])
                    )
        return _suppress(dets, self.iou_threshold)

    def _detect_padded(self, img: np.ndarray, border: float = 0.5) -> list[Detection]:
        """Detect in ``img`` framed by a black border of ``border`` × its longer side, in ``img``'s pixels."""
        import cv2

        h, w = img.shape[:2]
        pad = int(round(max(h, w) * border))
        framed = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        out = []
        for d in self._detect(framed):
            x, y, bw, bh = d.box
            x0, y0 = max(0, x - pad), max(0, y - pad)
            x1, y1 = min(w, x - pad + bw), min(h, y - pad + bh)
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            out.append(Detection((x0, y0, x1 - x0, y1 - y0), d.score, [(px - pad, py - pad) for px, py in d.keypoints]))
        return out

    def _detect(self, img: np.ndarray) -> list[Detection]:
        import cv2

        h, w = img.shape[:2]
        if min(h, w) < 8:
            return []
        scale = self.size / max(h, w)
        nw, nh = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
        canvas = np.zeros((self.size, self.size, 3), np.uint8)
        px, py = (self.size - nw) // 2, (self.size - nh) // 2
        canvas[py : py + nh, px : px + nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
        x = (cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB).astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
        reg, cls = self.session.run(None, {self.input_name: np.ascontiguousarray(x)})
        scores = 1 / (1 + np.exp(-np.clip(cls[0, :, 0], -80, 80)))
        keep = scores >= self.min_score
        if not keep.any():
            return []
        raw = reg[0][keep] / self.size
        anchors = self.anchors[keep]
        centre = raw[:, :2] + anchors
        wh = raw[:, 2:4]
        points = raw[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]
        boxes = np.concatenate([centre - wh / 2, wh], axis=1) * self.size  # letterboxed pixels
        dets = _weighted_nms(boxes, scores[keep], points * self.size, self.iou_threshold)
        out = []
        for box, score, pts in dets:
            bx = (box[0] - px) / scale
            by = (box[1] - py) / scale
            bw, bh = box[2] / scale, box[3] / scale
            x0, y0 = max(0.0, bx), max(0.0, by)
            x1, y1 = min(float(w), bx + bw), min(float(h), by + bh)
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            kps = [((float(p[0]) - px) / scale, (float(p[1]) - py) / scale) for p in pts]
            out.append(
                Detection((int(round(x0)), int(round(y0)), int(round(x1 - x0)), int(round(y1 - y0))), float(score), kps)
            )
        return sorted(out, key=lambda d: -d.score)


def _suppress(dets: list[Detection], threshold: float) -> list[Detection]:
    """Keep the best-scoring of overlapping detections (from the whole image and its tiles)."""
    dets = sorted(dets, key=lambda d: -d.score)
    kept: list[Detection] = []
    for d in dets:
        if not kept or iou(np.array([d.box]), np.array([k.box for k in kept])).max() <= threshold:
            kept.append(d)
    return kept


def _weighted_nms(boxes: np.ndarray, scores: np.ndarray, points: np.ndarray, threshold: float):
    """MediaPipe-style weighted non-maximum suppression: overlapping boxes are averaged by score."""
    order = np.argsort(-scores)
    boxes, scores, points = boxes[order], scores[order], points[order]
    remaining = np.ones(len(boxes), bool)
    out = []
    for i in range(len(boxes)):
        if not remaining[i]:
            continue
        overlap = iou(boxes[i : i + 1], boxes)[0] > threshold
        group = overlap & remaining
        remaining &= ~group
        wts = scores[group][:, None]
        box = (boxes[group] * wts).sum(0) / wts.sum()
        pts = (points[group] * wts[:, :, None]).sum(0) / wts.sum()
        out.append((box, float(scores[i]), pts))
    return out


#: Face detectors by name, read by the command line, the server's /v1/options and
#: :class:`~avemotion.face.analyzer.FaceAnalyzer`. A detector is a class with ``name``, ``margin``
#: (added around its boxes before cropping) and ``detect(image) -> list[Detection]``.
DETECTORS: dict[str, Any] = {}  # name -> detector class (with a ``name`` and a ``detect(image)``)


def register_detector(cls: Any) -> Any:
    """Add a detector class under its ``name`` (usable as a decorator); the last one wins."""
    DETECTORS[cls.name] = cls
    return cls


register_detector(BlazeFaceDetector)
register_detector(HaarDetector)


def make_detector(name: str, **options):
    """A detector by name (a key of :data:`DETECTORS`).

    ``options`` go to the detector's constructor where it takes them: the common ones
    (``min_score``, ``tiles``) are ignored by a detector without such a setting (Haar).
    """
    import inspect

    if name not in DETECTORS:
        from ..errors import AvemotionError

        raise AvemotionError(f"unknown detector {name!r}; choose from {', '.join(DETECTORS)}")
    cls = DETECTORS[name]
    takes = inspect.signature(cls).parameters
    return cls(**{k: v for k, v in options.items() if k in takes})
