"""Convert Resemblyzer's pretrained voice encoder (Apache-2.0) to an ONNX statistics encoder, once.

The weights (a GE2E speaker encoder: three LSTM layers of 256 units over 40-band mel frames,
trained on thousands of speakers of LibriSpeech, VoxCeleb 1 and 2) ship inside the `Resemblyzer`
wheel on PyPI. avemotion does not use the speaker embedding itself: it takes every layer's output
sequence and pools its mean and standard deviation over time (3 layers x 256 x 2 = 1,536 numbers),
a description of the voice learned from far more voices and languages than any emotion corpus
holds. The speech models are trained on these statistics (``voice`` features). The result is
committed; run again only to reproduce it (needs the ``train`` extra for torch and onnx):

    python scripts/convert_voice_encoder.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

VERSION = "0.1.4"
ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "src" / "avemotion" / "models"


def main() -> None:
    import torch

    sys.path.insert(0, str(ROOT / "src"))
    from avemotion.bundles import write_card
    from avemotion.speech.features import VOICE_MEL
    from avemotion.training.export import export_encoder
    from avemotion.training.speech_nets import VoiceEncoderStats

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp,
                        f"resemblyzer=={VERSION}"], check=True)
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as z:
            z.extract("resemblyzer/pretrained.pt", tmp)
            licence = next(n for n in z.namelist() if n.endswith("LICENSE"))
            z.extract(licence, tmp)
        state = torch.load(Path(tmp) / "resemblyzer/pretrained.pt", weights_only=True, map_location="cpu")
        shutil.copy(Path(tmp) / licence, MODELS / "LICENSES" / "resemblyzer-Apache-2.0.txt")
    net = VoiceEncoderStats.from_resemblyzer(state["model_state"]).eval()
    path = export_encoder(net, torch.rand(1, 200, VOICE_MEL["n_mels"]), MODELS / "voice_encoder.onnx",
                          "voicemel", "statistics", {0: "batch", 1: "frames"}, atol=1e-4)
    write_card(path, {
        "name": "voice_encoder", "task": "encoder", "labels": [],
        "inputs": {"voicemel": {"kind": "voicemel", **VOICE_MEL,
                                "layout": "N,frames,n_mels; mel power (not log) of the trimmed signal at -30 dBFS"}},
        "outputs": {"statistics": "N,1536: mean and std over time of each of the 3 LSTM layers' 256 outputs"},
        "architecture": "GE2E speaker encoder (Wan et al. 2018): 3 LSTM layers of 256 units; its embedding head is unused",
        "source": f"Resemblyzer {VERSION} (PyPI), resemblyzer/pretrained.pt, converted by scripts/convert_voice_encoder.py",
        "data": {"corpus": ["LibriSpeech", "VoxCeleb1", "VoxCeleb2"], "note": "as trained by Resemblyzer's author"},
        "licence": "Apache-2.0 (Resemblyzer, Corentin Jemine); models/LICENSES/resemblyzer-Apache-2.0.txt",
    })
    print(f"written: {path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
