"""Store a shipped model's large weights as int8 (a quarter of float32), computing in float32 as before.

    python scripts/store_int8.py whisper_encoder [--check AUDIO ...]

Weight-only quantisation: every weight matrix of more than 65,536 values (stored as float32, or as
float16 behind a Cast by ``store_fp16.py``) becomes int8 with one symmetric scale per output channel
(the columns of a MatMul's weight, the filters of a Conv, the rows of anything else) and a
DequantizeLinear node that turns it back into float32 when the session runs. Activations are not
quantised: the network computes in float32 on weights rounded to 255 levels per channel. Used for the
Whisper encoder, whose weights were most of the base install; the models that read its statistics are
retrained on them, since the features move slightly (``--check`` prints how much on a few files).
Needs the ``train`` extra.
"""

from __future__ import annotations

import argparse
import hashlib
import json

import numpy as np

from avemotion.bundles import ModelBundle

MIN_VALUES = 65_536


def _axis(consumers: list[tuple[str, int]], ndim: int) -> int:
    """The output-channel axis of a weight, from the node that reads it."""
    if ndim == 2 and any(op == "MatMul" and i == 1 for op, i in consumers):
        return 1
    return 0


def quantize(w: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-channel int8: ``w ≈ q * scale`` with ``scale`` along ``axis``."""
    reduce = tuple(i for i in range(w.ndim) if i != axis)
    peak = np.abs(w).max(axis=reduce)
    scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(np.rint(w / scale.reshape(shape)), -127, 127).astype(np.int8)
    return q, scale


def store_int8(model) -> int:  # noqa: ANN001 - an onnx.ModelProto
    """Rewrite ``model`` in place; returns how many tensors were quantised."""
    from onnx import helper, numpy_helper

    graph = model.graph
    consumers: dict[str, list[tuple[str, int]]] = {}
    for node in graph.node:
        for i, name in enumerate(node.input):
            consumers.setdefault(name, []).append((node.op_type, i))
    casts = {n.input[0]: n for n in graph.node if n.op_type == "Cast" and n.input[0].endswith("_fp16")}
    kept, new_nodes, dropped = [], [], set()
    for init in graph.initializer:
        w = numpy_helper.to_array(init)
        cast = casts.get(init.name)
        target = cast.output[0] if cast is not None else init.name
        if w.dtype not in (np.float32, np.float16) or w.size <= MIN_VALUES or w.ndim < 2:
            kept.append(init)
            continue
        axis = _axis(consumers.get(target, []), w.ndim)
        q, scale = quantize(w.astype(np.float32), axis)
        base = target.replace("::", "_")
        kept.append(numpy_helper.from_array(q, base + "_int8"))
        kept.append(numpy_helper.from_array(scale, base + "_scale"))
        kept.append(numpy_helper.from_array(np.zeros_like(scale, dtype=np.int8), base + "_zero"))
        new_nodes.append(helper.make_node("DequantizeLinear", [base + "_int8", base + "_scale", base + "_zero"],
                                          [target], axis=axis, name=base + "_dequantize"))
        if cast is not None:
            dropped.add(cast.name)
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = [n for n in graph.node if n.name not in dropped]
    del graph.node[:]
    graph.node.extend(new_nodes + nodes)
    return len(new_nodes)


def _features(name: str, paths: list[str]) -> list[np.ndarray]:
    """The pooled statistics of each file through the encoder as it is on disk now."""
    from avemotion.bundles import shared_bundle
    from avemotion.media import load_audio
    from avemotion.training.features import FEATURE_KINDS

    shared_bundle.cache_clear()
    return [FEATURE_KINDS[name.removesuffix("_encoder")](load_audio(p)) for p in paths]


def _check(name: str, paths: list[str], before: list[np.ndarray]) -> None:
    after = _features(name, paths)
    for p, a, b in zip(paths, after, before, strict=True):
        cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
        print(f"{p}: cosine {cos:.5f}, max |diff| {np.abs(a - b).max():.4f}")


def main() -> None:
    import onnx

    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--check", nargs="*", default=[], help="audio files: features before and after")
    args = ap.parse_args()
    bundle = ModelBundle.load(args.model)
    before = _features(args.model, args.check)
    model = onnx.load(str(bundle.path))
    n = store_int8(model)
    onnx.checker.check_model(model)
    onnx.save(model, str(bundle.path))
    card = dict(bundle.card)
    card["storage"] = {"weights": "int8, one symmetric scale per output channel (DequantizeLinear to float32 "
                                  "at run time; computation in float32)",
                       "tensors": n, "command": f"python scripts/store_int8.py {args.model}"}
    card["sha256"] = hashlib.sha256(bundle.path.read_bytes()).hexdigest()
    card["bytes"] = bundle.path.stat().st_size
    bundle.path.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    print(f"written: {bundle.path} ({card['bytes'] / 1e6:.1f} MB, {n} tensors int8)")
    if args.check:
        _check(args.model, args.check, before)


if __name__ == "__main__":
    main()
