"""The ``avemotion`` command.

Subcommands: ``speech`` (emotion in the voice of audio/video files), ``evaluate`` and ``train``
(speaker-independent evaluation and training; ``train`` and the CNN need the ``train`` extra),
``models`` (what ships). Every error about the user's input is one line on stderr naming the
file; a batch goes on past a broken file and records it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ._version import __version__
from .errors import AvemotionError, OptionError
from .batch import expand_paths
from .media import AUDIO_EXTENSIONS, IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

DATA_DIR = Path(__file__).resolve().parent / "data"
DEMO_SPEECH = DATA_DIR / "demo_speech.flac"
DEMO_VIDEO = DATA_DIR / "demo_face.mp4"


def _command_line() -> str | None:
    """The `avemotion ...` command being run (for model cards), without logging flags."""
    args = [a for a in sys.argv[1:] if a not in ("-v", "--verbose")]
    return "avemotion " + " ".join(args) if args[:1] == ["train"] else None


def _err(msg: str) -> None:
    print(f"avemotion: error: {msg}", file=sys.stderr)


def run_files(files: Sequence[Path], analyze, show, *, batch: bool, label: str) -> int:
    """Analyse each file (:func:`avemotion.batch.run_each`); one JSON line per file in batch mode,
    else ``show(result)``. A failed file is a ``{"path", "error"}`` line (batch) or one error line,
    and the rest go on. Returns the exit code: 1 if any file failed, else 0.
    """
    from .batch import run_each
    from .report.progress import progress_bar

    failed = 0
    with progress_bar(label, total=len(files), enabled=batch) as advance:
        for f, result, err in run_each(files, analyze):
            advance()
            if err is not None:
                failed += 1
                if batch:
                    print(json.dumps({"path": str(f), "error": err.reason}), flush=True)
                else:
                    _err(str(err))
            elif batch:
                print(json.dumps(result.to_dict()), flush=True)
            else:
                show(result)
    return 1 if failed else 0


# ---------------------------------------------------------------------------------------------
# speech


def cmd_speech(args: argparse.Namespace) -> int:
    from .speech import SpeechAnalyzer

    paths = [str(DEMO_SPEECH)] if args.demo else args.paths
    if not paths:
        _err("give an audio or video file (or a folder), or --demo")
        return 2
    files = expand_paths(paths, AUDIO_EXTENSIONS | VIDEO_EXTENSIONS)
    if not files:
        _err(f"no audio or video files found in {', '.join(paths)}")
        return 2
    if args.plot:
        from .errors import require

        require("matplotlib", "plots", "speech --plot")  # before the analysis, not after it
    analyzer = SpeechAnalyzer(args.model, vad=not args.no_vad, max_segment=args.max_segment, adapt=args.adapt)
    batch = len(files) > 1 or any(Path(p).is_dir() for p in paths)
    signals: dict[Path, object] = {}

    def analyze(f: Path):
        if args.plot and not batch:  # keep the signal for the plot: decode once
            from .media import load_audio

            signals[f] = load_audio(f)
            return analyzer.analyze(signals[f], path=str(f))
        return analyzer.analyze_file(f)

    def show(result) -> None:
        if args.json:
            print(json.dumps(result.to_dict(), indent=2))
        else:
            _print_speech(result)
        if args.plot:
            from .report.plots import plot_speech

            out = plot_speech(signals[Path(result.path)], 16000, result, args.plot)
            print(f"plot written to {out}", file=sys.stderr)

    return run_files(files, analyze, show, batch=batch, label="speech")


def _print_speech(result) -> None:
    from .report.tables import print_table, probability_table

    head = f"{result.path}  ({result.duration:.1f} s, speech {result.speech_seconds:.1f} s, model {result.model})"
    if not result.has_speech:
        print(f"{head}\nno speech found: the voice lane has no emotion to report")
        return
    print(head)
    print_table(probability_table({"voice": result.probabilities}))
    if len(result.segments) > 1:
        from rich.table import Table

        from .report.tables import print_table as pt

        t = Table(title="speech segments", title_justify="left")
        for c in ("start", "end", "emotion", "p"):
            t.add_column(c, justify="right" if c != "emotion" else "left")
        for s in result.segments:
            t.add_row(f"{s.start:.2f}", f"{s.end:.2f}", s.label, f"{s.probabilities[s.label]:.2f}")
        pt(t)


# ---------------------------------------------------------------------------------------------
# face


def cmd_face(args: argparse.Namespace) -> int:
    from .face.analyzer import FaceAnalyzer

    files = expand_paths(args.paths, IMAGE_EXTENSIONS)
    if not files:
        _err(f"no image files found in {', '.join(args.paths)}")
        return 2
    analyzer = FaceAnalyzer(args.model, detector=args.detector, min_score=args.min_score, tta=args.tta,
                            tiles=args.tiles)
    batch = len(files) > 1 or any(Path(p).is_dir() for p in args.paths)

    def show(result) -> None:
        if args.json:
            print(json.dumps(result.to_dict(), indent=2))
        else:
            _print_faces(result)
        if args.annotate:
            import cv2

            from .media import read_image
            from .report.draw import draw_faces

            target = Path(args.annotate)
            if target.suffix.lower() not in (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"):
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
            print(f"annotated image written to {args.annotate}", file=sys.stderr)

    return run_files(files, lambda f: analyzer.analyze_file(f, detect=not args.no_detect), show,
                     batch=batch, label="faces")


def _print_faces(result) -> None:
    from .report.tables import print_table, probability_table

    print(f"{result.path}  ({result.width}x{result.height}, {len(result.faces)} face(s), detector {result.detector}, "
          f"model {result.model})")
    if not result.faces:
        print("no face found")
        return
    columns = {f"#{i + 1} {tuple(f.box)}": f.probabilities for i, f in enumerate(result.faces)}
    print_table(probability_table(columns))


# ---------------------------------------------------------------------------------------------
# analyze


def _analyze_config(args: argparse.Namespace):
    from .fusion import load_weights
    from .pipeline import AnalyzeConfig

    weights = {"weights": load_weights(args.weights)} if args.weights else {}
    return AnalyzeConfig.of(fps=args.fps, window=args.window, fusion=args.fusion, detector=args.detector,
                            tta=args.tta, tiles=args.tiles, face_smoothing=args.face_smoothing,
                            voice_adapt=args.voice_adapt, **weights)


def cmd_analyze(args: argparse.Namespace) -> int:
    from .pipeline import VideoAnalyzer

    paths = [str(DEMO_VIDEO)] if args.demo else args.paths
    if not paths:
        _err("give a video, audio or image file (or a folder), or --demo")
        return 2
    files = expand_paths(paths, VIDEO_EXTENSIONS | AUDIO_EXTENSIONS | IMAGE_EXTENSIONS)
    if not files:
        _err(f"no media files found in {', '.join(paths)}")
        return 2
    batch = len(files) > 1 or any(Path(p).is_dir() for p in paths)
    root = Path(args.out or ("avemotion-out/demo" if args.demo else "avemotion-out"))
    single = None if batch else {files[0]: root if (args.out or args.demo) else root / files[0].stem}
    if root.exists() and not root.is_dir():
        _err(f"{root}: --out is a file, not a folder")
        return 2
    from .report.outputs import parse_outputs

    outputs = parse_outputs(args.outputs)
    config = _analyze_config(args)
    # with --ray the models load on the workers, not here
    analyzer = None if args.ray else VideoAnalyzer(config)
    t0 = time.perf_counter()
    lines = sys.stdout  # one JSON line per file; Ray's own messages (a worker died, ...) go to stderr
    if args.ray:
        sys.stdout = sys.stderr
    try:
        failed, counts = _run_batch(args, files, root, config, analyzer, single, outputs, batch, lines)
    finally:
        sys.stdout = lines
    if batch:
        _batch_summary(counts, len(files), time.perf_counter() - t0, root, args.ray)
    return 1 if failed else 0


def _run_batch(args, files, root, config, analyzer, single, outputs, batch: bool, lines) -> tuple[int, dict]:
    from .batch import analyze_many
    from .report.progress import progress_bar

    failed = 0
    counts: dict[str, int] = {}
    with progress_bar("analyze", total=len(files), enabled=batch) as advance:
        for item in analyze_many(files, root, config, force=args.force or not batch, annotate=not args.no_annotate,
                                 analyzer=analyzer, out_dirs=single, outputs=outputs, ray=args.ray):
            advance()
            failed += item.status == "error"
            counts[item.status] = counts.get(item.status, 0) + 1
            if batch:
                print(json.dumps(item.to_dict()), file=lines, flush=True)
            elif item.error:
                _err(f"{item.path}: {item.error}")
            elif args.json:
                print((item.out / "result.json").read_text(), file=lines)
            else:
                from contextlib import redirect_stdout

                with redirect_stdout(lines):
                    _print_analysis(item.result, item.out)
    return failed, counts


def _batch_summary(counts: dict[str, int], n: int, seconds: float, root: Path, ray: str | None) -> None:
    """The table at the end of a batch (stderr: stdout carries one JSON line per file)."""
    from rich.console import Console
    from rich.table import Table

    table = Table()
    table.add_column("status")
    table.add_column("files", justify="right")
    for status in ("ok", "done earlier", "error"):
        table.add_row(status, str(counts.get(status, 0)))
    console = Console(stderr=True)
    console.print(f"{n} files in {seconds:.1f} s" + (f" on Ray ({ray})" if ray else ""), highlight=False)
    console.print(table)
    console.print(batch_line(counts, n) + f"; results in {root}", highlight=False)


def batch_line(counts: dict[str, int], n: int) -> str:
    """The batch's closing line: what was analysed now, what an earlier run had done, what failed."""
    done, earlier, failed = counts.get("ok", 0), counts.get("done earlier", 0), counts.get("error", 0)
    return f"{n} files: {done} analysed, {earlier} done earlier (skipped), {failed} failed"


