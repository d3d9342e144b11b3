"""Speed of the voice path on this machine: features + inference for a 4-second clip.

    python benchmarks/speech_speed.py [--model speech] [--runs 50]

Uses a real 4-s RAVDESS clip when ../shared/data is present, else a synthetic one. Prints the
median and 90th percentile after warm-up for: features + inference (the shipped model's own
front end), voice-activity detection, and the whole `SpeechAnalyzer.analyze` call.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from avemotion.media import SAMPLE_RATE, load_audio
from avemotion.speech import SpeechAnalyzer
from avemotion.speech.vad import speech_probabilities

CLIP = Path(__file__).resolve().parents[2] / "shared/data/ravdess_speech_16k/Actor_01/03-01-05-02-01-01-01.flac"


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def timed(fn, runs: int, warmup: int = 5) -> dict:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"median_ms": round(statistics.median(times), 2), "p90_ms": round(times[int(0.9 * (len(times) - 1))], 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="speech")
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    if CLIP.exists():
        y, source = load_audio(CLIP), CLIP.name
    else:
        rng = np.random.default_rng(0)
        y, source = (0.1 * rng.standard_normal(4 * SAMPLE_RATE)).astype(np.float32), "synthetic noise"
    y = np.resize(y, 4 * SAMPLE_RATE).astype(np.float32)  # exactly 4 s
    sa = SpeechAnalyzer(args.model)
    result = {
        "machine": machine(),
        "clip": f"{source}, 4.0 s at 16 kHz",
        "model": sa.bundle.name,
        "features_plus_inference": timed(lambda: sa.predict_proba(y), args.runs),
        "vad": timed(lambda: speech_probabilities(y), args.runs),
        "analyze_end_to_end": timed(lambda: sa.analyze(y), args.runs),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
