"""The one preprocessing path for faces, shared by training and inference.

A face goes from any image (BGR, grey, any size) and a box to the model's input in two steps:

1. :func:`crop_face` — expand the box by a margin, make it square around the box's centre,
   crop (padding with edge pixels where the square leaves the image), turn grey, resize to
   48x48 with area interpolation: ``uint8 (48, 48)``.
2. :func:`to_input` — stack crops as ``float32 (N, 1, 48, 48)`` in 0..255. Intensity
   normalisation (per-image standardisation) happens inside the ONNX model, so no statistics
   travel beside it.

Training reads FER2013's 48x48 crops through the same :func:`crop_face` (whole image as the box),
so the two paths give identical arrays (tested).

Where the detector gives eye positions (BlazeFace), :func:`align_face` replaces step 1: the face is
rotated, scaled and moved so that its eyes land where FER2013's eyes sit (:data:`FER_EYES`), so a
tilted head or a loose box gives the crop the model was trained on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FACE_SIZE = 48

#: Where the eyes sit in FER2013's 48x48 faces: (x, y) of the eye on the image's left, then the one
#: on its right. Measured with BlazeFace on 1,500 random training images (1,384 found; medians
#: (15.15, 18.89) and (32.67, 18.69), interquartile ranges about 3 px), made level and symmetric.
FER_EYES = ((15.15, 18.79), (32.67, 18.79))


def to_grey(image: np.ndarray) -> np.ndarray:
    """uint8 grey from BGR, BGRA or grey input."""
    import cv2

    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    if image.shape[2] == 1:
        return image[:, :, 0]
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def square_box(box: Sequence[float], margin: float = 0.0) -> tuple[int, int, int]:
    """(x, y, w, h) → a square (x0, y0, side) around its centre, enlarged by ``margin`` per side."""
    x, y, w, h = (float(v) for v in box)
    side = max(w, h) * (1 + 2 * margin)
    cx, cy = x + w / 2, y + h / 2
    return int(round(cx - side / 2)), int(round(cy - side / 2)), max(1, int(round(side)))


def crop_face(
    image: np.ndarray, box: Sequence[float] | None = None, margin: float = 0.0, size: int = FACE_SIZE
) -> np.ndarray:
    """Crop one face to ``uint8 (size, size)`` grey. ``box=None`` takes the whole image.

    The square is cut out before the grey conversion (a per-pixel step, so the result is the
    same), which keeps the cost per face, not per frame.
    """
    import cv2

    img = np.asarray(image)
    h, w = img.shape[:2]
    if box is None:
        box = (0, 0, w, h)
        margin = 0.0
    x0, y0, side = square_box(box, margin)
    # Inside the image: slice; the rest is filled by repeating the edge pixels.
    cx0, cy0 = min(max(x0, 0), w - 1), min(max(y0, 0), h - 1)
    cx1, cy1 = max(min(x0 + side, w), cx0 + 1), max(min(y0 + side, h), cy0 + 1)
    grey = to_grey(img[cy0:cy1, cx0:cx1])
    pad_l, pad_t = max(0, cx0 - x0), max(0, cy0 - y0)
    pad_r, pad_b = max(0, x0 + side - cx1), max(0, y0 + side - cy1)
    if pad_l or pad_t or pad_r or pad_b:
        grey = cv2.copyMakeBorder(grey, pad_t, pad_b, pad_l, pad_r, cv2.BORDER_REPLICATE)
    crop = grey[:side, :side]
    if crop.shape != (size, size):
        interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
        crop = cv2.resize(crop, (size, size), interpolation=interp)
    return np.ascontiguousarray(crop, dtype=np.uint8)


def align_face(
    image: np.ndarray, eyes: Sequence[Sequence[float]], size: int = FACE_SIZE, box: Sequence[float] | None = None
) -> np.ndarray:
    """Crop one face to ``uint8 (size, size)`` grey with its eyes moved to :data:`FER_EYES`.

    ``eyes``: the two eye centres in pixels (either order). A similarity transform (rotation,
    scale, shift) maps them onto FER2013's eye positions; large faces are warped at a multiple of
    ``size`` and then area-averaged down, so nothing aliases. ``box`` (x, y, w, h), if given, keeps
    a face turned in profile (eyes close together) from being blown up: the eye distance counted
    is at least a quarter of the box's width.
    """
    import cv2

    (ax, ay), (bx, by) = sorted(((float(x), float(y)) for x, y in eyes[:2]), key=lambda e: e[0])
    (tx0, ty0), (tx1, ty1) = ((x * size / FACE_SIZE, y * size / FACE_SIZE) for x, y in FER_EYES)
    dist = float(np.hypot(bx - ax, by - ay))
    if box is not None:
        dist = max(dist, 0.25 * float(box[2]))
    if dist < 1e-3:
        raise ValueError("eye positions coincide")
    scale = (tx1 - tx0) / dist
    up = int(min(8, max(1, np.floor(1 / scale))))  # warp at up x size, then area-average down
    angle = float(np.degrees(np.arctan2(by - ay, bx - ax)))
    cx, cy = (ax + bx) / 2, (ay + by) / 2
    m = cv2.getRotationMatrix2D((cx, cy), angle, scale * up)
    m[0, 2] += ((tx0 + tx1) / 2) * up - cx
    m[1, 2] += ((ty0 + ty1) / 2) * up - cy
    grey = to_grey(np.asarray(image))
    out = cv2.warpAffine(grey, m, (size * up, size * up), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if up > 1:
        out = cv2.resize(out, (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(out, dtype=np.uint8)


def to_input(crops: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """Stack uint8 crops into the models' input: ``float32 (N, 1, size, size)`` in 0..255."""
    arr = np.asarray(crops, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[None]
    return np.ascontiguousarray(arr[:, None, :, :])
