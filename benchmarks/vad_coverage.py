"""Does every clip of real speech get a result? Voice-activity detection over whole corpora.

    python benchmarks/vad_coverage.py [CORPUS_DIR ...]   (default: the three speech corpora in ../shared/data)

Runs the VAD of ``avemotion speech`` (Silero, its hysteresis and the quieter retry) on every clip
and lists the clips it calls "no speech", with Silero's highest speech probability on each.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from avemotion.datasets import read_corpora
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
    print(json.dumps({"clips": by, "no_speech": len(missed), "share": round(len(missed) / max(1, len(items)), 4),
                      "missed": missed}, indent=2))


if __name__ == "__main__":
    main()
