"""Haar cascade against BlazeFace on the same real images and video frames.

    python benchmarks/face_detection.py [--fps 5]

For every photo in ../shared/data/clips: faces found. For every video: the share of frames
(sampled at ``--fps``) with at least one face, and the mean detection time of a frame.
Then the hard cases, on composites: the head of ``single_face.jpg`` pasted 20 times at random
places (fixed seed) into a face-free frame of ``no_face.mp4`` (960x540), small, turned (in-plane
rotation) or with the lower face covered; the share of composites where a face is found.
Close-ups: frames of the clips cropped tight around the face (the detector's box, squared) and
scaled to 350x350 grey, like a face-crop data set or a profile picture: BlazeFace alone, BlazeFace
with its close-up pass (the default: a bordered second look where the whole image finds nothing),
and Haar. The README's detector tables come from this script's output.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np

from avemotion.face.detect import BlazeFaceDetector, HaarDetector, make_detector
from avemotion.media import iter_frames, read_image

CLIPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "clips"


CASES = {"frontal, 120 px": {"face_px": 120}, "small, 40 px": {"face_px": 40}, "small, 28 px": {"face_px": 28},
         "turned 25°": {"face_px": 120, "angle": 25}, "turned 45°": {"face_px": 120, "angle": 45},
         "lower third covered": {"face_px": 120, "hide": 0.33}, "lower half covered": {"face_px": 120, "hide": 0.5}}


def composites(n: int = 20) -> dict:
    """Detection rates on composites of a real head in a real face-free background."""
    bg = next(f.image for f in iter_frames(CLIPS / "no_face.mp4", fps=1) if f.time >= 1.0)
    photo = read_image(CLIPS / "single_face.jpg")
    (x, y, w, h) = BlazeFaceDetector().detect(photo)[0].box
    cx, cy, side = x + w // 2, y + h // 2, int(w * 1.6)
    head = photo[max(0, cy - side // 2): cy + side // 2, max(0, cx - side // 2): cx + side // 2]
    rng = np.random.default_rng(0)

    def compose(face_px: int, angle: float = 0.0, hide: float = 0.0) -> np.ndarray:
        s = int(face_px * 1.6)
        patch = cv2.resize(head, (s, s), interpolation=cv2.INTER_AREA)
        if angle:
            rot = cv2.getRotationMatrix2D((s / 2, s / 2), angle, 1.0)
            patch = cv2.warpAffine(patch, rot, (s, s), borderMode=cv2.BORDER_REFLECT)
        if hide:  # a hand-coloured block over the lower face
            patch = patch.copy()
            patch[int(s * (0.8 - 0.6 * hide)):, int(s * 0.15):int(s * 0.85)] = (60, 90, 160)
        out = bg.copy()
        y0, x0 = rng.integers(0, out.shape[0] - s), rng.integers(0, out.shape[1] - s)
        out[y0:y0 + s, x0:x0 + s] = patch
        return out

    dets = {"blazeface": BlazeFaceDetector(), "blazeface_tiles": BlazeFaceDetector(tiles=True), "haar": HaarDetector()}
    rows = {}
    for name, kw in CASES.items():
        images = [compose(**kw) for _ in range(n)]
        rows[name] = {k: round(float(np.mean([bool(d.detect(i)) for i in images])), 2) for k, d in dets.items()}
    return rows


def closeups(fps: float = 2.0) -> dict:
    """Detection rates on tight 350x350 grey crops of the real faces in the clips."""
    from avemotion.face.preprocess import crop_face

    finder = BlazeFaceDetector()
    crops = []
    sources = [f.image for v in ("WolfgangLanger_Pexels.mp4", "face_noface.mov", "single_face.mp4")
               for f in iter_frames(CLIPS / v, fps=fps)] + [read_image(CLIPS / "single_face.jpg"),
                                                            read_image(CLIPS / "multi_face.jpg")]
    for img in sources:
        for d in finder.detect(img):
            crops.append(cv2.cvtColor(crop_face(img, d.box, 0.0, size=350), cv2.COLOR_GRAY2BGR))
    dets = {"blazeface_without_closeup_pass": BlazeFaceDetector(closeups=False),
            "blazeface_short_range": BlazeFaceDetector("short", closeups=False), "blazeface": BlazeFaceDetector(),
            "haar": HaarDetector()}
    return {"crops": len(crops), **{k: round(float(np.mean([bool(d.detect(c)) for c in crops])), 3)
                                    for k, d in dets.items()}}


def main() -> None:
    from speech_speed import machine  # same folder

    ap = argparse.ArgumentParser()
    ap.add_argument("--fps", type=float, default=5.0)
    args = ap.parse_args()
    if not CLIPS.exists():
        raise SystemExit(f"needs {CLIPS}")
    detectors = {name: make_detector(name) for name in ("blazeface", "haar")}
    out: dict = {"machine": machine(), "fps": args.fps, "photos": {}, "videos": {}}
    for photo in sorted(CLIPS.glob("*.jpg")):
        img = read_image(photo)
        out["photos"][photo.name] = {n: len(d.detect(img)) for n, d in detectors.items()}
    for video in sorted(p for p in CLIPS.iterdir() if p.suffix in (".mp4", ".mov")):
        frames = [f.image for f in iter_frames(video, fps=args.fps)]
        row = {"frames": len(frames)}
        for n, d in detectors.items():
            t0 = time.perf_counter()
            hits = sum(bool(d.detect(f)) for f in frames)
            row[f"{n}_face_rate"] = round(hits / max(1, len(frames)), 3)
            row[f"{n}_ms_per_frame"] = round(1000 * (time.perf_counter() - t0) / max(1, len(frames)), 1)
        row["size"] = f"{frames[0].shape[1]}x{frames[0].shape[0]}" if frames else "-"
        out["videos"][video.name] = row
    out["composites_20_each"] = composites()
    out["closeups"] = closeups()
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
