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
    ap.add_argument("--robustness", metavar="ROBUSTNESS.json",
                    help="what `avemotion evaluate face DATA --robustness` wrote: this model's row of it is added")
    ap.add_argument("--column", default=None, help="the model's column in ROBUSTNESS.json (default: MODEL)")
    args = ap.parse_args()
    bundle = ModelBundle.load(args.model)
    report = json.loads(Path(args.metrics).read_text())
    m = report["metrics"]
    keep = ("n", "accuracy", "unweighted_accuracy", "macro_f1", "per_class_recall", "expected_calibration_error")
    ferplus = report.get("labels") == "ferplus"
    labels = "FER+ majority of the ten raters (images with a seven-class majority)" if ferplus else "FER2013's labels"
    metrics = {"protocol": f"FER2013 test/ (PrivateTest), {m['n']} faces, 7 classes, {labels}, test-time flip "
                           f"{'on' if report['tta'] else 'off'}; chosen on val/ only",
               **{k: m[k] for k in keep if k in m},
               "headline": (f"FER+ test accuracy {m['accuracy']:.3f}" if ferplus else
                            f"FER2013 test accuracy {m['accuracy']:.3f}")}
    if ferplus and "metrics_folder_labels" in report:
        f = report["metrics_folder_labels"]
        metrics["same_faces_fer2013_labels"] = {k: f[k] for k in keep if k in f and k != "per_class_recall"}
    for item in args.also:
        name, path = item.split("=", 1)
        metrics[name] = round(json.loads(Path(path).read_text())["metrics"]["accuracy"], 4)
    if args.robustness:
        rob = json.loads(Path(args.robustness).read_text())
        col = args.column or args.model
        scheme = "FER+ majority labels" if rob.get("labels") == "ferplus" else "FER2013 labels"
        metrics["robustness"] = {"protocol": f"FER2013 test faces ({rob['faces']}, {scheme}) in a {rob['frame']}, "
                                             "transformed, found by BlazeFace and aligned as in analyze; a missed "
                                             "face counts wrong",
                                 "mean_over_transformations": rob["mean_over_transformations"][col],
                                 "accuracy": {c: row[col] for c, row in rob["conditions"].items()},
                                 "found": {c: row["found"] for c, row in rob["conditions"].items()}}
    card = {k: v for k, v in bundle.card.items() if k not in ("sha256", "bytes")}
    card["metrics"] = metrics
    write_card(bundle.path, card)
    print(f"{bundle.path.with_suffix('.json')}: {metrics['headline']}")


if __name__ == "__main__":
    main()