def _print_analysis(result, out: Path) -> None:
    from .report.tables import print_table, probability_table

    s = result.summary
    labels = result.all_labels
    print(f"{result.path}  ({result.duration:.1f} s; face: {result.status['face']}, voice: {result.status['voice']})")
    print_table(probability_table({"voice": s["voice"], "face": s["face"], "fused": s["fused"]}, labels=labels))
    print(f"overall: {result.label or 'nothing to read (no face, no speech)'}")
    made = [n for n in ("report.html", "result.json", "timeline.csv", "timeline.png", "annotated.mp4")
            if (out / n).exists()]
    print(f"{'report' if made[0] == 'report.html' else 'result'}: {out / made[0]}"
          + (f"  (also {', '.join(made[1:])})" if made[1:] else ""))


# ---------------------------------------------------------------------------------------------
# live


def cmd_live(args: argparse.Namespace) -> int:
    from .live import LiveAnalyzer, camera_frames, gui_available

    if args.show and not gui_available():
        _err("--show needs a display and an OpenCV build with GUI support (pip install opencv-python "
             "in place of opencv-python-headless); streaming JSON Lines instead")
        args.show = False
    from .errors import check_number

    if args.fps is not None:
        check_number("--fps (frames analysed a second)", args.fps, 0.01, 1000)
    if args.max_frames is not None and (check_number("--max-frames", args.max_frames, 1, 1e12) != int(args.max_frames)):
        raise OptionError(f"--max-frames must be a whole number, got {args.max_frames}")
    if args.source is not None:
        from .media import check_file

        check_file(args.source)  # a FIFO or a device would block the capture forever
    live = LiveAnalyzer(args.model, detector=args.detector, tau=args.smooth)
    step = 1.0 / args.fps if args.fps else 0.0
    next_t = 0.0
    source = args.source if args.source is not None else str(args.camera)
    for t, frame in camera_frames(source, args.max_frames):
        if t + 1e-6 < next_t:
            continue
        next_t = t + step
        out = live.step(frame, t)
        print(json.dumps(out.to_dict()), flush=True)
        if args.show:
            import cv2

            from .report.draw import draw_live

            cv2.imshow("avemotion live (q quits)", draw_live(frame, out))
            if cv2.waitKey(1) & 0xFF == ord("q"):
                break
    return 0


