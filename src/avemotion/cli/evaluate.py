"""``avemotion evaluate``: speaker-independent and leave-one-corpus-out speech, test-split faces."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SPEECH_KINDS = ["encoder", "encoder_regressions", "ensemble", "cnn", "linear", "baseline"]
SHOWN = ("n", "accuracy", "unweighted_accuracy", "macro_f1", "expected_calibration_error")


def add_parser(sub) -> None:
    ev = sub.add_parser("evaluate", help="speaker-independent (speech) or test-split (face) evaluation")
    ev.add_argument("task", choices=["speech", "face", "fusion", "affect"])
    ev.add_argument("data", nargs="+", help="corpus folders or manifest CSVs (speech: several are pooled)")
    ev.add_argument(
        "--protocol",
        default="speakers",
        choices=["speakers", "loco"],
        help="speech: speaker-independent folds over the pooled corpora (default), or leave one "
        "corpus out (train on the others, test on it; needs several DATA)",
    )
    ev.add_argument(
        "--model",
        default="encoder",
        choices=SPEECH_KINDS,
        help="model kind to evaluate (default: encoder, the shipped recipe)",
    )
    ev.add_argument("--onnx", help="instead of cross-validation, score this trained model on DATA")
    ev.add_argument(
        "--tta",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="face: average each face with its mirror (default: as the model card says)",
    )
    ev.add_argument(
        "--robustness",
        action="store_true",
        help="face: DATA's test faces pasted into frames, transformed (rotation, small, blur, noise, "
        "low light, JPEG), found and aligned as in analyze; --onnx takes models separated by commas",
    )
    ev.add_argument(
        "--labels",
        default="folders",
        choices=["folders", "ferplus"],
        help="face: score against the class folders (FER2013's labels) or FER+'s majority vote "
        "(ferplus.csv in DATA or its parent; images without a majority left out)",
    )
    ev.add_argument(
        "--compare-crop",
        action="store_true",
        help="with --robustness: also score the first model on box crops without eye alignment",
    )
    ev.add_argument("--limit", type=int, default=None, help="with --robustness: score this many faces (seeded)")
    _add_speech_arguments(ev)
    ev.set_defaults(func=run)


def _add_speech_arguments(ev) -> None:
    """Speech protocols' options (folds, seed, adaptation), the fusion pairing and the output folder."""
    ev.add_argument("--folds", type=int, default=6)
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--epochs", type=int, default=None, help="override the CNN's epochs")
    ev.add_argument(
        "--adapt-segments",
        type=int,
        default=None,
        metavar="K",
        help="speaker adaptation, each test clip read together with K other unlabelled clips of its "
        "speaker (as the analyser reads a recording's segments): with --protocol loco --model "
        "encoder, or with --onnx speech (its speech_adaptive variant)",
    )
    ev.add_argument(
        "--steady",
        action="store_true",
        help="with --adapt-segments: each recording holds one emotion (its other clips share the clip's emotion), "
        "the case adaptation can erase; default: clips of any emotion",
    )
    ev.add_argument(
        "--no-calibrate",
        action="store_true",
        help="leave-one-corpus-out: skip fitting the temperature (a third of the time; UA unchanged, ECE not)",
    )
    ev.add_argument(
        "--mixup",
        type=float,
        default=None,
        metavar="P",
        help="CNN: share of batches mixed (mixup, alpha 0.4; default 0)",
    )
    ev.add_argument("--corpus", default=None, help="force a corpus reader (ravdess, cremad, tess, savee, emodb)")
    ev.add_argument(
        "--voice",
        metavar="HELD_OUT.csv",
        help="fusion: held-out voice predictions (`evaluate speech ... --protocol loco` writes held_out.csv); "
        "DATA is then a FER2013 split with ferplus.csv (test/), whose faces are paired with them",
    )
    ev.add_argument("--out", default="avemotion-out/eval", help="folder for metrics.json and confusion.png")


def run(args: argparse.Namespace) -> int:
    from ..errors import check_number

    if args.adapt_segments is not None:
        check_number("--adapt-segments (other clips of the speaker)", args.adapt_segments, 1, 10_000)
    if args.mixup is not None:
        check_number("--mixup (share of batches)", args.mixup, 0.0, 1.0)
    out = Path(args.out)
    if args.task == "fusion":
        return _fusion(args, out)
    if args.task == "affect":
        return _affect(args, out)
    if args.task == "face":
        return _robustness(args, out) if args.robustness else _faces(args, out)
    if args.onnx or args.protocol != "loco":
        return _speech(args, out)
    return _loco(args, out)


