"""FaceAnalyzer: find every face in an image or frame and read its expression.

Load once, call on numpy frames in a loop (BGR uint8, as OpenCV and :func:`avemotion.media.iter_frames`
give them)::

    from avemotion import FaceAnalyzer
    fa = FaceAnalyzer()                      # BlazeFace + the shipped expression model
    faces = fa.analyze(frame)                # [Face(box, score, probabilities), ...]
    batches = fa.analyze_batch(frames)       # one classifier call for all faces of all frames

``detect=False`` treats the whole image as one face (for crops that already are faces).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..bundles import model_option
from ..media import read_image
from ..options import check_fields, option
from ..taxonomy import as_dict, top_label
from .classify import DEFAULT_FACE_MODEL, FaceClassifier
from .detect import DEFAULT_MIN_SCORE, Detection, make_detector
from .preprocess import FACE_SIZE, align_face, crop_face


def face_crops(
    image: np.ndarray, detections: Sequence[Detection] | None, margin: float, align: bool = True, size: int = FACE_SIZE
) -> list[np.ndarray]:
    """The classifier's crops for one image: one per detection, or the whole image (``None``).

    A detection with eye key points (BlazeFace) is aligned to FER2013's eye positions
    (:func:`~avemotion.face.preprocess.align_face`) unless ``align`` is False; one without
    (Haar) is cropped square around its box with ``margin``. The training loader
    (:func:`avemotion.training.face.load_split`) calls this with ``None`` on every FER2013
    image, so training and inference share one path.
    """
    if detections is None:
        return [crop_face(image, size=size)]
    return [
        align_face(image, d.keypoints[:2], size=size, box=d.box)
        if align and len(d.keypoints) >= 2
        else crop_face(image, d.box, margin, size=size)
        for d in detections
    ]


@dataclass
class Face:
    """One face: box (x, y, w, h) in pixels, detector score, expression probabilities."""

    box: tuple[int, int, int, int]
    score: float
    probabilities: dict[str, float]

    @property
    def label(self) -> str | None:
        return top_label(self.probabilities)

    def to_dict(self) -> dict:
        return {
            "box": list(self.box),
            "score": round(self.score, 4),
            "label": self.label,
            "probabilities": self.probabilities,
        }


@dataclass
class FaceResult:
    """Every face found in one image."""

    path: str | None
    width: int
    height: int
    faces: list[Face] = field(default_factory=list)
    detector: str = ""
    model: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["faces"] = [f.to_dict() for f in self.faces]
        return d


def _detectors() -> list[str]:
    from .detect import DETECTORS

    return list(DETECTORS)


@dataclass
class FaceOptions:
    """How faces are found and read; in a video, also how often and how they are smoothed.

    The face options' defaults, written once: :class:`FaceAnalyzer`, the video pipeline, the
    command line and the server all read them from here.
    """

    model: str = model_option("face", DEFAULT_FACE_MODEL)
    detector: str = option("blazeface", "face detector (haar: the original system's)", choices=_detectors)
    min_score: float = option(
        DEFAULT_MIN_SCORE, "detections below this score are dropped", name="min_face_score", minimum=0.0, maximum=1.0
    )
    max_faces: int | None = None  # keep the largest N faces per image (None: all)
    tta: bool | None = option(None, "average each face with its mirror (default: as the model card says)", kind="flag")
    tiles: bool = option(False, "find small faces too: BlazeFace also scans frame quarters (about 5x the time)")
    align: bool = True  # eyes placed where FER2013's are (BlazeFace key points)
    # A frame every 20 s is the least, 60 a second the most: bounds keep one request's cost finite.
    fps: float = option(5.0, "video frames sampled a second", minimum=0.05, maximum=60.0)
    max_side: int | None = option(
        960,
        "video frames larger than this many pixels a side are shrunk first (detection sees 192 px, faces 48)",
        minimum=64,
        maximum=16384,
    )
    smoothing: float = option(
        0.8,
        "seconds: sigma of the centred smoothing of each face track over time (0: off)",
        name="face_smoothing",
        minimum=0.0,
        maximum=10.0,
    )

    def __post_init__(self) -> None:
        check_fields(self)

    @classmethod
    def for_images(cls, **changes) -> FaceOptions:
        """The defaults for still images (``avemotion face``): tiles on, since one image can afford the
        scan of its quarters that would cost every frame of a video about 5x its detection time."""
        return cls(**{"tiles": True, **changes})


class FaceAnalyzer:
    """Detector + expression classifier (defaults: :class:`FaceOptions`).

    Parameters
    ----------
    model: shipped face model name (``"face"``, default; ``"face_baseline"``, the original system's CNN) or
        an ``.onnx`` path with its card.
    detector: ``"blazeface"`` (default) or ``"haar"`` (the original system's).
    min_score: drop detections below this detector score.
    max_faces: keep at most this many faces per image, largest first (None: all).
    tiles: BlazeFace also looks at the quarters of large images, for small faces (5x slower).
    align: rotate and scale each face so its eyes sit where FER2013's do (BlazeFace's key points;
        default). False crops a square around the box, as before.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] = FaceOptions.model,
        *,
        detector: str = FaceOptions.detector,
        min_score: float = FaceOptions.min_score,
        max_faces: int | None = FaceOptions.max_faces,
        tta: bool | None = FaceOptions.tta,
        margin: float | None = None,
        tiles: bool = FaceOptions.tiles,
        align: bool = FaceOptions.align,
    ) -> None:
        self.classifier = FaceClassifier(model, tta=tta)
        self.labels = self.classifier.labels
        self.detector = make_detector(detector, min_score=min_score, tiles=tiles)
        self.detector_name = detector
        self.margin = getattr(self.detector, "margin", 0.1) if margin is None else margin
        self.min_score = min_score
        self.max_faces = max_faces
        self.align = align

    @classmethod
    def from_options(cls, options: FaceOptions) -> FaceAnalyzer:
        """The analyser that ``options`` describe (the video-only fields are the pipeline's)."""
        return cls(
            options.model,
            detector=options.detector,
            min_score=options.min_score,
            max_faces=options.max_faces,
            tta=options.tta,
            tiles=options.tiles,
            align=options.align,
        )

    def detect(self, image: np.ndarray) -> list[Detection]:
        dets = [d for d in self.detector.detect(image) if d.score >= self.min_score]
        dets.sort(key=lambda d: -d.box[2] * d.box[3])
        return dets[: self.max_faces] if self.max_faces else dets

    def analyze_batch(self, images: Sequence[np.ndarray], detect: bool = True) -> list[list[Face]]:
        """Faces of several images, classified in one batched call."""
        per_image: list[list[Detection]] = []
        crops = []
        for img in images:
            if detect:
                dets = self.detect(img)
                crops.extend(face_crops(img, dets, self.margin, self.align, self.classifier.size))
            else:
                h, w = img.shape[:2]
                dets = [Detection((0, 0, int(w), int(h)), 1.0)]
                crops.extend(face_crops(img, None, self.margin, size=self.classifier.size))
            per_image.append(dets)
        probs = self.classifier.predict_proba(np.stack(crops)) if crops else np.zeros((0, len(self.labels)))
        out, i = [], 0
        for dets in per_image:
            faces = []
            for d in dets:
                faces.append(Face(d.box, d.score, as_dict(probs[i], self.labels)))
                i += 1
            out.append(faces)
        return out

    def analyze(self, image: np.ndarray, detect: bool = True) -> list[Face]:
        """Every face of one BGR (or grey) image."""
        return self.analyze_batch([image], detect)[0]

    def analyze_file(self, path: str | os.PathLike[str], detect: bool = True) -> FaceResult:
        """Read an image file (any depth, alpha, grey) and analyse it."""
        img = read_image(path)
        faces = self.analyze(img, detect)
        return FaceResult(
            str(Path(path)),
            int(img.shape[1]),
            int(img.shape[0]),
            faces,
            self.detector_name if detect else "none",
            self.classifier.bundle.name,
        )
