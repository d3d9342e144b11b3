"""Does every clip of real speech get a result? Voice-activity detection over whole corpora.

    python benchmarks/vad_coverage.py [CORPUS_DIR ...]   (default: the three speech corpora in ../shared/data)

Runs the VAD of ``avemotion speech`` (Silero, its hysteresis, the quieter and the slowed retries) on
every clip and lists the clips it calls "no speech", with Silero's highest speech probability on
each. The other side of the coin, ``false_speech``: what it finds in sound that holds no speech —
the music, near-silence and silence of ../shared/data/clips and synthetic noise and tones — which
must stay empty.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from avemotion.datasets import read_corpora
import numpy as np

from avemotion.media import load_audio
from avemotion.speech.analyzer import SpeechAnalyzer
from avemotion.speech.vad import speech_probabilities, speech_segments

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    roots = sys.argv[1:] or [SHARED / f"{c}_speech_16k" for c in ("ravdess", "casia", "emovo")]
    items = read_corpora(roots)
    cfg = SpeechAnalyzer().vad_config
    missed = []
    for it in items:
        y = load_audio(it.path)
        if not speech_segments(y, cfg=cfg):
            missed.append({"path": it.path, "label": it.label, "peak": round(float(speech_probabilities(y).max()), 3)})
    by = {c: sum(it.corpus == c for it in items) for c in sorted({it.corpus for it in items})}
    false = {name: segs for name, y in non_speech().items() if (segs := speech_segments(y, cfg=cfg))}
    print(json.dumps({"clips": by, "no_speech": len(missed), "share": round(len(missed) / max(1, len(items)), 4),
                      "missed": missed, "non_speech_inputs": len(non_speech()), "false_speech": false}, indent=2))


def non_speech() -> dict[str, np.ndarray]:
    """Sound without speech: the clips' music, near-silence and silence, and synthetic noise and tones (4 s)."""
    out = {p.name: load_audio(p) for p in sorted((SHARED / "clips").iterdir()) if p.suffix in (".mp4", ".mov")}
    rng = np.random.default_rng(0)
    t = np.arange(64000) / 16000
    pink = np.cumsum(rng.standard_normal(64000))
    out |= {"white noise": 0.1 * rng.standard_normal(64000), "brown noise": 0.3 * pink / np.abs(pink).max(),
            "chord": 0.2 * (np.sin(2 * np.pi * 220 * t) + np.sin(2 * np.pi * 277 * t) + np.sin(2 * np.pi * 330 * t)),
            "vibrato tone": 0.3 * np.sin(2 * np.pi * (440 * t + 3 * np.sin(2 * np.pi * 5 * t))),
            "beeps at 4 Hz": 0.3 * np.sin(2 * np.pi * 1000 * t) * (np.sin(2 * np.pi * 4 * t) > 0.9),
            "sweeps": 0.3 * np.sin(2 * np.pi * (200 * t + 300 * (t % 1) ** 2))}
    return {k: np.asarray(v, np.float32) for k, v in out.items()}


if __name__ == "__main__":
    main()