def _robustness(args: argparse.Namespace, out: Path) -> int:
    from ..evaluation.robustness import Scored, evaluate_robustness, load_faces
    from ..files import write_json
    from ..report.progress import progress_callback

    images, labels, _ = load_faces(args.data[0], args.labels)
    models = [m.strip() for m in (args.onnx or "face").split(",") if m.strip()]
    scored = [Scored(m) for m in models] + ([Scored(models[0], align=False)] if args.compare_crop else [])
    with progress_callback("robustness") as progress:
        report = evaluate_robustness(images, labels, scored, limit=args.limit, seed=args.seed, progress=progress)
    report["labels"] = args.labels
    write_json(report, out / "robustness.json")
    print_robustness(report)
    print(f"written: {out / 'robustness.json'}", file=sys.stderr)
    return 0


def _faces(args: argparse.Namespace, out: Path) -> int:
    from ..evaluation.face import evaluate_faces
    from ..report.progress import progress_callback

    with progress_callback("faces") as progress:
        report = evaluate_faces(
            args.data[0], args.onnx or "face", out, tta=args.tta, progress=progress, labels=args.labels
        )
    m = report["metrics"]
    shown = {
        "model": report["model"],
        "labels": args.labels,
        **{k: m[k] for k in SHOWN},
        "per_class_recall": m["per_class_recall"],
        "skipped_classes": report["skipped_classes"],
    }
    if "metrics_folder_labels" in report:
        shown["same_images_folder_labels"] = {k: report["metrics_folder_labels"][k] for k in SHOWN}
    print(json.dumps(shown, indent=2))
    for lab, n in report["skipped_classes"].items():
        print(f"skipped {n} images of '{lab}': the model has no such class", file=sys.stderr)
    print(f"written: {out / 'metrics.json'}, {out / 'confusion.png'}", file=sys.stderr)
    return 0


def _speech(args: argparse.Namespace, out: Path) -> int:
    """A trained model scored on DATA (``--onnx``), or speaker-independent folds retraining the recipe."""
    from ..datasets import read_corpora

    items = read_corpora(args.data, "speech", args.corpus)
    if args.onnx:
        from ..evaluation.speech import evaluate_model
        from ..report.progress import progress_callback

        with progress_callback("evaluate") as progress:
            report = evaluate_model(items, args.onnx, out, progress=progress, adapt=args.adapt_segments, seed=args.seed)
    else:
        from ..errors import require

        require("torch", "train", "these speech protocols retrain the model, which")
        from ..evaluation.protocols import cross_validate_report

        report = cross_validate_report(items, args.model, args.folds, args.seed, out, epochs=args.epochs)
    m = report["metrics"]
    print(
        json.dumps(
            {k: m[k] for k in ("n", "unweighted_accuracy", "weighted_accuracy", "macro_f1")}
            | {"per_class_recall": m["per_class_recall"]}
            | ({"per_corpus": report["per_corpus"]} if report.get("per_corpus") else {}),
            indent=2,
        )
    )
    print(f"written: {out / 'metrics.json'}, {out / 'confusion.png'}", file=sys.stderr)
    return 0


def _loco(args: argparse.Namespace, out: Path) -> int:
    """Leave one corpus out: each corpus of DATA held out in turn, the recipe trained on the others."""
    from ..datasets import read_corpora
    from ..errors import require
    from ..files import write_json

    require("torch", "train", "these speech protocols retrain the model, which")
    from ..evaluation import write_held_out
    from ..evaluation.protocols import leave_one_corpus_out
    from ..training.speech import cnn_config

    items = read_corpora(args.data, "speech", args.corpus)
    report = leave_one_corpus_out(
        items,
        args.model,
        args.seed,
        cnn_config(args.seed, args.epochs, args.mixup),
        calibrate=not args.no_calibrate,
        adapt=args.adapt_segments,
        steady=args.steady,
    )
    write_held_out(out / "held_out.csv", items, report.pop("probabilities"))
    write_json(report, out / "metrics.json")
    keys = ("unweighted_accuracy", "weighted_accuracy", "macro_f1", "expected_calibration_error")
    rows = {
        c: {
            "held out": c,
            "trained on": "+".join(r["train_corpora"]),
            "classes": len(r["metrics"]["per_class_recall"]),
            **{k: r["metrics"][k] for k in keys},
        }
        for c, r in report["corpora"].items()
    }
    print(
        json.dumps(
            {
                "model": args.model,
                "held_out": rows,
                **{
                    k: report[k]
                    for k in ("mean_unweighted_accuracy", "min_unweighted_accuracy", "mean_expected_calibration_error")
                },
            },
            indent=2,
        )
    )
    print(f"written: {out / 'metrics.json'}", file=sys.stderr)
    return 0


