"""Memory and time of `avemotion speech` on a two-hour recording (48 kHz stereo WAV).

    python benchmarks/long_audio.py [--hours 2] [--keep PATH]

Writes a WAV of RAVDESS sentences with 2-s pauses (from ../shared/data, a block at a time), runs
`avemotion speech FILE --json` on it in a fresh process, and prints the wall time, the peak
resident memory of that process (getrusage) and what it found. A file longer than ten minutes
is analysed as a stream (`SpeechAnalyzer._analyze_stream`), so memory should not grow with it.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RAVDESS = ROOT.parent / "shared" / "data" / "ravdess_speech_16k"


def write_wav(path: Path, hours: float) -> Path:
    import soundfile as sf
    import soxr

    from avemotion.media import load_audio

    files = sorted(RAVDESS.glob("Actor_*/*.flac"))[::7][:60]
    if not files:
        raise SystemExit(f"needs RAVDESS in {RAVDESS}")
    clips = [soxr.resample(load_audio(f, normalize=False), 16000, 48000) for f in files]
    total = int(hours * 3600 * 48000)
    with sf.SoundFile(str(path), "w", 48000, 2, subtype="PCM_16") as out:
        written, i = 0, 0
        while written < total:
            y = np.concatenate([clips[i % len(clips)], np.zeros(2 * 48000, np.float32)])[: total - written]
            out.write(np.stack([y, 0.8 * y], axis=1))
            written, i = written + y.size, i + 1
    return path


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from speech_speed import machine

    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--keep", help="write the WAV here and keep it")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wav = write_wav(Path(args.keep or Path(tmp) / "long.wav"), args.hours)
        cli = str(Path(sys.executable).parent / "avemotion")
        t0 = time.perf_counter()
        done = subprocess.run([cli, "speech", str(wav), "--json"], capture_output=True, text=True, check=True)
        wall = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        result = json.loads(done.stdout)
    print(json.dumps({"machine": machine(), "file": f"{args.hours:g} h, 48 kHz stereo 16-bit WAV, "
                      f"{wav.stat().st_size / 1e6 if args.keep else 0:.0f} MB" if args.keep else
                      f"{args.hours:g} h, 48 kHz stereo 16-bit WAV",
                      "wall_s": round(wall, 1), "peak_rss_mb": round(peak_mb), "speech_s": result["speech_seconds"],
                      "segments": len(result["segments"]), "label": result["label"]}, indent=2))


if __name__ == "__main__":
    main()
