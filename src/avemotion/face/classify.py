"""FaceClassifier: expression probabilities for 48x48 grey face crops, batched, with onnxruntime."""

from __future__ import annotations

import os

import numpy as np

from ..bundles import ModelBundle
from ..errors import AvemotionError
from .preprocess import FACE_SIZE, to_input

DEFAULT_FACE_MODEL = "face"


class FaceClassifier:
    """Load a face model once; :meth:`predict_proba` takes uint8 crops (N, 48, 48) → (N, classes).

    ``tta`` (default from the model card) averages each face with its mirror image, which the
    shipped model was chosen with.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] = DEFAULT_FACE_MODEL,
        *,
        tta: bool | None = None,
        batch_size: int = 64,
        threads: int | None = None,
    ) -> None:
        self.bundle = ModelBundle.load(model, threads=threads)
        if self.bundle.card.get("task") != "face":
            raise AvemotionError(f"model {self.bundle.name!r} is not a face model", self.bundle.path)
        self.labels = self.bundle.labels
        # the crop size is the model's contract, read from its card (48 for every FER2013 model)
        spec: dict = next(iter((self.bundle.card.get("inputs") or {}).values()), {})
        self.size = int(spec.get("size", FACE_SIZE))
        self.tta = bool(self.bundle.card.get("tta", True)) if tta is None else tta
        self.batch_size = batch_size

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        """Probabilities over :attr:`labels` for uint8 crops (N, 48, 48) → (N, classes), float32."""
        crops = np.asarray(crops, dtype=np.uint8)
        if crops.ndim == 2:
            crops = crops[None]
        if crops.ndim != 3 or (len(crops) and crops.shape[1:] != (self.size, self.size)):
            raise AvemotionError(
                f"model {self.bundle.name!r} reads {self.size}x{self.size} grey crops, "
                f"got an array of shape {crops.shape}"
            )
        if len(crops) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        out = []
        for s in range(0, len(crops), self.batch_size):
            x = to_input(crops[s : s + self.batch_size])
            if self.tta:
                both = self.bundle.run(np.concatenate([x, x[..., ::-1].copy()]))
                n = len(x)
                out.append((both[:n] + both[n:]) / 2)
            else:
                out.append(self.bundle.run(x))
        return np.concatenate(out).astype(np.float32)
