"""``avemotion face``: every face in image files, with its expression."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .common import err, is_batch, run_files

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def add_parser(sub) -> None:
    from ..face.analyzer import FaceOptions
    from ..face.detect import DETECTORS

    d = FaceOptions.for_images()
    fp = sub.add_parser("face", help="every face in image files, with its expression")
    fp.add_argument("paths", nargs="+", help="image files or folders")
    fp.add_argument("--json", action="store_true", help="print one JSON object (JSON Lines for several files)")
    fp.add_argument("--annotate", metavar="OUT.png", help="draw boxes and labels (one file)")
    fp.add_argument("--no-detect", action="store_true", help="the whole image is one face (for face crops)")
    fp.add_argument("--detector", default=d.detector, choices=list(DETECTORS))
    fp.add_argument("--min-score", type=float, default=d.min_score, help="lowest detector score kept (BlazeFace)")
    fp.add_argument("--model", default=d.model, help="shipped model name or .onnx path (default: %(default)s)")
    fp.add_argument(
        "--tiles",
        action=argparse.BooleanOptionalAction,
        default=d.tiles,
        help="BlazeFace also scans the quarters of large images, for small faces (default on for "
        "images; off in videos, where it would cost every frame)",
    )
    fp.add_argument(
        "--tta",
        action=argparse.BooleanOptionalAction,
        default=d.tta,
        help="average each face with its mirror: +1 point on FER2013 test, half the speed "
        "(default: as the model card says, off for the shipped model)",
    )
    fp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..batch import expand_paths
    from ..face.analyzer import FaceAnalyzer
    from ..media import IMAGE_EXTENSIONS

    files = expand_paths(args.paths, IMAGE_EXTENSIONS)
    if not files:
        err(f"no image files found in {', '.join(args.paths)}")
        return 2
    analyzer = FaceAnalyzer(
        args.model, detector=args.detector, min_score=args.min_score, tta=args.tta, tiles=args.tiles
    )

    def show(result) -> None:
        if args.json:
            print(json.dumps(result.to_dict(), indent=2))
        else:
            print_faces(result)
        if args.annotate:
            write_annotated(result, Path(args.annotate))
            print(f"annotated image written to {args.annotate}", file=sys.stderr)

    return run_files(
        files,
        lambda f: analyzer.analyze_file(f, detect=not args.no_detect),
        show,
        batch=is_batch(files, args.paths),
        label="faces",
    )


def write_annotated(result, target: Path) -> None:
    """The image with each face's box and label drawn, at ``target``; a one-line error if it cannot be."""
    import cv2

    from ..errors import AvemotionError
    from ..media import read_image
    from ..report.draw import draw_faces

    if target.suffix.lower() not in IMAGE_SUFFIXES:
        raise AvemotionError("cannot write an image of that kind (use .png or .jpg)", target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AvemotionError(f"cannot create its folder ({(exc.strerror or str(exc)).lower()})", target) from None
    if target.is_dir() or not os.access(target.parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise AvemotionError("cannot write there (a folder, or no permission to write)", target)
    try:
        written = cv2.imwrite(str(target), draw_faces(read_image(result.path), result.faces))
    except cv2.error:
        written = False
    if not written:
        raise AvemotionError("the image could not be written (disk full or unwritable)", target)


def print_faces(result) -> None:
    """A column of probabilities per face found."""
    from ..report.tables import print_table, probability_table

    print(
        f"{result.path}  ({result.width}x{result.height}, {len(result.faces)} face(s), detector {result.detector}, "
        f"model {result.model})"
    )
    if not result.faces:
        print("no face found")
        return
    columns = {f"#{i + 1} {tuple(f.box)}": f.probabilities for i, f in enumerate(result.faces)}
    print_table(probability_table(columns))