def _fusion(args: argparse.Namespace, out: Path) -> int:
    """Each lane alone and every fusion rule on held-out voice + test face pairs, clean and degraded."""
    from ..errors import OptionError
    from ..evaluation.fusion import evaluate_fusion
    from ..files import write_json

    if not args.voice:
        raise OptionError("evaluate fusion needs --voice HELD_OUT.csv (from evaluate speech --protocol loco)")
    model = args.onnx or "face"
    val = Path(args.data[0]).parent / "val"  # the learned rule is fitted on val faces, never the scored test ones
    cross_fit = None
    if val.is_dir():
        from ..training.fusion import cross_fitted

        cross_fit = cross_fitted(str(val), model, args.seed)
    report = evaluate_fusion(args.voice, args.data[0], model=model, seed=args.seed, cross_fit=cross_fit)
    write_json(report, out / "fusion.json")
    (out / "fusion.md").write_text(fusion_markdown(report), encoding="utf-8")
    print_fusion(report)
    print(f"written: {out / 'fusion.json'}, {out / 'fusion.md'}", file=sys.stderr)
    return 0


def _affect(args: argparse.Namespace, out: Path) -> int:
    """Derived valence and arousal against what the corpora's labels say (RAVDESS intensity, valence sign)."""
    from ..errors import OptionError
    from ..evaluation.affect import evaluate_affect
    from ..files import write_json

    voice = args.voice or (args.data[0] if args.data and args.data[0].endswith(".csv") else None)
    if not voice:
        raise OptionError("evaluate affect needs --voice HELD_OUT.csv (from evaluate speech --protocol loco)")
    report = evaluate_affect(voice)
    write_json(report, out / "affect.json")
    print(json.dumps({k: v for k, v in report.items() if k != "protocol"}, indent=2))
    print(f"written: {out / 'affect.json'}", file=sys.stderr)
    return 0


def fusion_markdown(report: dict) -> str:
    """The fusion table in Markdown: a row per condition, UA of each lane alone and each rule (the README's)."""
    conds = report["conditions"]
    names = list(dict.fromkeys(k for rows in conds.values() for k in rows))
    lines = ["| condition | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for cond, rows in conds.items():
        cells = [f"{rows[n]['unweighted_accuracy']:.3f}" if n in rows else "–" for n in names]
        lines.append(f"| {cond} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def print_fusion(report: dict) -> None:
    """The fusion table: a row per condition and lane or rule; UA, accuracy, ECE, and against the better lane."""
    from rich.table import Table

    from ..report.tables import print_table

    t = Table(title=f"Fusion on {report['pairs']} held-out voice + test face pairs (same emotion, two people)")
    for c in ("condition", "scored", "UA", "accuracy", "ECE", "UA - better lane", "lost", "won"):
        t.add_column(c, justify="left" if c in ("condition", "scored") else "right")
    for cond, rows in report["conditions"].items():
        for k, (name, m) in enumerate(rows.items()):
            extra = (
                [
                    f"{m[x]:+.3f}" if x == "minus_better_lane" else f"{m[x]:.3f}"
                    for x in ("minus_better_lane", "lost", "won")
                ]
                if "lost" in m
                else ["", "", ""]
            )
            t.add_row(
                cond if k == 0 else "",
                name,
                f"{m['unweighted_accuracy']:.3f}",
                f"{m['accuracy']:.3f}",
                f"{m['expected_calibration_error']:.3f}",
                *extra,
            )
    print_table(t)


def print_robustness(report: dict) -> None:
    """The robustness table: a row per transformation, a column per model, the share of faces found."""
    from rich.table import Table

    from ..report.tables import print_table

    scheme = "FER+ majority" if report.get("labels") == "ferplus" else "folder"
    t = Table(title=f"Test faces through detection + alignment ({report['faces']} faces, {scheme} labels): accuracy")
    t.add_column("transformation")
    t.add_column("found", justify="right")
    for m in report["models"]:
        t.add_column(m, justify="right")
    for cond, row in report["conditions"].items():
        t.add_row(cond, f"{row['found']:.3f}", *(f"{row[m]:.3f}" for m in report["models"]))
    t.add_row(
        "mean over transformations", "", *(f"{report['mean_over_transformations'][m]:.3f}" for m in report["models"])
    )
    print_table(t)
