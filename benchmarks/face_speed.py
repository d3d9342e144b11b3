"""Speed of the face path on this machine.

    python benchmarks/face_speed.py [--model face] [--runs 100]

1. Detection + classification of the one face in a 640x360 frame (frames/s), for BlazeFace and
   for the Haar cascade, on a frame of the real clip ``WolfgangLanger_Pexels.mp4`` when
   ../shared/data is present (else ``single_face.jpg`` from the same folder is required).
2. Batched classification of 48x48 crops (faces/s), batches of 64, as the model card says
   (test-time flip off for the shipped model) and with the flip: the median of 5 timed runs.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np

from avemotion.face.analyzer import FaceAnalyzer
from avemotion.face.classify import FaceClassifier
from avemotion.media import iter_frames

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def frame_640x360() -> tuple[np.ndarray, str]:
    clip = SHARED / "clips" / "WolfgangLanger_Pexels.mp4"
    if clip.exists():
        for f in iter_frames(clip, fps=1.0):
            if f.time >= 12.0:
                return cv2.resize(f.image, (640, 360)), f"{clip.name} at {f.time:.0f} s"
    raise SystemExit(f"needs {clip}")


def rate(fn, runs: int, per_call: int = 1, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    for _ in range(runs):
        fn()
    return runs * per_call / (time.perf_counter() - t0)


def main() -> None:
    from speech_speed import machine  # same folder

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="face")
    ap.add_argument("--runs", type=int, default=100)
    args = ap.parse_args()
    frame, source = frame_640x360()
    out = {"machine": machine(), "frame": f"640x360, {source}", "model": args.model}
    for det in ("blazeface", "haar"):
        fa = FaceAnalyzer(args.model, detector=det)
        faces = fa.analyze(frame)
        out[f"detect_and_classify_{det}_fps"] = round(rate(lambda fa=fa: fa.analyze(frame), args.runs), 1)
        out[f"faces_found_{det}"] = len(faces)
    crops = np.random.default_rng(0).integers(0, 255, (64, 48, 48), dtype=np.uint8)
    fc = FaceClassifier(args.model)
    out["model_default_tta"] = fc.tta
    n = max(10, args.runs // 5)
    out["classify_48x48_faces_per_s_batch64"] = round(float(np.median(
        [rate(lambda: fc.predict_proba(crops), n, 64) for _ in range(5)])), 1)
    fc_tta = FaceClassifier(args.model, tta=True)
    out["classify_48x48_faces_per_s_batch64_with_tta"] = round(float(np.median(
        [rate(lambda: fc_tta.predict_proba(crops), n, 64) for _ in range(5)])), 1)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
