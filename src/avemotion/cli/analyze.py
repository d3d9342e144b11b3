"""``avemotion analyze``: face and voice over time, fused; one output folder per file.

Its analysis options are not written here: each comes from its one declaration
(:data:`avemotion.options.OPTIONS`), as the server's form and ``/v1/options`` do.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .common import DEMO_VIDEO, err, is_batch


def add_option_arguments(parser: argparse.ArgumentParser) -> None:
    """One argument per registered analysis option: ``--face-model`` for ``face_model``, ...

    Every argument defaults to None (not given: the option's own default applies), and values are
    checked by the option's declaration when the config is built, so the messages are the same as
    the server's and the Python API's.
    """
    from ..options import OPTIONS
    from ..pipeline import AnalyzeConfig  # noqa: F401 - declares the analysers' options

    group = parser.add_argument_group("analysis options (also the server's form and analyze(path, **options))")
    for opt in OPTIONS.values():
        default = opt.default if opt.kind != "weights" else ",".join(f"{k}={v:g}" for k, v in opt.default.items())
        help_text = f"{opt.help} (default: {default})"
        if opt.kind == "flag":
            group.add_argument(
                opt.flag, dest=opt.name, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
            continue
        metavar = "{" + ",".join(opt.allowed()) + "}" if opt.choices and not opt.paths else opt.name.upper()
        if opt.minimum is not None and opt.maximum is not None:
            help_text += f"; {opt.minimum:g} to {opt.maximum:g}"
        elif opt.choices and opt.paths:
            help_text += f"; shipped: {', '.join(opt.allowed())}"
        group.add_argument(opt.flag, dest=opt.name, default=None, metavar=metavar, help=help_text)


def option_values(args: argparse.Namespace) -> dict:
    """The analysis options given on the command line (by flat name)."""
    from ..options import OPTIONS
    from ..pipeline import AnalyzeConfig  # noqa: F401 - declares the analysers' options

    return {name: getattr(args, name) for name in OPTIONS if getattr(args, name, None) is not None}


def add_parser(sub) -> None:
    from ..report.outputs import OUTPUTS, default_outputs

    an = sub.add_parser("analyze", help="face and voice over time in videos (audio files and images too), fused")
    an.add_argument("paths", nargs="*", help="video, audio or image files, or folders")
    an.add_argument("--demo", action="store_true", help="run on the bundled real clip")
    an.add_argument(
        "--out", default=None, help="output folder (default avemotion-out/NAME; several files: a folder each inside it)"
    )
    an.add_argument(
        "--outputs",
        metavar="LIST",
        default=None,
        help=f"files to write, comma-separated from {','.join(OUTPUTS)} (default: "
        f"{','.join(default_outputs())}; result.json is always written)",
    )
    an.add_argument("--no-annotate", action="store_true", help="skip annotated.mp4 (the slowest output)")
    an.add_argument(
        "--ray",
        nargs="?",
        const="local",
        default=None,
        metavar="ADDRESS",
        help="one Ray task per file (pip install 'avemotion[ray]'): alone, a local Ray runtime; "
        "with an address (auto, ray://host:10001) an existing cluster, whose nodes all see --out",
    )
    an.add_argument("--json", action="store_true", help="print result.json (one file)")
    an.add_argument("--force", action="store_true", help="redo files a batch finished earlier")
    add_option_arguments(an)
    an.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..batch import expand_paths
    from ..media import AUDIO_EXTENSIONS, IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
    from ..pipeline import AnalyzeConfig, VideoAnalyzer
    from ..report.outputs import parse_outputs

    paths = [str(DEMO_VIDEO)] if args.demo else args.paths
    if not paths:
        err("give a video, audio or image file (or a folder), or --demo")
        return 2
    files = expand_paths(paths, VIDEO_EXTENSIONS | AUDIO_EXTENSIONS | IMAGE_EXTENSIONS)
    if not files:
        err(f"no media files found in {', '.join(paths)}")
        return 2
    batch = is_batch(files, paths)
    root = Path(args.out or ("avemotion-out/demo" if args.demo else "avemotion-out"))
    single = None if batch else {files[0]: root if (args.out or args.demo) else root / files[0].stem}
    if root.exists() and not root.is_dir():
        err(f"{root}: --out is a file, not a folder")
        return 2
    outputs = parse_outputs(args.outputs)
    config = AnalyzeConfig.of(**option_values(args))
    analyzer = None if args.ray else VideoAnalyzer(config)  # with --ray the models load on the workers
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
    from ..batch import analyze_many
    from ..report.progress import progress_bar

    failed = 0
    counts: dict[str, int] = {}
    with progress_bar("analyze", total=len(files), enabled=batch) as advance:
        for item in analyze_many(
            files,
            root,
            config,
            force=args.force or not batch,
            annotate=not args.no_annotate,
            analyzer=analyzer,
            out_dirs=single,
            outputs=outputs,
            ray=args.ray,
        ):
            advance()
            failed += item.status == "error"
            counts[item.status] = counts.get(item.status, 0) + 1
            if batch:
                print(json.dumps(item.to_dict()), file=lines, flush=True)
            elif item.error:
                err(f"{item.path}: {item.error}")
            elif args.json:
                print((item.out / "result.json").read_text(), file=lines)
            else:
                from contextlib import redirect_stdout

                with redirect_stdout(lines):
                    print_analysis(item.result, item.out)
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


def print_analysis(result, out: Path) -> None:
    """The three lanes' summaries, the overall label, and where the files are."""
    from ..report.outputs import OUTPUTS
    from ..report.tables import print_table, probability_table

    s = result.summary
    print(f"{result.path}  ({result.duration:.1f} s; face: {result.status['face']}, voice: {result.status['voice']})")
    print_table(
        probability_table({"voice": s["voice"], "face": s["face"], "fused": s["fused"]}, labels=result.all_labels)
    )
    print(f"overall: {result.label or 'nothing to read (no face, no speech)'}")
    names = ["report.html", "result.json"] + [o.filename for o in OUTPUTS.values()]
    made = [n for n in dict.fromkeys(names) if (out / n).exists()]
    print(
        f"{'report' if made[0] == 'report.html' else 'result'}: {out / made[0]}"
        + (f"  (also {', '.join(made[1:])})" if made[1:] else "")
    )
