"""Does the shipped speech model hear the same emotion through a voice codec? Lossless clips against Opus copies.

Two of the five corpora (nEMO, ASED) are stored as 16 kHz Ogg Opus at about 33 kbps, and so are many
recordings users have (voice messages, calls). This takes 300 clips of the three lossless corpora
(100 each of RAVDESS, CASIA and EMOVO, seeded), encodes each to 16 kHz mono Ogg Opus at 32 kbps with
PyAV's libopus, and reads both with ``avemotion speech``'s analyser (one clip, its own segments):
the share of clips whose top label is the same, and the mean total variation between the two
distributions. ::

    python benchmarks/opus_agreement.py [--model speech] [--per-corpus 100] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ("ravdess_speech_16k", "casia_speech_16k", "emovo_speech_16k")


def to_opus(src: Path, dst: Path, bitrate: int = 32_000) -> Path:
    """``src`` as 16 kHz mono Ogg Opus at ``bitrate`` bits a second (PyAV, libopus)."""
    import av

    from avemotion.media import load_audio

    y = load_audio(src)
    with av.open(str(dst), "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=16000, layout="mono")
        stream.bit_rate = bitrate
        frame = av.AudioFrame.from_ndarray(y[None, :].astype(np.float32), format="flt", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return dst


def sample(data: Path, per_corpus: int, seed: int = 0) -> list[tuple[str, Path]]:
    """(corpus, clip) for ``per_corpus`` clips of each lossless corpus, drawn with a fixed seed."""
    rng = np.random.default_rng(seed)
    out = []
    for name in CORPORA:
        with open(data / name / "manifest.csv", newline="") as f:
            rows = sorted(r["path"] for r in csv.DictReader(f))
        out += [(name.split("_")[0], data / name / rows[i]) for i in sorted(rng.choice(len(rows), per_corpus, replace=False))]
    return out


def main() -> None:
    from avemotion.speech.analyzer import SpeechAnalyzer

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="speech")
    ap.add_argument("--per-corpus", type=int, default=100)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    args = ap.parse_args()
    sa = SpeechAnalyzer(args.model)
    same, tv, per = 0, [], {}
    clips = sample(Path(args.data), args.per_corpus)
    with tempfile.TemporaryDirectory() as tmp:
        for k, (corpus, clip) in enumerate(clips):
            a = sa.analyze_file(clip)
            b = sa.analyze_file(to_opus(clip, Path(tmp) / f"{k}.ogg"))
            if a.probabilities is None or b.probabilities is None:
                agree, dist = a.probabilities is None and b.probabilities is None, 1.0 if a.has_speech != b.has_speech else 0.0
            else:
                agree = a.label == b.label
                dist = 0.5 * sum(abs(a.probabilities[k2] - b.probabilities[k2]) for k2 in a.probabilities)
            same += agree
            tv.append(dist)
            per.setdefault(corpus, []).append(agree)
    print(json.dumps({"model": args.model, "clips": len(clips), "same_top_label": round(same / len(clips), 4),
                      "mean_total_variation": round(float(np.mean(tv)), 4),
                      "per_corpus_same_top_label": {c: round(float(np.mean(v)), 3) for c, v in per.items()},
                      "codec": "Ogg Opus (libopus), 16 kHz mono, 32 kbps"}, indent=2))


if __name__ == "__main__":
    main()
