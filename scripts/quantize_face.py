"""Quantise a face model to int8 with onnxruntime's static quantisation, calibrated on FER2013 val/.

    python scripts/quantize_face.py [--model face] [--val ../shared/data/fer2013/val] [--out src/avemotion/models/face_int8.onnx]

Weights per output channel, activations per tensor (QDQ format, which onnxruntime fuses into
integer convolutions on x86), calibrated on ``--calibration`` faces of val/ (PublicTest: never
test/). The per-image standardisation at the model's input stays in float. The card is the
source model's, with the quantisation recorded; run ``avemotion evaluate face
../shared/data/fer2013/test --onnx face_int8`` and ``python benchmarks/face_speed.py --model
face_int8`` for its accuracy and speed. Needs the ``train`` extra (onnx).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from pathlib import Path

import numpy as np

from avemotion.bundles import ModelBundle
from avemotion.datasets import read_class_folders
from avemotion.face.preprocess import crop_face, to_input
from avemotion.media import IMAGE_EXTENSIONS, read_image

ROOT = Path(__file__).resolve().parents[1]


class _ValFaces:
    """onnxruntime's CalibrationDataReader: batches of val/ faces, the model's own input layout."""

    def __init__(self, paths: list[str], input_name: str, batch: int = 64) -> None:
        x = to_input(np.stack([crop_face(read_image(p)) for p in paths]))
        self.batches = iter([{input_name: x[i:i + batch]} for i in range(0, len(x), batch)])

    def get_next(self):
        return next(self.batches, None)


def main() -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="face")
    ap.add_argument("--val", default=str(ROOT.parent / "shared" / "data" / "fer2013" / "val"))
    ap.add_argument("--out", default=str(ROOT / "src" / "avemotion" / "models" / "face_int8.onnx"))
    ap.add_argument("--calibration", type=int, default=1024, help="val/ faces to calibrate on")
    ap.add_argument("--method", choices=["minmax", "entropy", "percentile"], default="percentile")
    args = ap.parse_args()

    src = ModelBundle.load(args.model)
    items, _ = read_class_folders(Path(args.val), IMAGE_EXTENSIONS)
    pick = np.random.default_rng(0).permutation(len(items))[:args.calibration]
    paths = [items[i].path for i in sorted(pick)]
    import onnx

    model = onnx.load(str(src.path))
    input_name = model.graph.input[0].name
    # the input standardisation and the output's temperature and softmax stay float: an int8
    # softmax would round probabilities to 1/255 steps and no longer sum to 1
    tail = [n.name for n in model.graph.node if n.op_type in ("Div", "Softmax") and not n.name.startswith("/net/")]
    keep_float = [n.name for n in model.graph.node if n.name.startswith("/net/norm/")] + tail
    out = Path(args.out)
    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(src.path), str(pre), skip_symbolic_shape=True)
        quantize_static(str(pre), str(out), _ValFaces(paths, input_name), quant_format=QuantFormat.QDQ,
                        per_channel=True, weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
                        calibrate_method={"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
                                          "percentile": CalibrationMethod.Percentile}[args.method],
                        nodes_to_exclude=keep_float)
    card = dict(src.card)
    card["name"] = out.stem
    card["sha256"] = hashlib.sha256(out.read_bytes()).hexdigest()
    card["bytes"] = out.stat().st_size
    card["quantisation"] = {
        "from": src.name, "tool": "onnxruntime.quantization.quantize_static", "format": "QDQ",
        "weights": "int8, per output channel", "activations": f"uint8, per tensor ({args.method} calibration)",
        "calibrated_on": f"{len(paths)} faces of FER2013 val/ (PublicTest), seed 0",
        "kept_in_float": "the input's per-image standardisation; the temperature and softmax at the output",
        "command": f"python scripts/quantize_face.py --model {args.model} --calibration {args.calibration} "
                   f"--method {args.method}",
    }
    card.pop("metrics", None)  # measured again for this file: avemotion evaluate face ... --onnx face_int8
    out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    print(f"written: {out} ({out.stat().st_size / 1e6:.1f} MB) and {out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
