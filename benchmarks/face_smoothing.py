"""How much the face lane flickers, with and without smoothing each face track over time.

    python benchmarks/face_smoothing.py [--sigma 0.4]

For each real clip with a face: ``avemotion analyze`` (face pass only matters) with
``face_smoothing=0`` (every frame on its own) and ``face_smoothing=SIGMA`` (the default). Reports
label changes per minute of the main face track's sampled frames and of the 1-s face-lane
windows, and, for WolfgangLanger (sad, then happy from about 10 s), when the final happy stretch
begins: smoothing must not delay it by more than a second.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from avemotion.pipeline import AnalyzeConfig, VideoAnalyzer
from avemotion.taxonomy import top_label

CLIPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "clips"


def changes_per_minute(labels: list[str], duration: float) -> float:
    flips = sum(a != b for a, b in zip(labels, labels[1:]))
    return round(60.0 * flips / max(duration, 1e-9), 1)


def final_run_start(times: list[float], labels: list[str], label: str) -> float | None:
    """Time at which the last uninterrupted run of ``label`` begins (None if the sequence ends otherwise)."""
    if not labels or labels[-1] != label:
        return None
    i = len(labels) - 1
    while i > 0 and labels[i - 1] == label:
        i -= 1
    return times[i]


def measure(path: Path, sigma: float) -> dict:
    va = VideoAnalyzer(AnalyzeConfig.of(face_smoothing=sigma))
    r = va.analyze(path)
    main = r.main_track
    frames = [(fr.time, f.label) for fr in r.frames for f in fr.faces if f.track == main]
    windows = [(w.start, top_label(w.face.probabilities)) for w in r.timeline]
    windows = [(t, lab) for t, lab in windows if lab]
    ft, fl = [t for t, _ in frames], [lab for _, lab in frames]
    wt, wl = [t for t, _ in windows], [lab for _, lab in windows]
    span = (ft[-1] - ft[0]) if len(ft) > 1 else r.duration
    return {"frames": len(fl), "frame_label_changes_per_min": changes_per_minute(fl, span),
            "window_label_changes_per_min": changes_per_minute(wl, len(wl) * 1.0),
            "happy_from_frame_s": final_run_start(ft, fl, "happy"), "happy_from_window_s": final_run_start(wt, wl, "happy"),
            "frame_labels": "".join(lab[0] for lab in fl)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sigma", type=float, default=AnalyzeConfig().face.smoothing)
    args = ap.parse_args()
    out = {}
    for clip in ("WolfgangLanger_Pexels.mp4", "face_noface.mov", "noface_face.mov", "single_face.mp4"):
        out[clip] = {"raw": measure(CLIPS / clip, 0.0), f"smoothed_sigma_{args.sigma:g}": measure(CLIPS / clip, args.sigma)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
