"""Train the speaker projection that tells one voice from two (``voice_id.onnx``), on the five corpora.

    python scripts/train_voice_id.py [--data ../shared/data] [--out src/avemotion/models]

Needs the ``train`` extra (scikit-learn, onnx); reads the voice-encoder features from the feature
cache (computed on first use). See :mod:`avemotion.training.voice_id`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from avemotion.datasets import read_corpora
from avemotion.training.voice_id import train_voice_id

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ("ravdess_speech_16k", "casia_speech_16k", "emovo_speech_16k", "nemo_speech_16k", "ased_speech_16k")

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--out", default=str(ROOT / "src" / "avemotion" / "models"))
    ap.add_argument("--keep", type=float, default=0.7,
                    help="share of one-voice recordings of every held-out corpus that must still adapt")
    args = ap.parse_args()
    items = read_corpora([Path(args.data) / c for c in CORPORA])
    path = train_voice_id(items, Path(args.out), "python " + " ".join(sys.argv), keep=args.keep)
    print(f"written: {path} and {path.with_suffix('.json')}")
