"""Haar cascade against BlazeFace on the same real images and video frames.

    python benchmarks/face_detection.py [--fps 5]

For every photo in ../shared/data/clips: faces found. For every video: the share of frames
(sampled at ``--fps``) with at least one face, and the mean detection time of a frame. The
README's detector table comes from this script's output.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from avemotion.face.detect import make_detector
from avemotion.media import iter_frames, read_image

CLIPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "clips"


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
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
