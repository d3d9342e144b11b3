"""Copy Silero VAD's sequence ONNX model out of the silero-vad wheel into avemotion/models.

Silero VAD (MIT licence, Silero Team) ships its ONNX weights inside its PyPI wheel. avemotion
runs the model with onnxruntime alone, so it takes only the weights and the licence, not the
package (which would pull torch and torchaudio). Run once; the result is committed:

    python scripts/vendor_silero_vad.py
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

VERSION = "6.2.3"
MEMBER = "silero_vad/data/silero_vad_16k_sequence.onnx"
LICENSE = f"silero_vad-{VERSION}.dist-info/licenses/LICENSE"
MODELS = Path(__file__).resolve().parents[1] / "src" / "avemotion" / "models"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp,
                        f"silero-vad=={VERSION}"], check=True)
        wheel = next(Path(tmp).glob("silero_vad-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            onnx = zf.read(MEMBER)
            (MODELS / "silero_vad.onnx").write_bytes(onnx)
            (MODELS / "LICENSES" / "silero-vad-MIT.txt").write_bytes(zf.read(LICENSE))
    print(f"silero_vad.onnx  {len(onnx)} bytes  sha256 {hashlib.sha256(onnx).hexdigest()}")


if __name__ == "__main__":
    main()
