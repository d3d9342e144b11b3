"""``avemotion train``: train a model and export it to ONNX with its card (the ``train`` extra)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import command_line
from .evaluate import SPEECH_KINDS


def add_parser(sub) -> None:
    tr = sub.add_parser("train", help="train a model and export it to ONNX (needs the train extra)")
    tr.add_argument("task", choices=["speech", "face", "fusion"])
    tr.add_argument("data", nargs="+", help="corpus folders or manifest CSVs (speech: several are pooled)")
    tr.add_argument("--model", default="encoder", choices=SPEECH_KINDS)
    tr.add_argument("--out", default="avemotion-out/models")
    tr.add_argument("--name", default=None, help="file name of the model (default: speech or speech_baseline)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--epochs", type=int, default=None)
    tr.add_argument("--corpus", default=None)
    tr.add_argument(
        "--adapt",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="speech, encoder: the speaker-adapted variant (speech_adaptive), used on recordings with "
        "several segments of one voice",
    )
    tr.add_argument(
        "--cv-metrics",
        nargs="*",
        default=None,
        help="metrics.json files from `evaluate` (speaker folds, leave-one-corpus-out) for the card",
    )
    tr.add_argument(
        "--arch",
        default="vgg",
        choices=["vgg", "vgg-s", "baseline"],
        help="face network (face only; baseline = the original report's CNN and plain recipe)",
    )
    tr.add_argument("--device", default="auto", help="auto (CUDA where torch sees it), cpu or cuda (face only)")
    tr.add_argument(
        "--time-budget",
        type=float,
        default=None,
        help="seconds: train fewer epochs if a timed probe says --epochs won't fit (face only)",
    )
    tr.add_argument("--run", default=None, help="checkpoint folder; a rerun resumes there (face only)")
    tr.add_argument("--lr", type=float, default=None, help="peak learning rate (face only)")
    tr.add_argument(
        "--photometric",
        type=float,
        default=None,
        help="share of training faces blurred, noised, JPEG-compressed, darkened... (face only)",
    )
    tr.add_argument(
        "--class-power",
        type=float,
        default=None,
        help="class weights (1/frequency)**POWER in the loss (face only; 0 plain, 1 balanced)",
    )
    tr.add_argument("--init-from", default=None, help="start from this exported ONNX model (face, vgg only)")
    tr.add_argument(
        "--labels",
        default=None,
        choices=["fer2013", "ferplus"],
        help="face: the folders' FER2013 labels, or the FER+ vote distributions of DATA/ferplus.csv",
    )
    tr.add_argument("--label-smoothing", type=float, default=None, help="face: label smoothing of the loss")
    tr.add_argument(
        "--voice",
        metavar="HELD_OUT.csv",
        help="fusion: held-out voice predictions (evaluate speech --protocol loco); DATA: FER2013 val/ (ferplus.csv)",
    )
    tr.add_argument(
        "--tta",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="choose the epoch on val with the mirror image averaged in (face only)",
    )
    tr.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import require

    if args.task == "fusion":
        return _fusion(args)
    require("torch", "train", "avemotion train")
    onnx = _face(args) if args.task == "face" else _speech(args)
    print(f"written: {onnx} and {onnx.with_suffix('.json')}")
    return 0


#: The command-line arguments that are FaceConfig fields of the same name (None: the recipe's own).
FACE_SETTINGS = (
    "seed",
    "epochs",
    "device",
    "time_budget",
    "lr",
    "photometric",
    "class_power",
    "init_from",
    "tta",
    "labels",
    "label_smoothing",
)


def _face(args: argparse.Namespace) -> Path:
    from ..training.face import FaceConfig, train_and_export_face

    cfg = FaceConfig.for_arch(args.arch, **{k: getattr(args, k) for k in FACE_SETTINGS})
    return train_and_export_face(
        args.data[0],
        Path(args.run or f"runs/face_{args.arch}"),
        Path(args.out),
        cfg,
        name=args.name,
        command=command_line(),
    )


def _speech(args: argparse.Namespace) -> Path:
    from ..datasets import read_corpora
    from ..training.speech import train_and_export

    items = read_corpora(args.data, "speech", args.corpus)
    return train_and_export(
        items,
        args.model,
        Path(args.out),
        seed=args.seed,
        epochs=args.epochs,
        cv_metrics=args.cv_metrics,
        name=args.name,
        command=command_line(),
        adaptive=args.adapt,
    )


def _fusion(args: argparse.Namespace) -> int:
    """The learned fusion rule, fitted on val faces and held-out voices: ``OUT/fusion_learned.json``."""
    import json

    from ..errors import OptionError
    from ..training.fusion import train_rule

    if not args.voice:
        raise OptionError("train fusion needs --voice HELD_OUT.csv (from evaluate speech --protocol loco)")
    card = train_rule(args.voice, args.data[0], seed=args.seed)
    card["command"] = command_line() or "avemotion train fusion DATA --voice HELD_OUT.csv"
    out = Path(args.out) / "fusion_learned.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    print(f"written: {out}")
    return 0
