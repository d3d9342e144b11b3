"""Fusion through the product: pairs rendered into real videos and read by ``avemotion analyze``.

    python benchmarks/fusion_end_to_end.py --voice runs/loco5_codec/held_out.csv [--pairs 200] [--seed 0]

``avemotion evaluate fusion`` scores rules on pairs of distributions; this checks that what it
measures is what the product does. Each pair (a held-out voice clip and a FER2013 test face of the same
FER+ majority emotion, drawn as there) becomes an MP4: the face, enlarged to 144 px, in a grey 320x240
frame, moved by a few pixels from frame to frame (the detector's usual jitter), 10 frames a second for
as long as the clip, the clip as the audio track (AAC). ``VideoAnalyzer`` reads it with the default
options; the pair-level computation is ``evaluate fusion``'s own (``fuse_pairs``) on the file's two
lanes, re-derived from the result's frames and speech segments rather than read from its summary.
Printed: how often the two fused labels agree, and how often each lane's label in the video equals
the face crop's reading (``evaluate fusion``'s face input) and the clip's reading by ``avemotion
speech`` alone (the video's audio is AAC; the pairs' voice input is the held-out model's, which
the shipped model, trained on every corpus, is not). The videos hold RAVDESS/CASIA/EMOVO/nEMO/ASED audio: they are written to a temporary folder.
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


def lanes_of(r, labels: list[str]) -> tuple[np.ndarray | None, float, np.ndarray | None, float]:
    """The file's two lanes re-derived from the result's raw parts, not from its summary: the main
    track's per-frame distributions averaged (coverage: its share of the sampled frames) and the speech
    segments' distributions averaged by length (coverage: their share of the file)."""
    from avemotion.evaluation.fusion import VOICE_LABELS
    from avemotion.taxonomy import align

    got = [f.probabilities for fr in r.frames for f in fr.faces if f.track == r.main_track]
    face = np.mean([[p[lab] for lab in labels] for p in got], axis=0) if got else None
    face_cov = len(got) / max(1, len(r.frames))
    segs = [s for s in r.speech_segments if s.get("probabilities")]
    voice = None
    if segs:
        names = list(segs[0]["probabilities"])
        mean = np.average([[s["probabilities"][k] for k in names] for s in segs], axis=0,
                          weights=[s["end"] - s["start"] for s in segs])
        voice = align(mean, names, VOICE_LABELS)  # as the rules get it: calm beside the face labels
    voice_cov = min(1.0, sum(s["end"] - s["start"] for s in segs) / max(r.duration, 1e-6))
    return face, face_cov, voice, voice_cov


def main() -> None:
    from avemotion.evaluation.fusion import (
        LABELS,
        Condition,
        face_probabilities,
        folded,
        fuse_pairs,
        pair_faces,
        read_faces,
        read_voice,
    )
    from avemotion.fusion import FUSION_RULES
    from avemotion.media import load_audio
    from avemotion.pipeline import VideoAnalyzer
    from avemotion.speech.analyzer import SpeechAnalyzer
    from avemotion.taxonomy import align, top_label

    ap = argparse.ArgumentParser()
    ap.add_argument("--voice", required=True, help="held_out.csv from `avemotion evaluate speech --protocol loco`")
    ap.add_argument("--faces", default=str(SHARED / "fer2013" / "test"))
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    _, vy, rows = read_voice(args.voice)
    crops, fy = read_faces(args.faces)
    face_p = face_probabilities(crops)
    idx = pair_faces(vy, fy, args.seed)
    rng = np.random.default_rng(args.seed)
    chosen = sorted(rng.choice(len(vy), size=min(args.pairs, len(vy)), replace=False))
    va, sa = VideoAnalyzer(), SpeechAnalyzer()
    rule = FUSION_RULES[va.config.fusion.rule]
    n = agree = face_same = voice_same = 0
    with tempfile.TemporaryDirectory() as tmp:
        for k in chosen:
            f = idx[k]
            video = render(crops[f], load_audio(rows[k]["path"]), Path(tmp) / f"pair{k}.mp4", rng)
            r = va.analyze(video)
            face, face_cov, voc, voice_cov = lanes_of(r, LABELS)
            pair = fuse_pairs(rule, None if face is None else face[None], None if voc is None else voc[None],
                              Condition(face_coverage=face_cov, voice_coverage=voice_cov))[0]
            agree += top_label(r.summary["fused"]) == LABELS[int(np.argmax(pair))]
            face_same += top_label(r.summary["face"]) == LABELS[int(np.argmax(face_p[f]))]
            alone = sa.analyze_file(rows[k]["path"])
            voice_same += voc is not None and alone.probabilities is not None and int(np.argmax(folded(voc[None])[0])) == int(
                np.argmax(align(np.array(list(alone.probabilities.values())), list(alone.probabilities), LABELS)))
            n += 1
    print(json.dumps({"pairs": n, "rule": va.config.fusion.rule,
                      "fused_label_agrees_with_pair_level": round(agree / n, 4),
                      "face_label_in_video_equals_crop": round(face_same / n, 4),
                      "voice_label_in_video_equals_clip_alone": round(voice_same / n, 4),
                      "protocol": "pair-level: `evaluate fusion`'s computation (fuse_pairs) on the file's two lanes "
                                  "re-derived from the result's frames and speech segments (face coverage: the main "
                                  "track's share of the frames; voice: the speech's share of the file); video: "
                                  "analyze's fused summary"}, indent=2))


if __name__ == "__main__":
    main()