# ---------------------------------------------------------------------------------------------
# serve


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        _err("the web app needs the server extra: pip install 'avemotion[server]'")
        return 2
    from .errors import check_number
    from .server import ServerConfig, serve

    check_number("port", args.port, 1, 65535)
    cfg = ServerConfig(data_dir=Path(args.data_dir), workers=args.workers, max_upload_mb=args.max_upload_mb,
                       retention_days=args.retention_days, annotate=not args.no_annotate, ray=args.ray,
                       allowed_hosts=args.allow_host, allowed_origins=args.allow_origin or [],
                       token=args.token or os.environ.get("AVEMOTION_TOKEN") or None, bind_host=args.host)
    serve(args.host, args.port, cfg,
          banner=f"avemotion web app on http://{args.host}:{args.port}/ (API docs at /docs; data in {cfg.data_dir})")
    return 0


# ---------------------------------------------------------------------------------------------
# evaluate / train


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .datasets import read_corpora
    from .errors import check_number
    from .report.progress import progress_callback

    if args.adapt is not None:
        check_number("--adapt (other clips of the speaker)", args.adapt, 1, 10_000)
    if args.mixup is not None:
        check_number("--mixup (share of batches)", args.mixup, 0.0, 1.0)

    out = Path(args.out)
    if args.task == "face" and args.robustness:
        from .files import write_json
        from .evaluation.robustness import Scored, evaluate_robustness, load_faces

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
    if args.task == "face":
        from .evaluation.face import evaluate_faces

        with progress_callback("faces") as progress:
            report = evaluate_faces(args.data[0], args.onnx or "face", out, tta=args.tta, progress=progress,
                                    labels=args.labels)
        keys = ("n", "accuracy", "unweighted_accuracy", "macro_f1", "expected_calibration_error")
        m = report["metrics"]
        shown = {"model": report["model"], "labels": args.labels, **{k: m[k] for k in keys},
                 "per_class_recall": m["per_class_recall"], "skipped_classes": report["skipped_classes"]}
        if "metrics_folder_labels" in report:
            shown["same_images_folder_labels"] = {k: report["metrics_folder_labels"][k] for k in keys}
        print(json.dumps(shown, indent=2))
        for lab, n in report["skipped_classes"].items():
            print(f"skipped {n} images of '{lab}': the model has no such class", file=sys.stderr)
        print(f"written: {out / 'metrics.json'}, {out / 'confusion.png'}", file=sys.stderr)
        return 0
    items = read_corpora(args.data, "speech", args.corpus)
    if not args.onnx:
        from .errors import require

        require("torch", "train", "these speech protocols retrain the model, which")
    if args.onnx:
        from .evaluation.speech import evaluate_model

        with progress_callback("evaluate") as progress:
            report = evaluate_model(items, args.onnx, out, progress=progress, adapt=args.adapt, seed=args.seed)
    elif args.protocol == "loco":
        from .files import write_json
        from .training.speech import cnn_config, leave_one_corpus_out

        report = leave_one_corpus_out(items, args.model, args.seed, cnn_config(args.seed, args.epochs, args.mixup),
                                      calibrate=not args.no_calibrate, adapt=args.adapt)
        write_json(report, out / "metrics.json")
        rows = {c: {"held out": c, "trained on": "+".join(r["train_corpora"]),
                    "classes": len(r["metrics"]["per_class_recall"]), **{k: r["metrics"][k] for k in (
                        "unweighted_accuracy", "weighted_accuracy", "macro_f1", "expected_calibration_error")}}
                for c, r in report["corpora"].items()}
        print(json.dumps({"model": args.model, "held_out": rows, "mean_unweighted_accuracy":
                          report["mean_unweighted_accuracy"], "min_unweighted_accuracy": report["min_unweighted_accuracy"],
                          "mean_expected_calibration_error": report["mean_expected_calibration_error"]}, indent=2))
        print(f"written: {out / 'metrics.json'}", file=sys.stderr)
        return 0
    else:
        from .training.speech import cross_validate_report

        report = cross_validate_report(items, args.model, args.folds, args.seed, out, epochs=args.epochs)
    m = report["metrics"]
    print(json.dumps({k: m[k] for k in ("n", "unweighted_accuracy", "weighted_accuracy", "macro_f1")} |
                     {"per_class_recall": m["per_class_recall"]} |
                     ({"per_corpus": report["per_corpus"]} if report.get("per_corpus") else {}), indent=2))
    print(f"written: {out / 'metrics.json'}, {out / 'confusion.png'}", file=sys.stderr)
    return 0


