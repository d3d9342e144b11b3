"""Make test and benchmark clips with a real face and real speech, from ../shared/data.

    python scripts/make_clips.py [--out OUT] [--shared ../shared/data]

The clips of ../shared/data/clips have faces but no speech; RAVDESS has speech but no video
here. This muxes RAVDESS speech (several actors, with pauses) onto real face video with PyAV:

* ``talking_head_60s.mp4`` — the face part of ``face_noface.mov`` (0-2.6 s) played forwards
  and backwards in a loop, scaled to 1280x720 at 25 frames/s, H.264, for 60 s; its audio is
  RAVDESS speech clips one after another with 1-s pauses (AAC). The benchmark clip.
* ``face_with_speech.mp4`` — ``single_face.mp4`` slowed to fill one RAVDESS sentence
  (actor 12, happy, strong), its near-silent track replaced by that sentence.
* ``short/actor_NN.mp4`` (24 clips, 3-5 s, 640x360) — one sentence of each RAVDESS actor (emotions
  in turn) over a stretch of one of the real face videos: the many-short-files case of
  ``benchmarks/startup.py``.
* ``twenty/clip_NN.mp4`` (8 clips, 20 s, 640x360) — RAVDESS sentences with pauses over a real face
  video looped forwards and backwards: the files of ``benchmarks/ray_scaling.py``.

The outputs contain RAVDESS audio (CC BY-NC-SA 4.0): keep them out of the repository (the
default folder, ``out/clips``, is git-ignored).
"""

from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from avemotion.media import iter_frames, load_audio

ROOT = Path(__file__).resolve().parents[1]
SR = 16000


def ravdess_speech(ravdess: Path, seconds: float, pause: float = 1.0) -> np.ndarray:
    """RAVDESS sentences from several actors and emotions, with pauses, up to ``seconds``."""
    files = sorted(ravdess.glob("Actor_*/*.flac")) or sorted(ravdess.glob("Actor_*/*.wav"))
    if not files:
        raise SystemExit(f"no RAVDESS clips under {ravdess}")
    rng = np.random.default_rng(0)
    out: list[np.ndarray] = []
    total = 0
    for f in rng.permutation(files):
        y = load_audio(f, SR, normalize=False) * 0.9
        out += [y, np.zeros(int(pause * SR), np.float32)]
        total += y.size + int(pause * SR)
        if total >= seconds * SR:
            break
    return np.concatenate(out)[: int(seconds * SR)]


def write_clip(path: Path, frames: list[np.ndarray], fps: int, audio: np.ndarray, seconds: float,
               size: tuple[int, int]) -> Path:
    """Frames (looped to ``seconds``) + 16-kHz mono audio → H.264/AAC MP4."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height = size
        vs.pix_fmt = "yuv420p"
        vs.options = {"preset": "medium", "crf": "23"}
        aus = out.add_stream("aac", rate=SR)
        aus.layout = "mono"
        n = int(round(seconds * fps))
        for i in range(n):
            img = cv2.resize(frames[i % len(frames)], size, interpolation=cv2.INTER_LINEAR)
            vf = av.VideoFrame.from_ndarray(img, format="bgr24")
            vf.pts = i
            out.mux(vs.encode(vf))
        out.mux(vs.encode(None))
        hop = 1024
        for s in range(0, audio.size, hop):
            af = av.AudioFrame.from_ndarray(audio[None, s:s + hop].astype(np.float32), format="flt", layout="mono")
            af.sample_rate, af.pts, af.time_base = SR, s, Fraction(1, SR)
            out.mux(aus.encode(af))
        out.mux(aus.encode(None))
    return path


def short_clips(clips: Path, ravdess: Path, out: Path, n: int = 24) -> list[Path]:
    """``n`` clips of one RAVDESS sentence each (actor k, emotions in turn) over real face video."""
    sources = ["single_face.mp4", "WolfgangLanger_Pexels.mp4", "face_noface.mov", "noface_face.mov"]
    videos = {name: [f.image for f in iter_frames(clips / name, fps=25, max_side=640)] for name in sources}
    made = []
    for k in range(n):
        actor = ravdess / f"Actor_{k % 24 + 1:02d}"
        files = sorted(actor.glob("*.flac"))
        sentence = load_audio(files[(7 * k) % len(files)], SR, normalize=False)
        frames = videos[sources[k % len(sources)]]
        start = (37 * k) % max(1, len(frames) - 1)
        seconds = sentence.size / SR
        need = int(round(seconds * 25))
        stretch = (frames[start:] + frames[:start])[:need] or frames
        made.append(write_clip(out / f"actor_{k + 1:02d}.mp4", stretch, 25, sentence, seconds, (640, 360)))
    return made


def twenty_second_clips(clips: Path, ravdess: Path, out: Path, n: int = 8) -> list[Path]:
    """``n`` 20-s talking-head clips: a real face looped forwards and backwards, RAVDESS speech."""
    sources = ["single_face.mp4", "WolfgangLanger_Pexels.mp4", "face_noface.mov"]
    speech = ravdess_speech(ravdess, 20.0 * n)
    made = []
    for k in range(n):
        frames = [f.image for f in iter_frames(clips / sources[k % len(sources)], fps=25, max_side=640)][:100]
        loop = frames + frames[::-1]
        audio = speech[int(k * 20 * SR):int((k + 1) * 20 * SR)]
        made.append(write_clip(out / f"clip_{k + 1:02d}.mp4", loop, 25, audio, 20.0, (640, 360)))
    return made


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "out" / "clips"))
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--only", choices=["talking_head_60s", "face_with_speech", "short", "twenty"], default=None)
    args = ap.parse_args()
    shared, out = Path(args.shared), Path(args.out)
    clips, ravdess = shared / "clips", shared / "ravdess_speech_16k"

    if args.only in (None, "talking_head_60s"):
        face = [f.image for f in iter_frames(clips / "face_noface.mov", fps=25) if f.time < 2.6]
        pingpong = face + face[::-1]
        p = write_clip(out / "talking_head_60s.mp4", pingpong, 25, ravdess_speech(ravdess, 60.0), 60.0, (1280, 720))
        print(f"wrote {p} (60 s, 1280x720, 25 frames/s, RAVDESS speech)")
    if args.only in (None, "short"):
        print(f"wrote {len(short_clips(clips, ravdess, out / 'short'))} clips to {out / 'short'}")
    if args.only in (None, "twenty"):
        print(f"wrote {len(twenty_second_clips(clips, ravdess, out / 'twenty'))} clips to {out / 'twenty'}")
    if args.only not in (None, "face_with_speech"):
        return

    sentence = load_audio(ravdess / "Actor_12" / "03-01-03-02-01-01-12.flac", SR, normalize=False)
    seconds = sentence.size / SR
    man = [f.image for f in iter_frames(clips / "single_face.mp4", fps=None)]
    n = int(round(seconds * 25))
    slowed = [man[min(len(man) - 1, int(i * len(man) / n))] for i in range(n)]
    p = write_clip(out / "face_with_speech.mp4", slowed, 25, sentence, seconds, (640, 360))
    print(f"wrote {p} ({seconds:.1f} s, 640x360, RAVDESS actor 12, happy)")


if __name__ == "__main__":
    main()
