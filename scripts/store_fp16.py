"""Store a shipped model's weights as float16 (half the file), computing in float32 as before.

    python scripts/store_fp16.py face_baseline

Each float32 weight tensor of more than 1,024 values is stored as float16 and cast back to float32
by a Cast node, which onnxruntime folds away when the session loads: the network computes in
float32 exactly as before, on weights rounded to float16 (relative error about 5e-4). Used for the
seed's 4.5 M-parameter CNN, which ships for comparison, to keep the base install small; its card
records the conversion and is re-measured by ``avemotion evaluate face``. Needs the ``train`` extra.
"""

from __future__ import annotations

import argparse
import hashlib
import json

import numpy as np

from avemotion.bundles import ModelBundle


def main() -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    args = ap.parse_args()
    bundle = ModelBundle.load(args.model)
    model = onnx.load(str(bundle.path))
    graph = model.graph
    casts, kept = [], []
    for init in graph.initializer:
        w = numpy_helper.to_array(init)
        if init.data_type != TensorProto.FLOAT or w.size <= 1024:
            kept.append(init)
            continue
        half = numpy_helper.from_array(w.astype(np.float16), init.name + "_fp16")
        kept.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT, name=init.name + "_cast"))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(bundle.path))
    card = dict(bundle.card)
    card["storage"] = {"weights": "float16 (cast to float32 at load; computation in float32)",
                       "tensors": len(casts), "command": f"python scripts/store_fp16.py {args.model}"}
    card["sha256"] = hashlib.sha256(bundle.path.read_bytes()).hexdigest()
    card["bytes"] = bundle.path.stat().st_size
    bundle.path.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    print(f"written: {bundle.path} ({card['bytes'] / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
