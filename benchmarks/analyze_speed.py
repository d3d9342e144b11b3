"""Speed of `avemotion analyze` on a 60-s 1280x720 talking-head clip, against merely decoding it.

    python scripts/make_clips.py          # once: makes out/clips/talking_head_60s.mp4
    python benchmarks/analyze_speed.py [--clip PATH] [--runs 3]

Prints, for this machine: the time to decode every frame of the clip (what any tool pays), the
time of the analysis at 5 frames/s (faces, tracking, voice, fusion: the AnalysisResult), their
ratio, the analysis as a fraction of the clip's duration, and the time to write the outputs
(result.json, CSV, PNG, annotated.mp4, report.html). Also the live path: frames/s of
detection + classification + tracking + smoothing on the clip's frames (``avemotion live``).
Best of ``--runs`` runs, after one warm-up.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import av

from avemotion.live import LiveAnalyzer
from avemotion.media import iter_frames
from avemotion.pipeline import VideoAnalyzer
from avemotion.report.outputs import write_outputs

ROOT = Path(__file__).resolve().parents[1]


def decode_all(path: Path) -> int:
    n = 0
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for _ in c.decode(s):
            n += 1
    return n


def best(fn, runs: int) -> tuple[float, object]:
    out, times = None, []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    from speech_speed import machine  # same folder

    ap = argparse.ArgumentParser()
    ap.add_argument("--clip", default=str(ROOT / "out" / "clips" / "talking_head_60s.mp4"))
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    clip = Path(args.clip)
    if not clip.exists():
        raise SystemExit(f"{clip} not found: run `python scripts/make_clips.py` first")
    va = VideoAnalyzer()
    va.analyze(clip)  # warm-up (model loading, first-call costs)
    decode_s, frames = best(lambda: decode_all(clip), args.runs)
    analyze_s, result = best(lambda: va.analyze(clip), args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_outputs(result, Path(tmp))
        outputs_s = time.perf_counter() - t0
    live = LiveAnalyzer()
    images = [f.image for f in iter_frames(clip, fps=5.0)][:150]
    for img in images[:5]:
        live.step(img, 0.0)
    t0 = time.perf_counter()
    for i, img in enumerate(images):
        live.step(img, i / 5.0)
    live_fps = len(images) / (time.perf_counter() - t0)
    print(json.dumps({
        "machine": machine(),
        "clip": f"{clip.name}: {result.duration:.1f} s, {result.media['width']}x{result.media['height']}, "
                f"{frames} frames",
        "decode_only_s": round(decode_s, 2),
        "analyze_s": round(analyze_s, 2),
        "analyze_over_decode": round(analyze_s / decode_s, 2),
        "analyze_fraction_of_duration": round(analyze_s / result.duration, 3),
        "frames_analysed": len(result.frames),
        "speech_segments": len(result.speech_segments),
        "status": result.status,
        "write_outputs_s": round(outputs_s, 2),
        "live_face_path_fps": round(live_fps, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
