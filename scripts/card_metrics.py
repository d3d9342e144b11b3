"""Put an evaluation's figures into a shipped model's card (and its sha256 stays right).

    python scripts/card_metrics.py MODEL METRICS.json [--also NAME=METRICS.json ...]

MODEL is a shipped model's name (``face``) or an .onnx path; METRICS.json is what
``avemotion evaluate face DATA --onnx MODEL --out DIR`` wrote. ``--also`` adds the accuracy of
another evaluation of the same model (e.g. with ``--tta``) under NAME.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from avemotion.bundles import ModelBundle, write_card


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("metrics")
    ap.add_argument("--also", action="append", default=[], metavar="NAME=METRICS.json")
    args = ap.parse_args()
    bundle = ModelBundle.load(args.model)
    report = json.loads(Path(args.metrics).read_text())
    m = report["metrics"]
    keep = ("n", "accuracy", "unweighted_accuracy", "macro_f1", "per_class_recall")
    metrics = {"protocol": f"FER2013 test/ (PrivateTest), {m['n']} faces, 7 classes, test-time flip "
                           f"{'on' if report['tta'] else 'off'}; chosen on val/ only",
               **{k: m[k] for k in keep},
               "headline": f"FER2013 test accuracy {m['accuracy']:.3f}"}
    for item in args.also:
        name, path = item.split("=", 1)
        metrics[name] = round(json.loads(Path(path).read_text())["metrics"]["accuracy"], 4)
    card = {k: v for k, v in bundle.card.items() if k not in ("sha256", "bytes")}
    card["metrics"] = metrics
    write_card(bundle.path, card)
    print(f"{bundle.path.with_suffix('.json')}: {metrics['headline']}")


if __name__ == "__main__":
    main()
