"""What real video does to a face: FER2013's test faces through the real detection path, transformed.

There is no second labelled face set here, so this measures the next best thing: each test face
is scaled up and pasted into a larger grey frame, the frame is transformed as a camera or a
codec would (rotation, a small face, blur, sensor noise, low light, JPEG), and the face goes
through exactly what ``avemotion analyze`` does with a frame: BlazeFace finds it (the face it
finds with the highest score is used), the crop is aligned on the eyes (or cut around the box),
the model classifies it. A face the detector misses counts as wrong, so the accuracy is that of
the whole path; the share found is reported beside it.

Detection and cropping are done once per frame and shared by every model scored, so the models
see the very same crops.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

#: Side of the pasted face (px) and of the frame around it, unless a condition says otherwise.
FACE_PX, FRAME_W, FRAME_H = 112, 320, 240


def _frame(face: np.ndarray, face_px: int = FACE_PX) -> tuple[np.ndarray, tuple[float, float]]:
    """A grey (uint8) FER face scaled to ``face_px`` at the centre of a frame, and the face's centre.

    Around the face: its own edges mirrored outwards and blurred away (sigma a quarter of the face),
    so the detector sees a head in surroundings of its colours rather than a tile on a flat
    background, and no second face appears in the mirror image.
    """
    import cv2

    big = cv2.resize(face, (face_px, face_px), interpolation=cv2.INTER_CUBIC if face_px >= 48 else cv2.INTER_AREA)
    y0, x0 = (FRAME_H - face_px) // 2, (FRAME_W - face_px) // 2
    frame = cv2.copyMakeBorder(big, y0, FRAME_H - face_px - y0, x0, FRAME_W - face_px - x0, cv2.BORDER_REFLECT)
    frame = cv2.GaussianBlur(frame, (0, 0), face_px / 4)
    frame[y0 : y0 + face_px, x0 : x0 + face_px] = big
    return frame, (x0 + face_px / 2, y0 + face_px / 2)


def _rotate(frame: np.ndarray, centre: tuple[float, float], degrees: float) -> np.ndarray:
    import cv2

    m = cv2.getRotationMatrix2D(centre, degrees, 1.0)
    return cv2.warpAffine(frame, m, (frame.shape[1], frame.shape[0]), borderValue=128)


def _jpeg(frame: np.ndarray, quality: int) -> np.ndarray:
    import cv2

    _ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return np.asarray(cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE))


def _noise(frame: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(frame + rng.normal(0, sigma, frame.shape), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Condition:
    """One transformation: a name and how to make the frame from a FER face."""

    name: str
    make: Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _blur(frame: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(frame, (0, 0), sigma)


def conditions() -> list[Condition]:
    """The transformations scored, the first one being the untransformed frame."""

    def plain(face, rng):
        return _frame(face)[0]

    def rotated(deg):
        def make(face, rng):
            frame, centre = _frame(face)
            return _rotate(frame, centre, deg)

        return make

    def small(face, rng):
        return _frame(face, 40)[0]

    def dark(face, rng):
        frame = _frame(face)[0].astype(np.float64) * 0.25
        return np.clip(np.round(frame + rng.normal(0, 3, frame.shape)), 0, 255).astype(np.uint8)

    return [
        Condition("none", plain),
        Condition("rotated 20°", rotated(20)),
        Condition("rotated -35°", rotated(-35)),
        Condition("small face, 40 px", small),
        Condition("blur, sigma 2.5 px", lambda f, r: _blur(_frame(f)[0], 2.5)),
        Condition("sensor noise, sigma 15", lambda f, r: _noise(_frame(f)[0], 15, r)),
        Condition("low light, x0.25 + noise", dark),
        Condition("JPEG quality 15", lambda f, r: _jpeg(_frame(f)[0], 15)),
    ]


@dataclass(frozen=True)
class Scored:
    """A model, and whether its crops are aligned on the eyes or cut around the box."""

    model: str
    align: bool = True

    @property
    def name(self) -> str:
        return self.model + ("" if self.align else " (box crop, no alignment)")


def evaluate_robustness(
    images: np.ndarray,
    labels: np.ndarray,
    scored: Sequence[Scored],
    *,
    limit: int | None = None,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Accuracy of each of ``scored`` under each :func:`conditions` transformation.

    ``progress(done, total)`` is called after each transformed face is searched for.

    ``images``: uint8 (N, 48, 48) FER2013 faces; ``labels``: indices into the models' labels.
    ``limit`` scores a fixed random subset (seeded) instead of every face.
    """
    from ..face.analyzer import face_crops
    from ..face.classify import FaceClassifier
    from ..face.detect import BlazeFaceDetector

    rng = np.random.default_rng(seed)
    idx = (
        np.arange(len(images)) if not limit or limit >= len(images) else np.sort(rng.choice(len(images), limit, False))
    )
    detector = BlazeFaceDetector()
    classifiers = {s.model: FaceClassifier(s.model, tta=False) for s in scored}
    conds = conditions()
    table: dict[str, dict] = {}
    total, done = len(conds) * len(idx), 0
    for cond in conds:
        crops: dict[bool, list[np.ndarray]] = {True: [], False: []}
        found = np.zeros(len(idx), bool)
        for k, i in enumerate(idx):
            frame = cond.make(images[i], rng)
            dets = detector.detect(frame)
            done += 1
            if progress:
                progress(done, total)
            if not dets:
                continue
            best = [max(dets, key=lambda d: d.score)]
            found[k] = True
            for align in crops:
                crops[align].append(face_crops(frame, best, BlazeFaceDetector.margin, align)[0])
        row = {"found": round(float(found.mean()), 4)}
        for s in scored:
            correct = np.zeros(len(idx), bool)
            if found.any():
                pred = classifiers[s.model].predict_proba(np.stack(crops[s.align])).argmax(1)
                correct[found] = pred == labels[idx][found]
            row[s.name] = round(float(correct.mean()), 4)
        table[cond.name] = row
    names = [s.name for s in scored]
    transformed = [c.name for c in conds[1:]]
    mean = {n: round(float(np.mean([table[c][n] for c in transformed])), 4) for n in names}
    return {
        "faces": int(len(idx)),
        "frame": f"{FRAME_W}x{FRAME_H} grey, face {FACE_PX} px at the centre",
        "conditions": table,
        "mean_over_transformations": mean,
        "models": names,
    }


def load_faces(folder, labels: str = "folders") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A folder-per-class set of face crops (FER2013's ``test/``) as uint8 (N, 48, 48), label indices, labels.

    ``labels="ferplus"``: the images with a FER+ majority, labelled by it (see :func:`.face.labelled_items`).
    """
    from ..face.preprocess import crop_face
    from ..media import read_image
    from ..taxonomy import FACE_EMOTIONS
    from .face import labelled_items

    items, _, _ = labelled_items(folder, labels, FACE_EMOTIONS)
    items = [it for it in items if it.label in FACE_EMOTIONS]
    images = np.stack([crop_face(read_image(it.path)) for it in items])
    return images, np.array([FACE_EMOTIONS.index(it.label) for it in items]), list(FACE_EMOTIONS)
