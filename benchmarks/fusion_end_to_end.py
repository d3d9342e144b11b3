"""Fusion through the product: pairs rendered into real videos and read by ``avemotion analyze``.

    python benchmarks/fusion_end_to_end.py --voice runs/loco5_codec/held_out.csv [--pairs 200] [--seed 0]

``avemotion evaluate fusion`` scores rules on pairs of distributions; this checks that what it
measures is what the product does. Each pair (a held-out voice clip and a FER2013 test face of the same
FER+ majority emotion, drawn as there) becomes an MP4: the face, enlarged to 144 px, in a grey 320x240
frame, moved by a few pixels from frame to frame (the detector's usual jitter), 10 frames a second for
as long as the clip, the clip as the audio track (AAC). ``VideoAnalyzer`` reads it with the default
options (windows of 1 s, the default fusion rule); the pair-level computation applies the same rule
once to the file's two lane summaries (the face covering the file, the voice its share of speech). Printed: how often the two fused
labels agree, and how often each lane's label in the video equals the face crop's and the clip's own
reading. The videos hold RAVDESS/CASIA/EMOVO/nEMO/ASED audio: they are written to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def render(face: np.ndarray, audio: np.ndarray, path: Path, rng: np.random.Generator, fps: int = 10) -> Path:
    """The face crop (48x48 grey) in a 320x240 frame with jitter, and the audio, as an MP4."""
    import cv2

    sys.path.insert(0, str(ROOT / "scripts"))
    from make_clips import write_clip

    big = cv2.resize(face, (144, 144), interpolation=cv2.INTER_CUBIC)
    seconds = max(len(audio) / 16000, 1.0)
    frames = []
    for _ in range(int(round(seconds * fps))):
        img = np.full((240, 320), 128, np.uint8)
        dx, dy = rng.integers(-3, 4, size=2)
        img[48 + dy : 192 + dy, 88 + dx : 232 + dx] = big
        frames.append(cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))
    return write_clip(path, frames, fps, audio, seconds, (320, 240))


def main() -> None:
    from avemotion.evaluation.fusion import LABELS, face_probabilities, pair_faces, read_faces, read_voice
    from avemotion.fusion import FUSION_RULES, FusionOptions, ModalityInput
    from avemotion.media import load_audio
    from avemotion.pipeline import VideoAnalyzer
    from avemotion.taxonomy import top_label

    ap = argparse.ArgumentParser()
    ap.add_argument("--voice", required=True, help="held_out.csv from `avemotion evaluate speech --protocol loco`")
    ap.add_argument("--faces", default=str(SHARED / "fer2013" / "test"))
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    voice, vy, rows = read_voice(args.voice)
    crops, fy = read_faces(args.faces)
    face_p = face_probabilities(crops)
    idx = pair_faces(vy, fy, args.seed)
    rng = np.random.default_rng(args.seed)
    chosen = sorted(rng.choice(len(vy), size=min(args.pairs, len(vy)), replace=False))
    va = VideoAnalyzer()
    rule, options = FUSION_RULES[va.config.fusion.rule], FusionOptions(labels=tuple(LABELS))
    agree = face_same = 0
    n = 0
    with tempfile.TemporaryDirectory() as tmp:
        for k in chosen:
            f = idx[k]
            video = render(crops[f], load_audio(rows[k]["path"]), Path(tmp) / f"pair{k}.mp4", rng)
            r = va.analyze(video)
            s = r.summary
            speech = sum(seg["end"] - seg["start"] for seg in r.speech_segments) / max(r.duration, 1e-6)
            lanes = {"face": ModalityInput(s["face"], 1.0), "voice": ModalityInput(s["voice"], min(1.0, speech))}
            pair = rule(lanes, options)
            agree += top_label(s["fused"]) == top_label(pair)
            face_same += top_label(s["face"]) == LABELS[int(np.argmax(face_p[f]))]
            n += 1
    print(json.dumps({"pairs": n, "rule": va.config.fusion.rule,
                      "fused_label_agrees_with_pair_level": round(agree / n, 4),
                      "face_label_in_video_equals_crop": round(face_same / n, 4),
                      "protocol": "pair-level: the rule once on the file's lane summaries (face coverage 1, voice coverage "
                                  "the file's share of speech); video: "
                                  "analyze's fused summary (windows of 1 s, duration-weighted)"}, indent=2))


if __name__ == "__main__":
    main()
