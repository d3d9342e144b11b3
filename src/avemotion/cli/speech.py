"""``avemotion speech``: the emotion in the voice of audio or video files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .common import DEMO_SPEECH, err, is_batch, run_files


def add_parser(sub) -> None:
    from ..speech.analyzer import SpeechOptions

    d = SpeechOptions()
    sp = sub.add_parser("speech", help="emotion in the voice of audio or video files")
    sp.add_argument("paths", nargs="*", help="audio/video files or folders")
    sp.add_argument("--demo", action="store_true", help="run on the bundled (synthesised) speech sample")
    sp.add_argument("--json", action="store_true", help="print one JSON object (JSON Lines for several files)")
    sp.add_argument("--plot", metavar="OUT.png", help="draw waveform, mel spectrogram and result (one file)")
    sp.add_argument("--model", default=d.model, help="shipped model name or .onnx path (default: %(default)s)")
    sp.add_argument("--no-vad", action="store_true", help="classify the whole signal, skip voice detection")
    sp.add_argument("--max-segment", type=float, default=d.max_segment, help="longest segment classified at once (s)")
    sp.add_argument(
        "--adapt",
        action=argparse.BooleanOptionalAction,
        default=d.adapt,
        help="read a file's speech segments against each other with the speaker-adapted model, when "
        "there are at least five and they sound like one voice (default off: a voice that holds one "
        "emotion throughout would be read as neutral)",
    )
    sp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..batch import expand_paths
    from ..media import AUDIO_EXTENSIONS, VIDEO_EXTENSIONS
    from ..speech import SpeechAnalyzer

    paths = [str(DEMO_SPEECH)] if args.demo else args.paths
    if not paths:
        err("give an audio or video file (or a folder), or --demo")
        return 2
    files = expand_paths(paths, AUDIO_EXTENSIONS | VIDEO_EXTENSIONS)
    if not files:
        err(f"no audio or video files found in {', '.join(paths)}")
        return 2
    if args.plot:
        from ..errors import require

        require("matplotlib", "plots", "speech --plot")  # before the analysis, not after it
    analyzer = SpeechAnalyzer(args.model, vad=not args.no_vad, max_segment=args.max_segment, adapt=args.adapt)
    batch = is_batch(files, paths)
    signals: dict[Path, Any] = {}

    def analyze(f: Path):
        if args.plot and not batch:  # keep the signal for the plot: decode once
            from ..media import load_audio

            signals[f] = load_audio(f)
            return analyzer.analyze(signals[f], path=str(f))
        return analyzer.analyze_file(f)

    def show(result) -> None:
        if args.json:
            print(json.dumps(result.to_dict(), indent=2))
        else:
            print_speech(result)
        if args.plot:
            from ..report.plots import plot_speech

            out = plot_speech(signals[Path(result.path)], 16000, result, args.plot)
            print(f"plot written to {out}", file=sys.stderr)

    return run_files(files, analyze, show, batch=batch, label="speech")


def print_speech(result) -> None:
    """The voice's distribution, and each segment's label when there are several."""
    from rich.table import Table

    from ..report.tables import print_table, probability_table

    head = f"{result.path}  ({result.duration:.1f} s, speech {result.speech_seconds:.1f} s, model {result.model})"
    if not result.has_speech:
        print(f"{head}\nno speech found: the voice lane has no emotion to report")
        return
    print(head)
    print_table(probability_table({"voice": result.probabilities}))
    if len(result.segments) > 1:
        t = Table(title="speech segments", title_justify="left")
        for c in ("start", "end", "emotion", "p"):
            t.add_column(c, justify="right" if c != "emotion" else "left")
        for s in result.segments:
            t.add_row(f"{s.start:.2f}", f"{s.end:.2f}", s.label, f"{s.probabilities[s.label]:.2f}")
        print_table(t)