def print_robustness(report: dict) -> None:
    """The robustness table: a row per transformation, a column per model, the share of faces found."""
    from rich.table import Table

    from .report.tables import print_table

    scheme = "FER+ majority" if report.get("labels") == "ferplus" else "folder"
    t = Table(title=f"Test faces through detection + alignment ({report['faces']} faces, {scheme} labels): accuracy")
    t.add_column("transformation")
    t.add_column("found", justify="right")
    for m in report["models"]:
        t.add_column(m, justify="right")
    for cond, row in report["conditions"].items():
        t.add_row(cond, f"{row['found']:.3f}", *(f"{row[m]:.3f}" for m in report["models"]))
    t.add_row("mean over transformations", "", *(f"{report['mean_over_transformations'][m]:.3f}"
                                                 for m in report["models"]))
    print_table(t)


def cmd_train(args: argparse.Namespace) -> int:
    from .datasets import read_corpora
    from .errors import require

    require("torch", "train", "avemotion train")

    if args.task == "face":
        from .training.face import FaceConfig, train_and_export_face

        cfg = FaceConfig.for_arch(args.arch, seed=args.seed, epochs=args.epochs, device=args.device,
                                  time_budget=args.time_budget, lr=args.lr, photometric=args.photometric,
                                  class_power=args.class_power, init_from=args.init_from, tta=args.tta,
                                  labels=args.labels, label_smoothing=args.label_smoothing)
        onnx = train_and_export_face(args.data[0], Path(args.run or f"runs/face_{args.arch}"), Path(args.out), cfg,
                                     name=args.name, command=_command_line())
        print(f"written: {onnx} and {onnx.with_suffix('.json')}")
        return 0
    from .training.speech import train_and_export

    items = read_corpora(args.data, "speech", args.corpus)
    onnx = train_and_export(items, args.model, Path(args.out), seed=args.seed, epochs=args.epochs,
                            cv_metrics=args.cv_metrics, name=args.name,
                            command=_command_line(), adaptive=args.adapt)
    print(f"written: {onnx} and {onnx.with_suffix('.json')}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from .bundles import MODELS_DIR

    for card in sorted(MODELS_DIR.glob("*.json")):
        c = json.loads(card.read_text())
        metric = c.get("metrics", {}).get("headline", "")
        print(f"{card.stem:20s} {c.get('task', ''):7s} {len(c.get('labels', []))} classes  {metric}")
    return 0


# ---------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from .face.detect import DETECTORS
    from .fusion import FUSION_RULES
    from .pipeline import AnalyzeConfig

    defaults = AnalyzeConfig()
    p = argparse.ArgumentParser(prog="avemotion", description="Emotion from faces and voices in video, offline.")
    p.add_argument("--version", action="version", version=f"avemotion {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress of long work")
    sub = p.add_subparsers(dest="command", required=True)

    sp = sub.add_parser("speech", help="emotion in the voice of audio or video files")
    sp.add_argument("paths", nargs="*", help="audio/video files or folders")
    sp.add_argument("--demo", action="store_true", help="run on the bundled (synthesised) speech sample")
    sp.add_argument("--json", action="store_true", help="print one JSON object (JSON Lines for several files)")
    sp.add_argument("--plot", metavar="OUT.png", help="draw waveform, mel spectrogram and result (one file)")
    sp.add_argument("--model", default=defaults.speech.model, help="shipped model name or .onnx path (default: %(default)s)")
    sp.add_argument("--no-vad", action="store_true", help="classify the whole signal, skip voice detection")
    sp.add_argument("--max-segment", type=float, default=defaults.speech.max_segment, help="longest segment classified at once (s)")
    sp.add_argument("--adapt", action=argparse.BooleanOptionalAction, default=defaults.speech.adapt,
                    help="read a file's speech segments against each other with the speaker-adapted model, when "
                         "there are at least five and they sound like one voice (default off: a voice that holds one "
                         "emotion throughout would be read as neutral)")
    sp.set_defaults(func=cmd_speech)

    fp = sub.add_parser("face", help="every face in image files, with its expression")
    fp.add_argument("paths", nargs="+", help="image files or folders")
    fp.add_argument("--json", action="store_true", help="print one JSON object (JSON Lines for several files)")
    fp.add_argument("--annotate", metavar="OUT.png", help="draw boxes and labels (one file)")
    fp.add_argument("--no-detect", action="store_true", help="the whole image is one face (for face crops)")
    fp.add_argument("--detector", default=defaults.face.detector, choices=list(DETECTORS))
    fp.add_argument("--min-score", type=float, default=defaults.face.min_score, help="lowest detector score kept (BlazeFace)")
    fp.add_argument("--model", default=defaults.face.model, help="shipped model name or .onnx path (default: %(default)s)")
    fp.add_argument("--tiles", action=argparse.BooleanOptionalAction, default=True,
                    help="BlazeFace also scans the quarters of large images, for small faces (default on)")
    fp.add_argument("--tta", action=argparse.BooleanOptionalAction, default=None,
                    help="average each face with its mirror: +1 point on FER2013 test, half the speed "
                         "(default: as the model card says, off for the shipped model)")
    fp.set_defaults(func=cmd_face)

    an = sub.add_parser("analyze", help="face and voice over time in videos (audio files and images too), fused")
    an.add_argument("paths", nargs="*", help="video, audio or image files, or folders")
    an.add_argument("--demo", action="store_true", help="run on the bundled real clip")
    an.add_argument("--out", default=None,
                    help="output folder (default avemotion-out/NAME; several files: a folder each inside it)")
    an.add_argument("--fps", type=float, default=defaults.face.fps, help="video frames sampled a second (default %(default)s)")
    an.add_argument("--window", type=float, default=defaults.fusion.window, help="timeline window in seconds (default %(default)s)")
    an.add_argument("--fusion", default=defaults.fusion.rule, choices=list(FUSION_RULES),
                    help="confidence-aware (default) or the original system's fixed weighted average")
    an.add_argument("--weights", default=None, help="modality weights: face=0.6,voice=0.4 or a JSON file")
    an.add_argument("--detector", default=defaults.face.detector, choices=list(DETECTORS))
    an.add_argument("--tta", action=argparse.BooleanOptionalAction, default=None, help="face test-time flip")
    an.add_argument("--tiles", action="store_true",
                    help="find small faces too: BlazeFace also scans frame quarters (about 5x the detection time)")
    an.add_argument("--voice-adapt", action=argparse.BooleanOptionalAction, default=defaults.speech.adapt,
                    help="read the speech segments against each other with the speaker-adapted model, when they "
                         "sound like one voice (default off: see `speech --adapt`)")
    an.add_argument("--face-smoothing", type=float, default=defaults.face.smoothing, metavar="SECONDS",
                    help="sigma of the centred smoothing of each face track over time (default %(default)s; 0: off)")
    from .report.outputs import OUTPUTS, default_outputs

    an.add_argument("--outputs", metavar="LIST", default=None,
                    help=f"files to write, comma-separated from {','.join(OUTPUTS)} (default: "
                         f"{','.join(default_outputs())}; result.json is always written)")
    an.add_argument("--no-annotate", action="store_true", help="skip annotated.mp4 (the slowest output)")
    an.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                    help="one Ray task per file (pip install 'avemotion[ray]'): alone, a local Ray runtime; "
                         "with an address (auto, ray://host:10001) an existing cluster, whose nodes all see --out")
    an.add_argument("--json", action="store_true", help="print result.json (one file)")
    an.add_argument("--force", action="store_true", help="redo files a batch finished earlier")
    an.set_defaults(func=cmd_analyze)

    lv = sub.add_parser("live", help="faces from a webcam or a file, streamed frame by frame (JSON Lines)")
    lv.add_argument("--camera", type=int, default=0, help="camera index (default 0)")
    lv.add_argument("--source", default=None, help="read this video file instead of a camera")
    lv.add_argument("--fps", type=float, default=None, help="analyse at most this many frames a second")
    lv.add_argument("--smooth", type=float, default=1.0, help="time constant of the running state (s)")
    lv.add_argument("--max-frames", type=int, default=None, help="stop after this many frames read")
    lv.add_argument("--show", action="store_true", help="overlay window (needs a display and GUI OpenCV)")
    lv.add_argument("--detector", default=defaults.face.detector, choices=list(DETECTORS))
    lv.add_argument("--model", default=defaults.face.model)
    lv.set_defaults(func=cmd_live)

    sv = sub.add_parser("serve", help="the web app and REST API (needs the server extra)")
    sv.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--data-dir", default="avemotion-data", help="jobs, uploads and results (default avemotion-data)")
    sv.add_argument("--workers", type=int, default=1, help="analyses at once; more uploads queue (default 1)")
    sv.add_argument("--max-upload-mb", type=float, default=200.0, help="largest upload accepted (default 200)")
    sv.add_argument("--retention-days", type=float, default=7.0, help="delete finished jobs after this long")
    sv.add_argument("--no-annotate", action="store_true", help="skip annotated.mp4")
    sv.add_argument("--allow-host", action="append", metavar="NAME",
                    help="a Host name to answer to besides localhost (repeatable; default: any when bound to 0.0.0.0)")
    sv.add_argument("--allow-origin", action="append", metavar="URL",
                    help="another site whose pages may call the API, e.g. https://app.example (repeatable)")
    sv.add_argument("--token", default=None,
                    help="require this token (Authorization: Bearer TOKEN; browsers: open /?token=TOKEN once); "
                         "also read from $AVEMOTION_TOKEN")
    sv.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                    help="run jobs on Ray (pip install 'avemotion[ray]'): alone, a local runtime; with an address "
                         "(auto, ray://host:10001) a cluster whose nodes all see --data-dir; --workers jobs at once")
    sv.set_defaults(func=cmd_serve)

    ev = sub.add_parser("evaluate", help="speaker-independent (speech) or test-split (face) evaluation")
    ev.add_argument("task", choices=["speech", "face"])
    ev.add_argument("data", nargs="+", help="corpus folders or manifest CSVs (speech: several are pooled)")
    ev.add_argument("--protocol", default="speakers", choices=["speakers", "loco"],
                    help="speech: speaker-independent folds over the pooled corpora (default), or leave one "
                         "corpus out (train on the others, test on it; needs several DATA)")
    ev.add_argument("--model", default="encoder", choices=["encoder", "ensemble", "cnn", "linear", "baseline"],
                    help="model kind to evaluate (default: encoder, the shipped recipe)")
    ev.add_argument("--onnx", help="instead of cross-validation, score this trained model on DATA")
    ev.add_argument("--tta", action=argparse.BooleanOptionalAction, default=None,
                    help="face: average each face with its mirror (default: as the model card says)")
    ev.add_argument("--robustness", action="store_true",
                    help="face: DATA's test faces pasted into frames, transformed (rotation, small, blur, noise, "
                         "low light, JPEG), found and aligned as in analyze; --onnx takes models separated by commas")
    ev.add_argument("--labels", default="folders", choices=["folders", "ferplus"],
                    help="face: score against the class folders (FER2013's labels) or FER+'s majority vote "
                         "(ferplus.csv in DATA or its parent; images without a majority left out)")
    ev.add_argument("--compare-crop", action="store_true",
                    help="with --robustness: also score the first model on box crops without eye alignment")
    ev.add_argument("--limit", type=int, default=None, help="with --robustness: score this many faces (seeded)")
    ev.add_argument("--folds", type=int, default=6)
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--epochs", type=int, default=None, help="override the CNN's epochs")
    ev.add_argument("--adapt", type=int, default=None, metavar="K",
                    help="speaker adaptation, each test clip read together with K other unlabelled clips of its "
                         "speaker (as the analyser reads a recording's segments): with --protocol loco --model "
                         "encoder, or with --onnx speech (its speech_adaptive variant)")
    ev.add_argument("--no-calibrate", action="store_true",
                    help="leave-one-corpus-out: skip fitting the temperature (a third of the time; UA unchanged, ECE not)")
    ev.add_argument("--mixup", type=float, default=None, metavar="P",
                    help="CNN: share of batches mixed (mixup, alpha 0.4; default 0)")
    ev.add_argument("--corpus", default=None, help="force a corpus reader (ravdess, cremad, tess, savee, emodb)")
    ev.add_argument("--out", default="avemotion-out/eval", help="folder for metrics.json and confusion.png")
    ev.set_defaults(func=cmd_evaluate)

    tr = sub.add_parser("train", help="train a model and export it to ONNX (needs the train extra)")
    tr.add_argument("task", choices=["speech", "face"])
    tr.add_argument("data", nargs="+", help="corpus folders or manifest CSVs (speech: several are pooled)")
    tr.add_argument("--model", default="encoder", choices=["encoder", "ensemble", "cnn", "linear", "baseline"])
    tr.add_argument("--out", default="avemotion-out/models")
    tr.add_argument("--name", default=None, help="file name of the model (default: speech or speech_baseline)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--epochs", type=int, default=None)
    tr.add_argument("--corpus", default=None)
    tr.add_argument("--adapt", action="store_true",
                    help="speech, encoder: the speaker-adapted variant (speech_adaptive), used on recordings with "
                         "several segments of one voice")
    tr.add_argument("--cv-metrics", nargs="*", default=None,
                    help="metrics.json files from `evaluate` (speaker folds, leave-one-corpus-out) for the card")
    tr.add_argument("--arch", default="vgg", choices=["vgg", "vgg-s", "baseline"],
                    help="face network (face only; baseline = the original report's CNN and plain recipe)")
    tr.add_argument("--device", default="auto", help="auto (CUDA where torch sees it), cpu or cuda (face only)")
    tr.add_argument("--time-budget", type=float, default=None,
                    help="seconds: train fewer epochs if a timed probe says --epochs won't fit (face only)")
    tr.add_argument("--run", default=None, help="checkpoint folder; a rerun resumes there (face only)")
    tr.add_argument("--lr", type=float, default=None, help="peak learning rate (face only)")
    tr.add_argument("--photometric", type=float, default=None,
                    help="share of training faces blurred, noised, JPEG-compressed, darkened... (face only)")
    tr.add_argument("--class-power", type=float, default=None,
                    help="class weights (1/frequency)**POWER in the loss (face only; 0 plain, 1 balanced)")
    tr.add_argument("--init-from", default=None, help="start from this exported ONNX model (face, vgg only)")
    tr.add_argument("--labels", default=None, choices=["fer2013", "ferplus"],
                    help="face: the folders' FER2013 labels, or the FER+ vote distributions of DATA/ferplus.csv")
    tr.add_argument("--label-smoothing", type=float, default=None, help="face: label smoothing of the loss")
    tr.add_argument("--tta", action=argparse.BooleanOptionalAction, default=None,
                    help="choose the epoch on val with the mirror image averaged in (face only)")
    tr.set_defaults(func=cmd_train)

    md = sub.add_parser("models", help="list the shipped models")
    md.set_defaults(func=cmd_models)
    return p


#: Which extra (pyproject.toml) brings a module that a command imports on demand.
EXTRA_OF_MODULE = {"torch": "train", "onnx": "train", "skl2onnx": "train", "librosa": "baseline",
                   "sklearn": "eval", "matplotlib": "plots", "pandas": "dataframe", "fastapi": "server",
                   "uvicorn": "server", "multipart": "server", "ray": "ray"}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return int(args.func(args) or 0)
    except AvemotionError as exc:
        _err(str(exc))
        return 2
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        extra = EXTRA_OF_MODULE.get(top)
        _err(f"{exc.name} is not installed" + (f": pip install 'avemotion[{extra}]'" if extra else ""))
        return 2
    except KeyboardInterrupt:
        _err("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
